//! Input validation driven by the botocore service model (`crates/definition/pipelines-shapes.json`,
//! compiled in).
//!
//! Rather than hand-writing a check per member, the emulator walks each request against the model the AWS
//! SDKs are generated from, so every required flag, length, pattern, range and enum of all 16 operations is
//! enforced exactly as declared, with the service's message format:
//! `1 validation error detected: Value 'x' at 'pipelineName' failed to satisfy constraint: …`.
//! Type mismatches (a string where a number belongs) are `SerializationException`s, as on the real service.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::error::ApiError;

const MODEL_JSON: &str = stepline_definition::PIPELINES_MODEL;

/// The parts of the botocore model the validator needs.
pub struct Model {
    shapes: HashMap<String, Value>,
    operations: HashMap<String, Operation>,
    patterns: HashMap<String, Regex>,
}

pub struct Operation {
    pub input: Option<String>,
    pub output: Option<String>,
}

/// The model, parsed once per process.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut m = Model::parse(MODEL_JSON).expect("the compiled-in service model is valid");
        // ListTags (a pipeline's tags, which team access reads) comes from SageMaker's model of the tag
        // operations; its shapes join the pipeline operations' where they are not already there.
        let tags = Model::parse(TAGS_MODEL_JSON).expect("the compiled-in tags model is valid");
        for (k, v) in tags.shapes {
            m.shapes.entry(k).or_insert(v);
        }
        m.operations.extend(tags.operations);
        m.patterns.extend(tags.patterns);
        m
    })
}

const TAGS_MODEL_JSON: &str = include_str!("../tags-shapes.json");

/// STS's botocore model (`crates/emulator/sts-shapes.json`: AssumeRole and GetCallerIdentity with the shapes
/// they reach), for `crate::sts`: the same validator gives STS's constraint messages, which have the same form.
pub fn sts_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(STS_MODEL_JSON).expect("the compiled-in STS model is valid"))
}

const STS_MODEL_JSON: &str = include_str!("../sts-shapes.json");

