//! Stale-while-error: what the dashboard has shown stays showable when SageMaker refuses to refresh it.
//!
//! A [`Kept`] cell holds the last good value of one view and when it was fetched. A request finds it
//! fresh (answered at once), due (refreshed, one round trip), being refreshed by another request (answered
//! with what is known rather than waiting), or failing: after a refresh failed with a transient error
//! (throttling, no answer, refused credentials) the last good value is served with the reason, and no new
//! refresh is tried before the backoff has passed. So reloads while SageMaker throttles cost nothing
//! upstream and answer as fast as a warm page, and a view never loaded shows the error alone.

use crate::sync::lock;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use stepline_types::model::{Freshness, Problem, Upstream};

/// The wait after a first failed refresh; it doubles with each further failure up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A value as it was last fetched, and why it is not newer.
#[derive(Clone, Debug)]
pub struct Known<T> {
    pub value: T,
    pub as_of: DateTime<Utc>,
    pub problem: Option<Problem>,
}

impl<T> Known<T> {
    pub fn fresh(value: T, as_of: DateTime<Utc>) -> Known<T> {
        Known { value, as_of, problem: None }
    }

    pub fn freshness(&self) -> Freshness {
        Freshness { as_of: Some(self.as_of), problem: self.problem.clone() }
    }
}

/// The failures of one view's refreshes: the last error and when the next refresh may be tried.
#[derive(Debug, Default)]
pub struct Backoff {
    failing: Option<Failing>,
}

#[derive(Debug)]
struct Failing {
    error: Upstream,
    retry_at: Instant,
    wait: Duration,
}

impl Backoff {
    /// Whether a refresh may be tried now.
    pub fn due(&self) -> bool {
        self.failing.as_ref().is_none_or(|f| Instant::now() >= f.retry_at)
    }

    /// The last failure, if the last refresh failed, with the time left before the next try.
    pub fn problem(&self) -> Option<Problem> {
        self.failing.as_ref().map(|f| Problem {
            error: f.error.clone(),
            retry_in: f.retry_at.saturating_duration_since(Instant::now()).as_secs_f64().ceil() as u32,
        })
    }

    /// The last failure's error, if any.
    pub fn error(&self) -> Option<&Upstream> {
        self.failing.as_ref().map(|f| &f.error)
    }

    /// Time to wait before the next try, when failing.
    pub fn wait(&self) -> Option<Duration> {
        self.failing.as_ref().map(|f| f.retry_at.saturating_duration_since(Instant::now()))
    }

    pub fn failed(&mut self, error: Upstream) {
        let wait = self.failing.as_ref().map_or(FIRST_BACKOFF, |f| (f.wait * 2).min(MAX_BACKOFF));
        self.failing = Some(Failing { error, retry_at: Instant::now() + wait, wait });
    }

    pub fn succeeded(&mut self) {
        self.failing = None;
    }
}

struct State<T> {
    /// The last good value, when it was fetched (wall clock, for the page) and its age (monotonic).
    good: Option<(T, DateTime<Utc>, Instant)>,
    backoff: Backoff,
    refreshing: bool,
    /// Set by [`Kept::invalidate`]: the next request refreshes whatever the value's age.
    outdated: bool,
}

/// The last good value of one view. See the module's documentation.
pub struct Kept<T> {
    state: Mutex<State<T>>,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept {
            state: Mutex::new(State { good: None, backoff: Backoff::default(), refreshing: false, outdated: false }),
        }
    }
}

/// What a request does with a cell.
enum Plan<T> {
    Answer(Known<T>),
    Refuse(Upstream),
    Refresh,
}

/// Clears the refreshing mark if the refresh is abandoned (its request went away) before it recorded.
struct Refreshing<'a, T>(&'a Kept<T>);

impl<T> Drop for Refreshing<'_, T> {
    fn drop(&mut self) {
        lock(&self.0.state).refreshing = false;
    }
}

