//! The one way to SageMaker. Every call the dashboard makes goes through a method here, so counting,
//! throttling back-off and error mapping live in one place, and the rest of the server only sees
//! `stepline_types::model` types and [`Upstream`] errors.

use crate::sync::Unpoisoned;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stepline_types::model::OwnCode;
use stepline_types::model::PipelineKey;

use aws_sdk_sagemaker::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sagemaker::config::retry::RetryConfig;
use aws_sdk_sagemaker::config::timeout::TimeoutConfig;
use aws_sdk_sagemaker::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sagemaker::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_sagemaker::primitives::DateTime as AwsTime;
use aws_sdk_sagemaker::types as aws;
use aws_sdk_sagemaker::Client;
use chrono::{DateTime, Utc};

use super::limiter::{Limiter, LimiterConfig, LimiterStats};
use super::scan::Query;
use stepline_types::model::Upstream;
use stepline_types::model::{
    execution_id, pipeline_of_arn, ExecStatus, Execution, ExecutionSummary, NameValue, PipelineDetail, PipelineSummary,
    SelectiveConfig, StepRun,
};

pub mod acting;
mod jobs;
pub mod logs;
mod pricing;
pub mod queue;
mod steps;

pub use steps::metadata;
use steps::step_run;

/// A page of results and the token of the next one.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

pub struct Gateway {
    client: Client,
    /// Every request waits here for its turn (`super::limiter`).
    limiter: Limiter,
    /// Pipelines by lower-cased name: (the name as created, its ARN). Execution ARNs are built on the ARN,
    /// and names read from (lower-cased) ARNs are given back their case. Bounded: see `remember_pipeline`.
    pipeline_arns: std::sync::Mutex<std::collections::HashMap<PipelineKey, (String, String)>>,
    /// Upstream requests sent since start, retries included, counted by the SDK itself.
    calls: Arc<CallCounter>,
    /// Describes the backend in the page footer: "embedded emulator", an endpoint URL, or "AWS us-east-1".
    pub backend: String,
    /// `--act-role`: actions are sent with the person's own credentials.
    act_role: Option<acting::ActRole>,
    /// CloudWatch Logs, for a step's job logs (`logs`): absent, the logs tab says it is not configured.
    logs: Option<aws_sdk_cloudwatchlogs::Client>,
    /// SQS, for SageMaker's events (`queue`): absent unless `--events-queue` names a queue.
    sqs: Option<aws_sdk_sqs::Client>,
    /// The AWS Price List, for cost estimates (`pricing`): absent, costs say there is no price.
    pricing: Option<aws_sdk_pricing::Client>,
}

/// Turn an SDK error into what the page shows: the service's own code and message, or a clear word for
/// the cases where no service answered.
pub fn upstream<E, R>(operation: &str, e: SdkError<E, R>) -> Upstream
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if credentials_failed(&e) {
        return Upstream::own(
            OwnCode::CredentialsUnavailable,
            format!("{operation}: no usable AWS credentials ({})", chain(&e)),
        );
    }
    match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match err.code() {
                Some(code) => Upstream::new(code, err.message().unwrap_or("")),
                // An answer that is not a service error (an HTML 500 page, say) means the endpoint does not
                // implement the operation.
                None => {
                    Upstream::own(OwnCode::NotSupported, format!("{operation} is not available from this endpoint"))
                }
            }
        }
        SdkError::TimeoutError(_) => {
            Upstream::own(OwnCode::Timeout, format!("{operation}: SageMaker did not answer in time"))
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            Upstream::own(OwnCode::Timeout, format!("{operation}: SageMaker did not answer in time ({})", chain(&e)))
        }
        SdkError::DispatchFailure(_) => Upstream::own(
            OwnCode::EndpointUnreachable,
            format!("{operation}: the SageMaker endpoint did not answer ({})", chain(&e)),
        ),
        SdkError::ResponseError(_) => Upstream::own(
            OwnCode::NotSupported,
            format!("{operation}: the endpoint sent an answer that is not SageMaker's ({})", chain(&e)),
        ),
        _ => Upstream::own(OwnCode::RequestFailed, format!("{operation}: {}", chain(&e))),
    }
}

