//! Server functions of the model registry and the inbox: their pages' data and a reviewer's decision.
//! Each is one call into `stepline_core::registry_queries` or `inbox_queries`; the decision's form works
//! without JavaScript.

use leptos::prelude::*;

use stepline_types::error::AppError;
use stepline_types::page::{ModelGroupPage, ModelsPage};

#[server(prefix = "/api", endpoint = "models", input = leptos::server_fn::codec::Json)]
pub async fn list_models() -> Result<ModelsPage, AppError> {
    stepline_types::error::answer(stepline_core::registry_queries::models().await)
}

#[server(prefix = "/api", endpoint = "model_group", input = leptos::server_fn::codec::Json)]
pub async fn get_model_group(name: String) -> Result<ModelGroupPage, AppError> {
    stepline_types::error::answer(stepline_core::registry_queries::model_group(&name).await)
}

/// Approve or reject a version (`verdict`: approve or reject; a rejection needs a comment); back to the
/// group's page, which shows the decision, or to the inbox when decided there (`back`: "inbox").
#[server(prefix = "/api", endpoint = "decide_model")]
pub async fn decide_model(
    group: String,
    arn: String,
    verdict: String,
    comment: String,
    back: Option<String>,
) -> Result<String, AppError> {
    use stepline_types::inbox::Back;
    use stepline_types::model::links;
    use stepline_types::model::registry::Verdict;
    let page = match Back::of(back.as_deref()) {
        Back::Inbox => stepline_types::base::href("/inbox"),
        Back::Page => links::model_group(&group),
    };
    let nonce = chrono::Utc::now().timestamp_millis();
    let result = async {
        let v: Verdict = verdict.parse().map_err(|_| AppError::Invalid("Approve or reject: nothing else.".into()))?;
        stepline_core::registry_queries::decide(&group, &arn, v, &comment).await?;
        Ok(format!("{page}?decided={v}&at={nonce}"))
    }
    .await;
    crate::actions::server::finish(result, |e| format!("{page}?error={}&at={nonce}", e.notice_code())).await
}

/// What waits for the person, in every place.
#[server(prefix = "/api", endpoint = "inbox", input = leptos::server_fn::codec::Json)]
pub async fn get_inbox() -> Result<stepline_types::inbox::InboxPage, AppError> {
    stepline_types::error::answer(stepline_core::inbox_queries::inbox().await)
}

/// How many things wait for the person (the top bar), from what is kept: never waits for SageMaker.
#[server(prefix = "/api", endpoint = "inbox_count", input = leptos::server_fn::codec::Json)]
pub async fn inbox_count() -> Result<Option<usize>, AppError> {
    stepline_types::error::answer(stepline_core::inbox_queries::count().await)
}
