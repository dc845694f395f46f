//! What an execution cost, estimated (the arithmetic is `stepline_types::cost`).
//!
//! What it costs upstream: per job step one Describe*Job (kept for good once the job ended, shared with the
//! step panel and the compare page), and per region and instance type one `GetProducts` a day (kept in the
//! database; none for instances the price file prices). A cache hit's step points at the job of the run
//! it reused: that job's cost is what the cache saved.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use stepline_types::cost::{step_cost, CacheSaving, Component, ExecutionCost, JobUse, StepCost, StepLine};
use stepline_types::error::{AppError, Subject};
use stepline_types::model::jobs::JobDetail;
use stepline_types::model::{StepMetadata, StepRun};

use crate::queries::execution_arn;
use crate::state::{enter, AppState};

/// Job steps costed at most per execution (a ForEach of thousands is summed over its first ones, and says
/// how many it left out).
pub const MOST_STEPS: usize = 1_000;

/// `pipeline`'s execution `id`, costed.
pub async fn execution_cost(pipeline: &str, id: &str) -> Result<ExecutionCost, AppError> {
    let (state, who) = enter().await?;
    who.read(pipeline).await?;
    let what = Subject::Execution { pipeline, id };
    let arn = execution_arn(&state, pipeline, id).await?;
    let known = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
    let steps = known.value.steps.clone().map_err(|e| AppError::from_upstream(e, what))?;
    Ok(cost_of(&state, &steps, Utc::now()).await)
}

/// How long a page waits for jobs to be described; those not read by then are left out (and said to be),
/// and their descriptions go on in the background, for the next read.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The cost of an execution's steps as of `now`.
pub async fn cost_of(state: &AppState, steps: &[StepRun], now: DateTime<Utc>) -> ExecutionCost {
    let jobs: Vec<&StepRun> = steps
        .iter()
        .filter(|s| matches!(s.metadata, StepMetadata::Job { kind, .. } if Component::of(kind).is_some()))
        .collect();
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
        },
    };
    // A cache hit ran nothing: its job is the one of the run it reused, whose cost it saved.
    let (cost, cache) = match &step.cache_source {
        Some(source) => {
            let saved = CacheSaving {
                source_execution: source.rsplit('/').next().unwrap_or(source).to_string(),
                usd: cost.usd,
            };
            let nothing = StepCost {
                usd: Some(0.0),
                spot_saved: None,
                running: false,
                formula: "reused a cached result: nothing ran".into(),
                price: cost.price,
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
