//! Estimated costs through the real router against the emulator's jobs and Price List: a training job
//! priced by its billable time with what managed spot saved, a processing job start to end, a cached step
//! as what it saved, an instance without a price named and left out; the price file winning over the list;
//! and what it costs upstream: one GetProducts per instance type, none when warm, none after a restart.

use std::sync::Arc;

use serde_json::json;
use stepline::{demo, router};
use stepline_core::access::Access;
use stepline_core::config::Database;
use stepline_core::prices::Prices;
use stepline_core::store::Db;
use stepline_core::{gateway::Gateway, state::AppState};
use stepline_emulator::{EmulatorConfig, RunningEmulator};
use stepline_types::cost::prices::{FilePrice, PriceFile};
use stepline_types::cost::ExecutionCost;

use crate::common::{api, get, options};

const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerPipelineRole";

fn definition() -> String {
    let processing = |name: &str, instance: &str| {
        json!({"Name": name, "Type": "Processing", "Arguments": {
            "ProcessingResources": {"ClusterConfig": {"InstanceType": instance, "InstanceCount": 1, "VolumeSizeInGB": 30}},
            "AppSpecification": {"ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"},
            "RoleArn": ROLE},
            "CacheConfig": {"Enabled": true, "ExpireAfter": "P30D"}})
    };
    let train = json!({"Name": "Train", "Type": "Training", "DependsOn": ["Prep"], "Arguments": {
        "AlgorithmSpecification": {"TrainingInputMode": "File",
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400, "MaxWaitTimeInSeconds": 172800},
        "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 2, "InstanceType": "ml.m5.xlarge"},
        "EnableManagedSpotTraining": true,
        "RoleArn": ROLE}});
    let steps = vec![processing("Prep", "ml.m5.large"), processing("Odd", "ml.r5.xlarge"), train];
    json!({"Version": "2020-12-01", "Parameters": [], "Steps": steps}).to_string()
}

struct World {
    client: aws_sdk_sagemaker::Client,
    url: String,
    emulator: RunningEmulator,
}

async fn world() -> World {
    // An hour of training and ten minutes of processing, on the emulator's clock, which the test moves.
    let scenario: stepline_emulator::Scenario = serde_json::from_value(json!({"pipelines": {"Costly": {"steps": {
        "Train": {"duration": 3600}, "Prep": {"duration": 600}, "Odd": {"duration": 300}}}}}))
    .unwrap();
    let config = EmulatorConfig { speed: 1.0, scenario: Some(scenario), ..EmulatorConfig::default() };
    let emulator = stepline_emulator::start(config).await.unwrap();
    let url = emulator.endpoint_url();
    let client = demo::endpoint_client(&url, "us-east-1");
    client
        .create_pipeline()
        .pipeline_name("Costly")
        .pipeline_definition(definition())
        .role_arn(ROLE)
        .client_request_token(format!("{:0>40}", "create-costly"))
        .send()
        .await
        .unwrap();
    World { client, url, emulator }
}

/// A dashboard on `db` with its own gateway (so its calls are counted from zero).
async fn dashboard(w: &World, db: &Db, file: PriceFile) -> (axum::Router, Arc<Gateway>) {
    let gateway =
        Arc::new(Gateway::new(w.client.clone(), "test").with_pricing(demo::pricing_client(&w.url, "us-east-1")));
    let mut state =
        AppState::with_access(options(), gateway.clone(), Arc::new(Access::local(db.clone())), Default::default());
    state.prices = Arc::new(Prices::new(db.clone(), file));
    (router::build(state).await, gateway)
}

