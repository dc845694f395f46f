//! The dashboard against an emulator as strict as SageMaker: latency on every call, throttling, lower-cased
//! ARNs, long histories. Each test has an emulator of its own, so its faults and counts reach no other.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{api, get, options};
use futures::StreamExt;
use stepline::{demo, router};
use stepline_core::limiter::LimiterConfig;
use stepline_core::watch::Bounds;
use stepline_core::{gateway::Gateway, state::AppState};
use stepline_emulator::{start, EmulatorConfig, RunningEmulator, Scenario};
use tower::ServiceExt;

async fn emulator_with(config: EmulatorConfig) -> (RunningEmulator, aws_sdk_sagemaker::Client) {
    let emulator = start(EmulatorConfig { speed: 1.0, ..config }).await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    (emulator, client)
}

async fn app_over(client: &aws_sdk_sagemaker::Client, limits: LimiterConfig, bounds: Bounds) -> (AppState, Router) {
    let gateway = Arc::new(Gateway::with_limits(client.clone(), "test", limits));
    let state = AppState::with_bounds(options(), gateway, bounds).await;
    (state.clone(), router::build(state).await)
}

async fn wait_for_status(client: &aws_sdk_sagemaker::Client, arn: &str, want: &str) {
    for _ in 0..600 {
        let d = client.describe_pipeline_execution().pipeline_execution_arn(arn).send().await.unwrap();
        if d.pipeline_execution_status().map(|s| s.as_str()) == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} never became {want}");
}

