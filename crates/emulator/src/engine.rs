//! The execution engine: a pure state machine over one [`Execution`].
//!
//! [`advance`] looks at an execution at a moment `now`, applies every transition that is due (steps start
//! when their dependencies finish, jobs finish or fail, retries begin, condition outcomes pick a branch,
//! stop requests and callback answers take effect) and returns when it next needs to be looked at. It
//! never sleeps and never does I/O: the scheduler in `runtime.rs` calls it at the returned deadlines and
//! whenever a request changes the execution, and the tests call it with a hand-made clock.
//!
//! Times on the wire are real wall-clock times. A scenario's durations are simulated seconds; at speed N
//! a step of D simulated seconds takes D / N real seconds.

use serde_json::{json, Map, Value};
use stepline_definition::{
    evaluate, evaluate_conditions, join_string, lookup_path, parse_value, Definition, Graph, ParameterType,
    PathSegment, Scope, StepDef, StepType,
};

use crate::job_view::package_group;
use crate::jobs::{self, Account, JobContext};
use crate::scenario::StepScenario;
use crate::state::{CallbackAnswer, Epoch, Execution, ExecutionStatus, JobRun, JobStatus, StepPhase, StepRun};

/// The failure reason of an execution whose job step failed, as the service words it.
pub const STEP_FAILURE: &str = "Step failure: One or multiple steps failed.";
/// Simulated seconds a step spends in `Starting`, at most.
const STARTING_SECONDS: f64 = 2.0;
/// Simulated seconds a job takes to stop.
const STOPPING_SECONDS: f64 = 5.0;
/// How long a Lambda step may run when the definition does not say (the SDK's default).
const LAMBDA_TIMEOUT_SECONDS: f64 = 120.0;
/// Steps that run at once when neither the execution nor the pipeline sets MaxParallelExecutionSteps.
pub const DEFAULT_PARALLELISM: i64 = 50;

/// A successful run of a cached step, kept so later executions can reuse it.
#[derive(Clone, Debug)]
pub struct CachedRun {
    pub execution_arn: String,
    pub finished: Epoch,
    pub metadata: Option<Value>,
    pub properties: Value,
    pub property_files: Value,
}

/// What the engine needs from the rest of the emulator.
pub trait World {
    fn speed(&self) -> f64;
    fn account(&self) -> &Account;
    fn scenario(&self, pipeline: &str, step: &str) -> StepScenario;
    /// `len` random characters of `[a-z0-9]`.
    fn random_lower(&mut self, len: usize) -> String;
    /// A callback token: 10 random characters of `[a-zA-Z0-9]`.
    fn callback_token(&mut self) -> String;
    fn cached_run(&self, pipeline: &str, step: &str, key: &str, not_before: Epoch) -> Option<CachedRun>;
    fn remember_run(&mut self, pipeline: &str, step: &str, key: &str, run: CachedRun);
    /// The next version of a model package group (case-insensitive), from 1.
    fn next_package_version(&mut self, group: &str) -> u32;
}

/// The result of one call to [`advance`].
#[derive(Debug, PartialEq)]
pub struct Advanced {
    /// Something about the execution changed and must be written down.
    pub changed: bool,
    /// When the execution must be looked at again, if it is still running and waits on a timer.
    pub next: Option<Epoch>,
}

/// Apply every transition due at `now`.
pub fn advance(ex: &mut Execution, def: &Definition, graph: &Graph, world: &mut dyn World, now: Epoch) -> Advanced {
    let mut changed = false;
    if ex.status.is_terminal() {
        return Advanced { changed, next: None };
    }
    // Each pass applies what is due; a transition can make another due at the same instant (a step that
    // finishes lets its dependants start), so repeat until nothing moves.
    for _ in 0..(4 * def.steps.len() + 8) {
        let mut moved = false;
        if ex.stop_requested && ex.status == ExecutionStatus::Executing {
            ex.status = ExecutionStatus::Stopping;
            moved = true;
        }
        for i in 0..ex.steps.len() {
            moved |= step_transition(ex, def, i, world, now);
        }
        moved |= start_ready_steps(ex, def, graph, world, now);
        moved |= finish_if_done(ex, def, now);
        if !moved {
            break;
        }
        changed = true;
        ex.modified = now;
    }
    let next = if ex.status.is_terminal() { None } else { ex.steps.iter().filter_map(|s| s.deadline).reduce(f64::min) };
    Advanced { changed, next }
}

