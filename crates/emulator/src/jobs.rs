//! Simulated SageMaker resources behind job steps: how long each kind runs by default, how its job is
//! named, what its Describe response holds (read by `{"Get": "Steps.X.<path>"}`, and the base of the
//! Describe*Job answers in `crate::describe`), the metrics a training job reports, and the step `Metadata`
//! member that ListPipelineExecutionSteps reports.

use crate::draws::default_metric_value;
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use stepline_definition::StepType;

/// Where simulated resources live: the ARNs the emulator hands out use this region and account.
#[derive(Clone, Debug)]
pub struct Account {
    pub region: String,
    pub account: String,
}

impl Default for Account {
    fn default() -> Self {
        Account { region: "us-east-1".into(), account: "123456789012".into() }
    }
}

impl Account {
    /// The ARN of a resource, lower-cased as the service writes them (`…:pipeline/abalonepipeline`,
    /// `…:training-job/pipelines-…-abalonetrain-…`); the resource's name keeps its case elsewhere.
    pub fn arn(&self, resource: &str) -> String {
        format!("arn:aws:sagemaker:{}:{}:{}", self.region, self.account, resource.to_lowercase())
    }
}

/// Default run time of a step type, in simulated seconds: roughly what such jobs take on small data.
pub fn default_duration(step_type: &StepType) -> f64 {
    match step_type {
        StepType::Processing => 240.0,
        StepType::Training => 600.0,
        StepType::Transform => 300.0,
        StepType::Tuning => 1800.0,
        StepType::AutoMl => 2400.0,
        StepType::Emr => 600.0,
        StepType::QualityCheck | StepType::ClarifyCheck => 300.0,
        StepType::Endpoint => 420.0,
        StepType::Model | StepType::RegisterModel | StepType::EndpointConfig => 5.0,
        StepType::Lambda => 20.0,
        StepType::Condition | StepType::Fail => 1.0,
        StepType::Callback | StepType::Other(_) => 60.0,
    }
}

/// The job name SageMaker gives a step's job: `pipelines-<executionId>-<StepName>-<10 random>`, the step's
/// name in its own case (what CloudWatch log streams are named by), cut to the 63 characters job names
/// allow. Only the job's ARN is lower-cased.
pub fn job_name(execution_id: &str, step_name: &str, random10: &str) -> String {
    let step: String = step_name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let mut name = format!("pipelines-{execution_id}-{step}");
    let room = 63 - 11;
    if name.len() > room {
        name.truncate(room);
    }
    let name = name.trim_end_matches('-').to_string();
    format!("{name}-{random10}")
}

/// The job name of a step of any type: tuning and AutoML job names are at most 32 characters, so theirs is
/// `<executionId>-<StepName cut to 8>-<10 random>`; every other job is named by [`job_name`].
pub fn job_name_for(step_type: &StepType, execution_id: &str, step_name: &str, random10: &str) -> String {
    if !matches!(step_type, StepType::Tuning | StepType::AutoMl) {
        return job_name(execution_id, step_name, random10);
    }
    let step: String = step_name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(8).collect::<String>();
    let step = step.trim_matches('-');
    let exec: String = execution_id.chars().filter(char::is_ascii_alphanumeric).take(12).collect();
    let name = if step.is_empty() { format!("{exec}-{random10}") } else { format!("{exec}-{step}-{random10}") };
    name.chars().take(32).collect::<String>().trim_end_matches('-').to_string()
}

/// The jobs with a Describe operation here, by the resource type of their ARNs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Training,
    Processing,
    Transform,
    Tuning,
    ModelPackage,
}

impl JobKind {
    /// The kind of job a step type creates: check steps run processing jobs, RegisterModel registers a
    /// model package version.
    pub fn of(step_type: &StepType) -> Option<JobKind> {
        Some(match step_type {
            StepType::Training => JobKind::Training,
            StepType::Processing | StepType::QualityCheck | StepType::ClarifyCheck => JobKind::Processing,
            StepType::Transform => JobKind::Transform,
            StepType::Tuning => JobKind::Tuning,
            StepType::RegisterModel => JobKind::ModelPackage,
            _ => return None,
        })
    }

    /// The resource type in the job's ARN, which also keys the job index.
    pub fn resource(self) -> &'static str {
        match self {
            JobKind::Training => "training-job",
            JobKind::Processing => "processing-job",
            JobKind::Transform => "transform-job",
            JobKind::Tuning => "hyper-parameter-tuning-job",
            JobKind::ModelPackage => "model-package",
        }
    }

    /// The step type whose properties describe this kind of job.
    pub fn step_type(self) -> StepType {
        match self {
            JobKind::Training => StepType::Training,
            JobKind::Processing => StepType::Processing,
            JobKind::Transform => StepType::Transform,
            JobKind::Tuning => StepType::Tuning,
            JobKind::ModelPackage => StepType::RegisterModel,
        }
    }
}

