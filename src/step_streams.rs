//! A step's log as a download and as a live tail (see `stepline_core::step_queries` for what they read).

use std::sync::Arc;
use std::time::Duration;
use stepline_types::live::StreamEvent;

use stepline_core::logbook::{Running, Tail};
use stepline_core::state::AppState;
use stepline_core::step_queries::{may_grow, stream_of};
use stepline_types::model::logs::LogLine;

/// Query of the download and the live tail.
#[derive(serde::Deserialize, Default)]
pub struct StreamQuery {
    pub stream: Option<String>,
    /// The live tail: send lines after this one.
    pub after: Option<u64>,
}

/// Downloads of whole logs running at once, across everyone: each may read a stream of up to 200,000 lines,
/// or page CloudWatch from the start; more wait for another try (429) rather than pile up.
const MAX_DOWNLOADS: usize = 8;
static DOWNLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_DOWNLOADS);
/// Lines sent at a time.
const DOWNLOAD_CHUNK: usize = 2000;

/// `/pipelines/{name}/executions/{id}/steps/{step}/logs.txt`: the whole stream as text, one event a line,
/// sent as it is read (never built whole in memory): from the shared buffer when it holds the whole stream,
/// else page by page from CloudWatch. Counted against the person's live streams and the downloads cap.
pub async fn download(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path((pipeline, id, step)): axum::extract::Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<StreamQuery>,
    stepline_core::streams::Peer(client): stepline_core::streams::Peer,
    who: stepline_core::access::Who,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    if who.read(&pipeline).await.is_err() {
        return (StatusCode::NOT_FOUND, "no such execution").into_response();
    }
    let (located, key) = match stream_of(&state, &pipeline, &id, &step, q.stream.as_deref()).await {
        Ok(k) => k,
        Err(e) => return (e.status(), e.to_string()).into_response(),
    };
    let Ok(permit) = DOWNLOADS.try_acquire() else {
        return (StatusCode::TOO_MANY_REQUESTS, "Too many logs are being downloaded right now; try again in a moment.")
            .into_response();
    };
    let slot = match state.streams.take(client) {
        Ok(slot) => slot,
        Err(why) => return (StatusCode::TOO_MANY_REQUESTS, why).into_response(),
    };
    let log = state.books.logs.stream(key.clone());
    // The buffer holds the whole stream unless it is over its bound: then page CloudWatch from the start.
    let lines = match log.slice(&state.gateway, located.running(), None, 0).await {
        Ok(_) => log.whole().await,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let gateway = state.gateway.clone();
    let (group, stream_name) = (key.group.clone(), key.stream.clone());
    let body = async_stream::stream! {
        let (_permit, _slot) = (permit, slot);
        match lines {
            Some(lines) => {
                for chunk in lines.chunks(DOWNLOAD_CHUNK) {
                    let mut text = String::with_capacity(chunk.iter().map(|l| l.text.len() + 1).sum());
                    for l in chunk {
                        text.push_str(&l.text);
                        text.push('\n');
                    }
                    yield Ok::<_, std::io::Error>(text);
                }
            }
            None => {
                let mut token = None;
                loop {
                    let chunk = match gateway.log_events(&group, &stream_name, token.clone()).await {
                        Ok(c) => c,
                        // Headers are sent: the transfer ends unfinished, which the browser reports.
                        Err(e) => {
                            yield Err(std::io::Error::other(e.to_string()));
                            break;
                        }
                    };
                    let at_end = chunk.events.is_empty() || chunk.next.is_none() || chunk.next == token;
                    let mut text = String::new();
                    for (_, t) in chunk.events {
                        text.push_str(&t);
                        text.push('\n');
                    }
                    yield Ok(text);
                    token = chunk.next;
                    if at_end {
                        break;
                    }
                }
            }
        }
    };
    let file: String =
        key.stream.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}.txt\"")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// `/events/pipelines/{name}/executions/{id}/steps/{step}/logs?stream=…&after=N`: `lines` events (JSON
