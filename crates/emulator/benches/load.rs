//! Load benchmark of the emulator over real HTTP on 127.0.0.1 with the real `aws-sdk-sagemaker` client.
//!
//! Run with `cargo bench -p stepline-emulator --bench load` (the bench profile, optimised). It prints Markdown
//! tables of figures on stdout (progress goes to stderr). Timings are reported, never asserted; the run exits
//! non-zero when an execution ends in the wrong state, a request fails, or the 120 s deadline passes.
//!
//! a. 1,000 abalone executions at full speed (speed 1e6: simulated durations are ~0), 32 starts in flight,
//!    all must end `Succeeded`; then 100 with `MseThreshold=3.0`, all must end `Failed` with the Fail step's
//!    message. Wall time from the first start to the last execution seen terminal.
//! b. 64 concurrent clients calling DescribePipelineExecution, then ListPipelineExecutionSteps, on random
//!    finished executions for 10 s each: count, throughput and latency percentiles; then one sequential
//!    client for 3 s each, for reference (the same calls without queueing behind 63 others on the 2 cores).
//! c. VmRSS growth per execution, and the 1,000-execution wall time again with a data dir (SQLite).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemaker::types::{Parameter, PipelineExecutionStatus};
use aws_sdk_sagemaker::Client;
use stepline_emulator::{start, EmulatorConfig, RunningEmulator};

// The same allocator as the `stepline-emulator` binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ABALONE: &str = include_str!("../../../definitions/abalone.json");
const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerPipelineRole";
const PIPELINE: &str = "AbalonePipeline";
const SPEED: f64 = 1e6;
const EXECUTIONS: usize = 1_000;
const FAILING: usize = 100;
const START_IN_FLIGHT: usize = 32;
const CLIENTS: usize = 64;
const SDK_CLIENTS: usize = 8;
const LOAD_SECONDS: u64 = 10;
/// A single sequential client, for reference: the latency of one request without queueing behind 63 others.
const REFERENCE_SECONDS: u64 = 3;
const WARMUP_SECONDS: u64 = 1;
const DEADLINE: Duration = Duration::from_secs(120);
const MSE_FAILURE: &str = "Execution failed due to MSE > 3.0";

type Failure = String;

fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_sagemaker::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDSTEPLINEBENCH", "secret", None, None, "bench"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(config)
}

/// Resident set size of this process in KiB.
fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

