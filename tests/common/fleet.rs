//! Replicas of Stepline as separate processes, their `/metrics` and viewers of their live streams: what the
//! replica test and the replica benchmark share.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One SageMaker for every replica: the emulator, seeded with the demo's pipelines, and `n` executions of
/// AbalonePipeline that stay in their first step for an hour. `strict`: the service's latency and quotas.
pub async fn sagemaker(n: usize, strict: bool) -> (stepline_emulator::RunningEmulator, Vec<String>) {
    sagemaker_of(Default::default(), n, strict).await
}

/// As [`sagemaker`], playing `account` (its id and region in every ARN).
pub async fn sagemaker_of(
    account: stepline_emulator::Account,
    n: usize,
    strict: bool,
) -> (stepline_emulator::RunningEmulator, Vec<String>) {
    use stepline_emulator::{EmulatorConfig, Scenario};
    let config = EmulatorConfig { speed: 1.0, account, ..EmulatorConfig::default() };
    let emulator = stepline_emulator::start(config).await.unwrap();
    let client = stepline::demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    stepline::demo::seed(&emulator, &client, 1.0).await.unwrap();
    let mut scenario =
        Scenario::parse(r#"{"pipelines": {"*": {"steps": {"AbaloneProcess": {"duration": 3600}}}}}"#).unwrap();
    emulator.core().set_scenario(scenario.clone()).unwrap();
    let mut ids = vec![];
    for i in 0..n {
        let started = client
            .start_pipeline_execution()
            .pipeline_name("AbalonePipeline")
            .client_request_token(format!("fleet-{i}-{}-0123456789abcdef0123456789", std::process::id()))
            .send()
            .await
            .unwrap();
        ids.push(started.pipeline_execution_arn().unwrap().rsplit('/').next().unwrap().to_string());
    }
    if strict {
        // Once started: SageMaker's latency and the service-like quota table.
        scenario.latency = Some(stepline_emulator::strict::Latency::parse("50..150").unwrap());
        let mut quotas = Default::default();
        stepline_emulator::strict::quotas_from_flag("default", &mut quotas).unwrap();
        scenario.quotas = Some(quotas);
        emulator.core().set_scenario(scenario).unwrap();
    }
    (emulator, ids)
}

pub struct Replica {
    child: Child,
    pub url: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `stepline` process on the emulator at `endpoint`, with the PostgreSQL at `database` (or alone, with SQLite
/// in `data`).
pub async fn replica(endpoint: &str, database: Option<&str>, data: &std::path::Path) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepline"))
        .args(["--addr", "127.0.0.1:0", "--endpoint-url", endpoint, "--data-dir", data.to_str().unwrap()])
        .args(database.map(|d| ["--database-url", d]).into_iter().flatten())
        // Streams and metrics only: the site's files play no part.
        .env("LEPTOS_HASH_FILES", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = listening(&mut child).await;
    Replica { child, url: format!("http://{addr}") }
}

/// The address a `stepline` process started with its standard output piped says it listens on (within a
/// minute); its later lines are read and dropped.
pub async fn listening(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // A log line: a time and a level come before the words.
            if let Some((_, url)) = line.split_once("Stepline listening on http://") {
                let _ = tx.send(url.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).expect("it listens")).await.unwrap()
}

/// The sum of a metric family's samples whose labels contain `filter`, from a replica's `/metrics` at `url`.
pub async fn metric(http: &reqwest::Client, url: &str, family: &str, filter: &str) -> f64 {
    let text = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' ']) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub const LEASES: &str = "stepline_cluster_leases";
pub const CALLS: &str = "stepline_upstream_calls_total";
pub const DESCRIBE: &str = "operation=\"DescribePipelineExecution\"";

/// A metric summed over replicas.
pub async fn total(http: &reqwest::Client, urls: &[String], family: &str, filter: &str) -> f64 {
    let mut n = 0.0;
    for url in urls {
        n += metric(http, url, family, filter).await;
    }
    n
}

/// Until every replica counts `n` replicas alive (heartbeats every 2 s, the dead forgotten after 6 s).
pub async fn until_replicas(http: &reqwest::Client, urls: &[String], n: f64) {
    let t = Instant::now();
    for url in urls {
        while metric(http, url, "stepline_cluster_replicas", "").await != n {
            assert!(t.elapsed() < Duration::from_secs(15), "{url} does not count {n} replicas");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A stop through a replica's server function, as a plain form posts it.
pub async fn stop(http: &reqwest::Client, through: &Replica, id: &str, tag: &str) {
    let token = format!("replicas-{tag}-{}-0123456789abcdef0123456789", std::process::id());
    let res = http
        .post(format!("{}/api/stop", through.url))
        .form(&[("pipeline", "AbalonePipeline"), ("id", id), ("token", token.as_str())])
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert!(status.is_success(), "stop: {status} {}", res.text().await.unwrap_or_default());
}

/// One viewer's stream of an execution: the statuses its snapshots carried, newest last.
pub type Seen = Arc<Mutex<Vec<String>>>;

pub fn watch(http: reqwest::Client, url: String) -> Seen {
    let seen: Seen = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        // As a browser's EventSource does: a refused or ended stream is opened again a little later.
        loop {
            if let Ok(mut res) = http.get(&url).header("accept", "text/event-stream").send().await {
                if res.status().is_success() {
                    let mut buf = String::new();
                    while let Ok(Some(chunk)) = res.chunk().await {
                        buf.push_str(&String::from_utf8_lossy(&chunk));
                        while let Some(end) = buf.find("\n\n") {
                            let event: String = buf.drain(..end + 2).collect();
                            if event.contains("event: snapshot") {
                                let status = ["Executing", "Stopping", "Stopped", "Succeeded", "Failed"]
                                    .into_iter()
                                    .find(|s| event.contains(&format!("\"status\":\"{s}\"")))
                                    .unwrap_or("?");
                                out.lock().unwrap().push(status.to_string());
                            }
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    seen
}

pub fn last(seen: &Seen) -> Option<String> {
    seen.lock().unwrap().last().cloned()
}

pub async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
