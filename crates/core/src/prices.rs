//! Instance prices for cost estimates, shared by every place and viewer.
//!
//! The price file (`--prices`) answers first and costs nothing upstream. Else one `GetProducts` per region
//! and instance type gives every component's on-demand price; what it gave (or that it gave nothing) is kept
//! in the database for a day, so pages ask the Price List at most once a day per instance type, and a
//! restart asks nothing. One ask per region and instance at a time, however many pages want it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use stepline_types::cost::prices::{parse_product, PriceFile};
use stepline_types::cost::{Component, Price, PriceSource};
use stepline_types::model::Upstream;

use crate::gateway::Gateway;
use crate::reuse::Reuse;
use crate::store::{now_ms, Db};

/// How long a list price is used before it is asked again.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long the database's answer is reused in memory before it is read again.
const IN_MEMORY: Duration = Duration::from_secs(3600);

/// Component → USD per hour, of one region and instance type (empty: the list has none).
type ListPrices = BTreeMap<Component, f64>;

pub struct Prices {
    file: PriceFile,
    db: Db,
    lists: Reuse<(String, String), ListPrices>,
}

impl Prices {
    pub fn new(db: Db, file: PriceFile) -> Prices {
        Prices { file, db, lists: Reuse::new(IN_MEMORY, 2_000) }
    }

    /// The price of an instance-hour of `instance` for `component` in `region`: the price file's own, else
    /// the list's (less the file's discount); `Ok(None)` when neither has one. A failed Price List call is
    /// an error, told apart from a price that does not exist.
    pub async fn price(
        &self,
        gateway: &Gateway,
        region: &str,
        instance: &str,
        component: Component,
    ) -> Result<Option<Price>, Upstream> {
        if let Some(own) = self.file.price(region, instance, component, None).filter(|p| p.source == PriceSource::File)
        {
            return Ok(Some(own));
        }
        let key = (region.to_string(), instance.to_string());
        let list = self.lists.get(&key, |_| false, self.load(gateway, region, instance)).await?;
        Ok(self.file.price(region, instance, component, list.get(&component).copied()))
    }

    /// From the database when asked within a day, else from the Price List (and then kept).
    async fn load(&self, gateway: &Gateway, region: &str, instance: &str) -> Result<ListPrices, Upstream> {
        if let Some(kept) = self.stored(region, instance).await {
            return Ok(kept);
        }
        let docs = gateway.products(region, instance).await?;
        let mut list = ListPrices::new();
        for doc in &docs {
            match parse_product(doc) {
                Ok(Some(p)) if p.region == region && p.instance == instance => {
                    list.entry(p.component).or_insert(p.usd_per_hour);
                }
                Ok(_) => {}
                Err(why) => tracing::warn!(region, instance, "a Price List product was skipped: {why}"),
            }
        }
        self.store(region, instance, &list).await;
        Ok(list)
    }

    async fn stored(&self, region: &str, instance: &str) -> Option<ListPrices> {
        let row = sqlx::query("SELECT components, fetched_ms FROM prices WHERE region = $1 AND instance = $2")
            .bind(region)
            .bind(instance)
            .fetch_optional(self.db.pool())
            .await
            .ok()??;
        let fetched: i64 = row.try_get("fetched_ms").ok()?;
        if now_ms() - fetched > KEPT_FOR.as_millis() as i64 {
            return None;
        }
        let text: String = row.try_get("components").ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Keep what the list said; a failure to write only means asking again later.
    async fn store(&self, region: &str, instance: &str, list: &ListPrices) {
        let text = serde_json::to_string(list).unwrap_or_else(|_| "{}".into());
        let written = sqlx::query(
            "INSERT INTO prices (region, instance, components, fetched_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (region, instance) DO UPDATE SET components = excluded.components, fetched_ms = excluded.fetched_ms",
        )
        .bind(region)
        .bind(instance)
        .bind(text)
        .bind(now_ms())
        .execute(self.db.pool())
        .await;
        if let Err(e) = written {
            tracing::warn!(region, instance, "prices could not be kept: {e}");
        }
    }
}

/// Read and check the price file (`--prices`): its errors name the file and the entry.
pub fn read_price_file(path: &std::path::Path) -> Result<PriceFile, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the price file {}: {e}", path.display()))?;
    let file: PriceFile =
        toml::from_str(&text).map_err(|e| format!("the price file {} is not valid: {e}", path.display()))?;
    file.check().map_err(|e| format!("the price file {}: {e}", path.display()))?;
    Ok(file)
}

/// One book for every place (prices are by region, not by account).
pub type SharedPrices = Arc<Prices>;
