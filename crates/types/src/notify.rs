//! What Stepline tells people about: changes of executions and steps, found by comparing what SageMaker says
//! now with what was seen before. Each change has a key that names it (kind, execution, step, attempt, and
//! the how-many-th change of the execution it is), so a change reported twice, by SageMaker or by two
//! replicas, is told once; and a failed execution that is retried and fails again is told twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ExecStatus, ExecutionSummary, Iteration, StepMetadata, StepRun, StepStatus};

/// What happened.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum EventKind {
    /// An execution failed (or completed with failures).
    Failed,
    /// An execution was stopped.
    Stopped,
    /// An execution succeeded (rules opt in: most teams want only the others).
    Succeeded,
    /// An execution succeeded after the pipeline's previous one failed.
    Recovered,
    /// A callback step waits for someone's answer.
    Waiting,
    /// A step is on its second or later attempt.
    Retried,
    /// An execution has run longer than a rule's threshold.
    LongRunning,
    /// A pipeline that runs on a cadence did not start when it usually does.
    Missed,
    /// A test message, sent from the notifications page to check a channel.
    Test,
}

impl EventKind {
    /// How a message says it.
    pub fn headline(self) -> &'static str {
        match self {
            EventKind::Failed => "failed",
            EventKind::Stopped => "was stopped",
            EventKind::Succeeded => "succeeded",
            EventKind::Recovered => "recovered: it succeeded after a failure",
            EventKind::Waiting => "is waiting for an approval",
            EventKind::Retried => "is retrying a step",
            EventKind::LongRunning => "is running long",
            EventKind::Missed => "did not run when it usually does",
            EventKind::Test => "is a test message",
        }
    }
}

/// A step that failed, with SageMaker's reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedStep {
    pub name: String,
    pub reason: Option<String>,
    /// The last lines of its job's log, when it ran one and they could be read.
    #[serde(default)]
    pub log_tail: Vec<String>,
}

/// One thing to tell, with everything a message names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub pipeline: String,
    pub execution_arn: String,
    pub execution_id: String,
    pub display_name: Option<String>,
    pub status: String,
    /// The execution's own failure reason.
    pub reason: Option<String>,
    /// The step it is about (waiting, retried).
    pub step: Option<String>,
    pub attempt: Option<i32>,
    #[serde(default)]
    pub failed_steps: Vec<FailedStep>,
    pub started_by: Option<String>,
    pub started: Option<DateTime<Utc>>,
    /// How long it had run when the event was raised (long-running).
    pub running_minutes: Option<i64>,
    /// The median of the pipeline's last successful runs, when the threshold was a multiple of it.
    #[serde(default)]
    pub usual_minutes: Option<i64>,
    /// Which change of the execution this is (its status changes counted): part of the key.
    pub change: i64,
    pub at: DateTime<Utc>,
}

impl Event {
    /// An event of `kind` about an execution as a list shows it, the rest (steps, who started it) to add.
    pub fn of_execution(
        kind: EventKind,
        pipeline: &str,
        e: &ExecutionSummary,
        change: i64,
        at: DateTime<Utc>,
    ) -> Event {
        Event {
            kind,
            pipeline: pipeline.to_string(),
            execution_arn: e.arn.clone(),
            execution_id: e.id.clone(),
            display_name: e.display_name.clone(),
            status: e.status.as_str().to_string(),
            reason: e.failure_reason.clone(),
            step: None,
            attempt: None,
            failed_steps: vec![],
            started_by: None,
            started: e.start,
            running_minutes: None,
            usual_minutes: None,
            change,
            at,
        }
    }

    /// The test message a channel is sent from the notifications page: of no execution.
    pub fn test(at: DateTime<Utc>) -> Event {
        let none = ExecutionSummary {
            arn: String::new(),
            id: String::new(),
            display_name: None,
            status: ExecStatus::Other("Test".into()),
            start: None,
            description: None,
            failure_reason: None,
        };
        Event::of_execution(EventKind::Test, "Stepline", &none, 0, at)
    }

