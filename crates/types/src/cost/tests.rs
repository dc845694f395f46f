use chrono::{TimeZone, Utc};

use super::prices::{parse_product, PriceFile};
use super::*;
use crate::model::jobs::JobDetail;

/// A product document in the shape the Price List returns (one JSON string of `PriceList`).
fn product(component: &str, instance: &str, usd: &str, usagetype: &str) -> String {
    serde_json::json!({
        "product": {
            "productFamily": "ML Instance",
            "attributes": {
                "regionCode": "eu-west-1", "location": "EU (Ireland)", "locationType": "AWS Region",
                "instanceName": instance, "component": component, "usagetype": usagetype,
                "operation": "RunInstance", "servicecode": "AmazonSageMaker", "vCpu": "4", "memory": "16 GiB"
            },
            "sku": "ABCDEF123"
        },
        "serviceCode": "AmazonSageMaker",
        "terms": {"OnDemand": {"ABCDEF123.JRTCKXETXF": {
            "offerTermCode": "JRTCKXETXF", "sku": "ABCDEF123", "effectiveDate": "2026-11-01T00:00:00Z",
            "priceDimensions": {"ABCDEF123.JRTCKXETXF.6YS6EN2CT7": {
                "unit": "Hrs", "description": "$0.23 per hour", "pricePerUnit": {"USD": usd},
                "rateCode": "ABCDEF123.JRTCKXETXF.6YS6EN2CT7", "beginRange": "0", "endRange": "Inf"
            }},
            "termAttributes": {}
        }}},
        "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z"
    })
    .to_string()
}

#[test]
fn a_product_document_gives_its_component_and_on_demand_hourly_price() {
    let p =
        parse_product(&product("Training", "ml.m5.xlarge", "0.2300000000", "EU-Train:ml.m5.xlarge")).unwrap().unwrap();
    assert_eq!(
        (p.region.as_str(), p.instance.as_str(), p.component),
        ("eu-west-1", "ml.m5.xlarge", Component::Training)
    );
    assert!((p.usd_per_hour - 0.23).abs() < 1e-12);
    let t =
        parse_product(&product("Batch Transform", "ml.m5.xlarge", "0.23", "EU-Tsform:ml.m5.xlarge")).unwrap().unwrap();
    assert_eq!(t.component, Component::Transform);
    // Hosting, notebooks and spot usage are not what a job's billed time is priced at.
    assert_eq!(parse_product(&product("Hosting", "ml.m5.xlarge", "0.23", "EU-Host:ml.m5.xlarge")).unwrap(), None);
    assert_eq!(
        parse_product(&product("Training", "ml.m5.xlarge", "0.07", "EU-Spot-Train:ml.m5.xlarge")).unwrap(),
        None
    );
    // Malformed documents say what is wrong.
    assert!(parse_product("not json").unwrap_err().contains("not JSON"));
    assert!(parse_product("{}").unwrap_err().contains("product.attributes"));
    assert!(parse_product(&product("Training", "ml.m5.xlarge", "abc", "x")).unwrap_err().contains("\"abc\""));
}

#[test]
fn the_price_file_wins_over_the_list_and_a_discount_applies_to_the_rest() {
    let file: PriceFile = toml_like();
    file.check().unwrap();
    let own = file.price("eu-west-1", "ml.m5.xlarge", Component::Training, Some(0.23)).unwrap();
    assert_eq!(own, Price { usd_per_hour: 0.2, source: PriceSource::File });
    // A region's own price before the any-region one.
    let regional = file.price("us-east-1", "ml.m5.xlarge", Component::Training, None).unwrap();
    assert_eq!(regional.usd_per_hour, 0.18);
    let discounted = file.price("eu-west-1", "ml.c5.xlarge", Component::Processing, Some(0.2)).unwrap();
    assert!((discounted.usd_per_hour - 0.15).abs() < 1e-12);
    assert_eq!(discounted.source, PriceSource::Discounted(25.0));
    // Nowhere: none, never a guess.
    assert_eq!(file.price("eu-west-1", "ml.c5.xlarge", Component::Processing, None), None);
    let none = PriceFile::default();
    assert_eq!(
        none.price("eu-west-1", "ml.c5.xlarge", Component::Processing, Some(0.2)).unwrap().source,
        PriceSource::List
    );
    // Entries that cannot be used are named.
    let mut bad = toml_like();
    bad.prices[0].component = "hosting".into();
    assert!(bad.check().unwrap_err().contains("price #1 (ml.m5.xlarge): component"));
    let bad = PriceFile { discount_percent: Some(100.0), prices: vec![] };
    assert!(bad.check().unwrap_err().contains("discount-percent"));
}

