//! The statuses of executions and steps, and what each allows.

use serde::{Deserialize, Serialize};

/// The status of a pipeline execution.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecStatus {
    Executing,
    Stopping,
    Stopped,
    Failed,
    Succeeded,
    CompletedWithFailures,
    /// A status this version does not know yet, shown as the service wrote it.
    Other(String),
}

impl ExecStatus {
    pub const ALL: [ExecStatus; 6] = [
        ExecStatus::Executing,
        ExecStatus::Stopping,
        ExecStatus::Stopped,
        ExecStatus::Failed,
        ExecStatus::Succeeded,
        ExecStatus::CompletedWithFailures,
    ];

    pub fn parse(s: &str) -> ExecStatus {
        match s {
            "Executing" => ExecStatus::Executing,
            "Stopping" => ExecStatus::Stopping,
            "Stopped" => ExecStatus::Stopped,
            "Failed" => ExecStatus::Failed,
            "Succeeded" => ExecStatus::Succeeded,
            "CompletedWithFailures" => ExecStatus::CompletedWithFailures,
            other => ExecStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ExecStatus::Executing => "Executing",
            ExecStatus::Stopping => "Stopping",
            ExecStatus::Stopped => "Stopped",
            ExecStatus::Failed => "Failed",
            ExecStatus::Succeeded => "Succeeded",
            ExecStatus::CompletedWithFailures => "CompletedWithFailures",
            ExecStatus::Other(s) => s,
        }
    }

    /// Finished: no longer running (a `Failed` one may still be retried; see [`ExecStatus::is_final`]).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ExecStatus::Executing | ExecStatus::Stopping)
    }

    /// Finished for good: never changes again, so its data can be cached and nobody needs to follow it. A
    /// `Failed` execution is not: it may be retried from elsewhere (Studio, the SDK).
    pub fn is_final(&self) -> bool {
        self.is_terminal() && *self != ExecStatus::Failed
    }

    /// The CSS tone of a status badge.
    pub fn tone(&self) -> &'static str {
        match self {
            ExecStatus::Executing => "run",
            ExecStatus::Stopping | ExecStatus::Stopped => "stop",
            ExecStatus::Failed => "fail",
            ExecStatus::Succeeded => "ok",
            ExecStatus::CompletedWithFailures => "warn",
            ExecStatus::Other(_) => "stop",
        }
    }
}

/// The status of one step run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StepStatus {
    Starting,
    Executing,
    Stopping,
    Stopped,
    Failed,
    Succeeded,
    Other(String),
}

impl StepStatus {
    pub fn parse(s: &str) -> StepStatus {
        match s {
            "Starting" => StepStatus::Starting,
            "Executing" => StepStatus::Executing,
            "Stopping" => StepStatus::Stopping,
            "Stopped" => StepStatus::Stopped,
            "Failed" => StepStatus::Failed,
            "Succeeded" => StepStatus::Succeeded,
            other => StepStatus::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            StepStatus::Starting => "Starting",
            StepStatus::Executing => "Executing",
            StepStatus::Stopping => "Stopping",
            StepStatus::Stopped => "Stopped",
            StepStatus::Failed => "Failed",
            StepStatus::Succeeded => "Succeeded",
            StepStatus::Other(s) => s,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, StepStatus::Starting | StepStatus::Executing | StepStatus::Stopping)
    }

    pub fn tone(&self) -> &'static str {
        match self {
            StepStatus::Starting | StepStatus::Executing => "run",
            StepStatus::Stopping | StepStatus::Stopped => "stop",
            StepStatus::Failed => "fail",
            StepStatus::Succeeded => "ok",
            StepStatus::Other(_) => "stop",
        }
    }
}
