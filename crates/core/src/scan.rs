//! A pipeline's executions as far as they have been listed: the newest first (or, for "oldest first" and
//! time ranges, in the order and range SageMaker was asked for with `SortOrder`, `CreatedAfter` and
//! `CreatedBefore`), how far the listing got and where it goes on. Pure, so merging and coverage are tested
//! directly; `super::watch` does the asking.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::stale::Backoff;
use stepline_types::model::ExecutionSummary;
use stepline_types::page::Coverage;

/// The most executions one listing keeps: past it the listing stops and says so.
pub const MAX_SCANNED: usize = 100_000;

/// What is asked of SageMaker: a time range and an order. The default is the whole list, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Query {
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub oldest_first: bool,
}

impl Query {
    /// Whether this is the whole list newest first: the one listing refreshed from its top.
    pub fn is_main(&self) -> bool {
        *self == Query::default()
    }
}

#[derive(Debug, Default)]
pub struct Scan {
    /// In the query's order.
    pub items: Vec<ExecutionSummary>,
    /// The token that lists on from the last item; `None` once the end was reached (or before the start).
    pub next: Option<String>,
    pub complete: bool,
    /// Stopped at [`MAX_SCANNED`].
    pub capped: bool,
    /// A scan further down runs in the background.
    pub scanning: bool,
    /// A request is asking SageMaker for this listing now (`super::watch` never holds the lock meanwhile).
    pub busy: bool,
    pub refreshed: Option<Instant>,
    /// When the last listing succeeded.
    pub as_of: Option<DateTime<Utc>>,
    /// Bumped whenever the items change; list streams send it to browsers.
    pub version: u64,
    pub backoff: Backoff,
}

/// How a fresh top page met what was known.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// Joined onto the known items (or nothing was known).
    Joined,
    /// None of the fresh items is known and there is more above what is known: list more of the top.
    Gap,
}

impl Scan {
    pub fn started(&self) -> bool {
        self.as_of.is_some()
    }

    fn changed(&mut self, items: Vec<ExecutionSummary>) {
        if items != self.items {
            self.items = items;
            self.version += 1;
        }
    }

    /// The first listing, or a listing that starts over: its first pages and the token after them.
    pub fn restart(&mut self, fresh: Vec<ExecutionSummary>, next: Option<String>) {
        self.complete = next.is_none();
        self.capped = false;
        self.next = next;
        self.changed(fresh);
        self.listed();
    }

    /// Put fresh pages from the top (newest first) over what is known: the fresh items replace the known
    /// ones down to where they meet, and the known tail below stays with its token.
    pub fn merge_top(&mut self, fresh: Vec<ExecutionSummary>, fresh_next: Option<String>) -> Merged {
        if !self.started() || fresh_next.is_none() {
            // Nothing known yet, or the fresh pages are the whole list.
            self.restart(fresh, fresh_next);
            return Merged::Joined;
        }
        let last_known = fresh.iter().rev().find_map(|f| self.items.iter().position(|k| k.arn == f.arn));
        let Some(at) = last_known else { return Merged::Gap };
        let mut merged = fresh;
        // Known items that the fresh pages passed over went away (deleted) or moved: the fresh pages win.
        let listed: std::collections::HashSet<&str> = merged.iter().map(|e| e.arn.as_str()).collect();
        let tail: Vec<ExecutionSummary> =
            self.items.iter().skip(at + 1).filter(|e| !listed.contains(e.arn.as_str())).cloned().collect();
        merged.extend(tail);
        self.changed(merged);
        self.listed();
        Merged::Joined
    }

    /// A page further down, listed with [`Scan::next`].
    pub fn extend(&mut self, page: Vec<ExecutionSummary>, next: Option<String>) {
        let mut items = self.items.clone();
        let known: std::collections::HashSet<String> = items.iter().map(|e| e.arn.clone()).collect();
        items.extend(page.into_iter().filter(|e| !known.contains(&e.arn)));
        if items.len() >= MAX_SCANNED {
            items.truncate(MAX_SCANNED);
            self.capped = next.is_some();
            self.next = None;
            self.complete = next.is_none();
        } else {
            self.complete = next.is_none();
            self.next = next;
        }
        self.changed(items);
        self.listed();
    }

    fn listed(&mut self) {
        self.as_of = Some(Utc::now());
    }

    /// Whether listing further could find more.
    pub fn can_go_on(&self) -> bool {
        !self.complete && !self.capped && self.next.is_some()
    }

    pub fn coverage(&self) -> Coverage {
        Coverage { scanned: self.items.len(), complete: self.complete, capped: self.capped, scanning: self.scanning }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stepline_types::model::ExecStatus;

    fn ex(id: u32) -> ExecutionSummary {
        ExecutionSummary {
            arn: format!("arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/e{id}"),
            id: format!("e{id}"),
            display_name: None,
            status: ExecStatus::Succeeded,
            start: None,
            description: None,
            failure_reason: None,
        }
    }

    fn ids(s: &Scan) -> Vec<String> {
        s.items.iter().map(|e| e.id.clone()).collect()
    }

    #[test]
    fn a_fresh_top_joins_the_known_items_and_keeps_the_tail_and_its_token() {
        let mut s = Scan::default();
        s.restart(vec![ex(5), ex(4), ex(3)], Some("t3".into()));
        assert_eq!(s.coverage(), Coverage { scanned: 3, complete: false, capped: false, scanning: false });
        let v = s.version;
        assert_eq!(s.merge_top(vec![ex(7), ex(6), ex(5)], Some("t5".into())), Merged::Joined);
        assert_eq!(ids(&s), ["e7", "e6", "e5", "e4", "e3"]);
        assert_eq!(s.next.as_deref(), Some("t3"), "the deeper token still continues below the tail");
        assert!(s.version > v);
        let v = s.version;
        s.merge_top(vec![ex(7), ex(6)], Some("t6".into()));
        assert_eq!(s.version, v, "nothing new, no new version");
    }

    #[test]
    fn a_top_that_does_not_reach_the_known_items_is_a_gap() {
        let mut s = Scan::default();
        s.restart(vec![ex(2), ex(1)], Some("t1".into()));
        assert_eq!(s.merge_top(vec![ex(9), ex(8)], Some("t8".into())), Merged::Gap);
        assert_eq!(ids(&s), ["e2", "e1"], "unchanged until the caller lists more or starts over");
        s.restart(vec![ex(9), ex(8)], Some("t8".into()));
        assert_eq!(ids(&s), ["e9", "e8"]);
    }

    #[test]
    fn scanning_down_ends_at_the_end_or_the_cap() {
        let mut s = Scan::default();
        s.restart(vec![ex(9)], Some("a".into()));
        s.extend(vec![ex(8), ex(9)], Some("b".into()));
        assert_eq!(ids(&s), ["e9", "e8"], "an item listed twice (new ones pushed it down) is kept once");
        assert!(s.can_go_on());
        s.extend(vec![ex(7)], None);
        assert!(s.complete && !s.can_go_on());
        let mut big = Scan::default();
        big.restart((0..MAX_SCANNED as u32 - 1).rev().map(ex).collect(), Some("x".into()));
        big.extend(vec![ex(1_000_001), ex(1_000_002)], Some("y".into()));
        assert_eq!(big.items.len(), MAX_SCANNED);
        assert!(big.capped && !big.complete && !big.can_go_on());
    }
}
