//! The Describe*Job and DescribeModelPackage answers: a job's properties (`crate::jobs::properties`, what
//! `Get` expressions read) plus what the service adds as the job runs — its times, secondary statuses
//! spread over the run, its failure, how long it trained and was billed for — made to fit the operation's
//! output shape. Pure: a function of the job's record and the moment asked about.

use serde_json::{json, Map, Value};

use crate::job_view::Job;
use crate::jobs::{self, Account, JobContext, JobKind};
use crate::shapes::model;
use crate::state::{Epoch, JobRun, JobStatus};
use crate::tuning::Tuning;

/// The images a job without one in its arguments runs (check steps run the model monitor's analyzer).
fn default_image(account: &Account, kind: &str) -> String {
    let repo = match kind {
        "processing" => "sagemaker-scikit-learn:1.2-1-cpu-py3",
        _ => "sagemaker-xgboost:1.7-1",
    };
    format!("683313688378.dkr.ecr.{}.amazonaws.com/{repo}", account.region)
}

/// The answer of the Describe operation of the job's kind.
pub fn describe(job: &Job, account: &Account, now: Epoch) -> Value {
    match job.kind {
        JobKind::Training => training(job, account, now),
        JobKind::Processing => processing(job, account, now),
        JobKind::Transform => transform(job, account, now),
        JobKind::Tuning => tuning(job, account, now),
        JobKind::ModelPackage => model_package(job, account, now),
    }
}

