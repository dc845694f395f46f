//! Who is looking and what they may do: shared by the server (which decides) and the pages (which show
//! disabled buttons with the reason). The server refuses what a page would not offer anyway.

use serde::{Deserialize, Serialize};

/// What a person may do with a pipeline; each role includes those before it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    /// Read executions, steps and logs.
    Viewer,
    /// Start, stop, retry, re-run, approve and reject.
    Operator,
    /// Operator everywhere, and the whole activity log.
    Admin,
}

impl Role {
    pub fn label(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Role> {
        s.parse().ok()
    }
}

/// The person a page is rendered for, and their role on the page's pipeline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: String,
    /// On the page's pipeline, or everywhere outside a pipeline's pages.
    pub role: Option<Role>,
    /// Logged in through Stepline's own login (so "Log out" is offered).
    pub can_log_out: bool,
    /// Whom to ask for access (the policy's `contact`).
    pub contact: Option<String>,
}

impl Me {
    pub fn may_operate(&self) -> bool {
        self.role.is_some_and(|r| r >= Role::Operator)
    }

    /// Why an action's button is disabled, or `None` when it is not.
    pub fn cannot_operate(&self) -> Option<String> {
        if self.may_operate() {
            return None;
        }
        let ask = self.contact.as_deref().map(|c| format!(" Ask {c} for the operator role.")).unwrap_or_default();
        Some(format!("You ({}) are a viewer of this pipeline: starting, stopping, retrying and answering need the operator role.{ask}", self.user))
    }
}
