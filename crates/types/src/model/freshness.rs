//! How current what a page shows is, and why a refresh failed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::upstream::Upstream;

/// How current what a page shows is: when it was fetched and, when the last refresh failed, why. Every
/// page that SageMaker may fail to refresh carries one, so it can say "as of 12:03:15 — SageMaker is
/// throttling; retrying in 20 s" instead of blanking what it already knew.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Freshness {
    pub as_of: Option<DateTime<Utc>>,
    pub problem: Option<Problem>,
}

/// A refresh that failed, and when the next one will be tried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub error: Upstream,
    /// Seconds until the next attempt, counted when the answer was made.
    pub retry_in: u32,
}

impl Freshness {
    pub fn fresh(as_of: DateTime<Utc>) -> Freshness {
        Freshness { as_of: Some(as_of), problem: None }
    }

    /// A page made of two parts is as old as its older part, and names the first problem of either.
    pub fn and(self, other: Freshness) -> Freshness {
        let as_of = match (self.as_of, other.as_of) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Freshness { as_of, problem: self.problem.or(other.problem) }
    }

    /// The notice for a page whose data could not be refreshed, without its time (the page writes that in
    /// the viewer's time zone): "SageMaker is throttling (ThrottlingException: Rate exceeded); retrying in
    /// 20 s". `None` while the data is current.
    pub fn notice(&self) -> Option<String> {
        self.problem.as_ref().map(Problem::describe)
    }
}

impl Problem {
    pub fn describe(&self) -> String {
        let retry = match self.retry_in {
            0 => "retrying now".to_string(),
            n => format!("retrying in {n} s"),
        };
        format!("{} ({}); {retry}", self.error.summary(), crate::text::clip(&self.error.to_string(), 300))
    }
}
