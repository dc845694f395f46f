//! Input validation driven by the botocore service models (`crates/definition/pipelines-shapes.json`, and
//! `tags-shapes.json`, `jobs-shapes.json`, `logs-shapes.json`, `sts-shapes.json` here), compiled in.
//!
//! Rather than hand-writing a check per member, the emulator walks each request against the model the AWS
//! SDKs are generated from, so every required flag, length, pattern, range and enum of every operation is
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
    patterns: HashMap<String, Pattern>,
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
        // The jobs behind pipeline steps (Describe*Job, DescribeModelPackage), ListPipelineVersions and
        // AddTags, from the same service model; no shape of theirs differs from one already there.
        let jobs = Model::parse(JOBS_MODEL_JSON).expect("the compiled-in jobs model is valid");
        for (k, v) in jobs.shapes {
            m.shapes.entry(k).or_insert(v);
        }
        m.operations.extend(jobs.operations);
        m.patterns.extend(jobs.patterns);
        // The model registry (`crate::ops::registry`); `Search` is not served, so it is not taken.
        let registry = Model::parse(REGISTRY_MODEL_JSON).expect("the compiled-in registry model is valid");
        for (k, v) in registry.shapes {
            m.shapes.entry(k).or_insert(v);
        }
        m.operations.extend(registry.operations.into_iter().filter(|(name, _)| name != "Search"));
        m.patterns.extend(registry.patterns);
        m
    })
}

const TAGS_MODEL_JSON: &str = include_str!("../tags-shapes.json");
const JOBS_MODEL_JSON: &str = include_str!("../jobs-shapes.json");
const REGISTRY_MODEL_JSON: &str = include_str!("../registry-shapes.json");

/// CloudWatch Logs' botocore model (`crates/emulator/logs-shapes.json`: DescribeLogStreams, GetLogEvents and
/// FilterLogEvents with the shapes they reach), for the job logs served on the same endpoint.
pub fn logs_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(LOGS_MODEL_JSON).expect("the compiled-in Logs model is valid"))
}

const LOGS_MODEL_JSON: &str = include_str!("../logs-shapes.json");

/// STS's botocore model (`crates/emulator/sts-shapes.json`: AssumeRole and GetCallerIdentity with the shapes
/// they reach), for `crate::sts`: the same validator gives STS's constraint messages, which have the same form.
pub fn sts_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(STS_MODEL_JSON).expect("the compiled-in STS model is valid"))
}

const STS_MODEL_JSON: &str = include_str!("../sts-shapes.json");

/// SQS's botocore model (`crates/emulator/sqs-shapes.json`: the eight operations `crate::sqs` serves).
pub fn sqs_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(SQS_MODEL_JSON).expect("the compiled-in SQS model is valid"))
}

const SQS_MODEL_JSON: &str = include_str!("../sqs-shapes.json");

/// The AWS Price List's botocore model (`crates/emulator/pricing-shapes.json`: GetProducts), for
/// `crate::ops::pricing`.
pub fn pricing_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::parse(PRICING_MODEL_JSON).expect("the compiled-in Price List model is valid"))
}

