//! The model registry through the real router: the demo's history (versions rejected, approved and
//! pending), people named by a trusted proxy under a policy, decisions made as the person (`--act-role`),
//! read back with the AWS SDK, and on record.

use axum::body::Body;
use axum::http::StatusCode;
use axum::Router;
use stepline::demo;
use stepline_core::gateway::acting::ActRole;
use stepline_types::model::activity::Action;

use crate::common;

const HOST: &str = "stepline.test";
const GROUP: &str = "AbaloneModelPackageGroupName";
const POLICY: &str = r#"
[[grant]]
users = ["vera"]
role = "viewer"
pipelines = ["Abalone*"]

[[grant]]
users = ["olga"]
role = "operator"
pipelines = ["Abalone*"]

[[grant]]
users = ["eve"]
role = "viewer"
pipelines = ["ControlFlow*"]
"#;

struct World {
    app: Router,
    client: aws_sdk_sagemaker::Client,
    db: stepline_core::store::Db,
}

async fn world() -> World {
    let role = "arn:aws:iam::123456789012:role/stepline-actions";
    let built = common::proxied_demo(HOST, POLICY, |g, url| {
        g.with_act_role(ActRole::new(role.into(), demo::sts_client(url, "us-east-1")))
    })
    .await;
    World { app: built.app, client: built.client, db: built.db }
}

async fn page(w: &World, user: &str, path: &str) -> (StatusCode, String) {
    common::page_as(&w.app, HOST, user, path).await
}

async fn decide(
    w: &World,
    user: &str,
    arn: &str,
    verdict: &str,
    comment: &str,
    plain: bool,
) -> (StatusCode, String, String) {
    let body = common::form(&[("group", GROUP), ("arn", arn), ("verdict", verdict), ("comment", comment)]);
    let req = common::proxied("POST", "/api/decide_model", HOST, user, "")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", if plain { "text/html" } else { "application/json" })
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    let (s, b, h) = common::send_with_headers(&w.app, req).await;
    (s, b, h.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string())
}

async fn version_arn(w: &World, version: i32) -> String {
    let list = w.client.list_model_packages().model_package_group_name(GROUP).send().await.unwrap();
    let found = list.model_package_summary_list().iter().find(|v| v.model_package_version() == Some(version));
    found.and_then(|v| v.model_package_arn()).unwrap().to_string()
}

#[tokio::test]
async fn the_registry_shows_each_versions_origin_and_metrics_and_an_operator_decides_as_themselves() {
    let w = world().await;
    // The list: the demo's group, one version waiting; nothing for someone who may not read Abalone.
    let (status, list) = page(&w, "vera", "/models").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&format!("data-group=\"{GROUP}\"")), "the demo's group");
    let pending_cell = list.split("pending-count\"").nth(1).unwrap_or_default();
    let pending_cell = pending_cell.split_once('>').map(|(_, rest)| rest).unwrap_or_default();
    assert!(
        pending_cell.starts_with("1<"),
        "one version waits for a reviewer: {}",
        &pending_cell[..pending_cell.len().min(80)]
    );
    let (_, none) = page(&w, "eve", "/models").await;
    assert!(none.contains("data-testid=\"no-models\"") && !none.contains(GROUP));

    // The group: every approval state, where each came from, metrics side by side; no buttons for a viewer.
    let path = format!("/models/{GROUP}");
    let (status, group) = page(&w, "vera", &path).await;
    assert_eq!(status, StatusCode::OK, "{group}");
    for state in ["Approved", "Rejected", "PendingManualApproval"] {
        assert!(group.contains(&format!("data-approval=\"{state}\"")), "{state}");
    }
    assert!(group.contains("Superseded by the release"), "the rejection's reason");
    assert!(group.matches("data-testid=\"generated-by\"").count() >= 3, "each links its execution");
    assert!(group.contains("data-testid=\"model-metrics\"") && group.contains("rmse"), "the training metrics");
    assert!(group.contains("sagemaker-xgboost"), "the image");
    assert!(group.contains("data-kind=\"parameter\"") && group.contains("MseThreshold"), "the parameters side by side");
    assert!(group.contains("class=\"differs\""), "the release ran with another ModelApprovalStatus: marked");
    assert!(!group.contains("data-testid=\"decide-form\""), "a viewer decides nothing");
    let (status, _) = page(&w, "eve", &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a group of a pipeline one may not read is unknown");

    let pending = version_arn(&w, 3).await;
    let (status, _, _) = decide(&w, "vera", &pending, "approve", "", false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer may not approve");
    let (status, body, _) = decide(&w, "olga", &pending, "reject", "  ", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("comment is required"), "{body}");
    let (_, operator_page) = page(&w, "olga", &path).await;
    assert!(operator_page.contains("data-testid=\"decide-form\""), "an operator of the pipeline decides");

    // Olga approves with a plain form: back on the page, and SageMaker says she did it.
    let (status, _, location) = decide(&w, "olga", &pending, "approve", "validated on the holdout set", true).await;
    assert!(status.is_redirection(), "{status}");
    assert!(location.starts_with(&format!("/models/{GROUP}?decided=approve")), "{location}");
    let d = w.client.describe_model_package().model_package_name(&pending).send().await.unwrap();
    assert_eq!(d.model_approval_status().map(|s| s.as_str()), Some("Approved"));
    assert_eq!(d.approval_description(), Some("validated on the holdout set"));
    let by = d.last_modified_by().and_then(|u| u.iam_identity()).and_then(|i| i.source_identity());
    assert_eq!(by, Some("olga"), "made as the person");
    let log = w.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 50).await.unwrap();
    let count = |a: Action, user: &str, outcome: &str| {
        log.entries.iter().filter(|e| e.action == a && e.user == user && e.outcome.label() == outcome).count()
    };
    assert_eq!(count(Action::ApproveModel, "olga", "done"), 1);
    assert_eq!(count(Action::ApproveModel, "vera", "denied"), 1);
    assert_eq!(count(Action::RejectModel, "olga", "invalid"), 1);
}