    /// The key that names this change: equal for a change reported twice, different for the next one.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.kind,
            self.execution_arn.to_lowercase(),
            self.step.as_deref().unwrap_or(""),
            self.attempt.unwrap_or(0),
            self.change
        )
    }

    /// The execution's name as people know it: its display name, else its id.
    pub fn execution_label(&self) -> &str {
        self.display_name.as_deref().filter(|d| !d.is_empty()).unwrap_or(&self.execution_id)
    }

    /// One line: "AbalonePipeline · nightly-3 failed".
    pub fn title(&self) -> String {
        if self.kind == EventKind::Test {
            return "Stepline test message: this channel works".to_string();
        }
        if self.kind == EventKind::Missed {
            return format!("{} did not run when it usually does", self.pipeline);
        }
        let what = match (self.kind, &self.step) {
            (EventKind::Waiting, Some(step)) => format!("is waiting for an approval at {step}"),
            (EventKind::Retried, Some(step)) => {
                format!("is retrying {step} (attempt {})", self.attempt.unwrap_or(2))
            }
            (EventKind::LongRunning, _) => {
                let ran = crate::notify::minutes(self.running_minutes.unwrap_or(0));
                match self.usual_minutes {
                    Some(usual) => {
                        format!("has been running for {ran}, where it usually takes {}", crate::notify::minutes(usual))
                    }
                    None => format!("has been running for {ran}"),
                }
            }
            (kind, _) => kind.headline().to_string(),
        };
        format!("{} · {} {what}", self.pipeline, self.execution_label())
    }
}

/// Where a message stands in the outbox.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::EnumString, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum DeliveryStatus {
    /// Not sent yet: due now or after a failed attempt's backoff.
    Pending,
    Sent,
    /// Given up after its attempts (or refused for good by the receiver): shown, never retried.
    Dead,
}

/// One message to one channel, as the delivery log shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub delivery_id: String,
    pub kind: EventKind,
    pub title: String,
    pub pipeline: String,
    pub execution_id: String,
    pub channel: String,
    /// A personal subscription's delivery: whose (the log shows it to them and to admins only).
    #[serde(default)]
    pub owner: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub sent: Option<DateTime<Utc>>,
}

/// "95 min", "3 h 5 min".
pub fn minutes(m: i64) -> String {
    if m < 120 {
        format!("{m} min")
    } else if m % 60 == 0 {
        format!("{} h", m / 60)
    } else {
        format!("{} h {} min", m / 60, m % 60)
    }
}

/// The events of an execution's status: `before` is the status seen last time (`None`: never seen, so it
/// started and ended between two looks), `previous_run` the status of the pipeline's execution before it.
pub fn status_events(
    before: Option<&ExecStatus>,
    now: &ExecStatus,
    previous_run: Option<&ExecStatus>,
) -> Vec<EventKind> {
    if before == Some(now) || !now.is_terminal() {
        return vec![];
    }
    match now {
        ExecStatus::Failed | ExecStatus::CompletedWithFailures => vec![EventKind::Failed],
        ExecStatus::Stopped => vec![EventKind::Stopped],
        ExecStatus::Succeeded => {
            let mut kinds = vec![EventKind::Succeeded];
            if matches!(previous_run, Some(ExecStatus::Failed | ExecStatus::CompletedWithFailures)) {
                kinds.push(EventKind::Recovered);
            }
            kinds
        }
        _ => vec![],
    }
}

/// A run a pipeline's cadence promised and that has not started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissedRun {
    /// When it should have started.
    pub expected: DateTime<Utc>,
    /// The cadence: the median gap between its last starts.
    pub every_minutes: i64,
    /// How many runs have been missed since the last start (1, then 2, …): each is told once.
    pub runs: i64,
}

