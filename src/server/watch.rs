//! Shared pollers and caches, so the number of upstream calls never grows with the number of open tabs.
//!
//! - An execution that is watched (by at least one SSE stream) has exactly one poller. It polls fast while
//!   the execution runs, backs off on throttling, and stops once the execution is finished or nobody
//!   watches any more. Every viewer receives the same snapshots through a `tokio::sync::watch` channel.
//! - Finished executions never change: their snapshot is cached and served without any upstream call.
//! - Each pipeline's executions are kept in an index refreshed incrementally from the top of the newest-first
//!   list, so status filters and sorting (which the API does not offer) run on the server without listing
//!   every execution again.
//! - Every view keeps its last good data (`super::stale`): when SageMaker refuses a refresh, pages and
//!   streams show what is known with its age and the reason, and nobody asks again before the backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::gateway::Gateway;
use super::stale::{Backoff, Kept, KeptMap, Known};
use crate::api::{Newest, PipelineRow};
pub use crate::model::ExecutionView;
use crate::model::{ExecStatus, ExecutionSummary, NameValue, PipelineDetail, Problem, Upstream};

/// Poll interval while an execution runs.
const RUNNING_EVERY: Duration = Duration::from_secs(2);
/// How long a running execution's snapshot serves page loads without asking again.
const EXECUTION_FRESH: Duration = Duration::from_secs(1);
/// How long the pipelines page is reused.
const HOME_FRESH: Duration = Duration::from_secs(5);
/// How long an execution index is fresh enough to answer without a refresh.
const INDEX_FRESH: Duration = Duration::from_secs(3);
/// How long a pipeline's description is reused: as long as its index, so a list page is at most that old
/// in both halves and its reloads cost no upstream call.
const PIPELINE_FRESH: Duration = INDEX_FRESH;
/// Finished executions kept in memory.
const TERMINAL_CACHE: usize = 2_000;
/// Last seen snapshots of unfinished executions, and pipeline descriptions, kept to show when a refresh
/// fails.
const LAST_SEEN: usize = 1_000;

/// What a live execution stream carries: the last snapshot, and why it is not newer when polling fails.
#[derive(Clone, Debug, Default)]
pub struct LiveState {
    pub view: Option<Arc<ExecutionView>>,
    pub problem: Option<Problem>,
}

/// What a live list stream carries: the list's version, and why it is not newer when refreshing fails.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListState {
    pub version: u64,
    pub problem: Option<Problem>,
}

struct ExecutionWatch {
    tx: watch::Sender<LiveState>,
}

#[derive(Default)]
struct Index {
    /// Newest first, as the service lists them.
    items: Vec<ExecutionSummary>,
    complete: bool,
    refreshed: Option<Instant>,
    /// Bumped whenever a refresh changes something; list streams send it to browsers.
    version: u64,
    /// When the last refresh succeeded.
    as_of: Option<DateTime<Utc>>,
    backoff: Backoff,
}

/// Finished executions by ARN, and their ARNs oldest first (the first to go when the cache is full).
type Finished = (HashMap<String, Arc<ExecutionView>>, Vec<String>);

pub struct Watchers {
    gateway: Arc<Gateway>,
    executions: Mutex<HashMap<String, Arc<ExecutionWatch>>>,
    finished: Mutex<Finished>,
    /// The last seen snapshot of each unfinished execution asked for, by ARN.
    views: KeptMap<String, Arc<ExecutionView>>,
    indexes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Index>>>>,
    /// Pipeline descriptions by lower-cased name.
    pipelines: KeptMap<String, PipelineDetail>,
    /// The pipelines page's rows.
    home: Kept<Vec<PipelineRow>>,
    list_streams: Mutex<HashMap<String, watch::Sender<ListState>>>,
    /// Parameters and definitions never change during an execution's life: fetched once.
    parameters: Mutex<HashMap<String, Vec<NameValue>>>,
    definitions: Mutex<HashMap<String, String>>,
    /// End times of finished executions (their last modification).
    ends: Mutex<HashMap<String, Option<DateTime<Utc>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Set a live problem; whether that is news for the streams (its start, end or cause; not its countdown).
fn replace(cur: &mut Option<Problem>, new: Option<Problem>) -> bool {
    let changed = match (&*cur, &new) {
        (Some(a), Some(b)) => a.error != b.error,
        (a, b) => a.is_some() != b.is_some(),
    };
    *cur = new;
    changed
}

/// What one round of a poller found.
enum Round {
    /// Still changing: look again soon.
    Again,
    /// Finished for good (or gone): stop polling.
    Done,
    /// The refresh failed: look again after this long.
    Failed(Duration),
}

/// Why a poller stopped.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Done,
    Unwatched,
}

