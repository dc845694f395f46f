//! The activity log: appended before an action's answer is sent, read by the activity page, the
//! execution page's history and the lists' "Started by" column. Rows are never changed (the database's
//! triggers refuse it).

use std::collections::HashMap;

use sqlx::Row;

use super::{now_ms, opt_text, Db};
use stepline_types::model::access::Role;
use stepline_types::model::activity::{Action, Entry, Filter, Outcome, Page};

/// A record to append.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// The account and region it happened in (`Place::label_key`: "" with one place); None outside any place
    /// (logins, logouts, refusals before a place is known).
    pub place: Option<&'a str>,
    pub user: &'a str,
    pub role: Option<Role>,
    pub action: Action,
    pub outcome: Outcome,
    pub pipeline: Option<&'a str>,
    pub execution_arn: Option<&'a str>,
    pub request_id: &'a str,
    pub error_code: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Whose records a reader sees.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Admins: everything.
    Everything,
    /// Others: their own records and those of the pipelines they may read, each in its own place (a namesake
    /// in another account is another pipeline).
    Readable { user: String, places: Vec<PlaceScope> },
}

/// The pipelines a reader may read in one place.
#[derive(Clone, Debug)]
pub struct PlaceScope {
    pub place: String,
    pub pipelines: Vec<String>,
    /// Records written before places were recorded count as this place's: true where there is one place
    /// only, and so no doubt which it was.
    pub with_unplaced: bool,
}

/// The most records a page shows.
pub const PAGE: usize = 100;

const COLUMNS: &str =
    "id, at_ms, user_name, role, action, outcome, pipeline, execution_arn, request_id, error_code, detail";

impl Db {
    pub async fn append(&self, r: &Record<'_>) -> Result<i64, String> {
        let row = sqlx::query(
            "INSERT INTO activity (at_ms, user_name, role, action, outcome, pipeline, execution_arn, request_id, \
             error_code, detail, place) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(now_ms())
        .bind(r.user)
        .bind(r.role.map(Role::label).unwrap_or(""))
        .bind(r.action.label())
        .bind(r.outcome.label())
        .bind(r.pipeline)
        .bind(r.execution_arn)
        .bind(r.request_id)
        .bind(r.error_code)
        .bind(r.detail.to_string())
        .bind(r.place)
        .fetch_one(self.pool())
        .await
        .map_err(|e| format!("the activity log could not be written: {e}"));
        crate::observe::record::activity_write(r.action.label(), row.is_ok());
        row?.try_get::<i64, _>(0).map_err(|e| e.to_string())
    }

    /// A page of records matching `filter`, newest first, within `scope`.
    pub async fn page(&self, filter: &Filter, scope: &Scope, limit: usize) -> Result<Page, String> {
        let mut sql = format!("SELECT {COLUMNS} FROM activity WHERE 1=1");
        let mut args: Vec<Arg> = vec![];
        let mut push = |sql: &mut String, clause: &str, arg: Arg| {
            args.push(arg);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(u) = &filter.user {
            push(&mut sql, " AND user_name = ?", Arg::Text(u.clone()));
        }
        if let Some(p) = &filter.pipeline {
            push(&mut sql, " AND pipeline = ?", Arg::Text(p.clone()));
        }
        if let Some(a) = filter.action {
            push(&mut sql, " AND action = ?", Arg::Text(a.label().into()));
        }
        if let Some(o) = filter.outcome {
            push(&mut sql, " AND outcome = ?", Arg::Text(o.label().into()));
        }
        if let Some(t) = filter.from {
            push(&mut sql, " AND at_ms >= ?", Arg::Int(t.timestamp_millis()));
        }
        if let Some(t) = filter.to {
            push(&mut sql, " AND at_ms < ?", Arg::Int(t.timestamp_millis()));
        }
        if let Some(b) = filter.before {
            push(&mut sql, " AND id < ?", Arg::Int(b));
        }
        let everything = matches!(scope, Scope::Everything);
        if let Scope::Readable { user, places } = scope {
            push(&mut sql, " AND (user_name = ?", Arg::Text(user.clone()));
            for p in places.iter().filter(|p| !p.pipelines.is_empty()) {
                push(&mut sql, " OR ((place = ?", Arg::Text(p.place.clone()));
                if p.with_unplaced {
                    sql.push_str(" OR place IS NULL");
                }
                sql.push_str(") AND pipeline IN (");
                for (i, name) in p.pipelines.iter().enumerate() {
                    push(&mut sql, if i == 0 { "?" } else { ", ?" }, Arg::Text(name.clone()));
                }
                sql.push_str("))");
            }
            sql.push(')');
        }
        push(&mut sql, " ORDER BY id DESC LIMIT ?", Arg::Int(limit as i64 + 1));
        let mut q = sqlx::query(&sql);
        for a in &args {
            q = match a {
                Arg::Text(t) => q.bind(t.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        let rows = q.fetch_all(self.pool()).await.map_err(|e| format!("the activity log could not be read: {e}"))?;
        let mut entries: Vec<Entry> = rows.iter().filter_map(entry).collect();
        let next = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(Page { entries, next, everything })
    }

    /// What was done to one execution, oldest first.
    pub async fn history(&self, execution_arn: &str) -> Result<Vec<Entry>, String> {
        let sql = format!("SELECT {COLUMNS} FROM activity WHERE execution_arn = $1 ORDER BY id LIMIT 500");
        let rows = sqlx::query(&sql)
            .bind(execution_arn)
            .fetch_all(self.pool())
            .await
            .map_err(|e| format!("the activity log could not be read: {e}"))?;
        Ok(rows.iter().filter_map(entry).collect())
    }

    /// Who started each of these executions through Stepline.
    pub async fn started_by(&self, arns: &[String]) -> Result<HashMap<String, String>, String> {
        if arns.is_empty() {
            return Ok(HashMap::new());
        }
        let marks = (1..=arns.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT execution_arn, user_name FROM activity WHERE execution_arn IN ({marks}) \
             AND action IN ('start', 'rerun') AND outcome = 'done'"
        );
        let mut q = sqlx::query(&sql);
        for a in arns {
            q = q.bind(a.as_str());
        }
        let rows = q.fetch_all(self.pool()).await.map_err(|e| format!("the activity log could not be read: {e}"))?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((opt_text(r, "execution_arn")?, r.try_get::<String, _>("user_name").ok()?)))
            .collect())
    }
}

enum Arg {
    Text(String),
    Int(i64),
}

fn entry(row: &sqlx::any::AnyRow) -> Option<Entry> {
    let at_ms: i64 = row.try_get("at_ms").ok()?;
    Some(Entry {
        id: row.try_get("id").ok()?,
        at: chrono::DateTime::from_timestamp_millis(at_ms)?,
        user: row.try_get("user_name").ok()?,
        role: row.try_get("role").ok()?,
        action: Action::parse(&row.try_get::<String, _>("action").ok()?)?,
        outcome: Outcome::parse(&row.try_get::<String, _>("outcome").ok()?)?,
        pipeline: opt_text(row, "pipeline"),
        execution_arn: opt_text(row, "execution_arn"),
        request_id: row.try_get("request_id").ok()?,
        error_code: opt_text(row, "error_code"),
        detail: serde_json::from_str(&row.try_get::<String, _>("detail").ok()?).unwrap_or(serde_json::Value::Null),
    })
}
