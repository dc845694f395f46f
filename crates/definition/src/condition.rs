//! The `Conditions` of a Condition step and how they are decided.
//!
//! Operands stay unevaluated JSON (they are usually expressions); they are
//! evaluated against a [`Scope`] only when the Condition step runs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::eval::{evaluate, Scope};
use crate::parameter::short_json;

/// The binary comparison conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompareOp {
    Equals,
    GreaterThan,
    GreaterThanOrEqualTo,
    LessThan,
    LessThanOrEqualTo,
}

impl CompareOp {
    pub fn name(self) -> &'static str {
        match self {
            CompareOp::Equals => "Equals",
            CompareOp::GreaterThan => "GreaterThan",
            CompareOp::GreaterThanOrEqualTo => "GreaterThanOrEqualTo",
            CompareOp::LessThan => "LessThan",
            CompareOp::LessThanOrEqualTo => "LessThanOrEqualTo",
        }
    }

    fn from_name(s: &str) -> Option<CompareOp> {
        Some(match s {
            "Equals" => CompareOp::Equals,
            "GreaterThan" => CompareOp::GreaterThan,
            "GreaterThanOrEqualTo" => CompareOp::GreaterThanOrEqualTo,
            "LessThan" => CompareOp::LessThan,
            "LessThanOrEqualTo" => CompareOp::LessThanOrEqualTo,
            _ => return None,
        })
    }
}

/// One condition; operands are unevaluated JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    Compare { op: CompareOp, left: Value, right: Value },
    In { query: Value, values: Vec<Value> },
    Not(Box<Condition>),
    Or(Vec<Condition>),
}

/// Parses a `Conditions` list (the conditions are AND-ed).
pub fn parse_conditions(v: &Value) -> Result<Vec<Condition>, String> {
    let items = v.as_array().ok_or_else(|| format!("Conditions must be a list, got {}", short_json(v)))?;
    items.iter().map(parse_condition).collect()
}

/// Parses one condition object.
pub fn parse_condition(v: &Value) -> Result<Condition, String> {
    let obj = v.as_object().ok_or_else(|| format!("Condition must be an object, got {}", short_json(v)))?;
    let ty = obj
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Condition is missing Type: {}", short_json(v)))?;
    let field = |name: &str| obj.get(name).cloned().ok_or_else(|| format!("{ty} condition is missing {name}"));
    if let Some(op) = CompareOp::from_name(ty) {
        return Ok(Condition::Compare { op, left: field("LeftValue")?, right: field("RightValue")? });
    }
    match ty {
        "In" => {
            let values = match field("Values")? {
                Value::Array(items) => items,
                other => return Err(format!("In condition Values must be a list, got {}", short_json(&other))),
            };
            Ok(Condition::In {
                query: field("QueryValue")?,
                values,
            })
        }
        "Not" => Ok(Condition::Not(Box::new(parse_condition(&field("Condition")?)?))),
        "Or" => Ok(Condition::Or(parse_conditions(&field("Conditions")?)?)),
        other => Err(format!(
            "Unknown condition Type '{other}': expected Equals, GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, In, Not or Or"
        )),
    }
}

