//! Shared set-up for the over-HTTP tests: an emulator on a free loopback port and a real
//! `aws-sdk-sagemaker` client pointed at it.
#![allow(dead_code)]

use std::time::Duration;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::types::{Parameter, PipelineExecutionStatus, PipelineExecutionStep};
use aws_sdk_sagemaker::Client;
use stepline_emulator::{start, EmulatorConfig, RunningEmulator, Scenario};

pub const ABALONE: &str = include_str!("../../../../definitions/abalone.json");
pub const CONTROL_FLOW: &str = include_str!("../../../../definitions/control-flow.json");
pub const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerPipelineRole";

pub fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDSTEPLINETEST", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

/// An emulator at `speed` simulated seconds per real second, with an optional scenario.
pub async fn emulator(speed: f64, scenario: Option<&str>) -> (RunningEmulator, Client) {
    let config =
        EmulatorConfig { speed, scenario: scenario.map(|s| Scenario::parse(s).unwrap()), ..EmulatorConfig::default() };
    let running = start(config).await.expect("emulator starts");
    let client = client_for(&running.endpoint_url());
    (running, client)
}

pub async fn create(client: &Client, name: &str, definition: &str) -> String {
    client
        .create_pipeline()
        .pipeline_name(name)
        .pipeline_definition(definition)
        .role_arn(ROLE)
        .client_request_token(format!("create-{name}-{}", "0".repeat(32)))
        .send()
        .await
        .expect("create pipeline")
        .pipeline_arn
        .expect("arn")
}

pub fn param(name: &str, value: &str) -> Parameter {
    Parameter::builder().name(name).value(value).build()
}

pub async fn start_execution(client: &Client, pipeline: &str, params: &[(&str, &str)]) -> String {
    let mut req = client.start_pipeline_execution().pipeline_name(pipeline);
    for (n, v) in params {
        req = req.pipeline_parameters(param(n, v));
    }
    req.send().await.expect("start").pipeline_execution_arn.expect("arn")
}

/// Start an execution with an idempotency token of the caller's; the ARN the service answers.
pub async fn start_with_token(client: &Client, pipeline: &str, token: &str) -> String {
    let out = client.start_pipeline_execution().pipeline_name(pipeline).client_request_token(token).send().await;
    out.expect("start").pipeline_execution_arn.expect("arn")
}

/// Poll until the execution's status satisfies `done`; fails after 30 s of real time.
pub async fn wait_for(
    client: &Client,
    arn: &str,
    done: impl Fn(&PipelineExecutionStatus) -> bool,
) -> PipelineExecutionStatus {
    for _ in 0..1500 {
        let d = client.describe_pipeline_execution().pipeline_execution_arn(arn).send().await.expect("describe");
        let status = d.pipeline_execution_status.expect("status");
        if done(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("execution {arn} did not reach the expected status in time");
}

pub fn terminal(s: &PipelineExecutionStatus) -> bool {
    !matches!(s, PipelineExecutionStatus::Executing | PipelineExecutionStatus::Stopping)
}

pub async fn steps(client: &Client, arn: &str) -> Vec<PipelineExecutionStep> {
    let mut out = vec![];
    let mut token = None;
    loop {
        let page = client
            .list_pipeline_execution_steps()
            .pipeline_execution_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .expect("list steps");
        out.extend(page.pipeline_execution_steps.unwrap_or_default());
        token = page.next_token;
        if token.is_none() {
            return out;
        }
    }
}

pub fn step<'a>(steps: &'a [PipelineExecutionStep], name: &str) -> &'a PipelineExecutionStep {
    steps.iter().find(|s| s.step_name.as_deref() == Some(name)).unwrap_or_else(|| panic!("step {name} not listed"))
}

/// Whether the listing has step `name` with `status`.
fn has_step(list: &[PipelineExecutionStep], name: &str, status: &str) -> bool {
    list.iter()
        .any(|s| s.step_name.as_deref() == Some(name) && s.step_status.as_ref().map(|s| s.as_str()) == Some(status))
}

