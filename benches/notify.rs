//! Notifications, measured. (1) What polling costs upstream: one round over 10, 100 and 1,000 pipelines
//! against the emulator with SageMaker's latency (50–150 ms) and its default quotas, through a gateway with its
//! default limits: calls per round, the round's length when only the limiter paces it, throttling answers, and
//! the calls a minute that follow at the default `poll-seconds` (60) and `poll-rate` (1 pipeline a second).
//! (2) The outbox: 10,000 events written, then sent to a receiver on loopback: writes and sends a second, and
//! that every message arrived once. (3) Event → delivered: executions failing in the emulator (its latency and
//! quotas on), told through the production wiring (`notify::spawn`: poller, events reader, sender) to a
//! receiver on loopback, in polling mode (`poll-seconds = 5`, the shortest) and in events mode (SQS): the time
//! from the failure to the message's arrival, p50 and p99.
//!
//! `cargo bench --bench notify` (about seven minutes: the 1,000-pipeline round is paced by the limiter).
//! Figures in BENCHMARKS.md.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use stepline::demo;
use stepline_core::gateway::Gateway;
use stepline_core::notify::{Backoff, LiveSettings, Poller, Sender, Settings};
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
        settings: LiveSettings::fixed(settings),
        pace: Duration::ZERO,
        cluster: None,
        since: None,
        access: None,
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
    let settings = LiveSettings::fixed(
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
        db.record_event(
            "",
            "bench",
            &event,
            &[stepline_core::store::Outgoing {
                channel: "hook".into(),
                due_ms: Utc::now().timestamp_millis(),
                digest: false,
                subscription: None,
            }],
            Utc::now().timestamp_millis(),
        )
        .await
        .unwrap();
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

/// Failures told end to end, `runs` of them one after another; `events`: read from SQS, else polled.
async fn latency(events: bool, runs: usize) {
    let arrived: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Default::default();
    let kept = arrived.clone();
    let app = axum::Router::new().fallback(move |body: String| {
        let kept = kept.clone();
        async move {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if let Some(id) = v["execution"]["id"].as_str() {
                kept.lock().unwrap().entry(id.to_string()).or_insert_with(Instant::now);
            }
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut quotas = Default::default();
    stepline_emulator::strict::quotas_from_flag("default", &mut quotas).unwrap();
    let failing =
        r#"{"pipelines": {"*": {"steps": {"AbaloneEval": {"fail": {"reason": "AlgorithmError: out of memory"}}}}}}"#;
    let config = EmulatorConfig {
        speed: 1.0,
        scenario: Some(stepline_emulator::Scenario::parse(failing).unwrap()),
        latency: Some(stepline_emulator::strict::Latency::parse("50..150").unwrap()),
        quotas: Some(quotas),
        events_queue: events.then(|| "sagemaker-events".to_string()),
        ..EmulatorConfig::default()
    };
    let emulator = start(config).await.unwrap();
    let endpoint = emulator.endpoint_url();
    let client = demo::endpoint_client(&endpoint, "us-east-1");
    demo::create_pipeline(&client, "Nightly", "", include_str!("../definitions/abalone.json")).await.unwrap();
    let gateway = Arc::new(
        Gateway::new(client.clone(), "bench")
            .with_logs(demo::logs_client(&endpoint, "us-east-1"))
            .with_sqs(demo::sqs_client(&endpoint, "us-east-1")),
    );
    let settings = LiveSettings::fixed(
        Settings::parse(
            &format!("poll-seconds = 5\nsafety-net-seconds = 3600\n[channels.hook]\nkind = \"webhook\"\nurl = \"{url}/hook\"\n[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\""),
            &|_| None,
        )
        .unwrap(),
    );
    let queue = events.then(|| stepline_core::config::EventsQueue::Name("sagemaker-events".into()));
    let place = Arc::new(Place::single("bench", None, "us-east-1"));
    stepline_core::notify::spawn(
        settings,
        Db::memory().await.unwrap(),
        vec![(place, gateway, queue)],
        "http://x".into(),
        None,
        Default::default(),
        None,
    )
    .unwrap();
    // The first round takes note of the pipeline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let core = emulator.core();
    let mut took = vec![];
    for _ in 0..runs {
        core.change_clock(stepline_emulator::runtime::ClockChange::Pause);
        let out = client.start_pipeline_execution().pipeline_name("Nightly").send().await.unwrap();
        let arn = out.pipeline_execution_arn.unwrap();
        let id = arn.rsplit('/').next().unwrap().to_string();
        // The failure happens when the clock jumps past it; the jump returns once it has.
        let core2 = core.clone();
        tokio::task::spawn_blocking(move || {
            core2.change_clock(stepline_emulator::runtime::ClockChange::Advance(86_400.0))
        })
        .await
        .unwrap();
        let failed = Instant::now();
        core.change_clock(stepline_emulator::runtime::ClockChange::Resume);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(at) = arrived.lock().unwrap().get(&id) {
                took.push(at.saturating_duration_since(failed).as_secs_f64());
                break;
            }
            assert!(Instant::now() < deadline, "{id} was not told within a minute");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    took.sort_by(f64::total_cmp);
    let pct = |p: f64| took[((took.len() as f64 * p).ceil() as usize).clamp(1, took.len()) - 1];
    println!(
        "| {} | {runs} | {:.2} s | {:.2} s | {:.2} s |",
        if events { "events (SQS, long polling)" } else { "polling (poll-seconds = 5)" },
        pct(0.5),
        pct(0.99),
        took[took.len() - 1]
    );
    emulator.shutdown().await;
}

#[tokio::main]
async fn main() {
    // `cargo bench --bench notify -- latency` runs one part (polling, outbox, latency); none, all of them.
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let run = |part: &str| only.as_deref().is_none_or(|o| o == part);
    if run("latency") {
        println!("\n## Event → delivered: a failure in the emulator to the message at a receiver\n");
        println!("| mode | failures | p50 | p99 | slowest |");
        println!("|---|---:|---:|---:|---:|");
        latency(true, 30).await;
        latency(false, 30).await;
    }
    if !run("polling") && !run("outbox") {
        return;
    }
    if run("polling") {
        println!("\n## Polling: one steady round, against the emulator (latency 50–150 ms, default quotas)\n");
        println!("| pipelines | calls a round | round, paced by the limiter only | throttled | calls a minute at the defaults | errors |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for n in [10, 100, 1000] {
            polling(n).await;
        }
    }
    if !run("outbox") {
        return;
    }
    println!("\n## The outbox: a burst, written then sent to a receiver on loopback (SQLite file)\n");
    println!("| events | written | sent | no loss |");
    println!("|---:|---:|---:|---|");
    outbox(10_000).await;
}
