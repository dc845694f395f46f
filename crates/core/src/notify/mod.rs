//! Notifications: Stepline tells people when an execution fails, is stopped, recovers, waits for an
//! approval, retries a step or runs long (`stepline_types::notify` says what each event is).
//!
//! Layout: `settings` (the `--notify` file: channels and rules), `poll` (the source: a round over the covered
//! pipelines through the gateway), `listen` and `envelope` (the other source: SageMaker's EventBridge events
//! from SQS, each making the poller look at its pipeline at once), `quiet` (a rule's quiet hours),
//! `digest` (a rule's messages gathered into one), `personal` (people's own subscriptions: who else is told,
//! and where), `message` (each channel's shape, the webhook's signature), `mail` (SMTP), `send` (the
//! outbox's sender, with backoff); the outbox itself is `store::outbox`. Events go to the outbox in the
//! transaction that records them, and are sent from there: nothing is lost when a receiver is down or the
//! process stops.

pub mod digest;
pub mod envelope;
pub mod listen;
pub mod live;
pub mod mail;
pub mod message;
pub mod personal;
pub mod poll;
pub mod quiet;
pub mod send;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::config::EventsQueue;
use crate::gateway::Gateway;
use crate::places::Place;
use crate::store::Db;
use crate::sync::Unpoisoned;
pub use listen::{Batch, Listener};
pub use live::LiveSettings;
pub use poll::{Poller, Round, Source};
pub use send::{Backoff, Sender};
pub use settings::Settings;
use stepline_types::page::{RoundView, WatchView};

/// What the pages need of notifications: the settings in force, where links in messages point, and how
/// each place is watched (its last polling round).
#[derive(Clone, Debug)]
pub struct Notifier {
    pub settings: Arc<LiveSettings>,
    pub origin: String,
    pub watches: Arc<Watches>,
}

/// How each place (by `Place::key`) is watched, as its poller last reported.
#[derive(Debug, Default)]
pub struct Watches(std::sync::Mutex<std::collections::HashMap<String, WatchView>>);

impl Watches {
    pub fn get(&self, place: &str) -> Option<WatchView> {
        self.0.locked().get(place).cloned()
    }

    pub fn set(&self, place: &str, view: WatchView) {
        self.0.locked().insert(place.to_string(), view);
    }
}

impl Notifier {
    /// Send a test message to `channel` now (not through the outbox: the answer is the point), as place
    /// `base`'s page would link it.
    pub async fn test(&self, db: Db, channel: &str, base: &str) -> Result<(), String> {
        let settings = self.settings.get();
        let channel = settings.channels.get(channel).ok_or_else(|| format!("no channel '{channel}'"))?;
        let sender = Sender::new(db, self.settings.clone(), self.origin.clone(), Backoff::default())?;
        sender.test(channel, base).await
    }
}

/// Start the pollers (one per account and region), the readers of events queues, and the sender, for the
/// life of the process. `access` is asked whether each subscriber may still read a pipeline (`None` only
/// where there is no policy, as in benchmarks).
pub fn spawn(
    settings: Arc<LiveSettings>,
    db: Db,
    places: Vec<(Arc<Place>, Arc<Gateway>, Option<EventsQueue>)>,
    origin: String,
    cluster: Option<Arc<crate::cluster::Cluster>>,
    watches: Arc<Watches>,
    access: Option<Arc<crate::access::Access>>,
) -> Result<(), String> {
    let sender = Sender::new(db.clone(), settings.clone(), origin, Backoff::default())?;
    let (live, log) = (settings.clone(), db.clone());
    tokio::spawn(async move {
        loop {
            if let Err(e) = sender.send_due(Utc::now()).await {
                tracing::warn!("notifications: the outbox cannot be read: {e}");
            }
            // The settings file re-read since the last tick: on record.
            live.get();
            for what in live.take_changes() {
                let detail = serde_json::json!({"file": live.path().map(|p| p.display().to_string()), "now": what});
                let record = crate::store::Record {
                    place: None,
                    user: "stepline",
                    role: None,
                    action: stepline_types::model::activity::Action::NotifyRules,
                    outcome: stepline_types::model::activity::Outcome::Done,
                    pipeline: None,
                    execution_arn: None,
                    request_id: "",
                    error_code: None,
                    detail,
                };
                if let Err(e) = log.append(&record).await {
                    tracing::warn!("notifications: the settings change could not be put on record: {e}");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let live_settings = settings;
    let settings = live_settings.get();
    for (place, gateway, queue) in places {
        let pace = Duration::from_secs_f64(1.0 / settings.poll_rate);
        let poller = Arc::new(Poller {
            gateway,
            place,
            db: db.clone(),
            settings: live_settings.clone(),
            pace,
            cluster: cluster.clone(),
            since: Some(Utc::now()),
            access: access.clone(),
        });
        let events = queue.is_some();
        // With events flowing, polling is only the safety net for one lost on the way. Read at every round:
        // the settings file may change.
        let every = move |s: &Settings| Duration::from_secs(if events { s.safety_net_seconds } else { s.poll_seconds });
        if let Some(queue) = queue {
            Listener { poller: poller.clone(), queue }.spawn();
        }
        let watches = watches.clone();
        let watch = move |s: &Settings, last_round| WatchView {
            events,
            every_seconds: every(s).as_secs(),
            rate: s.poll_rate,
            last_round,
        };
        watches.set(&poller.place.key(), watch(&settings, None));
        tokio::spawn(async move {
            loop {
                let began = std::time::Instant::now();
                let (at, calls) = (Utc::now(), poller.gateway.calls());
                let round = poller.round(at).await;
                for e in &round.errors {
                    tracing::warn!(place = %poller.place.label, "notifications: {e}");
                }
                let report = RoundView {
                    at,
                    pipelines: round.pipelines,
                    seconds: began.elapsed().as_secs_f64(),
                    calls: poller.gateway.calls().saturating_sub(calls),
                    events: round.events,
                    errors: round.errors.len(),
                    elsewhere: round.elsewhere,
                };
                let now = poller.settings.get();
                watches.set(&poller.place.key(), watch(&now, Some(report)));
                // A round longer than the interval (many pipelines at the poll rate) is followed at once.
                tokio::time::sleep(every(&now).saturating_sub(began.elapsed())).await;
            }
        });
    }
    tracing::info!(
        "Notifications: {} rule(s) to {} channel(s), executions looked at every {} s",
        settings.rules.len(),
        settings.channels.len(),
        settings.poll_seconds
    );
    Ok(())
}
