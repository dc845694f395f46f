//! Server functions of personal subscriptions: what a person may subscribe with here, subscribing (a
//! pipeline, or an execution's end) and removing one. Each is one call into
//! `stepline_core::subscribe_queries`; the forms work without JavaScript.

use leptos::prelude::*;

use stepline_types::error::AppError;
use stepline_types::subscriptions::PersonalOptions;

/// What the person may subscribe with on this pipeline's (or execution's) page, and what they already have.
#[server(prefix = "/api", endpoint = "subscription_options", input = leptos::server_fn::codec::Json)]
pub async fn subscription_options(pipeline: String, execution_id: Option<String>) -> Result<PersonalOptions, AppError> {
    stepline_types::error::answer(stepline_core::subscribe_queries::options(&pipeline, execution_id.as_deref()).await)
}

/// The page a subscription form came from: the execution's, else the pipeline's.
#[cfg(feature = "ssr")]
fn page_of(pipeline: &str, execution_id: &str) -> String {
    use stepline_types::model::links;
    match execution_id {
        "" => links::pipeline(pipeline),
        id => links::execution(pipeline, id),
    }
}

/// Subscribe to a pipeline (`watch`: what to be told of it) or to an execution's end (`execution_id`); back
/// to that page, which lists it.
#[server(prefix = "/api", endpoint = "subscribe")]
pub async fn subscribe(
    pipeline: String,
    execution_id: String,
    target: String,
    url: String,
    watch: String,
) -> Result<String, AppError> {
    use stepline_core::subscribe_queries::Asked;
    let page = page_of(&pipeline, execution_id.trim());
    let nonce = chrono::Utc::now().timestamp_millis();
    let asked = Asked { pipeline: &pipeline, execution_id: &execution_id, target: &target, url: &url, watch: &watch };
    let result =
        stepline_core::subscribe_queries::subscribe(&asked).await.map(|_| format!("{page}?subscribed={nonce}"));
    crate::actions::server::finish(result, |e| format!("{page}?error={}", e.notice_code())).await
}

/// Remove a subscription; back to the page it was removed from (`from`: "notifications", else the
/// subscription's own pipeline or execution page).
#[server(prefix = "/api", endpoint = "unsubscribe")]
pub async fn unsubscribe(id: String, from: String) -> Result<String, AppError> {
    let notifications = || stepline_types::base::href("/notifications");
    let nonce = chrono::Utc::now().timestamp_millis();
    let result = async {
        let id: i64 =
            id.trim().parse().map_err(|_| AppError::Invalid("That is not a subscription's number.".into()))?;
        let s = stepline_core::subscribe_queries::unsubscribe(id).await?;
        let page = match from.as_str() {
            "notifications" => notifications(),
            _ => page_of(&s.pipeline, s.execution_id.as_deref().unwrap_or_default()),
        };
        Ok(format!("{page}?unsubscribed={nonce}"))
    }
    .await;
    crate::actions::server::finish(result, |e| format!("{}?error={}", notifications(), e.notice_code())).await
}
