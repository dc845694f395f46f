use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::layout::timefmt;

/// An absolute timestamp in UTC with a relative hint; the machine-readable time is in `datetime`.
#[component]
pub fn Timestamp(at: Option<DateTime<Utc>>, #[prop(optional)] now: Option<DateTime<Utc>>) -> impl IntoView {
    match at {
        None => view! { <span class="muted">"—"</span> }.into_any(),
        Some(t) => {
            let hint = timefmt::relative(t, now.unwrap_or_else(Utc::now));
            view! {
                <time datetime=t.to_rfc3339() title=hint.clone()>{timefmt::absolute(t)}</time>
                <span class="hint">{format!(" · {hint}")}</span>
            }
            .into_any()
        }
    }
}
