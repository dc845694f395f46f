//! Saying how old a page's data is when SageMaker could not refresh it.

use leptos::prelude::*;

use crate::components::time::Timestamp;
use stepline_types::model::Freshness;

/// "As of 12:03:15 — SageMaker is throttling (…); retrying in 20 s", above data that could not be
/// refreshed. Nothing while the data is current. Rendered on the server, so it shows without JavaScript;
/// a live page updates it from its stream.
#[component]
pub fn StaleNotice(#[prop(into)] freshness: Signal<Freshness>) -> impl IntoView {
    move || {
        let f = freshness.get();
        f.notice().map(|notice| {
            view! {
                <p class="stale-notice" role="status" data-testid="stale-notice">
                    "As of "<Timestamp at=f.as_of/>" — "{notice}
                </p>
            }
        })
    }
}
