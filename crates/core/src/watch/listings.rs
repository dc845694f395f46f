//! Each pipeline's listings of executions (`super::super::scan`): refreshed from the top, listed further only
//! as far as a view needs, their rows' extras (end times, creators, statuses), and the list's live stream.

use super::*;
use stepline_types::model::OwnCode;

impl Watchers {
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

    pub(super) fn forget_ranges(&self, pipeline: &str) {
        let key = PipelineKey::of(pipeline);
        let stale: Vec<_> =
            self.listings.iter().filter(|(k, _)| k.0 == key && !k.1.is_main()).map(|(k, _)| (*k).clone()).collect();
        for k in stale {
            self.listings.invalidate(&k);
        }
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

    pub(super) fn end_of(&self, arn: &str) -> Option<DateTime<Utc>> {
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
    pub(super) fn fill_ends(self: &Arc<Self>, pipeline: &str, arns: Vec<String>) {
        let pipeline = PipelineKey::of(pipeline);
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
                let main = this.listing(pipeline.as_str(), &Query::default());
                let mut scan = main.scan();
                scan.version += 1;
                this.announce(pipeline.as_str(), Some((scan.version, scan.backoff.problem())));
            }
        });
    }

    /// The status of a listed execution that was running when listed: what its poller or page saw, or
    /// what SageMaker says now (asked at most every few seconds), so an old running execution does not
    /// need the list re-paged down to it.
    pub(super) async fn status_now(&self, e: &ExecutionSummary) -> ExecStatus {
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

    pub(super) fn listing(&self, pipeline: &str, query: &Query) -> Listing {
        self.listings.get_with((PipelineKey::of(pipeline), query.clone()), Default::default)
    }

    /// Tell a pipeline's list streams that its list changed (or failed to).
    pub(super) fn announce(&self, pipeline: &str, state: Option<(u64, Option<Problem>)>) {
        let Some((version, problem)) = state else { return };
        if let Some(tx) = lock(&self.list_streams).get(&PipelineKey::of(pipeline)) {
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
                return Err(e.unwrap_or_else(|| Upstream::own(OwnCode::NotLoaded, "not listed yet")));
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
    pub(super) async fn bring_up_to_date(
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
    pub(super) async fn refresh(&self, pipeline: &str, query: &Query, listing: &ListingCell) -> Result<(), Upstream> {
        let mut fresh = vec![];
        let mut next = None;
        for _ in 0..TOP_PAGES {
            let page = self.gateway.list_executions_in(pipeline, query, next.take(), 100).await;
            if let Err(e) = &page {
                if e.is_not_found() {
                    self.missing.insert(PipelineKey::of(pipeline).to_string(), e.clone());
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

    pub(super) fn listed(&self, pipeline: &str, scan: &mut Scan, version_before: u64) {
        scan.refreshed = Some(Instant::now());
        if scan.version != version_before {
            self.announce(pipeline, Some((scan.version, None)));
        }
    }

    /// List one page further down a listing, unless another request is listing it: whether it did.
    pub(super) async fn scan_further(&self, pipeline: &str, query: &Query, listing: &ListingCell) -> bool {
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
    pub(super) fn scan_in_background(self: &Arc<Self>, pipeline: &str, query: Query, listing: Listing) {
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
        let key = PipelineKey::of(pipeline);
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