impl<T: Clone> Kept<T> {
    /// The value, refreshed with `fetch` when it is older than `fresh_for` and a refresh may be tried.
    pub async fn get<F>(&self, fresh_for: Duration, fetch: F) -> Result<Known<T>, Upstream>
    where
        F: Future<Output = Result<T, Upstream>>,
    {
        match self.plan(fresh_for) {
            Plan::Answer(known) => Ok(known),
            Plan::Refuse(e) => Err(e),
            Plan::Refresh => {
                let _mark = Refreshing(self);
                let result = fetch.await;
                self.record(result)
            }
        }
    }

    fn plan(&self, fresh_for: Duration) -> Plan<T> {
        let mut st = lock(&self.state);
        let problem = st.backoff.problem();
        if let Some((value, as_of, fetched)) = &st.good {
            let known = Known { value: value.clone(), as_of: *as_of, problem };
            if known.problem.is_none() && !st.outdated && fetched.elapsed() < fresh_for {
                return Plan::Answer(known);
            }
            // Someone is asking already, or asking now would only be refused again: answer what is known.
            if st.refreshing || !st.backoff.due() {
                return Plan::Answer(known);
            }
        } else if let (false, Some(e)) = (st.backoff.due(), st.backoff.error()) {
            // Never loaded and failing: the error alone, without asking again before the backoff passed.
            return Plan::Refuse(e.clone());
        }
        st.refreshing = true;
        Plan::Refresh
    }

    /// Keep the result of a refresh, made here or by a poller on its own schedule, and answer with what
    /// is known after it: the new value, the last good one with the failure, or the error alone.
    pub fn record(&self, result: Result<T, Upstream>) -> Result<Known<T>, Upstream> {
        let mut st = lock(&self.state);
        st.refreshing = false;
        match result {
            Ok(value) => {
                let now = Utc::now();
                st.good = Some((value.clone(), now, Instant::now()));
                st.backoff.succeeded();
                st.outdated = false;
                Ok(Known::fresh(value, now))
            }
            Err(e) if e.is_transient() => {
                st.backoff.failed(e.clone());
                let problem = st.backoff.problem();
                match &st.good {
                    Some((value, as_of, _)) => Ok(Known { value: value.clone(), as_of: *as_of, problem }),
                    None => Err(e),
                }
            }
            Err(e) => {
                // A final answer (the thing is gone): what was known about it no longer holds.
                st.good = None;
                st.backoff.succeeded();
                Err(e)
            }
        }
    }

    /// Something changed it here (an action): the next request asks SageMaker, whatever the value's age.
    /// The value stays, to be shown if that refresh fails.
    pub fn invalidate(&self) {
        let mut st = lock(&self.state);
        st.outdated = true;
        st.backoff.succeeded();
    }

    /// Why the last refresh failed and when the next may be tried, value or not.
    pub fn problem(&self) -> Option<Problem> {
        lock(&self.state).backoff.problem()
    }

    /// What is known now, without asking anybody.
    pub fn peek(&self) -> Option<Known<T>> {
        let st = lock(&self.state);
        st.good.as_ref().map(|(value, as_of, _)| Known {
            value: value.clone(),
            as_of: *as_of,
            problem: st.backoff.problem(),
        })
    }
}

/// The cells by key, and their keys in the order they were added (the first to go when full).
type Cells<K, T> = (HashMap<K, Arc<Kept<T>>>, VecDeque<K>);

/// [`Kept`] cells by key, at most `capacity` of them: past it, the key added longest ago is dropped (a
/// page asked for again after that is fetched again). Keys whose last answer was final and that hold no
/// value are dropped at once, so unknown names cannot grow the map.
pub struct KeptMap<K, T> {
    capacity: usize,
    cells: Mutex<Cells<K, T>>,
    /// Keys never seen being fetched now, and where their answer will be: requests that come meanwhile
    /// wait for that one answer instead of asking again (a page opened by a hundred viewers at once).
    inflight: Mutex<HashMap<K, Answer<T>>>,
}

type Answer<T> = tokio::sync::watch::Receiver<Option<Result<Known<T>, Upstream>>>;

/// Takes a key off the in-flight map however its fetch ends.
struct Landed<'a, K: Eq + Hash, T>(&'a Mutex<HashMap<K, Answer<T>>>, K);

impl<K: Eq + Hash, T> Drop for Landed<'_, K, T> {
    fn drop(&mut self) {
        lock(self.0).remove(&self.1);
    }
}

