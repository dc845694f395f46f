//! The estimated cost of finished executions (table in `migrations/*/…_prices.sql`), computed once: the
//! pipeline page's trend and the CSV export read them here rather than describing every job again.

use sqlx::Row;
use stepline_types::cost::ExecutionCost;

use super::Db;

/// A finished execution's kept estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptCost {
    pub pipeline: String,
    pub execution_id: String,
    pub started_ms: i64,
    pub cost: ExecutionCost,
}

fn err(e: sqlx::Error) -> String {
    e.to_string()
}

impl Db {
    /// Keep a finished execution's complete estimate (again: the newer wins).
    pub async fn keep_cost(&self, place: &str, arn: &str, kept: &KeptCost, now_ms: i64) -> Result<(), String> {
        let detail = serde_json::to_string(&kept.cost).map_err(|e| e.to_string())?;
        sqlx::query(
            "INSERT INTO execution_costs (place, execution_arn, pipeline, execution_id, started_ms, detail, computed_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (place, execution_arn) DO UPDATE SET \
             detail = excluded.detail, computed_ms = excluded.computed_ms",
        )
        .bind(place)
        .bind(arn)
        .bind(&kept.pipeline)
        .bind(&kept.execution_id)
        .bind(kept.started_ms)
        .bind(detail)
        .bind(now_ms)
        .execute(self.pool())
        .await
        .map_err(err)?;
        Ok(())
    }

    /// An execution's kept estimate, if it was computed.
    pub async fn kept_cost(&self, place: &str, arn: &str) -> Result<Option<ExecutionCost>, String> {
        let row = sqlx::query("SELECT detail FROM execution_costs WHERE place = $1 AND execution_arn = $2")
            .bind(place)
            .bind(arn)
            .fetch_optional(self.pool())
            .await
            .map_err(err)?;
        Ok(row.and_then(|r| r.try_get::<String, _>("detail").ok()).and_then(|d| serde_json::from_str(&d).ok()))
    }

    /// The kept estimates of a place's executions started from `since_ms` to `until_ms`, of one pipeline or
    /// of all (`None`), oldest first, at most `limit`.
    pub async fn kept_costs(
        &self,
        place: &str,
        pipeline: Option<&str>,
        since_ms: i64,
        until_ms: i64,
        limit: i64,
    ) -> Result<Vec<KeptCost>, String> {
        let rows = sqlx::query(
            "SELECT pipeline, execution_id, started_ms, detail FROM execution_costs \
             WHERE place = $1 AND ($2 = '' OR pipeline = $2) AND started_ms >= $3 AND started_ms < $4 \
             ORDER BY started_ms LIMIT $5",
        )
        .bind(place)
        .bind(pipeline.unwrap_or_default())
        .bind(since_ms)
        .bind(until_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(err)?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(KeptCost {
                    pipeline: r.try_get("pipeline").ok()?,
                    execution_id: r.try_get("execution_id").ok()?,
                    started_ms: r.try_get("started_ms").ok()?,
                    cost: serde_json::from_str(&r.try_get::<String, _>("detail").ok()?).ok()?,
                })
            })
            .collect())
    }
}