async fn emulator(data_dir: Option<std::path::PathBuf>) -> Result<(RunningEmulator, Vec<Client>), Failure> {
    let config = EmulatorConfig { speed: SPEED, data_dir, ..EmulatorConfig::default() };
    let running = start(config).await.map_err(|e| e.to_string())?;
    let clients = (0..SDK_CLIENTS).map(|_| client_for(&running.endpoint_url())).collect::<Vec<_>>();
    clients[0]
        .create_pipeline()
        .pipeline_name(PIPELINE)
        .pipeline_definition(ABALONE)
        .role_arn(ROLE)
        .client_request_token(format!("create-{PIPELINE}-{}", "0".repeat(32)))
        .send()
        .await
        .map_err(|e| format!("CreatePipeline: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e)))?;
    Ok((running, clients))
}

/// Start `n` executions, `START_IN_FLIGHT` at a time; returns their ARNs.
async fn start_many(clients: &[Client], n: usize, params: &[(&str, &str)]) -> Result<Vec<String>, Failure> {
    let next = Arc::new(AtomicUsize::new(0));
    let params: Vec<Parameter> = params.iter().map(|(k, v)| Parameter::builder().name(*k).value(*v).build()).collect();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..START_IN_FLIGHT {
        let client = clients[w % clients.len()].clone();
        let next = next.clone();
        let params = params.clone();
        workers.spawn(async move {
            let mut arns = vec![];
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let r = client
                    .start_pipeline_execution()
                    .pipeline_name(PIPELINE)
                    .set_pipeline_parameters(Some(params.clone()).filter(|p| !p.is_empty()))
                    .send()
                    .await
                    .map_err(|e| {
                        format!("StartPipelineExecution: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e))
                    })?;
                arns.push(r.pipeline_execution_arn.ok_or("StartPipelineExecution answered without an ARN")?);
            }
            Ok::<_, Failure>(arns)
        });
    }
    let mut all = vec![];
    while let Some(done) = workers.join_next().await {
        all.extend(done.map_err(|e| e.to_string())??);
    }
    if all.len() != n || all.iter().collect::<HashSet<_>>().len() != n {
        return Err(format!(
            "started {} executions ({} distinct ARNs), expected {n}",
            all.len(),
            all.iter().collect::<HashSet<_>>().len()
        ));
    }
    Ok(all)
}

/// Poll ListPipelineExecutions (pages of 100) until every execution of `arns` is terminal; returns
/// status and failure reason of each.
async fn wait_terminal(
    client: &Client,
    arns: &[String],
    since: Instant,
) -> Result<HashMap<String, (PipelineExecutionStatus, Option<String>)>, Failure> {
    let wanted: HashSet<&str> = arns.iter().map(String::as_str).collect();
    loop {
        let mut seen = HashMap::new();
        let mut token = None;
        loop {
            let page = client
                .list_pipeline_executions()
                .pipeline_name(PIPELINE)
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| format!("ListPipelineExecutions: {}", aws_sdk_sagemaker::error::DisplayErrorContext(e)))?;
            for s in page.pipeline_execution_summaries.unwrap_or_default() {
                let (Some(arn), Some(status)) = (s.pipeline_execution_arn, s.pipeline_execution_status) else {
                    return Err("an execution summary without ARN or status".into());
                };
                if wanted.contains(arn.as_str()) {
                    seen.insert(arn, (status, s.pipeline_execution_failure_reason));
                }
            }
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        let terminal = seen
            .values()
            .filter(|(s, _)| !matches!(s, PipelineExecutionStatus::Executing | PipelineExecutionStatus::Stopping))
            .count();
        if seen.len() == wanted.len() && terminal == wanted.len() {
            return Ok(seen);
        }
        if since.elapsed() > DEADLINE {
            return Err(format!(
                "after {} s, {} of {} executions are listed and {terminal} terminal",
                DEADLINE.as_secs(),
                seen.len(),
                wanted.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Check every execution ended in `expected` (with `reason`, when given); returns the problems found.
fn check_outcome(
    what: &str,
    seen: &HashMap<String, (PipelineExecutionStatus, Option<String>)>,
    expected: PipelineExecutionStatus,
    reason: Option<&str>,
) -> Vec<Failure> {
    let mut by_outcome: HashMap<String, usize> = HashMap::new();
    for (status, why) in seen.values() {
        let ok = *status == expected && why.as_deref() == reason;
        if !ok {
            *by_outcome
                .entry(format!("{} ({})", status.as_str(), why.as_deref().unwrap_or("no reason")))
                .or_default() += 1;
        }
    }
    by_outcome
        .into_iter()
        .map(|(outcome, n)| {
            format!(
                "{what}: {n} execution(s) ended {outcome}, expected {} ({})",
                expected.as_str(),
                reason.unwrap_or("no reason")
            )
        })
        .collect()
}

struct Run {
    start_phase: Duration,
    wall: Duration,
}

/// Start `n` executions and wait for all of them; the wall time runs from the first start to the last
/// execution seen terminal.
async fn run_batch(
    clients: &[Client],
    n: usize,
    params: &[(&str, &str)],
    what: &str,
    expected: PipelineExecutionStatus,
    reason: Option<&str>,
    failures: &mut Vec<Failure>,
) -> Result<(Run, Vec<String>), Failure> {
    let t0 = Instant::now();
    let arns = start_many(clients, n, params).await?;
    let start_phase = t0.elapsed();
    let seen = wait_terminal(&clients[0], &arns, t0).await?;
    let wall = t0.elapsed();
    failures.extend(check_outcome(what, &seen, expected, reason));
    Ok((Run { start_phase, wall }, arns))
}

#[derive(Clone, Copy)]
enum Op {
    Describe,
    Steps,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Describe => "DescribePipelineExecution",
            Op::Steps => "ListPipelineExecutionSteps",
        }
    }
}

struct Load {
    requests: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    /// Sorted latencies in microseconds.
    latencies: Vec<u64>,
}

impl Load {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1] as f64 / 1000.0
    }
}

/// One call; `Err` when the call fails or its answer is not what a finished execution looks like.
async fn call(client: &Client, op: Op, arn: &str) -> Result<(), String> {
    match op {
        Op::Describe => {
            let d = client
                .describe_pipeline_execution()
                .pipeline_execution_arn(arn)
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_sagemaker::error::DisplayErrorContext(e)))?;
            match d.pipeline_execution_status {
                Some(PipelineExecutionStatus::Succeeded | PipelineExecutionStatus::Failed) => Ok(()),
                other => Err(format!("{arn} described as {other:?}")),
            }
        }
        Op::Steps => {
            let l = client
                .list_pipeline_execution_steps()
                .pipeline_execution_arn(arn)
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_sagemaker::error::DisplayErrorContext(e)))?;
            let n = l.pipeline_execution_steps.map(|s| s.len()).unwrap_or(0);
            if n == 0 {
                Err(format!("{arn} listed no steps"))
            } else {
                Ok(())
            }
        }
    }
}

