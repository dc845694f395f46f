//! A whole pipeline definition: parsing, flattening nested Condition
//! branches, and the cross-checks between steps and parameters that the
//! service performs on `CreatePipeline` / `UpdatePipeline`.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::DefinitionError;
use crate::expr::{get_expressions, parse_get, PathSegment, Reference, EXECUTION_VARIABLES};
use crate::parameter::{short_json, ParameterDef};
use crate::step::{BranchOf, StepDef};

/// The only definition version SageMaker Pipelines knows.
pub const DEFINITION_VERSION: &str = "2020-12-01";

/// A checked pipeline definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub version: String,
    pub parameters: Vec<ParameterDef>,
    /// Every step, top-level and nested, in document order: a Condition step
    /// comes before its `IfSteps`, which come before its `ElseSteps`.
    pub steps: Vec<StepDef>,
    pub experiment_config: Option<Value>,
    pub raw: Value,
}

impl Definition {
    /// The step with this name, nested or not.
    pub fn step(&self, name: &str) -> Option<&StepDef> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Position of the step in [`Definition::steps`].
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.name == name)
    }

    /// The parameter with this name.
    pub fn parameter(&self, name: &str) -> Option<&ParameterDef> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// Names of the steps at the given indices (unknown indices skipped).
    pub fn names(&self, indices: &[usize]) -> Vec<String> {
        indices.iter().filter_map(|&i| self.steps.get(i).map(|s| s.name.clone())).collect()
    }
}

/// Parses and checks a definition from its JSON text.
pub fn parse(text: &str) -> Result<Definition, DefinitionError> {
    // Read as bytes: the browser bundle then needs one JSON reader, not two (see src/codec.rs).
    let v: Value =
        serde_json::from_slice(text.as_bytes()).map_err(|e| DefinitionError::new(format!("Invalid JSON: {e}")))?;
    from_value(&v)
}

/// Checks a definition that is already JSON.
pub fn from_value(v: &Value) -> Result<Definition, DefinitionError> {
    let obj = v.as_object().ok_or_else(|| DefinitionError::new("Pipeline definition must be a JSON object"))?;

    let version = match obj.get("Version") {
        Some(Value::String(s)) if s == DEFINITION_VERSION => s.clone(),
        Some(other) => {
            return Err(DefinitionError::new(format!(
                "Unsupported definition Version {}: expected \"{DEFINITION_VERSION}\"",
                short_json(other)
            )))
        }
        None => return Err(DefinitionError::new("Pipeline definition is missing Version")),
    };

    let parameters = parse_parameters(obj.get("Parameters"))?;

    let experiment_config = match obj.get("PipelineExperimentConfig") {
        None | Some(Value::Null) => None,
        Some(c) => Some(c.clone()),
    };

    let top = match obj.get("Steps") {
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(DefinitionError::new("Pipeline definition must contain at least one step"))
        }
        Some(Value::Array(items)) => items,
        Some(other) => return Err(DefinitionError::new(format!("Steps must be a list, got {}", short_json(other)))),
        None => return Err(DefinitionError::new("Pipeline definition is missing Steps")),
    };
    let steps = flatten_steps(top)?;

    check_references(&parameters, &steps)?;
    if let Some(cfg) = &experiment_config {
        check_experiment_config(&parameters, cfg)?;
    }

    let def = Definition { version, parameters, steps, experiment_config, raw: v.clone() };
    let graph = def.graph();
    if let Some(cycle) = graph.find_cycle() {
        return Err(DefinitionError::new(format!("Cycle in step dependencies: {}", def.names(&cycle).join(" -> "))));
    }
    Ok(def)
}

fn parse_parameters(v: Option<&Value>) -> Result<Vec<ParameterDef>, DefinitionError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(DefinitionError::new(format!("Parameters must be a list, got {}", short_json(other))))
        }
    };
    let mut out: Vec<ParameterDef> = Vec::with_capacity(items.len());
    for item in items {
        let p = ParameterDef::from_json(item).map_err(DefinitionError::new)?;
        if out.iter().any(|q| q.name == p.name) {
            return Err(DefinitionError::new(format!("Duplicate parameter name '{}'", p.name)));
        }
        out.push(p);
    }
    Ok(out)
}

/// Parses every step, descending into Condition branches, in document
/// order. Uses an explicit stack so deep nesting cannot exhaust the stack.
fn flatten_steps(top: &[Value]) -> Result<Vec<StepDef>, DefinitionError> {
    let mut out: Vec<StepDef> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack: Vec<(&Value, Option<BranchOf>)> = top.iter().rev().map(|s| (s, None)).collect();
    while let Some((v, branch)) = stack.pop() {
        let step = StepDef::from_json(v, branch).map_err(DefinitionError::new)?;
        if !seen.insert(step.name.clone()) {
            return Err(DefinitionError::new(format!("Duplicate step name '{}'", step.name)));
        }
        if step.is_condition() {
            let args = v.get("Arguments");
            for (field, outcome) in [("ElseSteps", false), ("IfSteps", true)] {
                if let Some(Value::Array(items)) = args.and_then(|a| a.get(field)) {
                    for item in items.iter().rev() {
                        stack.push((item, Some(BranchOf { condition: step.name.clone(), outcome })));
                    }
                }
            }
        }
        out.push(step);
    }
    Ok(out)
}

