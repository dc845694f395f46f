//! Executions side by side through the real router, over the demo's history and an execution of a
//! definition changed with UpdatePipeline: the summary, the parameters that differ, the structural diff and
//! the aligned steps; ids that are unknown, of another pipeline or malformed; a pipeline the person may not
//! read is not revealed.

use axum::http::StatusCode;
use axum::Router;
use stepline::demo;

use crate::common;

const HOST: &str = "stepline.test";
const POLICY: &str = r#"
[[grant]]
users = ["vera"]
role = "viewer"
pipelines = ["Abalone*"]

[[grant]]
users = ["eve"]
role = "viewer"
pipelines = ["ControlFlow*"]
"#;

struct World {
    app: Router,
    client: aws_sdk_sagemaker::Client,
}

async fn world() -> World {
    let built = common::proxied_demo(HOST, POLICY, |g, url| g.with_logs(demo::logs_client(url, "us-east-1"))).await;
    World { app: built.app, client: built.client }
}

async fn page(w: &World, user: &str, path: &str) -> (StatusCode, String) {
    common::page_as(&w.app, HOST, user, path).await
}

/// The id of `pipeline`'s execution named `display`.
async fn id_of(w: &World, pipeline: &str, display: &str) -> String {
    let list = w.client.list_pipeline_executions().pipeline_name(pipeline).max_results(100).send().await.unwrap();
    let e = list.pipeline_execution_summaries().iter().find(|e| e.pipeline_execution_display_name() == Some(display));
    e.and_then(|e| e.pipeline_execution_arn()).unwrap().rsplit('/').next().unwrap().to_string()
}

