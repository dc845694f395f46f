//! The upstream budget. Every SageMaker request the gateway sends first passes here: at most
//! `concurrency` requests in flight, and per operation a token bucket whose rate starts a little under the
//! service's quota, halves when SageMaker answers `ThrottlingException` (the account's quota is shared with
//! Studio, the SDK and CI, so the room left is not known in advance) and climbs back slowly while calls
//! succeed. A request that would wait longer than `max_wait` is refused at once with `QuotaHeldBack`: pages
//! then show what they last knew instead of hanging, exactly as if SageMaker had throttled.
//!
//! Hand-written rather than `governor`: the rate must change at run time (halve, recover), which
//! governor's fixed quotas do not offer; the bucket itself is twenty lines.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use stepline_types::model::OwnCode;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use stepline_types::model::Upstream;
pub use stepline_types::model::HELD_BACK;

/// A rate and a burst, in requests a second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// The gateway's starting rates: 80% of SageMaker's usual per-account rates, so Studio and the SDK keep
/// room of their own (the emulator's `--quota default` table is the service-like side of this).
pub const DEFAULT_RATES: &[(&str, f64, f64)] = &[
    ("DescribePipeline", 8.0, 10.0),
    ("DescribePipelineExecution", 8.0, 10.0),
    ("DescribePipelineDefinitionForExecution", 8.0, 10.0),
    ("ListPipelines", 4.0, 5.0),
    ("ListPipelineExecutions", 4.0, 5.0),
    ("ListPipelineExecutionSteps", 4.0, 5.0),
    ("ListPipelineParametersForExecution", 4.0, 5.0),
    ("StartPipelineExecution", 1.6, 4.0),
    ("StopPipelineExecution", 1.6, 4.0),
    ("RetryPipelineExecution", 1.6, 4.0),
    ("SendPipelineExecutionStepSuccess", 1.6, 4.0),
    ("SendPipelineExecutionStepFailure", 1.6, 4.0),
    // A step's job and its CloudWatch logs (the emulator's table has the service's own figures).
    ("DescribeTrainingJob", 8.0, 10.0),
    ("DescribeProcessingJob", 8.0, 10.0),
    ("DescribeTransformJob", 8.0, 10.0),
    ("DescribeHyperParameterTuningJob", 8.0, 10.0),
    ("DescribeModelPackage", 8.0, 10.0),
    ("DescribeLogStreams", 20.0, 25.0),
    ("GetLogEvents", 20.0, 25.0),
    ("FilterLogEvents", 4.0, 5.0),
    // The Price List: asked once a day per region and instance type (see `crate::prices`).
    ("GetProducts", 4.0, 5.0),
];
/// For an operation not in the table.
const OTHER_RATE: Rate = Rate { per_second: 4.0, burst: 5.0 };
/// Requests in flight at once, over all operations.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// The longest a request waits for its turn before it is refused.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5);
/// The lowest a throttled operation's rate goes (one request in five seconds).
const FLOOR: f64 = 0.2;
/// How fast a lowered rate climbs back: this share of the starting rate with each call that succeeds (a
/// halving takes ten successes to undo).
const RECOVERY_STEP: f64 = 0.05;

#[derive(Clone, Debug)]
pub struct LimiterConfig {
    pub concurrency: usize,
    pub max_wait: Duration,
    pub rates: HashMap<String, Rate>,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            concurrency: DEFAULT_CONCURRENCY,
            max_wait: DEFAULT_MAX_WAIT,
            rates: DEFAULT_RATES
                .iter()
                .map(|(op, r, b)| (op.to_string(), Rate { per_second: *r, burst: *b }))
                .collect(),
        }
    }
}

impl LimiterConfig {
    /// No limits worth the name: for tests that are about something else.
    pub fn unlimited() -> LimiterConfig {
        LimiterConfig { concurrency: 256, max_wait: DEFAULT_MAX_WAIT, rates: HashMap::new() }
            .with_default(Rate { per_second: 1e6, burst: 1e6 })
    }

    fn with_default(mut self, r: Rate) -> Self {
        self.rates.insert("*".into(), r);
        self
    }

    fn rate_of(&self, operation: &str) -> Rate {
        self.rates.get(operation).or_else(|| self.rates.get("*")).copied().unwrap_or(OTHER_RATE)
    }
}

/// One operation's bucket. `tokens` may go below zero: those are requests already promised a later turn.
struct Bucket {
    start: Rate,
    rate: f64,
    tokens: f64,
    at: Instant,
    throttled: u64,
}

impl Bucket {
    /// Tokens earned since the last look, at this replica's `share` of the rate and burst.
    fn refill(&mut self, now: Instant, share: f64) {
        let dt = now.duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate * share).min((self.start.burst * share).max(1.0));
        self.at = now;
    }
}

