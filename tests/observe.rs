//! Operating Stepline: `/metrics` as Prometheus reads it after real page views, request log lines that name
//! routes and never secrets, and the Grafana dashboard asking only for metrics that are exported.

use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{api, get, options, send};
use prom_text_format_parser::{Scrape, Type, ValueType};
use stepline::{demo, router};
use stepline_core::config::LogFormat;
use stepline_core::limiter::{Limiter, LimiterConfig, Rate};
use stepline_core::observe::{self, logging, METRICS};
use stepline_core::{gateway::Gateway, state::AppState};
use tower::ServiceExt;

/// A scrape, parsed by a strict parser of the text format (it refuses anything malformed).
async fn scrape(app: &Router) -> (String, Scrape) {
    let res = app.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = String::from_utf8(to_bytes(res.into_body(), 16 << 20).await.unwrap().to_vec()).unwrap();
    let parsed = Scrape::parse(&text).unwrap_or_else(|e| panic!("not the Prometheus text format: {e:?}\n{text}"));
    (text, parsed)
}

/// The sum of a family's samples that carry all of `labels`: plain samples, or a histogram's `_count`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(m) = s.metrics.iter().find(|m| m.name == name) else { return 0.0 };
    let wanted = if m.kind == Type::Histogram { ValueType::Count } else { ValueType::Sample };
    m.samples
        .iter()
        .filter(|x| x.value.value_type == wanted)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.iter().any(|l| l.key == *k && l.value == *v)))
        .map(|x| x.value.value.as_f64())
        .sum()
}

