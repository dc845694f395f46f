//! History loaded straight into the store: N pipelines with M finished executions each, spread over the past
//! days with step runs of realistic length, without a call per execution. What tests and benchmarks of a
//! long history (`?status=Failed` over 100,000 executions, `/` with 1,000 pipelines) start from.
//!
//! ```json
//! {"pipelines": 1000, "executions": 20}
//! {"names": ["AbalonePipeline"], "executions": 100000, "days": 365, "failed": 0.1}
//! ```

use serde::Deserialize;
use serde_json::{json, Value};
use stepline_definition::{Graph, StepType};

use crate::error::EmulatorError;
use crate::jobs::{self, JobContext};
use crate::persist::Write;
use crate::runtime::{random_lower, Core, Inner};
use crate::state::{Epoch, Execution, ExecutionStatus, Pipeline, PipelineVersion, StepPhase, StepRun};

/// The definition seeded pipelines get unless the seed names one: the abalone example.
const DEFAULT_DEFINITION: &str = include_str!("../../../definitions/abalone.json");
/// At most this many executions in one seed (about 3 KB of memory each).
pub const MAX_EXECUTIONS: usize = 2_000_000;
/// At most this many pipelines in one seed.
pub const MAX_PIPELINES: usize = 10_000;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// How many pipelines to create, named `<prefix>0001`… (ignored when `names` is given).
    #[serde(default)]
    pub pipelines: usize,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Pipelines by name: created when missing, given more history when they exist.
    #[serde(default)]
    pub names: Vec<String>,
    /// Finished executions per pipeline.
    #[serde(default)]
    pub executions: usize,
    /// How far back the history goes, in days; the newest execution ended an hour ago.
    #[serde(default = "default_days")]
    pub days: f64,
    /// Shares of the executions that failed and that were stopped; the rest succeeded.
    #[serde(default = "default_failed")]
    pub failed: f64,
    #[serde(default = "default_stopped")]
    pub stopped: f64,
    /// The definition of created pipelines (JSON text or object); the abalone example when absent.
    #[serde(default)]
    pub definition: Option<Value>,
}

fn default_prefix() -> String {
    "SeededPipeline".into()
}
fn default_days() -> f64 {
    30.0
}
fn default_failed() -> f64 {
    0.1
}
fn default_stopped() -> f64 {
    0.02
}

impl Seed {
    pub fn parse(text: &str) -> Result<Seed, EmulatorError> {
        let seed: Seed = serde_json::from_str(text).map_err(|e| EmulatorError::Scenario(format!("seed: {e}")))?;
        let names = seed.names().len();
        let bad = |why: String| Err(EmulatorError::Scenario(format!("seed: {why}")));
        if names > MAX_PIPELINES {
            return bad(format!("{names} pipelines is more than {MAX_PIPELINES}"));
        }
        if names.saturating_mul(seed.executions) > MAX_EXECUTIONS {
            return bad(format!("{names} × {} executions is more than {MAX_EXECUTIONS}", seed.executions));
        }
        if !(seed.days.is_finite() && seed.days > 0.0 && seed.days <= 3650.0) {
            return bad(format!("days must be between 0 and 3650 (got {})", seed.days));
        }
        let share = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !(share(seed.failed) && share(seed.stopped) && seed.failed + seed.stopped <= 1.0) {
            return bad("failed and stopped are shares between 0 and 1 that add up to at most 1".into());
        }
        for n in seed.names() {
            if n.is_empty() || n.len() > 256 || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return bad(format!("'{n}' is not a pipeline name (letters, digits and '-', up to 256)"));
            }
        }
        Ok(seed)
    }

    fn names(&self) -> Vec<String> {
        if !self.names.is_empty() {
            return self.names.clone();
        }
        let width = self.pipelines.to_string().len().max(4);
        (1..=self.pipelines).map(|i| format!("{}{i:0width$}", self.prefix)).collect()
    }

    fn definition_text(&self) -> String {
        match &self.definition {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => DEFAULT_DEFINITION.to_string(),
        }
    }
}

