//! The abalone example pipeline from the SageMaker examples, as the Python
//! SDK writes it: parameters, flattening, graph edges and evaluation.

use serde_json::json;
use stepline_definition::*;

const ABALONE: &str = include_str!("../../../definitions/abalone.json");

fn def() -> Definition {
    parse(ABALONE).expect("abalone parses")
}

fn idx(d: &Definition, name: &str) -> usize {
    d.index_of(name).unwrap_or_else(|| panic!("no step {name}"))
}

fn up(d: &Definition, g: &Graph, name: &str) -> Vec<String> {
    d.names(g.upstream(idx(d, name)))
}

#[test]
fn parameters() {
    let d = def();
    assert_eq!(d.version, "2020-12-01");
    assert_eq!(d.parameters.len(), 6);
    let p = d.parameter("ProcessingInstanceCount").unwrap();
    assert_eq!((p.ty, p.default.as_deref()), (ParameterType::Integer, Some("1")));
    let p = d.parameter("MseThreshold").unwrap();
    assert_eq!((p.ty, p.default.as_deref()), (ParameterType::Float, Some("6.0")));
    assert_eq!(d.parameter("ModelApprovalStatus").unwrap().default.as_deref(), Some("PendingManualApproval"));
    assert!(d.experiment_config.is_some());
}

#[test]
fn steps_flattened_in_document_order() {
    let d = def();
    let names: Vec<&str> = d.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "AbaloneProcess",
            "AbaloneTrain",
            "AbaloneEval",
            "AbaloneMSECond",
            "AbaloneRegisterModel-RegisterModel",
            "AbaloneCreateModel-CreateModel",
            "AbaloneTransform",
            "AbaloneMSEFail",
        ]
    );
    let cond = d.step("AbaloneMSECond").unwrap();
    assert_eq!(cond.step_type, StepType::Condition);
    assert_eq!(
        cond.if_steps,
        ["AbaloneRegisterModel-RegisterModel", "AbaloneCreateModel-CreateModel", "AbaloneTransform"]
    );
    assert_eq!(cond.else_steps, ["AbaloneMSEFail"]);
    assert_eq!(cond.conditions.len(), 1);
    assert!(matches!(cond.conditions[0], Condition::Compare { op: CompareOp::LessThanOrEqualTo, .. }));
    let fail = d.step("AbaloneMSEFail").unwrap();
    assert_eq!(fail.branch, Some(BranchOf { condition: "AbaloneMSECond".into(), outcome: false }));
    assert_eq!(d.step("AbaloneTransform").unwrap().branch.as_ref().map(|b| b.outcome), Some(true));
    assert_eq!(d.step("AbaloneCreateModel-CreateModel").unwrap().step_type, StepType::Model);
}

#[test]
fn step_settings() {
    let d = def();
    let p = d.step("AbaloneProcess").unwrap();
    let rp = &p.retry_policies[0];
    assert_eq!(rp.max_attempts, Some(3));
    assert_eq!(rp.interval_seconds, 30.0);
    assert_eq!(rp.exception_types, ["Step.SERVICE_FAULT", "Step.THROTTLING"]);
    let cache = p.cache.as_ref().unwrap();
    assert!(cache.enabled);
    assert_eq!(cache.expire_after_seconds, Some(3600));
    let t = d.step("AbaloneTrain").unwrap();
    assert_eq!(t.retry_policies[0].expire_after_min, Some(120));
    assert_eq!(t.retry_policies[0].max_attempts, None);
    let e = d.step("AbaloneEval").unwrap();
    assert_eq!(
        e.property_files,
        [PropertyFileDef {
            property_file_name: "EvaluationReport".into(),
            output_name: "evaluation".into(),
            file_path: "evaluation.json".into()
        }]
    );
}

