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
