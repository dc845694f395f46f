//! Personal subscriptions (table in `migrations/*/…_subscriptions.sql`): made on the pages, read by the
//! poller (which events go to whom) and the sender (where a personal delivery goes).

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;
use stepline_types::notify::EventKind;
use stepline_types::subscriptions::{shown_url, PersonalTarget, Subscription};

use super::{opt_text, Db};

/// A subscription to write (checked by `notify::personal`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewSubscription {
    pub owner: String,
    pub groups: Vec<String>,
    pub place: String,
    pub pipeline: String,
    /// One execution's end (its ARN and id), else the whole pipeline.
    pub execution: Option<(String, String)>,
    pub events: Vec<EventKind>,
    pub target: PersonalTarget,
    pub address: String,
    pub secret: Option<String>,
}

/// A subscription as the server uses it: with its address whole and its secret.
#[derive(Clone, PartialEq)]
pub struct Subscriber {
    pub id: i64,
    pub owner: String,
    /// The owner's groups when they subscribed: the policy is asked with them at each event.
    pub groups: Vec<String>,
    pub place: String,
    pub pipeline: String,
    pub execution_arn: Option<String>,
    pub execution_id: Option<String>,
    pub events: Vec<EventKind>,
    pub target: PersonalTarget,
    pub address: String,
    pub secret: Option<String>,
    pub created_ms: i64,
    pub ended_ms: Option<i64>,
}

impl std::fmt::Debug for Subscriber {
    // The address (a webhook's URL may carry its token) and the secret stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("pipeline", &self.pipeline)
            .field("execution_id", &self.execution_id)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Subscriber {
    /// Whether it wants `kind` of this pipeline's execution `arn`.
    pub fn wants(&self, kind: EventKind, pipeline: &str, arn: &str) -> bool {
        self.ended_ms.is_none()
            && self.events.contains(&kind)
            && self.pipeline.eq_ignore_ascii_case(pipeline)
            && self.execution_arn.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(arn))
    }

    /// As a page shows it; the secret only to its owner.
    pub fn view(&self, owner_looking: bool) -> Subscription {
        Subscription {
            id: self.id,
            owner: self.owner.clone(),
            place: self.place.clone(),
            pipeline: self.pipeline.clone(),
            execution_id: self.execution_id.clone(),
            events: self.events.clone(),
            target: self.target,
            address: match self.target {
                PersonalTarget::Email => self.address.clone(),
                _ => shown_url(&self.address),
            },
            secret: self.secret.clone().filter(|_| owner_looking),
            created: time(self.created_ms),
            ended: self.ended_ms.map(time),
        }
    }
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn err(e: sqlx::Error) -> String {
    e.to_string()
}

const COLUMNS: &str = "id, owner, owner_groups, place, pipeline, execution_arn, execution_id, events, target, \
     address, secret, created_ms, ended_ms";

fn read(row: &sqlx::any::AnyRow) -> Result<Subscriber, String> {
    let text = |c: &str| row.try_get::<String, _>(c).map_err(err);
    let groups: Vec<String> = serde_json::from_str(&text("owner_groups")?).unwrap_or_default();
    let events: Vec<EventKind> = serde_json::from_str(&text("events")?).unwrap_or_default();
    let target = text("target")?.parse().map_err(|_| "a subscription of an unknown kind".to_string())?;
    let nonempty = |v: String| Some(v).filter(|v| !v.is_empty());
    Ok(Subscriber {
        id: row.try_get("id").map_err(err)?,
        owner: text("owner")?,
        groups,
        place: text("place")?,
        pipeline: text("pipeline")?,
        execution_arn: nonempty(text("execution_arn")?),
        execution_id: nonempty(text("execution_id")?),
        events,
        target,
        address: text("address")?,
        secret: opt_text(row, "secret"),
        created_ms: row.try_get("created_ms").map_err(err)?,
        ended_ms: row.try_get::<Option<i64>, _>("ended_ms").map_err(err)?,
    })
}

impl Db {
    /// Write a subscription; the same one again (a double submit, or one made anew after it ended) is the
    /// same row, open again. Its id.
    pub async fn subscribe(&self, s: &NewSubscription, now_ms: i64) -> Result<i64, String> {
        let (arn, id) = s.execution.clone().unwrap_or_default();
        let events = serde_json::to_string(&s.events).map_err(|e| e.to_string())?;
        let groups = serde_json::to_string(&s.groups).map_err(|e| e.to_string())?;
        let target: &'static str = s.target.into();
        let row = sqlx::query(
            "INSERT INTO notify_subscriptions (owner, owner_groups, place, pipeline, execution_arn, execution_id, \
             events, target, address, secret, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (owner, place, pipeline, execution_arn, target, address) DO UPDATE SET \
             events = excluded.events, owner_groups = excluded.owner_groups, ended_ms = NULL RETURNING id",
        )
        .bind(&s.owner)
        .bind(groups)
        .bind(&s.place)
        .bind(&s.pipeline)
        .bind(arn)
        .bind(id)
        .bind(events)
        .bind(target)
        .bind(&s.address)
        .bind(s.secret.clone())
        .bind(now_ms)
        .fetch_one(self.pool())
        .await
        .map_err(err)?;
        row.try_get("id").map_err(err)
    }

    /// The open subscriptions of a place (by its key), for the poller.
    pub async fn subscribers(&self, place: &str) -> Result<Vec<Subscriber>, String> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM notify_subscriptions WHERE place = $1 AND ended_ms IS NULL ORDER BY id"
        ))
        .bind(place)
        .fetch_all(self.pool())
        .await
        .map_err(err)?;
        rows.iter().map(read).collect()
    }

    /// One subscription (open or ended), for the sender.
    pub async fn subscriber(&self, id: i64) -> Result<Option<Subscriber>, String> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM notify_subscriptions WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(err)?;
        row.as_ref().map(read).transpose()
    }

    /// A person's subscriptions (everyone's with `None`), newest first.
    pub async fn subscriptions_of(&self, owner: Option<&str>, limit: i64) -> Result<Vec<Subscriber>, String> {
        let rows = match owner {
            Some(o) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM notify_subscriptions WHERE owner = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(o)
                .bind(limit)
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM notify_subscriptions ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await
            }
        }
        .map_err(err)?;
        rows.iter().map(read).collect()
    }

    /// Remove a subscription; its deliveries not yet sent are then given up by the sender.
    pub async fn unsubscribe(&self, id: i64) -> Result<(), String> {
        sqlx::query("DELETE FROM notify_subscriptions WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(err)?;
        Ok(())
    }

    /// An execution's subscription whose end was told: kept (the page lists it as ended), never matched again.
    pub async fn end_subscription(&self, id: i64, now_ms: i64) -> Result<(), String> {
        sqlx::query("UPDATE notify_subscriptions SET ended_ms = $1 WHERE id = $2 AND ended_ms IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(err)?;
        Ok(())
    }
}
