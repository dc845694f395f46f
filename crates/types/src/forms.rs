//! The write forms and their checks. Pure functions over the pipeline definition (`crates/definition`),
//! compiled into both the browser (instant feedback) and the server (the authority), so both say the same
//! thing about the same field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stepline_definition::{check_selection, check_value, limits, parse_value, Definition, Graph, ParameterType};

/// A message about one field of a form, named as the form names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), message: message.into() }
}

/// Everything the start form sends. Values arrive as typed, as strings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StartForm {
    pub pipeline: String,
    /// The idempotency token made when the form was rendered.
    pub token: String,
    pub display_name: String,
    pub description: String,
    pub max_parallel: String,
    pub version: String,
    pub mlflow_experiment: String,
    /// Parameter values by name.
    pub params: BTreeMap<String, String>,
    /// For a selective run: the execution whose outputs unselected steps reuse (id or ARN).
    pub source: String,
    /// For a selective run: the chosen steps (checkboxes: name → "on").
    pub steps: BTreeMap<String, String>,
}

/// A checked start request, ready for StartPipelineExecution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub parallelism: Option<i32>,
    pub version: Option<i64>,
    pub mlflow_experiment: Option<String>,
    /// Only values that differ from the definition's defaults (and required ones).
    pub overrides: Vec<(String, String)>,
    /// Selected steps, in definition order, and the source execution as typed.
    pub selective: Option<(Vec<String>, Option<String>)>,
}

/// The API's pattern for execution display names: `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}`.
pub fn valid_display_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= limits::DISPLAY_NAME_MAX
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

pub fn valid_token(s: &str) -> bool {
    (limits::CLIENT_TOKEN_MIN..=limits::CLIENT_TOKEN_MAX).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic())
}

/// Check a start form against the definition; every problem is reported, each naming its field.
pub fn check_start(form: &StartForm, def: &Definition, graph: &Graph) -> Result<StartRequest, Vec<FieldError>> {
    let mut errors = vec![];
    if !valid_token(&form.token) {
        errors.push(err("token", "The form is out of date: reload the page and submit again."));
    }
    let display_name = form.display_name.trim();
    if !display_name.is_empty() && !valid_display_name(display_name) {
        errors.push(err(
            "display_name",
            format!(
                "Display name: use 1 to {} letters, digits and hyphens, starting and ending with a letter or digit.",
                limits::DISPLAY_NAME_MAX
            ),
        ));
    }
    if form.description.chars().count() > limits::DESCRIPTION_MAX {
        errors.push(err(
            "description",
            format!(
                "Description: {} characters, at most {}.",
                form.description.chars().count(),
                limits::DESCRIPTION_MAX
            ),
        ));
    }
    let parallelism = match form.max_parallel.trim() {
        "" => None,
        t => match t.parse::<i32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errors.push(err(
                    "max_parallel",
                    format!("Parallel steps: '{}' is not a whole number of at least 1.", short(t)),
                ));
                None
            }
        },
    };
    let version = match form.version.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errors.push(err("version", format!("Pipeline version: '{}' is not a version number.", short(t))));
                None
            }
        },
    };
    let mlflow = form.mlflow_experiment.trim();
    if mlflow.chars().count() > limits::MLFLOW_EXPERIMENT_MAX {
        errors.push(err(
            "mlflow_experiment",
            format!("MLflow experiment: at most {} characters.", limits::MLFLOW_EXPERIMENT_MAX),
        ));
    }
    for name in form.params.keys() {
        if !def.parameters.iter().any(|p| &p.name == name) {
            errors.push(err(format!("params[{}]", short(name)), format!("Unknown parameter '{}'.", short(name))));
        }
    }
    let mut overrides = vec![];
    for p in &def.parameters {
        let value = form.params.get(&p.name).map(|v| v.trim().to_string());
        match value.as_deref() {
            None | Some("") if p.default.is_none() => {
                errors.push(err(format!("params[{}]", p.name), format!("{}: a value is required.", p.name)));
            }
            None | Some("") => {}
            Some(v) => match check_value(p, v) {
                Err(m) => errors.push(err(format!("params[{}]", p.name), format!("{}: {m}", p.name))),
                Ok(()) => {
                    if p.default.as_deref() != Some(v) && v.chars().count() <= limits::PARAMETER_VALUE_MAX {
                        overrides.push((p.name.clone(), v.to_string()));
                    } else if v.chars().count() > limits::PARAMETER_VALUE_MAX {
                        errors.push(err(
                            format!("params[{}]", p.name),
                            format!("{}: at most {} characters.", p.name, limits::PARAMETER_VALUE_MAX),
                        ));
                    }
                }
            },
        }
    }
    let chosen: Vec<String> =
        form.steps.iter().filter(|(_, v)| !v.is_empty() && v.as_str() != "off").map(|(k, _)| k.clone()).collect();
    let selective = if chosen.is_empty() {
        None
    } else {
        let source = Some(form.source.trim().to_string()).filter(|s| !s.is_empty());
        match check_selection(def, graph, &chosen, source.is_some()) {
            Ok(plan) => Some((def.names(&plan.selected), source)),
            Err(m) => {
                errors.push(err("steps", m));
                None
            }
        }
    };
    if errors.is_empty() {
        Ok(StartRequest {
            display_name: Some(display_name.to_string()).filter(|s| !s.is_empty()),
            description: Some(form.description.clone()).filter(|s| !s.trim().is_empty()),
            parallelism,
            version,
            mlflow_experiment: Some(mlflow.to_string()).filter(|s| !s.is_empty()),
            overrides,
            selective,
        })
    } else {
        Err(errors)
    }
}

