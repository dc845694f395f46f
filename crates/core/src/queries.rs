//! What each page's server function answers, assembled on the server from the shared watchers and the
//! gateway. The server functions in `stepline_app::api` are one line each and call these.

use crate::stale::Known;
use crate::state::{enter, AppState};
use crate::watch;
use stepline_types::error::{AppError, Subject};
use stepline_types::model::access::Role;
use stepline_types::model::PipelineDetail;
use stepline_types::page::{
    ExecutionPage, ExecutionRow, ExecutionsPage, ListQuery, PipelinesPage, SourceExecution, StartPageData,
};

/// A pipeline's description, by a name from a URL: a malformed name is as unknown as a missing one.
pub(crate) async fn pipeline_detail(state: &AppState, pipeline: &str) -> Result<Known<PipelineDetail>, AppError> {
    if !stepline_types::model::links::valid_name(pipeline) {
        return Err(AppError::not_found(Subject::Pipeline(pipeline)));
    }
    state.watchers.pipeline(pipeline).await.map_err(|e| AppError::from_upstream(e, Subject::Pipeline(pipeline)))
}

/// The ARN of execution `id` of `pipeline`, both from a URL.
pub async fn execution_arn(state: &AppState, pipeline: &str, id: &str) -> Result<String, AppError> {
    let what = Subject::Execution { pipeline, id };
    if !stepline_types::model::links::valid_name(pipeline) || !stepline_types::model::links::valid_id(id) {
        return Err(AppError::not_found(what));
    }
    state.gateway.execution_arn(pipeline, id).await.map_err(|e| AppError::from_upstream(e, what))
}

/// The pipelines page: every pipeline with its newest execution.
pub async fn pipelines() -> Result<PipelinesPage, AppError> {
    let (state, who) = enter().await?;
    let known = state.watchers.home().await.map_err(AppError::Upstream)?;
    let freshness = known.freshness();
    // Only the pipelines the person may read; the others are not even named.
    let roles = futures::future::join_all(known.value.iter().map(|r| who.role(&r.pipeline.name))).await;
    let rows: Vec<_> = known.value.into_iter().zip(roles).filter(|(_, role)| role.is_some()).map(|(r, _)| r).collect();
    let (everywhere, knows) = who.everywhere();
    Ok(PipelinesPage {
        rows,
        backend: state.gateway.backend.clone(),
        freshness,
        me: who.me(everywhere),
        no_grant: !knows,
    })
}

/// One page of a pipeline's executions, filtered and sorted as the query says.
pub async fn executions(pipeline: &str, query: &ListQuery) -> Result<ExecutionsPage, AppError> {
    use stepline_types::model::ExecStatus;
    let (state, who) = enter().await?;
    let role = who.read(pipeline).await?;
    let known = pipeline_detail(&state, pipeline).await?;
    let mut freshness = known.freshness();
    let detail = known.value;
    let mut statuses = vec![];
    for s in &query.statuses {
        let st = ExecStatus::parse(s);
        if matches!(st, ExecStatus::Other(_)) {
            return Err(AppError::Invalid(format!(
                "status: '{}' is not an execution status",
                stepline_types::text::clip(s, 40)
            )));
        }
        statuses.push(st);
    }
    // A time bound of the filter, named as the URL names it.
    let bound = |field: &str, text: &Option<String>| {
        text.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| stepline_types::layout::timefmt::parse_when(field, s))
            .transpose()
            .map_err(AppError::Invalid)
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
    let arns: Vec<String> = page.iter().map(|e| e.arn.clone()).collect();
    // Who started them through Stepline; a log that cannot be read leaves SageMaker's CreatedBy.
    let people = state.access.db.started_by(&arns).await.unwrap_or_default();
    let rows = page
        .into_iter()
        .zip(extras)
        .map(|(summary, (end, params))| ExecutionRow {
            end: if summary.status.is_terminal() { end } else { None },
            params: columns.iter().map(|c| params.iter().find(|p| &p.name == c).map(|p| p.value.clone())).collect(),
            started_by: people.get(&summary.arn).cloned().or_else(|| state.watchers.creator_of(&summary.arn)),
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
        me: who.me(Some(role)),
    })
}

