//! Canonical links. Every row of every table is a real link built here.

// Which names and ids are well-formed is the ARNs' business; links check with them.
pub use super::arn::{valid_id, valid_name};

/// What a path segment keeps as it is: letters, digits and `-_.` (pipeline names are `[a-zA-Z0-9-]`, but
/// links must survive anything).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Percent-encode a path segment.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// A model package group's page in the registry.
pub fn model_group(name: &str) -> String {
    crate::base::href(&format!("/models/{}", seg(name)))
}

/// A pipeline's page, under the base path (see `crate::base`), as every link below.
pub fn pipeline(name: &str) -> String {
    crate::base::href(&format!("/pipelines/{}", seg(name)))
}

pub fn execution(pipeline: &str, id: &str) -> String {
    crate::base::href(&format!("/pipelines/{}/executions/{}", seg(pipeline), seg(id)))
}

/// An execution's definition against the pipeline's latest.
pub fn definition(pipeline: &str, id: &str) -> String {
    format!("{}/definition", execution(pipeline, id))
}

/// An execution's definition against another execution's of the same pipeline, line by line.
pub fn definition_against(pipeline: &str, id: &str, against: &str) -> String {
    format!("{}?against={}", definition(pipeline, id), seg(against))
}

/// Executions of a pipeline side by side (`ids` in order; the first is what the others are compared with).
pub fn compare(pipeline: &str, ids: &[&str]) -> String {
    let query: Vec<String> = ids.iter().map(|id| format!("e={}", seg(id))).collect();
    crate::base::href(&format!("/pipelines/{}/compare?{}", seg(pipeline), query.join("&")))
}

/// An execution compared with the previous one or the newest successful one before it.
pub fn compare_against(pipeline: &str, id: &str, against: crate::compare::Against) -> String {
    let against: &'static str = against.into();
    crate::base::href(&format!("/pipelines/{}/compare?e={}&against={against}", seg(pipeline), seg(id)))
}

/// Pasted execution ARNs of one pipeline side by side, in their account and region (see
/// `crate::compare::pasted`).
pub fn compare_arns(text: &str) -> Option<String> {
    let (first, pipeline, ids) = crate::compare::pasted(text)?;
    let query: Vec<String> = ids.iter().map(|id| format!("e={}", seg(id))).collect();
    Some(in_place_of(&first, &format!("/pipelines/{}/compare?{}", seg(&pipeline), query.join("&"))))
}

/// The execution page for an execution ARN, in the ARN's account and region when pages carry them.
pub fn execution_arn(arn: &str) -> Option<String> {
    let pipeline = super::pipeline_of_arn(arn)?;
    Some(in_place_of(arn, &format!("/pipelines/{}/executions/{}", seg(pipeline), seg(super::execution_id(arn)))))
}

/// A pipeline's page for a pipeline (or execution) ARN, in the ARN's account and region.
pub fn pipeline_arn(arn: &str) -> Option<String> {
    let pipeline = super::pipeline_of_arn(arn)?;
    Some(in_place_of(arn, &format!("/pipelines/{}", seg(pipeline))))
}

/// A pipeline's page in the account and region of one of its ARNs (its name as given, not the ARN's).
pub fn pipeline_in_place_of(arn: &str, name: &str) -> String {
    in_place_of(arn, &format!("/pipelines/{}", seg(name)))
}

/// An app path under the page base of an ARN's place (see `crate::base::for_arn`).
fn in_place_of(arn: &str, path: &str) -> String {
    crate::base::href_in(&crate::base::for_arn(arn), path)
}

/// The execution page for an execution ARN of a pipeline whose name is known: ARNs carry the name
/// lower-cased, links use it as it was created.
pub fn execution_arn_of(pipeline: &str, arn: &str) -> Option<String> {
    let in_arn = super::pipeline_of_arn(arn)?;
    let name = if in_arn.eq_ignore_ascii_case(pipeline) { pipeline } else { in_arn };
    Some(in_place_of(arn, &format!("/pipelines/{}/executions/{}", seg(name), seg(super::execution_id(arn)))))
}
