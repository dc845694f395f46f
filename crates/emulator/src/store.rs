//! The in-memory state of the service and its lookups: pipelines by name, executions by id, callback tokens,
//! jobs by name, idempotency tokens, the step cache and the STS sessions. Everything here is guarded by one
//! lock in `runtime.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use stepline_definition::{Definition, Graph};

use crate::engine::CachedRun;
use crate::error::{ApiError, ApiResult};
use crate::sessions::Sessions;
use crate::state::{Execution, Pipeline};

/// A parsed definition with its dependency graph, shared by every execution of that version.
pub struct Plan {
    pub definition: Definition,
    pub graph: Graph,
}

#[derive(Default)]
pub struct Store {
    /// By lower-cased name: names compare case-insensitively.
    pub pipelines: BTreeMap<String, Pipeline>,
    /// By execution id (the 12-character ARN suffix).
    pub executions: HashMap<String, Execution>,
    /// Execution ids of each pipeline (lower-cased name), oldest first.
    pub by_pipeline: HashMap<String, Vec<String>>,
    /// Callback token → (execution id, step name).
    pub callbacks: HashMap<String, (String, String)>,
    /// Jobs by `<resource type>/<name lower-cased>` (`crate::job_view::key`), in order, so a kind's jobs
    /// are one range: where each one's record is.
    pub jobs: BTreeMap<String, JobRef>,
    /// The highest version registered in each model package group (lower-cased).
    pub package_versions: HashMap<String, u32>,
    /// (operation, token) → the first answer.
    pub idempotency: HashMap<(String, String), Value>,
    /// (pipeline lower-cased, step, key) → successful runs, newest last.
    pub cache: HashMap<(String, String, String), Vec<CachedRun>>,
    /// Credentials issued by the emulator's STS, by access key.
    pub sessions: Sessions,
    /// SQS queues by name (`crate::sqs`).
    pub queues: BTreeMap<String, crate::sqs::queue::Queue>,
    /// Model package groups and versions made through the API, and every version's updates.
    pub registry: crate::registry::Registry,
    /// What the events rule last published of each running execution.
    pub published: crate::sqs::published::PublishedStates,
    plans: HashMap<(String, i64), Arc<Plan>>,
}

/// Where a job's record is: the step of an execution, the job among the step's, and for a training job a
/// tuning job ran, which trial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRef {
    pub execution: String,
    pub step: usize,
    pub job: usize,
    pub trial: Option<u32>,
}

/// Split a pipeline name or ARN into the name.
pub fn pipeline_name_of(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":pipeline/") {
        Some((_, rest)) => rest.split('/').next().unwrap_or(rest),
        None => name_or_arn,
    }
}

/// Split an execution ARN into (pipeline name, execution id).
pub fn parse_execution_arn(arn: &str) -> Option<(&str, &str)> {
    let (_, rest) = arn.split_once(":pipeline/")?;
    let (pipeline, id) = rest.split_once("/execution/")?;
    Some((pipeline, id))
}

impl Store {
    pub fn pipeline(&self, name_or_arn: &str) -> ApiResult<&Pipeline> {
        let name = pipeline_name_of(name_or_arn);
        self.pipelines.get(&name.to_lowercase()).ok_or_else(|| {
            ApiError::not_found(format!("Pipeline '{}' does not exist.", self.arn_for_message(name_or_arn)))
        })
    }

    pub fn pipeline_mut(&mut self, name_or_arn: &str) -> ApiResult<&mut Pipeline> {
        let name = pipeline_name_of(name_or_arn).to_lowercase();
        let shown = self.arn_for_message(name_or_arn);
        self.pipelines.get_mut(&name).ok_or_else(|| ApiError::not_found(format!("Pipeline '{shown}' does not exist.")))
    }

    fn arn_for_message(&self, name_or_arn: &str) -> String {
        name_or_arn.to_string()
    }

