//! One step of a definition and the per-step settings around its
//! `Arguments`: retry policies, caching, property files, Lambda / Callback
//! outputs, and for Condition steps their conditions and branches.
//!
//! Only the fields the dashboard and emulator act on are interpreted;
//! `Arguments` stays raw JSON because each step type (and each newer type
//! this crate has never heard of) has its own request shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::condition::{parse_conditions, Condition};
use crate::expr::{get_expressions, parse_get, Reference};
use crate::parameter::{short_json, ParameterType};

/// The exception types a retry policy may name.
pub const RETRY_EXCEPTION_TYPES: [&str; 5] = [
    "Step.SERVICE_FAULT",
    "Step.THROTTLING",
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
];

/// Largest `MaxAttempts` the service accepts.
pub const MAX_RETRY_ATTEMPTS: u32 = 20;

/// Longest step name the service accepts.
pub const MAX_STEP_NAME_LEN: usize = 64;

/// The `Type` of a step. Every type the service documents has its own arm; a newer type this crate has
/// never heard of is kept as written in `Other`, so definitions that use it still parse and display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum StepType {
    Processing,
    Training,
    Transform,
    Tuning,
    /// `Model`: creates a SageMaker model.
    Model,
    RegisterModel,
    Condition,
    Fail,
    Callback,
    Lambda,
    QualityCheck,
    ClarifyCheck,
    Emr,
    AutoMl,
    EndpointConfig,
    Endpoint,
    Other(String),
}

impl StepType {
    /// The known types, in the order the documentation lists them.
    pub const KNOWN: [StepType; 16] = [
        StepType::Processing,
        StepType::Training,
        StepType::Transform,
        StepType::Tuning,
        StepType::Model,
        StepType::RegisterModel,
        StepType::Condition,
        StepType::Fail,
        StepType::Callback,
        StepType::Lambda,
        StepType::QualityCheck,
        StepType::ClarifyCheck,
        StepType::Emr,
        StepType::AutoMl,
        StepType::EndpointConfig,
        StepType::Endpoint,
    ];

    /// Reads a `Type` as written in a definition.
    pub fn parse(s: &str) -> StepType {
        StepType::KNOWN.into_iter().find(|t| t.as_str() == s).unwrap_or_else(|| StepType::Other(s.to_string()))
    }

    /// The name as written in definitions.
    pub fn as_str(&self) -> &str {
        match self {
            StepType::Processing => "Processing",
            StepType::Training => "Training",
            StepType::Transform => "Transform",
            StepType::Tuning => "Tuning",
            StepType::Model => "Model",
            StepType::RegisterModel => "RegisterModel",
            StepType::Condition => "Condition",
            StepType::Fail => "Fail",
            StepType::Callback => "Callback",
            StepType::Lambda => "Lambda",
            StepType::QualityCheck => "QualityCheck",
            StepType::ClarifyCheck => "ClarifyCheck",
            StepType::Emr => "EMR",
            StepType::AutoMl => "AutoML",
            StepType::EndpointConfig => "EndpointConfig",
            StepType::Endpoint => "Endpoint",
            StepType::Other(s) => s,
        }
    }

    /// Steps the service runs itself, without a SageMaker job (or other resource) behind them.
    pub fn is_control_flow(&self) -> bool {
        matches!(self, StepType::Condition | StepType::Fail | StepType::Lambda | StepType::Callback)
    }

    /// Steps whose outputs are declared in the definition (`OutputParameters`) and answered at run time.
    pub fn declares_outputs(&self) -> bool {
        matches!(self, StepType::Lambda | StepType::Callback)
    }
}

impl From<String> for StepType {
    fn from(s: String) -> StepType {
        StepType::parse(&s)
    }
}

impl From<StepType> for String {
    fn from(t: StepType) -> String {
        t.as_str().to_string()
    }
}

impl std::fmt::Display for StepType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which branch of which Condition step a nested step sits in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchOf {
    pub condition: String,
    /// `true` = the Condition's `IfSteps`, `false` = its `ElseSteps`.
    pub outcome: bool,
}

/// One entry of `RetryPolicies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub exception_types: Vec<String>,
    /// Seconds before the first retry (default 1).
    pub interval_seconds: f64,
    /// Multiplier applied to the interval after each retry (default 2.0).
    pub backoff_rate: f64,
    pub max_attempts: Option<u32>,
    pub expire_after_min: Option<u32>,
}

