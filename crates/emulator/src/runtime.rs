//! The running service: the state behind one lock, the database, the scenario, and the scheduler that
//! wakes executions at their engine deadlines.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};

pub use crate::clock::{wall_clock, Clock, ClockChange};
use crate::engine::{self, CachedRun, World};
use crate::error::EmulatorError;
use crate::jobs::Account;
use crate::persist::{Db, Write};
pub use crate::random::{random_alnum, random_lower, secret_chars};
use crate::scenario::{Scenario, StepScenario};
use crate::state::Epoch;
use crate::store::Store;
use crate::strict::Strictness;

pub struct Inner {
    pub store: Store,
    pub db: Option<Db>,
    pub scenario: Scenario,
    pub account: Account,
    pub speed: f64,
    pub clock: Clock,
    /// The queue SageMaker's events go to (`crate::sqs::events`), and whether the emulator keeps it in being
    /// (`--events-queue`: created at start and after a reset).
    pub events_queue: String,
    pub keep_events_queue: bool,
}

/// State shared by the HTTP handlers and the scheduler.
pub struct Core {
    inner: Mutex<Inner>,
    /// Latency, quotas and call counts (`crate::strict`), configured from the scenario.
    pub strict: Strictness,
    timers: Mutex<Timers>,
    wake: Notify,
    /// Told when a queue gains a message or one may have become visible: long polls look again.
    pub queues_changed: Notify,
    /// Host names answered besides IP addresses and localhost (`--allowed-host`), set when served.
    pub allowed_hosts: std::sync::OnceLock<Vec<String>>,
    /// Held while deadlines are being run (by the scheduler, or by a clock change catching up), so the two
    /// never take each other's deadlines: a jump of the clock runs them in time order, each at its own time.
    driving: Mutex<()>,
}

#[derive(Default)]
struct Timers {
    heap: BinaryHeap<Reverse<(i64, String)>>,
    /// The deadline each execution is scheduled for; heap entries that disagree are stale.
    scheduled: HashMap<String, i64>,
}

fn micros(t: Epoch) -> i64 {
    (t * 1_000_000.0) as i64
}

impl Core {
    pub fn new(inner: Inner) -> Arc<Core> {
        let strict = Strictness::default();
        strict.configure(inner.scenario.latency, inner.scenario.quotas.clone().unwrap_or_default());
        Arc::new(Core {
            inner: Mutex::new(inner),
            strict,
            timers: Mutex::new(Timers::default()),
            wake: Notify::new(),
            queues_changed: Notify::new(),
            allowed_hosts: std::sync::OnceLock::new(),
            driving: Mutex::new(()),
        })
    }

    /// The state. A panic elsewhere never leaves it unusable: the lock's poison is ignored, since every
    /// mutation is written so that a half-done request leaves consistent records.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn timers(&self) -> MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ask the scheduler to look at an execution at `at`.
    pub fn schedule(&self, id: &str, at: Option<Epoch>) {
        let mut t = self.timers();
        match at {
            Some(at) => {
                let m = micros(at);
                if t.scheduled.get(id) != Some(&m) {
                    t.scheduled.insert(id.to_string(), m);
                    t.heap.push(Reverse((m, id.to_string())));
                    drop(t);
                    self.wake.notify_one();
                }
            }
            None => {
                t.scheduled.remove(id);
            }
        }
    }

    fn next_due(&self) -> Option<Epoch> {
        self.next_due_micros().map(|m| m as f64 / 1_000_000.0)
    }

    /// The earliest deadline, in the heap's own microseconds (a round trip through seconds could land a
    /// microsecond short of it).
    fn next_due_micros(&self) -> Option<i64> {
        let mut t = self.timers();
        while let Some(Reverse((m, id))) = t.heap.peek().cloned() {
            if t.scheduled.get(&id) == Some(&m) {
                return Some(m);
            }
            t.heap.pop();
        }
        None
    }

    fn pop_due(&self, now: Epoch) -> Vec<String> {
        self.pop_due_micros(micros(now))
    }

    fn pop_due_micros(&self, limit: i64) -> Vec<String> {
        let mut t = self.timers();
        let mut due = vec![];
        while let Some(Reverse((m, id))) = t.heap.peek().cloned() {
            if m > limit {
                break;
            }
            t.heap.pop();
            if t.scheduled.get(&id) == Some(&m) {
                t.scheduled.remove(&id);
                due.push(id);
            }
        }
        due
    }

    pub fn clear_timers(&self) {
        let mut t = self.timers();
        t.heap.clear();
        t.scheduled.clear();
    }

    /// The service's current time.
    pub fn now(&self) -> Epoch {
        self.lock().clock.now()
    }

    /// Run the clock from `at` (default: the wall clock's time) at `rate` clock seconds per real second.
    /// Rate 1 from the wall clock's time is normal operation.
    pub fn set_clock(&self, at: Option<Epoch>, rate: f64) {
        if rate.is_finite() && rate > 0.0 {
            self.lock().clock = Clock::running(at.unwrap_or_else(wall_clock), rate);
            self.wake.notify_one();
        }
    }

