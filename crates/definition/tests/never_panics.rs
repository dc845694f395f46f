//! Property tests: nothing a user can type or upload makes the parser,
//! checker, graph or path reader panic.

use proptest::prelude::*;
use serde_json::Value;
use stepline_definition::*;

const ABALONE: &str = include_str!("../../../definitions/abalone.json");
const CONTROL_FLOW: &str = include_str!("../../../definitions/control-flow.json");

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[A-Za-z0-9_.\\[\\]' -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("Parameters.MseThreshold"),
            Just("Steps.AbaloneProcess.X"),
            Just("Steps.AbaloneEval.PropertyFiles.EvaluationReport"),
            Just("Steps.Nope.X"),
            Just("Execution.PipelineName"),
        ]
        .prop_map(|g| serde_json::json!({ "Get": g })),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Name".to_string()),
                    Just("Type".to_string()),
                    Just("DependsOn".to_string()),
                    Just("Get".to_string()),
                    Just("Conditions".to_string()),
                    Just("IfSteps".to_string()),
                    "[A-Za-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every container in `v`, as a path of indices/keys, so a mutation can
/// target one of them.
fn paths(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                here.push(i.to_string());
                paths(item, here, out);
                here.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                here.push(k.clone());
                paths(item, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            Value::Array(items) => items.get_mut(seg.parse::<usize>().ok()?)?,
            Value::Object(map) => map.get_mut(seg)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn exercise(d: &Definition) {
    let g = d.graph();
    let _ = g.topo_order();
    let _ = g.layers();
    for i in 0..d.steps.len() {
        let _ = g.ancestors(i);
        let _ = with_downstream(&g, i);
    }
    let names: Vec<String> = d.steps.iter().take(3).map(|s| s.name.clone()).collect();
    let _ = check_selection(d, &g, &names, false);
    let _ = from_failure(&g, &[0], &[]);
    let _ = resolve_parameters(&d.parameters, &[]);
    let scope = MapScope::default();
    for s in &d.steps {
        let _ = evaluate(&s.arguments, &scope);
        let _ = evaluate_conditions(&s.conditions, &scope);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parse_never_panics_on_strings(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_json_like_strings(s in "[\\[\\]{}\":,0-9a-zA-Z .\\\\-]{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_get_never_panics(s in "\\PC{0,80}") {
        let _ = parse_get(&s);
        let _ = parse_path(&s);
    }

    #[test]
    fn parse_get_never_panics_near_valid(
        prefix in prop_oneof![Just("Steps."), Just("Parameters."), Just("Execution."), Just("")],
        rest in "[A-Za-z0-9_.\\[\\]'\"-]{0,40}",
    ) {
        let s = format!("{prefix}{rest}");
        if let Ok(Reference::Step { path, .. }) = parse_get(&s) {
            prop_assert!(!path.is_empty());
            let _ = lookup_path(&serde_json::json!({"a": [1, {"Name": "b"}]}), &path);
        }
    }

    #[test]
    fn mutated_abalone_never_panics(
        which in 0usize..2,
        pick in any::<prop::sample::Index>(),
        replacement in arb_json(),
        delete in any::<bool>(),
    ) {
        let text = if which == 0 { ABALONE } else { CONTROL_FLOW };
        let mut v: Value = serde_json::from_str(text).unwrap();
        let mut all = Vec::new();
        paths(&v, &mut Vec::new(), &mut all);
        let target = pick.get(&all).clone();
        if delete && !target.is_empty() {
            let (last, parent) = target.split_last().unwrap();
            match node_mut(&mut v, parent) {
                Some(Value::Object(map)) => { map.remove(last); }
                Some(Value::Array(items)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        if i < items.len() { items.remove(i); }
                    }
                }
                _ => {}
            }
        } else if let Some(node) = node_mut(&mut v, &target) {
            *node = replacement;
        }
        if let Ok(d) = from_value(&v) {
            exercise(&d);
        }
        let _ = parse(&v.to_string());
    }

    #[test]
    fn resolve_parameters_never_panics(
        overrides in prop::collection::vec(("[A-Za-z]{0,12}", "\\PC{0,8}"), 0..5)
    ) {
        let d = parse(CONTROL_FLOW).unwrap();
        let res = resolve_parameters(&d.parameters, &overrides);
        if let Ok(r) = res {
            prop_assert_eq!(r.len(), d.parameters.len());
        }
    }
}
