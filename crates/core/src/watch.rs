//! Shared pollers and caches, so the number of upstream calls never grows with the number of open tabs.
//!
//! - An execution that is watched (by at least one SSE stream) has exactly one poller. It polls fast while
//!   the execution runs, backs off on throttling, and stops once the execution is finished or nobody
//!   watches any more. Every viewer receives the same snapshots through a `tokio::sync::watch` channel.
//! - Finished executions never change: their snapshot is cached and served without any upstream call (a
//!   `Failed` one only briefly: it may be retried from elsewhere).
//! - Each pipeline's executions are kept in listings (`super::scan`) refreshed from the top of the
//!   newest-first list, listed further only as far as a view needs, so status filters (which the API does
//!   not offer) run on the server; time ranges and "oldest first" are asked of SageMaker itself.
//! - The pipelines page is a shared view: the list is reused for a few seconds and each pipeline's newest
//!   execution is asked a few at a time, within the request quota.
//! - Every cache is bounded (`moka`), and "does not exist" is remembered briefly.
//! - Every view keeps its last good data (`super::stale`): when SageMaker refuses a refresh, pages and
//!   streams show what is known with its age and the reason, and nobody asks again before the backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use moka::sync::Cache;

use super::cluster::{self, Cluster, News};
use super::gateway::Gateway;
use super::scan::{Merged, Query, Scan};
use super::stale::{Kept, KeptMap, Known};
pub use stepline_types::model::ExecutionView;
use stepline_types::model::{
    ExecStatus, ExecutionSummary, NameValue, PipelineDetail, PipelineSummary, Problem, Upstream,
};
use stepline_types::page::{Coverage, Newest, PipelineRow};

mod versions;
pub use versions::Versions;

/// Poll interval while an execution runs.
const RUNNING_EVERY: Duration = Duration::from_secs(2);
/// How often a watched `Failed` execution is looked at again: it may be retried from Studio or the SDK,
/// and how long a cached `Failed` view is believed.
const FAILED_EVERY: Duration = Duration::from_secs(10);
/// How long a running execution's snapshot serves page loads without asking again.
const EXECUTION_FRESH: Duration = Duration::from_secs(1);
/// How long the list of pipelines is reused; the pipelines page is re-listed at most this often.
const PIPELINES_FRESH: Duration = Duration::from_secs(15);
/// How long a row's newest execution is believed while it runs (a finished one stays until the pipeline's
/// `LastExecutionTime` changes).
const NEWEST_RUNNING_FRESH: Duration = Duration::from_secs(10);
/// Newest executions asked while a pipelines page waits, and in each background round after it.
const NEWEST_PER_PAGE: usize = 10;
const NEWEST_PER_ROUND: usize = 12;
/// The background round of the pipelines view, and how long it goes on after the page was last viewed.
const HOME_ROUND: Duration = Duration::from_secs(5);
const HOME_IDLE: Duration = Duration::from_secs(120);
/// How long an execution index is fresh enough to answer without a refresh.
const INDEX_FRESH: Duration = Duration::from_secs(3);
/// How long a pipeline's description is reused: as long as its index, so a list page is at most that old
/// in both halves and its reloads cost no upstream call.
const PIPELINE_FRESH: Duration = INDEX_FRESH;
/// Pages of a listing one page load may ask for before it answers with what it has.
const PAGES_PER_REQUEST: usize = 10;
/// Pages a background scan lists, one a second, before it stops until asked again.
const PAGES_PER_SCAN: usize = 200;
/// Top pages listed to meet what is known before a listing starts over.
const TOP_PAGES: usize = 5;
/// Listings kept: the main one of each pipeline and the ranges and orders asked for.
const MAX_LISTINGS: u64 = 64;
/// How long a range or oldest-first listing is reused before it is listed again.
const RANGE_FRESH: Duration = Duration::from_secs(30);
/// Finished executions kept in memory, weighed by their steps.
const FINISHED_STEPS: u64 = 200_000;
/// Last seen snapshots of unfinished executions, and pipeline descriptions, kept to show when a refresh
/// fails.
const LAST_SEEN: usize = 1_000;
/// Parameters and end times of executions kept.
const MAX_PARAMETERS: u64 = 20_000;
const MAX_ENDS: u64 = 200_000;
/// Definitions kept, by their size in bytes (each up to 1 MB; one per pipeline version).
const DEFINITION_BYTES: u64 = 64 * 1024 * 1024;
/// How long SageMaker's "does not exist" is believed: bogus links and streams cost one call, not one each.
const MISSING_FOR: Duration = Duration::from_secs(30);
/// How long a listed running execution's status is believed before it is described again.
const STATUS_FRESH: Duration = Duration::from_secs(5);
/// Shared pollers at most (executions and lists together): past it a new live view is refused.
pub const MAX_POLLERS: usize = 500;

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

/// Why a live view was not started.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// As many pollers run as the server allows.
    Busy,
}

struct ExecutionWatch {
    tx: watch::Sender<LiveState>,
    /// Whether this replica has shared a snapshot of it yet (as leaseholder: see `super::cluster`).
    shared: std::sync::atomic::AtomicBool,
}

/// A definition is the same for every execution of a pipeline version: kept once per version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum DefinitionKey {
    Version(String, i64),
    /// An endpoint that does not say the version: by execution.
    Execution(String),
}

/// A pipeline's newest execution as the pipelines page knows it.
#[derive(Clone)]
struct NewestEntry {
    newest: Newest,
    /// The pipeline's `LastExecutionTime` when it was asked: a change means a newer execution.
    seen_last: Option<DateTime<Utc>>,
    checked: Option<Instant>,
}

/// One listing behind a lock that is never held across an upstream call: a refresh marks the listing busy,
/// asks SageMaker with the lock released, and merges under the lock; whoever comes meanwhile answers from
/// what is known (or, for a listing never loaded, waits for `listed`).
#[derive(Default)]
struct ListingCell {
    scan: Mutex<Scan>,
    listed: tokio::sync::Notify,
}

