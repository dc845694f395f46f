//! A step's job and logs for the execution page: which job a step started (from the execution's shared
//! snapshot), its description, its log streams and their lines, the download and the live tail. Only
//! streams of the step's own job are ever read: a stream name from a URL must belong to it.

use std::sync::Arc;
use std::time::Duration;

use super::logbook::{LogBook, Running, StreamKey, Tail};
use super::reuse::Reuse;
use super::state::{enter, AppState};
use crate::error::{AppError, Subject};
use crate::model::jobs::{describable, log_group, JobDetail};
use crate::model::logs::{iam_action, looks_like_error, LogLine, LogsPage, LogsState, Search, StreamRef, TAIL_LINES};
use crate::model::{JobKind, StepMetadata, StepRun, Upstream, UpstreamKind};

/// What the server keeps of steps' jobs and logs, shared by every viewer.
pub struct StepBooks {
    jobs: Reuse<(JobKind, String), JobDetail>,
    /// A job's streams: `(group, job name)`.
    streams: Reuse<(String, String), Vec<StreamRef>>,
    pub logs: LogBook,
}

impl Default for StepBooks {
    fn default() -> Self {
        StepBooks {
            jobs: Reuse::new(Duration::from_secs(10), 5_000),
            streams: Reuse::new(Duration::from_secs(10), 5_000),
            logs: LogBook::default(),
        }
    }
}

impl StepBooks {
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        let (streams, followed) = self.logs.sizes();
        (self.jobs.len(), self.streams.len(), streams, followed)
    }
}

/// A step of an execution, as the execution's snapshot has it.
struct Located {
    exec_arn: String,
    run: StepRun,
}

impl Located {
    /// The job the step started: kind and the name its Describe call and log streams go by.
    fn job(&self) -> Option<(JobKind, String)> {
        match &self.run.metadata {
            // A model package is described by its ARN (its name is the group's).
            StepMetadata::Job { kind: JobKind::ModelPackage, arn, .. } => Some((JobKind::ModelPackage, arn.clone())),
            StepMetadata::Job { kind, name, .. } if describable(*kind) => Some((*kind, name.clone())),
            _ => None,
        }
    }

    /// Whether the step's log may still grow: it runs, or it ended moments ago (CloudWatch takes a few
    /// seconds to make the last events readable).
    fn running(&self) -> bool {
        may_grow(&self.run)
    }
}

/// How long after its step ended a stream is still read again.
const INGESTION_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

fn may_grow(run: &StepRun) -> bool {
    run.status.is_running() || run.end.is_none_or(|end| chrono::Utc::now() - end < INGESTION_GRACE)
}

async fn locate(state: &AppState, pipeline: &str, id: &str, step: &str) -> Result<Located, AppError> {
    let exec_arn = super::views::execution_arn(state, pipeline, id).await?;
    let known = state
        .watchers
        .execution(&exec_arn)
        .await
        .map_err(|e| AppError::from_upstream(e, Subject::Execution { pipeline, id }))?;
    let steps = known.value.steps.as_ref().map_err(|e| AppError::Upstream(e.clone()))?;
    // A ForEach iteration is asked for by its key (`Train[3]`); other steps by their name.
    let run =
        steps.iter().find(|s| s.key() == step).or_else(|| steps.iter().find(|s| s.name == step)).cloned().ok_or_else(
            || {
                AppError::NotFound(format!(
                    "Step '{}' has not run in this execution",
                    crate::text::clip(step, crate::text::ID)
                ))
            },
        )?;
    Ok(Located { exec_arn, run })
}

/// The step's job, described (None for steps without one).
pub async fn job(pipeline: &str, id: &str, step: &str) -> Result<Option<JobDetail>, AppError> {
    let (state, who) = enter().await?;
    who.read(pipeline).await?;
    let located = locate(&state, pipeline, id, step).await?;
    let Some((kind, name)) = located.job() else { return Ok(None) };
    let job = state
        .books
        .jobs
        .get(&(kind, name.clone()), JobDetail::is_terminal, state.gateway.describe_job(kind, &name))
        .await
        .map_err(AppError::Upstream)?;
    Ok(Some((*job).clone()))
}

/// Where a logs failure leaves the tab: what is missing, or the IAM action refused.
fn logs_state(e: Upstream, operation: &str, group: &str) -> LogsState {
    match e.code.as_str() {
        "ResourceNotFoundException" => LogsState::GroupMissing(group.to_string()),
        _ if e.kind() == UpstreamKind::AccessDenied => {
            LogsState::Denied { action: iam_action(operation), message: e.message }
        }
        _ => LogsState::Failed(e),
    }
}

