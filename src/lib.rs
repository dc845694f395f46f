//! Stepline: a web dashboard for Amazon SageMaker Pipelines executions. This crate is the server binary's
//! library: the router that serves every page, server function, stream and file, the demo's embedded
//! emulator, and `serve`, which reads the configuration and runs it all.
//!
//! Layout (imports run one way): this crate → `stepline-app` (pages, server functions) → `stepline-core`
//! (gateway, watchers, access, store, observability, queries) → `stepline-types` (domain and page data) →
//! `stepline-definition`. The browser's bundle is `stepline-frontend`. Tests and benches reach each crate's own
//! API: `stepline::{router, demo, serve}`, `stepline_core`, `stepline_app`, `stepline_types`.

pub mod demo;
mod events;
mod health;
pub mod router;
pub mod serve;
mod step_streams;
