//! The moment the whole page is hydrated. App-wide state that changes rendered text (the time zone choice,
//! say) must not change before then: a part of the page hydrated after the change adopts the server's text
//! while its signals already say otherwise, and keeps showing the stale text. Waiting for the moment keeps
//! that true however hydration is scheduled.

/// The DOM event the browser entry point dispatches on `window` once hydration is complete.
pub const HYDRATED_EVENT: &str = "stepline-hydrated";

/// Runs `f` once the page is hydrated: now if it already is, else when the entry point says so.
#[cfg(feature = "hydrate")]
pub fn after_hydration(f: impl FnOnce() + 'static) {
    use wasm_bindgen::{closure::Closure, JsCast};
    let document = leptos::prelude::document();
    if document.body().is_some_and(|b| b.has_attribute("data-hydrated")) {
        f();
        return;
    }
    let once = Closure::once_into_js(f);
    let _ = leptos::prelude::window().add_event_listener_with_callback(HYDRATED_EVENT, once.unchecked_ref());
}

/// Marks the page hydrated (the `data-hydrated` attribute that tests read) and tells those waiting.
#[cfg(feature = "hydrate")]
pub fn announce_hydrated() {
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
    if let Ok(event) = web_sys::Event::new(HYDRATED_EVENT) {
        let _ = leptos::prelude::window().dispatch_event(&event);
    }
}
