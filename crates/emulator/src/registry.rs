//! The model registry's records: model package groups made with `CreateModelPackageGroup`, versions made
//! with `CreateModelPackage`, and what `UpdateModelPackage` changed (approval, customer metadata) of any
//! version, including those RegisterModel steps made. Versions a pipeline registered are not copied here:
//! they are the steps' jobs (`crate::jobs`), seen through the job index, so what an execution did and what
//! the registry says can never disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::state::{Epoch, Principal};

/// The approval statuses a version can have.
pub const APPROVALS: [&str; 3] = ["Approved", "Rejected", "PendingManualApproval"];

/// A group made with `CreateModelPackageGroup`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub description: Option<String>,
    pub created: Epoch,
    pub created_by: Option<Principal>,
    #[serde(default)]
    pub tags: Value,
}

/// A version made with `CreateModelPackage`: its request as sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Created {
    pub group: String,
    pub version: u32,
    pub input: Value,
    pub created: Epoch,
    pub created_by: Option<Principal>,
}

/// What `UpdateModelPackage` changed of a version.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Update {
    pub approval: Option<String>,
    pub approval_description: Option<String>,
    /// Customer metadata as it now is (added and removed keys applied).
    pub metadata: Option<Map<String, Value>>,
    pub modified: Epoch,
    pub modified_by: Option<Principal>,
}

/// Everything the registry keeps, by lower-cased group name and `group/version` keys.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    pub groups: BTreeMap<String, Group>,
    pub created: BTreeMap<String, Created>,
    pub updates: BTreeMap<String, Update>,
}

/// The key of a version: `<group lower-cased>/<version>`.
pub fn key(group: &str, version: u32) -> String {
    format!("{}/{version}", group.to_lowercase())
}

/// A version as the service describes it at a moment, from whichever record made it.
#[derive(Clone, Debug)]
pub struct Package {
    pub group: String,
    pub version: u32,
    /// `InProgress`, `Completed` or `Failed`.
    pub status: &'static str,
    pub approval: String,
    pub approval_description: Option<String>,
    pub created: Epoch,
    pub created_by: Option<Principal>,
    pub modified: Epoch,
    pub modified_by: Option<Principal>,
    /// The execution that registered it.
    pub generated_by: Option<String>,
    /// The request (or the RegisterModel step's evaluated arguments): its specification, metrics, metadata.
    pub input: Value,
}

impl Package {
    pub fn key(&self) -> String {
        key(&self.group, self.version)
    }

    /// With what `UpdateModelPackage` changed applied.
    pub fn updated(mut self, u: Option<&Update>) -> Package {
        let Some(u) = u else { return self };
        if let Some(a) = &u.approval {
            self.approval = a.clone();
        }
        if u.approval_description.is_some() {
            self.approval_description = u.approval_description.clone();
        }
        if let Some(m) = &u.metadata {
            self.input["CustomerMetadataProperties"] = Value::Object(m.clone());
        }
        self.modified = u.modified;
        self.modified_by = u.modified_by.clone();
        self
    }

    /// The customer metadata as it is now.
    pub fn metadata(&self) -> Map<String, Value> {
        self.input.get("CustomerMetadataProperties").and_then(Value::as_object).cloned().unwrap_or_default()
    }
}

/// The approval status a request or a step's arguments give, defaulting as the service does: a version
/// registered without one waits for a person.
pub fn approval_of(input: &Value) -> String {
    input
        .get("ModelApprovalStatus")
        .and_then(Value::as_str)
        .filter(|s| APPROVALS.contains(s))
        .unwrap_or("PendingManualApproval")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_changes_approval_and_metadata_and_keeps_the_rest() {
        let p = Package {
            group: "Abalone".into(),
            version: 2,
            status: "Completed",
            approval: approval_of(&json!({})),
            approval_description: None,
            created: 10.0,
            created_by: None,
            modified: 10.0,
            modified_by: None,
            generated_by: Some("arn:x".into()),
            input: json!({"CustomerMetadataProperties": {"a": "1"}, "ModelPackageDescription": "d"}),
        };
        assert_eq!(p.approval, "PendingManualApproval");
        assert_eq!(p.key(), "abalone/2");
        let mut m = Map::new();
        m.insert("b".into(), json!("2"));
        let u = Update {
            approval: Some("Rejected".into()),
            approval_description: Some("worse than v1".into()),
            metadata: Some(m),
            modified: 20.0,
            modified_by: None,
        };
        let p = p.updated(Some(&u));
        assert_eq!((p.approval.as_str(), p.approval_description.as_deref()), ("Rejected", Some("worse than v1")));
        assert_eq!(p.metadata().keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(p.input["ModelPackageDescription"], "d");
        assert_eq!(p.modified, 20.0);
        assert_eq!(approval_of(&json!({"ModelApprovalStatus": "Approved"})), "Approved");
        assert_eq!(approval_of(&json!({"ModelApprovalStatus": "Bogus"})), "PendingManualApproval");
    }
}
