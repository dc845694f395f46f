//! StartPipelineExecution, DescribePipelineExecution, ListPipelineExecutions, StopPipelineExecution,
//! RetryPipelineExecution, ListPipelineParametersForExecution, DescribePipelineDefinitionForExecution.

use serde_json::{json, Value};
use stepline_definition::{check_selection, evaluate, join_string, resolve_parameters};

use super::{change_execution, i, remember, remembered, s, sort_and_page, t, user_context};
use crate::engine::ExecutionScope;
use crate::error::{ApiError, ApiResult};
use crate::paging;
use crate::persist::Write;
use crate::runtime::{random_lower, Core, Inner};
use crate::state::{Execution, ExecutionStatus, Principal, SelectiveConfig, StepPhase, StepRun};

pub fn start(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let id = {
        let mut inner = core.lock();
        let token = s(body, "ClientRequestToken");
        if let Some(answer) = remembered(&inner, "StartPipelineExecution", token) {
            return Ok(answer);
        }
        let pipeline = inner.store.pipeline(s(body, "PipelineName").unwrap_or_default())?.clone();
        let version_id = match i(body, "PipelineVersionId") {
            Some(v) if pipeline.version(v).is_some() => v,
            Some(v) => {
                return Err(ApiError::not_found(format!(
                    "Pipeline version {v} of pipeline '{}' does not exist.",
                    pipeline.arn
                )))
            }
            None => pipeline.latest_version(),
        };
        let plan = inner.store.plan(&pipeline.name, version_id)?;
        let def = &plan.definition;

        let overrides: Vec<(String, String)> = body
            .get("PipelineParameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| (s(p, "Name").unwrap_or_default().to_string(), s(p, "Value").unwrap_or_default().to_string()))
            .collect();
        let parameters =
            resolve_parameters(&def.parameters, &overrides).map_err(|e| ApiError::validation(e.message))?;
        // A parameter's value, given or the definition's default, is at most 1,024 characters, as every value
        // the API takes or answers (a default longer than that could never be listed back).
        if let Some(p) = parameters.iter().find(|p| p.value.chars().count() > 1024) {
            return Err(ApiError::validation(format!(
                "The value of parameter {} is longer than 1024 characters.",
                p.name
            )));
        }

        let mut steps: Vec<StepRun> = def.steps.iter().map(|sd| StepRun::new(&sd.name)).collect();
        let selective = match body.get("SelectiveExecutionConfig") {
            None => None,
            Some(cfg) => {
                let selected: Vec<String> = cfg
                    .get("SelectedSteps")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|st| s(st, "StepName").map(String::from))
                    .collect();
                let source_arn = s(cfg, "SourcePipelineExecutionArn").map(String::from);
                let selection =
                    check_selection(def, &plan.graph, &selected, source_arn.is_some()).map_err(ApiError::validation)?;
                let source = match &source_arn {
                    None => None,
                    Some(arn) => {
                        let src = inner.store.execution(arn).map_err(|_| {
                            ApiError::validation(format!("Invalid SourcePipelineExecutionArn: {arn} does not exist."))
                        })?;
                        if !src.pipeline_name.eq_ignore_ascii_case(&pipeline.name) {
                            return Err(ApiError::validation(format!(
                                "Invalid SourcePipelineExecutionArn: {arn} is an execution of pipeline '{}', not of '{}'.",
                                src.pipeline_name, pipeline.name
                            )));
                        }
                        if !matches!(
                            src.status,
                            ExecutionStatus::Succeeded | ExecutionStatus::Failed | ExecutionStatus::Stopped
                        ) {
                            return Err(ApiError::validation(format!(
                                "Invalid SourcePipelineExecutionArn: {arn} is {}; the source execution must be Succeeded, Failed or Stopped.",
                                src.status.as_str()
                            )));
                        }
                        Some(src.clone())
                    }
                };
                for (idx, step) in steps.iter_mut().enumerate() {
                    if selection.selected.contains(&idx) {
                        continue;
                    }
                    step.phase = StepPhase::NotSelected;
                    if let (true, Some(src)) = (selection.reused_from_source.contains(&idx), &source) {
                        let prior = src.steps.iter().find(|p| p.name == step.name && p.phase == StepPhase::Succeeded).ok_or_else(|| {
                            ApiError::validation(format!(
                                "Invalid SourcePipelineExecutionArn: step '{}' did not succeed in {}, so its outputs cannot be reused.",
                                step.name, src.arn
                            ))
                        })?;
                        *step = prior.clone();
                        step.selective_source = Some(src.arn.clone());
                        step.cache_source = None;
                        step.callback_token = None;
                        step.dirty = true;
                    }
                }
                Some(SelectiveConfig { source_arn, selected })
            }
        };

        let at = inner.clock.now();
        let mut id = random_lower(12);
        while inner.store.executions.contains_key(&id) {
            id = random_lower(12);
        }
        let arn = format!("{}/execution/{id}", pipeline.arn);
        let mut ex = Execution {
            arn: arn.clone(),
            id: id.clone(),
            pipeline_name: pipeline.name.clone(),
            pipeline_arn: pipeline.arn.clone(),
            display_name: s(body, "PipelineExecutionDisplayName")
                .map(String::from)
                .unwrap_or_else(|| format!("execution-{}", (at * 1000.0) as i64)),
            description: s(body, "PipelineExecutionDescription").map(String::from),
            status: ExecutionStatus::Executing,
            failure_reason: None,
            created: at,
            modified: at,
            version_id,
            parameters: parameters.into_iter().map(|p| (p.name, p.value)).collect(),
            parallelism: body
                .pointer("/ParallelismConfiguration/MaxParallelExecutionSteps")
                .and_then(Value::as_i64)
                .or(pipeline.parallelism),
            selective,
            mlflow_experiment: s(body, "MlflowExperimentName").map(String::from),
            experiment_name: String::new(),
            trial_name: String::new(),
            stop_requested: false,
            created_by: by.cloned(),
            modified_by: by.cloned(),
            steps: std::mem::take(&mut steps),
        };
        let (experiment, trial) = experiment_config(&ex, def, at)?;
        ex.experiment_name = experiment;
        ex.trial_name = trial;

        let answer = json!({"PipelineExecutionArn": arn});
        if let Some(p) = inner.store.pipelines.get_mut(&pipeline.name.to_lowercase()) {
            p.last_run = Some(at);
        }
        let p = inner.store.pipelines.get(&pipeline.name.to_lowercase()).cloned();
        let mut batch = vec![Write::Execution { execution: &ex, all_steps: true }];
        if let Some(p) = &p {
            batch.push(Write::Pipeline(p));
        }
        inner.persist(&batch)?;
        inner.store.insert_execution(ex);
        remember(&mut inner, "StartPipelineExecution", token, &answer)?;
        id
    };
    core.advance(&id, core.now());
    let inner = core.lock();
    let arn = inner.store.executions.get(&id).map(|e| e.arn.clone()).unwrap_or_default();
    Ok(json!({"PipelineExecutionArn": arn}))
}

