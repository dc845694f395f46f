//! The emulator's records: pipelines with their versions, executions and step runs. Plain data with serde,
//! so the same structs are what the persistence layer writes and reads back after a restart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Seconds since the Unix epoch with a millisecond fraction: the wire format of every timestamp.
pub type Epoch = f64;

/// Who made a recorded change: what SageMaker's `UserContext.IamIdentity` names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// A long-term access key, shown as the IAM user `arn:aws:iam::<account>:user/<key>`. Stored as the bare
    /// key: records written before the emulator served STS hold exactly this, and still read.
    Key(String),
    /// A role session of credentials the emulator's STS issued, resolved when the call was made: the record
    /// names the person after the credentials expired or were forgotten.
    Session(SessionIdentity),
}

/// An assumed-role session as `IamIdentity` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionIdentity {
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`.
    pub arn: String,
    /// `<role id>:<session name>`.
    pub principal_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pipeline {
    /// The name as it was created; lookups compare case-insensitively.
    pub name: String,
    pub arn: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub role_arn: String,
    pub created: Epoch,
    pub modified: Epoch,
    pub last_run: Option<Epoch>,
    pub parallelism: Option<i64>,
    pub tags: Vec<Value>,
    /// The caller that created it and the last one that changed it.
    #[serde(default)]
    pub created_by: Option<Principal>,
    #[serde(default)]
    pub modified_by: Option<Principal>,
    /// Every definition the pipeline has had; version id n is `versions[n - 1]`.
    pub versions: Vec<PipelineVersion>,
}

impl Pipeline {
    pub fn latest_version(&self) -> i64 {
        self.versions.len() as i64
    }

    pub fn version(&self, id: i64) -> Option<&PipelineVersion> {
        usize::try_from(id).ok().and_then(|i| i.checked_sub(1)).and_then(|i| self.versions.get(i))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PipelineVersion {
    pub id: i64,
    pub definition: String,
    pub created: Epoch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionStatus {
    Executing,
    Stopping,
    Stopped,
    Failed,
    Succeeded,
    CompletedWithFailures,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Executing => "Executing",
            ExecutionStatus::Stopping => "Stopping",
            ExecutionStatus::Stopped => "Stopped",
            ExecutionStatus::Failed => "Failed",
            ExecutionStatus::Succeeded => "Succeeded",
            ExecutionStatus::CompletedWithFailures => "CompletedWithFailures",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, ExecutionStatus::Executing | ExecutionStatus::Stopping)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SelectiveConfig {
    pub source_arn: Option<String>,
    pub selected: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    /// The 12-character suffix of the ARN.
    pub id: String,
    /// The pipeline's name as created (the key of the pipeline, compared case-insensitively).
    pub pipeline_name: String,
    pub pipeline_arn: String,
    pub display_name: String,
    pub description: Option<String>,
    pub status: ExecutionStatus,
    pub failure_reason: Option<String>,
    pub created: Epoch,
    pub modified: Epoch,
    pub version_id: i64,
    /// Every parameter of the definition, defaults merged with overrides, values as strings.
    pub parameters: Vec<(String, String)>,
    pub parallelism: Option<i64>,
    pub selective: Option<SelectiveConfig>,
    pub mlflow_experiment: Option<String>,
    pub experiment_name: String,
    pub trial_name: String,
    pub stop_requested: bool,
    /// The caller that started it and the last one that stopped or retried it.
    #[serde(default)]
    pub created_by: Option<Principal>,
    #[serde(default)]
    pub modified_by: Option<Principal>,
    /// One entry per step of the definition, in definition order.
    pub steps: Vec<StepRun>,
}

/// Where a step is in its life. `Pending`, `Skipped` and `NotSelected` never appear on the wire: such steps
/// are not listed by ListPipelineExecutionSteps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepPhase {
    Pending,
    Starting,
    Executing,
    Stopping,
    Succeeded,
    Failed,
    Stopped,
    /// On a condition branch that was not taken, or downstream of such a step.
    Skipped,
    /// Not selected in a selective execution and not needed from the source execution.
    NotSelected,
}

impl StepPhase {
    pub fn wire(self) -> Option<&'static str> {
        Some(match self {
            StepPhase::Starting => "Starting",
            StepPhase::Executing => "Executing",
            StepPhase::Stopping => "Stopping",
            StepPhase::Succeeded => "Succeeded",
            StepPhase::Failed => "Failed",
            StepPhase::Stopped => "Stopped",
            StepPhase::Pending | StepPhase::Skipped | StepPhase::NotSelected => return None,
        })
    }

    pub fn is_active(self) -> bool {
        matches!(self, StepPhase::Starting | StepPhase::Executing | StepPhase::Stopping)
    }

    pub fn is_done(self) -> bool {
        matches!(self, StepPhase::Succeeded | StepPhase::Failed | StepPhase::Stopped)
    }
}

/// An answer to a callback step, held until the engine applies it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CallbackAnswer {
    Success { outputs: Vec<(String, String)> },
    Failure { reason: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepRun {
    pub name: String,
    pub phase: StepPhase,
    pub start: Option<Epoch>,
    pub end: Option<Epoch>,
    /// The current attempt, from 1; 0 before the step starts.
    pub attempt: u32,
    pub failure_reason: Option<String>,
    /// The `Metadata` member of the step on the wire (one member per step type).
    pub metadata: Option<Value>,
    /// What `{"Get": "Steps.<Name>.<path>"}` reads: the step resource's Describe response.
    pub properties: Value,
    /// Property files written by a Processing step, by PropertyFileName.
    pub property_files: Value,
    pub cache_source: Option<String>,
    pub selective_source: Option<String>,
    /// When the engine must look at this step next (real epoch seconds).
    pub deadline: Option<Epoch>,
    /// For Lambda steps: when the function times out.
    pub timeout_at: Option<Epoch>,
    /// The exception type of the failure of the current attempt, matched against RetryPolicies.
    pub exception_type: Option<String>,
    pub callback_token: Option<String>,
    pub callback_answer: Option<CallbackAnswer>,
    /// The job of the current attempt (name) for job steps.
    pub job_name: Option<String>,
    /// Every job the step's attempts created, oldest first: each attempt is a job of its own, which the
    /// service keeps (Describe*Job, its logs) after the step has moved on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobRun>,
    /// Set by the engine when the record changed and must be written to disk.
    #[serde(skip)]
    pub dirty: bool,
}

impl StepRun {
    pub fn new(name: &str) -> StepRun {
        StepRun {
            name: name.to_string(),
            phase: StepPhase::Pending,
            start: None,
            end: None,
            attempt: 0,
            failure_reason: None,
            metadata: None,
            properties: Value::Null,
            property_files: Value::Null,
            cache_source: None,
            selective_source: None,
            deadline: None,
            timeout_at: None,
            exception_type: None,
            callback_token: None,
            callback_answer: None,
            job_name: None,
            jobs: vec![],
            dirty: true,
        }
    }

    /// Back to the state of a step that never ran (used when a failed execution is retried). The attempt
    /// count carries on, as the service's AttemptCount does, and the jobs of earlier attempts stay.
    pub fn reset(&mut self) {
        let name = std::mem::take(&mut self.name);
        let attempt = self.attempt;
        let jobs = std::mem::take(&mut self.jobs);
        *self = StepRun::new(&name);
        self.attempt = attempt;
        self.jobs = jobs;
    }

    /// The job of the current attempt, if the attempt made one.
    pub fn current_job_mut(&mut self) -> Option<&mut JobRun> {
        let name = self.job_name.as_deref()?;
        self.jobs.last_mut().filter(|j| j.name == name)
    }
}

/// Where a job is in its life, as its Describe*Job status says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    InProgress,
    Stopping,
    Completed,
    Failed,
    Stopped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::InProgress => "InProgress",
            JobStatus::Stopping => "Stopping",
            JobStatus::Completed => "Completed",
            JobStatus::Failed => "Failed",
            JobStatus::Stopped => "Stopped",
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Stopped)
    }
}

/// One job of a step attempt (training, processing, transform, tuning job, model package…). Times are the
/// service's clock, like every time on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub name: String,
    /// The type of the step that made it (`Training`, `Tuning`, …), which says what kind of job it is.
    pub step_type: String,
    pub attempt: u32,
    /// CreationTime: when the attempt began (a retry's, after its interval).
    pub created: Epoch,
    /// When its instances were up and its work began (its log streams start then).
    #[serde(default)]
    pub started: Option<Epoch>,
    /// When the scenario's duration ends it; its work (and its log) is spread until then.
    #[serde(default)]
    pub due: Option<Epoch>,
    /// When a stop request reached it: its work stops there.
    #[serde(default)]
    pub stopping: Option<Epoch>,
    #[serde(default)]
    pub ended: Option<Epoch>,
    pub status: JobStatus,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// The step's arguments as this attempt resolved them (null until it started).
    #[serde(default)]
    pub arguments: Value,
    /// What the scenario asked of it when it started: lines of log per instance, final metric values.
    #[serde(default)]
    pub log_lines: Option<u64>,
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// A RegisterModel step's version in its model package group.
    #[serde(default)]
    pub package_version: Option<u32>,
}

impl JobRun {
    pub fn new(name: &str, step_type: &str, attempt: u32, created: Epoch) -> JobRun {
        JobRun {
            name: name.to_string(),
            step_type: step_type.to_string(),
            attempt,
            created,
            started: None,
            due: None,
            stopping: None,
            ended: None,
            status: JobStatus::InProgress,
            failure_reason: None,
            arguments: Value::Null,
            log_lines: None,
            metrics: BTreeMap::new(),
            package_version: None,
        }
    }

    pub fn end(&mut self, status: JobStatus, at: Epoch, reason: Option<String>) {
        self.status = status;
        self.ended = Some(at);
        if reason.is_some() {
            self.failure_reason = reason;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_read_as_bare_keys_or_sessions_and_write_back_the_same() {
        // A record from before STS: the bare access key.
        let old: Principal = serde_json::from_str(r#""AKIDOLD""#).unwrap();
        assert_eq!(old, Principal::Key("AKIDOLD".into()));
        assert_eq!(serde_json::to_string(&old).unwrap(), r#""AKIDOLD""#);
        let session = Principal::Session(SessionIdentity {
            arn: "arn:aws:sts::123456789012:assumed-role/R/alice".into(),
            principal_id: "AROAEXAMPLE:alice".into(),
            source_identity: Some("alice@example.com".into()),
        });
        let text = serde_json::to_string(&session).unwrap();
        assert_eq!(serde_json::from_str::<Principal>(&text).unwrap(), session);
        let none: Option<Principal> = serde_json::from_str("null").unwrap();
        assert_eq!(none, None);
    }
}
