//! Live updates over Server-Sent Events. Without JavaScript nothing here runs and pages stay as rendered.

use leptos::prelude::*;
use stepline_types::live::StreamEvent;

/// The state of a page's live channel, shown to the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Rendered on the server; the browser has not connected (yet, or at all without JavaScript).
    Static,
    Connecting,
    Live,
    /// The connection dropped; the browser retries by itself.
    Lost,
    /// Nothing more will change (a finished execution).
    Done,
}

impl Link {
    pub fn label(self) -> &'static str {
        match self {
            Link::Static => "not live",
            Link::Connecting => "connecting…",
            Link::Live => "live",
            Link::Lost => "connection lost, reconnecting…",
            Link::Done => "finished",
        }
    }
}

/// Open an EventSource on `url` after hydration and call `on_event(event, data)` for each of `events`. The
/// `end` event closes the stream for good.
pub fn use_event_source(
    url: String,
    events: &'static [StreamEvent],
    on_event: impl Fn(StreamEvent, String) + 'static,
) -> RwSignal<Link> {
    let state = RwSignal::new(Link::Static);
    #[cfg(feature = "hydrate")]
    {
        use std::rc::Rc;
        use wasm_bindgen::prelude::*;
        use wasm_bindgen::JsCast;
        let on_event = Rc::new(on_event);
        Effect::new(move |_| {
            let Ok(es) = web_sys::EventSource::new(&url) else {
                state.set(Link::Lost);
                return;
            };
            state.set(Link::Connecting);
            let open = Closure::<dyn FnMut()>::new(move || state.set(Link::Live));
            es.set_onopen(Some(open.as_ref().unchecked_ref()));
            open.forget();
            let err = Closure::<dyn FnMut()>::new(move || {
                if state.get_untracked() != Link::Done {
                    state.set(Link::Lost);
                }
            });
            es.set_onerror(Some(err.as_ref().unchecked_ref()));
            err.forget();
            for &event in events {
                let on_event = on_event.clone();
                let cb = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                    state.set(Link::Live);
                    if let Some(data) = e.data().as_string() {
                        on_event(event, data);
                    }
                });
                let _ = es.add_event_listener_with_callback(event.name(), cb.as_ref().unchecked_ref());
                cb.forget();
            }
            let es_end = es.clone();
            let end = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_e: web_sys::MessageEvent| {
                state.set(Link::Done);
                es_end.close();
            });
            let _ = es.add_event_listener_with_callback(StreamEvent::End.name(), end.as_ref().unchecked_ref());
            end.forget();
            let es = StoredValue::new_local(es);
            on_cleanup(move || es.with_value(|es| es.close()));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (url, events, on_event);
    }
    state
}

/// A small indicator of the live channel's state. While the server cannot refresh what the page shows,
/// it says so instead of "live": "paused — SageMaker is throttling (…); retrying in 20 s".
#[component]
pub fn LiveIndicator(
    state: RwSignal<Link>,
    #[prop(into)] freshness: Signal<stepline_types::model::Freshness>,
) -> impl IntoView {
    let paused = move || freshness.with(|f| f.notice()).filter(|_| state.get() != Link::Done);
    view! {
        <span
            class=move || if paused().is_some() { "live live-paused".to_string() } else { format!("live live-{:?}", state.get()).to_lowercase() }
            data-testid="live-state"
        >
            {move || match paused() {
                Some(why) => format!("paused — {why}"),
                None => state.get().label().to_string(),
            }}
        </span>
    }
}
