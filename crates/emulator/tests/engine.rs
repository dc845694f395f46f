//! The engine's semantics, driven with a hand-made clock: no server, no sleeps.

use std::collections::HashMap;

use serde_json::Value;
use stepline_definition::{parse, Definition, Graph};
use stepline_emulator::engine::{advance, CachedRun, World, STEP_FAILURE};
use stepline_emulator::jobs::Account;
use stepline_emulator::scenario::{Scenario, StepScenario};
use stepline_emulator::state::{CallbackAnswer, Execution, ExecutionStatus, JobStatus, StepPhase, StepRun};

const ABALONE: &str = include_str!("../../../definitions/abalone.json");
const CONTROL_FLOW: &str = include_str!("../../../definitions/control-flow.json");

struct TestWorld {
    scenario: Scenario,
    account: Account,
    cache: HashMap<(String, String, String), Vec<CachedRun>>,
    counter: u64,
    packages: HashMap<String, u32>,
}

impl TestWorld {
    fn new(scenario: &str) -> TestWorld {
        TestWorld {
            scenario: Scenario::parse(scenario).unwrap(),
            account: Account::default(),
            cache: HashMap::new(),
            counter: 0,
            packages: HashMap::new(),
        }
    }
}

impl World for TestWorld {
    fn speed(&self) -> f64 {
        1.0
    }
    fn account(&self) -> &Account {
        &self.account
    }
    fn scenario(&self, pipeline: &str, step: &str) -> StepScenario {
        self.scenario.step(pipeline, step)
    }
    fn random_lower(&mut self, len: usize) -> String {
        self.counter += 1;
        format!("{:0>width$}", self.counter, width = len)
    }
    fn callback_token(&mut self) -> String {
        self.counter += 1;
        format!("Tok{:0>7}", self.counter)
    }
    fn cached_run(&self, pipeline: &str, step: &str, key: &str, not_before: f64) -> Option<CachedRun> {
        self.cache
            .get(&(pipeline.to_lowercase(), step.into(), key.into()))
            .and_then(|r| r.iter().rev().find(|c| c.finished >= not_before).cloned())
    }
    fn remember_run(&mut self, pipeline: &str, step: &str, key: &str, run: CachedRun) {
        self.cache.entry((pipeline.to_lowercase(), step.into(), key.into())).or_default().push(run);
    }
    fn next_package_version(&mut self, group: &str) -> u32 {
        let top = self.packages.entry(group.to_lowercase()).or_insert(0);
        *top += 1;
        *top
    }
}

fn execution(def: &Definition, id: &str, overrides: &[(&str, &str)]) -> Execution {
    let overrides: Vec<(String, String)> = overrides.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let params = stepline_definition::resolve_parameters(&def.parameters, &overrides).unwrap();
    Execution {
        arn: format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/P/execution/{id}"),
        id: id.into(),
        pipeline_name: "P".into(),
        pipeline_arn: "arn:aws:sagemaker:us-east-1:123456789012:pipeline/P".into(),
        display_name: "e".into(),
        description: None,
        status: ExecutionStatus::Executing,
        failure_reason: None,
        created: 1000.0,
        modified: 1000.0,
        version_id: 1,
        parameters: params.into_iter().map(|p| (p.name, p.value)).collect(),
        parallelism: None,
        selective: None,
        mlflow_experiment: None,
        experiment_name: "p".into(),
        trial_name: id.into(),
        stop_requested: false,
        created_by: None,
        modified_by: None,
        steps: def.steps.iter().map(|s| StepRun::new(&s.name)).collect(),
    }
}

/// Run the engine from `t` until it has nothing scheduled or `until` is reached; returns the final time.
fn run(ex: &mut Execution, def: &Definition, g: &Graph, w: &mut TestWorld, mut t: f64, until: f64) -> f64 {
    loop {
        let out = advance(ex, def, g, w, t);
        match out.next {
            Some(n) if n <= until => t = n.max(t),
            _ => return t,
        }
    }
}

fn step<'a>(ex: &'a Execution, name: &str) -> &'a StepRun {
    ex.steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no step {name}"))
}

fn abalone() -> (Definition, Graph) {
    let d = parse(ABALONE).unwrap();
    let g = Graph::new(&d);
    (d, g)
}