/// Whether the request failed because no credentials could be had (none configured, an expired SSO
/// session, a refused role): told apart from network failures by the error's type, not its words.
fn credentials_failed(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if c.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        cur = c.source();
    }
    false
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

pub fn time(t: Option<&AwsTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

/// Who a UserContext names: the person behind an assumed role (its SourceIdentity) before the role's own ARN.
fn who(u: Option<&aws::UserContext>) -> Option<String> {
    u.and_then(|u| {
        u.user_profile_name()
            .map(String::from)
            .or_else(|| u.iam_identity().and_then(|i| i.source_identity()).map(String::from))
            .or_else(|| u.iam_identity().and_then(|i| i.arn()).map(String::from))
    })
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// Every item of every page of a list request (100 a page, `$field` of each page), each page sent in its
/// own turn of the limiter, or the first error.
macro_rules! all_items {
    ($gateway:expr, $request:expr, $operation:literal, $field:ident) => {{
        let mut pages = $request.max_results(100).into_paginator().send();
        let mut all = Vec::new();
        loop {
            let turn = $gateway.limiter.turn($operation).await?;
            let page = pages.next().await.map(|r| r.map_err(|e| upstream($operation, e)));
            match page {
                None => {
                    turn.finish::<()>(&Ok(()));
                    break;
                }
                Some(result) => {
                    turn.finish(&result);
                    let page = result?;
                    // The last page: no turn is taken for a page that does not exist.
                    let last = page.next_token.is_none();
                    all.extend(page.$field.unwrap_or_default());
                    if last {
                        break;
                    }
                }
            }
        }
        Ok::<_, Upstream>(all)
    }};
}

/// Send an action with the SDK's standard retries (its idempotency token makes a repeated attempt safe),
/// in a turn of the limiter.
macro_rules! act {
    ($gateway:expr, $request:expr, $operation:literal) => {{
        let config = $gateway.acting_config().await?;
        $gateway.call($operation, $request.customize().config_override(config).send()).await
    }};
}

// After the macros: the versions' calls page with `all_items!`.
mod registry;
mod versions;

/// Pipelines whose name and ARN are remembered at most.
const MAX_PIPELINES_REMEMBERED: usize = 20_000;

/// Time limits of every call: a stalled endpoint fails a page in seconds instead of hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The SDK's standard retries, for actions only (see [`Gateway::new`]).
fn retrying() -> aws_sdk_sagemaker::config::Builder {
    aws_sdk_sagemaker::config::Builder::default().retry_config(RetryConfig::standard())
}

/// Counts every request the SDK sends (each attempt, so retries count too) by operation. It sits in the
/// client as an interceptor, so no call can bypass it.
#[derive(Debug, Default)]
pub struct CallCounter {
    total: AtomicU64,
    by_operation: Mutex<BTreeMap<String, u64>>,
}

impl CallCounter {
    fn record(&self, operation: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut map = self.by_operation.locked();
        *map.entry(operation.to_string()).or_default() += 1;
    }
}

#[derive(Debug)]
struct CountCalls(Arc<CallCounter>);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>().map(|m| m.name());
        self.0.record(operation.unwrap_or("unknown"));
        Ok(())
    }
}

impl Gateway {
    /// Wrap a client: the gateway's copy of it counts every request it sends, gives every attempt and
    /// operation a time limit, and does not retry reads. A read that fails is shown as what was last known
    /// (`super::stale`) and tried again after a backoff, so the SDK's own retries would only make a throttled
    /// page wait and spend more of the account's quota. Actions keep the SDK's retries (`retrying`): their
    /// idempotency tokens make a repeated attempt safe.
    pub fn new(client: Client, backend: impl Into<String>) -> Gateway {
        Gateway::with_limits(client, backend, LimiterConfig::default())
    }

    /// As [`Gateway::new`], with other request limits.
    pub fn with_limits(client: Client, backend: impl Into<String>, limits: LimiterConfig) -> Gateway {
        let calls = Arc::new(CallCounter::default());
        let config = client
            .config()
            .to_builder()
            .interceptor(CountCalls(calls.clone()))
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        Gateway {
            client: Client::from_conf(config),
            limiter: Limiter::new(limits),
            pipeline_arns: Default::default(),
            calls,
            backend: backend.into(),
            act_role: None,
            logs: None,
            sqs: None,
            pricing: None,
        }
    }

