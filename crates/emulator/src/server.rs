//! The HTTP face of the emulator: AWS JSON 1.1 on `POST /`, routed on `X-Amz-Target` alone, plus a few
//! `/_emulator/*` control routes for tests and demos (reset, scenario, health).

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
use crate::ops::{dispatch, Caller};
use crate::persist::Write;
use crate::runtime::{random_lower, Core};
use crate::scenario::Scenario;
use crate::store::Store;

/// The largest request body accepted: a maximal PipelineDefinition (1,048,576 characters, each up to 4
/// bytes of UTF-8 or 6 bytes as a JSON escape) fits.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
const JSON_11: &str = "application/x-amz-json-1.1";

pub fn router(core: Arc<Core>) -> Router {
    Router::new()
        .route("/_emulator/health", get(|| async { "ok" }))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/scenario", post(set_scenario).get(get_scenario))
        .fallback(api)
        .with_state(core)
}

fn request_id() -> String {
    let r = random_lower(32);
    format!("{}-{}-{}-{}-{}", &r[0..8], &r[8..12], &r[12..16], &r[16..20], &r[20..32])
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

/// Every request that is not a control route is an API call.
async fn api(State(core): State<Arc<Core>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method != axum::http::Method::POST {
        return error_reply(ApiError::unknown_operation("The SageMaker API accepts POST requests only"));
    }
    let Some(operation) = target(&parts.headers) else {
        return error_reply(ApiError::unknown_operation(
            "Missing or malformed X-Amz-Target header: expected SageMaker.<Operation>",
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
    let caller = Caller::from_authorization(parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()));
    let heavy = matches!(operation.as_str(), "CreatePipeline" | "UpdatePipeline" | "StartPipelineExecution");
    // Operations are synchronous and short, so they run right here: handing each to the blocking pool
    // would put dozens of threads on two cores in line for one lock. Only the operations that parse a
    // definition (up to a megabyte) go to the blocking pool. A panic becomes an InternalFailure answer.
    let run = move || std::panic::catch_unwind(AssertUnwindSafe(|| dispatch(&core, &operation, &body, &caller)));
    let result = if heavy { tokio::task::spawn_blocking(run).await.ok() } else { Some(run()) };
    match result {
        Some(Ok(Ok(v))) => reply(StatusCode::OK, v, None),
        Some(Ok(Err(e))) => error_reply(e),
        _ => error_reply(ApiError::internal("The request could not be processed")),
    }
}

fn target(headers: &HeaderMap) -> Option<String> {
    let t = headers.get("x-amz-target")?.to_str().ok()?;
    let (service, op) = t.split_once('.')?;
    (service == "SageMaker" && !op.is_empty() && op.len() <= 64 && op.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| op.to_string())
}

/// Wipe every pipeline, execution, token and cached result (and the stored scenario).
async fn reset(State(core): State<Arc<Core>>) -> Response {
    core.clear_timers();
    let mut inner = core.lock();
    inner.store = Store::default();
    inner.scenario = Scenario::default();
    match inner.persist(&[Write::Reset]) {
        Ok(()) => (StatusCode::OK, Body::from("{}")).into_response(),
        Err(e) => error_reply(e.into()),
    }
}

/// Replace the scenario; running executions pick it up from their next step on.
async fn set_scenario(State(core): State<Arc<Core>>, body: Body) -> Response {
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

async fn get_scenario(State(core): State<Arc<Core>>) -> Response {
    let inner = core.lock();
    let v = serde_json::to_value(&inner.scenario).unwrap_or(Value::Null);
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}
