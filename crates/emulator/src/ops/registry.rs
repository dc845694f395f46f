//! The model registry: CreateModelPackageGroup, DescribeModelPackageGroup, ListModelPackageGroups,
//! CreateModelPackage, DescribeModelPackage, ListModelPackages and UpdateModelPackage, over the versions
//! RegisterModel steps registered (their jobs) and those created here (`crate::registry`). A RegisterModel
//! step into a group that does not exist makes it, as the service does.

use serde_json::{json, Map, Value};

use super::jobs::all_of;
use super::{remember, remembered, s, sort_and_page, t, user_context};
use crate::error::{ApiError, ApiResult};
use crate::jobs::JobKind;
use crate::persist::Write;
use crate::registry::{approval_of, key, Created, Group, Package, Update};
use crate::runtime::{Core, Inner};
use crate::state::{Epoch, JobStatus, Principal};

/// A group's name from a name or a `model-package-group/` ARN.
fn group_name(asked: &str) -> &str {
    asked.rsplit_once(":model-package-group/").map_or(asked, |(_, n)| n)
}

/// Every version at `now`: those steps registered, then those created here, with their updates applied.
pub(crate) fn packages(inner: &Inner, now: Epoch) -> Vec<Package> {
    let mut out = vec![];
    for job in all_of(inner, JobKind::ModelPackage, now) {
        let run = &job.run;
        let created = run.started.unwrap_or(run.created).min(now);
        let status = match run.status {
            JobStatus::Completed => "Completed",
            JobStatus::InProgress | JobStatus::Stopping => "InProgress",
            _ => "Failed",
        };
        let created_by = inner.store.executions.get(&job.execution_id).and_then(|ex| ex.created_by.clone());
        out.push(Package {
            group: job.name.clone(),
            version: run.package_version.unwrap_or(1),
            status,
            approval: approval_of(&run.arguments),
            approval_description: None,
            created,
            created_by: created_by.clone(),
            modified: created,
            modified_by: created_by,
            generated_by: Some(job.execution_arn.clone()),
            input: run.arguments.clone(),
        });
    }
    for c in inner.store.registry.created.values().filter(|c| c.created <= now) {
        out.push(Package {
            group: c.group.clone(),
            version: c.version,
            status: "Completed",
            approval: approval_of(&c.input),
            approval_description: None,
            created: c.created,
            created_by: c.created_by.clone(),
            modified: c.created,
            modified_by: c.created_by.clone(),
            generated_by: c.input.pointer("/MetadataProperties/GeneratedBy").and_then(Value::as_str).map(String::from),
            input: c.input.clone(),
        });
    }
    out.into_iter()
        .map(|p| {
            let u = inner.store.registry.updates.get(&p.key());
            p.updated(u)
        })
        .collect()
}

/// Every group at `now`: those created, and those only RegisterModel steps made (created with their first
/// version).
fn groups(inner: &Inner, now: Epoch) -> Vec<Group> {
    let mut all: std::collections::BTreeMap<String, Group> = inner
        .store
        .registry
        .groups
        .iter()
        .filter(|(_, g)| g.created <= now)
        .map(|(k, g)| (k.clone(), g.clone()))
        .collect();
    for p in packages(inner, now) {
        let g = all.entry(p.group.to_lowercase()).or_insert_with(|| Group {
            name: p.group.clone(),
            description: None,
            created: p.created,
            created_by: p.created_by.clone(),
            tags: Value::Null,
        });
        if p.created < g.created && !inner.store.registry.groups.contains_key(&p.group.to_lowercase()) {
            g.created = p.created;
        }
    }
    all.into_values().collect()
}

fn group_arn(inner: &Inner, name: &str) -> String {
    inner.account.arn(&format!("model-package-group/{name}"))
}

fn package_arn(inner: &Inner, group: &str, version: u32) -> String {
    inner.account.arn(&format!("model-package/{group}/{version}"))
}

/// A version named by its ARN, or by `group/version`.
fn find(inner: &Inner, asked: &str, now: Epoch) -> ApiResult<Package> {
    let rest = asked.rsplit_once(":model-package/").map_or(asked, |(_, r)| r);
    let wanted = rest.split_once('/').and_then(|(g, v)| v.parse::<u32>().ok().map(|v| key(g, v)));
    let missing = || ApiError::validation(format!("ModelPackage {asked} does not exist."));
    let wanted = wanted.ok_or_else(missing)?;
    packages(inner, now).into_iter().find(|p| p.key() == wanted).ok_or_else(missing)
}

fn who(by: Option<&Principal>, inner: &Inner) -> Value {
    user_context(by, inner)
}

