//! The SQS operations, each under the one lock and written down before it answers. `ReceiveMessage`'s long
//! poll lives in `super::receive`: here is one attempt at it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::queue::{AttributeError, Attributes, Message, Queue, ReceiptError};
use super::{error, Origin};
use crate::error::{ApiError, ApiResult};
use crate::persist::Write;
use crate::runtime::Inner;
use crate::state::Epoch;

/// The most entries of a batch request.
const MAX_BATCH: usize = 10;

fn text<'a>(body: &'a Value, member: &str) -> Option<&'a str> {
    body.get(member).and_then(Value::as_str)
}

/// An integer member within `lo..=hi`, or SQS's `InvalidParameterValue` naming it.
fn int_in(body: &Value, member: &str, lo: i64, hi: i64) -> ApiResult<Option<i64>> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().filter(|n| (lo..=hi).contains(n)).map(Some).ok_or_else(|| {
            invalid(format!(
                "Value {v} for parameter {member} is invalid. Reason: Must be between {lo} and {hi}, if provided."
            ))
        }),
    }
}

pub(super) fn invalid(message: impl Into<String>) -> ApiError {
    error("InvalidParameterValue", message)
}

fn no_queue() -> ApiError {
    error("QueueDoesNotExist", "The specified queue does not exist.")
}

fn receipt_error(e: ReceiptError, handle: &str) -> ApiError {
    match e {
        ReceiptError::Invalid => error(
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        ),
        ReceiptError::NotInflight => error("MessageNotInflight", "The message referred to is not in flight."),
    }
}

/// The URL of a queue, on the endpoint the client called.
pub(super) fn queue_url(origin: &Origin, account: &str, name: &str) -> String {
    format!("{}/{account}/{name}", origin.0)
}

/// The queue a `QueueUrl` names: its last two path segments are the account and the name (any host: the
/// SDKs send every call to their endpoint whatever host the URL has).
fn queue_name<'a>(inner: &Inner, url: &'a str) -> ApiResult<&'a str> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let mut parts = path.trim_end_matches('/').rsplitn(2, '/');
    let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(no_queue)?;
    let account = parts.next().and_then(|a| a.rsplit('/').next()).ok_or_else(no_queue)?;
    if account != inner.account.account || !inner.store.queues.contains_key(name) {
        return Err(no_queue());
    }
    Ok(name)
}

fn queue_mut<'a>(inner: &'a mut Inner, url: &str) -> ApiResult<&'a mut Queue> {
    let name = queue_name(inner, url)?.to_string();
    inner.store.queues.get_mut(&name).ok_or_else(no_queue)
}

fn valid_queue_name(name: &str) -> bool {
    (1..=80).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn string_map(body: &Value, member: &str) -> ApiResult<BTreeMap<String, String>> {
    match body.get(member) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or_else(|| invalid(format!("The value of {member}.{k} must be a string.")))
            })
            .collect(),
        Some(_) => Err(invalid(format!("{member} must be a map of strings."))),
    }
}

pub fn create_queue(inner: &mut Inner, body: &Value, origin: &Origin, now: Epoch) -> ApiResult<Value> {
    let name = text(body, "QueueName").unwrap_or_default();
    if name.ends_with(".fifo") {
        return Err(invalid("FIFO queues are not served by this emulator: name a standard queue."));
    }
    if !valid_queue_name(name) {
        return Err(invalid(format!(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length (not '{name}')."
        )));
    }
    let attributes = Attributes::from_map(&string_map(body, "Attributes")?).map_err(|e| match e {
        AttributeError::Name(m) => error("InvalidAttributeName", m),
        AttributeError::Value(m) => error("InvalidAttributeValue", m),
    })?;
    let tags = string_map(body, "tags")?;
    let url = queue_url(origin, &inner.account.account, name);
    if let Some(existing) = inner.store.queues.get(name) {
        // Creating a queue again is idempotent when nothing differs.
        if existing.attributes != attributes {
            return Err(error(
                "QueueNameExists",
                format!("A queue already exists with the same name and a different value for attribute(s): {name}"),
            ));
        }
        return Ok(json!({"QueueUrl": url}));
    }
    let arn = format!("arn:aws:sqs:{}:{}:{name}", inner.account.region, inner.account.account);
    let queue = Queue::new(name, arn, attributes, tags, now);
    inner.persist(&[Write::Queue(&queue)])?;
    inner.store.queues.insert(name.to_string(), queue);
    Ok(json!({"QueueUrl": url}))
}

pub fn get_queue_url(inner: &Inner, body: &Value, origin: &Origin) -> ApiResult<Value> {
    let name = text(body, "QueueName").unwrap_or_default();
    if let Some(owner) = text(body, "QueueOwnerAWSAccountId") {
        if owner != inner.account.account {
            return Err(no_queue());
        }
    }
    if !inner.store.queues.contains_key(name) {
        return Err(no_queue());
    }
    Ok(json!({"QueueUrl": queue_url(origin, &inner.account.account, name)}))
}

