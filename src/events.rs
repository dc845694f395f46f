//! Server-Sent Events: live snapshots of an execution, and change notices for a pipeline's execution list.
//! Each stream subscribes to the shared watcher; the number of upstream calls does not depend on how many
//! streams are open.

use std::convert::Infallible;
use std::time::Duration;
use stepline_types::live::StreamEvent;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::Stream;

use stepline_core::access::Who;
use stepline_core::state::AppState;
use stepline_core::streams::{Peer, Slot};

/// `/events/pipelines/{pipeline}/executions/{id}`: a `snapshot` event with the execution view as JSON
/// whenever it changes, `problem` and `resumed` events when polling SageMaker fails and recovers (the last
/// snapshot stays valid meanwhile); the stream ends after the execution finished.
pub async fn execution(
    State(state): State<AppState>,
    Path((pipeline, id)): Path<(String, String)>,
    Peer(client): Peer,
    who: Who,
) -> Response {
    if !stepline_types::model::links::valid_name(&pipeline) || !stepline_types::model::links::valid_id(&id) {
        return not_found("no such execution");
    }
    // A pipeline the person may not read answers as one that does not exist.
    let Ok(role) = who.read(&pipeline).await else { return not_found("no such execution") };
    let hide_tokens = role < stepline_types::model::access::Role::Operator;
    let slot = match state.streams.take(client) {
        Ok(slot) => slot,
        Err(why) => return too_many(why),
    };
    // Only for an execution that exists (known from the page that opens the stream, or asked once and
    // remembered either way): a made-up name or id starts no poller.
    const MISSING: &str = "no such execution";
    if let Err(e) = state.watchers.pipeline_exists(&pipeline).await {
        return refusal(&e, MISSING);
    }
    let arn = match state.gateway.execution_arn(&pipeline, &id).await {
        Ok(arn) => arn,
        Err(e) => return refusal(&e, MISSING),
    };
    if let Err(e) = state.watchers.exists(&arn).await {
        return refusal(&e, MISSING);
    }
    let rx = match state.watchers.subscribe(&arn) {
        Ok(rx) => rx,
        Err(stepline_core::watch::Refused::Busy) => return too_many(BUSY),
    };
    let stream = stepline_core::stream_guard::guarded(snapshots(rx, slot, hide_tokens), who, pipeline, role);
    unbuffered(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A stream's response, telling a buffering proxy (nginx) to pass each event on at once.
fn unbuffered(sse: impl IntoResponse) -> Response {
    ([("x-accel-buffering", "no")], sse).into_response()
}

/// What a stream waits for between events.
enum Next {
    Changed,
    /// The watcher is gone (the execution finished and was dropped).
    Gone,
    /// The server is shutting down.
    Closing,
}

async fn next<T>(rx: &mut tokio::sync::watch::Receiver<T>, closing: &mut tokio::sync::watch::Receiver<bool>) -> Next {
    tokio::select! {
        changed = rx.changed() => if changed.is_ok() { Next::Changed } else { Next::Gone },
        _ = closing.wait_for(|c| *c) => Next::Closing,
    }
}

/// Sent to every open stream when the server shuts down: the browser's EventSource reconnects by itself
/// (to this server once restarted, or to another replica).
fn reconnect() -> Event {
    Event::default().event(StreamEvent::Reconnect.name()).retry(Duration::from_secs(2)).data("the server is restarting")
}

fn snapshots(
    mut rx: tokio::sync::watch::Receiver<stepline_core::watch::LiveState>,
    slot: Slot,
    hide_tokens: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream::stream! {
        let mut closing = slot.closing();
        let _slot = slot;
        let mut sent: Option<std::sync::Arc<stepline_core::watch::ExecutionView>> = None;
        let mut failing = false;
        loop {
            let current = rx.borrow_and_update().clone();
            if let Some(view) = current.view.filter(|v| sent.as_ref().is_none_or(|s| !std::sync::Arc::ptr_eq(s, v))) {
                let json = if hide_tokens {
                    let mut v = (*view).clone();
                    stepline_core::queries::hide_callback_tokens(&mut v);
                    serde_json::to_string(&v)
                } else {
                    serde_json::to_string(&*view)
                };
                if let Ok(json) = json {
                    yield Ok(Event::default().event(StreamEvent::Snapshot.name()).data(json));
                }
                sent = Some(view);
            }
            if let Some(event) = problem_event(&current.problem, &mut failing) {
                yield Ok(event);
            }
            // Finished for good; a failed execution may still be retried from elsewhere, so it stays followed.
            let done = |v: &stepline_core::watch::ExecutionView| {
                v.execution.status.is_terminal() && v.execution.status != stepline_types::model::ExecStatus::Failed
            };
            if current.problem.is_none() && sent.as_deref().is_some_and(done) {
                yield Ok(Event::default().event(StreamEvent::End.name()).data("finished"));
                break;
            }
            match next(&mut rx, &mut closing).await {
                Next::Changed => {}
                Next::Gone => break,
                Next::Closing => {
                    yield Ok(reconnect());
                    break;
                }
            }
        }
    }
}

/// A `problem` event (the failure as JSON) when polling starts failing or fails differently, and a
/// `resumed` event when it recovers; nothing while nothing changed.
fn problem_event(problem: &Option<stepline_types::model::Problem>, failing: &mut bool) -> Option<Event> {
    match problem {
        Some(p) => {
            *failing = true;
            serde_json::to_string(p).ok().map(|json| Event::default().event(StreamEvent::Problem.name()).data(json))
        }
        None if *failing => {
            *failing = false;
            Some(Event::default().event(StreamEvent::Resumed.name()).data("ok"))
        }
        None => None,
    }
}

/// `/events/pipelines/{pipeline}/executions`: a `changed` event with a version number whenever the list
/// of executions changes.
pub async fn list(
    State(state): State<AppState>,
    Path(pipeline): Path<String>,
    Peer(client): Peer,
    who: Who,
) -> Response {
    if !stepline_types::model::links::valid_name(&pipeline) {
        return not_found("no such pipeline");
    }
    let Ok(role) = who.read(&pipeline).await else { return not_found("no such pipeline") };
    let slot = match state.streams.take(client) {
        Ok(slot) => slot,
        Err(why) => return too_many(why),
    };
    if let Err(e) = state.watchers.pipeline_exists(&pipeline).await {
        return refusal(&e, "no such pipeline");
    }
    let mut rx = match state.watchers.subscribe_list(&pipeline) {
        Ok(rx) => rx,
        Err(stepline_core::watch::Refused::Busy) => return too_many(BUSY),
    };
    let stream = async_stream::stream! {
        let mut closing = slot.closing();
        let _slot = slot;
        let mut failing = false;
        loop {
            let now = rx.borrow_and_update().clone();
            yield Ok::<_, Infallible>(Event::default().event(StreamEvent::Changed.name()).data(now.version.to_string()));
            if let Some(event) = problem_event(&now.problem, &mut failing) {
                yield Ok(event);
            }
            match next(&mut rx, &mut closing).await {
                Next::Changed => {}
                Next::Gone => break,
                Next::Closing => {
                    yield Ok(reconnect());
                    break;
                }
            }
        }
    };
    let stream = stepline_core::stream_guard::guarded(stream, who, pipeline, role);
    unbuffered(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn not_found(what: &'static str) -> Response {
    (StatusCode::NOT_FOUND, what).into_response()
}

fn too_many(why: &'static str) -> Response {
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "30")], why).into_response()
}

/// A stream not opened because of what SageMaker said: 404 for a thing that does not exist; 503 while it
/// cannot say (the browser's EventSource tries again by itself).
fn refusal(e: &stepline_types::model::Upstream, missing: &'static str) -> Response {
    if e.is_not_found() {
        return not_found(missing);
    }
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "10")], format!("{}: {e}", e.summary())).into_response()
}

const BUSY: &str = "This server follows as many live views as it allows; the page still works, reload it to update.";