/// The experiment and trial an execution is recorded under: the definition's PipelineExperimentConfig,
/// by default the lower-cased pipeline name and the execution id. Names must be experiment entity names
/// (`[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}`): a configured value that is not one is refused, naming it; the
/// defaults are cut to fit.
fn experiment_config(
    ex: &Execution,
    def: &stepline_definition::Definition,
    at: f64,
) -> Result<(String, String), ApiError> {
    let scope = ExecutionScope { ex, def, now: at, current_job: None };
    let configured = |key: &str| -> Result<Option<String>, ApiError> {
        let Some(expr) = def.experiment_config.as_ref().and_then(|c| c.get(key)).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let value = evaluate(expr, &scope)
            .map_err(|e| ApiError::validation(format!("PipelineExperimentConfig.{key} cannot be resolved: {e}")))?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(_) => join_string(&value),
            other => {
                let shown: String = other.to_string().chars().take(80).collect();
                return Err(ApiError::validation(format!(
                    "PipelineExperimentConfig.{key} evaluates to {shown}, which is not a name"
                )));
            }
        };
        if !valid_entity_name(&text) {
            let shown: String = text.chars().take(80).collect();
            return Err(ApiError::validation(format!(
                "PipelineExperimentConfig.{key} evaluates to '{shown}', which is not a valid experiment entity name: use 1 to 120 letters, digits and hyphens"
            )));
        }
        Ok(Some(text))
    };
    let experiment = configured("ExperimentName")?
        .map(|e| e.to_lowercase())
        .unwrap_or_else(|| fit_entity_name(&ex.pipeline_name.to_lowercase()));
    let trial = configured("TrialName")?.unwrap_or_else(|| fit_entity_name(&ex.id));
    Ok((experiment, trial))
}

fn valid_entity_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 120
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// A pipeline name (up to 256 characters) cut to an experiment entity name's 120.
fn fit_entity_name(s: &str) -> String {
    let cut: String = s.chars().take(120).collect();
    cut.trim_end_matches('-').to_string()
}

pub fn describe(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let ex = inner.store.execution(s(body, "PipelineExecutionArn").unwrap_or_default())?;
    let mlflow = ex.mlflow_experiment.as_ref().map(|name| {
        json!({"MlflowResourceArn": inner.account.arn("mlflow-tracking-server/stepline-emulator"), "MlflowExperimentName": name})
    });
    Ok(json!({
        "PipelineArn": ex.pipeline_arn,
        "PipelineExecutionArn": ex.arn,
        "PipelineExecutionDisplayName": ex.display_name,
        "PipelineExecutionStatus": ex.status.as_str(),
        "PipelineExecutionDescription": ex.description,
        "PipelineExperimentConfig": {"ExperimentName": ex.experiment_name, "TrialName": ex.trial_name},
        "FailureReason": ex.failure_reason,
        "CreationTime": ex.created,
        "LastModifiedTime": ex.modified,
        "CreatedBy": user_context(ex.created_by.as_ref(), &inner),
        "LastModifiedBy": user_context(ex.modified_by.as_ref(), &inner),
        "ParallelismConfiguration": ex.parallelism.map(|n| json!({"MaxParallelExecutionSteps": n})),
        "SelectiveExecutionConfig": ex.selective.as_ref().map(|c| json!({
            "SourcePipelineExecutionArn": c.source_arn,
            "SelectedSteps": c.selected.iter().map(|n| json!({"StepName": n})).collect::<Vec<_>>(),
        })),
        "PipelineVersionId": ex.version_id,
        "MLflowConfig": mlflow,
    }))
}

