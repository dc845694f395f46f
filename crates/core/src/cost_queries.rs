//! What an execution cost, estimated (the arithmetic is `stepline_types::cost`).
//!
//! What it costs upstream: per job step one Describe*Job (kept for good once the job ended, shared with the
//! step panel and the compare page), and per region and instance type one `GetProducts` a day (kept in the
//! database; none for instances the price file prices). A cache hit's step points at the job of the run
//! it reused: that job's cost is what the cache saved.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use stepline_types::cost::{step_cost, CacheSaving, Component, CostTotal, ExecutionCost, JobUse, StepCost, StepLine};
use stepline_types::error::{AppError, Subject};
use stepline_types::model::jobs::JobDetail;
use stepline_types::model::{ExecutionView, StepMetadata, StepRun};

use crate::store::KeptCost;
use crate::watch::ListFilter;
use stepline_types::cost::trend::{self, PipelineCosts, RunCost};

use crate::queries::execution_arn;
use crate::state::{enter, AppState};

/// Job steps costed at most per execution (a ForEach of thousands is summed over its first ones, and says
/// how many it left out).
pub const MOST_STEPS: usize = 1_000;

/// `pipeline`'s execution `id`, costed: a finished one's estimate is kept once complete, and read back.
pub async fn execution_cost(pipeline: &str, id: &str) -> Result<ExecutionCost, AppError> {
    let (state, who) = enter().await?;
    who.read(pipeline).await?;
    let what = Subject::Execution { pipeline, id };
    let arn = execution_arn(&state, pipeline, id).await?;
    if let Ok(Some(kept)) = state.access.db.kept_cost(&state.place.key(), &arn).await {
        return Ok(kept);
    }
    let view = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?.value;
    if let Err(e) = &view.steps {
        return Err(AppError::from_upstream(e.clone(), what));
    }
    Ok(estimate(&state, &view).await)
}

/// Estimate `view` now, and keep the estimate when it is final.
async fn estimate(state: &AppState, view: &ExecutionView) -> ExecutionCost {
    let steps = view.steps.clone().unwrap_or_default();
    let cost = cost_of(state, &steps, Utc::now()).await;
    keep_if_final(state, view, &cost).await;
    cost
}

/// Keep the estimate of a finished execution whose every job was read and priced by the list or the file
/// (a Price List failure is not kept: it is asked again).
async fn keep_if_final(state: &AppState, view: &ExecutionView, cost: &ExecutionCost) {
    let e = &view.execution;
    let failed_price = cost.steps.iter().any(|s| s.cost.price_failed);
    if !e.status.is_terminal() || cost.running || cost.unread > 0 || failed_price {
        return;
    }
    let kept = KeptCost {
        pipeline: e.pipeline_name.clone(),
        execution_id: e.id.clone(),
        started_ms: e.created.map(|c| c.timestamp_millis()).unwrap_or_default(),
        cost: cost.clone(),
    };
    if let Err(why) = state.access.db.keep_cost(&state.place.key(), &e.arn, &kept, crate::store::now_ms()).await {
        tracing::warn!(execution = %e.arn, "an execution's cost could not be kept: {why}");
    }
}

