//! Amazon SQS on the same endpoint (`X-Amz-Target: AmazonSQS.<Operation>`, AWS JSON 1.0 as `aws-sdk-sqs`
//! and boto3 speak it): CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage, ReceiveMessage (with
//! long polling), DeleteMessage, DeleteMessageBatch and ChangeMessageVisibility on standard queues, durable
//! in the data dir, with the scenario's faults, latency and quotas by operation name. It exists so the
//! emulator can do what an EventBridge rule does for SageMaker's events (`events`), and a client can read them
//! the way it would on AWS.
//!
//! Layout: `queue` (a queue's messages and what receiving and deleting does: pure), `ops` (the operations),
//! `events` (the rule) with `published` (what it last sent of each execution), and here the dispatch, the long poll and the error's wire form.

pub mod events;
pub mod ops;
pub mod published;
pub mod queue;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::ops::{identify, Caller};
use crate::runtime::Core;
use crate::shapes::sqs_model;

/// `http://host:port` as the client called it: queue URLs point back at it.
#[derive(Clone, Debug)]
pub struct Origin(pub String);

pub(crate) fn error(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// The checks every operation makes first: a known operation, credentials, the model, an armed fault.
fn admit(core: &Core, operation: &str, body: &Value, caller: &Caller) -> ApiResult<()> {
    let m = sqs_model();
    if m.operation(operation).is_none() {
        return Err(error(
            "UnsupportedOperation",
            format!("Operation '{operation}' is not served by this emulator's SQS"),
        ));
    }
    identify(core, caller)?;
    m.validate_input(operation, body).map_err(|e| match e.code {
        "ValidationException" => ops::invalid(e.message),
        _ => e,
    })?;
    match core.lock().scenario.take_fault_of("sqs", operation) {
        Some(fault) => Err(fault),
        None => Ok(()),
    }
}

/// Run one SQS operation but ReceiveMessage (`receive`).
pub fn dispatch(core: &Core, operation: &str, body: &Value, caller: &Caller, origin: &Origin) -> ApiResult<Value> {
    admit(core, operation, body, caller)?;
    let mut inner = core.lock();
    let now = inner.clock.now();
    let answer = match operation {
        "CreateQueue" => ops::create_queue(&mut inner, body, origin, now),
        "GetQueueUrl" => ops::get_queue_url(&inner, body, origin),
        "GetQueueAttributes" => ops::get_queue_attributes(&inner, body, now),
        "SendMessage" => ops::send_message(&mut inner, body, now),
        "DeleteMessage" => ops::delete_message(&mut inner, body),
        "DeleteMessageBatch" => ops::delete_message_batch(&mut inner, body),
        "ChangeMessageVisibility" => ops::change_message_visibility(&mut inner, body, now),
        other => {
            Err(error("UnsupportedOperation", format!("Operation '{other}' is not served by this emulator's SQS")))
        }
    };
    drop(inner);
    if answer.is_ok() && matches!(operation, "SendMessage" | "ChangeMessageVisibility") {
        core.queues_changed.notify_waiters();
    }
    answer
}

/// ReceiveMessage: answers at once when messages are visible, else waits up to `WaitTimeSeconds` (real
/// seconds: a network wait) for one to be sent or to become visible again.
pub async fn receive(core: Arc<Core>, body: Value, caller: Caller) -> ApiResult<Value> {
    admit(&core, "ReceiveMessage", &body, &caller)?;
    let request = ops::receive_request(&core.lock(), &body)?;
    let deadline = Instant::now() + Duration::from_secs(request.wait as u64);
    loop {
        // Asked for before the look, so a message sent right after it still wakes this wait.
        let changed = core.queues_changed.notified();
        let got = {
            let mut inner = core.lock();
            let now = inner.clock.now();
            ops::receive_now(&mut inner, &request, now)?
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if !got.is_empty() || left.is_zero() {
            return Ok(ops::received(&got, &request.attributes));
        }
        // A message may also become visible by time alone: look again at least four times a second.
        let _ = tokio::time::timeout(left.min(Duration::from_millis(250)), changed).await;
    }
}

/// SQS's legacy error code of a JSON error (the `x-amzn-query-error` header of query-compatible services,
/// which botocore maps its exception classes from).
pub fn query_code(code: &str) -> &str {
    match code {
        "QueueDoesNotExist" => "AWS.SimpleQueueService.NonExistentQueue",
        "MessageNotInflight" => "AWS.SimpleQueueService.MessageNotInflight",
        "TooManyEntriesInBatchRequest" => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        "EmptyBatchRequest" => "AWS.SimpleQueueService.EmptyBatchRequest",
        "BatchEntryIdsNotDistinct" => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        "InvalidBatchEntryId" => "AWS.SimpleQueueService.InvalidBatchEntryId",
        "UnsupportedOperation" => "AWS.SimpleQueueService.UnsupportedOperation",
        "QueueNameExists" => "QueueAlreadyExists",
        other => other,
    }
}

/// An error as SQS words it: the SageMaker codes faults and the validator use, in SQS's terms.
pub fn sqs_style(e: ApiError) -> ApiError {
    let code = match e.code {
        "ThrottlingException" => "RequestThrottled",
        "ResourceNotFound" | "ResourceNotFoundException" => "QueueDoesNotExist",
        "ValidationException" => "InvalidParameterValue",
        "InternalFailure" => "InternalError",
        other => other,
    };
    ApiError { code, ..e }
}