#[test]
fn graph_edges() {
    let d = def();
    let g = d.graph();
    assert!(up(&d, &g, "AbaloneProcess").is_empty());
    assert_eq!(up(&d, &g, "AbaloneTrain"), ["AbaloneProcess"]);
    assert_eq!(up(&d, &g, "AbaloneEval"), ["AbaloneProcess", "AbaloneTrain"]);
    assert_eq!(up(&d, &g, "AbaloneMSECond"), ["AbaloneEval"], "via the property file");
    assert_eq!(up(&d, &g, "AbaloneRegisterModel-RegisterModel"), ["AbaloneTrain", "AbaloneMSECond"]);
    assert_eq!(up(&d, &g, "AbaloneCreateModel-CreateModel"), ["AbaloneTrain", "AbaloneMSECond"]);
    assert_eq!(up(&d, &g, "AbaloneTransform"), ["AbaloneMSECond", "AbaloneCreateModel-CreateModel"]);
    assert_eq!(up(&d, &g, "AbaloneMSEFail"), ["AbaloneMSECond"]);
    assert_eq!(
        d.names(g.downstream(idx(&d, "AbaloneMSECond"))),
        ["AbaloneRegisterModel-RegisterModel", "AbaloneCreateModel-CreateModel", "AbaloneTransform", "AbaloneMSEFail"]
    );
    assert_eq!(g.topo_order(), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(g.layers(), [0, 1, 2, 3, 4, 4, 5, 4]);
    assert_eq!(d.names(&g.ancestors(idx(&d, "AbaloneTransform"))).len(), 5);
    assert_eq!(g.descendants(idx(&d, "AbaloneProcess")), [1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn evaluates_arguments_with_a_scope() {
    let d = def();
    let mut scope = MapScope::default();
    for p in resolve_parameters(&d.parameters, &[]).unwrap() {
        let ty = d.parameter(&p.name).unwrap().ty;
        scope.parameters.insert(p.name.clone(), parse_value(ty, &p.value).unwrap().to_json());
    }
    scope.execution.insert("PipelineExecutionId".into(), json!("exec1"));
    let process = d.step("AbaloneProcess").unwrap();
    let args = evaluate(&process.arguments, &scope).unwrap();
    assert_eq!(args["ProcessingResources"]["ClusterConfig"]["InstanceCount"], json!(1));
    assert_eq!(
        args["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"],
        json!("s3://sagemaker-us-east-1-123456789012/AbalonePipeline/exec1/AbaloneProcess/output/train")
    );
    // Train reads the processing outputs from the (emulated) describe response
    scope.steps.insert("AbaloneProcess".into(), args.clone());
    let train = evaluate(&d.step("AbaloneTrain").unwrap().arguments, &scope).unwrap();
    assert_eq!(
        train["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"],
        json!("s3://sagemaker-us-east-1-123456789012/AbalonePipeline/exec1/AbaloneProcess/output/validation")
    );
    assert_eq!(train["ResourceConfig"]["InstanceType"], json!("ml.m5.xlarge"));

    let cond = d.step("AbaloneMSECond").unwrap();
    scope.property_files.insert(
        ("AbaloneEval".into(), "EvaluationReport".into()),
        json!({"regression_metrics": {"mse": {"value": 4.5, "standard_deviation": 2.1}}}),
    );
    assert_eq!(evaluate_conditions(&cond.conditions, &scope), Ok(true));
    scope.property_files.insert(
        ("AbaloneEval".into(), "EvaluationReport".into()),
        json!({"regression_metrics": {"mse": {"value": 7.25}}}),
    );
    assert_eq!(evaluate_conditions(&cond.conditions, &scope), Ok(false));
    let fail = evaluate(&d.step("AbaloneMSEFail").unwrap().arguments, &scope).unwrap();
    assert_eq!(fail["ErrorMessage"], json!("Execution failed due to MSE > 6.0"));
}

#[test]
fn selection_on_abalone() {
    let d = def();
    let g = d.graph();
    let sel = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let plan = check_selection(&d, &g, &sel(&["AbaloneEval", "AbaloneTrain"]), true).unwrap();
    assert_eq!(plan.selected, [1, 2]);
    assert_eq!(plan.reused_from_source, [0]);
    assert_eq!(
        check_selection(&d, &g, &sel(&["AbaloneProcess", "AbaloneEval"]), true).unwrap_err(),
        "Selected steps are not connected: step 'AbaloneTrain' lies between 'AbaloneProcess' and 'AbaloneEval' but is not selected"
    );
    assert_eq!(
        check_selection(&d, &g, &sel(&["AbaloneTrain", "AbaloneEval"]), false).unwrap_err(),
        "Invalid SourcePipelineExecutionArn: null. The selected steps [AbaloneTrain, AbaloneEval] have dependencies on [AbaloneProcess]"
    );
    let many: Vec<String> = (0..51).map(|_| "AbaloneTrain".to_string()).collect();
    assert_eq!(check_selection(&d, &g, &many, true).unwrap_err(), "SelectedSteps must contain between 1 and 50 steps");
    let all: Vec<String> = d.steps.iter().map(|s| s.name.clone()).collect();
    let plan = check_selection(&d, &g, &all, false).unwrap();
    assert!(plan.reused_from_source.is_empty());
    assert_eq!(with_downstream(&g, idx(&d, "AbaloneEval")), [2, 3, 4, 5, 6, 7]);
    // Eval failed after Process and Train succeeded: Eval, the condition and
    // both branches are re-run
    assert_eq!(from_failure(&g, &[2], &[0, 1]), [2, 3, 4, 5, 6, 7]);
}
