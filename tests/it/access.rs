//! Team access through the real router: identity from a trusted proxy, a policy of viewers, operators and
//! an admin, the activity log, and the cross-site and host checks — against the embedded emulator seeded
//! as in demo mode.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::common;

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use common::options;
use stepline::{demo, router};
use stepline_core::access::Access;
use stepline_core::config::{AccessConfig, AuthMode, HttpUrl};
use stepline_core::gateway::acting::ActRole;
use stepline_core::store::Db;
use stepline_core::{gateway::Gateway, state::AppState};
use tower::ServiceExt;

const POLICY: &str = r##"
contact = "#ml-platform"

[[grant]]
users = ["vera"]
role = "viewer"
pipelines = ["Abalone*", "ControlFlow*"]

[[grant]]
groups = ["flow-ops"]
role = "operator"
pipelines = ["ControlFlow*", "Abalone*"]

[[grant]]
groups = ["fraud-ds"]
role = "operator"
tags = { team = "fraud" }

[[grant]]
groups = ["platform"]
role = "admin"

# A person whose proxy calls them "anonymous" is a person like any other.
[[grant]]
users = ["anonymous"]
role = "viewer"
pipelines = ["Abalone*"]
"##;

const ROLE: &str = "arn:aws:iam::123456789012:role/stepline-actions";
const PROXY: [u8; 4] = [127, 0, 0, 1];
const HOST: &str = "stepline.test";

struct App {
    router: Router,
    client: aws_sdk_sagemaker::Client,
    db: Db,
    gateway: Arc<Gateway>,
    policy: std::path::PathBuf,
}

/// A dashboard in proxy mode (the proxy at 127.0.0.1) with `POLICY`, over a freshly seeded emulator.
async fn app() -> App {
    app_acting(false).await
}