/// The step's streams, its chosen stream and the log group, or the state that says why there are none.
async fn streams_of(
    state: &AppState,
    located: &Located,
    page: &mut LogsPage,
) -> Result<Option<(String, String, Vec<StreamRef>)>, LogsState> {
    let job_kind = match &located.run.metadata {
        StepMetadata::Job { kind, .. } => Some(*kind),
        _ => None,
    };
    let Some(group) = job_kind.and_then(log_group) else {
        return Err(match &located.run.metadata {
            StepMetadata::None if located.running() || located.run.start.is_none() => LogsState::NotStarted,
            _ => LogsState::NoLogs(no_logs_reason(&located.run.metadata)),
        });
    };
    let Some((_, job)) = located.job() else { return Err(LogsState::NotStarted) };
    page.job = Some(job.clone());
    page.group = Some(group.to_string());
    let prefix = format!("{job}/");
    let finished = !located.running();
    let streams = state
        .books
        .streams
        .get(
            &(group.to_string(), job.clone()),
            |s| finished && !s.is_empty(),
            state.gateway.log_streams(group, &prefix),
        )
        .await
        .map_err(|e| logs_state(e, "DescribeLogStreams", group))?;
    if streams.is_empty() {
        return Err(LogsState::NoStreams);
    }
    Ok(Some((group.to_string(), job, (*streams).clone())))
}

fn no_logs_reason(metadata: &StepMetadata) -> String {
    let kind = match metadata {
        StepMetadata::Job { kind, .. } => format!("{kind:?}"),
        StepMetadata::Condition { .. } => "Condition".into(),
        StepMetadata::Callback { .. } => "Callback".into(),
        StepMetadata::Lambda { .. } => "Lambda".into(),
        StepMetadata::Fail { .. } => "Fail".into(),
        StepMetadata::Emr { .. } => "EMR".into(),
        StepMetadata::Check { kind, .. } => kind.clone(),
        StepMetadata::Other { kind, .. } => kind.clone(),
        StepMetadata::None => "This".into(),
        // EMR Serverless, Athena, lineage, Cleanup, ForEach, inference components, Bedrock…: named as
        // SageMaker names the metadata member.
        other => format!("{other:?}").split([' ', '{', '(']).next().unwrap_or("This").to_string(),
    };
    format!("{kind} steps write no container logs of their own to CloudWatch")
}

/// The logs tab: the chosen stream's newest lines (or those before line `before`), and a search.
pub async fn logs(
    pipeline: &str,
    id: &str,
    step: &str,
    stream: Option<&str>,
    before: Option<u64>,
    query: Option<&str>,
) -> Result<LogsPage, AppError> {
    let (state, who) = enter().await?;
    who.read(pipeline).await?;
    let located = locate(&state, pipeline, id, step).await?;
    let mut page = LogsPage::empty(pipeline, id, step, LogsState::Ready);
    page.running = located.running();
    let (group, _job, streams) = match streams_of(&state, &located, &mut page).await {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(page),
        Err(s) => {
            page.state = s;
            return Ok(page);
        }
    };
    // The stream asked for, if it is one of this job's; else the first (`algo-1`).
    let chosen = stream.and_then(|s| streams.iter().find(|r| r.name == s)).unwrap_or(&streams[0]).name.clone();
    page.streams = streams;
    page.stream = Some(chosen.clone());
    let log = state.books.logs.stream(StreamKey { group: group.clone(), stream: chosen.clone() });
    let slice = match log.slice(&state.gateway, page.running, before, TAIL_LINES).await {
        Ok(s) => s,
        Err(e) => {
            page.state = logs_state(e, "GetLogEvents", &group);
            return Ok(page);
        }
    };
    page.total = slice.total;
    page.lines = slice.lines;
    page.first_error = log.first_error().await;
    if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
        let q = crate::text::clip(q, 200);
        match state.gateway.filter_log_events(&group, &chosen, &q, 500).await {
            Ok((found, more)) => {
                let mut matches = Vec::with_capacity(found.len());
                for f in found {
                    let n = log.find(f.at, &f.text).await.unwrap_or(0);
                    matches.push(LogLine { n, at: f.at, text: f.text });
                }
                page.search = Some(Search { query: q, matches, more });
            }
            Err(e) => page.state = logs_state(e, "FilterLogEvents", &group),
        }
    }
    Ok(page)
}

/// Lines of the logs tab in larger pages, for the browser's whole-log view: `count` (at most
/// [`MAX_PAGE`]) lines before line `before`.
pub async fn lines(
    pipeline: &str,
    id: &str,
    step: &str,
    stream: &str,
    before: u64,
    count: usize,
) -> Result<Vec<LogLine>, AppError> {
    let (state, who) = enter().await?;
    who.read(pipeline).await?;
    let (located, key) = stream_of(&state, pipeline, id, step, Some(stream)).await?;
    let log = state.books.logs.stream(key);
    let slice = log
        .slice(&state.gateway, located.running(), Some(before), count.min(MAX_PAGE))
        .await
        .map_err(AppError::Upstream)?;
    Ok(slice.lines)
}

/// Lines one call of [`lines`] answers at most.
pub const MAX_PAGE: usize = 50_000;