/// Real seconds for `sim` simulated seconds.
fn real(world: &dyn World, sim: f64) -> f64 {
    let speed = world.speed();
    if speed.is_finite() && speed > 0.0 {
        sim / speed
    } else {
        0.0
    }
}

fn step_def<'a>(def: &'a Definition, name: &str) -> Option<&'a StepDef> {
    def.steps.iter().find(|s| s.name == name)
}

/// Move one step along if something is due for it.
fn step_transition(ex: &mut Execution, def: &Definition, i: usize, world: &mut dyn World, now: Epoch) -> bool {
    let Some(sd) = def.steps.get(i) else { return false };
    let run = &ex.steps[i];
    if !run.phase.is_active() {
        return false;
    }

    // A callback answer takes effect at once, whatever the phase (a stop does not interrupt callbacks).
    if sd.step_type == StepType::Callback && run.callback_answer.is_some() {
        let answer = ex.steps[i].callback_answer.take();
        match answer {
            Some(CallbackAnswer::Success { outputs }) => {
                let typed = typed_outputs(sd, outputs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))));
                let run = &mut ex.steps[i];
                set_output_metadata(run, "Callback", &outputs);
                run.properties = json!({"OutputParameters": typed});
                finish(run, StepPhase::Succeeded, None, now);
            }
            Some(CallbackAnswer::Failure { reason }) => finish(&mut ex.steps[i], StepPhase::Failed, Some(reason), now),
            None => {}
        }
        return true;
    }

    // A stop request moves running jobs to Stopping; Lambda and Callback steps are not interrupted.
    if ex.stop_requested
        && matches!(run.phase, StepPhase::Starting | StepPhase::Executing)
        && !sd.step_type.is_control_flow()
    {
        let deadline = now + real(world, STOPPING_SECONDS);
        let run = &mut ex.steps[i];
        run.phase = StepPhase::Stopping;
        run.deadline = Some(deadline);
        run.dirty = true;
        // A retry still waiting out its interval never creates its job.
        if run.jobs.last().is_some_and(|j| j.created > now && j.started.is_none()) {
            run.jobs.pop();
        }
        if let Some(job) = run.current_job_mut().filter(|j| !j.status.is_done()) {
            job.status = JobStatus::Stopping;
            job.stopping = Some(now);
        }
        return true;
    }

    let Some(deadline) = run.deadline else { return false };
    if deadline > now {
        return false;
    }
    match run.phase {
        StepPhase::Stopping => {
            let run = &mut ex.steps[i];
            if let Some(job) = run.current_job_mut().filter(|j| !j.status.is_done()) {
                job.end(JobStatus::Stopped, deadline, None);
            }
            finish(run, StepPhase::Stopped, Some("Step was stopped.".into()), deadline);
            true
        }
        StepPhase::Starting => {
            begin_executing(ex, def, sd, i, world, deadline);
            true
        }
        StepPhase::Executing => {
            complete(ex, def, sd, i, world, deadline);
            true
        }
        _ => false,
    }
}

