//! Stepline's browser bundle: `hydrate` attaches the reactive system to the HTML the server rendered.
//! Built for `wasm32-unknown-unknown` with the `hydrate` feature (by cargo-leptos); without it the crate is
//! empty, so a workspace build on the server never compiles the app for the browser.

#[cfg(feature = "hydrate")]
use stepline_types::base;

#[cfg(feature = "hydrate")]
/// Browser entry point: attach the reactive system to the HTML the server rendered.
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
    leptos::mount::hydrate_body(stepline_app::app::App);
    // A marker that tests (and curious people) can read: the page is interactive from here on.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
