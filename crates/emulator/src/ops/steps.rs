//! ListPipelineExecutionSteps and the callback answers SendPipelineExecutionStepSuccess/Failure.

use serde_json::{json, Value};

use super::{change_execution, s, sort_and_page};
use crate::error::{ApiError, ApiResult};
use crate::runtime::{Core, Inner};
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
    let listed: Vec<(usize, &StepRun)> =
        ex.steps.iter().enumerate().filter(|(_, st)| st.phase.wire().is_some()).collect();
    let order = |(ia, a): &(usize, &StepRun), (ib, b): &(usize, &StepRun)| {
        a.start.unwrap_or(0.0).total_cmp(&b.start.unwrap_or(0.0)).then(ia.cmp(ib))
    };
    let (page, next) = sort_and_page(listed, body, order, |(_, st)| st.name.clone())?;
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

fn answer(core: &Core, body: &Value, operation: &'static str, answer: CallbackAnswer) -> ApiResult<Value> {
    let callback = s(body, "CallbackToken").unwrap_or_default();
    let missing = || ApiError::not_found(format!("Callback token '{callback}' does not exist."));
    let find = |inner: &Inner| inner.store.callbacks.get(callback).cloned().ok_or_else(missing);
    change_execution(core, operation, s(body, "ClientRequestToken"), find, |ex, step, _| {
        let Some(run) =
            ex.steps.iter_mut().find(|st| st.name == step && st.callback_token.as_deref() == Some(callback))
        else {
            return Err(missing());
        };
        if !run.phase.is_active() || run.callback_answer.is_some() {
            return Err(ApiError::conflict(format!(
                "Callback token '{callback}' of step '{step}' has already been answered; the step is {}.",
                run.phase.wire().unwrap_or("not running")
            )));
        }
        run.callback_answer = Some(answer);
        run.dirty = true;
        Ok(())
    })
}