impl RetryPolicy {
    /// `MaxAttempts` as the service applies it: 5 when neither
    /// `MaxAttempts` nor `ExpireAfterMin` is given.
    pub fn effective_max_attempts(&self) -> Option<u32> {
        match (self.max_attempts, self.expire_after_min) {
            (Some(n), _) => Some(n),
            (None, None) => Some(5),
            (None, Some(_)) => None,
        }
    }

    fn from_json(step: &str, v: &Value) -> Result<RetryPolicy, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("Step '{step}' has a retry policy that is not an object: {}", short_json(v)))?;
        let exception_types = match obj.get("ExceptionType") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(s) if RETRY_EXCEPTION_TYPES.contains(&s) => out.push(s.to_string()),
                        _ => {
                            return Err(format!(
                                "Step '{step}' retry policy has unknown ExceptionType {}: expected one of [{}]",
                                short_json(item),
                                RETRY_EXCEPTION_TYPES.join(", ")
                            ))
                        }
                    }
                }
                out
            }
            Some(other) => {
                return Err(format!(
                    "Step '{step}' retry policy ExceptionType must be a list, got {}",
                    short_json(other)
                ))
            }
        };
        let number = |name: &str, default: f64| -> Result<f64, String> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(f) if f >= 0.0 && f.is_finite() => Ok(f),
                    _ => Err(format!("Step '{step}' retry policy {name} must not be negative, got {n}")),
                },
                Some(other) => {
                    Err(format!("Step '{step}' retry policy {name} must be a number, got {}", short_json(other)))
                }
            }
        };
        let count = |name: &str| -> Result<Option<u32>, String> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n >= 1).map(Some).ok_or_else(|| {
                        format!(
                            "Step '{step}' retry policy {name} must be a positive whole number, got {}",
                            short_json(v)
                        )
                    })
                }
            }
        };
        let interval_seconds = number("IntervalSeconds", 1.0)?;
        let backoff_rate = number("BackoffRate", 2.0)?;
        let max_attempts = count("MaxAttempts")?;
        let expire_after_min = count("ExpireAfterMin")?;
        if max_attempts.is_some() && expire_after_min.is_some() {
            return Err(format!("Step '{step}' retry policy cannot have both MaxAttempts and ExpireAfterMin"));
        }
        if let Some(n) = max_attempts {
            if n > MAX_RETRY_ATTEMPTS {
                return Err(format!(
                    "Step '{step}' retry policy MaxAttempts must be at most {MAX_RETRY_ATTEMPTS}, got {n}"
                ));
            }
        }
        Ok(RetryPolicy { exception_types, interval_seconds, backoff_rate, max_attempts, expire_after_min })
    }
}

/// A step's `CacheConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheConfig {
    pub enabled: bool,
    /// The ISO-8601 duration as written (`PT1H`).
    pub expire_after: Option<String>,
    /// `expire_after` in seconds.
    pub expire_after_seconds: Option<u64>,
}

impl CacheConfig {
    fn from_json(step: &str, v: &Value) -> Result<CacheConfig, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("Step '{step}' has a CacheConfig that is not an object: {}", short_json(v)))?;
        let enabled = match obj.get("Enabled") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "Step '{step}' CacheConfig Enabled must be true or false, got {}",
                    short_json(other)
                ))
            }
        };
        let (expire_after, expire_after_seconds) = match obj.get("ExpireAfter") {
            None | Some(Value::Null) => (None, None),
            Some(Value::String(s)) => {
                let secs = parse_iso8601_duration(s).ok_or_else(|| {
                    format!("Step '{step}' CacheConfig ExpireAfter '{s}' is not an ISO-8601 duration")
                })?;
                (Some(s.clone()), Some(secs))
            }
            Some(other) => {
                return Err(format!(
                    "Step '{step}' CacheConfig ExpireAfter must be a string, got {}",
                    short_json(other)
                ))
            }
        };
        Ok(CacheConfig { enabled, expire_after, expire_after_seconds })
    }
}

