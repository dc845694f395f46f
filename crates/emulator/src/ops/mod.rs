//! The 15 operations. `dispatch` validates the body against the model, applies injected faults, and calls
//! the operation; each operation reads and changes the store under one lock and writes what it changed
//! before it answers.

mod executions;
mod pipelines;
mod steps;

use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::persist::Write;
use crate::runtime::{Core, Inner};
use crate::shapes::model;
use crate::state::{Epoch, Execution};

/// Who is calling, from the SigV4 `Authorization` header (the access key id), for CreatedBy fields.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub access_key: Option<String>,
}

impl Caller {
    pub fn from_authorization(header: Option<&str>) -> Caller {
        let access_key = header
            .and_then(|h| h.split("Credential=").nth(1))
            .and_then(|c| c.split('/').next())
            .filter(|k| !k.is_empty() && k.len() <= 128 && k.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(String::from);
        Caller { access_key }
    }
}

/// The `UserContext` of a recorded access key.
pub fn user_context(access_key: Option<&str>, inner: &Inner) -> Value {
    let key = access_key.unwrap_or("anonymous");
    json!({"IamIdentity": {
        "Arn": format!("arn:aws:iam::{}:user/{key}", inner.account.account),
        "PrincipalId": key,
    }})
}

impl Caller {
    pub fn key(&self) -> Option<String> {
        self.access_key.clone()
    }
}

/// Run one operation.
pub fn dispatch(core: &Core, operation: &str, body: &Value, caller: &Caller) -> ApiResult<Value> {
    let m = model();
    if m.operation(operation).is_none() {
        return Err(ApiError::unknown_operation(format!("Operation '{operation}' is not supported by this service")));
    }
    m.validate_input(operation, body)?;
    if let Some(fault) = core.lock().scenario.take_fault(operation) {
        return Err(fault);
    }
    let out = match operation {
        "CreatePipeline" => pipelines::create(core, body, caller),
        "UpdatePipeline" => pipelines::update(core, body, caller),
        "DeletePipeline" => pipelines::delete(core, body),
        "DescribePipeline" => pipelines::describe(core, body),
        "ListPipelines" => pipelines::list(core, body),
        "StartPipelineExecution" => executions::start(core, body, caller),
        "DescribePipelineExecution" => executions::describe(core, body),
        "ListPipelineExecutions" => executions::list(core, body),
        "StopPipelineExecution" => executions::stop(core, body, caller),
        "RetryPipelineExecution" => executions::retry(core, body, caller),
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

pub(crate) fn t(body: &Value, member: &str) -> Option<Epoch> {
    body.get(member).and_then(Value::as_f64)
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
