//! Pipeline parameters: their declarations, typed values and the merging of
//! defaults with the overrides given to `StartPipelineExecution`.
//!
//! Parameter values always travel as strings on the wire (the
//! `PipelineParameters` list of `StartPipelineExecution`), while defaults in
//! the definition are typed JSON values. This module converts between the two
//! and reproduces the service's validation messages, because the dashboard
//! shows them to users exactly as SageMaker would.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The four parameter types a definition may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ParameterType {
    String,
    Integer,
    Float,
    Boolean,
}

impl ParameterType {
    /// Parses the `Type` field of a parameter declaration.
    pub fn from_name(name: &str) -> Option<ParameterType> {
        match name {
            "String" => Some(ParameterType::String),
            "Integer" => Some(ParameterType::Integer),
            "Float" => Some(ParameterType::Float),
            "Boolean" => Some(ParameterType::Boolean),
            _ => None,
        }
    }

    /// The name as written in definitions and error messages.
    pub fn name(self) -> &'static str {
        match self {
            ParameterType::String => "String",
            ParameterType::Integer => "Integer",
            ParameterType::Float => "Float",
            ParameterType::Boolean => "Boolean",
        }
    }
}

impl fmt::Display for ParameterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of the definition's `Parameters` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterDef {
    pub name: String,
    pub ty: ParameterType,
    /// Canonical string form of `DefaultValue` (`false`, `6.0`, `1`, ...);
    /// `None` means the parameter must be supplied when an execution starts.
    pub default: Option<String>,
    /// Allowed values in canonical string form, when `EnumValues` is given.
    pub enum_values: Option<Vec<String>>,
}

impl ParameterDef {
    /// The default as a typed value, if there is one.
    pub fn default_value(&self) -> Option<TypedValue> {
        self.default.as_deref().and_then(|d| parse_value(self.ty, d).ok())
    }

    /// Parses one `Parameters` entry of a definition.
    pub fn from_json(v: &Value) -> Result<ParameterDef, String> {
        let obj = v.as_object().ok_or_else(|| format!("Parameter must be an object, got {}", short_json(v)))?;
        let name = match obj.get("Name") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(format!("Parameter Name must be a string, got {}", short_json(other))),
            None => return Err("Parameter is missing Name".to_string()),
        };
        if !valid_parameter_name(&name) {
            return Err(format!(
                "Parameter name '{name}' is invalid: it must be 1 to {} characters of A-Z, a-z, 0-9, '-' or '_'",
                crate::limits::PARAMETER_NAME_MAX
            ));
        }
        // The SDK always writes Type; a missing Type is read as String, the
        // service's own default.
        let ty = match obj.get("Type") {
            None | Some(Value::Null) => ParameterType::String,
            Some(Value::String(t)) => ParameterType::from_name(t).ok_or_else(|| {
                format!("Parameter '{name}' has unknown type '{t}': expected String, Integer, Float or Boolean")
            })?,
            Some(other) => return Err(format!("Parameter '{name}' has an invalid Type {}", short_json(other))),
        };
        let enum_values = match obj.get("EnumValues") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.is_empty() => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let canon = canonical_json(ty, item).ok_or_else(|| {
                        format!(
                            "Parameter '{name}' has an enum value of the wrong type: expected {ty}, got {}",
                            short_json(item)
                        )
                    })?;
                    out.push(canon);
                }
                Some(out)
            }
            Some(other) => {
                return Err(format!("Parameter '{name}' has invalid EnumValues {}: expected a list", short_json(other)))
            }
        };
        let default = match obj.get("DefaultValue") {
            None | Some(Value::Null) => None,
            Some(d) => Some(canonical_json(ty, d).ok_or_else(|| {
                format!("Parameter '{name}' has a default of the wrong type: expected {ty}, got {}", short_json(d))
            })?),
        };
        let def = ParameterDef { name, ty, default, enum_values };
        if let (Some(d), Some(allowed)) = (&def.default, &def.enum_values) {
            if !in_enum(ty, d, allowed) {
                return Err(format!(
                    "Parameter '{}' has a default '{d}' that is not one of [{}]",
                    def.name,
                    allowed.join(", ")
                ));
            }
        }
        Ok(def)
    }
}

/// `[A-Za-z0-9\-_]{1,256}`, the service's pattern for parameter names.
pub fn valid_parameter_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= crate::limits::PARAMETER_NAME_MAX
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A parameter value with its type applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TypedValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

