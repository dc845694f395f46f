//! Every definition check, triggered by editing the real abalone definition
//! the way a user might break it, with the exact message expected.

use serde_json::{json, Value};
use stepline_definition::*;

const ABALONE: &str = include_str!("../../../definitions/abalone.json");

fn abalone() -> Value {
    serde_json::from_str(ABALONE).unwrap()
}

fn rejected(v: &Value) -> String {
    match from_value(v) {
        Ok(_) => panic!("definition unexpectedly accepted"),
        Err(e) => e.to_string(),
    }
}

fn branch_step<'a>(v: &'a mut Value, field: &str, i: usize) -> &'a mut Value {
    &mut v["Steps"][3]["Arguments"][field][i]
}

#[test]
fn the_unmodified_definition_is_accepted() {
    assert!(from_value(&abalone()).is_ok());
}

#[test]
fn invalid_json_and_shape() {
    let e = parse("{\"Version\": ").unwrap_err();
    assert!(e.message.starts_with("Invalid JSON: "), "{e}");
    assert_eq!(parse("[1]").unwrap_err().message, "Pipeline definition must be a JSON object");
    let mut v = abalone();
    v["Steps"] = json!([]);
    assert_eq!(rejected(&v), "Pipeline definition must contain at least one step");
    let mut v = abalone();
    v["Version"] = json!("2021-01-01");
    assert!(rejected(&v).contains("Unsupported definition Version \"2021-01-01\""));
}

#[test]
fn step_name_and_type() {
    let mut v = abalone();
    v["Steps"][0].as_object_mut().unwrap().remove("Name");
    assert!(rejected(&v).starts_with("Step is missing Name"));
    let mut v = abalone();
    v["Steps"][2].as_object_mut().unwrap().remove("Type");
    assert_eq!(rejected(&v), "Step 'AbaloneEval' is missing Type");
    let mut v = abalone();
    branch_step(&mut v, "ElseSteps", 0)["Name"] = json!("Abalone MSE Fail");
    assert!(rejected(&v).starts_with("Step name 'Abalone MSE Fail' is invalid"));
    let mut v = abalone();
    v["Steps"][0]["Name"] = json!("P".repeat(65));
    assert!(rejected(&v).contains("is invalid"));
    // an unknown (newer) step type is not an error
    let mut v = abalone();
    branch_step(&mut v, "ElseSteps", 0)["Type"] = json!("SomeFutureStep");
    let d = from_value(&v).unwrap();
    assert_eq!(
        d.step("AbaloneMSEFail").unwrap().step_type,
        stepline_definition::StepType::Other("SomeFutureStep".into())
    );
}

#[test]
fn duplicate_step_name_across_nesting() {
    let mut v = abalone();
    branch_step(&mut v, "ElseSteps", 0)["Name"] = json!("AbaloneTrain");
    assert_eq!(rejected(&v), "Duplicate step name 'AbaloneTrain'");
}

#[test]
fn parameter_checks() {
    let mut v = abalone();
    v["Parameters"][5]["DefaultValue"] = json!("abc");
    assert_eq!(rejected(&v), "Parameter 'MseThreshold' has a default of the wrong type: expected Float, got \"abc\"");
    let mut v = abalone();
    v["Parameters"][1]["Name"] = json!("ProcessingInstanceCount");
    assert_eq!(rejected(&v), "Duplicate parameter name 'ProcessingInstanceCount'");
    let mut v = abalone();
    v["Parameters"][1]["Name"] = json!("Training Instance");
    assert!(rejected(&v).starts_with("Parameter name 'Training Instance' is invalid"));
    let mut v = abalone();
    v["Parameters"][2]["EnumValues"] = json!(["Approved", "Rejected"]);
    assert_eq!(
        rejected(&v),
        "Parameter 'ModelApprovalStatus' has a default 'PendingManualApproval' that is not one of [Approved, Rejected]"
    );
    let mut v = abalone();
    v["Parameters"][0]["Type"] = json!("Long");
    assert!(rejected(&v).contains("unknown type 'Long'"));
    // a parameter with no default is fine in a definition
    let mut v = abalone();
    v["Parameters"][3].as_object_mut().unwrap().remove("DefaultValue");
    let d = from_value(&v).unwrap();
    assert_eq!(resolve_parameters(&d.parameters, &[]).unwrap_err().message, "Parameter 'InputData' is undefined.");
}