#[tokio::test]
async fn metrics_move_with_page_views_and_name_no_one() {
    observe::prometheus::install().unwrap();
    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    demo::seed(&emulator, &client, 20.0).await.unwrap();
    let gateway = Arc::new(Gateway::new(client.clone(), "test"));
    let app = router::build(AppState::new(options(), gateway).await).await;
    let (_, before) = scrape(&app).await;

    let listed = client.list_pipeline_executions().pipeline_name("AbalonePipeline").send().await.unwrap();
    let arn = listed.pipeline_execution_summaries()[0].pipeline_execution_arn().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap().to_string();
    for path in ["/", "/pipelines/AbalonePipeline", &format!("/pipelines/AbalonePipeline/executions/{id}")] {
        for _ in 0..2 {
            assert_eq!(get(&app, path).await.0, StatusCode::OK, "{path}");
        }
    }
    let (status, body) = api(&app, "execution", &format!("{{\"pipeline\":\"AbalonePipeline\",\"id\":\"{id}\"}}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A refused cross-site stop is recorded in the activity log.
    let refused = Request::post("/api/stop")
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(send(&app, refused).await.0, StatusCode::FORBIDDEN);
    // SageMaker throttles the readiness probe's call once.
    let mut scenario = emulator.core().lock().scenario.clone();
    scenario.faults = serde_json::from_value(serde_json::json!([
        {"operation": "ListPipelines", "code": "ThrottlingException", "times": 1}
    ]))
    .unwrap();
    emulator.core().set_scenario(scenario).unwrap();
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    // A limiter with no room left holds a call back.
    let tight = Limiter::new(LimiterConfig {
        concurrency: 1,
        max_wait: Duration::ZERO,
        rates: [("ListTags".to_string(), Rate { per_second: 0.01, burst: 1.0 })].into(),
    });
    tight.turn("ListTags").await.unwrap().finish::<()>(&Ok(()));
    assert!(tight.turn("ListTags").await.is_err());

    let (text, after) = scrape(&app).await;
    for name in METRICS {
        assert!(after.metrics.iter().any(|m| m.name == *name), "{name} is exported:\n{text}");
    }
    let kind_of = |name: &str| after.metrics.iter().find(|m| m.name == name).map(|m| m.kind);
    assert_eq!(kind_of(observe::HTTP_DURATION), Some(Type::Histogram));
    assert_eq!(kind_of(observe::LIMITER_WAIT), Some(Type::Histogram));
    assert_eq!(kind_of(observe::UPSTREAM_CALLS), Some(Type::Counter));
    assert_eq!(kind_of(observe::POLLERS), Some(Type::Gauge));
    let moved = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);

    let page = [("kind", "page"), ("route", "/pipelines/{pipeline}"), ("method", "GET"), ("status", "200")];
    assert_eq!(moved(observe::HTTP_REQUESTS, &page), 2.0, "{text}");
    let execution_page = [("kind", "page"), ("route", "/pipelines/{pipeline}/executions/{id}")];
    assert_eq!(moved(observe::HTTP_DURATION, &execution_page), 2.0, "{text}");
    assert_eq!(moved(observe::HTTP_DURATION, &[("kind", "page"), ("route", "/")]), 2.0, "{text}");
    assert_eq!(moved(observe::HTTP_DURATION, &[("kind", "server_fn"), ("route", "/api/execution")]), 1.0);
    assert!(moved(observe::UPSTREAM_CALLS, &[("outcome", "ok")]) >= 3.0, "{text}");
    assert!(moved(observe::UPSTREAM_CALLS, &[("operation", "DescribePipelineExecution"), ("outcome", "ok")]) >= 1.0);
    assert!(moved(observe::UPSTREAM_DURATION, &[("operation", "ListPipelines")]) >= 1.0);
    assert!(moved(observe::LIMITER_WAIT, &[]) >= 3.0);
    let throttled = [("operation", "ListPipelines"), ("outcome", "ThrottlingException")];
    assert_eq!(moved(observe::UPSTREAM_CALLS, &throttled), 1.0, "{text}");
    assert_eq!(moved(observe::UPSTREAM_THROTTLES, &[("operation", "ListPipelines")]), 1.0);
    assert_eq!(moved(observe::UPSTREAM_HELD_BACK, &[("operation", "ListTags")]), 1.0);
    assert_eq!(moved(observe::ACTIVITY_WRITES, &[("action", "stop"), ("result", "ok")]), 1.0, "{text}");
    assert!(value(&after, observe::CACHE_ENTRIES, &[("cache", "pipelines")]) >= 1.0, "{text}");
    assert_eq!(value(&after, observe::SSE_CLIENTS, &[]), 0.0);
    assert_eq!(value(&after, observe::BUILD_INFO, &[]), 1.0);

    // Routes are templates; no person, pipeline or execution is named.
    for private in ["anonymous", "AbalonePipeline", "abalonepipeline", id.as_str()] {
        assert!(!text.contains(private), "/metrics names {private}:\n{text}");
    }
}

/// Lines written into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn request_lines_name_the_route_and_never_a_secret() {
    const SESSION: &str = "5e55104c00c1e5e55104c00c1e5e55104c00c1e";
    const TOKEN: &str = "callback-token-ca11bac4";
    const CODE: &str = "authorization-code-c0de";
    const BEARER: &str = "bearer-secret-beaa4e4";
    // No SageMaker behind it: pages answer with the error, which is enough for their log lines.
    let dead = demo::endpoint_client("http://127.0.0.1:9", "us-east-1");
    let app = router::build(AppState::new(options(), Arc::new(Gateway::new(dead, "dead"))).await).await;
    for format in [LogFormat::Text, LogFormat::Json] {
        let buf = Buffer::default();
        let out = buf.clone();
        let subscriber = logging::subscriber(format, logging::filter(None).unwrap(), move || out.clone(), false);
        let _logs = tracing::subscriber::set_default(subscriber);
        let requests = [
            Request::get(format!("/auth/callback?code={CODE}&state=s7a7e"))
                .header("cookie", format!("stepline_session={SESSION}; stepline_login={SESSION}"))
                .body(Body::empty())
                .unwrap(),
            Request::get(format!("/pipelines/AbalonePipeline/executions/abc123?token={TOKEN}"))
                .header("accept", "text/html")
                .header("cookie", format!("stepline_session={SESSION}"))
                .header("authorization", format!("Bearer {BEARER}"))
                .body(Body::empty())
                .unwrap(),
            Request::post("/api/callback")
                .header("content-type", "application/json")
                .header("cookie", format!("stepline_session={SESSION}"))
                .body(Body::from(format!("{{\"token\":\"{TOKEN}\",\"outputs\":[]}}")))
                .unwrap(),
        ];
        let mut ids = vec![];
        for req in requests {
            let res = app.clone().oneshot(req).await.unwrap();
            ids.push(res.headers()["x-request-id"].to_str().unwrap().to_string());
            to_bytes(res.into_body(), 16 << 20).await.unwrap();
        }
        let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let request_lines: Vec<&str> = logs.lines().filter(|l| l.contains("stepline::request")).collect();
        assert_eq!(request_lines.len(), 3, "one line per request ({format:?}):\n{logs}");
        for (line, id) in request_lines.iter().zip(&ids) {
            assert!(line.contains(id.as_str()), "the line names its request id {id}: {line}");
        }
        let (route, user) = match format {
            LogFormat::Text => ("route=\"/pipelines/{pipeline}/executions/{id}\"", "user=\"anonymous\""),
            LogFormat::Json => ("\"route\":\"/pipelines/{pipeline}/executions/{id}\"", "\"user\":\"anonymous\""),
        };
        assert!(request_lines[1].contains(route) && request_lines[1].contains(user), "{}", request_lines[1]);
        assert!(request_lines[0].contains("/auth/callback") && request_lines[0].contains("latency_ms"));
        for secret in [SESSION, TOKEN, CODE, BEARER, "abc123", "s7a7e"] {
            assert!(!logs.contains(secret), "{secret} was logged ({format:?}):\n{logs}");
        }
    }
}

#[test]
fn the_grafana_dashboard_asks_only_for_exported_metrics_and_shows_each() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/stepline.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = vec![];
    fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr", serde_json::Value::String(e)) => out.push(e),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&dashboard, &mut exprs);
    assert!(exprs.len() >= 8, "{exprs:?}");
    let mut used = std::collections::BTreeSet::new();
    for e in &exprs {
        for (i, _) in e.match_indices("stepline_") {
            let name: String =
                e[i..].chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| METRICS.contains(f)))
                .unwrap_or(&name)
                .to_string();
            assert!(METRICS.contains(&family.as_str()), "{name} in `{e}` is not exported");
            used.insert(family);
        }
    }
    for name in METRICS {
        assert!(used.contains(*name), "no panel shows {name}");
    }
}
