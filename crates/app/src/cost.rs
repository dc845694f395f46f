//! The server function of cost estimates: one call into `stepline_core::cost_queries`.

use leptos::prelude::*;

use stepline_types::cost::ExecutionCost;
use stepline_types::error::AppError;

/// What `pipeline`'s execution `id` cost, estimated, step by step.
#[server(prefix = "/api", endpoint = "execution_cost", input = leptos::server_fn::codec::Json)]
pub async fn get_execution_cost(pipeline: String, id: String) -> Result<ExecutionCost, AppError> {
    stepline_types::error::answer(stepline_core::cost_queries::execution_cost(&pipeline, &id).await)
}

/// `pipeline`'s cost trend: its newest finished runs' estimates, and sums by day and week.
#[server(prefix = "/api", endpoint = "pipeline_costs", input = leptos::server_fn::codec::Json)]
pub async fn get_pipeline_costs(pipeline: String) -> Result<stepline_types::cost::trend::PipelineCosts, AppError> {
    stepline_types::error::answer(stepline_core::cost_queries::pipeline_costs(&pipeline).await)
}