/// The job's properties with the given status: the arguments echoed and the fields SageMaker adds.
fn base(job: &Job, account: &Account, status: &str) -> Map<String, Value> {
    let step_type = job.kind.step_type();
    let ctx = JobContext {
        account,
        step_type: &step_type,
        step_name: &job.step_name,
        arguments: &job.run.arguments,
        job_name: &job.run.name,
        execution_id: &job.execution_id,
        metrics: &job.run.metrics,
        package_version: job.run.package_version.unwrap_or(1),
    };
    match jobs::properties(&ctx, status) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Keep what fits the output shape, member by member; a required member that is absent or does not fit
/// takes its default.
fn finish(shape: &str, doc: Map<String, Value>, defaults: Vec<(&str, Value)>) -> Value {
    let m = model();
    let members = m.shape(shape).and_then(|s| s.get("members")).and_then(Value::as_object);
    let mut out = Map::new();
    for (k, v) in doc {
        let target = members.and_then(|ms| ms.get(&k)).and_then(|t| t.get("shape")).and_then(Value::as_str);
        if let Some(kept) = target.and_then(|t| m.conform(t, &v)) {
            out.insert(k, kept);
        }
    }
    for (k, d) in defaults {
        out.entry(k.to_string()).or_insert(d);
    }
    Value::Object(out)
}

/// Times that have happened by `now`.
fn seen(t: Option<Epoch>, now: Epoch) -> Option<Epoch> {
    t.filter(|t| *t <= now)
}

fn last_modified(run: &JobRun, now: Epoch) -> Epoch {
    [Some(run.created), seen(run.started, now), seen(run.stopping, now), run.ended]
        .into_iter()
        .flatten()
        .fold(run.created, f64::max)
}

/// Make sure a structure member is an object and has `key`, without replacing what the arguments say.
fn fill(doc: &mut Map<String, Value>, member: &str, key: &str, value: Value) {
    let slot = doc.entry(member.to_string()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    if let Some(o) = slot.as_object_mut() {
        o.entry(key.to_string()).or_insert(value);
    }
}

/// One secondary status of a training job: status, start, end, message.
pub type Transition = (&'static str, Epoch, Option<Epoch>, String);

/// A training job's secondary statuses up to `now`: Starting until its instances are up, then Downloading,
/// Training and Uploading over its run (10%, 80%, 10%), then Completed, Failed (a failed job does not
/// upload) or Stopping and Stopped.
pub fn transitions(run: &JobRun, now: Epoch) -> Vec<Transition> {
    let mut out: Vec<Transition> = vec![];
    let ends = |t: Epoch| (t <= now).then_some(t);
    let failed_at = run.ended.filter(|_| run.status == JobStatus::Failed);
    let halt = run.stopping.or(failed_at).unwrap_or(f64::INFINITY);
    let up = run.started.filter(|s| *s <= halt);
    out.push((
        "Starting",
        run.created,
        up.or(run.stopping).and_then(ends),
        "Preparing the instances for training".into(),
    ));
    if let Some(s) = up.filter(|s| *s <= now) {
        let due = run.due.unwrap_or(s).max(s);
        let span = due - s;
        let phases = [
            ("Downloading", s, s + 0.1 * span, "Downloading input data"),
            ("Training", s + 0.1 * span, s + 0.9 * span, "Training image download completed. Training in progress."),
            ("Uploading", s + 0.9 * span, due, "Uploading generated training model"),
        ];
        for (status, from, to, message) in phases {
            if from > now || from >= halt || (status == "Uploading" && failed_at.is_some()) {
                break;
            }
            // A failing job trains until it fails.
            let to = if status == "Training" && failed_at.is_some() { halt } else { to };
            out.push((status, from, ends(to.min(halt)), message.into()));
        }
    }
    if let Some(s) = seen(run.stopping, now) {
        out.push(("Stopping", s, run.ended, "Stopping the training job".into()));
    }
    if let Some(e) = run.ended {
        let last = match run.status {
            JobStatus::Completed => ("Completed", "Training job completed".to_string()),
            JobStatus::Failed => ("Failed", run.failure_reason.clone().unwrap_or_else(|| "Training job failed".into())),
            _ => ("Stopped", "Training job stopped".into()),
        };
        // The one before it ends when it begins.
        if let Some(prev) = out.last_mut() {
            prev.2 = Some(prev.2.unwrap_or(e).min(e));
        }
        out.push((last.0, e, Some(e), last.1));
    }
    out
}

/// Seconds of a job's run, as the service counts them (whole seconds, at least one).
fn seconds(from: Epoch, to: Epoch) -> i64 {
    ((to - from).max(0.0).round() as i64).max(1)
}

fn training(job: &Job, account: &Account, now: Epoch) -> Value {
    let run = &job.run;
    let mut d = base(job, account, run.status.as_str());
    if run.status == JobStatus::Completed {
        // Final metrics are reported when the job has finished.
        if let Some(list) = d.get_mut("FinalMetricDataList").and_then(Value::as_array_mut) {
            for m in list.iter_mut().filter_map(Value::as_object_mut) {
                m.insert("Timestamp".into(), json!(run.ended));
            }
        }
    } else {
        d.remove("FinalMetricDataList");
    }
    let steps = transitions(run, now);
    let secondary = steps.last().map(|t| t.0).unwrap_or("Starting");
    d.insert("SecondaryStatus".into(), json!(secondary));
    let list: Vec<Value> = steps
        .iter()
        .map(|(s, from, to, msg)| json!({"Status": s, "StartTime": from, "EndTime": to, "StatusMessage": msg}))
        .collect();
    d.insert("SecondaryStatusTransitions".into(), Value::Array(list));
    d.insert("CreationTime".into(), json!(run.created));
    d.insert("TrainingStartTime".into(), json!(seen(run.started, now)));
    d.insert("TrainingEndTime".into(), json!(run.ended));
    d.insert("LastModifiedTime".into(), json!(last_modified(run, now)));
    if let (Some(s), Some(e)) = (run.started, run.ended) {
        let trained = seconds(s, e);
        // Managed spot training bills only what the spot capacity cost: 40-70% less, as the service reports.
        let spot = run.arguments.get("EnableManagedSpotTraining").and_then(Value::as_bool) == Some(true);
        let billed = if spot {
            let saving = 0.4 + 0.3 * crate::draws::unit(crate::draws::fingerprint(&run.name));
            ((trained as f64 * (1.0 - saving)).round() as i64).max(1)
        } else {
            trained
        };
        d.insert("TrainingTimeInSeconds".into(), json!(trained));
        d.insert("BillableTimeInSeconds".into(), json!(billed));
    }
    if run.status == JobStatus::Failed {
        d.insert("FailureReason".into(), json!(truncate(run.failure_reason.as_deref().unwrap_or(""), 1024)));
    }
    if let Some(t) = &job.tuning {
        d.insert("TuningJobArn".into(), json!(account.arn(&format!("hyper-parameter-tuning-job/{t}"))));
    }
    let image = default_image(account, "training");
    if !d.get("AlgorithmSpecification").is_some_and(Value::is_object) {
        d.insert("AlgorithmSpecification".into(), json!({"TrainingImage": image}));
    }
    fill(&mut d, "AlgorithmSpecification", "TrainingInputMode", json!("File"));
    if !d.get("ResourceConfig").is_some_and(Value::is_object) {
        d.insert(
            "ResourceConfig".into(),
            json!({"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}),
        );
    }
    let artifacts =
        d.get("ModelArtifacts").cloned().unwrap_or(json!({"S3ModelArtifacts": "s3://sagemaker-output/model.tar.gz"}));
    finish(
        "DescribeTrainingJobResponse",
        d,
        vec![
            ("StoppingCondition", json!({"MaxRuntimeInSeconds": 86400})),
            ("AlgorithmSpecification", json!({"TrainingImage": image, "TrainingInputMode": "File"})),
            ("ModelArtifacts", artifacts),
        ],
    )
}

fn processing(job: &Job, account: &Account, now: Epoch) -> Value {
    let run = &job.run;
    let mut d = base(job, account, run.status.as_str());
    d.insert("CreationTime".into(), json!(run.created));
    d.insert("ProcessingStartTime".into(), json!(seen(run.started, now)));
    d.insert("ProcessingEndTime".into(), json!(run.ended));
    d.insert("LastModifiedTime".into(), json!(last_modified(run, now)));
    if run.status == JobStatus::Failed {
        let reason = run.failure_reason.as_deref().unwrap_or("");
        d.insert("FailureReason".into(), json!(truncate(reason, 1024)));
        // What the container said last: the final line of its traceback.
        d.insert("ExitMessage".into(), json!(truncate(&crate::logs::failure_line(reason), 1024)));
    }
    fill(&mut d, "ProcessingResources", "ClusterConfig", json!({}));
    if let Some(c) =
        d.get_mut("ProcessingResources").and_then(|r| r.get_mut("ClusterConfig")).and_then(Value::as_object_mut)
    {
        c.entry("InstanceCount").or_insert(json!(1));
        c.entry("InstanceType").or_insert(json!("ml.m5.xlarge"));
        c.entry("VolumeSizeInGB").or_insert(json!(30));
    }
    let image = default_image(account, "processing");
    fill(&mut d, "AppSpecification", "ImageUri", json!(image));
    finish(
        "DescribeProcessingJobResponse",
        d,
        vec![
            (
                "ProcessingResources",
                json!({"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}}),
            ),
            ("AppSpecification", json!({"ImageUri": image})),
        ],
    )
}

fn transform(job: &Job, account: &Account, now: Epoch) -> Value {
    let run = &job.run;
    let mut d = base(job, account, run.status.as_str());
    d.insert("CreationTime".into(), json!(run.created));
    d.insert("TransformStartTime".into(), json!(seen(run.started, now)));
    d.insert("TransformEndTime".into(), json!(run.ended));
    if run.status == JobStatus::Failed {
        d.insert("FailureReason".into(), json!(truncate(run.failure_reason.as_deref().unwrap_or(""), 1024)));
    }
    let input =
        json!({"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://sagemaker-input/batch"}}});
    let resources = json!({"InstanceType": "ml.m5.xlarge", "InstanceCount": 1});
    finish(
        "DescribeTransformJobResponse",
        d,
        vec![("ModelName", json!("model")), ("TransformInput", input), ("TransformResources", resources)],
    )
}

fn tuning(job: &Job, account: &Account, now: Epoch) -> Value {
    let run = &job.run;
    let mut d = base(job, account, run.status.as_str());
    let t = Tuning::of(&run.arguments, &run.name, &run.metrics);
    let trials: Vec<(u32, JobRun)> = (0..t.count).filter_map(|k| t.trial_run(run, k, now).map(|r| (k, r))).collect();
    let count = |s: JobStatus| trials.iter().filter(|(_, r)| r.status == s).count();
    let (done, failed, stopped) = (count(JobStatus::Completed), count(JobStatus::Failed), count(JobStatus::Stopped));
    let running = count(JobStatus::InProgress) + count(JobStatus::Stopping);
    d.insert(
        "TrainingJobStatusCounters".into(),
        json!({"Completed": done, "InProgress": running, "RetryableError": 0, "NonRetryableError": failed, "Stopped": stopped}),
    );
    d.insert(
        "ObjectiveStatusCounters".into(),
        json!({"Succeeded": done, "Pending": running, "Failed": failed + stopped}),
    );
    // The best trial so far, among those that finished.
    let better = |a: f64, b: f64| if t.minimize { a < b } else { a > b };
    let best = trials.iter().filter(|(_, r)| r.status == JobStatus::Completed).fold(
        None::<&(u32, JobRun)>,
        |acc, c| match acc {
            Some(a) if !better(t.objective_value(c.0), t.objective_value(a.0)) => Some(a),
            _ => Some(c),
        },
    );
    match best {
        Some((k, r)) => {
            d.insert(
                "BestTrainingJob".into(),
                json!({
                    "TrainingJobName": r.name,
                    "TrainingJobArn": account.arn(&format!("training-job/{}", r.name)),
                    "TuningJobName": run.name,
                    "CreationTime": r.created,
                    "TrainingStartTime": r.started,
                    "TrainingEndTime": r.ended,
                    "TrainingJobStatus": "Completed",
                    "TunedHyperParameters": t.tuned(*k),
                    "FinalHyperParameterTuningJobObjectiveMetric": {
                        "Type": if t.minimize { "Minimize" } else { "Maximize" },
                        "MetricName": t.objective,
                        "Value": t.objective_value(*k),
                    },
                    "ObjectiveStatus": "Succeeded",
                }),
            );
        }
        None => {
            d.remove("BestTrainingJob");
        }
    }
    d.insert("CreationTime".into(), json!(run.created));
    d.insert("HyperParameterTuningEndTime".into(), json!(run.ended));
    d.insert("LastModifiedTime".into(), json!(last_modified(run, now)));
    if run.status == JobStatus::Failed {
        d.insert("FailureReason".into(), json!(truncate(run.failure_reason.as_deref().unwrap_or(""), 1024)));
    }
    let config = json!({"Strategy": "Bayesian", "ResourceLimits": {"MaxNumberOfTrainingJobs": t.count, "MaxParallelTrainingJobs": t.parallel}});
    finish(
        "DescribeHyperParameterTuningJobResponse",
        d,
        vec![
            ("HyperParameterTuningJobConfig", config),
            ("TrainingJobStatusCounters", json!({})),
            ("ObjectiveStatusCounters", json!({})),
        ],
    )
}

fn model_package(job: &Job, account: &Account, now: Epoch) -> Value {
    let run = &job.run;
    let version = run.package_version.unwrap_or(1);
    let mut d = base(job, account, "Completed");
    let status = match run.status {
        JobStatus::Completed => "Completed",
        JobStatus::InProgress => "InProgress",
        _ => "Failed",
    };
    d.insert("ModelPackageName".into(), json!(job.name));
    d.insert("ModelPackageGroupName".into(), json!(job.name));
    d.insert("ModelPackageVersion".into(), json!(version));
    d.insert("ModelPackageStatus".into(), json!(status));
    d.insert("ModelPackageStatusDetails".into(), json!({"ValidationStatuses": [], "ImageScanStatuses": []}));
    d.insert("CreationTime".into(), json!(seen(run.started, now).unwrap_or(run.created)));
    d.insert("LastModifiedTime".into(), json!(last_modified(run, now)));
    d.insert("CertifyForMarketplace".into(), json!(false));
    d.insert("MetadataProperties".into(), json!({"GeneratedBy": job.execution_arn}));
    let arn = account.arn(&format!("model-package/{}/{version}", job.name));
    finish(
        "DescribeModelPackageOutput",
        d,
        vec![
            ("ModelPackageArn", json!(arn)),
            // A version registered without a status waits for a person, as the service's do.
            ("ModelApprovalStatus", json!("PendingManualApproval")),
        ],
    )
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: JobStatus) -> JobRun {
        let mut r = JobRun::new("pipelines-e-T-r", "Training", 1, 100.0);
        r.started = Some(102.0);
        r.due = Some(202.0);
        r.arguments =
            json!({"ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30}});
        if status != JobStatus::InProgress {
            r.end(status, 202.0, Some("AlgorithmError: out of memory".into()));
        }
        r
    }

    #[test]
    fn secondary_statuses_follow_the_run() {
        let names = |v: Vec<Transition>| v.iter().map(|t| t.0).collect::<Vec<_>>();
        assert_eq!(names(transitions(&run(JobStatus::InProgress), 101.0)), ["Starting"]);
        assert_eq!(names(transitions(&run(JobStatus::InProgress), 150.0)), ["Starting", "Downloading", "Training"]);
        let t = transitions(&run(JobStatus::InProgress), 150.0);
        assert_eq!(t[2].2, None, "the current one has not ended");
        assert_eq!(t[1].2, Some(112.0));
        assert_eq!(
            names(transitions(&run(JobStatus::Completed), 300.0)),
            ["Starting", "Downloading", "Training", "Uploading", "Completed"]
        );
        let failed = transitions(&run(JobStatus::Failed), 300.0);
        assert_eq!(names(failed.clone()), ["Starting", "Downloading", "Training", "Failed"]);
        assert_eq!(failed[3].3, "AlgorithmError: out of memory");
        let mut stopped = run(JobStatus::InProgress);
        stopped.stopping = Some(150.0);
        stopped.end(JobStatus::Stopped, 155.0, None);
        assert_eq!(names(transitions(&stopped, 300.0)), ["Starting", "Downloading", "Training", "Stopping", "Stopped"]);
    }
}