const PRICING_MODEL_JSON: &str = include_str!("../pricing-shapes.json");

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
                patterns.insert(p.to_string(), Pattern::new(p)?);
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

    /// `value` as an answer may carry it in `shape_name`: members the model does not have and values that break
    /// its constraints are left out, and so is a structure that loses a required member (None when `value`
    /// itself does not fit). Job descriptions echo a step's arguments, which a definition may fill with
    /// anything; the service would have refused those at CreateTrainingJob, so they are not shown.
    pub fn conform(&self, shape_name: &str, value: &Value) -> Option<Value> {
        let Some(shape) = self.shapes.get(shape_name) else { return Some(value.clone()) };
        let target = |m: &Value| m.get("shape").and_then(Value::as_str).map(String::from);
        match shape.get("type").and_then(Value::as_str).unwrap_or("") {
            "structure" => {
                let obj = value.as_object()?;
                let members = shape.get("members").and_then(Value::as_object);
                let mut out = serde_json::Map::new();
                for (name, v) in obj.iter().filter(|(_, v)| !v.is_null()) {
                    let Some(t) = members.and_then(|m| m.get(name)).and_then(target) else { continue };
                    if let Some(kept) = self.conform(&t, v) {
                        out.insert(name.clone(), kept);
                    }
                }
                let required = shape.get("required").and_then(Value::as_array).into_iter().flatten();
                for req in required.filter_map(Value::as_str) {
                    if !out.contains_key(req) {
                        return None;
                    }
                }
                Some(Value::Object(out))
            }
            "list" => {
                let items = value.as_array()?;
                let member = shape.get("member").and_then(target)?;
                let mut kept: Vec<Value> = items.iter().filter_map(|x| self.conform(&member, x)).collect();
                if let Some(max) = shape.get("max").and_then(Value::as_u64) {
                    kept.truncate(max as usize);
                }
                let min = shape.get("min").and_then(Value::as_u64).unwrap_or(0);
                (kept.len() as u64 >= min).then_some(Value::Array(kept))
            }
            "map" => {
                let entries = value.as_object()?;
                let key = shape.get("key").and_then(target);
                let val = shape.get("value").and_then(target)?;
                let mut out = serde_json::Map::new();
                for (k, v) in entries {
                    let key_fits = key.as_deref().is_none_or(|ks| self.fits(ks, &Value::String(k.clone())));
                    if let (true, Some(kept)) = (key_fits, self.conform(&val, v)) {
                        out.insert(k.clone(), kept);
                    }
                }
                let size = out.len() as u64;
                let fits = shape.get("min").and_then(Value::as_u64).is_none_or(|m| size >= m)
                    && shape.get("max").and_then(Value::as_u64).is_none_or(|m| size <= m);
                fits.then_some(Value::Object(out))
            }
            _ => self.fits(shape_name, value).then(|| value.clone()),
        }
    }

    fn fits(&self, shape_name: &str, value: &Value) -> bool {
        let mut found = Problems::default();
        self.check(shape_name, value, "", &mut found);
        found.constraints.is_empty() && found.serialization.is_none()
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
                        if !re.matches(s) {
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
            "float" | "double" if !value.is_number() => found.serialization(path, "a number"),
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

/// A model pattern, compiled for Rust's regex engine. botocore's patterns are Java regular expressions, and a
/// few of the job shapes use what Rust's engine lacks; those are rewritten to the same language:
/// `\p{Alnum}` (ASCII letters and digits), UTF-16 surrogate pairs (`\uD800\uDC00-\uDBFF\uDFFF`, the
/// supplementary planes), a one-character negative look-behind `(?<!c)` (an empty group takes its place and
/// the character before it is checked after the match), and a whole pattern that is one class repeated
/// `{m,n}` times (which would compile to more than the engine's size limit: the class is matched `*` and the
/// count checked).
pub struct Pattern {
    re: Regex,
    /// Named empty groups standing for `(?<!c)`: the character that must not come before each.
    not_after: Vec<(String, char)>,
    /// Characters allowed, when the pattern was one repeated class.
    count: Option<(usize, usize)>,
    /// A leading `(?=.{min,max}$)`: the value's length in characters.
    length: Option<(usize, usize)>,
    /// `(?!.*TEXT)`: what the value must not contain anywhere.
    forbidden: Vec<String>,
}

impl Pattern {
    pub fn new(java: &str) -> Result<Pattern, String> {
        let mut text = java.replace("\\p{Alnum}", "[[:alnum:]]");
        text = surrogates_to_code_points(&text);
        let mut not_after = vec![];
        while let Some(at) = text.find("(?<!") {
            let rest = &text[at + 4..];
            let (c, len) = match rest.strip_prefix('\\') {
                Some(r) => (r.chars().next().ok_or("dangling look-behind")?, 2),
                None => (rest.chars().next().ok_or("dangling look-behind")?, 1),
            };
            if !rest[len..].starts_with(')') {
                return Err(format!("pattern {java}: only a one-character look-behind is supported"));
            }
            let name = format!("lookbehind{}", not_after.len());
            text.replace_range(at..at + 4 + len + 1, &format!("(?P<{name}>)"));
            not_after.push((name, c));
        }
        // The regex crate has no look-ahead: a leading length check and a "never contains" become checks of
        // their own (the registry's patterns use exactly these two forms).
        static LENGTH: OnceLock<Regex> = OnceLock::new();
        let length_re = LENGTH.get_or_init(|| Regex::new(r"^\(\?=\.\{(\d+),(\d+)\}\$\)").expect("valid"));
        let mut length = None;
        if let Some(c) = length_re.captures(&text) {
            length = Some((c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(usize::MAX)));
            let end = c.get(0).map_or(0, |m| m.end());
            text.replace_range(..end, "");
        }
        let mut forbidden = vec![];
        while let Some(at) = text.find("(?!.*") {
            let rest = &text[at + 5..];
            let close = rest.find(')').ok_or_else(|| format!("pattern {java}: an unclosed look-ahead"))?;
            let literal = rest[..close].replace('\\', "");
            if literal.is_empty() || rest[..close].chars().any(|c| "[](){}*+?|^$".contains(c)) {
                return Err(format!("pattern {java}: only a literal negative look-ahead is supported"));
            }
            forbidden.push(literal);
            text.replace_range(at..at + 5 + close + 1, "");
        }
        let mut count = None;
        static REPEATED_CLASS: OnceLock<Regex> = OnceLock::new();
        let repeated = REPEATED_CLASS.get_or_init(|| Regex::new(r"^(\[[^\]]*\])\{(\d+),(\d+)\}$").expect("valid"));
        if let Some(c) = repeated.captures(&text) {
            let (min, max) = (c[2].parse().unwrap_or(0), c[3].parse().unwrap_or(usize::MAX));
            count = Some((min, max));
            text = format!("{}*", &c[1]);
        }
        // Model patterns match the whole value.
        let re = Regex::new(&format!("^(?:{text})$")).map_err(|e| format!("pattern {java}: {e}"))?;
        Ok(Pattern { re, not_after, count, length, forbidden })
    }

    pub fn matches(&self, s: &str) -> bool {
        if let Some((min, max)) = self.length {
            let n = s.chars().count();
            if n < min || n > max {
                return false;
            }
        }
        if self.forbidden.iter().any(|f| s.contains(f.as_str())) {
            return false;
        }
        if let Some((min, max)) = self.count {
            let n = s.chars().count();
            if n < min || n > max {
                return false;
            }
        }
        if self.not_after.is_empty() {
            return self.re.is_match(s);
        }
        let Some(caps) = self.re.captures(s) else { return false };
        self.not_after.iter().all(|(name, c)| caps.name(name).is_none_or(|m| !s[..m.start()].ends_with(*c)))
    }
}

/// `\uD800\uDC00` (a UTF-16 surrogate pair, as Java writes a code point above U+FFFF) → `\x{10000}`.
fn surrogates_to_code_points(text: &str) -> String {
    static PAIR: OnceLock<Regex> = OnceLock::new();
    let pair = PAIR.get_or_init(|| Regex::new(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})").expect("valid"));
    pair.replace_all(text, |c: &regex::Captures| {
        let hi = u32::from_str_radix(&c[1], 16).unwrap_or(0xD800);
        let lo = u32::from_str_radix(&c[2], 16).unwrap_or(0xDC00);
        format!("\\x{{{:X}}}", 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    })
    .into_owned()
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
        // The 15 of the Pipelines execution API, ListTags, the 7 of the jobs behind steps (Describe of
        // training, processing, transform and tuning jobs and of model packages, ListPipelineVersions, AddTags)
        // and the 6 more of the model registry (Search is not served).
        assert_eq!(names.len(), 29);
        assert!(names.contains(&"UpdateModelPackage") && !names.contains(&"Search"));
        assert!(names.contains(&"SendPipelineExecutionStepFailure") && names.contains(&"ListTags"));
        assert!(names.contains(&"DescribeTrainingJob") && names.contains(&"ListPipelineVersions"));
        let mut logs: Vec<&str> = logs_model().operation_names().collect();
        logs.sort();
        assert_eq!(logs, ["DescribeLogStreams", "FilterLogEvents", "GetLogEvents"]);
        assert!(model().validate_input("ListTags", &json!({"ResourceArn": "not-an-arn"})).is_err());
    }

    #[test]
    fn pattern_violation_uses_the_service_format() {
        let e = err("DescribePipeline", json!({"PipelineName": "bad_name"}));
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.starts_with("1 validation error detected: Value 'bad_name' at 'pipelineName' failed to satisfy constraint: Member must satisfy regular expression pattern: "), "{}", e.message);
    }

    #[test]
    fn look_aheads_become_a_length_and_a_never_contains() {
        let name = Pattern::new("(?=.{1,32}$)[a-zA-Z0-9](-*[a-zA-Z0-9])*").unwrap();
        assert!(name.matches("fraud-model") && !name.matches(&"a".repeat(33)) && !name.matches("-x"));
        let path = Pattern::new("/(?!.*\\.\\.)[a-zA-Z0-9/_.\\-]+").unwrap();
        assert!(path.matches("/metrics/v1.json") && !path.matches("/metrics/../secret"));
        let group = Pattern::new(
            "(arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\\/[0-9]{1,9})?",
        )
        .unwrap();
        assert!(
            group.matches("arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3") && !group.matches("fraud-")
        );
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
    fn java_patterns_of_the_job_shapes_keep_their_meaning() {
        // (?<!-): a name may not end in a dash, before an optional version.
        let versioned = Pattern::new("(arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)(\\/[0-9]{1,9})?").unwrap();
        assert!(versioned.matches("AbaloneModels/3"));
        assert!(versioned.matches("arn:aws:sagemaker:us-east-1:123456789012:model-package/abalonemodels/3"));
        assert!(versioned.matches("Abalone-Models"));
        assert!(!versioned.matches("AbaloneModels-/3"));
        assert!(!versioned.matches("AbaloneModels-"));
        let lambda = Pattern::new("arn:[\\p{Alnum}\\-]+:lambda:[\\p{Alnum}\\-]+:[0-9]{12}:function:.*").unwrap();
        assert!(lambda.matches("arn:aws:lambda:us-east-1:123456789012:function:f"));
        assert!(!lambda.matches("arn:aws:lambda:us_east_1:123456789012:function:f"));
        let supplementary = Pattern::new("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*").unwrap();
        assert!(supplementary.matches("catalog 💥"));
        assert!(!supplementary.matches("a\u{1}b"));
        let long = Pattern::new("[\\p{L}\\p{M}\\p{Z}\\p{N}\\p{P}]{0,1024}").unwrap();
        assert!(long.matches("s3://bucket/key.tar.gz") && long.matches(""));
        assert!(!long.matches(&"a".repeat(1025)) && !long.matches("a$b"));
    }

    #[test]
    fn conform_keeps_what_the_output_shape_allows() {
        let m = model();
        let echoed = json!({"TrainingJobName": "j", "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/j",
            "ModelArtifacts": {"S3ModelArtifacts": "s3://b/m.tar.gz"}, "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
            "StoppingCondition": {"MaxRuntimeInSeconds": 60}, "CreationTime": 1.5,
            "ResourceConfig": {"InstanceType": "ml.nope", "InstanceCount": 1, "VolumeSizeInGB": 30},
            "HyperParameters": {"eta": "0.2", "bad": 7}, "Unknown": true, "RoleArn": {"not": "a string"}});
        let kept = m.conform("DescribeTrainingJobResponse", &echoed).unwrap();
        m.validate_output("DescribeTrainingJob", &kept).unwrap();
        assert!(kept.get("Unknown").is_none() && kept.get("RoleArn").is_none());
        assert_eq!(kept["ResourceConfig"], json!({"InstanceCount": 1, "VolumeSizeInGB": 30}));
        assert_eq!(kept["HyperParameters"], json!({"eta": "0.2"}));
        let mut missing = echoed.clone();
        missing.as_object_mut().unwrap().remove("SecondaryStatus");
        assert!(m.conform("DescribeTrainingJobResponse", &missing).is_none(), "a required member is gone");
    }

    #[test]
    fn huge_values_are_cut_in_messages() {
        let e = err("DescribePipeline", json!({"PipelineName": "_".repeat(5000)}));
        assert!(e.message.len() < 1200, "message grew with the input: {}", e.message.len());
    }
}