impl Model {
    fn parse(text: &str) -> Result<Model, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let shapes: HashMap<String, Value> = root
            .get("shapes")
            .and_then(Value::as_object)
            .ok_or("model has no shapes")?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let operations = root
            .get("operations")
            .and_then(Value::as_object)
            .ok_or("model has no operations")?
            .iter()
            .map(|(name, op)| {
                let shape = |k: &str| op.get(k).and_then(|s| s.get("shape")).and_then(Value::as_str).map(String::from);
                (name.clone(), Operation { input: shape("input"), output: shape("output") })
            })
            .collect();
        let mut patterns = HashMap::new();
        for shape in shapes.values() {
            if let Some(p) = shape.get("pattern").and_then(Value::as_str) {
                // Model patterns match the whole value.
                let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| format!("pattern {p}: {e}"))?;
                patterns.insert(p.to_string(), re);
            }
        }
        Ok(Model { shapes, operations, patterns })
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    pub fn operation_names(&self) -> impl Iterator<Item = &str> {
        self.operations.keys().map(String::as_str)
    }

    pub fn shape(&self, name: &str) -> Option<&Value> {
        self.shapes.get(name)
    }

    /// Check a request body against the operation's input shape.
    pub fn validate_input(&self, operation: &str, body: &Value) -> Result<(), ApiError> {
        let Some(shape) = self.operation(operation).and_then(|op| op.input.as_deref()) else {
            return Ok(());
        };
        let mut found = Problems::default();
        self.check(shape, body, "", &mut found);
        found.into_result()
    }

    /// Check a response against the operation's output shape; used by the tests to prove every answer
    /// conforms to the model (types, lengths, enums, no nulls).
    pub fn validate_output(&self, operation: &str, body: &Value) -> Result<(), ApiError> {
        let Some(shape) = self.operation(operation).and_then(|op| op.output.as_deref()) else {
            return Ok(());
        };
        let mut found = Problems::default();
        self.check(shape, body, "", &mut found);
        found.into_result()
    }

    fn check(&self, shape_name: &str, value: &Value, path: &str, found: &mut Problems) {
        let Some(shape) = self.shapes.get(shape_name) else { return };
        let kind = shape.get("type").and_then(Value::as_str).unwrap_or("");
        if value.is_null() {
            // Optional members sent as JSON null are treated as absent, as the SDK deserialisers do.
            return;
        }
        match kind {
            "structure" => {
                let Some(obj) = value.as_object() else {
                    return found.serialization(path, "a structure");
                };
                let members = shape.get("members").and_then(Value::as_object);
                for req in shape.get("required").and_then(Value::as_array).into_iter().flatten() {
                    let Some(req) = req.as_str() else { continue };
                    if obj.get(req).is_none_or(Value::is_null) {
                        found.constraint("null".into(), &join(path, req), "Member must not be null");
                    }
                }
                if let Some(members) = members {
                    for (name, member) in obj {
                        if let Some(target) = members.get(name).and_then(|m| m.get("shape")).and_then(Value::as_str) {
                            self.check(target, member, &join(path, name), found);
                        }
                    }
                }
            }
            "list" => {
                let Some(items) = value.as_array() else {
                    return found.serialization(path, "a list");
                };
                self.check_size(shape, items.len(), &render(value), path, found, "length");
                if let Some(member) = shape.get("member").and_then(|m| m.get("shape")).and_then(Value::as_str) {
                    for (i, item) in items.iter().enumerate() {
                        self.check(member, item, &format!("{path}.{}.member", i + 1), found);
                    }
                }
            }
            "map" => {
                let Some(entries) = value.as_object() else {
                    return found.serialization(path, "a map");
                };
                self.check_size(shape, entries.len(), &render(value), path, found, "length");
                if let Some(v) = shape.get("value").and_then(|m| m.get("shape")).and_then(Value::as_str) {
                    for (k, item) in entries {
                        self.check(v, item, &format!("{path}.{k}"), found);
                    }
                }
            }
            "string" => {
                let Some(s) = value.as_str() else {
                    return found.serialization(path, "a string");
                };
                let shown = format!("'{s}'");
                self.check_size(shape, s.chars().count(), &shown, path, found, "length");
                if let Some(p) = shape.get("pattern").and_then(Value::as_str) {
                    if let Some(re) = self.patterns.get(p) {
                        if !re.is_match(s) {
                            found.constraint(
                                shown.clone(),
                                path,
                                &format!("Member must satisfy regular expression pattern: {p}"),
                            );
                        }
                    }
                }
                if let Some(allowed) = shape.get("enum").and_then(Value::as_array) {
                    if !allowed.iter().any(|a| a.as_str() == Some(s)) {
                        let list: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                        found.constraint(
                            shown,
                            path,
                            &format!("Member must satisfy enum value set: [{}]", list.join(", ")),
                        );
                    }
                }
            }
            "integer" | "long" => {
                let Some(n) = value.as_i64() else {
                    return found.serialization(path, "an integer");
                };
                if kind == "integer" && i32::try_from(n).is_err() {
                    return found.serialization(path, "a 32-bit integer");
                }
                if let Some(min) = shape.get("min").and_then(Value::as_i64) {
                    if n < min {
                        found.constraint(
                            format!("'{n}'"),
                            path,
                            &format!("Member must have value greater than or equal to {min}"),
                        );
                    }
                }
                if let Some(max) = shape.get("max").and_then(Value::as_i64) {
                    if n > max {
                        found.constraint(
                            format!("'{n}'"),
                            path,
                            &format!("Member must have value less than or equal to {max}"),
                        );
                    }
                }
            }
            "boolean" if !value.is_boolean() => found.serialization(path, "a boolean"),
            "timestamp" if !value.is_number() => found.serialization(path, "a timestamp in epoch seconds"),
            _ => {}
        }
    }

    fn check_size(&self, shape: &Value, len: usize, shown: &str, path: &str, found: &mut Problems, what: &str) {
        let len = len as i64;
        if let Some(min) = shape.get("min").and_then(Value::as_i64) {
            if len < min {
                found.constraint(
                    shown.into(),
                    path,
                    &format!("Member must have {what} greater than or equal to {min}"),
                );
            }
        }
        if let Some(max) = shape.get("max").and_then(Value::as_i64) {
            if len > max {
                found.constraint(shown.into(), path, &format!("Member must have {what} less than or equal to {max}"));
            }
        }
    }
}

/// Member paths are written as the service writes them: lower camel case, dot separated.
fn join(path: &str, member: &str) -> String {
    let mut chars = member.chars();
    let camel: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    if path.is_empty() {
        camel
    } else {
        format!("{path}.{camel}")
    }
}

