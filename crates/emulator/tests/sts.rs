//! STS on the emulator's endpoint, checked with `aws-sdk-sts` over HTTP: AssumeRole with a SourceIdentity
//! gives credentials that SageMaker calls are recorded under (CreatedBy and LastModifiedBy name the role
//! session and the person), GetCallerIdentity says who signed, bad input is a ValidationError naming the
//! member, role chaining keeps the SourceIdentity, expired credentials are refused, quotas and counts apply,
//! and the identity survives a restart.

mod common;

use aws_sdk_sagemaker::types::PipelineExecutionStatus;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::types::Credentials as Issued;
use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use stepline_emulator::ops::Caller;
use stepline_emulator::query::{error_response, Params};
use stepline_emulator::runtime::wall_clock;
use stepline_emulator::strict::Quota;
use stepline_emulator::{build_core, start, sts, EmulatorConfig, RunningEmulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RUNNER: &str = "arn:aws:iam::123456789012:role/team/PipelineRunner";
const AUDITOR: &str = "arn:aws:iam::210987654321:role/Auditor";

fn sts_with(endpoint: &str, credentials: Credentials) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// An STS client signing with the long-term key every other test uses.
fn sts_for(endpoint: &str) -> aws_sdk_sts::Client {
    sts_with(endpoint, Credentials::new("AKIDSTEPLINETEST", "secret", None, None, "test"))
}

fn temporary(c: &Issued) -> Credentials {
    Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_string()), None, "sts")
}

fn sagemaker_with(endpoint: &str, c: &Issued) -> aws_sdk_sagemaker::Client {
    let base = client_for(endpoint);
    aws_sdk_sagemaker::Client::from_conf(base.config().to_builder().credentials_provider(temporary(c)).build())
}

async fn assume(sts: &aws_sdk_sts::Client, role: &str, session: &str, source: Option<&str>) -> Issued {
    let out = sts
        .assume_role()
        .role_arn(role)
        .role_session_name(session)
        .set_source_identity(source.map(String::from))
        .send()
        .await
        .expect("assume role");
    out.credentials().expect("credentials").clone()
}

