//! SageMaker's shapes as the dashboard keeps them: pipelines, executions, steps and their metadata.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::status::{ExecStatus, StepStatus};
use super::upstream::Upstream;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineSummary {
    pub name: String,
    pub arn: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub last_execution: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineDetail {
    pub summary: PipelineSummary,
    pub definition: String,
    pub role_arn: Option<String>,
    pub parallelism: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    pub arn: String,
    pub id: String,
    pub display_name: Option<String>,
    pub status: ExecStatus,
    pub start: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub failure_reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectiveConfig {
    pub source_arn: Option<String>,
    pub selected_steps: Vec<String>,
}

/// Everything DescribePipelineExecution says about an execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub arn: String,
    pub id: String,
    pub pipeline_arn: String,
    pub pipeline_name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub status: ExecStatus,
    pub failure_reason: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
    pub experiment_name: Option<String>,
    pub trial_name: Option<String>,
    pub parallelism: Option<i32>,
    pub selective: Option<SelectiveConfig>,
    pub pipeline_version: Option<i64>,
    pub mlflow_arn: Option<String>,
    pub mlflow_experiment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// A job's kind, for its console and log links.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobKind {
    Training,
    Processing,
    Transform,
    Tuning,
    AutoML,
    Model,
    ModelPackage,
    Endpoint,
    EndpointConfig,
    /// A SageMaker inference component (an endpoint's model copies).
    InferenceComponent,
    /// Amazon Bedrock resources a pipeline step made.
    BedrockCustomModel,
    BedrockCustomModelDeployment,
    BedrockProvisionedThroughput,
    BedrockModelImport,
    Other,
}

impl JobKind {
    /// The kind of a SageMaker job by the resource type in its ARN (`training-job/…`), for the metadata of
    /// the generic Job step, which names only the ARN.
    pub fn of_arn(arn: &str) -> JobKind {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        match resource.split('/').next().unwrap_or_default() {
            "training-job" => JobKind::Training,
            "processing-job" => JobKind::Processing,
            "transform-job" => JobKind::Transform,
            "hyper-parameter-tuning-job" => JobKind::Tuning,
            "automl-job" => JobKind::AutoML,
            _ => JobKind::Other,
        }
    }
}

/// The `Metadata` of a step run, one variant per kind of step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StepMetadata {
    None,
    Job {
        kind: JobKind,
        arn: String,
        /// The job's name in its own case (the ARN has it lower-cased): what the console and CloudWatch
        /// log streams are named by.
        name: String,
    },
    Condition {
        outcome: Option<bool>,
    },
    Callback {
        token: Option<String>,
        queue_url: Option<String>,
        outputs: Vec<NameValue>,
    },
    Lambda {
        arn: Option<String>,
        outputs: Vec<NameValue>,
    },
    Fail {
        message: Option<String>,
    },
    Emr {
        cluster_id: Option<String>,
        step_id: Option<String>,
        step_name: Option<String>,
        log_path: Option<String>,
    },
    Check {
        kind: String,
        check_type: Option<String>,
        job_arn: Option<String>,
        violation_report: Option<String>,
        baseline_constraints: Option<String>,
        baseline_statistics: Option<String>,
        /// The baselines the check compared against (`BaselineUsedForDriftCheck…`).
        drift_constraints: Option<String>,
        drift_statistics: Option<String>,
        model_package_group: Option<String>,
        skip_check: Option<bool>,
        register_new_baseline: Option<bool>,
    },
    EmrServerless {
        application_id: Option<String>,
        job_run_id: Option<String>,
        job_run_name: Option<String>,
        log_path: Option<String>,
    },
    /// The lineage entities a step made: each map is name → ARN (sorted by name), and the associations
    /// between them.
    Lineage {
        actions: Vec<NameValue>,
        artifacts: Vec<NameValue>,
        contexts: Vec<NameValue>,
        associations: Vec<Association>,
    },
    Athena {
        query_execution_id: Option<String>,
        output_location: Option<String>,
    },
    /// What a Cleanup step deleted (the S3 outputs of upstream steps), could not delete, and skipped.
    Cleanup {
        cleaned: Vec<String>,
        failed: Vec<CleanupFailure>,
        skipped: Vec<String>,
    },
    /// A ForEach step's own run: its iterations are step runs of their own (`StepRun::iteration`).
    ForEach {
        status: Option<StepStatus>,
        input_items: Option<i32>,
        total_steps: Option<i32>,
        succeeded_steps: Option<i32>,
        failed_steps: Option<i32>,
        stopped_steps: Option<i32>,
        /// The body step and iteration the ForEach's selector picked.
        selected: Option<ForEachSelection>,
    },
    /// A kind this version does not render specially; its name and ARN if it has one.
    Other {
        kind: String,
        arn: Option<String>,
    },
}

/// A lineage association: an edge from one entity to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Association {
    pub source: Option<String>,
    pub destination: Option<String>,
}

/// An upstream step whose outputs a Cleanup step could not delete, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupFailure {
    pub step: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForEachSelection {
    pub step: Option<String>,
    pub index: Option<i32>,
}

/// Which iteration of a ForEach step a step run is (`IterationContext`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iteration {
    /// The ForEach step that made it.
    pub parent: Option<String>,
    pub index: Option<i32>,
    /// The input item it works on, as SageMaker wrote it (up to 12,800 characters).
    pub item: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub status: StepStatus,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub attempts: Option<i32>,
    pub failure_reason: Option<String>,
    pub cache_source: Option<String>,
    pub selective_source: Option<String>,
    pub metadata: StepMetadata,
    /// Set on each iteration of a ForEach step: its runs share the body step's name.
    #[serde(default)]
    pub iteration: Option<Iteration>,
}

impl StepRun {
    /// A step run known only by name and status (for drawing a selection, and in tests).
    pub fn named(name: &str, status: StepStatus) -> StepRun {
        StepRun {
            name: name.to_string(),
            display_name: None,
            description: None,
            status,
            start: None,
            end: None,
            attempts: None,
            failure_reason: None,
            cache_source: None,
            selective_source: None,
            metadata: StepMetadata::None,
            iteration: None,
        }
    }

    /// What tells this run apart from every other of the execution, in the URL (`?step=`) and in the
    /// charts: the step's name, and for an iteration of a ForEach step its index too (`Train[3]`; step
    /// names have no brackets).
    pub fn key(&self) -> String {
        match self.iteration.as_ref().and_then(|i| i.index) {
            Some(index) => format!("{}[{index}]", self.name),
            None => self.name.clone(),
        }
    }

    /// The run's name as the page shows it: the display name (else the name), and for an iteration its
    /// index and, briefly, its item: "Train [3] us-east-1".
    pub fn label(&self) -> String {
        let name = self.display_name.clone().unwrap_or_else(|| self.name.clone());
        match &self.iteration {
            None => name,
            Some(i) => {
                let index = i.index.map(|n| format!(" [{n}]")).unwrap_or_else(|| " [?]".into());
                let item = i.item.as_deref().map(|t| format!(" {}", crate::text::clip(t, 24))).unwrap_or_default();
                format!("{name}{index}{item}")
            }
        }
    }
}

/// Everything the execution page shows that changes while it runs: what live updates carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionView {
    pub execution: Execution,
    pub steps: Result<Vec<StepRun>, Upstream>,
    pub parameters: Result<Vec<NameValue>, Upstream>,
    pub fetched_at: DateTime<Utc>,
}