/// Whether a pipeline that runs on a cadence missed a run by `now`, from its starts (any order). A cadence
/// is the median gap between its last starts, at least four of them, with every gap within a quarter of the
/// median (a schedule, not runs by hand) and the median at least ten minutes; a run is missed once a quarter
/// of a gap (ten minutes at least) has passed after it was due.
pub fn missed_run(starts: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<MissedRun> {
    let mut starts: Vec<DateTime<Utc>> = starts.to_vec();
    starts.sort_unstable_by(|a, b| b.cmp(a));
    starts.truncate(8);
    if starts.len() < 4 {
        return None;
    }
    let mut gaps: Vec<f64> = starts.windows(2).map(|w| (w[0] - w[1]).num_seconds() as f64).collect();
    let every = median(&mut gaps.clone())?;
    if every < 600.0 || gaps.iter_mut().any(|g| (*g - every).abs() > every / 4.0) {
        return None;
    }
    let late = (every / 4.0).max(600.0);
    let since = (now - starts[0]).num_seconds() as f64;
    if since < every + late {
        return None;
    }
    let runs = ((since - late) / every).floor() as i64;
    Some(MissedRun {
        expected: starts[0] + chrono::Duration::seconds(every as i64),
        every_minutes: (every / 60.0).round() as i64,
        runs,
    })
}

/// The median of at least three values (sorted in place); none with fewer, which say too little of "usual".
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.len() < 3 {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

/// Whether a running execution has run past `threshold_minutes` at `now`; its minutes if so.
pub fn running_long(e: &ExecutionSummary, now: DateTime<Utc>, threshold_minutes: i64) -> Option<i64> {
    if e.status.is_terminal() || threshold_minutes <= 0 {
        return None;
    }
    let minutes = (now - e.start?).num_minutes();
    (minutes >= threshold_minutes).then_some(minutes)
}

/// The events of a running execution's steps: callback steps waiting, steps on a later attempt. Each
/// (kind, step, attempt); iterations of a ForEach step are named by their index.
pub fn step_events(steps: &[StepRun]) -> Vec<(EventKind, String, Option<i32>)> {
    let mut out = vec![];
    for s in steps {
        let name = match &s.iteration {
            Some(Iteration { index: Some(i), .. }) => format!("{} [{i}]", s.name),
            Some(_) => s.name.clone(),
            None => s.name.clone(),
        };
        let running = matches!(s.status, StepStatus::Starting | StepStatus::Executing);
        if running && matches!(s.metadata, StepMetadata::Callback { .. }) {
            out.push((EventKind::Waiting, name.clone(), None));
        }
        if let Some(a) = s.attempts.filter(|a| *a > 1) {
            out.push((EventKind::Retried, name, Some(a)));
        }
    }
    out
}

/// The failed steps of a failed execution, in the order they ran.
pub fn failed_steps(steps: &[StepRun]) -> Vec<FailedStep> {
    let mut failed: Vec<&StepRun> = steps.iter().filter(|s| s.status == StepStatus::Failed).collect();
    failed.sort_by_key(|s| s.start);
    failed
        .into_iter()
        .map(|s| FailedStep { name: s.name.clone(), reason: s.failure_reason.clone(), log_tail: vec![] })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, change: i64) -> Event {
        Event {
            kind,
            pipeline: "Abalone".into(),
            execution_arn: "arn:aws:sagemaker:us-east-1:1:pipeline/abalone/execution/ab12".into(),
            execution_id: "ab12".into(),
            display_name: Some("nightly".into()),
            status: "Failed".into(),
            reason: None,
            step: None,
            attempt: None,
            failed_steps: vec![],
            started_by: None,
            started: None,
            running_minutes: None,
            usual_minutes: None,
            change,
            at: Utc::now(),
        }
    }

    #[test]
    fn a_change_has_one_key_and_the_next_change_another() {
        let a = event(EventKind::Failed, 1);
        let mut again = a.clone();
        again.at += chrono::Duration::seconds(30);
        assert_eq!(a.key(), again.key(), "the same change reported later");
        assert_ne!(a.key(), event(EventKind::Failed, 3).key(), "failed again after a retry");
        assert_ne!(a.key(), event(EventKind::Recovered, 1).key());
        assert_eq!(a.title(), "Abalone · nightly failed");
    }

    #[test]
    fn statuses_raise_events_once_and_recovery_follows_a_failure() {
        use ExecStatus::*;
        assert_eq!(status_events(Some(&Executing), &Failed, None), [EventKind::Failed]);
        assert_eq!(status_events(Some(&Failed), &Failed, None), [], "seen before: nothing new");
        assert_eq!(status_events(None, &Stopped, None), [EventKind::Stopped], "began and ended between looks");
        assert_eq!(status_events(Some(&Executing), &Executing, None), []);
        assert_eq!(status_events(Some(&Executing), &Succeeded, Some(&Succeeded)), [EventKind::Succeeded]);
        assert_eq!(
            status_events(Some(&Executing), &Succeeded, Some(&Failed)),
            [EventKind::Succeeded, EventKind::Recovered]
        );
        assert_eq!(status_events(Some(&Executing), &CompletedWithFailures, None), [EventKind::Failed]);
    }

    #[test]
    fn long_runs_and_steps_that_wait_or_retry() {
        let now = Utc::now();
        let mut e = ExecutionSummary {
            arn: "a".into(),
            id: "a".into(),
            display_name: None,
            status: ExecStatus::Executing,
            start: Some(now - chrono::Duration::minutes(130)),
            description: None,
            failure_reason: None,
        };
        assert_eq!(running_long(&e, now, 120), Some(130));
        assert_eq!(running_long(&e, now, 180), None);
        e.status = ExecStatus::Succeeded;
        assert_eq!(running_long(&e, now, 120), None, "finished runs are not long-running");
        assert_eq!(minutes(130), "2 h 10 min");

        let mut approve = StepRun::named("Approve", StepStatus::Executing);
        approve.metadata = StepMetadata::Callback { token: None, queue_url: None, outputs: vec![] };
        let mut train = StepRun::named("Train", StepStatus::Executing);
        train.attempts = Some(3);
        let mut done = StepRun::named("Gate", StepStatus::Succeeded);
        done.metadata = StepMetadata::Callback { token: None, queue_url: None, outputs: vec![] };
        assert_eq!(
            step_events(&[approve, train, done]),
            [(EventKind::Waiting, "Approve".to_string(), None), (EventKind::Retried, "Train".to_string(), Some(3))]
        );
    }

    #[test]
    fn kinds_read_and_write_as_rules_name_them() {
        assert_eq!("long-running".parse::<EventKind>().unwrap(), EventKind::LongRunning);
        assert_eq!(EventKind::Recovered.to_string(), "recovered");
        assert!("exploded".parse::<EventKind>().is_err());
    }

    #[test]
    fn a_pipeline_on_a_cadence_that_did_not_start_is_a_missed_run_once_per_run() {
        let t = |h: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap();
        // Daily at the same hour, the last one five days ago at hour 0.
        let daily: Vec<_> = (0..5).map(|d| t(-24 * d)).collect();
        assert_eq!(missed_run(&daily, t(24)), None, "due now, not late yet");
        assert_eq!(missed_run(&daily, t(29)), None, "five hours late is within a quarter of a day");
        let m = missed_run(&daily, t(31)).unwrap();
        assert_eq!((m.expected, m.every_minutes, m.runs), (t(24), 1440, 1));
        assert_eq!(missed_run(&daily, t(55)).unwrap().runs, 2, "the next one missed too");
        // Runs by hand, or too few, have no cadence.
        let irregular = vec![t(0), t(-3), t(-20), t(-21), t(-60)];
        assert_eq!(missed_run(&irregular, t(200)), None);
        assert_eq!(missed_run(&daily[..3], t(200)), None);
        let often: Vec<_> =
            (0..6).map(|i| DateTime::<Utc>::from_timestamp(1_800_000_000 - i * 60, 0).unwrap()).collect();
        assert_eq!(missed_run(&often, t(10)), None, "every minute is not a schedule to watch");
    }

    #[test]
    fn the_median_needs_three_runs() {
        assert_eq!(median(&mut [5.0, 1.0]), None);
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 10.0]), Some(3.5));
    }
}
