//! Operating Stepline: readiness that says what is wrong, and a shutdown on SIGTERM that tells every open
//! stream to reconnect and exits in time — the real binary, signalled as a container runtime does.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;
use crate::fleet;

use axum::http::StatusCode;
use common::{get, options};
use stepline::{demo, router};
use stepline_core::{gateway::Gateway, state::AppState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn readiness_says_what_is_wrong_and_is_reused_for_seconds() {
    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    let gateway = Arc::new(Gateway::new(client, "test"));
    let app = router::build(AppState::new(options(), gateway.clone()).await).await;
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));
    let calls = gateway.calls();
    for _ in 0..20 {
        assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    }
    assert_eq!(gateway.calls(), calls, "probes within seconds reuse the answer: no upstream call");

    // An endpoint that is gone: 503, naming SageMaker; /healthz still says the process is up.
    let dead = demo::endpoint_client("http://127.0.0.1:9", "us-east-1");
    let app = router::build(AppState::new(options(), Arc::new(Gateway::new(dead, "dead"))).await).await;
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body, "not ready: SageMaker", "the part only: what it said (hosts, roles, accounts) is logged");
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);

    // Probes at once: one check runs, the others wait for its answer (each would otherwise ask SageMaker).
    let app = router::build(AppState::new(options(), gateway.clone()).await).await;
    let calls = gateway.calls();
    let probes = futures::future::join_all((0..20).map(|_| get(&app, "/readyz"))).await;
    assert!(probes.iter().all(|(s, _)| *s == StatusCode::OK));
    assert!(gateway.calls() - calls <= 1, "{} upstream calls for 20 concurrent probes", gateway.calls() - calls);
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
}

/// Open an event stream and read until its first event: the stream is live.
async fn open_stream(addr: &str, path: &str) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("event: changed") {
        let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "the stream closed early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).to_lowercase().contains("x-accel-buffering: no"));
    s
}

#[tokio::test]
async fn sigterm_with_50_open_streams_tells_each_to_reconnect_and_exits_in_time() {
    let data = std::env::temp_dir().join(format!("stepline-sigterm-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepline"))
        .args(["--addr", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
        // Streams only: the site's files (and whether a `hash.txt` from some build sits beside the binary) play
        // no part.
        .env("LEPTOS_HASH_FILES", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = fleet::listening(&mut child).await;
    let mut streams = vec![];
    for _ in 0..50 {
        streams.push(open_stream(&addr, "/events/pipelines/AbalonePipeline/executions").await);
    }
    let t = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    // Every stream is told to reconnect, then closed.
    for (i, mut s) in streams.into_iter().enumerate() {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await.expect("closed in time").ok();
        let text = String::from_utf8_lossy(&rest);
        assert!(text.contains("event: reconnect"), "stream {i} saw: {text}");
    }
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    let took = t.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(10), "exited after {took:?}");
    std::fs::remove_dir_all(&data).ok();
}