/// An answer to a waiting callback step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallbackForm {
    pub pipeline: String,
    pub id: String,
    /// The waiting step: its callback token is looked up on the server (tokens are secrets, and a form
    /// can only answer the step it names while that step waits).
    pub step: String,
    /// The idempotency token of this form.
    pub token: String,
    /// "approve" or "reject" ([`Decision`]), as the form posts it; read with [`CallbackForm::decision`].
    pub decision: String,
    pub outputs: BTreeMap<String, String>,
    pub reason: String,
    /// "inbox" when answered from the inbox, to go back there (see `crate::inbox::Back`).
    pub back: String,
}

/// What a callback form decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    /// The value the form posts.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Decision> {
        s.parse().ok()
    }
}

impl CallbackForm {
    /// The decision posted, when it is one.
    pub fn decision(&self) -> Option<Decision> {
        Decision::parse(&self.decision)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum CallbackAnswer {
    Approve(Vec<(String, String)>),
    Reject(String),
}

/// Check a callback answer against the outputs the step declares.
pub fn check_callback(
    form: &CallbackForm,
    declared: &[(String, ParameterType)],
) -> Result<CallbackAnswer, Vec<FieldError>> {
    let mut errors = vec![];
    if !valid_token(&form.token) {
        errors.push(err("token", "The form is out of date: reload the page and submit again."));
    }
    match form.decision() {
        Some(Decision::Reject) => {
            let reason = form.reason.trim();
            if reason.chars().count() > limits::FAILURE_REASON_MAX {
                errors.push(err(
                    "reason",
                    format!("Reason: {} characters, at most {}.", reason.chars().count(), limits::FAILURE_REASON_MAX),
                ));
            }
            if errors.is_empty() {
                return Ok(CallbackAnswer::Reject(if reason.is_empty() {
                    "Rejected in Stepline".into()
                } else {
                    reason.to_string()
                }));
            }
        }
        Some(Decision::Approve) => {
            let mut outputs = vec![];
            for (name, value) in &form.outputs {
                let Some((_, ty)) = declared.iter().find(|(n, _)| n == name) else {
                    errors.push(err(
                        format!("outputs[{}]", short(name)),
                        format!("Output '{}' is not declared by this step.", short(name)),
                    ));
                    continue;
                };
                let v = value.trim();
                if v.chars().count() > limits::OUTPUT_VALUE_MAX {
                    errors.push(err(
                        format!("outputs[{name}]"),
                        format!("{name}: at most {} characters.", limits::OUTPUT_VALUE_MAX),
                    ));
                    continue;
                }
                if !v.is_empty() && parse_value(*ty, v).is_err() {
                    errors
                        .push(err(format!("outputs[{name}]"), format!("{name}: '{}' is not a valid {ty}.", short(v))));
                    continue;
                }
                if !v.is_empty() {
                    outputs.push((name.clone(), v.to_string()));
                }
            }
            if errors.is_empty() {
                return Ok(CallbackAnswer::Approve(outputs));
            }
        }
        None => errors
            .push(err("decision", format!("Decision: '{}' is neither approve nor reject.", short(&form.decision)))),
    }
    Err(errors)
}

/// A user's text as messages quote it.
fn short(s: &str) -> String {
    crate::text::clip(s, crate::text::VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABALONE: &str = include_str!("../../../definitions/abalone.json");
    const CONTROL_FLOW: &str = include_str!("../../../definitions/control-flow.json");

    fn setup(text: &str) -> (Definition, Graph) {
        let d = stepline_definition::parse(text).unwrap();
        let g = Graph::new(&d);
        (d, g)
    }

    fn form() -> StartForm {
        StartForm { pipeline: "AbalonePipeline".into(), token: "t".repeat(40), ..Default::default() }
    }

    #[test]
    fn overrides_keep_only_changed_values() {
        let (d, g) = setup(ABALONE);
        let mut f = form();
        f.params.insert("MseThreshold".into(), "3.0".into());
        f.params.insert("ProcessingInstanceCount".into(), "1".into());
        f.display_name = "nightly-2".into();
        let r = check_start(&f, &d, &g).unwrap();
        assert_eq!(r.overrides, vec![("MseThreshold".to_string(), "3.0".to_string())]);
        assert_eq!(r.display_name.as_deref(), Some("nightly-2"));
        assert_eq!(r.selective, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let (d, g) = setup(ABALONE);
        let mut f = form();
        f.token = "short".into();
        f.display_name = "bad name!".into();
        f.max_parallel = "0".into();
        f.version = "latest".into();
        f.description = "x".repeat(3073);
        f.params.insert("MseThreshold".into(), "six".into());
        f.params.insert("ProcessingInstanceCount".into(), "1.5".into());
        f.params.insert("<script>".into(), "1".into());
        let e = check_start(&f, &d, &g).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|x| x.field.as_str()).collect();
        for want in [
            "token",
            "display_name",
            "max_parallel",
            "version",
            "description",
            "params[MseThreshold]",
            "params[ProcessingInstanceCount]",
            "params[<script>]",
        ] {
            assert!(fields.contains(&want), "{want} not reported: {e:?}");
        }
        let m = &e.iter().find(|x| x.field == "params[MseThreshold]").unwrap().message;
        assert!(m.starts_with("MseThreshold: "), "{m}");
    }

    #[test]
    fn enums_and_booleans_are_checked_like_the_service() {
        let (d, g) = setup(CONTROL_FLOW);
        let mut f = form();
        f.params.insert("Environment".into(), "moon".into());
        f.params.insert("RunHeavyBranch".into(), "maybe".into());
        let e = check_start(&f, &d, &g).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        f.params.insert("Environment".into(), "prod".into());
        f.params.insert("RunHeavyBranch".into(), "true".into());
        assert!(check_start(&f, &d, &g).is_ok());
    }

    #[test]
    fn selections_are_checked_before_submit() {
        let (d, g) = setup(ABALONE);
        let mut f = form();
        f.steps.insert("AbaloneProcess".into(), "on".into());
        f.steps.insert("AbaloneEval".into(), "on".into());
        f.source = "abc123def456".into();
        let e = check_start(&f, &d, &g).unwrap_err();
        assert_eq!(e[0].field, "steps");
        assert!(e[0].message.contains("AbaloneTrain"), "{}", e[0].message);
        f.steps.insert("AbaloneTrain".into(), "on".into());
        let r = check_start(&f, &d, &g).unwrap();
        assert_eq!(r.selective.unwrap().0, vec!["AbaloneProcess", "AbaloneTrain", "AbaloneEval"]);
        let mut needs_source = form();
        needs_source.steps.insert("AbaloneEval".into(), "on".into());
        let e = check_start(&needs_source, &d, &g).unwrap_err();
        assert!(e[0].message.starts_with("Invalid SourcePipelineExecutionArn: null."), "{}", e[0].message);
    }

    #[test]
    fn callback_answers() {
        let declared = vec![("approved".to_string(), ParameterType::Boolean)];
        let mut f = CallbackForm { token: "t".repeat(40), decision: "approve".into(), ..Default::default() };
        f.outputs.insert("approved".into(), "true".into());
        assert_eq!(
            check_callback(&f, &declared).unwrap(),
            CallbackAnswer::Approve(vec![("approved".into(), "true".into())])
        );
        f.outputs.insert("approved".into(), "perhaps".into());
        f.outputs.insert("extra".into(), "1".into());
        let e = check_callback(&f, &declared).unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        let reject = CallbackForm { decision: "reject".into(), reason: "r".repeat(257), ..f.clone() };
        assert_eq!(check_callback(&reject, &declared).unwrap_err()[0].field, "reason");
        let ok = CallbackForm { decision: "reject".into(), reason: "not today".into(), ..f };
        assert_eq!(check_callback(&ok, &declared).unwrap(), CallbackAnswer::Reject("not today".into()));
    }
}

impl StartForm {
    /// Read a form from its field names as the page writes them (`form[params][X]`, `form[steps][X]`, …):
    /// used by the browser to check the form as it is typed, with the server's rules.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> StartForm {
        let mut f = StartForm::default();
        for (k, v) in pairs {
            let Some(rest) = k.strip_prefix("form[") else { continue };
            if let Some(name) = rest.strip_prefix("params][").and_then(|r| r.strip_suffix(']')) {
                f.params.insert(name.to_string(), v.to_string());
            } else if let Some(name) = rest.strip_prefix("steps][").and_then(|r| r.strip_suffix(']')) {
                f.steps.insert(name.to_string(), v.to_string());
            } else {
                let v = v.to_string();
                match rest.trim_end_matches(']') {
                    "pipeline" => f.pipeline = v,
                    "token" => f.token = v,
                    "display_name" => f.display_name = v,
                    "description" => f.description = v,
                    "max_parallel" => f.max_parallel = v,
                    "version" => f.version = v,
                    "mlflow_experiment" => f.mlflow_experiment = v,
                    "source" => f.source = v,
                    _ => {}
                }
            }
        }
        f
    }
}

/// The re-run modes offered from an execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RerunMode {
    /// Every step again, with the source execution's parameters.
    Same,
    /// Steps the user picks.
    Selected,
    /// One step and everything downstream of it.
    Downstream,
    /// The failed steps, the ones that never ran because of them, and everything downstream.
    FromFailure,
}

impl RerunMode {
    /// The `mode` of a start page's URL; no mode is a plain start again ([`RerunMode::Same`]).
    pub fn parse(s: &str) -> Option<RerunMode> {
        match s {
            "selected" => Some(RerunMode::Selected),
            "downstream" => Some(RerunMode::Downstream),
            "failure" => Some(RerunMode::FromFailure),
            _ => None,
        }
    }

