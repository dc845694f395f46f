//! What waits for a person in one account and region: callback steps waiting for an answer and model
//! versions waiting for approval. Read for everybody at once and kept for `FRESH`; each person's inbox is
//! this filtered by what they may see (`crate::inbox_queries`).
//!
//! What a read costs upstream (at most one per `FRESH`, and only while someone looks at a page):
//! - the list of pipelines, shared with the pipelines page;
//! - one `DescribePipeline` per pipeline that has run, when it was created or changed since the last read
//!   (to know whether it has callback steps; kept until its `LastModifiedTime` moves);
//! - for each pipeline with callback steps, one `ListPipelineExecutions` (its newest `NEWEST`), and for
//!   each of those still running, one `ListPipelineExecutionSteps` and, once per pipeline version,
//!   `DescribePipelineDefinitionForExecution` (the outputs an answer sends);
//! - one `ListModelPackages` (every group's pending versions, 100 a page) and one `DescribeModelPackage`
//!   per version not described by an earlier read.
//!
//! A steady state with a handful of callback pipelines is a few calls every `FRESH`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use stepline_definition::StepType;
use stepline_types::inbox::WaitingCallback;
use stepline_types::model::registry::ModelVersion;
use stepline_types::model::{PipelineKey, PipelineSummary, StepMetadata, StepStatus, Upstream};

use crate::gateway::Gateway;
use crate::stale::{Kept, Known};
use crate::watch::Watchers;

/// How long a read is shown before the next is made.
pub const FRESH: Duration = Duration::from_secs(20);
/// The newest executions of a callback pipeline looked at.
const NEWEST: i32 = 20;

/// What waits, for everybody.
#[derive(Clone, Debug, Default)]
pub struct Waiting {
    pub callbacks: Vec<WaitingCallback>,
    /// Versions pending approval, described (who registered them, from which execution).
    pub versions: Vec<ModelVersion>,
    /// What could not be read this time (the rest is shown).
    pub problems: Vec<String>,
}

/// Whether a pipeline has callback steps, and its `LastModifiedTime` when that was read.
type Checked = (Option<DateTime<Utc>>, bool);

