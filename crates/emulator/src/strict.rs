//! What makes the emulator as strict as the service beyond its answers: a latency per call, request quotas per
//! operation (token buckets shared by every caller, as the service's are per account and region), and the
//! counts of what was asked, so a test or a benchmark can read the upstream budget from outside
//! (`GET /_emulator/stats`).
//!
//! Both are off unless asked for (`--latency`, `--quota`, `--quotas default`, or the scenario's `latency` and
//! `quotas`), so a test that is about execution semantics is not slowed by them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::clock::wall_clock;
use crate::error::EmulatorError;
use crate::state::Epoch;

/// How long each call takes before it is answered, drawn evenly from `min_ms..=max_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    /// `"50..150"` (milliseconds) or `"80"` for a fixed delay.
    pub fn parse(text: &str) -> Result<Latency, EmulatorError> {
        let bad = || EmulatorError::Scenario(format!("latency '{text}' is not MIN..MAX milliseconds (e.g. 50..150)"));
        let (min, max) = match text.split_once("..") {
            Some((a, b)) => (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?),
            None => {
                let v = text.trim().parse().map_err(|_| bad())?;
                (v, v)
            }
        };
        let l = Latency { min_ms: min, max_ms: max };
        l.check()?;
        Ok(l)
    }

    pub fn check(&self) -> Result<(), EmulatorError> {
        if self.min_ms > self.max_ms || self.max_ms > 60_000 {
            return Err(EmulatorError::Scenario(format!(
                "latency {}..{} ms: the minimum must not exceed the maximum, which must be at most 60000",
                self.min_ms, self.max_ms
            )));
        }
        Ok(())
    }

    fn draw(&self) -> Duration {
        Duration::from_millis(fastrand::u64(self.min_ms..=self.max_ms))
    }
}

/// A request quota: `rate` requests a second on average, up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub rate: f64,
    pub burst: f64,
}

impl Quota {
    fn check(&self, operation: &str) -> Result<(), EmulatorError> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.burst.is_finite() && self.burst >= 1.0) {
            return Err(EmulatorError::Scenario(format!(
                "quota of {operation}: rate must be above 0 and burst at least 1 (got rate {}, burst {})",
                self.rate, self.burst
            )));
        }
        Ok(())
    }
}

/// The quota table: by operation name, `"*"` for every operation not named. In a scenario, `"default"` stands
/// for [`DEFAULT_QUOTAS`], a number for a rate (with a burst of twice that), or `{"rate", "burst"}`.
pub type Quotas = BTreeMap<String, Quota>;

/// The default table: rates close to what SageMaker's control plane allows an account before it answers
/// `ThrottlingException` (AWS does not publish per-operation rates for these calls; these follow what
/// accounts observe: reads of single resources around 10 a second, lists around 5, changes around 2).
/// Requests a second, burst.
pub const DEFAULT_QUOTAS: &[(&str, f64, f64)] = &[
    ("DescribePipeline", 10.0, 20.0),
    ("DescribePipelineExecution", 10.0, 20.0),
    ("DescribePipelineDefinitionForExecution", 10.0, 20.0),
    ("ListPipelines", 5.0, 10.0),
    ("ListPipelineExecutions", 5.0, 10.0),
    ("ListPipelineExecutionSteps", 5.0, 10.0),
    ("ListPipelineParametersForExecution", 5.0, 10.0),
    ("StartPipelineExecution", 2.0, 5.0),
    ("StopPipelineExecution", 2.0, 5.0),
    ("RetryPipelineExecution", 2.0, 5.0),
    ("SendPipelineExecutionStepSuccess", 2.0, 5.0),
    ("SendPipelineExecutionStepFailure", 2.0, 5.0),
    ("CreatePipeline", 1.0, 5.0),
    ("UpdatePipeline", 1.0, 5.0),
    ("DeletePipeline", 1.0, 5.0),
    // The jobs behind steps: reads of one job like the other reads, ListPipelineVersions like the lists.
    ("DescribeTrainingJob", 10.0, 20.0),
    ("DescribeProcessingJob", 10.0, 20.0),
    ("DescribeTransformJob", 10.0, 20.0),
    ("DescribeHyperParameterTuningJob", 10.0, 20.0),
    ("DescribeModelPackage", 10.0, 20.0),
    ("ListPipelineVersions", 5.0, 10.0),
    ("ListTags", 5.0, 10.0),
    ("AddTags", 2.0, 5.0),
    // CloudWatch Logs publishes its quotas, per account and region: GetLogEvents and DescribeLogStreams 25
    // transactions a second, FilterLogEvents 5 (not adjustable); a second's worth at once.
    ("GetLogEvents", 25.0, 25.0),
    ("DescribeLogStreams", 25.0, 25.0),
    ("FilterLogEvents", 5.0, 5.0),
    // STS publishes its quota: 600 requests a second per account and region (shared by its operations on
    // the service; a bucket each here).
    ("AssumeRole", 600.0, 600.0),
    ("GetCallerIdentity", 600.0, 600.0),
    ("*", 5.0, 10.0),
];

