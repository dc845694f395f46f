//! The notification settings in force, re-read when their file changes (like the policy): checked at most
//! every two seconds; a file that no longer parses leaves the last good settings in force, and says so.
//! Each change is on record in the activity log (`Action::NotifyRules`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::settings::Settings;
use crate::sync::UnpoisonedRw;

pub struct LiveSettings {
    path: Option<PathBuf>,
    current: RwLock<Current>,
}

struct Current {
    settings: Arc<Settings>,
    modified: Option<SystemTime>,
    checked: Instant,
    /// Reloads not yet written to the activity log (`take_changes`).
    changes: Vec<String>,
}

impl LiveSettings {
    /// Settings that never change (tests, benches).
    pub fn fixed(settings: Settings) -> Arc<LiveSettings> {
        Arc::new(LiveSettings {
            path: None,
            current: RwLock::new(Current {
                settings: Arc::new(settings),
                modified: None,
                checked: Instant::now(),
                changes: vec![],
            }),
        })
    }

    /// Read `path` now (a mistake stops the start), and again whenever it changes.
    pub fn load(path: &Path) -> Result<Arc<LiveSettings>, String> {
        let settings = Settings::load(path)?;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(Arc::new(LiveSettings {
            path: Some(path.to_path_buf()),
            current: RwLock::new(Current {
                settings: Arc::new(settings),
                modified,
                checked: Instant::now(),
                changes: vec![],
            }),
        }))
    }

    pub fn get(&self) -> Arc<Settings> {
        let Some(path) = &self.path else {
            return self.current.read_locked().settings.clone();
        };
        {
            let cur = self.current.read_locked();
            if cur.checked.elapsed() < Duration::from_secs(2) {
                return cur.settings.clone();
            }
        }
        let mut cur = self.current.write_locked();
        cur.checked = Instant::now();
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified != cur.modified {
            cur.modified = modified;
            match Settings::load(path) {
                Ok(s) => {
                    let what = format!("{} rule(s) to {} channel(s)", s.rules.len(), s.channels.len());
                    tracing::info!("the notification settings {} were re-read: {what}", path.display());
                    cur.changes.push(what);
                    cur.settings = Arc::new(s);
                }
                Err(e) => tracing::error!("{e}; the previous notification settings stay in force"),
            }
        }
        cur.settings.clone()
    }

    /// The reloads since the last call, each described ("3 rule(s) to 2 channel(s)"), to put on record.
    pub fn take_changes(&self) -> Vec<String> {
        std::mem::take(&mut self.current.write_locked().changes)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl std::fmt::Debug for LiveSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSettings").field("path", &self.path).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_read_again_and_a_broken_one_keeps_the_last_good_settings() {
        let dir = std::env::temp_dir().join(format!("stepline-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.toml");
        let one = "[channels.a]\nkind = \"webhook\"\nurl = \"https://h.example/a\"\n[[rules]]\nevents = [\"failed\"]\nchannel = \"a\"\n";
        std::fs::write(&path, one).unwrap();
        let live = LiveSettings::load(&path).unwrap();
        assert_eq!(live.get().rules.len(), 1);
        let two = format!("{one}[[rules]]\nevents = [\"stopped\"]\nchannel = \"a\"\n");
        std::fs::write(&path, two).unwrap();
        // A different modification time, whatever the file system's resolution.
        let later = SystemTime::now() + Duration::from_secs(10);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        live.current.write_locked().checked = Instant::now() - Duration::from_secs(3);
        assert_eq!(live.get().rules.len(), 2);
        assert_eq!(live.take_changes(), vec!["2 rule(s) to 1 channel(s)".to_string()]);
        assert!(live.take_changes().is_empty());
        std::fs::write(&path, "rules = 3").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later + Duration::from_secs(10))
            .unwrap();
        live.current.write_locked().checked = Instant::now() - Duration::from_secs(3);
        assert_eq!(live.get().rules.len(), 2, "a broken file leaves the last good settings");
        std::fs::remove_dir_all(&dir).ok();
    }
}
