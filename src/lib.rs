//! Stepline: a web dashboard for Amazon SageMaker Pipelines executions. This crate is the server binary's
//! library: the router that serves every page, server function, stream and file, the demo's embedded
//! emulator, and `serve`, which reads the configuration and runs it all.
//!
//! Layout (imports run one way): this crate → `stepline-app` (pages, server functions) → `stepline-core`
//! (gateway, watchers, access, store, observability, queries) → `stepline-types` (domain and page data) →
//! `stepline-definition`. The browser's bundle is `stepline-frontend`.

pub mod demo;
pub mod events;
pub mod health;
pub mod router;
pub mod serve;
pub mod step_streams;

/// The server's parts, as tests and benches reach them.
pub mod server {
    pub use crate::{demo, router};
    pub use stepline_core::*;
}
pub use stepline_app::{actions, app};
/// The server functions and the page data they answer.
pub mod api {
    pub use stepline_app::api::*;
    pub use stepline_types::page::*;
}
pub use stepline_types::{base, diff, error, forms, model};
