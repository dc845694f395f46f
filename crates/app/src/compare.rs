//! The server function of the compare page: one call into `stepline_core::compare_queries`.

use leptos::prelude::*;

use stepline_types::compare::ComparePage;
use stepline_types::error::AppError;

/// Executions `ids` of `pipeline` side by side; with one id and `against` ("previous" or "success"), that
/// execution and the one to compare it with.
#[server(prefix = "/api", endpoint = "compare", input = leptos::server_fn::codec::Json)]
pub async fn get_compare(pipeline: String, ids: Vec<String>, against: Option<String>) -> Result<ComparePage, AppError> {
    let against = match against.as_deref().map(str::parse::<stepline_types::compare::Against>) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => {
            return Err(AppError::Invalid("Compare with the previous execution or the last success.".into()))
        }
    };
    stepline_types::error::answer(stepline_core::compare_queries::compare(&pipeline, &ids, against).await)
}
