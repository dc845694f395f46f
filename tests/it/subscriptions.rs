//! Personal subscriptions through the real router: people named by a trusted proxy, a policy, forms posted
//! as a browser posts them, the poller and sender of `notify`, and a real HTTP receiver on loopback. The
//! emulator's clock is paused and advanced, so an execution runs until the test ends it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::Router;
use stepline::router;
use stepline_core::access::Access;
use stepline_core::config::{AccessConfig, AuthMode, HttpUrl};
use stepline_core::notify::{message, Backoff, Notifier, Poller};
use stepline_core::state::AppState;
use stepline_emulator::runtime::ClockChange;
use stepline_types::model::activity::Action;
use stepline_types::notify::DeliveryStatus;

use crate::common;
use crate::notify::{clock_now, json, receiver, world, FAILING};

const HOST: &str = "stepline.test";

const POLICY: &str = r#"
[[grant]]
users = ["ana", "bob"]
role = "viewer"
pipelines = ["Abalone*"]

[[grant]]
users = ["eve"]
role = "viewer"
pipelines = ["Other*"]

[[grant]]
groups = ["platform"]
role = "admin"
"#;

/// A request as the trusted proxy forwards it for `user` (`root` is in the admins' group).
fn request(method: &str, path: &str, user: &str) -> axum::http::request::Builder {
    common::proxied(method, path, HOST, user, if user == "root" { "platform" } else { "" })
}

/// A form posted by `user`'s browser: with its script (`accept: application/json`), or plain (HTML, which
/// is answered with a redirect).
async fn post(
    app: &Router,
    user: &str,
    endpoint: &str,
    fields: &[(&str, &str)],
    plain: bool,
) -> (StatusCode, String, String) {
    let body = common::form(fields);
    let req = request("POST", &format!("/api/{endpoint}"), user)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", if plain { "text/html" } else { "application/json" })
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    let (status, body, headers) = common::send_with_headers(app, req).await;
    let location = headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_string();
    (status, body, location)
}