    /// Read job logs through `client`, counted, limited and timed like SageMaker's calls.
    pub fn with_logs(mut self, client: aws_sdk_cloudwatchlogs::Client) -> Gateway {
        let config = client
            .config()
            .to_builder()
            .interceptor(CountCalls(self.calls.clone()))
            .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        self.logs = Some(aws_sdk_cloudwatchlogs::Client::from_conf(config));
        self
    }

    /// The AWS Price List (its endpoints are in us-east-1, eu-central-1 and ap-south-1 whatever the region
    /// priced), with the same call counting, timeouts and no retries of its own as SageMaker's client.
    pub fn with_pricing(mut self, client: aws_sdk_pricing::Client) -> Gateway {
        let config = client
            .config()
            .to_builder()
            .interceptor(CountCalls(self.calls.clone()))
            .retry_config(aws_sdk_pricing::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_pricing::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        self.pricing = Some(aws_sdk_pricing::Client::from_conf(config));
        self
    }

    /// This replica's share of the account's request budget (see `super::cluster`).
    /// Name this gateway's account and region in its log lines and metrics (when several are shown).
    pub fn set_place(&self, place: &'static str) {
        self.limiter.set_place(place);
    }

    pub fn set_budget_share(&self, share: f64) {
        self.limiter.set_share(share);
    }

    /// Send one request in its turn of the limiter, and tell the limiter how it went.
    async fn call<T, E, R>(
        &self,
        operation: &'static str,
        send: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, Upstream>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let turn = self.limiter.turn(operation).await?;
        let result = send.await.map_err(|e| upstream(operation, e));
        turn.finish(&result);
        result
    }

    /// Send every action with credentials of `role` assumed for the person taking it (`--act-role`).
    pub fn with_act_role(mut self, role: acting::ActRole) -> Gateway {
        self.act_role = Some(role);
        self
    }

    /// The configuration an action is sent with: the SDK's standard retries (its idempotency token makes a
    /// repeated attempt safe) and, with `--act-role`, the person's own credentials. An action with no
    /// person to act for is refused rather than sent as the dashboard's role.
    async fn acting_config(&self) -> Result<aws_sdk_sagemaker::config::Builder, Upstream> {
        let config = retrying();
        let Some(role) = &self.act_role else { return Ok(config) };
        let person = acting::person().ok_or_else(|| {
            Upstream::new(
                "AccessDenied",
                "Stepline acts only on behalf of a person (--act-role), and this action had none",
            )
        })?;
        let creds = match role.kept(&person) {
            Some(c) => c,
            None => {
                let turn = self.limiter.turn("AssumeRole").await?;
                let result = role.assume(&person).await;
                turn.finish(&result);
                result?
            }
        };
        Ok(config.credentials_provider(creds))
    }

    /// What the limiter did since start.
    pub fn limiter_stats(&self) -> LimiterStats {
        self.limiter.stats()
    }

    /// Requests sent upstream since start, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.total.load(Ordering::Relaxed)
    }

    /// Requests sent upstream since start, by operation.
    pub fn calls_by_operation(&self) -> BTreeMap<String, u64> {
        self.calls.by_operation.locked().clone()
    }

    /// Whether SageMaker answers with these credentials: one ListPipelines of one item.
    pub async fn ready(&self) -> Result<(), Upstream> {
        self.call("ListPipelines", self.client.list_pipelines().max_results(1).send()).await.map(|_| ())
    }

    /// Every pipeline.
    pub async fn all_pipelines(&self) -> Result<Vec<PipelineSummary>, Upstream> {
        let summaries = all_items!(self, self.client.list_pipelines(), "ListPipelines", pipeline_summaries)?;
        for p in &summaries {
            self.remember_pipeline(p.pipeline_name().unwrap_or_default(), p.pipeline_arn().unwrap_or_default());
        }
        Ok(summaries
            .iter()
            .map(|p| PipelineSummary {
                name: p.pipeline_name().unwrap_or_default().to_string(),
                arn: p.pipeline_arn().unwrap_or_default().to_string(),
                display_name: owned(p.pipeline_display_name()),
                description: owned(p.pipeline_description()),
                created: time(p.creation_time()),
                modified: time(p.last_modified_time()),
                last_execution: time(p.last_execution_time()),
            })
            .collect())
    }