/// One execution: its snapshot and the definition it runs with.
pub async fn execution(pipeline: &str, id: &str) -> Result<ExecutionPage, AppError> {
    let (state, who) = enter().await?;
    let role = who.read(pipeline).await?;
    let what = Subject::Execution { pipeline, id };
    let arn = execution_arn(&state, pipeline, id).await?;
    let known = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
    let definition = state.watchers.definition(&arn).await;
    let mut view = (*known.value).clone();
    let tokens_hidden = role < Role::Operator;
    if tokens_hidden {
        hide_callback_tokens(&mut view);
    }
    let studio = state.studio_link.as_deref().map(|template| {
        stepline_types::console::studio_link(template, &view.execution.pipeline_name, &view.execution.id)
    });
    let history = state.access.db.history(&arn).await.unwrap_or_default();
    let latest_version = latest_version(&state, &view.execution.pipeline_name).await;
    Ok(ExecutionPage {
        view,
        definition,
        freshness: known.freshness(),
        studio,
        me: who.me(Some(role)),
        history,
        tokens_hidden,
        latest_version,
    })
}

/// A pipeline's newest version, when SageMaker lists them (a page says less without it, never fails).
async fn latest_version(state: &AppState, pipeline: &str) -> Option<i64> {
    let known = state.watchers.versions(pipeline).await.ok()?;
    known.value.ok().and_then(|v| stepline_types::model::version::latest(&v))
}

/// A version of a pipeline that SageMaker says does not exist is a page that does not exist.
fn version_error(e: stepline_types::model::Upstream, pipeline: &str, version: i64) -> AppError {
    if e.is_not_found() {
        AppError::NotFound(format!(
            "Version {version} of pipeline '{}'",
            stepline_types::text::clip(pipeline, stepline_types::text::NAME)
        ))
    } else {
        AppError::Upstream(e)
    }
}

/// The definition an execution ran with against the pipeline's latest, line by line (both pretty-printed).
pub async fn definition_diff(
    pipeline: &str,
    id: &str,
    against: Option<&str>,
) -> Result<stepline_types::page::DefinitionDiffPage, AppError> {
    let (state, who) = enter().await?;
    let role = who.read(pipeline).await?;
    let what = Subject::Execution { pipeline, id };
    let arn = execution_arn(&state, pipeline, id).await?;
    let known = state.watchers.execution(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
    let mut freshness = known.freshness();
    let execution = known.value.execution.clone();
    let name = execution.pipeline_name.clone();
    let ran = state.watchers.definition(&arn).await.map_err(|e| AppError::from_upstream(e, what))?;
    let latest = latest_version(&state, &name).await;
    let (newest, against) = match against {
        // Another execution of the same pipeline (the compare page's "line diff"): its ARN is built from this
        // pipeline's, so an id of another pipeline's is simply not found.
        Some(other) => {
            let what = Subject::Execution { pipeline, id: other };
            let other_arn = execution_arn(&state, pipeline, other).await?;
            let known = state.watchers.execution(&other_arn).await.map_err(|e| AppError::from_upstream(e, what))?;
            freshness = freshness.and(known.freshness());
            let e = &known.value.execution;
            let against = stepline_types::page::DiffAgainst {
                id: e.id.clone(),
                display_name: e.display_name.clone(),
                version: e.pipeline_version,
            };
            let definition =
                state.watchers.definition(&other_arn).await.map_err(|e| AppError::from_upstream(e, what))?;
            (definition, Some(against))
        }
        // The latest definition by its number when the versions are listed (the same cache as every
        // version's); else the pipeline's description, which is the latest.
        None => match latest {
            Some(n) if execution.pipeline_version == Some(n) => (ran.clone(), None),
            Some(n) => {
                (state.watchers.version_definition(&name, n).await.map_err(|e| version_error(e, &name, n))?, None)
            }
            None => {
                let detail = pipeline_detail(&state, &name).await?;
                freshness = freshness.and(detail.freshness());
                (detail.value.definition, None)
            }
        },
    };
    let diff = stepline_types::diff::lines(
        &stepline_types::diff::pretty_json(&ran),
        &stepline_types::diff::pretty_json(&newest),
        3,
    );
    Ok(stepline_types::page::DefinitionDiffPage {
        pipeline: name,
        id: execution.id.clone(),
        display_name: execution.display_name.clone(),
        version: execution.pipeline_version,
        latest,
        against,
        diff,
        freshness,
        me: who.me(Some(role)),
    })
}

/// What the start form needs: the pipeline at the chosen version and, for a re-run, the source execution.
pub async fn start_context(
    pipeline: &str,
    from: Option<&str>,
    pick: Option<stepline_types::model::version::Pick>,
) -> Result<StartPageData, AppError> {
    use stepline_types::model::version::Pick;
    use stepline_types::model::StepStatus;
    let (state, who) = enter().await?;
    let role = who.read(pipeline).await?;
    // The form is built from a description at most a few seconds old; the submission is checked against
    // a fresh one (actions::start_inner).
    let known = pipeline_detail(&state, pipeline).await?;
    let mut freshness = known.freshness();
    let mut detail = known.value;
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
                pipeline_version: view.execution.pipeline_version,
            })
        }
    };
    let name = detail.summary.name.clone();
    // An endpoint that does not list versions leaves the form a version number to type.
    let versions = match state.watchers.versions(&name).await {
        Ok(known) => {
            freshness = freshness.and(known.freshness());
            known.value
        }
        Err(e) => Err(e),
    };
    // A re-run is for the version its source ran, unless the URL picks another.
    let version = match pick {
        Some(Pick::Latest) => None,
        Some(Pick::Version(n)) => Some(n),
        None => source.as_ref().and_then(|s| s.pipeline_version),
    };
    if let Some(n) = version {
        detail.definition =
            state.watchers.version_definition(&name, n).await.map_err(|e| version_error(e, &name, n))?;
    }
    Ok(StartPageData { pipeline: detail, source, freshness, me: who.me(Some(role)), versions, version })
}

