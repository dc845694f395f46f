//! Scenarios: what the simulated jobs do. A scenario says, per pipeline and step, how long a step runs,
//! whether its first attempts fail (and with which exception type, so retry policies show), what its
//! property files contain and what Lambda and callback steps answer. Without one, every step succeeds after
//! a realistic duration for its type.
//!
//! ```json
//! {"pipelines": {
//!    "AbalonePipeline": {"steps": {
//!       "AbaloneTrain": {"duration": 900, "fail": {"attempts": 2, "reason": "CapacityError: no ml.m5.xlarge",
//!                                                    "exception": "SageMaker.CAPACITY_ERROR"}},
//!       "AbaloneEval": {"property_files": {"EvaluationReport": {"regression_metrics": {"mse": {"value": 7.5}}}}}}},
//!    "*": {"steps": {"ScoreBatch": {"outputs": {"score": 0.2}},
//!                    "ManualApproval": {"callback": {"after": 30, "outputs": {"approved": "true"}}}}}}}
//! ```
//! Pipeline and step names match case-insensitively; `"*"` applies to every pipeline. `"latency"` and
//! `"quotas"` make every call slow and rate-limited as the service's are (see `crate::strict`). A job step may
//! also set `"metrics"` (final metric values by name) and `"log_lines"` (lines of CloudWatch log per instance,
//! see `crate::logs`); faults apply to the CloudWatch Logs operations too (`"operation": "GetLogEvents"`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, EmulatorError};
use crate::strict::{quotas_from_json, Latency, Quotas};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub pipelines: BTreeMap<String, PipelineScenario>,
    /// Errors to answer instead of running an operation, to exercise a client's error handling.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// How long every call takes: `{"min_ms": 50, "max_ms": 150}` or `"50..150"`.
    #[serde(default, deserialize_with = "latency", skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Request quotas by operation (`"*"` for the rest): `"default"`, or rates and `{"rate", "burst"}`.
    #[serde(default, deserialize_with = "quotas", skip_serializing_if = "Option::is_none")]
    pub quotas: Option<Quotas>,
    /// Seeds the draws of faults' `probability`, so a test with random faults sees the same ones every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Send every SageMaker event to the events queue twice, as EventBridge may: to test a reader's
    /// deduplication.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate_events: bool,
    /// The generator of those draws (from `seed`, else from entropy), made at the first draw.
    #[serde(skip)]
    pub(crate) draws: Option<fastrand::Rng>,
}

fn latency<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Latency>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Latency::parse(&s).map(Some).map_err(serde::de::Error::custom),
        v => {
            let l: Latency =
                serde_json::from_value(v).map_err(|e| serde::de::Error::custom(format!("latency: {e}")))?;
            l.check().map_err(serde::de::Error::custom)?;
            Ok(Some(l))
        }
    }
}

fn quotas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Quotas>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => quotas_from_json(&v).map(Some).map_err(serde::de::Error::custom),
    }
}

/// An injected error: the next `times` calls of `operation` (every call when absent; `"*"` for every
/// operation) answer `code`, each with the given `probability` (always when absent).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub operation: String,
    pub code: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// The most lines of log a scenario may ask of one instance of a job.
pub const MAX_LOG_LINES: u64 = 10_000_000;

/// The error codes a fault may name. On CloudWatch Logs operations the SageMaker codes read as Logs' own
/// (`ResourceNotFound` as `ResourceNotFoundException`, `ValidationException` as `InvalidParameterException`);
/// the last three are Logs' codes, for scenarios written in its terms.
const FAULT_CODES: [&str; 10] = [
    "ThrottlingException",
    "ResourceLimitExceeded",
    "ConflictException",
    "ValidationException",
    "AccessDeniedException",
    "ResourceNotFound",
    "InternalFailure",
    "ResourceNotFoundException",
    "InvalidParameterException",
    "ServiceUnavailableException",
];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PipelineScenario {
    #[serde(default)]
    pub steps: BTreeMap<String, StepScenario>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepScenario {
    /// Simulated seconds the step runs (per attempt).
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(default)]
    pub fail: Option<FailScenario>,
    /// Property files by PropertyFileName (Processing steps).
    #[serde(default)]
    pub property_files: BTreeMap<String, Value>,
    /// Output parameters of a Lambda step, or what an automatic callback answer sends.
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
    #[serde(default)]
    pub callback: Option<CallbackScenario>,
    /// Final metric values of a Training step's job (and a Tuning step's objective), by metric name; the
    /// job's log reports them at its last epoch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// About how many lines of log each instance of the step's job writes over its run (a few hundred when
    /// absent), at most 10,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_lines: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailScenario {
    /// How many attempts fail before one succeeds; absent means every attempt fails.
    #[serde(default)]
    pub attempts: Option<u32>,
    pub reason: String,
    /// The exception type the failure reports, matched against the step's RetryPolicies.
    #[serde(default = "default_exception")]
    pub exception: String,
}

