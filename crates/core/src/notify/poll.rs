//! The polling source: a round looks at every pipeline a rule covers, through the gateway and its limiter,
//! and writes the events it finds to the outbox.
//!
//! What a round costs upstream: `ListPipelines` (one call per 100 pipelines), then for each covered pipeline
//! one `ListPipelineExecutions` (its newest 20); for each execution that failed since the last look, one
//! `ListPipelineExecutionSteps`, one `DescribePipelineExecution` (who started it) and, for each failed
//! job-backed step, `DescribeLogStreams` and `GetLogEvents` (the last lines of its log); for each running
//! execution of a pipeline whose rules want `waiting` or `retried`, one `ListPipelineExecutionSteps`. In
//! steady state that is about one call per covered pipeline and round.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use stepline_types::model::{ExecStatus, ExecutionSummary, StepMetadata, StepRun};
use stepline_types::notify::{self, Event, EventKind};

use super::live::LiveSettings;
use super::message::LOG_LINES;
use super::personal::{self, Audience};
use crate::access::{Access, Identity, TagSource};
use crate::gateway::Gateway;
use crate::places::Place;
use crate::store::{Db, Outgoing, Seen, Subscriber};

/// The newest executions a round looks at per pipeline.
const PAGE: i32 = 20;

/// What made the poller look: its round, or an event from SQS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Poll,
    Events,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Poll => "poll",
            Source::Events => "events",
        }
    }
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Another replica holds the poller's lease: it looks, this one does not.
    pub elsewhere: bool,
    pub pipelines: usize,
    pub events: usize,
    /// Events already written (the same change seen again).
    pub repeats: usize,
    pub errors: Vec<String>,
}

/// One account and region's poller.
pub struct Poller {
    pub gateway: Arc<Gateway>,
    pub place: Arc<Place>,
    pub db: Db,
    /// The settings in force (re-read when their file changes).
    pub settings: Arc<LiveSettings>,
    /// The wait between two pipelines (`1 / poll-rate`; none in tests): what keeps the poller inside its share.
    pub pace: std::time::Duration,
    /// Replicas on one PostgreSQL: one of them polls each place (a lease), the others stand by.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// When notifications began: an execution started since then is news even on its pipeline's first look
    /// (a pipeline created while Stepline runs, or named first by an event). `None`: a first look is all
    /// history.
    pub since: Option<DateTime<Utc>>,
    /// Asked whether a subscriber may still read the pipeline at each event (`None`: no policy to ask, as in
    /// tests of the poller alone).
    pub access: Option<Arc<Access>>,
}

impl Poller {
    /// Look at every covered pipeline once.
    pub async fn round(&self, now: DateTime<Utc>) -> Round {
        let mut round = Round::default();
        if let Some(cluster) = &self.cluster {
            // The lease lives as long as this replica's lock connection: a replica that dies hands it on.
            if !cluster.try_lease(&format!("notify-poll {}", self.place.key())).await {
                round.elsewhere = true;
                return round;
            }
        }
        let audience = match self.audience().await {
            Ok(a) => a,
            Err(e) => {
                round.errors.push(format!("the subscriptions cannot be read: {e}"));
                return round;
            }
        };
        let pipelines = match self.gateway.all_pipelines().await {
            Ok(p) => p,
            Err(e) => {
                round.errors.push(format!("ListPipelines: {e}"));
                return round;
            }
        };
        for p in pipelines.iter().filter(|p| audience.covers(&p.name)) {
            if round.pipelines > 0 && !self.pace.is_zero() {
                tokio::time::sleep(self.pace).await;
            }
            round.pipelines += 1;
            if let Err(e) = self.pipeline(&audience, &p.name, now, Source::Poll, &mut round).await {
                round.errors.push(format!("{}: {e}", p.name));
            }
        }
        round
    }

    /// Look at one pipeline now, because an event said it changed (`super::listen`); a pipeline no rule
    /// or subscription covers is left alone.
    pub async fn look_at(&self, name: &str, now: DateTime<Utc>) -> Round {
        let mut round = Round::default();
        let audience = match self.audience().await {
            Ok(a) => a,
            Err(e) => {
                round.errors.push(format!("the subscriptions cannot be read: {e}"));
                return round;
            }
        };
        if audience.covers(name) {
            round.pipelines = 1;
            if let Err(e) = self.pipeline(&audience, name, now, Source::Events, &mut round).await {
                round.errors.push(format!("{name}: {e}"));
            }
        }
        round
    }

    /// Who wants what in this place now: the rules in force and the open subscriptions.
    pub async fn audience(&self) -> Result<Audience, String> {
        Ok(Audience { settings: self.settings.get(), subscribers: self.db.subscribers(&self.place.key()).await? })
    }