#[test]
fn abalone_succeeds_through_the_register_branch() {
    let (d, g) = abalone();
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaaa1", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Succeeded, "{:?}", ex.failure_reason);
    assert_eq!(step(&ex, "AbaloneMSECond").metadata.as_ref().unwrap()["Condition"]["Outcome"], "True");
    assert_eq!(step(&ex, "AbaloneMSEFail").phase, StepPhase::Skipped);
    assert_eq!(step(&ex, "AbaloneTransform").phase, StepPhase::Succeeded);
    // Steps run in dependency order: training starts only after processing ended.
    assert!(step(&ex, "AbaloneTrain").start.unwrap() >= step(&ex, "AbaloneProcess").end.unwrap());
    let train = step(&ex, "AbaloneTrain");
    let arn = train.metadata.as_ref().unwrap()["TrainingJob"]["Arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-aaaaaaaaaaa1-abalonetrain-"),
        "{arn}"
    );
    // The evaluation step read the training step's model artifacts through a Get expression.
    let eval_args = step(&ex, "AbaloneEval").properties.to_string();
    assert!(eval_args.contains("/output/model.tar.gz"), "{eval_args}");
}

#[test]
fn a_low_mse_threshold_takes_the_fail_branch_with_its_message() {
    let (d, g) = abalone();
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaaa2", &[("MseThreshold", "3.0")]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Failed);
    let fail = step(&ex, "AbaloneMSEFail");
    assert_eq!(fail.phase, StepPhase::Failed);
    let message = fail.metadata.as_ref().unwrap()["Fail"]["ErrorMessage"].as_str().unwrap().to_string();
    assert_eq!(message, "Execution failed due to MSE > 3.0", "Std:Join of the message with the parameter");
    assert_eq!(ex.failure_reason.as_deref(), Some(message.as_str()));
    assert_eq!(step(&ex, "AbaloneTransform").phase, StepPhase::Skipped);
}

#[test]
fn a_job_fails_after_its_retries_and_reports_the_attempts() {
    let (d, g) = abalone();
    // AbaloneTrain retries on CAPACITY_ERROR (see its RetryPolicies); it fails on every attempt here.
    let mut w = TestWorld::new(
        r#"{"pipelines": {"*": {"steps": {"AbaloneTrain": {"fail": {"reason": "CapacityError: no ml.m5.xlarge", "exception": "SageMaker.CAPACITY_ERROR"}}}}}}"#,
    );
    let mut ex = execution(&d, "aaaaaaaaaaa3", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Failed);
    assert_eq!(ex.failure_reason.as_deref(), Some(STEP_FAILURE));
    let train = step(&ex, "AbaloneTrain");
    // AbaloneTrain retries CAPACITY_ERROR for ExpireAfterMin = 120 minutes, every 60 s doubling: attempts of
    // 600 s fail at 600, 1260, 1980, 2820, 3900, 5460 (retried: under 7200 s) and 7980 (not retried).
    assert_eq!(train.attempt, 7);
    assert!(train.end.unwrap() - train.start.unwrap() >= 7200.0);
    assert_eq!(train.failure_reason.as_deref(), Some("CapacityError: no ml.m5.xlarge"));
    assert_eq!(step(&ex, "AbaloneEval").phase, StepPhase::Pending, "nothing starts after a failure");
}

#[test]
fn a_transient_failure_is_retried_to_success() {
    let (d, g) = abalone();
    let mut w = TestWorld::new(
        r#"{"pipelines": {"*": {"steps": {"AbaloneTrain": {"fail": {"attempts": 1, "reason": "x", "exception": "SageMaker.CAPACITY_ERROR"}}}}}}"#,
    );
    let mut ex = execution(&d, "aaaaaaaaaaa4", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Succeeded);
    assert_eq!(step(&ex, "AbaloneTrain").attempt, 2);
}

