//! Parts e–h: the dashboard against an emulator as strict as SageMaker (50–150 ms a call, the default quota
//! table), with its own upstream limiter on as shipped.
//!
//! e. `/` with 1,000 pipelines: first render, warm reload, and the background round after it;
//! f. a pipeline with 100,000 executions: first page, `?status=Failed`, a one-day range, oldest first;
//! g. 20 running executions each watched by 10 viewers: calls per minute and throttled calls;
//! h. memory after crawling the 100,000 executions page by page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use stepline::demo;
use stepline_core::gateway::Gateway;
use stepline_emulator::seed::Seed;
use stepline_emulator::strict::{default_quotas, Latency};
use stepline_emulator::{start, EmulatorConfig, RunningEmulator};

use super::{http_get, ms, percentile, sse, trim_heap, vm_rss_kib, Res};

const LATENCY: Latency = Latency { min_ms: 50, max_ms: 150 };

struct Strict {
    emulator: RunningEmulator,
    gateway: Arc<Gateway>,
    addr: std::net::SocketAddr,
    client: aws_sdk_sagemaker::Client,
}

impl Strict {
    async fn new(seed: &str) -> Res<Strict> {
        let seed = Seed::parse(seed).map_err(|e| e.to_string())?;
        let config = EmulatorConfig {
            speed: 1.0,
            seed: Some(seed),
            latency: Some(LATENCY),
            quotas: Some(default_quotas()),
            ..EmulatorConfig::default()
        };
        let emulator = start(config).await.map_err(|e| e.to_string())?;
        let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
        let (gateway, addr) = super::serve_dashboard(&client).await?;
        Ok(Strict { emulator, gateway, addr, client })
    }

    /// The emulator's counts: (calls, throttled) since its start or the last reset.
    fn upstream(&self) -> (u64, u64) {
        let s: Value = self.emulator.core().strict.stats();
        (s["total"]["calls"].as_u64().unwrap_or(0), s["total"]["throttled"].as_u64().unwrap_or(0))
    }

    fn reset(&self) {
        self.emulator.core().strict.reset_stats();
    }

    /// One page load: its time, its HTML, and the upstream calls (and throttled ones) it made.
    async fn load(&self, path: &str) -> Res<(f64, String, u64, u64)> {
        self.reset();
        let t = Instant::now();
        let r = http_get(self.addr, path, &[("accept", "text/html"), ("accept-encoding", "identity")]).await?;
        let took = ms(t.elapsed());
        if r.status != 200 {
            return Err(format!("GET {path}: HTTP {}", r.status));
        }
        let (calls, throttled) = self.upstream();
        Ok((took, r.text(), calls, throttled))
    }
}

/// e. `/` with 1,000 pipelines.
pub async fn home_1000() -> Res<Vec<String>> {
    let s = Strict::new(r#"{"pipelines": 1000, "executions": 3}"#).await?;
    let (first_ms, html, calls, throttled) = s.load("/").await?;
    let rows = html.matches("<tr>").count().saturating_sub(1);
    let pending = html.matches("not checked yet").count();
    let (warm_ms, _, warm_calls, _) = s.load("/").await?;
    // The background round goes on while the page is viewed (a reload every 10 s keeps it viewed).
    s.reset();
    let t = Instant::now();
    let mut left = pending;
    while t.elapsed() < Duration::from_secs(120) && left > 0 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let r = http_get(s.addr, "/", &[("accept", "text/html")]).await?;
        left = r.text().matches("not checked yet").count();
    }
    let (round_calls, round_throttled) = s.upstream();
    let minutes = t.elapsed().as_secs_f64() / 60.0;
    s.emulator.shutdown().await;
    Ok(vec![
        format!(
            "| e | `/` with 1,000 pipelines, first render | {first_ms:.0} ms, {calls} upstream calls | {rows} rows; {pending} newest executions not checked yet; {throttled} throttled |"
        ),
        format!("| e | same, warm reload | {warm_ms:.1} ms, {warm_calls} upstream calls | the list is reused for 15 s |"),
        format!(
            "| e | background round while viewed | {left} rows unchecked after {:.0} s | {round_calls} calls ({:.0}/min), {round_throttled} throttled |",
            t.elapsed().as_secs_f64(),
            round_calls as f64 / minutes.max(1e-9)
        ),
    ])
}