fn default_exception() -> String {
    "SageMaker.JOB_INTERNAL_ERROR".into()
}

/// An automatic answer to a callback step, as if an outside worker called back.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CallbackScenario {
    /// Simulated seconds after the step starts.
    pub after: f64,
    /// Fail the step with this reason instead of succeeding.
    #[serde(default)]
    pub failure: Option<String>,
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
}

impl Scenario {
    pub fn parse(text: &str) -> Result<Scenario, EmulatorError> {
        let s: Scenario = serde_json::from_str(text).map_err(|e| EmulatorError::Scenario(e.to_string()))?;
        for (pipeline, p) in &s.pipelines {
            for (step, st) in &p.steps {
                if st.log_lines.is_some_and(|n| !(1..=MAX_LOG_LINES).contains(&n)) {
                    return Err(EmulatorError::Scenario(format!(
                        "{pipeline}.{step}: log_lines must be between 1 and {MAX_LOG_LINES}"
                    )));
                }
                if let Some((name, _)) = st.metrics.iter().find(|(n, v)| n.is_empty() || !v.is_finite()) {
                    return Err(EmulatorError::Scenario(format!(
                        "{pipeline}.{step}: metric '{name}' needs a name and a finite value"
                    )));
                }
            }
        }
        for f in &s.faults {
            if f.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
                return Err(EmulatorError::Scenario(format!(
                    "fault of {}: probability must be between 0 and 1",
                    f.operation
                )));
            }
            if !FAULT_CODES.contains(&f.code.as_str()) {
                return Err(EmulatorError::Scenario(format!(
                    "fault code '{}' is not one of {}",
                    f.code,
                    FAULT_CODES.join(", ")
                )));
            }
        }
        Ok(s)
    }

    /// The error to answer for this call of SageMaker's `operation`, if a fault is armed for it.
    pub fn take_fault(&mut self, operation: &str) -> Option<ApiError> {
        self.take_fault_of("sagemaker", operation)
    }

    /// The error to answer for this call of `operation` of a service (`sagemaker`, `logs`: the prefix of its
    /// IAM actions, which an AccessDenied message names), if a fault is armed for it.
    pub fn take_fault_of(&mut self, service: &str, operation: &str) -> Option<ApiError> {
        let seed = self.seed;
        let draws = self.draws.get_or_insert_with(|| seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed));
        let pos = self.faults.iter().position(|f| {
            (f.operation == operation || f.operation == "*")
                && f.times != Some(0)
                && f.probability.is_none_or(|p| draws.f64() < p)
        })?;
        let f = &mut self.faults[pos];
        if let Some(n) = f.times.as_mut() {
            *n -= 1;
        }
        let msg = f.message.clone();
        Some(match f.code.as_str() {
            "ThrottlingException" => ApiError::throttling(),
            "ResourceLimitExceeded" => {
                ApiError::limit(msg.unwrap_or_else(|| "The account-level service limit has been exceeded.".into()))
            }
            "ConflictException" => ApiError::conflict(msg.unwrap_or_else(|| "Conflict".into())),
            "ValidationException" => ApiError::validation(msg.unwrap_or_else(|| "Invalid request".into())),
            "AccessDeniedException" => ApiError::access_denied(msg.unwrap_or_else(|| {
                format!(
                    "User: arn:aws:iam::123456789012:user/emulator is not authorized to perform: {service}:{operation}"
                )
            })),
            "ResourceNotFound" => ApiError::not_found(msg.unwrap_or_else(|| "Resource not found".into())),
            "ResourceNotFoundException" => ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "ResourceNotFoundException",
                msg.unwrap_or_else(|| "The specified resource does not exist.".into()),
            ),
            "InvalidParameterException" => ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "InvalidParameterException",
                msg.unwrap_or_else(|| "A parameter is specified incorrectly.".into()),
            ),
            "ServiceUnavailableException" => ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                msg.unwrap_or_else(|| "The service cannot complete the request.".into()),
            ),
            _ => ApiError::internal(msg.unwrap_or_else(|| "An internal error occurred".into())),
        })
    }

    /// The scenario of one step: the pipeline's own entry wins over the `"*"` entry.
    pub fn step(&self, pipeline: &str, step: &str) -> StepScenario {
        let find = |p: &PipelineScenario| {
            p.steps.iter().find(|(name, _)| name.eq_ignore_ascii_case(step)).map(|(_, s)| s.clone())
        };
        self.pipelines
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(pipeline))
            .and_then(|(_, p)| find(p))
            .or_else(|| self.pipelines.get("*").and_then(find))
            .unwrap_or_default()
    }
}