/// Wait until a step is listed with the given status; returns the listing.
pub async fn wait_for_step(client: &Client, arn: &str, name: &str, status: &str) -> Vec<PipelineExecutionStep> {
    for _ in 0..1500 {
        let list = steps(client, arn).await;
        if has_step(&list, name, status) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("step {name} of {arn} never became {status}");
}

/// With the emulator's clock paused: moves it on a quarter of a second at a time until the step has the
/// status, so a test observes a step's intermediate states however slow the machine is.
pub async fn advance_until_step(
    core: &stepline_emulator::Core,
    client: &Client,
    arn: &str,
    name: &str,
    status: &str,
) -> Vec<PipelineExecutionStep> {
    use stepline_emulator::runtime::ClockChange;
    for _ in 0..4000 {
        let list = steps(client, arn).await;
        if has_step(&list, name, status) {
            return list;
        }
        core.change_clock(ClockChange::Advance(0.25));
    }
    panic!("step {name} of {arn} never became {status}");
}

/// The service error code and message of an SDK error.
pub fn code<E: aws_sdk_sagemaker::error::ProvideErrorMetadata>(e: &E) -> (String, String) {
    (e.code().unwrap_or("").to_string(), e.message().unwrap_or("").to_string())
}

/// A pipeline with a job of every kind that has a Describe operation and logs: processing (1 instance),
/// training (2 instances, managed spot, metric definitions, retried on capacity errors), tuning (4 trials,
/// 2 at a time), transform, and a model package registered as the parameter says.
pub const JOBS: &str = r#"{"Version": "2020-12-01",
 "Parameters": [{"Name": "ApprovalStatus", "Type": "String", "DefaultValue": "Approved"}],
 "Steps": [
  {"Name": "Prep", "Type": "Processing", "Arguments": {
     "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}},
     "AppSpecification": {"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                          "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/prep.py"]},
     "RoleArn": "arn:aws:iam::123456789012:role/SageMakerPipelineRole",
     "ProcessingInputs": [{"InputName": "raw", "AppManaged": false, "S3Input": {"S3Uri": "s3://bucket/raw", "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
     "ProcessingOutputConfig": {"Outputs": [{"OutputName": "train", "AppManaged": false, "S3Output": {"S3Uri": "s3://bucket/train", "LocalPath": "/opt/ml/processing/train", "S3UploadMode": "EndOfJob"}}]}}},
  {"Name": "Train", "Type": "Training", "DependsOn": ["Prep"], "Arguments": {
     "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "validation:auc", "Regex": "validation:auc: ([0-9.]+)"}, {"Name": "train:loss", "Regex": "loss: ([0-9.]+)"}]},
     "HyperParameters": {"epochs": "8", "eta": "0.2"},
     "EnableManagedSpotTraining": true,
     "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
     "ResourceConfig": {"InstanceType": "ml.m5.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
     "RoleArn": "arn:aws:iam::123456789012:role/SageMakerPipelineRole",
     "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
        "S3Uri": {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}}}}],
     "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"}},
   "RetryPolicies": [{"ExceptionType": ["SageMaker.CAPACITY_ERROR"], "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 2}]},
  {"Name": "Tune", "Type": "Tuning", "DependsOn": ["Prep"], "Arguments": {
     "HyperParameterTuningJobConfig": {"Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}]}},
     "TrainingJobDefinition": {"StaticHyperParameters": {"epochs": "4"},
        "AlgorithmSpecification": {"TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerPipelineRole", "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}}},
  {"Name": "Score", "Type": "Transform", "DependsOn": ["Train"], "Arguments": {
     "ModelName": "scoring-model",
     "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/batch"}}, "ContentType": "text/csv"},
     "TransformOutput": {"S3OutputPath": "s3://bucket/scores"},
     "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}},
  {"Name": "Register", "Type": "RegisterModel", "DependsOn": ["Train"], "Arguments": {
     "ModelPackageGroupName": "ScoringModels", "ModelApprovalStatus": {"Get": "Parameters.ApprovalStatus"},
     "InferenceSpecification": {"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}],
        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}}}
 ]}"#;

/// A CloudWatch Logs client pointed at the emulator; `retries` false to see every refusal.
pub fn logs_client_for(endpoint: &str, retries: bool) -> aws_sdk_cloudwatchlogs::Client {
    use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
    let mut config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
            "AKIDSTEPLINETEST",
            "secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint);
    if !retries {
        config = config.retry_config(RetryConfig::disabled());
    }
    aws_sdk_cloudwatchlogs::Client::from_conf(config.build())
}

/// The name of a step's current job, in its own case: the step's metadata has the job's ARN, which is
/// lower-cased; the Describe of the job answers its name.
pub async fn training_job_name(client: &Client, arn: &str, step_name: &str) -> String {
    let listed = steps(client, arn).await;
    let job_arn = step(&listed, step_name).metadata().unwrap().training_job().unwrap().arn().unwrap().to_string();
    let lower = job_arn.rsplit('/').next().unwrap().to_string();
    let d = client.describe_training_job().training_job_name(lower).send().await.expect("describe training job");
    d.training_job_name().unwrap().to_string()
}

/// Wait until a step of an execution has a status and return the listing.
pub async fn wait_for_terminal(client: &Client, arn: &str) -> PipelineExecutionStatus {
    wait_for(client, arn, terminal).await
}
