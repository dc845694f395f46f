//! What the router tests share: Leptos options and requests answered in full, within a time limit.
#![allow(dead_code)]

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use leptos::prelude::LeptosOptions;
use tower::ServiceExt;

pub fn options() -> LeptosOptions {
    LeptosOptions::builder().output_name("stepline").site_root("target/site").build()
}

/// One request through the router, answered in full. Every page must answer within a minute (the gateway's
/// time limits are seconds): a request that does not is a hang, reported with its path.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let what = format!("{} {}", req.method(), req.uri());
    let answer = async {
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = to_bytes(res.into_body(), 16 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), answer)
        .await
        .unwrap_or_else(|_| panic!("{what} was not answered within 60 s"))
}

pub async fn get(app: &Router, path: &str) -> (StatusCode, String) {
    send(app, Request::get(path).header("accept", "text/html").body(Body::empty()).unwrap()).await
}

pub async fn api(app: &Router, endpoint: &str, json: &str) -> (StatusCode, String) {
    send(
        app,
        Request::post(format!("/api/{endpoint}"))
            .header("content-type", "application/json")
            .body(Body::from(json.to_string()))
            .unwrap(),
    )
    .await
}

/// A form value or query parameter as a browser encodes it (letters, digits and `-_.~` as they are).
pub fn form_value(s: &str) -> String {
    const KEPT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, KEPT).to_string()
}

/// A request as a trusted proxy at 127.0.0.1 forwards it for `user` in `groups` (comma-separated), to a
/// dashboard whose public host is `host`.
pub fn proxied(method: &str, path: &str, host: &str, user: &str, groups: &str) -> axum::http::request::Builder {
    let peer: std::net::SocketAddr = ([127, 0, 0, 1], 40000).into();
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .extension(axum::extract::ConnectInfo(peer))
        .header("x-forwarded-user", user)
        .header("x-forwarded-groups", groups)
}

/// One request answered in full, with its headers.
pub async fn send_with_headers(app: &Router, req: Request<Body>) -> (StatusCode, String, axum::http::HeaderMap) {
    let res = tokio::time::timeout(std::time::Duration::from_secs(60), app.clone().oneshot(req))
        .await
        .expect("answered within 60 s")
        .unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = to_bytes(res.into_body(), 16 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

/// A form posted as a browser posts it: with its script (JSON answers) or plain (`text/html`: a redirect).
pub fn form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{k}={}", form_value(v))).collect::<Vec<_>>().join("&")
}

/// A dashboard over the demo's emulator, seeded, with people named by a trusted proxy at 127.0.0.1 under a
/// policy: its router, the emulator's SageMaker client and URL, and the activity log.
pub struct ProxiedDemo {
    pub app: Router,
    pub client: aws_sdk_sagemaker::Client,
    pub url: String,
    pub db: stepline_core::store::Db,
}

/// The demo seeded at twice the wall clock's speed, answering for `host` under `policy` (TOML); `gateway`
/// adds to the gateway what a test needs (CloudWatch Logs, `--act-role`).
pub async fn proxied_demo(
    host: &str,
    policy: &str,
    gateway: impl FnOnce(stepline_core::gateway::Gateway, &str) -> stepline_core::gateway::Gateway,
) -> ProxiedDemo {
    use stepline_core::config::{AccessConfig, AuthMode, HttpUrl};
    let emulator = stepline::demo::start_emulator().await.unwrap();
    let url = emulator.endpoint_url();
    let client = stepline::demo::endpoint_client(&url, "us-east-1");
    stepline::demo::seed(&emulator, &client, 2.0).await.unwrap();
    std::mem::forget(emulator);
    let dir = std::env::temp_dir().join(format!("stepline-{host}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("policy-{}.toml", url.rsplit(':').next().unwrap_or_default()));
    std::fs::write(&file, policy).unwrap();
    let config = AccessConfig {
        auth: AuthMode::Proxy,
        public_url: Some(HttpUrl::parse(&format!("http://{host}")).unwrap()),
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        policy: Some(file),
        session_hours: 12,
        ..Default::default()
    };
    let db = stepline_core::store::Db::memory().await.unwrap();
    let access = std::sync::Arc::new(stepline_core::access::Access::new(&config, db.clone()).await.unwrap());
    let gateway = gateway(stepline_core::gateway::Gateway::new(client.clone(), "test"), &url);
    let state = stepline_core::state::AppState::with_access(
        options(),
        std::sync::Arc::new(gateway),
        access,
        Default::default(),
    );
    ProxiedDemo { app: stepline::router::build(state).await, client, url, db }
}

/// A page as `user` sees it through the proxy: its status and HTML.
pub async fn page_as(app: &Router, host: &str, user: &str, path: &str) -> (StatusCode, String) {
    let req = proxied("GET", path, host, user, "").header("accept", "text/html").body(Body::empty()).unwrap();
    let (s, b, _) = send_with_headers(app, req).await;
    (s, b)
}