    /// The id of the execution an ARN names, checking the pipeline part too (case-insensitively).
    pub fn execution_id(&self, arn: &str) -> ApiResult<String> {
        let missing = || ApiError::not_found(format!("Pipeline execution '{arn}' does not exist."));
        let (pipeline, id) = parse_execution_arn(arn).ok_or_else(missing)?;
        let ex = self.executions.get(id).ok_or_else(missing)?;
        if !ex.pipeline_name.eq_ignore_ascii_case(pipeline) {
            return Err(missing());
        }
        Ok(id.to_string())
    }

    pub fn execution(&self, arn: &str) -> ApiResult<&Execution> {
        let id = self.execution_id(arn)?;
        self.executions
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("Pipeline execution '{arn}' does not exist.")))
    }

    /// The parsed definition of a pipeline version, parsed once and shared.
    pub fn plan(&mut self, pipeline: &str, version: i64) -> ApiResult<Arc<Plan>> {
        let key = (pipeline.to_lowercase(), version);
        if let Some(p) = self.plans.get(&key) {
            return Ok(p.clone());
        }
        let p = self.pipeline(pipeline)?;
        let text = &p
            .version(version)
            .ok_or_else(|| ApiError::not_found(format!("Pipeline version {version} of '{}' does not exist.", p.name)))?
            .definition;
        let definition = stepline_definition::parse(text).map_err(|e| ApiError::validation(e.message))?;
        let graph = Graph::new(&definition);
        let plan = Arc::new(Plan { definition, graph });
        self.plans.insert(key, plan.clone());
        Ok(plan)
    }

    pub fn forget_plans(&mut self, pipeline: &str) {
        let lc = pipeline.to_lowercase();
        self.plans.retain(|(p, _), _| *p != lc);
    }

    pub fn insert_execution(&mut self, ex: Execution) {
        self.index_callbacks(&ex);
        self.index_jobs(&ex);
        let ids = self.by_pipeline.entry(ex.pipeline_name.to_lowercase()).or_default();
        if !ids.contains(&ex.id) {
            ids.push(ex.id.clone());
        }
        self.executions.insert(ex.id.clone(), ex);
    }

    /// Keep the callback-token index in step with an execution's steps.
    pub fn index_callbacks(&mut self, ex: &Execution) {
        for s in &ex.steps {
            if let Some(t) = &s.callback_token {
                self.callbacks.entry(t.clone()).or_insert_with(|| (ex.id.clone(), s.name.clone()));
            }
        }
    }

    /// Keep the job index in step with an execution's jobs (and the model package versions they registered).
    pub fn index_jobs(&mut self, ex: &Execution) {
        for (step, run) in ex.steps.iter().enumerate() {
            for (job, record) in run.jobs.iter().enumerate() {
                for (key, trial) in crate::job_view::keys(record) {
                    let at = JobRef { execution: ex.id.clone(), step, job, trial };
                    self.jobs.entry(key).or_insert(at);
                }
                if let Some(v) = record.package_version {
                    let group = crate::job_view::package_group(&record.arguments).to_lowercase();
                    let top = self.package_versions.entry(group).or_insert(0);
                    *top = (*top).max(v);
                }
            }
        }
    }

    /// Forget the jobs of executions that are gone.
    pub fn forget_jobs(&mut self, executions: &[String]) {
        self.jobs.retain(|_, at| !executions.contains(&at.execution));
    }

    /// Executions of a pipeline that are still running.
    pub fn running_executions(&self, pipeline: &str) -> usize {
        self.by_pipeline
            .get(&pipeline.to_lowercase())
            .map(|ids| {
                ids.iter().filter(|id| self.executions.get(*id).is_some_and(|e| !e.status.is_terminal())).count()
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns_split() {
        assert_eq!(pipeline_name_of("arn:aws:sagemaker:us-east-1:123456789012:pipeline/Abalone"), "Abalone");
        assert_eq!(pipeline_name_of("Abalone"), "Abalone");
        assert_eq!(
            parse_execution_arn("arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone/execution/abc123def456"),
            Some(("abalone", "abc123def456"))
        );
        assert_eq!(parse_execution_arn("arn:aws:sagemaker:us-east-1:1:pipeline/abalone"), None);
    }
}