/// As [`app`]; with `act_role`, actions are taken with credentials assumed for each person.
async fn app_acting(act_role: bool) -> App {
    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    // The live run lasts about ten minutes at this speed: tests that act on it find it running however slow
    // the machine is.
    demo::seed(&emulator, &client, 2.0).await.unwrap();
    let emulator_url = emulator.endpoint_url();
    // The emulator lives as long as the test's runtime.
    std::mem::forget(emulator);
    let dir = std::env::temp_dir().join(format!("stepline-access-{}-{}", std::process::id(), fastrand_u64()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let config = AccessConfig {
        auth: AuthMode::Proxy,
        public_url: Some(HttpUrl::parse(&format!("http://{HOST}")).unwrap()),
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        policy: Some(policy.clone()),
        session_hours: 12,
        ..Default::default()
    };
    let db = Db::memory().await.unwrap();
    let access = Arc::new(Access::new(&config, db.clone()).await.unwrap());
    let mut gateway = Gateway::new(client.clone(), "test");
    if act_role {
        let sts = demo::sts_client(&emulator_url, "us-east-1");
        gateway = gateway.with_act_role(ActRole::new(ROLE.into(), sts));
    }
    let gateway = Arc::new(gateway);
    let state = AppState::with_access(options(), gateway.clone(), access, Default::default());
    App { router: router::build(state).await, client, db, gateway, policy }
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
    h.finish()
}

/// A request as the proxy forwards it for `user` in `groups` (or from an untrusted peer when `user` is None).
fn request(method: &str, path: &str, user: Option<(&str, &str)>) -> axum::http::request::Builder {
    let peer: SocketAddr = match user {
        Some(_) => (PROXY, 40000).into(),
        None => ([192, 0, 2, 7], 40000).into(),
    };
    let mut b = Request::builder().method(method).uri(path).header("host", HOST).extension(ConnectInfo(peer));
    if let Some((u, g)) = user {
        b = b.header("x-forwarded-user", u).header("x-forwarded-groups", g);
    }
    b
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String, axum::http::HeaderMap) {
    let res = tokio::time::timeout(std::time::Duration::from_secs(60), app.clone().oneshot(req))
        .await
        .expect("answered within 60 s")
        .unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = to_bytes(res.into_body(), 16 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

async fn page(app: &Router, path: &str, user: (&str, &str)) -> (StatusCode, String) {
    let (s, b, _) =
        send(app, request("GET", path, Some(user)).header("accept", "text/html").body(Body::empty()).unwrap()).await;
    (s, b)
}

async fn post_form(
    app: &Router,
    endpoint: &str,
    user: (&str, &str),
    fields: &[(&str, &str)],
    site: &str,
) -> (StatusCode, String) {
    let body = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
    let req = request("POST", &format!("/api/{endpoint}"), Some(user))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("sec-fetch-site", site)
        .body(Body::from(body))
        .unwrap();
    let (s, b, _) = send(app, req).await;
    (s, b)
}

fn enc(s: &str) -> String {
    stepline_types::model::links::seg(s)
}

async fn executions(client: &aws_sdk_sagemaker::Client, pipeline: &str) -> Vec<(String, String)> {
    let out = client.list_pipeline_executions().pipeline_name(pipeline).max_results(100).send().await.unwrap();
    out.pipeline_execution_summaries()
        .iter()
        .map(|s| {
            let arn = s.pipeline_execution_arn().unwrap().to_string();
            (arn.clone(), s.pipeline_execution_status().map(|x| x.as_str().to_string()).unwrap_or_default())
        })
        .collect()
}

/// The demo's execution waiting on its callback step.
async fn awaiting_approval(client: &aws_sdk_sagemaker::Client) -> String {
    let out =
        client.list_pipeline_executions().pipeline_name("ControlFlowPipeline").max_results(100).send().await.unwrap();
    out.pipeline_execution_summaries()
        .iter()
        .find(|s| s.pipeline_execution_display_name() == Some("awaiting-approval"))
        .and_then(|s| s.pipeline_execution_arn())
        .expect("the demo's awaiting-approval execution")
        .to_string()
}

/// The callback token of `arn`'s ManualApproval step, once it waits (polled: the demo's clock runs).
async fn waiting_token(client: &aws_sdk_sagemaker::Client, arn: &str) -> String {
    for _ in 0..200 {
        let steps = client.list_pipeline_execution_steps().pipeline_execution_arn(arn).send().await.unwrap();
        let token = steps.pipeline_execution_steps().iter().find_map(|s| {
            let waiting =
                s.step_name() == Some("ManualApproval") && s.step_status().map(|x| x.as_str()) == Some("Executing");
            s.metadata()
                .and_then(|m| m.callback())
                .and_then(|c| c.callback_token())
                .filter(|_| waiting)
                .map(String::from)
        });
        if let Some(t) = token {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("ManualApproval of {arn} never waited for an answer")
}

fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

const TOKEN: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd";

/// The Rust paths of every route the router serves: Leptos pages, server functions and the routes
/// `router.rs` adds (read from its source, so a route added there is walked here too).
fn every_route() -> Vec<(String, String)> {
    let mut routes = vec![];
    for r in leptos_axum::generate_route_list(stepline_app::app::App) {
        let path = r.path().replace(":pipeline", "AbalonePipeline").replace(":id", "abcdef123456");
        routes.push(("GET".to_string(), path));
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        routes.push((method.to_string(), path.to_string()));
    }
    let source = include_str!("../../src/router.rs");
    for line in source.lines().filter(|l| l.trim_start().starts_with(".route(\"")) {
        let path = line.split('"').nth(1).unwrap();
        let method = if line.contains("post(") { "POST" } else { "GET" };
        let path = path.replace("{pipeline}", "AbalonePipeline").replace("{id}", "abcdef123456");
        routes.push((method.to_string(), path));
    }
    routes
}

#[tokio::test]
async fn every_route_and_server_function_refuses_a_request_without_an_identity() {
    let a = app().await;
    let routes = every_route();
    assert!(routes.len() >= 18, "the walk found the routes: {routes:?}");
    let mut walked = 0;
    for (method, path) in routes {
        // Served to anyone by design: health, metrics (no names or ids in them) and the login itself (which
        // has nothing to give away).
        if path == "/healthz" || path == "/readyz" || path == "/metrics" || path.starts_with("/auth/") {
            continue;
        }
        let req = request(&method, &path, None)
            .header("content-type", "application/json")
            .header("x-forwarded-user", "mallory")
            .body(Body::from("{}"))
            .unwrap();
        let (status, body, _) = send(&a.router, req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a verified identity: {body}");
        walked += 1;
    }
    assert!(walked >= 15);
    // Nothing reached SageMaker or the log for them.
    let log = a.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 10).await.unwrap();
    assert!(log.entries.is_empty(), "{:?}", log.entries);
}

#[tokio::test]
async fn pipelines_outside_a_grant_are_invisible_and_a_viewer_cannot_act() {
    let a = app().await;
    let vera = ("vera", "");
    let (status, html) = page(&a.router, "/", vera).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("href=\"/pipelines/AbalonePipeline\"")
            && html.contains("href=\"/pipelines/ControlFlowPipeline\"")
    );
    assert!(!html.contains("FeatureFactoryPipeline"), "a pipeline outside her grants is not even named");
    assert!(html.contains("data-testid=\"me\"") && html.contains("vera"), "the top bar names her");
    // Its pages, server functions and streams answer exactly as a name that does not exist.
    let (hidden, hidden_body) = page(&a.router, "/pipelines/FeatureFactoryPipeline", vera).await;
    let (unknown, unknown_body) = page(&a.router, "/pipelines/NoSuchPipeline", vera).await;
    assert_eq!((hidden, unknown), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(
        hidden_body.replace("FeatureFactoryPipeline", "X").len(),
        unknown_body.replace("NoSuchPipeline", "X").len(),
        "the same page either way"
    );
    let (status, _, _) = send(
        &a.router,
        request("GET", "/events/pipelines/FeatureFactoryPipeline/executions", Some(vera)).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A viewer's execution page shows the actions disabled, with the reason; the server refuses them anyway.
    let running = executions(&a.client, "AbalonePipeline").await;
    let (arn, _) = running.iter().find(|(_, s)| s == "Executing").expect("the demo has a running execution").clone();
    let (status, html) = page(&a.router, &format!("/pipelines/AbalonePipeline/executions/{}", id_of(&arn)), vera).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"no-operate\"") && html.contains("#ml-platform"), "the reason and whom to ask");
    assert!(html.contains("disabled") && !html.contains("action=\"/api/stop\""), "no live stop form for a viewer");
    let (status, body) = post_form(
        &a.router,
        "stop",
        vera,
        &[("pipeline", "AbalonePipeline"), ("id", id_of(&arn)), ("token", TOKEN)],
        "same-origin",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("operator role"), "{body}");
    let after = executions(&a.client, "AbalonePipeline").await;
    assert!(after.iter().any(|(a2, s)| *a2 == arn && s == "Executing"), "nothing was stopped");
    // The refusal is on record.
    let log = a.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 10).await.unwrap();
    let e = &log.entries[0];
    assert_eq!((e.user.as_str(), e.action.label(), e.outcome.label()), ("vera", "stop", "denied"));
    assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
    // Callback tokens are secrets: a viewer's page never carries one.
    let cf_arn = awaiting_approval(&a.client).await;
    let token = waiting_token(&a.client, &cf_arn).await;
    let cf_page = format!("/pipelines/ControlFlowPipeline/executions/{}", id_of(&cf_arn));
    let (_, html) = page(&a.router, &cf_page, vera).await;
    assert!(!html.contains(&token), "a viewer sees no callback token");
    let (_, html) = page(&a.router, &cf_page, ("olga", "flow-ops")).await;
    assert!(html.contains(&token), "an operator of the pipeline does");
    // Someone with no grant at all is told so, and whom to ask.
    let (status, html) = page(&a.router, "/", ("nobody", "")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-testid=\"no-grant\"") && html.contains("#ml-platform"), "{html}");
}

#[tokio::test]
async fn operators_act_and_every_action_is_on_record() {
    let a = app().await;
    let olga = ("olga", "flow-ops");
    // Answer the waiting callback step: the token is found on the server.
    let cf_arn = awaiting_approval(&a.client).await;
    waiting_token(&a.client, &cf_arn).await;
    let (status, body) = post_form(
        &a.router,
        "callback",
        olga,
        &[
            ("form[pipeline]", "ControlFlowPipeline"),
            ("form[id]", id_of(&cf_arn)),
            ("form[step]", "ManualApproval"),
            ("form[token]", TOKEN),
            ("form[decision]", "reject"),
            ("form[reason]", "not this week"),
        ],
        "same-origin",
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    // Start one.
    let token2 = "Zz".repeat(20);
    let (status, body) = post_form(
        &a.router,
        "start",
        olga,
        &[("form[pipeline]", "AbalonePipeline"), ("form[token]", &token2), ("form[display_name]", "olga-run")],
        "same-origin",
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let log = a.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 10).await.unwrap();
    let actions: Vec<(&str, &str, &str)> =
        log.entries.iter().map(|e| (e.user.as_str(), e.action.label(), e.outcome.label())).collect();
    assert_eq!(actions, vec![("olga", "start", "done"), ("olga", "reject", "done")], "newest first");
    assert_eq!(log.entries[1].detail["reason"], "not this week");
    assert_eq!(log.entries[0].role, "operator");
    let started = log.entries[0].execution_arn.clone().expect("the started execution's ARN");
    // The execution page's history, the list's "Started by", and the activity page.
    let (_, html) =
        page(&a.router, &format!("/pipelines/ControlFlowPipeline/executions/{}", id_of(&cf_arn)), olga).await;
    let history = html.split("data-testid=\"history\"").nth(1).expect("a History section");
    let history = history.split("</section>").next().unwrap().replace("<!>", "");
    assert!(history.contains("<strong>olga</strong>") && history.contains("rejected"), "{history}");
    let (_, html) = page(&a.router, "/pipelines/AbalonePipeline", olga).await;
    let row = html.split("<tr").find(|r| r.contains(id_of(&started))).expect("the new row");
    let by = row
        .split("data-testid=\"started-by\"")
        .nth(1)
        .and_then(|c| c.split("</td>").next())
        .expect("the Started by cell");
    assert!(by.contains(">olga"), "started by olga: {by}");
    let (status, html) = page(&a.router, "/activity?user=olga&action=reject", ("root", "platform")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("data-action=\"reject\"").count(), 1);
    assert_eq!(html.matches("data-action=\"start\"").count(), 0, "the filter applies");
    // Exports carry the same records, as CSV and JSON Lines.
    let (status, csv, headers) = send(
        &a.router,
        request("GET", "/activity.csv?user=olga", Some(("root", "platform"))).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert_eq!(csv.lines().count(), 3, "a header and two records: {csv}");
    let (_, jsonl, _) =
        send(&a.router, request("GET", "/activity.jsonl", Some(("root", "platform"))).body(Body::empty()).unwrap())
            .await;
    for line in jsonl.lines() {
        let e: stepline_types::model::activity::Entry = serde_json::from_str(line).unwrap();
        assert_eq!(e.user, "olga");
    }
    // A user who may read neither pipeline sees none of it.
    let (_, html) = page(&a.router, "/activity", ("nobody", "")).await;
    assert_eq!(html.matches("data-action=").count(), 0, "{html}");
    let (_, body) = post_form(
        &a.router,
        "start",
        olga,
        &[("form[pipeline]", "AbalonePipeline"), ("form[token]", "bad")],
        "cross-site",
    )
    .await;
    assert!(body.contains("Refused"), "{body}");
}

#[tokio::test]
async fn cross_site_posts_other_hosts_and_framing_are_refused() {
    let a = app().await;
    let olga = ("olga", "flow-ops");
    let running = executions(&a.client, "AbalonePipeline").await;
    let (arn, _) = running.iter().find(|(_, s)| s == "Executing").unwrap().clone();
    let stop = [("pipeline", "AbalonePipeline"), ("id", id_of(&arn)), ("token", TOKEN)];
    let (status, body) = post_form(&a.router, "stop", olga, &stop, "cross-site").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Nothing was done"), "{body}");
    // An old browser's post names its origin instead.
    let req = request("POST", "/api/stop", Some(olga))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "https://evil.example")
        .body(Body::from(format!("pipeline=AbalonePipeline&id={}&token={TOKEN}", id_of(&arn))))
        .unwrap();
    assert_eq!(send(&a.router, req).await.0, StatusCode::FORBIDDEN);
    let after = executions(&a.client, "AbalonePipeline").await;
    assert!(after.iter().any(|(a2, s)| *a2 == arn && s == "Executing"), "nothing was stopped");
    let log = a.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 10).await.unwrap();
    assert!(log.entries.iter().all(|e| e.error_code.as_deref() == Some("CrossSite") && e.outcome.label() == "denied"));
    assert_eq!(log.entries.len(), 2);
    // DNS rebinding: a page served for another host name is refused.
    let req = Request::get("/")
        .header("host", "evil.example")
        .extension(ConnectInfo(SocketAddr::from((PROXY, 1))))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&a.router, req).await.0, StatusCode::MISDIRECTED_REQUEST);
    // A probe or a scrape names the pod by its address: those answer for any host.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let req = Request::get(path)
            .header("host", "10.1.2.3:3000")
            .extension(ConnectInfo(SocketAddr::from((PROXY, 1))))
            .body(Body::empty())
            .unwrap();
        let status = send(&a.router, req).await.0;
        // (No metrics recorder is installed in this test: /metrics answers 404 here, past the host check.)
        assert_ne!(status, StatusCode::MISDIRECTED_REQUEST, "{path}");
        if path == "/healthz" {
            assert_eq!(status, StatusCode::OK);
        }
    }
    // Security headers, and the page's inline scripts carry the nonce its policy names.
    let (status, html, headers) = send(&a.router, request("GET", "/", Some(olga)).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers["content-security-policy"].to_str().unwrap().to_string();
    let nonce = csp.split("'nonce-").nth(1).and_then(|n| n.split('\'').next()).unwrap();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "inline scripts carry the nonce");
    assert!(!html.contains("<script>"), "no inline script without it");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("referrer-policy") && headers.contains_key("x-request-id"));
    // The same-origin post goes through (it is the pipeline's operator).
    let (status, body) = post_form(&a.router, "stop", olga, &stop, "same-origin").await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
}