#[test]
fn every_attempt_is_a_job_of_its_own_with_its_times_and_outcome() {
    let (d, g) = abalone();
    let mut w = TestWorld::new(
        r#"{"pipelines": {"*": {"steps": {"AbaloneTrain": {"fail": {"attempts": 1, "reason": "CapacityError: none left", "exception": "SageMaker.CAPACITY_ERROR"},
                                                         "log_lines": 5000, "metrics": {"validation:rmse": 1.7}},
                                         "AbaloneRegisterModel-RegisterModel": {"duration": 5}}}}}"#,
    );
    let mut ex = execution(&d, "aaaaaaaaaaa6", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Succeeded);
    let train = step(&ex, "AbaloneTrain");
    assert_eq!(train.jobs.len(), 2, "a failed attempt and the one that succeeded");
    let (first, second) = (&train.jobs[0], &train.jobs[1]);
    assert_ne!(first.name, second.name);
    assert_eq!(train.job_name.as_deref(), Some(second.name.as_str()));
    assert_eq!((first.status, first.attempt), (JobStatus::Failed, 1));
    assert_eq!(first.failure_reason.as_deref(), Some("CapacityError: none left"));
    assert_eq!((second.status, second.attempt), (JobStatus::Completed, 2));
    assert!(first.created < first.started.unwrap() && first.ended.unwrap() <= second.created);
    assert_eq!(second.ended, second.due, "a job runs for the scenario's duration");
    assert_eq!(second.arguments["HyperParameters"]["max_depth"], "5", "the arguments as resolved");
    assert_eq!((second.log_lines, second.metrics["validation:rmse"]), (Some(5000), 1.7));
    // The training step's properties report the scenario's metric.
    assert_eq!(
        train.properties["FinalMetricDataList"][0],
        serde_json::json!({"MetricName": "validation:rmse", "Value": 1.7})
    );
    // RegisterModel registers a version of its group.
    let register = step(&ex, "AbaloneRegisterModel-RegisterModel");
    assert_eq!(register.jobs[0].package_version, Some(1));
    assert!(register.metadata.as_ref().unwrap()["RegisterModel"]["Arn"]
        .as_str()
        .unwrap()
        .ends_with(":model-package/abalonemodelpackagegroupname/1"));
    // Control-flow steps create no job.
    assert!(step(&ex, "AbaloneMSECond").jobs.is_empty());
}

#[test]
fn a_stopped_job_records_when_it_was_asked_to_stop() {
    let (d, g) = abalone();
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaaa7", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1100.0);
    ex.stop_requested = true;
    run(&mut ex, &d, &g, &mut w, 1100.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Stopped);
    let job = &step(&ex, "AbaloneProcess").jobs[0];
    assert_eq!((job.status, job.stopping), (JobStatus::Stopped, Some(1100.0)));
    assert!(job.ended.unwrap() > 1100.0 && job.ended.unwrap() < job.due.unwrap());
}

#[test]
fn a_failure_without_a_matching_policy_is_final() {
    let (d, g) = abalone();
    let mut w = TestWorld::new(
        r#"{"pipelines": {"*": {"steps": {"AbaloneTrain": {"fail": {"attempts": 1, "reason": "bad input", "exception": "Step.SOMETHING_ELSE"}}}}}}"#,
    );
    let mut ex = execution(&d, "aaaaaaaaaaa5", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Failed);
    assert_eq!(step(&ex, "AbaloneTrain").attempt, 1);
}

#[test]
fn abalone_never_hits_the_cache_because_its_outputs_name_the_execution() {
    let (d, g) = abalone();
    let mut w = TestWorld::new("{}");
    let mut first = execution(&d, "aaaaaaaaaab7", &[]);
    let end = run(&mut first, &d, &g, &mut w, 1000.0, 1e9);
    let mut second = execution(&d, "aaaaaaaaaab8", &[]);
    run(&mut second, &d, &g, &mut w, end + 10.0, 1e9);
    assert!(second.steps.iter().all(|s| s.cache_source.is_none()));
}

const CACHED: &str = r#"{"Version": "2020-12-01",
  "Parameters": [{"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"}],
  "Steps": [
    {"Name": "Prep", "Type": "Processing", "CacheConfig": {"Enabled": true, "ExpireAfter": "PT1H"},
     "Arguments": {"ProcessingResources": {"ClusterConfig": {"InstanceType": {"Get": "Parameters.InstanceType"}}}}},
    {"Name": "Train", "Type": "Training", "CacheConfig": {"Enabled": true, "ExpireAfter": "PT1H"},
     "Arguments": {"In": {"Get": "Steps.Prep.ProcessingResources.ClusterConfig.InstanceType"},
                   "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"}}}]}"#;

