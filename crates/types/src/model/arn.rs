//! ARNs, ids and names: what an ARN or a pasted text names, and pipeline names as SageMaker compares them.

/// A pipeline's name as SageMaker compares names: without regard to case (`Abalone` and `abalone` are one
/// pipeline, and an execution's ARN carries the name lower-cased). Every map of pipelines is keyed by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PipelineKey(String);

impl PipelineKey {
    pub fn of(name: &str) -> PipelineKey {
        PipelineKey(name.to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PipelineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The 12-character id at the end of an execution ARN.
pub fn execution_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The pipeline name inside a pipeline or execution ARN.
pub fn pipeline_of_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":pipeline/")?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// What a pasted text names: a pipeline, an execution, or a search term. Used by the search box so a
/// pasted ARN goes straight to its canonical page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Pipeline(String),
    Execution { pipeline: String, id: String },
    Search(String),
}

pub fn classify(text: &str) -> Lookup {
    let t = text.trim();
    if let Some((_, rest)) = t.split_once(":pipeline/") {
        let mut parts = rest.split('/');
        let pipeline = parts.next().unwrap_or_default().to_string();
        match (parts.next(), parts.next()) {
            (Some("execution"), Some(id)) if !id.is_empty() && !pipeline.is_empty() => {
                return Lookup::Execution { pipeline, id: id.to_string() }
            }
            _ if !pipeline.is_empty() => return Lookup::Pipeline(pipeline),
            _ => {}
        }
    }
    Lookup::Search(t.to_string())
}

/// Pipeline names as the API allows them (plus a little slack), so hostile paths never reach upstream.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Execution ids: 12 lower-case letters and digits on the service (emulators may differ slightly).
pub fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric())
}
