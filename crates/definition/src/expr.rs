//! Expressions embedded in step arguments: `{"Get": ...}`, `Std:Join` and
//! `Std:JsonGet`, and the property paths they use.
//!
//! Finding every `Get` is how dependencies are discovered (a step that reads
//! `Steps.X.…` runs after `X`), and parsing the path is how the emulator
//! reads a value out of a finished step's Describe response.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The execution variables `{"Get": "Execution.<Var>"}` may name.
pub const EXECUTION_VARIABLES: [&str; 8] = [
    "StartDateTime",
    "CurrentDateTime",
    "PipelineName",
    "PipelineArn",
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "TrainingJobName",
    "ProcessingJobName",
];

/// One step of a property path: `.Key` / `['key']` or `[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// What a `{"Get": ...}` expression points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reference {
    /// `Parameters.<Name>`
    Parameter(String),
    /// `Execution.<Var>`; the name is not checked here (see
    /// [`EXECUTION_VARIABLES`]) so that the definition checker can report it.
    Execution(String),
    /// `Steps.<Name>.<path>`
    Step { step: String, path: Vec<PathSegment> },
    /// `Steps.<Name>.PropertyFiles.<File>`; only meaningful inside
    /// `Std:JsonGet`.
    PropertyFile { step: String, file: String },
}

impl Reference {
    /// The step this reference makes its holder depend on, if any.
    pub fn step_name(&self) -> Option<&str> {
        match self {
            Reference::Step { step, .. } | Reference::PropertyFile { step, .. } => Some(step),
            _ => None,
        }
    }
}

/// Parses the string of a `{"Get": "..."}` expression.
pub fn parse_get(s: &str) -> Result<Reference, String> {
    if let Some(name) = s.strip_prefix("Parameters.") {
        if name.is_empty() || name.contains(['.', '[', ']']) {
            return Err(format!("Invalid parameter reference '{s}'"));
        }
        return Ok(Reference::Parameter(name.to_string()));
    }
    if let Some(var) = s.strip_prefix("Execution.") {
        if var.is_empty() || var.contains(['.', '[', ']']) {
            return Err(format!("Invalid execution variable reference '{s}'"));
        }
        return Ok(Reference::Execution(var.to_string()));
    }
    if let Some(rest) = s.strip_prefix("Steps.") {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let (step, path_text) = rest.split_at(end);
        if step.is_empty() {
            return Err(format!("Invalid step reference '{s}': missing step name"));
        }
        if path_text.is_empty() {
            return Err(format!("Invalid step reference '{s}': missing property path"));
        }
        let path = parse_path(path_text).map_err(|e| format!("Invalid step reference '{s}': {e}"))?;
        if let [PathSegment::Key(first), PathSegment::Key(file)] = path.as_slice() {
            if first == "PropertyFiles" {
                return Ok(Reference::PropertyFile { step: step.to_string(), file: file.clone() });
            }
        }
        return Ok(Reference::Step { step: step.to_string(), path });
    }
    Err(format!("Invalid Get '{s}': expected Parameters.<Name>, Execution.<Variable> or Steps.<Name>.<Path>"))
}

