//! The 23 SageMaker operations, and CloudWatch Logs' three (`logs::dispatch`). `dispatch` validates the body
//! against the model, applies injected faults, and calls the operation; each operation reads and changes the
//! store under one lock and writes what it changed before it answers.

mod executions;
mod jobs;
mod logs;
mod pipelines;
mod pricing;
pub(crate) mod registry;
mod steps;

pub use logs::dispatch as dispatch_logs;
pub use pricing::dispatch as dispatch_pricing;

use serde_json::{json, Map, Value};

use axum::http::HeaderMap;

use crate::error::{ApiError, ApiResult};
use crate::jobs::JobKind;
use crate::persist::Write;
use crate::runtime::{Core, Inner};
use crate::sessions::{self, Refusal};
use crate::shapes::model;
use crate::state::{Epoch, Execution, Principal};

/// Who is calling, as the request says: the access key id of the SigV4 `Authorization` header and the
/// `X-Amz-Security-Token` of temporary credentials. No signature is checked.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub access_key: Option<String>,
    pub session_token: Option<String>,
}

impl Caller {
    pub fn from_authorization(header: Option<&str>) -> Caller {
        let access_key = header
            .and_then(|h| h.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
            .filter(|k| !k.is_empty() && k.len() <= 128 && k.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(String::from);
        Caller { access_key, session_token: None }
    }

    pub fn from_headers(headers: &HeaderMap) -> Caller {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let mut caller = Caller::from_authorization(text("authorization"));
        caller.session_token = text("x-amz-security-token").map(String::from);
        caller
    }
}

/// How records name the caller: a plain key as itself, credentials the emulator's STS issued as their role
/// session. Expired credentials, or temporary ones sent without their session token, are refused.
pub fn identify(core: &Core, caller: &Caller) -> ApiResult<Option<Principal>> {
    let Some(key) = caller.access_key.as_deref() else { return Ok(None) };
    if !sessions::is_temporary_key(key) {
        return Ok(Some(Principal::Key(key.to_string())));
    }
    let inner = core.lock();
    let now = inner.clock.now();
    match inner.store.sessions.who(Some(key), caller.session_token.as_deref(), now) {
        Ok(who) => Ok(who.principal()),
        Err(Refusal::Expired) => Err(ApiError::expired_token()),
        Err(Refusal::InvalidToken) => Err(ApiError::unrecognized_client()),
    }
}

/// The `UserContext` of a recorded caller: an IAM user for a plain key (`anonymous` when the request was not
/// signed), the assumed-role session with its SourceIdentity for credentials from the emulator's STS.
pub fn user_context(by: Option<&Principal>, inner: &Inner) -> Value {
    match by {
        Some(Principal::Session(s)) => json!({"IamIdentity": {
            "Arn": s.arn,
            "PrincipalId": s.principal_id,
            "SourceIdentity": s.source_identity,
        }}),
        Some(Principal::Key(key)) => user(key, inner),
        None => user("anonymous", inner),
    }
}

fn user(key: &str, inner: &Inner) -> Value {
    json!({"IamIdentity": {
        "Arn": format!("arn:aws:iam::{}:user/{key}", inner.account.account),
        "PrincipalId": key,
    }})
}

/// Run one operation.
pub fn dispatch(core: &Core, operation: &str, body: &Value, caller: &Caller) -> ApiResult<Value> {
    let m = model();
    if m.operation(operation).is_none() {
        return Err(ApiError::unknown_operation(format!("Operation '{operation}' is not supported by this service")));
    }
    // Who is asking is settled first, as on the service: expired credentials are refused whatever they ask.
    let who = identify(core, caller)?;
    let by = who.as_ref();
    m.validate_input(operation, body)?;
    if let Some(fault) = core.lock().scenario.take_fault(operation) {
        return Err(fault);
    }
    let out = match operation {
        "CreatePipeline" => pipelines::create(core, body, by),
        "UpdatePipeline" => pipelines::update(core, body, by),
        "DeletePipeline" => pipelines::delete(core, body),
        "DescribePipeline" => pipelines::describe(core, body),
        "ListPipelines" => pipelines::list(core, body),
        "ListTags" => pipelines::list_tags(core, body),
        "AddTags" => pipelines::add_tags(core, body),
        "ListPipelineVersions" => pipelines::versions(core, body),
        "DescribeTrainingJob" => jobs::describe(core, body, JobKind::Training),
        "DescribeProcessingJob" => jobs::describe(core, body, JobKind::Processing),
        "DescribeTransformJob" => jobs::describe(core, body, JobKind::Transform),
        "DescribeHyperParameterTuningJob" => jobs::describe(core, body, JobKind::Tuning),
        "CreateModelPackageGroup" => registry::create_group(core, body, by),
        "DescribeModelPackageGroup" => registry::describe_group(core, body),
        "ListModelPackageGroups" => registry::list_groups(core, body),
        "CreateModelPackage" => registry::create_package(core, body, by),
        "DescribeModelPackage" => registry::describe_package(core, body),
        "ListModelPackages" => registry::list_packages(core, body),
        "UpdateModelPackage" => registry::update_package(core, body, by),
        "StartPipelineExecution" => executions::start(core, body, by),
        "DescribePipelineExecution" => executions::describe(core, body),
        "ListPipelineExecutions" => executions::list(core, body),
        "StopPipelineExecution" => executions::stop(core, body, by),
        "RetryPipelineExecution" => executions::retry(core, body, by),
        "ListPipelineParametersForExecution" => executions::parameters(core, body),
        "DescribePipelineDefinitionForExecution" => executions::definition(core, body),
        "ListPipelineExecutionSteps" => steps::list(core, body),
        "SendPipelineExecutionStepSuccess" => steps::send_success(core, body),
        "SendPipelineExecutionStepFailure" => steps::send_failure(core, body),
        other => Err(ApiError::unknown_operation(format!("Operation '{other}' is not supported by this service"))),
    }?;
    Ok(strip_nulls(out))
}

/// Absent optional members are omitted, never sent as `null`.
pub fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

pub(crate) fn s<'a>(body: &'a Value, member: &str) -> Option<&'a str> {
    body.get(member).and_then(Value::as_str)
}