/// Parses an ISO-8601 duration (`PnYnMnWnDTnHnMnS`, e.g. `P30D`, `PT1H`,
/// `P1Y2M3DT4H5M6S`, `P2W`) into seconds. A year counts 365 days, a month
/// 30 days, a week 7 days. Components must be whole numbers in order;
/// `None` for anything else, including `P`, `PT` and overflow.
pub fn parse_iso8601_duration(s: &str) -> Option<u64> {
    const DAY: u64 = 86_400;
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return None;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut total: u64 = 0;
    let mut components = 0;
    let mut add = |text: &str, units: &[(char, u64)]| -> Option<()> {
        let mut rank = 0;
        let mut num = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let pos = units.iter().position(|(u, _)| *u == c)?;
            if num.is_empty() || pos < rank {
                return None;
            }
            let n: u64 = num.parse().ok()?;
            let factor = units.get(pos)?.1;
            total = total.checked_add(n.checked_mul(factor)?)?;
            components += 1;
            rank = pos + 1;
            num.clear();
        }
        if num.is_empty() {
            Some(())
        } else {
            None
        }
    };
    add(date, &[('Y', 365 * DAY), ('M', 30 * DAY), ('W', 7 * DAY), ('D', DAY)])?;
    if let Some(t) = time {
        add(t, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    if components == 0 {
        return None;
    }
    Some(total)
}

/// One entry of a Processing step's `PropertyFiles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyFileDef {
    pub property_file_name: String,
    pub output_name: String,
    pub file_path: String,
}

/// One entry of a Lambda / Callback step's `OutputParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputParameterDef {
    pub output_name: String,
    /// Declared like a parameter's type (default `String`).
    pub output_type: ParameterType,
}

/// One step, top-level or nested in a Condition branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDef {
    pub name: String,
    pub step_type: StepType,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// The step's `Arguments` (an empty object when absent). For Condition
    /// steps `IfSteps` / `ElseSteps` are removed: the nested steps are
    /// steps of their own, and the original stays in `raw`.
    pub arguments: Value,
    pub depends_on: Vec<String>,
    pub retry_policies: Vec<RetryPolicy>,
    pub cache: Option<CacheConfig>,
    pub property_files: Vec<PropertyFileDef>,
    pub function_arn: Option<String>,
    pub sqs_queue_url: Option<String>,
    pub output_parameters: Vec<OutputParameterDef>,
    pub timeout_seconds: Option<u64>,
    pub branch: Option<BranchOf>,
    /// For Condition steps: the AND-ed conditions.
    pub conditions: Vec<Condition>,
    /// For Condition steps: names of the steps directly in `IfSteps`.
    pub if_steps: Vec<String>,
    /// For Condition steps: names of the steps directly in `ElseSteps`.
    pub else_steps: Vec<String>,
    /// Every `Get` string in the step (excluding nested branch steps), in
    /// document order, as written.
    pub gets: Vec<String>,
    /// The well-formed references among `gets`, deduplicated.
    pub references: Vec<Reference>,
    /// The step object exactly as in the definition.
    pub raw: Value,
}

impl StepDef {
    pub fn is_condition(&self) -> bool {
        self.step_type == StepType::Condition
    }

    /// The steps named by this step's `Get` expressions, deduplicated.
    pub fn referenced_steps(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.references {
            if let Some(s) = r.step_name() {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// `DisplayName` or else the name, for labels.
    pub fn label(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

/// `[A-Za-z0-9\-_]{1,64}`, the service's pattern for step names.
pub fn valid_step_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STEP_NAME_LEN
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn opt_string(obj: &Map<String, Value>, step: &str, field: &str) -> Result<Option<String>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("Step '{step}' {field} must be a string, got {}", short_json(other))),
    }
}

fn list<'a>(obj: &'a Map<String, Value>, step: &str, field: &str) -> Result<&'a [Value], String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("Step '{step}' {field} must be a list, got {}", short_json(other))),
    }
}

fn required_str(obj: &Map<String, Value>, step: &str, what: &str, field: &str) -> Result<String, String> {
    obj.get(field)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| format!("Step '{step}' has {what} without a string {field}"))
}

/// Reads the name of a step object, checking it.
pub(crate) fn step_name(v: &Value) -> Result<String, String> {
    let obj = v.as_object().ok_or_else(|| format!("Step must be an object, got {}", short_json(v)))?;
    match obj.get("Name") {
        Some(Value::String(s)) if valid_step_name(s) => Ok(s.clone()),
        Some(Value::String(s)) => Err(format!(
            "Step name '{s}' is invalid: it must be 1 to {MAX_STEP_NAME_LEN} characters of A-Z, a-z, 0-9, '-' or '_'"
        )),
        Some(other) => Err(format!("Step Name must be a string, got {}", short_json(other))),
        None => Err(format!("Step is missing Name: {}", short_json(v))),
    }
}

