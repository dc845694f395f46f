//! `/inbox`: everything that waits for a person, across every account and region Stepline shows —
//! callback steps waiting for an answer, and model versions waiting for approval.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stepline_definition::ParameterType;

use crate::base::PlaceLink;
use crate::model::access::Me;
use crate::model::registry::VersionSummary;

/// A callback step waiting for its answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitingCallback {
    /// The pipeline as created (its execution's page is under this name).
    pub pipeline: String,
    pub execution_arn: String,
    pub execution_id: String,
    pub execution_name: Option<String>,
    pub step: String,
    pub step_display: Option<String>,
    /// When the step started waiting.
    pub since: Option<DateTime<Utc>>,
    /// The outputs the step declares: what an approval sends back.
    pub outputs: Vec<(String, ParameterType)>,
    /// Whether the reader may answer it (an operator of the pipeline).
    pub may_answer: bool,
}

/// A model version waiting for a reviewer's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingVersion {
    pub version: VersionSummary,
    pub description: Option<String>,
    pub created_by: Option<String>,
    /// The pipeline and execution id that registered it, when one did.
    pub registered_by: Option<(String, String)>,
    /// Whether the reader may approve or reject it.
    pub may_decide: bool,
}

/// What waits in one account and region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxPlace {
    pub place: PlaceLink,
    pub callbacks: Vec<WaitingCallback>,
    pub versions: Vec<PendingVersion>,
    /// When this was read from SageMaker (`None`: not yet).
    pub as_of: Option<DateTime<Utc>>,
    /// Why it may be out of date or incomplete.
    pub problem: Option<String>,
}

impl InboxPlace {
    pub fn count(&self) -> usize {
        self.callbacks.len() + self.versions.len()
    }
}

/// The whole inbox: one section per place, the page's own first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxPage {
    pub places: Vec<InboxPlace>,
    pub me: Me,
}

impl InboxPage {
    pub fn count(&self) -> usize {
        self.places.iter().map(InboxPlace::count).sum()
    }
}

/// Where a decision made from the inbox sends the person back: the inbox, or the thing's own page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Back {
    #[default]
    Page,
    Inbox,
}

impl Back {
    /// From a form's field: anything but "inbox" is the thing's own page (a form never names a URL, so
    /// it cannot send anyone elsewhere).
    pub fn of(field: Option<&str>) -> Back {
        field.and_then(|f| f.parse().ok()).unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How long something has waited, in words ("3 min", "2 h 5 min", "4 d 1 h").
pub fn waited(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, h) => format!("{h} h {mins} min"),
        (d, h) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_reads_in_the_largest_units() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(waited(t0, t0), "0 min");
        assert_eq!(waited(t0, t0 + chrono::Duration::minutes(59)), "59 min");
        assert_eq!(waited(t0, t0 + chrono::Duration::minutes(125)), "2 h 5 min");
        assert_eq!(waited(t0, t0 + chrono::Duration::minutes(4 * 1440 + 61)), "4 d 1 h");
        // A clock behind the step's start is not a negative wait.
        assert_eq!(waited(t0, t0 - chrono::Duration::minutes(3)), "0 min");
    }

    #[test]
    fn only_the_inbox_is_a_way_back_other_than_the_page() {
        assert_eq!(Back::of(Some("inbox")), Back::Inbox);
        assert_eq!(Back::of(Some("https://evil.example/")), Back::Page);
        assert_eq!(Back::of(None), Back::Page);
    }
}
