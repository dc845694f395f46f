//! The HTTP face of the emulator: AWS JSON 1.1 on `POST /`, routed on `X-Amz-Target` alone (`SageMaker.<Op>`,
//! and CloudWatch Logs' `Logs_20140328.<Op>`); SQS's JSON 1.0 (`AmazonSQS.<Op>`); STS's awsQuery requests (a form body, no `X-Amz-Target`) on the
//! same `POST /`; plus a few `/_emulator/*` control routes for tests and demos (reset, scenario, stats, seed,
//! health).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::guard;
use crate::ops::{dispatch, dispatch_logs, dispatch_pricing, Caller};
use crate::persist::Write;
use crate::query::{self, Params};
use crate::runtime::{ClockChange, Core};
use crate::scenario::Scenario;
use crate::seed::Seed;
use crate::store::Store;
use crate::strict::Outcome;
use crate::{sqs, sts};

/// The largest request body accepted: a maximal PipelineDefinition (1,048,576 characters, each up to 4
/// bytes of UTF-8 or 6 bytes as a JSON escape) fits.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
const JSON_11: &str = "application/x-amz-json-1.1";
const JSON_10: &str = "application/x-amz-json-1.0";

/// The emulator's routes, answering loopback names and IP addresses only (see `guard`).
pub fn router(core: Arc<Core>) -> Router {
    router_for(core, Vec::new())
}

/// The emulator's routes, also answering for the host names in `allowed_hosts` (`--allowed-host`).
pub fn router_for(core: Arc<Core>, allowed_hosts: Vec<String>) -> Router {
    let _ = core.allowed_hosts.set(allowed_hosts);
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/scenario", post(set_scenario).get(get_scenario))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/stats/reset", post(reset_stats))
        .route("/_emulator/seed", post(seed))
        .route("/_emulator/clock", post(change_clock).get(get_clock))
        .fallback(api)
        .with_state(core)
}

pub(crate) fn request_id() -> String {
    crate::random::uuid_like()
}

fn reply(status: StatusCode, body: Value, error: Option<&str>) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_11));
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-requestid", v);
    }
    if let Some(code) = error.and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert("x-amzn-errortype", code);
    }
    resp
}

fn error_reply(e: ApiError) -> Response {
    reply(e.status, json!({"__type": e.code, "message": e.message}), Some(e.code))
}

/// Every request that is not a control route is an API call (refused, like them, to other hosts and sites).
async fn api(State(core): State<Arc<Core>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if let Some(r) = refused(&core, &parts.headers) {
        return r;
    }
    if parts.method != axum::http::Method::POST {
        return error_reply(ApiError::unknown_operation("The SageMaker API accepts POST requests only"));
    }
    if parts.headers.get("x-amz-target").is_none() && is_form(&parts.headers) {
        return query_api(core, &parts.headers, body).await;
    }
    let Some((service, operation)) = target(&parts.headers) else {
        return error_reply(ApiError::unknown_operation(
            "Missing or malformed X-Amz-Target header: expected SageMaker.<Operation>, Logs_20140328.<Operation>, AmazonSQS.<Operation> or AWSPriceListService.<Operation>",
        ));
    };
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_reply(ApiError::serialization(format!("Request body is larger than {MAX_BODY_BYTES} bytes")))
        }
    };
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return error_reply(ApiError::serialization(format!("Request body is not valid JSON: {e}"))),
        }
    };
    if !body.is_object() {
        return error_reply(ApiError::serialization("Request body must be a JSON object"));
    }
    // As slow as the service, then within its quota: a throttled call is counted and answered like the
    // service's, after the same latency.
    if let Some(d) = core.strict.delay() {
        tokio::time::sleep(d).await;
    }
    if !core.strict.admit(&operation) {
        core.strict.record(&operation, Outcome::Throttled);
        return match service {
            Service::Sqs => sqs_error_reply(sqs::sqs_style(ApiError::throttling())),
            _ => error_reply(ApiError::throttling()),
        };
    }
    let caller = Caller::from_headers(&parts.headers);
    if let Service::Sqs = service {
        return sqs_api(core, &parts.headers, operation, body, caller).await;
    }
    let heavy = matches!(
        (service, operation.as_str()),
        (Service::SageMaker, "CreatePipeline" | "UpdatePipeline" | "StartPipelineExecution")
            | (Service::Logs, "FilterLogEvents")
    );
    // Operations are synchronous and short, so they run right here: handing each to the blocking pool
    // would put dozens of threads on two cores in line for one lock. Only the operations that parse a
    // definition (up to a megabyte), and FilterLogEvents (which may compute a million lines of log, without
    // the lock), go to the blocking pool. A panic becomes an InternalFailure answer.
    let counts = core.clone();
    let name = operation.clone();
    let run = move || {
        std::panic::catch_unwind(AssertUnwindSafe(|| match service {
            Service::SageMaker => dispatch(&core, &operation, &body, &caller),
            Service::Logs => dispatch_logs(&core, &operation, &body, &caller),
            Service::Pricing => dispatch_pricing(&core, &operation, &body, &caller),
            Service::Sqs => unreachable!("SQS calls are answered by sqs_api"),
        }))
    };
    let result = if heavy { tokio::task::spawn_blocking(run).await.ok() } else { Some(run()) };
    let answer = match result {
        Some(Ok(Ok(v))) => Ok(v),
        Some(Ok(Err(e))) => Err(e),
        _ => Err(ApiError::internal("The request could not be processed")),
    };
    let outcome = match &answer {
        Ok(_) => Outcome::Ok,
        Err(e) if e.code == "ThrottlingException" => Outcome::Throttled,
        Err(_) => Outcome::Error,
    };
    counts.strict.record(&name, outcome);
    match answer {
        Ok(v) => reply(StatusCode::OK, v, None),
        Err(e) => error_reply(e),
    }
}