/// What the limiter did, for tests, benchmarks and (later) metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LimiterStats {
    /// Requests refused because their turn was too far away.
    pub held_back: u64,
    /// Throttling answers from SageMaker, by operation.
    pub throttled: HashMap<String, u64>,
    /// The current rate of each operation that has been used.
    pub rates: HashMap<String, f64>,
    /// Total time requests waited for their turn.
    pub waited: Duration,
}

pub struct Limiter {
    config: LimiterConfig,
    /// This replica's share of the budget: 1 alone, 1/n when n replicas split the account's quota (see
    /// `super::cluster`). Stored as the bits of an `f64`.
    share: std::sync::atomic::AtomicU64,
    slots: Arc<Semaphore>,
    buckets: Mutex<HashMap<String, Bucket>>,
    stats: Mutex<LimiterStats>,
    /// The account and region whose quota this is, in log lines and metrics when several are shown
    /// (`"111111111111/eu-west-1"`; empty with one).
    place: std::sync::OnceLock<&'static str>,
}

/// A request's turn: hold it while the request is in flight, then say how it went.
pub struct Turn<'a> {
    limiter: &'a Limiter,
    operation: &'static str,
    _slot: OwnedSemaphorePermit,
    /// When the turn was given, and how long it was waited for: every call's log line and metrics.
    given: Instant,
    waited: Duration,
}

impl Turn<'_> {
    /// Report the answer: a throttling answer halves the operation's rate.
    pub fn finish<T>(self, result: &Result<T, Upstream>) {
        let throttled = matches!(result, Err(e) if e.is_throttling() && !e.is(OwnCode::HeldBack));
        self.limiter.report(self.operation, throttled);
        let answer = result.as_ref().map(|_| ());
        crate::observe::record::upstream_call(
            self.limiter.place(),
            self.operation,
            answer,
            self.given.elapsed(),
            self.waited,
        );
    }
}

impl Limiter {
    pub fn new(config: LimiterConfig) -> Limiter {
        Limiter {
            slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            share: std::sync::atomic::AtomicU64::new(1f64.to_bits()),
            buckets: Mutex::new(HashMap::new()),
            stats: Mutex::new(LimiterStats::default()),
            place: std::sync::OnceLock::new(),
        }
    }

    /// Name the account and region in this limiter's log lines and metrics (once).
    pub fn set_place(&self, place: &'static str) {
        let _ = self.place.set(place);
    }

