//! The job logs over real HTTP, with `aws-sdk-cloudwatchlogs` as the client (and `aws-sdk-sagemaker` to run
//! the pipelines whose jobs write them).

mod common;

use stepline_emulator::runtime::ClockChange;

use std::collections::HashSet;

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::{OrderBy, OutputLogEvent};
use aws_sdk_cloudwatchlogs::Client as Logs;
use aws_sdk_sagemaker::types::PipelineExecutionStatus;
use common::*;
use serde_json::{json, Value};
use stepline_emulator::RunningEmulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TRAINING: &str = "/aws/sagemaker/TrainingJobs";
const PROCESSING: &str = "/aws/sagemaker/ProcessingJobs";
const TRANSFORM: &str = "/aws/sagemaker/TransformJobs";

/// A control-route request: `(status, JSON body)`.
async fn control(emu: &RunningEmulator, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![];
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(payload).unwrap_or(Value::String(payload.to_string())))
}

fn messages(events: &[OutputLogEvent]) -> Vec<String> {
    events.iter().map(|e| e.message().unwrap_or_default().to_string()).collect()
}

/// The names of a group's streams that start with `prefix`, in name order.
async fn stream_names(logs: &Logs, group: &str, prefix: &str) -> Vec<String> {
    let out = logs.describe_log_streams().log_group_name(group).log_stream_name_prefix(prefix).send().await.unwrap();
    out.log_streams().iter().map(|s| s.log_stream_name().unwrap().to_string()).collect()
}

/// Every event of a stream, read with the SDK's paginator (which stops when the forward token repeats).
async fn read_all(logs: &Logs, group: &str, stream: &str) -> Vec<String> {
    let pages = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .limit(700)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    pages.into_iter().flat_map(|p| messages(p.unwrap().events())).collect()
}

fn service_code<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (e.code().unwrap_or("").to_string(), e.message().unwrap_or("").to_string())
}