    fn query(self) -> Option<&'static str> {
        match self {
            RerunMode::Same => None,
            RerunMode::Selected => Some("selected"),
            RerunMode::Downstream => Some("downstream"),
            RerunMode::FromFailure => Some("failure"),
        }
    }

    /// The start page that re-runs execution `from` of `pipeline` this way (`step` for `Downstream`).
    pub fn href(self, pipeline: &str, from: &str, step: Option<&str>) -> String {
        let mut href =
            format!("{}/start?from={}", crate::model::links::pipeline(pipeline), crate::model::links::seg(from));
        if let Some(mode) = self.query() {
            href.push_str("&mode=");
            href.push_str(mode);
        }
        if let (RerunMode::Downstream, Some(step)) = (self, step) {
            href.push_str("&step=");
            href.push_str(&crate::model::links::seg(step));
        }
        href
    }
}

/// The steps a re-run mode starts with, in definition order. `failed`/`succeeded` are step names of the
/// source execution; `picked` are names from the URL.
pub fn initial_selection(
    def: &Definition,
    graph: &Graph,
    mode: RerunMode,
    step: Option<&str>,
    picked: &[String],
    failed: &[String],
    succeeded: &[String],
) -> Vec<String> {
    let idx = |names: &[String]| names.iter().filter_map(|n| def.index_of(n)).collect::<Vec<usize>>();
    let chosen = match mode {
        RerunMode::Same => vec![],
        RerunMode::Selected => idx(picked),
        RerunMode::Downstream => step
            .and_then(|s| def.index_of(s))
            .map(|i| stepline_definition::with_downstream(graph, i))
            .unwrap_or_default(),
        RerunMode::FromFailure => stepline_definition::from_failure(graph, &idx(failed), &idx(succeeded)),
    };
    let mut chosen = chosen;
    chosen.sort_unstable();
    chosen.dedup();
    def.names(&chosen)
}

