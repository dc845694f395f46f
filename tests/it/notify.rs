//! Notifications end to end: executions in the emulator, the poller through a real gateway, the outbox in a
//! real SQLite database, and real HTTP receivers on loopback checking each channel's body. Time is handed to
//! the poller and the sender, so retries are driven, not waited for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::Value;
use stepline::{demo, router};
use stepline_core::config::EventsQueue;
use stepline_core::gateway::Gateway;
use stepline_core::notify::{message, Backoff, Batch, Listener, LiveSettings, Poller, Sender, Settings};
use stepline_core::places::Place;
use stepline_core::state::AppState;
use stepline_core::store::Db;
use stepline_emulator::{start, EmulatorConfig, RunningEmulator, Scenario};
use stepline_types::notify::{DeliveryStatus, EventKind};
use tower::ServiceExt;

const ABALONE: &str = include_str!("../../definitions/abalone.json");
const CONTROL_FLOW: &str = include_str!("../../definitions/control-flow.json");
const SECRET: &str = "webhook-secret-for-the-test";

/// What a receiver got: path, headers, body, and whether it took it.
pub(crate) type Got = Arc<Mutex<Vec<(String, HeaderMap, String, bool)>>>;

#[derive(Clone, Default)]
pub(crate) struct Receiver {
    pub(crate) got: Got,
    /// Answer this many requests with 503 (Retry-After: 1) before taking any.
    refuse: Arc<Mutex<usize>>,
}

async fn receive(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    if uri.path() == "/hang" {
        std::future::pending::<()>().await;
    }
    let refused = {
        let mut refuse = r.refuse.lock().unwrap();
        let refused = *refuse > 0;
        *refuse = refuse.saturating_sub(1);
        refused
    };
    r.got.lock().unwrap().push((uri.path().to_string(), headers, body, !refused));
    if refused {
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")], "busy").into_response();
    }
    StatusCode::OK.into_response()
}

pub(crate) async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let app = axum::Router::new().fallback(receive).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

pub(crate) struct World {
    pub(crate) _emulator: RunningEmulator,
    pub(crate) client: aws_sdk_sagemaker::Client,
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) db: Db,
    pub(crate) settings: Arc<LiveSettings>,
}

pub(crate) async fn world(scenario: &str, rules: &str, receiver_url: &str) -> World {
    world_with(scenario, rules, receiver_url, None).await
}

/// A world whose emulator sends SageMaker's events to the SQS queue `events_queue`.
async fn world_with(scenario: &str, rules: &str, receiver_url: &str, events_queue: Option<&str>) -> World {
    let config = EmulatorConfig {
        speed: 20_000.0,
        scenario: Some(Scenario::parse(scenario).unwrap()),
        events_queue: events_queue.map(String::from),
        ..EmulatorConfig::default()
    };
    let emulator = start(config).await.unwrap();
    let url = emulator.endpoint_url();
    let client = demo::endpoint_client(&url, "us-east-1");
    let gateway = Arc::new(
        Gateway::new(client.clone(), "test")
            .with_logs(demo::logs_client(&url, "us-east-1"))
            .with_sqs(demo::sqs_client(&url, "us-east-1")),
    );
    demo::create_pipeline(&client, "Abalone", "", ABALONE).await.unwrap();
    demo::create_pipeline(&client, "Approvals", "", CONTROL_FLOW).await.unwrap();
    let text = format!(
        r#"
[channels.slack]
kind = "slack"
url-env = "SLACK_URL"
[channels.teams]
kind = "teams"
url-env = "TEAMS_URL"
[channels.hook]
kind = "webhook"
url = "{receiver_url}/hook"
secret-env = "HOOK_SECRET"
{rules}"#
    );
    let env = |name: &str| match name {
        "SLACK_URL" => Some(format!("{receiver_url}/slack")),
        "TEAMS_URL" => Some(format!("{receiver_url}/teams")),
        "HOOK_SECRET" => Some(SECRET.to_string()),
        _ => None,
    };
    let settings = LiveSettings::fixed(Settings::parse(&text, &env).unwrap());
    World { _emulator: emulator, client, gateway, db: Db::memory().await.unwrap(), settings }
}

impl World {
    pub(crate) fn poller(&self) -> Poller {
        Poller {
            gateway: self.gateway.clone(),
            place: Arc::new(Place::single("test", None, "us-east-1")),
            db: self.db.clone(),
            settings: self.settings.clone(),
            pace: Duration::ZERO,
            cluster: None,
            since: None,
            access: None,
        }
    }

    pub(crate) fn sender(&self, backoff: Backoff) -> Sender {
        Sender::new(self.db.clone(), self.settings.clone(), "http://stepline.test".into(), backoff).unwrap()
    }