#[test]
fn a_second_run_with_the_same_arguments_hits_the_cache() {
    let d = parse(CACHED).unwrap();
    let g = Graph::new(&d);
    let mut w = TestWorld::new("{}");
    let mut first = execution(&d, "aaaaaaaaaab1", &[]);
    let end = run(&mut first, &d, &g, &mut w, 1000.0, 1e9);
    let mut second = execution(&d, "aaaaaaaaaab2", &[]);
    run(&mut second, &d, &g, &mut w, end + 10.0, 1e9);
    assert_eq!(second.status, ExecutionStatus::Succeeded);
    let cached: Vec<&StepRun> = second.steps.iter().filter(|s| s.cache_source.is_some()).collect();
    assert_eq!(cached.len(), 2, "both steps were reused");
    for s in &cached {
        assert_eq!(s.cache_source.as_deref(), Some(first.arn.as_str()));
        assert_eq!(s.metadata, step(&first, &s.name).metadata, "metadata points at the original job");
    }
    // A change of the arguments (another instance type) misses.
    let mut third = execution(&d, "aaaaaaaaaab3", &[("InstanceType", "ml.m5.2xlarge")]);
    run(&mut third, &d, &g, &mut w, end + 20.0, 1e9);
    assert!(step(&third, "Prep").cache_source.is_none());
    assert!(step(&third, "Train").cache_source.is_none());
    // Past the ExpireAfter window (one hour) the first run is no longer reused.
    let mut late = execution(&d, "aaaaaaaaaab4", &[]);
    run(&mut late, &d, &g, &mut w, end + 3.0 * 3600.0, 1e12);
    assert!(step(&late, "Prep").cache_source.is_none());
}

#[test]
fn parallelism_limits_steps_running_at_once() {
    let text = r#"{"Version": "2020-12-01", "Steps": [
        {"Name": "A", "Type": "Processing", "Arguments": {}}, {"Name": "B", "Type": "Processing", "Arguments": {}},
        {"Name": "C", "Type": "Processing", "Arguments": {}}]}"#;
    let d = parse(text).unwrap();
    let g = Graph::new(&d);
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaac1", &[]);
    ex.parallelism = Some(2);
    advance(&mut ex, &d, &g, &mut w, 1000.0);
    let active = ex.steps.iter().filter(|s| s.phase.is_active()).count();
    assert_eq!(active, 2);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Succeeded);
    let starts: Vec<f64> = ex.steps.iter().map(|s| s.start.unwrap()).collect();
    assert!(starts[2] >= ex.steps[0].end.unwrap().min(ex.steps[1].end.unwrap()));
}

fn control_flow() -> (Definition, Graph) {
    let d = parse(CONTROL_FLOW).unwrap();
    let g = Graph::new(&d);
    (d, g)
}

#[test]
fn callback_waits_for_its_answer_then_conditions_read_the_outputs() {
    let (d, g) = control_flow();
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaad1", &[]);
    let t = run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Executing, "waiting on the callback");
    let cb = step(&ex, "ManualApproval");
    assert_eq!(cb.phase, StepPhase::Executing);
    let token = cb.callback_token.clone().unwrap();
    assert_eq!(token.len(), 10);
    assert_eq!(cb.metadata.as_ref().unwrap()["Callback"]["CallbackToken"], token.as_str());
    assert_eq!(step(&ex, "ScoreBatch").metadata.as_ref().unwrap()["Lambda"]["OutputParameters"][0]["Name"], "score");
    // Approve.
    let idx = ex.steps.iter().position(|s| s.name == "ManualApproval").unwrap();
    ex.steps[idx].callback_answer = Some(CallbackAnswer::Success { outputs: vec![("approved".into(), "true".into())] });
    run(&mut ex, &d, &g, &mut w, t + 1.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Succeeded, "{:?}", ex.failure_reason);
    assert_eq!(step(&ex, "CheckApproval").metadata.as_ref().unwrap()["Condition"]["Outcome"], "True");
    assert_eq!(step(&ex, "RejectRun").phase, StepPhase::Skipped);
}

#[test]
fn a_rejected_approval_fails_with_the_joined_message() {
    let (d, g) = control_flow();
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaad2", &[("Threshold", "0.95")]);
    let t = run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    let idx = ex.steps.iter().position(|s| s.name == "ManualApproval").unwrap();
    ex.steps[idx].callback_answer =
        Some(CallbackAnswer::Success { outputs: vec![("approved".into(), "false".into())] });
    run(&mut ex, &d, &g, &mut w, t + 1.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Failed);
    assert_eq!(ex.failure_reason.as_deref(), Some("Run aaaaaaaaaad2 rejected, score=0.87"));
}