pub fn list(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let pipeline = inner.store.pipeline(s(body, "PipelineName").unwrap_or_default())?;
    let after = t(body, "CreatedAfter");
    let before = t(body, "CreatedBefore");
    let ids = inner.store.by_pipeline.get(&pipeline.name.to_lowercase()).cloned().unwrap_or_default();
    let items: Vec<&Execution> = ids
        .iter()
        .filter_map(|id| inner.store.executions.get(id))
        .filter(|e| after.is_none_or(|a| e.created > a) && before.is_none_or(|b| e.created < b))
        .collect();
    let by_arn = s(body, "SortBy") == Some("PipelineExecutionArn");
    let order = |a: &&Execution, b: &&Execution| {
        if by_arn {
            a.arn.cmp(&b.arn)
        } else {
            a.created.total_cmp(&b.created).then_with(|| a.id.cmp(&b.id))
        }
    };
    let (page, next) = sort_and_page(items, body, order, |e| e.id.clone())?;
    let summaries: Vec<Value> = page
        .iter()
        .map(|e| {
            json!({
                "PipelineExecutionArn": e.arn,
                "StartTime": e.created,
                "PipelineExecutionStatus": e.status.as_str(),
                "PipelineExecutionDescription": e.description,
                "PipelineExecutionDisplayName": e.display_name,
                "PipelineExecutionFailureReason": e.failure_reason,
            })
        })
        .collect();
    Ok(json!({"PipelineExecutionSummaries": summaries, "NextToken": next}))
}

/// Stop and retry change the execution on the caller's behalf, so they name the caller in LastModifiedBy.
/// A callback answer (`steps.rs`) does not: it answers a step, and its sender is usually a worker's role.
pub fn stop(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let arn = s(body, "PipelineExecutionArn").unwrap_or_default();
    let find = |inner: &Inner| Ok((inner.store.execution_id(arn)?, ()));
    change_execution(core, "StopPipelineExecution", s(body, "ClientRequestToken"), find, |ex, (), _| {
        match ex.status {
            ExecutionStatus::Executing => {
                ex.stop_requested = true;
                ex.modified_by = by.cloned();
                Ok(())
            }
            // A second stop of an execution that is already stopping changes nothing.
            ExecutionStatus::Stopping => Ok(()),
            other => Err(ApiError::conflict(format!(
                "Pipeline execution '{}' is in terminal status {} and cannot be stopped.",
                ex.arn,
                other.as_str()
            ))),
        }
    })
}

pub fn retry(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let arn = s(body, "PipelineExecutionArn").unwrap_or_default();
    let find = |inner: &Inner| Ok((inner.store.execution_id(arn)?, ()));
    change_execution(core, "RetryPipelineExecution", s(body, "ClientRequestToken"), find, |ex, (), at| {
        if ex.status != ExecutionStatus::Failed {
            return Err(ApiError::conflict(format!(
                "Pipeline execution '{}' is {}; only a Failed execution can be retried.",
                ex.arn,
                ex.status.as_str()
            )));
        }
        // Succeeded steps are kept; failed, stopped and never-started steps run again.
        for step in &mut ex.steps {
            if matches!(step.phase, StepPhase::Failed | StepPhase::Stopped | StepPhase::Skipped | StepPhase::Pending) {
                step.reset();
                step.dirty = true;
            }
        }
        ex.status = ExecutionStatus::Executing;
        ex.failure_reason = None;
        ex.stop_requested = false;
        ex.modified = at;
        if let Some(n) = body.pointer("/ParallelismConfiguration/MaxParallelExecutionSteps").and_then(Value::as_i64) {
            ex.parallelism = Some(n);
        }
        ex.modified_by = by.cloned();
        Ok(())
    })
}

pub fn parameters(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let ex = inner.store.execution(s(body, "PipelineExecutionArn").unwrap_or_default())?;
    let items: Vec<&(String, String)> = ex.parameters.iter().collect();
    let (page, next) = paging::page(items, |(n, _)| n.clone(), s(body, "NextToken"), i(body, "MaxResults"))?;
    let list: Vec<Value> = page.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect();
    Ok(json!({"PipelineParameters": list, "NextToken": next}))
}

pub fn definition(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let ex = inner.store.execution(s(body, "PipelineExecutionArn").unwrap_or_default())?;
    let p = inner.store.pipeline(&ex.pipeline_name)?;
    let v = p.version(ex.version_id).ok_or_else(|| ApiError::internal("execution pinned to a missing version"))?;
    Ok(json!({"PipelineDefinition": v.definition, "CreationTime": v.created}))
}
