//! The notifications' outbox and what the poller has seen (tables in `migrations/*/…_notifications.sql`).
//!
//! An event and its deliveries are written in one transaction, and an event whose key is already there
//! writes nothing: a change reported twice is delivered once. A delivery is sent by whoever claims it
//! (a conditional update, so of several replicas exactly one wins); a claim lapses after a while, so a
//! replica that dies mid-send leaves the message to another (at least once, with its delivery id for the
//! receiver to drop a repeat).

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;
use stepline_types::notify::{Delivery, DeliveryStatus, Event, EventKind};

use super::{opt_text, random_token, Db};

/// A delivery claimed for sending.
#[derive(Clone, Debug)]
pub struct Due {
    pub id: i64,
    pub delivery_id: String,
    pub channel: String,
    pub attempts: i64,
    pub place: String,
    pub event: Event,
    /// Sent with the others of its channel's digest.
    pub digest: bool,
    /// To a personal subscription (its id) rather than a channel of the settings.
    pub subscription: Option<i64>,
}

/// One delivery of a new event: to a channel of the settings (by name) or to a personal subscription, due
/// when its rules allow, alone or with its channel's digest.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub channel: String,
    pub due_ms: i64,
    pub digest: bool,
    pub subscription: Option<i64>,
}

/// What the poller saw of an execution last time.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    pub status: String,
    /// Its status changes counted (events of the n-th change carry n in their key).
    pub changes: i64,
    /// How long it ran, for a succeeded execution seen ending (to know a pipeline's usual run).
    pub seconds: Option<f64>,
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn err(e: sqlx::Error) -> String {
    e.to_string()
}