/// Events of a live stream until one whose data contains `want`, or panic after `within`.
async fn stream_until(app: &Router, path: &str, want: &str, within: Duration) -> String {
    let res = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let mut body = res.into_body().into_data_stream();
    let mut text = String::new();
    let deadline = Instant::now() + within;
    while !text.contains(want) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, body.next()).await {
            Ok(Some(Ok(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!(
                "{path}: no event with {want} within {within:?}; got {}",
                &text[text.len().saturating_sub(300)..]
            ),
        }
    }
    text
}

#[tokio::test]
async fn pages_render_without_server_errors_while_half_the_calls_are_throttled() {
    let (emulator, client) = emulator_with(EmulatorConfig::default()).await;
    demo::create_pipeline(&client, "Abalone", "abalone", demo::ABALONE).await.unwrap();
    let arn = client.start_pipeline_execution().pipeline_name("Abalone").send().await.unwrap();
    let id = arn.pipeline_execution_arn().unwrap().rsplit('/').next().unwrap().to_string();
    let (state, app) = app_over(&client, LimiterConfig::default(), Bounds::default()).await;
    let pages = [
        "/".to_string(),
        "/pipelines/Abalone".into(),
        "/pipelines/Abalone?status=Failed&status=Succeeded".into(),
        "/pipelines/Abalone?order=oldest".into(),
        format!("/pipelines/Abalone/executions/{id}"),
        format!("/pipelines/Abalone/executions/{id}?tab=graph"),
        "/pipelines/Abalone/start".into(),
    ];
    emulator
        .core()
        .set_scenario(
            Scenario::parse(
                // Seeded: the same calls are throttled every run, whatever the machine.
                r#"{"latency": "20..60", "seed": 7,
                    "faults": [{"operation": "*", "code": "ThrottlingException", "probability": 0.5}]}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let mut shown = 0;
    for round in 0..4 {
        for path in &pages {
            let (status, html) = get(&app, path).await;
            assert_eq!(status, StatusCode::OK, "round {round}: {path} answered {status}");
            let data = html.contains("data-testid=");
            let said = html.contains("ThrottlingException") || html.contains("stale-notice");
            assert!(data || said, "{path} shows its data or says why not: {html}");
            shown += usize::from(!html.contains("class=\"error-advice\""));
        }
        state.watchers.refresh_all().await;
    }
    assert!(shown > pages.len(), "most loads show data even while throttled: {shown}");
    let stats = emulator.core().strict.stats();
    assert!(stats["total"]["throttled"].as_u64().unwrap() > 0, "the emulator did throttle: {stats}");
}

#[tokio::test]
async fn a_retry_made_elsewhere_turns_a_failed_page_into_executing_within_one_poll() {
    let scenario = Scenario::parse(
        r#"{"pipelines": {"Flaky": {"steps": {"AbaloneTrain": {"duration": 60, "fail": {"reason": "AlgorithmError: bad luck"}}}}}}"#,
    )
    .unwrap();
    let (emulator, client) = emulator_with(EmulatorConfig { scenario: Some(scenario), ..Default::default() }).await;
    emulator.core().set_speed(5_000.0);
    // Every attempt of the training fails, so the execution fails (and runs a minute again when retried).
    demo::create_pipeline(&client, "Flaky", "flaky", demo::ABALONE).await.unwrap();
    let arn =
        client.start_pipeline_execution().pipeline_name("Flaky").send().await.unwrap().pipeline_execution_arn.unwrap();
    wait_for_status(&client, &arn, "Failed").await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    let (_state, app) = app_over(&client, LimiterConfig::default(), Bounds::default()).await;
    let (status, html) = get(&app, &format!("/pipelines/Flaky/executions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-status=\"Failed\""), "{html}");
    emulator.core().set_speed(1.0);
    let stream = format!("/events/pipelines/Flaky/executions/{id}");
    let app2 = app.clone();
    let watching =
        tokio::spawn(
            async move { stream_until(&app2, &stream, "\"status\":\"Executing\"", Duration::from_secs(25)).await },
        );
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.retry_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let t = Instant::now();
    let text = watching.await.unwrap();
    assert!(text.contains("Failed"), "the stream started from the failed snapshot");
    assert!(t.elapsed() < Duration::from_secs(15), "within one slow poll: {:?}", t.elapsed());
}

#[tokio::test]
async fn bogus_streams_start_no_poller_and_streams_are_capped_per_client() {
    let (_emulator, client) = emulator_with(EmulatorConfig::default()).await;
    demo::create_pipeline(&client, "Real", "real", demo::ABALONE).await.unwrap();
    let arn = client.start_pipeline_execution().pipeline_name("Real").send().await.unwrap();
    let id = arn.pipeline_execution_arn().unwrap().rsplit('/').next().unwrap().to_string();
    let (state, app) = app_over(&client, LimiterConfig::unlimited(), Bounds::default()).await;
    let before = state.gateway.calls();
    for _ in 0..5 {
        assert_eq!(get(&app, "/events/pipelines/Real/executions/zzzzzzzzzzzz").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&app, "/events/pipelines/NoSuchPipeline/executions").await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            get(&app, "/events/pipelines/NoSuchPipeline/executions/abcabcabcabc").await.0,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(state.watchers.sizes().pollers, 0, "no poller for things that do not exist");
    assert!(state.gateway.calls() - before <= 4, "each unknown name asked once: {}", state.gateway.calls() - before);

    // A real one streams; past the per-client cap a clear 429, for that client only.
    let path = format!("/events/pipelines/Real/executions/{id}");
    let from = |last: u8| {
        let peer = axum::extract::ConnectInfo(std::net::SocketAddr::from(([10, 0, 0, last], 40000)));
        Request::get(&path).extension(peer).body(Body::empty()).unwrap()
    };
    let mut open = vec![];
    for _ in 0..stepline_core::streams::MAX_STREAMS_PER_CLIENT {
        let res = app.clone().oneshot(from(7)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        open.push(res);
    }
    assert_eq!(state.watchers.sizes().pollers, 1, "one poller however many watch");
    let res = app.clone().oneshot(from(7)).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("Too many live views"), "{body:?}");
    assert_eq!(app.clone().oneshot(from(8)).await.unwrap().status(), StatusCode::OK, "another client is not refused");
    open.clear();
    assert_eq!(state.streams.open(), 0, "closed streams give their places back");
    assert_eq!(app.clone().oneshot(from(7)).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn caches_stay_within_their_bounds_after_crawling_10000_executions() {
    let seed =
        stepline_emulator::seed::Seed::parse(r#"{"names": ["Big"], "executions": 10000, "failed": 0.1}"#).unwrap();
    let (_emulator, client) = emulator_with(EmulatorConfig { seed: Some(seed), ..Default::default() }).await;
    let bounds = Bounds {
        finished_steps: 400,
        last_seen: 20,
        listings: 4,
        parameters: 30,
        ends: 200,
        definition_bytes: 1 << 20,
    };
    let (state, app) = app_over(&client, LimiterConfig::unlimited(), bounds.clone()).await;
    // The whole list, 200 a page, following the cursor.
    let mut cursor = String::new();
    let mut seen = 0;
    let mut first_ids = vec![];
    loop {
        let query = if cursor.is_empty() {
            r#"{"size": 200}"#.to_string()
        } else {
            format!(r#"{{"size": 200, "cursor": "{cursor}"}}"#)
        };
        let (status, body) = api(&app, "executions", &format!(r#"{{"pipeline": "Big", "query": {query}}}"#)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: stepline_types::page::ExecutionsPage = serde_json::from_str(&body).unwrap();
        seen += page.rows.len();
        if first_ids.is_empty() {
            first_ids = page.rows.iter().take(60).map(|r| r.summary.id.clone()).collect();
        }
        match page.next_cursor {
            Some(c) => cursor = c,
            None => {
                assert!(page.coverage.complete, "{:?}", page.coverage);
                break;
            }
        }
    }
    assert_eq!(seen, 10_000);
    // Failed ones among them, found by the server-side filter over the whole history.
    let (_, body) =
        api(&app, "executions", r#"{"pipeline": "Big", "query": {"size": 50, "statuses": ["Failed"]}}"#).await;
    let failed: stepline_types::page::ExecutionsPage = serde_json::from_str(&body).unwrap();
    assert_eq!(failed.rows.len(), 50);
    assert!(failed.total_matching > 600 && failed.total_matching < 1400, "{}", failed.total_matching);
    // Execution pages, each with its parameters and definition.
    for id in &first_ids {
        assert_eq!(get(&app, &format!("/pipelines/Big/executions/{id}")).await.0, StatusCode::OK);
    }
    // Time ranges and orders, each a listing of its own.
    for days in 1..=6 {
        let after = (chrono::Utc::now() - chrono::Duration::days(days)).format("%Y-%m-%dT%H:%M").to_string();
        let (status, _) = get(&app, &format!("/pipelines/Big?from={after}&order=oldest")).await;
        assert_eq!(status, StatusCode::OK);
    }
    let sizes = state.watchers.sizes();
    assert!(sizes.finished_steps <= bounds.finished_steps, "{sizes:?}");
    assert!(sizes.parameters <= bounds.parameters, "{sizes:?}");
    assert!(sizes.ends <= bounds.ends, "{sizes:?}");
    assert!(sizes.listings <= bounds.listings, "{sizes:?}");
    assert!(sizes.views <= bounds.last_seen, "{sizes:?}");
    assert!(sizes.definition_bytes <= bounds.definition_bytes, "{sizes:?}");
    assert_eq!(sizes.definitions, 1, "one definition for every execution of one pipeline version: {sizes:?}");
    assert!(sizes.finished > 0 && sizes.parameters > 0, "the caches were used: {sizes:?}");
}

#[tokio::test]
async fn lower_cased_arns_round_trip_to_the_right_pages_and_links() {
    let (emulator, client) = emulator_with(EmulatorConfig::default()).await;
    emulator.core().set_speed(5_000.0);
    demo::create_pipeline(&client, "AbalonePipeline", "abalone", demo::ABALONE).await.unwrap();
    let arn = client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    assert!(arn.contains(":pipeline/abalonepipeline/execution/"), "{arn}");
    wait_for_status(&client, &arn, "Succeeded").await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    let (_state, app) = app_over(&client, LimiterConfig::unlimited(), Bounds::default()).await;
    // A pasted ARN opens the execution under the pipeline's name as created.
    let res = app
        .clone()
        .oneshot(Request::get(format!("/?q={}", common::form_value(&arn))).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, format!("/pipelines/AbalonePipeline/executions/{id}"));
    // A page addressed in lower case goes to the same place.
    let res = app
        .clone()
        .oneshot(
            Request::get(format!("/pipelines/abalonepipeline/executions/{id}?tab=steps")).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], format!("/pipelines/AbalonePipeline/executions/{id}?tab=steps").as_str());
    let (status, html) = get(&app, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/pipelines/AbalonePipeline\""), "links use the name as created");
    assert!(!html.contains("/pipelines/abalonepipeline/"), "no link carries the lower-cased name");
    // Job links use the job's real name: the step's case, as its log streams are named.
    let (_, steps) = get(&app, &format!("{location}?tab=steps&step=AbaloneTrain")).await;
    let real = format!("pipelines-{id}-AbaloneTrain-");
    assert!(steps.contains(&format!("#/jobs/{real}")), "console link by the real name");
    assert!(steps.contains(&format!("logStreamNameFilter$3D{real}")), "CloudWatch link by the real name");
}
