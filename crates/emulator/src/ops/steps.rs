//! ListPipelineExecutionSteps and the callback answers SendPipelineExecutionStepSuccess/Failure.

use serde_json::{json, Value};

use super::{ascending, i, remember, remembered, s};
use crate::error::{ApiError, ApiResult};
use crate::paging;
use crate::persist::Write;
use crate::runtime::Core;
use crate::state::{CallbackAnswer, StepPhase, StepRun};

pub fn list(core: &Core, body: &Value) -> ApiResult<Value> {
    let mut inner = core.lock();
    let arn = s(body, "PipelineExecutionArn")
        .ok_or_else(|| ApiError::validation("1 validation error detected: Value null at 'pipelineExecutionArn' failed to satisfy constraint: Member must not be null"))?;
    // The plan first (it may be parsed and remembered), then the execution is only borrowed: a listing
    // never copies the steps' properties.
    let (pipeline_name, version) = {
        let ex = inner.store.execution(arn)?;
        (ex.pipeline_name.clone(), ex.version_id)
    };
    let plan = inner.store.plan(&pipeline_name, version)?;
    let ex = inner.store.execution(arn)?;
    // Only steps that started are listed, newest first unless asked otherwise.
    let mut listed: Vec<(usize, &StepRun)> =
        ex.steps.iter().enumerate().filter(|(_, st)| st.phase.wire().is_some()).collect();
    listed.sort_by(|(ia, a), (ib, b)| {
        let o = a.start.unwrap_or(0.0).total_cmp(&b.start.unwrap_or(0.0)).then(ia.cmp(ib));
        if ascending(body) {
            o
        } else {
            o.reverse()
        }
    });
    let (page, next) = paging::page(listed, |(_, st)| st.name.clone(), s(body, "NextToken"), i(body, "MaxResults"))?;
    let steps: Vec<Value> = page
        .iter()
        .map(|(idx, st)| {
            let sd = plan.definition.steps.get(*idx);
            json!({
                "StepName": st.name,
                "StepDisplayName": sd.and_then(|d| d.display_name.clone()),
                "StepDescription": sd.and_then(|d| d.description.clone()),
                "StartTime": st.start,
                "EndTime": st.end,
                "StepStatus": st.phase.wire(),
                "CacheHitResult": st.cache_source.as_ref().map(|a| json!({"SourcePipelineExecutionArn": a})),
                "AttemptCount": (st.attempt > 0).then_some(st.attempt),
                "FailureReason": if st.phase == StepPhase::Succeeded { None } else { st.failure_reason.clone() },
                "Metadata": st.metadata,
                "SelectiveExecutionResult": st.selective_source.as_ref().map(|a| json!({"SourcePipelineExecutionArn": a})),
            })
        })
        .collect();
    Ok(json!({"PipelineExecutionSteps": steps, "NextToken": next}))
}

pub fn send_success(core: &Core, body: &Value) -> ApiResult<Value> {
    let outputs: Vec<(String, String)> = body
        .get("OutputParameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| (s(p, "Name").unwrap_or_default().to_string(), s(p, "Value").unwrap_or_default().to_string()))
        .collect();
    answer(core, body, "SendPipelineExecutionStepSuccess", CallbackAnswer::Success { outputs })
}

pub fn send_failure(core: &Core, body: &Value) -> ApiResult<Value> {
    let reason = s(body, "FailureReason").unwrap_or("The callback step was failed by its worker.").to_string();
    answer(core, body, "SendPipelineExecutionStepFailure", CallbackAnswer::Failure { reason })
}

fn answer(core: &Core, body: &Value, operation: &str, answer: CallbackAnswer) -> ApiResult<Value> {
    let id = {
        let mut inner = core.lock();
        let token = s(body, "ClientRequestToken");
        if let Some(done) = remembered(&inner, operation, token) {
            return Ok(done);
        }
        let callback = s(body, "CallbackToken").unwrap_or_default();
        let (id, step) = inner
            .store
            .callbacks
            .get(callback)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Callback token '{callback}' does not exist.")))?;
        let Some(ex) = inner.store.executions.get_mut(&id) else {
            return Err(ApiError::not_found(format!("Callback token '{callback}' does not exist.")));
        };
        let Some(run) =
            ex.steps.iter_mut().find(|st| st.name == step && st.callback_token.as_deref() == Some(callback))
        else {
            return Err(ApiError::not_found(format!("Callback token '{callback}' does not exist.")));
        };
        if !run.phase.is_active() || run.callback_answer.is_some() {
            return Err(ApiError::conflict(format!(
                "Callback token '{callback}' of step '{step}' has already been answered; the step is {}.",
                run.phase.wire().unwrap_or("not running")
            )));
        }
        run.callback_answer = Some(answer);
        run.dirty = true;
        let reply = json!({"PipelineExecutionArn": ex.arn});
        let ex = ex.clone();
        inner.persist(&[Write::Execution { execution: &ex, all_steps: false }]).map_err(ApiError::internal)?;
        if let Some(e) = inner.store.executions.get_mut(&id) {
            e.steps.iter_mut().for_each(|st| st.dirty = false);
        }
        remember(&mut inner, operation, token, &reply)?;
        id
    };
    core.advance(&id, core.now());
    let inner = core.lock();
    let arn = inner.store.executions.get(&id).map(|e| e.arn.clone()).unwrap_or_default();
    Ok(json!({"PipelineExecutionArn": arn}))
}
