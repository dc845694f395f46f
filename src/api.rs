//! Server functions: the browser's (and the server renderer's) way to data. Each is thin: it learns who is
//! asking, asks the shared watchers or the gateway, and maps errors to [`AppError`].

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{ExecutionSummary, ExecutionView, PipelineDetail, PipelineSummary};

/// A row of the pipelines page: the pipeline and its newest execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineRow {
    pub pipeline: PipelineSummary,
    pub last: Option<ExecutionSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelinesPage {
    pub rows: Vec<PipelineRow>,
    pub backend: String,
}

/// The query of an executions list, as it stands in the URL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub statuses: Vec<String>,
    /// RFC 3339 or `YYYY-MM-DD`.
    pub after: Option<String>,
    pub before: Option<String>,
    pub oldest_first: bool,
    pub size: Option<usize>,
    pub cursor: Option<String>,
    /// Parameters to show as columns.
    pub params: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRow {
    pub summary: ExecutionSummary,
    /// When it finished (the last modification of a finished execution).
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    /// Values of the chosen parameter columns, in the order asked.
    pub params: Vec<Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionsPage {
    pub pipeline: PipelineDetail,
    pub rows: Vec<ExecutionRow>,
    pub next_cursor: Option<String>,
    pub total_matching: usize,
    pub total: usize,
    /// Parameter names of the pipeline's definition, for the column chooser.
    pub parameter_names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPage {
    pub view: ExecutionView,
    /// The definition the execution ran with, for the DAG and parameter defaults.
    pub definition: Result<String, crate::model::Upstream>,
}

pub const PAGE_SIZES: [usize; 4] = [25, 50, 100, 200];

/// Parse a date or timestamp from a filter field; the message names the field.
pub fn parse_when(field: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let t = text.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&chrono::Utc));
    }
    if let Some(d) = crate::layout::timefmt::parse_plain(t) {
        return Ok(d);
    }
    Err(format!(
        "{field}: '{}' is not a date like 2026-11-23 or 2026-11-23T08:00",
        t.chars().take(40).collect::<String>()
    ))
}

#[server(prefix = "/api", endpoint = "pipelines", input = leptos::server_fn::codec::Json)]
pub async fn list_pipelines() -> Result<PipelinesPage, AppError> {
    crate::error::answer(list_pipelines_inner().await)
}

#[cfg(feature = "ssr")]
async fn list_pipelines_inner() -> Result<PipelinesPage, AppError> {
    use crate::server::{identity, state::app_state};
    let _who = identity::current().await;
    let state = app_state()?;
    let pipelines = state.gateway.all_pipelines().await.map_err(AppError::Upstream)?;
    // The newest execution of each pipeline, asked for concurrently.
    let lasts =
        futures::future::join_all(pipelines.iter().map(|p| state.gateway.list_executions(&p.name, None, 1))).await;
    let rows = pipelines
        .into_iter()
        .zip(lasts)
        .map(|(pipeline, last)| PipelineRow { pipeline, last: last.ok().and_then(|p| p.items.into_iter().next()) })
        .collect();
    Ok(PipelinesPage { rows, backend: state.gateway.backend.clone() })
}

#[server(prefix = "/api", endpoint = "executions", input = leptos::server_fn::codec::Json)]
pub async fn list_executions(pipeline: String, query: ListQuery) -> Result<ExecutionsPage, AppError> {
    crate::error::answer(list_executions_inner(pipeline, query).await)
}

