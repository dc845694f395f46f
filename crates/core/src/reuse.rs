//! Answers asked once and shared: the jobs behind steps and the log streams of a job. A value that can no
//! longer change (a finished job's description) is kept; others are reused for a while. One request at a
//! time per key, so a hundred viewers of one step cost one call.

use crate::sync::Unpoisoned;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stepline_types::model::Upstream;

type Slot<V> = Arc<tokio::sync::Mutex<Option<(Arc<V>, Instant)>>>;

pub struct Reuse<K, V> {
    map: Mutex<HashMap<K, Slot<V>>>,
    /// How long a value that may still change is reused.
    fresh: Duration,
    /// Keys kept at most; past it the map is cleared and refills from the next views.
    max: usize,
}

impl<K: Eq + Hash + Clone, V> Reuse<K, V> {
    pub fn new(fresh: Duration, max: usize) -> Reuse<K, V> {
        Reuse { map: Mutex::new(HashMap::new()), fresh, max }
    }

    /// The value of `key`: kept (`done` says it cannot change), reused while fresh, else loaded. When
    /// loading fails and a value is known, the known one.
    pub async fn get<F>(&self, key: &K, done: impl Fn(&V) -> bool, load: F) -> Result<Arc<V>, Upstream>
    where
        F: std::future::Future<Output = Result<V, Upstream>>,
    {
        let slot = {
            let mut map = self.map.locked();
            if map.len() >= self.max && !map.contains_key(key) {
                map.clear();
            }
            map.entry(key.clone()).or_default().clone()
        };
        let mut known = slot.lock().await;
        if let Some((v, at)) = known.as_ref() {
            if done(v) || at.elapsed() < self.fresh {
                return Ok(v.clone());
            }
        }
        match load.await {
            Ok(v) => {
                let v = Arc::new(v);
                *known = Some((v.clone(), Instant::now()));
                Ok(v)
            }
            Err(e) => known.as_ref().map(|(v, _)| v.clone()).ok_or(e),
        }
    }

    pub fn len(&self) -> usize {
        self.map.locked().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_load_for_many_askers_and_kept_once_done() {
        let reuse: Arc<Reuse<&str, u32>> = Arc::new(Reuse::new(Duration::from_secs(60), 10));
        let loads = Arc::new(AtomicUsize::new(0));
        let asks = (0..20).map(|_| {
            let (reuse, loads) = (reuse.clone(), loads.clone());
            tokio::spawn(async move {
                reuse
                    .get(&"job", |_| false, async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(7)
                    })
                    .await
            })
        });
        for a in futures::future::join_all(asks).await {
            assert_eq!(*a.unwrap().unwrap(), 7);
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "twenty askers at once, one load");
    }

    #[tokio::test]
    async fn stale_values_reload_and_failures_fall_back_to_the_known_value() {
        let reuse: Reuse<&str, u32> = Reuse::new(Duration::ZERO, 10);
        assert_eq!(*reuse.get(&"k", |_| false, async { Ok(1) }).await.unwrap(), 1);
        assert_eq!(*reuse.get(&"k", |_| false, async { Ok(2) }).await.unwrap(), 2, "not fresh: asked again");
        let failed = reuse.get(&"k", |_| false, async { Err(Upstream::new("ThrottlingException", "slow down")) });
        assert_eq!(*failed.await.unwrap(), 2, "a failure shows what was known");
        assert!(reuse.get(&"other", |_| false, async { Err(Upstream::new("X", "y")) }).await.is_err());
        // Done values are never asked again.
        let _ = reuse.get(&"d", |v| *v == 5, async { Ok(5) }).await;
        assert_eq!(*reuse.get(&"d", |v| *v == 5, async { Ok(6) }).await.unwrap(), 5);
    }

    #[tokio::test]
    async fn bounded_by_clearing() {
        let reuse: Reuse<u32, u32> = Reuse::new(Duration::from_secs(60), 3);
        for k in 0..5 {
            let _ = reuse.get(&k, |_| true, async move { Ok(k) }).await;
        }
        assert!(reuse.len() <= 3);
    }
}
