//! Timestamps: absolute (UTC, or the browser's local time when the user picks it) with a relative hint.

use chrono::{DateTime, FixedOffset, Utc};
use leptos::prelude::*;

use stepline_types::layout::timefmt;

/// Whether times show in UTC or in the browser's local zone. Provided once by the app; the choice is
/// kept in `localStorage`. The server always renders UTC; the browser switches after hydration.
#[derive(Clone, Copy)]
pub struct TimeZoneChoice(pub RwSignal<bool>);

impl TimeZoneChoice {
    pub fn provide() -> TimeZoneChoice {
        let local = RwSignal::new(false);
        #[cfg(feature = "hydrate")]
        Effect::new(move |first: Option<()>| {
            let storage = window().local_storage().ok().flatten();
            if first.is_none() {
                if let Some(v) = storage.as_ref().and_then(|s| s.get_item("stepline-tz").ok().flatten()) {
                    local.set(v == "local");
                }
            } else if let Some(s) = storage {
                let _ = s.set_item("stepline-tz", if local.get() { "local" } else { "utc" });
            }
            let _ = local.get();
        });
        let choice = TimeZoneChoice(local);
        provide_context(choice);
        choice
    }
}

/// The browser's UTC offset at instant `t` (None on the server).
fn local_offset(t: DateTime<Utc>) -> Option<FixedOffset> {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t.timestamp_millis() as f64));
        // getTimezoneOffset is minutes *behind* UTC.
        FixedOffset::west_opt((d.get_timezone_offset() * 60.0) as i32)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = t;
        None
    }
}

pub fn format_time(t: DateTime<Utc>, local: bool) -> String {
    match local.then(|| local_offset(t)).flatten() {
        Some(offset) => timefmt::at_offset(t, offset),
        None => timefmt::absolute(t),
    }
}

/// An absolute timestamp with a relative hint; the machine-readable time is in `datetime`.
#[component]
pub fn Timestamp(at: Option<DateTime<Utc>>, #[prop(optional)] now: Option<DateTime<Utc>>) -> impl IntoView {
    let local = use_context::<TimeZoneChoice>().map(|c| c.0);
    match at {
        None => view! { <span class="muted">"—"</span> }.into_any(),
        Some(t) => {
            let hint = timefmt::relative(t, now.unwrap_or_else(Utc::now));
            let text = move || format_time(t, local.map(|l| l.get()).unwrap_or(false));
            view! {
                <time datetime=t.to_rfc3339() title=hint.clone()>{text}</time>
                <span class="hint">{format!(" · {hint}")}</span>
            }
            .into_any()
        }
    }
}

/// The UTC / local switch in the top bar.
#[component]
pub fn TimeZoneToggle() -> impl IntoView {
    let choice = use_context::<TimeZoneChoice>();
    let local = choice.map(|c| c.0).unwrap_or_else(|| RwSignal::new(false));
    view! {
        <button type="button" class="tz-toggle" data-testid="tz-toggle" title="Show times in UTC or in your local time zone"
            on:click=move |_| local.update(|l| *l = !*l)>
            {move || if local.get() { "Times: local" } else { "Times: UTC" }}
        </button>
    }
}
