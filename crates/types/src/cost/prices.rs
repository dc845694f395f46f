//! Prices: read from the AWS Price List's product documents, and overridden by an operator's price file.
//!
//! `GetProducts(ServiceCode=AmazonSageMaker, regionCode, instanceName)` answers a list of JSON *strings*, one
//! product each: `product.attributes` names its region, instance and component (Training, Processing, Batch
//! Transform, Hosting, Notebook…) and `terms.OnDemand.<offer>.priceDimensions.<dim>.pricePerUnit.USD` is
//! the price per unit (`Hrs`). One call per region and instance gives every component's price.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Component, Price, PriceSource};

/// One product's on-demand hourly price, as the list gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct ListPrice {
    pub region: String,
    pub instance: String,
    pub component: Component,
    pub usd_per_hour: f64,
}

/// Read one product document: None when it is not an on-demand hourly instance price of a component costed
/// here (hosting, notebooks, spot usage types, storage…); an error names what is malformed.
pub fn parse_product(doc: &str) -> Result<Option<ListPrice>, String> {
    let v: Value = serde_json::from_str(doc).map_err(|e| format!("a price list product is not JSON: {e}"))?;
    let attrs = v.pointer("/product/attributes").ok_or("a price list product has no product.attributes")?;
    let attr = |k: &str| attrs.get(k).and_then(Value::as_str).unwrap_or_default();
    let Some(component) = Component::parse(attr("component")) else { return Ok(None) };
    // Spot usage has products of its own; the on-demand price is the one a job's billed time is priced at.
    if attr("usagetype").to_ascii_lowercase().contains("spot") {
        return Ok(None);
    }
    let (region, instance) = (attr("regionCode"), attr("instanceName"));
    if region.is_empty() || instance.is_empty() {
        return Err("a price list product names no regionCode or instanceName".into());
    }
    let Some(offers) = v.pointer("/terms/OnDemand").and_then(Value::as_object) else { return Ok(None) };
    for offer in offers.values() {
        let Some(dims) = offer.get("priceDimensions").and_then(Value::as_object) else { continue };
        for dim in dims.values() {
            let unit = dim.get("unit").and_then(Value::as_str).unwrap_or_default();
            if !unit.eq_ignore_ascii_case("hrs") && !unit.eq_ignore_ascii_case("hours") {
                continue;
            }
            let Some(text) = dim.pointer("/pricePerUnit/USD").and_then(Value::as_str) else { continue };
            let usd: f64 = text.trim().parse().map_err(|_| format!("a price list price is not a number: {text:?}"))?;
            if !usd.is_finite() || usd < 0.0 {
                return Err(format!("a price list price is not a price: {text:?}"));
            }
            return Ok(Some(ListPrice {
                region: region.to_string(),
                instance: instance.to_string(),
                component,
                usd_per_hour: usd,
            }));
        }
    }
    Ok(None)
}

/// The operator's price file (`--prices FILE`, TOML): prices that win over the list, and/or a discount off it.
///
/// ```toml
/// discount-percent = 12.5          # off every list price (a private pricing agreement)
/// [[price]]
/// instance = "ml.m5.xlarge"
/// component = "training"           # training, processing or transform
/// usd-per-hour = 0.20
/// region = "us-east-1"             # optional: every region when left out
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PriceFile {
    #[serde(default)]
    pub discount_percent: Option<f64>,
    #[serde(default, rename = "price")]
    pub prices: Vec<FilePrice>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FilePrice {
    pub instance: String,
    pub component: String,
    pub usd_per_hour: f64,
    #[serde(default)]
    pub region: Option<String>,
}

impl PriceFile {
    /// Whether it can be used; the error names the entry at fault.
    pub fn check(&self) -> Result<(), String> {
        if let Some(d) = self.discount_percent {
            if !(0.0..100.0).contains(&d) {
                return Err(format!("discount-percent must be at least 0 and below 100, not {d}"));
            }
        }
        for (i, p) in self.prices.iter().enumerate() {
            let at = format!("price #{} ({})", i + 1, p.instance);
            if Component::parse(&p.component).is_none() {
                return Err(format!(
                    "{at}: component must be training, processing or transform, not {:?}",
                    p.component
                ));
            }
            if !p.instance.starts_with("ml.") {
                return Err(format!("{at}: instance must be a SageMaker instance type such as ml.m5.xlarge"));
            }
            if !p.usd_per_hour.is_finite() || p.usd_per_hour < 0.0 {
                return Err(format!("{at}: usd-per-hour must be a price of 0 or more"));
            }
        }
        Ok(())
    }

    /// The price of an instance-hour: the file's own for it (a region's before an any-region one), else the
    /// list's less the discount; None when neither has one (never guessed).
    pub fn price(&self, region: &str, instance: &str, component: Component, list: Option<f64>) -> Option<Price> {
        let own = |regional: bool| {
            self.prices.iter().find(|p| {
                p.instance == instance
                    && Component::parse(&p.component) == Some(component)
                    && match (&p.region, regional) {
                        (Some(r), true) => r == region,
                        (None, false) => true,
                        _ => false,
                    }
            })
        };
        if let Some(p) = own(true).or_else(|| own(false)) {
            return Some(Price { usd_per_hour: p.usd_per_hour, source: PriceSource::File });
        }
        let list = list?;
        Some(match self.discount_percent.filter(|d| *d > 0.0) {
            Some(d) => Price { usd_per_hour: list * (1.0 - d / 100.0), source: PriceSource::Discounted(d) },
            None => Price { usd_per_hour: list, source: PriceSource::List },
        })
    }
}
