//! What each page's server function answers, assembled on the server from the shared watchers and the
//! gateway. The server functions in `crate::api` are one line each and call these.

use crate::api::{
    parse_when, ExecutionPage, ExecutionRow, ExecutionsPage, ListQuery, PipelinesPage, SourceExecution, StartPageData,
};
use crate::error::{AppError, Subject};
use crate::model::PipelineDetail;
use crate::server::stale::Known;
use crate::server::state::{enter, AppState};
use crate::server::{events, watch};

/// A pipeline's description, by a name from a URL: a malformed name is as unknown as a missing one.
async fn pipeline_detail(state: &AppState, pipeline: &str) -> Result<Known<PipelineDetail>, AppError> {
    if !events::valid_name(pipeline) {
        return Err(AppError::not_found(Subject::Pipeline(pipeline)));
    }
    state.watchers.pipeline(pipeline).await.map_err(|e| AppError::from_upstream(e, Subject::Pipeline(pipeline)))
}

/// The ARN of execution `id` of `pipeline`, both from a URL.
pub(crate) async fn execution_arn(state: &AppState, pipeline: &str, id: &str) -> Result<String, AppError> {
    let what = Subject::Execution { pipeline, id };
    if !events::valid_name(pipeline) || !events::valid_id(id) {
        return Err(AppError::not_found(what));
    }
    state.gateway.execution_arn(pipeline, id).await.map_err(|e| AppError::from_upstream(e, what))
}

/// The pipelines page: every pipeline with its newest execution.
pub async fn pipelines() -> Result<PipelinesPage, AppError> {
    let (state, _who) = enter().await?;
    let known = state.watchers.home().await.map_err(AppError::Upstream)?;
    let freshness = known.freshness();
    Ok(PipelinesPage { rows: known.value, backend: state.gateway.backend.clone(), freshness })
}

/// One page of a pipeline's executions, filtered and sorted as the query says.
pub async fn executions(pipeline: &str, query: &ListQuery) -> Result<ExecutionsPage, AppError> {
    use crate::model::ExecStatus;
    let (state, _who) = enter().await?;
    let known = pipeline_detail(&state, pipeline).await?;
    let mut freshness = known.freshness();
    let detail = known.value;
    let mut statuses = vec![];
    for s in &query.statuses {
        let st = ExecStatus::parse(s);
        if matches!(st, ExecStatus::Other(_)) {
            return Err(AppError::Invalid(format!(
                "status: '{}' is not an execution status",
                crate::text::clip(s, 40)
            )));
        }
        statuses.push(st);
    }
    // A time bound of the filter, named as the URL names it.
    let bound = |field: &str, text: &Option<String>| {
        text.as_deref().filter(|s| !s.is_empty()).map(|s| parse_when(field, s)).transpose().map_err(AppError::Invalid)
    };
    let filter = watch::ListFilter {
        statuses,
        after: bound("from", &query.after)?,
        before: bound("to", &query.before)?,
        oldest_first: query.oldest_first,
    };
    let size = query.size.unwrap_or(50).clamp(1, 200);
    let listed = state
        .watchers
        .executions_page(&detail.summary.name, &filter, query.cursor.as_deref(), size)
        .await
        .map_err(|e| AppError::from_upstream(e, Subject::Pipeline(pipeline)))?;
    freshness = freshness.and(listed.freshness());
    let watch::ListedPage { page, next: next_cursor, total_matching, coverage } = listed.value;
    let total = coverage.scanned;
    let parameter_names: Vec<String> = stepline_definition::parse(&detail.definition)
        .map(|d| d.parameters.iter().map(|p| p.name.clone()).collect())
        .unwrap_or_default();
    let columns: Vec<String> = query.params.iter().filter(|p| parameter_names.contains(p)).cloned().collect();
    let extras = futures::future::join_all(
        page.iter().map(|e| state.watchers.row_extras(&e.arn, e.status.is_terminal(), !columns.is_empty())),
    )
    .await;
    let rows = page
        .into_iter()
        .zip(extras)
        .map(|(summary, (end, params))| ExecutionRow {
            end: if summary.status.is_terminal() { end } else { None },
            params: columns.iter().map(|c| params.iter().find(|p| &p.name == c).map(|p| p.value.clone())).collect(),
            summary,
        })
        .collect();
    Ok(ExecutionsPage {
        pipeline: detail.summary,
        rows,
        next_cursor,
        total_matching,
        total,
        parameter_names,
        freshness,
        coverage,
    })
}

/// One execution: its snapshot and the definition it runs with.
pub async fn execution(pipeline: &str, id: &str) -> Result<ExecutionPage, AppError> {
    let (state, _who) = enter().await?;
    let what = Subject::Execution { pipeline, id };
    let arn = execution_arn(&state, pipeline, id).await?;
    let known = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
    let definition = state.watchers.definition(&arn).await;
    let view = (*known.value).clone();
    let studio = state
        .studio_link
        .as_deref()
        .map(|template| crate::console::studio_link(template, &view.execution.pipeline_name, &view.execution.id));
    Ok(ExecutionPage { view, definition, freshness: known.freshness(), studio })
}

/// What the start form needs: the pipeline and, for a re-run, the source execution.
pub async fn start_context(pipeline: &str, from: Option<&str>) -> Result<StartPageData, AppError> {
    use crate::model::StepStatus;
    let (state, _who) = enter().await?;
    // The form is built from a description at most a few seconds old; the submission is checked against
    // a fresh one (actions::start_inner).
    let known = pipeline_detail(&state, pipeline).await?;
    let mut freshness = known.freshness();
    let detail = known.value;
    let source = match from.filter(|f| !f.is_empty()) {
        None => None,
        Some(id) => {
            let what = Subject::Execution { pipeline, id };
            let arn = execution_arn(&state, &detail.summary.name, id).await?;
            let known = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
            freshness = freshness.and(known.freshness());
            let view = known.value;
            let steps = view.steps.clone().unwrap_or_default();
            let names = |want: &dyn Fn(&StepStatus) -> bool| {
                steps.iter().filter(|s| want(&s.status)).map(|s| s.name.clone()).collect::<Vec<_>>()
            };
            Some(SourceExecution {
                id: id.to_string(),
                arn: arn.clone(),
                display_name: view.execution.display_name.clone(),
                status: view.execution.status.clone(),
                parameters: view.parameters.clone().unwrap_or_default(),
                failed_steps: names(&|s| matches!(s, StepStatus::Failed | StepStatus::Stopped)),
                succeeded_steps: names(&|s| *s == StepStatus::Succeeded),
            })
        }
    };
    Ok(StartPageData { pipeline: detail, source, freshness })
}
