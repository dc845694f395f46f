//! The activity log's records and filters, shared by the server (which writes and queries them) and the
//! activity page, the execution page's history and the lists' "Started by" column.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What was done (or tried).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Action {
    Start,
    /// A start that selects steps of a source execution (selective execution).
    Rerun,
    Stop,
    Retry,
    Approve,
    Reject,
    Login,
    Logout,
    /// A test message sent to a notification channel.
    Notify,
    /// The notification settings file changed and was read again (rules, channels).
    NotifyRules,
    /// A person subscribed to a pipeline's or an execution's notifications.
    Subscribe,
    /// A person removed one of their subscriptions.
    Unsubscribe,
    /// A model version approved in the registry.
    ApproveModel,
    /// A model version rejected in the registry.
    RejectModel,
}

impl Action {
    pub fn all() -> impl Iterator<Item = Action> {
        <Action as strum::IntoEnumIterator>::iter()
    }

    /// As the activity log and its filter write it.
    pub fn label(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Action> {
        s.parse().ok()
    }

    /// "started", "stopped"…: for the execution page's history.
    pub fn past(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Rerun => "re-ran steps into",
            Action::Stop => "stopped",
            Action::Retry => "retried",
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Login => "logged in",
            Action::Logout => "logged out",
            Action::Notify => "sent a test notification",
            Action::NotifyRules => "re-read the notification rules",
            Action::Subscribe => "subscribed to notifications of",
            Action::Unsubscribe => "unsubscribed from notifications of",
            Action::ApproveModel => "approved a model version of",
            Action::RejectModel => "rejected a model version of",
        }
    }
}

/// How it ended.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Outcome {
    /// SageMaker accepted it (or the login succeeded).
    Done,
    /// SageMaker refused it or did not answer: `error_code` says why.
    Refused,
    /// Stepline refused it: no role for it, or a cross-site request.
    Denied,
    /// The request itself was wrong (a form with problems).
    Invalid,
}

impl Outcome {
    pub fn all() -> impl Iterator<Item = Outcome> {
        <Outcome as strum::IntoEnumIterator>::iter()
    }

    pub fn label(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        s.parse().ok()
    }
}

/// One record of the activity log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user: String,
    /// The role the user had for it ("" when they had none).
    pub role: String,
    pub action: Action,
    pub outcome: Outcome,
    pub pipeline: Option<String>,
    pub execution_arn: Option<String>,
    pub request_id: String,
    /// SageMaker's error code, or Stepline's reason code (`AccessDenied`, `CrossSite`, `InvalidInput`).
    pub error_code: Option<String>,
    /// What was sent: parameters, the selected steps, outputs or reason (never a token).
    pub detail: serde_json::Value,
}

impl Entry {
    /// The execution's id (the ARN's last segment).
    pub fn execution_id(&self) -> Option<&str> {
        self.execution_arn.as_deref().and_then(|a| a.rsplit('/').next())
    }
}

/// A filter of the activity log, as it stands in `/activity?…`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    pub user: Option<String>,
    pub pipeline: Option<String>,
    pub action: Option<Action>,
    pub outcome: Option<Outcome>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Records older than this id (the next page).
    pub before: Option<i64>,
}

impl Filter {
    /// Read from URL pairs; a value that does not parse is reported by the caller's `problems`.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Filter, Vec<String>) {
        let mut f = Filter::default();
        let mut problems = vec![];
        let text = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
        for (k, v) in pairs {
            match k {
                "user" => f.user = text(v),
                "pipeline" => f.pipeline = text(v),
                "action" if !v.is_empty() => match Action::parse(v) {
                    Some(a) => f.action = Some(a),
                    None => problems.push(format!(
                        "action: '{}' is not one of start, rerun, stop, retry, approve, reject, login, logout",
                        crate::text::clip(v, 30)
                    )),
                },
                "outcome" if !v.is_empty() => match Outcome::parse(v) {
                    Some(o) => f.outcome = Some(o),
                    None => problems.push(format!(
                        "outcome: '{}' is not one of done, refused, denied, invalid",
                        crate::text::clip(v, 30)
                    )),
                },
                "from" | "to" if !v.trim().is_empty() => match crate::layout::timefmt::parse_when(k, v) {
                    Ok(t) if k == "from" => f.from = Some(t),
                    Ok(t) => f.to = Some(t),
                    Err(e) => problems.push(e),
                },
                "before" if !v.is_empty() => match v.parse::<i64>() {
                    Ok(id) if id > 0 => f.before = Some(id),
                    _ => problems.push(format!("before: '{}' is not a record number", crate::text::clip(v, 30))),
                },
                _ => {}
            }
        }
        (f, problems)
    }

    /// The query string of this filter (without `before`), for links and exports.
    pub fn query(&self) -> String {
        let enc = crate::model::links::seg;
        let mut parts = vec![];
        if let Some(u) = &self.user {
            parts.push(format!("user={}", enc(u)));
        }
        if let Some(p) = &self.pipeline {
            parts.push(format!("pipeline={}", enc(p)));
        }
        if let Some(a) = self.action {
            parts.push(format!("action={}", a.label()));
        }
        if let Some(o) = self.outcome {
            parts.push(format!("outcome={}", o.label()));
        }
        if let Some(t) = self.from {
            parts.push(format!("from={}", enc(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={}", enc(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))));
        }
        parts.join("&")
    }
}

/// A page of the activity log, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// The `before` of the next (older) page, when there is one.
    pub next: Option<i64>,
    /// Whether the reader sees everything (admin) or only the pipelines they may read and their own.
    pub everything: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_trip_and_name_bad_values() {
        let (f, problems) = Filter::from_pairs([
            ("user", "ana@example.com"),
            ("action", "stop"),
            ("outcome", "denied"),
            ("from", "2026-11-01"),
            ("before", "42"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(f.action, Some(Action::Stop));
        assert_eq!(f.before, Some(42));
        let q = f.query();
        assert_eq!(q, "user=ana%40example.com&action=stop&outcome=denied&from=2026-11-01T00%3A00%3A00Z");
        let (_, problems) = Filter::from_pairs([("action", "<script>"), ("before", "-1"), ("to", "soon")]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("action: '<script>'"));
    }
}