/// Add the seed's pipelines and executions. Returns how many executions were added.
pub fn apply(core: &Core, seed: &Seed) -> Result<usize, EmulatorError> {
    let definition = seed.definition_text();
    let plan = stepline_definition::parse(&definition)
        .map_err(|e| EmulatorError::Scenario(format!("seed: the definition is not valid: {}", e.message)))?;
    let graph = Graph::new(&plan);
    // The steps a run that took every condition's `if` branch lists, in an order their dependencies allow.
    let order: Vec<usize> =
        graph.topo_order().into_iter().filter(|&i| plan.steps[i].branch.as_ref().is_none_or(|b| b.outcome)).collect();
    let mut inner = core.lock();
    let now = inner.clock.now();
    let newest_end = now - 3600.0;
    let oldest_start = newest_end - seed.days * 86_400.0;
    let mut added = 0;
    for name in seed.names() {
        let key = name.to_lowercase();
        if !inner.store.pipelines.contains_key(&key) {
            let created = oldest_start - 86_400.0;
            let pipeline = Pipeline {
                arn: inner.account.arn(&format!("pipeline/{name}")),
                name: name.clone(),
                display_name: None,
                description: Some(format!("Seeded history ({} executions)", seed.executions)),
                role_arn: format!("arn:aws:iam::{}:role/SageMakerPipelines", inner.account.account),
                created,
                modified: created,
                last_run: None,
                parallelism: None,
                tags: vec![],
                created_by: None,
                modified_by: None,
                versions: vec![PipelineVersion { id: 1, definition: definition.clone(), created }],
            };
            inner.persist(&[Write::Pipeline(&pipeline)])?;
            inner.store.pipelines.insert(key.clone(), pipeline);
        }
        let pipeline = inner.store.pipelines[&key].clone();
        let version = pipeline.latest_version();
        let span = (newest_end - oldest_start) / seed.executions.max(1) as f64;
        let mut batch: Vec<Execution> = Vec::with_capacity(seed.executions.min(1000));
        let mut last_run = pipeline.last_run;
        for k in 0..seed.executions {
            let start = oldest_start + span * k as f64 + fastrand::f64() * span * 0.5;
            let roll = fastrand::f64();
            let status = if roll < seed.failed {
                ExecutionStatus::Failed
            } else if roll < seed.failed + seed.stopped {
                ExecutionStatus::Stopped
            } else {
                ExecutionStatus::Succeeded
            };
            let ex = execution(&inner, &pipeline, &plan, &order, version, start, status);
            last_run = Some(last_run.map_or(ex.created, |l: Epoch| l.max(ex.created)));
            batch.push(ex);
            if batch.len() == 1000 || k + 1 == seed.executions {
                insert(&mut inner, std::mem::take(&mut batch))?;
            }
        }
        added += seed.executions;
        if let Some(p) = inner.store.pipelines.get_mut(&key) {
            p.last_run = last_run;
        }
        // Seeded executions may be older than those already there: keep the pipeline's list oldest first.
        let Inner { store, .. } = &mut *inner;
        if let Some(ids) = store.by_pipeline.get_mut(&key) {
            let created = |id: &String| store.executions.get(id).map_or(0.0, |e| e.created);
            ids.sort_by(|a, b| created(a).total_cmp(&created(b)));
        }
        let p = inner.store.pipelines[&key].clone();
        inner.persist(&[Write::Pipeline(&p)])?;
    }
    Ok(added)
}

fn insert(inner: &mut Inner, batch: Vec<Execution>) -> Result<(), EmulatorError> {
    let writes: Vec<Write> = batch.iter().map(|e| Write::Execution { execution: e, all_steps: true }).collect();
    inner.persist(&writes)?;
    for ex in batch {
        inner.store.insert_execution(ex);
    }
    Ok(())
}

