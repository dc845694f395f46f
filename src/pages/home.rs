use leptos::prelude::*;
use leptos_meta::Title;

/// The landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Pipelines"/>
        <h1>"Pipelines"</h1>
        <p class="lede">"Stepline shows SageMaker Pipelines executions: step timelines, failure reasons and re-runs."</p>
    }
}