/// One place's inbox, kept.
#[derive(Default)]
pub struct Inbox {
    kept: Kept<Arc<Waiting>>,
    /// Whether each pipeline has callback steps, as of its `LastModifiedTime`.
    has_callbacks: Mutex<HashMap<PipelineKey, Checked>>,
    /// Pending versions as described, by ARN (a pending version changes only by a decision).
    described: Mutex<HashMap<String, ModelVersion>>,
    /// A read started by [`Inbox::peek`] is under way.
    reading: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inbox {
    /// What waits, read again when older than `FRESH`.
    pub async fn read(&self, gateway: &Gateway, watchers: &Watchers) -> Result<Known<Arc<Waiting>>, Upstream> {
        self.kept.get(FRESH, self.collect(gateway, watchers)).await
    }

    /// What is known now, without waiting (the top bar's count); a read is started in the background
    /// when nothing is known or it is older than `FRESH`.
    pub fn peek(self: &Arc<Self>, gateway: &Arc<Gateway>, watchers: &Arc<Watchers>) -> Option<Known<Arc<Waiting>>> {
        let known = self.kept.peek();
        let old = known.as_ref().is_none_or(|k| (Utc::now() - k.as_of).to_std().is_ok_and(|age| age > FRESH));
        if old && !self.reading.swap(true, Ordering::SeqCst) {
            let (this, gateway, watchers) = (self.clone(), gateway.clone(), watchers.clone());
            tokio::spawn(async move {
                let _ = this.read(&gateway, &watchers).await;
                this.reading.store(false, Ordering::SeqCst);
            });
        }
        known
    }

    /// Something was answered or decided here: the next look reads again.
    pub fn invalidate(&self) {
        self.kept.invalidate();
    }

    async fn collect(&self, gateway: &Gateway, watchers: &Watchers) -> Result<Arc<Waiting>, Upstream> {
        let (callbacks, versions) = tokio::join!(self.callbacks(gateway, watchers), self.versions(gateway));
        let mut waiting = Waiting::default();
        match (callbacks, versions) {
            (Err(e), Err(_)) => return Err(e),
            (c, v) => {
                match c {
                    Ok(c) => waiting.callbacks = c,
                    Err(e) => waiting.problems.push(format!("Waiting callbacks could not be read: {e}")),
                }
                match v {
                    Ok(v) => waiting.versions = v,
                    Err(e) => waiting.problems.push(format!("Pending model versions could not be read: {e}")),
                }
            }
        }
        Ok(Arc::new(waiting))
    }

    /// Every callback step waiting, in the pipelines that have them, longest waiting first.
    async fn callbacks(&self, gateway: &Gateway, watchers: &Watchers) -> Result<Vec<WaitingCallback>, Upstream> {
        let pipelines = watchers.pipeline_summaries().await?;
        let ran: Vec<&PipelineSummary> = pipelines.iter().filter(|p| p.last_execution.is_some()).collect();
        let checked = join_all(ran.iter().map(|p| self.with_callbacks(watchers, p))).await;
        let callback_pipelines: Vec<&PipelineSummary> =
            ran.into_iter().zip(checked).filter(|(_, has)| *has).map(|(p, _)| p).collect();
        let found = join_all(callback_pipelines.iter().map(|p| waiting_in(gateway, watchers, &p.name))).await;
        let mut out: Vec<WaitingCallback> = found.into_iter().flatten().flatten().collect();
        out.sort_by_key(|c| c.since);
        Ok(out)
    }

    /// Whether a pipeline's definition has callback steps (asked when it changed since last asked; a
    /// pipeline that cannot be described counts as having none this time).
    async fn with_callbacks(&self, watchers: &Watchers, p: &PipelineSummary) -> bool {
        let key = PipelineKey::of(&p.name);
        if let Some((modified, has)) = lock(&self.has_callbacks).get(&key) {
            if *modified == p.modified {
                return *has;
            }
        }
        let Ok(detail) = watchers.pipeline(&p.name).await else { return false };
        let has = stepline_definition::parse(&detail.value.definition)
            .is_ok_and(|d| d.steps.iter().any(|s| s.step_type == StepType::Callback));
        lock(&self.has_callbacks).insert(key, (p.modified, has));
        has
    }

    /// Every version pending approval, described (each once).
    async fn versions(&self, gateway: &Gateway) -> Result<Vec<ModelVersion>, Upstream> {
        let pending = gateway.pending_versions().await?;
        let unknown: Vec<&str> = {
            let described = lock(&self.described);
            pending.iter().map(|v| v.arn.as_str()).filter(|a| !described.contains_key(*a)).collect()
        };
        let answers = join_all(unknown.iter().map(|arn| gateway.model_version(arn))).await;
        let mut described = lock(&self.described);
        for answer in answers.into_iter().flatten() {
            described.insert(answer.summary.arn.clone(), answer);
        }
        // Those decided since leave; the rest are as described, with the listing's status.
        described.retain(|arn, _| pending.iter().any(|v| &v.arn == arn));
        Ok(pending
            .iter()
            .filter_map(|v| described.get(&v.arn).map(|d| ModelVersion { summary: v.clone(), ..d.clone() }))
            .collect())
    }
}

/// The callback steps waiting in a pipeline's newest running executions.
async fn waiting_in(gateway: &Gateway, watchers: &Watchers, pipeline: &str) -> Result<Vec<WaitingCallback>, Upstream> {
    let page = gateway.list_executions(pipeline, None, NEWEST).await?;
    let running: Vec<_> = page.items.into_iter().filter(|e| !e.status.is_terminal()).collect();
    let mut out = vec![];
    for e in running {
        let Ok(steps) = gateway.list_steps(&e.arn).await else { continue };
        let waiting: Vec<_> = steps
            .into_iter()
            .filter(|s| s.status == StepStatus::Executing && matches!(s.metadata, StepMetadata::Callback { .. }))
            .collect();
        if waiting.is_empty() {
            continue;
        }
        let definition = watchers.definition(&e.arn).await.ok().and_then(|d| stepline_definition::parse(&d).ok());
        for s in waiting {
            let outputs = definition
                .as_ref()
                .and_then(|d| d.step(&s.name))
                .map(|d| d.output_parameters.iter().map(|o| (o.output_name.clone(), o.output_type)).collect())
                .unwrap_or_default();
            out.push(WaitingCallback {
                pipeline: pipeline.to_string(),
                execution_arn: e.arn.clone(),
                execution_id: e.id.clone(),
                execution_name: e.display_name.clone(),
                step: s.name.clone(),
                step_display: s.display_name.clone(),
                since: s.start,
                outputs,
                may_answer: false,
            });
        }
    }
    Ok(out)
}