/// `concurrency` tasks calling `op` on random executions for `seconds` (after a short unrecorded warm-up).
async fn hammer(clients: &[Client], arns: Arc<Vec<String>>, op: Op, concurrency: usize, seconds: u64) -> Load {
    let mut tasks = tokio::task::JoinSet::new();
    let warm_until = Instant::now() + Duration::from_secs(WARMUP_SECONDS);
    let until = warm_until + Duration::from_secs(seconds);
    for t in 0..concurrency {
        let client = clients[t % clients.len()].clone();
        let arns = arns.clone();
        tasks.spawn(async move {
            let mut rng = fastrand::Rng::with_seed(t as u64 + 1);
            let mut lat = Vec::with_capacity(16_384);
            let (mut errors, mut first_error) = (0usize, None);
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let arn = &arns[rng.usize(..arns.len())];
                let r = call(&client, op, arn).await;
                if t0 < warm_until {
                    continue;
                }
                lat.push(t0.elapsed().as_micros() as u64);
                if let Err(e) = r {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
            (lat, errors, first_error)
        });
    }
    let mut load =
        Load { requests: 0, errors: 0, first_error: None, elapsed: Duration::from_secs(seconds), latencies: vec![] };
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((lat, errors, first)) => {
                load.latencies.extend(lat);
                load.errors += errors;
                if load.first_error.is_none() {
                    load.first_error = first;
                }
            }
            Err(e) => {
                load.errors += 1;
                load.first_error.get_or_insert(format!("client task died: {e}"));
            }
        }
    }
    // The measured window ends when the last request of the window answered.
    load.elapsed = Instant::now().saturating_duration_since(warm_until);
    load.requests = load.latencies.len();
    load.latencies.sort_unstable();
    load
}

fn fmt_secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

type Loads = Vec<(Op, usize, u64, Load)>;

