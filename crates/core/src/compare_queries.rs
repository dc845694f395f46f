//! `/pipelines/{name}/compare`: two to eight executions of a pipeline side by side (the pure comparison is
//! `stepline_types::compare`).
//!
//! What a page costs upstream: per execution what its own page costs (DescribePipelineExecution,
//! ListPipelineExecutionSteps, ListPipelineParametersForExecution — a finished one is read once and kept)
//! and its definition (DescribePipelineDefinitionForExecution, once per pipeline version); per job step
//! compared (at most `JOB_STEPS`) one Describe*Job per execution, kept once the job ended; "compare with
//! the previous / last success" adds one ListPipelineExecutions (the newest 100); a step's logs side by side
//! what its logs tab costs, per execution (streams listed and read once, kept for every viewer); its cost,
//! nothing when kept, else one Describe*Job per job step for executions of at most `COST_JOB_STEPS`.

use chrono::Utc;
use futures::future::join_all;
use stepline_types::compare::logs::{LogColumn, LogsSideBySide};
use stepline_types::compare::{self, Against, Column, ComparePage, JobCell, Structure};
use stepline_types::error::{AppError, Subject};
use stepline_types::model::jobs::{describable, log_group, JobDetail};
use stepline_types::model::logs::LogsState;
use stepline_types::model::{ExecStatus, ExecutionView, JobKind, StepMetadata};

use crate::queries::execution_arn;
use crate::state::{enter, AppState};

/// Executions listed to find the one to compare with.
const LOOK_BACK: i32 = 100;
/// Job steps whose jobs a comparison describes.
const JOB_STEPS: usize = 12;
/// Job steps of an execution not estimated yet that a comparison describes for its cost; a bigger one's
/// cost shows once its own page has estimated it.
const COST_JOB_STEPS: usize = 40;

pub async fn compare(
    pipeline: &str,
    asked: &[String],
    against: Option<Against>,
    logs_of: Option<&str>,
) -> Result<ComparePage, AppError> {
    let (state, who) = enter().await?;
    let role = who.read(pipeline).await?;
    let ids = match (against, asked) {
        (Some(against), [one]) => {
            let other = counterpart(&state, pipeline, one.trim(), against).await?;
            vec![other, one.trim().to_string()]
        }
        _ => compare::ids(asked).map_err(AppError::Invalid)?,
    };
    let read = join_all(ids.iter().map(|id| read_one(&state, pipeline, id))).await;
    let mut views = vec![];
    for r in read {
        views.push(r?);
    }
    // Oldest first: the first is what the others are compared with, whatever order they were ticked in.
    views.sort_by_key(|(v, _)| v.execution.created);
    let now = Utc::now();
    let columns: Vec<Column> = views.iter().map(|(v, _)| column(v)).collect();
    let definitions: Vec<Option<stepline_definition::Definition>> =
        views.iter().map(|(_, d)| d.as_deref().and_then(|d| stepline_definition::parse(d).ok())).collect();
    let defaults: Vec<Vec<(String, Option<String>)>> = definitions
        .iter()
        .map(|d| d.as_ref().map(|d| d.parameters.iter().map(|p| (p.name.clone(), p.default.clone())).collect()))
        .map(Option::unwrap_or_default)
        .collect();
    let params: Vec<_> = views.iter().map(|(v, _)| v.parameters.clone().unwrap_or_default()).collect();
    let parameters = compare::parameters(&params, &defaults);
    let runs: Vec<_> = views.iter().map(|(v, _)| (v.execution.created, v.steps.clone().unwrap_or_default())).collect();
    let steps = compare::steps(&runs, now);
    let structures: Vec<Option<Structure>> = definitions
        .iter()
        .enumerate()
        .map(|(i, d)| match (i, &definitions[0], d) {
            (0, _, _) => None,
            (_, Some(base), Some(d)) => Some(compare::structure(base, d)).filter(|s| !s.is_empty()),
            _ => None,
        })
        .collect();
    let described = job_cells(&state, &views, &steps).await;
    let (jobs, metrics) = compare::jobs(&described);
    let changed: Vec<Structure> = structures.iter().flatten().cloned().collect();
    let summary = compare::summary(&columns, &parameters, &steps, &changed, &metrics);
    let running = columns.iter().any(|c| !c.status.is_terminal());
    let log_steps: Vec<String> =
        steps.iter().filter(|r| views.iter().any(|(v, _)| logged(v, &r.name))).map(|r| r.name.clone()).collect();
    // Each one's cost: kept, or estimated when it has few job steps (see `crate::cost_queries::bounded`).
    let costs = join_all(views.iter().map(|(v, _)| crate::cost_queries::bounded(&state, v, COST_JOB_STEPS))).await;
    let logs = match logs_of.filter(|s| log_steps.iter().any(|l| l == s)) {
        Some(step) => Some(side_by_side(pipeline, &columns, step).await?),
        None => None,
    };
    Ok(ComparePage {
        pipeline: views[0].0.execution.pipeline_name.clone(),
        columns,
        summary,
        parameters,
        steps,
        structures,
        costs,
        jobs,
        metrics,
        log_steps,
        logs,
        running,
        me: who.me(Some(role)),
    })
}

