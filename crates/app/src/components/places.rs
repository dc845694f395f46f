//! The top bar's place switch, when Stepline shows several AWS accounts or regions: where this page is,
//! and the same kind of page elsewhere. Links between places are whole page loads: each place is its own
//! router base, with its own server functions and streams.

use leptos::prelude::*;

#[component]
pub fn PlaceSwitch() -> impl IntoView {
    let places = stepline_types::base::places();
    let here = stepline_types::base::get();
    (!places.is_empty()).then(|| {
        view! {
            <nav class="places" aria-label="Accounts and regions" data-testid="places">
                {places
                    .iter()
                    .map(|p| {
                        let current = (p.base == here).then_some("page");
                        // The place's home, as a link outside this router's base (a whole page load).
                        let to = if p.base.is_empty() { "/".to_string() } else { p.base.clone() };
                        view! {
                            <a href=to rel="external" aria-current=current data-testid="place">{p.label.clone()}</a>
                        }
                    })
                    .collect_view()}
            </nav>
        }
    })
}
