//! Health for load balancers and orchestrators: `/healthz` says the process answers; `/readyz` says it can
//! do its work — SageMaker answers with these credentials and the database takes writes — or answers 503
//! naming which part is not ready. Both are served to anyone, so:
//! - a readiness answer is reused for a few seconds, and only one check runs at a time (concurrent probes wait
//!   for it and share its answer): probes, or anyone, cannot spend the account's request quota;
//! - the public answer names only the part ("SageMaker", "database"): what the part said (which can name a
//!   role, an account or a host) goes to the log, and each part's state to `/metrics`
//!   (`stepline_ready{part=…}`).

use std::time::{Duration, Instant};

/// How long a readiness answer is reused.
pub const REUSED_FOR: Duration = Duration::from_secs(5);
/// The longest a readiness check may take (the gateway's own limit on one call is 30 s).
pub const CHECK_LIMIT: Duration = Duration::from_secs(10);

/// The last answer; the lock is held while a check runs, so there is one check in flight at most.
#[derive(Default)]
pub struct Readiness {
    pub last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}