#[test]
fn dangling_references() {
    let mut v = abalone();
    v["Steps"][1]["DependsOn"] = json!(["AbaloneProcess", "AbaloneClean"]);
    assert_eq!(rejected(&v), "Step 'AbaloneTrain' depends on unknown step 'AbaloneClean'");

    let mut v = abalone();
    v["Steps"][2]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] =
        json!({"Get": "Steps.AbaloneTraining.ModelArtifacts.S3ModelArtifacts"});
    assert_eq!(rejected(&v), "Step 'AbaloneEval' references unknown step 'AbaloneTraining'");

    let mut v = abalone();
    v["Steps"][1]["Arguments"]["ResourceConfig"]["InstanceType"] = json!({"Get": "Parameters.TrainingInstance"});
    assert_eq!(rejected(&v), "Step 'AbaloneTrain' references unknown parameter 'TrainingInstance'");

    // inside Std:Join inside a nested branch step
    let mut v = abalone();
    branch_step(&mut v, "ElseSteps", 0)["Arguments"]["ErrorMessage"]["Std:Join"]["Values"][1] =
        json!({"Get": "Parameters.MseThresh"});
    assert_eq!(rejected(&v), "Step 'AbaloneMSEFail' references unknown parameter 'MseThresh'");

    // inside the Condition's own Conditions, via a JsonGet property file
    let mut v = abalone();
    v["Steps"][3]["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]["PropertyFile"] =
        json!({"Get": "Steps.AbaloneEvaluate.PropertyFiles.EvaluationReport"});
    assert_eq!(rejected(&v), "Step 'AbaloneMSECond' references unknown step 'AbaloneEvaluate'");
    let mut v = abalone();
    v["Steps"][3]["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"]["PropertyFile"] =
        json!({"Get": "Steps.AbaloneEval.PropertyFiles.Report"});
    assert_eq!(rejected(&v), "Step 'AbaloneMSECond' references unknown property file 'Report' of step 'AbaloneEval'");

    let mut v = abalone();
    v["Steps"][0]["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]["Std:Join"]["Values"][3] =
        json!({"Get": "Execution.RunId"});
    assert_eq!(rejected(&v), "Step 'AbaloneProcess' references unknown execution variable 'RunId'");

    let mut v = abalone();
    v["PipelineExperimentConfig"]["TrialName"] = json!({"Get": "Execution.Trial"});
    assert_eq!(rejected(&v), "PipelineExperimentConfig references unknown execution variable 'Trial'");
}

#[test]
fn cycles() {
    let mut v = abalone();
    v["Steps"][0]["DependsOn"] = json!(["AbaloneEval"]);
    assert_eq!(rejected(&v), "Cycle in step dependencies: AbaloneProcess -> AbaloneEval -> AbaloneProcess");
    // the condition reading a step of its own branch
    let mut v = abalone();
    v["Steps"][3]["Arguments"]["Conditions"][0]["RightValue"] =
        json!({"Get": "Steps.AbaloneTransform.TransformOutput.S3OutputPath"});
    assert_eq!(rejected(&v), "Cycle in step dependencies: AbaloneMSECond -> AbaloneTransform -> AbaloneMSECond");
}

#[test]
fn retry_and_cache() {
    let mut v = abalone();
    v["Steps"][0]["RetryPolicies"][0]["ExpireAfterMin"] = json!(30);
    assert_eq!(rejected(&v), "Step 'AbaloneProcess' retry policy cannot have both MaxAttempts and ExpireAfterMin");
    let mut v = abalone();
    v["Steps"][0]["RetryPolicies"][0]["MaxAttempts"] = json!(21);
    assert_eq!(rejected(&v), "Step 'AbaloneProcess' retry policy MaxAttempts must be at most 20, got 21");
    let mut v = abalone();
    v["Steps"][1]["CacheConfig"]["ExpireAfter"] = json!("1h");
    assert_eq!(rejected(&v), "Step 'AbaloneTrain' CacheConfig ExpireAfter '1h' is not an ISO-8601 duration");
}

#[test]
fn check_value_for_forms() {
    let d = parse(ABALONE).unwrap();
    let p = d.parameter("MseThreshold").unwrap();
    assert_eq!(check_value(p, "7.5"), Ok(()));
    assert_eq!(
        check_value(p, "seven"),
        Err("Value 'seven' for parameter 'MseThreshold' is not a valid Float".to_string())
    );
    assert!(check_value(p, "").is_err());
}
