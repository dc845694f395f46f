//! The model registry's pages and the reviewer's decision.
//!
//! Who sees and decides what (the rule, documented in the README): a version registered by a pipeline
//! execution belongs to that pipeline. A group is shown to whoever may read the pipeline that registered its
//! newest version; a version may be approved or rejected by an operator of the pipeline that registered it.
//! A policy grant naming the group (`model-groups`) replaces that rule for the people it applies to.
//! Versions no pipeline registered, in groups no grant names, are the admins'. Admins see and decide
//! everything.
//!
//! What a page costs upstream: `/models` makes ListModelPackageGroups, then per group (at most `GROUPS`)
//! one ListModelPackages and one DescribeModelPackage of its newest version; a group's page one
//! DescribeModelPackageGroup, ListModelPackages, DescribeModelPackage for each of the newest `DESCRIBED`
//! versions and, for the newest `WITH_METRICS` of those, ListPipelineExecutionSteps, DescribeTrainingJob and
//! ListPipelineParametersForExecution of the registering execution (metrics and parameters side by side).

use futures::future::join_all;
use stepline_types::error::{AppError, Subject};
use stepline_types::model::access::Role;
use stepline_types::model::activity::Action;
use stepline_types::model::jobs::Metric;
use stepline_types::model::registry::{ModelVersion, Verdict, VersionView};
use stepline_types::model::{JobKind, StepMetadata, Upstream};
use stepline_types::page::{ModelGroupPage, ModelGroupRow, ModelsPage};

use crate::access::Who;
use crate::state::{enter, AppState};

/// The most groups `/models` lists.
const GROUPS: usize = 100;
/// The newest versions of a group described on its page.
const DESCRIBED: usize = 10;
/// Of those, the newest whose training job's metrics are shown.
const WITH_METRICS: usize = 5;

/// The reader's role on a version: an admin everywhere is an admin here; a grant naming its group decides
/// when there is one; else their role on the pipeline that registered it (`None`: no pipeline did, or they
/// may not read it).
pub(crate) async fn role_on(who: &Who, admin: bool, v: &ModelVersion) -> Option<Role> {
    if admin {
        return Some(Role::Admin);
    }
    if let Some(role) = who.model_group_role(&v.summary.group).await {
        return Some(role);
    }
    let (pipeline, _) = v.registered_by()?;
    who.role(&pipeline).await
}

/// The registry says a group or version it does not have with a ValidationException ("… does not
/// exist."): that is an unknown page, not SageMaker failing.
fn unknown_or(e: Upstream, subject: Subject) -> AppError {
    if e.is_not_found() || (e.code == "ValidationException" && e.message.contains("does not exist")) {
        AppError::not_found(subject)
    } else {
        AppError::from_upstream(e, subject)
    }
}

pub(crate) fn is_admin(who: &Who) -> bool {
    who.everywhere().0 == Some(Role::Admin)
}

pub async fn models() -> Result<ModelsPage, AppError> {
    let (state, who) = enter().await?;
    let admin = is_admin(&who);
    let groups = state.gateway.model_groups().await.map_err(AppError::Upstream)?;
    let rows = join_all(groups.into_iter().take(GROUPS).map(|g| {
        let (state, who) = (&state, &who);
        async move {
            let versions = state.gateway.model_versions(&g.name).await.ok()?;
            let newest = versions.first().cloned();
            let visible = match &newest {
                _ if admin => true,
                Some(n) => match state.gateway.model_version(&n.arn).await {
                    Ok(v) => role_on(who, false, &v).await.is_some(),
                    Err(_) => false,
                },
                None => false,
            };
            let pending = versions
                .iter()
                .filter(|v| v.approval == stepline_types::model::registry::Approval::PendingManualApproval)
                .count();
            visible.then_some(ModelGroupRow { group: g, newest, versions: versions.len(), pending })
        }
    }))
    .await;
    let (everywhere, _) = who.everywhere();
    Ok(ModelsPage { groups: rows.into_iter().flatten().collect(), me: who.me(everywhere) })
}

/// The final metrics of the training job the registering execution ran (its first training step's).
async fn training_metrics(state: &AppState, execution_arn: &str) -> Option<(String, Vec<Metric>)> {
    let steps = state.gateway.list_steps(execution_arn).await.ok()?;
    let name = steps.iter().find_map(|s| match &s.metadata {
        StepMetadata::Job { kind: JobKind::Training, name, .. } => Some(name.clone()),
        _ => None,
    })?;
    let job = state.gateway.describe_job(JobKind::Training, &name).await.ok()?;
    Some((name, job.metrics))
}

