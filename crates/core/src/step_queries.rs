//! A step's job and logs for the execution page: which job a step started (from the execution's shared
//! snapshot), its description, its log streams and their lines, the download and the live tail. Only
//! streams of the step's own job are ever read: a stream name from a URL must belong to it.

use super::logbook::StreamKey;
use super::state::{enter, AppState};
use stepline_types::error::{AppError, Subject};
use stepline_types::model::jobs::{describable, log_group, JobDetail};
use stepline_types::model::logs::{
    iam_action, looks_like_error, LogLine, LogsPage, LogsState, Search, StreamRef, TAIL_LINES,
};
use stepline_types::model::{JobKind, StepMetadata, StepRun, Upstream, UpstreamKind};

/// A step of an execution, as the execution's snapshot has it.
pub struct Located {
    pub exec_arn: String,
    pub run: StepRun,
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
    pub fn running(&self) -> bool {
        may_grow(&self.run)
    }
}

/// How long after its step ended a stream is still read again.
const INGESTION_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

pub fn may_grow(run: &StepRun) -> bool {
    run.status.is_running() || run.end.is_none_or(|end| chrono::Utc::now() - end < INGESTION_GRACE)
}

pub async fn locate(state: &AppState, pipeline: &str, id: &str, step: &str) -> Result<Located, AppError> {
    let exec_arn = super::queries::execution_arn(state, pipeline, id).await?;
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
                    stepline_types::text::clip(step, stepline_types::text::ID)
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
        let q = stepline_types::text::clip(q, 200);
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
        .rposition(|l| stepline_types::model::logs::strip_ansi(&l.text).starts_with("Traceback"))
        .or_else(|| window.iter().position(|l| looks_like_error(&l.text)));
    match start {
        Some(i) => window[i..].iter().take(12).cloned().collect(),
        None => window[window.len().saturating_sub(6)..].to_vec(),
    }
}

/// The execution's step named in a stream or download URL, its log group and the stream, checked to be
/// one of its job's streams.
pub async fn stream_of(
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