pub fn default_quotas() -> Quotas {
    DEFAULT_QUOTAS.iter().map(|(op, rate, burst)| (op.to_string(), Quota { rate: *rate, burst: *burst })).collect()
}

/// Read a quota table as a scenario writes it: `"default"`, or an object of numbers and `{rate, burst}`.
pub fn quotas_from_json(v: &Value) -> Result<Quotas, EmulatorError> {
    let bad = |why: String| EmulatorError::Scenario(format!("quotas: {why}"));
    match v {
        Value::String(s) if s == "default" => Ok(default_quotas()),
        Value::Object(m) => {
            let mut out = Quotas::new();
            for (op, q) in m {
                let quota = match q {
                    Value::Number(n) => {
                        let rate = n.as_f64().unwrap_or(0.0);
                        Quota { rate, burst: (rate * 2.0).max(1.0) }
                    }
                    Value::Object(_) => serde_json::from_value(q.clone()).map_err(|e| bad(format!("{op}: {e}")))?,
                    _ => return Err(bad(format!("{op}: expected a rate or {{\"rate\", \"burst\"}}"))),
                };
                quota.check(op)?;
                out.insert(op.clone(), quota);
            }
            Ok(out)
        }
        _ => Err(bad("expected \"default\" or an object of operation quotas".into())),
    }
}

/// Read `--quota` values: `default`, or `Operation=RATE[/BURST]` separated by commas.
pub fn quotas_from_flag(text: &str, into: &mut Quotas) -> Result<(), EmulatorError> {
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "default" {
            into.extend(default_quotas());
            continue;
        }
        let bad = || EmulatorError::Scenario(format!("--quota '{part}' is not Operation=RATE[/BURST] or 'default'"));
        let (op, value) = part.split_once('=').ok_or_else(bad)?;
        let (rate, burst) = match value.split_once('/') {
            Some((r, b)) => (r.parse::<f64>().map_err(|_| bad())?, b.parse::<f64>().map_err(|_| bad())?),
            None => {
                let r = value.parse::<f64>().map_err(|_| bad())?;
                (r, (r * 2.0).max(1.0))
            }
        };
        let quota = Quota { rate, burst };
        quota.check(op)?;
        into.insert(op.trim().to_string(), quota);
    }
    Ok(())
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What happened to the calls of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpStats {
    /// Every call received, throttled and failed ones included.
    pub calls: u64,
    /// Calls answered `ThrottlingException` (by a quota or an injected fault).
    pub throttled: u64,
    /// Calls answered with any other error.
    pub errors: u64,
}

/// How a call ended, for the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Throttled,
    Error,
}

#[derive(Default)]
struct State {
    latency: Option<Latency>,
    quotas: Quotas,
    buckets: HashMap<String, Bucket>,
    stats: BTreeMap<String, OpStats>,
    since: Epoch,
}

/// Latency, quotas and counts: one lock of its own, never held with the service's.
pub struct Strictness {
    state: Mutex<State>,
}

impl Default for Strictness {
    fn default() -> Self {
        Strictness { state: Mutex::new(State { since: wall_clock(), ..State::default() }) }
    }
}