/// How long a page waits for jobs to be described; those not read by then are left out (and said to be),
/// and their descriptions go on in the background, for the next read.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The cost of an execution's steps as of `now`.
pub async fn cost_of(state: &AppState, steps: &[StepRun], now: DateTime<Utc>) -> ExecutionCost {
    let jobs: Vec<&StepRun> = steps.iter().filter(|s| billed(s)).collect();
    let left_out = jobs.len().saturating_sub(MOST_STEPS);
    let tasks: Vec<_> = jobs
        .into_iter()
        .take(MOST_STEPS)
        .map(|s| {
            let (state, step) = (state.clone(), s.clone());
            tokio::spawn(async move { line(&state, &step, now).await })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    let lines = join_all(
        tasks
            .into_iter()
            .map(|t| async move { tokio::time::timeout_at(deadline, t).await.ok().and_then(Result::ok).flatten() }),
    )
    .await;
    let unread = lines.iter().filter(|l| l.is_none()).count() + left_out;
    ExecutionCost::of(lines.into_iter().flatten().collect(), unread)
}

/// Whether a step ran a job billed by the instance-hour (training, processing, transform).
fn billed(step: &StepRun) -> bool {
    matches!(step.metadata, StepMetadata::Job { kind, .. } if Component::of(kind).is_some())
}

/// One step's line: None when its job could not be read (or has not started).
async fn line(state: &AppState, step: &StepRun, now: DateTime<Utc>) -> Option<StepLine> {
    let StepMetadata::Job { kind, name, .. } = &step.metadata else { return None };
    let job = state
        .books
        .jobs
        .get(&(*kind, name.clone()), JobDetail::is_terminal, state.gateway.describe_job(*kind, name))
        .await
        .ok()?;
    let used = JobUse::of(&job, &state.place.region, now)?;
    let price = state.prices.price(&state.gateway, &used.region, &used.instance_type, used.component).await;
    let cost = match price {
        Ok(p) => step_cost(&used, p),
        Err(e) => StepCost {
            usd: None,
            spot_saved: None,
            running: false,
            formula: format!("no price for {}: the Price List failed ({})", used.priced_as(), e.code),
            price: None,
            price_failed: true,
        },
    };
    // A cache hit ran nothing: its job is the one of the run it reused, whose cost it saved.
    let (cost, cache) = match &step.cache_source {
        Some(source) => {
            let saved = CacheSaving {
                source_execution: stepline_types::model::execution_id(source).to_string(),
                usd: cost.usd,
            };
            let nothing = StepCost {
                usd: Some(0.0),
                spot_saved: None,
                running: false,
                formula: "reused a cached result: nothing ran".into(),
                price: cost.price,
                price_failed: cost.price_failed,
            };
            (nothing, Some(saved))
        }
        None => (cost, None),
    };
    Some(StepLine {
        step: step.key(),
        job: job.name.clone(),
        component: used.component,
        instance: used.instance_type,
        count: used.instance_count,
        cost,
        cache,
    })
}

/// Finished runs among the newest whose cost a read of the pipeline's costs estimates at most (the others
/// at the next reads), so a pipeline page never waits for hundreds of job descriptions.
pub const PER_READ: usize = 3;
/// The newest executions the trend shows.
pub const TREND_RUNS: usize = 20;

/// `pipeline`'s cost trend: its newest finished runs' estimates and the sums by day and week.
pub async fn pipeline_costs(pipeline: &str) -> Result<PipelineCosts, AppError> {
    let (state, who) = enter().await?;
    who.read(pipeline).await?;
    let name = crate::queries::pipeline_detail(&state, pipeline).await?.value.summary.name.clone();
    let now = Utc::now();
    let place = state.place.key();
    let listed = state
        .watchers
        .executions_page(&name, &ListFilter::default(), None, TREND_RUNS)
        .await
        .map_err(|e| AppError::from_upstream(e, Subject::Pipeline(pipeline)))?;
    // Every kept estimate of the last eight weeks, read once: the newest runs are looked up in them, and the
    // days and weeks sum them all.
    let since = (now - chrono::Duration::weeks(8)).timestamp_millis();
    let until = (now + chrono::Duration::days(1)).timestamp_millis();
    let kept = state.access.db.kept_costs(&place, Some(&name), since, until, 10_000).await.unwrap_or_default();
    let mut runs = vec![];
    let (mut pending, mut estimated) = (0, 0);
    for e in listed.value.page.iter().filter(|e| e.status.is_terminal()) {
        let older = || async { state.access.db.kept_cost(&place, &e.arn).await.ok().flatten() };
        let cost = match kept.iter().find(|k| k.execution_id == e.id) {
            Some(k) => Some(k.cost.clone()),
            // Kept, but started before the eight weeks read.
            None if e.start.is_some_and(|t| t.timestamp_millis() < since) => older().await,
            None if estimated < PER_READ => {
                estimated += 1;
                complete_estimate(&state, &e.arn).await
            }
            None => None,
        };
        match cost {
            Some(c) => runs.push(RunCost {
                id: e.id.clone(),
                label: e.display_name.clone().unwrap_or_else(|| e.id.clone()),
                started: e.start,
                usd: c.usd,
                partial: !c.missing.is_empty(),
            }),
            None => pending += 1,
        }
    }
    runs.reverse();
    let all: Vec<RunCost> = kept
        .into_iter()
        .map(|k| RunCost {
            id: k.execution_id,
            label: String::new(),
            started: chrono::DateTime::from_timestamp_millis(k.started_ms),
            usd: k.cost.usd,
            partial: !k.cost.missing.is_empty(),
        })
        .collect();
    Ok(PipelineCosts {
        pipeline: name,
        median: trend::median(&runs.iter().map(|r| r.usd).collect::<Vec<_>>()),
        days: trend::by_day(&all, now, 14),
        weeks: trend::by_week(&all, now, 8),
        runs,
        pending,
    })
}

/// A finished execution's estimate, computed now and kept when complete; None when it is not complete yet.
async fn complete_estimate(state: &AppState, arn: &str) -> Option<ExecutionCost> {
    let view = state.watchers.execution(arn).await.ok()?.value;
    view.steps.as_ref().ok()?;
    Some(estimate(state, &view).await).filter(|c| c.unread == 0 && !c.running)
}

/// An execution's cost where it is cheap to know: its kept estimate, else computed when it has at most
/// `most` job steps; else none yet (`unread` says how many steps wait), so a page that shows several
/// executions never sets off hundreds of job descriptions.
pub async fn bounded(state: &AppState, view: &ExecutionView, most: usize) -> CostTotal {
    if let Ok(Some(kept)) = state.access.db.kept_cost(&state.place.key(), &view.execution.arn).await {
        return CostTotal::from(&kept);
    }
    let steps = view.steps.clone().unwrap_or_default();
    let jobs = steps.iter().filter(|s| billed(s)).count();
    if jobs > most {
        return CostTotal { unread: jobs, ..CostTotal::default() };
    }
    CostTotal::from(&estimate(state, view).await)
}