/// Callback tokens are secrets: whoever holds one can answer the step from anywhere. Only operators of
/// the pipeline see them.
pub fn hide_callback_tokens(view: &mut stepline_types::model::ExecutionView) {
    if let Ok(steps) = view.steps.as_mut() {
        for s in steps.iter_mut() {
            if let stepline_types::model::StepMetadata::Callback { token, .. } = &mut s.metadata {
                *token = None;
            }
        }
    }
}

/// A page of the activity log: everything for admins; for others their own records and those of the
/// pipelines they may read.
pub async fn activity(
    filter: &stepline_types::model::activity::Filter,
) -> Result<stepline_types::page::ActivityData, AppError> {
    let (state, who) = enter().await?;
    let scope = activity_scope(&state, &who).await?;
    let page = state.access.db.page(filter, &scope, crate::store::PAGE).await.map_err(AppError::Server)?;
    let (everywhere, _) = who.everywhere();
    Ok(stepline_types::page::ActivityData { page, me: who.me(everywhere) })
}

/// Whose records `who` may see from this place: their own, and those of the pipelines they may read here.
pub async fn activity_scope(state: &AppState, who: &crate::access::Who) -> Result<crate::store::Scope, AppError> {
    activity_scope_in(std::slice::from_ref(state), who).await
}

/// Whose records `who` may see across `places` (every place of this Stepline, for the exports): their own,
/// and in each place those of the pipelines they may read there.
pub async fn activity_scope_in(places: &[AppState], who: &crate::access::Who) -> Result<crate::store::Scope, AppError> {
    use crate::store::{PlaceScope, Scope};
    if who.everywhere().0 == Some(Role::Admin) {
        return Ok(Scope::Everything);
    }
    let mut scopes = Vec::with_capacity(places.len());
    for state in places {
        let here = who.clone().in_place(state.tag_source());
        let names = state.watchers.pipeline_names().await.map_err(AppError::Upstream)?;
        let roles = futures::future::join_all(names.iter().map(|n| here.role(n))).await;
        let pipelines = names.into_iter().zip(roles).filter(|(_, r)| r.is_some()).map(|(n, _)| n).collect();
        scopes.push(PlaceScope {
            place: here.place().unwrap_or_default(),
            pipelines,
            // With one place, records from before places were recorded can only be its own.
            with_unplaced: state.place.key().is_empty(),
        });
    }
    Ok(Scope::Readable { user: who.identity.user.clone(), places: scopes })
}

/// The person and their role on `pipeline` (or everywhere).
pub async fn whoami(pipeline: Option<&str>) -> Result<stepline_types::model::access::Me, AppError> {
    let (_, who) = enter().await?;
    let role = match pipeline.filter(|p| stepline_types::model::links::valid_name(p)) {
        Some(p) => who.role(p).await,
        None => who.everywhere().0,
    };
    Ok(who.me(role))
}
