//! The job behind a pipeline step, as its Describe call tells it: what the step panel shows.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{JobKind, NameValue};

/// One status a job went through (training jobs report these as `SecondaryStatusTransitions`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub status: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub message: Option<String>,
}

/// A final metric of a training job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

/// A job's status as its Describe call says it (model packages: their own statuses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
    Deleting,
    /// Not said (`Unknown`), or a status this version does not know, as the service wrote it.
    Other(String),
}

impl JobStatus {
    pub fn from_service(s: &str) -> JobStatus {
        match s {
            "Pending" => JobStatus::Pending,
            "InProgress" => JobStatus::InProgress,
            "Completed" => JobStatus::Completed,
            "Failed" => JobStatus::Failed,
            "Stopping" => JobStatus::Stopping,
            "Stopped" => JobStatus::Stopped,
            "Deleting" => JobStatus::Deleting,
            other => JobStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Pending => "Pending",
            JobStatus::InProgress => "InProgress",
            JobStatus::Completed => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Stopping => "Stopping",
            JobStatus::Stopped => "Stopped",
            JobStatus::Deleting => "Deleting",
            JobStatus::Other(s) => s,
        }
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a step's job is and did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    pub kind: JobKind,
    /// The job's name in its own case.
    pub name: String,
    pub arn: String,
    pub status: JobStatus,
    /// Training jobs: the secondary status now, and every one it went through.
    pub secondary: Option<String>,
    pub transitions: Vec<Transition>,
    pub failure_reason: Option<String>,
    /// Processing jobs: the exit message of the container.
    pub exit_message: Option<String>,
    pub instance_type: Option<String>,
    pub instance_count: Option<i32>,
    pub created: Option<DateTime<Utc>>,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    pub training_seconds: Option<i32>,
    pub billable_seconds: Option<i32>,
    pub spot: bool,
    pub metrics: Vec<Metric>,
    pub hyperparameters: Vec<NameValue>,
    /// Channel or input name → S3 URI.
    pub inputs: Vec<NameValue>,
    pub outputs: Vec<NameValue>,
    pub model_artifacts: Option<String>,
    pub image: Option<String>,
    /// Tuning jobs: the best training job's name; model packages: their approval status.
    pub best_training_job: Option<String>,
    pub approval: Option<String>,
}

impl JobDetail {
    /// A job known only by its kind, name, ARN and status; the Describe call fills in the rest.
    pub fn empty(kind: JobKind, name: &str, arn: Option<&str>, status: Option<&str>) -> JobDetail {
        JobDetail {
            kind,
            name: name.to_string(),
            arn: arn.unwrap_or_default().to_string(),
            status: JobStatus::from_service(status.unwrap_or("Unknown")),
            secondary: None,
            transitions: vec![],
            failure_reason: None,
            exit_message: None,
            instance_type: None,
            instance_count: None,
            created: None,
            started: None,
            ended: None,
            training_seconds: None,
            billable_seconds: None,
            spot: false,
            metrics: vec![],
            hyperparameters: vec![],
            inputs: vec![],
            outputs: vec![],
            model_artifacts: None,
            image: None,
            best_training_job: None,
            approval: None,
        }
    }

    /// A job that will not change any more: its description can be kept.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status, JobStatus::Completed | JobStatus::Failed | JobStatus::Stopped)
            || (self.kind == JobKind::ModelPackage
                && !matches!(self.status, JobStatus::InProgress | JobStatus::Pending))
    }

    /// The share of the training time a managed spot training job was not billed for, in percent.
    pub fn spot_saving(&self) -> Option<u32> {
        let (t, b) = (self.training_seconds?, self.billable_seconds?);
        (self.spot && t > 0 && b <= t).then(|| (((t - b) as f64 / t as f64) * 100.0).round() as u32)
    }

    /// The CloudWatch log group of this job's kind, for kinds that log there.
    pub fn log_group(&self) -> Option<&'static str> {
        log_group(self.kind)
    }
}

/// The CloudWatch log group SageMaker writes a job kind's container logs to.
pub fn log_group(kind: JobKind) -> Option<&'static str> {
    match kind {
        JobKind::Training => Some("/aws/sagemaker/TrainingJobs"),
        JobKind::Processing => Some("/aws/sagemaker/ProcessingJobs"),
        JobKind::Transform => Some("/aws/sagemaker/TransformJobs"),
        _ => None,
    }
}

/// Whether the dashboard describes this kind of job (the others show what the step's metadata says).
pub fn describable(kind: JobKind) -> bool {
    matches!(
        kind,
        JobKind::Training | JobKind::Processing | JobKind::Transform | JobKind::Tuning | JobKind::ModelPackage
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: JobKind, status: &str) -> JobDetail {
        JobDetail::empty(kind, "j", Some("a"), Some(status))
    }

    #[test]
    fn terminal_statuses_are_kept_and_running_ones_are_not() {
        assert!(job(JobKind::Training, "Completed").is_terminal());
        assert!(job(JobKind::Processing, "Failed").is_terminal());
        assert!(!job(JobKind::Training, "InProgress").is_terminal());
        assert!(!job(JobKind::Training, "Stopping").is_terminal());
        assert!(job(JobKind::ModelPackage, "Completed").is_terminal());
        assert!(!job(JobKind::ModelPackage, "Pending").is_terminal());
    }

    #[test]
    fn spot_saving_is_the_unbilled_share() {
        let mut j = job(JobKind::Training, "Completed");
        j.training_seconds = Some(1000);
        j.billable_seconds = Some(300);
        assert_eq!(j.spot_saving(), None, "not a spot job");
        j.spot = true;
        assert_eq!(j.spot_saving(), Some(70));
        j.training_seconds = Some(0);
        assert_eq!(j.spot_saving(), None, "no division by zero");
    }

    #[test]
    fn only_jobs_that_log_to_cloudwatch_have_a_group() {
        assert_eq!(log_group(JobKind::Training), Some("/aws/sagemaker/TrainingJobs"));
        assert_eq!(log_group(JobKind::Transform), Some("/aws/sagemaker/TransformJobs"));
        assert_eq!(log_group(JobKind::Model), None);
        assert!(describable(JobKind::Tuning) && !describable(JobKind::Endpoint));
    }
}
