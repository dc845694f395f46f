//! The top bar's link to the inbox, with how many things wait for the person (as last read for everybody:
//! asking never waits for SageMaker, see `stepline_core::inbox_queries::count`).

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::registry::inbox_count;
use stepline_types::codec::Json;

#[component]
pub fn InboxLink() -> impl IntoView {
    let location = use_location();
    // Asked again on each navigation (an answer given moves the person to another page).
    let count = Resource::<_, Json>::new_with_options(move || location.pathname.get(), |_| inbox_count(), false);
    let badge = move || {
        count.get().and_then(|c| c.ok().flatten()).filter(|n| *n > 0).map(|n| {
            view! { <span class="count-badge" data-testid="inbox-count" aria-label=format!("{n} waiting")>{n}</span> }
        })
    };
    view! {
        <A href=stepline_types::base::href("/inbox")>"Inbox"<Transition fallback=|| ()>{badge}</Transition></A>
    }
}