/// Checks `DependsOn` names and every `Get` of every step.
fn check_references(parameters: &[ParameterDef], steps: &[StepDef]) -> Result<(), DefinitionError> {
    let by_name: HashMap<&str, &StepDef> = steps.iter().map(|s| (s.name.as_str(), s)).collect();
    let param_names: HashSet<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
    for step in steps {
        let name = &step.name;
        for dep in &step.depends_on {
            if !by_name.contains_key(dep.as_str()) {
                return Err(DefinitionError::new(format!("Step '{name}' depends on unknown step '{dep}'")));
            }
        }
        for g in &step.gets {
            let r = parse_get(g)
                .map_err(|e| DefinitionError::new(format!("Step '{name}' has an invalid expression: {e}")))?;
            check_reference(&format!("Step '{name}'"), &r, &param_names, Some(&by_name))?;
        }
    }
    Ok(())
}

fn check_experiment_config(parameters: &[ParameterDef], cfg: &Value) -> Result<(), DefinitionError> {
    let param_names: HashSet<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
    for g in get_expressions(cfg) {
        let r = parse_get(&g)
            .map_err(|e| DefinitionError::new(format!("PipelineExperimentConfig has an invalid expression: {e}")))?;
        if let Some(step) = r.step_name() {
            return Err(DefinitionError::new(format!("PipelineExperimentConfig cannot reference step '{step}'")));
        }
        check_reference("PipelineExperimentConfig", &r, &param_names, None)?;
    }
    Ok(())
}