/// The one poll loop of every shared poller: a round every `RUNNING_EVERY`, or after the backoff a failed
/// round names, until a round says it is done or nobody watches. `unwatched` must check and deregister
/// under the registry's lock, so a new subscriber either joins this poller before it stops or starts a
/// new one after.
async fn poll_loop<F, Fut>(mut round: F, mut unwatched: impl FnMut() -> bool) -> Ended
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Round>,
{
    loop {
        let wait = match round().await {
            Round::Done => return Ended::Done,
            Round::Again => RUNNING_EVERY,
            Round::Failed(after) => after.max(Duration::from_secs(1)),
        };
        tokio::time::sleep(wait).await;
        if unwatched() {
            return Ended::Unwatched;
        }
    }
}

impl Watchers {
    pub fn new(gateway: Arc<Gateway>) -> Arc<Watchers> {
        Arc::new(Watchers {
            gateway,
            executions: Mutex::new(HashMap::new()),
            finished: Mutex::new((HashMap::new(), Vec::new())),
            views: KeptMap::new(LAST_SEEN),
            indexes: Mutex::new(HashMap::new()),
            pipelines: KeptMap::new(LAST_SEEN),
            home: Kept::default(),
            list_streams: Mutex::new(HashMap::new()),
            parameters: Mutex::new(HashMap::new()),
            definitions: Mutex::new(HashMap::new()),
            ends: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, arn: &str) -> Option<Arc<ExecutionView>> {
        lock(&self.finished).0.get(arn).cloned()
    }

    fn remember(&self, view: &Arc<ExecutionView>) {
        if !view.execution.status.is_terminal() || view.steps.is_err() {
            return;
        }
        let mut f = lock(&self.finished);
        if f.0.insert(view.execution.arn.clone(), view.clone()).is_none() {
            f.1.push(view.execution.arn.clone());
            if f.1.len() > TERMINAL_CACHE {
                let oldest = f.1.remove(0);
                f.0.remove(&oldest);
            }
        }
    }

    /// Fetch a fresh snapshot from upstream.
    async fn fetch(&self, arn: &str) -> Result<Arc<ExecutionView>, Upstream> {
        let execution = self.gateway.describe_execution(arn).await?;
        let (steps, parameters) = tokio::join!(self.gateway.list_steps(arn), self.parameters(arn));
        let view = Arc::new(ExecutionView { execution, steps, parameters, fetched_at: Utc::now() });
        self.remember(&view);
        Ok(view)
    }

    /// The current snapshot of an execution: from the finished cache, or as last seen (by a page load or
    /// the live poller) while it is fresh, else fetched; when that fails, as last seen with the reason.
    pub async fn execution(&self, arn: &str) -> Result<Known<Arc<ExecutionView>>, Upstream> {
        if let Some(v) = self.cached(arn) {
            let at = v.fetched_at;
            return Ok(Known::fresh(v, at));
        }
        self.views.get(&arn.to_string(), EXECUTION_FRESH, self.fetch(arn)).await
    }

    /// An execution changed because of an action here (stopped, retried, answered): drop what is cached
    /// about it and make its pipeline's list look at it again.
    pub async fn touched(&self, pipeline: &str, arn: &str) {
        {
            let mut f = lock(&self.finished);
            f.0.remove(arn);
            f.1.retain(|a| a != arn);
        }
        lock(&self.ends).remove(arn);
        self.views.invalidate(&arn.to_string());
        self.home.invalidate();
        let index = self.index(pipeline);
        let mut idx = index.lock().await;
        if let Some(item) = idx.items.iter_mut().find(|e| e.arn == arn) {
            item.status = ExecStatus::Executing;
        }
        idx.refreshed = None;
    }

    /// Forget how recent everything is: the next request of every view asks SageMaker, even one that
    /// just failed. What is known stays, to be shown if that fails again. (A "refresh now", and how tests
    /// skip the freshness windows and backoffs instead of waiting them out.)
    pub async fn refresh_all(&self) {
        self.home.invalidate();
        self.pipelines.invalidate_all();
        self.views.invalidate_all();
        let indexes: Vec<_> = lock(&self.indexes).values().cloned().collect();
        for index in indexes {
            let mut idx = index.lock().await;
            idx.refreshed = None;
            idx.backoff.succeeded();
        }
    }

    /// A new execution was started here: the next list refreshes at once.
    pub async fn started(&self, pipeline: &str) {
        self.home.invalidate();
        let index = self.index(pipeline);
        index.lock().await.refreshed = None;
    }

    /// An execution's parameters, asked once.
    pub async fn parameters(&self, arn: &str) -> Result<Vec<NameValue>, Upstream> {
        if let Some(p) = lock(&self.parameters).get(arn) {
            return Ok(p.clone());
        }
        let p = self.gateway.list_parameters(arn).await?;
        lock(&self.parameters).insert(arn.to_string(), p.clone());
        Ok(p)
    }

    /// The definition an execution runs with, asked once.
    pub async fn definition(&self, arn: &str) -> Result<String, Upstream> {
        if let Some(d) = lock(&self.definitions).get(arn) {
            return Ok(d.clone());
        }
        let d = self.gateway.execution_definition(arn).await?;
        lock(&self.definitions).insert(arn.to_string(), d.clone());
        Ok(d)
    }

    /// What a list row needs beyond the summary: the end time of a finished execution and, when parameter
    /// columns are shown, its parameters. Both are cached, so a warm list costs no upstream call.
    pub async fn row_extras(
        &self,
        arn: &str,
        terminal: bool,
        with_params: bool,
    ) -> (Option<DateTime<Utc>>, Vec<NameValue>) {
        let end = if terminal {
            let known = lock(&self.ends).get(arn).cloned();
            match known {
                Some(e) => e,
                None => match self.cached(arn) {
                    Some(v) => v.execution.modified,
                    None => match self.gateway.describe_execution(arn).await {
                        Ok(d) if d.status.is_terminal() => {
                            lock(&self.ends).insert(arn.to_string(), d.modified);
                            d.modified
                        }
                        _ => None,
                    },
                },
            }
        } else {
            None
        };
        let params = if with_params { self.parameters(arn).await.unwrap_or_default() } else { vec![] };
        (end, params)
    }

    /// Subscribe to an execution's snapshots. Starts its poller if nobody watched it yet.
    pub fn subscribe(self: &Arc<Self>, arn: &str) -> watch::Receiver<LiveState> {
        if let Some(v) = self.cached(arn) {
            // Finished: one snapshot, no poller.
            let (_tx, rx) = watch::channel(LiveState { view: Some(v), problem: None });
            return rx;
        }
        let mut map = lock(&self.executions);
        if let Some(w) = map.get(arn) {
            return w.tx.subscribe();
        }
        // Start from what is known, so a stream opened while SageMaker fails still shows the last snapshot.
        let known = self.views.peek(&arn.to_string());
        let (tx, rx) = watch::channel(LiveState {
            view: known.as_ref().map(|k| k.value.clone()),
            problem: known.and_then(|k| k.problem),
        });
        let w = Arc::new(ExecutionWatch { tx });
        map.insert(arn.to_string(), w.clone());
        drop(map);
        let this = self.clone();
        let arn = arn.to_string();
        tokio::spawn(async move { this.poll(arn, w).await });
        rx
    }

    async fn poll(self: Arc<Self>, arn: String, w: Arc<ExecutionWatch>) {
        let (this, arn, w) = (&self, &arn, &w);
        let ended = poll_loop(
            || async move {
                let key = arn.to_string();
                let known = match this.views.record(&key, this.fetch(arn).await) {
                    Ok(known) => known,
                    // Gone (or refused for good): nothing more to watch.
                    Err(e) if !e.is_transient() => return Round::Done,
                    Err(e) => {
                        // Never seen and failing: the cell keeps the backoff (and says when to try again).
                        let problem = this.views.problem(&key).unwrap_or(Problem { error: e, retry_in: 5 });
                        let wait = Duration::from_secs(problem.retry_in.into());
                        w.tx.send_if_modified(|cur| replace(&mut cur.problem, Some(problem)));
                        return Round::Failed(wait);
                    }
                };
                let view = known.value;
                let done = known.problem.is_none() && view.execution.status.is_terminal();
                let wait = known.problem.as_ref().map(|p| Duration::from_secs(p.retry_in.into()));
                w.tx.send_if_modified(|cur| {
                    // Only a real change wakes the streams (every poll makes a new snapshot).
                    let changed =
                        cur.view.as_ref().is_none_or(|c| c.execution != view.execution || c.steps != view.steps);
                    if changed {
                        cur.view = Some(view.clone());
                    }
                    replace(&mut cur.problem, known.problem.clone()) || changed
                });
                match (done, wait) {
                    (true, _) => Round::Done,
                    (false, Some(wait)) => Round::Failed(wait),
                    (false, None) => Round::Again,
                }
            },
            || {
                let mut map = lock(&this.executions);
                let unwatched = w.tx.receiver_count() == 0;
                if unwatched {
                    map.remove(arn);
                }
                unwatched
            },
        )
        .await;
        if ended == Ended::Done {
            // Finished: later subscribers are served from the cache. Keep the channel until viewers leave.
            lock(&this.executions).remove(arn);
        }
    }

    /// A pipeline's description (name, definition, parallelism), asked again once it is older than
    /// `PIPELINE_FRESH`; as last known, with the reason, while SageMaker refuses. Unknown names are not
    /// remembered, so they cannot grow the map.
    pub async fn pipeline(&self, name: &str) -> Result<Known<PipelineDetail>, Upstream> {
        self.pipelines.get(&name.to_lowercase(), PIPELINE_FRESH, self.gateway.describe_pipeline(name)).await
    }

    /// The pipelines page: every pipeline with its newest execution, reused for `HOME_FRESH`. A row whose
    /// newest execution cannot be asked keeps what the last page knew, or says it is not known.
    pub async fn home(&self) -> Result<Known<Vec<PipelineRow>>, Upstream> {
        self.home.get(HOME_FRESH, self.fetch_home()).await
    }

    async fn fetch_home(&self) -> Result<Vec<PipelineRow>, Upstream> {
        let pipelines = self.gateway.all_pipelines().await?;
        let before = self.home.peek().map(|k| k.value).unwrap_or_default();
        let newest =
            futures::future::join_all(pipelines.iter().map(|p| self.gateway.list_executions(&p.name, None, 1))).await;
        Ok(pipelines
            .into_iter()
            .zip(newest)
            .map(|(pipeline, page)| {
                let newest = match page {
                    Ok(page) => page.items.into_iter().next().map_or(Newest::Never, Newest::Run),
                    Err(e) => before
                        .iter()
                        .find(|r| r.pipeline.arn == pipeline.arn)
                        .map(|r| r.newest.clone())
                        .filter(|n| !matches!(n, Newest::Unknown(_)))
                        .unwrap_or(Newest::Unknown(e)),
                };
                PipelineRow { pipeline, newest }
            })
            .collect())
    }

    fn index(&self, pipeline: &str) -> Arc<tokio::sync::Mutex<Index>> {
        lock(&self.indexes).entry(pipeline.to_lowercase()).or_default().clone()
    }

    /// All executions of a pipeline, newest first, refreshed if older than a few seconds, with the index
    /// version. When a refresh fails, what the index holds answers with the reason; an index never loaded
    /// answers the error alone.
    pub async fn executions(&self, pipeline: &str) -> Result<Known<(Vec<ExecutionSummary>, u64)>, Upstream> {
        let index = self.index(pipeline);
        let mut idx = index.lock().await;
        if idx.refreshed.is_none_or(|t| t.elapsed() > INDEX_FRESH) && idx.backoff.due() {
            match self.refresh(pipeline, &mut idx).await {
                Ok(()) => idx.backoff.succeeded(),
                Err(e) if e.is_transient() => idx.backoff.failed(e),
                Err(e) => return Err(e),
            }
        }
        match (idx.as_of, idx.backoff.error()) {
            (Some(as_of), _) => {
                Ok(Known { value: (idx.items.clone(), idx.version), as_of, problem: idx.backoff.problem() })
            }
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err(Upstream::new("NotLoaded", "the executions have not been listed yet")),
        }
    }

    /// Bring an index up to date: list from the top until the pages overlap what is known and every known
    /// unfinished execution has been seen again; the first time, list everything.
    async fn refresh(&self, pipeline: &str, idx: &mut Index) -> Result<(), Upstream> {
        let oldest_running = idx.items.iter().rposition(|e| !e.status.is_terminal());
        let mut fresh: Vec<ExecutionSummary> = vec![];
        let mut next = None;
        let mut overlap_at = None;
        for _ in 0..500 {
            let page = self.gateway.list_executions(pipeline, next, 100).await?;
            for item in page.items {
                if overlap_at.is_none() {
                    if let Some(p) = idx.items.iter().position(|k| k.arn == item.arn) {
                        overlap_at = Some(p);
                    }
                }
                fresh.push(item);
            }
            next = page.next;
            let seen_running = match (oldest_running, overlap_at) {
                (None, _) => true,
                (Some(r), Some(o)) => fresh.len() > r.saturating_sub(o) + 1 || next.is_none(),
                (Some(_), None) => false,
            };
            if next.is_none() || (idx.complete && overlap_at.is_some() && seen_running) {
                break;
            }
        }
        // Keep the known tail below what was just listed.
        let mut merged = fresh;
        if next.is_some() {
            if let Some(last) = merged.last() {
                if let Some(p) = idx.items.iter().position(|k| k.arn == last.arn) {
                    merged.extend(idx.items.iter().skip(p + 1).cloned());
                }
            }
        }
        if merged != idx.items {
            idx.version += 1;
            idx.items = merged;
            if let Some(tx) = lock(&self.list_streams).get(&pipeline.to_lowercase()) {
                tx.send_modify(|st| st.version = idx.version);
            }
        }
        idx.complete = true;
        idx.refreshed = Some(Instant::now());
        idx.as_of = Some(Utc::now());
        Ok(())
    }

    /// Subscribe to changes of a pipeline's execution list: a version number that grows. One refresher
    /// per pipeline runs while anybody listens.
    pub fn subscribe_list(self: &Arc<Self>, pipeline: &str) -> watch::Receiver<ListState> {
        let key = pipeline.to_lowercase();
        let mut streams = lock(&self.list_streams);
        if let Some(tx) = streams.get(&key) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(ListState::default());
        streams.insert(key.clone(), tx.clone());
        drop(streams);
        let this = self.clone();
        let pipeline = pipeline.to_string();
        tokio::spawn(async move {
            let (this, pipeline, tx, key) = (&this, &pipeline, &tx, &key);
            poll_loop(
                || async move {
                    let index = this.index(pipeline);
                    let mut idx = index.lock().await;
                    let round = match this.refresh(pipeline, &mut idx).await {
                        Ok(()) => {
                            idx.backoff.succeeded();
                            Round::Again
                        }
                        Err(e) if !e.is_transient() => Round::Done,
                        Err(e) => {
                            idx.backoff.failed(e);
                            Round::Failed(idx.backoff.wait().unwrap_or(RUNNING_EVERY))
                        }
                    };
                    let now = ListState { version: idx.version, problem: idx.backoff.problem() };
                    tx.send_if_modified(|cur| {
                        // A problem's countdown alone is not news; its start and its end are.
                        let changed = cur.version != now.version || cur.problem.is_some() != now.problem.is_some();
                        *cur = now;
                        changed
                    });
                    round
                },
                || {
                    let mut streams = lock(&this.list_streams);
                    let unwatched = tx.receiver_count() == 0;
                    if unwatched {
                        streams.remove(key);
                    }
                    unwatched
                },
            )
            .await;
        });
        rx
    }
}

/// Which executions a list view shows: a status filter, a time range, an order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    pub statuses: Vec<ExecStatus>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub oldest_first: bool,
}

/// Apply a filter and cut a page after the cursor (an execution id). Pure, so it is tested directly.
pub fn select(
    items: &[ExecutionSummary],
    filter: &ListFilter,
    cursor: Option<&str>,
    size: usize,
) -> (Vec<ExecutionSummary>, Option<String>, usize) {
    let mut matching: Vec<&ExecutionSummary> = items
        .iter()
        .filter(|e| filter.statuses.is_empty() || filter.statuses.contains(&e.status))
        .filter(|e| filter.after.is_none_or(|a| e.start.is_some_and(|s| s >= a)))
        .filter(|e| filter.before.is_none_or(|b| e.start.is_some_and(|s| s < b)))
        .collect();
    if filter.oldest_first {
        matching.reverse();
    }
    let total = matching.len();
    let start = cursor.and_then(|c| matching.iter().position(|e| e.id == c).map(|p| p + 1)).unwrap_or(0);
    let page: Vec<ExecutionSummary> = matching.iter().skip(start).take(size.max(1)).map(|e| (*e).clone()).collect();
    let next = if start + page.len() < total { page.last().map(|e| e.id.clone()) } else { None };
    (page, next, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(id: &str, status: ExecStatus, minute: u32) -> ExecutionSummary {
        ExecutionSummary {
            arn: format!("arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/{id}"),
            id: id.into(),
            display_name: None,
            status,
            start: DateTime::from_timestamp(1_700_000_000 + i64::from(minute) * 60, 0),
            description: None,
            failure_reason: None,
        }
    }

    #[test]
    fn filters_by_status_and_pages_with_a_cursor() {
        let items: Vec<ExecutionSummary> = (0..10)
            .rev()
            .map(|i| ex(&format!("e{i}"), if i % 2 == 0 { ExecStatus::Failed } else { ExecStatus::Succeeded }, i))
            .collect();
        let f = ListFilter { statuses: vec![ExecStatus::Failed], ..Default::default() };
        let (p1, next, total) = select(&items, &f, None, 2);
        assert_eq!(total, 5);
        assert_eq!(p1.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["e8", "e6"]);
        let (p2, _, _) = select(&items, &f, next.as_deref(), 2);
        assert_eq!(p2.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["e4", "e2"]);
        let (last, next, _) = select(&items, &f, Some("e2"), 2);
        assert_eq!(last.len(), 1);
        assert_eq!(next, None);
    }

    #[test]
    fn time_range_and_order() {
        let items: Vec<ExecutionSummary> =
            (0..5).rev().map(|i| ex(&format!("e{i}"), ExecStatus::Succeeded, i)).collect();
        let f = ListFilter {
            after: DateTime::from_timestamp(1_700_000_000 + 60, 0),
            before: DateTime::from_timestamp(1_700_000_000 + 4 * 60, 0),
            oldest_first: true,
            ..Default::default()
        };
        let (page, _, total) = select(&items, &f, None, 10);
        assert_eq!(total, 3);
        assert_eq!(page.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["e1", "e2", "e3"]);
    }
}
