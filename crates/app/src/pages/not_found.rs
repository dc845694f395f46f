use leptos::prelude::*;
use leptos_meta::Title;

/// The page for a path that matches no route. Answers with HTTP 404 on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <section class="empty-state">
            <h1>"Not found"</h1>
            <p>"No page lives at this address."</p>
            <p><a href=stepline_types::base::href("/")>"Back to the pipelines"</a></p>
        </section>
    }
}