/// Decides an AND-ed list of conditions. Evaluation stops at the first false
/// condition, like the service, so later operands need not resolve.
pub fn evaluate_conditions(conds: &[Condition], scope: &dyn Scope) -> Result<bool, String> {
    for c in conds {
        if !evaluate_condition(c, scope)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Decides one condition.
pub fn evaluate_condition(cond: &Condition, scope: &dyn Scope) -> Result<bool, String> {
    match cond {
        Condition::Compare { op, left, right } => {
            let l = evaluate(left, scope)?;
            let r = evaluate(right, scope)?;
            compare(*op, &l, &r)
        }
        Condition::In { query, values } => {
            let q = evaluate(query, scope)?;
            for v in values {
                if values_equal(&q, &evaluate(v, scope)?) {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(inner) => Ok(!evaluate_condition(inner, scope)?),
        Condition::Or(conds) => {
            for c in conds {
                if evaluate_condition(c, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

/// A number, or a string holding a finite number.
fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn boolish(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Equality as the Equals and In conditions see it: numbers numerically
/// (a numeric string equals the number it spells when compared with a
/// number), a bool equals `"true"`/`"True"`, strings by value.
pub fn values_equal(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Number(_), _) | (_, Value::Number(_)) => match (numeric(l), numeric(r)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        (Value::Bool(_), _) | (_, Value::Bool(_)) => match (boolish(l), boolish(r)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        _ => l == r,
    }
}

fn compare(op: CompareOp, l: &Value, r: &Value) -> Result<bool, String> {
    if op == CompareOp::Equals {
        return Ok(values_equal(l, r));
    }
    let (a, b) = match (numeric(l), numeric(r)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            return Err(format!(
                "Cannot compare {} and {} with {}: both values must be numbers",
                short_json(l),
                short_json(r),
                op.name()
            ))
        }
    };
    Ok(match op {
        CompareOp::GreaterThan => a > b,
        CompareOp::GreaterThanOrEqualTo => a >= b,
        CompareOp::LessThan => a < b,
        CompareOp::LessThanOrEqualTo => a <= b,
        CompareOp::Equals => a == b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::MapScope;
    use serde_json::json;

    fn scope() -> MapScope {
        let mut s = MapScope::default();
        s.parameters.insert("Env".into(), json!("prod"));
        s.parameters.insert("Threshold".into(), json!(0.5));
        s.steps.insert("L".into(), json!({"OutputParameters": [{"Name": "score", "Value": "0.7"}]}));
        s
    }

    fn eval(c: Value) -> Result<bool, String> {
        let conds = parse_conditions(&c)?;
        evaluate_conditions(&conds, &scope())
    }

    #[test]
    fn parses_all_types() {
        let c = parse_conditions(&json!([
            {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
            {"Type": "In", "QueryValue": "a", "Values": ["a"]},
            {"Type": "Not", "Condition": {"Type": "LessThan", "LeftValue": 1, "RightValue": 2}},
            {"Type": "Or", "Conditions": [{"Type": "GreaterThanOrEqualTo", "LeftValue": 1, "RightValue": 2}]}
        ]))
        .unwrap();
        assert_eq!(c.len(), 4);
        assert!(matches!(c[0], Condition::Compare { op: CompareOp::Equals, .. }));
        assert!(matches!(c[1], Condition::In { .. }));
        assert!(
            matches!(&c[2], Condition::Not(inner) if matches!(**inner, Condition::Compare { op: CompareOp::LessThan, .. }))
        );
        assert!(matches!(&c[3], Condition::Or(v) if v.len() == 1));
    }

    #[test]
    fn parse_errors() {
        assert!(parse_conditions(&json!({})).is_err());
        assert!(parse_conditions(&json!([{"Type": "Bogus"}])).unwrap_err().contains("'Bogus'"));
        assert!(parse_conditions(&json!([{"Type": "Equals", "LeftValue": 1}])).unwrap_err().contains("RightValue"));
        assert!(parse_conditions(&json!([{"Type": "In", "QueryValue": 1, "Values": 3}])).is_err());
        assert!(parse_conditions(&json!([{"LeftValue": 1}])).is_err());
        assert!(parse_conditions(&json!([{"Type": "Not"}])).is_err());
    }

    #[test]
    fn comparisons() {
        let cmp = |t: &str, l: Value, r: Value| eval(json!([{"Type": t, "LeftValue": l, "RightValue": r}]));
        assert_eq!(
            cmp(
                "GreaterThan",
                json!({"Get": "Steps.L.OutputParameters['score'].Value"}),
                json!({"Get": "Parameters.Threshold"})
            ),
            Ok(true)
        );
        assert_eq!(cmp("LessThan", json!(2), json!(10)), Ok(true));
        assert_eq!(cmp("LessThan", json!("2"), json!(10)), Ok(true), "numeric string vs number");
        assert_eq!(cmp("LessThanOrEqualTo", json!(3), json!(3.0)), Ok(true));
        assert_eq!(cmp("GreaterThanOrEqualTo", json!(2.9), json!(3)), Ok(false));
        assert_eq!(cmp("GreaterThan", json!(3), json!(3)), Ok(false));
        assert_eq!(cmp("Equals", json!(3), json!(3.0)), Ok(true));
        assert_eq!(cmp("Equals", json!("3"), json!(3)), Ok(true));
        assert_eq!(cmp("Equals", json!("a"), json!("a")), Ok(true));
        assert_eq!(cmp("Equals", json!("a"), json!("b")), Ok(false));
        assert_eq!(cmp("Equals", json!(true), json!("True")), Ok(true));
        assert_eq!(cmp("Equals", json!("false"), json!(false)), Ok(true));
        assert_eq!(cmp("Equals", json!(true), json!(false)), Ok(false));
        assert_eq!(cmp("Equals", json!(true), json!(1)), Ok(false));
        let e = cmp("GreaterThan", json!("abc"), json!(5)).unwrap_err();
        assert!(e.contains("\"abc\"") && e.contains('5') && e.contains("GreaterThan"), "{e}");
        assert!(cmp("LessThan", json!({"Get": "Parameters.Missing"}), json!(1))
            .unwrap_err()
            .contains("Parameters.Missing"));
    }

    #[test]
    fn in_not_or_and() {
        assert_eq!(
            eval(json!([{"Type": "In", "QueryValue": {"Get": "Parameters.Env"}, "Values": ["dev", "prod"]}])),
            Ok(true)
        );
        assert_eq!(
            eval(json!([{"Type": "In", "QueryValue": {"Get": "Parameters.Env"}, "Values": ["dev"]}])),
            Ok(false)
        );
        assert_eq!(eval(json!([{"Type": "In", "QueryValue": 2, "Values": [1, "2"]}])), Ok(true));
        assert_eq!(
            eval(json!([{"Type": "Not", "Condition": {"Type": "In", "QueryValue": "x", "Values": ["dev"]}}])),
            Ok(true)
        );
        assert_eq!(
            eval(json!([{"Type": "Or", "Conditions": [
            {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
            {"Type": "Equals", "LeftValue": 2, "RightValue": 2}]}])),
            Ok(true)
        );
        assert_eq!(eval(json!([{"Type": "Or", "Conditions": []}])), Ok(false));
        // AND: one false makes the whole list false, and short-circuits
        assert_eq!(
            eval(json!([
            {"Type": "Equals", "LeftValue": 1, "RightValue": 1},
            {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
            {"Type": "GreaterThan", "LeftValue": "x", "RightValue": "y"}])),
            Ok(false)
        );
        assert_eq!(eval(json!([])), Ok(true));
    }
}
