//! The emulator as strict as the service: latency on every call, per-operation quotas answered with the
//! service's `ThrottlingException`, lower-cased ARNs, the counts at `/_emulator/stats`, and a seeded history.
//! Checked with the AWS SDK over HTTP.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sagemaker::config::retry::RetryConfig;
use aws_sdk_sagemaker::types::SortOrder;
use common::*;
use serde_json::{json, Value};
use stepline_emulator::strict::{Latency, Quota};
use stepline_emulator::{start, EmulatorConfig, RunningEmulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A control-route request: `(status, JSON body)`.
async fn control(emu: &RunningEmulator, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![];
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(payload).unwrap_or(Value::String(payload.to_string())))
}

/// A client that never retries, so every refusal is seen.
fn no_retries(emu: &RunningEmulator) -> aws_sdk_sagemaker::Client {
    let base = client_for(&emu.endpoint_url());
    aws_sdk_sagemaker::Client::from_conf(base.config().to_builder().retry_config(RetryConfig::disabled()).build())
}

#[tokio::test]
async fn calls_over_a_quota_are_throttled_as_the_service_throttles_and_counted() {
    let config = EmulatorConfig {
        quotas: Some([("ListPipelines".to_string(), Quota { rate: 0.5, burst: 2.0 })].into()),
        ..EmulatorConfig::default()
    };
    let emu = start(config).await.unwrap();
    let client = no_retries(&emu);
    let mut refused = 0;
    for _ in 0..5 {
        match client.list_pipelines().send().await {
            Ok(_) => {}
            Err(e) => {
                let e = e.into_service_error();
                assert_eq!(code(&e), ("ThrottlingException".into(), "Rate exceeded".into()));
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 3, "a burst of 2 admits two calls at once");
    // Other operations have no quota in this table.
    for _ in 0..5 {
        client.describe_pipeline().pipeline_name("Nope").send().await.unwrap_err();
    }
    let (status, stats) = control(&emu, "GET", "/_emulator/stats", "").await;
    assert_eq!(status, 200);
    assert_eq!(stats["operations"]["ListPipelines"], json!({"calls": 5, "throttled": 3, "errors": 0}));
    assert_eq!(stats["operations"]["DescribePipeline"], json!({"calls": 5, "throttled": 0, "errors": 5}));
    assert_eq!(stats["total"]["calls"], 10);
    assert_eq!(control(&emu, "POST", "/_emulator/stats/reset", "").await.0, 200);
    assert_eq!(control(&emu, "GET", "/_emulator/stats", "").await.1["total"]["calls"], 0);

    // The scenario replaces the table at run time: lifted, the next calls pass.
    let (status, _) = control(&emu, "POST", "/_emulator/scenario", r#"{"quotas": {"*": 1000}}"#).await;
    assert_eq!(status, 200);
    for _ in 0..5 {
        client.list_pipelines().send().await.unwrap();
    }
    // And a bad table is refused with what is wrong.
    let (status, body) = control(&emu, "POST", "/_emulator/scenario", r#"{"quotas": {"ListPipelines": -1}}"#).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("rate must be above 0"), "{body}");
}

#[tokio::test]
async fn every_call_takes_the_configured_latency() {
    let config = EmulatorConfig { latency: Some(Latency { min_ms: 120, max_ms: 150 }), ..EmulatorConfig::default() };
    let emu = start(config).await.unwrap();
    let client = no_retries(&emu);
    for _ in 0..3 {
        let t = Instant::now();
        client.list_pipelines().send().await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(120), "answered after {:?}", t.elapsed());
    }
    // Throttled answers are as slow as the others.
    control(
        &emu,
        "POST",
        "/_emulator/scenario",
        r#"{"latency": "120..150", "quotas": {"ListPipelines": {"rate": 0.1, "burst": 1}}}"#,
    )
    .await;
    client.list_pipelines().send().await.unwrap();
    let t = Instant::now();
    assert!(client.list_pipelines().send().await.is_err());
    assert!(t.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn arns_are_lower_cased_names_are_echoed_and_jobs_keep_the_step_case() {
    let (_emu, client) = emulator(20_000.0, None).await;
    let arn = create(&client, "AbalonePipeline", ABALONE).await;
    assert!(arn.ends_with(":pipeline/abalonepipeline"), "{arn}");
    let listed = client.list_pipelines().send().await.unwrap();
    assert_eq!(listed.pipeline_summaries()[0].pipeline_name(), Some("AbalonePipeline"));
    let exec = start_execution(&client, "AbalonePipeline", &[]).await;
    assert!(exec.starts_with(&format!("{arn}/execution/")), "{exec}");
    // The ARN in any case finds the execution.
    let upper = exec.replace("abalonepipeline", "AbalonePipeline");
    client.describe_pipeline_execution().pipeline_execution_arn(&upper).send().await.unwrap();
    wait_for(&client, &exec, terminal).await;
    let listed = steps(&client, &exec).await;
    let train = step(&listed, "AbaloneTrain");
    let job_arn = train.metadata().unwrap().training_job().unwrap().arn().unwrap().to_string();
    let id = exec.rsplit('/').next().unwrap();
    assert!(job_arn.contains(&format!(":training-job/pipelines-{id}-abalonetrain-")), "{job_arn}");
    assert_eq!(job_arn, job_arn.to_lowercase());
}

#[tokio::test]
async fn a_seed_loads_a_long_history_without_calls() {
    let seed = stepline_emulator::seed::Seed::parse(
        r#"{"names": ["BigPipeline"], "executions": 5000, "days": 50, "failed": 0.2, "stopped": 0.1}"#,
    )
    .unwrap();
    let emu = start(EmulatorConfig { seed: Some(seed), ..EmulatorConfig::default() }).await.unwrap();
    let client = no_retries(&emu);
    assert_eq!(control(&emu, "GET", "/_emulator/stats", "").await.1["total"]["calls"], 0);
    let first = client.list_pipeline_executions().pipeline_name("BigPipeline").max_results(100).send().await.unwrap();
    let newest = first.pipeline_execution_summaries();
    assert_eq!(newest.len(), 100);
    let times: Vec<f64> = newest.iter().map(|s| s.start_time().unwrap().as_secs_f64()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(now - times[0] < 3.0 * 86_400.0 && now - times[0] > 3_000.0, "the newest is recent: {}", now - times[0]);
    let oldest = client
        .list_pipeline_executions()
        .pipeline_name("BigPipeline")
        .sort_order(SortOrder::Ascending)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let age = now - oldest.pipeline_execution_summaries()[0].start_time().unwrap().as_secs_f64();
    assert!((49.0 * 86_400.0..52.0 * 86_400.0).contains(&age), "the oldest is 50 days back: {age}");
    let statuses: Vec<&str> =
        newest.iter().map(|s| s.pipeline_execution_status().unwrap().as_str()).collect::<Vec<_>>();
    assert!(statuses.iter().all(|s| ["Succeeded", "Failed", "Stopped"].contains(s)), "{statuses:?}");
    // A failed one lists the step that failed, with its reason, and no step after it.
    let failed = newest.iter().find(|s| s.pipeline_execution_status().unwrap().as_str() == "Failed").unwrap();
    let arn = failed.pipeline_execution_arn().unwrap();
    let listed = steps(&client, arn).await;
    assert_eq!(listed[0].step_status().unwrap().as_str(), "Failed", "{listed:?}");
    assert!(listed[0].failure_reason().unwrap().contains("AlgorithmError"));
    assert!(listed.iter().all(|s| s.end_time().is_some()));
    // More history through the control route.
    let (status, body) = control(&emu, "POST", "/_emulator/seed", r#"{"pipelines": 3, "executions": 10}"#).await;
    assert_eq!((status, body), (200, json!({"executions": 30})));
    let all = client.list_pipelines().max_results(100).send().await.unwrap();
    assert_eq!(all.pipeline_summaries().len(), 4);
    let (status, body) = control(&emu, "POST", "/_emulator/seed", r#"{"pipelines": 100000}"#).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("more than 10000"), "{body}");
}
