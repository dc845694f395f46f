//! Sending what the outbox holds: each claimed delivery posted to its channel, at the same time as the
//! others (a receiver that hangs holds only its own message, for the request timeout), retried with
//! exponential backoff and jitter, honouring `Retry-After`, until it is sent or its attempts run out.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::live::LiveSettings;
use super::message::{self, Links};
use super::settings::{Channel, ChannelKind, Secret, Target};
use crate::store::{Db, Due};
use stepline_types::notify::Event;

/// How retries are spaced: `first` after the first failure, doubling up to `most`, `attempts` in all (the
/// default gives up after about ten hours).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub most: Duration,
    pub attempts: i64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { first: Duration::from_secs(15), most: Duration::from_secs(3600), attempts: 16 }
    }
}

impl Backoff {
    /// The wait after the `attempt`-th failure, jittered by ±20 % (`jitter` in 0..1), at least what the
    /// receiver's `Retry-After` asks.
    pub fn after(&self, attempt: i64, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let doubled = self.first.as_secs_f64() * 2f64.powi((attempt - 1).clamp(0, 30) as i32);
        let wait = doubled.min(self.most.as_secs_f64()) * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
        Duration::from_secs_f64(wait).max(retry_after.unwrap_or_default().min(self.most))
    }
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Sent,
    /// Worth another try (no answer, 408, 429, 5xx), after at least `retry_after` when the receiver said.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// The receiver refused it for good (another 4xx): trying again would be refused again.
    Refused {
        error: String,
    },
}

/// The outbox's sender. Links in messages point at `origin` (`scheme://host[:port]`) and each place's base.
#[derive(Clone)]
pub struct Sender {
    pub db: Db,
    pub settings: Arc<LiveSettings>,
    pub origin: String,
    pub backoff: Backoff,
    pub http: reqwest::Client,
}

impl Sender {
    pub fn new(db: Db, settings: Arc<LiveSettings>, origin: String, backoff: Backoff) -> Result<Sender, String> {
        let http = reqwest::Client::builder()
            // A receiver's redirect is not followed: a webhook URL names where messages go.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("Stepline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client for notifications: {e}"))?;
        Ok(Sender { db, settings, origin, backoff, http })
    }

    /// Send every delivery due at `now`, all at once; how many were sent.
    pub async fn send_due(&self, now: DateTime<Utc>) -> Result<usize, String> {
        let now_ms = now.timestamp_millis();
        // The claim outlasts the request timeout: a replica that dies mid-send leaves it to another after.
        let due = self.db.claim_due(now_ms, 60_000, 64).await?;
        let mut tasks = tokio::task::JoinSet::new();
        // A digest's deliveries go as one message per channel and place.
        let mut digests: std::collections::BTreeMap<(String, String), Vec<Due>> = Default::default();
        for d in due {
            if d.digest {
                digests.entry((d.channel.clone(), d.place.clone())).or_default().push(d);
                continue;
            }
            let this = self.clone();
            tasks.spawn(async move { this.deliver(vec![d], now).await });
        }
        for (_, group) in digests {
            let this = self.clone();
            tasks.spawn(async move { this.deliver(group, now).await });
        }
        let mut sent = 0;
        while let Some(done) = tasks.join_next().await {
            if let Ok(Ok(n)) = done {
                sent += n;
            }
        }
        self.gauge().await;
        Ok(sent)
    }