/// An SQS call: ReceiveMessage may wait (a long poll) so it runs as a task of its own; the rest are short.
async fn sqs_api(core: Arc<Core>, headers: &HeaderMap, operation: String, body: Value, caller: Caller) -> Response {
    let origin = sqs::Origin(format!(
        "http://{}",
        headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost")
    ));
    let counts = core.clone();
    let answer = if operation == "ReceiveMessage" {
        // A panic inside becomes an InternalError answer, as for the other operations.
        tokio::spawn(sqs::receive(core, body, caller))
            .await
            .unwrap_or_else(|_| Err(ApiError::internal("The request could not be processed")))
    } else {
        std::panic::catch_unwind(AssertUnwindSafe(|| sqs::dispatch(&core, &operation, &body, &caller, &origin)))
            .unwrap_or_else(|_| Err(ApiError::internal("The request could not be processed")))
    };
    let answer = answer.map_err(sqs::sqs_style);
    counts.strict.record(
        &operation,
        match &answer {
            Ok(_) => Outcome::Ok,
            Err(e) if e.code == "RequestThrottled" => Outcome::Throttled,
            Err(_) => Outcome::Error,
        },
    );
    match answer {
        Ok(v) => {
            let mut resp = reply(StatusCode::OK, crate::ops::strip_nulls(v), None);
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_10));
            resp
        }
        Err(e) => sqs_error_reply(e),
    }
}

/// SQS's JSON error: `__type` in its namespace, and the legacy code in `x-amzn-query-error` (SQS is
/// query-compatible: botocore's exception classes and the SDKs' codes come from that header).
fn sqs_error_reply(e: ApiError) -> Response {
    let fault = if e.status.is_server_error() { "Receiver" } else { "Sender" };
    let body = json!({"__type": format!("com.amazonaws.sqs#{}", e.code), "message": e.message});
    let mut resp = reply(e.status, body, None);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_10));
    if let Ok(v) = HeaderValue::from_str(&format!("{};{fault}", sqs::query_code(e.code))) {
        h.insert("x-amzn-query-error", v);
    }
    resp
}

/// An awsQuery request: what the SDKs send STS.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