#[test]
fn stop_during_a_callback_waits_for_the_answer() {
    let (d, g) = control_flow();
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaad3", &[]);
    let t = run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    ex.stop_requested = true;
    let t = run(&mut ex, &d, &g, &mut w, t + 1.0, t + 10_000.0);
    assert_eq!(ex.status, ExecutionStatus::Stopping, "a callback step keeps the execution stopping");
    assert_eq!(step(&ex, "ManualApproval").phase, StepPhase::Executing);
    let idx = ex.steps.iter().position(|s| s.name == "ManualApproval").unwrap();
    ex.steps[idx].callback_answer = Some(CallbackAnswer::Success { outputs: vec![("approved".into(), "true".into())] });
    run(&mut ex, &d, &g, &mut w, t + 1.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Stopped);
    assert_eq!(step(&ex, "ManualApproval").phase, StepPhase::Succeeded);
    assert_eq!(step(&ex, "CheckApproval").phase, StepPhase::Pending, "nothing starts after a stop");
}

#[test]
fn stop_during_a_lambda_lets_it_finish_then_stops() {
    let (d, g) = control_flow();
    let mut w = TestWorld::new(r#"{"pipelines": {"*": {"steps": {"ScoreBatch": {"duration": 60}}}}}"#);
    let mut ex = execution(&d, "aaaaaaaaaad4", &[]);
    advance(&mut ex, &d, &g, &mut w, 1000.0);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1010.0);
    assert_eq!(step(&ex, "ScoreBatch").phase, StepPhase::Executing);
    ex.stop_requested = true;
    advance(&mut ex, &d, &g, &mut w, 1011.0);
    assert_eq!(ex.status, ExecutionStatus::Stopping);
    assert_eq!(step(&ex, "ScoreBatch").phase, StepPhase::Executing, "a Lambda step is not interrupted");
    run(&mut ex, &d, &g, &mut w, 1011.0, 1e9);
    assert_eq!(step(&ex, "ScoreBatch").phase, StepPhase::Succeeded);
    assert_eq!(ex.status, ExecutionStatus::Stopped);
}

#[test]
fn stop_during_a_lambda_that_times_out_fails_the_execution() {
    let (d, g) = control_flow();
    // The Lambda would take 500 s, past its 120 s default timeout.
    let mut w = TestWorld::new(r#"{"pipelines": {"*": {"steps": {"ScoreBatch": {"duration": 500}}}}}"#);
    let mut ex = execution(&d, "aaaaaaaaaad5", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1010.0);
    ex.stop_requested = true;
    run(&mut ex, &d, &g, &mut w, 1011.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Failed);
    let s = step(&ex, "ScoreBatch");
    assert_eq!(s.phase, StepPhase::Failed);
    assert!(s.end.unwrap() <= 1000.0 + 121.0, "failed at its timeout, not at the end of its run: {:?}", s.end);
}

#[test]
fn a_job_step_stops_through_stopping() {
    let (d, g) = abalone();
    let mut w = TestWorld::new("{}");
    let mut ex = execution(&d, "aaaaaaaaaae1", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1100.0);
    assert_eq!(step(&ex, "AbaloneProcess").phase, StepPhase::Executing);
    ex.stop_requested = true;
    advance(&mut ex, &d, &g, &mut w, 1101.0);
    assert_eq!(ex.status, ExecutionStatus::Stopping);
    assert_eq!(step(&ex, "AbaloneProcess").phase, StepPhase::Stopping);
    run(&mut ex, &d, &g, &mut w, 1101.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Stopped);
    assert_eq!(step(&ex, "AbaloneProcess").phase, StepPhase::Stopped);
}

#[test]
fn a_failed_callback_fails_the_execution() {
    let (d, g) = control_flow();
    let mut w = TestWorld::new(
        r#"{"pipelines": {"*": {"steps": {"ManualApproval": {"callback": {"after": 5, "failure": "rejected by the reviewer"}}}}}}"#,
    );
    let mut ex = execution(&d, "aaaaaaaaaae2", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Failed);
    assert_eq!(step(&ex, "ManualApproval").failure_reason.as_deref(), Some("rejected by the reviewer"));
    assert_eq!(ex.failure_reason.as_deref(), Some(STEP_FAILURE));
}

#[test]
fn scenario_property_files_drive_the_condition() {
    let (d, g) = abalone();
    let mut w = TestWorld::new(
        r#"{"pipelines": {"*": {"steps": {"AbaloneEval": {"property_files": {"EvaluationReport": {"regression_metrics": {"mse": {"value": 9.5}}}}}}}}}"#,
    );
    let mut ex = execution(&d, "aaaaaaaaaae3", &[]);
    run(&mut ex, &d, &g, &mut w, 1000.0, 1e9);
    assert_eq!(ex.status, ExecutionStatus::Failed);
    assert_eq!(step(&ex, "AbaloneMSECond").properties["Outcome"], Value::Bool(false));
}