/// A raw form POST: `(status, body)`.
async fn form(emu: &RunningEmulator, body: &str, signed: bool) -> (u16, String) {
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    let auth = if signed {
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDRAW/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\n"
    } else {
        ""
    };
    let req = format!(
        "POST / HTTP/1.1\r\nHost: sts.amazonaws.com\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![];
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    assert!(head.to_ascii_lowercase().contains("content-type: text/xml"), "{head}");
    (status, payload.to_string())
}

async fn stats(emu: &RunningEmulator) -> Value {
    let mut s = TcpStream::connect(emu.addr()).await.unwrap();
    s.write_all(b"GET /_emulator/stats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut buf = vec![];
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap()
}

#[tokio::test]
async fn an_assumed_role_with_a_source_identity_is_who_created_and_changed_an_execution() {
    let (emu, plain) = emulator(1.0, None).await;
    let url = emu.endpoint_url();
    let sts = sts_for(&url);
    let out = sts
        .assume_role()
        .role_arn(RUNNER)
        .role_session_name("alice-session")
        .source_identity("alice@example.com")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let alice = out.credentials().unwrap().clone();
    let key = alice.access_key_id();
    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    assert!(key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{key}");
    assert!(!alice.secret_access_key().is_empty() && alice.session_token().len() >= 100);
    let lifetime = alice.expiration().as_secs_f64() - wall_clock();
    assert!((895.0..=901.0).contains(&lifetime), "expires in {lifetime} s");
    let user = out.assumed_role_user().unwrap();
    let session_arn = "arn:aws:sts::123456789012:assumed-role/PipelineRunner/alice-session";
    assert_eq!(user.arn(), session_arn, "the role's path is not part of the session's ARN");
    let role_session_id = user.assumed_role_id().to_string();
    assert!(role_session_id.starts_with("AROA") && role_session_id.ends_with(":alice-session"), "{role_session_id}");
    assert_eq!(out.source_identity(), Some("alice@example.com"));

    // Who signed: the session for the issued credentials, the IAM user for a plain key.
    let me = sts_with(&url, temporary(&alice)).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(session_arn));
    assert_eq!(me.user_id(), Some(role_session_id.as_str()));
    assert_eq!(me.account(), Some("123456789012"));
    let plain_me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(plain_me.arn(), Some("arn:aws:iam::123456789012:user/AKIDSTEPLINETEST"));
    assert_eq!(plain_me.user_id(), Some("AKIDSTEPLINETEST"));

    // Alice creates a pipeline and starts an execution with her credentials.
    let sm = sagemaker_with(&url, &alice);
    create(&sm, "AbalonePipeline", ABALONE).await;
    let arn = start_execution(&sm, "AbalonePipeline", &[]).await;
    let d = plain.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    for who in [d.created_by().unwrap(), d.last_modified_by().unwrap()] {
        let id = who.iam_identity().unwrap();
        assert_eq!(id.arn(), Some(session_arn));
        assert_eq!(id.principal_id(), Some(role_session_id.as_str()));
        assert_eq!(id.source_identity(), Some("alice@example.com"));
    }
    let p = plain.describe_pipeline().pipeline_name("AbalonePipeline").send().await.unwrap();
    assert_eq!(p.created_by().unwrap().iam_identity().unwrap().source_identity(), Some("alice@example.com"));

    // Bob stops it: he is the last to have changed it, Alice still the one who started it.
    let bob = assume(&sts, RUNNER, "bob-session", Some("bob")).await;
    sagemaker_with(&url, &bob).stop_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let d = plain.describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.created_by().unwrap().iam_identity().unwrap().source_identity(), Some("alice@example.com"));
    let last = d.last_modified_by().unwrap().iam_identity().unwrap();
    assert_eq!(last.arn(), Some("arn:aws:sts::123456789012:assumed-role/PipelineRunner/bob-session"));
    assert_eq!(last.source_identity(), Some("bob"));

    // Without a SourceIdentity the session is named without one; a plain key names an IAM user, as before.
    let carol = assume(&sts, RUNNER, "carol", None).await;
    let arn2 = start_execution(&sagemaker_with(&url, &carol), "AbalonePipeline", &[]).await;
    let d = plain.describe_pipeline_execution().pipeline_execution_arn(&arn2).send().await.unwrap();
    let id = d.created_by().unwrap().iam_identity().unwrap();
    assert_eq!(id.arn(), Some("arn:aws:sts::123456789012:assumed-role/PipelineRunner/carol"));
    assert_eq!(id.source_identity(), None);
    plain.stop_pipeline_execution().pipeline_execution_arn(&arn2).send().await.unwrap();
    let d = plain.describe_pipeline_execution().pipeline_execution_arn(&arn2).send().await.unwrap();
    let last = d.last_modified_by().unwrap().iam_identity().unwrap();
    assert_eq!(last.arn(), Some("arn:aws:iam::123456789012:user/AKIDSTEPLINETEST"));
    assert_eq!(last.principal_id(), Some("AKIDSTEPLINETEST"));
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_a_validation_error_naming_the_member() {
    let (emu, _) = emulator(60.0, None).await;
    let sts = sts_for(&emu.endpoint_url());
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Option<i32>, &'a str);
    let long = "x".repeat(65);
    let cases: Vec<Case> = vec![
        ("arn:aws:iam::123456789012:user/bob", "alice", None, None, "at 'roleArn' failed to satisfy constraint"),
        ("arn:aws:iam::12345:role/R", "alice", None, None, "Value 'arn:aws:iam::12345:role/R' at 'roleArn'"),
        ("short", "alice", None, None, "at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"),
        (RUNNER, "a", None, None, "Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        (RUNNER, "alice smith", None, None, "Value 'alice smith' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
        (RUNNER, "alice", Some("alice smith"), None, "Value 'alice smith' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern"),
        (RUNNER, "alice", Some(&long), None, "at 'sourceIdentity' failed to satisfy constraint: Member must have length less than or equal to 64"),
        (RUNNER, "alice", None, Some(60), "Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"),
        (RUNNER, "alice", None, Some(43_201), "at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"),
    ];
    for (role, session, source, duration, expected) in cases {
        let e = sts
            .assume_role()
            .role_arn(role)
            .role_session_name(session)
            .set_source_identity(source.map(String::from))
            .set_duration_seconds(duration)
            .send()
            .await
            .expect_err(expected)
            .into_service_error();
        assert_eq!(e.code(), Some("ValidationError"), "{e:?}");
        let message = e.message().unwrap_or_default();
        assert!(message.starts_with("1 validation error detected: "), "{message}");
        assert!(message.contains(expected), "{message}");
    }

    // What the SDK never sends, answered in STS's XML all the same.
    let (status, body) = form(&emu, "Action=DeleteEverything&Version=2011-06-15", true).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Code>InvalidAction</Code>") && body.contains("DeleteEverything"), "{body}");
    let (status, body) = form(&emu, "Action=AssumeRole&Version=1999-01-01", true).await;
    assert!(status == 400 && body.contains("<Code>InvalidAction</Code>"), "{body}");
    let (status, body) = form(&emu, "Version=2011-06-15", true).await;
    assert!(status == 400 && body.contains("<Code>MissingAction</Code>"), "{body}");
    let (status, body) = form(&emu, "Action=GetCallerIdentity&Version=2011-06-15&X=%ZZ", true).await;
    assert!(status == 400 && body.contains("<Code>MalformedQueryString</Code>"), "{body}");
    let (status, body) = form(&emu, "Action=GetCallerIdentity&Version=2011-06-15", false).await;
    assert!(status == 403 && body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");
    // A hostile value is escaped in the message, never markup.
    let hostile = "Action=AssumeRole&Version=2011-06-15&RoleSessionName=alice&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2F%3C%2FMessage%3E%3Cx%3E%00";
    let (status, body) = form(&emu, hostile, true).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Type>Sender</Type><Code>ValidationError</Code>"), "{body}");
    assert!(body.contains("role/&lt;/Message&gt;&lt;x&gt;") && !body.contains("<x>"), "{body}");
    assert!(!body.contains('\u{0}'), "{body}");
    emu.shutdown().await;
}

#[tokio::test]
async fn role_chaining_keeps_the_source_identity_and_lasts_an_hour_at_most() {
    let (emu, _) = emulator(60.0, None).await;
    let url = emu.endpoint_url();
    let alice = assume(&sts_for(&url), RUNNER, "alice", Some("alice@example.com")).await;
    let as_alice = sts_with(&url, temporary(&alice));

    // Chained without a SourceIdentity, or with the same one: the session keeps Alice's.
    for asked in [None, Some("alice@example.com")] {
        let out = as_alice
            .assume_role()
            .role_arn(AUDITOR)
            .role_session_name("audit")
            .set_source_identity(asked.map(String::from))
            .send()
            .await
            .unwrap();
        assert_eq!(out.source_identity(), Some("alice@example.com"));
        assert_eq!(out.assumed_role_user().unwrap().arn(), "arn:aws:sts::210987654321:assumed-role/Auditor/audit");
        let chained = sts_with(&url, temporary(out.credentials().unwrap()));
        let me = chained.get_caller_identity().send().await.unwrap();
        assert_eq!(me.account(), Some("210987654321"), "the role's account");
    }
    // Another one is refused.
    let e = as_alice
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("audit")
        .source_identity("mallory")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("AccessDenied"), "{e:?}");
    assert!(e.message().unwrap().contains("alice@example.com"), "{e:?}");
    // A chained session lasts an hour at most.
    let e = as_alice
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("audit")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("ValidationError"), "{e:?}");
    assert!(e.message().unwrap().contains("1 hour session limit"), "{e:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn expired_or_mismatched_credentials_are_refused() {
    let (emu, plain) = emulator(60.0, None).await;
    let url = emu.endpoint_url();
    let sts = sts_for(&url);
    let out = sts
        .assume_role()
        .role_arn(RUNNER)
        .role_session_name("alice")
        .source_identity("alice")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let alice = out.credentials().unwrap().clone();
    let sm = sagemaker_with(&url, &alice);
    sm.list_pipelines().send().await.unwrap();

    // The key with another session token is not the credentials issued.
    let forged = Credentials::new(alice.access_key_id(), "secret", Some("forged".into()), None, "test");
    let e = aws_sdk_sagemaker::Client::from_conf(
        client_for(&url).config().to_builder().credentials_provider(forged).build(),
    )
    .list_pipelines()
    .send()
    .await
    .unwrap_err()
    .into_service_error();
    assert_eq!(code(&e).0, "UnrecognizedClientException");

    // The service's clock moves past the expiry: SageMaker and STS refuse the credentials.
    emu.core().set_clock(Some(wall_clock() + 901.0), 1.0);
    let e = sm.list_pipelines().send().await.unwrap_err().into_service_error();
    assert_eq!(
        code(&e),
        ("ExpiredTokenException".into(), "The security token included in the request is expired".into())
    );
    let e = sm.describe_pipeline().pipeline_name("Anything").send().await.unwrap_err().into_service_error();
    assert_eq!(code(&e).0, "ExpiredTokenException", "refused before the request is looked at");
    let e = sts_with(&url, temporary(&alice)).get_caller_identity().send().await.unwrap_err().into_service_error();
    assert_eq!(e.code(), Some("ExpiredToken"), "{e:?}");
    // A plain key is not affected.
    plain.list_pipelines().send().await.unwrap();
    sts.get_caller_identity().send().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test]
async fn sts_calls_are_counted_and_held_to_their_quota() {
    let config = EmulatorConfig {
        quotas: Some([("AssumeRole".to_string(), Quota { rate: 0.01, burst: 1.0 })].into()),
        ..EmulatorConfig::default()
    };
    let emu = start(config).await.unwrap();
    let sts = sts_for(&emu.endpoint_url());
    assume(&sts, RUNNER, "first", None).await;
    let e = sts.assume_role().role_arn(RUNNER).role_session_name("second").send().await.unwrap_err();
    let e = e.into_service_error();
    assert_eq!((e.code(), e.message()), (Some("Throttling"), Some("Rate exceeded")));
    sts.get_caller_identity().send().await.unwrap();
    sts.assume_role().role_arn("bad").role_session_name("x").send().await.unwrap_err();
    let s = stats(&emu).await;
    assert_eq!(s["operations"]["AssumeRole"], json!({"calls": 3, "throttled": 2, "errors": 0}), "{s}");
    assert_eq!(s["operations"]["GetCallerIdentity"], json!({"calls": 1, "throttled": 0, "errors": 0}), "{s}");
    emu.shutdown().await;
}

#[tokio::test]
async fn who_created_an_execution_and_the_issued_credentials_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        || EmulatorConfig { data_dir: Some(dir.path().to_path_buf()), speed: 20_000.0, ..EmulatorConfig::default() };
    let emu = start(config()).await.unwrap();
    let url = emu.endpoint_url();
    let alice = assume(&sts_for(&url), RUNNER, "alice", Some("alice@example.com")).await;
    let sm = sagemaker_with(&url, &alice);
    create(&sm, "AbalonePipeline", ABALONE).await;
    let arn = start_execution(&sm, "AbalonePipeline", &[]).await;
    assert_eq!(wait_for(&sm, &arn, terminal).await, PipelineExecutionStatus::Succeeded);
    emu.shutdown().await;

    let emu = start(config()).await.unwrap();
    let url = emu.endpoint_url();
    let d = client_for(&url).describe_pipeline_execution().pipeline_execution_arn(&arn).send().await.unwrap();
    let id = d.created_by().unwrap().iam_identity().unwrap();
    assert_eq!(id.arn(), Some("arn:aws:sts::123456789012:assumed-role/PipelineRunner/alice"));
    assert_eq!(id.source_identity(), Some("alice@example.com"));
    // Alice's credentials still name her.
    let me = sts_with(&url, temporary(&alice)).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:sts::123456789012:assumed-role/PipelineRunner/alice"));
    emu.shutdown().await;
}

/// A value for a fuzzed form: mostly meaningful, often hostile.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("AssumeRole".to_string()),
        Just("GetCallerIdentity".to_string()),
        Just("2011-06-15".to_string()),
        Just(RUNNER.to_string()),
        Just("900".to_string()),
        "[a-z@.]{0,70}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever a form holds, STS answers an XML document or an STS error whose XML carries only characters
    /// XML can, and never panics.
    #[test]
    fn any_form_gets_a_well_formed_answer(
        pairs in prop::collection::vec(
            (prop::sample::select(vec!["Action", "Version", "RoleArn", "RoleSessionName", "SourceIdentity", "DurationSeconds", "Policy", "Tags.member.1.Key"]), value()),
            0..8,
        ),
        signed in any::<bool>(),
    ) {
        let core = build_core(&EmulatorConfig::default()).unwrap();
        let mut params = Params::new();
        for (k, v) in pairs {
            params.entry(k.to_string()).or_insert(v);
        }
        let caller = Caller { access_key: signed.then(|| "AKIDFUZZ".to_string()), ..Caller::default() };
        let xml = match sts::call(&core, &params, &caller, "rid") {
            Ok(xml) => {
                prop_assert!(xml.starts_with("<AssumeRoleResponse ") || xml.starts_with("<GetCallerIdentityResponse "), "{xml}");
                xml
            }
            Err(e) => {
                prop_assert!(!e.code.is_empty() && !e.message.is_empty());
                prop_assert!(e.message.chars().count() < 3000, "a message bounded whatever the input: {}", e.message);
                error_response(&e, sts::NAMESPACE, "rid")
            }
        };
        let bad = xml.chars().find(|c| (*c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'));
        prop_assert!(bad.is_none(), "{xml:?}");
    }
}