/// The tags a group was created with (ListTags of its ARN).
pub fn group_tags(core: &Core, arn: &str) -> ApiResult<Value> {
    let inner = core.lock();
    let now = inner.clock.now();
    let name = arn.rsplit_once(":model-package-group/").map_or("", |(_, n)| n);
    let group = groups(&inner, now).into_iter().find(|g| g.name.eq_ignore_ascii_case(name));
    let group = group.ok_or_else(|| ApiError::validation(format!("ModelPackageGroup {name} does not exist.")))?;
    let tags = if group.tags.is_array() { group.tags } else { json!([]) };
    Ok(json!({ "Tags": tags }))
}

pub fn create_group(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let mut inner = core.lock();
    let now = inner.clock.now();
    let Some(name) = s(body, "ModelPackageGroupName").filter(|n| !n.is_empty()).map(String::from) else {
        return Err(ApiError::validation(
            "1 validation error detected: Value null at 'modelPackageGroupName' failed to satisfy constraint: Member must not be null",
        ));
    };
    if groups(&inner, now).iter().any(|g| g.name.eq_ignore_ascii_case(&name)) {
        return Err(ApiError::validation(format!("Model Package Group already exists: {}", group_arn(&inner, &name))));
    }
    let group = Group {
        name: name.clone(),
        description: s(body, "ModelPackageGroupDescription").map(String::from),
        created: now,
        created_by: by.cloned(),
        tags: body.get("Tags").cloned().unwrap_or(Value::Null),
    };
    let doc = serde_json::to_value(&group).unwrap_or(Value::Null);
    inner.persist(&[Write::Registry { key: &format!("group/{}", name.to_lowercase()), doc: &doc }])?;
    inner.store.registry.groups.insert(name.to_lowercase(), group);
    Ok(json!({"ModelPackageGroupArn": group_arn(&inner, &name)}))
}

pub fn describe_group(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let now = inner.clock.now();
    let asked = group_name(s(body, "ModelPackageGroupName").unwrap_or_default());
    let g = groups(&inner, now)
        .into_iter()
        .find(|g| g.name.eq_ignore_ascii_case(asked))
        .ok_or_else(|| ApiError::validation(format!("ModelPackageGroup {asked} does not exist.")))?;
    Ok(json!({
        "ModelPackageGroupName": g.name,
        "ModelPackageGroupArn": group_arn(&inner, &g.name),
        "ModelPackageGroupDescription": g.description,
        "CreationTime": g.created,
        "CreatedBy": who(g.created_by.as_ref(), &inner),
        "ModelPackageGroupStatus": "Completed",
    }))
}

pub fn list_groups(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let now = inner.clock.now();
    let contains = s(body, "NameContains").map(str::to_lowercase);
    let (after, before) = (t(body, "CreationTimeAfter"), t(body, "CreationTimeBefore"));
    let items: Vec<Group> = groups(&inner, now)
        .into_iter()
        .filter(|g| contains.as_deref().is_none_or(|c| g.name.to_lowercase().contains(c)))
        .filter(|g| after.is_none_or(|a| g.created > a) && before.is_none_or(|b| g.created < b))
        .collect();
    let by_name = s(body, "SortBy") == Some("Name");
    let (page, next) = sort_and_page(
        items,
        body,
        |a, b| if by_name { a.name.cmp(&b.name) } else { a.created.total_cmp(&b.created).then(a.name.cmp(&b.name)) },
        |g| g.name.to_lowercase(),
    )?;
    let list: Vec<Value> = page
        .iter()
        .map(|g| {
            json!({
                "ModelPackageGroupName": g.name,
                "ModelPackageGroupArn": group_arn(&inner, &g.name),
                "ModelPackageGroupDescription": g.description,
                "CreationTime": g.created,
                "ModelPackageGroupStatus": "Completed",
            })
        })
        .collect();
    Ok(json!({"ModelPackageGroupSummaryList": list, "NextToken": next}))
}

