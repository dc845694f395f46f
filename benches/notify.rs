//! Notifications, measured. (1) What polling costs upstream: one round over 10, 100 and 1,000 pipelines
//! against the emulator with SageMaker's latency (50–150 ms) and its default quotas, through a gateway with its
//! default limits: calls per round, the round's length when only the limiter paces it, throttling answers, and
//! the calls a minute that follow at the default `poll-seconds` (60) and `poll-rate` (1 pipeline a second).
//! (2) The outbox: 10,000 events written, then sent to a receiver on loopback: writes and sends a second, and
//! that every message arrived once.
//!
//! `cargo bench --bench notify` (about six minutes: the 1,000-pipeline round is paced by the limiter).
//! Figures in BENCHMARKS.md.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use stepline::demo;
use stepline_core::gateway::Gateway;
use stepline_core::notify::{Backoff, Poller, Sender, Settings};
use stepline_core::places::Place;
use stepline_core::store::Db;
use stepline_emulator::{start, EmulatorConfig};
use stepline_types::model::{ExecStatus, ExecutionSummary};
use stepline_types::notify::{Event, EventKind};

async fn polling(pipelines: usize) {
    let seed = stepline_emulator::seed::Seed::parse(&format!(
        r#"{{"pipelines": {pipelines}, "prefix": "Bench", "executions": 3, "days": 1}}"#
    ))
    .unwrap();
    let mut quotas = Default::default();
    stepline_emulator::strict::quotas_from_flag("default", &mut quotas).unwrap();
    let config = EmulatorConfig {
        speed: 1.0,
        seed: Some(seed),
        latency: Some(stepline_emulator::strict::Latency::parse("50..150").unwrap()),
        quotas: Some(quotas),
        ..EmulatorConfig::default()
    };
    let emulator = start(config).await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    let gateway = Arc::new(Gateway::new(client, "bench"));
    let settings = Settings::parse(
        "[channels.hook]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n[[rules]]\nevents = [\"failed\", \"waiting\"]\nchannel = \"hook\"",
        &|_| None,
    )
    .unwrap();
    let poller = Poller {
        gateway: gateway.clone(),
        place: Arc::new(Place::single("bench", None, "us-east-1")),
        db: Db::memory().await.unwrap(),
        settings: Arc::new(settings),
        pace: Duration::ZERO,
        cluster: None,
        since: None,
    };
    // The first round takes note of every pipeline; the second is a steady one.
    poller.round(Utc::now()).await;
    let calls0 = gateway.calls();
    let t = Instant::now();
    let round = poller.round(Utc::now()).await;
    let took = t.elapsed();
    let calls = gateway.calls() - calls0;
    let throttled: u64 = gateway.limiter_stats().throttled.values().sum();
    // At the defaults a round lasts the longer of poll-seconds and one second a pipeline.
    let interval = (pipelines as f64).max(60.0);
    println!(
        "| {pipelines} | {calls} | {:.1} s | {throttled} | {:.0} | {} |",
        took.as_secs_f64(),
        calls as f64 * 60.0 / interval,
        round.errors.len()
    );
}

async fn outbox(events: usize) {
    let got: Arc<Mutex<Vec<String>>> = Default::default();
    let kept = got.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let kept = kept.clone();
        async move {
            let id = headers.get("x-stepline-delivery").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            kept.lock().unwrap().push(id);
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = std::env::temp_dir().join(format!("stepline-bench-notify-{}", std::process::id()));
    let db = Db::open(&stepline_core::config::Database::Sqlite(dir.join("stepline.db"))).await.unwrap();
    let settings = Arc::new(
        Settings::parse(
            &format!("[channels.hook]\nkind = \"webhook\"\nurl = \"{url}/hook\"\n[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\""),
            &|_| None,
        )
        .unwrap(),
    );
    let t = Instant::now();
    for i in 0..events {
        let execution = ExecutionSummary {
            arn: format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/burst/execution/e{i}"),
            id: format!("e{i}"),
            display_name: None,
            status: ExecStatus::Failed,
            start: None,
            description: None,
            failure_reason: Some("AlgorithmError: out of memory".into()),
        };
        let event = Event::of_execution(EventKind::Failed, "Burst", &execution, 1, Utc::now());
        db.record_event("", "bench", &event, &["hook"], Utc::now().timestamp_millis()).await.unwrap();
    }
    let written = t.elapsed();
    let sender = Sender::new(db.clone(), settings, "http://x".into(), Backoff::default()).unwrap();
    let t = Instant::now();
    let mut sent = 0;
    while sent < events {
        let n = sender.send_due(Utc::now()).await.unwrap();
        assert!(n > 0, "the outbox stalled at {sent}");
        sent += n;
    }
    let sending = t.elapsed();
    let ids = got.lock().unwrap().clone();
    let distinct: HashSet<&String> = ids.iter().collect();
    println!(
        "| {events} | {:.0} a second ({:.1} s) | {:.0} a second ({:.1} s) | {} received, {} distinct |",
        events as f64 / written.as_secs_f64(),
        written.as_secs_f64(),
        events as f64 / sending.as_secs_f64(),
        sending.as_secs_f64(),
        ids.len(),
        distinct.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::main]
async fn main() {
    println!("\n## Polling: one steady round, against the emulator (latency 50–150 ms, default quotas)\n");
    println!("| pipelines | calls a round | round, paced by the limiter only | throttled | calls a minute at the defaults | errors |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in [10, 100, 1000] {
        polling(n).await;
    }
    println!("\n## The outbox: a burst, written then sent to a receiver on loopback (SQLite file)\n");
    println!("| events | written | sent | no loss |");
    println!("|---:|---:|---:|---|");
    outbox(10_000).await;
}