fn finish(run: &mut StepRun, phase: StepPhase, reason: Option<String>, at: Epoch) {
    run.phase = phase;
    run.end = Some(at);
    run.deadline = None;
    run.timeout_at = None;
    if phase == StepPhase::Succeeded {
        run.failure_reason = None;
    } else if reason.is_some() {
        // A step's FailureReason is at most 1,024 characters on the wire.
        run.failure_reason = reason.map(|r| truncate(&r, 1024));
    }
    run.dirty = true;
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// Start every pending step whose dependencies are met, up to the parallelism limit; mark steps that can
/// never run (branch not taken, or downstream of such a step) as skipped.
fn start_ready_steps(ex: &mut Execution, def: &Definition, graph: &Graph, world: &mut dyn World, now: Epoch) -> bool {
    // `ex.steps[i]` is the run of `def.steps[i]`: executions are created aligned with their definition.
    if ex.steps.len() != def.steps.len() {
        return false;
    }
    let mut moved = false;
    let order = graph.topo_order();
    // Skips propagate along the topological order in one sweep.
    for &d in &order {
        if ex.steps[d].phase != StepPhase::Pending {
            continue;
        }
        let upstream_skipped =
            graph.upstream(d).iter().any(|&u| ex.steps.get(u).is_some_and(|s| s.phase == StepPhase::Skipped));
        let branch_not_taken = def.steps[d].branch.as_ref().is_some_and(|b| {
            def.index_of(&b.condition)
                .and_then(|ci| ex.steps.get(ci))
                .is_some_and(|c| c.phase == StepPhase::Succeeded && condition_outcome(c) != Some(b.outcome))
        });
        if upstream_skipped || branch_not_taken {
            ex.steps[d].phase = StepPhase::Skipped;
            ex.steps[d].dirty = true;
            moved = true;
        }
    }

    let blocked = ex.stop_requested || ex.steps.iter().any(|s| s.phase == StepPhase::Failed);
    if blocked {
        return moved;
    }
    let limit = ex.parallelism.unwrap_or(DEFAULT_PARALLELISM).max(1) as usize;
    let mut active = ex.steps.iter().filter(|s| s.phase.is_active()).count();
    for &d in &order {
        if active >= limit {
            break;
        }
        if ex.steps[d].phase != StepPhase::Pending {
            continue;
        }
        let ready = graph.upstream(d).iter().all(|&u| ex.steps.get(u).is_some_and(|s| s.phase == StepPhase::Succeeded));
        if ready {
            let sd = &def.steps[d];
            let attempt = ex.steps[d].attempt + 1;
            start_attempt(ex, sd, d, world, now, attempt);
            active += 1;
            moved = true;
        }
    }
    moved
}

fn condition_outcome(run: &StepRun) -> Option<bool> {
    run.properties.get("Outcome").and_then(Value::as_bool)
}

/// Begin attempt `attempt` of a step: `Starting`, with its job named and its metadata in place.
fn start_attempt(ex: &mut Execution, sd: &StepDef, i: usize, world: &mut dyn World, now: Epoch, attempt: u32) {
    let scenario = world.scenario(&ex.pipeline_name, &sd.name);
    let duration = scenario.duration.unwrap_or_else(|| jobs::default_duration(&sd.step_type));
    let starting = STARTING_SECONDS.min(duration * 0.1).max(0.0);
    let deadline = now + real(world, starting);
    let run = &mut ex.steps[i];
    run.phase = StepPhase::Starting;
    if run.start.is_none() {
        run.start = Some(now);
    }
    run.end = None;
    run.attempt = attempt;
    run.deadline = Some(deadline);
    run.exception_type = None;
    run.dirty = true;
    if !sd.step_type.is_control_flow() {
        let name = jobs::job_name_for(&sd.step_type, &ex.id, &sd.name, &world.random_lower(10));
        let run = &mut ex.steps[i];
        // Each attempt is a job of its own; it exists from when the attempt begins.
        run.jobs.push(JobRun::new(&name, sd.step_type.as_str(), attempt, now));
        run.job_name = Some(name);
    }
}

/// The current attempt's job was never created after all (a cache hit, arguments that do not resolve).
fn discard_job(run: &mut StepRun) {
    if run.current_job_mut().is_some_and(|j| j.started.is_none()) {
        run.jobs.pop();
    }
}

/// The evaluated arguments of a step; an expression that cannot be resolved fails the step.
fn resolve_arguments(ex: &Execution, def: &Definition, sd: &StepDef, now: Epoch) -> Result<Value, String> {
    let scope = ExecutionScope {
        ex,
        def,
        now,
        current_job: ex.steps.iter().find(|s| s.name == sd.name).and_then(|s| s.job_name.clone()),
    };
    evaluate(&sd.arguments, &scope)
}

/// `Starting` → `Executing`: the step's work begins (or a cached result is found).
fn begin_executing(ex: &mut Execution, def: &Definition, sd: &StepDef, i: usize, world: &mut dyn World, at: Epoch) {
    let scenario = world.scenario(&ex.pipeline_name, &sd.name);
    let duration = scenario.duration.unwrap_or_else(|| jobs::default_duration(&sd.step_type)).max(0.0);
    let finish_at = ex.steps[i].start.unwrap_or(at).max(at) + real(world, duration);

    let args = match sd.step_type {
        // Conditions are evaluated when they finish; Fail steps resolve their message then.
        StepType::Condition | StepType::Fail => Value::Null,
        _ => match resolve_arguments(ex, def, sd, at) {
            Ok(v) => v,
            Err(e) => {
                let run = &mut ex.steps[i];
                run.phase = StepPhase::Executing;
                discard_job(run);
                finish(run, StepPhase::Failed, Some(format!("Failed to resolve the step's arguments: {e}")), at);
                return;
            }
        },
    };

    // Cache: a successful run of the same step with the same arguments within the window is reused.
    if let Some(cache) = sd.cache.as_ref().filter(|c| c.enabled) {
        let key = cache_key(&sd.step_type, &args);
        let window = cache.expire_after_seconds.map(|s| s as f64).unwrap_or(f64::INFINITY);
        if let Some(hit) = world.cached_run(&ex.pipeline_name, &sd.name, &key, at - window) {
            let run = &mut ex.steps[i];
            run.phase = StepPhase::Executing;
            discard_job(run);
            run.cache_source = Some(hit.execution_arn);
            run.metadata = hit.metadata;
            run.properties = hit.properties;
            run.property_files = hit.property_files;
            run.deadline = Some(at + real(world, 1.0));
            run.dirty = true;
            return;
        }
    }

    let account = world.account().clone();
    let run = &mut ex.steps[i];
    run.phase = StepPhase::Executing;
    run.dirty = true;
    match sd.step_type {
        StepType::Lambda => {
            run.metadata = Some(json!({"Lambda": {"Arn": sd.function_arn.clone().unwrap_or_default()}}));
            let timeout = sd.timeout_seconds.map(|t| t as f64).unwrap_or(LAMBDA_TIMEOUT_SECONDS);
            let timeout_at = run.start.unwrap_or(at) + real(world, timeout);
            run.timeout_at = Some(timeout_at);
            run.deadline = Some(finish_at.min(timeout_at));
            run.properties = args;
        }
        StepType::Callback => {
            let token = world.callback_token();
            let run = &mut ex.steps[i];
            run.metadata = Some(
                json!({"Callback": {"CallbackToken": token, "SqsQueueUrl": sd.sqs_queue_url.clone().unwrap_or_default()}}),
            );
            run.callback_token = Some(token);
            // Without a scenario answer the step waits for SendPipelineExecutionStepSuccess/Failure.
            run.deadline = scenario.callback.as_ref().map(|c| run.start.unwrap_or(at) + real(world, c.after.max(0.0)));
            run.properties = args;
        }
        StepType::Condition | StepType::Fail => {
            run.deadline = Some(finish_at);
        }
        _ => {
            let job_name = run.job_name.clone().unwrap_or_default();
            let version =
                (sd.step_type == StepType::RegisterModel).then(|| world.next_package_version(&package_group(&args)));
            let ctx = JobContext {
                account: &account,
                step_type: &sd.step_type,
                step_name: &sd.name,
                arguments: &args,
                job_name: &job_name,
                execution_id: &ex.id,
                metrics: &scenario.metrics,
                package_version: version.unwrap_or(1),
            };
            let props = jobs::properties(&ctx, "InProgress");
            let run = &mut ex.steps[i];
            run.metadata = jobs::metadata(&ctx, &props);
            run.properties = props;
            run.deadline = Some(finish_at);
            // The job's instances are up and its work (and its log) begins; what the scenario asks of it is
            // kept with it, so a later scenario does not rewrite its history.
            if let Some(job) = run.current_job_mut() {
                job.started = Some(at);
                job.due = Some(finish_at);
                job.arguments = args;
                job.log_lines = scenario.log_lines;
                job.metrics = scenario.metrics.clone();
                job.package_version = version;
            }
        }
    }
}

/// The deadline of an `Executing` step has come: it finishes, fails, retries or times out.
fn complete(ex: &mut Execution, def: &Definition, sd: &StepDef, i: usize, world: &mut dyn World, at: Epoch) {
    // A cached result simply completes.
    if ex.steps[i].cache_source.is_some() {
        finish(&mut ex.steps[i], StepPhase::Succeeded, None, at);
        return;
    }
    let scenario = world.scenario(&ex.pipeline_name, &sd.name);
    match sd.step_type {
        StepType::Condition => {
            let scope = ExecutionScope { ex, def, now: at, current_job: None };
            let result = evaluate_conditions(&sd.conditions, &scope);
            let run = &mut ex.steps[i];
            match result {
                Ok(outcome) => {
                    run.metadata = Some(json!({"Condition": {"Outcome": if outcome { "True" } else { "False" }}}));
                    run.properties = json!({"Outcome": outcome});
                    finish(run, StepPhase::Succeeded, None, at);
                }
                Err(e) => finish(run, StepPhase::Failed, Some(format!("Condition could not be evaluated: {e}")), at),
            }
        }
        StepType::Fail => {
            let scope = ExecutionScope { ex, def, now: at, current_job: None };
            let message = match sd.arguments.get("ErrorMessage") {
                Some(m) => evaluate(m, &scope)
                    .map(|v| join_string(&v))
                    .unwrap_or_else(|e| format!("Fail step message could not be resolved: {e}")),
                None => String::new(),
            };
            let run = &mut ex.steps[i];
            run.metadata = Some(json!({"Fail": {"ErrorMessage": truncate(&message, 3072)}}));
            finish(run, StepPhase::Failed, Some(message), at);
        }
        StepType::Lambda => {
            // The deadline was the earlier of the function's end and its timeout.
            let run = &ex.steps[i];
            let natural_end = run.start.unwrap_or(at)
                + real(world, scenario.duration.unwrap_or_else(|| jobs::default_duration(&StepType::Lambda)));
            if run.timeout_at.is_some_and(|t| t < natural_end) {
                let run = &mut ex.steps[i];
                run.exception_type = Some("Lambda.TIMEOUT".into());
                finish(
                    run,
                    StepPhase::Failed,
                    Some("Lambda function timed out before returning a response.".into()),
                    at,
                );
                return;
            }
            if let Some(fail) = scenario.fails_on(ex.steps[i].attempt) {
                let reason = fail.reason.clone();
                finish(&mut ex.steps[i], StepPhase::Failed, Some(reason), at);
                return;
            }
            let outputs: Vec<(String, Value)> = sd
                .output_parameters
                .iter()
                .map(|o| {
                    let v =
                        scenario.outputs.get(&o.output_name).cloned().unwrap_or_else(|| default_output(o.output_type));
                    (o.output_name.clone(), v)
                })
                .collect();
            let typed = typed_outputs(sd, outputs.clone().into_iter());
            let strings: Vec<(String, String)> = outputs.iter().map(|(k, v)| (k.clone(), join_string(v))).collect();
            let run = &mut ex.steps[i];
            set_output_metadata(run, "Lambda", &strings);
            run.properties = json!({"OutputParameters": typed});
            finish(run, StepPhase::Succeeded, None, at);
        }
        StepType::Callback => {
            // Only an automatic (scenario) answer has a deadline.
            let answer = match scenario.callback {
                Some(cb) => match cb.failure {
                    Some(reason) => CallbackAnswer::Failure { reason },
                    None => CallbackAnswer::Success {
                        outputs: sd
                            .output_parameters
                            .iter()
                            .map(|o| {
                                let v = cb
                                    .outputs
                                    .get(&o.output_name)
                                    .cloned()
                                    .unwrap_or_else(|| default_output(o.output_type));
                                (o.output_name.clone(), join_string(&v))
                            })
                            .collect(),
                    },
                },
                None => return,
            };
            let run = &mut ex.steps[i];
            run.callback_answer = Some(answer);
            run.deadline = None;
            run.dirty = true;
            // Applied by step_transition on the next pass.
        }
        _ => complete_job(ex, def, sd, i, world, at, &scenario),
    }
}

fn complete_job(
    ex: &mut Execution,
    def: &Definition,
    sd: &StepDef,
    i: usize,
    world: &mut dyn World,
    at: Epoch,
    scenario: &StepScenario,
) {
    let attempt = ex.steps[i].attempt.max(1);
    if let Some(fail) = scenario.fails_on(attempt) {
        let first_start = ex.steps[i].start.unwrap_or(at);
        // A matching retry policy with attempts (or time) left starts the next attempt after its interval.
        let retry = sd.retry_policies.iter().find(|p| p.exception_types.iter().any(|t| t == &fail.exception));
        let retry_delay = retry.and_then(|p| {
            let retries_so_far = attempt - 1;
            let allowed = match (p.effective_max_attempts(), p.expire_after_min) {
                (Some(max), _) => retries_so_far < max,
                (None, Some(min)) => at - first_start < real(world, f64::from(min) * 60.0),
                (None, None) => false,
            };
            allowed.then(|| p.interval_seconds.max(0.0) * p.backoff_rate.max(1.0).powi(retries_so_far as i32))
        });
        let reason = truncate(&fail.reason, 3072);
        let exception = fail.exception.clone();
        match retry_delay {
            Some(delay) => {
                // The failed attempt's job is finished; the next attempt starts after the interval, the step
                // staying Executing with AttemptCount moving on, as the service reports it.
                if let Some(job) = ex.steps[i].current_job_mut() {
                    job.end(JobStatus::Failed, at, Some(reason.clone()));
                }
                let next_start = at + real(world, delay);
                start_attempt(ex, sd, i, world, next_start, attempt + 1);
                // The step shows Starting (of its next attempt) until the interval ends.
                let run = &mut ex.steps[i];
                run.exception_type = Some(exception);
                run.failure_reason = Some(reason);
                run.deadline = Some(next_start);
            }
            None => {
                let run = &mut ex.steps[i];
                run.exception_type = Some(exception);
                if let Some(job) = run.current_job_mut() {
                    job.end(JobStatus::Failed, at, Some(reason.clone()));
                }
                if let Some(props) = run.properties.as_object_mut() {
                    for (k, v) in props.iter_mut() {
                        if k.ends_with("JobStatus") {
                            *v = json!("Failed");
                        }
                    }
                }
                finish(run, StepPhase::Failed, Some(reason), at);
            }
        }
        return;
    }

    let run = &mut ex.steps[i];
    if let Some(job) = run.current_job_mut() {
        job.end(JobStatus::Completed, at, None);
    }
    if let Some(props) = run.properties.as_object_mut() {
        for (k, v) in props.iter_mut() {
            if k.ends_with("JobStatus") {
                *v = json!("Completed");
            }
        }
    }
    if !sd.property_files.is_empty() {
        run.property_files = property_files(def, sd, scenario);
    }
    finish(run, StepPhase::Succeeded, None, at);
    if sd.cache.as_ref().is_some_and(|c| c.enabled) {
        // The cache key is over the arguments as this run resolved them.
        let args = ex.steps[i].properties.clone();
        let key = cache_key(&sd.step_type, &strip_generated(&sd.step_type, &args));
        let run = &ex.steps[i];
        let entry = CachedRun {
            execution_arn: ex.arn.clone(),
            finished: at,
            metadata: run.metadata.clone(),
            properties: run.properties.clone(),
            property_files: run.property_files.clone(),
        };
        world.remember_run(&ex.pipeline_name, &sd.name, &key, entry);
    }
}

/// The properties of a job minus what the simulation added, i.e. its resolved arguments.
fn strip_generated(step_type: &StepType, props: &Value) -> Value {
    let mut m = props.as_object().cloned().unwrap_or_default();
    let generated: &[&str] = match step_type {
        StepType::Training => {
            &["TrainingJobName", "TrainingJobArn", "TrainingJobStatus", "ModelArtifacts", "FinalMetricDataList"]
        }
        StepType::Processing => &["ProcessingJobName", "ProcessingJobArn", "ProcessingJobStatus"],
        StepType::Transform => &["TransformJobName", "TransformJobArn", "TransformJobStatus"],
        StepType::Tuning => &[
            "HyperParameterTuningJobName",
            "HyperParameterTuningJobArn",
            "HyperParameterTuningJobStatus",
            "BestTrainingJob",
        ],
        StepType::AutoMl => &["AutoMLJobName", "AutoMLJobArn", "BestCandidate"],
        StepType::Model => &["ModelName", "ModelArn"],
        StepType::RegisterModel => &["ModelPackageArn", "ModelPackageStatus"],
        StepType::EndpointConfig => &["EndpointConfigArn"],
        StepType::Endpoint => &["EndpointArn", "EndpointStatus"],
        StepType::QualityCheck | StepType::ClarifyCheck => {
            &["CalculatedBaselineConstraints", "CalculatedBaselineStatistics"]
        }
        StepType::Emr => &["ClusterId", "StepId"],
        _ => &[],
    };
    for k in generated {
        m.remove(*k);
    }
    Value::Object(m)
}

/// A stable fingerprint of a step's type and resolved arguments (object keys sorted).
pub fn cache_key(step_type: &StepType, args: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(&m[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for x in a {
                    canonical(x, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut s = String::from(step_type.as_str());
    s.push('|');
    canonical(args, &mut s);
    s
}

/// Output parameter values typed by their declared OutputType (`Steps.X.OutputParameters['n']`).
fn typed_outputs(sd: &StepDef, outputs: impl Iterator<Item = (String, Value)>) -> Value {
    let mut m = Map::new();
    for (name, v) in outputs {
        let declared = sd.output_parameters.iter().find(|o| o.output_name == name).map(|o| o.output_type);
        let s = join_string(&v);
        let typed = match declared {
            // A value that does not read as its declared type is kept as it was sent.
            Some(ty) => parse_value(ty, s.trim()).map(|t| t.to_json()).unwrap_or(v),
            None => Value::String(s),
        };
        m.insert(name, typed);
    }
    Value::Object(m)
}

fn set_output_metadata(run: &mut StepRun, member: &str, outputs: &[(String, String)]) {
    let list: Vec<Value> = outputs.iter().map(|(k, v)| json!({"Name": k, "Value": truncate(v, 1024)})).collect();
    let mut meta = run.metadata.take().unwrap_or_else(|| json!({ member: {} }));
    if let Some(inner) = meta.get_mut(member).and_then(Value::as_object_mut) {
        inner.insert("OutputParameters".into(), Value::Array(list));
    }
    run.metadata = Some(meta);
}

fn default_output(output_type: ParameterType) -> Value {
    match output_type {
        ParameterType::Float => json!(0.87),
        ParameterType::Integer => json!(1),
        ParameterType::Boolean => json!(true),
        ParameterType::String => json!("ok"),
    }
}

/// Property files of a Processing step: the scenario's, else a document that answers every `Std:JsonGet`
/// path the definition reads from it with a plausible metric (4.6, an abalone-like mean squared error).
fn property_files(def: &Definition, sd: &StepDef, scenario: &StepScenario) -> Value {
    let mut files = Map::new();
    for pf in &sd.property_files {
        if let Some(doc) = scenario.property_files.get(&pf.property_file_name) {
            files.insert(pf.property_file_name.clone(), doc.clone());
            continue;
        }
        let mut doc = json!({});
        for other in &def.steps {
            for path in json_get_paths(&other.raw, &sd.name, &pf.property_file_name) {
                set_path(&mut doc, &path, json!(4.6));
            }
        }
        files.insert(pf.property_file_name.clone(), doc);
    }
    Value::Object(files)
}

/// Every `Path` of a `Std:JsonGet` on `Steps.<step>.PropertyFiles.<file>` inside `v`.
fn json_get_paths(v: &Value, step: &str, file: &str) -> Vec<String> {
    let mut out = vec![];
    let target = format!("Steps.{step}.PropertyFiles.{file}");
    fn walk(v: &Value, target: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(jg) = m.get("Std:JsonGet") {
                    let pf = jg.get("PropertyFile").and_then(|p| p.get("Get").and_then(Value::as_str).or(p.as_str()));
                    if pf == Some(target) {
                        if let Some(p) = jg.get("Path").and_then(Value::as_str) {
                            out.push(p.to_string());
                        }
                    }
                }
                m.values().for_each(|x| walk(x, target, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, target, out)),
            _ => {}
        }
    }
    walk(v, &target, &mut out);
    out
}

/// Write `value` at a JsonGet path such as `regression_metrics.mse.value` or `a.b[0].c`.
fn set_path(doc: &mut Value, path: &str, value: Value) {
    let mut cur = doc;
    let mut parts: Vec<(String, Option<usize>)> = vec![];
    for seg in path.split('.') {
        let (key, idx) = match seg.split_once('[') {
            Some((k, rest)) => (k.to_string(), rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg.to_string(), None),
        };
        parts.push((key, idx));
    }
    let n = parts.len();
    for (pos, (key, idx)) in parts.into_iter().enumerate() {
        let last = pos + 1 == n;
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(obj) = cur.as_object_mut() else { return };
        let slot = obj.entry(key).or_insert(Value::Null);
        cur = match idx {
            Some(i) if i <= 64 => {
                if !slot.is_array() {
                    *slot = json!([]);
                }
                let Some(arr) = slot.as_array_mut() else { return };
                while arr.len() <= i {
                    arr.push(Value::Null);
                }
                &mut arr[i]
            }
            _ => slot,
        };
        if last {
            *cur = value.clone();
            return;
        }
    }
}

/// Decide the execution's end once nothing runs and nothing more can start.
fn finish_if_done(ex: &mut Execution, def: &Definition, now: Epoch) -> bool {
    if ex.status.is_terminal() || ex.steps.iter().any(|s| s.phase.is_active()) {
        return false;
    }
    let any_failed = ex.steps.iter().any(|s| s.phase == StepPhase::Failed);
    let can_start_more = !ex.stop_requested && !any_failed && ex.steps.iter().any(|s| s.phase == StepPhase::Pending);
    if can_start_more {
        // Pending steps whose dependencies can still be met are started by start_ready_steps; pending steps
        // left here wait on nothing that will ever finish, which cannot happen in an acyclic definition.
        return false;
    }
    let lambda_timed_out =
        ex.steps.iter().any(|s| s.exception_type.as_deref() == Some("Lambda.TIMEOUT") && s.phase == StepPhase::Failed);
    let (status, reason) = if ex.stop_requested && !lambda_timed_out {
        (ExecutionStatus::Stopped, None)
    } else if any_failed {
        // A Fail step's message is the reason; any other failed step gives the service's generic reason.
        let fail_message = ex.steps.iter().find_map(|s| {
            let is_fail = step_def(def, &s.name).is_some_and(|d| d.step_type == StepType::Fail);
            (is_fail && s.phase == StepPhase::Failed).then(|| s.failure_reason.clone().unwrap_or_default())
        });
        (ExecutionStatus::Failed, Some(fail_message.unwrap_or_else(|| STEP_FAILURE.to_string())))
    } else {
        (ExecutionStatus::Succeeded, None)
    };
    ex.status = status;
    ex.failure_reason = reason.map(|r| truncate(&r, 1300));
    ex.modified = now;
    true
}

/// Expression values as an execution sees them.
pub struct ExecutionScope<'a> {
    pub ex: &'a Execution,
    pub def: &'a Definition,
    pub now: Epoch,
    pub current_job: Option<String>,
}

pub fn iso8601(t: Epoch) -> String {
    let ms = (t * 1000.0).round() as i64;
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl Scope for ExecutionScope<'_> {
    fn parameter(&self, name: &str) -> Option<Value> {
        let raw = self.ex.parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())?;
        let pd = self.def.parameters.iter().find(|p| p.name == name)?;
        stepline_definition::parse_value(pd.ty, raw).ok().map(|v| v.to_json())
    }

    fn execution_var(&self, var: &str) -> Option<Value> {
        Some(match var {
            "StartDateTime" => json!(iso8601(self.ex.created)),
            "CurrentDateTime" => json!(iso8601(self.now)),
            "PipelineName" => json!(self.ex.pipeline_name),
            "PipelineArn" => json!(self.ex.pipeline_arn),
            "PipelineExecutionId" => json!(self.ex.id),
            "PipelineExecutionArn" => json!(self.ex.arn),
            "TrainingJobName" | "ProcessingJobName" => json!(self.current_job.clone().unwrap_or_default()),
            _ => return None,
        })
    }

    fn step_property(&self, step: &str, path: &[PathSegment]) -> Option<Value> {
        let run = self.ex.steps.iter().find(|s| s.name == step)?;
        if run.phase != StepPhase::Succeeded {
            return None;
        }
        lookup_path(&run.properties, path)
    }

    fn property_file(&self, step: &str, file: &str) -> Option<Value> {
        let run = self.ex.steps.iter().find(|s| s.name == step)?;
        run.property_files.get(file).cloned()
    }
}
