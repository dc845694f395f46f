//! Pipeline versions, kept as the other views are: the list for a few seconds (a new version appears only
//! when the pipeline is updated), each version's definition for good (a version never changes).

use std::sync::Arc;
use std::time::Duration;

use super::{DefinitionKey, Watchers};
use crate::stale::Known;
use stepline_types::model::version::PipelineVersion;
use stepline_types::model::PipelineKey;
use stepline_types::model::Upstream;

/// How long a pipeline's list of versions is reused.
pub(super) const VERSIONS_FRESH: Duration = Duration::from_secs(15);

/// A list of versions, or the final answer of an endpoint that does not list them (kept as long as a list
/// would be, so pages do not ask again on every load).
pub type Versions = Result<Vec<PipelineVersion>, Upstream>;

impl Watchers {
    /// Every version of a pipeline, newest first, listed at most every `VERSIONS_FRESH`. A transient
    /// failure is the error (or what was known, with it); a final one is kept as the answer.
    pub async fn versions(&self, pipeline: &str) -> Result<Known<Versions>, Upstream> {
        let fetch = async {
            match self.gateway.list_pipeline_versions(pipeline).await {
                Err(e) if e.is_transient() => Err(e),
                answer => Ok(answer),
            }
        };
        self.versions.get(&PipelineKey::of(pipeline), VERSIONS_FRESH, fetch).await
    }

    /// The definition of a pipeline at version `id`, asked once (the same cache as the definitions
    /// executions run with: an execution of version `id` runs exactly this one).
    pub async fn version_definition(&self, pipeline: &str, id: i64) -> Result<String, Upstream> {
        let key = DefinitionKey::Version(PipelineKey::of(pipeline), id);
        if let Some(d) = self.definitions.get(&key) {
            return Ok(d.to_string());
        }
        let d: Arc<str> = self.gateway.describe_pipeline_version(pipeline, id).await?.definition.into();
        self.definitions.insert(key, d.clone());
        Ok(d.to_string())
    }
}
