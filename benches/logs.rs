//! Step logs benchmark (figures in BENCHMARKS.md):
//!
//! l. the logs tab of a 100,000-line stream: server time and bytes of the page, cold (the stream read from
//!    CloudWatch) and warm (from the shared buffer), and of the 50,000-line pages the whole-log view loads;
//! m. live-tail latency: from the time a line is written (its timestamp, the emulator's clock at 1×) to the
//!    line arriving at a follower's event stream;
//! n. upstream log calls a minute while 1 and while 100 people follow one running step.
//!
//! Against the emulator with real latency (50–150 ms a call) and its default quotas.
//! Run: `cargo bench --bench logs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::Request;
use futures::StreamExt;
use leptos::prelude::LeptosOptions;
use serde_json::{json, Value};
use stepline::{demo, router};
use stepline_core::{gateway::Gateway, state::AppState};
use stepline_emulator::{EmulatorConfig, Scenario};
use tower::ServiceExt;

const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerPipelineRole";

fn options() -> LeptosOptions {
    LeptosOptions::builder().output_name("stepline").site_root("target/site").build()
}

fn training(name: &str) -> Value {
    json!({"Name": name, "Type": "Training", "Arguments": {
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "xgboost:1.7-1"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
        "RoleArn": ROLE}})
}