pub fn create_package(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let mut inner = core.lock();
    let token = s(body, "ClientToken");
    if let Some(answer) = remembered(&inner, "CreateModelPackage", token) {
        return Ok(answer);
    }
    let now = inner.clock.now();
    let Some(asked) = s(body, "ModelPackageGroupName") else {
        return Err(ApiError::validation(
            "ModelPackageGroupName is required: this endpoint keeps versioned model packages only (unversioned ones are for AWS Marketplace)",
        ));
    };
    let asked = group_name(asked).to_string();
    let group = groups(&inner, now)
        .into_iter()
        .find(|g| g.name.eq_ignore_ascii_case(&asked))
        .ok_or_else(|| ApiError::validation(format!("Model Package Group {asked} does not exist.")))?;
    if let Some(a) = s(body, "ModelApprovalStatus") {
        if !crate::registry::APPROVALS.contains(&a) {
            return Err(ApiError::validation(format!("Invalid ModelApprovalStatus: {a}")));
        }
    }
    let top = inner.store.package_versions.entry(group.name.to_lowercase()).or_insert(0);
    *top += 1;
    let version = *top;
    let created =
        Created { group: group.name.clone(), version, input: body.clone(), created: now, created_by: by.cloned() };
    let doc = serde_json::to_value(&created).unwrap_or(Value::Null);
    inner.persist(&[Write::Registry { key: &format!("created/{}", key(&group.name, version)), doc: &doc }])?;
    inner.store.registry.created.insert(key(&group.name, version), created);
    let arn = package_arn(&inner, &group.name, version);
    let answer = json!({"ModelPackageArn": arn});
    remember(&mut inner, "CreateModelPackage", token, &answer)?;
    if let Ok(p) = find(&inner, &arn, now) {
        let detail = state_change(&inner, &p);
        inner.publish("SageMaker Model Package State Change", &arn, detail, now);
    }
    Ok(answer)
}

pub fn describe_package(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let now = inner.clock.now();
    let p = find(&inner, s(body, "ModelPackageName").unwrap_or_default(), now)?;
    Ok(describe(&inner, &p))
}

/// DescribeModelPackage's answer for a version.
fn describe(inner: &Inner, p: &Package) -> Value {
    let pick = |k: &str| p.input.get(k).cloned();
    let metadata = p.metadata();
    json!({
        "ModelPackageName": p.group,
        "ModelPackageGroupName": p.group,
        "ModelPackageVersion": p.version,
        "ModelPackageArn": package_arn(inner, &p.group, p.version),
        "ModelPackageDescription": pick("ModelPackageDescription"),
        "CreationTime": p.created,
        "InferenceSpecification": pick("InferenceSpecification"),
        "ModelPackageStatus": p.status,
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": false,
        "ModelApprovalStatus": p.approval,
        "CreatedBy": who(p.created_by.as_ref(), inner),
        "MetadataProperties": p.generated_by.as_ref().map(|g| json!({"GeneratedBy": g})),
        "ModelMetrics": pick("ModelMetrics"),
        "LastModifiedTime": p.modified,
        "LastModifiedBy": who(p.modified_by.as_ref(), inner),
        "ApprovalDescription": p.approval_description,
        "Domain": pick("Domain"),
        "Task": pick("Task"),
        "SamplePayloadUrl": pick("SamplePayloadUrl"),
        "CustomerMetadataProperties": (!metadata.is_empty()).then_some(Value::Object(metadata)),
        "DriftCheckBaselines": pick("DriftCheckBaselines"),
        "SkipModelValidation": pick("SkipModelValidation").filter(|v| v.as_str().is_some_and(|s| s == "All" || s == "None")),
        "SourceUri": pick("SourceUri"),
    })
}

/// The `detail` of a "SageMaker Model Package State Change" event, as AWS documents it.
pub(crate) fn state_change(inner: &Inner, p: &Package) -> Value {
    super::strip_nulls(json!({
        "ModelPackageGroupName": p.group,
        "ModelPackageVersion": p.version,
        "ModelPackageArn": package_arn(inner, &p.group, p.version),
        "ModelPackageName": p.group,
        "ModelApprovalStatus": p.approval,
        "ModelPackageStatus": p.status,
        "CreationTime": crate::engine::iso8601(p.created),
        "MetadataProperties": p.generated_by.as_ref().map(|g| json!({"GeneratedBy": g})),
        "ApprovalDescription": p.approval_description,
    }))
}

