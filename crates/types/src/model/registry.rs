//! The model registry as the dashboard shows it: model package groups, their versions with where each came
//! from (the execution that registered it) and how good it is (its training job's final metrics), and a
//! reviewer's decision on a version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::jobs::Metric;

/// A version's approval status.
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
)]
pub enum Approval {
    Approved,
    Rejected,
    PendingManualApproval,
}

impl Approval {
    pub fn label(self) -> &'static str {
        match self {
            Approval::Approved => "Approved",
            Approval::Rejected => "Rejected",
            Approval::PendingManualApproval => "Pending approval",
        }
    }

    /// The status badge's tone.
    pub fn tone(self) -> &'static str {
        match self {
            Approval::Approved => "ok",
            Approval::Rejected => "bad",
            Approval::PendingManualApproval => "warn",
        }
    }
}

/// A model package group, with what the list shows of its newest version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelGroup {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub created: Option<DateTime<Utc>>,
}

/// A version as the registry lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionSummary {
    pub arn: String,
    pub group: String,
    pub version: i64,
    pub approval: Approval,
    pub status: String,
    pub created: Option<DateTime<Utc>>,
}

/// A version described.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub summary: VersionSummary,
    pub description: Option<String>,
    pub approval_description: Option<String>,
    pub created_by: Option<String>,
    pub modified: Option<DateTime<Utc>>,
    pub modified_by: Option<String>,
    /// The execution that registered it (`MetadataProperties.GeneratedBy`), when a pipeline did.
    pub generated_by: Option<String>,
    pub image: Option<String>,
    pub model_data: Option<String>,
    pub customer_metadata: Vec<(String, String)>,
    /// The model package's own `ModelMetrics` reports: (kind, S3 location).
    pub metrics_locations: Vec<(String, String)>,
}

impl ModelVersion {
    /// The pipeline (as its ARN names it) and execution id of the execution that registered it.
    pub fn registered_by(&self) -> Option<(String, String)> {
        let arn = self.generated_by.as_deref()?;
        let pipeline = super::pipeline_of_arn(arn)?;
        arn.contains("/execution/").then(|| (pipeline.to_string(), super::execution_id(arn).to_string()))
    }
}

/// A version with what the page adds: the final metrics of the training job that produced it, and whether
/// the reader may decide on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionView {
    pub version: ModelVersion,
    /// The training step's job and its final metrics (none when no training step ran in that execution).
    pub training_job: Option<String>,
    pub metrics: Vec<Metric>,
    /// The parameters the registering execution ran with.
    #[serde(default)]
    pub parameters: Vec<super::NameValue>,
    pub may_decide: bool,
}

/// The rows of a side-by-side table: each name any column has, with each column's value (`None` where it
/// has none), and whether the columns differ; names in order.
pub fn side_by_side<'a>(columns: &[Vec<(&'a str, String)>]) -> Vec<(&'a str, Vec<Option<String>>, bool)> {
    let mut names: Vec<&str> = columns.iter().flat_map(|c| c.iter().map(|(n, _)| *n)).collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let cells: Vec<Option<String>> =
                columns.iter().map(|c| c.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())).collect();
            let differ = cells.windows(2).any(|w| w[0] != w[1]);
            (name, cells, differ)
        })
        .collect()
}

/// A reviewer's decision on a pending (or any) version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::EnumString, strum::Display)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Verdict {
    Approve,
    Reject,
}

impl Verdict {
    pub fn approval(self) -> Approval {
        match self {
            Verdict::Approve => Approval::Approved,
            Verdict::Reject => Approval::Rejected,
        }
    }

    /// A rejection says why (the team reads it next to the version); an approval may.
    pub fn check_comment(self, comment: &str) -> Result<(), String> {
        if comment.chars().count() > 1024 {
            return Err("The comment is longer than 1,024 characters.".into());
        }
        if self == Verdict::Reject && comment.trim().is_empty() {
            return Err("Say why the version is rejected: the comment is required.".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_rows_cover_every_name_and_mark_differences() {
        let a = vec![("MseThreshold", "6.0".to_string()), ("Instance", "ml.m5.xlarge".to_string())];
        let b = vec![
            ("MseThreshold", "7.0".to_string()),
            ("Instance", "ml.m5.xlarge".to_string()),
            ("Extra", "x".to_string()),
        ];
        let rows = side_by_side(&[a, b]);
        let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
        assert_eq!(names, ["Extra", "Instance", "MseThreshold"]);
        assert_eq!(rows[0].1, vec![None, Some("x".to_string())]);
        assert!(rows[0].2 && !rows[1].2 && rows[2].2);
    }

    #[test]
    fn a_rejection_needs_a_reason_and_an_approval_does_not() {
        assert!(Verdict::Reject.check_comment("  ").unwrap_err().contains("required"));
        assert!(Verdict::Approve.check_comment("").is_ok());
        assert!(Verdict::Reject.check_comment(&"x".repeat(1025)).is_err());
        assert_eq!("reject".parse::<Verdict>().unwrap().approval(), Approval::Rejected);
    }

    #[test]
    fn the_registering_execution_is_read_from_generated_by() {
        let v = ModelVersion {
            summary: VersionSummary {
                arn: "arn:aws:sagemaker:us-east-1:1:model-package/g/1".into(),
                group: "g".into(),
                version: 1,
                approval: Approval::PendingManualApproval,
                status: "Completed".into(),
                created: None,
            },
            description: None,
            approval_description: None,
            created_by: None,
            modified: None,
            modified_by: None,
            generated_by: Some("arn:aws:sagemaker:us-east-1:1:pipeline/abalone/execution/abc123".into()),
            image: None,
            model_data: None,
            customer_metadata: vec![],
            metrics_locations: vec![],
        };
        assert_eq!(v.registered_by(), Some(("abalone".into(), "abc123".into())));
        let by_hand = ModelVersion { generated_by: Some("someone".into()), ..v };
        assert_eq!(by_hand.registered_by(), None);
    }
}