type Listing = Arc<ListingCell>;

impl ListingCell {
    fn scan(&self) -> MutexGuard<'_, Scan> {
        lock(&self.scan)
    }
}

/// Clears a listing's busy mark however its request ends (a closed page drops the request midway), and wakes
/// those waiting for it.
struct Busy<'a>(&'a ListingCell);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.scan().busy = false;
        self.0.listed.notify_waiters();
    }
}

pub struct Watchers {
    gateway: Arc<Gateway>,
    executions: Mutex<HashMap<String, Arc<ExecutionWatch>>>,
    /// Finished executions by ARN (a `Failed` one only for `FAILED_EVERY`: it may be retried).
    finished: Cache<String, Arc<ExecutionView>>,
    /// The last seen snapshot of each unfinished execution asked for, by ARN.
    views: KeptMap<String, Arc<ExecutionView>>,
    /// Listings of executions by pipeline (lower-cased) and query.
    listings: Cache<(String, Query), Listing>,
    /// Pipeline descriptions by lower-cased name.
    pipelines: KeptMap<String, PipelineDetail>,
    /// Pipeline versions by lower-cased name (`versions`).
    versions: KeptMap<String, Versions>,
    /// Every pipeline, as ListPipelines last said.
    pipeline_list: Kept<Vec<PipelineSummary>>,
    /// Newest execution of each pipeline by lower-cased name, filled a few at a time.
    newest: Mutex<HashMap<String, NewestEntry>>,
    /// When the pipelines page was last asked for, and whether its background round runs.
    home_viewed: Mutex<Option<Instant>>,
    home_running: std::sync::atomic::AtomicBool,
    list_streams: Mutex<HashMap<String, watch::Sender<ListState>>>,
    /// Parameters and definitions never change during an execution's life: fetched once.
    parameters: Cache<String, Arc<Vec<NameValue>>>,
    definitions: Cache<DefinitionKey, Arc<str>>,
    /// End times of finished executions (their last modification).
    ends: Cache<String, Option<DateTime<Utc>>>,
    /// Who created each described execution (SageMaker's `CreatedBy`), for the lists' "Started by".
    creators: Cache<String, Option<String>>,
    /// Statuses of listed running executions, described a few seconds ago.
    statuses: Cache<String, (ExecStatus, Option<DateTime<Utc>>)>,
    /// Names and ARNs SageMaker said do not exist, for `MISSING_FOR`.
    missing: Cache<String, Upstream>,
    /// Pipelines whose list rows' end times are being described.
    filling: Mutex<std::collections::HashSet<String>>,
    /// The other replicas, when they coordinate through PostgreSQL (see `super::cluster`).
    cluster: std::sync::OnceLock<Arc<Cluster>>,
    /// This place's part of list keys (see `join`).
    scope: std::sync::OnceLock<String>,
}

/// What a leaseholder shares of an execution's live view (see `super::cluster`).
#[derive(serde::Serialize, serde::Deserialize)]
struct SharedLive {
    view: Option<ExecutionView>,
    problem: Option<Problem>,
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
    /// Look again after this long (the refresh failed and backs off, or the execution changes rarely).
    After(Duration),
}

/// Why a poller stopped.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Done,
    Unwatched,
}

/// The one poll loop of every shared poller: a round every `RUNNING_EVERY`, or after the wait a round
/// names, until a round says it is done or nobody watches. `unwatched` must check and deregister under
/// the registry's lock, so a new subscriber either joins this poller before it stops or starts a new one
/// after.
async fn poll_loop<F, Fut>(mut round: F, mut unwatched: impl FnMut() -> bool) -> Ended
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Round>,
{
    loop {
        let wait = match round().await {
            Round::Done => return Ended::Done,
            Round::Again => RUNNING_EVERY,
            Round::After(after) => after.max(Duration::from_secs(1)),
        };
        tokio::time::sleep(wait).await;
        if unwatched() {
            return Ended::Unwatched;
        }
    }
}

/// How much each cache may hold. The defaults suit a server; tests set small ones to see them kept.
#[derive(Clone, Debug)]
pub struct Bounds {
    pub finished_steps: u64,
    pub last_seen: usize,
    pub listings: u64,
    pub parameters: u64,
    pub ends: u64,
    pub definition_bytes: u64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            finished_steps: FINISHED_STEPS,
            last_seen: LAST_SEEN,
            listings: MAX_LISTINGS,
            parameters: MAX_PARAMETERS,
            ends: MAX_ENDS,
            definition_bytes: DEFINITION_BYTES,
        }
    }
}

impl Watchers {
    pub fn new(gateway: Arc<Gateway>) -> Arc<Watchers> {
        Watchers::with_bounds(gateway, Bounds::default())
    }

    pub fn with_bounds(gateway: Arc<Gateway>, b: Bounds) -> Arc<Watchers> {
        Arc::new(Watchers {
            gateway,
            executions: Mutex::new(HashMap::new()),
            finished: Cache::builder()
                .max_capacity(b.finished_steps)
                .weigher(|_, v: &Arc<ExecutionView>| {
                    1 + v.steps.as_ref().map_or(0, |s| s.len()).min(u32::MAX as usize) as u32
                })
                .build(),
            views: KeptMap::new(b.last_seen),
            listings: Cache::new(b.listings),
            pipelines: KeptMap::new(b.last_seen),
            versions: KeptMap::new(b.last_seen),
            pipeline_list: Kept::default(),
            newest: Mutex::new(HashMap::new()),
            home_viewed: Mutex::new(None),
            home_running: Default::default(),
            list_streams: Mutex::new(HashMap::new()),
            parameters: Cache::new(b.parameters),
            definitions: Cache::builder()
                .max_capacity(b.definition_bytes)
                .weigher(|_, v: &Arc<str>| v.len().min(u32::MAX as usize) as u32)
                .build(),
            ends: Cache::new(b.ends),
            creators: Cache::new(b.ends),
            statuses: Cache::builder().max_capacity(b.ends).time_to_live(STATUS_FRESH).build(),
            missing: Cache::builder().max_capacity(10_000).time_to_live(MISSING_FOR).build(),
            filling: Mutex::new(Default::default()),
            cluster: Default::default(),
            scope: Default::default(),
        })
    }