    pub async fn describe_pipeline(&self, name: &str) -> Result<PipelineDetail, Upstream> {
        let d = self.call("DescribePipeline", self.client.describe_pipeline().pipeline_name(name).send()).await?;
        let (echoed, arn) = (d.pipeline_name().unwrap_or(name).to_string(), d.pipeline_arn().unwrap_or_default());
        self.remember_pipeline(&echoed, arn);
        Ok(PipelineDetail {
            summary: PipelineSummary {
                name: echoed,
                arn: d.pipeline_arn().unwrap_or_default().to_string(),
                display_name: owned(d.pipeline_display_name()),
                description: owned(d.pipeline_description()),
                created: time(d.creation_time()),
                modified: time(d.last_modified_time()),
                last_execution: time(d.last_run_time()),
            },
            definition: d.pipeline_definition().unwrap_or_default().to_string(),
            role_arn: owned(d.role_arn()),
            parallelism: d.parallelism_configuration().and_then(|p| p.max_parallel_execution_steps()),
        })
    }

    /// Remember a pipeline's name and ARN. Only pipelines that exist get here (from SageMaker's answers),
    /// and a map past the bound is cleared rather than grown: it refills from the next answers.
    fn remember_pipeline(&self, name: &str, arn: &str) {
        if name.is_empty() || arn.is_empty() {
            return;
        }
        let mut map = self.pipeline_arns.locked();
        if map.len() >= MAX_PIPELINES_REMEMBERED {
            map.clear();
        }
        map.insert(PipelineKey::of(name), (name.to_string(), arn.to_string()));
    }

    /// The name of a pipeline as it was created, from a name in any case (ARNs carry it lower-cased).
    pub fn echoed_name(&self, name: &str) -> Option<String> {
        self.pipeline_arns.locked().get(&PipelineKey::of(name)).map(|(n, _)| n.clone())
    }

    /// A pipeline's tags, for grants of the policy that name tags.
    pub async fn pipeline_tags(&self, name: &str) -> Result<Vec<(String, String)>, Upstream> {
        let known = self.pipeline_arns.locked().get(&PipelineKey::of(name)).map(|(_, a)| a.clone());
        let arn = match known {
            Some(a) => a,
            None => self.describe_pipeline(name).await?.summary.arn,
        };
        let tags = all_items!(self, self.client.list_tags().resource_arn(&arn), "ListTags", tags)?;
        Ok(tags
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect())
    }

    /// The ARN of execution `id` of `pipeline`, from the pipeline's own ARN (asked once, then remembered).
    pub async fn execution_arn(&self, pipeline: &str, id: &str) -> Result<String, Upstream> {
        let key = PipelineKey::of(pipeline);
        let known = self.pipeline_arns.locked().get(&key).map(|(_, a)| a.clone());
        let pipeline_arn = match known {
            Some(a) => a,
            None => self.describe_pipeline(pipeline).await?.summary.arn,
        };
        Ok(format!("{pipeline_arn}/execution/{id}"))
    }

    /// A page of a pipeline's executions, newest first.
    pub async fn list_executions(
        &self,
        pipeline: &str,
        next: Option<String>,
        max: i32,
    ) -> Result<Page<ExecutionSummary>, Upstream> {
        self.list_executions_in(pipeline, &Query::default(), next, max).await
    }

