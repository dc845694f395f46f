//! A step's job and its CloudWatch logs on the execution page, through the real router against the
//! emulator's Describe*Job and CloudWatch Logs operations: server-rendered tails, states, search,
//! download, the live tail and what it costs upstream.

use std::sync::Arc;
use std::time::Duration;

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{api, get, options};
use futures::StreamExt;
use serde_json::{json, Value};
use stepline::{demo, router};
use stepline_core::{gateway::Gateway, state::AppState};
use stepline_emulator::{EmulatorConfig, RunningEmulator, Scenario};
use tower::ServiceExt;

const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerPipelineRole";

/// The tests of this file take turns: the live one counts calls and lines over seconds, which the 100,000-line
/// one would otherwise slow down on a small machine.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

struct Fixture {
    app: Router,
    gateway: Arc<Gateway>,
    client: aws_sdk_sagemaker::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    _emulator: RunningEmulator,
}

fn training(name: &str, instances: i64) -> Value {
    json!({"Name": name, "Type": "Training", "Arguments": {
        "AlgorithmSpecification": {"TrainingInputMode": "File",
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "MetricDefinitions": [{"Name": "validation:rmse", "Regex": "validation-rmse:([0-9.]+)"}]},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": instances, "InstanceType": "ml.m5.xlarge"},
        "RoleArn": ROLE,
        "HyperParameters": {"max_depth": "5", "eta": "0.2"},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/train"}}}]}})
}

fn processing(name: &str) -> Value {
    json!({"Name": name, "Type": "Processing", "Arguments": {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"},
        "RoleArn": ROLE,
        "ProcessingInputs": [{"InputName": "raw", "S3Input": {"S3Uri": "s3://bucket/raw", "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix", "S3InputMode": "File"}}]}})
}

fn condition(name: &str) -> Value {
    json!({"Name": name, "Type": "Condition", "Arguments": {
        "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}], "IfSteps": [], "ElseSteps": []}})
}

/// An emulator at `speed` with `scenario`, its pipelines, and the dashboard over it.
async fn fixture(speed: f64, scenario: Value, pipelines: &[(&str, Vec<Value>)]) -> Fixture {
    let scenario: Scenario = serde_json::from_value(scenario).unwrap();
    let emulator =
        stepline_emulator::start(EmulatorConfig { speed, scenario: Some(scenario), ..EmulatorConfig::default() })
            .await
            .unwrap();
    let url = emulator.endpoint_url();
    let client = demo::endpoint_client(&url, "us-east-1");
    for (name, steps) in pipelines {
        let definition = json!({"Version": "2020-12-01", "Parameters": [], "Steps": steps}).to_string();
        client
            .create_pipeline()
            .pipeline_name(*name)
            .pipeline_definition(definition)
            .role_arn(ROLE)
            .client_request_token(format!("{:0>40}", format!("create-{name}")))
            .send()
            .await
            .unwrap();
    }
    let gateway = Arc::new(Gateway::new(client.clone(), "test").with_logs(demo::logs_client(&url, "us-east-1")));
    let app = router::build(AppState::new(options(), gateway.clone()).await).await;
    Fixture { app, gateway, client, logs: demo::logs_client(&url, "us-east-1"), _emulator: emulator }
}

async fn start(f: &Fixture, pipeline: &str) -> String {
    let arn = f
        .client
        .start_pipeline_execution()
        .pipeline_name(pipeline)
        .client_request_token(format!("{:0>40}", format!("start-{pipeline}-{}", rand_suffix())))
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    arn.rsplit('/').next().unwrap().to_string()
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// Wait until the step's status is one of `statuses` (as ListPipelineExecutionSteps says).
async fn step_reaches(f: &Fixture, pipeline: &str, id: &str, step: &str, statuses: &[&str]) {
    let arn = f.gateway.execution_arn(pipeline, id).await.unwrap();
    for _ in 0..600 {
        let out = f.client.list_pipeline_execution_steps().pipeline_execution_arn(&arn).send().await.unwrap();
        let status = out
            .pipeline_execution_steps()
            .iter()
            .find(|s| s.step_name() == Some(step))
            .and_then(|s| s.step_status().map(|x| x.as_str().to_string()));
        if status.as_deref().is_some_and(|s| statuses.contains(&s)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{step} never reached {statuses:?}");
}

/// Every message of a stream, read straight from the emulator with the CloudWatch Logs SDK.
async fn whole_stream(f: &Fixture, group: &str, stream: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = f
            .logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        all.extend(out.events().iter().map(|e| e.message().unwrap_or_default().to_string()));
        let next = out.next_forward_token().map(str::to_string);
        if next == token || out.events().is_empty() {
            return all;
        }
        token = next;
    }
}

async fn streams(f: &Fixture, group: &str, prefix: &str) -> Vec<String> {
    let out = f.logs.describe_log_streams().log_group_name(group).log_stream_name_prefix(prefix).send().await.unwrap();
    out.log_streams().iter().filter_map(|s| s.log_stream_name().map(str::to_string)).collect()
}

fn job_name(page: &Value) -> String {
    page["job"].as_str().unwrap().to_string()
}

async fn logs_page(f: &Fixture, pipeline: &str, id: &str, step: &str, query: Option<&str>) -> Value {
    let body = json!({"pipeline": pipeline, "id": id, "step": step, "stream": null, "before": null, "query": query});
    let (status, text) = api(&f.app, "step_logs", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn a_failed_step_shows_its_traceback_and_its_whole_log_downloads() {
    let _turn = one_at_a_time().await;
    let f = fixture(
        600.0,
        json!({"pipelines": {"PrepPipeline": {"steps": {"Prep": {"duration": 120, "fail": {"reason": "ValueError: column 'rings' is missing"}}}}}}),
        &[("PrepPipeline", vec![processing("Prep"), condition("Check")])],
    )
    .await;
    let id = start(&f, "PrepPipeline").await;
    step_reaches(&f, "PrepPipeline", &id, "Prep", &["Failed"]).await;

    // The job, described.
    let (status, job) =
        api(&f.app, "step_job", &json!({"pipeline": "PrepPipeline", "id": id, "step": "Prep"}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let job: Value = serde_json::from_str(&job).unwrap();
    assert_eq!(job["status"], "Failed");
    assert!(job["failure_reason"].as_str().unwrap().contains("column 'rings' is missing"), "{job}");
    assert_eq!(job["instance_type"], "ml.m5.large");
    assert_eq!(job["inputs"][0]["value"], "s3://bucket/raw");

    // The logs tab, rendered on the server: numbered, the traceback at the end.
    let page = logs_page(&f, "PrepPipeline", &id, "Prep", None).await;
    assert_eq!(page["state"], "Ready", "{page}");
    let job = job_name(&page);
    let names = streams(&f, "/aws/sagemaker/ProcessingJobs", &format!("{job}/")).await;
    assert_eq!(names.len(), 1, "one instance, one stream: {names:?}");
    let messages = whole_stream(&f, "/aws/sagemaker/ProcessingJobs", &names[0]).await;
    assert!(messages.iter().any(|m| m.starts_with("Traceback (most recent call last)")), "{messages:?}");
    let (status, html) = get(&f.app, &format!("/pipelines/PrepPipeline/executions/{id}?tab=logs&step=Prep")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"log-lines\""));
    assert!(html.contains("id=\"L1\"") && html.contains("href=\"#L1\""), "each line links to itself");
    assert!(html.contains("Traceback (most recent call last)"));
    assert!(html.contains("column &#x27;rings&#x27; is missing") || html.contains("column 'rings' is missing"));
    assert!(html.contains("data-testid=\"first-error\""));
    // ANSI escapes become styles, never raw escape characters; markup in a line is text.
    assert!(!html.contains('\u{1b}'), "no raw escape reaches the page");
    if messages.iter().any(|m| m.contains("\u{1b}[32m")) {
        assert!(html.contains("class=\"a32\""), "green text is styled");
    }
    for m in messages.iter().filter(|m| m.contains('<')).take(3) {
        let plain = stepline_types::model::logs::strip_ansi(m);
        let tag = plain.find('<').map(|i| &plain[i..(i + 3).min(plain.len())]).unwrap();
        assert!(html.contains(&tag.replace('<', "&lt;")), "markup {tag:?} is escaped");
    }

    // The failed execution's header shows the traceback under the step's reason.
    let (_, head) = get(&f.app, &format!("/pipelines/PrepPipeline/executions/{id}")).await;
    assert!(head.contains("data-testid=\"failure-log\""), "the failure excerpt is in the header");
    assert!(head.contains("Traceback (most recent call last)"));

    // The download is the whole stream.
    let (status, text) = get(&f.app, &format!("/pipelines/PrepPipeline/executions/{id}/steps/Prep/logs.txt")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text.lines().map(str::to_string).collect::<Vec<_>>(), messages);
    // Only the job's own streams: another stream name is refused.
    let (status, _) = get(
        &f.app,
        &format!("/pipelines/PrepPipeline/executions/{id}/steps/Prep/logs.txt?stream=%2Faws%2Fother%2Fstream"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Whole-log downloads are streamed and bounded: past eight at once (across everyone), the next is asked to
    // come back; each held answer keeps its place until its body is dropped.
    {
        let path = format!("/pipelines/PrepPipeline/executions/{id}/steps/Prep/logs.txt");
        let mut held = vec![];
        let mut refused = 0;
        for _ in 0..9 {
            let res = f.app.clone().oneshot(Request::get(&path).body(Body::empty()).unwrap()).await.unwrap();
            if res.status() == StatusCode::TOO_MANY_REQUESTS {
                refused += 1;
            } else {
                held.push(res);
            }
        }
        assert!(refused >= 1, "nine downloads at once: none refused");
        drop(held);
        assert_eq!(get(&f.app, &path).await.0, StatusCode::OK, "places come back when downloads end");
    }

    // A step without a job of its own says why it has no logs.
    let page = logs_page(&f, "PrepPipeline", &id, "Check", None).await;
    assert!(page["state"]["NoLogs"].as_str().is_some_and(|s| s.contains("Condition")), "{page}");
}

#[tokio::test]
async fn a_training_job_shows_its_metrics_transitions_and_a_stream_per_instance() {
    let _turn = one_at_a_time().await;
    let f = fixture(
        600.0,
        json!({"pipelines": {"TrainPipeline": {"steps": {"Train": {"duration": 300, "metrics": {"validation:rmse": 2.125}}}}}}),
        &[("TrainPipeline", vec![training("Train", 2)])],
    )
    .await;
    let id = start(&f, "TrainPipeline").await;
    step_reaches(&f, "TrainPipeline", &id, "Train", &["Succeeded"]).await;
    let (status, job) =
        api(&f.app, "step_job", &json!({"pipeline": "TrainPipeline", "id": id, "step": "Train"}).to_string()).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let job: Value = serde_json::from_str(&job).unwrap();
    assert_eq!(job["status"], "Completed");
    assert_eq!(job["instance_count"], 2);
    assert!(job["transitions"].as_array().unwrap().len() >= 3, "{job}");
    let rmse = job["metrics"].as_array().unwrap().iter().find(|m| m["name"] == "validation:rmse").unwrap();
    assert!((rmse["value"].as_f64().unwrap() - 2.125).abs() < 1e-3);
    assert!(job["hyperparameters"].as_array().unwrap().iter().any(|h| h["name"] == "max_depth" && h["value"] == "5"));
    assert!(job["model_artifacts"].as_str().is_some_and(|a| a.starts_with("s3://bucket/out")), "{job}");

    // The step panel shows the job; the logs tab has a tab per instance.
    let (_, html) = get(&f.app, &format!("/pipelines/TrainPipeline/executions/{id}?step=Train")).await;
    assert!(html.contains("data-testid=\"job-detail\"") && html.contains("validation:rmse"));
    assert!(html.contains("ml.m5.xlarge × 2"));
    let (_, html) = get(&f.app, &format!("/pipelines/TrainPipeline/executions/{id}?tab=logs&step=Train")).await;
    let tabs = html.split("data-testid=\"log-streams\"").nth(1).unwrap().split("</nav>").next().unwrap();
    assert_eq!(tabs.matches("<a ").count(), 2, "{tabs}");
    assert!(tabs.contains(">algo-1<") && tabs.contains(">algo-2<"), "{tabs}");
}

#[tokio::test]
async fn search_finds_a_line_deep_in_a_100000_line_log() {
    let _turn = one_at_a_time().await;
    let f = fixture(
        6000.0,
        json!({"pipelines": {"BigPipeline": {"steps": {"Train": {"duration": 600, "log_lines": 100000}}}}}),
        &[("BigPipeline", vec![training("Train", 1)])],
    )
    .await;
    let id = start(&f, "BigPipeline").await;
    step_reaches(&f, "BigPipeline", &id, "Train", &["Succeeded"]).await;
    let page = logs_page(&f, "BigPipeline", &id, "Train", None).await;
    let total = page["total"].as_u64().unwrap();
    assert!(total >= 99_000, "about 100,000 lines: {total}");
    assert_eq!(page["lines"].as_array().unwrap().len(), 1000, "the newest 1,000 are shown");
    assert_eq!(page["lines"][999]["n"].as_u64().unwrap(), total);
    // A line near the start, found by a search over the whole stream and placed by its number.
    let (_, text) = get(&f.app, &format!("/pipelines/BigPipeline/executions/{id}/steps/Train/logs.txt")).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, total, "the download is the whole stream");
    let (n, target) = lines
        .iter()
        .enumerate()
        .skip(200)
        // CloudWatch matches terms against the text as written, escape codes included: a plain line.
        .find(|(_, l)| {
            lines.iter().filter(|o| o == l).count() == 1 && !l.contains('"') && !l.contains('\u{1b}') && l.len() > 20
        })
        .map(|(i, l)| (i as u64 + 1, l.to_string()))
        .expect("a unique line");
    let phrase = target.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
    let page = logs_page(&f, "BigPipeline", &id, "Train", Some(&format!("\"{phrase}\""))).await;
    let matches = page["search"]["matches"].as_array().unwrap();
    assert!(
        matches.iter().any(|m| m["n"].as_u64() == Some(n) && m["text"] == target.as_str()),
        "line {n} found: {page:?}"
    );
    // Without JavaScript the page of earlier lines ends where asked.
    let (_, html) =
        get(&f.app, &format!("/pipelines/BigPipeline/executions/{id}?tab=logs&step=Train&before={}", n + 20)).await;
    assert!(html.contains(&format!("id=\"L{n}\"")));
    assert!(!html.contains(&format!("id=\"L{}\"", n + 20)));
}

/// Read `lines` events from a live tail until `enough` returns true or `wait` passes; the numbers seen.
async fn tail_numbers(res: axum::response::Response, wait: Duration) -> Vec<u64> {
    let mut body = res.into_body().into_data_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let mut numbers = Vec::new();
    for event in text.split("\n\n") {
        if let Some(data) = event.strip_prefix("event: lines\ndata: ") {
            let lines: Vec<Value> = serde_json::from_str(data).unwrap();
            numbers.extend(lines.iter().map(|l| l["n"].as_u64().unwrap()));
        }
    }
    numbers
}

fn get_log_events(g: &Gateway) -> u64 {
    g.calls_by_operation().get("GetLogEvents").copied().unwrap_or(0)
}

#[tokio::test]
async fn a_running_step_log_grows_live_and_a_hundred_followers_cost_what_one_does() {
    let _turn = one_at_a_time().await;
    let f = fixture(
        60.0,
        json!({"pipelines": {"LivePipeline": {"steps": {"Train": {"duration": 36000, "log_lines": 20000}}}}}),
        &[("LivePipeline", vec![training("Train", 1)])],
    )
    .await;
    let id = start(&f, "LivePipeline").await;
    step_reaches(&f, "LivePipeline", &id, "Train", &["Executing"]).await;
    // Wait for its first stream.
    let mut page = logs_page(&f, "LivePipeline", &id, "Train", None).await;
    for _ in 0..100 {
        if page["state"] == "Ready" && page["total"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        page = logs_page(&f, "LivePipeline", &id, "Train", None).await;
    }
    assert_eq!(page["state"], "Ready", "{page}");
    assert_eq!(page["running"], true);
    let stream = page["stream"].as_str().unwrap().to_string();
    let after = page["total"].as_u64().unwrap();
    let url = format!(
        "/events/pipelines/LivePipeline/executions/{id}/steps/Train/logs?stream={}&after={after}",
        stepline_types::model::links::seg(&stream)
    );
    let open = |url: String| {
        let app = f.app.clone();
        async move { app.oneshot(Request::get(url).body(Body::empty()).unwrap()).await.unwrap() }
    };

    // One follower: the log grows without a reload.
    let before_one = get_log_events(&f.gateway);
    let res = open(url.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let seen = tail_numbers(res, Duration::from_secs(6)).await;
    let one = get_log_events(&f.gateway) - before_one;
    assert!(!seen.is_empty() && seen[0] == after + 1, "new lines follow line {after}: {seen:?}");
    assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "in order, none twice: {seen:?}");

    // A hundred followers of the same stream for as long: the same calls.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before_many = get_log_events(&f.gateway);
    let responses = futures::future::join_all((0..100).map(|_| open(url.clone()))).await;
    let seen_all =
        futures::future::join_all(responses.into_iter().map(|r| tail_numbers(r, Duration::from_secs(6)))).await;
    let many = get_log_events(&f.gateway) - before_many;
    let empty = seen_all.iter().filter(|s| s.is_empty()).count();
    assert_eq!(empty, 0, "every follower got lines ({many} calls, one follower cost {one})");
    // Unshared, a hundred followers would cost about a hundred times as much; the margin is for a loaded
    // machine, where the poll ticks of two 6 s windows differ by a call or two (BENCHMARKS.md has the ratio).
    assert!(many <= 2 * one + 2, "100 followers cost {many} GetLogEvents, one cost {one}");
}

#[tokio::test]
async fn access_denied_on_the_logs_names_the_missing_action() {
    let _turn = one_at_a_time().await;
    let f = fixture(
        600.0,
        json!({"pipelines": {"DeniedPipeline": {"steps": {"Prep": {"duration": 60}}}},
               "faults": [{"operation": "GetLogEvents", "code": "AccessDeniedException",
                           "message": "User: arn:aws:sts::123456789012:assumed-role/stepline/s is not authorized to perform: logs:GetLogEvents"}]}),
        &[("DeniedPipeline", vec![processing("Prep")])],
    )
    .await;
    let id = start(&f, "DeniedPipeline").await;
    step_reaches(&f, "DeniedPipeline", &id, "Prep", &["Succeeded"]).await;
    let (status, html) = get(&f.app, &format!("/pipelines/DeniedPipeline/executions/{id}?tab=logs&step=Prep")).await;
    assert_eq!(status, StatusCode::OK, "the rest of the page still renders");
    assert!(html.contains("data-testid=\"logs-denied\""), "{}", &html[html.len().saturating_sub(3000)..]);
    assert!(html.contains("logs:GetLogEvents"));
    assert!(html.contains("data-testid=\"execution-meta\""), "the rest of the page is there");
}
