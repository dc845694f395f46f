//! Pipeline versions: the list of them (ListPipelineVersions) and the definition at one of them
//! (DescribePipeline with a `PipelineVersionId`).

use super::{owned, time, upstream, Gateway};
use stepline_types::model::version::{PipelineVersion, VersionDefinition};
use stepline_types::model::Upstream;

impl Gateway {
    /// Every version of a pipeline (all pages, each in its own turn of the limiter), newest first.
    pub async fn list_pipeline_versions(&self, name: &str) -> Result<Vec<PipelineVersion>, Upstream> {
        let request = self
            .client
            .list_pipeline_versions()
            .pipeline_name(name)
            .sort_order(aws_sdk_sagemaker::types::SortOrder::Descending);
        let summaries = all_items!(self, request, "ListPipelineVersions", pipeline_version_summaries)?;
        let mut versions: Vec<PipelineVersion> = summaries
            .iter()
            .filter_map(|v| {
                Some(PipelineVersion {
                    id: v.pipeline_version_id()?,
                    created: time(v.creation_time()),
                    display_name: owned(v.pipeline_version_display_name()),
                    description: owned(v.pipeline_version_description()),
                    last_execution_arn: owned(v.last_execution_pipeline_execution_arn()),
                })
            })
            .collect();
        // Newest first whatever order an endpoint lists them in.
        versions.sort_by_key(|v| std::cmp::Reverse(v.id));
        Ok(versions)
    }

    /// A pipeline's definition, display name and description at version `id`.
    pub async fn describe_pipeline_version(&self, name: &str, id: i64) -> Result<VersionDefinition, Upstream> {
        let request = self.client.describe_pipeline().pipeline_name(name).pipeline_version_id(id);
        let d = self.call("DescribePipeline", request.send()).await?;
        Ok(VersionDefinition {
            id,
            definition: d.pipeline_definition().unwrap_or_default().to_string(),
            display_name: owned(d.pipeline_version_display_name()),
            description: owned(d.pipeline_version_description()),
        })
    }
}