/// arrays of numbered lines) as the stream grows, `problem` when reading fails, `end` after the job's last
/// lines. Every viewer of a stream shares one poller.
pub async fn tail(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path((pipeline, id, step)): axum::extract::Path<(String, String, String)>,
    axum::extract::Query(q): axum::extract::Query<StreamQuery>,
    stepline_core::streams::Peer(client): stepline_core::streams::Peer,
    who: stepline_core::access::Who,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    if !stepline_types::model::links::valid_name(&pipeline) || !stepline_types::model::links::valid_id(&id) {
        return (StatusCode::NOT_FOUND, "no such execution").into_response();
    }
    let Ok(role) = who.read(&pipeline).await else {
        return (StatusCode::NOT_FOUND, "no such execution").into_response();
    };
    let slot = match state.streams.take(client) {
        Ok(slot) => slot,
        Err(why) => return (StatusCode::TOO_MANY_REQUESTS, why).into_response(),
    };
    let (located, key) = match stream_of(&state, &pipeline, &id, &step, q.stream.as_deref()).await {
        Ok(k) => k,
        Err(e) => return (e.status(), e.to_string()).into_response(),
    };
    let log = state.books.logs.stream(key);
    let exec_arn = located.exec_arn.clone();
    let watchers = state.watchers.clone();
    let step_name = located.run.key();
    let running: Running = Arc::new(move || {
        let (watchers, arn, step) = (watchers.clone(), exec_arn.clone(), step_name.clone());
        Box::pin(async move {
            match watchers.execution(&arn).await {
                Ok(known) => match &known.value.steps {
                    Ok(steps) => steps.iter().find(|s| s.key() == step).is_some_and(may_grow),
                    Err(_) => true,
                },
                // Not known: keep following; the poller stops when nobody listens.
                Err(_) => true,
            }
        })
    });
    let mut rx = log.follow(state.gateway.clone(), running);
    let gateway = state.gateway.clone();
    let is_running = located.running();
    let mut sent = q.after.unwrap_or(0);
    let stream = async_stream::stream! {
        let mut closing = slot.closing();
        let _slot = slot;
        // What came since the page was rendered, from the shared buffer.
        if let Ok(slice) = log.slice(&gateway, is_running, None, usize::MAX).await {
            let new: Vec<LogLine> = slice.lines.into_iter().filter(|l| l.n > sent).collect();
            if let Some(last) = new.last() {
                sent = last.n;
                if let Ok(json) = serde_json::to_string(&new) {
                    yield Ok::<_, std::convert::Infallible>(Event::default().event(StreamEvent::Lines.name()).data(json));
                }
            }
            if slice.complete {
                yield Ok(Event::default().event(StreamEvent::End.name()).data("finished"));
                return;
            }
        }
        loop {
            let tail = tokio::select! {
                t = rx.recv() => t,
                _ = closed(&mut closing) => {
                    yield Ok(Event::default().event(StreamEvent::Reconnect.name()).retry(Duration::from_secs(2)).data("the server is restarting"));
                    break;
                }
            };
            match tail {
                Ok(Tail::Lines(lines)) => {
                    let new: Vec<&LogLine> = lines.iter().filter(|l| l.n > sent).collect();
                    if let Some(last) = new.last() {
                        sent = last.n;
                        if let Ok(json) = serde_json::to_string(&new) {
                            yield Ok(Event::default().event(StreamEvent::Lines.name()).data(json));
                        }
                    }
                }
                Ok(Tail::Problem(e)) => {
                    if let Ok(json) = serde_json::to_string(&e) {
                        yield Ok(Event::default().event(StreamEvent::Problem.name()).data(json));
                    }
                }
                Ok(Tail::End) | Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    yield Ok(Event::default().event(StreamEvent::End.name()).data("finished"));
                    break;
                }
                // Too slow a reader: what it missed is in the buffer.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if let Some(missed) = log.after(sent).await {
                        if let Some(last) = missed.last() {
                            sent = last.n;
                            if let Ok(json) = serde_json::to_string(&missed) {
                                yield Ok(Event::default().event(StreamEvent::Lines.name()).data(json));
                            }
                        }
                    }
                }
            }
        }
    };
    let stream = stepline_core::stream_guard::guarded(stream, who, pipeline, role);
    ([("x-accel-buffering", "no")], Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
        .into_response()
}

/// Until the server shuts down (the guard `wait_for` gives is dropped here, not held across a yield).
async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = closing.wait_for(|c| *c).await;
}