pub async fn model_group(name: &str) -> Result<ModelGroupPage, AppError> {
    let (state, who) = enter().await?;
    let admin = is_admin(&who);
    let subject = Subject::ModelGroup(name);
    let group = state.gateway.model_group(name).await.map_err(|e| unknown_or(e, subject))?;
    let versions = state.gateway.model_versions(&group.name).await.map_err(AppError::Upstream)?;
    let (newest, older) = versions.split_at(versions.len().min(DESCRIBED));
    let described = join_all(newest.iter().map(|v| state.gateway.model_version(&v.arn))).await;
    let mut views = vec![];
    for (i, d) in described.into_iter().enumerate() {
        let Ok(version) = d else { continue };
        let role = role_on(&who, admin, &version).await;
        let readable = role.is_some();
        let (mut training_job, mut metrics, mut parameters) = (None, vec![], vec![]);
        if let (true, Some(arn)) = (readable && i < WITH_METRICS, version.generated_by.clone()) {
            if version.registered_by().is_some() {
                (training_job, metrics) =
                    training_metrics(&state, &arn).await.map(|(n, m)| (Some(n), m)).unwrap_or_default();
                parameters = state.gateway.list_parameters(&arn).await.unwrap_or_default();
            }
        }
        views.push((
            readable,
            VersionView {
                version,
                training_job,
                metrics,
                parameters,
                may_decide: role.is_some_and(|r| r >= Role::Operator),
            },
        ));
    }
    // A group is the reader's when its newest version is: otherwise it answers as unknown.
    if !views.first().is_some_and(|(readable, _)| *readable) {
        return Err(AppError::not_found(subject));
    }
    let (everywhere, _) = who.everywhere();
    Ok(ModelGroupPage {
        group,
        versions: views.into_iter().map(|(_, v)| v).collect(),
        older: older.to_vec(),
        me: who.me(everywhere),
    })
}

/// Approve or reject a version (`arn`) of `group`: an operator of the pipeline that registered it, or an
/// admin; made as the person, on record either way.
pub async fn decide(group: &str, arn: &str, verdict: Verdict, comment: &str) -> Result<(), AppError> {
    let (state, who) = enter().await?;
    let action = match verdict {
        Verdict::Approve => Action::ApproveModel,
        Verdict::Reject => Action::RejectModel,
    };
    let subject = Subject::ModelGroup(group);
    let version = state.gateway.model_version(arn).await.map_err(|e| unknown_or(e, subject))?;
    if !version.summary.group.eq_ignore_ascii_case(group) {
        return Err(AppError::not_found(subject));
    }
    let pipeline = version.registered_by().map(|(p, _)| p);
    let held = role_on(&who, is_admin(&who), &version).await;
    let refused = match held {
        Some(r) if r >= Role::Operator => None,
        None if pipeline.is_none() => Some(AppError::Forbidden(
            "This version was not registered by a pipeline and no grant names its group: only an admin may \
             decide on it."
                .into(),
        )),
        None => Some(AppError::not_found(subject)),
        Some(_) => Some(AppError::Forbidden(who.me(held).cannot_operate().unwrap_or_default())),
    };
    if let Some(e) = refused {
        let detail = serde_json::json!({ "group": version.summary.group, "version": version.summary.version });
        who.record(held, action, pipeline.as_deref(), version.generated_by.as_deref(), Err(&e), detail).await?;
        return Err(e);
    }
    let role = held.unwrap_or(Role::Operator);
    let checked = verdict.check_comment(comment).map_err(AppError::Invalid);
    let done = match checked {
        Ok(()) => {
            who.acting(state.gateway.decide_model(arn, verdict.approval(), comment)).await.map_err(AppError::Refused)
        }
        Err(e) => Err(e),
    };
    let detail = serde_json::json!({
        "group": version.summary.group,
        "version": version.summary.version,
        "model_package": version.summary.arn,
        "comment": stepline_types::text::clip(comment.trim(), 1024),
    });
    who.record(
        Some(role),
        action,
        pipeline.as_deref(),
        version.generated_by.as_deref(),
        done.as_ref().map(|_| ()),
        detail,
    )
    .await?;
    if done.is_ok() {
        state.inbox.invalidate();
    }
    done
}
