//! Part i: the compare page of 2 and 8 executions of the ~300-step demo pipeline, against an emulator as
//! strict as SageMaker (50–150 ms a call, the default quota table) with the dashboard's limiter as shipped:
//! the cold render (nothing known of them), the warm one (a reload), the upstream calls each made, throttled
//! calls and the bytes of the page.

use std::time::{Duration, Instant};

use stepline::demo;
use stepline_emulator::strict::{default_quotas, Latency};
use stepline_emulator::{start, EmulatorConfig};

use super::{http_get, kib, ms, Res};

const LATENCY: Latency = Latency { min_ms: 50, max_ms: 150 };
const PIPELINE: &str = "BenchWide300";

pub async fn compare_300() -> Res<Vec<String>> {
    let emulator =
        start(EmulatorConfig { speed: 1.0, ..EmulatorConfig::default() }).await.map_err(|e| e.to_string())?;
    let core = emulator.core();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    // The history is recorded at full speed, as the demo records its own: a clock from 6 hours ago at 1,000×.
    core.set_clock(Some(stepline_emulator::runtime::wall_clock() - 6.0 * 3600.0), 1000.0);
    let definition = demo::wide_definition(60, 5);
    let steps = serde_json::from_str::<serde_json::Value>(&definition)
        .ok()
        .and_then(|v| v["Steps"].as_array().map(|a| a.len()))
        .unwrap_or(0);
    super::create_pipeline(&client, PIPELINE, &definition).await?;
    let mut ids = vec![];
    for i in 0..8 {
        // Two windows: half the feature steps run again where the run before reused the cache.
        let window = if i % 2 == 0 { "7" } else { "14" };
        let arn = demo::start_execution(&client, PIPELINE, &format!("run-{i}"), &[("WindowDays", window)]).await?;
        super::wait_all_terminal(&core, PIPELINE, Duration::from_secs(300)).await?;
        ids.push(super::id_of(&arn));
    }
    core.set_clock(None, 1.0);
    let mut rows = vec![];
    for n in [2usize, 8] {
        // A dashboard of its own for each, so the cold render knows nothing of the executions.
        let (gateway, addr) = super::serve_dashboard(&client).await?;
        core.strict.configure(Some(LATENCY), default_quotas());
        let query: Vec<String> = ids.iter().take(n).map(|id| format!("e={id}")).collect();
        let path = format!("/pipelines/{PIPELINE}/compare?{}", query.join("&"));
        let mut figures = vec![];
        for _ in 0..2 {
            core.strict.reset_stats();
            let before = gateway.calls();
            let t = Instant::now();
            let r = http_get(addr, &path, &[("accept", "text/html"), ("accept-encoding", "identity")]).await?;
            let took = ms(t.elapsed());
            if r.status != 200 {
                return Err(format!("GET {path}: HTTP {}", r.status));
            }
            let s = core.strict.stats();
            let throttled = s["total"]["throttled"].as_u64().unwrap_or(0);
            figures.push((took, gateway.calls() - before, throttled, r.body.len()));
        }
        let br = http_get(addr, &path, &[("accept", "text/html"), ("accept-encoding", "br")]).await?;
        let ((cold, cold_calls, cold_throttled, size), (warm, warm_calls, _, _)) = (figures[0], figures[1]);
        rows.push(format!(
            "| i | compare {n} executions of {PIPELINE} ({steps} steps): cold / warm | {cold:.0} ms, {cold_calls} calls / {warm:.1} ms, {warm_calls} calls | HTML {} ({} br); {cold_throttled} throttled |",
            kib(size),
            br.header("content-encoding").map(|_| kib(br.body.len())).unwrap_or_else(|| "not compressed".into()),
        ));
        core.strict.configure(None, Default::default());
    }
    emulator.shutdown().await;
    Ok(rows)
}
