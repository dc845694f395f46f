//! Health for load balancers and orchestrators: `/healthz` says the process answers; `/readyz` says it can
//! do its work — SageMaker answers with these credentials and the database takes writes — or answers 503
//! naming which part is not ready. Both are served to anyone, so:
//! - a readiness answer is reused for a few seconds, and only one check runs at a time (concurrent probes wait
//!   for it and share its answer): probes, or anyone, cannot spend the account's request quota;
//! - the public answer names only the part ("SageMaker", "database"): what the part said (which can name a
//!   role, an account or a host) goes to the log, and each part's state to `/metrics`
//!   (`stepline_ready{part=…}`).

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// How long a readiness answer is reused.
const REUSED_FOR: Duration = Duration::from_secs(5);
/// The longest a readiness check may take (the gateway's own limit on one call is 30 s).
const CHECK_LIMIT: Duration = Duration::from_secs(10);

/// The last answer; the lock is held while a check runs, so there is one check in flight at most.
#[derive(Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when every account and region shown answers (see `super::places`).
pub async fn readyz(State(places): State<super::router::Places>) -> Response {
    let state = &places[0];
    let result = {
        let mut last = state.ready.last.lock().await;
        match &*last {
            Some((at, r)) if at.elapsed() < REUSED_FOR => r.clone(),
            _ => {
                // A probe must answer in bounded time whatever SageMaker or the database do.
                let r = match tokio::time::timeout(CHECK_LIMIT, check(&places)).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::warn!("not ready: the readiness check took over {} s", CHECK_LIMIT.as_secs());
                        Err("no answer in time".to_string())
                    }
                };
                *last = Some((Instant::now(), r.clone()));
                r
            }
        }
    };
    match result {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(parts) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {parts}")).into_response(),
    }
}

/// Which parts are not ready, as said publicly ("SageMaker", "SageMaker in 1 of 2 places", "database"); what
/// each said is logged.
async fn check(places: &[AppState]) -> Result<(), String> {
    let upstream = futures::future::join_all(places.iter().map(|s| s.gateway.ready()));
    let (upstream, db) = tokio::join!(upstream, places[0].access.db.writable());
    let mut failing = 0;
    for (state, answer) in places.iter().zip(upstream) {
        let ok = answer.is_ok();
        if let Err(e) = answer {
            failing += 1;
            tracing::warn!(place = %state.place.label, code = %e.code, message = %crate::text::clip(&e.message, 300),
                "not ready: SageMaker does not answer");
        }
        metrics::gauge!("stepline_ready", "part" => "sagemaker", "place" => state.place.label.to_string()).set(if ok {
            1.0
        } else {
            0.0
        });
    }
    metrics::gauge!("stepline_ready", "part" => "database").set(if db.is_ok() { 1.0 } else { 0.0 });
    let mut problems = vec![];
    match failing {
        0 => {}
        _ if places.len() == 1 => problems.push("SageMaker".to_string()),
        n => problems.push(format!("SageMaker in {n} of {} places", places.len())),
    }
    if let Err(e) = db {
        tracing::warn!(error = %crate::text::clip(&e, 300), "not ready: the database takes no writes");
        problems.push("database".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join(", "))
    }
}
