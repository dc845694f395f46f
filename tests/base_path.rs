//! Stepline under a base path (`--base-path /stepline`), through the real router: pages, links, assets,
//! server functions, streams, redirects and probes all under it, and nothing answered outside it. A test
//! binary of its own: the base path is set once per process.

use std::sync::Arc;

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{options, send};
use stepline::{demo, router};
use stepline_core::{gateway::Gateway, state::AppState};
use tower::ServiceExt;

const BASE: &str = "/stepline";

async fn app() -> (Router, String) {
    stepline_types::base::set(BASE, BASE);
    // A site of its own, so static files are found whatever has been built.
    let site = std::env::temp_dir().join(format!("stepline-base-path-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("favicon.svg"), "<svg/>").unwrap();
    std::fs::write(site.join("pkg/stepline.css"), "body{}").unwrap();
    let mut o = options();
    o.site_root = site.to_string_lossy().into_owned().into();
    let emulator = Box::leak(Box::new(demo::start_emulator().await.unwrap()));
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    demo::seed(emulator, &client, 20.0).await.unwrap();
    let listed = client.list_pipeline_executions().pipeline_name("AbalonePipeline").send().await.unwrap();
    let arn = listed.pipeline_execution_summaries()[0].pipeline_execution_arn().unwrap().to_string();
    let app = router::build(AppState::new(o, Arc::new(Gateway::new(client, "test"))).await).await;
    (app, arn)
}

async fn get(app: &Router, path: &str) -> (StatusCode, String, axum::http::HeaderMap) {
    let res = app
        .clone()
        .oneshot(Request::get(path).header("accept", "text/html").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20).await.unwrap();
    (parts.status, String::from_utf8_lossy(&body).into_owned(), parts.headers)
}

#[tokio::test]
async fn everything_is_under_the_base_path_and_nothing_outside_it() {
    let (app, arn) = app().await;
    let id = arn.rsplit('/').next().unwrap().to_string();

    // The home page is the base itself; its links, assets and the browser's base are under it.
    let (status, page, _) = get(&app, BASE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<meta name="stepline-base" content="/stepline">"#), "the browser learns the base");
    for link in
        ["href=\"/stepline/pipelines/AbalonePipeline\"", "href=\"/stepline/activity\"", "/stepline/pkg/stepline"]
    {
        assert!(page.contains(link), "the page has {link}");
    }
    assert!(!page.contains("href=\"/pipelines/"), "no link leaves the base");
    // With a trailing slash it is sent to the base.
    let (status, _, headers) = get(&app, "/stepline/").await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers["location"], BASE);

    // Pages, an execution's page and its links.
    let execution = format!("{BASE}/pipelines/AbalonePipeline/executions/{id}");
    let (status, page, _) = get(&app, &execution).await;
    assert_eq!(status, StatusCode::OK, "{execution}");
    assert!(page.contains(&format!("href=\"{execution}?tab=")), "tabs link under the base");
    // Server functions, as the browser calls them.
    let res = send(
        &app,
        Request::post(format!("{BASE}/api/pipelines"))
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(res.0, StatusCode::OK, "{}", res.1);
    assert!(res.1.contains("AbalonePipeline"));
    // A live stream opens (its first bytes are enough).
    let res = app
        .clone()
        .oneshot(
            Request::get(format!("{BASE}/events/pipelines/AbalonePipeline/executions")).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    // Static files and probes.
    assert_eq!(get(&app, &format!("{BASE}/favicon.svg")).await.0, StatusCode::OK);
    assert_eq!(get(&app, &format!("{BASE}/pkg/stepline.css")).await.0, StatusCode::OK);
    assert_eq!(get(&app, &format!("{BASE}/healthz")).await.0, StatusCode::OK);
    // A pasted ARN goes to its page under the base.
    let (status, _, headers) = get(&app, &format!("{BASE}?q={}", arn.replace(':', "%3A").replace('/', "%2F"))).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], execution.as_str());
    // An unknown page under the base is the app's own 404, with links under the base.
    let (status, page, _) = get(&app, &format!("{BASE}/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("href=\"/stepline\""), "back to the pipelines, under the base");

    // Outside the base nothing is served.
    for path in
        ["/pipelines/AbalonePipeline", "/favicon.svg", "/healthz", "/events/pipelines/AbalonePipeline/executions"]
    {
        assert_eq!(get(&app, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}
