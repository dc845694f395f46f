//! Stepline's server core (server only): everything between the pages and SageMaker.
//!
//! Layout, from the foundations up (no two modules import each other, directly or in a circle: checked by
//! `scripts/check-layout.py`; below it all, `stepline-types`):
//! - `sync`: locks that outlive a panic; `config`: the command line and environment, checked;
//! - `observe`: logs and metrics; `store`: the database (activity log, sessions), `cluster`: replicas sharing
//!   one budget and their leases;
//! - `limiter`, `gateway`: every SageMaker, CloudWatch Logs and STS call, in a turn of the limiter
//!   (`gateway::acting`: calls made as the person, `--act-role`);
//! - `stale`, `reuse`, `scan`: kept values and their freshness, answers asked once, listings of executions;
//! - `watch`: the shared pollers and caches; `logbook`, `step_books`: log streams read once;
//! - `access`: who is asking and what they may do (the guard, the policy, logins); `places`: the accounts
//!   and regions shown; `streams`, `stream_guard`: live-stream caps and their ends;
//! - `state`: the one door to all of it for a request (`AppState`, `enter`);
//! - `queries`, `step_queries`, `notify_queries`, `subscribe_queries`, `registry_queries`, `exports`: what
//!   each page, server function and export answers;
//! - `health`, `assets`: readiness, static files' caching;
//! - `notify`: notifications (their settings, the polling source, each channel's message, the outbox's
//!   sender; the outbox is in `store`).
//!
//! What only this crate uses is private (`reuse`, `scan`, `stale`, `step_books`, `sync`, and inside `access` and
//! `store` the modules whose types they re-export); the rest is what the crates above reach. URLs from the
//! configuration are `http_url::HttpUrl`, parsed once. The HTTP handlers of streams, probes and downloads, and the router, are in the
//! `stepline` binary crate above this one; the pages and server functions in `stepline-app`.

pub mod access;
pub mod assets;
pub mod cluster;
pub mod compare_queries;
pub mod config;
pub mod cost_export;
pub mod cost_queries;
pub mod events_queue;
pub mod exports;
pub mod gateway;
pub mod health;
pub mod http_url;
pub mod inbox;
pub mod inbox_queries;
pub mod limiter;
pub mod logbook;
pub mod notify;
pub mod notify_queries;
pub mod observe;
pub mod places;
pub mod prices;
pub mod queries;
pub mod registry_queries;
mod reuse;
mod scan;
mod stale;
pub mod state;
mod step_books;
pub mod step_queries;
pub mod store;
pub mod stream_guard;
pub mod streams;
pub mod subscribe_queries;
mod sync;
pub mod watch;
