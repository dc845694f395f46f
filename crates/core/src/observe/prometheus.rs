//! `/metrics`: the Prometheus text format, rendered from the process's recorder. Counters and histograms are
//! recorded where things happen; the gauges (pollers, streams, caches) are read from the state when a scrape
//! asks, so nothing counts them in between. Served to anyone, like `/healthz`: its labels are route
//! templates, operations, answer codes, actions and cache names — never a user, a pipeline or an execution.

use crate::sync::Unpoisoned;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use super::*;
use crate::state::AppState;

/// Buckets of request latencies: a warm page answers in about a millisecond, a cold one waits for upstream.
const HTTP_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of upstream calls: SageMaker answers in 50–150 ms; the time limit is 10 s an attempt, 30 s in all.
const UPSTREAM_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Buckets of limiter waits: most turns are immediate; none waits more than 5 s (it is refused instead).
const WAIT_BUCKETS: &[f64] = &[0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0];

/// How often histograms are folded in when nobody scrapes (they would grow meanwhile).
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// A recorder with Stepline's buckets, not installed: the benchmark installs it on its own thread.
pub fn recorder() -> PrometheusRecorder {
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in
        [(HTTP_DURATION, HTTP_BUCKETS), (UPSTREAM_DURATION, UPSTREAM_BUCKETS), (LIMITER_WAIT, WAIT_BUCKETS)]
    {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_string()), buckets)
            .expect("only an empty list of buckets is refused");
    }
    builder.build_recorder()
}

/// Install the process's recorder (once; later calls return the same handle).
pub fn install() -> Result<&'static PrometheusHandle, String> {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one = INSTALLING.locked();
    if let Some(h) = HANDLE.get() {
        return Ok(h);
    }
    let recorder = recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| format!("cannot collect metrics: {e}"))?;
    describe();
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(HANDLE.get_or_init(|| handle))
}

/// Fold histograms in every few seconds, for as long as the server runs.
pub fn spawn_upkeep() {
    if let Some(handle) = HANDLE.get() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
}

/// `HELP` lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(HTTP_REQUESTS, "Requests answered, by kind, route template, method and status");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer a request (to its headers), by kind and route");
    describe_counter!(UPSTREAM_CALLS, "Upstream calls answered, by operation and outcome (ok or the answer's code)");
    describe_histogram!(UPSTREAM_DURATION, Unit::Seconds, "Time from an upstream call's turn to its answer");
    describe_counter!(UPSTREAM_THROTTLES, "Throttling answers from upstream, by operation");
    describe_counter!(UPSTREAM_HELD_BACK, "Calls the limiter did not send because their turn was too far away");
    describe_histogram!(LIMITER_WAIT, Unit::Seconds, "Time a call waited for its turn in the limiter");
    describe_gauge!(POLLERS, "Pollers running: shared watchers of executions and lists, followed log streams");
    describe_gauge!(SSE_CLIENTS, "Live streams open");
    describe_gauge!(CACHE_ENTRIES, "Entries of each bounded cache");
    describe_gauge!(CACHE_FINISHED_STEPS, "Steps held by the cache of finished executions");
    describe_gauge!(CACHE_DEFINITION_BYTES, Unit::Bytes, "Bytes of pipeline definitions held");
    describe_counter!(ACTIVITY_WRITES, "Records appended to the activity log, by action and result");
    describe_gauge!(CLUSTER_LEASES, "Live views this replica polls for the others (0 when it runs alone)");
    describe_gauge!(CLUSTER_REPLICAS, "Replicas alive on the shared PostgreSQL, this one included");
    describe_gauge!(CLUSTER_BUDGET_SHARE, "This replica's part of the account's request budget");
    describe_counter!(NOTIFY_EVENTS, "Notification events written to the outbox, by kind and source");
    describe_counter!(NOTIFY_DELIVERIES, "Notification attempts, by channel kind and outcome");
    describe_counter!(NOTIFY_QUEUE_MESSAGES, "Messages read from the events queue, by outcome");
    describe_gauge!(NOTIFY_OUTBOX_DEPTH, "Notifications not yet sent");
    describe_gauge!(NOTIFY_OUTBOX_OLDEST, Unit::Seconds, "Age of the oldest notification not yet sent");
    describe_gauge!(BUILD_INFO, "Always 1, labelled with the version that runs");
}

/// The gauges, read from the state of every account and region shown, summed.
fn gauges(places: &[AppState]) {
    let mut entries: Vec<(&'static str, f64)> = Vec::new();
    let (mut pollers, mut followed_all, mut finished_steps, mut definition_bytes, mut leases) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    for state in places {
        let s = state.watchers.sizes();
        let (jobs, job_streams, log_buffers, followed) = state.books.sizes();
        pollers += s.pollers as f64;
        followed_all += followed as f64;
        finished_steps += s.finished_steps as f64;
        definition_bytes += s.definition_bytes as f64;
        leases += state.watchers.cluster().map_or(0, |c| c.leases()) as f64;
        let these = [
            ("finished", s.finished as f64),
            ("views", s.views as f64),
            ("pipelines", s.pipelines as f64),
            ("listings", s.listings as f64),
            ("listed_executions", s.listed_executions as f64),
            ("parameters", s.parameters as f64),
            ("definitions", s.definitions as f64),
            ("ends", s.ends as f64),
            ("missing", s.missing as f64),
            ("jobs", jobs as f64),
            ("job_streams", job_streams as f64),
            ("log_buffers", log_buffers as f64),
        ];
        for (cache, n) in these {
            match entries.iter_mut().find(|(c, _)| *c == cache) {
                Some((_, total)) => *total += n,
                None => entries.push((cache, n)),
            }
        }
    }
    metrics::gauge!(POLLERS, "kind" => "views").set(pollers);
    metrics::gauge!(POLLERS, "kind" => "log_streams").set(followed_all);
    // One set of streams for every place.
    metrics::gauge!(SSE_CLIENTS).set(places.first().map_or(0, |s| s.streams.open()) as f64);
    for (cache, n) in entries {
        metrics::gauge!(CACHE_ENTRIES, "cache" => cache).set(n);
    }
    metrics::gauge!(CACHE_FINISHED_STEPS).set(finished_steps);
    metrics::gauge!(CACHE_DEFINITION_BYTES).set(definition_bytes);
    metrics::gauge!(CLUSTER_LEASES).set(leases);
}

pub async fn metrics(State(places): State<crate::state::Places>) -> Response {
    let Some(handle) = HANDLE.get() else {
        return (StatusCode::NOT_FOUND, "This process does not collect metrics.").into_response();
    };
    gauges(&places);
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
