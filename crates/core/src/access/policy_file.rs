//! The policy in force, reloaded when its file changes.

use super::*;
use crate::sync::UnpoisonedRw;

/// The policy in force, reloaded when its file changes (checked at most every 2 s).
pub(super) struct PolicyFile {
    pub(super) path: Option<std::path::PathBuf>,
    pub(super) current: RwLock<(Arc<Policy>, Option<SystemTime>, std::time::Instant)>,
}

impl PolicyFile {
    pub(super) fn fixed(policy: Policy) -> PolicyFile {
        PolicyFile { path: None, current: RwLock::new((Arc::new(policy), None, std::time::Instant::now())) }
    }

    pub(super) fn load(path: &std::path::Path) -> Result<(Policy, Option<SystemTime>), String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the policy {}: {e}", path.display()))?;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let policy = Policy::parse(&text).map_err(|e| format!("the policy {}: {e}", path.display()))?;
        Ok((policy, modified))
    }

    pub(super) fn get(&self) -> Arc<Policy> {
        let Some(path) = &self.path else {
            return self.current.read_locked().0.clone();
        };
        {
            let cur = self.current.read_locked();
            if cur.2.elapsed() < Duration::from_secs(2) {
                return cur.0.clone();
            }
        }
        let mut cur = self.current.write_locked();
        cur.2 = std::time::Instant::now();
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified != cur.1 {
            // A policy that no longer parses keeps the last good one in force (and says so once).
            match PolicyFile::load(path) {
                Ok((policy, m)) => {
                    tracing::info!("the policy {} was reloaded", path.display());
                    *cur = (Arc::new(policy), m, std::time::Instant::now());
                }
                Err(e) => {
                    tracing::error!("{e}; the previous policy stays in force");
                    cur.1 = modified;
                }
            }
        }
        cur.0.clone()
    }
}