#[tokio::test]
async fn streams_appear_when_a_job_starts_grow_while_it_runs_and_page_both_ways() {
    let scenario = r#"{"pipelines": {"*": {"steps": {
        "Prep": {"duration": 100},
        "Train": {"duration": 400, "log_lines": 2000, "metrics": {"validation:auc": 0.93}},
        "Tune": {"duration": 20}, "Score": {"duration": 20}, "Register": {"duration": 5}}}}}"#;
    let (emu, sm) = emulator(100.0, Some(scenario)).await;
    let logs = logs_client_for(&emu.endpoint_url(), true);
    create(&sm, "Jobs", JOBS).await;
    // The clock stands still unless moved: each state below is seen however slow the machine is.
    let core = emu.core();
    core.change_clock(ClockChange::Pause);
    let arn = start_execution(&sm, "Jobs", &[]).await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    advance_until_step(&core, &sm, &arn, "Prep", "Executing").await;

    // No training job has started: the group does not exist yet; the processing job's stream does.
    let e = logs.describe_log_streams().log_group_name(TRAINING).send().await.unwrap_err().into_service_error();
    assert_eq!(
        service_code(&e),
        ("ResourceNotFoundException".into(), "The specified log group does not exist.".into())
    );
    let prep = stream_names(&logs, PROCESSING, &format!("pipelines-{id}-Prep-")).await;
    assert_eq!(prep.len(), 1, "{prep:?}");
    assert!(prep[0].contains("/algo-1-"), "{prep:?}");

    advance_until_step(&core, &sm, &arn, "Train", "Executing").await;
    // A quarter of the training's 4 s written.
    core.change_clock(ClockChange::Advance(1.0));
    let job = training_job_name(&sm, &arn, "Train").await;
    assert!(job.starts_with(&format!("pipelines-{id}-Train-")), "the step's name keeps its case: {job}");
    let started = sm.describe_training_job().training_job_name(&job).send().await.unwrap();
    let secs = started.training_start_time().unwrap().secs();
    let names = stream_names(&logs, TRAINING, &job).await;
    assert_eq!(names, [format!("{job}/algo-1-{secs}"), format!("{job}/algo-2-{secs}")], "one per instance");

    // While it runs: page forward from the head until the token comes back unchanged.
    let (group, stream) = (TRAINING, names[0].as_str());
    let mut seen: Vec<String> = vec![];
    let mut token: Option<String> = None;
    let mut rounds = 0;
    loop {
        let page = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .limit(100)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        let forward = page.next_forward_token().unwrap().to_string();
        assert!(forward.starts_with("f/") && forward.len() == 58 && forward[2..].bytes().all(|b| b.is_ascii_digit()));
        assert!(page.next_backward_token().unwrap().starts_with("b/"));
        seen.extend(messages(page.events()));
        if token.as_deref() == Some(forward.as_str()) {
            assert!(page.events().is_empty(), "the end of the stream repeats the token");
            break;
        }
        token = Some(forward);
        rounds += 1;
        assert!(rounds < 100, "the stream keeps growing faster than it is read");
    }
    assert_eq!(seen[0], "bash: cannot set terminal process group (-1): Inappropriate ioctl for device");
    assert!(seen.len() < 2000, "the job is still running: {}", seen.len());
    // The same token, a moment later, carries on where it stopped.
    core.change_clock(ClockChange::Advance(0.6));
    let more = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_next_token(token.clone())
        .send()
        .await
        .unwrap();
    let grown = messages(more.events());
    assert!(!grown.is_empty(), "the stream grew");
    assert_ne!(more.next_forward_token(), token.as_deref());

    core.change_clock(ClockChange::Resume);
    assert_eq!(wait_for(&sm, &arn, terminal).await, PipelineExecutionStatus::Succeeded);
    let all = read_all(&logs, group, stream).await;
    assert_eq!(all.len(), 2003, "the lines the scenario asked for, then how it ended");
    assert_eq!(all[..seen.len()], seen[..], "lines already read do not change");
    assert_eq!(all[seen.len()..seen.len() + grown.len()], grown[..]);
    assert!(all.last().unwrap().ends_with("Reporting training SUCCESS"));
    assert!(all.iter().any(|l| l.starts_with("epoch 8/8 - loss: ") && l.contains("validation:auc: 0.9300")));
    assert!(all.iter().any(|l| l.contains("\u{1b}[32mINFO\u{1b}[0m")) && all.iter().any(|l| l.contains("&amp;")));
    assert!(all.iter().any(|l| l.starts_with("Invoking script") || l.contains("Invoking script")));
    let other = read_all(&logs, group, &names[1]).await;
    assert_eq!(other.len(), 2003);
    assert!(other[2].contains("(algo-2)") && all[2].contains("(algo-1)"), "{} / {}", other[2], all[2]);

    // The tail, then backwards page by page.
    let tail = logs.get_log_events().log_group_name(group).log_stream_name(stream).limit(5).send().await.unwrap();
    assert_eq!(messages(tail.events()), all[all.len() - 5..]);
    let back = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .limit(5)
        .next_token(tail.next_backward_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(messages(back.events()), all[all.len() - 10..all.len() - 5]);
    // Back at the head, the backward token repeats too.
    let head = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .limit(3)
        .send()
        .await
        .unwrap();
    let start = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .next_token(head.next_backward_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(start.events().is_empty());
    assert_eq!(start.next_backward_token(), head.next_backward_token());

    // A time range: GetLogEvents excludes its end, FilterLogEvents includes it.
    let events = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(true)
        .limit(1500)
        .send()
        .await
        .unwrap();
    let times: Vec<i64> = events.events().iter().map(|e| e.timestamp().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let (from, to) = (times[500], times[900]);
    let ranged = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_time(from)
        .end_time(to)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    let expected = times.iter().filter(|t| (from..to).contains(*t)).count();
    assert_eq!(ranged.events().len(), expected);
    let filtered = logs
        .filter_log_events()
        .log_group_name(group)
        .log_stream_names(stream)
        .start_time(from)
        .end_time(to)
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.events().len(), times.iter().filter(|t| (from..=to).contains(*t)).count());

    // Tokens are checked: made up, or another stream's.
    let foreign = other_token(&logs, &names[1]).await;
    for bad in ["f/123", "x/", foreign.as_str()] {
        let e = logs
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .next_token(bad)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(service_code(&e).0, "InvalidParameterException", "{bad}");
    }

    // The processing and transform jobs wrote theirs.
    let prep_log = read_all(&logs, PROCESSING, &prep[0]).await;
    assert!(prep_log.iter().any(|l| l == "Processed 40% (400000/1000000 records)"), "{:?}", &prep_log[..10]);
    let score = stream_names(&logs, TRANSFORM, &format!("pipelines-{id}-Score-")).await;
    assert_eq!(score.len(), 2, "the instance's stream and its data log: {score:?}");
    assert!(score[1].ends_with("/data-log") && score[1].starts_with(&score[0]));
    let requests = read_all(&logs, TRANSFORM, &score[0]).await;
    assert!(requests.iter().any(|l| l.contains("\"POST /invocations HTTP/1.1\" 200")));
    emu.shutdown().await;
}

/// A valid forward token of another stream.
async fn other_token(logs: &Logs, stream: &str) -> String {
    let page = logs.get_log_events().log_group_name(TRAINING).log_stream_name(stream).limit(1).send().await.unwrap();
    page.next_forward_token().unwrap().to_string()
}

#[tokio::test]
async fn filter_finds_terms_and_phrases_pages_a_whole_job_and_a_match_deep_in_a_long_log() {
    let scenario = r#"{"pipelines": {"*": {"steps": {
        "Train": {"log_lines": 100000, "fail": {"reason": "OutOfMemoryError: needle in a haystack", "exception": "Step.OTHER"}}}}}}"#;
    let (emu, sm) = emulator(20_000.0, Some(scenario)).await;
    let logs = logs_client_for(&emu.endpoint_url(), true);
    create(&sm, "Jobs", JOBS).await;
    let arn = start_execution(&sm, "Jobs", &[]).await;
    assert_eq!(wait_for(&sm, &arn, terminal).await, PipelineExecutionStatus::Failed);
    let job = training_job_name(&sm, &arn, "Train").await;
    let names = stream_names(&logs, TRAINING, &job).await;
    assert_eq!(names.len(), 2);

    // The failure, at the very end of 100,000 lines on each instance, in one call.
    let found = logs
        .filter_log_events()
        .log_group_name(TRAINING)
        .filter_pattern("\"OutOfMemoryError: needle\"")
        .send()
        .await
        .unwrap();
    let hits: Vec<(&str, &str)> =
        found.events().iter().map(|e| (e.log_stream_name().unwrap(), e.message().unwrap())).collect();
    assert_eq!(
        hits,
        [
            (names[0].as_str(), "OutOfMemoryError: needle in a haystack"),
            (names[1].as_str(), "OutOfMemoryError: needle in a haystack")
        ]
    );
    assert!(found.next_token().is_none());
    let id = found.events()[0].event_id().unwrap();
    assert!(id.len() == 56 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    let last = logs.get_log_events().log_group_name(TRAINING).log_stream_name(&names[0]).limit(1).send().await.unwrap();
    assert_eq!(
        messages(last.events()),
        ["OutOfMemoryError: needle in a haystack"],
        "the stream's last line names the failure"
    );

    // Every term must appear, case-sensitively; exclusions and alternatives.
    let summaries = logs
        .filter_log_events()
        .log_group_name(TRAINING)
        .log_stream_name_prefix(format!("{job}/algo-1"))
        .filter_pattern("epoch \"validation:auc:\" -WARNING")
        .send()
        .await
        .unwrap();
    let lines = summaries.events().iter().map(|e| e.message().unwrap()).collect::<Vec<_>>();
    assert_eq!(lines.len(), 8, "one summary per epoch: {lines:?}");
    assert!(lines.iter().all(|l| l.starts_with("epoch ") && l.contains("validation:auc: ")));
    let none = logs
        .filter_log_events()
        .log_group_name(TRAINING)
        .log_stream_names(&names[0])
        .filter_pattern("EPOCH")
        .send()
        .await
        .unwrap();
    assert!(none.events().is_empty());
    let either = logs
        .filter_log_events()
        .log_group_name(TRAINING)
        .log_stream_names(&names[0])
        .log_stream_names(&names[1])
        .filter_pattern("?Traceback ?SUCCESS")
        .send()
        .await
        .unwrap();
    assert_eq!(either.events().len(), 2, "a traceback on each instance, no success");

    // Paging over the job's streams: every event once, in time order.
    let pages = logs
        .filter_log_events()
        .log_group_name(TRAINING)
        .log_stream_name_prefix(&job)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    let mut ids = HashSet::new();
    let mut last_time = 0;
    let mut total = 0;
    for page in pages {
        for e in page.unwrap().events() {
            assert!(e.timestamp().unwrap() >= last_time);
            last_time = e.timestamp().unwrap();
            assert!(ids.insert(e.event_id().unwrap().to_string()), "an event twice");
            total += 1;
        }
    }
    assert_eq!(total, 2 * (100_000 + 10), "both instances' lines and their tracebacks");

    let e = logs
        .filter_log_events()
        .log_group_name(TRAINING)
        .log_stream_names(&names[0])
        .log_stream_name_prefix(&job)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(service_code(&e).0, "InvalidParameterException");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_retried_step_writes_the_streams_of_each_attempt() {
    let scenario = r#"{"pipelines": {"*": {"steps": {
        "Train": {"fail": {"attempts": 1, "reason": "CapacityError: no ml.m5.2xlarge capacity", "exception": "SageMaker.CAPACITY_ERROR"}}}}}}"#;
    let (emu, sm) = emulator(20_000.0, Some(scenario)).await;
    let logs = logs_client_for(&emu.endpoint_url(), true);
    create(&sm, "Jobs", JOBS).await;
    let arn = start_execution(&sm, "Jobs", &[]).await;
    assert_eq!(wait_for(&sm, &arn, terminal).await, PipelineExecutionStatus::Succeeded);
    let id = arn.rsplit('/').next().unwrap();
    let names = stream_names(&logs, TRAINING, &format!("pipelines-{id}-Train-")).await;
    assert_eq!(names.len(), 4, "two jobs of two instances: {names:?}");
    let jobs: HashSet<&str> = names.iter().map(|n| n.split('/').next().unwrap()).collect();
    assert_eq!(jobs.len(), 2);
    for job in jobs {
        let d = sm.describe_training_job().training_job_name(job).send().await.unwrap();
        let stream = names.iter().find(|n| n.starts_with(&format!("{job}/algo-1-"))).unwrap();
        let all = read_all(&logs, TRAINING, stream).await;
        match d.training_job_status().unwrap().as_str() {
            "Failed" => {
                assert_eq!(d.failure_reason(), Some("CapacityError: no ml.m5.2xlarge capacity"));
                assert_eq!(all.last().unwrap(), "CapacityError: no ml.m5.2xlarge capacity");
            }
            "Completed" => assert!(all.last().unwrap().ends_with("Reporting training SUCCESS")),
            other => panic!("{job} is {other}"),
        }
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn errors_are_cloudwatch_logs_errors_and_faults_apply() {
    let (emu, sm) = emulator(20_000.0, None).await;
    let logs = logs_client_for(&emu.endpoint_url(), false);
    let e = logs.get_log_events().log_group_name(TRAINING).log_stream_name("x/algo-1-1").send().await.unwrap_err();
    assert_eq!(
        service_code(&e.into_service_error()),
        ("ResourceNotFoundException".into(), "The specified log group does not exist.".into())
    );
    create(&sm, "Jobs", JOBS).await;
    let arn = start_execution(&sm, "Jobs", &[]).await;
    wait_for(&sm, &arn, terminal).await;
    let job = training_job_name(&sm, &arn, "Train").await;
    for stream in ["nope/algo-1-1".to_string(), format!("{job}/algo-3-1"), format!("{job}/algo-1-1")] {
        let e = logs.get_log_events().log_group_name(TRAINING).log_stream_name(&stream).send().await.unwrap_err();
        assert_eq!(
            service_code(&e.into_service_error()),
            ("ResourceNotFoundException".into(), "The specified log stream does not exist.".into()),
            "{stream}"
        );
    }
    let e = logs.describe_log_streams().log_group_name("/aws/lambda/nope").send().await.unwrap_err();
    assert_eq!(service_code(&e.into_service_error()).0, "ResourceNotFoundException");
    let e = logs.describe_log_streams().log_group_name(TRAINING).limit(51).send().await.unwrap_err();
    let (code, message) = service_code(&e.into_service_error());
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message.contains(
            "Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"
        ),
        "{message}"
    );
    let e = logs
        .describe_log_streams()
        .log_group_name(TRAINING)
        .log_stream_name_prefix(&job)
        .order_by(OrderBy::LastEventTime)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        service_code(&e.into_service_error()),
        ("InvalidParameterException".into(), "Cannot order by LastEventTime with a logStreamNamePrefix.".into())
    );
    let e = logs.get_log_events().log_stream_name("x").send().await.unwrap_err();
    assert_eq!(service_code(&e.into_service_error()).0, "InvalidParameterException", "no group named");

    // By ARN, newest events last, paged.
    let arn_id = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/TrainingJobs";
    let by_time = logs
        .describe_log_streams()
        .log_group_identifier(arn_id)
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .limit(3)
        .send()
        .await
        .unwrap();
    let listed = by_time.log_streams();
    assert_eq!(listed.len(), 3);
    assert!(listed.windows(2).all(|w| w[0].last_event_timestamp() >= w[1].last_event_timestamp()));
    let s = &listed[0];
    // Deprecated, and 0 for streams since 2019, as the service reports it.
    #[allow(deprecated)]
    let stored = s.stored_bytes();
    assert_eq!(stored, Some(0));
    assert!(s.creation_time().unwrap() <= s.first_event_timestamp().unwrap());
    assert!(
        s.first_event_timestamp() <= s.last_event_timestamp() && s.last_event_timestamp() <= s.last_ingestion_time()
    );
    assert_eq!(
        s.arn().unwrap(),
        format!("arn:aws:logs:us-east-1:123456789012:log-group:{TRAINING}:log-stream:{}", s.log_stream_name().unwrap())
    );
    let next = logs
        .describe_log_streams()
        .log_group_name(TRAINING)
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .limit(3)
        .next_token(by_time.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(next.log_streams().iter().all(|n| listed.iter().all(|l| l.log_stream_name() != n.log_stream_name())));

    // A scenario can refuse the next GetLogEvents as IAM would.
    let scenario = r#"{"faults": [{"operation": "GetLogEvents", "code": "AccessDeniedException", "times": 1}]}"#;
    assert_eq!(control(&emu, "POST", "/_emulator/scenario", scenario).await.0, 200);
    let stream = format!("{job}/algo-1-");
    let name = stream_names(&logs, TRAINING, &stream).await.remove(0);
    let e = logs.get_log_events().log_group_name(TRAINING).log_stream_name(&name).send().await.unwrap_err();
    let (code, message) = service_code(&e.into_service_error());
    assert_eq!(code, "AccessDeniedException");
    assert!(message.ends_with("is not authorized to perform: logs:GetLogEvents"), "{message}");
    logs.get_log_events().log_group_name(TRAINING).log_stream_name(&name).send().await.unwrap();
    let (_, stats) = control(&emu, "GET", "/_emulator/stats", "").await;
    assert_eq!(stats["operations"]["GetLogEvents"]["errors"].as_u64(), Some(6));
    emu.shutdown().await;
}

