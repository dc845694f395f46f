//! Shared pollers and caches, so the number of upstream calls never grows with the number of open tabs.
//!
//! - An execution that is watched (by at least one SSE stream) has exactly one poller. It polls fast while
//!   the execution runs, backs off on throttling, and stops once the execution is finished or nobody
//!   watches any more. Every viewer receives the same snapshots through a `tokio::sync::watch` channel.
//! - Finished executions never change: their snapshot is cached and served without any upstream call.
//! - Each pipeline's executions are kept in an index refreshed incrementally from the top of the newest-first
//!   list, so status filters and sorting (which the API does not offer) run on the server without listing
//!   every execution again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::gateway::Gateway;
pub use crate::model::ExecutionView;
use crate::model::{ExecStatus, ExecutionSummary, NameValue, PipelineDetail, Upstream};

/// Poll interval while an execution runs.
const RUNNING_EVERY: Duration = Duration::from_secs(2);
/// Longest interval when the service keeps throttling.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long an execution index is fresh enough to answer without a refresh.
const INDEX_FRESH: Duration = Duration::from_secs(3);
/// How long a pipeline's description is reused: as long as its index, so a list page is at most that old
/// in both halves and its reloads cost no upstream call.
const PIPELINE_FRESH: Duration = INDEX_FRESH;
/// Finished executions kept in memory.
const TERMINAL_CACHE: usize = 2_000;

struct ExecutionWatch {
    tx: watch::Sender<Option<Arc<ExecutionView>>>,
}

#[derive(Default)]
struct Index {
    /// Newest first, as the service lists them.
    items: Vec<ExecutionSummary>,
    complete: bool,
    refreshed: Option<Instant>,
    /// Bumped whenever a refresh changes something; list streams send it to browsers.
    version: u64,
}

/// Finished executions by ARN, and their ARNs oldest first (the first to go when the cache is full).
type Finished = (HashMap<String, Arc<ExecutionView>>, Vec<String>);

pub struct Watchers {
    gateway: Arc<Gateway>,
    executions: Mutex<HashMap<String, Arc<ExecutionWatch>>>,
    finished: Mutex<Finished>,
    indexes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Index>>>>,
    /// Pipeline descriptions by lower-cased name, with when they were asked.
    pipelines: Mutex<HashMap<String, (Instant, PipelineDetail)>>,
    list_streams: Mutex<HashMap<String, watch::Sender<u64>>>,
    /// Parameters and definitions never change during an execution's life: fetched once.
    parameters: Mutex<HashMap<String, Vec<NameValue>>>,
    definitions: Mutex<HashMap<String, String>>,
    /// End times of finished executions (their last modification).
    ends: Mutex<HashMap<String, Option<DateTime<Utc>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What one round of a poller found.
enum Round {
    /// Still changing: look again soon.
    Again,
    /// Finished for good: stop polling.
    Done,
}

/// Why a poller stopped.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Done,
    Unwatched,
}