impl StepScenario {
    /// Whether attempt `n` (from 1) fails.
    pub fn fails_on(&self, attempt: u32) -> Option<&FailScenario> {
        self.fail.as_ref().filter(|f| f.attempts.is_none_or(|k| attempt <= k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_entries_win_over_the_wildcard_and_names_ignore_case() {
        let s = Scenario::parse(
            r#"{"pipelines": {"*": {"steps": {"Train": {"duration": 5}}},
                              "abalonepipeline": {"steps": {"train": {"duration": 9}}}}}"#,
        )
        .unwrap();
        assert_eq!(s.step("AbalonePipeline", "Train").duration, Some(9.0));
        assert_eq!(s.step("Other", "TRAIN").duration, Some(5.0));
        assert_eq!(s.step("Other", "Eval"), StepScenario::default());
    }

    #[test]
    fn failures_cover_the_first_attempts_or_all() {
        let s = Scenario::parse(
            r#"{"pipelines": {"p": {"steps": {"a": {"fail": {"attempts": 2, "reason": "x"}}, "b": {"fail": {"reason": "y"}}}}}}"#,
        )
        .unwrap();
        let a = s.step("p", "a");
        assert!(a.fails_on(1).is_some() && a.fails_on(2).is_some() && a.fails_on(3).is_none());
        assert_eq!(a.fail.as_ref().unwrap().exception, "SageMaker.JOB_INTERNAL_ERROR");
        assert!(s.step("p", "b").fails_on(99).is_some());
    }

    #[test]
    fn faults_fire_the_given_number_of_times() {
        let mut s = Scenario::parse(
            r#"{"faults": [{"operation": "StartPipelineExecution", "code": "ThrottlingException", "times": 2}]}"#,
        )
        .unwrap();
        assert_eq!(s.take_fault("StartPipelineExecution").unwrap().code, "ThrottlingException");
        assert!(s.take_fault("DescribePipeline").is_none());
        assert!(s.take_fault("StartPipelineExecution").is_some());
        assert!(s.take_fault("StartPipelineExecution").is_none());
        let mut half =
            Scenario::parse(r#"{"faults": [{"operation": "*", "code": "ThrottlingException", "probability": 0.5}]}"#)
                .unwrap();
        let hits = (0..2000).filter(|_| half.take_fault("ListPipelines").is_some()).count();
        assert!((800..1200).contains(&hits), "about half the calls: {hits}");
        assert!(Scenario::parse(
            r#"{"faults": [{"operation": "X", "code": "ThrottlingException", "probability": 2}]}"#
        )
        .is_err());
        let e = Scenario::parse(r#"{"faults": [{"operation": "X", "code": "Boom"}]}"#).unwrap_err();
        assert!(e.to_string().contains("fault code 'Boom'"), "{e}");
    }

    #[test]
    fn log_lines_and_metrics_are_checked() {
        let s = Scenario::parse(
            r#"{"pipelines": {"*": {"steps": {"T": {"log_lines": 100000, "metrics": {"validation:auc": 0.91}}}}}}"#,
        )
        .unwrap();
        assert_eq!(s.step("P", "t").log_lines, Some(100_000));
        assert_eq!(s.step("P", "t").metrics["validation:auc"], 0.91);
        let e = Scenario::parse(r#"{"pipelines": {"*": {"steps": {"T": {"log_lines": 0}}}}}"#).unwrap_err();
        assert!(e.to_string().contains("log_lines must be between 1 and 10000000"), "{e}");
        let mut f =
            Scenario::parse(r#"{"faults": [{"operation": "GetLogEvents", "code": "AccessDeniedException"}]}"#).unwrap();
        let e = f.take_fault_of("logs", "GetLogEvents").unwrap();
        assert_eq!(e.code, "AccessDeniedException");
        assert!(e.message.ends_with("not authorized to perform: logs:GetLogEvents"), "{}", e.message);
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = Scenario::parse(r#"{"pipelines": {"p": {"steps": {"a": {"duraton": 5}}}}}"#).unwrap_err();
        assert!(e.to_string().contains("duraton"), "{e}");
    }
}
