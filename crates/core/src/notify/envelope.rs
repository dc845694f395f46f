//! SageMaker's EventBridge events as they arrive from SQS (the message body is the event JSON): which
//! pipeline each one is about. The event only says *that* something changed; the poller then looks at that
//! pipeline, so both sources make the same events, with the same keys (a change reported twice, or by both
//! sources, is one event).

use serde::Deserialize;
use stepline_types::model::pipeline_of_arn;

/// The detail types Stepline reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetailType {
    ExecutionStatus,
    StepStatus,
    ModelPackageState,
}

impl DetailType {
    fn parse(s: &str) -> Option<DetailType> {
        match s {
            "SageMaker Model Building Pipeline Execution Status Change" => Some(DetailType::ExecutionStatus),
            "SageMaker Model Building Pipeline Execution Step Status Change" => Some(DetailType::StepStatus),
            "SageMaker Model Package State Change" => Some(DetailType::ModelPackageState),
            _ => None,
        }
    }
}

/// What one event says, as far as the notifications need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SageMakerEvent {
    pub detail_type: DetailType,
    pub account: String,
    pub region: String,
    /// The pipeline's name as its ARN has it (lower-cased); none for a model package.
    pub pipeline: Option<String>,
    pub execution_arn: Option<String>,
    /// The status it changed to: `currentPipelineExecutionStatus` or `currentStepStatus`.
    pub status: Option<String>,
}

impl SageMakerEvent {
    /// Whether it can make something to tell: an execution that ended (failed, stopped, succeeded), or a
    /// step that started or runs (a callback waiting, a retry). The many other step changes of a busy account
    /// need no look.
    pub fn worth_a_look(&self) -> bool {
        let status = self.status.as_deref().unwrap_or("");
        match self.detail_type {
            DetailType::ExecutionStatus => {
                matches!(status, "Succeeded" | "Failed" | "Stopped" | "CompletedWithFailures")
            }
            DetailType::StepStatus => matches!(status, "Starting" | "Executing"),
            DetailType::ModelPackageState => false,
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    detail: serde_json::Value,
}

/// Read a message body. A message that is not a SageMaker event is an error naming what it is, so the
/// reader can say so (and delete it rather than read it again forever).
pub fn parse(body: &str) -> Result<SageMakerEvent, String> {
    let e: Envelope = serde_json::from_str(body).map_err(|e| format!("not an EventBridge event ({e})"))?;
    if e.source != "aws.sagemaker" {
        return Err(format!("an event from {}, not aws.sagemaker", e.source));
    }
    let detail_type = DetailType::parse(&e.detail_type)
        .ok_or_else(|| format!("a SageMaker event of another kind ({})", e.detail_type))?;
    let text = |k: &str| e.detail.get(k).and_then(|v| v.as_str()).map(String::from);
    let pipeline_arn = text("pipelineArn");
    let pipeline = pipeline_arn.as_deref().and_then(pipeline_of_arn).map(String::from);
    if detail_type != DetailType::ModelPackageState && pipeline.is_none() {
        return Err("a pipeline event without a pipelineArn".into());
    }
    Ok(SageMakerEvent {
        detail_type,
        account: e.account,
        region: e.region,
        pipeline,
        execution_arn: text("pipelineExecutionArn"),
        status: text("currentPipelineExecutionStatus").or_else(|| text("currentStepStatus")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = r#"{"version":"0","id":"315c1398-40ff-a850-213b-158f73e60175","detail-type":"SageMaker Model Building Pipeline Execution Status Change","source":"aws.sagemaker","account":"123456789012","time":"2021-03-31T01:04:54Z","region":"us-east-1","resources":["arn:aws:sagemaker:us-east-1:123456789012:pipeline/nightly","arn:aws:sagemaker:us-east-1:123456789012:pipeline/nightly/execution/0a1b2c3d4e5f"],"detail":{"currentPipelineExecutionStatus":"Failed","previousPipelineExecutionStatus":"Executing","executionStartTime":"2021-03-31T00:59:01Z","pipelineArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/nightly","pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:123456789012:pipeline/nightly/execution/0a1b2c3d4e5f"}}"#;

    #[test]
    fn an_execution_event_names_its_pipeline_and_execution() {
        let e = parse(FAILED).unwrap();
        assert_eq!(e.detail_type, DetailType::ExecutionStatus);
        assert_eq!(e.pipeline.as_deref(), Some("nightly"));
        assert_eq!((e.account.as_str(), e.region.as_str()), ("123456789012", "us-east-1"));
        assert!(e.worth_a_look(), "a failure");
        assert!(e.execution_arn.unwrap().ends_with("/execution/0a1b2c3d4e5f"));
        let started = parse(&FAILED.replace(
            "\"currentPipelineExecutionStatus\":\"Failed\"",
            "\"currentPipelineExecutionStatus\":\"Executing\"",
        ))
        .unwrap();
        assert!(!started.worth_a_look(), "a start tells nothing");
    }

    #[test]
    fn what_is_not_a_sagemaker_pipeline_event_is_named() {
        assert!(parse("not json").unwrap_err().contains("not an EventBridge event"));
        let ec2 = FAILED.replace("aws.sagemaker", "aws.ec2");
        assert!(parse(&ec2).unwrap_err().contains("aws.ec2"));
        let other = FAILED.replace("Pipeline Execution Status Change", "Training Job State Change");
        assert!(parse(&other).unwrap_err().contains("another kind"));
        let bare = r#"{"detail-type":"SageMaker Model Building Pipeline Execution Status Change","source":"aws.sagemaker","detail":{}}"#;
        assert!(parse(bare).unwrap_err().contains("pipelineArn"));
        let package = r#"{"detail-type":"SageMaker Model Package State Change","source":"aws.sagemaker","detail":{"ModelPackageGroupName":"g"}}"#;
        assert_eq!(parse(package).unwrap().detail_type, DetailType::ModelPackageState);
    }
}
