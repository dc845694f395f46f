//! The AWS Price List on the same endpoint (`X-Amz-Target: AWSPriceListService.GetProducts`): a small table
//! of SageMaker's on-demand instance prices, for a few instance types, components and regions, answered as
//! the service answers — `PriceList` is a list of JSON *strings*, each a product document with
//! `product.attributes` and `terms.OnDemand…pricePerUnit.USD`. Requests are validated against the Price
//! List's botocore model; filters match attributes as the service's `TERM_MATCH` does (case-insensitively).

use serde_json::{json, Value};

use super::{identify, strip_nulls, Caller};
use crate::error::{ApiError, ApiResult};
use crate::paging;
use crate::runtime::Core;
use crate::shapes::pricing_model;

/// (instance, vCPU, memory, us-east-1 price per hour)
const INSTANCES: &[(&str, u32, &str, f64)] = &[
    ("ml.t3.medium", 2, "4 GiB", 0.05),
    ("ml.m5.large", 2, "8 GiB", 0.115),
    ("ml.m5.xlarge", 4, "16 GiB", 0.23),
    ("ml.m5.2xlarge", 8, "32 GiB", 0.461),
    ("ml.m5.4xlarge", 16, "64 GiB", 0.922),
    ("ml.c5.xlarge", 4, "8 GiB", 0.204),
    ("ml.c5.2xlarge", 8, "16 GiB", 0.408),
    ("ml.g4dn.xlarge", 4, "16 GiB", 0.736),
    ("ml.p3.2xlarge", 8, "61 GiB", 3.825),
];

/// (region, its location name, the usage type prefix, its price against us-east-1's)
const REGIONS: &[(&str, &str, &str, f64)] = &[
    ("us-east-1", "US East (N. Virginia)", "USE1", 1.0),
    ("us-west-2", "US West (Oregon)", "USW2", 1.0),
    ("eu-west-1", "EU (Ireland)", "EU", 1.12),
    ("eu-west-3", "EU (Paris)", "EUW3", 1.17),
    ("eu-central-1", "EU (Frankfurt)", "EUC1", 1.2),
    ("ap-southeast-2", "Asia Pacific (Sydney)", "APS2", 1.25),
];

/// (component as the list names it, its usage type word, its price against training's); hosting and
/// notebooks are there as in the real list, which a client must tell apart.
const COMPONENTS: &[(&str, &str, f64)] = &[
    ("Training", "Train", 1.0),
    ("Processing", "Processing", 1.0),
    ("Batch Transform", "Tsform", 1.0),
    ("Hosting", "Host", 1.0),
    ("Notebook", "Notebk", 0.95),
];

/// Run one Price List operation.
pub fn dispatch(core: &Core, operation: &str, body: &Value, caller: &Caller) -> ApiResult<Value> {
    let m = pricing_model();
    if m.operation(operation).is_none() {
        return Err(ApiError::unknown_operation(format!("Operation '{operation}' is not supported by this service")));
    }
    identify(core, caller)
        .and_then(|_| m.validate_input(operation, body))
        .and_then(|_| match core.lock().scenario.take_fault_of("pricing", operation) {
            Some(fault) => Err(fault),
            None => Ok(()),
        })
        .and_then(|_| get_products(body))
        .map(strip_nulls)
        .map_err(pricing_style)
}

/// The Price List's code for a malformed request.
fn pricing_style(e: ApiError) -> ApiError {
    match e.code {
        "ValidationException" => ApiError { code: "InvalidParameterException", ..e },
        _ => e,
    }
}

/// One product: its attributes and its on-demand term.
fn product(region: (&str, &str, &str, f64), instance: (&str, u32, &str, f64), component: (&str, &str, f64)) -> Value {
    let (code, location, prefix, factor) = region;
    let (name, vcpu, memory, base) = instance;
    let (label, word, share) = component;
    // A stable SKU from what the product is.
    let sku: String = {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in format!("{code}|{name}|{label}").bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016X}").chars().take(16).collect()
    };
    let price = (base * factor * share * 10_000.0).round() / 10_000.0;
    let offer = format!("{sku}.JRTCKXETXF");
    let rate = format!("{offer}.6YS6EN2CT7");
    json!({
        "product": {
            "productFamily": "ML Instance",
            "attributes": {
                "regionCode": code,
                "location": location,
                "locationType": "AWS Region",
                "instanceName": name,
                "instanceType": name,
                "component": label,
                "usagetype": format!("{prefix}-{word}:{name}"),
                "operation": "RunInstance",
                "servicecode": "AmazonSageMaker",
                "servicename": "Amazon SageMaker",
                "vCpu": vcpu.to_string(),
                "memory": memory,
            },
            "sku": sku,
        },
        "serviceCode": "AmazonSageMaker",
        "terms": {"OnDemand": {offer.clone(): {
            "offerTermCode": "JRTCKXETXF",
            "sku": sku,
            "effectiveDate": "2026-11-01T00:00:00Z",
            "priceDimensions": {rate.clone(): {
                "unit": "Hrs",
                "endRange": "Inf",
                "description": format!("${price:.4} per {label} {name} hour in {location}"),
                "appliesTo": [],
                "rateCode": rate,
                "beginRange": "0",
                "pricePerUnit": {"USD": format!("{price:.10}")},
            }},
            "termAttributes": {},
        }}},
        "version": "20261101000000",
        "publicationDate": "2026-11-01T00:00:00Z",
    })
}