#[cfg(feature = "ssr")]
async fn list_executions_inner(pipeline: String, query: ListQuery) -> Result<ExecutionsPage, AppError> {
    use crate::model::ExecStatus;
    use crate::server::{identity, state::app_state, watch};
    let _who = identity::current().await;
    let state = app_state()?;
    if !crate::server::events::valid_name(&pipeline) {
        return Err(AppError::NotFound(format!("Pipeline '{}'", pipeline.chars().take(80).collect::<String>())));
    }
    let detail = state
        .watchers
        .pipeline(&pipeline)
        .await
        .map_err(|e| AppError::from_upstream(e, || format!("Pipeline '{pipeline}'")))?;
    let mut statuses = vec![];
    for s in &query.statuses {
        let st = ExecStatus::parse(s);
        if matches!(st, ExecStatus::Other(_)) {
            return Err(AppError::Invalid(format!(
                "status: '{}' is not an execution status",
                s.chars().take(40).collect::<String>()
            )));
        }
        statuses.push(st);
    }
    let filter = watch::ListFilter {
        statuses,
        after: query
            .after
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| parse_when("from", s))
            .transpose()
            .map_err(AppError::Invalid)?,
        before: query
            .before
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| parse_when("to", s))
            .transpose()
            .map_err(AppError::Invalid)?,
        oldest_first: query.oldest_first,
    };
    let size = query.size.unwrap_or(50).clamp(1, 200);
    let (items, _version) = state
        .watchers
        .executions(&detail.summary.name)
        .await
        .map_err(|e| AppError::from_upstream(e, || format!("Pipeline '{pipeline}'")))?;
    let total = items.len();
    let (page, next_cursor, total_matching) = watch::select(&items, &filter, query.cursor.as_deref(), size);
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
    Ok(ExecutionsPage { pipeline: detail, rows, next_cursor, total_matching, total, parameter_names })
}

#[server(prefix = "/api", endpoint = "execution", input = leptos::server_fn::codec::Json)]
pub async fn get_execution(pipeline: String, id: String) -> Result<ExecutionPage, AppError> {
    crate::error::answer(get_execution_inner(pipeline, id).await)
}

#[cfg(feature = "ssr")]
async fn get_execution_inner(pipeline: String, id: String) -> Result<ExecutionPage, AppError> {
    use crate::server::{events, identity, state::app_state};
    let _who = identity::current().await;
    let state = app_state()?;
    let what = || {
        format!(
            "Execution '{}' of pipeline '{}'",
            id.chars().take(64).collect::<String>(),
            pipeline.chars().take(80).collect::<String>()
        )
    };
    if !events::valid_name(&pipeline) || !events::valid_id(&id) {
        return Err(AppError::NotFound(what()));
    }
    let arn = state.gateway.execution_arn(&pipeline, &id).await.map_err(|e| AppError::from_upstream(e, what))?;
    let view = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
    let definition = state.watchers.definition(&arn).await;
    Ok(ExecutionPage { view: (*view).clone(), definition })
}

