//! The inbox through the real router, over the demo's history: its waiting approval callback and its
//! pending model versions, shown by the policy (people named by a trusted proxy), answered and decided from
//! the inbox itself, read back with the AWS SDK and on record. Several places: `places.rs`.

use axum::body::Body;
use axum::http::StatusCode;
use axum::Router;
use stepline_types::model::activity::Action;

use crate::common;

const HOST: &str = "stepline.test";
const POLICY: &str = r#"
[[grant]]
users = ["vera"]
role = "viewer"
pipelines = ["Abalone*", "ControlFlow*"]

[[grant]]
users = ["olga"]
role = "operator"
pipelines = ["Abalone*", "ControlFlow*"]

[[grant]]
users = ["eve"]
role = "viewer"
pipelines = ["FeatureFactory*"]

# Reviewers of a model group, who run no pipeline.
[[grant]]
users = ["rita"]
role = "operator"
model-groups = ["FeatureFactory"]

# Reviews the risk team's groups, by their tags.
[[grant]]
users = ["rita"]
role = "operator"
model-group-tags = { team = "risk" }

# Operates the pipeline, but its models are reviewed by others: the group's grant says so.
[[grant]]
users = ["paul"]
role = "operator"
pipelines = ["FeatureFactory*"]

[[grant]]
users = ["paul"]
role = "viewer"
model-groups = ["Feature*"]
"#;

struct World {
    app: Router,
    client: aws_sdk_sagemaker::Client,
    db: stepline_core::store::Db,
}

async fn world() -> World {
    let built = common::proxied_demo(HOST, POLICY, |g, _| g).await;
    // A group made by hand, tagged for the risk team, with one version waiting.
    let tag = aws_sdk_sagemaker::types::Tag::builder().key("team").value("risk").build();
    built.client.create_model_package_group().model_package_group_name("risk-scores").tags(tag).send().await.unwrap();
    built.client.create_model_package().model_package_group_name("risk-scores").send().await.unwrap();
    World { app: built.app, client: built.client, db: built.db }
}

async fn page(w: &World, user: &str, path: &str) -> (StatusCode, String) {
    common::page_as(&w.app, HOST, user, path).await
}

/// A form posted without JavaScript: the answer's status and where it sends the browser.
async fn post(w: &World, user: &str, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let req = common::proxied("POST", path, HOST, user, "")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(common::form(fields)))
        .unwrap();
    let (s, _, h) = common::send_with_headers(&w.app, req).await;
    (s, h.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string())
}