impl Db {
    /// Write an event and its deliveries, unless its key is already written; whether it was new.
    pub async fn record_event(
        &self,
        place: &str,
        source: &str,
        event: &Event,
        outgoing: &[Outgoing],
        now_ms: i64,
    ) -> Result<bool, String> {
        let body = serde_json::to_string(event).map_err(|e| e.to_string())?;
        let kind: &'static str = event.kind.into();
        let mut tx = self.pool().begin().await.map_err(err)?;
        let inserted = sqlx::query(
            "INSERT INTO notify_events (event_key, place, kind, pipeline, execution_arn, source, at_ms, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_key) DO NOTHING RETURNING id",
        )
        .bind(event.key())
        .bind(place)
        .bind(kind)
        .bind(&event.pipeline)
        .bind(&event.execution_arn)
        .bind(source)
        .bind(now_ms)
        .bind(&body)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let Some(row) = inserted else {
            return Ok(false);
        };
        let id: i64 = row.try_get("id").map_err(err)?;
        for o in outgoing {
            sqlx::query(
                "INSERT INTO notify_deliveries (event_id, channel, delivery_id, status, attempts, due_ms, created_ms, digest, subscription_id) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(&o.channel)
            .bind(random_token(16))
            .bind(o.due_ms)
            .bind(now_ms)
            .bind(i64::from(o.digest))
            .bind(o.subscription)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(true)
    }

    /// Claim up to `limit` deliveries due at `now_ms` for `lease_ms`; each is claimed by one caller only.
    pub async fn claim_due(&self, now_ms: i64, lease_ms: i64, limit: i64) -> Result<Vec<Due>, String> {
        let candidates = sqlx::query(
            "SELECT d.id AS id FROM notify_deliveries d WHERE d.status = 'pending' AND d.due_ms <= $1 \
             AND d.claimed_until_ms < $1 ORDER BY d.due_ms, d.id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(err)?;
        let mut out = vec![];
        for c in candidates {
            let id: i64 = c.try_get("id").map_err(err)?;
            let claimed = sqlx::query(
                "UPDATE notify_deliveries SET claimed_until_ms = $1 WHERE id = $2 AND status = 'pending' \
                 AND claimed_until_ms < $3",
            )
            .bind(now_ms + lease_ms)
            .bind(id)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .map_err(err)?;
            if claimed.rows_affected() != 1 {
                continue;
            }
            let row = sqlx::query(
                "SELECT d.delivery_id AS delivery_id, d.channel AS channel, d.attempts AS attempts, \
                 d.digest AS digest, d.subscription_id AS subscription_id, e.place AS place, e.body AS body FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id \
                 WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(self.pool())
            .await
            .map_err(err)?;
            let body: String = row.try_get("body").map_err(err)?;
            let event: Event = serde_json::from_str(&body).map_err(|e| format!("event of delivery {id}: {e}"))?;
            out.push(Due {
                id,
                delivery_id: row.try_get("delivery_id").map_err(err)?,
                channel: row.try_get("channel").map_err(err)?,
                attempts: row.try_get("attempts").map_err(err)?,
                place: row.try_get("place").map_err(err)?,
                event,
                digest: row.try_get::<i64, _>("digest").map_err(err)? != 0,
                subscription: row.try_get::<Option<i64>, _>("subscription_id").map_err(err)?,
            });
        }
        Ok(out)
    }

    /// The receiver took it.
    pub async fn delivered(&self, id: i64, attempts: i64, now_ms: i64) -> Result<(), String> {
        sqlx::query(
            "UPDATE notify_deliveries SET status = 'sent', attempts = $1, sent_ms = $2, claimed_until_ms = 0, \
             last_error = NULL WHERE id = $3",
        )
        .bind(attempts)
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(err)?;
        Ok(())
    }

    /// It failed: try again at `due_ms`, or (`due_ms` None) give up.
    pub async fn failed_attempt(&self, id: i64, attempts: i64, due_ms: Option<i64>, error: &str) -> Result<(), String> {
        let error = stepline_types::text::clip(error, 500);
        let (status, due) = match due_ms {
            Some(d) => (DeliveryStatus::Pending, d),
            None => (DeliveryStatus::Dead, 0),
        };
        let status: &'static str = status.into();
        sqlx::query(
            "UPDATE notify_deliveries SET status = $1, attempts = $2, due_ms = CASE WHEN $3 > 0 THEN $3 ELSE due_ms END, \
             claimed_until_ms = 0, last_error = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(attempts)
        .bind(due)
        .bind(error)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(err)?;
        Ok(())
    }

    /// The newest deliveries, newest first, for the delivery log: of one place (its key), or of all.
    pub async fn deliveries(&self, place: Option<&str>, limit: i64) -> Result<Vec<Delivery>, String> {
        const SELECT: &str = "SELECT d.id AS id, d.delivery_id AS delivery_id, d.channel AS channel, \
             d.status AS status, d.attempts AS attempts, d.last_error AS last_error, d.created_ms AS created_ms, \
             d.due_ms AS due_ms, d.sent_ms AS sent_ms, e.body AS body, s.owner AS owner, d.subscription_id AS subscription_id \
             FROM notify_deliveries d JOIN notify_events e ON e.id = d.event_id \
             LEFT JOIN notify_subscriptions s ON s.id = d.subscription_id";
        let rows = match place {
            Some(p) => {
                sqlx::query(&format!("{SELECT} WHERE e.place = $1 ORDER BY d.id DESC LIMIT $2"))
                    .bind(p)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await
            }
            None => {
                sqlx::query(&format!("{SELECT} ORDER BY d.id DESC LIMIT $1")).bind(limit).fetch_all(self.pool()).await
            }
        }
        .map_err(err)?;
        let mut out = vec![];
        for row in rows {
            let body: String = row.try_get("body").map_err(err)?;
            let Ok(event) = serde_json::from_str::<Event>(&body) else { continue };
            let status: String = row.try_get("status").map_err(err)?;
            out.push(Delivery {
                id: row.try_get("id").map_err(err)?,
                delivery_id: row.try_get("delivery_id").map_err(err)?,
                kind: event.kind,
                title: event.title(),
                pipeline: event.pipeline.clone(),
                execution_id: event.execution_id.clone(),
                channel: row.try_get("channel").map_err(err)?,
                // A personal delivery whose subscription was removed is nobody's: admins only.
                owner: row
                    .try_get::<Option<i64>, _>("subscription_id")
                    .ok()
                    .flatten()
                    .map(|_| opt_text(&row, "owner").unwrap_or_default()),
                status: status.parse().unwrap_or(DeliveryStatus::Pending),
                attempts: row.try_get("attempts").map_err(err)?,
                last_error: opt_text(&row, "last_error"),
                created: time(row.try_get("created_ms").map_err(err)?),
                due: time(row.try_get("due_ms").map_err(err)?),
                sent: row.try_get::<Option<i64>, _>("sent_ms").ok().flatten().map(time),
            });
        }
        Ok(out)
    }

    /// Deliveries not yet sent, and when the oldest of them that is due (or was tried) was written.
    pub async fn outbox_depth(&self, now_ms: i64) -> Result<(i64, Option<i64>), String> {
        // The oldest is of those due or tried: one held by quiet hours is not late.
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(CASE WHEN due_ms <= $1 OR attempts > 0 THEN created_ms END) AS oldest \
             FROM notify_deliveries WHERE status = 'pending'",
        )
        .bind(now_ms)
        .fetch_one(self.pool())
        .await
        .map_err(err)?;
        Ok((row.try_get("n").map_err(err)?, row.try_get::<Option<i64>, _>("oldest").ok().flatten()))
    }

    /// Events written, by kind (for tests and the page's counts).
    pub async fn event_counts(&self) -> Result<HashMap<EventKind, i64>, String> {
        let rows = sqlx::query("SELECT kind, COUNT(*) AS n FROM notify_events GROUP BY kind")
            .fetch_all(self.pool())
            .await
            .map_err(err)?;
        let mut out = HashMap::new();
        for row in rows {
            let kind: String = row.try_get("kind").map_err(err)?;
            if let Ok(k) = kind.parse() {
                out.insert(k, row.try_get("n").map_err(err)?);
            }
        }
        Ok(out)
    }

    /// Whether the poller has looked at this pipeline before (its first look only takes note).
    pub async fn pipeline_noted(&self, key: &str) -> Result<bool, String> {
        let row = sqlx::query("SELECT since_ms FROM notify_pipelines WHERE pipeline_key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(err)?;
        Ok(row.is_some())
    }

    pub async fn note_pipeline(&self, key: &str, now_ms: i64) -> Result<(), String> {
        sqlx::query("INSERT INTO notify_pipelines (pipeline_key, since_ms) VALUES ($1, $2) ON CONFLICT (pipeline_key) DO NOTHING")
            .bind(key)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .map_err(err)?;
        Ok(())
    }

    /// What was seen of these executions (by ARN, lower-cased).
    pub async fn seen(&self, arns: &[String]) -> Result<HashMap<String, Seen>, String> {
        let mut out = HashMap::new();
        // One query per execution: a page holds twenty at most, and `IN` lists do not bind portably.
        for arn in arns {
            let row = sqlx::query("SELECT status, changes, seconds FROM notify_seen WHERE execution_arn = $1")
                .bind(arn.to_lowercase())
                .fetch_optional(self.pool())
                .await
                .map_err(err)?;
            if let Some(row) = row {
                out.insert(
                    arn.to_lowercase(),
                    Seen {
                        status: row.try_get("status").map_err(err)?,
                        changes: row.try_get("changes").map_err(err)?,
                        seconds: row.try_get("seconds").map_err(err)?,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The median length, in seconds, of the pipeline's last ten successful runs Stepline saw end; none
    /// before it has seen three.
    pub async fn usual_seconds(&self, place: &str, pipeline: &str) -> Result<Option<f64>, String> {
        let rows = sqlx::query(
            "SELECT seconds FROM notify_seen WHERE place = $1 AND pipeline = $2 AND seconds IS NOT NULL \
             ORDER BY seen_ms DESC LIMIT 10",
        )
        .bind(place)
        .bind(pipeline)
        .fetch_all(self.pool())
        .await
        .map_err(err)?;
        let mut runs: Vec<f64> = rows.iter().filter_map(|r| r.try_get::<f64, _>("seconds").ok()).collect();
        Ok(stepline_types::notify::median(&mut runs))
    }

    pub async fn set_seen(
        &self,
        place: &str,
        pipeline: &str,
        arn: &str,
        seen: &Seen,
        now_ms: i64,
    ) -> Result<(), String> {
        sqlx::query(
            "INSERT INTO notify_seen (execution_arn, place, pipeline, status, changes, seen_ms, seconds) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (execution_arn) DO UPDATE SET status = $4, changes = $5, seen_ms = $6, seconds = $7",
        )
        .bind(arn.to_lowercase())
        .bind(place)
        .bind(pipeline)
        .bind(&seen.status)
        .bind(seen.changes)
        .bind(now_ms)
        .bind(seen.seconds)
        .execute(self.pool())
        .await
        .map_err(err)?;
        Ok(())
    }
}
