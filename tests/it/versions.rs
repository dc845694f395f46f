//! Pipeline versions through the real router, against an emulator of its own: a pipeline updated twice
//! has three versions; the start form offers them and follows the chosen one's parameters (a GET with
//! `?version=`, as without JavaScript), a start sends the chosen version and is checked against it, the
//! execution page says whether the execution ran the latest, the definition page shows what changed
//! since, and a re-run's form is for its source's version.

use std::sync::Arc;

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{get, options, send};
use serde_json::json;
use stepline::{demo, router};
use stepline_core::{gateway::Gateway, state::AppState};

const PIPELINE: &str = "Versioned";

/// A definition with one step and these parameters (name, default).
fn definition(params: &[(&str, &str)]) -> String {
    let params: Vec<_> = params.iter().map(|(n, d)| json!({"Name": n, "Type": "String", "DefaultValue": d})).collect();
    json!({
        "Version": "2020-12-01",
        "Parameters": params,
        "Steps": [{"Name": "Prepare", "Type": "Processing", "Arguments": {}}],
    })
    .to_string()
}

struct Versioned {
    app: Router,
    client: aws_sdk_sagemaker::Client,
}

/// The dashboard over an emulator with `PIPELINE` created and updated twice: version 1 has `OldOnly`,
/// version 3 `NewOnly` instead, and `Threshold`'s default goes 0.5 → 0.7 → 0.9.
async fn versioned() -> Versioned {
    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    // The emulator lives as long as the test's runtime.
    std::mem::forget(emulator);
    let v1 = definition(&[("Threshold", "0.5"), ("OldOnly", "a")]);
    demo::create_pipeline(&client, PIPELINE, "versions", &v1).await.unwrap();
    for d in
        [definition(&[("Threshold", "0.7"), ("OldOnly", "a")]), definition(&[("Threshold", "0.9"), ("NewOnly", "b")])]
    {
        client.update_pipeline().pipeline_name(PIPELINE).pipeline_definition(d).send().await.unwrap();
    }
    let gateway = Arc::new(Gateway::new(client.clone(), "test"));
    Versioned { app: router::build(AppState::new(options(), gateway).await).await, client }
}

/// A start form posted by the app (JSON answer): its status and body.
async fn start(app: &Router, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", common::form_value(k), common::form_value(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = Request::post("/api/start")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("referer", "/")
        .body(Body::from(body))
        .unwrap();
    send(app, req).await
}

fn token(tag: &str) -> String {
    format!("versions-{tag}-{}-0123456789abcdef0123456789", std::process::id())
}

/// The `<option>` tag whose value is `value`, as rendered.
fn option<'a>(html: &'a str, value: &str) -> Option<&'a str> {
    html.match_indices("<option")
        .map(|(i, _)| &html[i..i + html[i..].find('>').unwrap_or(0) + 1])
        .find(|tag| tag.contains(&format!("value=\"{value}\"")))
}

/// The execution id and PipelineVersionId of the execution named `display`.
async fn started(client: &aws_sdk_sagemaker::Client, display: &str) -> (String, Option<i64>) {
    let list = client.list_pipeline_executions().pipeline_name(PIPELINE).send().await.unwrap();
    let arn = list
        .pipeline_execution_summaries()
        .iter()
        .find(|s| s.pipeline_execution_display_name() == Some(display))
        .and_then(|s| s.pipeline_execution_arn())
        .unwrap_or_else(|| panic!("{display} was started"))
        .to_string();
    let d = client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    (arn.rsplit('/').next().unwrap().to_string(), d.pipeline_version_id())
}

