//! Personal subscriptions: what one person asked to be told about — a pipeline they watch, or an execution
//! whose end they wait for — and where: their own e-mail address or a webhook of theirs. Team rules live in
//! the settings file; these are made on the pages and kept in the database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::notify::EventKind;

/// Where a person's own messages go.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum PersonalTarget {
    /// The person's own address (their user name, when it is one).
    Email,
    /// Stepline's JSON, signed with the subscription's own secret.
    Webhook,
    /// A Slack incoming webhook of theirs (a Block Kit message).
    Slack,
    /// A Teams Workflows webhook of theirs (an Adaptive Card).
    Teams,
}

impl PersonalTarget {
    pub fn label(self) -> &'static str {
        match self {
            PersonalTarget::Email => "my e-mail",
            PersonalTarget::Webhook => "a webhook (Stepline's JSON, signed)",
            PersonalTarget::Slack => "a Slack webhook",
            PersonalTarget::Teams => "a Teams webhook",
        }
    }
}

/// What watching a pipeline tells: a choice of three, so the form is one select.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Watch {
    /// Failed, stopped, recovered.
    Failures,
    /// The failures, and a callback step waiting for an answer.
    FailuresAndApprovals,
    /// Every execution's end, the approvals and retries.
    Everything,
}

impl Watch {
    pub fn events(self) -> Vec<EventKind> {
        use EventKind::*;
        match self {
            Watch::Failures => vec![Failed, Stopped, Recovered],
            Watch::FailuresAndApprovals => vec![Failed, Stopped, Recovered, Waiting],
            Watch::Everything => vec![Failed, Stopped, Succeeded, Recovered, Waiting, Retried],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Watch::Failures => "when an execution fails, is stopped or recovers",
            Watch::FailuresAndApprovals => "…and when a step waits for an approval",
            Watch::Everything => "every execution's end, approvals and retries",
        }
    }
}

/// The events of "tell me when this execution ends".
pub fn end_events() -> Vec<EventKind> {
    vec![EventKind::Failed, EventKind::Stopped, EventKind::Succeeded]
}

/// A subscription as its owner (or an admin) sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: i64,
    pub owner: String,
    /// The place's key ("" with one place, else `/{account}/{region}`).
    pub place: String,
    pub pipeline: String,
    /// One execution's end (its id), else the whole pipeline.
    pub execution_id: Option<String>,
    pub events: Vec<EventKind>,
    pub target: PersonalTarget,
    /// The e-mail address, or the webhook's URL cut after its host (the rest may be its token).
    pub address: String,
    /// A webhook's signing secret: shown to its owner only, who needs it to check the signature.
    pub secret: Option<String>,
    pub created: DateTime<Utc>,
    /// An execution's subscription ends when its end was told.
    pub ended: Option<DateTime<Utc>>,
}

impl Subscription {
    /// "Watching AbalonePipeline", "The end of execution 1a2b…".
    pub fn what(&self) -> String {
        match &self.execution_id {
            Some(id) => format!("the end of {} execution {id}", self.pipeline),
            None => format!(
                "{}: {}",
                self.pipeline,
                self.events.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// What a person may subscribe with here: their own address when they have one and personal e-mail is on,
/// and the webhook addresses the settings allow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonalOptions {
    /// Notifications are on at all.
    pub enabled: bool,
    pub email: Option<String>,
    /// The URL prefixes a personal webhook must start with (none: no personal webhooks).
    pub webhook_prefixes: Vec<String>,
    /// The person's subscriptions to this pipeline (or this execution), to show "watching" and offer removal.
    pub mine: Vec<Subscription>,
}

impl PersonalOptions {
    pub fn targets(&self) -> Vec<PersonalTarget> {
        let mut out = vec![];
        if self.email.is_some() {
            out.push(PersonalTarget::Email);
        }
        if !self.webhook_prefixes.is_empty() {
            out.extend([PersonalTarget::Webhook, PersonalTarget::Slack, PersonalTarget::Teams]);
        }
        out
    }
}

/// The address shown for a webhook: its scheme and host, the rest cut (Slack's and Teams' URLs carry their
/// token in the path).
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "…".into() };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}/…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_shown_without_its_path() {
        assert_eq!(shown_url("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com/…");
        assert_eq!(shown_url("http://127.0.0.1:9/x?token=1"), "http://127.0.0.1:9/…");
        assert_eq!(shown_url("nonsense"), "…");
    }

    #[test]
    fn watching_for_approvals_adds_waiting_to_the_failures() {
        assert!(!Watch::Failures.events().contains(&EventKind::Waiting));
        assert!(Watch::FailuresAndApprovals.events().contains(&EventKind::Waiting));
        assert!(Watch::Everything.events().contains(&EventKind::Succeeded));
        assert_eq!("failures-and-approvals".parse::<Watch>().unwrap(), Watch::FailuresAndApprovals);
    }
}
