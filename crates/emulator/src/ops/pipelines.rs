//! CreatePipeline, UpdatePipeline, DeletePipeline, DescribePipeline, ListPipelines, ListPipelineVersions,
//! and the tags of pipelines: ListTags, AddTags.

use serde_json::{json, Value};

use super::{i, remember, remembered, s, sort_and_page, t, user_context};
use crate::error::{ApiError, ApiResult};
use crate::persist::Write;
use crate::runtime::Core;
use crate::state::{Pipeline, PipelineVersion, Principal};

/// The definition text of a create or update request, checked before anything is stored.
fn definition_text(body: &Value, required: bool) -> ApiResult<Option<String>> {
    if body.get("PipelineDefinitionS3Location").is_some() {
        return Err(ApiError::validation(
            "PipelineDefinitionS3Location is not supported by this endpoint, which has no S3: send the definition in PipelineDefinition",
        ));
    }
    match s(body, "PipelineDefinition") {
        Some(text) => {
            stepline_definition::parse(text)
                .map_err(|e| ApiError::validation(format!("Invalid pipeline definition: {}", e.message)))?;
            Ok(Some(text.to_string()))
        }
        None if required => {
            Err(ApiError::validation("Either PipelineDefinition or PipelineDefinitionS3Location must be provided."))
        }
        None => Ok(None),
    }
}

pub fn create(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let mut inner = core.lock();
    let token = s(body, "ClientRequestToken");
    if let Some(answer) = remembered(&inner, "CreatePipeline", token) {
        return Ok(answer);
    }
    let name = s(body, "PipelineName").unwrap_or_default().to_string();
    let definition = definition_text(body, true)?.unwrap_or_default();
    if inner.store.pipelines.contains_key(&name.to_lowercase()) {
        return Err(ApiError::validation(format!(
            "Pipeline names must be unique within an AWS account and region. Pipeline with name ({name}) already exists."
        )));
    }
    let at = inner.clock.now();
    let pipeline = Pipeline {
        arn: inner.account.arn(&format!("pipeline/{name}")),
        name: name.clone(),
        display_name: s(body, "PipelineDisplayName").map(String::from),
        description: s(body, "PipelineDescription").map(String::from),
        role_arn: s(body, "RoleArn").unwrap_or_default().to_string(),
        created: at,
        modified: at,
        last_run: None,
        parallelism: body.pointer("/ParallelismConfiguration/MaxParallelExecutionSteps").and_then(Value::as_i64),
        tags: body.get("Tags").and_then(Value::as_array).cloned().unwrap_or_default(),
        created_by: by.cloned(),
        modified_by: by.cloned(),
        versions: vec![PipelineVersion { id: 1, definition, created: at }],
    };
    let answer = json!({"PipelineArn": pipeline.arn});
    inner.persist(&[Write::Pipeline(&pipeline)])?;
    inner.store.pipelines.insert(name.to_lowercase(), pipeline);
    remember(&mut inner, "CreatePipeline", token, &answer)?;
    Ok(answer)
}

pub fn update(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let mut inner = core.lock();
    let name = s(body, "PipelineName").unwrap_or_default();
    let definition = definition_text(body, false)?;
    let at = inner.clock.now();
    let p = inner.store.pipeline_mut(name)?;
    p.modified_by = by.cloned();
    // Every update makes a new version; executions keep the version they started with.
    let text = definition.unwrap_or_else(|| p.versions.last().map(|v| v.definition.clone()).unwrap_or_default());
    let id = p.latest_version() + 1;
    p.versions.push(PipelineVersion { id, definition: text, created: at });
    if let Some(v) = s(body, "PipelineDisplayName") {
        p.display_name = Some(v.to_string());
    }
    if let Some(v) = s(body, "PipelineDescription") {
        p.description = Some(v.to_string());
    }
    if let Some(v) = s(body, "RoleArn") {
        p.role_arn = v.to_string();
    }
    if let Some(n) = body.pointer("/ParallelismConfiguration/MaxParallelExecutionSteps").and_then(Value::as_i64) {
        p.parallelism = Some(n);
    }
    p.modified = at;
    let p = p.clone();
    inner.persist(&[Write::Pipeline(&p)])?;
    Ok(json!({"PipelineArn": p.arn, "PipelineVersionId": id}))
}