/// The jobs behind the job steps worth comparing: training and tuning jobs (their metrics), and other jobs
/// whose step ran differently; at most `JOB_STEPS` steps.
async fn job_cells(
    state: &AppState,
    views: &[(std::sync::Arc<ExecutionView>, Option<String>)],
    rows: &[compare::StepRow],
) -> Vec<(String, Vec<Option<JobCell>>)> {
    let job_of = |view: &ExecutionView, key: &str| -> Option<(JobKind, String)> {
        let steps = view.steps.as_ref().ok()?;
        match &steps.iter().find(|s| s.key() == key)?.metadata {
            StepMetadata::Job { kind, name, .. } if describable(*kind) && *kind != JobKind::ModelPackage => {
                Some((*kind, name.clone()))
            }
            _ => None,
        }
    };
    let wanted: Vec<&compare::StepRow> = rows
        .iter()
        .filter(|r| {
            views.iter().any(|(v, _)| match job_of(v, &r.name) {
                Some((JobKind::Training | JobKind::Tuning, _)) => true,
                Some(_) => r.differs,
                None => false,
            })
        })
        .take(JOB_STEPS)
        .collect();
    let mut out = vec![];
    for row in wanted {
        let cells = join_all(views.iter().map(|(v, _)| async move {
            let (kind, name) = job_of(v, &row.name)?;
            let key = (kind, name.clone());
            let job = state.books.jobs.get(&key, JobDetail::is_terminal, state.gateway.describe_job(kind, &name)).await;
            job.ok().map(|j| JobCell::of(&j, &v.execution.id))
        }))
        .await;
        out.push((row.name.clone(), cells));
    }
    out
}

/// Whether the execution's step `key` ran a job that writes CloudWatch logs.
fn logged(view: &ExecutionView, key: &str) -> bool {
    let Ok(steps) = view.steps.as_ref() else { return false };
    steps
        .iter()
        .any(|s| s.key() == key && matches!(&s.metadata, StepMetadata::Job { kind, .. } if log_group(*kind).is_some()))
}

/// Step `step`'s job logs of each execution, each from a little before its first error, the lines no
/// other has marked. Read as the logs tab reads them (shared, kept; see `crate::step_queries`).
async fn side_by_side(pipeline: &str, columns: &[Column], step: &str) -> Result<LogsSideBySide, AppError> {
    let pages = join_all(columns.iter().map(|c| crate::step_queries::logs(pipeline, &c.id, step, None, None, None)));
    let mut windows = vec![];
    let mut meta = vec![];
    for page in pages.await {
        match page {
            Ok(p) if p.state == LogsState::Ready => {
                meta.push((p.first_error, None));
                windows.push(compare::logs::window(p.lines, p.first_error));
            }
            Ok(p) => {
                meta.push((None, Some(missing(&p.state))));
                windows.push(vec![]);
            }
            // Not run in this execution.
            Err(AppError::NotFound(_)) => {
                meta.push((None, Some("This step did not run in this execution.".to_string())));
                windows.push(vec![]);
            }
            Err(e) => return Err(e),
        }
    }
    let marks = compare::logs::only_here(&windows);
    let columns = windows
        .into_iter()
        .zip(marks)
        .zip(meta)
        .map(|((lines, only_here), (first_error, missing))| LogColumn { lines, only_here, first_error, missing })
        .collect();
    Ok(LogsSideBySide { step: step.to_string(), columns })
}

/// Why a log is not shown, in a sentence.
fn missing(state: &LogsState) -> String {
    match state {
        LogsState::Ready => String::new(),
        LogsState::NotStarted => "The step has not started its job yet.".into(),
        LogsState::NoLogs(kind) => format!("A {kind} writes no logs of its own."),
        LogsState::NoStreams => "The job has no log stream yet.".into(),
        LogsState::GroupMissing(group) => format!("The log group {group} does not exist."),
        LogsState::Denied { action, .. } => format!("CloudWatch refused {action}."),
        LogsState::Failed(e) => format!("CloudWatch failed: {e}"),
    }
}

/// An execution and the definition it ran; an id that is not of this pipeline is an unknown execution.
async fn read_one(
    state: &AppState,
    pipeline: &str,
    id: &str,
) -> Result<(std::sync::Arc<ExecutionView>, Option<String>), AppError> {
    let what = Subject::Execution { pipeline, id };
    let arn = execution_arn(state, pipeline, id).await?;
    let known = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
    let definition = state.watchers.definition(&arn).await.ok();
    Ok((known.value, definition))
}

fn column(v: &ExecutionView) -> Column {
    let e = &v.execution;
    // The end of a finished execution: its last step's end (SageMaker says no end time of its own).
    let end = match e.status.is_terminal() {
        true => v.steps.as_ref().ok().and_then(|s| s.iter().filter_map(|s| s.end).max()).or(e.modified),
        false => None,
    };
    Column {
        id: e.id.clone(),
        display_name: e.display_name.clone(),
        status: e.status.clone(),
        start: e.created,
        end,
        pipeline_version: e.pipeline_version,
        failure_reason: e.failure_reason.clone(),
    }
}

/// The execution to compare `id` with: the one started just before it, or the newest successful one
/// before it, among the newest `LOOK_BACK`.
async fn counterpart(state: &AppState, pipeline: &str, id: &str, against: Against) -> Result<String, AppError> {
    let what = Subject::Execution { pipeline, id };
    if !stepline_types::model::links::valid_id(id) {
        return Err(AppError::not_found(what));
    }
    let page = state.gateway.list_executions(pipeline, None, LOOK_BACK).await.map_err(AppError::Upstream)?;
    let at = page.items.iter().position(|e| e.id == id).ok_or_else(|| {
        AppError::Invalid(format!(
            "Execution '{id}' is not among the newest {LOOK_BACK}: choose what to compare it with."
        ))
    })?;
    let older = &page.items[at + 1..];
    let found = match against {
        Against::Previous => older.first(),
        Against::Success => older.iter().find(|e| e.status == ExecStatus::Succeeded),
    };
    found.map(|e| e.id.clone()).ok_or_else(|| {
        AppError::Invalid(match against {
            Against::Previous => "No execution started before this one.".into(),
            Against::Success => format!("No execution before this one succeeded (among the newest {LOOK_BACK})."),
        })
    })
}
