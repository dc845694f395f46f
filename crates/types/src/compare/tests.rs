use super::*;
use crate::model::jobs::Metric;
use crate::model::{ExecStatus, NameValue, StepRun, StepStatus};

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
}

fn nv(name: &str, value: &str) -> NameValue {
    NameValue { name: name.into(), value: value.into() }
}

fn ran(name: &str, status: StepStatus, start: i64, end: i64) -> StepRun {
    StepRun { start: Some(t(start)), end: Some(t(end)), ..StepRun::named(name, status) }
}

fn column(id: &str, status: ExecStatus) -> Column {
    Column {
        id: id.into(),
        display_name: None,
        status,
        start: Some(t(0)),
        end: None,
        pipeline_version: None,
        failure_reason: None,
    }
}

#[test]
fn parameters_line_up_by_name_with_defaults_and_differences_marked() {
    let runs =
        vec![vec![nv("Lr", "0.1"), nv("Data", "s3://a")], vec![nv("Lr", "0.3"), nv("Data", "s3://a"), nv("New", "x")]];
    let defaults = vec![
        vec![("Lr".to_string(), Some("0.1".to_string())), ("Data".into(), None)],
        vec![("Lr".to_string(), Some("0.1".to_string())), ("Data".into(), None), ("New".into(), Some("x".into()))],
    ];
    let rows = parameters(&runs, &defaults);
    assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["Lr", "Data", "New"]);
    assert!(rows[0].differs && !rows[1].differs && rows[2].differs, "a parameter one ran without differs");
    assert_eq!(rows[0].defaults, [true, false]);
    assert_eq!(rows[2].values, [None, Some("x".to_string())]);
    assert_eq!(rows[2].defaults, [false, true]);
}

#[test]
fn steps_align_by_name_and_iteration_in_order_of_first_start() {
    let mut cached = ran("Prep", StepStatus::Succeeded, 0, 1);
    cached.cache_source = Some("arn:…/execution/old".into());
    let mut iteration = ran("Score", StepStatus::Succeeded, 50, 60);
    iteration.iteration = Some(crate::model::Iteration { parent: Some("Each".into()), index: Some(1), item: None });
    let a = vec![ran("Prep", StepStatus::Succeeded, 0, 30), ran("Train", StepStatus::Succeeded, 30, 90)];
    let b = vec![cached, ran("Train", StepStatus::Failed, 2, 300), iteration];
    let rows = steps(&[(Some(t(0)), a), (Some(t(0)), b)], t(1000));
    assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["Prep", "Train", "Score[1]"]);
    assert!(rows[0].differs, "cached in one, run in the other");
    assert!(rows[1].differs && rows[1].cells[1].as_ref().unwrap().status == StepStatus::Failed);
    assert_eq!(rows[1].cells[1].as_ref().unwrap().duration, Some(298.0));
    assert!(rows[2].cells[0].is_none(), "only the second ran it");
    // A running step lasts until now.
    let running = StepRun { start: Some(t(10)), ..StepRun::named("Wait", StepStatus::Executing) };
    let rows = steps(&[(Some(t(0)), vec![running])], t(70));
    assert_eq!(rows[0].cells[0].as_ref().unwrap().duration, Some(60.0));
}

#[test]
fn the_structure_names_steps_added_removed_and_the_properties_that_changed() {
    let def = |train_type: &str, extra: bool, eta: &str| {
        let mut steps = vec![serde_json::json!({"Name": "Train", "Type": "Training", "Arguments": {
            "HyperParameters": {"eta": eta, "depth": "5"},
            "ResourceConfig": {"InstanceType": train_type, "InstanceCount": 1}}})];
        steps.push(
            serde_json::json!({"Name": if extra { "Eval" } else { "Old" }, "Type": "Processing", "Arguments": {}}),
        );
        let text = serde_json::json!({"Version": "2020-12-01", "Parameters": [{"Name": "Lr", "Type": "Float", "DefaultValue": if extra { 0.2 } else { 0.1 }}], "Steps": steps});
        stepline_definition::parse(&text.to_string()).unwrap()
    };
    let (a, b) = (def("ml.m5.xlarge", false, "0.1"), def("ml.c5.2xlarge", true, "0.3"));
    let s = structure(&a, &b);
    assert_eq!(s.added, ["Eval"]);
    assert_eq!(s.removed, ["Old"]);
    assert_eq!(
        s.changed,
        [(
            "Train".to_string(),
            vec!["Arguments.HyperParameters.eta".to_string(), "Arguments.ResourceConfig.InstanceType".to_string()]
        )]
    );
    assert_eq!(s.parameters, ["Lr default 0.1 → 0.2"]);
    assert!(structure(&a, &a).is_empty());
}