    /// Coordinate with the other replicas: poll only the live views whose lease this replica holds, and
    /// hand the others' snapshots to this replica's viewers.
    /// `scope` sets this place's lists apart from same-named ones of other accounts and regions
    /// (`super::places::Place::key`; empty with one place).
    pub fn join(self: &Arc<Self>, cluster: Arc<Cluster>, scope: String) {
        if self.cluster.set(cluster.clone()).is_err() {
            return;
        }
        let _ = self.scope.set(scope);
        cluster.follow(self, |this, news| async move {
            if let News::Snapshot(key) = news {
                this.announced(&key).await;
            }
        });
    }

    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.get()
    }

    fn scope(&self) -> &str {
        self.scope.get().map(String::as_str).unwrap_or("")
    }

    /// Another replica announced a snapshot of a view: viewers here get it as if this replica had polled.
    async fn announced(&self, key: &str) {
        let Some(cluster) = self.cluster() else { return };
        if cluster.holds(key) {
            // This replica's own announcement.
            return;
        }
        if let Some(arn) = key.strip_prefix("execution ") {
            let watched = lock(&self.executions).get(arn).cloned();
            if let Some(w) = watched {
                self.take_shared(arn, &w).await;
            }
        } else if let Some(pipeline) = key.strip_prefix("list ").and_then(|k| k.strip_prefix(self.scope())) {
            let watched = lock(&self.list_streams).get(pipeline).cloned();
            if let Some(tx) = watched {
                // The list changed: its viewers ask for it again (here, where it is then refreshed).
                tx.send_modify(|s| s.version = s.version.wrapping_add(1));
            }
        }
    }

    /// The leaseholder's last snapshot of an execution, handed to this replica's viewers and kept as if
    /// polled here (so this replica's pages need no call of their own).
    async fn take_shared(&self, arn: &str, w: &ExecutionWatch) -> Option<Arc<ExecutionView>> {
        let (view, problem) = self.shared(arn).await?;
        w.tx.send_if_modified(|cur| {
            let changed = match (&cur.view, &view) {
                (Some(c), Some(v)) => c.execution != v.execution || c.steps != v.steps,
                (None, Some(_)) => true,
                _ => false,
            };
            if changed {
                cur.view = view.clone();
            }
            replace(&mut cur.problem, problem) || changed
        });
        view
    }

    /// The leaseholder's last snapshot of an execution (and its problem, if polling fails), kept here as if
    /// polled here.
    async fn shared(&self, arn: &str) -> Option<(Option<Arc<ExecutionView>>, Option<Problem>)> {
        let body = self.cluster()?.snapshot(&cluster::execution_key(arn)).await?;
        let shared: SharedLive = serde_json::from_str(&body).ok()?;
        let view = shared.view.map(Arc::new);
        if let Some(v) = &view {
            let _ = self.views.record(&arn.to_string(), Ok(v.clone()));
            self.remember(v);
        }
        Some((view, shared.problem))
    }

    /// Share what this replica's poll of an execution found, when it holds the lease.
    async fn share(&self, arn: &str, w: &ExecutionWatch) {
        let Some(cluster) = self.cluster() else { return };
        let body = {
            let cur = w.tx.borrow();
            serde_json::to_string(&SharedLive {
                view: cur.view.as_ref().map(|v| v.as_ref().clone()),
                problem: cur.problem.clone(),
            })
        };
        if let Ok(body) = body {
            cluster.publish(&cluster::execution_key(arn), &body).await;
        }
    }

    /// How many entries each cache holds now, for tests and benchmarks of their bounds.
    pub fn sizes(&self) -> CacheSizes {
        self.parameters.run_pending_tasks();
        self.ends.run_pending_tasks();
        self.statuses.run_pending_tasks();
        self.missing.run_pending_tasks();
        self.finished.run_pending_tasks();
        self.definitions.run_pending_tasks();
        self.listings.run_pending_tasks();
        CacheSizes {
            finished: self.finished.entry_count(),
            finished_steps: self.finished.weighted_size(),
            views: self.views.len(),
            pipelines: self.pipelines.len(),
            listings: self.listings.entry_count(),
            listed_executions: self.listings.iter().map(|(_, l)| l.scan().items.len()).sum(),
            parameters: self.parameters.entry_count(),
            definitions: self.definitions.entry_count(),
            definition_bytes: self.definitions.weighted_size(),
            ends: self.ends.entry_count(),
            missing: self.missing.entry_count(),
            pollers: lock(&self.executions).len() + lock(&self.list_streams).len(),
        }
    }

    /// A finished execution's snapshot, unless it is a `Failed` one seen too long ago to rule out a retry.
    fn cached(&self, arn: &str) -> Option<Arc<ExecutionView>> {
        self.finished.get(arn).filter(|v| {
            v.execution.status != ExecStatus::Failed
                || (Utc::now() - v.fetched_at).to_std().is_ok_and(|age| age < FAILED_EVERY)
        })
    }

    fn remember(&self, view: &Arc<ExecutionView>) {
        if view.execution.status.is_terminal() && view.steps.is_ok() {
            self.finished.insert(view.execution.arn.clone(), view.clone());
        }
    }

    /// What SageMaker said of a thing that does not exist, if it said so lately.
    fn known_missing(&self, key: &str) -> Option<Upstream> {
        self.missing.get(key)
    }

    fn note_missing<T>(&self, key: &str, result: &Result<T, Upstream>) {
        if let Err(e) = result {
            if e.is_not_found() {
                self.missing.insert(key.to_string(), e.clone());
            }
        }
    }

    /// Fetch a fresh snapshot from upstream.
    async fn fetch(&self, arn: &str) -> Result<Arc<ExecutionView>, Upstream> {
        let execution = self.gateway.describe_execution(arn).await;
        self.note_missing(arn, &execution);
        let execution = execution?;
        self.creators.insert(arn.to_string(), execution.created_by.clone());
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
        if let Some(e) = self.known_missing(arn) {
            return Err(e);
        }
        self.views.get(&arn.to_string(), EXECUTION_FRESH, self.fetch(arn)).await
    }

    /// Whether an execution exists, from what is known when possible (a live stream asks this before it
    /// starts a poller, right after the page that opens it was rendered).
    pub async fn exists(&self, arn: &str) -> Result<(), Upstream> {
        if self.finished.contains_key(arn) || self.views.peek(&arn.to_string()).is_some() {
            return Ok(());
        }
        // Another replica polls it: its snapshot says it exists, and is kept here (no call of our own).
        if let Some((Some(_), _)) = self.shared(arn).await {
            return Ok(());
        }
        self.execution(arn).await.map(|_| ())
    }

    /// An execution changed because of an action here (stopped, retried, answered): drop what is cached
    /// about it and make its pipeline's lists and row look at it again.
    pub async fn touched(&self, pipeline: &str, arn: &str) {
        self.finished.invalidate(arn);
        self.ends.invalidate(arn);
        self.statuses.invalidate(arn);
        self.missing.invalidate(arn);
        self.views.invalidate(&arn.to_string());
        self.renew_newest(pipeline);
        let main = self.listing(pipeline, &Query::default());
        let mut l = main.scan();
        if let Some(item) = l.items.iter_mut().find(|e| e.arn == arn) {
            item.status = ExecStatus::Executing;
        }
        l.refreshed = None;
        drop(l);
        self.forget_ranges(pipeline);
    }

    /// Forget how recent everything is: the next request of every view asks SageMaker, even one that
    /// just failed. What is known stays, to be shown if that fails again. (A "refresh now", and how tests
    /// skip the freshness windows and backoffs instead of waiting them out.)
    pub async fn refresh_all(&self) {
        self.pipeline_list.invalidate();
        self.pipelines.invalidate_all();
        self.views.invalidate_all();
        self.statuses.invalidate_all();
        self.missing.invalidate_all();
        for e in lock(&self.newest).values_mut() {
            e.checked = None;
        }
        let listings: Vec<_> = self.listings.iter().map(|(_, l)| l).collect();
        for listing in listings {
            let mut l = listing.scan();
            l.refreshed = None;
            l.backoff.succeeded();
        }
    }

    /// A new execution was started here: the next lists and the pipeline's row refresh at once.
    pub async fn started(&self, pipeline: &str) {
        self.renew_newest(pipeline);
        self.listing(pipeline, &Query::default()).scan().refreshed = None;
        self.forget_ranges(pipeline);
    }

    fn forget_ranges(&self, pipeline: &str) {
        let key = pipeline.to_lowercase();
        let stale: Vec<_> =
            self.listings.iter().filter(|(k, _)| k.0 == key && !k.1.is_main()).map(|(k, _)| (*k).clone()).collect();
        for k in stale {
            self.listings.invalidate(&k);
        }
    }

    /// An execution's parameters, asked once.
    pub async fn parameters(&self, arn: &str) -> Result<Vec<NameValue>, Upstream> {
        if let Some(p) = self.parameters.get(arn) {
            return Ok((*p).clone());
        }
        let p = self.gateway.list_parameters(arn).await?;
        self.parameters.insert(arn.to_string(), Arc::new(p.clone()));
        Ok(p)
    }

    /// The definition an execution runs with, asked once per pipeline version.
    pub async fn definition(&self, arn: &str) -> Result<String, Upstream> {
        let view = self.cached(arn).or_else(|| self.views.peek(&arn.to_string()).map(|k| k.value));
        let key = match view.and_then(|v| v.execution.pipeline_version.map(|n| (v.execution.pipeline_name.clone(), n)))
        {
            Some((pipeline, version)) => DefinitionKey::Version(pipeline.to_lowercase(), version),
            None => DefinitionKey::Execution(arn.to_string()),
        };
        if let Some(d) = self.definitions.get(&key) {
            return Ok(d.to_string());
        }
        let d: Arc<str> = self.gateway.execution_definition(arn).await?.into();
        self.definitions.insert(key, d.clone());
        Ok(d.to_string())
    }

    /// What a list row needs beyond the summary, from what is known only (a list page never waits on one
    /// call per row): the end time of a finished execution and, when parameter columns are shown, its
    /// parameters. A finished row whose end is not known yet is described in the background.
    pub async fn row_extras(
        &self,
        arn: &str,
        terminal: bool,
        with_params: bool,
    ) -> (Option<DateTime<Utc>>, Vec<NameValue>) {
        let end = if terminal { self.end_of(arn) } else { None };
        let params = if with_params { self.parameters(arn).await.unwrap_or_default() } else { vec![] };
        (end, params)
    }

    /// Who created an execution, as SageMaker said when it was last described (never asked for this).
    pub fn creator_of(&self, arn: &str) -> Option<String> {
        self.creators.get(arn).flatten().or_else(|| self.finished.get(arn).and_then(|v| v.execution.created_by.clone()))
    }

    fn end_of(&self, arn: &str) -> Option<DateTime<Utc>> {
        if let Some(e) = self.ends.get(arn) {
            return e;
        }
        if let Some(v) = self.finished.get(arn) {
            return v.execution.modified;
        }
        if let Some((status, modified)) = self.statuses.get(arn) {
            if status.is_terminal() {
                return modified;
            }
        }
        None
    }

    /// Describe, a few a second in the background, the finished rows of a list page whose end times are not
    /// known, then tell the list's streams so open pages show them.
    fn fill_ends(self: &Arc<Self>, pipeline: &str, arns: Vec<String>) {
        let pipeline = pipeline.to_lowercase();
        if arns.is_empty() || !lock(&self.filling).insert(pipeline.clone()) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut found = false;
            for arn in arns {
                if this.ends.contains_key(&arn) {
                    continue;
                }
                match this.gateway.describe_execution(&arn).await {
                    Ok(d) if d.status.is_terminal() => {
                        this.creators.insert(arn.clone(), d.created_by.clone());
                        this.ends.insert(arn, d.modified);
                        found = true;
                    }
                    Ok(_) => {}
                    // Throttled or failing: the rest waits for the next page load.
                    Err(_) => break,
                }
            }
            lock(&this.filling).remove(&pipeline);
            if found {
                // New end times are news for open list pages.
                let main = this.listing(&pipeline, &Query::default());
                let mut scan = main.scan();
                scan.version += 1;
                this.announce(&pipeline, Some((scan.version, scan.backoff.problem())));
            }
        });
    }

    /// The status of a listed execution that was running when listed: what its poller or page saw, or
    /// what SageMaker says now (asked at most every few seconds), so an old running execution does not
    /// need the list re-paged down to it.
    async fn status_now(&self, e: &ExecutionSummary) -> ExecStatus {
        if let Some(v) = self.finished.get(&e.arn) {
            return v.execution.status.clone();
        }
        if let Some(k) = self.views.peek(&e.arn) {
            if k.problem.is_none() && (Utc::now() - k.value.fetched_at).num_seconds() < STATUS_FRESH.as_secs() as i64 {
                return k.value.execution.status.clone();
            }
        }
        if let Some((s, _)) = self.statuses.get(&e.arn) {
            return s;
        }
        match self.gateway.describe_execution(&e.arn).await {
            Ok(d) => {
                self.creators.insert(e.arn.clone(), d.created_by.clone());
                self.statuses.insert(e.arn.clone(), (d.status.clone(), d.modified));
                if d.status.is_terminal() {
                    self.ends.insert(e.arn.clone(), d.modified);
                }
                d.status
            }
            Err(_) => e.status.clone(),
        }
    }

    /// Subscribe to an execution's snapshots. Starts its poller if nobody watched it yet; refused when as
    /// many pollers run as allowed.
    pub fn subscribe(self: &Arc<Self>, arn: &str) -> Result<watch::Receiver<LiveState>, Refused> {
        if let Some(v) = self.cached(arn).filter(|v| v.execution.status != ExecStatus::Failed) {
            // Finished: one snapshot, no poller.
            let (_tx, rx) = watch::channel(LiveState { view: Some(v), problem: None });
            return Ok(rx);
        }
        let mut map = lock(&self.executions);
        if let Some(w) = map.get(arn) {
            return Ok(w.tx.subscribe());
        }
        if map.len() + lock(&self.list_streams).len() >= MAX_POLLERS {
            return Err(Refused::Busy);
        }
        // Start from what is known, so a stream opened while SageMaker fails still shows the last snapshot.
        let known = self.views.peek(&arn.to_string());
        let (tx, rx) = watch::channel(LiveState {
            view: known.as_ref().map(|k| k.value.clone()).or_else(|| self.finished.get(arn)),
            problem: known.and_then(|k| k.problem),
        });
        let w = Arc::new(ExecutionWatch { tx, shared: Default::default() });
        map.insert(arn.to_string(), w.clone());
        drop(map);
        let this = self.clone();
        let arn = arn.to_string();
        tokio::spawn(async move { this.poll(arn, w).await });
        Ok(rx)
    }

    async fn poll(self: Arc<Self>, arn: String, w: Arc<ExecutionWatch>) {
        let (this, arn, w) = (&self, &arn, &w);
        let ended = poll_loop(
            || async move {
                let key = arn.to_string();
                if let Some(cluster) = this.cluster() {
                    if !cluster.try_lease(&cluster::execution_key(arn)).await {
                        // Another replica polls it: take its latest snapshot (in case its announcement was
                        // missed), and try for the lease again next round, in case that replica is gone.
                        let view = this.take_shared(arn, w).await;
                        let status = view.as_ref().map(|v| v.execution.status.clone());
                        return match status {
                            Some(s) if s.is_terminal() && s != ExecStatus::Failed => Round::Done,
                            _ => Round::Again,
                        };
                    }
                }
                let known = match this.views.record(&key, this.fetch(arn).await) {
                    Ok(known) => known,
                    // Gone (or refused for good): nothing more to watch.
                    Err(e) if !e.is_transient() => return Round::Done,
                    Err(e) => {
                        // Never seen and failing: the cell keeps the backoff (and says when to try again).
                        let problem = this.views.problem(&key).unwrap_or(Problem { error: e, retry_in: 5 });
                        let wait = Duration::from_secs(problem.retry_in.into());
                        if w.tx.send_if_modified(|cur| replace(&mut cur.problem, Some(problem))) {
                            this.share(arn, w).await;
                        }
                        return Round::After(wait);
                    }
                };
                let view = known.value;
                let status = &view.execution.status;
                let wait = known.problem.as_ref().map(|p| Duration::from_secs(p.retry_in.into()));
                let changed = w.tx.send_if_modified(|cur| {
                    // Only a real change wakes the streams (every poll makes a new snapshot).
                    let changed =
                        cur.view.as_ref().is_none_or(|c| c.execution != view.execution || c.steps != view.steps);
                    if changed {
                        cur.view = Some(view.clone());
                    }
                    replace(&mut cur.problem, known.problem.clone()) || changed
                });
                // The other replicas' viewers get it too (see `super::cluster`): what changed, and the first
                // snapshot this replica polls, which they may not have yet.
                if changed || !w.shared.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    this.share(arn, w).await;
                }
                match wait {
                    Some(wait) => Round::After(wait),
                    // A failed execution may be retried from elsewhere: looked at again, slowly.
                    None if *status == ExecStatus::Failed => Round::After(FAILED_EVERY),
                    None if status.is_terminal() => Round::Done,
                    None => Round::Again,
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
        if let Some(cluster) = this.cluster() {
            cluster.release(&cluster::execution_key(arn)).await;
        }
    }

    /// A pipeline's description (name, definition, parallelism), asked again once it is older than
    /// `PIPELINE_FRESH`; as last known, with the reason, while SageMaker refuses. Unknown names are
    /// remembered as such for a short while, never in the descriptions' map.
    pub async fn pipeline(&self, name: &str) -> Result<Known<PipelineDetail>, Upstream> {
        let key = name.to_lowercase();
        if let Some(e) = self.known_missing(&key) {
            return Err(e);
        }
        let result = self.pipelines.get(&key, PIPELINE_FRESH, self.gateway.describe_pipeline(name)).await;
        self.note_missing(&key, &result);
        result
    }

    /// Whether a pipeline exists, from what is known when possible.
    pub async fn pipeline_exists(&self, name: &str) -> Result<(), Upstream> {
        if self.pipelines.peek(&name.to_lowercase()).is_some() {
            return Ok(());
        }
        self.pipeline(name).await.map(|_| ())
    }

    /// The names of every pipeline (the list kept for the pipelines page: at most one listing per
    /// `PIPELINES_FRESH`).
    pub async fn pipeline_names(&self) -> Result<Vec<String>, Upstream> {
        let listed = self.pipeline_list.get(PIPELINES_FRESH, self.gateway.all_pipelines()).await?;
        Ok(listed.value.iter().map(|p| p.name.clone()).collect())
    }

    /// The pipelines page: every pipeline (listed at most every `PIPELINES_FRESH`) with its newest
    /// execution. Newest executions are asked a few at a time within the request quota: the first
    /// `NEWEST_PER_PAGE` while the page waits (those never asked first, then those asked longest ago), the
    /// rest by a background round while the page is being viewed. A reload within the window costs nothing
    /// upstream; a row not asked yet says so.
    pub async fn home(self: &Arc<Self>) -> Result<Known<Vec<PipelineRow>>, Upstream> {
        *lock(&self.home_viewed) = Some(Instant::now());
        let listed = self.pipeline_list.get(PIPELINES_FRESH, self.gateway.all_pipelines()).await?;
        // The first view asks the rows it can while it waits; after it the background round does, so a
        // reload costs nothing. While SageMaker refuses, the rows wait with the list.
        let round_running = self.home_running.load(std::sync::atomic::Ordering::SeqCst);
        if listed.problem.is_none() && !round_running {
            self.check_newest(&listed.value, NEWEST_PER_PAGE).await;
        }
        self.start_home_round();
        let newest = lock(&self.newest);
        let rows = listed
            .value
            .iter()
            .map(|p| PipelineRow {
                newest: newest.get(&p.name.to_lowercase()).map_or(Newest::Pending, |e| e.newest.clone()),
                pipeline: p.clone(),
            })
            .collect();
        Ok(Known { value: rows, as_of: listed.as_of, problem: listed.problem })
    }

    /// The pipelines whose newest execution must be asked (again), the most needed first.
    fn due_newest(&self, pipelines: &[PipelineSummary]) -> Vec<PipelineSummary> {
        let mut newest = lock(&self.newest);
        let mut due: Vec<(Option<Instant>, &PipelineSummary)> = vec![];
        for p in pipelines {
            let key = p.name.to_lowercase();
            match newest.get(&key) {
                // Never run, as the listing says: known without asking.
                None if p.last_execution.is_none() => {
                    newest.insert(key, NewestEntry { newest: Newest::Never, seen_last: None, checked: None });
                }
                None => due.push((None, p)),
                Some(e) => {
                    let moved = e.seen_last != p.last_execution;
                    let running = matches!(&e.newest, Newest::Run(r) if !r.status.is_terminal());
                    let unsure = matches!(e.newest, Newest::Unknown(_) | Newest::Pending);
                    let old = e.checked.is_none_or(|t| t.elapsed() > NEWEST_RUNNING_FRESH);
                    if moved || ((running || unsure) && old) || e.checked.is_none() && p.last_execution.is_some() {
                        due.push((e.checked, p));
                    }
                }
            }
        }
        due.sort_by_key(|(checked, _)| *checked);
        due.into_iter().map(|(_, p)| p.clone()).collect()
    }

    /// Ask the newest execution of up to `budget` pipelines that need it, at once (the limiter paces them).
    async fn check_newest(&self, pipelines: &[PipelineSummary], budget: usize) -> usize {
        let due: Vec<PipelineSummary> = self.due_newest(pipelines).into_iter().take(budget).collect();
        let answers =
            futures::future::join_all(due.iter().map(|p| self.gateway.list_executions(&p.name, None, 1))).await;
        let mut newest = lock(&self.newest);
        for (p, answer) in due.iter().zip(answers) {
            let key = p.name.to_lowercase();
            let before = newest.get(&key).map(|e| e.newest.clone());
            let entry = match answer {
                Ok(page) => NewestEntry {
                    newest: page.items.into_iter().next().map_or(Newest::Never, Newest::Run),
                    seen_last: p.last_execution,
                    checked: Some(Instant::now()),
                },
                // What the page knew stays; nothing known becomes "not known" with the reason.
                Err(e) => NewestEntry {
                    newest: before
                        .filter(|n| !matches!(n, Newest::Unknown(_) | Newest::Pending))
                        .unwrap_or(Newest::Unknown(e)),
                    seen_last: newest.get(&key).and_then(|e| e.seen_last),
                    checked: Some(Instant::now()),
                },
            };
            newest.insert(key, entry);
        }
        // Pipelines that are gone leave the map.
        if newest.len() > pipelines.len() * 2 + 100 {
            let live: std::collections::HashSet<String> = pipelines.iter().map(|p| p.name.to_lowercase()).collect();
            newest.retain(|k, _| live.contains(k));
        }
        due.len()
    }

    /// A row to ask again soon (after an action here).
    fn renew_newest(&self, pipeline: &str) {
        self.pipeline_list.invalidate();
        if let Some(e) = lock(&self.newest).get_mut(&pipeline.to_lowercase()) {
            e.checked = None;
            e.seen_last = None;
        }
    }

    /// The background round of the pipelines page: every `HOME_ROUND`, the list when it is due and the
    /// newest executions of up to `NEWEST_PER_ROUND` pipelines; it ends when nobody viewed the page for
    /// `HOME_IDLE` and starts again with the next view.
    fn start_home_round(self: &Arc<Self>) {
        use std::sync::atomic::Ordering;
        if self.home_running.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HOME_ROUND).await;
                let idle = lock(&this.home_viewed).is_none_or(|t| t.elapsed() > HOME_IDLE);
                if idle {
                    break;
                }
                let Ok(listed) = this.pipeline_list.get(PIPELINES_FRESH, this.gateway.all_pipelines()).await else {
                    continue;
                };
                this.check_newest(&listed.value, NEWEST_PER_ROUND).await;
            }
            this.home_running.store(false, Ordering::SeqCst);
        });
    }

    fn listing(&self, pipeline: &str, query: &Query) -> Listing {
        self.listings.get_with((pipeline.to_lowercase(), query.clone()), Default::default)
    }

    /// Tell a pipeline's list streams that its list changed (or failed to).
    fn announce(&self, pipeline: &str, state: Option<(u64, Option<Problem>)>) {
        let Some((version, problem)) = state else { return };
        if let Some(tx) = lock(&self.list_streams).get(&pipeline.to_lowercase()) {
            tx.send_if_modified(|st| {
                let changed = st.version != version || st.problem.is_some() != problem.is_some();
                st.version = version;
                st.problem = problem;
                changed
            });
        }
    }

    /// One page of a pipeline's executions for a view: from the listing of the view's query (the main one
    /// for newest first without a range; else one asked of SageMaker with `CreatedAfter`, `CreatedBefore`
    /// and `SortOrder`), listed further while the page is not full, up to `PAGES_PER_REQUEST` pages; then a
    /// background scan goes on. Running executions on the page get their current status. When a refresh
    /// fails, what the listing holds answers with the reason; a listing never loaded answers the error.
    pub async fn executions_page(
        self: &Arc<Self>,
        pipeline: &str,
        filter: &ListFilter,
        cursor: Option<&str>,
        size: usize,
    ) -> Result<Known<ListedPage>, Upstream> {
        let query = Query { after: filter.after, before: filter.before, oldest_first: filter.oldest_first };
        let listing = self.listing(pipeline, &query);
        let fresh_for = if query.is_main() { INDEX_FRESH } else { RANGE_FRESH };
        self.bring_up_to_date(pipeline, &query, &listing, fresh_for).await?;
        // The listing is in the query's order already.
        let filter = &ListFilter { oldest_first: false, ..filter.clone() };
        for _ in 0..PAGES_PER_REQUEST {
            let enough = {
                let scan = listing.scan();
                let (page, next, _) = select(&scan.items, filter, cursor, size);
                // A background scan under way lists for this page too: it answers with what is known.
                let full = page.len() >= size.max(1) && next.is_some();
                full || scan.scanning || !scan.can_go_on() || !scan.backoff.due()
            };
            if enough || !self.scan_further(pipeline, &query, &listing).await {
                break;
            }
        }
        let (as_of, (mut page, next, total_matching), coverage, problem, fresh_top) = {
            let mut scan = listing.scan();
            let Some(as_of) = scan.as_of else {
                let e = scan.backoff.error().cloned();
                return Err(e.unwrap_or_else(|| Upstream::new("NotLoaded", "not listed yet")));
            };
            let selected = select(&scan.items, filter, cursor, size);
            if selected.1.is_none() && scan.can_go_on() && !scan.scanning {
                scan.scanning = true;
                self.scan_in_background(pipeline, query.clone(), listing.clone());
            }
            // The top page of the main listing was listed seconds ago: its statuses are current.
            let fresh_top: std::collections::HashSet<String> = if query.is_main() {
                scan.items.iter().take(100).map(|e| e.arn.clone()).collect()
            } else {
                Default::default()
            };
            (as_of, selected, scan.coverage(), scan.backoff.problem(), fresh_top)
        };
        // Rows are completed only while SageMaker answers: during a backoff the page is what is known.
        if problem.is_none() {
            for e in page.iter_mut().filter(|e| !e.status.is_terminal() && !fresh_top.contains(&e.arn)) {
                e.status = self.status_now(e).await;
            }
            let unknown_ends: Vec<String> = page
                .iter()
                .filter(|e| e.status.is_terminal() && self.end_of(&e.arn).is_none())
                .map(|e| e.arn.clone())
                .collect();
            self.fill_ends(pipeline, unknown_ends);
        }
        Ok(Known { value: ListedPage { page, next, total_matching, coverage }, as_of, problem })
    }

    /// Refresh a listing when it is older than `fresh_for` and may be asked: one request refreshes, those
    /// that come meanwhile answer from what is known (or wait, when nothing is known yet). A final error
    /// (the pipeline is gone) is returned; a transient one is kept in the listing's backoff.
    async fn bring_up_to_date(
        &self,
        pipeline: &str,
        query: &Query,
        listing: &ListingCell,
        fresh_for: Duration,
    ) -> Result<(), Upstream> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        loop {
            let waiting = {
                let mut scan = listing.scan();
                let due = scan.refreshed.is_none_or(|t| t.elapsed() > fresh_for) && scan.backoff.due();
                if !due || (scan.busy && scan.started()) {
                    return Ok(());
                }
                if scan.busy {
                    Some(listing.listed.notified())
                } else {
                    scan.busy = true;
                    None
                }
            };
            match waiting {
                Some(listed) => {
                    if tokio::time::timeout_at(deadline, listed).await.is_err() {
                        return Ok(());
                    }
                }
                None => break,
            }
        }
        let _busy = Busy(listing);
        match self.refresh(pipeline, query, listing).await {
            Ok(()) => listing.scan().backoff.succeeded(),
            Err(e) if e.is_transient() => listing.scan().backoff.failed(e),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Bring a listing up to date: the main one from its top (merged onto what is known, or started over
    /// when the top has moved on by more than `TOP_PAGES` pages); a range or order from its start. The
    /// listing's lock is taken only between the calls.
    async fn refresh(&self, pipeline: &str, query: &Query, listing: &ListingCell) -> Result<(), Upstream> {
        let mut fresh = vec![];
        let mut next = None;
        for _ in 0..TOP_PAGES {
            let page = self.gateway.list_executions_in(pipeline, query, next.take(), 100).await;
            if let Err(e) = &page {
                if e.is_not_found() {
                    self.missing.insert(pipeline.to_lowercase(), e.clone());
                }
            }
            let page = page?;
            fresh.extend(page.items);
            next = page.next;
            let mut scan = listing.scan();
            let before = scan.version;
            if !query.is_main() || !scan.started() || next.is_none() {
                scan.restart(std::mem::take(&mut fresh), next.take());
            } else if scan.merge_top(fresh.clone(), next.clone()) != Merged::Joined {
                continue;
            }
            self.listed(pipeline, &mut scan, before);
            return Ok(());
        }
        // The top moved on by more than was listed: start over from it.
        let mut scan = listing.scan();
        let before = scan.version;
        scan.restart(fresh, next);
        self.listed(pipeline, &mut scan, before);
        Ok(())
    }

    fn listed(&self, pipeline: &str, scan: &mut Scan, version_before: u64) {
        scan.refreshed = Some(Instant::now());
        if scan.version != version_before {
            self.announce(pipeline, Some((scan.version, None)));
        }
    }

    /// List one page further down a listing, unless another request is listing it: whether it did.
    async fn scan_further(&self, pipeline: &str, query: &Query, listing: &ListingCell) -> bool {
        let token = {
            let mut scan = listing.scan();
            if scan.busy || !scan.can_go_on() || !scan.backoff.due() {
                return false;
            }
            scan.busy = true;
            scan.next.clone()
        };
        let _busy = Busy(listing);
        let result = self.gateway.list_executions_in(pipeline, query, token.clone(), 100).await;
        let mut scan = listing.scan();
        match result {
            // Unless the listing started over meanwhile.
            Ok(page) if scan.next == token => {
                scan.extend(page.items, page.next);
                true
            }
            Ok(_) => true,
            Err(e) => {
                scan.backoff.failed(e);
                false
            }
        }
    }

    /// List further in the background, a page a second, up to `PAGES_PER_SCAN` pages; open list pages are
    /// told every ten pages and at the end.
    fn scan_in_background(self: &Arc<Self>, pipeline: &str, query: Query, listing: Listing) {
        let this = self.clone();
        let pipeline = pipeline.to_string();
        tokio::spawn(async move {
            for n in 1..=PAGES_PER_SCAN {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let (busy, can_go_on) = {
                    let scan = listing.scan();
                    (scan.busy, scan.can_go_on() && scan.backoff.due())
                };
                if !can_go_on {
                    break;
                }
                if busy {
                    continue;
                }
                if !this.scan_further(&pipeline, &query, &listing).await {
                    break;
                }
                if n % 10 == 0 && query.is_main() {
                    let version = listing.scan().version;
                    this.announce(&pipeline, Some((version, None)));
                }
            }
            let (version, problem) = {
                let mut scan = listing.scan();
                scan.scanning = false;
                (scan.version, scan.backoff.problem())
            };
            if query.is_main() {
                this.announce(&pipeline, Some((version, problem)));
            }
        });
    }

    /// Subscribe to changes of a pipeline's execution list: a version number that grows. One refresher
    /// per pipeline runs while anybody listens; refused when as many pollers run as allowed.
    pub fn subscribe_list(self: &Arc<Self>, pipeline: &str) -> Result<watch::Receiver<ListState>, Refused> {
        let key = pipeline.to_lowercase();
        let mut streams = lock(&self.list_streams);
        if let Some(tx) = streams.get(&key) {
            return Ok(tx.subscribe());
        }
        if streams.len() + lock(&self.executions).len() >= MAX_POLLERS {
            return Err(Refused::Busy);
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
                    if let Some(cluster) = this.cluster() {
                        if !cluster.try_lease(&cluster::list_key(this.scope(), pipeline)).await {
                            // Another replica refreshes it and announces changes (see `announced`).
                            return Round::Again;
                        }
                    }
                    let main = this.listing(pipeline, &Query::default());
                    // Due at every round; a refresh a page load is making meanwhile counts as this one.
                    if this.bring_up_to_date(pipeline, &Query::default(), &main, Duration::ZERO).await.is_err() {
                        return Round::Done;
                    }
                    let (round, now) = {
                        let scan = main.scan();
                        let round = match scan.backoff.wait() {
                            Some(wait) => Round::After(wait),
                            None => Round::Again,
                        };
                        (round, ListState { version: scan.version, problem: scan.backoff.problem() })
                    };
                    let mut changed = false;
                    tx.send_if_modified(|cur| {
                        // A problem's countdown alone is not news; its start and its end are.
                        changed = cur.version != now.version || cur.problem.is_some() != now.problem.is_some();
                        *cur = now;
                        changed
                    });
                    if let (true, Some(cluster)) = (changed, this.cluster()) {
                        cluster.publish(&cluster::list_key(this.scope(), pipeline), "").await;
                    }
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
            if let Some(cluster) = this.cluster() {
                cluster.release(&cluster::list_key(this.scope(), pipeline)).await;
            }
        });
        Ok(rx)
    }
}

/// A page of a listing, cut for a view.
#[derive(Clone, Debug)]
pub struct ListedPage {
    pub page: Vec<ExecutionSummary>,
    pub next: Option<String>,
    pub total_matching: usize,
    pub coverage: Coverage,
}

/// How many entries each cache holds (see [`Watchers::sizes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheSizes {
    pub finished: u64,
    pub finished_steps: u64,
    pub views: usize,
    pub pipelines: usize,
    pub listings: u64,
    pub listed_executions: usize,
    pub parameters: u64,
    pub definitions: u64,
    pub definition_bytes: u64,
    pub ends: u64,
    pub missing: u64,
    pub pollers: usize,
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
