//! The pipelines page: the list of pipelines reused for a few seconds, and each one's newest execution asked
//! a few at a time, within the request quota.

use super::*;

impl Watchers {
    /// A pipeline's description (name, definition, parallelism), asked again once it is older than
    /// `PIPELINE_FRESH`; as last known, with the reason, while SageMaker refuses. Unknown names are
    /// remembered as such for a short while, never in the descriptions' map.
    pub async fn pipeline(&self, name: &str) -> Result<Known<PipelineDetail>, Upstream> {
        let key = PipelineKey::of(name);
        if let Some(e) = self.known_missing(key.as_str()) {
            return Err(e);
        }
        let result = self.pipelines.get(&key, PIPELINE_FRESH, self.gateway.describe_pipeline(name)).await;
        self.note_missing(key.as_str(), &result);
        result
    }

    /// Whether a pipeline exists, from what is known when possible.
    pub async fn pipeline_exists(&self, name: &str) -> Result<(), Upstream> {
        if self.pipelines.peek(&PipelineKey::of(name)).is_some() {
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

    /// Every pipeline as listed (the list kept for the pipelines page).
    pub async fn pipeline_summaries(&self) -> Result<Vec<PipelineSummary>, Upstream> {
        Ok(self.pipeline_list.get(PIPELINES_FRESH, self.gateway.all_pipelines()).await?.value)
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
                newest: newest.get(&PipelineKey::of(&p.name)).map_or(Newest::Pending, |e| e.newest.clone()),
                pipeline: p.clone(),
            })
            .collect();
        Ok(Known { value: rows, as_of: listed.as_of, problem: listed.problem })
    }

    /// The pipelines whose newest execution must be asked (again), the most needed first.
    pub(super) fn due_newest(&self, pipelines: &[PipelineSummary]) -> Vec<PipelineSummary> {
        let mut newest = lock(&self.newest);
        let mut due: Vec<(Option<Instant>, &PipelineSummary)> = vec![];
        for p in pipelines {
            let key = PipelineKey::of(&p.name);
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
    pub(super) async fn check_newest(&self, pipelines: &[PipelineSummary], budget: usize) -> usize {
        let due: Vec<PipelineSummary> = self.due_newest(pipelines).into_iter().take(budget).collect();
        let answers =
            futures::future::join_all(due.iter().map(|p| self.gateway.list_executions(&p.name, None, 1))).await;
        let mut newest = lock(&self.newest);
        for (p, answer) in due.iter().zip(answers) {
            let key = PipelineKey::of(&p.name);
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
            let live: std::collections::HashSet<PipelineKey> =
                pipelines.iter().map(|p| PipelineKey::of(&p.name)).collect();
            newest.retain(|k, _| live.contains(k));
        }
        due.len()
    }

    /// A row to ask again soon (after an action here).
    pub(super) fn renew_newest(&self, pipeline: &str) {
        self.pipeline_list.invalidate();
        if let Some(e) = lock(&self.newest).get_mut(&PipelineKey::of(pipeline)) {
            e.checked = None;
            e.seen_last = None;
        }
    }

    /// The background round of the pipelines page: every `HOME_ROUND`, the list when it is due and the
    /// newest executions of up to `NEWEST_PER_ROUND` pipelines; it ends when nobody viewed the page for
    /// `HOME_IDLE` and starts again with the next view.
    pub(super) fn start_home_round(self: &Arc<Self>) {
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
}
