//! DescribeTrainingJob, DescribeProcessingJob, DescribeTransformJob, DescribeHyperParameterTuningJob and
//! DescribeModelPackage: the jobs pipeline steps created, found by their names in the job index, described
//! by `crate::describe` at the service's current time. Also the lookups the job logs share.

use serde_json::Value;

use super::s;
use crate::describe::describe as document;
use crate::error::{ApiError, ApiResult};
use crate::job_view::{key, view, Job, Origin};
use crate::jobs::JobKind;
use crate::runtime::{Core, Inner};
use crate::state::Epoch;
use crate::store::JobRef;

/// The job a reference in the index points at, as it is at `now`.
pub(crate) fn job_at(inner: &Inner, at: &JobRef, now: Epoch) -> Option<Job> {
    let ex = inner.store.executions.get(&at.execution)?;
    let step = ex.steps.get(at.step)?;
    let run = step.jobs.get(at.job)?;
    let origin = Origin { step_name: &step.name, execution_id: &ex.id, execution_arn: &ex.arn };
    view(&origin, run, at.trial, now)
}

/// A job by its kind and name (any case), if the service has created it by `now`.
pub(crate) fn find(inner: &Inner, kind: JobKind, name: &str, now: Epoch) -> Option<Job> {
    let at = inner.store.jobs.get(&key(kind, name))?;
    job_at(inner, at, now).filter(|j| j.kind == kind)
}

/// Every job of a kind the service has created by `now`.
pub(crate) fn all_of(inner: &Inner, kind: JobKind, now: Epoch) -> Vec<Job> {
    let prefix = format!("{}/", kind.resource());
    inner
        .store
        .jobs
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(_, at)| job_at(inner, at, now))
        .filter(|j| j.kind == kind)
        .collect()
}

/// What the service answers for a job it does not have, by kind (its own words for each).
fn missing(kind: JobKind, name: &str) -> ApiError {
    match kind {
        JobKind::Training => ApiError::validation("Requested resource not found."),
        JobKind::Tuning => ApiError::not_found(format!("Amazon SageMaker can't find a tuning job with name {name}")),
        JobKind::ModelPackage => ApiError::validation(format!("ModelPackage {name} does not exist.")),
        _ => ApiError::validation(format!("Could not find requested job with name {name}")),
    }
}

pub fn describe(core: &Core, body: &Value, kind: JobKind) -> ApiResult<Value> {
    let member = match kind {
        JobKind::Training => "TrainingJobName",
        JobKind::Processing => "ProcessingJobName",
        JobKind::Transform => "TransformJobName",
        JobKind::Tuning => "HyperParameterTuningJobName",
        JobKind::ModelPackage => "ModelPackageName",
    };
    let asked = s(body, member).unwrap_or_default();
    let name = match kind {
        JobKind::ModelPackage => package_name(asked).ok_or_else(|| missing(kind, asked))?,
        _ => asked.to_string(),
    };
    let inner = core.lock();
    let now = inner.clock.now();
    let job = find(&inner, kind, &name, now).ok_or_else(|| missing(kind, asked))?;
    Ok(document(&job, &inner.account, now))
}

/// `group/version` of a versioned model package named by ARN or by `group/version`; None for an unversioned
/// name, which names no package a pipeline registered.
fn package_name(asked: &str) -> Option<String> {
    let rest = asked.rsplit_once(":model-package/").map_or(asked, |(_, r)| r);
    let (group, version) = rest.split_once('/')?;
    let version: u32 = version.parse().ok()?;
    Some(format!("{group}/{version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_packages_are_named_by_group_and_version() {
        assert_eq!(package_name("AbaloneModels/3").as_deref(), Some("AbaloneModels/3"));
        assert_eq!(
            package_name("arn:aws:sagemaker:us-east-1:123456789012:model-package/abalonemodels/12").as_deref(),
            Some("abalonemodels/12")
        );
        assert_eq!(package_name("AbaloneModels"), None);
    }
}