/// The one poll loop of every shared poller: a round every `RUNNING_EVERY`, backing off (doubling up to
/// `MAX_BACKOFF`) while rounds fail, until a round says it is done or nobody watches. `unwatched` must check
/// and deregister under the registry's lock, so a new subscriber either joins this poller before it stops
/// or starts a new one after.
async fn poll_loop<F, Fut>(mut round: F, mut unwatched: impl FnMut() -> bool) -> Ended
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Round, ()>>,
{
    let mut wait = RUNNING_EVERY;
    loop {
        match round().await {
            Ok(Round::Done) => return Ended::Done,
            Ok(Round::Again) => wait = RUNNING_EVERY,
            Err(()) => wait = (wait * 2).min(MAX_BACKOFF),
        }
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
            indexes: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
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

    /// The current snapshot of an execution: from the finished cache, from its live poller, or fetched.
    pub async fn execution(&self, arn: &str) -> Result<Arc<ExecutionView>, Upstream> {
        if let Some(v) = self.cached(arn) {
            return Ok(v);
        }
        // A live poller's snapshot serves a page load only while it is fresh; otherwise ask again.
        let live = lock(&self.executions).get(arn).and_then(|w| w.tx.borrow().clone());
        if let Some(v) = live.filter(|v| (Utc::now() - v.fetched_at).num_milliseconds() < 1000) {
            return Ok(v);
        }
        self.fetch(arn).await
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
        let index = self.index(pipeline);
        let mut idx = index.lock().await;
        if let Some(item) = idx.items.iter_mut().find(|e| e.arn == arn) {
            item.status = ExecStatus::Executing;
        }
        idx.refreshed = None;
    }

    /// A new execution was started here: the next list refreshes at once.
    pub async fn started(&self, pipeline: &str) {
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
    pub fn subscribe(self: &Arc<Self>, arn: &str) -> watch::Receiver<Option<Arc<ExecutionView>>> {
        if let Some(v) = self.cached(arn) {
            // Finished: one snapshot, no poller.
            let (_tx, rx) = watch::channel(Some(v));
            return rx;
        }
        let mut map = lock(&self.executions);
        if let Some(w) = map.get(arn) {
            return w.tx.subscribe();
        }
        let (tx, rx) = watch::channel(None);
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
                let view = this.fetch(arn).await.map_err(|_| ())?;
                let done = view.execution.status.is_terminal();
                w.tx.send_if_modified(|cur| {
                    let changed = cur.as_ref().is_none_or(|c| c.execution != view.execution || c.steps != view.steps);
                    if changed {
                        *cur = Some(view.clone());
                    }
                    changed
                });
                Ok(if done { Round::Done } else { Round::Again })
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
    /// `PIPELINE_FRESH`. Only pipelines that exist are remembered, so unknown names cannot grow the map.
    pub async fn pipeline(&self, name: &str) -> Result<PipelineDetail, Upstream> {
        let key = name.to_lowercase();
        if let Some((at, detail)) = lock(&self.pipelines).get(&key) {
            if at.elapsed() <= PIPELINE_FRESH {
                return Ok(detail.clone());
            }
        }
        let detail = self.gateway.describe_pipeline(name).await?;
        lock(&self.pipelines).insert(key, (Instant::now(), detail.clone()));
        Ok(detail)
    }

    fn index(&self, pipeline: &str) -> Arc<tokio::sync::Mutex<Index>> {
        lock(&self.indexes).entry(pipeline.to_lowercase()).or_default().clone()
    }

    /// All executions of a pipeline, newest first, refreshed if older than a few seconds. Returns them with
    /// the index version.
    pub async fn executions(&self, pipeline: &str) -> Result<(Vec<ExecutionSummary>, u64), Upstream> {
        let index = self.index(pipeline);
        let mut idx = index.lock().await;
        if idx.refreshed.is_none_or(|t| t.elapsed() > INDEX_FRESH) {
            self.refresh(pipeline, &mut idx).await?;
        }
        Ok((idx.items.clone(), idx.version))
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
                tx.send_replace(idx.version);
            }
        }
        idx.complete = true;
        idx.refreshed = Some(Instant::now());
        Ok(())
    }

    /// Subscribe to changes of a pipeline's execution list: a version number that grows. One refresher
    /// per pipeline runs while anybody listens.
    pub fn subscribe_list(self: &Arc<Self>, pipeline: &str) -> watch::Receiver<u64> {
        let key = pipeline.to_lowercase();
        let mut streams = lock(&self.list_streams);
        if let Some(tx) = streams.get(&key) {
            return tx.subscribe();
        }
        let (tx, rx) = watch::channel(0);
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
                    this.refresh(pipeline, &mut idx).await.map_err(|_| ())?;
                    let v = idx.version;
                    tx.send_if_modified(|cur| {
                        let changed = *cur != v;
                        *cur = v;
                        changed
                    });
                    Ok(Round::Again)
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