    /// A page of a pipeline's executions in a time range and order, as SageMaker filters and sorts them.
    pub async fn list_executions_in(
        &self,
        pipeline: &str,
        query: &Query,
        next: Option<String>,
        max: i32,
    ) -> Result<Page<ExecutionSummary>, Upstream> {
        let aws_time = |t: &DateTime<Utc>| AwsTime::from_millis(t.timestamp_millis());
        let request = self
            .client
            .list_pipeline_executions()
            .pipeline_name(pipeline)
            .set_created_after(query.after.as_ref().map(aws_time))
            .set_created_before(query.before.as_ref().map(aws_time))
            .sort_by(aws::SortPipelineExecutionsBy::CreationTime)
            .sort_order(if query.oldest_first { aws::SortOrder::Ascending } else { aws::SortOrder::Descending })
            .set_next_token(next)
            .max_results(max.clamp(1, 100));
        let out = self.call("ListPipelineExecutions", request.send()).await?;
        let items = out
            .pipeline_execution_summaries()
            .iter()
            .map(|s| {
                let arn = s.pipeline_execution_arn().unwrap_or_default().to_string();
                ExecutionSummary {
                    id: execution_id(&arn).to_string(),
                    arn,
                    display_name: owned(s.pipeline_execution_display_name()),
                    status: ExecStatus::parse(s.pipeline_execution_status().map(|x| x.as_str()).unwrap_or("")),
                    start: time(s.start_time()),
                    description: owned(s.pipeline_execution_description()),
                    // Some endpoints send the text "None" for an absent reason.
                    failure_reason: owned(s.pipeline_execution_failure_reason())
                        .filter(|r| !r.is_empty() && r != "None"),
                }
            })
            .collect();
        Ok(Page { items, next: out.next_token })
    }

    pub async fn describe_execution(&self, arn: &str) -> Result<Execution, Upstream> {
        let request = self.client.describe_pipeline_execution().pipeline_execution_arn(arn);
        let d = self.call("DescribePipelineExecution", request.send()).await?;
        let exec_arn = d.pipeline_execution_arn().unwrap_or(arn).to_string();
        let pipeline_arn = d.pipeline_arn().unwrap_or_default().to_string();
        Ok(Execution {
            id: execution_id(&exec_arn).to_string(),
            // ARNs carry the name lower-cased: give it back its case when the pipeline is known.
            pipeline_name: pipeline_of_arn(&exec_arn)
                .or(pipeline_of_arn(&pipeline_arn))
                .map(|n| self.echoed_name(n).unwrap_or_else(|| n.to_string()))
                .unwrap_or_default(),
            arn: exec_arn,
            pipeline_arn,
            display_name: owned(d.pipeline_execution_display_name()),
            description: owned(d.pipeline_execution_description()),
            status: ExecStatus::parse(d.pipeline_execution_status().map(|x| x.as_str()).unwrap_or("")),
            failure_reason: owned(d.failure_reason()).filter(|r| !r.is_empty() && r != "None"),
            created: time(d.creation_time()),
            modified: time(d.last_modified_time()),
            created_by: who(d.created_by()),
            modified_by: who(d.last_modified_by()),
            experiment_name: d.pipeline_experiment_config().and_then(|c| owned(c.experiment_name())),
            trial_name: d.pipeline_experiment_config().and_then(|c| owned(c.trial_name())),
            parallelism: d.parallelism_configuration().and_then(|p| p.max_parallel_execution_steps()),
            selective: d.selective_execution_config().map(|c| SelectiveConfig {
                source_arn: owned(c.source_pipeline_execution_arn()),
                selected_steps: c.selected_steps().iter().filter_map(|s| owned(s.step_name())).collect(),
            }),
            pipeline_version: d.pipeline_version_id(),
            mlflow_arn: d.m_lflow_config().and_then(|m| owned(m.mlflow_resource_arn())),
            mlflow_experiment: d.m_lflow_config().and_then(|m| owned(m.mlflow_experiment_name())),
        })
    }

    /// Every step run of an execution (all pages), in the service's order (newest first).
    pub async fn list_steps(&self, arn: &str) -> Result<Vec<StepRun>, Upstream> {
        let steps = all_items!(
            self,
            self.client.list_pipeline_execution_steps().pipeline_execution_arn(arn),
            "ListPipelineExecutionSteps",
            pipeline_execution_steps
        )?;
        Ok(steps.iter().map(step_run).collect())
    }