/// f and h: a pipeline with 100,000 executions; h crawls all of it and reports memory.
pub async fn history_100000(crawl: bool) -> Res<Vec<String>> {
    let rss_before = vm_rss_kib();
    let s = Strict::new(r#"{"names": ["Big"], "executions": 100000, "days": 365, "failed": 0.1}"#).await?;
    let rss_seeded = vm_rss_kib();
    let day_ago = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M").to_string();
    let mut rows = vec![];
    for (what, path) in [
        ("first page", "/pipelines/Big".to_string()),
        ("`?status=Failed`", "/pipelines/Big?status=Failed".to_string()),
        ("a one-day range", format!("/pipelines/Big?from={day_ago}")),
        ("oldest first", "/pipelines/Big?order=oldest".to_string()),
    ] {
        let (took, html, calls, throttled) = s.load(&path).await?;
        let shown = html.matches("data-execution=").count();
        let note = html
            .find("data-testid=\"coverage\"")
            .map(|i| html[i..].split('>').nth(1).unwrap_or("").split('<').next().unwrap_or("").to_string())
            .unwrap_or_else(|| "complete".into());
        rows.push(format!(
            "| f | 100,000 executions: {what} | {took:.0} ms, {calls} upstream calls | {shown} rows; {throttled} throttled; coverage: {note} |"
        ));
    }
    if crawl {
        s.reset();
        let t = Instant::now();
        let mut cursor = String::new();
        let mut seen = 0usize;
        let mut times = vec![];
        loop {
            let path = if cursor.is_empty() {
                "/pipelines/Big?size=200".to_string()
            } else {
                format!("/pipelines/Big?size=200&after={cursor}")
            };
            let t1 = Instant::now();
            let r = http_get(s.addr, &path, &[("accept", "text/html"), ("accept-encoding", "identity")]).await?;
            times.push(ms(t1.elapsed()));
            let html = r.text();
            seen += html.matches("data-execution=").count();
            // The "Next page" link's cursor.
            let next = html.find("rel=\"next\"").and_then(|i| {
                let at = html[..i].rfind("after=")? + "after=".len();
                Some(html[at..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>())
            });
            match next {
                Some(c) if !c.is_empty() && c != cursor => cursor = c,
                _ => break,
            }
            if t.elapsed() > Duration::from_secs(900) {
                break;
            }
        }
        let (calls, throttled) = s.upstream();
        times.sort_by(|a, b| a.total_cmp(b));
        trim_heap();
        let rss_after = vm_rss_kib();
        let sizes = format!("{:?}", s.gateway.limiter_stats().held_back);
        rows.push(format!(
            "| h | crawl of 100,000 executions, 200 a page | {seen} rows in {:.0} s; page p50 {:.0} ms | {calls} upstream calls, {throttled} throttled, {sizes} held back by the limiter |",
            t.elapsed().as_secs_f64(),
            percentile(&times, 50.0)
        ));
        rows.push(format!(
            "| h | VmRSS: before seeding / seeded / after the crawl | {rss_before} / {rss_seeded} / {rss_after} KiB | the emulator's 100,000 executions are in this process too; the dashboard's listing keeps at most 100,000 summaries |"
        ));
    }
    s.emulator.shutdown().await;
    Ok(rows)
}

/// g. 20 running executions, each watched by 10 viewers.
pub async fn watched_20x10(window: Duration) -> Res<Vec<String>> {
    let s = Strict::new(r#"{"names": ["Live"], "executions": 10}"#).await?;
    // Started before the window, outside the quota (the bench is not the dashboard).
    s.emulator.core().strict.configure(Some(LATENCY), Default::default());
    let mut ids = vec![];
    for _ in 0..20 {
        let arn = demo::start_execution(&s.client, "Live", "bench", &[]).await?;
        ids.push(arn.rsplit('/').next().unwrap_or_default().to_string());
    }
    s.emulator.core().strict.configure(Some(LATENCY), default_quotas());
    s.reset();
    let t = Instant::now();
    let deadline = tokio::time::Instant::now() + window;
    let mut tasks = vec![];
    for id in &ids {
        for _ in 0..10 {
            let path = format!("/events/pipelines/Live/executions/{id}");
            let addr = s.addr;
            tasks.push(tokio::spawn(async move { sse(addr, &path, deadline, || {}).await }));
        }
    }
    let mut got = 0;
    for task in tasks {
        let st = task.await.map_err(|e| e.to_string())??;
        got += usize::from(st.status == 200 && st.snapshots > 0);
    }
    let (calls, throttled) = s.upstream();
    let minutes = t.elapsed().as_secs_f64() / 60.0;
    let by_op = s.emulator.core().strict.stats()["operations"].clone();
    s.emulator.shutdown().await;
    Ok(vec![format!(
        "| g | 20 running executions × 10 viewers, {:.1} min | {:.0} calls/min, {throttled} throttled | {got}/200 streams got snapshots; by operation: {by_op} |",
        minutes,
        calls as f64 / minutes.max(1e-9)
    )])
}
