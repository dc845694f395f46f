//! The emulator's EventBridge rule (pure: `runtime` sends what it makes): SageMaker's events, in EventBridge's envelope, sent to the events queue
//! (`--events-queue`, `sagemaker-events` unless named) when that queue exists.
//!
//! After each advance of an execution its status and each step's are compared with what was last published;
//! every difference is an event: "SageMaker Model Building Pipeline Execution Status Change", "… Execution
//! Step Status Change", and "SageMaker Model Package State Change" when a RegisterModel step succeeds. A
//! scenario's `duplicate_events` sends each one twice, as EventBridge may (delivery is at least once).

use serde_json::{json, Map, Value};

use crate::engine::iso8601;
use crate::jobs::Account;
use crate::random::uuid_like;
pub use crate::sqs::published::{Published, PublishedStates};
use crate::state::{Epoch, Execution, StepPhase};
use crate::store::Plan;

/// The queue the rule targets unless `--events-queue` names another.
pub const DEFAULT_QUEUE: &str = "sagemaker-events";

pub(crate) fn envelope(account: &Account, detail_type: &str, resources: Vec<&str>, detail: Value, now: Epoch) -> Value {
    json!({
        "version": "0",
        "id": uuid_like(),
        "detail-type": detail_type,
        "source": "aws.sagemaker",
        "account": account.account,
        "time": iso8601(now).replace(".000Z", "Z"),
        "region": account.region,
        "resources": resources,
        "detail": detail,
    })
}

fn time(t: Option<Epoch>) -> Value {
    t.map_or(Value::Null, |t| Value::String(iso8601(t)))
}

/// The events an execution's changes since the last look make, oldest first: a start before its steps, an
/// end after them.
fn events_of(account: &Account, ex: &Execution, plan: &Plan, before: &Published, now: Epoch) -> Vec<Value> {
    let resources = vec![ex.pipeline_arn.as_str(), ex.arn.as_str()];
    let status = Some(ex.status.as_str());
    let execution = (before.status != status).then(|| {
        let detail = json!({
            "pipelineExecutionDisplayName": ex.display_name,
            "pipelineExecutionDescription": ex.description,
            "currentPipelineExecutionStatus": ex.status.as_str(),
            "previousPipelineExecutionStatus": before.status,
            "executionStartTime": iso8601(ex.created),
            "executionEndTime": ex.status.is_terminal().then(|| iso8601(ex.modified)),
            "pipelineArn": ex.pipeline_arn,
            "pipelineExecutionArn": ex.arn,
        });
        envelope(
            account,
            "SageMaker Model Building Pipeline Execution Status Change",
            resources.clone(),
            strip(detail),
            now,
        )
    });
    let mut steps = vec![];
    for (i, st) in ex.steps.iter().enumerate() {
        let was = before.steps.get(i).copied().flatten();
        let Some(current) = st.phase.wire() else { continue };
        if was == Some(current) {
            continue;
        }
        let step_type = plan.definition.steps.get(i).map(|d| d.step_type.as_str().to_string());
        let detail = json!({
            "stepName": st.name,
            "stepType": step_type,
            "currentStepStatus": current,
            "previousStepStatus": was,
            "stepStartTime": time(st.start),
            "stepEndTime": time(st.end),
            "metadata": st.metadata,
            "failureReason": if st.phase == StepPhase::Failed { st.failure_reason.clone() } else { None },
            "cacheHitResult": st.cache_source.as_ref().map(|a| json!({"sourcePipelineExecutionArn": a})),
            "pipelineArn": ex.pipeline_arn,
            "pipelineExecutionArn": ex.arn,
        });
        steps.push(envelope(
            account,
            "SageMaker Model Building Pipeline Execution Step Status Change",
            resources.clone(),
            strip(detail),
            now,
        ));
        let registered = st.phase == StepPhase::Succeeded
            && step_type.as_deref() == Some("RegisterModel")
            && st.cache_source.is_none();
        if registered {
            if let Some(package) = model_package(&st.properties, ex) {
                let arn = package.get("ModelPackageArn").and_then(Value::as_str).unwrap_or_default().to_string();
                steps.push(envelope(account, "SageMaker Model Package State Change", vec![&arn], package, now));
            }
        }
    }
    let ends = ex.status.is_terminal();
    let mut out = vec![];
    if !ends {
        out.extend(execution.clone());
    }
    out.extend(steps);
    if ends {
        out.extend(execution);
    }
    out
}

/// The model package's fields, from the RegisterModel step's Describe response.
fn model_package(properties: &Value, ex: &Execution) -> Option<Value> {
    let p = properties.as_object()?;
    const FIELDS: [&str; 8] = [
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageName",
        "ModelApprovalStatus",
        "ModelPackageStatus",
        "CreationTime",
        "MetadataProperties",
    ];
    let mut d: Map<String, Value> =
        FIELDS.iter().filter_map(|k| p.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
    d.get("ModelPackageArn")?;
    d.entry("ModelApprovalStatus").or_insert(json!("PendingManualApproval"));
    d.entry("MetadataProperties").or_insert(json!({"GeneratedBy": ex.arn}));
    if let Some(t) = d.get("CreationTime").and_then(Value::as_f64) {
        d.insert("CreationTime".into(), Value::String(iso8601(t)));
    }
    Some(Value::Object(d))
}

/// Absent members are left out, as in AWS's events.
fn strip(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// Remember `ex` as already published (a running execution read back at start: its events went out before).
pub fn remember(published: &mut PublishedStates, ex: &Execution) {
    if !ex.status.is_terminal() {
        published.insert(ex.id.clone(), Published::of(ex));
    }
}

/// What an advance of `ex` publishes: the events (none while the events queue does not exist, `queue_exists`)
/// and what to remember of it (`None` once it has ended: it will not change again). `None` altogether when
/// nothing changed since `before`.
pub fn changes(
    ex: &Execution,
    plan: &Plan,
    before: &Published,
    account: &Account,
    queue_exists: bool,
    now: Epoch,
) -> Option<(Vec<Value>, Option<Published>)> {
    let after = Published::of(ex);
    if *before == after {
        return None;
    }
    let events = if queue_exists { events_of(account, ex, plan, before, now) } else { vec![] };
    let ended = ex.status.is_terminal() && !ex.steps.iter().any(|s| s.phase.is_active());
    Some((events, (!ended).then_some(after)))
}
