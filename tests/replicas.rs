//! Several replicas, one upstream budget: three real `stepline` processes on one PostgreSQL (the test
//! script's, over TLS) and one SageMaker (the emulator), with 30 viewers spread over them. One replica
//! polls each watched execution; an action taken on one replica reaches the viewers of the others within a
//! poll; a replica killed with SIGKILL has its executions taken over by the others.
//!
//! Needs `STEPLINE_TEST_DATABASE_URL` (scripts/test.sh sets it); says SKIPPED without.
#![cfg(feature = "ssr")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stepline::server::demo;
use stepline_emulator::{EmulatorConfig, Scenario};

struct Replica {
    child: Child,
    url: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `stepline` process on the emulator at `endpoint` and the database at `database`.
async fn replica(endpoint: &str, database: &str, data: &std::path::Path) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepline"))
        .args(["--addr", "127.0.0.1:0", "--endpoint-url", endpoint, "--database-url", database])
        .args(["--data-dir", data.to_str().unwrap()])
        // Streams and metrics only: the site's files play no part.
        .env("LEPTOS_HASH_FILES", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((_, url)) = line.split_once("Stepline listening on http://") {
                let _ = tx.send(url.split_whitespace().next().unwrap_or_default().to_string());
            }
        }
    });
    let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).expect("it listens"))
        .await
        .unwrap();
    Replica { child, url: format!("http://{addr}") }
}

/// The sum of a metric family's samples whose labels contain `filter`, from a replica's `/metrics` at `url`.
async fn metric(http: &reqwest::Client, url: &str, family: &str, filter: &str) -> f64 {
    let text = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' ']) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

const LEASES: &str = "stepline_cluster_leases";
const CALLS: &str = "stepline_upstream_calls_total";
const DESCRIBE: &str = "operation=\"DescribePipelineExecution\"";

/// A metric summed over replicas.
async fn total(http: &reqwest::Client, urls: &[String], family: &str, filter: &str) -> f64 {
    let mut n = 0.0;
    for url in urls {
        n += metric(http, url, family, filter).await;
    }
    n
}

