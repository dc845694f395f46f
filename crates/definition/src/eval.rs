//! Evaluation of step arguments: replacing every expression node with its
//! value, given something that knows parameters, execution variables and
//! the outputs of finished steps.
//!
//! The emulator uses this to build the request it "sends" for a step, and the
//! UI uses it to preview arguments; both supply their own [`Scope`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::expr::{as_get, lookup_path, parse_get, parse_path, path_to_string, PathSegment, Reference};

/// Where expression values come from.
pub trait Scope {
    /// The typed JSON value of a parameter (`Integer` → number, ...).
    fn parameter(&self, name: &str) -> Option<Value>;
    /// An `Execution.<Var>` value.
    fn execution_var(&self, var: &str) -> Option<Value>;
    /// A property of a finished step (its Describe response, `Outcome` of a
    /// Condition, `OutputParameters` of a Lambda/Callback step, ...).
    fn step_property(&self, step: &str, path: &[PathSegment]) -> Option<Value>;
    /// The parsed JSON contents of a step's property file.
    fn property_file(&self, step: &str, file: &str) -> Option<Value>;
    /// The parsed JSON object stored at an S3 URI, for
    /// `Std:JsonGet` with `S3Uri`. Scopes without storage return `None`.
    fn s3_json(&self, _uri: &str) -> Option<Value> {
        None
    }
}

/// A ready-made [`Scope`] backed by maps, for tests and previews.
/// `steps` holds each step's property document (read with
/// [`lookup_path`]); `property_files` is keyed by `(step, file)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapScope {
    pub parameters: BTreeMap<String, Value>,
    pub execution: BTreeMap<String, Value>,
    pub steps: BTreeMap<String, Value>,
    pub property_files: BTreeMap<(String, String), Value>,
    pub s3: BTreeMap<String, Value>,
}

impl Scope for MapScope {
    fn parameter(&self, name: &str) -> Option<Value> {
        self.parameters.get(name).cloned()
    }
    fn execution_var(&self, var: &str) -> Option<Value> {
        self.execution.get(var).cloned()
    }
    fn step_property(&self, step: &str, path: &[PathSegment]) -> Option<Value> {
        lookup_path(self.steps.get(step)?, path)
    }
    fn property_file(&self, step: &str, file: &str) -> Option<Value> {
        self.property_files.get(&(step.to_string(), file.to_string())).cloned()
    }
    fn s3_json(&self, uri: &str) -> Option<Value> {
        self.s3.get(uri).cloned()
    }
}

/// Returns `value` with every `Get`, `Std:Join` and `Std:JsonGet` node
/// replaced by its value; everything else is copied as is.
pub fn evaluate(value: &Value, scope: &dyn Scope) -> Result<Value, String> {
    if let Some(get) = as_get(value) {
        return evaluate_get(get, scope);
    }
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(join) = map.get("Std:Join") {
                    return evaluate_join(join, scope);
                }
                if let Some(jg) = map.get("Std:JsonGet") {
                    return evaluate_json_get(jg, scope);
                }
                if let Some(g) = map.get("Get") {
                    return Err(format!("Get must name a string, got {g}"));
                }
            }
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(k.clone(), evaluate(v, scope)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => {
            items.iter().map(|v| evaluate(v, scope)).collect::<Result<Vec<_>, _>>().map(Value::Array)
        }
        other => Ok(other.clone()),
    }
}

fn evaluate_get(get: &str, scope: &dyn Scope) -> Result<Value, String> {
    let unresolved = || format!("Unable to resolve {get}");
    match parse_get(get)? {
        Reference::Parameter(name) => scope.parameter(&name).ok_or_else(unresolved),
        Reference::Execution(var) => scope.execution_var(&var).ok_or_else(unresolved),
        Reference::Step { step, path } => scope.step_property(&step, &path).ok_or_else(unresolved),
        Reference::PropertyFile { .. } => {
            Err(format!("Property file reference {get} can only be used inside Std:JsonGet"))
        }
    }
}

/// How `Std:Join` prints a value: strings raw, numbers as JSON prints them,
/// booleans as `true`/`false`, anything else as JSON text.
pub fn join_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn evaluate_join(join: &Value, scope: &dyn Scope) -> Result<Value, String> {
    let obj = join.as_object().ok_or_else(|| "Std:Join must be an object with On and Values".to_string())?;
    let on = match obj.get("On") {
        None | Some(Value::Null) => String::new(),
        Some(v) => match evaluate(v, scope)? {
            Value::String(s) => s,
            other => join_string(&other),
        },
    };
    let values = match obj.get("Values") {
        Some(Value::Array(items)) => items,
        _ => return Err("Std:Join Values must be a list".to_string()),
    };
    let mut parts = Vec::with_capacity(values.len());
    for v in values {
        parts.push(join_string(&evaluate(v, scope)?));
    }
    Ok(Value::String(parts.join(&on)))
}

