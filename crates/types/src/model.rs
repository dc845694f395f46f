//! Domain types shared by the server and the browser. The SageMaker gateway turns SDK responses into these;
//! pages and components only ever see these, never the AWS SDK.
pub mod access;
pub mod activity;
pub mod jobs;
pub mod logs;
pub mod version;

use chrono::{DateTime, Utc};
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

    /// Finished executions never change again, so their data can be cached for good.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ExecStatus::Executing | ExecStatus::Stopping)
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

/// The 12-character id at the end of an execution ARN.
pub fn execution_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The pipeline name inside a pipeline or execution ARN.
pub fn pipeline_of_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":pipeline/")?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// What a pasted text names: a pipeline, an execution, or a search term. Used by the search box so a
/// pasted ARN goes straight to its canonical page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Pipeline(String),
    Execution { pipeline: String, id: String },
    Search(String),
}

pub fn classify(text: &str) -> Lookup {
    let t = text.trim();
    if let Some((_, rest)) = t.split_once(":pipeline/") {
        let mut parts = rest.split('/');
        let pipeline = parts.next().unwrap_or_default().to_string();
        match (parts.next(), parts.next()) {
            (Some("execution"), Some(id)) if !id.is_empty() && !pipeline.is_empty() => {
                return Lookup::Execution { pipeline, id: id.to_string() }
            }
            _ if !pipeline.is_empty() => return Lookup::Pipeline(pipeline),
            _ => {}
        }
    }
    Lookup::Search(t.to_string())
}

/// Canonical links. Every row of every table is a real link built here.
pub mod links {
    /// Pipeline names as the API allows them (plus a little slack), so hostile paths never reach upstream.
    pub fn valid_name(s: &str) -> bool {
        !s.is_empty() && s.len() <= 256 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    }

