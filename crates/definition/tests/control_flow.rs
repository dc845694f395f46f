//! The control-flow definition: Lambda / Callback outputs, two Condition
//! steps (one reading a step inside the other's branch), Boolean / enum
//! parameters, and Not / Or / In conditions.

use serde_json::json;
use stepline_definition::*;

const CONTROL_FLOW: &str = include_str!("../../../definitions/control-flow.json");

fn def() -> Definition {
    parse(CONTROL_FLOW).expect("control-flow parses")
}

fn names_of(d: &Definition, v: &[usize]) -> Vec<String> {
    d.names(v)
}

#[test]
fn structure() {
    let d = def();
    let names: Vec<&str> = d.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ScoreBatch", "CheckScore", "ManualApproval", "LowScore", "CheckApproval", "RejectRun"]);
    let p = d.parameter("RunHeavyBranch").unwrap();
    assert_eq!((p.ty, p.default.as_deref()), (ParameterType::Boolean, Some("false")));
    assert_eq!(d.parameter("Threshold").unwrap().default.as_deref(), Some("0.5"));
    assert_eq!(d.parameter("MaxItems").unwrap().default.as_deref(), Some("10"));
    assert_eq!(
        d.parameter("Environment").unwrap().enum_values,
        Some(vec!["dev".to_string(), "staging".into(), "prod".into()])
    );
    let score = d.step("ScoreBatch").unwrap();
    assert_eq!(score.function_arn.as_deref(), Some("arn:aws:lambda:us-east-1:123456789012:function:score-batch"));
    assert_eq!(score.output_parameters.len(), 2);
    assert_eq!(score.output_parameters[0].output_type, stepline_definition::ParameterType::Float);
    assert_eq!(score.cache.as_ref().and_then(|c| c.expire_after_seconds), Some(30 * 86_400));
    let cb = d.step("ManualApproval").unwrap();
    assert_eq!(cb.sqs_queue_url.as_deref(), Some("https://sqs.us-east-1.amazonaws.com/123456789012/approvals"));
    assert_eq!(cb.branch, Some(BranchOf { condition: "CheckScore".into(), outcome: true }));
    let ca = d.step("CheckApproval").unwrap();
    assert!(ca.if_steps.is_empty());
    assert_eq!(ca.else_steps, ["RejectRun"]);
    assert_eq!(ca.conditions.len(), 2);
    match &ca.conditions[1] {
        Condition::Or(inner) => {
            assert_eq!(inner.len(), 2);
            assert!(matches!(&inner[1], Condition::Not(n) if matches!(**n, Condition::In { .. })));
        }
        other => panic!("expected Or, got {other:?}"),
    }
}

#[test]
fn graph() {
    let d = def();
    let g = d.graph();
    let up = |n: &str| names_of(&d, g.upstream(d.index_of(n).unwrap()));
    assert!(up("ScoreBatch").is_empty());
    assert_eq!(up("CheckScore"), ["ScoreBatch"]);
    assert_eq!(up("ManualApproval"), ["ScoreBatch", "CheckScore"], "DependsOn, Get and branch deduplicated");
    assert_eq!(up("LowScore"), ["CheckScore"]);
    assert_eq!(up("CheckApproval"), ["ScoreBatch", "ManualApproval"], "reads a step nested in another branch");
    assert_eq!(up("RejectRun"), ["ScoreBatch", "CheckApproval"]);
    assert_eq!(g.layers(), [0, 1, 2, 2, 3, 4]);
    assert_eq!(names_of(&d, &g.ancestors(5)), ["ScoreBatch", "CheckScore", "ManualApproval", "CheckApproval"]);
}

fn scope(score: f64, approved: bool, env: &str) -> MapScope {
    let d = def();
    let mut s = MapScope::default();
    let resolved = resolve_parameters(&d.parameters, &[("Environment".into(), env.into())]).unwrap();
    for p in resolved {
        let ty = d.parameter(&p.name).unwrap().ty;
        s.parameters.insert(p.name.clone(), parse_value(ty, &p.value).unwrap().to_json());
    }
    s.execution.insert("PipelineExecutionId".into(), json!("x1"));
    s.steps.insert("ScoreBatch".into(), json!({"OutputParameters": {"score": score}}));
    s.steps.insert("ManualApproval".into(), json!({"OutputParameters": {"approved": approved}}));
    s
}

#[test]
fn conditions_evaluate() {
    let d = def();
    let check_score = &d.step("CheckScore").unwrap().conditions;
    assert_eq!(evaluate_conditions(check_score, &scope(0.2, true, "dev")), Ok(true));
    assert_eq!(evaluate_conditions(check_score, &scope(0.0, true, "dev")), Ok(false));

    let check = &d.step("CheckApproval").unwrap().conditions;
    // approved and score above the 0.5 threshold
    assert_eq!(evaluate_conditions(check, &scope(0.9, true, "dev")), Ok(true));
    // approved, low score, but env not in [dev, staging] -> Not(In) is true
    assert_eq!(evaluate_conditions(check, &scope(0.1, true, "prod")), Ok(true));
    // approved, low score, env dev -> Or is false
    assert_eq!(evaluate_conditions(check, &scope(0.1, true, "dev")), Ok(false));
    // not approved
    assert_eq!(evaluate_conditions(check, &scope(0.9, false, "prod")), Ok(false));

    let reject = evaluate(&d.step("RejectRun").unwrap().arguments, &scope(0.25, false, "dev")).unwrap();
    assert_eq!(reject["ErrorMessage"], json!("Run x1 rejected, score=0.25"));
}

#[test]
fn parameters_resolve() {
    let d = def();
    let r = resolve_parameters(&d.parameters, &[("RunHeavyBranch".into(), "True".into())]).unwrap();
    assert_eq!(r[0], ResolvedParameter { name: "RunHeavyBranch".into(), value: "True".into(), overridden: true });
    assert_eq!(r[1].value, "dev");
    let e = resolve_parameters(&d.parameters, &[("Environment".into(), "qa".into())]).unwrap_err();
    assert_eq!(e.message, "Value 'qa' for parameter 'Environment' is not one of [dev, staging, prod]");
    let e = resolve_parameters(&d.parameters, &[("MaxItems".into(), "ten".into())]).unwrap_err();
    assert_eq!(e.message, "Value 'ten' for parameter 'MaxItems' is not a valid Integer");
}

#[test]
fn selection() {
    let d = def();
    let g = d.graph();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        check_selection(&d, &g, &s(&["ScoreBatch", "CheckApproval"]), true).unwrap_err(),
        "Selected steps are not connected: step 'CheckScore' lies between 'ScoreBatch' and 'CheckApproval' but is not selected"
    );
    let plan = check_selection(&d, &g, &s(&["CheckApproval", "RejectRun"]), true).unwrap();
    assert_eq!(names_of(&d, &plan.reused_from_source), ["ScoreBatch", "CheckScore", "ManualApproval"]);
    assert_eq!(with_downstream(&g, 1), [1, 2, 3, 4, 5]);
    // ManualApproval failed; LowScore was the branch not taken
    assert_eq!(from_failure(&g, &[2], &[0, 1]), [2, 4, 5]);
}
