//! A job as Describe*Job and CloudWatch Logs see it at a moment: the job of one step attempt, or one trial of
//! a tuning step's tuning job (a training job of its own); and the keys the store finds jobs by.

use serde_json::Value;
use stepline_definition::StepType;

use crate::jobs::JobKind;
use crate::state::{Epoch, JobRun};
use crate::tuning::Tuning;

#[derive(Clone, Debug)]
pub struct Job {
    pub kind: JobKind,
    /// The job's name (a model package's: its group's).
    pub name: String,
    pub step_name: String,
    pub execution_id: String,
    pub execution_arn: String,
    /// The job's record; for a trial, derived from its tuning job's.
    pub run: JobRun,
    /// The tuning job whose trial this training job is.
    pub tuning: Option<String>,
}

/// The index key of a job: `<resource type>/<name lower-cased>`, or `model-package/<group>/<version>`.
pub fn key(kind: JobKind, name: &str) -> String {
    format!("{}/{}", kind.resource(), name.to_lowercase())
}

/// The model package group a RegisterModel step registers in (a name, or the name in a group ARN).
pub fn package_group(arguments: &Value) -> String {
    let group = arguments.get("ModelPackageGroupName").and_then(Value::as_str).unwrap_or("models");
    group.rsplit_once("model-package-group/").map(|(_, n)| n).unwrap_or(group).to_string()
}

/// Every key a job record answers to, with the trial each one names: a tuning job answers for its trials too
/// (once it has started and its arguments say how many), a model package once it has its version.
pub fn keys(run: &JobRun) -> Vec<(String, Option<u32>)> {
    let Some(kind) = JobKind::of(&StepType::parse(&run.step_type)) else { return vec![] };
    match kind {
        JobKind::ModelPackage => match run.package_version {
            Some(v) => vec![(key(kind, &format!("{}/{v}", package_group(&run.arguments))), None)],
            None => vec![],
        },
        JobKind::Tuning => {
            let mut out = vec![(key(kind, &run.name), None)];
            if run.started.is_some() {
                let t = Tuning::of(&run.arguments, &run.name, &run.metrics);
                out.extend((0..t.count).map(|k| (key(JobKind::Training, &t.trial_name(k)), Some(k))));
            }
            out
        }
        _ => vec![(key(kind, &run.name), None)],
    }
}

/// What a view of a job needs to know about where it ran.
pub struct Origin<'a> {
    pub step_name: &'a str,
    pub execution_id: &'a str,
    pub execution_arn: &'a str,
}

/// The job a record (or one of its trials) is at `now`; None before the service has created it (a retry
/// waiting out its interval, a trial of a later wave).
pub fn view(origin: &Origin, run: &JobRun, trial: Option<u32>, now: Epoch) -> Option<Job> {
    if run.created > now {
        return None;
    }
    let kind = JobKind::of(&StepType::parse(&run.step_type))?;
    let (kind, name, run, tuning) = match (kind, trial) {
        (JobKind::Tuning, Some(k)) => {
            let t = Tuning::of(&run.arguments, &run.name, &run.metrics);
            let trial = t.trial_run(run, k, now)?;
            (JobKind::Training, trial.name.clone(), trial, Some(run.name.clone()))
        }
        (JobKind::ModelPackage, _) => {
            run.package_version?;
            (kind, package_group(&run.arguments), run.clone(), None)
        }
        _ => (kind, run.name.clone(), run.clone(), None),
    };
    Some(Job {
        kind,
        name,
        step_name: origin.step_name.to_string(),
        execution_id: origin.execution_id.to_string(),
        execution_arn: origin.execution_arn.to_string(),
        run,
        tuning,
    })
}
