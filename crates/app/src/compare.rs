//! The server function of the compare page: one call into `stepline_core::compare_queries`.

use leptos::prelude::*;

use stepline_types::compare::ComparePage;
use stepline_types::error::AppError;

/// Executions `ids` of `pipeline` side by side; with one id and `against` ("previous" or "success"), that
/// execution and the one to compare it with; `logs_of`: a step whose logs to put side by side.
#[server(prefix = "/api", endpoint = "compare", input = leptos::server_fn::codec::Json)]
pub async fn get_compare(
    pipeline: String,
    ids: Vec<String>,
    against: Option<String>,
    logs_of: Option<String>,
) -> Result<ComparePage, AppError> {
    let against = match against.as_deref().map(str::parse::<stepline_types::compare::Against>) {
        None => None,
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => {
            return Err(AppError::Invalid("Compare with the previous execution or the last success.".into()))
        }
    };
    let logs_of = logs_of.as_deref();
    stepline_types::error::answer(stepline_core::compare_queries::compare(&pipeline, &ids, against, logs_of).await)
}