fn toml_like() -> PriceFile {
    serde_json::from_value(serde_json::json!({
        "discount-percent": 25.0,
        "price": [
            {"instance": "ml.m5.xlarge", "component": "training", "usd-per-hour": 0.2},
            {"instance": "ml.m5.xlarge", "component": "Training", "usd-per-hour": 0.18, "region": "us-east-1"}
        ]
    }))
    .unwrap()
}

fn job(kind: JobKind, status: &str) -> JobDetail {
    let mut j =
        JobDetail::empty(kind, "j", Some("arn:aws:sagemaker:eu-west-1:111122223333:training-job/j"), Some(status));
    j.instance_type = Some("ml.m5.xlarge".into());
    j.instance_count = Some(2);
    j.started = Some(Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap());
    j
}

const LIST: Option<Price> = Some(Price { usd_per_hour: 0.5, source: PriceSource::List });

#[test]
fn training_is_priced_by_billable_time_and_spot_savings_are_shown() {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let mut t = job(JobKind::Training, "Completed");
    t.billable_seconds = Some(1800);
    t.training_seconds = Some(3600);
    t.spot = true;
    let u = JobUse::of(&t, "us-east-1", now).unwrap();
    assert_eq!(u.region, "eu-west-1", "the job ARN's region");
    let c = step_cost(&u, LIST);
    // 0.5 USD/h × 2 instances × 0.5 h billable; spot saved the other half hour.
    assert!((c.usd.unwrap() - 0.5).abs() < 1e-9);
    assert!((c.spot_saved.unwrap() - 0.5).abs() < 1e-9);
    assert!(!c.running);
    assert_eq!(c.formula, "0.5 USD/h (ml.m5.xlarge) × 2 × 0.500 h billable");
}

#[test]
fn processing_and_transform_are_priced_start_to_end_and_a_running_one_so_far() {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 0).unwrap();
    let mut p = job(JobKind::Processing, "Completed");
    p.ended = Some(Utc.with_ymd_and_hms(2026, 12, 1, 10, 15, 0).unwrap());
    let c = step_cost(&JobUse::of(&p, "", now).unwrap(), LIST);
    assert!((c.usd.unwrap() - 0.25).abs() < 1e-9, "0.5 × 2 × 0.25 h");
    let running = job(JobKind::Transform, "InProgress");
    let c = step_cost(&JobUse::of(&running, "", now).unwrap(), LIST);
    assert!(c.running && (c.usd.unwrap() - 0.5).abs() < 1e-9, "half an hour so far: {c:?}");
    assert!(c.formula.ends_with("so far"));
    // Not started, or not a job billed by the hour here: nothing.
    let mut waiting = job(JobKind::Processing, "InProgress");
    waiting.started = None;
    assert_eq!(JobUse::of(&waiting, "", now), None);
    assert_eq!(JobUse::of(&job(JobKind::Model, "Completed"), "", now), None);
}

#[test]
fn an_execution_sums_its_steps_names_missing_prices_and_what_the_cache_saved() {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap();
    let mut done = job(JobKind::Processing, "Completed");
    done.ended = Some(Utc.with_ymd_and_hms(2026, 12, 1, 10, 30, 0).unwrap());
    let u = JobUse::of(&done, "", now).unwrap();
    let line = |step: &str, price, cache| StepLine {
        step: step.into(),
        job: "j".into(),
        component: u.component,
        instance: u.instance_type.clone(),
        count: 2,
        cost: step_cost(&u, price),
        cache,
    };
    let total = ExecutionCost::of(
        vec![
            line("Prep", LIST, None),
            line("Other", None, None),
            line("Again", None, None),
            line("Cached", LIST, Some(CacheSaving { source_execution: "abc".into(), usd: Some(4.12) })),
        ],
        1,
    );
    assert!((total.usd - 1.0).abs() < 1e-9, "two priced steps of 0.5");
    assert_eq!(total.missing, vec!["ml.m5.xlarge (processing)"]);
    assert_eq!(total.step("Other").unwrap().cost.formula, "no price for ml.m5.xlarge (processing)");
    assert!((total.cache_saved - 4.12).abs() < 1e-9);
    assert_eq!(total.unread, 1);
    assert!(!total.running);
}

#[test]
fn amounts_read_as_money() {
    assert_eq!(usd(4.123), "$4.12");
    assert_eq!(usd(0.0), "$0.00");
    assert_eq!(usd(0.001), "< $0.01");
    assert_eq!(usd(1234.4), "$1,234");
    assert_eq!(usd(1_234_567.0), "$1,234,567");
    assert_eq!(Component::parse(" batch transform"), Some(Component::Transform));
}