/// Every product of the table.
fn catalogue() -> Vec<Value> {
    let mut all = vec![];
    for r in REGIONS {
        for i in INSTANCES {
            for c in COMPONENTS {
                all.push(product(*r, *i, *c));
            }
        }
    }
    all
}

/// Whether a product passes one filter. The service compares `TERM_MATCH` and `EQUALS` exactly but for
/// case; `CONTAINS`, `ANY_OF` (comma-separated) and `NONE_OF` as their names say.
fn passes(p: &Value, filter: &Value) -> ApiResult<bool> {
    let kind = filter.get("Type").and_then(Value::as_str).unwrap_or_default();
    let field = filter.get("Field").and_then(Value::as_str).unwrap_or_default();
    let want = filter.get("Value").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    let have = match field {
        "productFamily" => p.pointer("/product/productFamily"),
        "sku" => p.pointer("/product/sku"),
        _ => p.pointer("/product/attributes").and_then(|a| a.get(field)),
    };
    let have = have.and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    let list = || want.split(',').map(str::trim).collect::<Vec<_>>();
    Ok(match kind {
        "TERM_MATCH" | "EQUALS" => have == want,
        "CONTAINS" => have.contains(&want),
        "ANY_OF" => list().contains(&have.as_str()),
        "NONE_OF" => !list().contains(&have.as_str()),
        other => return Err(ApiError::validation(format!("Filter type {other} is not supported"))),
    })
}

fn get_products(body: &Value) -> ApiResult<Value> {
    let service = body.get("ServiceCode").and_then(Value::as_str).unwrap_or_default();
    if let Some(v) = body.get("FormatVersion").and_then(Value::as_str) {
        if v != "aws_v1" {
            return Err(ApiError::validation(format!("FormatVersion {v} is not supported: use aws_v1")));
        }
    }
    let filters = body.get("Filters").and_then(Value::as_array).cloned().unwrap_or_default();
    // Other services' products are not in this table: none match, as a service code with no products.
    let mut found = vec![];
    if service == "AmazonSageMaker" {
        for p in catalogue() {
            let mut all = true;
            for f in &filters {
                all &= passes(&p, f)?;
            }
            if all {
                found.push(p);
            }
        }
    }
    let key = |p: &Value| p.pointer("/product/sku").and_then(Value::as_str).unwrap_or_default().to_string();
    let (page, next) = paging::page(
        found,
        key,
        body.get("NextToken").and_then(Value::as_str),
        body.get("MaxResults").and_then(Value::as_i64).or(Some(100)),
    )?;
    let list: Vec<Value> = page.iter().map(|p| Value::String(p.to_string())).collect();
    Ok(json!({"FormatVersion": "aws_v1", "PriceList": list, "NextToken": next}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_and_instance_give_each_component_once_with_its_hourly_price() {
        let body = json!({"ServiceCode": "AmazonSageMaker", "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": "ML.M5.XLARGE"}]});
        let out = get_products(&body).unwrap();
        let list = out["PriceList"].as_array().unwrap();
        assert_eq!(list.len(), COMPONENTS.len());
        let doc: Value = serde_json::from_str(list[0].as_str().unwrap()).unwrap();
        assert_eq!(doc["product"]["attributes"]["regionCode"], "eu-west-1");
        let usd = doc.pointer("/terms/OnDemand").unwrap().as_object().unwrap().values().next().unwrap()
            ["priceDimensions"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["pricePerUnit"]["USD"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(usd, "0.2576000000", "0.23 × 1.12");
        // Another service's code has nothing here; a bad filter type is refused by name.
        assert_eq!(get_products(&json!({"ServiceCode": "AmazonEC2"})).unwrap()["PriceList"], json!([]));
        let bad = json!({"ServiceCode": "AmazonSageMaker", "Filters": [{"Type": "REGEX", "Field": "x", "Value": "y"}]});
        assert!(get_products(&bad).unwrap_err().message.contains("REGEX"));
    }

    #[test]
    fn pages_of_at_most_max_results() {
        let body = json!({"ServiceCode": "AmazonSageMaker", "MaxResults": 100});
        let first = get_products(&body).unwrap();
        assert_eq!(first["PriceList"].as_array().unwrap().len(), 100);
        let token = first["NextToken"].as_str().unwrap().to_string();
        let second = get_products(&json!({"ServiceCode": "AmazonSageMaker", "NextToken": token})).unwrap();
        assert!(!second["PriceList"].as_array().unwrap().is_empty());
    }
}
