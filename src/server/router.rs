//! The axum router: Leptos pages, server functions and static files. Built by a function so tests can
//! drive it with `tower::ServiceExt::oneshot` without opening a socket.

use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use super::config::Config;
use crate::app::{shell, App};

/// Leptos settings: from cargo-leptos's environment when it launched us, else sensible defaults that match
/// `[package.metadata.leptos]` so the binary also runs on its own.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let conf = get_configuration(None).map_err(|e| format!("leptos configuration: {e}"))?;
    let mut options = conf.leptos_options;
    options.site_addr = config.addr;
    Ok(options)
}

pub async fn build(leptos_options: LeptosOptions) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .leptos_routes(&leptos_options, routes, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(leptos_options)
}