/// Parses a property path made of `.Key`, `['key']`, `["key"]` and `[0]`
/// segments. The first segment may omit its dot (`a.b[0].c`, the form used by
/// `Std:JsonGet` paths), and a leading `$` is ignored.
pub fn parse_path(s: &str) -> Result<Vec<PathSegment>, String> {
    let s = s.strip_prefix('$').unwrap_or(s);
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // Reads a bare key starting at `i` up to the next '.' or '['.
    let read_key = |start: usize| -> (String, usize) {
        let mut j = start;
        while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
            j += 1;
        }
        (chars[start..j].iter().collect(), j)
    };
    if chars.first().is_some_and(|c| *c != '.' && *c != '[') {
        let (key, next) = read_key(0);
        if key.contains(']') {
            return Err(format!("unexpected ']' in '{s}'"));
        }
        out.push(PathSegment::Key(key));
        i = next;
    }
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let (key, next) = read_key(i + 1);
                if key.is_empty() {
                    return Err(format!("empty key in '{s}'"));
                }
                if key.contains(']') {
                    return Err(format!("unexpected ']' in '{s}'"));
                }
                out.push(PathSegment::Key(key));
                i = next;
            }
            '[' => {
                let quote = chars.get(i + 1).copied();
                if quote == Some('\'') || quote == Some('"') {
                    let start = i + 2;
                    let mut j = start;
                    while j < chars.len() && Some(chars[j]) != quote {
                        j += 1;
                    }
                    if j >= chars.len() {
                        return Err(format!("unterminated quoted key in '{s}'"));
                    }
                    if chars.get(j + 1) != Some(&']') {
                        return Err(format!("expected ']' after quoted key in '{s}'"));
                    }
                    out.push(PathSegment::Key(chars[start..j].iter().collect()));
                    i = j + 2;
                } else {
                    let start = i + 1;
                    let mut j = start;
                    while j < chars.len() && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    if j == start || chars.get(j) != Some(&']') {
                        return Err(format!("expected an index or a quoted key after '[' in '{s}'"));
                    }
                    let digits: String = chars[start..j].iter().collect();
                    let n = digits.parse::<usize>().map_err(|_| format!("index {digits} is too large in '{s}'"))?;
                    out.push(PathSegment::Index(n));
                    i = j + 1;
                }
            }
            c => return Err(format!("unexpected '{c}' in '{s}'")),
        }
    }
    if out.is_empty() {
        return Err("empty path".to_string());
    }
    Ok(out)
}

/// Renders a path back to text (`.A['b'][0]`), for messages.
pub fn path_to_string(path: &[PathSegment]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            PathSegment::Key(k) if is_plain_key(k) => {
                s.push('.');
                s.push_str(k);
            }
            PathSegment::Key(k) => {
                s.push_str("['");
                s.push_str(k);
                s.push_str("']");
            }
            PathSegment::Index(n) => {
                s.push('[');
                s.push_str(&n.to_string());
                s.push(']');
            }
        }
    }
    s
}

fn is_plain_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// If `v` is a `{"Get": "..."}` node, its string. A `Get` node is an object
/// whose only key is `Get` with a string value.
pub fn as_get(v: &Value) -> Option<&str> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    obj.get("Get")?.as_str()
}

/// Every `Get` string anywhere inside `value`, in document order (including
/// inside `Std:Join` values and `Std:JsonGet` property files and S3 URIs).
pub fn get_expressions(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        if let Some(g) = as_get(v) {
            out.push(g.to_string());
            continue;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Object(map) => {
                let children: Vec<&Value> = map.values().collect();
                stack.extend(children.into_iter().rev());
            }
            _ => {}
        }
    }
    out
}

/// Every well-formed reference anywhere inside `value`. Malformed `Get`
/// strings are skipped here; the definition checker reports them.
pub fn references(value: &Value) -> Vec<Reference> {
    get_expressions(value).iter().filter_map(|g| parse_get(g).ok()).collect()
}