/// AbalonePipeline with a bigger training instance, a new default threshold and a step added; started once.
async fn changed_run(w: &World) -> String {
    let d = w.client.describe_pipeline().pipeline_name("AbalonePipeline").send().await.unwrap();
    let mut def: serde_json::Value = serde_json::from_str(d.pipeline_definition().unwrap()).unwrap();
    for p in def["Parameters"].as_array_mut().unwrap() {
        if p["Name"] == "MseThreshold" {
            p["DefaultValue"] = serde_json::json!(7.5);
        }
    }
    let steps = def["Steps"].as_array_mut().unwrap();
    for s in steps.iter_mut() {
        if s["Name"] == "AbaloneTrain" {
            s["Arguments"]["ResourceConfig"]["InstanceType"] = serde_json::json!("ml.m5.4xlarge");
        }
    }
    steps.push(serde_json::json!({"Name": "Audit", "Type": "Fail", "Arguments": {"ErrorMessage": "never runs"},
        "DependsOn": ["AbaloneTransform"]}));
    w.client
        .update_pipeline()
        .pipeline_name("AbalonePipeline")
        .pipeline_definition(def.to_string())
        .send()
        .await
        .unwrap();
    let started = w
        .client
        .start_pipeline_execution()
        .pipeline_name("AbalonePipeline")
        .pipeline_execution_display_name("changed")
        .client_request_token(format!("compare-{}-0123456789abcdef0123456789", std::process::id()))
        .send()
        .await
        .unwrap();
    started.pipeline_execution_arn().unwrap().rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn executions_side_by_side_say_what_differs() {
    let w = world().await;
    let baseline = id_of(&w, "AbalonePipeline", "nightly-baseline").await;
    let failed = id_of(&w, "AbalonePipeline", "strict-threshold").await;
    let compare = |ids: &[&str]| {
        let query: Vec<String> = ids.iter().map(|i| format!("e={i}")).collect();
        format!("/pipelines/AbalonePipeline/compare?{}", query.join("&"))
    };

    // The baseline and the failed run: one parameter differs (shown alone by default, the default marked),
    // same definition, the failing step only in one, the failure's reason.
    let (status, body) = page(&w, "vera", &compare(&[&baseline, &failed])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let summary = body.split("data-testid=\"compare-summary\"").nth(1).unwrap_or_default();
    let summary = &summary[..summary.find("</p>").unwrap_or(0)];
    assert!(summary.contains("1 parameter differs") && summary.contains("Succeeded → Failed"), "{summary}");
    assert!(!summary.contains("definition changed"), "{summary}");
    assert!(body.contains("data-parameter=\"MseThreshold\""), "the parameter that differs");
    assert!(!body.contains("data-parameter=\"TrainingInstanceType\""), "only differences by default");
    assert!(body.contains("(default)"), "the baseline ran with the default");
    assert!(body.contains("data-testid=\"same-definition\""));
    assert!(body.contains("data-step=\"AbaloneTrain\"") && body.contains("data-step=\"AbaloneMSEFail\""));
    assert!(body.contains("Execution failed due to MSE"), "the failed step's reason");
    // The training jobs behind the steps: their final metrics (the direction said) and their configuration.
    assert!(body.contains("data-testid=\"compare-metrics\"") && body.contains("data-metric=\"validation:rmse\""));
    assert!(body.contains("(lower is better)"));
    assert!(body.contains("data-job-step=\"AbaloneTrain\"") && body.contains("ml.m5.xlarge × 1"));
    let train = body.split("data-job-step=\"AbaloneTrain\"").nth(1).unwrap_or_default();
    let train = &train[..train.find("</tr>").unwrap_or(0)];
    assert!(!train.contains("Differs:"), "each run reads its own outputs: not a difference: {train}");
    let (_, all) = page(&w, "vera", &format!("{}&all=1", compare(&[&baseline, &failed]))).await;
    assert!(all.contains("data-parameter=\"TrainingInstanceType\""), "all=1 shows every parameter");

    // The training step's logs side by side: a column per execution, read as the logs tab reads them.
    let (status, logs) =
        page(&w, "vera", &format!("{}&step=AbaloneTrain&tab=logs", compare(&[&baseline, &failed]))).await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert!(logs.contains("data-testid=\"logs-pick\"") && logs.contains("<option value=\"AbaloneTrain\" selected"));
    let shown = logs.split("data-testid=\"compare-logs\"").nth(1).unwrap_or_default();
    assert_eq!(shown.matches("class=\"cmp-log-col\"").count(), 2, "{shown}");
    assert!(shown.matches("class=\"cl").count() > 2, "their lines: {shown}");
    // A step without logs is not offered; asking for it shows none.
    assert!(!logs.contains("<option value=\"AbaloneMSECond\""));
    let (_, no_logs) =
        page(&w, "vera", &format!("{}&step=AbaloneMSECond&tab=logs", compare(&[&baseline, &failed]))).await;
    assert!(!no_logs.contains("data-testid=\"compare-logs\""));

    // Compared with the last success: the same pair, the success first.
    let (status, against) =
        page(&w, "vera", &format!("/pipelines/AbalonePipeline/compare?e={failed}&against=success")).await;
    assert_eq!(status, StatusCode::OK, "{against}");
    let heads: Vec<&str> = against.split("<th scope=\"col\" data-execution=\"").skip(1).take(2).collect();
    assert!(heads[0].starts_with(&baseline) && heads[1].starts_with(&failed), "the last success first");

    // Two execution ARNs pasted into the search box open side by side, the pipeline named as created.
    let arn_of = |id: &str| format!("arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalonepipeline/execution/{id}");
    let q = common::form_value(&format!("{}\n{}", arn_of(&baseline), arn_of(&failed)));
    let req = common::proxied("GET", &format!("/?q={q}"), HOST, "vera", "").body(axum::body::Body::empty()).unwrap();
    let (status, _, headers) = common::send_with_headers(&w.app, req).await;
    assert_eq!(status, StatusCode::FOUND);
    let location = headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default();
    assert_eq!(location, format!("/pipelines/AbalonePipeline/compare?e={baseline}&e={failed}"));

    // A run of a changed definition: its structural diff and the changed default.
    let changed = changed_run(&w).await;
    let (status, body) = page(&w, "vera", &compare(&[&baseline, &changed])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("definition changed (1 step added, 1 changed, 1 parameter change)"), "{body}");
    assert!(body.contains("Arguments.ResourceConfig.InstanceType"), "which property changed");
    assert!(body.contains("Audit") && body.contains("MseThreshold default 6.0 → 7.5"));
    assert!(body.contains("data-testid=\"compare-live\""), "one of them runs: the page says it reads again");

    // The line diff is one click away: the first's definition against the other's, line by line.
    let line_diff = format!("/pipelines/AbalonePipeline/executions/{baseline}/definition?against={changed}");
    assert!(body.contains(&line_diff.replace('&', "&amp;")) || body.contains(&line_diff), "{body}");
    let (status, diff) = page(&w, "vera", &line_diff).await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert!(diff.contains("against execution changed"), "{diff}");
    assert!(diff.contains("ml.m5.4xlarge") && diff.contains("\"Audit\""), "the changed lines: {diff}");
    assert!(diff.contains("lines added") && diff.contains("removed in changed"), "{diff}");
    // Against itself: the same; against another pipeline's execution or a malformed id: not found / invalid.
    let (_, same) =
        page(&w, "vera", &format!("/pipelines/AbalonePipeline/executions/{baseline}/definition?against={baseline}"))
            .await;
    assert!(same.contains("The definitions are the same."), "{same}");

    // What is not there, or not theirs, is a clear 404; a malformed ask a 400.
    let cf = id_of(&w, "ControlFlowPipeline", "awaiting-approval").await;
    for ids in [vec![baseline.as_str(), "zzzzzzzzzzzz"], vec![baseline.as_str(), cf.as_str()]] {
        let (status, body) = page(&w, "vera", &compare(&ids)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{ids:?}: {body}");
    }
    for (ids, why) in [
        (vec![baseline.as_str(), "not%3Can%3Eid"], "is not an execution id"),
        (vec![baseline.as_str()], "Choose two executions or more"),
    ] {
        let (_, body) = page(&w, "vera", &compare(&ids)).await;
        assert!(body.contains("Invalid request") && body.contains(why), "{ids:?}: {body}");
    }
    let (_, body) = page(&w, "vera", &compare(&[&baseline, "zzzzzzzzzzzz"])).await;
    assert!(body.contains("zzzzzzzzzzzz"), "the 404 names the execution");
    let (status, _) =
        page(&w, "vera", &format!("/pipelines/AbalonePipeline/executions/{baseline}/definition?against={cf}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another pipeline's execution is not found here");
    // Eve may not read AbalonePipeline: the comparison answers as a pipeline that does not exist.
    let (status, body) = page(&w, "eve", &compare(&[&baseline, &failed])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains(&baseline) && !body.contains("MseThreshold"), "nothing of it is revealed");
}