pub fn get_queue_attributes(inner: &Inner, body: &Value, now: Epoch) -> ApiResult<Value> {
    let name = queue_name(inner, text(body, "QueueUrl").unwrap_or_default())?;
    let q = &inner.store.queues[name];
    let (visible, in_flight, delayed) = q.counts(now);
    let a = &q.attributes;
    let mut all = Map::new();
    let mut put = |k: &str, v: String| {
        all.insert(k.to_string(), Value::String(v));
    };
    put("QueueArn", q.arn.clone());
    put("ApproximateNumberOfMessages", visible.to_string());
    put("ApproximateNumberOfMessagesNotVisible", in_flight.to_string());
    put("ApproximateNumberOfMessagesDelayed", delayed.to_string());
    put("CreatedTimestamp", (q.created as i64).to_string());
    put("LastModifiedTimestamp", (q.created as i64).to_string());
    put("VisibilityTimeout", a.visibility_timeout.to_string());
    put("MaximumMessageSize", a.maximum_message_size.to_string());
    put("MessageRetentionPeriod", a.message_retention_period.to_string());
    put("DelaySeconds", a.delay_seconds.to_string());
    put("ReceiveMessageWaitTimeSeconds", a.receive_message_wait_time_seconds.to_string());
    put("SqsManagedSseEnabled", "false".into());
    if let Some(p) = &a.policy {
        put("Policy", p.clone());
    }
    let wanted: Vec<&str> = body
        .get("AttributeNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let attributes: Map<String, Value> = if wanted.contains(&"All") {
        all
    } else {
        all.into_iter().filter(|(k, _)| wanted.contains(&k.as_str())).collect()
    };
    Ok(json!({"Attributes": attributes}))
}

/// Characters SQS accepts in a message: XML's.
fn allowed(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub fn send_message(inner: &mut Inner, body: &Value, now: Epoch) -> ApiResult<Value> {
    let text_body = text(body, "MessageBody").unwrap_or_default();
    let delay = int_in(body, "DelaySeconds", 0, 900)?;
    if body.get("MessageGroupId").is_some() || body.get("MessageDeduplicationId").is_some() {
        return Err(invalid("MessageGroupId and MessageDeduplicationId belong to FIFO queues."));
    }
    let q = queue_mut(inner, text(body, "QueueUrl").unwrap_or_default())?;
    if text_body.is_empty() {
        return Err(error("MissingParameter", "The request must contain the parameter MessageBody."));
    }
    if text_body.len() as i64 > q.attributes.maximum_message_size {
        return Err(invalid(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
            q.attributes.maximum_message_size
        )));
    }
    if let Some(bad) = text_body.chars().find(|c| !allowed(*c)) {
        return Err(error(
            "InvalidMessageContents",
            format!("Invalid characters found: the message may not contain U+{:04X}.", bad as u32),
        ));
    }
    let queue = q.name.clone();
    let m = q.send(text_body, delay, now).clone();
    inner.persist(&[Write::Message { queue: &queue, message: &m }])?;
    Ok(json!({"MessageId": m.id, "MD5OfMessageBody": m.md5}))
}

/// What a receive asks for, checked before any wait.
pub struct ReceiveRequest {
    pub url: String,
    pub max: usize,
    pub visibility: Option<i64>,
    /// Seconds, from the request or the queue's `ReceiveMessageWaitTimeSeconds`.
    pub wait: i64,
    pub attributes: Vec<String>,
}

pub fn receive_request(inner: &Inner, body: &Value) -> ApiResult<ReceiveRequest> {
    let url = text(body, "QueueUrl").unwrap_or_default().to_string();
    let name = queue_name(inner, &url)?;
    let max = int_in(body, "MaxNumberOfMessages", 1, 10)?.unwrap_or(1) as usize;
    let visibility = int_in(body, "VisibilityTimeout", 0, 43_200)?;
    let wait = int_in(body, "WaitTimeSeconds", 0, 20)?
        .unwrap_or(inner.store.queues[name].attributes.receive_message_wait_time_seconds);
    let mut attributes = vec![];
    for member in ["MessageSystemAttributeNames", "AttributeNames"] {
        if let Some(list) = body.get(member).and_then(Value::as_array) {
            attributes.extend(list.iter().filter_map(Value::as_str).map(String::from));
        }
    }
    Ok(ReceiveRequest { url, max, visibility, wait, attributes })
}

/// One look at the queue: the messages now visible (possibly none), hidden and written down.
pub fn receive_now(inner: &mut Inner, r: &ReceiveRequest, now: Epoch) -> ApiResult<Vec<Message>> {
    let q = queue_mut(inner, &r.url)?;
    let queue = q.name.clone();
    let expired = q.expire(now);
    let got = q.receive(r.max, r.visibility, now);
    let mut batch: Vec<Write> = expired.iter().map(|id| Write::ForgetMessage { queue: &queue, id }).collect();
    batch.extend(got.iter().map(|m| Write::Message { queue: &queue, message: m }));
    inner.persist(&batch)?;
    Ok(got)
}