    async fn pipeline(
        &self,
        audience: &Audience,
        name: &str,
        now: DateTime<Utc>,
        source: Source,
        round: &mut Round,
    ) -> Result<(), String> {
        let place = self.place.key();
        let key = format!("{place}{}", name.to_lowercase());
        let page = self.gateway.list_executions(name, None, PAGE).await.map_err(|e| e.to_string())?;
        let now_ms = now.timestamp_millis();
        if !self.db.pipeline_noted(&key).await? {
            // The first look: what happened before notifications began is history, not news. A pipeline
            // watched only by subscriptions began to be watched when the first of them was made.
            let since = match audience.settings.covers(name) {
                true => self.since,
                false => audience.subscribed_since(name),
            };
            let mut fresh = false;
            for e in &page.items {
                if since.is_some_and(|since| e.start.is_some_and(|t| t >= since)) {
                    fresh = true;
                    continue;
                }
                self.db
                    .set_seen(
                        &place,
                        name,
                        &e.arn,
                        &Seen { status: e.status.as_str().into(), changes: 1, seconds: None },
                        now_ms,
                    )
                    .await?;
            }
            self.db.note_pipeline(&key, now_ms).await?;
            if !fresh {
                return Ok(());
            }
        }
        let arns: Vec<String> = page.items.iter().map(|e| e.arn.clone()).collect();
        let seen = self.db.seen(&arns).await?;
        for (i, e) in page.items.iter().enumerate() {
            let before = seen.get(&e.arn.to_lowercase());
            let changes = match before {
                Some(s) if s.status == e.status.as_str() => s.changes,
                Some(s) => s.changes + 1,
                None => 1,
            };
            let before_status = before.map(|s| ExecStatus::parse(&s.status));
            let previous_run = page.items.get(i + 1).map(|p| &p.status);
            let kinds: Vec<EventKind> = notify::status_events(before_status.as_ref(), &e.status, previous_run)
                .into_iter()
                .filter(|k| audience.wants(*k, name, &e.arn))
                .collect();
            let mut events = vec![];
            if !kinds.is_empty() {
                let base = self.described(name, e, changes, now).await;
                for kind in kinds {
                    events.push(Event { kind, ..base.clone() });
                }
            }
            if !e.status.is_terminal() {
                events.extend(self.running(audience, name, e, changes, now).await?);
            }
            for event in events {
                self.record(audience, name, source, &event, now_ms, round).await?;
            }
            // Written after its events: a round cut short looks again next time (their keys drop repeats).
            if before.is_none_or(|s| s.status != e.status.as_str()) {
                // A run seen ending well: its length (to within a look) makes the pipeline's usual run.
                let seconds = (e.status == ExecStatus::Succeeded)
                    .then(|| e.start.map(|s| (now - s).num_milliseconds() as f64 / 1000.0))
                    .flatten()
                    .filter(|s| *s >= 0.0);
                self.db
                    .set_seen(
                        &place,
                        name,
                        &e.arn,
                        &Seen { status: e.status.as_str().into(), changes, seconds },
                        now_ms,
                    )
                    .await?;
            }
        }
        if let Some(event) = self.missed(name, &page.items, now) {
            self.record(audience, name, source, &event, now_ms, round).await?;
        }
        Ok(())
    }

