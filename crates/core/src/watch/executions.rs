//! Executions: their snapshots (finished ones cached for good, others reused briefly), the parameters and
//! definitions they ran with, and the one live poller per watched execution.

use super::*;

impl Watchers {
    /// A finished execution's snapshot, unless it is a `Failed` one seen too long ago to rule out a retry.
    pub(super) fn cached(&self, arn: &str) -> Option<Arc<ExecutionView>> {
        self.finished.get(arn).filter(|v| {
            v.execution.status.is_final() || (Utc::now() - v.fetched_at).to_std().is_ok_and(|age| age < FAILED_EVERY)
        })
    }

    pub(super) fn remember(&self, view: &Arc<ExecutionView>) {
        if view.execution.status.is_terminal() && view.steps.is_ok() {
            self.finished.insert(view.execution.arn.clone(), view.clone());
        }
    }

    /// What SageMaker said of a thing that does not exist, if it said so lately.
    pub(super) fn known_missing(&self, key: &str) -> Option<Upstream> {
        self.missing.get(key)
    }

    pub(super) fn note_missing<T>(&self, key: &str, result: &Result<T, Upstream>) {
        if let Err(e) = result {
            if e.is_not_found() {
                self.missing.insert(key.to_string(), e.clone());
            }
        }
    }

    /// Fetch a fresh snapshot from upstream.
    pub(super) async fn fetch(&self, arn: &str) -> Result<Arc<ExecutionView>, Upstream> {
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
            Some((pipeline, version)) => DefinitionKey::Version(PipelineKey::of(&pipeline), version),
            None => DefinitionKey::Execution(arn.to_string()),
        };
        if let Some(d) = self.definitions.get(&key) {
            return Ok(d.to_string());
        }
        let d: Arc<str> = self.gateway.execution_definition(arn).await?.into();
        self.definitions.insert(key, d.clone());
        Ok(d.to_string())
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

    pub(super) async fn poll(self: Arc<Self>, arn: String, w: Arc<ExecutionWatch>) {
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
                            Some(s) if s.is_final() => Round::Done,
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
}