/// Reads `path` out of `root`.
///
/// SageMaker's Describe responses hold lists where the pipeline syntax uses
/// names (`Outputs['train']`), so a `Key` applied to an array selects the
/// element whose `OutputName`, `ChannelName`, `PropertyFileName` or `Name`
/// equals the key. An `Index` applied to an object yields nothing.
pub fn lookup_path(root: &Value, path: &[PathSegment]) -> Option<Value> {
    let mut cur = root;
    for seg in path {
        cur = match (seg, cur) {
            (PathSegment::Key(k), Value::Object(map)) => map.get(k)?,
            (PathSegment::Key(k), Value::Array(items)) => items.iter().find(|item| {
                ["OutputName", "ChannelName", "PropertyFileName", "Name"]
                    .iter()
                    .any(|field| item.get(field).and_then(Value::as_str) == Some(k.as_str()))
            })?,
            (PathSegment::Index(n), Value::Array(items)) => items.get(*n)?,
            _ => return None,
        };
    }
    Some(cur.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(s: &str) -> PathSegment {
        PathSegment::Key(s.into())
    }

    #[test]
    fn parse_get_kinds() {
        assert_eq!(parse_get("Parameters.Foo"), Ok(Reference::Parameter("Foo".into())));
        assert_eq!(parse_get("Execution.PipelineExecutionId"), Ok(Reference::Execution("PipelineExecutionId".into())));
        assert_eq!(
            parse_get("Steps.AbaloneProcess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"),
            Ok(Reference::Step {
                step: "AbaloneProcess".into(),
                path: vec![key("ProcessingOutputConfig"), key("Outputs"), key("train"), key("S3Output"), key("S3Uri")]
            })
        );
        assert_eq!(
            parse_get("Steps.L-1.OutputParameters[\"score\"]"),
            Ok(Reference::Step { step: "L-1".into(), path: vec![key("OutputParameters"), key("score")] })
        );
        assert_eq!(
            parse_get("Steps.T.FinalMetricDataList[0].Value"),
            Ok(Reference::Step {
                step: "T".into(),
                path: vec![key("FinalMetricDataList"), PathSegment::Index(0), key("Value")]
            })
        );
        assert_eq!(
            parse_get("Steps.AbaloneEval.PropertyFiles.EvaluationReport"),
            Ok(Reference::PropertyFile { step: "AbaloneEval".into(), file: "EvaluationReport".into() })
        );
    }

    #[test]
    fn parse_get_errors() {
        for bad in [
            "",
            "Foo.Bar",
            "Parameters.",
            "Parameters.A.B",
            "Execution.",
            "Steps.",
            "Steps.X",
            "Steps..Y",
            "Steps.X.",
            "Steps.X.a..b",
            "Steps.X['a",
            "Steps.X['a'x",
            "Steps.X[abc]",
            "Steps.X[]",
            "Steps.X[99999999999999999999999999]",
            "Steps.X.a]",
        ] {
            assert!(parse_get(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn json_get_paths() {
        assert_eq!(
            parse_path("regression_metrics.mse.value"),
            Ok(vec![key("regression_metrics"), key("mse"), key("value")])
        );
        assert_eq!(parse_path("$.a[1]"), Ok(vec![key("a"), PathSegment::Index(1)]));
        assert!(parse_path("").is_err());
        assert_eq!(path_to_string(&[key("A"), key("b c"), PathSegment::Index(2)]), ".A['b c'][2]");
    }

    #[test]
    fn finds_references_everywhere() {
        let v = json!({
            "A": {"Get": "Parameters.P"},
            "B": [{"Std:Join": {"On": "/", "Values": ["x", {"Get": "Execution.PipelineName"}]}}],
            "C": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.E.PropertyFiles.R"}, "Path": "a"}},
            "D": {"Std:JsonGet": {"S3Uri": {"Get": "Steps.F.X.Y"}, "Path": "a"}},
            "E": {"Get": "not valid"},
            "F": {"Get": 3}
        });
        let refs = references(&v);
        assert_eq!(
            refs,
            vec![
                Reference::Parameter("P".into()),
                Reference::Execution("PipelineName".into()),
                Reference::PropertyFile { step: "E".into(), file: "R".into() },
                Reference::Step { step: "F".into(), path: vec![key("X"), key("Y")] },
            ]
        );
        assert_eq!(get_expressions(&v).len(), 5);
    }

    #[test]
    fn lookup_list_by_name() {
        let describe = json!({
            "ProcessingOutputConfig": {"Outputs": [
                {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
                {"OutputName": "test", "S3Output": {"S3Uri": "s3://b/test"}}
            ]},
            "InputDataConfig": [{"ChannelName": "validation", "X": 1}],
            "Metrics": [{"Name": "mse", "Value": 2.5}]
        });
        let p = parse_path(".ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri").unwrap();
        assert_eq!(lookup_path(&describe, &p), Some(json!("s3://b/test")));
        let p = parse_path(".InputDataConfig['validation'].X").unwrap();
        assert_eq!(lookup_path(&describe, &p), Some(json!(1)));
        let p = parse_path(".Metrics['mse'].Value").unwrap();
        assert_eq!(lookup_path(&describe, &p), Some(json!(2.5)));
        let p = parse_path(".ProcessingOutputConfig.Outputs[1].OutputName").unwrap();
        assert_eq!(lookup_path(&describe, &p), Some(json!("test")));
        let p = parse_path(".ProcessingOutputConfig.Outputs['nope']").unwrap();
        assert_eq!(lookup_path(&describe, &p), None);
        let p = parse_path(".ProcessingOutputConfig[0]").unwrap();
        assert_eq!(lookup_path(&describe, &p), None, "Index on an object is none");
        let p = parse_path(".ProcessingOutputConfig.Outputs[5]").unwrap();
        assert_eq!(lookup_path(&describe, &p), None);
        assert_eq!(lookup_path(&describe, &[]), Some(describe.clone()));
    }
}