    /// Send one delivery, or a digest's (one channel and place); how many were sent.
    async fn deliver(&self, group: Vec<Due>, now: DateTime<Utc>) -> Result<usize, String> {
        let Some(first) = group.first() else { return Ok(0) };
        let settings = self.settings.get();
        let channel = match first.subscription {
            Some(id) => match self.db.subscriber(id).await? {
                Some(s) => super::personal::channel_for(&settings, &s),
                None => Err("its subscription was removed".to_string()),
            },
            None => {
                settings.channels.get(&first.channel).cloned().ok_or("its channel is no longer in the settings".into())
            }
        };
        let channel = match channel {
            Ok(c) => c,
            Err(why) => {
                // Nothing can send it: given up, saying why.
                for d in &group {
                    self.db.failed_attempt(d.id, d.attempts + 1, None, &why).await?;
                }
                return Ok(0);
            }
        };
        let channel = &channel;
        let base = place_base(&first.place);
        let outcome = match group.as_slice() {
            [d] if !d.digest => self.attempt(channel, d, &base, now).await,
            _ => self.attempt_digest(channel, &group, &base, now).await,
        };
        let kind: &'static str = channel.kind.into();
        let label = match &outcome {
            Outcome::Sent => "sent",
            Outcome::Retry { .. } => "retry",
            Outcome::Refused { .. } => "refused",
        };
        metrics::counter!(crate::observe::NOTIFY_DELIVERIES, "channel" => kind, "outcome" => label).increment(1);
        // A digest's deliveries share the attempt: they are sent, retried (together again, as one) or
        // given up together.
        let jitter = jitter();
        for d in &group {
            let attempts = d.attempts + 1;
            match &outcome {
                Outcome::Sent => self.db.delivered(d.id, attempts, Utc::now().timestamp_millis()).await?,
                Outcome::Retry { error, retry_after } => {
                    let due = (attempts < self.backoff.attempts).then(|| {
                        let wait = self.backoff.after(attempts, jitter, *retry_after);
                        now.timestamp_millis() + wait.as_millis() as i64
                    });
                    if due.is_none() {
                        tracing::warn!(channel = %channel.name, attempts, "a notification is given up: {error}");
                    }
                    self.db.failed_attempt(d.id, attempts, due, error).await?;
                }
                Outcome::Refused { error } => {
                    tracing::warn!(channel = %channel.name, "a notification was refused: {error}");
                    self.db.failed_attempt(d.id, attempts, None, error).await?;
                }
            }
        }
        Ok(if outcome == Outcome::Sent { group.len() } else { 0 })
    }

    /// One attempt at a digest: every delivery of the group in one message.
    async fn attempt_digest(&self, channel: &Channel, group: &[Due], base: &str, now: DateTime<Utc>) -> Outcome {
        let items: Vec<super::digest::Item> = group
            .iter()
            .map(|d| super::digest::Item {
                event: &d.event,
                links: Links::of(&d.event, &self.origin, base),
                delivery_id: &d.delivery_id,
            })
            .collect();
        // The digest's own id: its first delivery's, marked (each item keeps its own inside).
        let id = format!("digest-{}", group[0].delivery_id);
        match &channel.target {
            Target::Http { url, secret } => {
                let body = match channel.kind {
                    ChannelKind::Slack => super::digest::slack(&items),
                    ChannelKind::Teams => super::digest::teams(&items),
                    ChannelKind::Webhook | ChannelKind::Email => super::digest::webhook(&items, &id),
                };
                self.post_bytes(url, secret.as_ref(), &id, body.to_string().into_bytes(), now).await
            }
            Target::Email(m) => {
                let (subject, text, html) =
                    (super::digest::title(&items), super::digest::text(&items), super::digest::html(&items));
                match super::mail::send_parts(m, &subject, text, html, &id).await {
                    Ok(()) => Outcome::Sent,
                    Err(f) if f.transient => Outcome::Retry { error: f.error, retry_after: None },
                    Err(f) => Outcome::Refused { error: f.error },
                }
            }
        }
    }

    /// One attempt on the channel, whatever its kind.
    async fn attempt(&self, channel: &Channel, d: &Due, base: &str, now: DateTime<Utc>) -> Outcome {
        let links = Links::of(&d.event, &self.origin, base);
        match &channel.target {
            Target::Http { url, secret } => self.post(channel.kind, url, secret.as_ref(), d, &links, now).await,
            Target::Email(m) => match super::mail::send(m, &d.event, &links, &d.delivery_id).await {
                Ok(()) => Outcome::Sent,
                Err(f) if f.transient => Outcome::Retry { error: f.error, retry_after: None },
                Err(f) => Outcome::Refused { error: f.error },
            },
        }
    }