    /// Pause, resume or move the clock on (`ClockChange`), then advance every execution whose deadline has
    /// come, before answering: whoever moved the clock sees the state of the new time at once.
    pub fn change_clock(&self, change: ClockChange) -> Clock {
        {
            let mut inner = self.lock();
            match change {
                ClockChange::Pause => inner.clock.pause(),
                ClockChange::Resume => inner.clock.resume(),
                ClockChange::Advance(seconds) => inner.clock.advance(seconds),
                ClockChange::Wall => inner.clock = Clock::wall(),
            }
        }
        self.run_due();
        self.wake.notify_one();
        self.queues_changed.notify_waiters();
        self.lock().clock
    }

    /// Advance what is due by now, deadline by deadline in time order, each at its own time: a step that ends
    /// during a jump of the clock starts the next one when it ended, not when the jump landed, so a jump of an
    /// hour runs an hour's worth of steps. Bounded, so a definition that keeps scheduling itself cannot hold
    /// the caller forever.
    fn run_due(&self) {
        let _driving = self.driving.lock().unwrap_or_else(|e| e.into_inner());
        let until = micros(self.now());
        for _ in 0..100_000 {
            let Some(next) = self.next_due_micros().filter(|d| *d <= until) else { return };
            // A microsecond past the deadline's bucket: the deadline itself (seconds, as the engine keeps it)
            // is less than a microsecond past the bucket's start, so the engine sees it as come.
            let at = (next + 1) as f64 / 1_000_000.0;
            for id in self.pop_due_micros(next) {
                self.advance(&id, at);
            }
        }
    }

    /// Change the simulation speed (simulated seconds per real second) from now on.
    pub fn set_speed(&self, speed: f64) {
        if speed.is_finite() && speed > 0.0 {
            self.lock().speed = speed;
        }
    }

    /// Replace the scenario (and write it down); running executions pick it up from their next step on.
    pub fn set_scenario(&self, scenario: crate::scenario::Scenario) -> Result<(), EmulatorError> {
        {
            let mut inner = self.lock();
            let text = serde_json::to_string(&scenario).map_err(EmulatorError::Encode)?;
            inner.persist(&[Write::Scenario(&text)])?;
            self.strict.configure(scenario.latency, scenario.quotas.clone().unwrap_or_default());
            inner.scenario = scenario;
        }
        self.advance_all_running();
        Ok(())
    }

    /// Advance one execution to `now` and schedule its next look.
    pub fn advance(&self, id: &str, now: Epoch) {
        let next = self.lock().advance_execution(id, now);
        self.schedule(id, next);
        // An event may have been published.
        self.queues_changed.notify_waiters();
    }

    /// Look at every execution that is not finished (after a restart, or a scenario change).
    pub fn advance_all_running(&self) {
        let ids: Vec<String> = {
            let inner = self.lock();
            inner.store.executions.values().filter(|e| !e.status.is_terminal()).map(|e| e.id.clone()).collect()
        };
        let t = self.now();
        for id in ids {
            self.advance(&id, t);
        }
    }

    /// The scheduler: sleeps until the earliest deadline (or a new, earlier one), then advances what is due.
    pub async fn run_scheduler(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let wait = match self.next_due() {
                Some(t) => Duration::from_secs_f64(self.lock().clock.real_until(t).clamp(0.0, 3600.0)),
                None => Duration::from_secs(3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => return,
            }
            // A paused clock is moved on by `change_clock`, which runs what comes due in time order itself;
            // and while it does, this one leaves its deadlines alone rather than run them at the landing time.
            let Ok(_driving) = self.driving.try_lock() else { continue };
            if self.lock().clock.is_paused() {
                continue;
            }
            let t = self.now();
            for id in self.pop_due(t) {
                self.advance(&id, t);
            }
        }
    }
}

impl Inner {
    /// Create the events queue when the emulator keeps it (`--events-queue`) and it is missing.
    pub fn ensure_events_queue(&mut self) -> Result<(), EmulatorError> {
        if !self.keep_events_queue || self.store.queues.contains_key(&self.events_queue) {
            return Ok(());
        }
        let arn = format!("arn:aws:sqs:{}:{}:{}", self.account.region, self.account.account, self.events_queue);
        let now = self.clock.now();
        let q = crate::sqs::queue::Queue::new(&self.events_queue, arn, Default::default(), Default::default(), now);
        self.persist(&[Write::Queue(&q)])?;
        self.store.queues.insert(q.name.clone(), q);
        Ok(())
    }