impl ListQuery {
    /// Read the query from URL pairs; repeated `status` and comma-separated values both work.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> ListQuery {
        let mut q = ListQuery::default();
        let split =
            |v: &str| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect::<Vec<_>>();
        for (k, v) in pairs {
            match k {
                "status" => q.statuses.extend(split(v)),
                "from" => q.after = Some(v.to_string()).filter(|s| !s.is_empty()),
                "to" => q.before = Some(v.to_string()).filter(|s| !s.is_empty()),
                "order" => q.oldest_first = v == "oldest",
                "size" => q.size = v.parse().ok(),
                "after" => q.cursor = Some(v.to_string()).filter(|s| !s.is_empty()),
                "cols" => q.params.extend(split(v)),
                _ => {}
            }
        }
        q.statuses.dedup();
        q.params.dedup();
        q
    }

    /// The URL of this view of `pipeline`'s executions, starting after `cursor`.
    pub fn href(&self, pipeline: &str, cursor: Option<&str>) -> String {
        let mut parts: Vec<String> = vec![];
        let enc = |s: &str| crate::model::links::seg(s);
        if !self.statuses.is_empty() {
            parts.push(format!("status={}", self.statuses.iter().map(|s| enc(s)).collect::<Vec<_>>().join(",")));
        }
        if let Some(a) = &self.after {
            parts.push(format!("from={}", enc(a)));
        }
        if let Some(b) = &self.before {
            parts.push(format!("to={}", enc(b)));
        }
        if self.oldest_first {
            parts.push("order=oldest".into());
        }
        if let Some(s) = self.size {
            parts.push(format!("size={s}"));
        }
        if !self.params.is_empty() {
            parts.push(format!("cols={}", self.params.iter().map(|s| enc(s)).collect::<Vec<_>>().join(",")));
        }
        if let Some(c) = cursor {
            parts.push(format!("after={}", enc(c)));
        }
        let base = crate::model::links::pipeline(pipeline);
        if parts.is_empty() {
            base
        } else {
            format!("{base}?{}", parts.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_round_trip_through_the_url() {
        let q = ListQuery::from_pairs([
            ("status", "Failed"),
            ("status", "Stopped,Executing"),
            ("order", "oldest"),
            ("size", "25"),
            ("cols", "MseThreshold"),
        ]);
        assert_eq!(q.statuses, vec!["Failed", "Stopped", "Executing"]);
        assert!(q.oldest_first);
        let href = q.href("AbalonePipeline", Some("abc123def456"));
        assert_eq!(href, "/pipelines/AbalonePipeline?status=Failed,Stopped,Executing&order=oldest&size=25&cols=MseThreshold&after=abc123def456");
        let back =
            ListQuery::from_pairs(href.split_once('?').unwrap().1.split('&').map(|kv| kv.split_once('=').unwrap()));
        assert_eq!(back.statuses, q.statuses);
        assert_eq!(back.cursor.as_deref(), Some("abc123def456"));
    }

    #[test]
    fn dates_parse_or_name_the_field() {
        assert!(parse_when("from", "2026-11-23").is_ok());
        assert!(parse_when("from", "2026-11-23T08:30").is_ok());
        assert!(parse_when("to", "2026-11-23T08:30:00Z").is_ok());
        let e = parse_when("to", "yesterday").unwrap_err();
        assert!(e.starts_with("to: 'yesterday' is not a date"), "{e}");
    }
}

/// What the start form needs: the pipeline (its definition) and, when starting again from an execution,
/// that execution's parameters and step outcomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartPageData {
    pub pipeline: PipelineDetail,
    pub source: Option<SourceExecution>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceExecution {
    pub id: String,
    pub arn: String,
    pub display_name: Option<String>,
    pub status: crate::model::ExecStatus,
    pub parameters: Vec<crate::model::NameValue>,
    pub failed_steps: Vec<String>,
    pub succeeded_steps: Vec<String>,
}

#[server(prefix = "/api", endpoint = "start_context", input = leptos::server_fn::codec::Json)]
pub async fn start_context(pipeline: String, from: Option<String>) -> Result<StartPageData, AppError> {
    crate::error::answer(start_context_inner(pipeline, from).await)
}

#[cfg(feature = "ssr")]
async fn start_context_inner(pipeline: String, from: Option<String>) -> Result<StartPageData, AppError> {
    use crate::model::StepStatus;
    use crate::server::{events, identity, state::app_state};
    let _who = identity::current().await;
    let state = app_state()?;
    if !events::valid_name(&pipeline) {
        return Err(AppError::NotFound(format!("Pipeline '{}'", pipeline.chars().take(80).collect::<String>())));
    }
    // The form is built from a description at most a few seconds old; the submission is checked against
    // a fresh one (actions::start_inner).
    let detail = state
        .watchers
        .pipeline(&pipeline)
        .await
        .map_err(|e| AppError::from_upstream(e, || format!("Pipeline '{pipeline}'")))?;
    let source = match from.filter(|f| !f.is_empty()) {
        None => None,
        Some(id) => {
            let what = || format!("Execution '{}' of pipeline '{pipeline}'", id.chars().take(64).collect::<String>());
            if !events::valid_id(&id) {
                return Err(AppError::NotFound(what()));
            }
            let arn = state
                .gateway
                .execution_arn(&detail.summary.name, &id)
                .await
                .map_err(|e| AppError::from_upstream(e, what))?;
            let view = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
            let steps = view.steps.clone().unwrap_or_default();
            let names = |want: &dyn Fn(&StepStatus) -> bool| {
                steps.iter().filter(|s| want(&s.status)).map(|s| s.name.clone()).collect::<Vec<_>>()
            };
            Some(SourceExecution {
                id: id.clone(),
                arn: arn.clone(),
                display_name: view.execution.display_name.clone(),
                status: view.execution.status.clone(),
                parameters: view.parameters.clone().unwrap_or_default(),
                failed_steps: names(&|s| matches!(s, StepStatus::Failed | StepStatus::Stopped)),
                succeeded_steps: names(&|s| *s == StepStatus::Succeeded),
            })
        }
    };
    Ok(StartPageData { pipeline: detail, source })
}