    /// A test message, sent once, now: what the receiver said when it did not take it.
    pub async fn test(&self, channel: &Channel, base: &str) -> Result<(), String> {
        let now = Utc::now();
        let event = Event::test(now);
        let d = Due {
            id: 0,
            delivery_id: format!("test-{}", crate::store::random_token(8)),
            channel: channel.name.clone(),
            attempts: 0,
            place: String::new(),
            event,
            digest: false,
            subscription: None,
        };
        match self.attempt(channel, &d, base, now).await {
            Outcome::Sent => Ok(()),
            Outcome::Retry { error, .. } | Outcome::Refused { error } => Err(error),
        }
    }

    /// One attempt. The URL is a secret (Slack's and Teams' carry their token): errors never name it.
    async fn post(
        &self,
        kind: ChannelKind,
        url: &Secret,
        secret: Option<&Secret>,
        d: &Due,
        links: &Links,
        now: DateTime<Utc>,
    ) -> Outcome {
        let body = match kind {
            ChannelKind::Slack => message::slack(&d.event, links),
            ChannelKind::Teams => message::teams(&d.event, links),
            ChannelKind::Webhook | ChannelKind::Email => message::webhook(&d.event, links, &d.delivery_id),
        };
        self.post_bytes(url, secret, &d.delivery_id, body.to_string().into_bytes(), now).await
    }

    /// POST a JSON body, signed when the channel has a secret.
    async fn post_bytes(
        &self,
        url: &Secret,
        secret: Option<&Secret>,
        delivery_id: &str,
        body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Outcome {
        let mut request = self
            .http
            .post(url.expose())
            .header("content-type", "application/json")
            .header("x-stepline-delivery", delivery_id);
        if let Some(secret) = secret {
            request =
                request.header("x-stepline-signature", message::signature(secret.expose(), now.timestamp(), &body));
        }
        let answer = match request.body(body).send().await {
            Ok(a) => a,
            Err(e) => {
                let what = if e.is_timeout() {
                    "no answer within 10 s"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "the request failed"
                };
                return Outcome::Retry { error: what.to_string(), retry_after: None };
            }
        };
        let status = answer.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        let retry_after = answer
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // The receiver's own words, short: what it says is shown on the page to those who see deliveries.
        let said: String = answer.text().await.unwrap_or_default().chars().take(200).collect();
        let error =
            format!("HTTP {}{}", status.as_u16(), if said.is_empty() { String::new() } else { format!(": {said}") });
        if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
            Outcome::Retry { error, retry_after }
        } else {
            Outcome::Refused { error }
        }
    }

    async fn gauge(&self) {
        if let Ok((depth, oldest)) = self.db.outbox_depth(Utc::now().timestamp_millis()).await {
            metrics::gauge!(crate::observe::NOTIFY_OUTBOX_DEPTH).set(depth as f64);
            let age = oldest.map_or(0.0, |o| ((Utc::now().timestamp_millis() - o).max(0) as f64) / 1000.0);
            metrics::gauge!(crate::observe::NOTIFY_OUTBOX_OLDEST).set(age);
        }
    }
}

/// A place's page base from its key (`Place::key`: "" or "/{account}/{region} "), under the root.
fn place_base(key: &str) -> String {
    format!("{}{}", stepline_types::base::root(), key.trim_end())
}

/// A number in 0..1 from the operating system's random source.
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    u32::from_le_bytes(b) as f64 / u32::MAX as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_ceiling_with_jitter_and_honours_retry_after() {
        let b = Backoff { first: Duration::from_secs(10), most: Duration::from_secs(60), attempts: 5 };
        assert_eq!(b.after(1, 0.5, None), Duration::from_secs(10));
        assert_eq!(b.after(2, 0.5, None), Duration::from_secs(20));
        assert_eq!(b.after(3, 0.0, None), Duration::from_secs(32), "-20 %");
        assert_eq!(b.after(3, 1.0, None), Duration::from_secs(48), "+20 %");
        assert_eq!(b.after(9, 0.5, None), Duration::from_secs(60), "the ceiling");
        assert_eq!(b.after(1, 0.5, Some(Duration::from_secs(45))), Duration::from_secs(45), "Retry-After");
        assert_eq!(b.after(1, 0.5, Some(Duration::from_secs(9999))), Duration::from_secs(60), "within the ceiling");
    }
}