impl Strictness {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the latency and the quota table (buckets start full; their fill is kept for operations whose
    /// quota did not change).
    pub fn configure(&self, latency: Option<Latency>, quotas: Quotas) {
        let mut s = self.lock();
        let old = std::mem::replace(&mut s.quotas, quotas);
        let changed: Vec<String> = s.buckets.keys().filter(|op| old.get(*op) != s.quotas.get(*op)).cloned().collect();
        for op in changed {
            s.buckets.remove(&op);
        }
        s.latency = latency;
    }

    /// How long to wait before answering this call.
    pub fn delay(&self) -> Option<Duration> {
        self.lock().latency.map(|l| l.draw())
    }

    /// Whether a call of `operation` is within its quota now (taking a token when it is).
    pub fn admit(&self, operation: &str) -> bool {
        let mut s = self.lock();
        let Some(quota) = s.quotas.get(operation).or_else(|| s.quotas.get("*")).copied() else {
            return true;
        };
        let now = Instant::now();
        let bucket = s.buckets.entry(operation.to_string()).or_insert(Bucket { tokens: quota.burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * quota.rate).min(quota.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn record(&self, operation: &str, outcome: Outcome) {
        let mut s = self.lock();
        let e = s.stats.entry(operation.to_string()).or_default();
        e.calls += 1;
        match outcome {
            Outcome::Ok => {}
            Outcome::Throttled => e.throttled += 1,
            Outcome::Error => e.errors += 1,
        }
    }

    /// The counts since start or the last reset, by operation and in all.
    pub fn stats(&self) -> Value {
        let s = self.lock();
        let mut total = OpStats::default();
        for v in s.stats.values() {
            total.calls += v.calls;
            total.throttled += v.throttled;
            total.errors += v.errors;
        }
        json!({"since": s.since, "operations": s.stats, "total": total})
    }

    pub fn reset_stats(&self) {
        let mut s = self.lock();
        s.stats.clear();
        s.since = wall_clock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_reads_a_range_or_a_fixed_value_and_names_bad_ones() {
        assert_eq!(Latency::parse("50..150").unwrap(), Latency { min_ms: 50, max_ms: 150 });
        assert_eq!(Latency::parse("80").unwrap(), Latency { min_ms: 80, max_ms: 80 });
        assert!(Latency::parse("150..50").unwrap_err().to_string().contains("minimum"));
        assert!(Latency::parse("fast").unwrap_err().to_string().contains("'fast'"));
        let d = Latency { min_ms: 5, max_ms: 7 }.draw();
        assert!((5..=7).contains(&(d.as_millis() as u64)));
    }

    #[test]
    fn quotas_read_from_flags_and_json() {
        let mut q = Quotas::new();
        quotas_from_flag("ListPipelineExecutions=5,DescribePipelineExecution=10/30", &mut q).unwrap();
        assert_eq!(q["ListPipelineExecutions"], Quota { rate: 5.0, burst: 10.0 });
        assert_eq!(q["DescribePipelineExecution"], Quota { rate: 10.0, burst: 30.0 });
        let mut d = Quotas::new();
        quotas_from_flag("default", &mut d).unwrap();
        assert_eq!(d, default_quotas());
        assert!(quotas_from_flag("ListPipelines=0", &mut q).unwrap_err().to_string().contains("rate must be above 0"));
        assert!(quotas_from_flag("ListPipelines", &mut q).unwrap_err().to_string().contains("Operation=RATE"));
        let j = quotas_from_json(&json!({"ListPipelines": 2, "*": {"rate": 1, "burst": 3}})).unwrap();
        assert_eq!(j["ListPipelines"], Quota { rate: 2.0, burst: 4.0 });
        assert_eq!(j["*"], Quota { rate: 1.0, burst: 3.0 });
        assert_eq!(quotas_from_json(&json!("default")).unwrap(), default_quotas());
        assert!(quotas_from_json(&json!({"X": {"rate": 1}})).is_err());
    }

    #[test]
    fn a_bucket_admits_its_burst_then_refuses_until_it_refills() {
        let s = Strictness::default();
        // One token a second: the four calls need not be fast to come within the same second.
        s.configure(None, [("ListPipelines".to_string(), Quota { rate: 1.0, burst: 3.0 })].into());
        assert!(s.admit("ListPipelines") && s.admit("ListPipelines") && s.admit("ListPipelines"));
        assert!(!s.admit("ListPipelines"), "the fourth call at once is over the burst");
        assert!(s.admit("DescribePipeline"), "an operation without a quota (and no '*') is never refused");
        std::thread::sleep(Duration::from_millis(1100));
        assert!(s.admit("ListPipelines"), "tokens come back at the rate");
    }

    #[test]
    fn stats_count_by_operation_and_reset() {
        let s = Strictness::default();
        s.record("ListPipelines", Outcome::Ok);
        s.record("ListPipelines", Outcome::Throttled);
        s.record("DescribePipeline", Outcome::Error);
        let v = s.stats();
        assert_eq!(v["operations"]["ListPipelines"], json!({"calls": 2, "throttled": 1, "errors": 0}));
        assert_eq!(v["total"], json!({"calls": 3, "throttled": 1, "errors": 1}));
        s.reset_stats();
        assert_eq!(s.stats()["total"]["calls"], 0);
    }
}
