//! Fuzz-style property tests: whatever a client sends, the emulator answers with the contract's errors and
//! never panics, never answers InternalFailure, never answers anything but JSON.
//!
//! Every case runs on a fresh service with live resources in it — the abalone pipeline with a Succeeded and a
//! Failed execution, and the control-flow pipeline with an execution waiting on a callback — so that bodies
//! naming them (ARNs, tokens, page tokens, definitions) reach the Describe/Start/Stop/Retry/callback paths,
//! not only validation. Bodies are (1) arbitrary JSON trees, (2) built from the real members of each
//! operation's input shape with values of the right and of the wrong types, valid and invalid lengths,
//! pattern-matching strings, enum values and mutated pipeline definitions, and (3) arbitrary bytes over HTTP.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::Union;
use serde_json::{json, Map, Value};
use stepline_emulator::error::ApiError;
use stepline_emulator::ops::{dispatch, dispatch_logs, Caller};
use stepline_emulator::runtime::wall_clock as now;
use stepline_emulator::shapes::{logs_model, model};
use stepline_emulator::{build_core, Core, EmulatorConfig};
use tower::ServiceExt;

const ABALONE: &str = include_str!("../../../definitions/abalone.json");
const CONTROL_FLOW: &str = include_str!("../../../definitions/control-flow.json");
const ROLE: &str = "arn:aws:iam::123456789012:role/SageMakerPipelineRole";

/// Every error code the contract allows. InternalFailure is listed because it is a contract code, but the
/// properties also require that it never happens.
const ALLOWED: [&str; 9] = [
    "ValidationException",
    "SerializationException",
    "ResourceNotFound",
    "ConflictException",
    "ResourceLimitExceeded",
    "ThrottlingException",
    "AccessDeniedException",
    "UnknownOperationException",
    "InternalFailure",
];

// ---------------------------------------------------------------------------------------------------------
// The service under test.
// ---------------------------------------------------------------------------------------------------------

/// Strings that only exist once the fixture runs (ARNs with random ids, tokens) are generated as
/// placeholders `"\u{1}pool:<n>"` and substituted per case.
const POOL_LEN: usize = 21;
const PLACEHOLDER: &str = "\u{1}pool:";

struct Fixture {
    core: Arc<Core>,
    pool: Vec<String>,
}

fn ok(core: &Core, op: &str, body: Value) -> Value {
    dispatch(core, op, &body, &Caller::default()).unwrap_or_else(|e| panic!("fixture {op} {body}: {e}"))
}

/// Advance every running execution at its deadlines (real time; at speed 1e6 simulated durations are
/// microseconds) until nothing is due or the budget is spent.
fn settle(core: &Core, budget: Duration) {
    let end = Instant::now() + budget;
    loop {
        let (ids, next) = {
            let inner = core.lock();
            let mut ids = vec![];
            let mut next: Option<f64> = None;
            for e in inner.store.executions.values().filter(|e| !e.status.is_terminal()) {
                ids.push(e.id.clone());
                for d in e.steps.iter().filter_map(|s| s.deadline) {
                    next = Some(next.map_or(d, |n: f64| n.min(d)));
                }
            }
            (ids, next)
        };
        let Some(next) = next else { return };
        if Instant::now() >= end {
            return;
        }
        let wait = next - now();
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait.min(0.002)));
        }
        let t = now();
        for id in &ids {
            core.advance(id, t);
        }
    }
}

fn status_of(core: &Core, arn: &str) -> String {
    let d = ok(core, "DescribePipelineExecution", json!({"PipelineExecutionArn": arn}));
    d["PipelineExecutionStatus"].as_str().unwrap_or_default().to_string()
}

