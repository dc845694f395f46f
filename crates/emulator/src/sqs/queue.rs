//! A standard SQS queue: its attributes and messages, and what receiving, deleting and hiding them does.
//! Pure: every function takes the emulator's `now`, so a test moves the clock past a visibility timeout
//! instead of waiting for it.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::random::{random_alnum, uuid_like};
use crate::state::Epoch;

/// The attributes a client may set, with SQS's defaults and ranges.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attributes {
    pub visibility_timeout: i64,
    pub message_retention_period: i64,
    pub receive_message_wait_time_seconds: i64,
    pub delay_seconds: i64,
    pub maximum_message_size: i64,
    /// Kept and answered as given (the emulator checks no access).
    pub policy: Option<String>,
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes {
            visibility_timeout: 30,
            message_retention_period: 345_600,
            receive_message_wait_time_seconds: 0,
            delay_seconds: 0,
            maximum_message_size: 262_144,
            policy: None,
        }
    }
}

/// Why an attribute was refused: `InvalidAttributeName` or `InvalidAttributeValue`.
#[derive(Debug, PartialEq, Eq)]
pub enum AttributeError {
    Name(String),
    Value(String),
}

impl Attributes {
    /// Defaults overridden by `given` (CreateQueue's `Attributes`).
    pub fn from_map(given: &BTreeMap<String, String>) -> Result<Attributes, AttributeError> {
        let mut a = Attributes::default();
        for (name, value) in given {
            let int = |lo: i64, hi: i64| -> Result<i64, AttributeError> {
                value.trim().parse::<i64>().ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| {
                    AttributeError::Value(format!(
                        "Invalid value for the parameter {name}: must be an integer from {lo} to {hi}, not '{value}'."
                    ))
                })
            };
            match name.as_str() {
                "VisibilityTimeout" => a.visibility_timeout = int(0, 43_200)?,
                "MessageRetentionPeriod" => a.message_retention_period = int(60, 1_209_600)?,
                "ReceiveMessageWaitTimeSeconds" => a.receive_message_wait_time_seconds = int(0, 20)?,
                "DelaySeconds" => a.delay_seconds = int(0, 900)?,
                "MaximumMessageSize" => a.maximum_message_size = int(1_024, 262_144)?,
                "Policy" => a.policy = Some(value.clone()),
                // A standard queue may say so; FIFO queues are not served.
                "FifoQueue" if value.eq_ignore_ascii_case("false") => {}
                "FifoQueue" => {
                    return Err(AttributeError::Value(
                        "FifoQueue: this emulator serves standard queues, not FIFO queues.".into(),
                    ))
                }
                "ContentBasedDeduplication" | "DeduplicationScope" | "FifoThroughputLimit" => {
                    return Err(AttributeError::Name(format!("Unknown Attribute {name}: it belongs to FIFO queues.")))
                }
                "KmsMasterKeyId"
                | "KmsDataKeyReusePeriodSeconds"
                | "SqsManagedSseEnabled"
                | "RedrivePolicy"
                | "RedriveAllowPolicy" => {
                    return Err(AttributeError::Name(format!(
                        "Unknown Attribute {name}: encryption and dead-letter queues are not emulated."
                    )))
                }
                other => return Err(AttributeError::Name(format!("Unknown Attribute {other}."))),
            }
        }
        Ok(a)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub body: String,
    pub md5: String,
    pub sent: Epoch,
    /// Hidden until then: delayed at first, in flight after a receive.
    pub visible_at: Epoch,
    pub receive_count: u32,
    pub first_received: Option<Epoch>,
    /// The receipt handles issued for it, newest last (the newest alone may change its visibility).
    pub receipts: Vec<String>,
    /// The order of sending among messages sent at the same time (the events of one advance).
    #[serde(default)]
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    pub name: String,
    pub arn: String,
    pub created: Epoch,
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
    /// By id; the order of sending is `sent`, then `seq`.
    #[serde(skip)]
    pub messages: BTreeMap<String, Message>,
    #[serde(skip)]
    pub next_seq: u64,
}

/// A receipt handle: `<message id>.<random>`, so a handle names its message even after it is gone (deleting a
/// deleted message succeeds, as on SQS).
pub fn receipt_message_id(handle: &str) -> Option<&str> {
    let (id, random) = handle.split_once('.')?;
    let ok = id.len() == 36
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && random.len() == 64
        && random.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then_some(id)
}

/// Why a receipt handle was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ReceiptError {
    /// Not a handle this queue issued.
    Invalid,
    /// ChangeMessageVisibility on a message that is not in flight.
    NotInflight,
}

impl Queue {
    /// Take back a stored message (at start).
    pub fn restore(&mut self, m: Message) {
        self.next_seq = self.next_seq.max(m.seq + 1);
        self.messages.insert(m.id.clone(), m);
    }

    pub fn new(name: &str, arn: String, attributes: Attributes, tags: BTreeMap<String, String>, now: Epoch) -> Queue {
        Queue { name: name.to_string(), arn, created: now, attributes, tags, messages: BTreeMap::new(), next_seq: 0 }
    }