    pub(crate) async fn start(&self, pipeline: &str) -> String {
        let out = self.client.start_pipeline_execution().pipeline_name(pipeline).send().await.unwrap();
        out.pipeline_execution_arn.unwrap()
    }

    /// Until the execution's status is `status` (the emulator runs it at 20,000× its durations).
    pub(crate) async fn until_status(&self, arn: &str, status: &str) {
        for _ in 0..600 {
            let d = self.client.describe_pipeline_execution().pipeline_execution_arn(arn).send().await.unwrap();
            if d.pipeline_execution_status().map(|s| s.as_str()) == Some(status) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{arn} did not become {status}");
    }

    /// Until the step is executing.
    async fn until_step(&self, arn: &str, step: &str) {
        for _ in 0..600 {
            let s = self.client.list_pipeline_execution_steps().pipeline_execution_arn(arn).send().await.unwrap();
            if s.pipeline_execution_steps()
                .iter()
                .any(|s| s.step_name() == Some(step) && s.step_status().map(|x| x.as_str()) == Some("Executing"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{step} of {arn} did not start");
    }
}

pub(crate) fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

pub(crate) const FAILING: &str = r#"{"pipelines": {"*": {"steps": {"AbaloneEval": {"fail": {"attempts": 1, "reason": "AlgorithmError: out of memory"}}}}}}"#;

#[tokio::test]
async fn a_failed_execution_is_told_once_on_every_channel_naming_its_step_and_reason() {
    let (r, url) = receiver().await;
    let w = world(FAILING, "[[rules]]\nevents = [\"failed\", \"recovered\"]\nchannel = \"slack\"\n[[rules]]\nevents = [\"failed\"]\npipelines = [\"Abal*\"]\nchannel = \"teams\"\n[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"", &url).await;
    let poller = w.poller();
    // A failure from before the first look is history: nothing is told.
    let old = w.start("Abalone").await;
    w.until_status(&old, "Failed").await;
    let first = poller.round(Utc::now()).await;
    assert_eq!((first.pipelines, first.events, first.errors.len()), (2, 0, 0), "{first:?}");

    let arn = w.start("Abalone").await;
    w.until_status(&arn, "Failed").await;
    let round = poller.round(Utc::now()).await;
    assert_eq!(round.events, 1, "one event for one failure: {round:?}");
    let again = poller.round(Utc::now()).await;
    assert_eq!(again.events, 0, "the same failure seen again is not news: {again:?}");

    let sender = w.sender(Backoff::default());
    assert_eq!(sender.send_due(Utc::now()).await.unwrap(), 3, "slack, teams and the webhook");
    assert_eq!(sender.send_due(Utc::now()).await.unwrap(), 0, "each once");
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let id = arn.rsplit('/').next().unwrap();
    let page = format!("http://stepline.test/pipelines/Abalone/executions/{id}");
    for (path, headers, body, _) in &got {
        assert!(body.contains("AbaloneEval") && body.contains("out of memory"), "{path}: {body}");
        assert!(body.contains(&page), "{path} links the execution: {body}");
        assert!(headers.get("x-stepline-delivery").is_some());
        let body = json(body);
        match path.as_str() {
            "/slack" => {
                assert!(body["text"].as_str().unwrap().contains("Abalone"));
                assert!(body["blocks"].as_array().unwrap().iter().any(|b| b["type"] == "actions"));
            }
            "/teams" => {
                assert_eq!(body["type"], "message");
                let card = &body["attachments"][0];
                assert_eq!(card["contentType"], "application/vnd.microsoft.card.adaptive");
                assert_eq!(card["content"]["type"], "AdaptiveCard");
            }
            "/hook" => {
                assert_eq!(body["event"], "failed");
                assert_eq!(body["execution"]["arn"], arn.as_str());
                let step = &body["failed_steps"][0];
                assert_eq!(step["name"], "AbaloneEval");
                assert!(!step["log_tail"].as_array().unwrap().is_empty(), "the end of the job's log: {step}");
                // The signature verifies with the shared secret, over the time and the body as sent.
                let sig = headers["x-stepline-signature"].to_str().unwrap();
                let t: i64 = sig.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
                let raw = got.iter().find(|g| g.0 == "/hook").unwrap().2.as_bytes();
                assert_eq!(sig, message::signature(SECRET, t, raw));
                assert!((Utc::now().timestamp() - t).abs() < 300, "a fresh timestamp");
            }
            other => panic!("unexpected {other}"),
        }
    }
    let log = w.db.deliveries(None, 10).await.unwrap();
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Sent && d.attempts == 1 && d.kind == EventKind::Failed));
}

const FAILING_TWICE_TOLD: &str = r#"{"duplicate_events": true, "pipelines": {"*": {"steps": {"AbaloneEval": {"fail": {"attempts": 1, "reason": "AlgorithmError: out of memory"}}}}}}"#;

#[tokio::test]
async fn in_events_mode_a_failure_on_a_new_pipeline_is_told_once_from_duplicated_events() {
    let (r, url) = receiver().await;
    let rules = "[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"";
    let w = world_with(FAILING_TWICE_TOLD, rules, &url, Some("sagemaker-events")).await;
    // Notifications began now; the pipeline is made after, and no polling round ever looked at it.
    let poller = Arc::new(Poller { since: Some(Utc::now()), ..w.poller() });
    demo::create_pipeline(&w.client, "Fresh", "", ABALONE).await.unwrap();
    let listener = Listener { poller: poller.clone(), queue: EventsQueue::Name("sagemaker-events".into()) };
    let queue = listener.url().await.unwrap();
    let arn = w.start("Fresh").await;
    w.until_status(&arn, "Failed").await;
    // Every event, each delivered twice, read until the queue is empty.
    let mut total = Batch::default();
    loop {
        let b = listener.once(&queue, 1).await.unwrap();
        assert!(b.errors.is_empty(), "{b:?}");
        if b.received == 0 {
            break;
        }
        total.received += b.received;
        total.events += b.events;
        total.ignored += b.ignored;
    }
    assert!(total.received >= 4, "start, steps and end, twice each: {total:?}");
    assert_eq!((total.events, total.ignored), (1, 0), "one failure, one event: {total:?}");
    // Read and deleted: nothing waits in the queue, nothing is in flight.
    let sqs = demo::sqs_client(&w._emulator.endpoint_url(), "us-east-1");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attrs[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages], "0");
    assert_eq!(attrs[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible], "0");
    // The safety-net round sees the same failure: still one event.
    assert_eq!(poller.round(Utc::now()).await.events, 0);
    assert_eq!(w.sender(Backoff::default()).send_due(Utc::now()).await.unwrap(), 1);
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let body = json(&got[0].2);
    assert_eq!((body["event"].as_str(), body["pipeline"].as_str()), (Some("failed"), Some("Fresh")));
    assert_eq!(body["failed_steps"][0]["name"], "AbaloneEval");
    assert!(body["failed_steps"][0]["reason"].as_str().unwrap().contains("out of memory"));
    let log = w.db.deliveries(None, 10).await.unwrap();
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn a_message_that_is_not_a_sagemaker_event_is_deleted_and_named() {
    let (_r, url) = receiver().await;
    let w =
        world_with(r#"{"pipelines": {}}"#, "[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"", &url, Some("mixed"))
            .await;
    let listener = Listener { poller: Arc::new(w.poller()), queue: EventsQueue::Name("mixed".into()) };
    let queue = listener.url().await.unwrap();
    let sqs = demo::sqs_client(&w._emulator.endpoint_url(), "us-east-1");
    for body in
        ["not json", r#"{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}"#]
    {
        sqs.send_message().queue_url(&queue).message_body(body).send().await.unwrap();
    }
    let b = listener.once(&queue, 0).await.unwrap();
    assert_eq!((b.received, b.ignored, b.events), (2, 2, 0), "{b:?}");
    assert_eq!(listener.once(&queue, 0).await.unwrap().received, 0, "deleted, not read again");
}

#[tokio::test]
async fn in_quiet_hours_a_failure_waits_until_they_end_unless_another_rule_sends_it_at_once() {
    let (r, url) = receiver().await;
    let rules = "[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"\nquiet-hours = \"22:00-07:00\"\ntimezone = \"Europe/Berlin\"\n\
                 [[rules]]\nevents = [\"failed\"]\nchannel = \"slack\"";
    let w = world(FAILING, rules, &url).await;
    let poller = w.poller();
    poller.round(Utc::now()).await;
    let arn = w.start("Abalone").await;
    w.until_status(&arn, "Failed").await;
    // Seen at 23:30 in Berlin (22:30 UTC in December).
    let night: chrono::DateTime<Utc> = "2026-12-07T22:30:00Z".parse().unwrap();
    assert_eq!(poller.round(night).await.events, 1);
    let sender = w.sender(Backoff::default());
    assert_eq!(sender.send_due(night).await.unwrap(), 1, "Slack has no quiet hours");
    assert_eq!(r.got.lock().unwrap()[0].0, "/slack");
    let before_seven: chrono::DateTime<Utc> = "2026-12-08T05:59:00Z".parse().unwrap();
    assert_eq!(sender.send_due(before_seven).await.unwrap(), 0, "the webhook's rule is quiet until 07:00 Berlin");
    let seven: chrono::DateTime<Utc> = "2026-12-08T06:00:00Z".parse().unwrap();
    assert_eq!(sender.send_due(seven).await.unwrap(), 1);
    assert_eq!(r.got.lock().unwrap()[1].0, "/hook");
}

#[tokio::test]
async fn a_digest_rule_sends_its_hour_of_failures_as_one_message_per_channel() {
    let (r, url) = receiver().await;
    let rules = "[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"\ndigest-minutes = 60\n\
                 [[rules]]\nevents = [\"failed\"]\nchannel = \"slack\"\ndigest-minutes = 60";
    let w = world(FAILING, rules, &url).await;
    let poller = w.poller();
    poller.round(Utc::now()).await;
    for _ in 0..2 {
        let arn = w.start("Abalone").await;
        w.until_status(&arn, "Failed").await;
    }
    let at: chrono::DateTime<Utc> = "2026-12-07T10:20:00Z".parse().unwrap();
    assert_eq!(poller.round(at).await.events, 2);
    let sender = w.sender(Backoff::default());
    assert_eq!(sender.send_due(at).await.unwrap(), 0, "held until the hour's window closes");
    let eleven: chrono::DateTime<Utc> = "2026-12-07T11:00:00Z".parse().unwrap();
    assert_eq!(sender.send_due(eleven).await.unwrap(), 4, "two deliveries on each channel");
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one message per channel: {got:?}");
    let hook = got.iter().find(|g| g.0 == "/hook").unwrap();
    let body = json(&hook.2);
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_ne!(events[0]["delivery_id"], events[1]["delivery_id"], "each keeps its delivery id");
    assert!(events.iter().all(|e| e["event"] == "failed" && e["failed_steps"][0]["name"] == "AbaloneEval"));
    let sig = hook.1["x-stepline-signature"].to_str().unwrap();
    let t: i64 = sig.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(sig, message::signature(SECRET, t, hook.2.as_bytes()), "the digest is signed like any body");
    let slack = json(&got.iter().find(|g| g.0 == "/slack").unwrap().2);
    assert_eq!(slack["text"], "Stepline: 2 notifications");
    assert_eq!(slack["blocks"].as_array().unwrap().len(), 3, "a header and a line per failure");
    let log = w.db.deliveries(None, 10).await.unwrap();
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Sent && d.attempts == 1), "{log:?}");
}

/// The emulator's clock, as the poller is handed it.
pub(crate) fn clock_now(core: &stepline_emulator::Core) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp_millis((core.now() * 1000.0) as i64).unwrap()
}

#[tokio::test]
async fn a_missed_nightly_run_and_a_run_three_times_longer_than_usual_are_told() {
    use stepline_emulator::runtime::ClockChange;
    let (r, url) = receiver().await;
    let rules = "[[rules]]\nevents = [\"long-running\", \"missed\"]\nlong-running-times = 3.0\nchannel = \"hook\"";
    // Training takes five minutes of the emulator's clock (6,000,000 simulated seconds at 20,000×).
    let w = world(r#"{"pipelines": {"*": {"steps": {"AbaloneTrain": {"duration": 6000000}}}}}"#, rules, &url).await;
    let core = w._emulator.core();
    core.change_clock(ClockChange::Pause);
    let poller = w.poller();
    poller.round(clock_now(&core)).await;
    // Four nightly runs, a day apart, each seen ended an hour after it started: the cadence and the usual run.
    for _ in 0..4 {
        let arn = w.start("Abalone").await;
        core.change_clock(ClockChange::Advance(3600.0));
        w.until_status(&arn, "Succeeded").await;
        let round = poller.round(clock_now(&core)).await;
        assert_eq!((round.events, round.errors.len()), (0, 0), "{round:?}");
        core.change_clock(ClockChange::Advance(23.0 * 3600.0));
    }
    // The fifth is due now; five hours late is within a quarter of a day, seven is not.
    core.change_clock(ClockChange::Advance(5.0 * 3600.0));
    assert_eq!(poller.round(clock_now(&core)).await.events, 0, "not late enough yet");
    core.change_clock(ClockChange::Advance(2.0 * 3600.0));
    assert_eq!(poller.round(clock_now(&core)).await.events, 1, "the missed run");
    assert_eq!(poller.round(clock_now(&core)).await.events, 0, "told once");
    // A run far longer than usual: three times the usual hour.
    let slow =
        Scenario::parse(r#"{"pipelines": {"*": {"steps": {"AbaloneTrain": {"duration": 1000000000}}}}}"#).unwrap();
    core.set_scenario(slow).unwrap();
    w.start("Abalone").await;
    core.change_clock(ClockChange::Advance(170.0 * 60.0));
    assert_eq!(poller.round(clock_now(&core)).await.events, 0, "under three hours");
    core.change_clock(ClockChange::Advance(15.0 * 60.0));
    assert_eq!(poller.round(clock_now(&core)).await.events, 1, "past three times the usual hour");
    assert_eq!(w.sender(Backoff::default()).send_due(clock_now(&core)).await.unwrap(), 2);
    let bodies: Vec<Value> = r.got.lock().unwrap().iter().map(|g| json(&g.2)).collect();
    let missed = bodies.iter().find(|b| b["event"] == "missed").expect("the missed-run message");
    assert_eq!(missed["title"], "Abalone did not run when it usually does");
    assert!(missed["reason"].as_str().unwrap().contains("usually starts every 24 h"), "{missed}");
    let long = bodies.iter().find(|b| b["event"] == "long-running").expect("the long-running message");
    assert_eq!(long["usual_minutes"], 60);
    assert!(long["running_minutes"].as_i64().unwrap() >= 180, "{long}");
    assert!(long["title"].as_str().unwrap().contains("usually takes"), "{long}");
}

#[tokio::test]
async fn a_waiting_callback_is_told_with_a_link_that_opens_its_approval() {
    let (r, url) = receiver().await;
    let w = world(
        r#"{"pipelines": {}}"#,
        "[[rules]]\nevents = [\"waiting\"]\npipelines = [\"Approvals\"]\nchannel = \"hook\"",
        &url,
    )
    .await;
    let poller = w.poller();
    poller.round(Utc::now()).await;
    let arn = w.start("Approvals").await;
    w.until_step(&arn, "ManualApproval").await;
    let round = poller.round(Utc::now()).await;
    assert_eq!(round.events, 1, "{round:?}");
    assert_eq!(poller.round(Utc::now()).await.events, 0, "still waiting: told once");
    w.sender(Backoff::default()).send_due(Utc::now()).await.unwrap();
    let body = json(&r.got.lock().unwrap()[0].2);
    assert_eq!(body["event"], "waiting");
    assert_eq!(body["step"], "ManualApproval");
    let approval = body["approval_url"].as_str().unwrap();
    let path = approval.strip_prefix("http://stepline.test").unwrap();
    assert!(path.ends_with("?step=ManualApproval"), "{approval}");
    // The link opens the execution with the step's panel, where its approval is answered.
    let app = router::build(AppState::new(common::options(), w.gateway.clone()).await).await;
    let (status, page) = common::get(&app, path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("ManualApproval") && page.contains("Approve"), "the approval is on the page");
}

#[tokio::test]
async fn a_receiver_down_then_up_gets_every_message_once_and_a_hung_one_holds_up_nobody() {
    let (r, url) = receiver().await;
    let w = world(FAILING, "[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"", &url).await;
    let poller = w.poller();
    poller.round(Utc::now()).await;
    for _ in 0..2 {
        let arn = w.start("Abalone").await;
        w.until_status(&arn, "Failed").await;
    }
    assert_eq!(poller.round(Utc::now()).await.events, 2);
    *r.refuse.lock().unwrap() = 3;
    let backoff = Backoff { first: Duration::from_secs(30), most: Duration::from_secs(600), attempts: 10 };
    let sender = w.sender(backoff);
    let t0 = Utc::now();
    assert_eq!(sender.send_due(t0).await.unwrap(), 0, "the receiver is down");
    assert_eq!(sender.send_due(t0).await.unwrap(), 0, "nothing is due again before its backoff");
    let pending = w.db.deliveries(None, 10).await.unwrap();
    assert!(pending.iter().all(|d| d.status == DeliveryStatus::Pending && d.attempts == 1));
    assert!(pending.iter().all(|d| d.last_error.as_deref().unwrap_or("").starts_with("HTTP 503")), "{pending:?}");
    // Later, the receiver is up again (after one more refusal): each message arrives once.
    let mut t = t0;
    for _ in 0..6 {
        t += chrono::Duration::minutes(10);
        sender.send_due(t).await.unwrap();
    }
    let log = w.db.deliveries(None, 10).await.unwrap();
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Sent), "{log:?}");
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.iter().filter(|g| !g.3).count(), 3, "three refusals");
    for d in &log {
        let taken = got.iter().filter(|g| g.3 && g.1["x-stepline-delivery"] == d.delivery_id.as_str()).count();
        assert_eq!(taken, 1, "delivery {} taken once", d.delivery_id);
        let tries = got.iter().filter(|g| g.1["x-stepline-delivery"] == d.delivery_id.as_str()).count() as i64;
        assert_eq!(d.attempts, tries, "every attempt counted, under one delivery id");
    }

    // A receiver that never answers holds only its own message.
    let text = format!(
        "[channels.hang]\nkind = \"webhook\"\nurl = \"{url}/hang\"\n[channels.ok]\nkind = \"webhook\"\nurl = \"{url}/ok\"\n[[rules]]\nevents = [\"failed\"]\nchannel = \"hang\"\n[[rules]]\nevents = [\"failed\"]\nchannel = \"ok\""
    );
    let settings = LiveSettings::fixed(Settings::parse(&text, &|_| None).unwrap());
    let db = Db::memory().await.unwrap();
    let poller = Poller { settings: settings.clone(), db: db.clone(), ..w.poller() };
    poller.round(Utc::now()).await;
    let arn = w.start("Abalone").await;
    w.until_status(&arn, "Failed").await;
    assert_eq!(poller.round(Utc::now()).await.events, 1);
    let sender = Sender::new(db.clone(), settings, "http://stepline.test".into(), Backoff::default()).unwrap();
    let sending = tokio::spawn(async move { sender.send_due(Utc::now()).await });
    for _ in 0..100 {
        if r.got.lock().unwrap().iter().any(|g| g.0 == "/ok") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(r.got.lock().unwrap().iter().any(|g| g.0 == "/ok"), "the other channel got its message");
    assert!(!sending.is_finished(), "while the hung receiver still holds its own");
    assert_eq!(sending.await.unwrap().unwrap(), 1);
    let hung = db.deliveries(None, 10).await.unwrap().into_iter().find(|d| d.channel == "hang").unwrap();
    assert_eq!((hung.status, hung.last_error.as_deref()), (DeliveryStatus::Pending, Some("no answer within 10 s")));
}

/// Two replicas' senders on one database (the test script's PostgreSQL when it is there, else one SQLite
/// file): each message is sent by one of them; one claimed by a sender that then died is sent by the other
/// once the claim lapses.
#[tokio::test]
async fn of_two_senders_on_one_database_each_message_is_sent_once_even_when_one_dies_mid_send() {
    let (r, url) = receiver().await;
    let w = world(FAILING, "[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"", &url).await;
    let dir = std::env::temp_dir().join(format!("stepline-notify-{}", std::process::id()));
    let database = match std::env::var("STEPLINE_TEST_DATABASE_URL") {
        Ok(url) => stepline_core::config::Database::Postgres(url),
        Err(_) => stepline_core::config::Database::Sqlite(dir.join("stepline.db")),
    };
    let (a, b) = (Db::open(&database).await.unwrap(), Db::open(&database).await.unwrap());
    let poller = Poller { db: a.clone(), ..w.poller() };
    if let stepline_core::config::Database::Postgres(url) = &database {
        // Two replicas' pollers: one holds the place's lease and looks, the other stands by.
        let lease = |c| Poller { db: a.clone(), cluster: Some(c), ..w.poller() };
        let first = lease(stepline_core::cluster::Cluster::connect(url).await.unwrap());
        let second = lease(stepline_core::cluster::Cluster::connect(url).await.unwrap());
        let (x, y) = (first.round(Utc::now()).await, second.round(Utc::now()).await);
        assert!(!x.elsewhere && y.elsewhere, "{x:?} {y:?}");
        assert!(second.round(Utc::now()).await.elsewhere, "it keeps standing by while the first lives");
    }
    poller.round(Utc::now()).await;
    for _ in 0..4 {
        let arn = w.start("Abalone").await;
        w.until_status(&arn, "Failed").await;
    }
    assert_eq!(poller.round(Utc::now()).await.events, 4);
    // Deliveries written by earlier runs on a shared PostgreSQL are long sent: only now's are due.
    let now = Utc::now();
    let dying = a.claim_due(now.timestamp_millis(), 60_000, 1).await.unwrap();
    assert_eq!(dying.len(), 1, "a sender claims one message, then dies before sending it");
    let one = Sender::new(a, w.settings.clone(), "http://x".into(), Backoff::default()).unwrap();
    let two = Sender::new(b, w.settings.clone(), "http://x".into(), Backoff::default()).unwrap();
    let (x, y) = tokio::join!(one.send_due(now), two.send_due(now));
    assert_eq!(x.unwrap() + y.unwrap(), 3, "the three unclaimed, each by one sender");
    assert_eq!(two.send_due(now + chrono::Duration::seconds(30)).await.unwrap(), 0, "the claim holds a while");
    assert_eq!(two.send_due(now + chrono::Duration::seconds(61)).await.unwrap(), 1, "then lapses");
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 4, "four messages, each sent once");
    let mut ids: Vec<&str> = got.iter().map(|g| g.1["x-stepline-delivery"].to_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    assert!(ids.contains(&dying[0].delivery_id.as_str()), "the dead sender's message too");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_notifications_page_shows_rules_channels_and_deliveries_but_no_secret() {
    let (_r, url) = receiver().await;
    let w = world(FAILING, "[[rules]]\nevents = [\"failed\"]\npipelines = [\"Abal*\"]\nchannel = \"slack\"\n[[rules]]\nevents = [\"failed\"]\nchannel = \"hook\"", &url).await;
    let off = router::build(AppState::new(common::options(), w.gateway.clone()).await).await;
    let (status, page) = common::get(&off, "/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("notifications-off") && page.contains("--notify FILE"), "says how to turn them on");

    let mut state = AppState::new(common::options(), w.gateway.clone()).await;
    // How the place is watched, as its poller reports it after a round.
    let watches = Arc::new(stepline_core::notify::Watches::default());
    let round = stepline_types::page::RoundView {
        at: Utc::now(),
        pipelines: 2,
        seconds: 1.5,
        calls: 3,
        events: 1,
        errors: 0,
        elsewhere: false,
    };
    let watch =
        stepline_types::page::WatchView { events: true, every_seconds: 900, rate: 1.0, last_round: Some(round) };
    watches.set(&state.place.key(), watch);
    state.notify = Some(Arc::new(stepline_core::notify::Notifier {
        settings: w.settings.clone(),
        origin: "http://stepline.test".into(),
        watches,
    }));
    // The page reads the deliveries of the state's own database.
    let poller = Poller { db: state.access.db.clone(), place: state.place.clone(), ..w.poller() };
    poller.round(Utc::now()).await;
    let arn = w.start("Abalone").await;
    w.until_status(&arn, "Failed").await;
    assert_eq!(poller.round(Utc::now()).await.events, 1);
    Sender::new(state.access.db.clone(), w.settings.clone(), "http://x".into(), Backoff::default())
        .unwrap()
        .send_due(Utc::now())
        .await
        .unwrap();
    let state_db = state.access.db.clone();
    let app = router::build(state).await;
    let (status, page) = common::get(&app, "/notifications").await;
    assert_eq!(status, StatusCode::OK);
    for needle in ["Abal*", "every pipeline", "slack", "webhook", "Abalone · ", "failed", "data-status=\"sent\""] {
        assert!(page.contains(needle), "{needle} missing");
    }
    assert_eq!(page.matches("data-status=\"sent\"").count(), 2, "one delivery per channel");
    assert!(page.contains("every 900 s as a safety net"), "how the place is watched");
    assert!(page.contains("2 pipelines in 1.5 s, 3 upstream calls, 1 new events"), "what the last round cost");
    for secret in [url.as_str(), SECRET, "/slack"] {
        assert!(!page.contains(secret), "the page shows no channel URL or secret ({secret})");
    }
    assert_eq!(page.matches("data-testid=\"send-test\"").count(), 3, "a test button per channel for an operator");

    // "Send a test" as a plain form: the receiver gets it now, the page says so, and it is on record.
    let post = |channel: &str| {
        axum::http::Request::post("/api/notify_test")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .body(axum::body::Body::from(format!("channel={}", common::form_value(channel))))
            .unwrap()
    };
    let answer = app.clone().oneshot(post("hook")).await.unwrap();
    let to = answer.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/notifications?tested=hook");
    let got = _r.got.lock().unwrap().clone();
    let test = got.iter().find(|g| g.2.contains("\"event\":\"test\"")).expect("the test message");
    assert_eq!(test.0, "/hook");
    assert!(test.2.contains("/notifications"), "it links to the notifications page: {}", test.2);
    let (_, page) = common::get(&app, &to).await;
    assert!(page.contains("A test message went to hook."));
    let answer = app.clone().oneshot(post("<nope>")).await.unwrap();
    assert_eq!(answer.headers()["location"], "/notifications?error=invalid", "an unknown channel");
    let log = state_db.page(&Default::default(), &stepline_core::store::Scope::Everything, 10).await.unwrap();
    let tests: Vec<_> =
        log.entries.iter().filter(|e| e.action == stepline_types::model::activity::Action::Notify).collect();
    assert_eq!(tests.len(), 1, "the test sent is on record (the refused one never reached a channel)");
    assert_eq!(tests[0].pipeline, None, "a test is of no pipeline");
    // A channel that does not take it: the plain form's page says so by the channel's name.
    *_r.refuse.lock().unwrap() = 1;
    let answer = app.clone().oneshot(post("teams")).await.unwrap();
    let to = answer.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/notifications?untested=teams");
    let (_, page) = common::get(&app, &to).await;
    assert!(page.contains("The test message to teams was not taken."), "says which channel failed");
}

#[tokio::test]
async fn a_failure_is_mailed_over_starttls_with_a_text_and_an_html_part() {
    let venv = std::env::var("STEPLINE_VENV")
        .unwrap_or_else(|_| format!("{}/.cache/stepline/venv", std::env::var("HOME").unwrap_or_default()));
    let python = format!("{venv}/bin/python");
    let has_server = std::process::Command::new(&python).args(["-c", "import aiosmtpd"]).output();
    if !has_server.is_ok_and(|o| o.status.success()) {
        println!("SKIPPED: aiosmtpd is not in {venv} (scripts/install-tools.sh installs it)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("stepline-smtp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = tokio::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/smtp_server.py"))
        .args([dir.to_str().unwrap(), "stepline", "mail-password"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(server.stdout.take().unwrap()));
    let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await.unwrap().unwrap().unwrap();
    let port: u16 = ready.strip_prefix("ready ").unwrap().parse().unwrap();

    let (_r, url) = receiver().await;
    let w = world(FAILING, "", &url).await;
    let text = format!(
        "[channels.mail]\nkind = \"email\"\nsmtp-host = \"127.0.0.1\"\nsmtp-port = {port}\nsmtp-user = \"stepline\"\n\
         smtp-password-env = \"MAIL_PASSWORD\"\nca-file = \"{}\"\nfrom = \"Stepline <stepline@example.com>\"\n\
         to = [\"oncall@example.com\"]\n[[rules]]\nevents = [\"failed\"]\nchannel = \"mail\"\n\
         [personal]\nmail-channel = \"mail\"",
        dir.join("ca.crt").display()
    );
    let settings = LiveSettings::fixed(
        Settings::parse(&text, &|n| (n == "MAIL_PASSWORD").then(|| "mail-password".to_string())).unwrap(),
    );
    let poller = Poller { settings: settings.clone(), ..w.poller() };
    poller.round(Utc::now()).await;
    // Ana watches Abalone: her own address, through the channel's server (what she typed is not used).
    let (address, secret) = stepline_core::notify::personal::check_target(
        &settings.get(),
        "ana@example.com",
        stepline_types::subscriptions::PersonalTarget::Email,
        "someone-else@example.com",
    )
    .unwrap();
    let ana = stepline_core::store::NewSubscription {
        owner: "ana@example.com".into(),
        groups: vec![],
        place: String::new(),
        pipeline: "Abalone".into(),
        execution: None,
        events: stepline_types::subscriptions::Watch::Failures.events(),
        target: stepline_types::subscriptions::PersonalTarget::Email,
        address,
        secret,
    };
    w.db.subscribe(&ana, Utc::now().timestamp_millis()).await.unwrap();
    let arn = w.start("Abalone").await;
    w.until_status(&arn, "Failed").await;
    assert_eq!(poller.round(Utc::now()).await.events, 1);
    let sender = Sender::new(w.db.clone(), settings, "http://stepline.test".into(), Backoff::default()).unwrap();
    assert_eq!(sender.send_due(Utc::now()).await.unwrap(), 2, "{:?}", w.db.deliveries(None, 2).await);

    let read = |n: usize| json(&std::fs::read_to_string(dir.join(format!("message-{n}.json"))).unwrap());
    let (one, two) = (read(1), read(2));
    let (got, personal) = if one["to"][0] == "oncall@example.com" { (one, two) } else { (two, one) };
    assert_eq!(personal["to"], serde_json::json!(["ana@example.com"]), "her own address, and only hers");
    assert!(personal["text"].as_str().unwrap().contains("out of memory"), "{personal}");
    assert_eq!(got["tls"], true, "STARTTLS before the message");
    assert_eq!(got["user"], "stepline", "authenticated");
    assert_eq!(got["to"][0], "oncall@example.com");
    assert!(got["subject"].as_str().unwrap().starts_with("Abalone · "), "{got}");
    let id = arn.rsplit('/').next().unwrap();
    for part in ["text", "html"] {
        let body = got[part].as_str().unwrap_or_else(|| panic!("a {part} part"));
        for needle in ["AbaloneEval", "out of memory", &format!("/pipelines/Abalone/executions/{id}")] {
            assert!(body.contains(needle), "{part} part lacks {needle}: {body}");
        }
    }
    let delivery = w.db.deliveries(None, 2).await.unwrap().into_iter().find(|d| d.owner.is_none()).unwrap();
    assert_eq!(got["message_id"], format!("<{}@stepline>", delivery.delivery_id), "the delivery id");
    // A wrong password is refused for good: the server's 535 is not retried.
    let wrong = text
        .replace("smtp-password-env", "smtp-password-file")
        .replace("MAIL_PASSWORD", &dir.join("ca.key").display().to_string());
    let settings = LiveSettings::fixed(Settings::parse(&wrong, &|_| None).unwrap());
    let poller = Poller { settings: settings.clone(), ..w.poller() };
    let arn = w.start("Abalone").await;
    w.until_status(&arn, "Failed").await;
    assert_eq!(poller.round(Utc::now()).await.events, 1);
    let sender = Sender::new(w.db.clone(), settings, "http://stepline.test".into(), Backoff::default()).unwrap();
    assert_eq!(sender.send_due(Utc::now()).await.unwrap(), 0);
    let refused = &w.db.deliveries(None, 2).await.unwrap()[0];
    assert_eq!(refused.status, DeliveryStatus::Dead, "{refused:?}");
    assert!(!refused.last_error.as_deref().unwrap_or("").contains("PRIVATE KEY"), "no secret in the error");
    server.kill().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}