fn fixture() -> Fixture {
    let core = build_core(&EmulatorConfig { speed: 1e6, ..EmulatorConfig::default() }).expect("core");
    let create = |name: &str, def: &str| {
        ok(&core, "CreatePipeline", json!({"PipelineName": name, "PipelineDefinition": def, "RoleArn": ROLE, "ClientRequestToken": format!("create-{name}-{}", "0".repeat(32))}))
            ["PipelineArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let start = |name: &str, params: Value, n: u32| {
        ok(&core, "StartPipelineExecution", json!({"PipelineName": name, "PipelineParameters": params, "ClientRequestToken": format!("fixture-start-{n}-{}", "1".repeat(32))}))
            ["PipelineExecutionArn"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let abalone_arn = create("AbalonePipeline", ABALONE);
    let control_arn = create("ControlFlow", CONTROL_FLOW);
    let succeeded = start("AbalonePipeline", json!([]), 1);
    let failed = start("AbalonePipeline", json!([{"Name": "MseThreshold", "Value": "3.0"}]), 2);
    let waiting = start("ControlFlow", json!([]), 3);
    settle(&core, Duration::from_secs(10));
    assert_eq!(status_of(&core, &succeeded), "Succeeded");
    assert_eq!(status_of(&core, &failed), "Failed");
    assert_eq!(status_of(&core, &waiting), "Executing");
    let steps = ok(&core, "ListPipelineExecutionSteps", json!({"PipelineExecutionArn": waiting}));
    let token = steps["PipelineExecutionSteps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s.pointer("/Metadata/Callback/CallbackToken").and_then(Value::as_str))
        .expect("the control-flow execution waits on its callback")
        .to_string();
    let page_token = |op: &str, body: Value| ok(&core, op, body)["NextToken"].as_str().unwrap_or("").to_string();
    let executions_page =
        page_token("ListPipelineExecutions", json!({"PipelineName": "AbalonePipeline", "MaxResults": 1}));
    let steps_page =
        page_token("ListPipelineExecutionSteps", json!({"PipelineExecutionArn": succeeded, "MaxResults": 1}));
    let pipelines_page = page_token("ListPipelines", json!({"MaxResults": 1}));
    let params_page =
        page_token("ListPipelineParametersForExecution", json!({"PipelineExecutionArn": succeeded, "MaxResults": 2}));
    let (head, id) = succeeded.rsplit_once('/').unwrap();
    // The jobs of the succeeded execution, by kind, and the model package it registered.
    let job = |step: &str| {
        let inner = core.lock();
        let ex = inner.store.executions.get(id).unwrap();
        ex.steps.iter().find(|s| s.name == step).and_then(|s| s.job_name.clone()).expect("the step ran a job")
    };
    let (training, processing, transform) = (job("AbaloneTrain"), job("AbaloneProcess"), job("AbaloneTransform"));
    let steps = ok(&core, "ListPipelineExecutionSteps", json!({"PipelineExecutionArn": succeeded}));
    let package = steps["PipelineExecutionSteps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s.pointer("/Metadata/RegisterModel/Arn").and_then(Value::as_str))
        .expect("abalone registers its model")
        .to_string();
    let pool = vec![
        "AbalonePipeline".to_string(),
        abalone_arn,
        "ControlFlow".to_string(),
        control_arn,
        succeeded.clone(),
        failed,
        waiting,
        token,
        executions_page,
        steps_page,
        pipelines_page,
        params_page,
        ABALONE.to_string(),
        CONTROL_FLOW.to_string(),
        format!("{head}/zzzzzzzzzzzz"),
        format!("{}/{id}", head.replace("AbalonePipeline", "ABALONEPIPELINE")),
        training.clone(),
        processing,
        transform,
        package,
        training.to_uppercase(),
    ];
    assert_eq!(pool.len(), POOL_LEN);
    Fixture { core, pool }
}

fn substitute(v: &mut Value, pool: &[String]) {
    match v {
        Value::String(s) => {
            if let Some(n) = s.strip_prefix(PLACEHOLDER).and_then(|n| n.parse::<usize>().ok()) {
                *s = pool[n % pool.len()].clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, pool)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, pool)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------------------
// Checks.
// ---------------------------------------------------------------------------------------------------------

fn check_error(op: &str, body: &Value, e: &ApiError) -> Result<(), TestCaseError> {
    prop_assert!(ALLOWED.contains(&e.code), "{op} {body}: unexpected error code {e}");
    prop_assert_ne!(e.code, "InternalFailure", "{} {}: {}", op, body, e);
    prop_assert_eq!(e.status, StatusCode::BAD_REQUEST, "{} {}: {}", op, body, e);
    prop_assert!(!e.message.is_empty(), "{op} {body}: empty message");
    Ok(())
}

/// Dispatch one call; Ok answers are objects that conform to the operation's output shape.
fn call(core: &Core, op: &str, body: &Value) -> Result<Option<Value>, TestCaseError> {
    match dispatch(core, op, body, &Caller { access_key: Some("AKIDFUZZ".into()), ..Caller::default() }) {
        Ok(v) => {
            prop_assert!(v.is_object(), "{op} {body}: answered a non-object {v}");
            if let Err(e) = model().validate_output(op, &v) {
                return Err(TestCaseError::fail(format!(
                    "{op} {body}: the answer does not conform to the output shape: {e}\n{v}"
                )));
            }
            Ok(Some(v))
        }
        Err(e) => {
            check_error(op, body, &e)?;
            Ok(None)
        }
    }
}

/// After a case: drive whatever it started, then every execution in the service still describes and lists.
/// Run `calls` on a fresh fixture, each body's placeholders replaced by live ARNs and tokens, and check
/// every answer and the service's state.
fn run_calls(calls: Vec<(String, Value)>) -> Result<(), TestCaseError> {
    let f = fixture();
    for (op, mut body) in calls {
        substitute(&mut body, &f.pool);
        call(&f.core, &op, &body)?;
    }
    check_service(&f.core)
}

fn check_service(core: &Core) -> Result<(), TestCaseError> {
    settle(core, Duration::from_millis(30));
    let arns: Vec<String> = core.lock().store.executions.values().map(|e| e.arn.clone()).collect();
    for arn in arns {
        for op in [
            "DescribePipelineExecution",
            "ListPipelineExecutionSteps",
            "ListPipelineParametersForExecution",
            "DescribePipelineDefinitionForExecution",
        ] {
            let body = json!({"PipelineExecutionArn": arn});
            prop_assert!(call(core, op, &body)?.is_some(), "{op} {body} refused for an execution that exists");
        }
    }
    let names: Vec<String> = core.lock().store.pipelines.values().map(|p| p.name.clone()).collect();
    for name in names {
        let body = json!({"PipelineName": name});
        prop_assert!(call(core, "DescribePipeline", &body)?.is_some(), "DescribePipeline {body} refused");
        prop_assert!(call(core, "ListPipelineExecutions", &body)?.is_some(), "ListPipelineExecutions {body} refused");
    }
    prop_assert!(call(core, "ListPipelines", &json!({}))?.is_some(), "ListPipelines refused");
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Generators.
// ---------------------------------------------------------------------------------------------------------

fn operation_names() -> Vec<String> {
    let mut names: Vec<String> = model().operation_names().map(String::from).collect();
    names.sort();
    assert_eq!(names.len(), 29);
    names
}

fn placeholder() -> impl Strategy<Value = String> {
    (0..POOL_LEN).prop_map(|n| format!("{PLACEHOLDER}{n}"))
}

/// Words of this domain that make a body go further than a random string would.
const WORDS: &[&str] = &[
    "AbalonePipeline",
    "abalonepipeline",
    "ControlFlow",
    "MseThreshold",
    "ProcessingInstanceCount",
    "TrainingInstanceType",
    "RunHeavyBranch",
    "Environment",
    "Threshold",
    "MaxItems",
    "AbaloneProcess",
    "AbaloneTrain",
    "AbaloneEval",
    "AbaloneMSECond",
    "AbaloneMSEFail",
    "AbaloneTransform",
    "ScoreBatch",
    "ManualApproval",
    "CheckScore",
    "approved",
    "score",
    "3.0",
    "6.0",
    "1",
    "1.5",
    "-1",
    "true",
    "false",
    "prod",
    "dev",
    "six",
    "",
    " ",
    "Ascending",
    "Descending",
    "CreationTime",
    "Name",
    "PipelineExecutionArn",
    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/AbalonePipeline/execution/",
    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/",
    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/Nope/execution/abcdefabcdef",
    "76312f7c3130",
    "v1|0|",
    "7631",
    "💥",
    "\u{0}",
    "a\nb",
    "%s%n",
    "'; DROP TABLE executions; --",
];

fn arb_string() -> BoxedStrategy<String> {
    prop_oneof![
        3 => ".{0,24}",
        3 => prop::sample::select(WORDS).prop_map(String::from),
        2 => placeholder(),
        1 => "[0-9a-f]{0,64}",
        1 => (0usize..4).prop_map(|k| "x".repeat([255, 256, 1024, 3000][k])),
    ]
    .boxed()
}

fn arb_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop::sample::select(vec![0i64, 1, -1, 2, 100, 101, 2_147_483_647, 2_147_483_648, i64::MIN])
            .prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        arb_string().prop_map(Value::String),
    ]
    .boxed()
}

fn all_member_names() -> Vec<String> {
    let m = model();
    let mut names = BTreeSet::new();
    let mut todo: Vec<String> =
        operation_names().iter().filter_map(|op| m.operation(op).and_then(|o| o.input.clone())).collect();
    let mut seen = HashSet::new();
    while let Some(shape) = todo.pop() {
        if !seen.insert(shape.clone()) {
            continue;
        }
        let Some(s) = m.shape(&shape) else { continue };
        if let Some(members) = s.get("members").and_then(Value::as_object) {
            for (k, v) in members {
                names.insert(k.clone());
                if let Some(t) = v.get("shape").and_then(Value::as_str) {
                    todo.push(t.to_string());
                }
            }
        }
        for k in ["member", "value"] {
            if let Some(t) = s.get(k).and_then(|x| x.get("shape")).and_then(Value::as_str) {
                todo.push(t.to_string());
            }
        }
    }
    names.into_iter().collect()
}

fn arb_key() -> BoxedStrategy<String> {
    prop_oneof![3 => prop::sample::select(all_member_names()), 1 => ".{0,12}"].boxed()
}

/// Arbitrary JSON trees up to depth 4.
fn arb_json() -> BoxedStrategy<Value> {
    arb_leaf()
        .prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(arb_key(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

// Mutated pipeline definitions: the two real definitions with a few nodes replaced, removed or duplicated.

#[derive(Clone, Debug)]
enum Mutation {
    Replace(Value),
    Remove,
    Duplicate,
}

fn definition_values() -> BoxedStrategy<Value> {
    let names = [
        "AbaloneProcess",
        "AbaloneTrain",
        "AbaloneEval",
        "AbaloneMSECond",
        "AbaloneMSEFail",
        "ScoreBatch",
        "ManualApproval",
        "CheckScore",
        "Ghost",
    ];
    let types = [
        "Processing",
        "Training",
        "Transform",
        "Tuning",
        "Condition",
        "Fail",
        "Callback",
        "Lambda",
        "RegisterModel",
        "Model",
        "CreateModel",
        "QualityCheck",
        "ClarifyCheck",
        "EMR",
        "AutoML",
        "Notebook",
        "Unknown",
        "String",
        "Integer",
        "Float",
        "Boolean",
    ];
    prop_oneof![
        3 => arb_leaf(),
        2 => prop::sample::select(names.to_vec()).prop_map(|n| json!(n)),
        1 => prop::sample::select(names.to_vec()).prop_map(|n| json!([n])),
        2 => prop::sample::select(types.to_vec()).prop_map(|n| json!(n)),
        2 => prop::sample::select(vec![
            json!({"Get": "Parameters.MseThreshold"}),
            json!({"Get": "Parameters.Nope"}),
            json!({"Get": "Execution.PipelineExecutionId"}),
            json!({"Get": "Execution.Bogus"}),
            json!({"Get": "Steps.AbaloneTrain.ModelArtifacts.S3ModelArtifacts"}),
            json!({"Get": "Steps.ScoreBatch.OutputParameters['score']"}),
            json!({"Get": "Steps.Ghost.Properties"}),
            json!({"Get": "Steps.AbaloneEval"}),
            json!({"Get": 7}),
            json!({"Std:Join": {"On": "/", "Values": [{"Get": "Execution.PipelineExecutionId"}, 1, null]}}),
            json!({"Std:Join": {"On": 5, "Values": "x"}}),
            json!({"Std:JsonGet": {"PropertyFile": {"Get": "Steps.AbaloneEval.PropertyFiles.EvaluationReport"}, "Path": "regression_metrics.mse.value"}}),
            json!({"Std:JsonGet": {"PropertyFile": "Nope", "Path": ""}}),
            json!({"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.MseThreshold"}, "RightValue": "abc"}),
            json!({"Type": "Not", "Condition": {"Type": "Not"}}),
            json!({"Type": "In", "QueryValue": 1, "Values": []}),
            json!({"Type": "Or", "Conditions": []}),
            json!([{"Name": "A", "Type": "Fail", "Arguments": {"ErrorMessage": "boom"}, "DependsOn": ["A"]}]),
            json!({"Name": "MseThreshold", "Type": "Float", "DefaultValue": "x"}),
            json!({"MaximumAttempts": 0, "IntervalSeconds": -1, "BackoffRate": 1e308, "ExceptionType": ["Step.SERVICE_FAULT"]}),
            json!({"Enabled": true, "ExpireAfter": "P99999999999D"}),
            json!(1e308),
            json!(-0.0),
            json!(""),
        ]),
        1 => arb_json(),
    ]
    .boxed()
}

fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                at.push(k.clone());
                paths(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(i.to_string());
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn mutate(root: &mut Value, path: &[String], m: Mutation) {
    let Some((last, parent_path)) = path.split_last() else {
        if let Mutation::Replace(v) = m {
            *root = v;
        }
        return;
    };
    let mut parent = &mut *root;
    for p in parent_path {
        parent = match parent {
            Value::Object(o) => o.get_mut(p).unwrap(),
            Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    match (parent, m) {
        (Value::Object(o), Mutation::Replace(v)) => {
            o.insert(last.clone(), v);
        }
        (Value::Object(o), Mutation::Remove) => {
            o.remove(last);
        }
        (Value::Object(o), Mutation::Duplicate) => {
            let copy = o[last].clone();
            o.insert(format!("{last}2"), copy);
        }
        (Value::Array(a), Mutation::Replace(v)) => a[last.parse::<usize>().unwrap()] = v,
        (Value::Array(a), Mutation::Remove) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        (Value::Array(a), Mutation::Duplicate) => {
            let i = last.parse::<usize>().unwrap();
            let copy = a[i].clone();
            a.insert(i, copy);
        }
        _ => {}
    }
}

fn mutated_definition() -> BoxedStrategy<String> {
    let bases: Vec<Value> = [ABALONE, CONTROL_FLOW].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let mutation = prop_oneof![4 => definition_values().prop_map(Mutation::Replace), 2 => Just(Mutation::Remove), 1 => Just(Mutation::Duplicate)];
    (0..bases.len(), prop::collection::vec((any::<Index>(), mutation), 1..4))
        .prop_map(move |(b, muts)| {
            let mut v = bases[b].clone();
            for (idx, m) in muts {
                let mut all = vec![];
                paths(&v, &mut vec![], &mut all);
                let path = idx.get(&all).clone();
                mutate(&mut v, &path, m);
            }
            v.to_string()
        })
        .boxed()
}

fn definition_string() -> BoxedStrategy<String> {
    prop_oneof![
        6 => mutated_definition(),
        1 => Just(ABALONE.to_string()),
        1 => Just(CONTROL_FLOW.to_string()),
        1 => arb_json().prop_map(|v| v.to_string()),
        1 => arb_string(),
    ]
    .boxed()
}

// Values directed by the input shapes of the model.

fn string_for(shape: &Value, member: &str, noisy: bool) -> BoxedStrategy<Value> {
    if member == "PipelineDefinition" {
        return prop_oneof![9 => definition_string(), 1 => (0usize..2).prop_map(|k| "x".repeat([1_048_576, 1_048_577][k]))]
            .prop_map(Value::String)
            .boxed();
    }
    if !noisy {
        if let Some(t) = targeted(member) {
            return prop_oneof![8 => t, 2 => string_for(shape, member, true)].boxed();
        }
    }
    // Well-typed bodies mostly carry plausible strings (live names and ARNs, words of the domain, strings
    // matching the member's pattern); noisy ones any string at all.
    let mut options: Vec<(u32, BoxedStrategy<String>)> = vec![
        (if noisy { 3 } else { 1 }, arb_string()),
        (3, placeholder().boxed()),
        (2, prop::sample::select(WORDS).prop_map(String::from).boxed()),
    ];
    if let Some(values) = shape.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().filter_map(Value::as_str).map(String::from).collect();
        options.push((4, prop::sample::select(values).boxed()));
    }
    if let Some(p) = shape.get("pattern").and_then(Value::as_str) {
        if let Ok(s) = proptest::string::string_regex(&format!("(?:{p})")) {
            options.push((3, s.prop_map(|s| s.chars().take(300).collect::<String>()).boxed()));
        }
    }
    let min = shape.get("min").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = shape.get("max").and_then(Value::as_u64).map(|m| m as usize);
    let mut lengths = vec![min, min.saturating_sub(1)];
    if let Some(max) = max.filter(|m| *m <= 4096) {
        lengths.extend([max, max + 1]);
    }
    options.push((if noisy { 2 } else { 1 }, prop::sample::select(lengths).prop_map(|n| "a".repeat(n)).boxed()));
    Union::new_weighted(options).prop_map(Value::String).boxed()
}

fn pool(indices: &[usize]) -> BoxedStrategy<String> {
    prop::sample::select(indices.to_vec()).prop_map(|n| format!("{PLACEHOLDER}{n}")).boxed()
}

fn words(w: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(w.to_vec()).prop_map(String::from).boxed()
}

/// The strings that make sense for a member (in well-typed bodies): live resources, their names in other
/// cases, tokens the fixture already used (so idempotent replays happen), fresh tokens.
fn targeted(member: &str) -> Option<BoxedStrategy<Value>> {
    let s: BoxedStrategy<String> = match member {
        "PipelineName" => {
            prop_oneof![4 => pool(&[0, 1, 2, 3]), 1 => words(&["abalonepipeline", "CONTROLFLOW", "Nope", "Fuzz0"])]
                .boxed()
        }
        "PipelineNamePrefix" => words(&["Abalone", "abal", "C", "Nope", ""]),
        "PipelineExecutionArn" | "SourcePipelineExecutionArn" => pool(&[4, 5, 6, 14, 15]),
        "TrainingJobName" | "ProcessingJobName" | "TransformJobName" | "HyperParameterTuningJobName" => {
            prop_oneof![4 => pool(&[16, 17, 18, 20]), 1 => words(&["nope", "pipelines-x-y-z"])].boxed()
        }
        "ModelPackageName" => {
            prop_oneof![4 => pool(&[19]), 1 => words(&["AbaloneModelPackageGroupName/1", "G/9", "G"])].boxed()
        }
        "ResourceArn" => pool(&[1, 3, 4, 19]),
        "CallbackToken" => prop_oneof![4 => pool(&[7]), 1 => "[A-Za-z0-9]{10}".boxed()].boxed(),
        "NextToken" => pool(&[8, 9, 10, 11]),
        "ClientRequestToken" => prop_oneof![
            3 => "[a-zA-Z0-9]{32,64}".boxed(),
            1 => Just(format!("create-AbalonePipeline-{}", "0".repeat(32))).boxed(),
            1 => (1u32..4).prop_map(|n| format!("fixture-start-{n}-{}", "1".repeat(32))).boxed(),
        ]
        .boxed(),
        "RoleArn" => Just(ROLE.to_string()).boxed(),
        "StepName" => words(&[
            "AbaloneProcess",
            "AbaloneTrain",
            "AbaloneEval",
            "AbaloneMSECond",
            "AbaloneTransform",
            "ScoreBatch",
            "ManualApproval",
            "Ghost",
        ]),
        "Name" => words(&[
            "MseThreshold",
            "ProcessingInstanceCount",
            "TrainingInstanceType",
            "InputData",
            "RunHeavyBranch",
            "Environment",
            "Threshold",
            "MaxItems",
            "approved",
            "score",
            "Nope",
        ]),
        "Value" => words(&[
            "3.0",
            "6.0",
            "1",
            "2",
            "1.5",
            "true",
            "false",
            "prod",
            "dev",
            "six",
            "s3://bucket/key",
            "ml.m5.large",
        ]),
        "FailureReason" => words(&["boom", "worker gave up"]),
        _ => return None,
    };
    Some(s.prop_map(Value::String).boxed())
}

fn number_for(shape: &Value, noisy: bool) -> BoxedStrategy<Value> {
    let mut edges = vec![0i64, 1, -1, 2, 3, 2_147_483_647, 2_147_483_648, -2_147_483_649, i64::MAX, i64::MIN];
    for k in ["min", "max"] {
        if let Some(n) = shape.get(k).and_then(Value::as_i64) {
            edges.extend([n - 1, n, n + 1]);
        }
    }
    if !noisy {
        edges.retain(|n| i32::try_from(*n).is_ok());
        return prop_oneof![2 => prop::sample::select(edges).prop_map(|n| json!(n)), 3 => (1i64..12).prop_map(|n| json!(n))].boxed();
    }
    prop_oneof![4 => prop::sample::select(edges).prop_map(|n| json!(n)), 2 => (1i64..12).prop_map(|n| json!(n)), 1 => any::<i64>().prop_map(|n| json!(n)), 1 => any::<f64>().prop_map(|f| json!(f))].boxed()
}

/// A value for `shape_name`: of the shape's type, and when `noisy` sometimes of a random one (a body is
/// either well typed throughout, so that it gets past validation often, or noisy).
fn shaped(shape_name: &str, member: &str, depth: u32, noisy: bool) -> BoxedStrategy<Value> {
    let m = model();
    let shape = m.shape(shape_name).cloned().unwrap_or(Value::Null);
    if depth > 8 {
        return arb_leaf();
    }
    let kind = shape.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    let typed: BoxedStrategy<Value> = match kind.as_str() {
        "structure" => {
            let required: HashSet<String> = shape
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect();
            let members: Vec<(String, String)> = shape
                .get("members")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.get("shape")?.as_str()?.to_string())))
                .collect();
            let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = members
                .into_iter()
                .map(|(name, target)| {
                    let p = match (required.contains(&name), noisy) {
                        (true, false) => 0.98,
                        (true, true) => 0.9,
                        (false, false) => 0.3,
                        (false, true) => 0.45,
                    };
                    let value = shaped(&target, &name, depth + 1, noisy);
                    prop::option::weighted(p, value).prop_map(move |v| v.map(|v| (name.clone(), v))).boxed()
                })
                .collect();
            let extra: BoxedStrategy<Option<(String, Value)>> =
                if noisy { prop::option::weighted(0.1, (arb_key(), arb_leaf())).boxed() } else { Just(None).boxed() };
            (parts, extra)
                .prop_map(|(parts, extra)| {
                    let mut o: Map<String, Value> = parts.into_iter().flatten().collect();
                    if let Some((k, v)) = extra {
                        o.entry(k).or_insert(v);
                    }
                    Value::Object(o)
                })
                .boxed()
        }
        "list" => {
            let item = shape.get("member").and_then(|x| x.get("shape")).and_then(Value::as_str).unwrap_or("");
            prop::collection::vec(shaped(item, member, depth + 1, noisy), 0..5).prop_map(Value::Array).boxed()
        }
        "map" => {
            let value = shape.get("value").and_then(|x| x.get("shape")).and_then(Value::as_str).unwrap_or("");
            prop::collection::btree_map(arb_string(), shaped(value, member, depth + 1, noisy), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
                .boxed()
        }
        "string" => string_for(&shape, member, noisy),
        "integer" | "long" => number_for(&shape, noisy),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "timestamp" => {
            prop_oneof![(0.0f64..4e9).prop_map(|f| json!(f)), any::<i64>().prop_map(|n| json!(n)), Just(json!(1e308))]
                .boxed()
        }
        _ => arb_leaf(),
    };
    if !noisy {
        return typed;
    }
    prop_oneof![10 => typed, 1 => arb_leaf(), 1 => arb_json()].boxed()
}

fn shaped_body(op: &str) -> BoxedStrategy<Value> {
    let input = model().operation(op).and_then(|o| o.input.clone()).unwrap_or_default();
    prop_oneof![shaped(&input, "", 0, false), shaped(&input, "", 0, true)].boxed()
}

/// One body per operation, in a random order: every case calls all 16 operations on one service.
fn all_operations(body: impl Fn(&str) -> BoxedStrategy<Value>) -> BoxedStrategy<Vec<(String, Value)>> {
    let calls: Vec<BoxedStrategy<(String, Value)>> = operation_names()
        .into_iter()
        .map(|op| {
            let op2 = op.clone();
            body(&op).prop_map(move |b| (op2.clone(), b)).boxed()
        })
        .collect();
    calls.prop_shuffle().boxed()
}

fn config() -> ProptestConfig {
    // The default 256 cases; failures are not persisted to a file, the input is printed instead.
    ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------------------------
// (a) dispatch.
// ---------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Arbitrary JSON (any type at the top, trees up to depth 4 with real member names as keys) sent to
    /// every operation.
    #[test]
    fn arbitrary_json_bodies_get_contract_answers(calls in all_operations(|_| arb_json())) {
        run_calls(calls)?;
    }

    /// Bodies built from the operations' input shapes, so that validation is exercised member by member and
    /// valid bodies reach the operations (with live ARNs, tokens and mutated definitions).
    #[test]
    fn shape_directed_bodies_get_contract_answers(calls in all_operations(shaped_body)) {
        run_calls(calls)?;
    }

    /// Mutated definitions are created, updated and started, and their executions run: the definition
    /// checks and the engine never panic.
    #[test]
    fn mutated_definitions_are_refused_or_run(defs in prop::collection::vec(definition_string(), 1..4), params in prop::collection::vec(shaped("Parameter", "", 0, false), 0..3)) {
        let f = fixture();
        let mut params = Value::Array(params);
        substitute(&mut params, &f.pool);
        for (n, def) in defs.iter().enumerate() {
            let create = json!({"PipelineName": format!("Fuzz{n}"), "PipelineDefinition": def, "RoleArn": ROLE, "ClientRequestToken": format!("fuzz-{n}-{}", "0".repeat(32))});
            call(&f.core, "CreatePipeline", &create)?;
            let update = json!({"PipelineName": "AbalonePipeline", "PipelineDefinition": def});
            call(&f.core, "UpdatePipeline", &update)?;
            for name in [format!("Fuzz{n}"), "AbalonePipeline".to_string()] {
                for body in [
                    json!({"PipelineName": name, "ClientRequestToken": format!("run-{n}-{}", "1".repeat(32))}),
                    json!({"PipelineName": name, "ClientRequestToken": format!("run-{n}-{}", "2".repeat(32)), "PipelineParameters": params}),
                ] {
                    call(&f.core, "StartPipelineExecution", &body)?;
                }
            }
        }
        check_service(&f.core)?;
    }
}

// ---------------------------------------------------------------------------------------------------------
// (b) bytes over HTTP.
// ---------------------------------------------------------------------------------------------------------

fn flip(bytes: Vec<u8>, edits: Vec<(Index, u8, u8)>) -> Vec<u8> {
    let mut b = bytes;
    for (at, byte, how) in edits {
        if b.is_empty() {
            b.push(byte);
            continue;
        }
        let i = at.index(b.len());
        match how % 4 {
            0 => b[i] = byte,
            1 => b.insert(i, byte),
            2 => {
                b.remove(i);
            }
            _ => b.truncate(i),
        }
    }
    b
}

#[derive(Clone, Debug)]
struct HttpCase {
    target: Option<String>,
    body: Vec<u8>,
}

fn http_cases() -> BoxedStrategy<HttpCase> {
    let ops = operation_names();
    let target = prop_oneof![
        8 => prop::sample::select(ops.clone()).prop_map(|op| Some(format!("SageMaker.{op}"))),
        1 => "[ -~]{0,40}".prop_map(Some),
        1 => Just(None),
    ];
    let edits = prop::collection::vec((any::<Index>(), any::<u8>(), any::<u8>()), 0..3);
    let body = prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..512),
        1 => prop::sample::select(vec![b"".to_vec(), b"  \n\t".to_vec(), b"{}".to_vec(), b"null".to_vec(), b"{\"PipelineName\": \"\xff\xfe\"}".to_vec(), b"{\"a\":1}{}".to_vec(), b"\xef\xbb\xbf{}".to_vec(), "[".repeat(10_000).into_bytes()]),
        3 => (arb_json(), edits.clone()).prop_map(|(v, e)| flip(v.to_string().into_bytes(), e)),
        4 => (Union::new(ops.iter().map(|op| shaped_body(op))), edits).prop_map(|(v, e)| flip(v.to_string().into_bytes(), e)),
    ];
    (target, body).prop_map(|(target, body)| HttpCase { target, body }).boxed()
}

/// Substitute placeholders in a body that is still valid JSON; bytes that are not JSON go as they are.
fn resolve(body: &[u8], pool: &[String]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) if String::from_utf8_lossy(body).contains(PLACEHOLDER) => {
            substitute(&mut v, pool);
            v.to_string().into_bytes()
        }
        _ => body.to_vec(),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes to `POST /`: always a 200 with a JSON object, or a 400 with a JSON `__type` error whose
    /// code is a contract code (never InternalFailure), and the X-Amzn-ErrorType header agreeing.
    #[test]
    fn arbitrary_bytes_over_http_get_json_answers(cases in prop::collection::vec(http_cases(), 1..6)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let f = fixture();
        let app = stepline_emulator::server::router(f.core.clone());
        for case in cases {
            let body = resolve(&case.body, &f.pool);
            let mut req = Request::builder().method("POST").uri("/").header("content-type", "application/x-amz-json-1.1");
            if let Some(t) = &case.target {
                req = req.header("x-amz-target", t.as_str());
            }
            let req = req.body(Body::from(body.clone())).unwrap();
            let resp = rt.block_on(app.clone().oneshot(req)).unwrap();
            let status = resp.status();
            let error_type = resp.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(String::from);
            let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(String::from);
            let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            let shown = String::from_utf8_lossy(&body).chars().take(400).collect::<String>();
            let answer: Value = serde_json::from_slice(&bytes)
                .map_err(|e| TestCaseError::fail(format!("{:?} {shown}: {status} answer is not JSON ({e}): {}", case.target, String::from_utf8_lossy(&bytes))))?;
            prop_assert_eq!(content_type.as_deref(), Some("application/x-amz-json-1.1"), "{:?} {}", case.target, shown);
            prop_assert!(answer.is_object(), "{:?} {shown}: {answer}", case.target);
            match status {
                StatusCode::OK => prop_assert!(error_type.is_none(), "{:?} {shown}: 200 with an error type", case.target),
                StatusCode::BAD_REQUEST => {
                    let code = answer["__type"].as_str().unwrap_or_default();
                    prop_assert!(ALLOWED.contains(&code) && code != "InternalFailure", "{:?} {shown}: {answer}", case.target);
                    prop_assert_eq!(error_type.as_deref(), Some(code), "{:?} {}", case.target, shown);
                    prop_assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{:?} {shown}: {answer}", case.target);
                }
                other => prop_assert!(false, "{:?} {shown}: status {other}: {answer}", case.target),
            }
        }
        check_service(&f.core)?;
    }
}

// ---------------------------------------------------------------------------------------------------------
// (c) CloudWatch Logs on the same endpoint.
// ---------------------------------------------------------------------------------------------------------

/// Every error code a Logs answer may carry (none of them InternalFailure).
const LOGS_ALLOWED: [&str; 4] =
    ["InvalidParameterException", "ResourceNotFoundException", "SerializationException", "UnknownOperationException"];
const LOGS_PLACEHOLDER: &str = "\u{2}logs:";
const GROUPS: [&str; 3] =
    ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TransformJobs"];

/// Live stream names and tokens of the fixture's job logs: `[training stream, processing stream, transform
/// stream, its data log, a forward token, a backward token (both of the training stream), a filter token]`.
fn logs_pool(core: &Core) -> Vec<String> {
    let call = |op: &str, body: Value| {
        dispatch_logs(core, op, &body, &Caller::default()).unwrap_or_else(|e| panic!("fixture {op} {body}: {e}"))
    };
    let first = |group: &str, k: usize| {
        call("DescribeLogStreams", json!({"logGroupName": group}))["logStreams"][k]["logStreamName"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let training = first(GROUPS[0], 0);
    let page = call("GetLogEvents", json!({"logGroupName": GROUPS[0], "logStreamName": training, "limit": 3}));
    let filter = call("FilterLogEvents", json!({"logGroupName": GROUPS[0], "limit": 2}));
    vec![
        training,
        first(GROUPS[1], 0),
        first(GROUPS[2], 0),
        first(GROUPS[2], 1),
        page["nextForwardToken"].as_str().unwrap().to_string(),
        page["nextBackwardToken"].as_str().unwrap().to_string(),
        filter["nextToken"].as_str().unwrap().to_string(),
    ]
}

fn logs_string(choices: Vec<String>) -> BoxedStrategy<Value> {
    prop_oneof![4 => prop::sample::select(choices), 1 => arb_string()].prop_map(Value::String).boxed()
}

fn live(indices: &[usize]) -> Vec<String> {
    indices.iter().map(|n| format!("{LOGS_PLACEHOLDER}{n}")).collect()
}

/// A Logs request body: the members of the three operations with live, edge and wrong values.
fn logs_body() -> BoxedStrategy<Value> {
    let mut groups: Vec<String> = GROUPS.iter().map(|g| g.to_string()).collect();
    groups.extend(["/nope".into(), "".into(), "bad group!".into()]);
    let identifiers = vec![
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs".to_string(),
        "arn:aws:logs:us-east-1:999999999999:log-group:/aws/sagemaker/TrainingJobs".to_string(),
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:*".to_string(),
        "/aws/sagemaker/ProcessingJobs".to_string(),
    ];
    let mut streams = live(&[0, 1, 2, 3]);
    streams.extend(["nope/algo-1-1".into(), "".into(), "a:b*".into()]);
    let mut tokens = live(&[4, 5, 6]);
    tokens.extend(["f/123".into(), "b/".into(), "".into(), format!("f/{}", "9".repeat(56))]);
    let patterns: Vec<String> = [
        "",
        "epoch",
        "\"validation:rmse\"",
        "?ERROR ?INFO",
        "-WARNING epoch",
        "\"open",
        "{ $.x = 1 }",
        "[a, b]",
        "?",
        "-",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    let times = prop_oneof![
        prop::sample::select(vec![0i64, -1, 1, i64::MAX, 1_700_000_000_000, 4_000_000_000_000]).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!("soon")),
    ];
    let limits = prop::sample::select(vec![-1i64, 0, 1, 2, 50, 51, 10_000, 10_001]).prop_map(|n| json!(n));
    let member = |name: &'static str, v: BoxedStrategy<Value>| {
        prop::option::weighted(0.5, v).prop_map(move |v| v.map(|v| (name.to_string(), v))).boxed()
    };
    let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = vec![
        member("logGroupName", logs_string(groups)),
        prop::option::weighted(0.1, logs_string(identifiers))
            .prop_map(|v| v.map(|v| ("logGroupIdentifier".to_string(), v)))
            .boxed(),
        member("logStreamName", logs_string(streams.clone())),
        prop::option::weighted(0.2, prop::collection::vec(logs_string(streams.clone()), 0..3).prop_map(Value::Array))
            .prop_map(|v| v.map(|v| ("logStreamNames".to_string(), v)))
            .boxed(),
        prop::option::weighted(0.3, logs_string(vec!["pipelines-".into(), "".into(), "nope".into()]))
            .prop_map(|v| v.map(|v| ("logStreamNamePrefix".to_string(), v)))
            .boxed(),
        member("startTime", times.clone().boxed()),
        member("endTime", times.boxed()),
        member("nextToken", logs_string(tokens)),
        member("limit", limits.boxed()),
        member("startFromHead", any::<bool>().prop_map(Value::Bool).boxed()),
        member("descending", any::<bool>().prop_map(Value::Bool).boxed()),
        member("orderBy", logs_string(vec!["LogStreamName".into(), "LastEventTime".into(), "Bogus".into()])),
        member("filterPattern", logs_string(patterns)),
        member("interleaved", arb_leaf()),
    ];
    prop_oneof![
        5 => well_formed_logs_body(),
        4 => parts.prop_map(|p| Value::Object(p.into_iter().flatten().collect())),
        1 => arb_json(),
    ]
    .boxed()
}

/// A Logs request body of valid values, mostly naming live streams, so that the operations answer.
fn well_formed_logs_body() -> BoxedStrategy<Value> {
    let pick = |v: Vec<Value>| prop::sample::select(v).boxed();
    let member = |name: &'static str, p: f64, v: BoxedStrategy<Value>| {
        prop::option::weighted(p, v).prop_map(move |v| v.map(|v| (name.to_string(), v))).boxed()
    };
    let streams: Vec<Value> = live(&[0, 1, 2, 3]).into_iter().map(Value::String).collect();
    let parts: Vec<BoxedStrategy<Option<(String, Value)>>> = vec![
        member("logStreamNames", 0.1, prop::collection::vec(pick(streams), 1..3).prop_map(Value::Array).boxed()),
        member("logStreamNamePrefix", 0.1, pick(vec![json!("pipelines-"), json!("nope")])),
        member("startTime", 0.2, pick(vec![json!(0), json!(1_700_000_000_000i64), json!(4_000_000_000_000i64)])),
        member("endTime", 0.2, pick(vec![json!(1_700_000_000_000i64), json!(4_000_000_000_000i64)])),
        member("nextToken", 0.3, pick(live(&[4, 5, 6]).into_iter().map(Value::String).collect())),
        member("limit", 0.5, pick(vec![json!(1), json!(2), json!(50), json!(10_000)])),
        member("startFromHead", 0.5, any::<bool>().prop_map(Value::Bool).boxed()),
        member("descending", 0.3, any::<bool>().prop_map(Value::Bool).boxed()),
        member("orderBy", 0.2, pick(vec![json!("LogStreamName"), json!("LastEventTime")])),
        member(
            "filterPattern",
            0.5,
            pick(vec![
                json!(""),
                json!("epoch"),
                json!("\"Reporting training\""),
                json!("?ERROR ?INFO"),
                json!("-WARNING epoch"),
            ]),
        ),
    ];
    // A group and one of its streams, mostly the training stream the tokens are of.
    let pairs = vec![(0usize, 0usize), (0, 0), (0, 0), (1, 1), (2, 2), (2, 3)];
    (parts, prop::sample::select(pairs), prop::bool::weighted(0.95))
        .prop_map(|(p, (group, stream), named)| {
            let mut body: Map<String, Value> = p.into_iter().flatten().collect();
            body.insert("logGroupName".into(), json!(GROUPS[group]));
            if named {
                body.insert("logStreamName".into(), json!(format!("{LOGS_PLACEHOLDER}{stream}")));
            }
            Value::Object(body)
        })
        .boxed()
}

fn substitute_logs(v: &mut Value, pool: &[String]) {
    match v {
        Value::String(s) => {
            if let Some(n) = s.strip_prefix(LOGS_PLACEHOLDER).and_then(|n| n.parse::<usize>().ok()) {
                *s = pool[n % pool.len()].clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute_logs(x, pool)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute_logs(x, pool)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(config())]

    /// Logs requests over HTTP: a 200 whose body conforms to the operation's output shape, or a 400 with one of
    /// Logs' error codes (never InternalFailure), whatever the members hold.
    #[test]
    fn logs_requests_get_logs_answers(cases in prop::collection::vec((prop::sample::select(vec!["DescribeLogStreams", "GetLogEvents", "FilterLogEvents", "PutLogEvents"]), logs_body()), 1..6)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let f = fixture();
        let pool = logs_pool(&f.core);
        let app = stepline_emulator::server::router(f.core.clone());
        for (op, mut body) in cases {
            substitute_logs(&mut body, &pool);
            let req = Request::builder()
                .method("POST")
                .uri("/")
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", format!("Logs_20140328.{op}"))
                .body(Body::from(body.to_string()))
                .unwrap();
            let resp = rt.block_on(app.clone().oneshot(req)).unwrap();
            let status = resp.status();
            let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            let answer: Value = serde_json::from_slice(&bytes).map_err(|e| TestCaseError::fail(format!("{op} {body}: not JSON ({e})")))?;
            match status {
                StatusCode::OK => {
                    if let Err(e) = logs_model().validate_output(op, &answer) {
                        return Err(TestCaseError::fail(format!("{op} {body}: the answer does not conform: {e}")));
                    }
                }
                StatusCode::BAD_REQUEST => {
                    let code = answer["__type"].as_str().unwrap_or_default();
                    prop_assert!(LOGS_ALLOWED.contains(&code), "{} {}: {}", op, body, answer);
                    prop_assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{} {}: {}", op, body, answer);
                }
                other => prop_assert!(false, "{} {}: status {}: {}", op, body, other, answer),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Deviations the properties above found, kept as regression tests.
// ---------------------------------------------------------------------------------------------------------

fn run_to_end(core: &Core, definition: &Value, params: Value) -> String {
    let def = definition.to_string();
    ok(
        core,
        "CreatePipeline",
        json!({"PipelineName": "Repro", "PipelineDefinition": def, "RoleArn": ROLE, "ClientRequestToken": "r".repeat(32)}),
    );
    let arn = ok(
        core,
        "StartPipelineExecution",
        json!({"PipelineName": "Repro", "PipelineParameters": params, "ClientRequestToken": "s".repeat(32)}),
    )["PipelineExecutionArn"]
        .as_str()
        .unwrap()
        .to_string();
    settle(core, Duration::from_secs(10));
    arn
}

/// A definition whose PipelineExperimentConfig.ExperimentName evaluates to something that is not an
/// experiment entity name (an object, a list, a string with spaces, more than 120 characters) is refused at
/// start with a ValidationException that names it; a pipeline name longer than 120 characters still gives a
/// valid default experiment name.
#[test]
fn experiment_names_outside_the_model_are_refused_at_start() {
    for name in [json!({}), json!(["x"]), json!("not a name"), json!("x".repeat(121))] {
        let core = build_core(&EmulatorConfig { speed: 1e6, ..EmulatorConfig::default() }).unwrap();
        let mut def: Value = serde_json::from_str(ABALONE).unwrap();
        def["PipelineExperimentConfig"]["ExperimentName"] = name.clone();
        ok(
            &core,
            "CreatePipeline",
            json!({"PipelineName": "Repro", "PipelineDefinition": def.to_string(), "RoleArn": ROLE, "ClientRequestToken": "r".repeat(32)}),
        );
        let e = dispatch(
            &core,
            "StartPipelineExecution",
            &json!({"PipelineName": "Repro", "ClientRequestToken": "s".repeat(32)}),
            &Caller::default(),
        )
        .expect_err("refused");
        assert_eq!(e.code, "ValidationException", "{name}: {e}");
        assert!(e.message.contains("PipelineExperimentConfig.ExperimentName"), "{name}: {e}");
    }
    let core = build_core(&EmulatorConfig { speed: 1e6, ..EmulatorConfig::default() }).unwrap();
    let mut def: Value = serde_json::from_str(ABALONE).unwrap();
    def.as_object_mut().unwrap().remove("PipelineExperimentConfig");
    let long = format!("P{}", "a".repeat(200));
    ok(
        &core,
        "CreatePipeline",
        json!({"PipelineName": long, "PipelineDefinition": def.to_string(), "RoleArn": ROLE, "ClientRequestToken": "r".repeat(32)}),
    );
    let arn = ok(&core, "StartPipelineExecution", json!({"PipelineName": long, "ClientRequestToken": "s".repeat(32)}))
        ["PipelineExecutionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = ok(&core, "DescribePipelineExecution", json!({"PipelineExecutionArn": arn}));
    model().validate_output("DescribePipelineExecution", &d).unwrap();
    assert_eq!(d["PipelineExperimentConfig"]["ExperimentName"].as_str().unwrap().len(), 120);
}

/// The `FailureReason` of a listed step is at most 1,024 characters in the model, even when a Fail step's
/// ErrorMessage is longer.
#[test]
fn step_failure_reasons_fit_the_model() {
    let core = build_core(&EmulatorConfig { speed: 1e6, ..EmulatorConfig::default() }).unwrap();
    let mut def: Value = serde_json::from_str(ABALONE).unwrap();
    let fail = def["Steps"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter_map(|s| s.get_mut("Arguments").and_then(Value::as_object_mut))
        .flat_map(|a| {
            a.iter_mut()
                .filter(|(k, _)| *k == "IfSteps" || *k == "ElseSteps")
                .flat_map(|(_, v)| v.as_array_mut().into_iter().flatten())
        })
        .find(|s| s["Type"] == "Fail")
        .expect("abalone has a Fail step");
    fail["Arguments"]["ErrorMessage"] = json!("x".repeat(2000));
    let arn = run_to_end(&core, &def, json!([{"Name": "MseThreshold", "Value": "3.0"}]));
    assert_eq!(status_of(&core, &arn), "Failed");
    let steps = ok(&core, "ListPipelineExecutionSteps", json!({"PipelineExecutionArn": arn}));
    model()
        .validate_output("ListPipelineExecutionSteps", &steps)
        .unwrap_or_else(|e| panic!("{}", &e.message[..300.min(e.message.len())]));
}