fn xml_reply(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

fn xml_error(e: &ApiError, request_id: &str) -> Response {
    xml_reply(e.status, query::error_response(e, sts::NAMESPACE, request_id), request_id)
}

/// An STS call (`crate::sts`): the same latency, quotas and counts as the SageMaker operations, by action
/// name; a throttled call answers STS's `Throttling`.
async fn query_api(core: Arc<Core>, headers: &HeaderMap, body: Body) -> Response {
    let request_id = request_id();
    let params: Params = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => match query::parse_form(&bytes) {
            Ok(p) => p,
            Err(why) => {
                return xml_error(&sts::malformed(format!("The request body is malformed: {why}")), &request_id)
            }
        },
        Err(_) => {
            let e = sts::malformed(format!("Request body is larger than {MAX_BODY_BYTES} bytes"));
            return xml_error(&e, &request_id);
        }
    };
    // Counted and held to a quota by its action, when the action is a name at all (as SageMaker targets are).
    let name = params
        .get("Action")
        .filter(|a| !a.is_empty() && a.len() <= 64 && a.chars().all(|c| c.is_ascii_alphanumeric()))
        .cloned();
    if let Some(d) = core.strict.delay() {
        tokio::time::sleep(d).await;
    }
    if let Some(name) = &name {
        if !core.strict.admit(name) {
            core.strict.record(name, Outcome::Throttled);
            return xml_error(&sts::throttling(), &request_id);
        }
    }
    let caller = Caller::from_headers(headers);
    let answer = std::panic::catch_unwind(AssertUnwindSafe(|| sts::call(&core, &params, &caller, &request_id)))
        .unwrap_or_else(|_| Err(sts::internal()));
    if let Some(name) = &name {
        core.strict.record(name, if answer.is_ok() { Outcome::Ok } else { Outcome::Error });
    }
    match answer {
        Ok(xml) => xml_reply(StatusCode::OK, xml, &request_id),
        Err(e) => xml_error(&e, &request_id),
    }
}

/// The services of the JSON protocol on this endpoint.
#[derive(Clone, Copy)]
enum Service {
    SageMaker,
    Logs,
    Sqs,
    Pricing,
}

fn target(headers: &HeaderMap) -> Option<(Service, String)> {
    let t = headers.get("x-amz-target")?.to_str().ok()?;
    let (service, op) = t.split_once('.')?;
    let service = match service {
        "SageMaker" => Service::SageMaker,
        "Logs_20140328" => Service::Logs,
        "AmazonSQS" => Service::Sqs,
        "AWSPriceListService" => Service::Pricing,
        _ => return None,
    };
    (!op.is_empty() && op.len() <= 64 && op.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| (service, op.to_string()))
}

/// Wipe every pipeline, execution, token and cached result (and the stored scenario, but for its latency and
/// quotas); the clock runs on the wall clock again.
async fn reset(State(core): State<Arc<Core>>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    core.clear_timers();
    core.change_clock(ClockChange::Wall);
    let mut inner = core.lock();
    inner.store = Store::default();
    // Latency and quotas are how this emulator runs, not state: they stay.
    let (latency, quotas) = (inner.scenario.latency, inner.scenario.quotas.take());
    inner.scenario = Scenario { latency, quotas, ..Scenario::default() };
    match inner.persist(&[Write::Reset]).and_then(|()| inner.ensure_events_queue()) {
        Ok(()) => (StatusCode::OK, Body::from("{}")).into_response(),
        Err(e) => error_reply(e.into()),
    }
}

/// Replace the scenario; running executions pick it up from their next step on.
async fn set_scenario(State(core): State<Arc<Core>>, headers: HeaderMap, body: Body) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return error_reply(ApiError::serialization("Scenario is too large"));
    };
    let text = String::from_utf8_lossy(&bytes).to_string();
    let scenario = match Scenario::parse(&text) {
        Ok(s) => s,
        Err(e) => return error_reply(e.into()),
    };
    match core.set_scenario(scenario) {
        Ok(()) => (StatusCode::OK, Body::from("{}")).into_response(),
        Err(e) => error_reply(e.into()),
    }
}

/// Calls, throttled calls and errors by operation since start or the last reset.
async fn stats(State(core): State<Arc<Core>>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], core.strict.stats().to_string()).into_response()
}

async fn reset_stats(State(core): State<Arc<Core>>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    core.strict.reset_stats();
    (StatusCode::OK, Body::from("{}")).into_response()
}

