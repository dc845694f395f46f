//! Several replicas, one upstream budget. With `--database-url postgres://…` the replicas of a deployment
//! share the work of watching SageMaker through that database; without it a replica works alone, as ever.
//!
//! - **Leases.** A live view (an execution's snapshots, a pipeline's list) is polled by one replica at a
//!   time: the one holding the view's PostgreSQL advisory lock, taken with `pg_try_advisory_lock` on a
//!   connection of the replica's own. The lock lives as long as that connection: a replica that dies
//!   loses its leases as soon as its socket closes, and a replica whose viewers still watch takes the
//!   lease at its next try (every poll round, 2 s). A replica whose viewers all left gives the lease up.
//! - **Snapshots.** The leaseholder writes each snapshot to `cluster_snapshots` (an unlogged table:
//!   snapshots are worth nothing after a crash) and announces it with `NOTIFY stepline_cluster`; the
//!   others read it and hand it to their viewers at once. A replica that missed an announcement (its
//!   listening connection was being re-made) reads the table at its next round.
//! - **Budget.** Each replica says every 2 s that it is alive and how many views it polls
//!   (`cluster_members`), and takes its part of the account's request budget (see [`Budget::of`]):
//!   together they spend what one replica would.
//! - **Sessions.** A logout is announced, so every replica forgets its copy of the session at once.

use crate::sync::Unpoisoned;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use stepline_types::model::PipelineKey;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::broadcast;

/// The channel every replica listens on.
const CHANNEL: &str = "stepline_cluster";

/// What another replica announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum News {
    /// A new snapshot of a live view, by its key (`execution <arn>`, `list <pipeline>`).
    Snapshot(String),
    /// A session ended: its id's digest (never the id itself).
    LoggedOut(String),
}

impl News {
    fn encode(&self) -> String {
        match self {
            News::Snapshot(key) => format!("snapshot {key}"),
            News::LoggedOut(digest) => format!("logout {digest}"),
        }
    }

    fn decode(payload: &str) -> Option<News> {
        match payload.split_once(' ')? {
            ("snapshot", key) => Some(News::Snapshot(key.to_string())),
            ("logout", digest) => Some(News::LoggedOut(digest.to_string())),
            _ => None,
        }
    }
}

/// The key of an execution's live view.
pub fn execution_key(arn: &str) -> String {
    format!("execution {arn}")
}

/// The key of a pipeline's list view (pipeline names compare case-insensitively) in a place
/// (`super::places::Place::key`: empty with one place, `/{account}/{region} ` with several).
pub fn list_key(scope: &str, pipeline: &str) -> String {
    format!("list {scope}{}", PipelineKey::of(pipeline))
}

/// A view's key as an advisory lock's number: the first 8 bytes of its SHA-256.
fn lock_id(key: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(key.as_bytes());
    i64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// How often a replica says it is alive, and how long one that stopped saying so is still counted.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(2);
const ALIVE_FOR_MS: i64 = 6_000;

/// The replicas alive and this replica's part of the account's request budget.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub replicas: usize,
    pub share: f64,
}

impl Budget {
    /// From the replicas alive and the views each polls. Each replica's weight is the views it polls plus
    /// an even part of them all (at least one): the pollers get the room their views need, and a replica
    /// that polls little keeps room for the pages its people open. The parts add up to one budget.
    pub fn of(me: &str, alive: &[(String, i64)]) -> Budget {
        let replicas = alive.len().max(1);
        let polled: f64 = alive.iter().map(|(_, l)| (*l).max(0) as f64).sum();
        let base = (polled / replicas as f64).max(1.0);
        let weight = |leases: i64| leases.max(0) as f64 + base;
        let total: f64 = alive.iter().map(|(_, l)| weight(*l)).sum();
        let mine = alive.iter().find(|(id, _)| id == me).map_or(base, |(_, l)| weight(*l));
        let share = if total > 0.0 { (mine / total).min(1.0) } else { 1.0 };
        Budget { replicas, share }
    }
}

pub struct Cluster {
    url: String,
    /// This replica's name among the others (random, per process).
    id: String,
    /// Replicas alive, as the heartbeats say, and this one's part of the request budget.
    budget: tokio::sync::watch::Sender<Budget>,
    pool: PgPool,
    /// The connection that holds this replica's leases (`None` while it is being re-made).
    locks: tokio::sync::Mutex<Option<PgConnection>>,
    held: Mutex<HashSet<String>>,
    news: broadcast::Sender<News>,
}