/// Form fields as `post` takes them.
fn fields<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn page(app: &Router, user: &str, path: &str) -> String {
    let (status, body, _) = common::send_with_headers(
        app,
        request("GET", path, user).header("accept", "text/html").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{path} as {user}: {body}");
    body
}

#[tokio::test]
async fn people_subscribe_on_the_pages_and_are_told_at_their_own_webhooks_while_they_may_read_the_pipeline() {
    let (r, url) = receiver().await;
    let prefix = format!("{url}/personal/");
    // No team rule covers Abalone: whatever is told of it is told to the subscribers.
    let w = world(FAILING, &format!("[personal]\nwebhook-prefixes = [\"{prefix}\"]"), &url).await;
    let core = w._emulator.core();
    core.change_clock(ClockChange::Pause);

    let dir = std::env::temp_dir().join(format!("stepline-subscriptions-{}", std::process::id()));
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
    let db = stepline_core::store::Db::memory().await.unwrap();
    let access = Arc::new(Access::new(&config, db.clone()).await.unwrap());
    let mut state = AppState::with_access(common::options(), w.gateway.clone(), access.clone(), Default::default());
    state.notify = Some(Arc::new(Notifier {
        settings: w.settings.clone(),
        origin: format!("http://{HOST}"),
        watches: Default::default(),
    }));
    let poller = Poller { db: db.clone(), place: state.place.clone(), access: Some(access), ..w.poller() };
    let app = router::build(state).await;

    let watch = |url: &str| {
        vec![("pipeline", "Abalone"), ("execution_id", ""), ("target", "webhook"), ("url", url), ("watch", "failures")]
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect::<Vec<_>>()
    };
    let ana_url = format!("{prefix}ana");

    // Someone who may not read the pipeline is told it does not exist.
    let (status, body, _) = post(&app, "eve", "subscribe", &fields(&watch(&ana_url)), false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Only addresses under the settings' prefixes; e-mail is off here.
    let (status, body, _) =
        post(&app, "ana", "subscribe", &fields(&watch("http://169.254.169.254/latest")), false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("may only go to addresses starting with"), "{body}");
    let mut email = watch("");
    email[2].1 = "email".into();
    let (status, body, _) = post(&app, "ana", "subscribe", &fields(&email), false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Personal e-mail is off"), "{body}");
    // Ana watches Abalone with a plain form, twice (a double submit): one subscription, back on the page.
    for _ in 0..2 {
        let (status, _, location) = post(&app, "ana", "subscribe", &fields(&watch(&ana_url)), true).await;
        assert!(status.is_redirection(), "{status}");
        assert!(location.starts_with("/pipelines/Abalone?subscribed="), "{location}");
    }
    let anas = db.subscriptions_of(Some("ana"), 10).await.unwrap();
    assert_eq!(anas.len(), 1, "a double submit is one subscription");
    let ana_secret = anas[0].secret.clone().expect("a webhook gets its own signing secret");
    // The poller's first look at the pipeline now watched: its history is not news.
    let first = poller.round(clock_now(&core)).await;
    assert_eq!((first.pipelines, first.events), (1, 0), "{first:?}");

    // Bob asks to be told when a running execution ends, on a Slack webhook of his.
    let arn = w.start("Abalone").await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    let bob_fields = [
        ("pipeline", "Abalone"),
        ("execution_id", id.as_str()),
        ("target", "slack"),
        ("url", &format!("{prefix}bob")),
        ("watch", ""),
    ];
    let (status, body, _) = post(&app, "bob", "subscribe", &bob_fields, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("/pipelines/Abalone/executions/{id}?subscribed=")), "{body}");

    // The pipeline page shows Ana her watch and its secret; Bob's page shows his, without Ana's.
    let anas_page = page(&app, "ana", "/pipelines/Abalone").await;
    assert!(anas_page.contains("Watching this pipeline") && anas_page.contains(&ana_secret), "her watch, her secret");
    assert!(!anas_page.contains("/personal/ana"), "a webhook's path is never shown (it may be its token)");
    let bobs_page = page(&app, "bob", &format!("/pipelines/Abalone/executions/{id}")).await;
    assert!(bobs_page.contains("You will be told when it ends"), "his subscription on the execution's page");
    let bobs_list = page(&app, "bob", "/notifications").await;
    assert!(!bobs_list.contains(&ana_secret), "nobody else sees Ana's secret");
    assert_eq!(bobs_list.matches("data-testid=\"subscription\"").count(), 1, "only his own");
    let roots_list = page(&app, "root", "/notifications").await;
    assert_eq!(roots_list.matches("data-testid=\"subscription\"").count(), 2, "an admin sees everyone's");
    assert!(!roots_list.contains(&ana_secret), "but no secret");

    // The execution fails: Ana (watching failures) and Bob (waiting for its end) are each told once.
    core.change_clock(ClockChange::Advance(3600.0));
    w.until_status(&arn, "Failed").await;
    let round = poller.round(clock_now(&core)).await;
    assert_eq!((round.events, round.errors.len()), (1, 0), "{round:?}");
    let sender = stepline_core::notify::Sender::new(
        db.clone(),
        w.settings.clone(),
        format!("http://{HOST}"),
        Backoff::default(),
    )
    .unwrap();
    assert_eq!(sender.send_due(clock_now(&core)).await.unwrap(), 2);
    let got = r.got.lock().unwrap().clone();
    let anas = got.iter().find(|g| g.0 == "/personal/ana").expect("Ana's message");
    let body = json(&anas.2);
    assert_eq!((body["event"].as_str(), body["execution"]["arn"].as_str()), (Some("failed"), Some(arn.as_str())));
    let sig = anas.1["x-stepline-signature"].to_str().unwrap();
    let t: i64 = sig.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(sig, message::signature(&ana_secret, t, anas.2.as_bytes()), "signed with her subscription's secret");
    let bobs = got.iter().find(|g| g.0 == "/personal/bob").expect("Bob's message");
    assert!(json(&bobs.2)["blocks"].is_array(), "a Slack message: {}", bobs.2);
    assert!(bobs.1.get("x-stepline-signature").is_none(), "Slack's are not signed");
    let bobs_sub = db.subscriptions_of(Some("bob"), 10).await.unwrap().remove(0);
    assert!(bobs_sub.ended_ms.is_some(), "an execution's subscription ends with the end it waited for");
    // Each sees their own delivery in the log; the other's is not theirs to see.
    let bobs_list = page(&app, "bob", "/notifications").await;
    assert_eq!(bobs_list.matches("data-status=\"sent\"").count(), 1, "his delivery only");
    assert!(bobs_list.contains("ended: its end was told"));

    // Ana loses her grant: the next failure is not told to her.
    std::fs::write(&policy, POLICY.replace("users = [\"ana\", \"bob\"]", "users = [\"bob\"]")).unwrap();
    tokio::time::sleep(Duration::from_millis(2200)).await; // the policy file is looked at every 2 s
    let arn2 = w.start("Abalone").await;
    core.change_clock(ClockChange::Advance(3600.0));
    w.until_status(&arn2, "Failed").await;
    let round = poller.round(clock_now(&core)).await;
    assert_eq!(round.events, 1, "{round:?}");
    assert_eq!(sender.send_due(clock_now(&core)).await.unwrap(), 0, "nobody who may read it asked to be told");
    let log = db.deliveries(None, 10).await.unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Sent));

    // Bob cannot remove Ana's subscription (it is not his to know of); she can, and both are on record.
    let ana_id = db.subscriptions_of(Some("ana"), 10).await.unwrap()[0].id.to_string();
    let (status, _, _) = post(&app, "bob", "unsubscribe", &[("id", &ana_id), ("from", "notifications")], false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, location) =
        post(&app, "ana", "unsubscribe", &[("id", &ana_id), ("from", "notifications")], true).await;
    assert!(status.is_redirection() && location.starts_with("/notifications?unsubscribed="), "{location}");
    assert!(db.subscriptions_of(Some("ana"), 10).await.unwrap().is_empty());
    let records = db.page(&Default::default(), &stepline_core::store::Scope::Everything, 50).await.unwrap();
    let count = |a: Action, outcome: &str| {
        records.entries.iter().filter(|e| e.action == a && e.outcome.label() == outcome).count()
    };
    assert_eq!(count(Action::Subscribe, "done"), 3, "two of Ana's posts and Bob's");
    assert_eq!(count(Action::Subscribe, "invalid"), 2, "the refused address and e-mail");
    assert_eq!(count(Action::Unsubscribe, "done"), 1);
    std::fs::remove_dir_all(&dir).ok();
}