#[tokio::test]
async fn with_an_act_role_sagemaker_itself_names_the_person() {
    let a = app_acting(true).await;
    let olga = ("olga", "flow-ops");
    let token = "Qq".repeat(20);
    let (status, body) = post_form(
        &a.router,
        "start",
        olga,
        &[("form[pipeline]", "AbalonePipeline"), ("form[token]", &token), ("form[display_name]", "as-olga")],
        "same-origin",
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let log = a.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 1).await.unwrap();
    let arn = log.entries[0].execution_arn.clone().expect("started");
    let d = a.client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let who = d.created_by().and_then(|c| c.iam_identity()).expect("CreatedBy names an IAM identity");
    assert_eq!(who.source_identity(), Some("olga"), "{who:?}");
    assert!(who.arn().unwrap_or_default().contains(":assumed-role/stepline-actions/olga"), "{who:?}");
    // A stop is hers too; and the list's "Started by" says so from SageMaker's own record as well.
    let (status, body) = post_form(
        &a.router,
        "stop",
        olga,
        &[("pipeline", "AbalonePipeline"), ("id", id_of(&arn)), ("token", TOKEN)],
        "same-origin",
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let d = a.client.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let who = d.last_modified_by().and_then(|c| c.iam_identity()).expect("LastModifiedBy");
    assert_eq!(who.source_identity(), Some("olga"));
}

#[tokio::test]
async fn grants_by_tag_follow_the_pipelines_own_tags() {
    let a = app().await;
    let definition = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/definitions/abalone.json")).unwrap();
    for (name, team) in [("FraudScoring", "fraud"), ("ChurnScoring", "churn")] {
        a.client
            .create_pipeline()
            .pipeline_name(name)
            .pipeline_definition(&definition)
            .role_arn("arn:aws:iam::123456789012:role/SageMakerPipelineRole")
            .client_request_token(format!("create-{name}-0123456789abcdef0123456789"))
            .tags(aws_sdk_sagemaker::types::Tag::builder().key("team").value(team).build())
            .send()
            .await
            .unwrap();
    }
    let tess = ("tess", "fraud-ds");
    let (status, html) = page(&a.router, "/", tess).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/pipelines/FraudScoring\""), "tagged team=fraud: listed");
    assert!(!html.contains("ChurnScoring") && !html.contains("AbalonePipeline"), "other teams' pipelines are not");
    let (status, _) = page(&a.router, "/pipelines/ChurnScoring", tess).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, html) = page(&a.router, "/pipelines/FraudScoring", tess).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("operator"), "her role on it is in the top bar");

    // Hidden and unknown answer alike, and both from memory when asked again: no quota spent, and no time
    // difference that tells a hidden pipeline from one that does not exist.
    for name in ["ChurnScoring", "NoSuchPipelineAnywhere"] {
        let (status, _) = page(&a.router, &format!("/pipelines/{name}"), tess).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");
    }
    let calls = a.gateway.calls();
    for _ in 0..5 {
        for name in ["ChurnScoring", "NoSuchPipelineAnywhere"] {
            assert_eq!(page(&a.router, &format!("/pipelines/{name}"), tess).await.0, StatusCode::NOT_FOUND);
        }
    }
    assert_eq!(a.gateway.calls(), calls, "{:?}", a.gateway.calls_by_operation());
}