impl<K: Eq + Hash + Clone, T: Clone> KeptMap<K, T> {
    pub fn new(capacity: usize) -> KeptMap<K, T> {
        KeptMap {
            capacity: capacity.max(1),
            cells: Mutex::new((HashMap::new(), VecDeque::new())),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// The cell of `key`, made if there is none.
    fn cell(&self, key: &K) -> Arc<Kept<T>> {
        let mut cells = lock(&self.cells);
        if let Some(c) = cells.0.get(key) {
            return c.clone();
        }
        let c = Arc::new(Kept::default());
        cells.0.insert(key.clone(), c.clone());
        cells.1.push_back(key.clone());
        while cells.1.len() > self.capacity {
            if let Some(old) = cells.1.pop_front() {
                cells.0.remove(&old);
            }
        }
        c
    }

    /// As [`Kept::get`] on `key`'s cell. A key not seen before gets a cell only once SageMaker has said
    /// something worth keeping (a value, or a transient failure to back off from): unknown names neither
    /// stay nor push known ones out.
    pub async fn get<F>(&self, key: &K, fresh_for: Duration, fetch: F) -> Result<Known<T>, Upstream>
    where
        F: Future<Output = Result<T, Upstream>>,
    {
        let existing = lock(&self.cells).0.get(key).cloned();
        match existing {
            Some(cell) => {
                let result = cell.get(fresh_for, fetch).await;
                if result.is_err() {
                    self.forget_if_empty(key);
                }
                result
            }
            None => {
                let following = lock(&self.inflight).get(key).cloned();
                if let Some(mut answer) = following {
                    if let Ok(landed) = answer.wait_for(Option::is_some).await {
                        if let Some(result) = landed.clone() {
                            return result;
                        }
                    }
                    // The request that was asking went away before its answer: ask here.
                }
                let (tx, rx) = tokio::sync::watch::channel(None);
                lock(&self.inflight).insert(key.clone(), rx);
                let _landed = Landed(&self.inflight, key.clone());
                let result = match fetch.await {
                    Err(e) if !e.is_transient() => Err(e),
                    result => self.record(key, result),
                };
                let _ = tx.send(Some(result.clone()));
                result
            }
        }
    }

    /// As [`Kept::record`] on `key`'s cell.
    pub fn record(&self, key: &K, result: Result<T, Upstream>) -> Result<Known<T>, Upstream> {
        let known = self.cell(key).record(result);
        if known.is_err() {
            self.forget_if_empty(key);
        }
        known
    }

    pub fn peek(&self, key: &K) -> Option<Known<T>> {
        lock(&self.cells).0.get(key).and_then(|c| c.peek())
    }

    pub fn problem(&self, key: &K) -> Option<Problem> {
        lock(&self.cells).0.get(key).and_then(|c| c.problem())
    }

    pub fn invalidate(&self, key: &K) {
        if let Some(c) = lock(&self.cells).0.get(key) {
            c.invalidate();
        }
    }

    pub fn invalidate_all(&self) {
        let cells: Vec<_> = lock(&self.cells).0.values().cloned().collect();
        for c in cells {
            c.invalidate();
        }
    }

    pub fn len(&self) -> usize {
        lock(&self.cells).0.len()
    }

    /// Drop `key` after a final answer (nothing to show, nothing to wait for). A never-loaded key that
    /// failed transiently stays, so its backoff holds.
    fn forget_if_empty(&self, key: &K) {
        let mut cells = lock(&self.cells);
        let drop = cells.0.get(key).is_some_and(|c| {
            let st = lock(&c.state);
            st.good.is_none() && !st.refreshing && st.backoff.due()
        });
        if drop {
            cells.0.remove(key);
            cells.1.retain(|k| k != key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled() -> Upstream {
        Upstream::new("ThrottlingException", "Rate exceeded")
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_failed_refresh_answers_the_last_good_value_with_the_reason_and_waits_before_asking_again() {
        rt().block_on(async {
            let kept: Kept<u32> = Kept::default();
            let asked = std::sync::atomic::AtomicU32::new(0);
            let asked = &asked;
            // Counts the fetches that are awaited, i.e. the calls SageMaker would see.
            let fetch = move |r: Result<u32, Upstream>| async move {
                asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                r
            };
            let first = kept.get(Duration::ZERO, fetch(Ok(1))).await.unwrap();
            assert_eq!((first.value, first.problem.is_none()), (1, true));
            // The refresh fails: the old value, with why.
            let stale = kept.get(Duration::ZERO, fetch(Err(throttled()))).await.unwrap();
            assert_eq!(stale.value, 1);
            assert_eq!(stale.as_of, first.as_of);
            let p = stale.problem.expect("a problem");
            assert_eq!(p.error.code, "ThrottlingException");
            assert!((4..=5).contains(&p.retry_in), "{}", p.retry_in);
            // During the backoff nobody asks SageMaker.
            let again = kept.get(Duration::ZERO, fetch(Ok(2))).await.unwrap();
            assert_eq!(again.value, 1);
            assert!(again.problem.is_some());
            assert_eq!(asked.load(std::sync::atomic::Ordering::Relaxed), 2, "no call during the backoff");
        });
    }

    #[test]
    fn recovery_clears_the_problem_and_backoffs_grow_up_to_their_cap() {
        let mut b = Backoff::default();
        assert!(b.due() && b.problem().is_none());
        let mut waits = vec![];
        for _ in 0..5 {
            b.failed(throttled());
            waits.push(b.failing.as_ref().unwrap().wait.as_secs());
        }
        assert_eq!(waits, vec![5, 10, 20, 30, 30]);
        assert!(!b.due());
        b.succeeded();
        assert!(b.due() && b.problem().is_none());
    }

    #[test]
    fn a_view_never_loaded_shows_the_error_alone_and_a_final_answer_forgets_the_value() {
        rt().block_on(async {
            let kept: Kept<u32> = Kept::default();
            let e = kept.get(Duration::ZERO, async { Err(throttled()) }).await.unwrap_err();
            assert_eq!(e.code, "ThrottlingException");
            // Still in backoff: refused at once, without fetching.
            let e = kept.get(Duration::ZERO, async { Ok(7) }).await.unwrap_err();
            assert_eq!(e.code, "ThrottlingException");
            let kept: Kept<u32> = Kept::default();
            kept.record(Ok(1)).unwrap();
            let gone = Upstream::new("ResourceNotFound", "gone");
            assert!(kept.get(Duration::ZERO, async { Err(gone) }).await.is_err());
            assert!(kept.peek().is_none(), "a deleted thing is not shown as stale");
        });
    }

    #[test]
    fn an_invalidated_value_is_asked_again_at_once() {
        rt().block_on(async {
            let kept: Kept<u32> = Kept::default();
            kept.record(Ok(1)).unwrap();
            assert_eq!(kept.get(Duration::from_secs(60), async { Ok(2) }).await.unwrap().value, 1);
            kept.invalidate();
            assert_eq!(kept.get(Duration::from_secs(60), async { Ok(3) }).await.unwrap().value, 3);
        });
    }

    #[tokio::test]
    async fn requests_for_a_key_never_seen_share_one_fetch() {
        let map: Arc<KeptMap<String, u32>> = Arc::new(KeptMap::new(10));
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (map, calls) = (map.clone(), calls.clone());
                tokio::spawn(async move {
                    let fetch = async {
                        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7)
                    };
                    map.get(&"k".to_string(), Duration::from_secs(5), fetch).await.map(|k| k.value)
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(7));
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1, "one fetch for twenty requests");
    }

    #[test]
    fn maps_stay_within_their_capacity_and_forget_unknown_keys() {
        rt().block_on(async {
            let map: KeptMap<String, u32> = KeptMap::new(2);
            for k in ["a", "b", "c"] {
                map.record(&k.to_string(), Ok(1)).unwrap();
            }
            assert_eq!(map.len(), 2);
            assert!(map.peek(&"a".to_string()).is_none(), "the oldest key went");
            let gone = Upstream::new("ResourceNotFound", "no such pipeline");
            assert!(map.get(&"zzz".to_string(), Duration::ZERO, async { Err(gone) }).await.is_err());
            assert_eq!(map.len(), 2, "an unknown name leaves nothing behind");
        });
    }
}