/// One finished execution that started at `start`: its steps one after another, each as long as a job of
/// its kind takes (±30%); a failed one fails in a job step, a stopped one stops in the middle.
fn execution(
    inner: &Inner,
    pipeline: &Pipeline,
    plan: &stepline_definition::Definition,
    order: &[usize],
    version: i64,
    start: Epoch,
    status: ExecutionStatus,
) -> Execution {
    let mut id = random_lower(12);
    while inner.store.executions.contains_key(&id) {
        id = random_lower(12);
    }
    let jobs_at: Vec<usize> = (0..order.len()).filter(|&k| is_job(&plan.steps[order[k]].step_type)).collect();
    let pick = |v: &[usize]| v.get(fastrand::usize(..v.len().max(1))).copied();
    let cut = match status {
        ExecutionStatus::Failed => pick(&jobs_at).or(order.len().checked_sub(1)),
        ExecutionStatus::Stopped => order.len().checked_sub(1).map(|n| fastrand::usize(..=n)),
        _ => None,
    };
    let mut steps: Vec<StepRun> = plan.steps.iter().map(|s| StepRun::new(&s.name)).collect();
    for s in &mut steps {
        s.phase = StepPhase::Skipped;
        s.dirty = false;
    }
    let mut at = start;
    let mut failure = None;
    let no_metrics = std::collections::BTreeMap::new();
    for (k, &i) in order.iter().enumerate() {
        let def = &plan.steps[i];
        let length = (jobs::default_duration(&def.step_type) * (0.7 + fastrand::f64() * 0.6)).round();
        let run = &mut steps[i];
        run.start = Some(at);
        run.attempt = 1;
        let job_name = jobs::job_name(&id, &def.name, &random_lower(10));
        let ctx = JobContext {
            account: &inner.account,
            step_type: &def.step_type,
            step_name: &def.name,
            arguments: &def.arguments,
            job_name: &job_name,
            execution_id: &id,
            metrics: &no_metrics,
            package_version: 1,
        };
        if is_job(&def.step_type) || def.step_type == StepType::Model || def.step_type == StepType::RegisterModel {
            run.metadata = jobs::metadata(&ctx, &jobs::properties(&ctx, "Completed"));
            run.job_name = Some(job_name);
        } else if def.step_type == StepType::Condition {
            run.metadata = Some(json!({"Condition": {"Outcome": "True"}}));
        }
        if Some(k) == cut {
            let length = if status == ExecutionStatus::Stopped { length * fastrand::f64() } else { length };
            at += length.round();
            run.end = Some(at);
            if status == ExecutionStatus::Failed {
                let reason = format!("ClientError: AlgorithmError: see the job's logs ({})", def.name);
                run.phase = StepPhase::Failed;
                run.failure_reason = Some(reason);
                failure = Some("Step failure: One or multiple steps failed.".to_string());
            } else {
                run.phase = StepPhase::Stopped;
            }
            break;
        }
        at += length;
        run.end = Some(at);
        run.phase = StepPhase::Succeeded;
    }
    Execution {
        arn: format!("{}/execution/{id}", pipeline.arn),
        id: id.clone(),
        pipeline_name: pipeline.name.clone(),
        pipeline_arn: pipeline.arn.clone(),
        display_name: format!("execution-{}", (start * 1000.0) as i64),
        description: None,
        status,
        failure_reason: failure,
        created: start,
        modified: at,
        version_id: version,
        parameters: plan.parameters.iter().map(|p| (p.name.clone(), p.default.clone().unwrap_or_default())).collect(),
        parallelism: None,
        selective: None,
        mlflow_experiment: None,
        experiment_name: pipeline.name.to_lowercase(),
        trial_name: id,
        stop_requested: status == ExecutionStatus::Stopped,
        created_by: None,
        modified_by: None,
        steps,
    }
}

fn is_job(t: &StepType) -> bool {
    matches!(t, StepType::Processing | StepType::Training | StepType::Transform | StepType::Tuning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_names_what_is_wrong_with_it() {
        let e = |t: &str| Seed::parse(t).unwrap_err().to_string();
        assert!(e(r#"{"pipelines": 20000}"#).contains("more than 10000"));
        assert!(e(r#"{"pipelines": 10, "executions": 1000000}"#).contains("more than 2000000"));
        assert!(e(r#"{"names": ["a b"]}"#).contains("'a b' is not a pipeline name"));
        assert!(e(r#"{"pipelines": 1, "failed": 0.9, "stopped": 0.2}"#).contains("add up to at most 1"));
        assert!(e(r#"{"pipelnes": 1}"#).contains("pipelnes"));
        let s = Seed::parse(r#"{"pipelines": 3, "executions": 2}"#).unwrap();
        assert_eq!(s.names(), vec!["SeededPipeline0001", "SeededPipeline0002", "SeededPipeline0003"]);
    }
}