/// Add history straight into the store (`crate::seed`); answers how many executions were added.
async fn seed(State(core): State<Arc<Core>>, headers: HeaderMap, body: Body) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return error_reply(ApiError::serialization("Seed is too large"));
    };
    let seed = match Seed::parse(&String::from_utf8_lossy(&bytes)) {
        Ok(s) => s,
        Err(e) => return error_reply(e.into()),
    };
    match tokio::task::spawn_blocking(move || crate::seed::apply(&core, &seed)).await {
        Ok(Ok(n)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], json!({"executions": n}).to_string())
                .into_response()
        }
        Ok(Err(e)) => error_reply(e.into()),
        Err(_) => error_reply(ApiError::internal("Seeding failed")),
    }
}

async fn get_scenario(State(core): State<Arc<Core>>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    let inner = core.lock();
    let v = serde_json::to_value(&inner.scenario).unwrap_or(Value::Null);
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

/// The guard's answer when `headers` are refused (see `guard`): checked first in every handler.
fn refused(core: &Core, headers: &HeaderMap) -> Option<Response> {
    let allowed = core.allowed_hosts.get().map(Vec::as_slice).unwrap_or(&[]);
    guard::check(headers, allowed).err().map(|r| {
        reply(
            r.status(),
            json!({"__type": "AccessDeniedException", "message": r.message()}),
            Some("AccessDeniedException"),
        )
    })
}

async fn health(State(core): State<Arc<Core>>, headers: HeaderMap) -> Response {
    refused(&core, &headers).unwrap_or_else(|| "ok".into_response())
}

/// The clock as `/_emulator/clock` answers it.
fn clock_reply(clock: crate::runtime::Clock) -> Response {
    let body = json!({"now": clock.now(), "paused": clock.is_paused()});
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn get_clock(State(core): State<Arc<Core>>, headers: HeaderMap) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    let clock = core.lock().clock;
    clock_reply(clock)
}

/// `{"pause": true}`, `{"resume": true}`, `{"advance": SECONDS}` or `{"wall": true}`: a test stops the
/// clock, then moves it on by exactly what it wants to observe. Answers the clock after the change, once every
/// execution has caught up with it.
async fn change_clock(State(core): State<Arc<Core>>, headers: HeaderMap, body: Body) -> Response {
    if let Some(r) = refused(&core, &headers) {
        return r;
    }
    let Ok(bytes) = to_bytes(body, 4096).await else {
        return error_reply(ApiError::serialization("A clock change is a small JSON object"));
    };
    match parse_clock_change(&bytes) {
        Ok(change) => clock_reply(
            tokio::task::spawn_blocking(move || core.change_clock(change))
                .await
                .unwrap_or_else(|_| crate::runtime::Clock::wall()),
        ),
        Err(why) => error_reply(ApiError::validation(why)),
    }
}

fn parse_clock_change(bytes: &[u8]) -> Result<ClockChange, String> {
    const USAGE: &str = r#"expected one of {"pause": true}, {"resume": true}, {"wall": true} or {"advance": SECONDS}"#;
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("The clock change is not JSON ({e}): {USAGE}"))?;
    let Some(obj) = v.as_object().filter(|o| o.len() == 1) else {
        return Err(USAGE.to_string());
    };
    let (key, value) = obj.iter().next().ok_or(USAGE)?;
    match (key.as_str(), value) {
        ("pause", Value::Bool(true)) => Ok(ClockChange::Pause),
        ("resume", Value::Bool(true)) => Ok(ClockChange::Resume),
        ("wall", Value::Bool(true)) => Ok(ClockChange::Wall),
        ("advance", v) => match v.as_f64() {
            Some(s) if s.is_finite() && (0.0..=366.0 * 86400.0).contains(&s) => Ok(ClockChange::Advance(s)),
            _ => Err(format!("advance takes a number of seconds from 0 to a year, not {v}")),
        },
        _ => Err(USAGE.to_string()),
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn clock_changes_parse_and_bad_ones_say_what_is_expected() {
        assert_eq!(parse_clock_change(br#"{"pause": true}"#), Ok(ClockChange::Pause));
        assert_eq!(parse_clock_change(br#"{"advance": 1.5}"#), Ok(ClockChange::Advance(1.5)));
        for bad in [&br#"{"advance": -1}"#[..], br#"{"advance": "x"}"#, br#"{"pause": false}"#, b"[]", b"{", br#"{}"#] {
            let e = parse_clock_change(bad).unwrap_err();
            assert!(e.contains("advance"), "{e}");
        }
    }
}
