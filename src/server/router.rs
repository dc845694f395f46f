//! The axum router: Leptos pages, server functions, live streams and static files. Built by a function so
//! tests drive it with `tower::ServiceExt::oneshot` without opening a socket.

use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use super::config::Config;
use super::events;
use super::state::AppState;
use crate::app::{shell, App};

/// Leptos settings: from cargo-leptos's environment when it launched us, else defaults that match
/// `[package.metadata.leptos]` so the binary also runs on its own.
pub fn leptos_options(config: &Config) -> Result<LeptosOptions, String> {
    let conf = get_configuration(None).map_err(|e| format!("leptos configuration: {e}"))?;
    let mut options = conf.leptos_options;
    options.site_addr = config.addr;
    Ok(options)
}

pub async fn build(state: AppState) -> Router {
    let routes = generate_route_list(App);
    Router::new()
        .route("/events/pipelines/{pipeline}/executions", get(events::list))
        .route("/events/pipelines/{pipeline}/executions/{id}", get(events::execution))
        .route("/healthz", get(|| async { "ok" }))
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(pasted_arn_redirect))
        // gzip or brotli for pages, JS, CSS and wasm; the default predicate leaves event streams alone.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// A pipeline or execution ARN pasted into the search box of `/` is answered with a redirect to its page
/// before anything renders, so the search works without JavaScript (with it, the page navigates itself).
async fn pasted_arn_redirect(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{header::LOCATION, HeaderValue, StatusCode};
    use axum::response::IntoResponse;
    if req.uri().path() == "/" {
        let query = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(req.uri()).ok();
        let to = query.and_then(|q| q.0.get("q").and_then(|q| crate::pages::home::redirect_for(q)));
        if let Some(location) = to.and_then(|to| HeaderValue::from_str(&to).ok()) {
            return (StatusCode::FOUND, [(LOCATION, location)]).into_response();
        }
    }
    next.run(req).await
}