    fn place(&self) -> &'static str {
        self.place.get().copied().unwrap_or("")
    }

    /// Take `share` (0 to 1] of every operation's rate and burst: the part of the account's quota this
    /// replica may spend.
    pub fn set_share(&self, share: f64) {
        let share = if share.is_finite() { share.clamp(0.01, 1.0) } else { 1.0 };
        self.share.store(share.to_bits(), std::sync::atomic::Ordering::Relaxed);
    }

    pub fn share(&self) -> f64 {
        f64::from_bits(self.share.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn buckets(&self) -> MutexGuard<'_, HashMap<String, Bucket>> {
        self.buckets.locked()
    }

    fn stats_mut(&self) -> MutexGuard<'_, LimiterStats> {
        self.stats.locked()
    }

    /// Wait for a turn to send one `operation` request, or refuse when that turn is more than `max_wait`
    /// away. No lock is held while waiting.
    pub async fn turn(&self, operation: &'static str) -> Result<Turn<'_>, Upstream> {
        let asked = Instant::now();
        let wait = {
            let mut buckets = self.buckets();
            let now = Instant::now();
            let start = self.config.rate_of(operation);
            let b = buckets.entry(operation.to_string()).or_insert(Bucket {
                start,
                rate: start.per_second,
                tokens: start.burst,
                at: now,
                throttled: 0,
            });
            let share = self.share();
            b.refill(now, share);
            let wait = if b.tokens >= 1.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - b.tokens) / (b.rate * share))
            };
            if wait > self.config.max_wait {
                drop(buckets);
                self.stats_mut().held_back += 1;
                crate::observe::record::held_back(self.place(), operation);
                return Err(Upstream::own(
                    OwnCode::HeldBack,
                    format!(
                        "{operation}: Stepline is holding back to stay inside SageMaker's request quota (next turn in \
                         {} s)",
                        wait.as_secs().max(1)
                    ),
                ));
            }
            b.tokens -= 1.0;
            wait
        };
        if !wait.is_zero() {
            self.stats_mut().waited += wait;
            tokio::time::sleep(wait).await;
        }
        let slot = self.slots.clone().acquire_owned().await.map_err(|_| Upstream::own(OwnCode::HeldBack, "closed"))?;
        let waited = asked.elapsed();
        crate::observe::record::limiter_wait(operation, waited);
        Ok(Turn { limiter: self, operation, _slot: slot, given: Instant::now(), waited })
    }

    fn report(&self, operation: &str, throttled: bool) {
        let mut buckets = self.buckets();
        let Some(b) = buckets.get_mut(operation) else { return };
        let now = Instant::now();
        b.refill(now, self.share());
        if throttled {
            b.rate = (b.rate / 2.0).max(FLOOR);
            // The service says the bucket is empty: so is ours.
            b.tokens = b.tokens.min(0.0);
            b.throttled += 1;
        } else if b.rate < b.start.per_second {
            b.rate = (b.rate + b.start.per_second * RECOVERY_STEP).min(b.start.per_second);
        }
        let (rate, count) = (b.rate, b.throttled);
        drop(buckets);
        let mut s = self.stats_mut();
        s.rates.insert(operation.to_string(), rate);
        if throttled {
            s.throttled.insert(operation.to_string(), count);
        }
    }

    pub fn stats(&self) -> LimiterStats {
        self.stats_mut().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: f64, burst: f64, max_wait: Duration) -> Limiter {
        Limiter::new(LimiterConfig {
            concurrency: 4,
            max_wait,
            rates: [("ListPipelines".to_string(), Rate { per_second: rate, burst })].into(),
        })
    }

    #[tokio::test]
    async fn a_burst_passes_then_requests_take_turns_at_the_rate() {
        let l = limiter(10.0, 2.0, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..2 {
            l.turn("ListPipelines").await.unwrap().finish::<()>(&Ok(()));
        }
        l.turn("ListPipelines").await.unwrap().finish::<()>(&Ok(()));
        l.turn("ListPipelines").await.unwrap().finish::<()>(&Ok(()));
        assert!(t0.elapsed() >= Duration::from_millis(190), "two past the burst wait 0.1 s each: {:?}", t0.elapsed());
        assert!(l.stats().waited >= Duration::from_millis(190));
    }

    #[tokio::test]
    async fn a_replica_with_a_third_of_the_budget_takes_turns_at_a_third_of_the_rate() {
        let l = limiter(30.0, 1.0, Duration::from_secs(10));
        l.set_share(1.0 / 3.0);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.turn("ListPipelines").await.unwrap().finish::<()>(&Ok(()));
        }
        // The first is the burst; the next two wait 1/10 s each (30 a second, a third of it).
        assert!(t0.elapsed() >= Duration::from_millis(190), "{:?}", t0.elapsed());
        l.set_share(f64::NAN);
        assert_eq!(l.share(), 1.0, "nonsense leaves the whole budget");
    }

    #[tokio::test]
    async fn a_turn_too_far_away_is_refused_as_throttling() {
        let l = limiter(0.1, 1.0, Duration::from_secs(2));
        l.turn("ListPipelines").await.unwrap().finish::<()>(&Ok(()));
        let e = l.turn("ListPipelines").await.err().unwrap();
        assert_eq!(e.code, HELD_BACK);
        assert!(e.is_throttling() && e.is_transient());
        assert!(e.message.contains("ListPipelines"), "{e}");
        assert_eq!(l.stats().held_back, 1);
    }

    #[tokio::test]
    async fn throttling_halves_the_rate_and_success_brings_it_back_slowly() {
        let l = limiter(400.0, 400.0, Duration::from_secs(60));
        let throttled: Result<(), Upstream> = Err(Upstream::new("ThrottlingException", "Rate exceeded"));
        l.turn("ListPipelines").await.unwrap().finish(&throttled);
        assert_eq!(l.stats().rates["ListPipelines"], 200.0);
        l.turn("ListPipelines").await.unwrap().finish(&throttled);
        assert_eq!(l.stats().rates["ListPipelines"], 100.0);
        assert_eq!(l.stats().throttled["ListPipelines"], 2);
        let mut successes = 0;
        while l.stats().rates["ListPipelines"] < 400.0 {
            l.turn("ListPipelines").await.unwrap().finish::<()>(&Ok(()));
            successes += 1;
            assert!(successes < 100, "the rate recovers");
        }
        assert!(successes > 5, "recovery is slower than the fall: {successes} successes");
        // Its own refusals are not SageMaker's throttling: they do not lower the rate.
        let held: Result<(), Upstream> = Err(Upstream::own(OwnCode::HeldBack, "x"));
        l.turn("ListPipelines").await.unwrap().finish(&held);
        assert_eq!(l.stats().rates["ListPipelines"], 400.0);
    }

    #[tokio::test]
    async fn no_more_than_the_concurrency_are_in_flight() {
        let l = Arc::new(Limiter::new(LimiterConfig { concurrency: 2, ..LimiterConfig::unlimited() }));
        let a = l.turn("DescribePipeline").await.unwrap();
        let _b = l.turn("DescribePipeline").await.unwrap();
        let l2 = l.clone();
        let third = tokio::spawn(async move { l2.turn("DescribePipeline").await.map(|_| ()).is_ok() });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!third.is_finished(), "the third waits for a slot");
        a.finish::<()>(&Ok(()));
        assert!(third.await.unwrap());
    }
}
