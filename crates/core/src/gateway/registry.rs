//! The model registry's calls: ListModelPackageGroups, ListModelPackages, DescribeModelPackage (a version
//! with where it came from) and UpdateModelPackage (a reviewer's decision, made as the person).

use super::{owned, time, upstream, who, Gateway};
use aws_sdk_sagemaker::types as aws;
use stepline_types::model::registry::{Approval, ModelGroup, ModelVersion, VersionSummary};
use stepline_types::model::Upstream;

fn approval(a: Option<&aws::ModelApprovalStatus>) -> Approval {
    match a {
        Some(aws::ModelApprovalStatus::Approved) => Approval::Approved,
        Some(aws::ModelApprovalStatus::Rejected) => Approval::Rejected,
        _ => Approval::PendingManualApproval,
    }
}

/// A listed version (`group` when the listing does not name it).
fn summary(p: &aws::ModelPackageSummary, group: &str) -> VersionSummary {
    VersionSummary {
        arn: p.model_package_arn().unwrap_or_default().to_string(),
        group: p.model_package_group_name().unwrap_or(group).to_string(),
        version: p.model_package_version().unwrap_or_default() as i64,
        approval: approval(p.model_approval_status()),
        status: p.model_package_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        created: time(p.creation_time()),
    }
}

impl Gateway {
    /// Every model package group (all pages), newest first.
    pub async fn model_groups(&self) -> Result<Vec<ModelGroup>, Upstream> {
        let request = self.client.list_model_package_groups().sort_order(aws::SortOrder::Descending);
        let items = all_items!(self, request, "ListModelPackageGroups", model_package_group_summary_list)?;
        Ok(items
            .iter()
            .map(|g| ModelGroup {
                name: g.model_package_group_name().unwrap_or_default().to_string(),
                arn: g.model_package_group_arn().unwrap_or_default().to_string(),
                description: owned(g.model_package_group_description()),
                created: time(g.creation_time()),
            })
            .collect())
    }

    /// A group, described (its name as created, its description).
    pub async fn model_group(&self, name: &str) -> Result<ModelGroup, Upstream> {
        let request = self.client.describe_model_package_group().model_package_group_name(name);
        let d = self.call("DescribeModelPackageGroup", request.send()).await?;
        Ok(ModelGroup {
            name: d.model_package_group_name().unwrap_or(name).to_string(),
            arn: d.model_package_group_arn().unwrap_or_default().to_string(),
            description: owned(d.model_package_group_description()),
            created: time(d.creation_time()),
        })
    }

    /// A group's tags (for grants naming groups by tags): DescribeModelPackageGroup for its ARN, ListTags.
    pub async fn model_group_tags(&self, group: &str) -> Result<Vec<(String, String)>, Upstream> {
        let arn = self.model_group(group).await?.arn;
        let tags = all_items!(self, self.client.list_tags().resource_arn(&arn), "ListTags", tags)?;
        Ok(tags
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect())
    }

    /// Every version of a group (all pages), newest first.
    pub async fn model_versions(&self, group: &str) -> Result<Vec<VersionSummary>, Upstream> {
        let request = self
            .client
            .list_model_packages()
            .model_package_group_name(group)
            .sort_by(aws::ModelPackageSortBy::CreationTime)
            .sort_order(aws::SortOrder::Descending);
        let items = all_items!(self, request, "ListModelPackages", model_package_summary_list)?;
        let mut out: Vec<VersionSummary> = items.iter().map(|p| summary(p, group)).collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.version));
        Ok(out)
    }

    /// Every version waiting for approval, in every group (all pages: one call per 100), newest first.
    pub async fn pending_versions(&self) -> Result<Vec<VersionSummary>, Upstream> {
        let request = self
            .client
            .list_model_packages()
            .model_package_type(aws::ModelPackageType::Versioned)
            .model_approval_status(aws::ModelApprovalStatus::PendingManualApproval)
            .sort_by(aws::ModelPackageSortBy::CreationTime)
            .sort_order(aws::SortOrder::Descending);
        let items = all_items!(self, request, "ListModelPackages", model_package_summary_list)?;
        Ok(items.iter().map(|p| summary(p, "")).collect())
    }

    /// A version, described.
    pub async fn model_version(&self, arn: &str) -> Result<ModelVersion, Upstream> {
        let request = self.client.describe_model_package().model_package_name(arn);
        let d = self.call("DescribeModelPackage", request.send()).await?;
        let container = d.inference_specification().and_then(|s| s.containers().first());
        let mut metrics_locations = vec![];
        if let Some(m) = d.model_metrics() {
            let mut add = |kind: &str, uri: Option<&str>| {
                if let Some(u) = uri {
                    metrics_locations.push((kind.to_string(), u.to_string()));
                }
            };
            if let Some(q) = m.model_quality() {
                add("model quality: statistics", q.statistics().and_then(|s| s.s3_uri()));
                add("model quality: constraints", q.constraints().and_then(|s| s.s3_uri()));
            }
            if let Some(q) = m.model_data_quality() {
                add("data quality: statistics", q.statistics().and_then(|s| s.s3_uri()));
                add("data quality: constraints", q.constraints().and_then(|s| s.s3_uri()));
            }
            if let Some(b) = m.bias() {
                add("bias: report", b.report().and_then(|s| s.s3_uri()));
            }
            if let Some(e) = m.explainability() {
                add("explainability: report", e.report().and_then(|s| s.s3_uri()));
            }
        }
        let mut customer_metadata: Vec<(String, String)> = d
            .customer_metadata_properties()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        customer_metadata.sort();
        Ok(ModelVersion {
            summary: VersionSummary {
                arn: d.model_package_arn().unwrap_or(arn).to_string(),
                group: d.model_package_group_name().unwrap_or_default().to_string(),
                version: d.model_package_version().unwrap_or_default() as i64,
                approval: approval(d.model_approval_status()),
                status: d.model_package_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                created: time(d.creation_time()),
            },
            description: owned(d.model_package_description()),
            approval_description: owned(d.approval_description()),
            created_by: who(d.created_by()),
            modified: time(d.last_modified_time()),
            modified_by: who(d.last_modified_by()),
            generated_by: d.metadata_properties().and_then(|m| owned(m.generated_by())),
            image: container.and_then(|c| owned(c.image())),
            model_data: container.and_then(|c| owned(c.model_data_url())),
            customer_metadata,
            metrics_locations,
        })
    }

    /// Approve or reject a version, with the reviewer's words; made as the person (`--act-role`).
    pub async fn decide_model(&self, arn: &str, to: Approval, comment: &str) -> Result<(), Upstream> {
        let status = match to {
            Approval::Approved => aws::ModelApprovalStatus::Approved,
            Approval::Rejected => aws::ModelApprovalStatus::Rejected,
            Approval::PendingManualApproval => aws::ModelApprovalStatus::PendingManualApproval,
        };
        let mut req = self.client.update_model_package().model_package_arn(arn).model_approval_status(status);
        if !comment.trim().is_empty() {
            req = req.approval_description(comment.trim());
        }
        act!(self, req, "UpdateModelPackage").map(|_| ())
    }
}