async fn get(app: &axum::Router, path: &str) -> (Duration, usize, String) {
    let t = Instant::now();
    let res = app
        .clone()
        .oneshot(Request::get(path).header("accept", "text/html").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = to_bytes(res.into_body(), 64 << 20).await.unwrap();
    (t.elapsed(), body.len(), String::from_utf8_lossy(&body).into_owned())
}

async fn post(app: &axum::Router, endpoint: &str, body: Value) -> (Duration, usize) {
    let t = Instant::now();
    let req = Request::post(format!("/api/{endpoint}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let body = to_bytes(res.into_body(), 64 << 20).await.unwrap();
    (t.elapsed(), body.len())
}

/// The logs tab's data for step Train of execution `id`, as the page's server function answers it.
async fn logs_page(app: &axum::Router, id: &str) -> Value {
    let req = json!({"pipeline": "P", "id": id, "step": "Train", "stream": null, "before": null, "query": null});
    let res = app
        .clone()
        .oneshot(
            Request::post("/api/step_logs")
                .header("content-type", "application/json")
                .body(Body::from(req.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    serde_json::from_slice(&to_bytes(res.into_body(), 64 << 20).await.unwrap()).unwrap()
}

struct Setup {
    app: axum::Router,
    gateway: Arc<Gateway>,
    client: aws_sdk_sagemaker::Client,
    _emulator: stepline_emulator::RunningEmulator,
}

async fn setup(speed: f64, steps: Value) -> Setup {
    let scenario: Scenario = serde_json::from_value(json!({
        "pipelines": {"P": {"steps": steps}}, "latency": "50..150", "quotas": "default"}))
    .unwrap();
    let emulator =
        stepline_emulator::start(EmulatorConfig { speed, scenario: Some(scenario), ..EmulatorConfig::default() })
            .await
            .unwrap();
    let url = emulator.endpoint_url();
    let client = demo::endpoint_client(&url, "us-east-1");
    let definition = json!({"Version": "2020-12-01", "Parameters": [], "Steps": [training("Train")]}).to_string();
    client
        .create_pipeline()
        .pipeline_name("P")
        .pipeline_definition(definition)
        .role_arn(ROLE)
        .client_request_token("create-p-0000000000000000000000000000")
        .send()
        .await
        .unwrap();
    let gateway = Arc::new(Gateway::new(client.clone(), "bench").with_logs(demo::logs_client(&url, "us-east-1")));
    let app = router::build(AppState::new(options(), gateway.clone()).await).await;
    Setup { app, gateway, client, _emulator: emulator }
}

async fn run(s: &Setup, status: &str) -> String {
    let arn = s
        .client
        .start_pipeline_execution()
        .pipeline_name("P")
        .client_request_token(format!("start-{:0>40}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)))
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    for _ in 0..2000 {
        let out = s.client.list_pipeline_execution_steps().pipeline_execution_arn(&arn).send().await;
        if out.is_ok_and(|o| {
            o.pipeline_execution_steps().iter().any(|st| st.step_status().map(|x| x.as_str()) == Some(status))
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    arn.rsplit('/').next().unwrap().to_string()
}

fn calls(g: &Gateway, op: &str) -> u64 {
    g.calls_by_operation().get(op).copied().unwrap_or(0)
}

async fn part_l() {
    let s = setup(20_000.0, json!({"Train": {"duration": 600, "log_lines": 100000}})).await;
    let id = run(&s, "Succeeded").await;
    let path = format!("/pipelines/P/executions/{id}?tab=logs&step=Train");
    let before = calls(&s.gateway, "GetLogEvents");
    let (cold, bytes, html) = get(&s.app, &path).await;
    let cold_calls = calls(&s.gateway, "GetLogEvents") - before;
    assert!(html.contains("data-testid=\"log-lines\""));
    let mut warm = Vec::new();
    for _ in 0..20 {
        warm.push(get(&s.app, &path).await.0.as_secs_f64() * 1000.0);
    }
    warm.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let page = logs_page(&s.app, &id).await;
    let stream = page["stream"].as_str().unwrap().to_string();
    let first = page["lines"][0]["n"].as_u64().unwrap();
    let (t1, b1) = post(
        &s.app,
        "log_lines",
        json!({"pipeline": "P", "id": id, "step": "Train", "stream": stream, "before": first, "count": 50000}),
    )
    .await;
    println!("l. logs tab, {} lines: cold {:.0} ms ({cold_calls} GetLogEvents), warm median {:.1} ms, p95 {:.1} ms, {} KB of HTML; a 50,000-line page for the whole-log view {:.0} ms, {} KB of JSON",
        page["total"], cold.as_secs_f64() * 1000.0, warm[10], warm[18], bytes / 1024, t1.as_secs_f64() * 1000.0, b1 / 1024);
}

/// Follow a stream for `wait`: (line numbers and their arrival latencies in ms).
async fn follow(app: axum::Router, url: String, wait: Duration) -> Vec<(u64, f64)> {
    let res = app.oneshot(Request::get(url).body(Body::empty()).unwrap()).await.unwrap();
    let mut body = res.into_body().into_data_stream();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = String::new();
    let mut seen = Vec::new();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
        let now_ms = chrono::Utc::now().timestamp_millis();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event.strip_prefix("event: lines\ndata: ") {
                let lines: Vec<Value> = serde_json::from_str(data.trim_end()).unwrap_or_default();
                for l in lines {
                    seen.push((l["n"].as_u64().unwrap(), (now_ms - l["at"].as_i64().unwrap()) as f64));
                }
            }
        }
    }
    seen
}

async fn parts_m_n() {
    // At 1× the emulator's clock is the wall clock: a line's timestamp is when it was written.
    let s = setup(1.0, json!({"Train": {"duration": 7200, "log_lines": 7200}})).await;
    let id = run(&s, "Executing").await;
    let mut stream = None;
    for _ in 0..100 {
        let page = logs_page(&s.app, &id).await;
        if let Some(st) = page["stream"].as_str() {
            stream = Some((st.to_string(), page["total"].as_u64().unwrap_or(0)));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (stream, total) = stream.expect("the job writes a stream");
    let url = format!(
        "/events/pipelines/P/executions/{id}/steps/Train/logs?stream={}&after={total}",
        stepline_types::model::links::seg(&stream)
    );
    let window = Duration::from_secs(30);

    let before = calls(&s.gateway, "GetLogEvents");
    let seen = follow(s.app.clone(), url.clone(), window).await;
    let one = calls(&s.gateway, "GetLogEvents") - before;
    let mut lat: Vec<f64> = seen.iter().map(|(_, l)| *l).collect();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if !lat.is_empty() {
        println!("m. live tail: {} lines in 30 s, latency from written to delivered median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            lat.len(), lat[lat.len() / 2], lat[(lat.len() as f64 * 0.95) as usize], lat[lat.len() - 1]);
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = calls(&s.gateway, "GetLogEvents");
    let followers = futures::future::join_all((0..100).map(|_| follow(s.app.clone(), url.clone(), window))).await;
    let many = calls(&s.gateway, "GetLogEvents") - before;
    let got = followers.iter().filter(|f| !f.is_empty()).count();
    println!("n. GetLogEvents a minute following one running step: 1 follower {}, 100 followers {} ({got}/100 got lines); ratio {:.2}",
        one * 2, many * 2, many as f64 / one.max(1) as f64);
}

#[tokio::main]
async fn main() {
    part_l().await;
    parts_m_n().await;
}
