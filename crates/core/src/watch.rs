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
//!
//! `Watchers` holds it all; its methods live one module per job: `executions` (snapshots, parameters,
//! definitions, live pollers), `listings` (each pipeline's listings, their rows and live list), `home` (the
//! pipelines page), `share` (replicas sharing what they poll) and `versions` (pipeline versions).

use crate::sync::lock;
use std::collections::HashMap;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use stepline_types::model::PipelineKey;

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

mod executions;
mod home;
mod listings;
mod share;
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
    Version(PipelineKey, i64),
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
    /// Listings of executions by pipeline and query.
    listings: Cache<(PipelineKey, Query), Listing>,
    /// Pipeline descriptions by name.
    pipelines: KeptMap<PipelineKey, PipelineDetail>,
    /// Pipeline versions by name (`versions`).
    versions: KeptMap<PipelineKey, Versions>,
    /// Every pipeline, as ListPipelines last said.
    pipeline_list: Kept<Vec<PipelineSummary>>,
    /// Newest execution of each pipeline by name, filled a few at a time.
    newest: Mutex<HashMap<PipelineKey, NewestEntry>>,
    /// When the pipelines page was last asked for, and whether its background round runs.
    home_viewed: Mutex<Option<Instant>>,
    home_running: std::sync::atomic::AtomicBool,
    list_streams: Mutex<HashMap<PipelineKey, watch::Sender<ListState>>>,
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
    filling: Mutex<std::collections::HashSet<PipelineKey>>,
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