pub fn delete(core: &Core, body: &Value) -> ApiResult<Value> {
    let mut inner = core.lock();
    let token = s(body, "ClientRequestToken");
    if let Some(answer) = remembered(&inner, "DeletePipeline", token) {
        return Ok(answer);
    }
    let p = inner.store.pipeline(s(body, "PipelineName").unwrap_or_default())?.clone();
    let running = inner.store.running_executions(&p.name);
    if running > 0 {
        return Err(ApiError::conflict(format!(
            "Pipeline '{}' has {running} running execution(s); stop them before deleting the pipeline.",
            p.arn
        )));
    }
    let key = p.name.to_lowercase();
    let ids = inner.store.by_pipeline.remove(&key).unwrap_or_default();
    let mut batch: Vec<Write> = vec![Write::DeletePipeline(&p.name)];
    for id in &ids {
        batch.push(Write::DeleteExecution(id));
    }
    inner.persist(&batch)?;
    for id in &ids {
        inner.store.executions.remove(id);
    }
    inner.store.callbacks.retain(|_, (ex, _)| !ids.contains(ex));
    inner.store.forget_jobs(&ids);
    inner.store.pipelines.remove(&key);
    inner.store.forget_plans(&p.name);
    let answer = json!({"PipelineArn": p.arn});
    remember(&mut inner, "DeletePipeline", token, &answer)?;
    Ok(answer)
}

pub fn describe(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let p = inner.store.pipeline(s(body, "PipelineName").unwrap_or_default())?;
    let version = match i(body, "PipelineVersionId") {
        Some(v) => p.version(v).ok_or_else(|| {
            ApiError::not_found(format!("Pipeline version {v} of pipeline '{}' does not exist.", p.arn))
        })?,
        None => p.versions.last().ok_or_else(|| ApiError::internal("pipeline without a version"))?,
    };
    Ok(json!({
        "PipelineArn": p.arn,
        "PipelineName": p.name,
        "PipelineDisplayName": p.display_name.clone().unwrap_or_else(|| p.name.clone()),
        "PipelineDefinition": version.definition,
        "PipelineDescription": p.description,
        "RoleArn": p.role_arn,
        "PipelineStatus": "Active",
        "CreationTime": p.created,
        "LastModifiedTime": p.modified,
        "LastRunTime": p.last_run,
        "CreatedBy": user_context(p.created_by.as_ref(), &inner),
        "LastModifiedBy": user_context(p.modified_by.as_ref(), &inner),
        "ParallelismConfiguration": p.parallelism.map(|n| json!({"MaxParallelExecutionSteps": n})),
    }))
}

/// The tags of a pipeline or a model package group (by its ARN), as given when it was created; other
/// resources have none here.
pub fn list_tags(core: &Core, body: &Value) -> ApiResult<Value> {
    let arn = s(body, "ResourceArn").unwrap_or_default();
    if arn.contains(":model-package-group/") {
        return super::registry::group_tags(core, arn);
    }
    let inner = core.lock();
    if !arn.contains(":pipeline/") || arn.contains("/execution/") {
        return Ok(json!({ "Tags": [] }));
    }
    let p = inner.store.pipeline(arn)?;
    Ok(json!({ "Tags": p.tags }))
}