/// Until every replica counts `n` replicas alive (heartbeats every 2 s, the dead forgotten after 6 s).
async fn until_replicas(http: &reqwest::Client, urls: &[String], n: f64) {
    let t = Instant::now();
    for url in urls {
        while metric(http, url, "stepline_cluster_replicas", "").await != n {
            assert!(t.elapsed() < Duration::from_secs(15), "{url} does not count {n} replicas");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A stop through a replica's server function, as a plain form posts it.
async fn stop(http: &reqwest::Client, through: &Replica, id: &str, tag: &str) {
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
type Seen = Arc<Mutex<Vec<String>>>;

fn watch(http: reqwest::Client, url: String) -> Seen {
    let seen: Seen = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        let Ok(mut res) = http.get(&url).header("accept", "text/event-stream").send().await else { return };
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
    });
    seen
}

fn last(seen: &Seen) -> Option<String> {
    seen.lock().unwrap().last().cloned()
}

async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn three_replicas_poll_each_execution_once_and_take_over_from_a_dead_one() {
    let Ok(database) = std::env::var("STEPLINE_TEST_DATABASE_URL") else {
        println!("SKIPPED: STEPLINE_TEST_DATABASE_URL is not set (scripts/test.sh starts PostgreSQL and sets it)");
        return;
    };
    // One SageMaker for all replicas. Its executions stay in their first step for an hour.
    let scenario =
        Scenario::parse(r#"{"pipelines": {"*": {"steps": {"AbaloneProcess": {"duration": 3600}}}}}"#).unwrap();
    let emulator = stepline_emulator::start(EmulatorConfig { speed: 1.0, ..EmulatorConfig::default() }).await.unwrap();
    let endpoint = emulator.endpoint_url();
    let client = demo::endpoint_client(&endpoint, "us-east-1");
    demo::seed(&emulator, &client, 1.0).await.unwrap();
    emulator.core().set_scenario(scenario).unwrap();
    let mut ids = vec![];
    for i in 0..3 {
        let started = client
            .start_pipeline_execution()
            .pipeline_name("AbalonePipeline")
            .client_request_token(format!("replicas-test-{i}-{}-0123456789abcdef0123", std::process::id()))
            .send()
            .await
            .unwrap();
        ids.push(started.pipeline_execution_arn().unwrap().rsplit('/').next().unwrap().to_string());
    }

    let data = std::env::temp_dir().join(format!("stepline-replicas-{}", std::process::id()));
    let mut replicas = vec![];
    for i in 0..3 {
        replicas.push(replica(&endpoint, &database, &data.join(i.to_string())).await);
    }
    let http = reqwest::Client::new();
    // 30 viewers: every execution watched on every replica, ten viewers a replica.
    let mut viewers: Vec<(usize, usize, Seen)> = vec![];
    for v in 0..30 {
        let (r, e) = (v % 3, (v / 3) % 3);
        let url = format!("{}/events/pipelines/AbalonePipeline/executions/{}", replicas[r].url, ids[e]);
        viewers.push((r, e, watch(http.clone(), url)));
    }
    until("every viewer sees a snapshot", Duration::from_secs(20), || {
        viewers.iter().all(|(_, _, s)| last(s).is_some())
    })
    .await;

    // One poller per execution in all: three leases, and the executions described about once a round (2 s)
    // each; three uncoordinated replicas would describe each three times.
    let urls = |rs: &[Replica]| rs.iter().map(|r| r.url.clone()).collect::<Vec<_>>();
    assert_eq!(total(&http, &urls(&replicas), LEASES, "").await, 3.0, "one lease per watched execution");
    // Each knows there are three, and spends a third of the request budget.
    until_replicas(&http, &urls(&replicas), 3.0).await;
    let before = total(&http, &urls(&replicas), CALLS, DESCRIBE).await;
    let window = Duration::from_secs(10);
    tokio::time::sleep(window).await;
    let described = total(&http, &urls(&replicas), CALLS, DESCRIBE).await - before;
    let rounds = window.as_secs_f64() / 2.0;
    assert!(
        described <= 3.0 * (rounds + 2.0),
        "{described} DescribePipelineExecution calls in {window:?} for 3 executions: one poller each makes about {}",
        3.0 * rounds
    );
    assert!(described >= 3.0 * (rounds - 2.0), "the executions are still polled: {described} calls");

    // An action on replica 0 reaches the viewers of execution 0 on replicas 1 and 2 within a poll.
    stop(&http, &replicas[0], &ids[0], "first").await;
    let others: Vec<Seen> = viewers.iter().filter(|(r, e, _)| *r != 0 && *e == 0).map(|(_, _, s)| s.clone()).collect();
    until("the stop reaches the other replicas' viewers", Duration::from_secs(8), || {
        others.iter().all(|s| matches!(last(s).as_deref(), Some("Stopping" | "Stopped")))
    })
    .await;

    // Kill the replica that polls the most; the others take its executions over.
    let mut most = (0, -1.0);
    for (i, r) in replicas.iter().enumerate() {
        let n = total(&http, std::slice::from_ref(&r.url), LEASES, "").await;
        if n > most.1 {
            most = (i, n);
        }
    }
    assert!(most.1 >= 1.0, "some replica polls");
    let victim = replicas.remove(most.0);
    let killed_at = Instant::now();
    drop(victim);
    // Executions 1 and 2 run on: the survivors hold their leases again.
    let survivors = urls(&replicas);
    while total(&http, &survivors, LEASES, "").await < 2.0 {
        assert!(killed_at.elapsed() < Duration::from_secs(15), "the survivors did not take over within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("takeover after SIGKILL: {} ms", killed_at.elapsed().as_millis());
    // The survivors count two of them within a few heartbeats, and take half the budget each.
    until_replicas(&http, &survivors, 2.0).await;
    // Polling goes on: a stop through one survivor reaches the viewers of both.
    stop(&http, &replicas[0], &ids[1], "second").await;
    let on_survivors: Vec<Seen> =
        viewers.iter().filter(|(r, e, _)| *r != most.0 && *e == 1).map(|(_, _, s)| s.clone()).collect();
    assert_eq!(on_survivors.len(), 6);
    until("after the takeover, the stop reaches every surviving viewer", Duration::from_secs(8), || {
        on_survivors.iter().all(|s| matches!(last(s).as_deref(), Some("Stopping" | "Stopped")))
    })
    .await;
    std::fs::remove_dir_all(&data).ok();
}