/// The last lines of a failed step's log that tell why: from its last traceback or error line near the
/// end, else its last few lines. None when the step has no log to read.
pub async fn failure_excerpt(pipeline: &str, id: &str, step: &str) -> Result<Option<Vec<LogLine>>, AppError> {
    let page = logs(pipeline, id, step, None, None, None).await?;
    if page.state != LogsState::Ready || page.lines.is_empty() {
        return Ok(None);
    }
    Ok(Some(excerpt(&page.lines)))
}

/// From the last line that starts a traceback (or reports an error) within the last 40, at most 12 lines;
/// else the last 6.
pub fn excerpt(lines: &[LogLine]) -> Vec<LogLine> {
    let window = &lines[lines.len().saturating_sub(40)..];
    let start = window
        .iter()
        .rposition(|l| crate::model::logs::strip_ansi(&l.text).starts_with("Traceback"))
        .or_else(|| window.iter().position(|l| looks_like_error(&l.text)));
    match start {
        Some(i) => window[i..].iter().take(12).cloned().collect(),
        None => window[window.len().saturating_sub(6)..].to_vec(),
    }
}

/// The execution's step named in a stream or download URL, its log group and the stream, checked to be
/// one of its job's streams.
async fn stream_of(
    state: &AppState,
    pipeline: &str,
    id: &str,
    step: &str,
    stream: Option<&str>,
) -> Result<(Located, StreamKey), AppError> {
    let located = locate(state, pipeline, id, step).await?;
    let mut page = LogsPage::empty(pipeline, id, step, LogsState::Ready);
    let (group, _, streams) = match streams_of(state, &located, &mut page).await {
        Ok(Some(found)) => found,
        Ok(None) | Err(_) => return Err(AppError::NotFound("This step has no log stream".into())),
    };
    let chosen = match stream {
        Some(s) => {
            streams.iter().find(|r| r.name == s).ok_or_else(|| AppError::NotFound("No such log stream".into()))?
        }
        None => &streams[0],
    };
    Ok((located, StreamKey { group, stream: chosen.name.clone() }))
}

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
    super::events::Peer(client): super::events::Peer,
    who: super::access::Who,
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
    super::events::Peer(client): super::events::Peer,
    who: super::access::Who,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    if !super::events::valid_name(&pipeline) || !super::events::valid_id(&id) {
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
                    yield Ok::<_, std::convert::Infallible>(Event::default().event("lines").data(json));
                }
            }
            if slice.complete {
                yield Ok(Event::default().event("end").data("finished"));
                return;
            }
        }
        loop {
            let tail = tokio::select! {
                t = rx.recv() => t,
                _ = closed(&mut closing) => {
                    yield Ok(Event::default().event("reconnect").retry(Duration::from_secs(2)).data("the server is restarting"));
                    break;
                }
            };
            match tail {
                Ok(Tail::Lines(lines)) => {
                    let new: Vec<&LogLine> = lines.iter().filter(|l| l.n > sent).collect();
                    if let Some(last) = new.last() {
                        sent = last.n;
                        if let Ok(json) = serde_json::to_string(&new) {
                            yield Ok(Event::default().event("lines").data(json));
                        }
                    }
                }
                Ok(Tail::Problem(e)) => {
                    if let Ok(json) = serde_json::to_string(&e) {
                        yield Ok(Event::default().event("problem").data(json));
                    }
                }
                Ok(Tail::End) | Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    yield Ok(Event::default().event("end").data("finished"));
                    break;
                }
                // Too slow a reader: what it missed is in the buffer.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    if let Some(missed) = log.after(sent).await {
                        if let Some(last) = missed.last() {
                            sent = last.n;
                            if let Ok(json) = serde_json::to_string(&missed) {
                                yield Ok(Event::default().event("lines").data(json));
                            }
                        }
                    }
                }
            }
        }
    };
    let stream = super::stream_guard::guarded(stream, who, pipeline, role);
    ([("x-accel-buffering", "no")], Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
        .into_response()
}

/// Until the server shuts down (the guard `wait_for` gives is dropped here, not held across a yield).
async fn closed(closing: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = closing.wait_for(|c| *c).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<LogLine> {
        texts.iter().enumerate().map(|(i, t)| LogLine { n: i as u64 + 1, at: 0, text: t.to_string() }).collect()
    }

    #[test]
    fn the_excerpt_starts_at_the_last_traceback() {
        let mut t = vec!["epoch 1"; 30];
        t.extend(["Traceback (most recent call last):", "  File \"train.py\", line 3", "ValueError: bad"]);
        let e = excerpt(&lines(&t));
        assert_eq!(e.first().unwrap().text, "Traceback (most recent call last):");
        assert_eq!(e.last().unwrap().text, "ValueError: bad");
        assert_eq!(e.first().unwrap().n, 31, "numbers are the stream's");
        let quiet = excerpt(&lines(&["a", "b", "c", "d", "e", "f", "g", "h"]));
        assert_eq!(quiet.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["c", "d", "e", "f", "g", "h"]);
    }
}
