//! `/healthz` and `/readyz` (see `stepline_core::health` for what readiness means and why it is reused).

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use stepline_core::health::{CHECK_LIMIT, REUSED_FOR};
use stepline_core::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when every account and region shown answers (see `stepline_core::places`).
pub async fn readyz(State(places): State<stepline_core::state::Places>) -> Response {
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
            tracing::warn!(place = %state.place.label, code = %e.code, message = %stepline_types::text::clip(&e.message, 300),
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
        tracing::warn!(error = %stepline_types::text::clip(&e, 300), "not ready: the database takes no writes");
        problems.push("database".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join(", "))
    }
}