async fn count(w: &World, user: &str) -> serde_json::Value {
    let req = common::proxied("POST", "/api/inbox_count", HOST, user, "")
        .header("content-type", "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from("{}"))
        .unwrap();
    let (s, b, _) = common::send_with_headers(&w.app, req).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    serde_json::from_str(&b).unwrap()
}

/// The demo's execution waiting at its approval callback.
async fn waiting_execution(w: &World) -> String {
    let list = w.client.list_pipeline_executions().pipeline_name("ControlFlowPipeline").send().await.unwrap();
    let running = list
        .pipeline_execution_summaries()
        .iter()
        .find(|e| e.pipeline_execution_status() == Some(&aws_sdk_sagemaker::types::PipelineExecutionStatus::Executing));
    running.and_then(|e| e.pipeline_execution_arn()).unwrap().rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn the_inbox_lists_what_waits_for_each_person_and_they_act_from_it() {
    let w = world().await;
    // Olga operates Abalone and ControlFlow: the approval callback and Abalone's pending version, each with
    // its forms; nothing of FeatureFactory.
    let (status, olga) = page(&w, "olga", "/inbox").await;
    assert_eq!(status, StatusCode::OK, "{olga}");
    assert_eq!(olga.matches("data-testid=\"inbox-callback\"").count(), 1, "{olga}");
    assert!(olga.contains("data-step=\"ManualApproval\"") && olga.contains("data-pipeline=\"ControlFlowPipeline\""));
    assert!(olga.contains("waiting for "), "how long it has waited");
    assert!(olga.contains("<code>approved"), "the output an approval sends");
    assert!(olga.contains("data-testid=\"callback-panel\""), "an operator answers here");
    assert!(olga.contains("data-group=\"AbaloneModelPackageGroupName\" data-version=\"3\""), "the pending version");
    assert!(!olga.contains("FeatureFactory"), "no grant on FeatureFactory: not shown");
    assert!(olga.contains("data-testid=\"decide-form\""));
    assert!(olga.contains("name=\"form[back]\" value=\"inbox\"") && olga.contains("name=\"back\" value=\"inbox\""));
    // The top bar's count comes from what the inbox read.
    assert_eq!(count(&w, "olga").await, serde_json::json!(2));

    // Vera reads the same pipelines: the same items, no forms.
    let (_, vera) = page(&w, "vera", "/inbox").await;
    assert_eq!(vera.matches("data-testid=\"inbox-callback\"").count(), 1);
    assert!(vera.contains("data-version=\"3\""));
    assert!(!vera.contains("data-testid=\"callback-panel\"") && !vera.contains("data-testid=\"decide-form\""));
    assert!(vera.contains("not answer for it") && vera.contains("not decide on it"));
    // Eve reads only FeatureFactory: its two pending versions, nothing else.
    let (_, eve) = page(&w, "eve", "/inbox").await;
    assert_eq!(eve.matches("data-testid=\"inbox-version\"").count(), 2, "{eve}");
    assert!(!eve.contains("inbox-callback") && !eve.contains("Abalone"));
    assert_eq!(count(&w, "eve").await, serde_json::json!(2));
    // Grants naming model groups: Rita reviews FeatureFactory's versions and the risk team's (and sees no
    // pipeline); Paul runs the pipeline but may not decide on what it registers.
    let (_, rita) = page(&w, "rita", "/inbox").await;
    assert_eq!(rita.matches("data-testid=\"inbox-version\"").count(), 3, "{rita}");
    assert_eq!(rita.matches("data-testid=\"decide-form\"").count(), 3);
    assert!(rita.contains("data-group=\"risk-scores\""), "a group named by its tags, registered by no pipeline");
    assert!(!rita.contains("inbox-callback"));
    let (_, paul) = page(&w, "paul", "/inbox").await;
    assert_eq!(paul.matches("data-testid=\"inbox-version\"").count(), 2, "{paul}");
    assert!(!paul.contains("data-testid=\"decide-form\""), "the group's grant makes him a viewer of its versions");
    let ff = w.client.list_model_packages().model_package_group_name("FeatureFactory").send().await.unwrap();
    let ff1 = ff.model_package_summary_list().iter().find(|v| v.model_package_version() == Some(1)).unwrap();
    let ff1 = ff1.model_package_arn().unwrap().to_string();
    let reject = |comment: &'static str| {
        [("group", "FeatureFactory"), ("arn", ""), ("verdict", "reject"), ("comment", comment), ("back", "inbox")]
    };
    let mut fields = reject("superseded by v2");
    fields[1].1 = ff1.as_str();
    let (_, location) = post(&w, "paul", "/api/decide_model", &fields).await;
    assert!(location.starts_with("/inbox?error="), "{location}");
    let (_, location) = post(&w, "rita", "/api/decide_model", &fields).await;
    assert!(location.starts_with("/inbox?decided=reject"), "{location}");
    let d = w.client.describe_model_package().model_package_name(&ff1).send().await.unwrap();
    assert_eq!(d.model_approval_status().map(|s| s.as_str()), Some("Rejected"));

    // Nobody's grants: an empty inbox, not an error.
    let (status, nobody) = page(&w, "mallory", "/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(nobody.contains("data-testid=\"inbox-empty\""));

    // A viewer's answer is refused, and the step still waits.
    let id = waiting_execution(&w).await;
    let token = "inbox-test-0123456789abcdef0123456789abcdef";
    let answer = |decision: &'static str, token: &'static str| {
        vec![
            ("form[pipeline]", "ControlFlowPipeline".to_string()),
            ("form[id]", id.clone()),
            ("form[step]", "ManualApproval".to_string()),
            ("form[token]", token.to_string()),
            ("form[decision]", decision.to_string()),
            ("form[outputs][approved]", "true".to_string()),
            ("form[back]", "inbox".to_string()),
        ]
    };
    let fields = answer("approve", token);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location) = post(&w, "vera", "/api/callback", &fields).await;
    assert!(status.is_redirection(), "a plain form is sent back: {status}");
    assert!(location.starts_with("/inbox?error="), "back to the inbox with the refusal: {location}");

    // Olga approves from the inbox: back there, and the step goes on.
    let (status, location) = post(&w, "olga", "/api/callback", &fields).await;
    assert!(status.is_redirection(), "{status}");
    assert!(location.starts_with("/inbox?notice=approved"), "{location}");
    let arn = format!("{}/execution/{id}", pipeline_arn(&w, "ControlFlowPipeline").await);
    let steps = w.client.list_pipeline_execution_steps().pipeline_execution_arn(&arn).send().await.unwrap();
    let step = steps.pipeline_execution_steps().iter().find(|s| s.step_name() == Some("ManualApproval")).unwrap();
    assert_ne!(step.step_status(), Some(&aws_sdk_sagemaker::types::StepStatus::Executing), "the callback was answered");

    // And approves the model version from the inbox.
    let list = w.client.list_model_packages().model_package_group_name("AbaloneModelPackageGroupName").send().await;
    let pending = list.unwrap();
    let v3 = pending.model_package_summary_list().iter().find(|v| v.model_package_version() == Some(3)).unwrap();
    let v3 = v3.model_package_arn().unwrap().to_string();
    let fields = [
        ("group", "AbaloneModelPackageGroupName"),
        ("arn", v3.as_str()),
        ("verdict", "approve"),
        ("comment", "looked fine from the inbox"),
        ("back", "inbox"),
    ];
    let (status, location) = post(&w, "olga", "/api/decide_model", &fields).await;
    assert!(status.is_redirection(), "{status}");
    assert!(location.starts_with("/inbox?decided=approve"), "{location}");
    let d = w.client.describe_model_package().model_package_name(&v3).send().await.unwrap();
    assert_eq!(d.model_approval_status().map(|s| s.as_str()), Some("Approved"));
    // A `back` naming anything else is the group's page, never an address of the form's choosing.
    let fields = [
        ("group", "AbaloneModelPackageGroupName"),
        ("arn", v3.as_str()),
        ("verdict", "nope"),
        ("comment", ""),
        ("back", "https://evil.example/"),
    ];
    let (_, location) = post(&w, "olga", "/api/decide_model", &fields).await;
    assert!(location.starts_with("/models/AbaloneModelPackageGroupName?error="), "{location}");

    // Both are gone from her inbox at once (an action here reads again), and on record.
    let (_, after) = page(&w, "olga", "/inbox").await;
    assert!(
        !after.contains("data-testid=\"inbox-callback\"") && !after.contains("data-testid=\"inbox-version\""),
        "{after}"
    );
    assert!(after.contains("data-testid=\"inbox-empty\""));
    let log = w.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 50).await.unwrap();
    let done = |a: Action, user: &str, outcome: &str| {
        log.entries.iter().filter(|e| e.action == a && e.user == user && e.outcome.label() == outcome).count()
    };
    assert_eq!(done(Action::Approve, "olga", "done"), 1);
    assert_eq!(done(Action::Approve, "vera", "denied"), 1);
    assert_eq!(done(Action::ApproveModel, "olga", "done"), 1);
    assert_eq!(done(Action::RejectModel, "rita", "done"), 1);
    assert_eq!(done(Action::RejectModel, "paul", "denied"), 1);
}

async fn pipeline_arn(w: &World, name: &str) -> String {
    let d = w.client.describe_pipeline().pipeline_name(name).send().await.unwrap();
    d.pipeline_arn().unwrap().to_string()
}
