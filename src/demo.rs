//! Demo mode: the built-in emulator on a loopback port, seeded through the real SDK (the same path as any
//! client) with example pipelines and a history of executions that really ran in the emulator.

use std::time::Duration;

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::types::{Parameter, SelectedStep, SelectiveExecutionConfig};
use aws_sdk_sagemaker::Client;
use serde_json::{json, Value};
use stepline_emulator::runtime::ClockChange;
use stepline_emulator::{EmulatorConfig, RunningEmulator, Scenario};

pub const ABALONE: &str = include_str!("../definitions/abalone.json");
pub const CONTROL_FLOW: &str = include_str!("../definitions/control-flow.json");
const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerPipelineRole";
/// While the history is recorded the emulator's clock runs this many times faster than the wall clock,
/// starting a day ago, so past executions have realistic durations and times yet take moments to make.
const HISTORY_RATE: f64 = 20_000.0;
const HISTORY_STARTS_HOURS_AGO: f64 = 26.0;

/// A client for a SageMaker-compatible endpoint with static credentials (emulators accept any).
pub fn endpoint_client(url: &str, region: &str) -> Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("AKIDSTEPLINEDEMO", "stepline-demo", None, None, "stepline-demo"))
        .endpoint_url(url)
        .build();
    Client::from_conf(config)
}

/// An STS client for the same endpoint (the emulator serves STS too), with the same demo credentials.
pub fn sts_client(url: &str, region: &str) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(region.to_string()))
        .credentials_provider(Credentials::new("AKIDSTEPLINEDEMO", "stepline-demo", None, None, "stepline-demo"))
        .endpoint_url(url)
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// A CloudWatch Logs client for the same endpoint (the emulator serves the job logs too).
pub fn logs_client(url: &str, region: &str) -> aws_sdk_cloudwatchlogs::Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatchlogs::config::Region::new(region.to_string()))
        .credentials_provider(Credentials::new("AKIDSTEPLINEDEMO", "stepline-demo", None, None, "stepline-demo"))
        .endpoint_url(url)
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

/// A Price List client of the emulator at `url` (it serves a table of SageMaker's instance prices).
pub fn pricing_client(url: &str, region: &str) -> aws_sdk_pricing::Client {
    let config = aws_sdk_pricing::Config::builder()
        .behavior_version(aws_sdk_pricing::config::BehaviorVersion::latest())
        .region(aws_sdk_pricing::config::Region::new(region.to_string()))
        .credentials_provider(Credentials::new("AKIDSTEPLINEDEMO", "stepline-demo", None, None, "stepline-demo"))
        .endpoint_url(url)
        .build();
    aws_sdk_pricing::Client::from_conf(config)
}

/// An SQS client of the emulator at `url`, for its events queue.
pub fn sqs_client(url: &str, region: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(region.to_string()))
        .credentials_provider(Credentials::new("AKIDSTEPLINEDEMO", "stepline-demo", None, None, "stepline-demo"))
        .endpoint_url(url)
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Start the embedded emulator on a free loopback port.
pub async fn start_emulator() -> Result<RunningEmulator, String> {
    start_emulator_with_events(None).await
}

/// Start the embedded emulator, sending SageMaker's events to the queue `events_queue` (created at start).
pub async fn start_emulator_with_events(events_queue: Option<String>) -> Result<RunningEmulator, String> {
    stepline_emulator::start(EmulatorConfig { speed: 1.0, events_queue, ..EmulatorConfig::default() })
        .await
        .map_err(|e| e.to_string())
}