#[tokio::test]
async fn the_default_quotas_throttle_log_reads_as_cloudwatch_logs_does() {
    let (emu, sm) = emulator(20_000.0, None).await;
    create(&sm, "Jobs", JOBS).await;
    let arn = start_execution(&sm, "Jobs", &[]).await;
    wait_for(&sm, &arn, terminal).await;
    let logs = logs_client_for(&emu.endpoint_url(), false);
    let job = training_job_name(&sm, &arn, "Train").await;
    let stream = stream_names(&logs, TRAINING, &job).await.remove(0);
    assert_eq!(control(&emu, "POST", "/_emulator/scenario", r#"{"quotas": "default"}"#).await.0, 200);
    control(&emu, "POST", "/_emulator/stats/reset", "").await;
    // The buckets refill as real time passes: how many calls a slow machine may see admitted past the burst
    // is bounded by what it took, so the bounds follow the elapsed time rather than assume a fast machine.
    let refilled = |rate: f64, since: std::time::Instant| (rate * since.elapsed().as_secs_f64()).ceil() as usize;
    let t = std::time::Instant::now();
    let mut throttled = 0;
    for _ in 0..12 {
        if let Err(e) = logs.filter_log_events().log_group_name(TRAINING).limit(1).send().await {
            assert_eq!(service_code(&e.into_service_error()), ("ThrottlingException".into(), "Rate exceeded".into()));
            throttled += 1;
        }
    }
    let lowest = 7usize.saturating_sub(refilled(5.0, t));
    assert!((lowest..=7).contains(&throttled), "FilterLogEvents: 5 a second, burst 5: {throttled} of 12 refused");
    let t = std::time::Instant::now();
    let mut refused = 0;
    for _ in 0..40 {
        if logs.get_log_events().log_group_name(TRAINING).log_stream_name(&stream).limit(1).send().await.is_err() {
            refused += 1;
        }
    }
    let lowest = 15usize.saturating_sub(refilled(25.0, t));
    assert!(
        refused >= 1 && (lowest..=15).contains(&refused),
        "GetLogEvents: 25 a second, burst 25: {refused} of 40 refused"
    );
    let (_, stats) = control(&emu, "GET", "/_emulator/stats", "").await;
    assert_eq!(stats["operations"]["FilterLogEvents"], json!({"calls": 12, "throttled": throttled, "errors": 0}));
    assert_eq!(stats["operations"]["GetLogEvents"]["throttled"], json!(refused));
    emu.shutdown().await;
}