#[test]
fn the_summary_says_what_differs_in_one_line() {
    let params = parameters(&[vec![nv("Lr", "0.1")], vec![nv("Lr", "0.3")]], &[]);
    let mut cached = ran("Prep", StepStatus::Succeeded, 0, 1);
    cached.cache_source = Some("x".into());
    let rows = steps(
        &[
            (Some(t(0)), vec![cached, ran("Train", StepStatus::Succeeded, 1, 101)]),
            (Some(t(0)), vec![ran("Prep", StepStatus::Succeeded, 0, 20), ran("Train", StepStatus::Failed, 20, 250)]),
        ],
        t(1000),
    );
    let structures = vec![Structure {
        added: vec!["Eval".into()],
        changed: vec![("Train".into(), vec!["x".into()])],
        ..Default::default()
    }];
    let cols = [column("a", ExecStatus::Succeeded), column("b", ExecStatus::Failed)];
    let metrics = vec![MetricRow {
        step: "Train".into(),
        metric: "validation:mse".into(),
        values: vec![Some(0.41), Some(0.5712)],
        better: Some(Better::Lower),
        best: Some(0),
    }];
    assert_eq!(
        summary(&cols, &params, &rows, &structures, &metrics),
        "1 parameter differs, definition changed (1 step added, 1 changed), 1 step ran where another execution \
         reused a cached result, Train 2.3× slower, validation:mse 0.4100 → 0.5712, Succeeded → Failed"
    );
    let same = [column("a", ExecStatus::Succeeded), column("b", ExecStatus::Succeeded)];
    assert_eq!(summary(&same, &[], &[], &[], &[]), "No differences.");
}

#[test]
fn ids_from_the_address_are_checked() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(ids(&s(&["a1", " b2 ", "a1"])).unwrap(), ["a1", "b2"]);
    assert!(ids(&s(&["a1", "a1"])).unwrap_err().contains("two executions"));
    assert!(ids(&s(&["a1", "<script>"])).unwrap_err().contains("not an execution id"));
    let nine: Vec<String> = (0..9).map(|i| format!("id{i}")).collect();
    assert!(ids(&nine).unwrap_err().contains("At most 8"));
}

#[test]
fn jobs_say_what_differs_in_their_configuration_and_mark_the_better_metric() {
    let job = |instances: &str, eta: &str, mse: f64, acc: f64| JobCell {
        name: "j".into(),
        execution: format!("run{eta}"),
        instances: Some(instances.into()),
        image: Some("xgboost:1".into()),
        spot: false,
        billable_seconds: Some(60),
        hyperparameters: vec![nv("eta", eta), nv("depth", "5")],
        // Each run reads what it wrote under its own id: not a difference.
        inputs: vec![nv("train", &format!("s3://b/run{eta}/train"))],
        metrics: vec![
            Metric { name: "validation:mse".into(), value: mse },
            Metric { name: "train:accuracy".into(), value: acc },
            Metric { name: "epochs".into(), value: 3.0 },
        ],
    };
    let (rows, metrics) = jobs(&[(
        "Train".into(),
        vec![Some(job("ml.m5.xlarge × 1", "0.1", 0.41, 0.8)), Some(job("ml.m5.xlarge × 2", "0.3", 0.57, 0.9)), None],
    )]);
    assert_eq!(rows[0].differs, ["instance type and count", "hyperparameter eta"]);
    let by = |name: &str| metrics.iter().find(|m| m.metric == name).unwrap();
    assert_eq!(by("validation:mse").best, Some(0), "lower is better");
    assert_eq!(by("train:accuracy").best, Some(1), "higher is better");
    assert_eq!(by("epochs").best, None, "no known direction: nothing marked");
    assert_eq!(by("epochs").values, [Some(3.0), Some(3.0), None]);
    assert_eq!(direction("val_loss"), Some(Better::Lower));
    assert_eq!(direction("test:auc"), Some(Better::Higher));
    assert_eq!(short(0.123456), "0.1235");
    assert_eq!(short(1234.5678), "1235");
}

#[test]
fn a_pasted_pair_of_arns_of_one_pipeline_is_a_comparison() {
    let a = "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/abalone/execution/aaaa1111";
    let b = "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/abalone/execution/bbbb2222";
    let other = "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/churn/execution/cccc3333";
    let (first, pipeline, ids) = pasted(&format!(" {a},\n{b} ")).unwrap();
    assert_eq!(
        (first.as_str(), pipeline.as_str(), ids),
        (a, "abalone", vec!["aaaa1111".to_string(), "bbbb2222".into()])
    );
    assert_eq!(pasted(a), None, "one ARN opens its execution");
    assert_eq!(pasted(&format!("{a} {other}")), None, "two pipelines");
    assert_eq!(pasted(&format!("{a} hello")), None, "not all ARNs");
}
