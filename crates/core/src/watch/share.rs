//! Sharing with the other replicas (`super::super::cluster`): one replica polls an execution or a list and
//! publishes what it sees; the others take it from the database instead of asking SageMaker themselves.

use super::*;

impl Watchers {
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

    pub(super) fn scope(&self) -> &str {
        self.scope.get().map(String::as_str).unwrap_or("")
    }

    /// Another replica announced a snapshot of a view: viewers here get it as if this replica had polled.
    pub(super) async fn announced(&self, key: &str) {
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
            let watched = lock(&self.list_streams).get(&PipelineKey::of(pipeline)).cloned();
            if let Some(tx) = watched {
                // The list changed: its viewers ask for it again (here, where it is then refreshed).
                tx.send_modify(|s| s.version = s.version.wrapping_add(1));
            }
        }
    }

    /// The leaseholder's last snapshot of an execution, handed to this replica's viewers and kept as if
    /// polled here (so this replica's pages need no call of their own).
    pub(super) async fn take_shared(&self, arn: &str, w: &ExecutionWatch) -> Option<Arc<ExecutionView>> {
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
    pub(super) async fn shared(&self, arn: &str) -> Option<(Option<Arc<ExecutionView>>, Option<Problem>)> {
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
    pub(super) async fn share(&self, arn: &str, w: &ExecutionWatch) {
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
}
