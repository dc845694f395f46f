//! Operating Stepline: its logs and its metrics.
//!
//! Logs go through `tracing` ([`logging`]): one line per request ([`requests`]), one per upstream call
//! ([`record::upstream_call`], from the limiter, which sees every call), and the server's own notices — text
//! for people or JSON for a collector, filtered as `RUST_LOG` says. Metrics go through the `metrics` facade
//! to a Prometheus recorder that the router renders at `/metrics` ([`prometheus`]).
//!
//! `metrics` (with `metrics-exporter-prometheus`, without its HTTP listener) rather than `prometheus-client`:
//! its macros reach the limiter, the store and the request layer without a registry passed through
//! constructors that the rest of the server shares, and they cost nothing where no recorder is installed
//! (tests, benchmarks, the library used on its own).
//!
//! Nothing secret is logged or labelled. Requests are named by their route's template, never by their path
//! (names, ids) or query (the login's code and state), and no request header is read: not the cookie
//! (session ids), not `Authorization`, not a proxy's identity headers. Upstream calls are named by operation
//! and answer code, never by their message, which can echo what was sent (a callback token). Metrics carry
//! no user name and no execution id.

pub mod logging;
pub mod prometheus;
pub mod record;
pub mod requests;

/// Requests answered, by kind, route template, method and status.
pub const HTTP_REQUESTS: &str = "stepline_http_requests_total";
/// Time to answer a request (to its headers: a stream's life is not counted), by kind and route template.
pub const HTTP_DURATION: &str = "stepline_http_request_duration_seconds";
/// Upstream calls answered, by operation and outcome (`ok` or the answer's code).
pub const UPSTREAM_CALLS: &str = "stepline_upstream_calls_total";
/// Time from a call's turn to its answer, by operation.
pub const UPSTREAM_DURATION: &str = "stepline_upstream_call_duration_seconds";
/// Throttling answers from upstream, by operation.
pub const UPSTREAM_THROTTLES: &str = "stepline_upstream_throttles_total";
/// Calls the limiter refused to send because their turn was too far away, by operation.
pub const UPSTREAM_HELD_BACK: &str = "stepline_upstream_held_back_total";
/// Time a call waited for its turn in the limiter, by operation.
pub const LIMITER_WAIT: &str = "stepline_limiter_wait_seconds";
/// Pollers running: shared watchers of executions and lists (`views`), followed log streams (`log_streams`).
pub const POLLERS: &str = "stepline_pollers";
/// Live streams (Server-Sent Events) open.
pub const SSE_CLIENTS: &str = "stepline_sse_clients";
/// Entries of each bounded cache, by cache.
pub const CACHE_ENTRIES: &str = "stepline_cache_entries";
/// Steps held by the cache of finished executions (its bound is in steps).
pub const CACHE_FINISHED_STEPS: &str = "stepline_cache_finished_steps";
/// Bytes of pipeline definitions held (their cache's bound is in bytes).
pub const CACHE_DEFINITION_BYTES: &str = "stepline_cache_definition_bytes";
/// Records appended to the activity log, by action and result (`ok`, `error`).
pub const ACTIVITY_WRITES: &str = "stepline_activity_writes_total";
/// Live views this replica polls for the others (PostgreSQL leases; 0 when it runs alone).
pub const CLUSTER_LEASES: &str = "stepline_cluster_leases";
/// Replicas alive on the shared PostgreSQL, this one included (absent when it runs alone).
pub const CLUSTER_REPLICAS: &str = "stepline_cluster_replicas";
/// This replica's part of the account's request budget (absent when it runs alone: all of it).
pub const CLUSTER_BUDGET_SHARE: &str = "stepline_cluster_budget_share";
/// Notification events written to the outbox, by kind and source (`poll`, `events`).
pub const NOTIFY_EVENTS: &str = "stepline_notify_events_total";
/// Notification attempts, by channel kind and outcome (`sent`, `retry`, `refused`).
pub const NOTIFY_DELIVERIES: &str = "stepline_notify_deliveries_total";
/// Messages read from the events queue, by outcome (`processed`, `ignored`, `kept`: read again later).
pub const NOTIFY_QUEUE_MESSAGES: &str = "stepline_notify_queue_messages_total";
/// Notifications not yet sent.
pub const NOTIFY_OUTBOX_DEPTH: &str = "stepline_notify_outbox_depth";
/// Age of the oldest notification not yet sent.
pub const NOTIFY_OUTBOX_OLDEST: &str = "stepline_notify_outbox_oldest_seconds";
/// Always 1, labelled with the version that runs.
pub const BUILD_INFO: &str = "stepline_build_info";

/// Every metric family `/metrics` exports.
pub const METRICS: &[&str] = &[
    HTTP_REQUESTS,
    HTTP_DURATION,
    UPSTREAM_CALLS,
    UPSTREAM_DURATION,
    UPSTREAM_THROTTLES,
    UPSTREAM_HELD_BACK,
    LIMITER_WAIT,
    POLLERS,
    SSE_CLIENTS,
    CACHE_ENTRIES,
    CACHE_FINISHED_STEPS,
    CACHE_DEFINITION_BYTES,
    ACTIVITY_WRITES,
    CLUSTER_LEASES,
    BUILD_INFO,
];
