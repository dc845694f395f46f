use leptos::prelude::*;

use stepline_types::error::AppError;

/// An error shown where the data would have been (a view never loaded): its code, the service's own
/// message, and what to do about it.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let AppError::NotFound(_) = &error {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    let advice = match &error {
        AppError::Upstream(u) => Some(u.advice()),
        _ => None,
    };
    let (title, detail) = match &error {
        AppError::NotFound(what) => ("Not found".to_string(), format!("{what} was not found.")),
        AppError::Upstream(u) => (u.code.clone(), u.message.clone()),
        AppError::Refused(u) => (u.code.clone(), error.to_string()),
        AppError::Invalid(m) => ("Invalid request".to_string(), m.clone()),
        AppError::Form(errors) => {
            ("Invalid request".to_string(), errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" "))
        }
        AppError::Forbidden(m) => ("Not allowed".to_string(), m.clone()),
        AppError::Server(m) => ("Error".to_string(), m.clone()),
    };
    view! {
        <div class="error-panel" role="alert">
            <strong class="error-code">{title}</strong>
            <p class="error-message">{detail}</p>
            {advice.map(|a| view! { <p class="error-advice">{a}</p> })}
        </div>
    }
}