/// A wide pipeline of `chains` parallel chains of `length` cached steps between an ingest step and a
/// training tail: big enough to show how the Gantt chart and DAG scale.
pub fn wide_definition(chains: usize, length: usize) -> String {
    let mut steps =
        vec![json!({"Name": "Ingest", "Type": "Processing", "Arguments": {"Source": {"Get": "Parameters.Source"}},
                                "CacheConfig": {"Enabled": true, "ExpireAfter": "P30D"}})];
    let kinds = ["Processing", "Processing", "Training", "Processing", "Transform"];
    let mut tails = vec![];
    for c in 0..chains {
        for k in 0..length {
            let name = format!("Feature{c:03}-{k}");
            let depends = if k == 0 { "Ingest".to_string() } else { format!("Feature{c:03}-{}", k - 1) };
            steps.push(json!({
                "Name": name, "Type": kinds[k % kinds.len()], "DependsOn": [depends],
                "Arguments": {"Shard": c, "Stage": k, "Window": {"Get": "Parameters.WindowDays"}},
                "CacheConfig": {"Enabled": true, "ExpireAfter": "P30D"}
            }));
        }
        tails.push(format!("Feature{c:03}-{}", length - 1));
    }
    steps.push(json!({"Name": "Merge", "Type": "Processing", "DependsOn": tails, "Arguments": {}}));
    steps.push(json!({"Name": "TrainModel", "Type": "Training", "DependsOn": ["Merge"],
                      "Arguments": {"OutputDataConfig": {"S3OutputPath": "s3://stepline-demo/models"}}}));
    steps.push(json!({"Name": "RegisterModel", "Type": "RegisterModel",
                      "Arguments": {"ModelPackageGroupName": "FeatureFactory",
                                    "ModelDataUrl": {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}}}));
    json!({
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "Source", "Type": "String", "DefaultValue": "s3://stepline-demo/raw/"},
            {"Name": "WindowDays", "Type": "Integer", "DefaultValue": 30}
        ],
        "Steps": steps
    })
    .to_string()
}

/// Create a pipeline (the demo's and the benchmarks' way).
pub async fn create_pipeline(client: &Client, name: &str, description: &str, definition: &str) -> Result<(), String> {
    client
        .create_pipeline()
        .pipeline_name(name)
        .pipeline_description(description)
        .pipeline_definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("seeding {name}: {}", stepline_core::gateway::upstream("CreatePipeline", e)))
}

/// Start an execution with a display name and parameter overrides; its ARN.
pub async fn start_execution(
    client: &Client,
    pipeline: &str,
    display: &str,
    params: &[(&str, &str)],
) -> Result<String, String> {
    let mut req = client.start_pipeline_execution().pipeline_name(pipeline).pipeline_execution_display_name(display);
    for (n, v) in params {
        req = req.pipeline_parameters(Parameter::builder().name(*n).value(*v).build());
    }
    req.send()
        .await
        .map_err(|e| format!("seeding {pipeline}: {}", stepline_core::gateway::upstream("StartPipelineExecution", e)))?
        .pipeline_execution_arn
        .ok_or_else(|| "no execution ARN".to_string())
}