pub fn list_packages(core: &Core, body: &Value) -> ApiResult<Value> {
    let inner = core.lock();
    let now = inner.clock.now();
    let group = s(body, "ModelPackageGroupName").map(group_name).map(str::to_lowercase);
    let approval = s(body, "ModelApprovalStatus");
    let contains = s(body, "NameContains").map(str::to_lowercase);
    let (after, before) = (t(body, "CreationTimeAfter"), t(body, "CreationTimeBefore"));
    // Every package here is a version of a group. SageMaker lists unversioned packages only when asked
    // for no type and no group, so that asks for none of these; `Versioned` or `Both` lists them all.
    let unversioned_only = match s(body, "ModelPackageType") {
        Some(t) => t == "Unversioned",
        None => group.is_none(),
    };
    let items: Vec<Package> = packages(&inner, now)
        .into_iter()
        .filter(|_| !unversioned_only)
        .filter(|p| group.as_deref().is_none_or(|g| p.group.to_lowercase() == g))
        .filter(|p| approval.is_none_or(|a| p.approval == a))
        .filter(|p| contains.as_deref().is_none_or(|c| p.group.to_lowercase().contains(c)))
        .filter(|p| after.is_none_or(|a| p.created > a) && before.is_none_or(|b| p.created < b))
        .collect();
    let by_name = s(body, "SortBy") == Some("Name");
    let (page, next) = sort_and_page(
        items,
        body,
        |a, b| {
            if by_name {
                a.group.cmp(&b.group).then(a.version.cmp(&b.version))
            } else {
                a.created.total_cmp(&b.created).then(a.version.cmp(&b.version))
            }
        },
        Package::key,
    )?;
    let list: Vec<Value> = page
        .iter()
        .map(|p| {
            json!({
                "ModelPackageName": p.group,
                "ModelPackageGroupName": p.group,
                "ModelPackageVersion": p.version,
                "ModelPackageArn": package_arn(&inner, &p.group, p.version),
                "ModelPackageDescription": p.input.get("ModelPackageDescription"),
                "CreationTime": p.created,
                "ModelPackageStatus": p.status,
                "ModelApprovalStatus": p.approval,
            })
        })
        .collect();
    Ok(json!({"ModelPackageSummaryList": list, "NextToken": next}))
}

pub fn update_package(core: &Core, body: &Value, by: Option<&Principal>) -> ApiResult<Value> {
    let mut inner = core.lock();
    let now = inner.clock.now();
    let asked = s(body, "ModelPackageArn").unwrap_or_default();
    let p = find(&inner, asked, now)?;
    let approval = s(body, "ModelApprovalStatus");
    if let Some(a) = approval {
        if !crate::registry::APPROVALS.contains(&a) {
            return Err(ApiError::validation(format!("Invalid ModelApprovalStatus: {a}")));
        }
        if p.status != "Completed" {
            return Err(ApiError::validation(format!(
                "Cannot update the approval status of model package {asked}: its status is {}",
                p.status
            )));
        }
    }
    let mut metadata: Map<String, Value> = p.metadata();
    let mut metadata_changed = false;
    if let Some(add) = body.get("CustomerMetadataProperties").and_then(Value::as_object) {
        metadata.extend(add.clone());
        metadata_changed = true;
    }
    if let Some(remove) = body.get("CustomerMetadataPropertiesToRemove").and_then(Value::as_array) {
        for k in remove.iter().filter_map(Value::as_str) {
            metadata.remove(k);
        }
        metadata_changed = true;
    }
    let k = p.key();
    let mut u = inner.store.registry.updates.get(&k).cloned().unwrap_or_default();
    if let Some(a) = approval {
        u.approval = Some(a.to_string());
    }
    if let Some(d) = s(body, "ApprovalDescription") {
        u.approval_description = Some(d.to_string());
    }
    if metadata_changed {
        u.metadata = Some(metadata);
    }
    u.modified = now;
    u.modified_by = by.cloned();
    let doc = serde_json::to_value(&u).unwrap_or(Value::Null);
    inner.persist(&[Write::Registry { key: &format!("update/{k}"), doc: &doc }])?;
    inner.store.registry.updates.insert(k, u);
    let arn = package_arn(&inner, &p.group, p.version);
    if approval.is_some_and(|a| a != p.approval) {
        if let Ok(now_p) = find(&inner, &arn, now) {
            let detail = state_change(&inner, &now_p);
            inner.publish("SageMaker Model Package State Change", &arn, detail, now);
        }
    }
    Ok(json!({"ModelPackageArn": arn}))
}

/// Rebuild the registry from its stored rows (`group/…`, `created/…`, `update/…`).
pub(crate) fn restore(registry: &mut crate::registry::Registry, rows: Vec<(String, Value)>) {
    for (k, doc) in rows {
        if let Some(name) = k.strip_prefix("group/") {
            if let Ok(g) = serde_json::from_value::<Group>(doc) {
                registry.groups.insert(name.to_string(), g);
            }
        } else if let Some(at) = k.strip_prefix("created/") {
            if let Ok(c) = serde_json::from_value::<Created>(doc) {
                registry.created.insert(at.to_string(), c);
            }
        } else if let Some(at) = k.strip_prefix("update/") {
            if let Ok(u) = serde_json::from_value::<Update>(doc) {
                registry.updates.insert(at.to_string(), u);
            }
        }
    }
}