/// The wire form of received messages, with the system attributes asked for.
pub fn received(messages: &[Message], wanted: &[String]) -> Value {
    let all = wanted.iter().any(|w| w == "All");
    let want = |k: &str| all || wanted.iter().any(|w| w == k);
    let list: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut attrs = Map::new();
            let ms = |t: Epoch| Value::String(((t * 1000.0).round() as i64).to_string());
            if want("SenderId") {
                attrs.insert("SenderId".into(), Value::String("AIDAEMULATOREVENTS".into()));
            }
            if want("SentTimestamp") {
                attrs.insert("SentTimestamp".into(), ms(m.sent));
            }
            if want("ApproximateReceiveCount") {
                attrs.insert("ApproximateReceiveCount".into(), Value::String(m.receive_count.to_string()));
            }
            if want("ApproximateFirstReceiveTimestamp") {
                attrs.insert("ApproximateFirstReceiveTimestamp".into(), ms(m.first_received.unwrap_or(m.sent)));
            }
            let mut v = json!({
                "MessageId": m.id,
                "ReceiptHandle": m.receipts.last(),
                "MD5OfBody": m.md5,
                "Body": m.body,
            });
            if !attrs.is_empty() {
                v["Attributes"] = Value::Object(attrs);
            }
            v
        })
        .collect();
    json!({"Messages": list})
}

pub fn delete_message(inner: &mut Inner, body: &Value) -> ApiResult<Value> {
    let handle = text(body, "ReceiptHandle").unwrap_or_default();
    let q = queue_mut(inner, text(body, "QueueUrl").unwrap_or_default())?;
    let queue = q.name.clone();
    if let Some(id) = q.delete(handle).map_err(|e| receipt_error(e, handle))? {
        inner.persist(&[Write::ForgetMessage { queue: &queue, id: &id }])?;
    }
    Ok(json!({}))
}

/// The entries of a batch: 1 to 10, with distinct ids of letters, digits, `-` and `_`.
fn batch_entries(body: &Value) -> ApiResult<Vec<(String, String)>> {
    let entries = body.get("Entries").and_then(Value::as_array).cloned().unwrap_or_default();
    if entries.is_empty() {
        return Err(error(
            "EmptyBatchRequest",
            "There should be at least one DeleteMessageBatchRequestEntry in the request.",
        ));
    }
    if entries.len() > MAX_BATCH {
        return Err(error(
            "TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are {MAX_BATCH}. You have sent {}.", entries.len()),
        ));
    }
    let mut out: Vec<(String, String)> = vec![];
    for e in &entries {
        let id = text(e, "Id").unwrap_or_default().to_string();
        if !(1..=80).contains(&id.len()) || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(error(
                "InvalidBatchEntryId",
                format!("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long (not '{id}')."),
            ));
        }
        if out.iter().any(|(seen, _)| *seen == id) {
            return Err(error("BatchEntryIdsNotDistinct", format!("Id {id} repeated.")));
        }
        out.push((id, text(e, "ReceiptHandle").unwrap_or_default().to_string()));
    }
    Ok(out)
}

pub fn delete_message_batch(inner: &mut Inner, body: &Value) -> ApiResult<Value> {
    let entries = batch_entries(body)?;
    let q = queue_mut(inner, text(body, "QueueUrl").unwrap_or_default())?;
    let queue = q.name.clone();
    let (mut ok, mut failed, mut gone) = (vec![], vec![], vec![]);
    for (id, handle) in &entries {
        match q.delete(handle) {
            Ok(deleted) => {
                ok.push(json!({"Id": id}));
                gone.extend(deleted);
            }
            Err(e) => {
                let e = receipt_error(e, handle);
                failed.push(json!({"Id": id, "SenderFault": true, "Code": e.code, "Message": e.message}));
            }
        }
    }
    let batch: Vec<Write> = gone.iter().map(|id| Write::ForgetMessage { queue: &queue, id }).collect();
    inner.persist(&batch)?;
    Ok(json!({"Successful": ok, "Failed": failed}))
}

pub fn change_message_visibility(inner: &mut Inner, body: &Value, now: Epoch) -> ApiResult<Value> {
    let handle = text(body, "ReceiptHandle").unwrap_or_default();
    let seconds = int_in(body, "VisibilityTimeout", 0, 43_200)?
        .ok_or_else(|| error("MissingParameter", "The request must contain the parameter VisibilityTimeout."))?;
    let q = queue_mut(inner, text(body, "QueueUrl").unwrap_or_default())?;
    let queue = q.name.clone();
    let m = q.change_visibility(handle, seconds, now).map_err(|e| receipt_error(e, handle))?.clone();
    inner.persist(&[Write::Message { queue: &queue, message: &m }])?;
    Ok(json!({}))
}