impl StepDef {
    /// Parses one step object. Nested branch steps are not parsed here; their
    /// names are recorded in `if_steps` / `else_steps` and the caller parses
    /// them (see `crate::definition`).
    pub fn from_json(v: &Value, branch: Option<BranchOf>) -> Result<StepDef, String> {
        let name = step_name(v)?;
        let obj = v.as_object().ok_or_else(|| format!("Step '{name}' must be an object"))?;
        let step_type = match obj.get("Type") {
            Some(Value::String(t)) if !t.is_empty() => StepType::parse(t),
            Some(other) => return Err(format!("Step '{name}' has an invalid Type {}", short_json(other))),
            None => return Err(format!("Step '{name}' is missing Type")),
        };
        let is_condition = step_type == StepType::Condition;
        let mut arguments = match obj.get("Arguments") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(a) => a.clone(),
        };
        let mut conditions = Vec::new();
        let mut if_steps = Vec::new();
        let mut else_steps = Vec::new();
        if is_condition {
            let args = arguments.as_object_mut().ok_or_else(|| format!("Step '{name}' Arguments must be an object"))?;
            for (field, names) in [("IfSteps", &mut if_steps), ("ElseSteps", &mut else_steps)] {
                match args.remove(field) {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(items)) => {
                        for item in &items {
                            names.push(step_name(item)?);
                        }
                    }
                    Some(other) => {
                        return Err(format!("Step '{name}' {field} must be a list, got {}", short_json(&other)))
                    }
                }
            }
            conditions = match args.get("Conditions") {
                None | Some(Value::Null) => Vec::new(),
                Some(c) => parse_conditions(c).map_err(|e| format!("Step '{name}' has invalid Conditions: {e}"))?,
            };
        }

        let mut depends_on = Vec::new();
        for d in list(obj, &name, "DependsOn")? {
            match d.as_str() {
                Some(s) => depends_on.push(s.to_string()),
                None => return Err(format!("Step '{name}' DependsOn must list step names, got {}", short_json(d))),
            }
        }
        let retry_policies = list(obj, &name, "RetryPolicies")?
            .iter()
            .map(|p| RetryPolicy::from_json(&name, p))
            .collect::<Result<Vec<_>, _>>()?;
        let cache = match obj.get("CacheConfig") {
            None | Some(Value::Null) => None,
            Some(c) => Some(CacheConfig::from_json(&name, c)?),
        };
        let mut property_files = Vec::new();
        for p in list(obj, &name, "PropertyFiles")? {
            let o = p
                .as_object()
                .ok_or_else(|| format!("Step '{name}' has a property file that is not an object: {}", short_json(p)))?;
            property_files.push(PropertyFileDef {
                property_file_name: required_str(o, &name, "a property file", "PropertyFileName")?,
                output_name: required_str(o, &name, "a property file", "OutputName")?,
                file_path: required_str(o, &name, "a property file", "FilePath")?,
            });
        }
        let mut output_parameters = Vec::new();
        for p in list(obj, &name, "OutputParameters")? {
            let o = p.as_object().ok_or_else(|| {
                format!("Step '{name}' has an output parameter that is not an object: {}", short_json(p))
            })?;
            let output_type = match o.get("OutputType") {
                None | Some(Value::Null) => ParameterType::String,
                Some(Value::String(t)) => ParameterType::from_name(t).ok_or_else(|| {
                    format!(
                        "Step '{name}' output parameter has unknown OutputType '{t}': expected String, Integer, Float or Boolean"
                    )
                })?,
                Some(other) => {
                    return Err(format!(
                        "Step '{name}' output parameter OutputType must be a string, got {}",
                        short_json(other)
                    ))
                }
            };
            output_parameters.push(OutputParameterDef {
                output_name: required_str(o, &name, "an output parameter", "OutputName")?,
                output_type,
            });
        }
        let timeout_seconds = match obj.get("Timeout") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(_) => None,
        };

        // The step's own expressions: everything but its nested steps.
        let mut own = obj.clone();
        own.insert("Arguments".to_string(), arguments.clone());
        let gets = get_expressions(&Value::Object(own));
        let mut references: Vec<Reference> = Vec::new();
        for g in &gets {
            if let Ok(r) = parse_get(g) {
                if !references.contains(&r) {
                    references.push(r);
                }
            }
        }

        Ok(StepDef {
            display_name: opt_string(obj, &name, "DisplayName")?,
            description: opt_string(obj, &name, "Description")?,
            function_arn: opt_string(obj, &name, "FunctionArn")?,
            sqs_queue_url: opt_string(obj, &name, "SqsQueueUrl")?,
            name,
            step_type,
            arguments,
            depends_on,
            retry_policies,
            cache,
            property_files,
            output_parameters,
            timeout_seconds,
            branch,
            conditions,
            if_steps,
            else_steps,
            gets,
            references,
            raw: v.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn step_types_read_and_write_as_the_definition_spells_them() {
        for t in StepType::KNOWN {
            assert_eq!(StepType::parse(t.as_str()), t);
            assert_eq!(serde_json::to_value(&t).unwrap(), json!(t.as_str()));
        }
        assert_eq!(StepType::parse("EMR"), StepType::Emr);
        assert_eq!(StepType::parse("AutoML"), StepType::AutoMl);
        // Case matters, as in the service; anything else is kept as written.
        assert_eq!(StepType::parse("training"), StepType::Other("training".into()));
        let future: StepType = serde_json::from_value(json!("BedrockThing")).unwrap();
        assert_eq!(future, StepType::Other("BedrockThing".into()));
        assert_eq!(future.to_string(), "BedrockThing");
        assert!(StepType::Callback.is_control_flow() && !StepType::Training.is_control_flow());
    }

    #[test]
    fn an_unknown_output_type_is_refused_with_its_name() {
        let e = StepDef::from_json(
            &json!({"Name": "L", "Type": "Lambda", "OutputParameters": [{"OutputName": "x", "OutputType": "Decimal"}]}),
            None,
        )
        .unwrap_err();
        assert!(e.contains("unknown OutputType 'Decimal'"), "{e}");
    }

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso8601_duration("PT1H"), Some(3600));
        assert_eq!(parse_iso8601_duration("P30D"), Some(30 * 86400));
        assert_eq!(parse_iso8601_duration("PT90M"), Some(5400));
        assert_eq!(parse_iso8601_duration("PT45S"), Some(45));
        assert_eq!(parse_iso8601_duration("P2W"), Some(14 * 86400));
        assert_eq!(parse_iso8601_duration("P1Y"), Some(365 * 86400));
        assert_eq!(parse_iso8601_duration("P1M"), Some(30 * 86400));
        assert_eq!(
            parse_iso8601_duration("P1Y2M3DT4H5M6S"),
            Some(365 * 86400 + 60 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6)
        );
        assert_eq!(parse_iso8601_duration("P1DT1M"), Some(86400 + 60));
        for bad in [
            "",
            "P",
            "PT",
            "P1DT",
            "1H",
            "PT1",
            "P1H",
            "PTH",
            "P1D2Y",
            "PT1S1H",
            "PT-1H",
            "P1.5D",
            "pt1h",
            "P99999999999999999999D",
            "P999999999999999Y",
        ] {
            assert_eq!(parse_iso8601_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn retry_policy_rules() {
        let p = RetryPolicy::from_json("S", &json!({"ExceptionType": ["Step.THROTTLING"]})).unwrap();
        assert_eq!(p.interval_seconds, 1.0);
        assert_eq!(p.backoff_rate, 2.0);
        assert_eq!(p.max_attempts, None);
        assert_eq!(p.effective_max_attempts(), Some(5));
        let e = RetryPolicy::from_json("S", &json!({"ExceptionType": [], "MaxAttempts": 3, "ExpireAfterMin": 10}))
            .unwrap_err();
        assert_eq!(e, "Step 'S' retry policy cannot have both MaxAttempts and ExpireAfterMin");
        let e = RetryPolicy::from_json("S", &json!({"MaxAttempts": 21})).unwrap_err();
        assert_eq!(e, "Step 'S' retry policy MaxAttempts must be at most 20, got 21");
        assert!(RetryPolicy::from_json("S", &json!({"MaxAttempts": 20})).is_ok());
        assert!(RetryPolicy::from_json("S", &json!({"MaxAttempts": 0})).is_err());
        assert!(RetryPolicy::from_json("S", &json!({"ExceptionType": ["Step.BOGUS"]}))
            .unwrap_err()
            .contains("Step.BOGUS"));
        let p = RetryPolicy::from_json("S", &json!({"ExpireAfterMin": 120, "IntervalSeconds": 60})).unwrap();
        assert_eq!(p.effective_max_attempts(), None);
        assert_eq!(p.expire_after_min, Some(120));
        assert_eq!(p.interval_seconds, 60.0);
    }

    #[test]
    fn parses_lambda_step() {
        let s = StepDef::from_json(
            &json!({
                "Name": "L", "Type": "Lambda", "DisplayName": "Score",
                "Arguments": {"x": {"Get": "Parameters.P"}, "y": {"Get": "Steps.A.OutputParameters['z']"}},
                "DependsOn": ["A", "B"],
                "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
                "OutputParameters": [{"OutputName": "score", "OutputType": "Float"}, {"OutputName": "s"}],
                "Timeout": 300,
                "CacheConfig": {"Enabled": true, "ExpireAfter": "P30D"}
            }),
            None,
        )
        .unwrap();
        assert_eq!(s.step_type, StepType::Lambda);
        assert_eq!(s.label(), "Score");
        assert_eq!(s.depends_on, ["A", "B"]);
        assert_eq!(s.timeout_seconds, Some(300));
        assert_eq!(s.output_parameters[1].output_type, ParameterType::String);
        assert_eq!(s.cache.as_ref().and_then(|c| c.expire_after_seconds), Some(30 * 86400));
        assert_eq!(s.referenced_steps(), ["A"]);
        assert_eq!(s.references.len(), 2);
    }

    #[test]
    fn condition_step_splits_branches() {
        let s = StepDef::from_json(
            &json!({
                "Name": "C", "Type": "Condition",
                "Arguments": {
                    "Conditions": [{"Type": "Equals", "LeftValue": {"Get": "Steps.A.Outcome"}, "RightValue": true}],
                    "IfSteps": [{"Name": "I", "Type": "Fail", "Arguments": {"ErrorMessage": {"Get": "Steps.Z.X"}}}],
                    "ElseSteps": [{"Name": "E1", "Type": "Fail"}, {"Name": "E2", "Type": "Fail"}]
                }
            }),
            None,
        )
        .unwrap();
        assert!(s.is_condition());
        assert_eq!(s.if_steps, ["I"]);
        assert_eq!(s.else_steps, ["E1", "E2"]);
        assert_eq!(s.conditions.len(), 1);
        assert_eq!(s.referenced_steps(), ["A"], "nested steps' Gets are not the condition's");
        assert!(s.arguments.get("IfSteps").is_none());
        assert!(s.raw["Arguments"].get("IfSteps").is_some());
    }

    #[test]
    fn step_errors() {
        assert!(StepDef::from_json(&json!({"Type": "Fail"}), None).unwrap_err().contains("missing Name"));
        assert!(StepDef::from_json(&json!({"Name": "A"}), None).unwrap_err().contains("missing Type"));
        assert!(StepDef::from_json(&json!({"Name": "a b", "Type": "Fail"}), None).unwrap_err().contains("invalid"));
        assert!(StepDef::from_json(&json!({"Name": "x".repeat(65), "Type": "Fail"}), None).is_err());
        assert!(StepDef::from_json(&json!({"Name": "x".repeat(64), "Type": "Fail"}), None).is_ok());
        assert!(StepDef::from_json(&json!({"Name": "A", "Type": "Fail", "DependsOn": "B"}), None).is_err());
        assert!(StepDef::from_json(&json!({"Name": "A", "Type": "Fail", "DependsOn": [1]}), None).is_err());
        assert!(StepDef::from_json(
            &json!({"Name": "A", "Type": "Fail", "CacheConfig": {"Enabled": true, "ExpireAfter": "1 hour"}}),
            None
        )
        .unwrap_err()
        .contains("ISO-8601"));
        assert!(StepDef::from_json(
            &json!({"Name": "A", "Type": "Condition", "Arguments": {"Conditions": [{"Type": "Nope"}]}}),
            None
        )
        .unwrap_err()
        .contains("invalid Conditions"));
        assert!(StepDef::from_json(
            &json!({"Name": "A", "Type": "Processing", "PropertyFiles": [{"PropertyFileName": "R"}]}),
            None
        )
        .is_err());
        // unknown step types are kept
        let s = StepDef::from_json(&json!({"Name": "A", "Type": "FutureThing"}), None).unwrap();
        assert_eq!(s.step_type, StepType::Other("FutureThing".into()));
        assert_eq!(s.arguments, json!({}));
    }
}
