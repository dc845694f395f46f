//! Server-Sent Events: live snapshots of an execution, and change notices for a pipeline's execution list.
//! Each stream subscribes to the shared watcher; the number of upstream calls does not depend on how many
//! streams are open.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::Stream;

use super::access::Who;
use super::state::AppState;

/// `/events/pipelines/{pipeline}/executions/{id}`: a `snapshot` event with the execution view as JSON
/// whenever it changes, `problem` and `resumed` events when polling SageMaker fails and recovers (the last
/// snapshot stays valid meanwhile); the stream ends after the execution finished.
pub async fn execution(
    State(state): State<AppState>,
    Path((pipeline, id)): Path<(String, String)>,
    Peer(client): Peer,
    who: Who,
) -> Response {
    if !valid_name(&pipeline) || !valid_id(&id) {
        return not_found("no such execution");
    }
    // A pipeline the person may not read answers as one that does not exist.
    let Ok(role) = who.read(&pipeline).await else { return not_found("no such execution") };
    let hide_tokens = role < crate::model::access::Role::Operator;
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
        Err(super::watch::Refused::Busy) => return too_many(BUSY),
    };
    let stream = super::stream_guard::guarded(snapshots(rx, slot, hide_tokens), who, pipeline, role);
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
    Event::default().event("reconnect").retry(Duration::from_secs(2)).data("the server is restarting")
}

fn snapshots(
    mut rx: tokio::sync::watch::Receiver<super::watch::LiveState>,
    slot: Slot,
    hide_tokens: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream::stream! {
        let mut closing = slot.closing();
        let _slot = slot;
        let mut sent: Option<std::sync::Arc<super::watch::ExecutionView>> = None;
        let mut failing = false;
        loop {
            let current = rx.borrow_and_update().clone();
            if let Some(view) = current.view.filter(|v| sent.as_ref().is_none_or(|s| !std::sync::Arc::ptr_eq(s, v))) {
                let json = if hide_tokens {
                    let mut v = (*view).clone();
                    super::views::hide_callback_tokens(&mut v);
                    serde_json::to_string(&v)
                } else {
                    serde_json::to_string(&*view)
                };
                if let Ok(json) = json {
                    yield Ok(Event::default().event("snapshot").data(json));
                }
                sent = Some(view);
            }
            if let Some(event) = problem_event(&current.problem, &mut failing) {
                yield Ok(event);
            }
            // Finished for good; a failed execution may still be retried from elsewhere, so it stays followed.
            let done = |v: &super::watch::ExecutionView| {
                v.execution.status.is_terminal() && v.execution.status != crate::model::ExecStatus::Failed
            };
            if current.problem.is_none() && sent.as_deref().is_some_and(done) {
                yield Ok(Event::default().event("end").data("finished"));
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
    Peer(client): Peer,
    who: Who,
) -> Response {
    if !valid_name(&pipeline) {
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
        Err(super::watch::Refused::Busy) => return too_many(BUSY),
    };
    let stream = async_stream::stream! {
        let mut closing = slot.closing();
        let _slot = slot;
        let mut failing = false;
        loop {
            let now = rx.borrow_and_update().clone();
            yield Ok::<_, Infallible>(Event::default().event("changed").data(now.version.to_string()));
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
    let stream = super::stream_guard::guarded(stream, who, pipeline, role);
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
fn refusal(e: &crate::model::Upstream, missing: &'static str) -> Response {
    if e.is_not_found() {
        return not_found(missing);
    }
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "10")], format!("{}: {e}", e.summary())).into_response()
}

const BUSY: &str = "This server follows as many live views as it allows; the page still works, reload it to update.";

/// Live streams open at most, in all and from one client address.
pub const MAX_STREAMS: usize = 2_000;
pub const MAX_STREAMS_PER_CLIENT: usize = 32;

/// Who a stream is counted against: the person the access guard identified, else (no login) the
/// connection's address. Behind a proxy or a load balancer every stream comes from its few addresses, so
/// people are counted as themselves wherever they are identified.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Person(String),
    Address(Option<IpAddr>),
}

/// Open streams, counted in all and by client, so one person or address (or a runaway script) cannot hold
/// every stream the server allows.
#[derive(Default)]
pub struct StreamSlots {
    open: Mutex<(usize, HashMap<Client, usize>)>,
    /// Set once at shutdown: every stream says "reconnect" and ends.
    closing: tokio::sync::watch::Sender<bool>,
}

/// One open stream's place; given back when the stream ends.
pub struct Slot {
    slots: Arc<StreamSlots>,
    client: Client,
}

impl StreamSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, HashMap<Client, usize>)> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn take(self: &Arc<Self>, client: Client) -> Result<Slot, &'static str> {
        let mut open = self.lock();
        if open.0 >= MAX_STREAMS {
            return Err("This server has as many live streams open as it allows; reload the page to update it.");
        }
        // Unidentified clients on this machine (tests, a local proxy without login) are many people behind one
        // address: only the total counts for them.
        let shared = matches!(client, Client::Address(a) if a.is_none_or(|ip| ip.is_loopback()));
        let mine = open.1.entry(client.clone()).or_default();
        if !shared && *mine >= MAX_STREAMS_PER_CLIENT {
            return Err(match client {
                Client::Person(_) => "Too many live views are open for you; close some tabs of this dashboard.",
                Client::Address(_) => {
                    "Too many live views are open from this address; close some tabs of this dashboard."
                }
            });
        }
        *mine += 1;
        open.0 += 1;
        Ok(Slot { slots: self.clone(), client })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.lock().0
    }

    /// Tell every open stream to end with a `reconnect` event (at shutdown).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }
}

impl Slot {
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.slots.closing.subscribe()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.client);
            }
        }
    }
}

/// Who is asking, for the stream caps: the identified person, else the connection's address (tests that
/// drive the router directly have none: they count as one client).
pub struct Peer(pub Client);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let person = parts.extensions.get::<crate::server::access::Identity>().filter(|who| !who.is_anonymous());
        Ok(Peer(match person {
            Some(who) => Client::Person(who.user.clone()),
            None => Client::Address(parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
        }))
    }
}

/// Pipeline names as the API allows them (plus a little slack), so hostile paths never reach upstream.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Execution ids: 12 lower-case letters and digits on the service (emulators may differ slightly).
pub fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric())
}
