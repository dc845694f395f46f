//! What the events rule last published of each running execution (kept in the store, so a change is
//! published once however often an execution is advanced).

use std::collections::HashMap;

use crate::state::Execution;

/// An execution's status and each step's (`None`: not started), as last published.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Published {
    pub status: Option<&'static str>,
    pub steps: Vec<Option<&'static str>>,
}

impl Published {
    pub fn of(ex: &Execution) -> Published {
        Published { status: Some(ex.status.as_str()), steps: ex.steps.iter().map(|s| s.phase.wire()).collect() }
    }
}

/// By execution id; an execution is dropped once it has ended.
pub type PublishedStates = HashMap<String, Published>;