#[cfg(test)]
mod rerun_tests {
    use super::*;

    const ABALONE: &str = include_str!("../../../definitions/abalone.json");

    #[test]
    fn form_fields_read_back() {
        let f = StartForm::from_pairs([
            ("form[pipeline]", "P"),
            ("form[params][MseThreshold]", "3.0"),
            ("form[steps][AbaloneTrain]", "on"),
            ("form[max_parallel]", "2"),
            ("other", "x"),
        ]);
        assert_eq!(f.pipeline, "P");
        assert_eq!(f.params["MseThreshold"], "3.0");
        assert_eq!(f.steps["AbaloneTrain"], "on");
        assert_eq!(f.max_parallel, "2");
    }

    #[test]
    fn modes_choose_their_steps() {
        let d = stepline_definition::parse(ABALONE).unwrap();
        let g = Graph::new(&d);
        let down = initial_selection(&d, &g, RerunMode::Downstream, Some("AbaloneEval"), &[], &[], &[]);
        assert_eq!(down[0], "AbaloneEval");
        assert!(down.contains(&"AbaloneMSECond".to_string()) && !down.contains(&"AbaloneTrain".to_string()));
        let failed = vec!["AbaloneEval".to_string()];
        let ok = vec!["AbaloneProcess".to_string(), "AbaloneTrain".to_string()];
        let from_failure = initial_selection(&d, &g, RerunMode::FromFailure, None, &[], &failed, &ok);
        assert_eq!(from_failure.first().map(String::as_str), Some("AbaloneEval"));
        assert!(!from_failure.contains(&"AbaloneTrain".to_string()));
        let picked =
            initial_selection(&d, &g, RerunMode::Selected, None, &["AbaloneTrain".into(), "Ghost".into()], &[], &[]);
        assert_eq!(picked, vec!["AbaloneTrain"]);
    }
}
