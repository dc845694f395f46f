//! What the server keeps of steps' jobs and logs, shared by every viewer (see `step_queries`).

use std::time::Duration;

use crate::logbook::LogBook;
use crate::reuse::Reuse;
use stepline_types::model::jobs::JobDetail;
use stepline_types::model::logs::StreamRef;
use stepline_types::model::JobKind;

/// What the server keeps of steps' jobs and logs, shared by every viewer.
pub struct StepBooks {
    pub jobs: Reuse<(JobKind, String), JobDetail>,
    /// A job's streams: `(group, job name)`.
    pub streams: Reuse<(String, String), Vec<StreamRef>>,
    pub logs: LogBook,
}

impl Default for StepBooks {
    fn default() -> Self {
        StepBooks {
            jobs: Reuse::new(Duration::from_secs(10), 5_000),
            streams: Reuse::new(Duration::from_secs(10), 5_000),
            logs: LogBook::default(),
        }
    }
}

impl StepBooks {
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        let (streams, followed) = self.logs.sizes();
        (self.jobs.len(), self.streams.len(), streams, followed)
    }
}