async fn bench() -> Result<(Vec<(String, String)>, Loads, Vec<Failure>), Failure> {
    let mut figures: Vec<(String, String)> = vec![];
    let mut failures: Vec<Failure> = vec![];

    // a + c: in memory.
    eprintln!("[load] in-memory emulator: {EXECUTIONS} executions");
    let (emu, clients) = emulator(None).await?;
    // Warm the connection pools so that the first measured starts do not pay for connects.
    for c in &clients {
        let _ = c.list_pipelines().send().await;
    }
    let rss_before = vm_rss_kib();
    let (ok_run, ok_arns) = run_batch(
        &clients,
        EXECUTIONS,
        &[],
        "default parameters",
        PipelineExecutionStatus::Succeeded,
        None,
        &mut failures,
    )
    .await?;
    eprintln!("[load] {EXECUTIONS} succeeded-path executions terminal in {:.2} s", ok_run.wall.as_secs_f64());
    eprintln!("[load] {FAILING} executions with MseThreshold=3.0");
    let (fail_run, fail_arns) = run_batch(
        &clients,
        FAILING,
        &[("MseThreshold", "3.0")],
        "MseThreshold=3.0",
        PipelineExecutionStatus::Failed,
        Some(MSE_FAILURE),
        &mut failures,
    )
    .await?;
    let rss_after = vm_rss_kib();

    figures.push((
        format!("{} abalone executions, in memory: start phase ({START_IN_FLIGHT} in flight)", thousands(EXECUTIONS)),
        fmt_secs(ok_run.start_phase),
    ));
    figures.push((
        format!("{} abalone executions, in memory: wall time, first start → all terminal", thousands(EXECUTIONS)),
        fmt_secs(ok_run.wall),
    ));
    figures
        .push(("  … executions/s (in memory)".into(), format!("{:.0}", EXECUTIONS as f64 / ok_run.wall.as_secs_f64())));
    let ok_good = failures.iter().all(|f| !f.starts_with("default parameters"));
    figures.push((
        format!("  … all {} ended Succeeded", thousands(EXECUTIONS)),
        if ok_good { "yes".into() } else { "**NO**".into() },
    ));
    figures.push((format!("{FAILING} executions with MseThreshold=3.0: wall time"), fmt_secs(fail_run.wall)));
    let fail_good = failures.iter().all(|f| !f.starts_with("MseThreshold"));
    figures.push((
        format!("  … all {FAILING} ended Failed, \"{MSE_FAILURE}\""),
        if fail_good { "yes".into() } else { "**NO**".into() },
    ));
    match (rss_before, rss_after) {
        (Some(b), Some(a)) => {
            let n = EXECUTIONS + FAILING;
            figures.push((
                "VmRSS before executions → after".into(),
                format!("{:.1} MiB → {:.1} MiB", b as f64 / 1024.0, a as f64 / 1024.0),
            ));
            figures.push((
                format!("Memory per execution, (after − before) / {}", thousands(n)),
                format!("{:.1} KiB", a.saturating_sub(b) as f64 / n as f64),
            ));
        }
        _ => figures.push(("Memory per execution".into(), "n/a (no /proc/self/status)".into())),
    }

    // b: read load on the finished executions.
    let mut all: Vec<String> = ok_arns;
    all.extend(fail_arns);
    let all = Arc::new(all);
    let mut loads = vec![];
    for (concurrency, seconds) in [(CLIENTS, LOAD_SECONDS), (1, REFERENCE_SECONDS)] {
        for op in [Op::Describe, Op::Steps] {
            eprintln!("[load] {concurrency} client(s) × {} for {seconds} s", op.name());
            let load = hammer(&clients, all.clone(), op, concurrency, seconds).await;
            if load.errors > 0 {
                failures.push(format!(
                    "{}: {} failed request(s), first: {}",
                    op.name(),
                    load.errors,
                    load.first_error.clone().unwrap_or_default()
                ));
            }
            loads.push((op, concurrency, seconds, load));
        }
    }
    drop(clients);
    emu.shutdown().await;

    // c: durable.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    eprintln!("[load] emulator with a data dir ({}): {EXECUTIONS} executions", dir.path().display());
    let (emu, clients) = emulator(Some(dir.path().to_path_buf())).await?;
    for c in &clients {
        let _ = c.list_pipelines().send().await;
    }
    let (durable, _) = run_batch(
        &clients,
        EXECUTIONS,
        &[],
        "data dir, default parameters",
        PipelineExecutionStatus::Succeeded,
        None,
        &mut failures,
    )
    .await?;
    drop(clients);
    emu.shutdown().await;
    figures.push((
        format!("{} abalone executions, data dir (SQLite WAL): start phase", thousands(EXECUTIONS)),
        fmt_secs(durable.start_phase),
    ));
    figures.push((
        format!("{} abalone executions, data dir (SQLite WAL): wall time", thousands(EXECUTIONS)),
        fmt_secs(durable.wall),
    ));
    figures
        .push(("  … executions/s (data dir)".into(), format!("{:.0}", EXECUTIONS as f64 / durable.wall.as_secs_f64())));
    let durable_good = failures.iter().all(|f| !f.starts_with("data dir"));
    figures.push((
        format!("  … all {} ended Succeeded (data dir)", thousands(EXECUTIONS)),
        if durable_good { "yes".into() } else { "**NO**".into() },
    ));
    Ok((figures, loads, failures))
}

fn main() {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = rt.block_on(bench());
    let (figures, loads, failures) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load benchmark FAILED: {e}");
            std::process::exit(1);
        }
    };

    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let profile = if cfg!(debug_assertions) { "debug (unoptimised!)" } else { "optimised (bench/release)" };
    println!();
    println!("## stepline-emulator load benchmark");
    println!();
    println!(
        "Machine: nproc = {nproc} ({}); date: {}; build: {profile}; emulator speed = {SPEED:e} (simulated durations ≈ 0); HTTP on 127.0.0.1 with aws-sdk-sagemaker; total run {:.0} s.",
        cpu_model(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("| Figure | Value |");
    println!("|---|---|");
    for (k, v) in &figures {
        println!("| {k} | {v} |");
    }
    println!();
    println!(
        "| Operation (random finished executions of {}; {SDK_CLIENTS} SDK clients shared) | Concurrent clients | Seconds | Requests | Errors | Req/s | p50 ms | p90 ms | p99 ms | max ms | p99 < 10 ms |",
        thousands(EXECUTIONS + FAILING)
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (op, concurrency, seconds, l) in &loads {
        let p99 = l.percentile_ms(0.99);
        println!(
            "| {} | {concurrency} | {seconds} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            op.name(),
            thousands(l.requests),
            l.errors,
            l.requests as f64 / l.elapsed.as_secs_f64(),
            l.percentile_ms(0.50),
            l.percentile_ms(0.90),
            p99,
            l.percentile_ms(1.0),
            if p99 < 10.0 { "yes" } else { "no" }
        );
    }
    println!();
    if !failures.is_empty() {
        eprintln!("load benchmark FAILED:");
        for f in &failures {
            eprintln!("  - {f}");
        }
        std::process::exit(1);
    }
}