#[tokio::test]
async fn live_streams_are_capped_per_person_even_behind_one_proxy_address() {
    let a = app().await;
    let open = |user: (&'static str, &'static str)| {
        let router = a.router.clone();
        async move {
            let req = request("GET", "/events/pipelines/AbalonePipeline/executions", Some(user)).body(Body::empty());
            router.oneshot(req.unwrap()).await.unwrap()
        }
    };
    // Everyone comes from the proxy's one address; each person has their own 32.
    let mut streams = vec![];
    for _ in 0..stepline_core::streams::MAX_STREAMS_PER_CLIENT {
        let res = open(("vera", "")).await;
        assert_eq!(res.status(), StatusCode::OK);
        streams.push(res);
    }
    let refused = open(("vera", "")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = axum::body::to_bytes(refused.into_body(), 1 << 16).await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("open for you"), "{body:?}");
    assert_eq!(open(("olga", "flow-ops")).await.status(), StatusCode::OK, "another person behind the same proxy");
    streams.clear();
    assert_eq!(open(("vera", "")).await.status(), StatusCode::OK, "closed streams give their places back");

    // A person literally named "anonymous" is capped like anyone (only `--auth none` has no person).
    for _ in 0..stepline_core::streams::MAX_STREAMS_PER_CLIENT {
        let res = open(("anonymous", "")).await;
        assert_eq!(res.status(), StatusCode::OK);
        streams.push(res);
    }
    assert_eq!(open(("anonymous", "")).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A form's idempotency token can travel in an address (a refused start form comes back with what was typed):
/// the same token sent by two people starts two executions, each recorded as its own person's, while one
/// person sending the same form twice still starts one.
#[tokio::test]
async fn the_same_form_token_from_two_people_is_two_starts() {
    let a = app().await;
    let token = format!("crafted-link-token-{}-0123456789abcdef0123", std::process::id());
    let mut started = vec![];
    for who in [("olga", "flow-ops"), ("otto", "flow-ops"), ("otto", "flow-ops")] {
        let fields = [("form[pipeline]", "AbalonePipeline"), ("form[token]", token.as_str())];
        let (status, body) = post_form(&a.router, "start", who, &fields, "same-origin").await;
        assert!(status.is_success(), "{status} {body}");
        started.push(body);
    }
    assert_ne!(started[0], started[1], "olga's token does not make otto's start answer with olga's execution");
    assert_eq!(started[1], started[2], "otto's second send of his form acts once");
    let log = a.db.page(&Default::default(), &stepline_core::store::Scope::Everything, 10).await.unwrap();
    let starts: Vec<(&str, Option<&str>)> = log
        .entries
        .iter()
        .filter(|e| e.action.label() == "start")
        .map(|e| (e.user.as_str(), e.execution_arn.as_deref()))
        .collect();
    assert_eq!(starts.len(), 3, "{starts:?}");
    assert_ne!(starts.iter().find(|s| s.0 == "olga").unwrap().1, starts.iter().find(|s| s.0 == "otto").unwrap().1);
}

/// A live stream ends when the policy no longer lets its person read the pipeline (checked every few
/// seconds), with a last `revoked` event.
#[tokio::test]
async fn a_policy_change_ends_the_streams_it_no_longer_allows() {
    use futures::StreamExt;
    let a = app().await;
    let req = request("GET", "/events/pipelines/AbalonePipeline/executions", Some(("olga", "flow-ops")));
    let res = a.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body().into_data_stream();
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), body.next()).await.unwrap().unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: changed"));
    // flow-ops loses its grant (the file's time moves on, so the change is seen whatever the clock's grain).
    std::fs::write(&a.policy, POLICY.replace(r#"groups = ["flow-ops"]"#, r#"groups = ["someone-else"]"#)).unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    std::fs::File::options().write(true).open(&a.policy).unwrap().set_modified(later).unwrap();
    let mut seen = String::new();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream went on after the policy took the grant away: {seen}");
    assert!(seen.contains("event: revoked") && seen.contains("access-changed"), "{seen}");
}
