//! A tuning step's hyperparameter tuning job and the training jobs it runs (its trials): how many, in how
//! many waves, which one wins, what each was given and when it ran. Every trial is a function of the tuning
//! job's arguments, name, timing and scenario, so nothing is stored per trial.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::draws::{default_metric_value, fingerprint, lower_is_better, mix, unit};
use crate::state::{Epoch, JobRun, JobStatus};

/// Trials a tuning job runs when its ResourceLimits do not say, and the most it runs here.
const DEFAULT_TRIALS: u32 = 4;
const MAX_TRIALS: u32 = 20;

/// What a tuning job's arguments say about its trials.
pub struct Tuning<'a> {
    args: &'a Value,
    name: &'a str,
    pub count: u32,
    pub parallel: u32,
    /// The objective metric, and whether smaller is better.
    pub objective: String,
    pub minimize: bool,
    /// The best trial's objective value (the scenario's, or a plausible one).
    pub best_value: f64,
}

impl<'a> Tuning<'a> {
    pub fn of(args: &'a Value, name: &'a str, metrics: &BTreeMap<String, f64>) -> Tuning<'a> {
        let config = args.get("HyperParameterTuningJobConfig");
        let limits = config.and_then(|c| c.get("ResourceLimits"));
        let int = |k: &str| {
            limits.and_then(|l| l.get(k)).and_then(Value::as_u64).map(|n| n.min(u64::from(MAX_TRIALS)) as u32)
        };
        let count = int("MaxNumberOfTrainingJobs").unwrap_or(DEFAULT_TRIALS).clamp(1, MAX_TRIALS);
        let parallel = int("MaxParallelTrainingJobs").unwrap_or(2).clamp(1, count);
        let objective_def = config
            .and_then(|c| c.get("HyperParameterTuningJobObjective"))
            .or_else(|| training_definition(args).and_then(|d| d.get("TuningObjective")));
        let objective = objective_def
            .and_then(|o| o.get("MetricName"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or("validation:rmse")
            .to_string();
        let minimize = match objective_def.and_then(|o| o.get("Type")).and_then(Value::as_str) {
            Some("Maximize") => false,
            Some("Minimize") => true,
            _ => lower_is_better(&objective),
        };
        let best_value = metrics.get(&objective).copied().unwrap_or_else(|| default_metric_value(&objective));
        Tuning { args, name, count, parallel, objective, minimize, best_value }
    }

    /// `<tuning job>-<NNN>-<8 hex>`, as the service names the training jobs of a tuning job.
    pub fn trial_name(&self, k: u32) -> String {
        let h = mix(fingerprint(self.name), u64::from(k)) as u32;
        format!("{}-{:03}-{h:08x}", self.name, k + 1)
    }

    /// Which trial a training job name is, if it is one of this tuning job's.
    pub fn trial_of(&self, training_job: &str) -> Option<u32> {
        (0..self.count).find(|k| self.trial_name(*k).eq_ignore_ascii_case(training_job))
    }

    /// 0 for the best trial, then in order of objective value.
    fn rank(&self, k: u32) -> u32 {
        let shift = (fingerprint(self.name) % u64::from(self.count)) as u32;
        (k + shift) % self.count
    }

    pub fn best_trial(&self) -> u32 {
        (0..self.count).find(|k| self.rank(*k) == 0).unwrap_or(0)
    }

    pub fn best_trial_name(&self) -> String {
        self.trial_name(self.best_trial())
    }

    /// The objective value trial `k` ends with: the best value, a few percent worse per rank.
    pub fn objective_value(&self, k: u32) -> f64 {
        let r = f64::from(self.rank(k));
        if self.minimize {
            self.best_value * (1.0 + 0.04 * r)
        } else {
            self.best_value * (1.0 - 0.03 * r)
        }
    }

    /// The hyperparameters the tuning job chose for trial `k` from its ranges (values as strings).
    pub fn tuned(&self, k: u32) -> Map<String, Value> {
        let ranges = self
            .args
            .pointer("/HyperParameterTuningJobConfig/ParameterRanges")
            .or_else(|| training_definition(self.args).and_then(|d| d.get("HyperParameterRanges")));
        let mut out = Map::new();
        let Some(ranges) = ranges else { return out };
        let list = |key: &str| ranges.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let draw = |name: &str| unit(mix(fingerprint(&format!("{}/{name}", self.name)), u64::from(k)));
        let num = |r: &Value, key: &str| r.get(key).and_then(Value::as_str).and_then(|v| v.trim().parse::<f64>().ok());
        for r in list("ContinuousParameterRanges") {
            let Some(name) = r.get("Name").and_then(Value::as_str) else { continue };
            if let (Some(lo), Some(hi)) = (num(&r, "MinValue"), num(&r, "MaxValue")) {
                let v = lo + (hi - lo) * draw(name);
                out.insert(name.to_string(), json!(format!("{v:.6}").trim_end_matches('0').trim_end_matches('.')));
            }
        }
        for r in list("IntegerParameterRanges") {
            let Some(name) = r.get("Name").and_then(Value::as_str) else { continue };
            if let (Some(lo), Some(hi)) = (num(&r, "MinValue"), num(&r, "MaxValue")) {
                let v = (lo + (hi - lo) * draw(name)).round() as i64;
                out.insert(name.to_string(), json!(v.to_string()));
            }
        }
        for r in list("CategoricalParameterRanges") {
            let Some(name) = r.get("Name").and_then(Value::as_str) else { continue };
            let values: Vec<&str> =
                r.get("Values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            if !values.is_empty() {
                let i = (draw(name) * values.len() as f64) as usize;
                out.insert(name.to_string(), json!(values[i.min(values.len() - 1)]));
            }
        }
        out
    }

    /// The arguments of trial `k` as a training job's: the tuning job's training job definition, with its
    /// static hyperparameters and the tuned ones.
    pub fn training_arguments(&self, k: u32) -> Value {
        let mut m = training_definition(self.args).and_then(Value::as_object).cloned().unwrap_or_default();
        let mut hyper = m.remove("StaticHyperParameters").and_then(|v| v.as_object().cloned()).unwrap_or_default();
        hyper.extend(self.tuned(k));
        for k in ["DefinitionName", "TuningObjective", "HyperParameterRanges", "HyperParameterTuningResourceConfig"] {
            m.remove(k);
        }
        m.insert("HyperParameters".into(), Value::Object(hyper));
        Value::Object(m)
    }

    /// When trial `k` runs within the tuning job's run: trials go in waves of `parallel`.
    pub fn window(&self, k: u32, started: Epoch, due: Epoch) -> (Epoch, Epoch) {
        let waves = self.count.div_ceil(self.parallel);
        let w = f64::from(k / self.parallel);
        let span = (due - started).max(0.0) / f64::from(waves);
        (started + span * w, started + span * (w + 1.0))
    }

    fn last_wave(&self, k: u32) -> bool {
        k / self.parallel + 1 == self.count.div_ceil(self.parallel)
    }

    /// Trial `k` as a training job's record at `now`, once the tuning job has created it.
    pub fn trial_run(&self, parent: &JobRun, k: u32, now: Epoch) -> Option<JobRun> {
        let (started, due) = (parent.started?, parent.due?);
        let (t0, t1) = self.window(k, started, due);
        if t0 > now || parent.stopping.is_some_and(|s| s <= t0) || k >= self.count {
            return None;
        }
        let mut run = JobRun::new(&self.trial_name(k), "Training", parent.attempt, t0);
        run.started = Some(t0 + (t1 - t0) * 0.05);
        run.due = Some(t1);
        run.arguments = self.training_arguments(k);
        run.log_lines = parent.log_lines;
        run.metrics = parent.metrics.clone();
        run.metrics.insert(self.objective.clone(), self.objective_value(k));
        match (parent.stopping, parent.status) {
            (Some(s), _) if s < t1 => {
                run.stopping = Some(s);
                match parent.ended.filter(|_| parent.status == JobStatus::Stopped) {
                    Some(e) => run.end(JobStatus::Stopped, e, None),
                    None if now >= s => run.status = JobStatus::Stopping,
                    None => {}
                }
            }
            (_, JobStatus::Failed) if self.last_wave(k) => {
                if let Some(e) = parent.ended {
                    run.end(JobStatus::Failed, e, parent.failure_reason.clone());
                }
            }
            _ if now >= t1 => run.end(JobStatus::Completed, t1, None),
            _ => {}
        }
        Some(run)
    }
}

/// The training job definition of a tuning job: `TrainingJobDefinition`, or the first of
/// `TrainingJobDefinitions`.
fn training_definition(args: &Value) -> Option<&Value> {
    args.get("TrainingJobDefinition").or_else(|| args.get("TrainingJobDefinitions").and_then(|d| d.get(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Value {
        json!({"HyperParameterTuningJobConfig": {"Strategy": "Bayesian",
                 "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
                 "ResourceLimits": {"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 2},
                 "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5"}],
                                     "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "3", "MaxValue": "9"}],
                                     "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}]}},
               "TrainingJobDefinition": {"StaticHyperParameters": {"num_round": "50"},
                 "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
                 "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}}})
    }

    #[test]
    fn trials_are_named_ranked_and_tuned_the_same_every_time() {
        let a = args();
        let metrics: BTreeMap<String, f64> = [("validation:auc".to_string(), 0.95)].into();
        let t = Tuning::of(&a, "abc123def456-Tune-x1y2z3w4v5", &metrics);
        assert_eq!((t.count, t.parallel, t.minimize), (5, 2, false));
        let best = t.best_trial();
        assert_eq!(t.objective_value(best), 0.95);
        assert!((0..5).all(|k| k == best || t.objective_value(k) < 0.95));
        let name = t.trial_name(best);
        assert!(name.starts_with("abc123def456-Tune-x1y2z3w4v5-00") && name.len() <= 63, "{name}");
        assert_eq!(t.trial_of(&name.to_uppercase()), Some(best));
        let args = t.training_arguments(1);
        assert_eq!(args["HyperParameters"]["num_round"], "50");
        let eta: f64 = args["HyperParameters"]["eta"].as_str().unwrap().parse().unwrap();
        assert!((0.1..=0.5).contains(&eta));
        assert!(["gbtree", "dart"].contains(&args["HyperParameters"]["booster"].as_str().unwrap()));
        assert_eq!(t.tuned(1), Tuning::of(&a, "abc123def456-Tune-x1y2z3w4v5", &metrics).tuned(1));
    }

    #[test]
    fn trials_run_in_waves_and_share_the_tuning_jobs_end() {
        let a = args();
        let t = Tuning::of(&a, "tune", &BTreeMap::new());
        let mut parent = JobRun::new("tune", "Tuning", 1, 0.0);
        parent.started = Some(10.0);
        parent.due = Some(100.0);
        // Three waves of 30 s: trials 0-1, 2-3, 4.
        assert_eq!(t.window(2, 10.0, 100.0), (40.0, 70.0));
        assert!(t.trial_run(&parent, 4, 50.0).is_none(), "the last wave has not begun");
        assert_eq!(t.trial_run(&parent, 0, 50.0).unwrap().status, JobStatus::Completed);
        assert_eq!(t.trial_run(&parent, 2, 50.0).unwrap().status, JobStatus::InProgress);
        parent.end(JobStatus::Failed, 100.0, Some("AlgorithmError: boom".into()));
        let last = t.trial_run(&parent, 4, 120.0).unwrap();
        assert_eq!((last.status, last.failure_reason.as_deref()), (JobStatus::Failed, Some("AlgorithmError: boom")));
        assert_eq!(t.trial_run(&parent, 3, 120.0).unwrap().status, JobStatus::Completed);
    }
}