impl Cluster {
    /// Connect, make the snapshot table if it is missing, and start listening.
    pub async fn connect(url: &str) -> Result<Arc<Cluster>, String> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| format!("cluster: cannot connect to PostgreSQL: {e}"))?;
        sqlx::query(
            "CREATE UNLOGGED TABLE IF NOT EXISTS cluster_snapshots (
                key TEXT PRIMARY KEY, body TEXT NOT NULL, version BIGINT NOT NULL, updated_ms BIGINT NOT NULL)",
        )
        .execute(&pool)
        .await
        .map_err(|e| format!("cluster: cannot make the snapshot table: {e}"))?;
        sqlx::query(
            "CREATE UNLOGGED TABLE IF NOT EXISTS cluster_members (
                id TEXT PRIMARY KEY, seen_ms BIGINT NOT NULL, leases BIGINT NOT NULL DEFAULT 0)",
        )
        .execute(&pool)
        .await
        .map_err(|e| format!("cluster: cannot make the members table: {e}"))?;
        let locks = PgConnection::connect(url).await.map_err(|e| format!("cluster: cannot connect: {e}"))?;
        let (news, _) = broadcast::channel(1024);
        let cluster = Arc::new(Cluster {
            url: url.to_string(),
            id: super::store::random_token(8),
            budget: tokio::sync::watch::channel(Budget { replicas: 1, share: 1.0 }).0,
            pool,
            locks: tokio::sync::Mutex::new(Some(locks)),
            held: Mutex::new(HashSet::new()),
            news,
        });
        let mut listener =
            PgListener::connect_with(&cluster.pool).await.map_err(|e| format!("cluster: cannot listen: {e}"))?;
        listener.listen(CHANNEL).await.map_err(|e| format!("cluster: cannot listen: {e}"))?;
        let tx = cluster.news.clone();
        tokio::spawn(async move {
            loop {
                // `recv` re-makes a lost connection itself; what was announced meanwhile is read at the
                // next round from the table.
                match listener.recv().await {
                    Ok(n) => {
                        if let Some(news) = News::decode(n.payload()) {
                            let _ = tx.send(news);
                        }
                    }
                    Err(e) => {
                        tracing::warn!("cluster: listening failed ({e}); trying again");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        cluster.beat().await;
        let beating = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                let Some(c) = beating.upgrade() else { return };
                c.beat().await;
            }
        });
        Ok(cluster)
    }

    /// Say this replica is alive and how many views it polls; count those alive and take this replica's
    /// part of the budget: in proportion to the views it polls (at least one's worth each, for pages).
    async fn beat(&self) {
        let now = super::store::now_ms();
        let said = sqlx::query(
            "INSERT INTO cluster_members (id, seen_ms, leases) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET seen_ms = EXCLUDED.seen_ms, leases = EXCLUDED.leases",
        )
        .bind(&self.id)
        .bind(now)
        .bind(self.leases() as i64)
        .execute(&self.pool)
        .await;
        let alive: Result<Vec<(String, i64)>, _> = match said {
            Ok(_) => {
                sqlx::query_as("SELECT id, leases FROM cluster_members WHERE seen_ms >= $1")
                    .bind(now - ALIVE_FOR_MS)
                    .fetch_all(&self.pool)
                    .await
            }
            Err(e) => Err(e),
        };
        match alive {
            Ok(alive) => {
                let budget = Budget::of(&self.id, &alive);
                self.budget.send_if_modified(|cur| std::mem::replace(cur, budget) != budget);
            }
            Err(e) => tracing::warn!("cluster: the heartbeat failed ({e})"),
        }
        // Replicas long gone are forgotten by whoever looks.
        let _ = sqlx::query("DELETE FROM cluster_members WHERE seen_ms < $1")
            .bind(now - 10 * ALIVE_FOR_MS)
            .execute(&self.pool)
            .await;
    }

    /// Replicas alive and this one's part of the budget, as they change.
    pub fn budget(&self) -> tokio::sync::watch::Receiver<Budget> {
        self.budget.subscribe()
    }

    /// How many views this replica polls for the cluster.
    pub fn leases(&self) -> usize {
        self.held.locked().len()
    }

    /// Hand every announcement (the other replicas' and this one's own) to `on`, with `target`, for as long
    /// as `target` lives.
    pub fn follow<T, F, Fut>(&self, target: &Arc<T>, on: F)
    where
        T: Send + Sync + 'static,
        F: Fn(Arc<T>, News) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let mut news = self.news.subscribe();
        let target = Arc::downgrade(target);
        tokio::spawn(async move {
            loop {
                match news.recv().await {
                    Ok(n) => match target.upgrade() {
                        Some(t) => on(t, n).await,
                        None => return,
                    },
                    // Announcements missed under load: the next round reads the table anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    /// Whether this replica holds the lease of `key` now (without asking for it).
    pub fn holds(&self, key: &str) -> bool {
        self.held.locked().contains(key)
    }

    /// Whether this replica holds the lease of `key`, taking it when it is free.
    pub async fn try_lease(&self, key: &str) -> bool {
        if self.held.locked().contains(key) {
            return true;
        }
        let mut conn = self.locks.lock().await;
        if conn.is_none() {
            // The leases went with the old connection; the next round may take them again.
            *conn = PgConnection::connect(&self.url).await.ok();
        }
        let Some(c) = conn.as_mut() else { return false };
        let taken: Result<(bool,), _> =
            sqlx::query_as("SELECT pg_try_advisory_lock($1)").bind(lock_id(key)).fetch_one(&mut *c).await;
        match taken {
            Ok((true,)) => {
                self.held.locked().insert(key.to_string());
                true
            }
            Ok((false,)) => false,
            Err(e) => {
                // A broken connection holds nothing any more.
                tracing::warn!("cluster: the lease connection failed ({e}); its leases are given up");
                *conn = None;
                self.held.locked().clear();
                false
            }
        }
    }

    /// Give the lease of `key` up (nobody here watches it any more).
    pub async fn release(&self, key: &str) {
        if !self.held.locked().remove(key) {
            return;
        }
        if let Some(c) = self.locks.lock().await.as_mut() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(lock_id(key)).execute(&mut *c).await;
        }
    }

    /// Write a snapshot of `key` and announce it.
    pub async fn publish(&self, key: &str, body: &str) {
        let done = sqlx::query(
            "WITH up AS (
                INSERT INTO cluster_snapshots (key, body, version, updated_ms) VALUES ($1, $2, 1, $3)
                ON CONFLICT (key) DO UPDATE
                    SET body = EXCLUDED.body, version = cluster_snapshots.version + 1, updated_ms = EXCLUDED.updated_ms
                RETURNING key)
             SELECT pg_notify($4, $5) FROM up",
        )
        .bind(key)
        .bind(body)
        .bind(super::store::now_ms())
        .bind(CHANNEL)
        .bind(News::Snapshot(key.to_string()).encode())
        .execute(&self.pool)
        .await;
        if let Err(e) = done {
            tracing::warn!("cluster: a snapshot could not be shared ({e})");
        }
    }

    /// The last snapshot of `key` a leaseholder wrote.
    pub async fn snapshot(&self, key: &str) -> Option<String> {
        sqlx::query_as::<_, (String,)>("SELECT body FROM cluster_snapshots WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .ok()
            .flatten()
            .map(|(b,)| b)
    }

    /// Tell every replica a session ended.
    pub async fn logged_out(&self, digest: &str) {
        let _ = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(News::LoggedOut(digest.to_string()).encode())
            .execute(&self.pool)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_round_trips_and_keys_are_stable() {
        for n in [
            News::Snapshot(execution_key("arn:aws:sagemaker:x:1:pipeline/p/execution/e")),
            News::LoggedOut("ab".into()),
        ] {
            assert_eq!(News::decode(&n.encode()), Some(n));
        }
        assert_eq!(News::decode("nonsense"), None);
        assert_eq!(list_key("", "AbalonePipeline"), list_key("", "abalonepipeline"));
        assert_ne!(list_key("/111111111111/eu-west-1 ", "p"), list_key("/222222222222/eu-west-1 ", "p"));
        assert_eq!(lock_id("execution a"), lock_id("execution a"));
        assert_ne!(lock_id("execution a"), lock_id("execution b"));
    }

    #[test]
    fn the_budget_follows_the_views_each_replica_polls() {
        let alive = |v: &[(&str, i64)]| v.iter().map(|(i, l)| (i.to_string(), *l)).collect::<Vec<_>>();
        assert_eq!(Budget::of("a", &alive(&[("a", 0)])), Budget { replicas: 1, share: 1.0 });
        let three = alive(&[("a", 0), ("b", 0), ("c", 0)]);
        assert!((Budget::of("a", &three).share - 1.0 / 3.0).abs() < 1e-9);
        // The replica that polls 18 of 20 views takes most of the budget, the idle one a sixth for its
        // pages; the shares add up to one.
        let busy = alive(&[("a", 18), ("b", 2), ("c", 0)]);
        let shares: Vec<f64> = ["a", "b", "c"].iter().map(|id| Budget::of(id, &busy).share).collect();
        assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let base = 20.0 / 3.0;
        assert!((shares[0] - (18.0 + base) / 40.0).abs() < 1e-9 && (shares[2] - base / 40.0).abs() < 1e-9);
        // Not yet counted among them (its first heartbeat is on its way): a part as if it polled one.
        assert_eq!(Budget::of("new", &busy).replicas, 3);
    }
}