fn evaluate_json_get(jg: &Value, scope: &dyn Scope) -> Result<Value, String> {
    let obj = jg
        .as_object()
        .ok_or_else(|| "Std:JsonGet must be an object with PropertyFile or S3Uri and Path".to_string())?;
    let path_text = match obj.get("Path") {
        Some(p) => match evaluate(p, scope)? {
            Value::String(s) => s,
            other => return Err(format!("Std:JsonGet Path must be a string, got {other}")),
        },
        None => return Err("Std:JsonGet is missing Path".to_string()),
    };
    let path = parse_path(&path_text).map_err(|e| format!("Std:JsonGet Path '{path_text}' is invalid: {e}"))?;
    let (document, source) = if let Some(pf) = obj.get("PropertyFile") {
        let get = as_get(pf).ok_or_else(|| {
            "Std:JsonGet PropertyFile must be {\"Get\": \"Steps.<Name>.PropertyFiles.<File>\"}".to_string()
        })?;
        match parse_get(get)? {
            Reference::PropertyFile { step, file } => {
                let doc = scope.property_file(&step, &file).ok_or_else(|| format!("Unable to resolve {get}"))?;
                (doc, format!("property file {step}.{file}"))
            }
            _ => {
                return Err(format!(
                    "Std:JsonGet PropertyFile must reference Steps.<Name>.PropertyFiles.<File>, got {get}"
                ))
            }
        }
    } else if let Some(uri) = obj.get("S3Uri") {
        let uri = match evaluate(uri, scope)? {
            Value::String(s) => s,
            other => return Err(format!("Std:JsonGet S3Uri must be a string, got {other}")),
        };
        let doc = scope.s3_json(&uri).ok_or_else(|| format!("Unable to read JSON from {uri}"))?;
        (doc, uri)
    } else {
        return Err("Std:JsonGet needs PropertyFile or S3Uri".to_string());
    };
    lookup_path(&document, &path)
        .ok_or_else(|| format!("Unable to resolve JsonGet path '{path_text}' ({}) in {source}", path_to_string(&path)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> MapScope {
        let mut s = MapScope::default();
        s.parameters.insert("Threshold".into(), json!(6.0));
        s.parameters.insert("Count".into(), json!(3));
        s.parameters.insert("Flag".into(), json!(false));
        s.execution.insert("PipelineExecutionId".into(), json!("abc123"));
        s.steps.insert(
            "Proc".into(),
            json!({"ProcessingOutputConfig": {"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://b/t"}}]}}),
        );
        s.property_files.insert(
            ("Eval".into(), "Report".into()),
            json!({"regression_metrics": {"mse": {"value": 4.2}}, "list": [1, {"x": "y"}]}),
        );
        s.s3.insert("s3://b/r.json".into(), json!({"a": {"b": [10, 20]}}));
        s
    }

    #[test]
    fn replaces_nested_expressions() {
        let v = json!({
            "Uri": {"Get": "Steps.Proc.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
            "Count": {"Get": "Parameters.Count"},
            "List": [{"Get": "Parameters.Flag"}, "lit", 5],
            "Plain": {"A": 1}
        });
        let out = evaluate(&v, &scope()).unwrap();
        assert_eq!(out, json!({"Uri": "s3://b/t", "Count": 3, "List": [false, "lit", 5], "Plain": {"A": 1}}));
    }

    #[test]
    fn join_stringifies() {
        let v = json!({"Std:Join": {"On": "/", "Values": [
            "s3:/", {"Get": "Execution.PipelineExecutionId"}, {"Get": "Parameters.Threshold"},
            {"Get": "Parameters.Count"}, {"Get": "Parameters.Flag"}, 0.5
        ]}});
        assert_eq!(evaluate(&v, &scope()).unwrap(), json!("s3://abc123/6.0/3/false/0.5"));
        let v = json!({"Std:Join": {"On": " ", "Values": []}});
        assert_eq!(evaluate(&v, &scope()).unwrap(), json!(""));
        assert!(evaluate(&json!({"Std:Join": {"On": "/"}}), &scope()).is_err());
    }

    #[test]
    fn json_get_property_file_and_s3() {
        let v = json!({"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"},
            "Path": "regression_metrics.mse.value"}});
        assert_eq!(evaluate(&v, &scope()).unwrap(), json!(4.2));
        let v = json!({"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"}, "Path": "list[1].x"}});
        assert_eq!(evaluate(&v, &scope()).unwrap(), json!("y"));
        let v = json!({"Std:JsonGet": {"S3Uri": {"Std:Join": {"On": "/", "Values": ["s3://b", "r.json"]}}, "Path": "a.b[1]"}});
        assert_eq!(evaluate(&v, &scope()).unwrap(), json!(20));

        let missing = json!({"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Report"}, "Path": "nope.value"}});
        let e = evaluate(&missing, &scope()).unwrap_err();
        assert!(e.contains("nope.value") && e.contains("Eval.Report"), "{e}");
        let nofile = json!({"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.Other"}, "Path": "a"}});
        assert_eq!(evaluate(&nofile, &scope()).unwrap_err(), "Unable to resolve Steps.Eval.PropertyFiles.Other");
    }

    #[test]
    fn errors_name_what_failed() {
        assert_eq!(evaluate(&json!({"Get": "Steps.X.Foo"}), &scope()).unwrap_err(), "Unable to resolve Steps.X.Foo");
        assert_eq!(
            evaluate(&json!([{"Get": "Parameters.Nope"}]), &scope()).unwrap_err(),
            "Unable to resolve Parameters.Nope"
        );
        assert!(evaluate(&json!({"Get": "Steps.Eval.PropertyFiles.Report"}), &scope())
            .unwrap_err()
            .contains("only be used inside Std:JsonGet"));
        assert!(evaluate(&json!({"Get": 1}), &scope()).is_err());
        assert!(evaluate(&json!({"Get": "Bogus"}), &scope()).is_err());
    }
}