fn check_reference(
    who: &str,
    r: &Reference,
    params: &HashSet<&str>,
    steps: Option<&HashMap<&str, &StepDef>>,
) -> Result<(), DefinitionError> {
    let fail = |m: String| Err(DefinitionError::new(m));
    match r {
        Reference::Parameter(p) if !params.contains(p.as_str()) => {
            fail(format!("{who} references unknown parameter '{p}'"))
        }
        Reference::Execution(var) if !EXECUTION_VARIABLES.contains(&var.as_str()) => {
            fail(format!("{who} references unknown execution variable '{var}'"))
        }
        Reference::Step { step, path } => {
            let Some(target) = steps.and_then(|m| m.get(step.as_str())) else {
                return fail(format!("{who} references unknown step '{step}'"));
            };
            // Lambda and Callback outputs are declared, so a misspelt output
            // can be caught before the pipeline runs.
            if let [PathSegment::Key(first), PathSegment::Key(out), ..] = path.as_slice() {
                let declared = target.step_type.declares_outputs();
                if first == "OutputParameters"
                    && declared
                    && !target.output_parameters.iter().any(|o| &o.output_name == out)
                {
                    return fail(format!("{who} references unknown output parameter '{out}' of step '{step}'"));
                }
            }
            Ok(())
        }
        Reference::PropertyFile { step, file } => {
            let Some(target) = steps.and_then(|m| m.get(step.as_str())) else {
                return fail(format!("{who} references unknown step '{step}'"));
            };
            if !target.property_files.iter().any(|p| &p.property_file_name == file) {
                return fail(format!("{who} references unknown property file '{file}' of step '{step}'"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(steps: Value) -> Value {
        json!({"Version": "2020-12-01", "Parameters": [{"Name": "P", "Type": "String", "DefaultValue": "x"}], "Steps": steps})
    }

    fn err(v: Value) -> String {
        from_value(&v).unwrap_err().message
    }

    #[test]
    fn flattens_in_document_order() {
        let d = from_value(&def(json!([
            {"Name": "A", "Type": "Processing"},
            {"Name": "C", "Type": "Condition", "Arguments": {
                "Conditions": [],
                "IfSteps": [
                    {"Name": "C2", "Type": "Condition", "Arguments": {"IfSteps": [{"Name": "Deep", "Type": "Fail"}], "ElseSteps": []}},
                    {"Name": "I2", "Type": "Fail"}
                ],
                "ElseSteps": [{"Name": "E", "Type": "Fail"}]
            }},
            {"Name": "Z", "Type": "Fail"}
        ])))
        .unwrap();
        let names: Vec<_> = d.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["A", "C", "C2", "Deep", "I2", "E", "Z"]);
        assert_eq!(
            d.step("Deep").and_then(|s| s.branch.clone()),
            Some(BranchOf { condition: "C2".into(), outcome: true })
        );
        assert_eq!(
            d.step("E").and_then(|s| s.branch.clone()),
            Some(BranchOf { condition: "C".into(), outcome: false })
        );
        assert_eq!(d.index_of("Z"), Some(6));
        assert_eq!(d.index_of("nope"), None);
        assert!(d.parameter("P").is_some());
        let g = d.graph();
        assert_eq!(g.upstream(3), [2]);
        assert_eq!(g.ancestors(3), [1, 2]);
    }

    #[test]
    fn top_level_errors() {
        assert_eq!(parse("{").unwrap_err().message.split(':').next(), Some("Invalid JSON"));
        assert_eq!(err(json!([])), "Pipeline definition must be a JSON object");
        assert!(err(json!({"Steps": []})).contains("missing Version"));
        assert!(err(json!({"Version": "2019-01-01", "Steps": []})).contains("Unsupported definition Version"));
        assert_eq!(err(def(json!([]))), "Pipeline definition must contain at least one step");
        assert!(err(json!({"Version": "2020-12-01"})).contains("missing Steps"));
        assert!(err(json!({"Version": "2020-12-01", "Steps": {}})).contains("Steps must be a list"));
        assert!(err(json!({"Version": "2020-12-01", "Parameters": 3, "Steps": [{"Name": "A", "Type": "Fail"}]}))
            .contains("Parameters must be a list"));
    }

    #[test]
    fn reference_errors() {
        assert_eq!(
            err(def(json!([{"Name": "X", "Type": "Fail", "DependsOn": ["Y"]}]))),
            "Step 'X' depends on unknown step 'Y'"
        );
        assert_eq!(
            err(def(json!([{"Name": "X", "Type": "Fail", "Arguments": {"a": {"Get": "Steps.Y.Z"}}}]))),
            "Step 'X' references unknown step 'Y'"
        );
        assert_eq!(
            err(def(json!([{"Name": "X", "Type": "Fail", "Arguments": {"a": {"Get": "Parameters.Q"}}}]))),
            "Step 'X' references unknown parameter 'Q'"
        );
        assert_eq!(
            err(def(json!([{"Name": "X", "Type": "Fail", "Arguments": {"a": {"Get": "Execution.Bogus"}}}]))),
            "Step 'X' references unknown execution variable 'Bogus'"
        );
        assert!(err(def(json!([{"Name": "X", "Type": "Fail", "Arguments": {"a": {"Get": "Nope.Q"}}}])))
            .starts_with("Step 'X' has an invalid expression"));
        assert_eq!(
            err(def(json!([
                {"Name": "E", "Type": "Processing", "PropertyFiles": [{"PropertyFileName": "R", "OutputName": "o", "FilePath": "f.json"}]},
                {"Name": "X", "Type": "Fail", "Arguments": {"a": {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.E.PropertyFiles.Other"}, "Path": "a"}}}}
            ]))),
            "Step 'X' references unknown property file 'Other' of step 'E'"
        );
        assert_eq!(
            err(def(json!([
                {"Name": "L", "Type": "Lambda", "OutputParameters": [{"OutputName": "score"}]},
                {"Name": "X", "Type": "Fail", "Arguments": {"a": {"Get": "Steps.L.OutputParameters['scor']"}}}
            ]))),
            "Step 'X' references unknown output parameter 'scor' of step 'L'"
        );
        assert!(err(json!({"Version": "2020-12-01", "PipelineExperimentConfig": {"T": {"Get": "Execution.Nope"}}, "Steps": [{"Name": "A", "Type": "Fail"}]}))
            .contains("unknown execution variable 'Nope'"));
    }

    #[test]
    fn duplicates_and_cycles() {
        assert_eq!(
            err(def(json!([
                {"Name": "A", "Type": "Fail"},
                {"Name": "C", "Type": "Condition", "Arguments": {"Conditions": [], "ElseSteps": [{"Name": "A", "Type": "Fail"}]}}
            ]))),
            "Duplicate step name 'A'"
        );
        assert_eq!(
            err(
                json!({"Version": "2020-12-01", "Parameters": [{"Name": "P", "Type": "String"}, {"Name": "P", "Type": "Integer"}], "Steps": [{"Name": "A", "Type": "Fail"}]})
            ),
            "Duplicate parameter name 'P'"
        );
        assert_eq!(
            err(def(json!([
                {"Name": "A", "Type": "Fail", "DependsOn": ["B"]},
                {"Name": "B", "Type": "Fail", "Arguments": {"x": {"Get": "Steps.A.X"}}}
            ]))),
            "Cycle in step dependencies: A -> B -> A"
        );
        // a condition reading from its own branch is a cycle too
        assert_eq!(
            err(def(json!([
                {"Name": "C", "Type": "Condition", "Arguments": {
                    "Conditions": [{"Type": "Equals", "LeftValue": {"Get": "Steps.In.X"}, "RightValue": 1}],
                    "IfSteps": [{"Name": "In", "Type": "Fail"}]}}
            ]))),
            "Cycle in step dependencies: C -> In -> C"
        );
        assert_eq!(
            err(def(json!([{"Name": "S", "Type": "Fail", "DependsOn": ["S"]}]))),
            "Cycle in step dependencies: S -> S"
        );
    }
}