/// How a list or map value is quoted in a constraint message; long values are cut so that a message
/// never grows with a hostile input.
fn render(value: &Value) -> String {
    let mut s = value.to_string();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[derive(Default)]
struct Problems {
    constraints: Vec<String>,
    serialization: Option<String>,
}

impl Problems {
    fn constraint(&mut self, shown: String, path: &str, rule: &str) {
        let shown = if shown.chars().count() > 300 {
            let cut: String = shown.chars().take(300).collect();
            format!("{cut}…'")
        } else {
            shown
        };
        self.constraints.push(format!("Value {shown} at '{path}' failed to satisfy constraint: {rule}"));
    }

    fn serialization(&mut self, path: &str, expected: &str) {
        if self.serialization.is_none() {
            let at = if path.is_empty() { "the request body".to_string() } else { format!("'{path}'") };
            self.serialization = Some(format!("Expected {expected} at {at}"));
        }
    }

    fn into_result(self) -> Result<(), ApiError> {
        if let Some(message) = self.serialization {
            return Err(ApiError::serialization(message));
        }
        match self.constraints.len() {
            0 => Ok(()),
            1 => Err(ApiError::validation(format!("1 validation error detected: {}", self.constraints[0]))),
            n => Err(ApiError::validation(format!("{n} validation errors detected: {}", self.constraints.join("; ")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(op: &str, body: Value) -> ApiError {
        model().validate_input(op, &body).expect_err("expected a validation error")
    }

    #[test]
    fn every_operation_of_the_contract_is_in_the_model() {
        let mut names: Vec<&str> = model().operation_names().collect();
        names.sort();
        // The 15 of the Pipelines execution API, and ListTags.
        assert_eq!(names.len(), 16);
        assert!(names.contains(&"SendPipelineExecutionStepFailure") && names.contains(&"ListTags"));
        assert!(model().validate_input("ListTags", &json!({"ResourceArn": "not-an-arn"})).is_err());
    }

    #[test]
    fn pattern_violation_uses_the_service_format() {
        let e = err("DescribePipeline", json!({"PipelineName": "bad_name"}));
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.starts_with("1 validation error detected: Value 'bad_name' at 'pipelineName' failed to satisfy constraint: Member must satisfy regular expression pattern: "), "{}", e.message);
    }

    #[test]
    fn missing_required_members_are_all_reported() {
        let e = err("StartPipelineExecution", json!({}));
        assert!(e.message.starts_with("2 validation errors detected: "), "{}", e.message);
        assert!(e
            .message
            .contains("Value null at 'pipelineName' failed to satisfy constraint: Member must not be null"));
        assert!(e.message.contains("Value null at 'clientRequestToken'"));
    }

    #[test]
    fn nested_list_members_are_addressed_like_the_service() {
        let e = err(
            "StartPipelineExecution",
            json!({"PipelineName": "p", "ClientRequestToken": "x".repeat(32),
                    "PipelineParameters": [{"Name": "A", "Value": "1"}, {"Name": "bad name", "Value": "x".repeat(1025)}]}),
        );
        assert!(e.message.starts_with("2 validation errors detected: "), "{}", e.message);
        assert!(e.message.contains("Value 'bad name' at 'pipelineParameters.2.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9\\-_]*"), "{}", e.message);
        assert!(e.message.contains("at 'pipelineParameters.2.member.value' failed to satisfy constraint: Member must have length less than or equal to 1024"), "{}", e.message);
    }

    #[test]
    fn ranges_and_enums() {
        let e = err("ListPipelineExecutions", json!({"PipelineName": "p", "MaxResults": 101, "SortOrder": "Sideways"}));
        assert!(e.message.contains("Member must have value less than or equal to 100"), "{}", e.message);
        assert!(e.message.contains("Member must satisfy enum value set: [Ascending, Descending]"), "{}", e.message);
    }

    #[test]
    fn wrong_types_are_serialization_errors() {
        let e = err("ListPipelineExecutions", json!({"PipelineName": 7}));
        assert_eq!(e.code, "SerializationException");
        assert!(e.message.contains("'pipelineName'"), "{}", e.message);
        let e = err("ListPipelines", json!({"MaxResults": 1e40}));
        assert_eq!(e.code, "SerializationException");
        let e = err("ListPipelines", json!([1, 2]));
        assert_eq!(e.code, "SerializationException");
    }

    #[test]
    fn good_input_passes() {
        model()
            .validate_input(
                "StartPipelineExecution",
                &json!({"PipelineName": "AbalonePipeline", "ClientRequestToken": "a".repeat(40),
                        "ParallelismConfiguration": {"MaxParallelExecutionSteps": 2},
                        "PipelineParameters": [{"Name": "MseThreshold", "Value": "3.0"}]}),
            )
            .unwrap();
    }

    #[test]
    fn the_sts_model_parses_and_checks_assume_role() {
        let m = sts_model();
        assert!(m.operation("AssumeRole").is_some() && m.operation("GetCallerIdentity").is_some());
        let e = m
            .validate_input(
                "AssumeRole",
                &json!({"RoleArn": "arn:aws:iam::123456789012:role/R", "RoleSessionName": "a b", "DurationSeconds": 60}),
            )
            .unwrap_err();
        assert!(e.message.starts_with("2 validation errors detected: "), "{}", e.message);
        assert!(e.message.contains("Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"), "{}", e.message);
        assert!(e.message.contains("Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"), "{}", e.message);
    }

    #[test]
    fn huge_values_are_cut_in_messages() {
        let e = err("DescribePipeline", json!({"PipelineName": "_".repeat(5000)}));
        assert!(e.message.len() < 1200, "message grew with the input: {}", e.message.len());
    }
}
