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

/// Wait until a step is listed with the given status; returns the listing.
pub async fn wait_for_step(client: &Client, arn: &str, name: &str, status: &str) -> Vec<PipelineExecutionStep> {
    for _ in 0..1500 {
        let list = steps(client, arn).await;
        if list
            .iter()
            .any(|s| s.step_name.as_deref() == Some(name) && s.step_status.as_ref().map(|s| s.as_str()) == Some(status))
        {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("step {name} of {arn} never became {status}");
}

/// The service error code and message of an SDK error.
pub fn code<E: aws_sdk_sagemaker::error::ProvideErrorMetadata>(e: &E) -> (String, String) {
    (e.code().unwrap_or("").to_string(), e.message().unwrap_or("").to_string())
}
