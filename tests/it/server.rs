//! Server functions, pages and streams driven through the real router (`oneshot`), against the embedded
//! emulator seeded as in demo mode, and against endpoints that fail the way real ones do.

use std::sync::Arc;

use crate::common;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{api, get, options};
use stepline::{demo, router};
use stepline_core::{gateway::Gateway, state::AppState};
use tower::ServiceExt;

/// The router tests take turns. Run at once, each on its own runtime against the shared emulator, about one
/// run in twenty left one page request unanswered with nothing pending on its runtime (seen with the
/// gateway's time limits on, and before this stop's changes too); one at a time it was not seen again.
/// `send` bounds every request, so a hang fails with its path rather than stalling the suite.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

struct Demo {
    app: Router,
    client: aws_sdk_sagemaker::Client,
    gateway: Arc<Gateway>,
}

/// One seeded emulator shared by the tests of this file. It runs on a runtime of its own: each test has
/// its own runtime, which ends with the test.
fn shared_emulator() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let emulator = demo::start_emulator().await.unwrap();
                let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
                demo::seed(&emulator, &client, 20.0).await.unwrap();
                tx.send(emulator.endpoint_url()).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv().unwrap()
    })
    .clone()
}

/// The dashboard's router over the shared seeded emulator.
async fn demo_app() -> Demo {
    let url = tokio::task::spawn_blocking(shared_emulator).await.unwrap();
    let client = demo::endpoint_client(&url, "us-east-1");
    let gateway = Arc::new(Gateway::new(client.clone(), "test"));
    let app = router::build(AppState::new(options(), gateway.clone()).await).await;
    Demo { app, client, gateway }
}

