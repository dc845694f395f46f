//! What logs and metrics cost a page (figures in BENCHMARKS.md): the same requests through the router with
//! the request and upstream log lines and the metrics recorded, and with neither, alternated request by
//! request over one seeded emulator (server time, `oneshot`, as `benches/access.rs` measures).
//!
//! "Off" is a process with no subscriber and no recorder: `tracing`'s and `metrics`' macros find nobody
//! to tell. "On" sets, around each request, the Prometheus recorder `/metrics` renders and a subscriber at
//! the default filter (`info`) writing every line to `/dev/null` (formatted and written, as to standard
//! output); once as text, once as JSON. The runtime has one thread, so everything a request does runs
//! where those are set. The cost of rendering `/metrics` itself is measured after.
//!
//! Run: `cargo bench --bench observe`.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::Request;
use leptos::prelude::LeptosOptions;
use stepline::{demo, router};
use stepline_core::config::LogFormat;
use stepline_core::observe::{logging, prometheus};
use stepline_core::{gateway::Gateway, state::AppState};
use tower::ServiceExt;

type Res<T> = Result<T, String>;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// `/dev/null`, counting the lines' bytes (so a run shows the lines were written).
#[derive(Clone)]
struct DevNull {
    file: Arc<std::fs::File>,
    bytes: Arc<AtomicU64>,
}

impl Write for DevNull {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
        (&*self.file).write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const WARM_UP: usize = 50;
const MEASURED: usize = 400;

fn main() -> std::process::ExitCode {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    match rt.block_on(run()) {
        Ok(rows) => {
            println!("\n## Stepline logs and metrics overhead\n");
            println!(
                "| request | off | text logs + metrics | JSON logs + metrics | text logs only | metrics only | note |"
            );
            println!("|---|---|---|---|---|---|---|");
            for r in rows {
                println!("{r}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("observe bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Res<Vec<String>> {
    let emulator = demo::start_emulator().await?;
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    demo::seed(&emulator, &client, 20.0).await?;
    let gateway = Arc::new(Gateway::new(client.clone(), "bench"));
    let state =
        AppState::new(LeptosOptions::builder().output_name("stepline").site_root("target/site").build(), gateway).await;
    let app = router::build(state).await;
    let out = client
        .list_pipeline_executions()
        .pipeline_name("AbalonePipeline")
        .max_results(10)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let id = out
        .pipeline_execution_summaries()
        .iter()
        .find_map(|s| s.pipeline_execution_arn())
        .map(|a| a.rsplit('/').next().unwrap_or_default().to_string())
        .unwrap_or_default();

    let devnull = DevNull {
        file: Arc::new(std::fs::OpenOptions::new().write(true).open("/dev/null").map_err(|e| e.to_string())?),
        bytes: Arc::default(),
    };
    let dispatch = |format| {
        let w = devnull.clone();
        logging::subscriber(format, logging::filter(None).expect("the default filter"), move || w.clone(), false)
    };
    // Made once: registering a subscriber rebuilds every call site's interest, which no request should pay.
    let text = tracing::Dispatch::new(dispatch(LogFormat::Text));
    let json = tracing::Dispatch::new(dispatch(LogFormat::Json));
    let recorder = prometheus::recorder();

    let targets = [
        ("page `/pipelines/AbalonePipeline`", "GET", "/pipelines/AbalonePipeline".to_string(), String::new()),
        ("execution page", "GET", format!("/pipelines/AbalonePipeline/executions/{id}"), String::new()),
        (
            "server function `/api/execution`",
            "POST",
            "/api/execution".to_string(),
            format!("{{\"pipeline\":\"AbalonePipeline\",\"id\":\"{id}\"}}"),
        ),
    ];
    let mut rows = vec![];
    for (name, method, path, body) in targets {
        eprintln!("{name} …");
        // Off; text logs and metrics; JSON logs and metrics; text logs alone; metrics alone.
        let mut times: [Vec<f64>; 5] = Default::default();
        let written = devnull.bytes.load(Ordering::Relaxed);
        for i in 0..WARM_UP + MEASURED {
            for (config, times) in times.iter_mut().enumerate() {
                let req = Request::builder()
                    .method(method)
                    .uri(&path)
                    .header(
                        if method == "POST" { "content-type" } else { "accept" },
                        if method == "POST" { "application/json" } else { "text/html" },
                    )
                    .body(Body::from(body.clone()))
                    .map_err(|e| e.to_string())?;
                let _logs = match config {
                    1 | 3 => Some(tracing::dispatcher::set_default(&text)),
                    2 => Some(tracing::dispatcher::set_default(&json)),
                    _ => None,
                };
                let _metrics = matches!(config, 1 | 2 | 4).then(|| metrics::set_default_local_recorder(&recorder));
                let t = Instant::now();
                let res = app.clone().oneshot(req).await.map_err(|e| e.to_string())?;
                let status = res.status();
                let bytes = to_bytes(res.into_body(), 64 << 20).await.map_err(|e| e.to_string())?;
                let took = ms(t.elapsed());
                if !status.is_success() {
                    return Err(format!("{name}: HTTP {status}: {}", String::from_utf8_lossy(&bytes)));
                }
                if i >= WARM_UP {
                    times.push(took);
                }
            }
        }
        let written = devnull.bytes.load(Ordering::Relaxed) - written;
        let [off, on_text, on_json, logs, metrics] = &mut times;
        let off50 = percentile(off, 0.5);
        let cell = |v: &mut Vec<f64>| {
            let m = percentile(v, 0.5);
            format!("{m:.3} ms ({:.3}), {:+.1}%", percentile(v, 0.9), (m / off50 - 1.0) * 100.0)
        };
        rows.push(format!(
            "| {name}: median (p90) | {off50:.3} ms ({:.3}) | {} | {} | {} | {} | {MEASURED} requests each, alternated, after {WARM_UP} warm-up; {:.0} bytes of log a logged request |",
            percentile(off, 0.9),
            cell(on_text),
            cell(on_json),
            cell(logs),
            cell(metrics),
            written as f64 / (3 * (WARM_UP + MEASURED)) as f64,
        ));
    }

    // A scrape of what these requests recorded.
    let handle = recorder.handle();
    let mut renders = vec![];
    let mut size = 0;
    for _ in 0..50 {
        let t = Instant::now();
        handle.run_upkeep();
        size = handle.render().len();
        renders.push(ms(t.elapsed()));
    }
    rows.push(format!(
        "| rendering `/metrics` (upkeep + text) | | {:.3} ms | | | | median of 50; {size} bytes |",
        percentile(&mut renders, 0.5)
    ));
    Ok(rows)
}
