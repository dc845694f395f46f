//! Server-Sent Events: live snapshots of an execution, and change notices for a pipeline's execution list.
//! Each stream subscribes to the shared watcher; the number of upstream calls does not depend on how many
//! streams are open.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::Stream;

use super::identity;
use super::state::AppState;

/// `/events/pipelines/{pipeline}/executions/{id}`: a `snapshot` event with the execution view as JSON
/// whenever it changes, `problem` and `resumed` events when polling SageMaker fails and recovers (the last
/// snapshot stays valid meanwhile); the stream ends after the execution finished.
pub async fn execution(
    State(state): State<AppState>,
    Path((pipeline, id)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let _who = identity::from_headers(&headers);
    if !valid_name(&pipeline) || !valid_id(&id) {
        return (axum::http::StatusCode::NOT_FOUND, "no such execution").into_response();
    }
    let arn = match state.gateway.execution_arn(&pipeline, &id).await {
        Ok(arn) => arn,
        Err(_) => return (axum::http::StatusCode::NOT_FOUND, "no such execution").into_response(),
    };
    let rx = state.watchers.subscribe(&arn);
    Sse::new(snapshots(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

fn snapshots(
    mut rx: tokio::sync::watch::Receiver<super::watch::LiveState>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream::stream! {
        let mut sent: Option<std::sync::Arc<super::watch::ExecutionView>> = None;
        let mut failing = false;
        loop {
            let current = rx.borrow_and_update().clone();
            if let Some(view) = current.view.filter(|v| sent.as_ref().is_none_or(|s| !std::sync::Arc::ptr_eq(s, v))) {
                if let Ok(json) = serde_json::to_string(&*view) {
                    yield Ok(Event::default().event("snapshot").data(json));
                }
                sent = Some(view);
            }
            if let Some(event) = problem_event(&current.problem, &mut failing) {
                yield Ok(event);
            }
            if current.problem.is_none() && sent.as_ref().is_some_and(|v| v.execution.status.is_terminal()) {
                yield Ok(Event::default().event("end").data("finished"));
                break;
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    }
}

/// A `problem` event (the failure as JSON) when polling starts failing or fails differently, and a
/// `resumed` event when it recovers; nothing while nothing changed.
fn problem_event(problem: &Option<crate::model::Problem>, failing: &mut bool) -> Option<Event> {
    match problem {
        Some(p) => {
            *failing = true;
            serde_json::to_string(p).ok().map(|json| Event::default().event("problem").data(json))
        }
        None if *failing => {
            *failing = false;
            Some(Event::default().event("resumed").data("ok"))
        }
        None => None,
    }
}

/// `/events/pipelines/{pipeline}/executions`: a `changed` event with a version number whenever the list
/// of executions changes.
pub async fn list(
    State(state): State<AppState>,
    Path(pipeline): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    let _who = identity::from_headers(&headers);
    if !valid_name(&pipeline) {
        return (axum::http::StatusCode::NOT_FOUND, "no such pipeline").into_response();
    }
    let mut rx = state.watchers.subscribe_list(&pipeline);
    let stream = async_stream::stream! {
        let mut failing = false;
        loop {
            let now = rx.borrow_and_update().clone();
            yield Ok::<_, Infallible>(Event::default().event("changed").data(now.version.to_string()));
            if let Some(event) = problem_event(&now.problem, &mut failing) {
                yield Ok(event);
            }
            if rx.changed().await.is_err() {
                break;
            }
        }
    };
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// Pipeline names as the API allows them (plus a little slack), so hostile paths never reach upstream.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Execution ids: 12 lower-case letters and digits on the service (emulators may differ slightly).
pub fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric())
}