    /// Every parameter of an execution, defaults merged, as the service lists them.
    pub async fn list_parameters(&self, arn: &str) -> Result<Vec<NameValue>, Upstream> {
        let parameters = all_items!(
            self,
            self.client.list_pipeline_parameters_for_execution().pipeline_execution_arn(arn),
            "ListPipelineParametersForExecution",
            pipeline_parameters
        )?;
        Ok(parameters
            .iter()
            .map(|p| NameValue {
                name: p.name().unwrap_or_default().to_string(),
                value: p.value().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// The definition an execution runs with (its pipeline version's, not the latest).
    pub async fn execution_definition(&self, arn: &str) -> Result<String, Upstream> {
        let request = self.client.describe_pipeline_definition_for_execution().pipeline_execution_arn(arn);
        let out = self.call("DescribePipelineDefinitionForExecution", request.send()).await?;
        Ok(out.pipeline_definition().unwrap_or_default().to_string())
    }
}

/// What a start needs beyond the pipeline.
pub struct Start<'a> {
    pub token: &'a str,
    pub display_name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub parallelism: Option<i32>,
    pub version: Option<i64>,
    pub mlflow_experiment: Option<&'a str>,
    pub overrides: &'a [(String, String)],
    pub selective: Option<(&'a [String], Option<&'a str>)>,
}

impl Gateway {
    pub async fn start_execution(&self, pipeline: &str, s: Start<'_>) -> Result<String, Upstream> {
        let mut req = self
            .client
            .start_pipeline_execution()
            .pipeline_name(pipeline)
            .client_request_token(s.token)
            .set_pipeline_execution_display_name(s.display_name.map(String::from))
            .set_pipeline_execution_description(s.description.map(String::from))
            .set_pipeline_version_id(s.version)
            .set_mlflow_experiment_name(s.mlflow_experiment.map(String::from));
        if let Some(n) = s.parallelism {
            req = req.parallelism_configuration(
                aws::ParallelismConfiguration::builder().max_parallel_execution_steps(n).build(),
            );
        }
        for (name, value) in s.overrides {
            req = req.pipeline_parameters(aws::Parameter::builder().name(name).value(value).build());
        }
        if let Some((steps, source)) = s.selective {
            let mut cfg =
                aws::SelectiveExecutionConfig::builder().set_source_pipeline_execution_arn(source.map(String::from));
            for st in steps {
                cfg = cfg.selected_steps(aws::SelectedStep::builder().step_name(st).build());
            }
            req = req.selective_execution_config(cfg.build());
        }
        let out = act!(self, req, "StartPipelineExecution")?;
        out.pipeline_execution_arn
            .ok_or_else(|| Upstream::own(OwnCode::InvalidResponse, "StartPipelineExecution returned no ARN"))
    }

    pub async fn stop_execution(&self, arn: &str, token: &str) -> Result<(), Upstream> {
        let req = self.client.stop_pipeline_execution().pipeline_execution_arn(arn).client_request_token(token);
        act!(self, req, "StopPipelineExecution").map(|_| ())
    }

    pub async fn retry_execution(&self, arn: &str, token: &str, parallelism: Option<i32>) -> Result<(), Upstream> {
        let mut req = self.client.retry_pipeline_execution().pipeline_execution_arn(arn).client_request_token(token);
        if let Some(n) = parallelism {
            req = req.parallelism_configuration(
                aws::ParallelismConfiguration::builder().max_parallel_execution_steps(n).build(),
            );
        }
        act!(self, req, "RetryPipelineExecution").map(|_| ())
    }

    pub async fn send_step_success(
        &self,
        callback_token: &str,
        outputs: &[(String, String)],
        token: &str,
    ) -> Result<(), Upstream> {
        let mut req = self
            .client
            .send_pipeline_execution_step_success()
            .callback_token(callback_token)
            .client_request_token(token);
        for (n, v) in outputs {
            req = req.output_parameters(aws::OutputParameter::builder().name(n).value(v).build());
        }
        act!(self, req, "SendPipelineExecutionStepSuccess").map(|_| ())
    }

    pub async fn send_step_failure(&self, callback_token: &str, reason: &str, token: &str) -> Result<(), Upstream> {
        let req = self
            .client
            .send_pipeline_execution_step_failure()
            .callback_token(callback_token)
            .failure_reason(reason)
            .client_request_token(token);
        act!(self, req, "SendPipelineExecutionStepFailure").map(|_| ())
    }
}
