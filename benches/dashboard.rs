//! Performance figures of the dashboard's server, over real HTTP, against the embedded emulator.
//!
//! `cargo bench --bench dashboard` (or `scripts/bench.sh`, which also measures the browser).
//!
//! a. upstream SageMaker calls per minute with 1 and with 100 SSE clients watching one running execution;
//! b. server time to render the execution page of a ~300-step and a ~2,000-step execution;
//! c. the executions list of a pipeline with 5,000 executions, filtered by status, cold and warm;
//! d. server memory with 200 open SSE streams (the clients run in a child process, so only the server's
//!    side is in this process's VmRSS);
//! e–h. against an emulator as strict as SageMaker (see `dashboard/quota.rs`).
//!
//! `STEPLINE_BENCH_LATENCY=50..150` gives parts a–d's emulator that latency per call;
//! `STEPLINE_BENCH_WATCH_SECS` sets part g's window (default 300).
//!
//! Every wait is bounded; the whole run stops by itself. Exit status 1 if a page render is not a 200 or a
//! measurement could not be made.

#![recursion_limit = "512"]

#[path = "dashboard/compare.rs"]
mod compare;
#[path = "dashboard/quota.rs"]
mod quota;

use std::alloc::{GlobalAlloc, Layout};
use std::io::{self, BufRead, Read, Write as _};
use std::net::SocketAddr;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use leptos::prelude::LeptosOptions;
use serde_json::{json, Value};
use stepline::{demo, router};
use stepline_core::{gateway::Gateway, state::AppState};
use stepline_emulator::{Core, Scenario};
use tokio::net::TcpStream;

/// How long each SSE measurement of part a reads its streams.
const SSE_WINDOW: Duration = Duration::from_secs(60);
/// The whole run is cut off after this long.
const OVERALL_LIMIT: Duration = Duration::from_secs(3600);
const CHILD_ENV: &str = "STEPLINE_BENCH_SSE_CHILD";

type Res<T> = Result<T, String>;

/// The server's allocator (mimalloc, as in src/main.rs) with a counter of the net bytes allocated while counting is on, so part d can
/// report the heap the streams hold next to VmRSS (which a reused free list can hide). Off during the timed
/// parts: then an allocation costs one uncontended relaxed load more.
struct Counting;
static LIVE_HEAP: AtomicI64 = AtomicI64::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