/// Wait until an execution is finished or `waiting` says to stop waiting.
async fn settle(client: &Client, arn: &str) -> Result<(), String> {
    for _ in 0..3000 {
        let d = client
            .describe_pipeline_execution()
            .pipeline_execution_arn(arn)
            .send()
            .await
            .map_err(|e| stepline_core::gateway::upstream("DescribePipelineExecution", e).to_string())?;
        let s = d.pipeline_execution_status().map(|s| s.as_str().to_string()).unwrap_or_default();
        if s != "Executing" && s != "Stopping" {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!("seeding: {arn} did not finish"))
}

fn scenario(v: Value) -> Scenario {
    serde_json::from_value(v).unwrap_or_default()
}

/// Seed the emulator: three pipelines and a history covering every outcome, then slow the clock down to
/// `live_speed` and leave one execution running and one waiting on a callback.
pub async fn seed(emulator: &RunningEmulator, client: &Client, live_speed: f64) -> Result<(), String> {
    let core = emulator.core();
    let history_start = stepline_emulator::runtime::wall_clock() - HISTORY_STARTS_HOURS_AGO * 3600.0;
    core.set_speed(1.0);
    core.set_clock(Some(history_start), HISTORY_RATE);
    create_pipeline(
        client,
        "AbalonePipeline",
        "Abalone age regression: preprocess, train, evaluate, register if the MSE is good enough",
        ABALONE,
    )
    .await?;
    create_pipeline(
        client,
        "ControlFlowPipeline",
        "Scoring with a manual approval callback and nested conditions",
        CONTROL_FLOW,
    )
    .await?;
    create_pipeline(
        client,
        "FeatureFactoryPipeline",
        "300 cached feature steps in 60 chains feeding one model",
        &wide_definition(60, 5),
    )
    .await?;

    let ok = start_execution(client, "AbalonePipeline", "nightly-baseline", &[]).await?;
    settle(client, &ok).await?;
    let fail_branch =
        start_execution(client, "AbalonePipeline", "strict-threshold", &[("MseThreshold", "3.0")]).await?;
    settle(client, &fail_branch).await?;

    // The model registry in every approval state: the baseline's version (1) is rejected in favour of an
    // approved release (2), and a candidate (3) waits for a reviewer.
    let release = start_execution(client, "AbalonePipeline", "release", &[("ModelApprovalStatus", "Approved")]).await?;
    settle(client, &release).await?;
    let candidate = start_execution(client, "AbalonePipeline", "candidate", &[]).await?;
    settle(client, &candidate).await?;
    let versions = client
        .list_model_packages()
        .model_package_group_name("AbaloneModelPackageGroupName")
        .send()
        .await
        .map_err(|e| stepline_core::gateway::upstream("ListModelPackages", e).to_string())?;
    let first = versions.model_package_summary_list().iter().find(|v| v.model_package_version() == Some(1));
    if let Some(arn) = first.and_then(|v| v.model_package_arn()) {
        client
            .update_model_package()
            .model_package_arn(arn)
            .model_approval_status(aws_sdk_sagemaker::types::ModelApprovalStatus::Rejected)
            .approval_description("Superseded by the release: a higher validation MSE.")
            .send()
            .await
            .map_err(|e| stepline_core::gateway::upstream("UpdateModelPackage", e).to_string())?;
    }

    // A training job that keeps failing on capacity until its retry policy gives up.
    core.set_scenario(scenario(json!({"pipelines": {"AbalonePipeline": {"steps": {"AbaloneTrain": {
        "fail": {"reason": "CapacityError: Unable to provision requested ML compute capacity (ml.m5.xlarge). Please retry using a different ML instance type.",
                 "exception": "SageMaker.CAPACITY_ERROR"}}}}}}))).map_err(|e| e.to_string())?;
    let retries =
        start_execution(client, "AbalonePipeline", "capacity-shortage", &[("TrainingInstanceType", "ml.m5.xlarge")])
            .await?;
    settle(client, &retries).await?;
    core.set_scenario(Scenario::default()).map_err(|e| e.to_string())?;

    // Stopped by a person while training (about 15 minutes in). The clock stands still from the start to the
    // stop, so the stop finds it training however slow the machine is.
    core.change_clock(ClockChange::Pause);
    let stopped = start_execution(client, "AbalonePipeline", "stopped-by-hand", &[]).await?;
    core.change_clock(ClockChange::Advance(900.0));
    client
        .stop_pipeline_execution()
        .pipeline_execution_arn(&stopped)
        .send()
        .await
        .map_err(|e| stepline_core::gateway::upstream("StopPipelineExecution", e).to_string())?;
    core.change_clock(ClockChange::Resume);
    settle(client, &stopped).await?;

    // The second run of the wide pipeline is served from the cache.
    let first_wide = start_execution(client, "FeatureFactoryPipeline", "features-cold", &[]).await?;
    settle(client, &first_wide).await?;
    let cached = start_execution(client, "FeatureFactoryPipeline", "features-warm-cache", &[]).await?;
    settle(client, &cached).await?;

    // Re-run training and evaluation only, reusing preprocessing from the first run.
    let selective = client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .pipeline_execution_display_name("retrain-only")
        .selective_execution_config(
            SelectiveExecutionConfig::builder()
                .source_pipeline_execution_arn(&ok)
                .selected_steps(SelectedStep::builder().step_name("AbaloneTrain").build())
                .selected_steps(SelectedStep::builder().step_name("AbaloneEval").build())
                .build(),
        )
        .send()
        .await
        .map_err(|e| stepline_core::gateway::upstream("StartPipelineExecution", e).to_string())?
        .pipeline_execution_arn
        .unwrap_or_default();
    settle(client, &selective).await?;

    // Back to the wall clock. Live: one waiting for its approval callback, one running slowly enough to watch.
    core.set_clock(None, 1.0);
    core.set_speed(live_speed);
    let waiting =
        start_execution(client, "ControlFlowPipeline", "awaiting-approval", &[("Environment", "staging")]).await?;
    for _ in 0..1500 {
        let steps = client.list_pipeline_execution_steps().pipeline_execution_arn(&waiting).send().await;
        // Until it waits (a moment after it starts): the inbox, read at once, shows it.
        let waits = |st: &aws_sdk_sagemaker::types::PipelineExecutionStep| {
            st.step_name() == Some("ManualApproval")
                && st.step_status() == Some(&aws_sdk_sagemaker::types::StepStatus::Executing)
        };
        if steps.is_ok_and(|s| s.pipeline_execution_steps().iter().any(waits)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start_execution(client, "AbalonePipeline", "live-run", &[("MseThreshold", "7.0")]).await?;
    Ok(())
}