async fn ids_of(client: &aws_sdk_sagemaker::Client, pipeline: &str) -> Vec<(String, String)> {
    let out = client.list_pipeline_executions().pipeline_name(pipeline).max_results(100).send().await.unwrap();
    out.pipeline_execution_summaries()
        .iter()
        .map(|s| {
            let arn = s.pipeline_execution_arn().unwrap();
            (
                s.pipeline_execution_display_name().unwrap_or_default().to_string(),
                arn.rsplit('/').next().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn pages_render_completely_on_the_server() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let (status, html) = get(&d.app, "/").await;
    assert_eq!(status, StatusCode::OK);
    for name in ["AbalonePipeline", "ControlFlowPipeline", "FeatureFactoryPipeline"] {
        assert!(html.contains(&format!("href=\"/pipelines/{name}\"")), "{name} missing");
    }
    let (status, html) = get(&d.app, "/pipelines/AbalonePipeline?status=Failed").await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<&str> = html.match_indices("data-status=\"").map(|(i, _)| &html[i + 13..i + 13 + 6]).collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == "Failed"));

    let ids = ids_of(&d.client, "AbalonePipeline").await;
    let (_, strict) = ids.iter().find(|(n, _)| n == "strict-threshold").unwrap();
    let (status, html) =
        get(&d.app, &format!("/pipelines/AbalonePipeline/executions/{strict}?tab=steps&step=AbaloneMSEFail")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Execution failed due to MSE &gt; 3.0") || html.contains("Execution failed due to MSE > 3.0")
    );
    assert!(html.contains("data-testid=\"step-table\""));
    assert!(html.contains("data-testid=\"step-detail\""));
}

#[tokio::test]
async fn missing_things_are_404_and_bad_input_is_400() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let (status, html) = get(&d.app, "/pipelines/NoSuchPipeline").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("NoSuchPipeline"));
    let (status, _) = get(&d.app, "/pipelines/AbalonePipeline/executions/aaaaaaaaaaaa").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api(&d.app, "execution", r#"{"pipeline": "<script>", "id": "x"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) =
        api(&d.app, "executions", r#"{"pipeline": "AbalonePipeline", "query": {"statuses": ["Sideways"]}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("'Sideways' is not an execution status"), "{body}");
    let (status, body) =
        api(&d.app, "executions", r#"{"pipeline": "AbalonePipeline", "query": {"after": "yesterday"}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api(&d.app, "executions", r#"{"pipeline": 42}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "wrong types are the caller's error: {body}");
    let (status, _) = api(&d.app, "executions", "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_pasted_arn_redirects_before_any_page_renders() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let (_, id) = ids_of(&d.client, "AbalonePipeline").await[0].clone();
    let arn = format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/AbalonePipeline/execution/{id}");
    for _ in 0..20 {
        let res = d
            .app
            .clone()
            .oneshot(Request::get(format!("/?q={}", common::form_value(&arn))).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        assert_eq!(res.headers()["location"], format!("/pipelines/AbalonePipeline/executions/{id}").as_str());
    }
    let res = d
        .app
        .clone()
        .oneshot(
            Request::get("/?q=arn%3Aaws%3Asagemaker%3Aus-east-1%3A1%3Apipeline%2FAbalonePipeline")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/pipelines/AbalonePipeline");
    // Plain words and hostile text are a search on the page, not a redirect.
    for q in ["abalone", "%3Cscript%3E", "arn%3Aaws%3Asagemaker%3A%0D%0ALocation%3A%20evil", "%FF%FE"] {
        let (status, html) = get(&d.app, &format!("/?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert!(html.contains("<h1>Pipelines"), "{q}");
    }
}

/// Many pages rendered at once on several worker threads, as a busy server does: every one answers with its
/// status and its title. (The head is rendered after the body; a title read from the route's parameters
/// once panicked the worker here when the route had already been torn down.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_rendered_concurrently_all_answer_with_their_titles() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let id = ids_of(&d.client, "AbalonePipeline").await[0].1.clone();
    let pages = [
        ("/pipelines/NoSuchPipeline".to_string(), StatusCode::NOT_FOUND, "<title>NoSuchPipeline · Stepline</title>"),
        (
            "/pipelines/AbalonePipeline/executions/zzzzzzzzzzzz".to_string(),
            StatusCode::NOT_FOUND,
            "<title>zzzzzzzzzzzz · AbalonePipeline · Stepline</title>",
        ),
        (
            "/pipelines/%3Cscript%3E/executions/x".to_string(),
            StatusCode::NOT_FOUND,
            "<title>x · &lt;script&gt; · Stepline</title>",
        ),
        (
            "/pipelines/AbalonePipeline/start".to_string(),
            StatusCode::OK,
            "<title>Start AbalonePipeline · Stepline</title>",
        ),
        (format!("/pipelines/AbalonePipeline/executions/{id}"), StatusCode::OK, "· AbalonePipeline · Stepline</title>"),
        // A name that tries to close the title and open a script stays text.
        (
            "/pipelines/%3C%2Ftitle%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E".to_string(),
            StatusCode::NOT_FOUND,
            "<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; · Stepline</title>",
        ),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..60 {
        let (path, want, title) = pages[round % pages.len()].clone();
        let app = d.app.clone();
        tasks.spawn(async move {
            let (status, html) = get(&app, &path).await;
            assert_eq!(status, want, "{path}");
            let got = html.split("<title>").nth(1).and_then(|t| t.split("</title>").next()).unwrap_or("(none)");
            assert!(html.contains(title), "{path}: no {title} in the page but {got}");
            assert!(!html.contains("<script>alert"), "{path}: markup from the URL reached the page");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a page render panicked");
    }
}

#[tokio::test]
async fn server_functions_filter_sort_and_page() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let (status, body) = api(
        &d.app,
        "executions",
        r#"{"pipeline": "AbalonePipeline", "query": {"size": 2, "oldest_first": true, "params": ["MseThreshold"]}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: stepline_types::page::ExecutionsPage = serde_json::from_str(&body).unwrap();
    assert!(!body.contains("\"definition\""), "a list answer carries no definition: {} bytes", body.len());
    assert_eq!(page.rows.len(), 2);
    assert_eq!(page.rows[0].summary.display_name.as_deref(), Some("nightly-baseline"), "oldest first");
    assert_eq!(page.rows[0].params, vec![Some("6.0".to_string())]);
    assert!(page.coverage.complete, "{:?}", page.coverage);
    // End times are not in the list SageMaker answers: rows carry those known, the rest are described in
    // the background (a list page never waits on a call per row) and appear on the next load.
    let ended = |p: &stepline_types::page::ExecutionsPage| p.rows.iter().all(|r| r.end.is_some());
    let mut page = page;
    for _ in 0..50 {
        if ended(&page) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, body) = api(&d.app, "executions", r#"{"pipeline": "AbalonePipeline", "query": {"size": 2, "oldest_first": true, "params": ["MseThreshold"]}}"#).await;
        page = serde_json::from_str(&body).unwrap();
    }
    assert!(ended(&page), "finished rows carry their end");
    let next = page.next_cursor.unwrap();
    let (_, body) = api(
        &d.app,
        "executions",
        &format!(
            r#"{{"pipeline": "AbalonePipeline", "query": {{"size": 2, "oldest_first": true, "cursor": "{next}"}}}}"#
        ),
    )
    .await;
    let page2: stepline_types::page::ExecutionsPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page.rows[1].summary.display_name.as_deref(), Some("strict-threshold"));
    assert_eq!(page2.rows[0].summary.display_name.as_deref(), Some("release"), "page two starts after the cursor");
}

#[tokio::test]
async fn a_list_page_reloaded_within_seconds_costs_no_upstream_call() {
    let _turn = one_at_a_time().await;
    // A seeded emulator of its own: counting this app's upstream calls needs no other traffic on it.
    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    demo::seed(&emulator, &client, 20.0).await.unwrap();
    let gateway = Arc::new(Gateway::new(client.clone(), "private"));
    let d = Demo { app: router::build(AppState::new(options(), gateway.clone()).await).await, client, gateway };
    let path = "/pipelines/AbalonePipeline?status=Failed";
    let (status, _) = get(&d.app, path).await;
    assert_eq!(status, StatusCode::OK);
    // What the first load set going in the background (end times of its rows) settles first.
    let mut settled = d.gateway.calls();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let now = d.gateway.calls();
        if now == settled {
            break;
        }
        settled = now;
    }
    let (_, first) = get(&d.app, path).await;
    let (before, t) = (d.gateway.calls(), std::time::Instant::now());
    for _ in 0..3 {
        let (status, body) = get(&d.app, path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.matches("data-status=\"Failed\"").count(), first.matches("data-status=\"Failed\"").count());
    }
    // The pipeline's description and its execution index are both reused for 3 s.
    if t.elapsed() < std::time::Duration::from_millis(2500) {
        assert_eq!(d.gateway.calls() - before, 0, "reloads within the freshness window ask SageMaker nothing");
    }
    // A pipeline that does not exist is asked once, then known as missing for a while (so bogus links
    // and streams cost nothing more), and never kept among the descriptions.
    let before = d.gateway.calls();
    for _ in 0..3 {
        let (status, _) = get(&d.app, "/pipelines/NoSuchPipeline").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(d.gateway.calls() - before, 1);
}

#[tokio::test]
async fn the_execution_stream_sends_a_snapshot() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let ids = ids_of(&d.client, "ControlFlowPipeline").await;
    let (_, waiting) = &ids[0];
    let res = d
        .app
        .clone()
        .oneshot(
            Request::get(format!("/events/pipelines/ControlFlowPipeline/executions/{waiting}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body().into_data_stream();
    use futures::StreamExt;
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), body.next()).await.unwrap().unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("event: snapshot\ndata: {"), "{text}");
    assert!(text.contains("\"ManualApproval\""), "the waiting callback step is in the snapshot");
    let (status, _) = get(&d.app, "/events/pipelines/ControlFlowPipeline/executions/..%2F..").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An endpoint like moto's: everything works but ListPipelineExecutionSteps, which answers an HTML 500.
async fn moto_like() -> (String, stepline_emulator::RunningEmulator) {
    let emulator = demo::start_emulator().await.unwrap();
    let app = stepline_emulator::server::router(emulator.core()).layer(axum::middleware::from_fn(
        |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let is_steps = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok())
                == Some("SageMaker.ListPipelineExecutionSteps");
            if is_steps {
                return axum::response::Response::builder()
                    .status(500)
                    .header("content-type", "text/html")
                    .body(Body::from("<html><body>Internal Server Error</body></html>"))
                    .unwrap();
            }
            next.run(req).await
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, emulator)
}

#[tokio::test]
async fn an_endpoint_without_steps_gives_a_clear_note_not_a_broken_page() {
    let _turn = one_at_a_time().await;
    let (url, _emulator) = moto_like().await;
    let client = demo::endpoint_client(&url, "us-east-1");
    client
        .create_pipeline()
        .pipeline_name("P")
        .pipeline_definition(demo::ABALONE)
        .role_arn("arn:aws:iam::123456789012:role/R")
        .send()
        .await
        .unwrap();
    let arn =
        client.start_pipeline_execution().pipeline_name("P").send().await.unwrap().pipeline_execution_arn.unwrap();
    let app = router::build(AppState::new(options(), Arc::new(Gateway::new(client, "moto-like"))).await).await;
    let (status, html) = get(&app, &format!("/pipelines/P/executions/{}", arn.rsplit('/').next().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Steps unavailable from this endpoint"), "{html}");
    assert!(html.contains("data-testid=\"execution-meta\""), "the rest of the page renders");
}

#[tokio::test]
async fn a_dead_endpoint_and_access_denied_are_shown_with_their_codes() {
    let _turn = one_at_a_time().await;
    let dead = demo::endpoint_client("http://127.0.0.1:9", "us-east-1");
    let app = router::build(AppState::new(options(), Arc::new(Gateway::new(dead, "dead"))).await).await;
    let (status, html) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK, "the page renders around the error");
    assert!(html.contains("EndpointUnreachable"), "{html}");

    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    emulator
        .core()
        .set_scenario(
            stepline_emulator::Scenario::parse(
                r#"{"faults": [{"operation": "ListPipelines", "code": "AccessDeniedException"}]}"#,
            )
            .unwrap(),
        )
        .unwrap();
    let app = router::build(AppState::new(options(), Arc::new(Gateway::new(client, "denied"))).await).await;
    let (_, html) = get(&app, "/").await;
    assert!(html.contains("AccessDeniedException"), "{html}");
    assert!(html.contains("is not authorized to perform: sagemaker:ListPipelines"), "{html}");
    let (status, _) = api(&app, "pipelines", "{}").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
}

async fn form_post(
    app: &Router,
    endpoint: &str,
    fields: &[(&str, &str)],
    accept: &str,
) -> (StatusCode, String, Option<String>) {
    let body: String = fields
        .iter()
        .map(|(k, v)| format!("{}={}", common::form_value(k), common::form_value(v)))
        .collect::<Vec<_>>()
        .join("&");
    let res = app
        .clone()
        .oneshot(
            Request::post(format!("/api/{endpoint}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", accept)
                .header("referer", "/")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(String::from);
    let bytes = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned(), location)
}

#[tokio::test]
async fn hostile_start_forms_are_refused_by_name_and_start_nothing() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let before: Vec<String> = ids_of(&d.client, "AbalonePipeline").await.into_iter().map(|(_, id)| id).collect();
    let token = "hostile-token-0123456789abcdef0123456789";
    let long = "x".repeat(5000);
    let fifty_one: Vec<String> = (0..51).map(|i| format!("form[steps][S{i}]")).collect();
    let mut many: Vec<(&str, &str)> = vec![("form[pipeline]", "AbalonePipeline"), ("form[token]", token)];
    many.extend(fifty_one.iter().map(|k| (k.as_str(), "on")));
    let foreign = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/ControlFlowPipeline/execution/abcdefabcdef";
    type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("form[pipeline]", "AbalonePipeline"), ("form[token]", token), ("form[max_parallel]", "lots")],
            StatusCode::BAD_REQUEST,
            "Parallel steps",
        ),
        (
            vec![("form[pipeline]", "AbalonePipeline"), ("form[token]", token), ("form[params][Nope]", "1")],
            StatusCode::BAD_REQUEST,
            "Unknown parameter",
        ),
        (
            vec![("form[pipeline]", "AbalonePipeline"), ("form[token]", token), ("form[params][MseThreshold]", "six")],
            StatusCode::BAD_REQUEST,
            "MseThreshold",
        ),
        (
            vec![
                ("form[pipeline]", "AbalonePipeline"),
                ("form[token]", token),
                ("form[params][TrainingInstanceType]", &long),
            ],
            StatusCode::BAD_REQUEST,
            "at most 1024",
        ),
        (
            vec![
                ("form[pipeline]", "AbalonePipeline"),
                ("form[token]", token),
                ("form[display_name]", "<script>alert('x')</script>"),
            ],
            StatusCode::BAD_REQUEST,
            "Display name",
        ),
        (
            vec![("form[pipeline]", "AbalonePipeline"), ("form[token]", token), ("form[description]", &long)],
            StatusCode::BAD_REQUEST,
            "Description",
        ),
        (vec![("form[pipeline]", "AbalonePipeline"), ("form[token]", "short")], StatusCode::BAD_REQUEST, "out of date"),
        (many, StatusCode::BAD_REQUEST, "between 1 and 50"),
        (
            vec![
                ("form[pipeline]", "AbalonePipeline"),
                ("form[token]", token),
                ("form[steps][AbaloneTrain]", "on"),
                ("form[source]", foreign),
            ],
            // Refused here, before SageMaker could say whether that other pipeline has such an execution.
            StatusCode::BAD_REQUEST,
            "is not an execution of AbalonePipeline",
        ),
        (
            vec![
                ("form[pipeline]", "AbalonePipeline"),
                ("form[token]", token),
                ("form[steps][AbaloneTrain]", "on"),
                ("form[source]", "'; DROP TABLE x; --"),
            ],
            StatusCode::BAD_REQUEST,
            "Source execution",
        ),
        (vec![("form[pipeline]", "../../etc/passwd"), ("form[token]", token)], StatusCode::NOT_FOUND, "NotFound"),
        (
            vec![("form[pipeline]", "AbalonePipeline"), ("form[token]", token), ("form[params]", "not-a-map")],
            StatusCode::BAD_REQUEST,
            "",
        ),
    ];
    for (fields, status, needle) in cases {
        let (got, body, _) = form_post(&d.app, "start", &fields, "application/json").await;
        assert_eq!(got, status, "{fields:?}: {body}");
        assert!(body.contains(needle), "{fields:?}: {body}");
        assert!(!body.contains("<script>"), "markup is never echoed raw in JSON: {body}");
    }
    // Other tests share the emulator and start executions of their own (named "plain-form-…").
    let started: Vec<String> = ids_of(&d.client, "AbalonePipeline")
        .await
        .into_iter()
        .filter(|(name, id)| !before.contains(id) && !name.starts_with("plain-form"))
        .map(|(name, _)| name)
        .collect();
    assert!(started.is_empty(), "no hostile form started anything: {started:?}");
}

#[tokio::test]
async fn a_plain_form_post_is_redirected_with_what_was_typed_or_to_the_new_execution() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let token = format!("plain-form-{}-0123456789abcdef0123456789", std::process::id());
    let (status, _, location) = form_post(
        &d.app,
        "start",
        &[("form[pipeline]", "AbalonePipeline"), ("form[token]", &token), ("form[display_name]", "bad name")],
        "text/html",
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.unwrap();
    assert!(location.starts_with("/pipelines/AbalonePipeline/start?state="), "{location}");
    assert!(location.contains("bad%20name"), "what was typed comes back: {location}");
    let fields = [
        ("form[pipeline]", "AbalonePipeline"),
        ("form[token]", token.as_str()),
        ("form[display_name]", "plain-form-ok"),
    ];
    let (status, _, location) = form_post(&d.app, "start", &fields, "text/html").await;
    assert_eq!(status, StatusCode::FOUND);
    let first = location.unwrap();
    assert!(first.starts_with("/pipelines/AbalonePipeline/executions/"), "{first}");
    // The same form sent again lands on the same execution.
    let (_, _, again) = form_post(&d.app, "start", &fields, "text/html").await;
    assert_eq!(again.as_deref(), Some(first.as_str()));
}

#[tokio::test]
async fn hostile_stop_retry_and_callback_requests() {
    let _turn = one_at_a_time().await;
    let d = demo_app().await;
    let token = "hostile-token-0123456789abcdef0123456789";
    let ids = ids_of(&d.client, "AbalonePipeline").await;
    let (_, finished) = ids.iter().find(|(n, _)| n == "nightly-baseline").unwrap();
    let (status, body, _) = form_post(
        &d.app,
        "stop",
        &[("pipeline", "AbalonePipeline"), ("id", "../../x"), ("token", token)],
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body, _) = form_post(
        &d.app,
        "stop",
        &[("pipeline", "AbalonePipeline"), ("id", finished), ("token", token)],
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.contains("ConflictException"), "stopping a finished execution says why: {body}");
    let (status, body, _) = form_post(
        &d.app,
        "retry",
        &[("pipeline", "AbalonePipeline"), ("id", finished), ("token", token), ("max_parallel", "-3")],
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Parallel steps"), "{body}");
    let (status, body, _) =
        form_post(&d.app, "retry", &[("pipeline", "AbalonePipeline"), ("id", finished)], "application/json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a missing field is the caller's error: {body}");
    // A callback form naming a step that is not waiting is refused; the token is looked up on the server,
    // so one posted with the form is never used.
    let cf = ids_of(&d.client, "ControlFlowPipeline").await;
    let (_, waiting) = &cf[0];
    let callback = |step: &'static str| {
        vec![
            ("form[pipeline]", "ControlFlowPipeline"),
            ("form[id]", waiting.as_str()),
            ("form[step]", step),
            ("form[callback_token]", "AAAAAAAAAA"),
            ("form[token]", token),
            ("form[decision]", "approve"),
        ]
    };
    let (status, body, _) = form_post(&d.app, "callback", &callback("ScoreBatch"), "application/json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Step 'ScoreBatch' is not waiting for an answer"), "{body}");
    let (status, _, _) = form_post(&d.app, "callback", &callback("<b>\"'</b>"), "application/json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Every read the pages make, answered `ThrottlingException` (as the service does when the account's
/// quota is spent by Studio, the SDK or CI).
const THROTTLE_READS: &str = r#"{"faults": [
    {"operation": "ListPipelines", "code": "ThrottlingException"},
    {"operation": "DescribePipeline", "code": "ThrottlingException"},
    {"operation": "ListPipelineExecutions", "code": "ThrottlingException"},
    {"operation": "DescribePipelineExecution", "code": "ThrottlingException"},
    {"operation": "ListPipelineExecutionSteps", "code": "ThrottlingException"},
    {"operation": "ListPipelineParametersForExecution", "code": "ThrottlingException"}]}"#;

fn scenario(json: &str) -> stepline_emulator::Scenario {
    stepline_emulator::Scenario::parse(json).unwrap()
}

/// An emulator of its own (its faults must not reach other tests) with one pipeline and one execution
/// running, and the dashboard over it.
async fn private_app() -> (stepline_emulator::RunningEmulator, AppState, Router, String) {
    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    client
        .create_pipeline()
        .pipeline_name("Throttled")
        .pipeline_definition(demo::ABALONE)
        .role_arn("arn:aws:iam::123456789012:role/R")
        .send()
        .await
        .unwrap();
    let arn = client
        .start_pipeline_execution()
        .pipeline_name("Throttled")
        .pipeline_execution_display_name("known-before")
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    let id = arn.rsplit('/').next().unwrap().to_string();
    let state = AppState::new(options(), Arc::new(Gateway::new(client, "private"))).await;
    let app = router::build(state.clone()).await;
    (emulator, state, app, id)
}

#[tokio::test]
async fn pages_show_what_they_knew_with_its_age_while_sagemaker_throttles_and_recover_by_themselves() {
    let _turn = one_at_a_time().await;
    let (emulator, state, app, id) = private_app().await;
    let execution = format!("/pipelines/Throttled/executions/{id}");
    let pages = ["/", "/pipelines/Throttled", execution.as_str(), "/pipelines/Throttled/start"];
    for path in pages {
        let (status, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("data-testid=\"stale-notice\""), "{path} is current");
    }

    emulator.core().set_scenario(scenario(THROTTLE_READS)).unwrap();
    state.watchers.refresh_all().await;
    for path in pages {
        let (status, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path} still renders");
        assert!(html.contains("data-testid=\"stale-notice\""), "{path} says its data is old: {html}");
        assert!(html.contains("SageMaker is throttling"), "{path} says why");
        assert!(html.contains("ThrottlingException"), "{path} names the code");
        assert!(html.contains("retrying in"), "{path} says when it tries again");
        assert!(html.contains("Throttled"), "{path} still shows the pipeline");
    }
    let (_, html) = get(&app, &execution).await;
    assert!(html.contains("known-before"), "the execution's last snapshot is shown");
    assert!(html.contains("paused — SageMaker is throttling"), "the live badge does not claim to be live");

    // Reloads during the backoff answer from what is known: nothing is asked upstream.
    let before = state.gateway.calls();
    for path in pages {
        assert_eq!(get(&app, path).await.0, StatusCode::OK);
    }
    assert_eq!(state.gateway.calls(), before, "no upstream call while backing off");
    // The server functions say the same to the browser.
    let (status, body) = api(&app, "pipelines", "{}").await;
    assert_eq!(status, StatusCode::OK);
    let page: stepline_types::page::PipelinesPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page.freshness.problem.unwrap().error.code, "ThrottlingException");
    assert_eq!(page.rows.len(), 1);

    // When SageMaker answers again, the next refresh is current.
    emulator.core().set_scenario(stepline_emulator::Scenario::default()).unwrap();
    state.watchers.refresh_all().await;
    for path in pages {
        let (status, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("data-testid=\"stale-notice\""), "{path} is current again");
    }
}

#[tokio::test]
async fn a_view_never_loaded_shows_the_error_alone_with_what_to_do() {
    let _turn = one_at_a_time().await;
    let (emulator, _state, app, _) = private_app().await;
    emulator.core().set_scenario(scenario(THROTTLE_READS)).unwrap();
    let (status, html) = get(&app, "/pipelines/Throttled").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ThrottlingException"), "{html}");
    assert!(html.contains("class=\"error-advice\""), "it says what to do: {html}");
    assert!(!html.contains("data-testid=\"stale-notice\""), "there is nothing old to show");
}

#[tokio::test]
async fn a_start_refused_by_throttling_says_nothing_happened_and_starts_once_when_sent_again() {
    let _turn = one_at_a_time().await;
    let (emulator, _state, app, _) = private_app().await;
    emulator
        .core()
        .set_scenario(scenario(
            r#"{"faults": [{"operation": "StartPipelineExecution", "code": "ThrottlingException"}]}"#,
        ))
        .unwrap();
    let token = "throttled-start-0123456789abcdef0123456789";
    let fields = [("form[pipeline]", "Throttled"), ("form[token]", token), ("form[display_name]", "sent-twice")];
    let (status, body, _) = form_post(&app, "start", &fields, "application/json").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The page shows the error as it reads: what SageMaker said, that nothing happened, what to do.
    let said = serde_json::from_str::<stepline_types::error::AppError>(&body).unwrap().to_string();
    assert!(said.starts_with("SageMaker is throttling: ThrottlingException: Rate exceeded."), "{said}");
    assert!(said.ends_with("Nothing was done; it is safe to send it again."), "{said}");
    emulator.core().set_scenario(stepline_emulator::Scenario::default()).unwrap();
    let mut landed = vec![];
    for _ in 0..2 {
        let (status, _, location) = form_post(&app, "start", &fields, "text/html").await;
        assert_eq!(status, StatusCode::FOUND);
        landed.push(location.unwrap());
    }
    assert!(landed[0].starts_with("/pipelines/Throttled/executions/"), "{landed:?}");
    assert_eq!(landed[0], landed[1], "the same token lands on the same execution");
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    let started: Vec<_> =
        ids_of(&client, "Throttled").await.into_iter().filter(|(name, _)| name == "sent-twice").collect();
    assert_eq!(started.len(), 1, "one execution for one token: {started:?}");
}

#[tokio::test]
async fn a_stalled_endpoint_fails_a_page_within_the_time_limit_instead_of_hanging_it() {
    let _turn = one_at_a_time().await;
    // Accepts connections and never answers, like an endpoint behind a dead load balancer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let app = router::build(
        AppState::new(options(), Arc::new(Gateway::new(demo::endpoint_client(&url, "us-east-1"), "stalled"))).await,
    )
    .await;
    let t = std::time::Instant::now();
    let (status, html) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK, "the page renders around the error");
    assert!(html.contains("Timeout") && html.contains("did not answer in time"), "{html}");
    assert!(t.elapsed() < std::time::Duration::from_secs(25), "answered after {:?}", t.elapsed());
}