#[inline]
fn count(delta: i64) {
    if COUNTING.load(Ordering::Relaxed) {
        LIVE_HEAP.fetch_add(delta, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { mimalloc::MiMalloc.alloc(l) };
        if !p.is_null() {
            count(l.size() as i64);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { mimalloc::MiMalloc.alloc_zeroed(l) };
        if !p.is_null() {
            count(l.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { mimalloc::MiMalloc.dealloc(p, l) };
        count(-(l.size() as i64));
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { mimalloc::MiMalloc.realloc(p, l, new) };
        if !q.is_null() {
            count(new as i64 - l.size() as i64);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Net heap KiB allocated since counting started.
fn live_heap_kib() -> i64 {
    LIVE_HEAP.load(Ordering::Relaxed) / 1024
}

/// Give freed heap pages back to the system, so a later VmRSS rise shows new memory (glibc only).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        unsafe {
            malloc_trim(0);
        }
    }
}

fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return sse_child(&spec);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let outcome = rt.block_on(async { tokio::time::timeout(OVERALL_LIMIT, run()).await });
    // Pollers and the emulator's scheduler are still running: do not wait for them.
    rt.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => {
            eprintln!("dashboard bench: a page render was not a 200 (see above)");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("dashboard bench failed: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("dashboard bench: gave up after {} s", OVERALL_LIMIT.as_secs());
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client on tokio's TcpStream (readiness + try_read/try_write: no extra features needed).

async fn write_all(s: &TcpStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn read_some(s: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        s.readable().await?;
        match s.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)], close: bool) -> String {
    let mut req = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n");
    if close {
        req.push_str("connection: close\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// Split a raw HTTP/1.1 response into status, headers and (de-chunked) body.
fn parse_response(raw: &[u8]) -> Res<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    Ok(Response { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Res<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// GET a path on a fresh connection (`connection: close`), read to the end. Bounded by 120 s.
async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Res<Response> {
    let fut = async {
        let s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        write_all(&s, request(addr, path, headers, true).as_bytes()).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::with_capacity(256 * 1024);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = read_some(&s, &mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
        }
        parse_response(&raw)
    };
    tokio::time::timeout(Duration::from_secs(120), fut).await.map_err(|_| format!("GET {path}: no answer in 120 s"))?
}

#[derive(Default, Debug)]
struct SseStats {
    status: u16,
    bytes: u64,
    snapshots: u64,
    ended: bool,
}

/// Open an SSE stream and read it until `deadline`, counting `snapshot` events. `first` is called once,
/// when the first snapshot arrived. Uses a small read buffer, like a browser's connection would.
async fn sse(addr: SocketAddr, path: &str, deadline: tokio::time::Instant, first: impl FnOnce()) -> Res<SseStats> {
    const NEEDLE: &[u8] = b"event: snapshot";
    let s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    write_all(
        &s,
        request(addr, path, &[("accept", "text/event-stream"), ("cache-control", "no-cache")], false).as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut stats = SseStats::default();
    let mut first = Some(first);
    let mut buf = vec![0u8; 4096];
    // The tail of the previous read, so a needle split across reads is still seen.
    let mut carry: Vec<u8> = Vec::with_capacity(NEEDLE.len() * 2);
    let mut head_done = false;
    loop {
        let n = match tokio::time::timeout_at(deadline, read_some(&s, &mut buf)).await {
            Err(_) => break,
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(0)) => {
                stats.ended = true;
                break;
            }
            Ok(Ok(n)) => n,
        };
        stats.bytes += n as u64;
        let mut window = std::mem::take(&mut carry);
        window.extend_from_slice(&buf[..n]);
        if !head_done {
            if let Some(sp) = window.iter().position(|b| *b == b' ') {
                stats.status =
                    String::from_utf8_lossy(&window[sp + 1..(sp + 4).min(window.len())]).parse().unwrap_or(0);
                head_done = true;
                if stats.status != 200 {
                    return Ok(stats);
                }
            }
        }
        let found = window.windows(NEEDLE.len()).filter(|w| *w == NEEDLE).count() as u64;
        if found > 0 {
            stats.snapshots += found;
            if let Some(f) = first.take() {
                f();
            }
        }
        let keep = window.len().min(NEEDLE.len() - 1);
        carry.extend_from_slice(&window[window.len() - keep..]);
    }
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------------------
// The child process of part d: holds SSE streams open so their memory is not counted in the server's RSS.

fn sse_child(spec: &str) -> ExitCode {
    // spec: "ADDR;SECONDS;path,path,..."
    let mut parts = spec.splitn(3, ';');
    let addr: SocketAddr = match parts.next().and_then(|a| a.parse().ok()) {
        Some(a) => a,
        None => return ExitCode::FAILURE,
    };
    let secs: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let paths: Vec<String> =
        parts.next().unwrap_or("").split(',').filter(|p| !p.is_empty()).map(String::from).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // Closing stdin (or the time limit) tells the child to stop.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = io::stdin().read_to_end(&mut sink);
        let _ = stop_tx.send(());
    });
    rt.block_on(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        let ready = Arc::new(AtomicUsize::new(0));
        let total = paths.len();
        let mut tasks = vec![];
        for p in paths {
            let ready = ready.clone();
            tasks.push(tokio::spawn(async move {
                sse(addr, &p, deadline, move || {
                    ready.fetch_add(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        let wait_ready = Instant::now();
        while ready.load(Ordering::SeqCst) < total && wait_ready.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("READY {}", ready.load(Ordering::SeqCst));
        let _ = io::stdout().flush();
        tokio::select! {
            _ = stop_rx => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
        for t in tasks {
            t.abort();
        }
    });
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------------------
// Helpers over the emulator.

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn id_of(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or_default().to_string()
}

/// Pipelines and executions are made as the demo makes them (`stepline::demo`).
async fn create_pipeline(client: &aws_sdk_sagemaker::Client, name: &str, definition: &str) -> Res<()> {
    demo::create_pipeline(client, name, "", definition).await
}

async fn start(client: &aws_sdk_sagemaker::Client, pipeline: &str) -> Res<String> {
    demo::start_execution(client, pipeline, "bench", &[]).await
}

/// (finished, total) executions of a pipeline, read from the emulator's state (no API call).
fn progress(core: &Core, pipeline: &str) -> (usize, usize) {
    let inner = core.lock();
    let ids = inner.store.by_pipeline.get(&pipeline.to_lowercase()).cloned().unwrap_or_default();
    let done = ids.iter().filter(|id| inner.store.executions.get(*id).is_some_and(|e| e.status.is_terminal())).count();
    (done, ids.len())
}

fn status_counts(core: &Core, pipeline: &str) -> Vec<(String, usize)> {
    let inner = core.lock();
    let ids = inner.store.by_pipeline.get(&pipeline.to_lowercase()).cloned().unwrap_or_default();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for id in ids {
        if let Some(e) = inner.store.executions.get(&id) {
            *counts.entry(format!("{:?}", e.status)).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

async fn wait_all_terminal(core: &Core, pipeline: &str, limit: Duration) -> Res<()> {
    let t = Instant::now();
    loop {
        let (done, total) = progress(core, pipeline);
        if done == total {
            return Ok(());
        }
        if t.elapsed() > limit {
            return Err(format!("{pipeline}: only {done} of {total} executions finished in {} s", limit.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------------------

struct Bench {
    addr: SocketAddr,
    gateway: Arc<Gateway>,
    client: aws_sdk_sagemaker::Client,
    core: Arc<Core>,
    /// Every call of the emulator takes this long (`STEPLINE_BENCH_LATENCY`).
    latency: Option<stepline_emulator::strict::Latency>,
}

/// The dashboard over `client`'s endpoint, served on a free loopback port: its gateway and its address.
async fn serve_dashboard(client: &aws_sdk_sagemaker::Client) -> Res<(Arc<Gateway>, SocketAddr)> {
    let gateway = Arc::new(Gateway::new(client.clone(), "bench"));
    let options = LeptosOptions::builder().output_name("stepline").site_root("target/site").build();
    let app = router::build(AppState::new(options, gateway.clone()).await).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service()).await;
    });
    Ok((gateway, addr))
}

async fn run() -> Res<bool> {
    let started = chrono::Utc::now();
    let load_start = loadavg();
    let emulator = demo::start_emulator().await?;
    let core = emulator.core();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    let (gateway, addr) = serve_dashboard(&client).await?;
    let latency = std::env::var("STEPLINE_BENCH_LATENCY")
        .ok()
        .map(|v| stepline_emulator::strict::Latency::parse(&v).map_err(|e| e.to_string()))
        .transpose()?;
    core.strict.configure(latency, Default::default());
    let b = Bench { addr, gateway, client, core, latency };
    eprintln!("dashboard on http://{addr}, emulator on {}", emulator.endpoint_url());

    let mut ok = true;
    let mut sections: Vec<(char, Vec<String>)> = vec![];
    // STEPLINE_BENCH_PARTS=bc (say) runs only some parts; all by default.
    let parts = std::env::var("STEPLINE_BENCH_PARTS").unwrap_or_else(|_| "abcdefghi".into());
    let want = |c: char| parts.contains(c);

    // b runs the clock fast and c at speed 1e6; d and a need the wall clock at speed 1.
    if want('b') {
        eprintln!("b. execution page render …");
        let (b_rows, b_ok) = page_renders(&b).await?;
        ok &= b_ok;
        sections.push(('b', b_rows));
    }
    if want('c') {
        eprintln!("c. executions list of 5,000 …");
        sections.push(('c', list_5000(&b).await?));
    }
    b.core.set_clock(None, 1.0);
    b.core.set_speed(1.0);
    if want('d') {
        eprintln!("d. memory with 200 SSE streams …");
        sections.push(('d', sse_memory(&b).await?));
    }
    if want('a') {
        eprintln!("a. upstream calls with 1 and 100 SSE clients ({} s each) …", SSE_WINDOW.as_secs());
        sections.push(('a', sse_calls(&b).await?));
    }
    if want('e') {
        eprintln!("e. / with 1,000 pipelines against a strict emulator …");
        sections.push(('e', quota::home_1000().await?));
    }
    if want('f') || want('h') {
        eprintln!("f/h. a pipeline with 100,000 executions against a strict emulator …");
        sections.push(('f', quota::history_100000(want('h')).await?));
    }
    if want('g') {
        let secs = std::env::var("STEPLINE_BENCH_WATCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
        eprintln!("g. 20 running executions × 10 viewers for {secs} s against a strict emulator …");
        sections.push(('g', quota::watched_20x10(Duration::from_secs(secs)).await?));
    }
    if want('i') {
        eprintln!("i. the compare page of 2 and 8 executions of a 300-step pipeline against a strict emulator …");
        sections.push(('i', compare::compare_300().await?));
    }
    sections.sort_by_key(|(k, _)| *k);
    let rows: Vec<String> = sections.into_iter().flat_map(|(_, r)| r).collect();

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!();
    println!("## Stepline dashboard server benchmark");
    println!();
    println!(
        "Date {} · machine: {} (available_parallelism {cores}) · load average at start {load_start}, at end {} · build: {}",
        started.format("%Y-%m-%d %H:%M UTC"),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string()))
            .unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        loadavg(),
        if cfg!(debug_assertions) { "debug" } else { "optimised (bench profile)" },
    );
    println!();
    println!("| part | measurement | figure | note |");
    println!("|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
    emulator.shutdown().await;
    Ok(ok)
}

/// b. The execution page of a ~300-step and a ~2,000-step finished execution.
async fn page_renders(b: &Bench) -> Res<(Vec<String>, bool)> {
    // Realistic step times: the clock starts 6 hours ago and runs 1,000 times faster than the wall clock
    // (a 2,000-step run simulates about 45 minutes), as the demo records its history.
    b.core.set_speed(1.0);
    b.core.set_clock(Some(stepline_emulator::runtime::wall_clock() - 6.0 * 3600.0), 1000.0);
    let mut rows = vec![];
    let mut ok = true;
    let mut runs = vec![];
    for (name, chains) in [("BenchWide300", 60usize), ("BenchWide2000", 400usize)] {
        let def = demo::wide_definition(chains, 5);
        let steps =
            serde_json::from_str::<Value>(&def).ok().and_then(|v| v["Steps"].as_array().map(|a| a.len())).unwrap_or(0);
        create_pipeline(&b.client, name, &def).await?;
        let arn = start(&b.client, name).await?;
        runs.push((name, steps, id_of(&arn)));
    }
    for (name, _, _) in &runs {
        wait_all_terminal(&b.core, name, Duration::from_secs(300)).await?;
    }
    b.core.set_clock(None, 1.0);
    for (name, steps, id) in runs {
        let path = format!("/pipelines/{name}/executions/{id}");
        let mut times = vec![];
        let mut sizes = vec![];
        let mut size = 0;
        let mut cold_calls = 0;
        for i in 0..20 {
            let before = b.gateway.calls();
            let t = Instant::now();
            let res = http_get(b.addr, &path, &[("accept", "text/html"), ("accept-encoding", "identity")]).await?;
            let dt = t.elapsed();
            if i == 0 {
                cold_calls = b.gateway.calls() - before;
            }
            if res.status != 200 {
                eprintln!("GET {path} answered {}: {}", res.status, res.text().chars().take(400).collect::<String>());
                ok = false;
            }
            size = res.body.len();
            sizes.push(size);
            times.push(dt);
        }
        let rendered_rows = String::from_utf8_lossy(&http_get(b.addr, &path, &[("accept", "text/html")]).await?.body)
            .matches("data-step=")
            .count();
        let gz = http_get(b.addr, &path, &[("accept", "text/html"), ("accept-encoding", "gzip")]).await?;
        let br = http_get(b.addr, &path, &[("accept", "text/html"), ("accept-encoding", "br")]).await?;
        eprintln!("   {name}: {:?} ms", times.iter().map(|d| (ms(*d) * 10.0).round() / 10.0).collect::<Vec<_>>());
        eprintln!("   {name}: {sizes:?} bytes");
        let cold = ms(times[0]);
        let mut warm: Vec<f64> = times[1..].iter().map(|d| ms(*d)).collect();
        warm.sort_by(|a, b| a.total_cmp(b));
        rows.push(format!(
            "| b | execution page, {steps} steps: cold / warm p50 / warm p90 | {cold:.1} ms / {:.1} ms / {:.1} ms | HTML {} ({} gzip, {} br); cold = {cold_calls} upstream calls; 19 warm requests; {rendered_rows} Gantt rows (`data-step`) |",
            percentile(&warm, 50.0),
            percentile(&warm, 90.0),
            kib(size),
            gz.header("content-encoding").map(|_| kib(gz.body.len())).unwrap_or_else(|| "not compressed".into()),
            br.header("content-encoding").map(|_| kib(br.body.len())).unwrap_or_else(|| "not compressed".into()),
        ));
    }
    Ok((rows, ok))
}

/// c. A pipeline with 5,000 short executions, 1,000 of them failed: the list filtered by status.
async fn list_5000(b: &Bench) -> Res<Vec<String>> {
    const P: &str = "BenchList";
    const FAILED: usize = 1000;
    const TOTAL: usize = 5000;
    b.core.set_clock(None, 1.0);
    b.core.set_speed(1e6);
    let def =
        json!({"Version": "2020-12-01", "Steps": [{"Name": "S", "Type": "Processing", "Arguments": {}}]}).to_string();
    create_pipeline(&b.client, P, &def).await?;
    let fail = Scenario::parse(&json!({"pipelines": {P: {"steps": {"S": {"fail": {"reason": "x"}}}}}}).to_string())
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    for (count, mut scenario) in [(FAILED, fail), (TOTAL - FAILED, Scenario::default())] {
        scenario.latency = b.latency;
        b.core.set_scenario(scenario).map_err(|e| e.to_string())?;
        let results: Vec<Res<String>> =
            futures::stream::iter(0..count).map(|_| start(&b.client, P)).buffer_unordered(16).collect().await;
        if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
            return Err(e);
        }
        wait_all_terminal(&b.core, P, Duration::from_secs(300)).await?;
    }
    let made = t.elapsed();
    let counts = status_counts(&b.core, P);
    let path = format!("/pipelines/{P}?status=Failed");
    let get = |path: String| async move {
        http_get(b.addr, &path, &[("accept", "text/html"), ("accept-encoding", "identity")]).await
    };

    let before = b.gateway.calls();
    let t = Instant::now();
    let cold = get(path.clone()).await?;
    let cold_ms = ms(t.elapsed());
    let cold_calls = b.gateway.calls() - before;
    let html = cold.text();
    let matching = html
        .find("<p class=\"summary\">")
        .map(|i| html[i + 19..].split('<').next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    let failed_rows = html.matches("data-status=\"Failed\"").count();

    let mut warm = vec![];
    let before = b.gateway.calls();
    for _ in 0..19 {
        let t = Instant::now();
        let r = get(path.clone()).await?;
        warm.push(ms(t.elapsed()));
        if r.status != 200 {
            return Err(format!("GET {path}: {}", r.status));
        }
    }
    let warm_calls = b.gateway.calls() - before;
    warm.sort_by(|a, b| a.total_cmp(b));

    // The index is fresh for 3 s; the next visit after that refreshes it from the top of the list.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let before = b.gateway.calls();
    let t = Instant::now();
    let stale = get(path.clone()).await?;
    let stale_ms = ms(t.elapsed());
    let stale_calls = b.gateway.calls() - before;

    Ok(vec![
        format!(
            "| c | list of 5,000, `?status=Failed`, cold | {cold_ms:.1} ms, {cold_calls} upstream calls | HTTP {}; \"{matching}\"; {failed_rows} Failed badges on the page; executions {counts:?} made in {:.1} s |",
            cold.status,
            made.as_secs_f64()
        ),
        format!(
            "| c | same, warm (index < 3 s old): p50 / p90 | {:.1} ms / {:.1} ms, {:.1} upstream calls per request | 19 requests, {warm_calls} calls in all |",
            percentile(&warm, 50.0),
            percentile(&warm, 90.0),
            warm_calls as f64 / 19.0
        ),
        format!("| c | same, index expired (> 3 s) | {stale_ms:.1} ms, {stale_calls} upstream calls | HTTP {} |", stale.status),
    ])
}

/// a. Upstream calls per minute with 1 and 100 SSE clients on one running execution.
async fn sse_calls(b: &Bench) -> Res<Vec<String>> {
    const P: &str = "BenchLive";
    create_pipeline(&b.client, P, demo::ABALONE).await?;
    // The pollers of the parts before end within a poll of their streams closing: not counted here.
    tokio::time::sleep(Duration::from_secs(6)).await;
    // The pipeline's ARN is asked once and remembered: ask it now, so both runs start equal.
    let mut results = vec![];
    for n in [1usize, 100] {
        let id = id_of(&start(&b.client, P).await?);
        b.gateway.execution_arn(P, &id).await.map_err(|e| format!("{e:?}"))?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let path = format!("/events/pipelines/{P}/executions/{id}");
        let before = b.gateway.calls();
        let t = Instant::now();
        let deadline = tokio::time::Instant::now() + SSE_WINDOW;
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let path = path.clone();
                let addr = b.addr;
                tokio::spawn(async move { sse(addr, &path, deadline, || {}).await })
            })
            .collect();
        let mut stats = vec![];
        for task in tasks {
            stats.push(task.await.map_err(|e| e.to_string())??);
        }
        let calls = b.gateway.calls() - before;
        let elapsed = t.elapsed().as_secs_f64();
        let ok = stats.iter().filter(|s| s.status == 200 && s.snapshots > 0).count();
        let snapshots: u64 = stats.iter().map(|s| s.snapshots).sum();
        let ended = stats.iter().filter(|s| s.ended).count();
        let status = b.core.lock().store.executions.get(&id).map(|e| format!("{:?}", e.status)).unwrap_or_default();
        results.push((n, calls, calls as f64 / elapsed * 60.0, ok, snapshots, ended, elapsed, status));
        // Let the poller notice nobody watches any more.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let mut rows = vec![];
    for (n, calls, per_min, ok, snaps, ended, elapsed, status) in &results {
        rows.push(format!(
            "| a | upstream calls/min, {n} SSE client(s), one running execution | {per_min:.1} calls/min | {calls} calls in {elapsed:.1} s; {ok}/{n} streams got snapshots ({snaps} snapshot events in all, {ended} closed early); execution {status} at the end |"
        ));
    }
    let ratio = results[1].2 / results[0].2;
    rows.push(format!(
        "| a | ratio 100 clients / 1 client | {ratio:.3} | target within 10%: {} |",
        if (ratio - 1.0).abs() <= 0.10 { "met" } else { "MISSED" }
    ));
    Ok(rows)
}

/// d. Server memory with 200 SSE streams open on 20 running executions.
async fn sse_memory(b: &Bench) -> Res<Vec<String>> {
    const P: &str = "BenchMemory";
    const EXECUTIONS: usize = 20;
    const CLIENTS: usize = 200;
    create_pipeline(&b.client, P, demo::ABALONE).await?;
    let mut arns = vec![];
    for _ in 0..EXECUTIONS {
        arns.push(start(&b.client, P).await?);
    }
    let ids: Vec<String> = arns.iter().map(|a| id_of(a)).collect();
    b.gateway.execution_arn(P, &ids[0]).await.map_err(|e| format!("{e:?}"))?;
    // One short stream and one page render first, so one-off allocations (code paths' first use, lazy
    // statics) are not counted as per-client memory.
    let warm = tokio::time::Instant::now() + Duration::from_secs(3);
    let _ = sse(b.addr, &format!("/events/pipelines/{P}/executions/{}", ids[0]), warm, || {}).await;
    let _ = http_get(b.addr, &format!("/pipelines/{P}/executions/{}", ids[1]), &[("accept", "text/html")]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    trim_heap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    LIVE_HEAP.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let rss_before = vm_rss_kib();
    let heap_before = live_heap_kib();
    let paths: Vec<String> =
        (0..CLIENTS).map(|i| format!("/events/pipelines/{P}/executions/{}", ids[i % EXECUTIONS])).collect();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .env(CHILD_ENV, format!("{};120;{}", b.addr, paths.join(",")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the SSE client process: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let ready_line = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let _ = io::BufReader::new(stdout).read_line(&mut line);
            line
        }),
    )
    .await;
    let ready: usize = match ready_line {
        Ok(Ok(l)) => l.trim().strip_prefix("READY ").and_then(|n| n.parse().ok()).unwrap_or(0),
        _ => 0,
    };
    let pollers = b.gateway.calls();
    // Hold the streams across a few poll rounds (every 2 s), sampling.
    let mut rss = vec![];
    let mut heap = vec![];
    for _ in 0..16 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss.push(vm_rss_kib());
        heap.push(live_heap_kib());
    }
    let calls_held = b.gateway.calls() - pollers;
    let rss_max = rss.iter().copied().max().unwrap_or(0);
    let heap_max = heap.iter().copied().max().unwrap_or(0);
    let heap_last = *heap.last().unwrap_or(&0);
    drop(child.stdin.take()); // EOF: the child closes its streams and exits
    let waited = tokio::task::spawn_blocking(move || {
        for _ in 0..100 {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    })
    .await
    .unwrap_or(false);
    // Pollers stop within one interval once nobody watches.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let heap_after = live_heap_kib();
    let rss_after = vm_rss_kib();
    COUNTING.store(false, Ordering::Relaxed);
    // The runs are not needed any more: stop them, so they do not run during the timed parts.
    for arn in &arns {
        let _ = b.client.stop_pipeline_execution().pipeline_execution_arn(arn).send().await;
    }
    let rss_delta = rss_max as i64 - rss_before as i64;
    let heap_delta = heap_max - heap_before;
    Ok(vec![
        format!(
            "| d | VmRSS before / with {CLIENTS} SSE streams (max of 16 samples over 8 s) | {rss_before} KiB / {rss_max} KiB | {ready}/{CLIENTS} streams had a first snapshot; 10 streams on each of {EXECUTIONS} running executions; clients in a child process{}; {calls_held} upstream calls in the 8 s held (20 pollers) |",
            if waited { "" } else { " (had to be killed)" }
        ),
        format!(
            "| d | memory delta with {CLIENTS} SSE streams: VmRSS / live heap | {rss_delta} KiB / {heap_delta} KiB; **{:.1} KiB / {:.1} KiB per client** | net heap since the baseline: max {heap_max} KiB, last {heap_last} KiB, 3 s after the streams closed {heap_after} KiB; VmRSS then {rss_after} KiB |",
            rss_delta as f64 / CLIENTS as f64,
            heap_delta as f64 / CLIENTS as f64
        ),
    ])
}
