//! Server functions: the browser's (and the server renderer's) way to data. Each is one call into
//! `stepline_core::queries` (on the server), answered as the page data types of `stepline_types::page`.

use leptos::prelude::*;

use stepline_types::error::AppError;
use stepline_types::page::*;

#[server(prefix = "/api", endpoint = "pipelines", input = leptos::server_fn::codec::Json)]
pub async fn list_pipelines() -> Result<PipelinesPage, AppError> {
    stepline_types::error::answer(stepline_core::queries::pipelines().await)
}

#[server(prefix = "/api", endpoint = "executions", input = leptos::server_fn::codec::Json)]
pub async fn list_executions(pipeline: String, query: ListQuery) -> Result<ExecutionsPage, AppError> {
    stepline_types::error::answer(stepline_core::queries::executions(&pipeline, &query).await)
}

#[server(prefix = "/api", endpoint = "execution", input = leptos::server_fn::codec::Json)]
pub async fn get_execution(pipeline: String, id: String) -> Result<ExecutionPage, AppError> {
    stepline_types::error::answer(stepline_core::queries::execution(&pipeline, &id).await)
}

#[server(prefix = "/api", endpoint = "start_context", input = leptos::server_fn::codec::Json)]
pub async fn start_context(
    pipeline: String,
    from: Option<String>,
    version: Option<stepline_types::model::version::Pick>,
) -> Result<StartPageData, AppError> {
    stepline_types::error::answer(stepline_core::queries::start_context(&pipeline, from.as_deref(), version).await)
}

#[server(prefix = "/api", endpoint = "definition_diff", input = leptos::server_fn::codec::Json)]
pub async fn definition_diff(
    pipeline: String,
    id: String,
    against: Option<String>,
) -> Result<DefinitionDiffPage, AppError> {
    stepline_types::error::answer(stepline_core::queries::definition_diff(&pipeline, &id, against.as_deref()).await)
}

/// The job a step started, described (None for a step without one).
#[server(prefix = "/api", endpoint = "step_job", input = leptos::server_fn::codec::Json)]
pub async fn step_job(
    pipeline: String,
    id: String,
    step: String,
) -> Result<Option<stepline_types::model::jobs::JobDetail>, AppError> {
    stepline_types::error::answer(stepline_core::step_queries::job(&pipeline, &id, &step).await)
}

/// The logs tab of a step: a stream's newest lines (or those before line `before`) and a search in it.
#[server(prefix = "/api", endpoint = "step_logs", input = leptos::server_fn::codec::Json)]
pub async fn step_logs(
    pipeline: String,
    id: String,
    step: String,
    stream: Option<String>,
    before: Option<u64>,
    query: Option<String>,
) -> Result<stepline_types::model::logs::LogsPage, AppError> {
    stepline_types::error::answer(
        stepline_core::step_queries::logs(&pipeline, &id, &step, stream.as_deref(), before, query.as_deref()).await,
    )
}

/// Up to `count` lines of a step's log stream before line `before` (the whole-log view pages with it).
#[server(prefix = "/api", endpoint = "log_lines", input = leptos::server_fn::codec::Json)]
pub async fn log_lines(
    pipeline: String,
    id: String,
    step: String,
    stream: String,
    before: u64,
    count: usize,
) -> Result<Vec<stepline_types::model::logs::LogLine>, AppError> {
    stepline_types::error::answer(
        stepline_core::step_queries::lines(&pipeline, &id, &step, &stream, before, count).await,
    )
}

/// The lines of a failed step's log that say why it failed.
#[server(prefix = "/api", endpoint = "failure_excerpt", input = leptos::server_fn::codec::Json)]
pub async fn failure_excerpt(
    pipeline: String,
    id: String,
    step: String,
) -> Result<Option<Vec<stepline_types::model::logs::LogLine>>, AppError> {
    stepline_types::error::answer(stepline_core::step_queries::failure_excerpt(&pipeline, &id, &step).await)
}

#[server(prefix = "/api", endpoint = "activity", input = leptos::server_fn::codec::Json)]
pub async fn activity_log(filter: stepline_types::model::activity::Filter) -> Result<ActivityData, AppError> {
    stepline_types::error::answer(stepline_core::queries::activity(&filter).await)
}

#[server(prefix = "/api", endpoint = "notifications", input = leptos::server_fn::codec::Json)]
pub async fn notifications() -> Result<NotificationsData, AppError> {
    stepline_types::error::answer(stepline_core::notify_queries::notifications().await)
}

/// Who is looking, and their role on `pipeline` (or everywhere): for the top bar.
#[server(prefix = "/api", endpoint = "whoami", input = leptos::server_fn::codec::Json)]
pub async fn whoami(pipeline: Option<String>) -> Result<stepline_types::model::access::Me, AppError> {
    stepline_types::error::answer(stepline_core::queries::whoami(pipeline.as_deref()).await)
}