    /// Write an event for the channels its rules name and the subscriptions that want it; counted as news or
    /// as a repeat.
    async fn record(
        &self,
        audience: &Audience,
        name: &str,
        source: Source,
        event: &Event,
        now_ms: i64,
        round: &mut Round,
    ) -> Result<(), String> {
        // Each channel's delivery is due now, or when the quiet hours of the rules sending it there end.
        let due = audience.settings.deliveries_for(event.kind, name, event.at);
        let mut outgoing: Vec<Outgoing> = due
            .iter()
            .map(|(c, d)| Outgoing {
                channel: c.name.clone(),
                due_ms: d.at.timestamp_millis(),
                digest: d.digest,
                subscription: None,
            })
            .collect();
        let subscribers = audience.personal(event.kind, name, &event.execution_arn);
        for s in &subscribers {
            if self.may_read(s, name).await {
                outgoing.push(personal::outgoing(s, event.at.timestamp_millis()));
            }
        }
        let new = self.db.record_event(&self.place.key(), source.as_str(), event, &outgoing, now_ms).await?;
        // An execution's end told (now, or by an earlier look): its subscriptions are done.
        if stepline_types::subscriptions::end_events().contains(&event.kind) {
            for s in subscribers.iter().filter(|s| s.execution_arn.is_some()) {
                self.db.end_subscription(s.id, now_ms).await?;
            }
        }
        if new {
            round.events += 1;
            metrics::counter!(crate::observe::NOTIFY_EVENTS, "kind" => <&'static str>::from(event.kind), "source" => source.as_str())
                .increment(1);
        } else {
            round.repeats += 1;
        }
        Ok(())
    }

    /// Whether a subscriber may still read the pipeline, as the policy says now (with their groups as they
    /// subscribed): one who lost it is told nothing more of it.
    async fn may_read(&self, s: &Subscriber, pipeline: &str) -> bool {
        let Some(access) = &self.access else { return true };
        let who = Identity::person(s.owner.clone(), s.groups.clone(), false);
        let tags = TagSource { key: self.place.key(), source: self.gateway.clone() };
        access.role(&who, pipeline, Some(&tags)).await.is_some()
    }

    /// A pipeline that runs on a cadence and has not started when it should have: told once per missed run,
    /// about its last execution.
    fn missed(&self, name: &str, page: &[ExecutionSummary], now: DateTime<Utc>) -> Option<Event> {
        if self.settings.get().channels_for(EventKind::Missed, name).is_empty() {
            return None;
        }
        let last = page.first().filter(|e| e.status.is_terminal())?;
        let starts: Vec<DateTime<Utc>> = page.iter().filter_map(|e| e.start).collect();
        let missed = notify::missed_run(&starts, now)?;
        let mut event = Event::of_execution(EventKind::Missed, name, last, missed.runs, now);
        event.reason = Some(format!(
            "It usually starts every {}; a run was expected by {} and none has started since {}.",
            notify::minutes(missed.every_minutes),
            missed.expected.format("%Y-%m-%d %H:%M UTC"),
            last.start.map(|s| s.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
        ));
        Some(event)
    }

    /// The events of a running execution: past a long-running threshold, callback steps waiting, retries.
    async fn running(
        &self,
        audience: &Audience,
        name: &str,
        e: &ExecutionSummary,
        changes: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, String> {
        let mut out = vec![];
        let bare = Event::of_execution(EventKind::Failed, name, e, changes, now);
        let usual = match self.settings.get().wants_usual(name) {
            true => self.db.usual_seconds(&self.place.key(), name).await?.map(|s| s / 60.0),
            false => None,
        };
        if let Some((threshold, usual_minutes)) = self.settings.get().long_running_threshold(name, usual) {
            if let Some(minutes) = notify::running_long(e, now, threshold) {
                out.push(Event {
                    kind: EventKind::LongRunning,
                    running_minutes: Some(minutes),
                    usual_minutes,
                    ..bare.clone()
                });
            }
        }
        if audience.wants_any(&[EventKind::Waiting, EventKind::Retried], name) {
            let steps = self.gateway.list_steps(&e.arn).await.map_err(|e| e.to_string())?;
            for (kind, step, attempt) in notify::step_events(&steps) {
                if audience.wants(kind, name, &e.arn) {
                    out.push(Event { kind, step: Some(step), attempt, ..bare.clone() });
                }
            }
        }
        Ok(out)
    }

    /// An ended execution with what a message about it names: who started it, its failed steps, their
    /// reasons and the end of their logs. What cannot be read is left out rather than holding the event.
    async fn described(&self, name: &str, e: &ExecutionSummary, changes: i64, now: DateTime<Utc>) -> Event {
        let mut event = Event::of_execution(EventKind::Failed, name, e, changes, now);
        if let Ok(d) = self.gateway.describe_execution(&e.arn).await {
            event.started_by = d.created_by;
            event.reason = d.failure_reason.or(event.reason);
        }
        if matches!(e.status, ExecStatus::Failed | ExecStatus::CompletedWithFailures) {
            if let Ok(steps) = self.gateway.list_steps(&e.arn).await {
                event.failed_steps = notify::failed_steps(&steps);
                for failed in &mut event.failed_steps {
                    if let Some(step) = steps.iter().find(|s| s.name == failed.name) {
                        failed.log_tail = self.log_tail(step).await;
                    }
                }
            }
        }
        event
    }

    /// The last lines of a failed step's job log, from its first stream.
    async fn log_tail(&self, step: &StepRun) -> Vec<String> {
        let StepMetadata::Job { kind, name, .. } = &step.metadata else { return vec![] };
        let Some(group) = stepline_types::model::jobs::log_group(*kind) else { return vec![] };
        let prefix = format!("{name}/");
        let Ok(streams) = self.gateway.log_streams(group, &prefix).await else { return vec![] };
        let Some(stream) = streams.first() else { return vec![] };
        self.gateway.log_tail(group, &stream.name, LOG_LINES as i32).await.unwrap_or_default()
    }
}