impl TypedValue {
    /// The JSON form a `{"Get": "Parameters.X"}` expression evaluates to.
    pub fn to_json(&self) -> Value {
        match self {
            TypedValue::String(s) => Value::String(s.clone()),
            TypedValue::Integer(i) => Value::from(*i),
            TypedValue::Float(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
            TypedValue::Boolean(b) => Value::Bool(*b),
        }
    }

    /// Canonical string form: Float `6` prints as `6.0`, Boolean as
    /// `true`/`false`; this is what the dashboard stores and displays.
    pub fn canonical(&self) -> String {
        match self {
            TypedValue::String(s) => s.clone(),
            TypedValue::Integer(i) => i.to_string(),
            TypedValue::Float(f) => canonical_float(*f),
            TypedValue::Boolean(b) => b.to_string(),
        }
    }
}

impl fmt::Display for TypedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// Python-like float printing (`6.0`, `0.5`) so defaults read as the SDK
/// user wrote them.
fn canonical_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Parses a wire (string) value as the given type.
///
/// Booleans accept `true`/`false` in any letter case, because the Python SDK
/// sends `str(True)` = `"True"`. Floats must be finite decimal numbers
/// (`NaN`/`inf` are rejected although Rust would parse them).
pub fn parse_value(ty: ParameterType, raw: &str) -> Result<TypedValue, String> {
    let bad = || format!("'{raw}' is not a valid {ty}");
    match ty {
        ParameterType::String => Ok(TypedValue::String(raw.to_string())),
        ParameterType::Integer => raw.parse::<i64>().map(TypedValue::Integer).map_err(|_| bad()),
        ParameterType::Float => {
            let plausible =
                !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'));
            match raw.parse::<f64>() {
                Ok(f) if plausible && f.is_finite() => Ok(TypedValue::Float(f)),
                _ => Err(bad()),
            }
        }
        ParameterType::Boolean => {
            if raw.eq_ignore_ascii_case("true") {
                Ok(TypedValue::Boolean(true))
            } else if raw.eq_ignore_ascii_case("false") {
                Ok(TypedValue::Boolean(false))
            } else {
                Err(bad())
            }
        }
    }
}

/// Canonical string of a JSON `DefaultValue` / enum value, or `None` if the
/// JSON value is not of the declared type.
fn canonical_json(ty: ParameterType, v: &Value) -> Option<String> {
    match (ty, v) {
        (ParameterType::String, Value::String(s)) => Some(s.clone()),
        (ParameterType::Integer, Value::Number(n)) => n.as_i64().map(|i| i.to_string()),
        (ParameterType::Float, Value::Number(n)) => n.as_f64().map(canonical_float),
        (ParameterType::Boolean, Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether `value` is among `allowed`, comparing typed values so that Float
/// `1` matches an enum value `1.0`.
fn in_enum(ty: ParameterType, value: &str, allowed: &[String]) -> bool {
    match parse_value(ty, value) {
        Ok(tv) => allowed.iter().any(|a| parse_value(ty, a).map(|av| av == tv).unwrap_or(false)),
        Err(_) => false,
    }
}

/// JSON text of a value, shortened for error messages.
pub(crate) fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// A rejected `StartPipelineExecution` parameter list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterError {
    /// The parameter the message is about.
    pub parameter: String,
    pub message: String,
}

impl fmt::Display for ParameterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParameterError {}

/// The value one parameter takes in an execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedParameter {
    pub name: String,
    /// The override exactly as given, or the canonical default.
    pub value: String,
    /// True when the value came from the start request, not the default.
    pub overridden: bool,
}

/// Checks a single value for a parameter, for live validation of one field
/// of a start-execution form. An empty value is rejected (the service's
/// length constraint).
pub fn check_value(def: &ParameterDef, raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err(format!("Value for parameter '{}' must not be empty", def.name));
    }
    check_typed(def, raw)
}

fn check_typed(def: &ParameterDef, raw: &str) -> Result<(), String> {
    if parse_value(def.ty, raw).is_err() {
        return Err(format!("Value '{raw}' for parameter '{}' is not a valid {}", def.name, def.ty));
    }
    if let Some(allowed) = &def.enum_values {
        if !in_enum(def.ty, raw, allowed) {
            return Err(format!("Value '{raw}' for parameter '{}' is not one of [{}]", def.name, allowed.join(", ")));
        }
    }
    Ok(())
}

/// Merges the definition's defaults with the overrides of a start request,
/// checking them the way `StartPipelineExecution` does.
///
/// Checks run in this order: empty values (the API's length constraint,
/// checked for the whole list first), then for each override in order:
/// duplicate name, unknown name, type, enum; finally required parameters
/// that have no default and were not given. The result lists every declared
/// parameter in definition order.
pub fn resolve_parameters(
    defs: &[ParameterDef],
    overrides: &[(String, String)],
) -> Result<Vec<ResolvedParameter>, ParameterError> {
    for (i, (name, value)) in overrides.iter().enumerate() {
        if value.is_empty() {
            return Err(ParameterError {
                parameter: name.clone(),
                message: format!(
                    "1 validation error detected: Value '' at 'pipelineParameters.{}.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1",
                    i + 1
                ),
            });
        }
    }
    for (i, (name, value)) in overrides.iter().enumerate() {
        if overrides.iter().take(i).any(|(n, _)| n == name) {
            return Err(ParameterError {
                parameter: name.clone(),
                message: format!("Parameter '{name}' is specified more than once"),
            });
        }
        let def = defs.iter().find(|d| &d.name == name).ok_or_else(|| ParameterError {
            parameter: name.clone(),
            message: format!("Unknown parameter '{name}'"),
        })?;
        check_typed(def, value).map_err(|message| ParameterError { parameter: name.clone(), message })?;
    }
    let mut out = Vec::with_capacity(defs.len());
    for def in defs {
        let given = overrides.iter().find(|(n, _)| n == &def.name);
        let resolved = match (given, &def.default) {
            (Some((_, v)), _) => ResolvedParameter { name: def.name.clone(), value: v.clone(), overridden: true },
            (None, Some(d)) => ResolvedParameter { name: def.name.clone(), value: d.clone(), overridden: false },
            (None, None) => {
                return Err(ParameterError {
                    parameter: def.name.clone(),
                    message: format!("Parameter '{}' is undefined.", def.name),
                })
            }
        };
        out.push(resolved);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(name: &str, ty: ParameterType, default: Option<&str>) -> ParameterDef {
        ParameterDef { name: name.into(), ty, default: default.map(String::from), enum_values: None }
    }

    #[test]
    fn canonical_defaults() {
        let p = ParameterDef::from_json(&json!({"Name":"B","Type":"Boolean","DefaultValue":false})).unwrap();
        assert_eq!(p.default.as_deref(), Some("false"));
        let p = ParameterDef::from_json(&json!({"Name":"F","Type":"Float","DefaultValue":6.0})).unwrap();
        assert_eq!(p.default.as_deref(), Some("6.0"));
        let p = ParameterDef::from_json(&json!({"Name":"F","Type":"Float","DefaultValue":0.5})).unwrap();
        assert_eq!(p.default.as_deref(), Some("0.5"));
        let p = ParameterDef::from_json(&json!({"Name":"F","Type":"Float","DefaultValue":6})).unwrap();
        assert_eq!(p.default.as_deref(), Some("6.0"));
        let p = ParameterDef::from_json(&json!({"Name":"I","Type":"Integer","DefaultValue":1})).unwrap();
        assert_eq!(p.default.as_deref(), Some("1"));
        assert_eq!(p.default_value(), Some(TypedValue::Integer(1)));
        let p = ParameterDef::from_json(&json!({"Name":"S","Type":"String"})).unwrap();
        assert_eq!(p.default, None);
    }

    #[test]
    fn wrong_default_type() {
        let e = ParameterDef::from_json(&json!({"Name":"P","Type":"Float","DefaultValue":"abc"})).unwrap_err();
        assert_eq!(e, "Parameter 'P' has a default of the wrong type: expected Float, got \"abc\"");
        let e = ParameterDef::from_json(&json!({"Name":"I","Type":"Integer","DefaultValue":1.5})).unwrap_err();
        assert!(e.contains("expected Integer, got 1.5"), "{e}");
        let e = ParameterDef::from_json(&json!({"Name":"B","Type":"Boolean","DefaultValue":"false"})).unwrap_err();
        assert!(e.contains("expected Boolean"), "{e}");
    }

    #[test]
    fn bad_names_and_types() {
        let e = ParameterDef::from_json(&json!({"Name":"a b","Type":"String"})).unwrap_err();
        assert!(e.contains("'a b' is invalid"), "{e}");
        let long = "x".repeat(257);
        assert!(ParameterDef::from_json(&json!({"Name": long, "Type":"String"})).is_err());
        assert!(ParameterDef::from_json(&json!({"Name": "x".repeat(256), "Type":"String"})).is_ok());
        let e = ParameterDef::from_json(&json!({"Name":"P","Type":"Decimal"})).unwrap_err();
        assert!(e.contains("unknown type 'Decimal'"), "{e}");
        assert!(ParameterDef::from_json(&json!({"Type":"String"})).is_err());
        assert!(ParameterDef::from_json(&json!("P")).is_err());
    }

    #[test]
    fn default_must_be_in_enum() {
        let e = ParameterDef::from_json(
            &json!({"Name":"E","Type":"String","DefaultValue":"qa","EnumValues":["dev","prod"]}),
        )
        .unwrap_err();
        assert_eq!(e, "Parameter 'E' has a default 'qa' that is not one of [dev, prod]");
        let ok = ParameterDef::from_json(&json!({"Name":"E","Type":"Float","DefaultValue":1,"EnumValues":[1.0, 2.5]}))
            .unwrap();
        assert_eq!(ok.enum_values, Some(vec!["1.0".into(), "2.5".into()]));
    }

    #[test]
    fn parse_values() {
        assert_eq!(parse_value(ParameterType::Boolean, "True"), Ok(TypedValue::Boolean(true)));
        assert_eq!(parse_value(ParameterType::Boolean, "false"), Ok(TypedValue::Boolean(false)));
        assert!(parse_value(ParameterType::Boolean, "yes").is_err());
        assert_eq!(parse_value(ParameterType::Integer, "-3"), Ok(TypedValue::Integer(-3)));
        assert!(parse_value(ParameterType::Integer, "3.0").is_err());
        assert_eq!(parse_value(ParameterType::Float, "3"), Ok(TypedValue::Float(3.0)));
        assert_eq!(parse_value(ParameterType::Float, "1e3"), Ok(TypedValue::Float(1000.0)));
        assert!(parse_value(ParameterType::Float, "NaN").is_err());
        assert!(parse_value(ParameterType::Float, "inf").is_err());
        assert!(parse_value(ParameterType::Float, "").is_err());
        assert_eq!(parse_value(ParameterType::String, "x").map(|v| v.to_json()), Ok(json!("x")));
        assert_eq!(TypedValue::Float(0.5).to_json(), json!(0.5));
        assert_eq!(TypedValue::Integer(7).to_json(), json!(7));
        assert_eq!(TypedValue::Boolean(true).to_json(), json!(true));
        assert_eq!(TypedValue::Float(6.0).canonical(), "6.0");
    }

    fn defs() -> Vec<ParameterDef> {
        vec![
            def("Count", ParameterType::Integer, Some("1")),
            def("Threshold", ParameterType::Float, Some("6.0")),
            def("Required", ParameterType::String, None),
            ParameterDef {
                name: "Env".into(),
                ty: ParameterType::String,
                default: Some("dev".into()),
                enum_values: Some(vec!["dev".into(), "staging".into(), "prod".into()]),
            },
            def("Flag", ParameterType::Boolean, Some("false")),
        ]
    }

    fn ov(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn resolve_merges_in_definition_order() {
        let r = resolve_parameters(&defs(), &ov(&[("Flag", "True"), ("Required", "x")])).unwrap();
        let names: Vec<_> = r.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Count", "Threshold", "Required", "Env", "Flag"]);
        assert_eq!(r[4].value, "True");
        assert!(r[4].overridden);
        assert_eq!(r[1].value, "6.0");
        assert!(!r[1].overridden);
    }

    #[test]
    fn resolve_errors() {
        let d = defs();
        let e = resolve_parameters(&d, &ov(&[("Required", "x"), ("Nope", "1")])).unwrap_err();
        assert_eq!(e.message, "Unknown parameter 'Nope'");
        assert_eq!(e.parameter, "Nope");

        let e = resolve_parameters(&d, &[]).unwrap_err();
        assert_eq!(e.message, "Parameter 'Required' is undefined.");

        let e = resolve_parameters(&d, &ov(&[("Required", "x"), ("Count", "")])).unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value '' at 'pipelineParameters.2.member.value' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );

        let e = resolve_parameters(&d, &ov(&[("Required", "x"), ("Count", "abc")])).unwrap_err();
        assert_eq!(e.message, "Value 'abc' for parameter 'Count' is not a valid Integer");
        let e = resolve_parameters(&d, &ov(&[("Threshold", "high"), ("Required", "x")])).unwrap_err();
        assert_eq!(e.message, "Value 'high' for parameter 'Threshold' is not a valid Float");
        let e = resolve_parameters(&d, &ov(&[("Flag", "yes"), ("Required", "x")])).unwrap_err();
        assert_eq!(e.message, "Value 'yes' for parameter 'Flag' is not a valid Boolean");

        let e = resolve_parameters(&d, &ov(&[("Required", "x"), ("Env", "qa")])).unwrap_err();
        assert_eq!(e.message, "Value 'qa' for parameter 'Env' is not one of [dev, staging, prod]");

        let e = resolve_parameters(&d, &ov(&[("Required", "x"), ("Required", "y")])).unwrap_err();
        assert!(e.message.contains("'Required'") && e.message.contains("more than once"));
    }

    #[test]
    fn check_value_single_field() {
        let d = defs();
        assert!(check_value(&d[0], "12").is_ok());
        assert!(check_value(&d[0], "1.2").is_err());
        assert!(check_value(&d[0], "").is_err());
        assert!(check_value(&d[3], "prod").is_ok());
        assert!(check_value(&d[3], "Prod").unwrap_err().contains("is not one of"));
    }
}