    /// Write a batch; a failure to write is reported to the caller (and so to the client).
    pub fn persist(&mut self, batch: &[Write<'_>]) -> Result<(), EmulatorError> {
        match self.db.as_mut() {
            Some(db) => db.write(batch),
            None => Ok(()),
        }
    }

    /// Send one event to the events queue, if it exists (a model package created or approved through the API);
    /// `detail` as it is to be sent (absent members left out).
    pub fn publish(&mut self, detail_type: &str, resource: &str, detail: serde_json::Value, now: Epoch) {
        let event = crate::sqs::events::envelope(&self.account, detail_type, vec![resource], detail, now);
        self.enqueue(&[event], now);
    }

    /// Put events on the events queue (twice each when the scenario says so), durably.
    fn enqueue(&mut self, events: &[serde_json::Value], now: Epoch) {
        let queue = self.events_queue.clone();
        let copies = if self.scenario.duplicate_events { 2 } else { 1 };
        let Some(q) = self.store.queues.get_mut(&queue) else { return };
        let mut messages = vec![];
        for event in events {
            let body = event.to_string();
            for _ in 0..copies {
                messages.push(q.send(&body, Some(0), now).clone());
            }
        }
        let batch: Vec<Write> = messages.iter().map(|m| Write::Message { queue: &queue, message: m }).collect();
        if let Err(e) = self.persist(&batch) {
            eprintln!("stepline-emulator: events: {e}");
        }
    }

    /// Send the events of what changed in `ex` to the events queue (`crate::sqs::events`).
    fn publish_events(&mut self, ex: &crate::state::Execution, plan: &crate::store::Plan, now: Epoch) {
        use crate::sqs::events;
        let before = self.store.published.get(&ex.id).cloned().unwrap_or_default();
        let queue = self.events_queue.clone();
        let exists = self.store.queues.contains_key(&queue);
        let Some((sent, keep)) = events::changes(ex, plan, &before, &self.account, exists, now) else { return };
        match keep {
            Some(p) => self.store.published.insert(ex.id.clone(), p),
            None => self.store.published.remove(&ex.id),
        };
        self.enqueue(&sent, now);
    }

    /// Run the engine on one execution; returns its next deadline.
    pub fn advance_execution(&mut self, id: &str, now: Epoch) -> Option<Epoch> {
        let mut ex = self.store.executions.remove(id)?;
        let plan = match self.store.plan(&ex.pipeline_name, ex.version_id) {
            Ok(p) => p,
            Err(_) => {
                self.store.executions.insert(id.to_string(), ex);
                return None;
            }
        };
        let mut fresh_cache = vec![];
        let out = {
            let mut world = WorldView {
                speed: self.speed,
                account: &self.account,
                scenario: &self.scenario,
                cache: &mut self.store.cache,
                fresh: &mut fresh_cache,
                package_versions: &mut self.store.package_versions,
            };
            engine::advance(&mut ex, &plan.definition, &plan.graph, &mut world, now)
        };
        self.publish_events(&ex, &plan, now);
        if out.changed || ex.steps.iter().any(|s| s.dirty) {
            let mut batch = vec![Write::Execution { execution: &ex, all_steps: false }];
            for (p, s, k, run) in &fresh_cache {
                batch.push(Write::Cache { pipeline: p, step: s, key: k, run });
            }
            if let Err(e) = self.persist(&batch) {
                eprintln!("stepline-emulator: {e}");
            }
            for s in &mut ex.steps {
                s.dirty = false;
            }
        }
        self.store.index_callbacks(&ex);
        self.store.index_jobs(&ex);
        self.store.executions.insert(id.to_string(), ex);
        out.next
    }
}

/// The engine's view of the world during one advance.
struct WorldView<'a> {
    speed: f64,
    account: &'a Account,
    scenario: &'a Scenario,
    cache: &'a mut HashMap<(String, String, String), Vec<CachedRun>>,
    fresh: &'a mut Vec<(String, String, String, CachedRun)>,
    package_versions: &'a mut HashMap<String, u32>,
}

impl World for WorldView<'_> {
    fn speed(&self) -> f64 {
        self.speed
    }
    fn account(&self) -> &Account {
        self.account
    }
    fn scenario(&self, pipeline: &str, step: &str) -> StepScenario {
        self.scenario.step(pipeline, step)
    }
    fn random_lower(&mut self, len: usize) -> String {
        random_lower(len)
    }
    fn callback_token(&mut self) -> String {
        random_alnum(10)
    }
    fn cached_run(&self, pipeline: &str, step: &str, key: &str, not_before: Epoch) -> Option<CachedRun> {
        self.cache
            .get(&(pipeline.to_lowercase(), step.to_string(), key.to_string()))
            .and_then(|runs| runs.iter().rev().find(|r| r.finished >= not_before).cloned())
    }
    fn next_package_version(&mut self, group: &str) -> u32 {
        let top = self.package_versions.entry(group.to_lowercase()).or_insert(0);
        *top += 1;
        *top
    }
    fn remember_run(&mut self, pipeline: &str, step: &str, key: &str, run: CachedRun) {
        let k = (pipeline.to_lowercase(), step.to_string(), key.to_string());
        self.fresh.push((k.0.clone(), k.1.clone(), k.2.clone(), run.clone()));
        let runs = self.cache.entry(k).or_default();
        runs.push(run);
        // Only the newest few runs can ever be the answer.
        if runs.len() > 8 {
            runs.remove(0);
        }
    }
}