/// The final metrics of a training job: its `AlgorithmSpecification.MetricDefinitions` names, then any other
/// the scenario gives a value for, valued by the scenario or [`default_metric_value`]; XGBoost's
/// `train:rmse` and `validation:rmse` when nothing names one.
pub fn final_metrics(arguments: &Value, scenario: &BTreeMap<String, f64>) -> Vec<(String, f64)> {
    let mut names: Vec<String> = arguments
        .pointer("/AlgorithmSpecification/MetricDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("Name").and_then(Value::as_str))
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    for n in scenario.keys() {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    if names.is_empty() {
        names = vec!["train:rmse".into(), "validation:rmse".into()];
    }
    names.truncate(40);
    names
        .into_iter()
        .map(|n| {
            let v = scenario.get(&n).copied().unwrap_or_else(|| default_metric_value(&n));
            (n, v)
        })
        .collect()
}

/// What the engine needs to describe one attempt of a job step.
pub struct JobContext<'a> {
    pub account: &'a Account,
    pub step_type: &'a StepType,
    pub step_name: &'a str,
    /// The step's Arguments with every expression already evaluated.
    pub arguments: &'a Value,
    pub job_name: &'a str,
    pub execution_id: &'a str,
    /// Final metric values the scenario gives (Training).
    pub metrics: &'a BTreeMap<String, f64>,
    /// The model package version a RegisterModel step registers.
    pub package_version: u32,
}

/// The step resource's Describe response: the arguments echoed back plus the fields SageMaker adds.
pub fn properties(ctx: &JobContext, status: &str) -> Value {
    let mut props = match ctx.arguments {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let name = ctx.job_name;
    let set = |props: &mut Map<String, Value>, k: &str, v: Value| {
        props.insert(k.to_string(), v);
    };
    match ctx.step_type {
        StepType::Training => {
            set(&mut props, "TrainingJobName", json!(name));
            set(&mut props, "TrainingJobArn", json!(ctx.account.arn(&format!("training-job/{name}"))));
            set(&mut props, "TrainingJobStatus", json!(status));
            let out = ctx
                .arguments
                .pointer("/OutputDataConfig/S3OutputPath")
                .and_then(Value::as_str)
                .unwrap_or("s3://sagemaker-output");
            set(
                &mut props,
                "ModelArtifacts",
                json!({"S3ModelArtifacts": format!("{}/{name}/output/model.tar.gz", out.trim_end_matches('/'))}),
            );
            let metrics: Vec<Value> = final_metrics(ctx.arguments, ctx.metrics)
                .into_iter()
                .map(|(n, v)| json!({"MetricName": n, "Value": v}))
                .collect();
            set(&mut props, "FinalMetricDataList", Value::Array(metrics));
        }
        StepType::Processing => {
            set(&mut props, "ProcessingJobName", json!(name));
            set(&mut props, "ProcessingJobArn", json!(ctx.account.arn(&format!("processing-job/{name}"))));
            set(&mut props, "ProcessingJobStatus", json!(status));
        }
        StepType::Transform => {
            set(&mut props, "TransformJobName", json!(name));
            set(&mut props, "TransformJobArn", json!(ctx.account.arn(&format!("transform-job/{name}"))));
            set(&mut props, "TransformJobStatus", json!(status));
        }
        StepType::Tuning => {
            set(&mut props, "HyperParameterTuningJobName", json!(name));
            set(
                &mut props,
                "HyperParameterTuningJobArn",
                json!(ctx.account.arn(&format!("hyper-parameter-tuning-job/{name}"))),
            );
            set(&mut props, "HyperParameterTuningJobStatus", json!(status));
            let best = crate::tuning::Tuning::of(ctx.arguments, name, ctx.metrics).best_trial_name();
            set(&mut props, "BestTrainingJob", json!({"TrainingJobName": best, "TrainingJobStatus": "Completed"}));
        }
        StepType::AutoMl => {
            set(&mut props, "AutoMLJobName", json!(name));
            set(&mut props, "AutoMLJobArn", json!(ctx.account.arn(&format!("automl-job/{name}"))));
            set(&mut props, "BestCandidate", json!({"CandidateName": format!("{name}-best")}));
        }
        StepType::Model => {
            set(&mut props, "ModelName", json!(name));
            set(&mut props, "ModelArn", json!(ctx.account.arn(&format!("model/{name}"))));
        }
        StepType::RegisterModel => {
            let group = ctx.arguments.get("ModelPackageGroupName").and_then(Value::as_str).unwrap_or("models");
            set(
                &mut props,
                "ModelPackageArn",
                json!(ctx.account.arn(&format!("model-package/{group}/{}", ctx.package_version))),
            );
            set(&mut props, "ModelPackageStatus", json!("Completed"));
        }
        StepType::EndpointConfig => {
            set(&mut props, "EndpointConfigArn", json!(ctx.account.arn(&format!("endpoint-config/{name}"))));
        }
        StepType::Endpoint => {
            set(&mut props, "EndpointArn", json!(ctx.account.arn(&format!("endpoint/{name}"))));
            set(&mut props, "EndpointStatus", json!("InService"));
        }
        StepType::QualityCheck | StepType::ClarifyCheck => {
            set(
                &mut props,
                "CalculatedBaselineConstraints",
                json!(format!("s3://sagemaker-checks/{name}/constraints.json")),
            );
            set(
                &mut props,
                "CalculatedBaselineStatistics",
                json!(format!("s3://sagemaker-checks/{name}/statistics.json")),
            );
        }
        StepType::Emr => {
            set(&mut props, "ClusterId", json!(cluster_id(ctx)));
            set(
                &mut props,
                "StepId",
                json!(format!("s-{}", ctx.job_name.rsplit('-').next().unwrap_or("0").to_ascii_uppercase())),
            );
        }
        _ => {}
    }
    Value::Object(props)
}

fn cluster_id(ctx: &JobContext) -> String {
    ctx.arguments
        .get("ClusterId")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| format!("j-{}", ctx.job_name.rsplit('-').next().unwrap_or("0").to_ascii_uppercase()))
}

/// The `Metadata` member of a job step, pointing at the job of the current attempt.
pub fn metadata(ctx: &JobContext, props: &Value) -> Option<Value> {
    let arn = |k: &str| props.get(k).cloned().unwrap_or(Value::Null);
    Some(match ctx.step_type {
        StepType::Training => json!({"TrainingJob": {"Arn": arn("TrainingJobArn")}}),
        StepType::Processing => json!({"ProcessingJob": {"Arn": arn("ProcessingJobArn")}}),
        StepType::Transform => json!({"TransformJob": {"Arn": arn("TransformJobArn")}}),
        StepType::Tuning => json!({"TuningJob": {"Arn": arn("HyperParameterTuningJobArn")}}),
        StepType::AutoMl => json!({"AutoMLJob": {"Arn": arn("AutoMLJobArn")}}),
        StepType::Model => json!({"Model": {"Arn": arn("ModelArn")}}),
        StepType::RegisterModel => json!({"RegisterModel": {"Arn": arn("ModelPackageArn")}}),
        StepType::EndpointConfig => json!({"EndpointConfig": {"Arn": arn("EndpointConfigArn")}}),
        StepType::Endpoint => json!({"Endpoint": {"Arn": arn("EndpointArn")}}),
        StepType::QualityCheck | StepType::ClarifyCheck => {
            let check_type = ctx
                .arguments
                .get("CheckType")
                .and_then(Value::as_str)
                .unwrap_or(if *ctx.step_type == StepType::QualityCheck { "DATA_QUALITY" } else { "DATA_BIAS" });
            let group = ctx.arguments.get("ModelPackageGroupName").cloned().unwrap_or(json!("models"));
            let mut m = json!({
                "CheckType": check_type,
                "ModelPackageGroupName": group,
                "CalculatedBaselineConstraints": props.get("CalculatedBaselineConstraints"),
                "ViolationReport": format!("s3://sagemaker-checks/{}/constraint_violations.json", ctx.job_name),
                "CheckJobArn": ctx.account.arn(&format!("processing-job/{}", ctx.job_name)),
                "SkipCheck": ctx.arguments.get("SkipCheck").and_then(Value::as_bool).unwrap_or(false),
                "RegisterNewBaseline": ctx.arguments.get("RegisterNewBaseline").and_then(Value::as_bool).unwrap_or(false),
            });
            if *ctx.step_type == StepType::QualityCheck {
                m["CalculatedBaselineStatistics"] =
                    props.get("CalculatedBaselineStatistics").cloned().unwrap_or(Value::Null);
            }
            json!({ ctx.step_type.as_str(): m })
        }
        StepType::Emr => json!({"EMR": {
            "ClusterId": props.get("ClusterId"),
            "StepId": props.get("StepId"),
            "StepName": ctx.step_name,
            "LogFilePath": format!("s3://aws-logs-{}/elasticmapreduce/{}/steps/", ctx.execution_id, cluster_id(ctx)),
        }}),
        _ => {
            // Newer job kinds without a dedicated member report the generic Job metadata.
            json!({"Job": {"Arn": ctx.account.arn(&format!("job/{}", ctx.job_name))}})
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draws::lower_is_better;

    #[test]
    fn job_names_follow_the_service_and_fit_63_characters() {
        assert_eq!(
            job_name("abc123def456", "AbaloneTrain", "x1y2z3w4v5"),
            "pipelines-abc123def456-AbaloneTrain-x1y2z3w4v5"
        );
        assert_eq!(
            job_name("abc123def456", "Train_Model", "0123456789"),
            "pipelines-abc123def456-Train-Model-0123456789"
        );
        assert_eq!(
            Account::default().arn("training-job/pipelines-abc123def456-AbaloneTrain-x1y2z3w4v5"),
            "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-abc123def456-abalonetrain-x1y2z3w4v5"
        );
        let long = job_name("abc123def456", &"S".repeat(64), "0123456789");
        assert!(long.len() <= 63, "{long}");
        assert!(long.ends_with("-0123456789"));
    }

    #[test]
    fn tuning_job_names_fit_32_characters() {
        let n = job_name_for(&StepType::Tuning, "abc123def456", "HyperParameterTuning", "x1y2z3w4v5");
        assert_eq!(n, "abc123def456-HyperPar-x1y2z3w4v5");
        assert!(n.len() <= 32);
        assert_eq!(job_name_for(&StepType::Training, "e", "T", "r"), job_name("e", "T", "r"));
    }

    #[test]
    fn metrics_come_from_definitions_and_the_scenario() {
        let args = json!({"AlgorithmSpecification": {"MetricDefinitions": [{"Name": "validation:auc", "Regex": "auc: ([0-9.]+)"}]}});
        let scenario: BTreeMap<String, f64> =
            [("validation:auc".to_string(), 0.77), ("epoch:loss".to_string(), 0.2)].into();
        assert_eq!(final_metrics(&args, &scenario), vec![("validation:auc".into(), 0.77), ("epoch:loss".into(), 0.2)]);
        let plain = final_metrics(&json!({}), &BTreeMap::new());
        assert_eq!(plain[1], ("validation:rmse".to_string(), 2.1));
        assert!(plain[0].1 < 2.1, "training error below validation error");
        assert!(lower_is_better("validation:rmse") && !lower_is_better("validation:auc"));
    }

    #[test]
    fn training_exposes_model_artifacts_under_the_output_path() {
        let account = Account::default();
        let args = json!({"OutputDataConfig": {"S3OutputPath": "s3://bucket/models/"}});
        let ctx = JobContext {
            account: &account,
            step_type: &StepType::Training,
            step_name: "T",
            arguments: &args,
            job_name: "pipelines-e-t-r",
            execution_id: "e",
            metrics: &BTreeMap::new(),
            package_version: 1,
        };
        let p = properties(&ctx, "Completed");
        assert_eq!(
            p.pointer("/ModelArtifacts/S3ModelArtifacts").unwrap(),
            "s3://bucket/models/pipelines-e-t-r/output/model.tar.gz"
        );
        assert_eq!(p["OutputDataConfig"]["S3OutputPath"], "s3://bucket/models/");
        let m = metadata(&ctx, &p).unwrap();
        assert_eq!(m["TrainingJob"]["Arn"], "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-e-t-r");
    }

    #[test]
    fn every_job_type_gets_its_metadata_member() {
        let account = Account::default();
        let args = json!({});
        for (ty, member) in [
            ("Processing", "ProcessingJob"),
            ("Transform", "TransformJob"),
            ("Tuning", "TuningJob"),
            ("AutoML", "AutoMLJob"),
            ("Model", "Model"),
            ("RegisterModel", "RegisterModel"),
            ("EndpointConfig", "EndpointConfig"),
            ("Endpoint", "Endpoint"),
            ("QualityCheck", "QualityCheck"),
            ("ClarifyCheck", "ClarifyCheck"),
            ("EMR", "EMR"),
            ("Somethingnew", "Job"),
        ] {
            let ctx = JobContext {
                account: &account,
                step_type: &StepType::parse(ty),
                step_name: "S",
                arguments: &args,
                job_name: "j-abc",
                execution_id: "e",
                metrics: &BTreeMap::new(),
                package_version: 1,
            };
            let m = metadata(&ctx, &properties(&ctx, "Completed")).unwrap();
            assert!(m.get(member).is_some(), "{ty}: {m}");
        }
    }
}
