//! Server functions of the model registry: its pages' data and a reviewer's decision. Each is one call into
//! `stepline_core::registry_queries`; the decision's form works without JavaScript.

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
/// group's page, which shows the decision.
#[server(prefix = "/api", endpoint = "decide_model")]
pub async fn decide_model(group: String, arn: String, verdict: String, comment: String) -> Result<String, AppError> {
    use stepline_types::model::links;
    use stepline_types::model::registry::Verdict;
    let page = links::model_group(&group);
    let nonce = chrono::Utc::now().timestamp_millis();
    let result = async {
        let v: Verdict = verdict.parse().map_err(|_| AppError::Invalid("Approve or reject: nothing else.".into()))?;
        stepline_core::registry_queries::decide(&group, &arn, v, &comment).await?;
        Ok(format!("{page}?decided={v}&at={nonce}"))
    }
    .await;
    crate::actions::server::finish(result, |e| format!("{page}?error={}&at={nonce}", e.notice_code())).await
}
