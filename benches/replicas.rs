//! Several replicas, one upstream budget, measured: 20 executions watched on every replica, against the
//! emulator with SageMaker's latency (50–150 ms) and its quota table. Upstream calls a minute for one replica,
//! three replicas on one PostgreSQL, and three replicas without it (each on its own); then the time the
//! survivors take to poll a killed replica's executions again.
//!
//! Needs PostgreSQL: `STEPLINE_BENCH_DATABASE_URL=$(scripts/postgres.sh start DIR PORT) cargo bench --features
//! ssr --bench replicas` (about five minutes). Figures in BENCHMARKS.md.

#[path = "../tests/common/fleet.rs"]
mod fleet;

use std::time::{Duration, Instant};

use fleet::*;

const EXECUTIONS: usize = 20;
const WARM_UP: Duration = Duration::from_secs(15);
const MEASURED: Duration = Duration::from_secs(60);

struct Figures {
    calls: f64,
    throttled: f64,
    leases: f64,
}

/// `n` replicas (on `database`, or each alone), every execution watched on each; calls in `MEASURED`.
async fn run(n: usize, database: Option<&str>, kill: bool) -> Figures {
    let (emulator, ids) = sagemaker(EXECUTIONS, true).await;
    let data = std::env::temp_dir().join(format!("stepline-bench-replicas-{}-{n}", std::process::id()));
    let mut replicas = vec![];
    for i in 0..n {
        replicas.push(replica(&emulator.endpoint_url(), database, &data.join(i.to_string())).await);
    }
    let http = reqwest::Client::new();
    let mut viewers = vec![];
    for r in &replicas {
        for id in &ids {
            viewers.push(watch(http.clone(), format!("{}/events/pipelines/AbalonePipeline/executions/{id}", r.url)));
        }
    }
    tokio::time::sleep(WARM_UP).await;
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let calls0 = total(&http, &urls, CALLS, "").await;
    let throttled0 = total(&http, &urls, "stepline_upstream_throttles_total", "").await;
    tokio::time::sleep(MEASURED).await;
    let minutes = MEASURED.as_secs_f64() / 60.0;
    let figures = Figures {
        calls: (total(&http, &urls, CALLS, "").await - calls0) / minutes,
        throttled: (total(&http, &urls, "stepline_upstream_throttles_total", "").await - throttled0) / minutes,
        leases: total(&http, &urls, LEASES, "").await,
    };
    let seen = viewers.iter().filter(|v| last(v).is_some()).count();
    println!("  viewers with a snapshot: {seen} of {}", viewers.len());
    if kill {
        // The replica that polls the most, killed; the survivors poll its executions again.
        let mut most = (0, -1.0);
        for (i, url) in urls.iter().enumerate() {
            let l = metric(&http, url, LEASES, "").await;
            if l > most.1 {
                most = (i, l);
            }
        }
        let victim = replicas.remove(most.0);
        let t = Instant::now();
        drop(victim);
        let survivors: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
        while total(&http, &survivors, LEASES, "").await < EXECUTIONS as f64 {
            assert!(t.elapsed() < Duration::from_secs(30), "no takeover within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("  takeover of {} executions after SIGKILL: {} ms", most.1, t.elapsed().as_millis());
    }
    drop(replicas);
    std::fs::remove_dir_all(&data).ok();
    figures
}

#[tokio::main]
async fn main() {
    let Ok(database) = std::env::var("STEPLINE_BENCH_DATABASE_URL") else {
        println!("SKIPPED: STEPLINE_BENCH_DATABASE_URL is not set (see the comment at the top)");
        return;
    };
    println!("{EXECUTIONS} executions watched on every replica; emulator with 50..150 ms latency and default quotas");
    let mut rows = vec![];
    for (label, n, db, kill) in [
        ("1 replica (PostgreSQL)", 1, Some(database.as_str()), false),
        ("3 replicas on one PostgreSQL", 3, Some(database.as_str()), true),
        ("3 replicas, each alone (SQLite)", 3, None, false),
    ] {
        println!("{label}:");
        let f = run(n, db, kill).await;
        println!("  {:.0} upstream calls a minute, {:.0} throttled, {} leases", f.calls, f.throttled, f.leases);
        rows.push((label, f));
    }
    let one = rows[0].1.calls;
    println!("\n| replicas | calls / min | vs one | throttled / min |\n|---|---:|---:|---:|");
    for (label, f) in &rows {
        println!("| {label} | {:.0} | {:.2} | {:.0} |", f.calls, f.calls / one, f.throttled);
    }
}