/// Start an execution and move the emulator's clock on until it has ended.
async fn run(w: &World, token: &str) -> String {
    use stepline_emulator::runtime::ClockChange;
    w.emulator.core().change_clock(ClockChange::Pause);
    let arn = w
        .client
        .start_pipeline_execution()
        .pipeline_name("Costly")
        .client_request_token(format!("{token:0>40}"))
        .send()
        .await
        .unwrap()
        .pipeline_execution_arn
        .unwrap();
    for _ in 0..600 {
        let d = w.client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
        if d.pipeline_execution_status().is_some_and(|s| s.as_str() != "Executing") {
            break;
        }
        w.emulator.core().change_clock(ClockChange::Advance(300.0));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    arn.rsplit('/').next().unwrap().to_string()
}

/// The execution's cost through the server function, read again while jobs are still being described.
async fn cost(app: &axum::Router, id: &str) -> ExecutionCost {
    for _ in 0..30 {
        let (status, body) = api(app, "execution_cost", &json!({"pipeline": "Costly", "id": id}).to_string()).await;
        assert!(status.is_success(), "{body}");
        let c: ExecutionCost = serde_json::from_str(&body).unwrap();
        if c.unread == 0 {
            return c;
        }
    }
    panic!("the jobs of {id} were never all read");
}

fn get_products(g: &Gateway) -> u64 {
    g.calls_by_operation().get("GetProducts").copied().unwrap_or(0)
}

#[tokio::test]
async fn steps_are_priced_the_cache_saving_shown_and_prices_asked_once_a_day() {
    let w = world().await;
    let dir = std::env::temp_dir().join(format!("stepline-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::open(&Database::Sqlite(dir.join("stepline.db"))).await.unwrap();
    let (app, gateway) = dashboard(&w, &db, PriceFile::default()).await;
    let first = run(&w, "first").await;
    let c = cost(&app, &first).await;

    // Training: 0.23 USD/h × 2 instances × billable hours; managed spot saved the rest of the trained time.
    let train = c.step("Train").expect("the training step is costed");
    assert!(
        train.cost.formula.starts_with("0.23 USD/h (ml.m5.xlarge) × 2 × ") && train.cost.formula.ends_with("billable"),
        "{}",
        train.cost.formula
    );
    assert!(train.cost.spot_saved.is_some_and(|s| s > 0.0), "spot saved something: {train:?}");
    // Processing: ml.m5.large at 0.115 USD/h, start to end.
    let prep = c.step("Prep").unwrap();
    assert!(
        prep.cost.formula.starts_with("0.115 USD/h (ml.m5.large) × 1") && prep.cost.formula.ends_with("start to end"),
        "{}",
        prep.cost.formula
    );
    // An instance the list has no price for is named, never guessed, and left out of the sum.
    let odd = c.step("Odd").unwrap();
    assert_eq!(odd.cost.usd, None);
    assert_eq!(odd.cost.formula, "no price for ml.r5.xlarge (processing)");
    assert_eq!(c.missing, vec!["ml.r5.xlarge (processing)"]);
    let sum = train.cost.usd.unwrap() + prep.cost.usd.unwrap();
    assert!((c.usd - sum).abs() < 1e-9 && c.usd > 0.0);
    // One GetProducts per region and instance type, whatever the number of steps.
    assert_eq!(get_products(&gateway), 3, "{:?}", gateway.calls_by_operation());

    // Run again: the cached steps ran nothing and saved what their source's jobs cost.
    let second = run(&w, "second").await;
    let again = cost(&app, &second).await;
    let cached = again.step("Prep").unwrap();
    assert_eq!(cached.cost.usd, Some(0.0));
    let saving = cached.cache.as_ref().expect("a cache hit");
    assert_eq!(saving.source_execution, first);
    assert!((saving.usd.unwrap() - prep.cost.usd.unwrap()).abs() < 1e-9, "it saved what the first run paid");
    assert!(again.cache_saved > 0.0);
    assert_eq!(get_products(&gateway), 3, "warm: the Price List is not asked again");

    // The pages say it: the total, estimated, the missing price; the cache saving.
    let (status, page) = get(&app, &format!("/pipelines/Costly/executions/{first}")).await;
    assert!(status.is_success());
    assert!(page.contains("data-testid=\"cost-total\"") && page.contains("(estimated)"), "{page}");
    assert!(page.contains(&format!("<strong>{}", stepline_types::cost::usd(c.usd))), "{page}");
    assert!(page.contains("No price for ml.r5.xlarge (processing)"), "{page}");
    let (_, page) = get(&app, &format!("/pipelines/Costly/executions/{second}")).await;
    assert!(page.contains(&format!("the cache saved {}", stepline_types::cost::usd(again.cache_saved))), "{page}");

    // The pipeline's trend: both runs (kept once estimated), summed by day; and the estimates as CSV.
    let (_, trend) = get(&app, "/pipelines/Costly").await;
    assert!(trend.contains("data-testid=\"cost-chart\""), "{trend}");
    assert!(trend.contains("The newest 2 finished runs"), "{trend}");
    let (status, csv) = get(&app, "/costs.csv?pipeline=Costly").await;
    assert!(status.is_success(), "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "place,pipeline,execution_id,started,step,job,component,instance,count,usd,spot_saved_usd,cache_saved_usd,how"
    );
    let first_total = lines
        .iter()
        .find(|l| l.contains(&first) && l.ends_with(",total; no price for ml.r5.xlarge (processing)"))
        .copied();
    assert!(first_total.is_some(), "the first run's total names the missing price: {csv}");
    assert!(lines.iter().any(|l| l.contains(",Train,") && l.contains(",training,ml.m5.xlarge,2,")), "{csv}");
    assert_eq!(lines.len(), 1 + 2 * 4, "a total and three steps per run: {csv}");
    let (status, bad) = get(&app, "/costs.csv?from=not-a-date").await;
    assert_eq!(status.as_u16(), 400);
    assert!(bad.contains("from"), "{bad}");

    // A restart on the same database asks the Price List nothing: kept estimates are read back, and a new
    // run is priced from the prices kept a day.
    let (restarted, fresh_gateway) = dashboard(&w, &db, PriceFile::default()).await;
    let c2 = cost(&restarted, &first).await;
    assert!((c2.usd - c.usd).abs() < 1e-9);
    let third = run(&w, "third").await;
    let c3 = cost(&restarted, &third).await;
    assert!(c3.step("Train").unwrap().cost.usd.unwrap() > 0.0);
    assert_eq!(get_products(&fresh_gateway), 0, "{:?}", fresh_gateway.calls_by_operation());

    // The price file wins over the list, and prices what the list does not.
    let file = PriceFile {
        discount_percent: Some(10.0),
        prices: vec![FilePrice {
            instance: "ml.r5.xlarge".into(),
            component: "processing".into(),
            usd_per_hour: 0.3,
            region: None,
        }],
    };
    let (priced, _) = dashboard(&w, &Db::memory().await.unwrap(), file).await;
    let c4 = cost(&priced, &first).await;
    assert!(c4.missing.is_empty(), "{:?}", c4.missing);
    assert!(c4.step("Odd").unwrap().cost.formula.contains("price file"));
    assert!(c4.step("Prep").unwrap().cost.formula.contains("list less 10%"));
    // A Price List that cannot be asked: no price, said so, and the estimate is not kept (asked again).
    let bare = Arc::new(Gateway::new(w.client.clone(), "test"));
    let db2 = Db::memory().await.unwrap();
    let mut state = AppState::with_access(options(), bare, Arc::new(Access::local(db2.clone())), Default::default());
    state.prices = Arc::new(Prices::new(db2.clone(), PriceFile::default()));
    let unpriced = cost(&router::build(state).await, &first).await;
    let train = unpriced.step("Train").unwrap();
    assert!(train.cost.price_failed && train.cost.formula.contains("the Price List failed"), "{train:?}");
    let arn = format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/costly/execution/{first}");
    assert_eq!(db2.kept_cost("", &arn).await.unwrap(), None, "not kept: the Price List is asked again next time");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_malformed_or_unknown_execution_is_refused_by_name() {
    let w = world().await;
    let db = Db::memory().await.unwrap();
    let (app, _) = dashboard(&w, &db, PriceFile::default()).await;
    let (status, body) =
        api(&app, "execution_cost", &json!({"pipeline": "Costly", "id": "zzzzzzzzzzzz"}).to_string()).await;
    assert_eq!(status.as_u16(), 404, "{body}");
    assert!(body.contains("zzzzzzzzzzzz"));
    let (status, _) = api(&app, "execution_cost", &json!({"pipeline": "Costly", "id": 7}).to_string()).await;
    assert!(status.is_client_error());
}