    /// Add a message; answers it (for its id and checksum).
    pub fn send(&mut self, body: &str, delay: Option<i64>, now: Epoch) -> &Message {
        let id = uuid_like();
        let delay = delay.unwrap_or(self.attributes.delay_seconds) as f64;
        let m = Message {
            id: id.clone(),
            body: body.to_string(),
            md5: format!("{:x}", Md5::digest(body.as_bytes())),
            sent: now,
            visible_at: now + delay,
            receive_count: 0,
            first_received: None,
            receipts: vec![],
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.messages.entry(id).or_insert(m)
    }

    /// Drop messages older than the retention period; answers the ids dropped.
    pub fn expire(&mut self, now: Epoch) -> Vec<String> {
        let keep = self.attributes.message_retention_period as f64;
        let old: Vec<String> = self.messages.values().filter(|m| now - m.sent >= keep).map(|m| m.id.clone()).collect();
        for id in &old {
            self.messages.remove(id);
        }
        old
    }

    /// Up to `max` visible messages, oldest first, each hidden for `visibility` seconds with a new receipt.
    pub fn receive(&mut self, max: usize, visibility: Option<i64>, now: Epoch) -> Vec<Message> {
        let hide = visibility.unwrap_or(self.attributes.visibility_timeout) as f64;
        let mut visible: Vec<&mut Message> = self.messages.values_mut().filter(|m| m.visible_at <= now).collect();
        // Best-effort order, as a standard queue gives: oldest first.
        visible.sort_by(|a, b| a.sent.total_cmp(&b.sent).then(a.seq.cmp(&b.seq)));
        visible
            .into_iter()
            .take(max)
            .map(|m| {
                m.visible_at = now + hide;
                m.receive_count += 1;
                m.first_received.get_or_insert(now);
                m.receipts.push(format!("{}.{}", m.id, random_alnum(64)));
                // Only the newest handles are ever used; a message received a thousand times stays small.
                if m.receipts.len() > 8 {
                    m.receipts.remove(0);
                }
                m.clone()
            })
            .collect()
    }

    /// Delete by receipt handle; a handle of a message already gone succeeds. Answers the id deleted, if any.
    pub fn delete(&mut self, handle: &str) -> Result<Option<String>, ReceiptError> {
        let id = receipt_message_id(handle).ok_or(ReceiptError::Invalid)?;
        match self.messages.get(id) {
            None => Ok(None),
            Some(m) if m.receipts.iter().any(|r| r == handle) => Ok(self.messages.remove(id).map(|m| m.id)),
            Some(_) => Err(ReceiptError::Invalid),
        }
    }

    /// Hide an in-flight message for `seconds` more from now (0 makes it visible at once).
    pub fn change_visibility(&mut self, handle: &str, seconds: i64, now: Epoch) -> Result<&Message, ReceiptError> {
        let id = receipt_message_id(handle).ok_or(ReceiptError::Invalid)?;
        let m = self.messages.get_mut(id).ok_or(ReceiptError::Invalid)?;
        if m.receipts.last().map(String::as_str) != Some(handle) {
            return Err(ReceiptError::Invalid);
        }
        if m.visible_at <= now {
            return Err(ReceiptError::NotInflight);
        }
        m.visible_at = now + seconds as f64;
        Ok(m)
    }

    /// `ApproximateNumberOfMessages`, `…NotVisible` and `…Delayed`.
    pub fn counts(&self, now: Epoch) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for m in self.messages.values() {
            if m.visible_at <= now {
                c.0 += 1;
            } else if m.receive_count > 0 {
                c.1 += 1;
            } else {
                c.2 += 1;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> Queue {
        Queue::new("q", "arn:aws:sqs:us-east-1:123456789012:q".into(), Attributes::default(), BTreeMap::new(), 0.0)
    }

    #[test]
    fn a_received_message_is_hidden_until_its_timeout_then_comes_back_with_a_new_receipt() {
        let mut q = queue();
        q.send("one", None, 0.0);
        let first = q.receive(10, Some(30), 1.0);
        assert_eq!(first.len(), 1);
        assert!(q.receive(10, None, 30.9).is_empty(), "still in flight");
        let again = q.receive(10, None, 31.0);
        assert_eq!(again[0].receive_count, 2);
        assert_ne!(again[0].receipts.last(), first[0].receipts.last());
        // The old handle may not hide it again; the new one may.
        let old = first[0].receipts.last().unwrap();
        assert_eq!(q.change_visibility(old, 60, 32.0).unwrap_err(), ReceiptError::Invalid);
        let new = again[0].receipts.last().unwrap().clone();
        q.change_visibility(&new, 0, 32.0).unwrap();
        assert_eq!(q.change_visibility(&new, 10, 32.0).unwrap_err(), ReceiptError::NotInflight);
        assert_eq!(q.delete(&new).unwrap().as_deref(), Some(again[0].id.as_str()));
        assert_eq!(q.delete(&new).unwrap(), None, "deleting twice succeeds");
        assert_eq!(q.delete("not a handle").unwrap_err(), ReceiptError::Invalid);
    }

    #[test]
    fn messages_come_oldest_first_delayed_ones_later_and_expire_after_retention() {
        let mut q = queue();
        q.send("late", Some(10), 0.0);
        q.send("a", None, 1.0);
        q.send("b", None, 2.0);
        let got: Vec<String> = q.receive(10, None, 3.0).into_iter().map(|m| m.body).collect();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(q.counts(3.0), (0, 2, 1));
        assert_eq!(q.receive(10, None, 10.0)[0].body, "late");
        assert_eq!(q.expire(345_601.0).len(), 2, "the two sent before the retention period");
    }

    #[test]
    fn attributes_outside_their_range_or_unknown_are_named() {
        let map = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert_eq!(Attributes::from_map(&map("VisibilityTimeout", "45")).unwrap().visibility_timeout, 45);
        let Err(AttributeError::Value(m)) = Attributes::from_map(&map("ReceiveMessageWaitTimeSeconds", "21")) else {
            panic!()
        };
        assert!(m.contains("ReceiveMessageWaitTimeSeconds"), "{m}");
        assert!(matches!(Attributes::from_map(&map("Colour", "blue")), Err(AttributeError::Name(_))));
        assert!(matches!(Attributes::from_map(&map("FifoQueue", "true")), Err(AttributeError::Value(_))));
    }
}
