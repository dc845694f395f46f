//! The emulator's SQS, through the real `aws-sdk-sqs`: queues, long polling, visibility timeouts on the
//! emulator's clock, batch deletes and their errors, durability; and SageMaker's events in EventBridge's
//! envelope on the events queue, with the duplicate-delivery switch.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client as Sqs;
use common::*;
use serde_json::Value;
use stepline_emulator::runtime::ClockChange;
use stepline_emulator::{start, EmulatorConfig, RunningEmulator, Scenario};

fn sqs(endpoint: &str) -> Sqs {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDSTEPLINETEST", "secret", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    Sqs::from_conf(config)
}

async fn emulator_with(config: EmulatorConfig) -> (RunningEmulator, Sqs) {
    let running = start(config).await.expect("emulator starts");
    let client = sqs(&running.endpoint_url());
    (running, client)
}

fn code<E: aws_sdk_sqs::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_string()
}

#[tokio::test]
async fn messages_are_sent_received_hidden_on_the_clock_and_deleted() {
    let (emu, sqs) = emulator_with(EmulatorConfig::default()).await;
    let core = emu.core();
    core.change_clock(ClockChange::Pause);
    let url = sqs.create_queue().queue_name("work").send().await.unwrap().queue_url.unwrap();
    assert!(url.ends_with("/123456789012/work"), "{url}");
    // Creating it again with the same attributes is the same queue; with others, an error naming it.
    assert_eq!(sqs.create_queue().queue_name("work").send().await.unwrap().queue_url.unwrap(), url);
    let e = sqs
        .create_queue()
        .queue_name("work")
        .attributes(QueueAttributeName::VisibilityTimeout, "5")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_queue_name_exists(), "{e:?}");
    assert_eq!(sqs.get_queue_url().queue_name("work").send().await.unwrap().queue_url.unwrap(), url);

    let sent = sqs.send_message().queue_url(&url).message_body("hello ✓").send().await.unwrap();
    // The MD5 of the body's UTF-8, which SDKs may check.
    assert_eq!(sent.md5_of_message_body.as_deref(), Some("3eab6315c76c9d32094bb53bac85a397"));
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(30)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body.as_deref(), Some("hello ✓"));
    assert_eq!(got[0].message_id, sent.message_id);
    let attrs = got[0].attributes.as_ref().unwrap();
    assert_eq!(attrs.get(&MessageSystemAttributeName::ApproximateReceiveCount).map(String::as_str), Some("1"));

    // Hidden until the clock passes its visibility timeout, then back with a new receipt.
    let none = sqs.receive_message().queue_url(&url).send().await.unwrap().messages.unwrap_or_default();
    assert!(none.is_empty());
    core.change_clock(ClockChange::Advance(31.0));
    let again = sqs.receive_message().queue_url(&url).send().await.unwrap().messages.unwrap();
    assert_ne!(again[0].receipt_handle, got[0].receipt_handle);

    // ChangeMessageVisibility with the old receipt is refused; with the new one it shows the message at once.
    let e = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(got[0].receipt_handle.clone().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ReceiptHandleIsInvalid", "{e:?}");
    let handle = again[0].receipt_handle.clone().unwrap();
    sqs.change_message_visibility().queue_url(&url).receipt_handle(&handle).visibility_timeout(0).send().await.unwrap();
    let third = sqs.receive_message().queue_url(&url).send().await.unwrap().messages.unwrap();

    // A batch: one good receipt, one that is not a handle; the good one is deleted, the bad one named.
    let entry = |id: &str, r: &str| DeleteMessageBatchRequestEntry::builder().id(id).receipt_handle(r).build().unwrap();
    let out = sqs
        .delete_message_batch()
        .queue_url(&url)
        .entries(entry("good", third[0].receipt_handle.as_deref().unwrap()))
        .entries(entry("bad", "nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful.len(), 1);
    assert_eq!(out.failed[0].id, "bad");
    assert_eq!(out.failed[0].code, "ReceiptHandleIsInvalid");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attrs[&QueueAttributeName::ApproximateNumberOfMessages], "0");
    assert_eq!(attrs[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible], "0");
    assert_eq!(attrs[&QueueAttributeName::QueueArn], "arn:aws:sqs:us-east-1:123456789012:work");

    // Errors SQS's way: a missing queue, a batch of eleven, repeated ids, a receive of more than ten.
    let e = sqs.get_queue_url().queue_name("nope").send().await.unwrap_err().into_service_error();
    assert!(e.is_queue_does_not_exist(), "{e:?}");
    let mut eleven = sqs.delete_message_batch().queue_url(&url);
    for i in 0..11 {
        eleven = eleven.entries(entry(&format!("e{i}"), "x"));
    }
    assert!(eleven.send().await.unwrap_err().into_service_error().is_too_many_entries_in_batch_request());
    let twice = sqs.delete_message_batch().queue_url(&url).entries(entry("a", "x")).entries(entry("a", "y"));
    assert!(twice.send().await.unwrap_err().into_service_error().is_batch_entry_ids_not_distinct());
    let e = sqs.receive_message().queue_url(&url).max_number_of_messages(11).send().await.unwrap_err();
    assert!(e.to_string().contains("MaxNumberOfMessages") || format!("{e:?}").contains("MaxNumberOfMessages"), "{e:?}");
    let e = sqs.send_message().queue_url(&url).message_body("bad \u{1} char").send().await.unwrap_err();
    assert!(e.into_service_error().is_invalid_message_contents());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_long_poll_returns_as_soon_as_a_message_is_sent() {
    let (emu, sqs) = emulator_with(EmulatorConfig::default()).await;
    let url = sqs.create_queue().queue_name("waiting").send().await.unwrap().queue_url.unwrap();
    let reader = {
        let (sqs, url) = (sqs.clone(), url.clone());
        tokio::spawn(async move {
            let began = Instant::now();
            let got = sqs.receive_message().queue_url(&url).wait_time_seconds(20).send().await.unwrap();
            (got.messages.unwrap_or_default(), began.elapsed())
        })
    };
    // Sent once the reader is waiting (a send before would be found at once, which proves nothing).
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqs.send_message().queue_url(&url).message_body("now").send().await.unwrap();
    let (got, took) = reader.await.unwrap();
    assert_eq!(got.len(), 1, "the waiting receive got the message");
    assert!(took < Duration::from_secs(20), "it did not wait out its twenty seconds: {took:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn queues_and_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EmulatorConfig { data_dir: Some(dir.path().to_path_buf()), ..EmulatorConfig::default() };
    let (emu, sqs) = emulator_with(config()).await;
    let url = sqs.create_queue().queue_name("kept").send().await.unwrap().queue_url.unwrap();
    for body in ["one", "two"] {
        sqs.send_message().queue_url(&url).message_body(body).send().await.unwrap();
    }
    emu.shutdown().await;
    let (emu, sqs) = emulator_with(config()).await;
    let url = sqs.get_queue_url().queue_name("kept").send().await.unwrap().queue_url.unwrap();
    let got = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.unwrap();
    let mut bodies: Vec<String> = got.messages.unwrap().into_iter().filter_map(|m| m.body).collect();
    bodies.sort();
    assert_eq!(bodies, ["one", "two"]);
    emu.shutdown().await;
}

/// Every message on the queue now, as JSON.
async fn drain(sqs: &Sqs, url: &str) -> Vec<Value> {
    let mut out = vec![];
    loop {
        let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            out.push(serde_json::from_str(m.body.as_deref().unwrap()).unwrap());
            sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle.unwrap()).send().await.unwrap();
        }
    }
}

const FAIL_TRAIN: &str = r#"{"pipelines": {"*": {"steps": {"AbaloneTrain": {"fail": {"reason": "CapacityError: no ml.m5.xlarge", "exception": "Step.OTHER"}}}}}}"#;

#[tokio::test]
async fn sagemaker_events_arrive_in_eventbridge_envelopes_in_order() {
    let config = EmulatorConfig {
        scenario: Some(Scenario::parse(FAIL_TRAIN).unwrap()),
        events_queue: Some("sagemaker-events".into()),
        ..EmulatorConfig::default()
    };
    let (emu, sqs) = emulator_with(config).await;
    let sm = client_for(&emu.endpoint_url());
    let core = emu.core();
    core.change_clock(ClockChange::Pause);
    let url = sqs.get_queue_url().queue_name("sagemaker-events").send().await.unwrap().queue_url.unwrap();
    create(&sm, "nightly", ABALONE).await;
    let arn = start_execution(&sm, "nightly", &[]).await;
    core.change_clock(ClockChange::Advance(24.0 * 3600.0));
    let events = drain(&sqs, &url).await;

    let execution: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail-type"] == "SageMaker Model Building Pipeline Execution Status Change")
        .collect();
    let statuses: Vec<&str> =
        execution.iter().map(|e| e["detail"]["currentPipelineExecutionStatus"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["Executing", "Failed"]);
    let failed = execution[1];
    assert_eq!(failed["source"], "aws.sagemaker");
    assert_eq!(failed["version"], "0");
    assert_eq!((failed["account"].as_str(), failed["region"].as_str()), (Some("123456789012"), Some("us-east-1")));
    assert_eq!(failed["resources"][1], arn.as_str());
    assert_eq!(failed["detail"]["pipelineExecutionArn"], arn.as_str());
    assert_eq!(failed["detail"]["previousPipelineExecutionStatus"], "Executing");
    assert!(failed["detail"]["executionEndTime"].is_string());
    assert!(failed["time"].as_str().unwrap().ends_with('Z'));
    assert!(execution[0]["detail"].get("previousPipelineExecutionStatus").is_none(), "a start has no previous status");
    // The start comes first and the end last; the step that failed says why.
    assert_eq!(events.first(), Some(execution[0]));
    assert_eq!(events.last(), Some(execution[1]));
    let train_failed = events
        .iter()
        .find(|e| e["detail"]["stepName"] == "AbaloneTrain" && e["detail"]["currentStepStatus"] == "Failed")
        .expect("the training step's failure");
    assert_eq!(train_failed["detail"]["stepType"], "Training");
    assert!(train_failed["detail"]["failureReason"].as_str().unwrap().contains("CapacityError"));
    assert!(train_failed["detail"]["metadata"]["TrainingJob"]["Arn"].is_string());
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "each event has an id of its own");

    // With duplicate deliveries on, every event comes twice (same id): a reader must deduplicate.
    let mut scenario = Scenario::parse(FAIL_TRAIN).unwrap();
    scenario.duplicate_events = true;
    core.set_scenario(scenario).unwrap();
    start_execution(&sm, "nightly", &[]).await;
    core.change_clock(ClockChange::Advance(24.0 * 3600.0));
    let twice = drain(&sqs, &url).await;
    let mut by_id: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in &twice {
        *by_id.entry(e["id"].as_str().unwrap()).or_default() += 1;
    }
    assert!(!by_id.is_empty() && by_id.values().all(|n| *n == 2), "{by_id:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn without_its_queue_the_rule_sends_nothing_and_replays_nothing_later() {
    let (emu, sqs) = emulator_with(EmulatorConfig::default()).await;
    let sm = client_for(&emu.endpoint_url());
    let core = emu.core();
    core.change_clock(ClockChange::Pause);
    create(&sm, "quiet", ABALONE).await;
    start_execution(&sm, "quiet", &[]).await;
    core.change_clock(ClockChange::Advance(5.0));
    // The queue the rule targets by default, created after the execution started: only what happens from
    // now on arrives.
    let url = sqs.create_queue().queue_name("sagemaker-events").send().await.unwrap().queue_url.unwrap();
    core.change_clock(ClockChange::Advance(24.0 * 3600.0));
    let events = drain(&sqs, &url).await;
    assert!(!events.is_empty());
    assert!(
        !events.iter().any(|e| e["detail"]["currentPipelineExecutionStatus"] == "Executing"),
        "the start happened before the queue existed"
    );
    assert!(events.iter().any(|e| e["detail"]["currentPipelineExecutionStatus"] == "Succeeded"));
    emu.shutdown().await;
}
