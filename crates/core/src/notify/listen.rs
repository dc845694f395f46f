//! The events source (`--events-queue`): SageMaker's own EventBridge events, read from an SQS queue with
//! long polling. An event that can make news (an execution that ended; a step that starts, when the rules
//! want waiting callbacks or retries) names a pipeline; the poller looks at that pipeline at once
//! (`Poller::look_at`), so a failure is told within seconds, with the same message and the same event key
//! as polling would give it (a duplicate delivery, or the safety-net round seeing it too, is one event).
//! A message is deleted only once its pipeline was looked at; one that is not a SageMaker pipeline event is
//! deleted with a warning (read again it would only fail again).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use stepline_types::model::Upstream;
use stepline_types::notify::EventKind;

use super::envelope::{self, DetailType};
use super::poll::Poller;
use crate::config::EventsQueue;
use crate::gateway::queue::LONG_POLL_SECONDS;
use crate::observe::NOTIFY_QUEUE_MESSAGES;

/// How long a message read stays hidden from other readers: time to look at its pipeline.
const HIDE_SECONDS: i32 = 120;

/// What one receive did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub received: usize,
    /// Pipelines looked at.
    pub pipelines: usize,
    /// Events written to the outbox.
    pub events: usize,
    /// Messages not about a pipeline of this place (deleted).
    pub ignored: usize,
    /// Messages left for a later read (their pipeline could not be looked at).
    pub kept: usize,
    pub errors: Vec<String>,
}

pub struct Listener {
    pub poller: Arc<Poller>,
    pub queue: EventsQueue,
}

impl Listener {
    /// The queue's URL: as configured, or asked of SQS by name.
    pub async fn url(&self) -> Result<String, Upstream> {
        match &self.queue {
            EventsQueue::Url(url) => Ok(url.clone()),
            EventsQueue::Name(name) => self.poller.gateway.queue_url(name).await,
        }
    }

    /// One long poll of up to `wait` seconds, and what its messages say.
    pub async fn once(&self, url: &str, wait: i32) -> Result<Batch, Upstream> {
        let gateway = &self.poller.gateway;
        let messages = gateway.receive(url, wait, HIDE_SECONDS).await?;
        let mut batch = Batch { received: messages.len(), ..Batch::default() };
        // Receipts by pipeline (lower-cased, as ARNs have it), with whether an execution of it ended; the rest
        // are deleted at once.
        let mut by_pipeline: BTreeMap<String, (Vec<String>, bool)> = BTreeMap::new();
        let mut done = vec![];
        let account = self.poller.place.account.as_deref();
        for m in messages {
            match envelope::parse(&m.body) {
                Ok(e) if account.is_some_and(|a| !e.account.is_empty() && a != e.account) => {
                    tracing::warn!(
                        "events queue: an event of account {}, not {}; deleted",
                        e.account,
                        account.unwrap_or("")
                    );
                    batch.ignored += 1;
                    done.push(m.receipt);
                }
                Ok(e) if e.worth_a_look() => match e.pipeline.clone() {
                    Some(p) => {
                        let entry = by_pipeline.entry(p).or_default();
                        entry.0.push(m.receipt);
                        entry.1 |= e.detail_type == DetailType::ExecutionStatus;
                    }
                    None => done.push(m.receipt),
                },
                // A start, a step that ended, a model package: nothing to tell of it; read and done.
                Ok(_) => done.push(m.receipt),
                Err(why) => {
                    tracing::warn!("events queue: a message that is {why}; deleted");
                    batch.ignored += 1;
                    done.push(m.receipt);
                }
            }
        }
        let processed_before = done.len() - batch.ignored;
        let mut looked = 0;
        for (lower, (receipts, ended)) in by_pipeline {
            let name = self.name_of(&lower).await;
            // Only a step that runs: worth a look when the rules or subscriptions want waiting callbacks or
            // retries.
            let steps_wanted = match self.poller.audience().await {
                Ok(a) => a.wants_any(&[EventKind::Waiting, EventKind::Retried], &name),
                Err(_) => true,
            };
            if !ended && !steps_wanted {
                looked += receipts.len();
                done.extend(receipts);
                continue;
            }
            let round = self.poller.look_at(&name, Utc::now()).await;
            batch.pipelines += round.pipelines;
            batch.events += round.events;
            if round.errors.is_empty() {
                looked += receipts.len();
                done.extend(receipts);
            } else {
                batch.kept += receipts.len();
                batch.errors.extend(round.errors);
            }
        }
        if !done.is_empty() {
            let failed = gateway.delete(url, &done).await?;
            if failed > 0 {
                batch.errors.push(format!("{failed} message(s) could not be deleted and will be read again"));
            }
        }
        let count = |outcome: &'static str, n: usize| {
            metrics::counter!(NOTIFY_QUEUE_MESSAGES, "outcome" => outcome).increment(n as u64);
        };
        count("processed", processed_before + looked);
        count("ignored", batch.ignored);
        count("kept", batch.kept);
        Ok(batch)
    }

    /// A pipeline's name as created, from its lower-cased ARN form (a pipeline new since the last listing is
    /// looked up once).
    async fn name_of(&self, lower: &str) -> String {
        let gateway = &self.poller.gateway;
        if let Some(name) = gateway.echoed_name(lower) {
            return name;
        }
        let _ = gateway.all_pipelines().await;
        gateway.echoed_name(lower).unwrap_or_else(|| lower.to_string())
    }

    /// Read the queue for the life of the process; a failure is logged and tried again after a pause that
    /// grows to a minute.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let label = self.poller.place.label.clone();
            let mut pause = Duration::from_secs(1);
            let mut url = None;
            loop {
                let step = match &url {
                    None => self.url().await.map(|u| {
                        tracing::info!(place = %label, "notifications: reading SageMaker's events from {u}");
                        url = Some(u);
                    }),
                    Some(u) => self.once(u, LONG_POLL_SECONDS).await.map(|b| {
                        for e in &b.errors {
                            tracing::warn!(place = %label, "notifications (events): {e}");
                        }
                    }),
                };
                match step {
                    Ok(()) => pause = Duration::from_secs(1),
                    Err(e) => {
                        tracing::warn!(place = %label, "notifications: the events queue cannot be read: {e}");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(60));
                    }
                }
            }
        });
    }
}
