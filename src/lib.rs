#![recursion_limit = "512"]
//! Stepline: a web dashboard for Amazon SageMaker Pipelines executions.
//!
//! One crate serves both sides of the application: built with the `ssr` feature it is the axum server
//! (server functions, the SageMaker gateway, the embedded emulator); built with `hydrate` for
//! `wasm32-unknown-unknown` it is the browser bundle that hydrates the server-rendered pages.

pub mod actions;
pub mod api;
pub mod app;
pub mod base;
pub(crate) mod codec;
pub mod components;
pub(crate) mod console;
pub mod diff;
pub mod error;
pub mod forms;
pub(crate) mod layout;
pub mod model;
pub(crate) mod pages;
pub(crate) mod text;

#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point: attach the reactive system to the HTML the server rendered.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The base path the server rendered under (see `base`): links, server functions and streams use it.
    let meta = |name: &str| {
        leptos::prelude::document()
            .query_selector(&format!("meta[name={name}]"))
            .ok()
            .flatten()
            .and_then(|m| m.get_attribute("content"))
            .unwrap_or_default()
    };
    let base = meta(base::META);
    base::set(&meta(base::ROOT_META), &base);
    base::set_places(serde_json::from_str(&meta(base::PLACES_META)).unwrap_or_default());
    if !base.is_empty() {
        leptos::server_fn::client::set_server_url(Box::leak(base.into_boxed_str()));
    }
    leptos::mount::hydrate_body(app::App);
    // A marker that tests (and curious people) can read: the page is interactive from here on.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