/// Add tags to a pipeline (by its ARN); a tag with a key it already has replaces that tag. Other resources
/// take no tags here.
pub fn add_tags(core: &Core, body: &Value) -> ApiResult<Value> {
    let mut inner = core.lock();
    let arn = s(body, "ResourceArn").unwrap_or_default();
    let given: Vec<Value> = body.get("Tags").and_then(Value::as_array).cloned().unwrap_or_default();
    if !arn.contains(":pipeline/") || arn.contains("/execution/") {
        return Err(ApiError::validation(format!(
            "AddTags is supported for pipelines only by this emulator; {arn} is not a pipeline's ARN."
        )));
    }
    let p = inner.store.pipeline_mut(arn)?;
    let key = |t: &Value| t.get("Key").and_then(Value::as_str).map(String::from);
    let mut tags = p.tags.clone();
    for t in &given {
        tags.retain(|old| key(old) != key(t));
        tags.push(t.clone());
    }
    if tags.len() > 50 {
        return Err(ApiError::limit(format!("A resource can have at most 50 tags; {arn} would have {}.", tags.len())));
    }
    p.tags = tags;
    let p = p.clone();
    inner.persist(&[Write::Pipeline(&p)])?;
    Ok(json!({ "Tags": given }))
}

/// The versions of a pipeline: each definition it has had, with the newest execution started on it.
pub fn versions(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let p = inner.store.pipeline(s(body, "PipelineName").unwrap_or_default())?;
    let after = t(body, "CreatedAfter");
    let before = t(body, "CreatedBefore");
    let items: Vec<&PipelineVersion> = p
        .versions
        .iter()
        .filter(|v| after.is_none_or(|a| v.created > a) && before.is_none_or(|b| v.created < b))
        .collect();
    let order = |a: &&PipelineVersion, b: &&PipelineVersion| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id));
    let (page, next) = sort_and_page(items, body, order, |v| v.id.to_string())?;
    let ids = inner.store.by_pipeline.get(&p.name.to_lowercase());
    let last_execution = |version: i64| {
        ids.into_iter()
            .flatten()
            .filter_map(|id| inner.store.executions.get(id))
            .filter(|e| e.version_id == version)
            .max_by(|a, b| a.created.total_cmp(&b.created))
            .map(|e| e.arn.clone())
    };
    let summaries: Vec<Value> = page
        .iter()
        .map(|v| {
            json!({
                "PipelineArn": p.arn,
                "PipelineVersionId": v.id,
                "CreationTime": v.created,
                "LastExecutionPipelineExecutionArn": last_execution(v.id),
            })
        })
        .collect();
    Ok(json!({"PipelineVersionSummaries": summaries, "NextToken": next}))
}

pub fn list(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let prefix = s(body, "PipelineNamePrefix").map(str::to_lowercase);
    let after = t(body, "CreatedAfter");
    let before = t(body, "CreatedBefore");
    let items: Vec<&Pipeline> = inner
        .store
        .pipelines
        .iter()
        .filter(|(k, _)| prefix.as_ref().is_none_or(|p| k.starts_with(p.as_str())))
        .map(|(_, p)| p)
        .filter(|p| after.is_none_or(|a| p.created > a) && before.is_none_or(|b| p.created < b))
        .collect();
    let by_name = s(body, "SortBy") == Some("Name");
    let order = |a: &&Pipeline, b: &&Pipeline| {
        if by_name {
            a.name.to_lowercase().cmp(&b.name.to_lowercase())
        } else {
            a.created.total_cmp(&b.created).then_with(|| a.name.cmp(&b.name))
        }
    };
    let (page, next) = sort_and_page(items, body, order, |p| p.name.to_lowercase())?;
    let summaries: Vec<Value> = page
        .iter()
        .map(|p| {
            json!({
                "PipelineArn": p.arn,
                "PipelineName": p.name,
                "PipelineDisplayName": p.display_name.clone().unwrap_or_else(|| p.name.clone()),
                "PipelineDescription": p.description,
                "RoleArn": p.role_arn,
                "CreationTime": p.created,
                "LastModifiedTime": p.modified,
                "LastExecutionTime": p.last_run,
            })
        })
        .collect();
    Ok(json!({"PipelineSummaries": summaries, "NextToken": next}))
}
