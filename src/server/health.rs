//! Health for load balancers and orchestrators: `/healthz` says the process answers; `/readyz` says it can
//! do its work — SageMaker answers with these credentials and the database takes writes — or answers 503
//! with what is wrong. Both are served to anyone, so a readiness answer is reused for a few seconds: probes
//! (or anyone) cannot spend the account's request quota.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// How long a readiness answer is reused.
const REUSED_FOR: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when every account and region shown answers (see `super::places`).
pub async fn readyz(State(places): State<super::router::Places>) -> Response {
    let state = &places[0];
    let known = state.ready.last.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let result = match known {
        Some((at, r)) if at.elapsed() < REUSED_FOR => r,
        _ => {
            let r = check(&places).await;
            *state.ready.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), r.clone()));
            r
        }
    };
    match result {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}")).into_response(),
    }
}

async fn check(places: &[AppState]) -> Result<(), String> {
    let upstream = futures::future::join_all(places.iter().map(|s| s.gateway.ready()));
    let (upstream, db) = tokio::join!(upstream, places[0].access.db.writable());
    let mut problems = vec![];
    for (state, answer) in places.iter().zip(upstream) {
        if let Err(e) = answer {
            // With several places, which one.
            let which = if places.len() > 1 { format!(" {}", state.place.label) } else { String::new() };
            problems.push(format!("SageMaker{which}: {} ({})", e.code, crate::text::clip(&e.message, 200)));
        }
    }
    if let Err(e) = db {
        problems.push(format!("database: {}", crate::text::clip(&e, 200)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