    /// Execution ids: 12 lower-case letters and digits on the service (emulators may differ slightly).
    pub fn valid_id(s: &str) -> bool {
        !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric())
    }

    /// Percent-encode a path segment (pipeline names are `[a-zA-Z0-9-]`, but links must survive anything).
    pub fn seg(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    /// A pipeline's page, under the base path (see `crate::base`), as every link below.
    pub fn pipeline(name: &str) -> String {
        crate::base::href(&format!("/pipelines/{}", seg(name)))
    }

    pub fn execution(pipeline: &str, id: &str) -> String {
        crate::base::href(&format!("/pipelines/{}/executions/{}", seg(pipeline), seg(id)))
    }

    /// An execution's definition against the pipeline's latest.
    pub fn definition(pipeline: &str, id: &str) -> String {
        format!("{}/definition", execution(pipeline, id))
    }

    /// The execution page for an execution ARN, in the ARN's account and region when pages carry them.
    pub fn execution_arn(arn: &str) -> Option<String> {
        let pipeline = super::pipeline_of_arn(arn)?;
        Some(in_place_of(arn, &format!("/pipelines/{}/executions/{}", seg(pipeline), seg(super::execution_id(arn)))))
    }

    /// A pipeline's page for a pipeline (or execution) ARN, in the ARN's account and region.
    pub fn pipeline_arn(arn: &str) -> Option<String> {
        let pipeline = super::pipeline_of_arn(arn)?;
        Some(in_place_of(arn, &format!("/pipelines/{}", seg(pipeline))))
    }

    /// A pipeline's page in the account and region of one of its ARNs (its name as given, not the ARN's).
    pub fn pipeline_in_place_of(arn: &str, name: &str) -> String {
        in_place_of(arn, &format!("/pipelines/{}", seg(name)))
    }

    /// An app path under the page base of an ARN's place (see `crate::base::for_arn`).
    fn in_place_of(arn: &str, path: &str) -> String {
        crate::base::href_in(&crate::base::for_arn(arn), path)
    }

    /// The execution page for an execution ARN of a pipeline whose name is known: ARNs carry the name
    /// lower-cased, links use it as it was created.
    pub fn execution_arn_of(pipeline: &str, arn: &str) -> Option<String> {
        let in_arn = super::pipeline_of_arn(arn)?;
        let name = if in_arn.eq_ignore_ascii_case(pipeline) { pipeline } else { in_arn };
        Some(in_place_of(arn, &format!("/pipelines/{}/executions/{}", seg(name), seg(super::execution_id(arn)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_arns_resolve_to_their_pages() {
        assert_eq!(
            classify(" arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalone/execution/abc123def456 "),
            Lookup::Execution { pipeline: "abalone".into(), id: "abc123def456".into() }
        );
        assert_eq!(
            classify("arn:aws:sagemaker:us-east-1:123456789012:pipeline/Abalone"),
            Lookup::Pipeline("Abalone".into())
        );
        assert_eq!(classify("aba"), Lookup::Search("aba".into()));
        assert_eq!(
            classify("arn:aws:sagemaker:us-east-1:1:pipeline/"),
            Lookup::Search("arn:aws:sagemaker:us-east-1:1:pipeline/".into())
        );
    }

    #[test]
    fn links_are_canonical_and_escaped() {
        assert_eq!(
            links::execution("AbalonePipeline", "abc123def456"),
            "/pipelines/AbalonePipeline/executions/abc123def456"
        );
        assert_eq!(links::pipeline("a b/<c>"), "/pipelines/a%20b%2F%3Cc%3E");
        assert_eq!(
            links::execution_arn("arn:aws:sagemaker:us-east-1:1:pipeline/P/execution/x1").as_deref(),
            Some("/pipelines/P/executions/x1")
        );
    }

    #[test]
    fn lower_cased_arns_link_to_the_pipeline_as_created() {
        let arn = "arn:aws:sagemaker:us-east-1:1:pipeline/abalonepipeline/execution/x1";
        assert_eq!(
            links::execution_arn_of("AbalonePipeline", arn).as_deref(),
            Some("/pipelines/AbalonePipeline/executions/x1")
        );
        assert_eq!(links::execution_arn_of("Other", arn).as_deref(), Some("/pipelines/abalonepipeline/executions/x1"));
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_survive() {
        for s in ExecStatus::ALL {
            assert_eq!(ExecStatus::parse(s.as_str()), s);
        }
        assert_eq!(ExecStatus::parse("Paused").as_str(), "Paused");
        assert!(ExecStatus::Failed.is_terminal() && !ExecStatus::Stopping.is_terminal());
        assert!(StepStatus::parse("Starting").is_running());
    }

    #[test]
    fn iterations_of_a_step_have_keys_and_labels_of_their_own() {
        let plain = StepRun::named("Train", StepStatus::Succeeded);
        assert_eq!((plain.key(), plain.label()), ("Train".to_string(), "Train".to_string()));
        let third = StepRun {
            iteration: Some(Iteration {
                parent: Some("PerRegion".into()),
                index: Some(3),
                item: Some("us-east-1".into()),
            }),
            ..plain.clone()
        };
        assert_eq!(third.key(), "Train[3]");
        assert_eq!(third.label(), "Train [3] us-east-1");
        let long = StepRun {
            display_name: Some("Train model".into()),
            iteration: Some(Iteration { parent: None, index: Some(0), item: Some("x".repeat(100)) }),
            ..plain
        };
        assert_eq!(long.key(), "Train[0]");
        assert_eq!(long.label(), format!("Train model [0] {}…", "x".repeat(23)));
    }

    #[test]
    fn generic_jobs_are_known_by_their_arn() {
        let arn = |t: &str| format!("arn:aws:sagemaker:us-east-1:1:{t}/pipelines-abc-x");
        assert_eq!(JobKind::of_arn(&arn("training-job")), JobKind::Training);
        assert_eq!(JobKind::of_arn(&arn("processing-job")), JobKind::Processing);
        assert_eq!(JobKind::of_arn(&arn("transform-job")), JobKind::Transform);
        assert_eq!(JobKind::of_arn(&arn("hyper-parameter-tuning-job")), JobKind::Tuning);
        assert_eq!(JobKind::of_arn(&arn("automl-job")), JobKind::AutoML);
        assert_eq!(JobKind::of_arn(&arn("mystery")), JobKind::Other);
        assert_eq!(JobKind::of_arn("not an arn"), JobKind::Other);
    }
}

/// The code of a request the dashboard's own limiter held back (`server::limiter`): throttling by another
/// name, said in other words.
pub const HELD_BACK: &str = "QuotaHeldBack";

/// An error from SageMaker (or from reaching it), with the service's own code and message, shown as they
/// are: "AccessDeniedException: … is not authorized to perform: sagemaker:ListPipelines".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    pub code: String,
    pub message: String,
}

impl Upstream {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Upstream {
        Upstream { code: code.into(), message: message.into() }
    }

    /// Whether the service says the thing asked for does not exist: by its error code, never by the words
    /// of its message (an endpoint that says "not found" with a ValidationException shows that error as is).
    pub fn is_not_found(&self) -> bool {
        self.code == "ResourceNotFound"
    }

    pub fn is_throttling(&self) -> bool {
        self.kind() == UpstreamKind::Throttled
    }

    /// What kind of failure this is, by its code: the codes the service and the SDK use, and the ones the
    /// gateway gives failures where no service answered.
    pub fn kind(&self) -> UpstreamKind {
        match self.code.as_str() {
            "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | crate::model::HELD_BACK => UpstreamKind::Throttled,
            "ResourceNotFound" => UpstreamKind::NotFound,
            "AccessDeniedException" | "AccessDenied" => UpstreamKind::AccessDenied,
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "CredentialsUnavailable" => UpstreamKind::Credentials,
            "EndpointUnreachable" => UpstreamKind::Unreachable,
            "Timeout" => UpstreamKind::Timeout,
            _ => UpstreamKind::Service,
        }
    }

    /// Whether a refresh that failed this way may succeed later by itself, so that what was already known
    /// is worth showing meanwhile. A thing that is gone, or a request the service refuses as malformed, is
    /// not: that answer is the answer.
    pub fn is_transient(&self) -> bool {
        match self.kind() {
            UpstreamKind::NotFound => false,
            UpstreamKind::Service => matches!(self.code.as_str(), "InternalFailure" | "ServiceUnavailable"),
            _ => true,
        }
    }

    /// The failure in words, for notices: "SageMaker is throttling".
    pub fn summary(&self) -> &'static str {
        if self.code == HELD_BACK {
            return "Stepline is pacing its requests to stay inside SageMaker's quota";
        }
        match self.kind() {
            UpstreamKind::Throttled => "SageMaker is throttling",
            UpstreamKind::NotFound => "SageMaker says it does not exist",
            UpstreamKind::AccessDenied => "SageMaker denied access",
            UpstreamKind::Credentials => "the AWS credentials were refused or are missing",
            UpstreamKind::Unreachable => "the SageMaker endpoint could not be reached",
            UpstreamKind::Timeout => "SageMaker did not answer in time",
            UpstreamKind::Service => "SageMaker answered with an error",
        }
    }
}

impl Upstream {
    /// What to do about it, for a page that has nothing to show.
    pub fn advice(&self) -> &'static str {
        match self.kind() {
            UpstreamKind::Throttled => {
                "SageMaker limits how often an account may ask (Studio, the SDK and CI share the quota). This page \
                 asks again by itself; reload in a few seconds."
            }
            UpstreamKind::NotFound => "Check the name in the address, or go back to the pipelines.",
            UpstreamKind::AccessDenied => {
                "The dashboard's AWS role lacks the permission named above; ask whoever runs it to grant it."
            }
            UpstreamKind::Credentials => {
                "The dashboard's AWS credentials are missing, expired or invalid; whoever runs it must renew them."
            }
            UpstreamKind::Unreachable | UpstreamKind::Timeout => {
                "Check that the SageMaker endpoint is reachable from the dashboard's server, then reload."
            }
            UpstreamKind::Service => "Reload to try again.",
        }
    }
}

/// Kinds of upstream failure, each told to the user in its own words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamKind {
    Throttled,
    NotFound,
    AccessDenied,
    /// Expired, missing or invalid credentials: not a network problem.
    Credentials,
    /// No answer at all: the endpoint is down or not where it was said to be.
    Unreachable,
    /// The attempt or the whole operation ran out of time.
    Timeout,
    /// Any other answer of the service.
    Service,
}

/// How current what a page shows is: when it was fetched and, when the last refresh failed, why. Every
/// page that SageMaker may fail to refresh carries one, so it can say "as of 12:03:15 — SageMaker is
/// throttling; retrying in 20 s" instead of blanking what it already knew.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Freshness {
    pub as_of: Option<DateTime<Utc>>,
    pub problem: Option<Problem>,
}

/// A refresh that failed, and when the next one will be tried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub error: Upstream,
    /// Seconds until the next attempt, counted when the answer was made.
    pub retry_in: u32,
}

impl Freshness {
    pub fn fresh(as_of: DateTime<Utc>) -> Freshness {
        Freshness { as_of: Some(as_of), problem: None }
    }

    /// A page made of two parts is as old as its older part, and names the first problem of either.
    pub fn and(self, other: Freshness) -> Freshness {
        let as_of = match (self.as_of, other.as_of) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Freshness { as_of, problem: self.problem.or(other.problem) }
    }

    /// The notice for a page whose data could not be refreshed, without its time (the page writes that in
    /// the viewer's time zone): "SageMaker is throttling (ThrottlingException: Rate exceeded); retrying in
    /// 20 s". `None` while the data is current.
    pub fn notice(&self) -> Option<String> {
        self.problem.as_ref().map(Problem::describe)
    }
}

impl Problem {
    pub fn describe(&self) -> String {
        let retry = match self.retry_in {
            0 => "retrying now".to_string(),
            n => format!("retrying in {n} s"),
        };
        format!("{} ({}); {retry}", self.error.summary(), crate::text::clip(&self.error.to_string(), 300))
    }
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