pub(crate) fn i(body: &Value, member: &str) -> Option<i64> {
    body.get(member).and_then(Value::as_i64)
}

/// A time member, at the service's precision: its times are whole milliseconds, and a client's copy of one
/// can come back a nanosecond short (the Rust SDK truncates the fraction), which must still mean the same
/// millisecond, or `CreatedAfter` a version's own time would list that version.
pub(crate) fn t(body: &Value, member: &str) -> Option<Epoch> {
    body.get(member).and_then(Value::as_f64).map(|t| (t * 1000.0).round() / 1000.0)
}

/// The answer already given for an idempotency token, if any.
pub(crate) fn remembered(inner: &Inner, operation: &str, token: Option<&str>) -> Option<Value> {
    let token = token?;
    inner.store.idempotency.get(&(operation.to_string(), token.to_string())).cloned()
}

/// Remember an answer for its token and write it down with the operation's other changes.
pub(crate) fn remember(inner: &mut Inner, operation: &str, token: Option<&str>, response: &Value) -> ApiResult<()> {
    if let Some(token) = token {
        inner.store.idempotency.insert((operation.to_string(), token.to_string()), response.clone());
        inner.persist(&[Write::Idempotency { operation, token, response }])?;
    }
    Ok(())
}

/// The shape of every operation that changes one existing execution (stop, retry, a callback answer):
/// a repeated `ClientRequestToken` gets the first answer; otherwise `find` names the execution (and what
/// the change needs to know), `change` applies the operation to it or refuses, and the execution is
/// written down with the token's answer before the engine moves it on.
pub(crate) fn change_execution<T>(
    core: &Core,
    operation: &'static str,
    token: Option<&str>,
    find: impl FnOnce(&Inner) -> ApiResult<(String, T)>,
    change: impl FnOnce(&mut Execution, T, Epoch) -> ApiResult<()>,
) -> ApiResult<Value> {
    let (id, answer) = {
        let mut inner = core.lock();
        if let Some(answer) = remembered(&inner, operation, token) {
            return Ok(answer);
        }
        let (id, found) = find(&inner)?;
        let at = inner.clock.now();
        let ex = inner
            .store
            .executions
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found(format!("Pipeline execution '{id}' does not exist.")))?;
        change(ex, found, at)?;
        let answer = json!({"PipelineExecutionArn": ex.arn});
        let snapshot = ex.clone();
        ex.steps.iter_mut().for_each(|st| st.dirty = false);
        // Only the steps `change` marked dirty are rewritten, with the execution's own row.
        inner.persist(&[Write::Execution { execution: &snapshot, all_steps: false }])?;
        remember(&mut inner, operation, token, &answer)?;
        (id, answer)
    };
    core.advance(&id, core.now());
    Ok(answer)
}

/// Sort order of a list request, newest first unless the caller asks otherwise.
fn ascending(body: &Value) -> bool {
    s(body, "SortOrder") == Some("Ascending")
}

/// Every list operation's last two moves: sort by `order` (ascending only when the request says
/// `SortOrder: Ascending`; the service lists newest first) and cut the page that the request's
/// `NextToken` and `MaxResults` name. `key` names an item uniquely for the next token.
pub(crate) fn sort_and_page<T>(
    mut items: Vec<T>,
    body: &Value,
    order: impl Fn(&T, &T) -> std::cmp::Ordering,
    key: impl Fn(&T) -> String,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let ascending = ascending(body);
    items.sort_by(|a, b| if ascending { order(a, b) } else { order(b, a) });
    crate::paging::page(items, key, s(body, "NextToken"), i(body, "MaxResults"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the Rust SDK sends back for a time it was given: whole seconds and the fraction's nanoseconds,
    /// truncated (`aws_smithy_types::DateTime::from_secs_f64` then its epoch-seconds format).
    fn as_the_sdk_echoes(t: Epoch) -> String {
        let whole = t.floor();
        let nanos = ((t - whole) * 1e9) as u32;
        format!("{}.{nanos:09}", whole as i64)
    }

    #[test]
    fn a_time_echoed_by_a_client_is_the_same_millisecond() {
        // Late 2026, a few thousand milliseconds: a handful of them parse one ulp short without the rounding.
        for ms in 1_796_650_000_000_i64..1_796_650_020_000 {
            let t0 = ms as f64 / 1000.0;
            let body: Value =
                serde_json::from_str(&format!(r#"{{"CreatedAfter": {}}}"#, as_the_sdk_echoes(t0))).unwrap();
            assert_eq!(t(&body, "CreatedAfter"), Some(t0), "{ms} ms");
        }
    }
}