#[tokio::test]
async fn a_start_is_for_the_version_chosen_and_is_checked_against_it() {
    let v = versioned().await;
    // The latest by default: version 3's parameters.
    let (status, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"param-NewOnly\"") && !html.contains("id=\"param-OldOnly\""), "{html}");
    assert!(html.contains("name=\"form[version]\" value=\"\""), "a plain start is for the latest: {html}");
    // As a browser without JavaScript asks for another version: version 1's parameters and defaults.
    let (status, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start?version=1")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"param-OldOnly\"") && !html.contains("id=\"param-NewOnly\""), "{html}");
    assert!(html.contains("default 0.5"), "{html}");
    assert!(html.contains("name=\"form[version]\" value=\"1\""), "{html}");
    let (status, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start?version=9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    assert!(html.contains("Version 9 of pipeline"), "{html}");

    // The server checks the form against the version it starts.
    let t = token("wrong");
    let (status, body) = start(
        &v.app,
        &[("form[pipeline]", PIPELINE), ("form[token]", &t), ("form[version]", "1"), ("form[params][NewOnly]", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Unknown parameter 'NewOnly'"), "{body}");
    let (status, body) =
        start(&v.app, &[("form[pipeline]", PIPELINE), ("form[token]", &t), ("form[version]", "9")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Pipeline version 9 does not exist"), "{body}");

    let t = token("v1");
    let fields = [
        ("form[pipeline]", PIPELINE),
        ("form[token]", t.as_str()),
        ("form[version]", "1"),
        ("form[params][OldOnly]", "z"),
        ("form[display_name]", "from-v1"),
    ];
    let (status, body) = start(&v.app, &fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (id, version) = started(&v.client, "from-v1").await;
    assert_eq!(version, Some(1), "StartPipelineExecution was sent PipelineVersionId 1");

    // A re-run is for the version its source ran; `version=latest` takes the latest instead.
    let (status, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start?from={id}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"param-OldOnly\""), "{html}");
    assert!(html.contains("name=\"form[version]\" value=\"1\""), "{html}");
    assert!(html.contains("value=\"z\""), "the source's value is kept: {html}");
    let (_, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start?from={id}&version=latest")).await;
    assert!(html.contains("id=\"param-NewOnly\"") && html.contains("name=\"form[version]\" value=\"\""), "{html}");
    // Choosing another version keeps the re-run's source (a hidden field of the version form).
    assert!(html.contains(&format!("name=\"from\" value=\"{id}\"")), "{html}");
}

#[tokio::test]
async fn the_definition_page_shows_what_changed_since_the_version_an_execution_ran() {
    let v = versioned().await;
    let t = token("diff");
    let fields = [
        ("form[pipeline]", PIPELINE),
        ("form[token]", t.as_str()),
        ("form[version]", "1"),
        ("form[display_name]", "diff-v1"),
    ];
    assert_eq!(start(&v.app, &fields).await.0, StatusCode::OK);
    let (id, _) = started(&v.client, "diff-v1").await;
    let (status, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/executions/{id}/definition")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let rows: Vec<&str> = html.split("<tr class=\"").skip(1).collect();
    let changed = |class: &str, needle: &str| rows.iter().any(|r| r.starts_with(class) && r.contains(needle));
    assert!(changed("diff-del", "OldOnly") && changed("diff-add", "NewOnly"), "{html}");
    assert!(changed("diff-del", "0.5") && changed("diff-add", "0.9"), "{html}");
    assert!(
        !changed("diff-del", "Prepare") && !changed("diff-add", "Prepare"),
        "unchanged lines are not marked: {html}"
    );
    assert!(html.contains("data-testid=\"diff-summary\""), "{html}");
    let (status, _) = get(&v.app, &format!("/pipelines/{PIPELINE}/executions/zzzzzzzzzzzz/definition")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// The tests below need the endpoint to list versions (ListPipelineVersions).

#[tokio::test]
async fn the_start_form_offers_every_version_newest_first() {
    let v = versioned().await;
    let (_, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start")).await;
    let latest = option(&html, "latest").unwrap_or_else(|| panic!("a latest option: {html}"));
    assert!(latest.contains("selected"), "{latest}");
    assert!(html.contains(">latest (v3)<"), "{html}");
    let at =
        |value: &str| html.find(&format!("<option value=\"{value}\"")).unwrap_or_else(|| panic!("v{value}: {html}"));
    assert!(at("3") < at("2") && at("2") < at("1"), "newest first");
    assert!(html.contains(">v1 · "), "each with its creation time: {html}");
    // The chosen version is the selected option; a re-run's is its source's.
    let (_, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start?version=2")).await;
    assert!(option(&html, "2").is_some_and(|o| o.contains("selected")), "{html}");
    assert!(option(&html, "latest").is_some_and(|o| !o.contains("selected")), "{html}");
    let t = token("rerun");
    let fields = [
        ("form[pipeline]", PIPELINE),
        ("form[token]", t.as_str()),
        ("form[version]", "1"),
        ("form[display_name]", "rerun-v1"),
    ];
    assert_eq!(start(&v.app, &fields).await.0, StatusCode::OK);
    let (id, _) = started(&v.client, "rerun-v1").await;
    let (_, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/start?from={id}")).await;
    assert!(option(&html, "1").is_some_and(|o| o.contains("selected")), "{html}");
}

#[tokio::test]
async fn the_execution_page_says_whether_the_execution_ran_the_latest_version() {
    let v = versioned().await;
    for (version, display) in [("1", "older-v1"), ("", "latest-v3")] {
        let t = token(display);
        let fields = [
            ("form[pipeline]", PIPELINE),
            ("form[token]", t.as_str()),
            ("form[version]", version),
            ("form[display_name]", display),
        ];
        assert_eq!(start(&v.app, &fields).await.0, StatusCode::OK);
    }
    let (old, _) = started(&v.client, "older-v1").await;
    let (_, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/executions/{old}")).await;
    assert!(html.contains("version 1, older than latest (v3)"), "{html}");
    assert!(html.contains(&format!("href=\"/pipelines/{PIPELINE}/executions/{old}/definition\"")), "{html}");
    let (new, version) = started(&v.client, "latest-v3").await;
    assert_eq!(version, Some(3));
    let (_, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/executions/{new}")).await;
    assert!(html.contains("version 3 (latest)"), "{html}");
    assert!(!html.contains("/definition\""), "nothing to compare with the latest: {html}");
    let (_, html) = get(&v.app, &format!("/pipelines/{PIPELINE}/executions/{old}/definition")).await;
    assert!(html.contains("Version 1 against the latest (v3)"), "{html}");
}

/// Routers built while a page renders elsewhere in the process (another test here; several places at
/// start) never hold the page up: Leptos suppresses every resource's loading, process-wide, while it makes
/// a route list, and a page whose data started loading then would wait forever.
#[tokio::test]
async fn pages_render_while_other_routers_are_built() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let v = versioned().await;
    let stop = Arc::new(AtomicBool::new(false));
    // The builder stops however this test ends.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stopping = Stop(stop.clone());
    let building = {
        let (stop, client) = (stop.clone(), v.client.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let mut built = 0;
                while !stop.load(Ordering::Relaxed) {
                    let gateway = Arc::new(Gateway::new(client.clone(), "test"));
                    drop(router::build(AppState::new(options(), gateway).await).await);
                    built += 1;
                }
                built
            })
        })
    };
    let page = format!("/pipelines/{PIPELINE}/start");
    for _ in 0..20 {
        let answer = get(&v.app, &page);
        let (status, html) = tokio::time::timeout(std::time::Duration::from_secs(30), answer)
            .await
            .expect("the start page answered while routers were being built");
        assert_eq!(status, StatusCode::OK, "{html}");
    }
    drop(stopping);
    assert!(building.join().unwrap() > 0, "routers were built meanwhile");
}
