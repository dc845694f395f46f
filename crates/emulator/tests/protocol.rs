//! The wire protocol with hand-written HTTP requests: what an SDK would never send, the emulator still
//! answers with the contract's JSON errors, never a panic, a hang or an HTML page.

mod common;

use serde_json::Value;
use stepline_emulator::{shapes::model, start, EmulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

async fn raw(addr: std::net::SocketAddr, target: Option<&str>, body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("POST / HTTP/1.1\r\nHost: sagemaker.us-east-1.amazonaws.com\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    if let Some(t) = target {
        req.push_str(&format!("X-Amz-Target: {t}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = vec![];
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let body = serde_json::from_str(payload).unwrap_or(Value::String(payload.to_string()));
    Reply { status, headers, body }
}

fn assert_error(r: &Reply, code: &str) {
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert_eq!(r.header("x-amzn-errortype"), Some(code), "{:?}", r.body);
    assert_eq!(r.body["__type"], code);
    assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert!(r.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let emu = start(EmulatorConfig::default()).await.unwrap();
    let a = emu.addr();
    assert_error(&raw(a, Some("SageMaker.ListPipelines"), b"{not json").await, "SerializationException");
    assert_error(&raw(a, Some("SageMaker.ListPipelines"), b"[1,2,3]").await, "SerializationException");
    assert_error(&raw(a, Some("SageMaker.ListPipelines"), b"\"text\"").await, "SerializationException");
    assert_error(&raw(a, None, b"{}").await, "UnknownOperationException");
    assert_error(&raw(a, Some("SageMaker.DeleteEverything"), b"{}").await, "UnknownOperationException");
    assert_error(&raw(a, Some("Other.ListPipelines"), b"{}").await, "UnknownOperationException");
    // CloudWatch Logs on the same endpoint answers in its own terms.
    assert_error(&raw(a, Some("Logs_20140328.PutLogEvents"), b"{}").await, "UnknownOperationException");
    let r = raw(a, Some("Logs_20140328.GetLogEvents"), b"{}").await;
    assert_error(&r, "InvalidParameterException");
    assert!(r.body["message"].as_str().unwrap().contains("Value null at 'logStreamName' failed to satisfy constraint"));
    assert_error(&raw(a, Some("Logs_20140328.GetLogEvents"), br#"{"limit": "ten"}"#).await, "SerializationException");
    let r =
        raw(a, Some("Logs_20140328.DescribeLogStreams"), br#"{"logGroupName": "/aws/sagemaker/TrainingJobs"}"#).await;
    assert_error(&r, "ResourceNotFoundException");
    assert_error(
        &raw(a, Some("SageMaker.DescribePipeline"), br#"{"PipelineName": {"nested": true}}"#).await,
        "SerializationException",
    );
    assert_error(&raw(a, Some("SageMaker.ListPipelines"), br#"{"MaxResults": "ten"}"#).await, "SerializationException");
    assert_error(&raw(a, Some("SageMaker.ListPipelines"), &[0xff, 0xfe, 0x00]).await, "SerializationException");
    let huge = format!(r#"{{"PipelineName": "{}"}}"#, "a".repeat(9 * 1024 * 1024));
    assert_error(&raw(a, Some("SageMaker.DescribePipeline"), huge.as_bytes()).await, "SerializationException");
    // An empty body is an empty input, as the SDKs send `{}`.
    let r = raw(a, Some("SageMaker.ListPipelines"), b"").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["PipelineSummaries"], Value::Array(vec![]));
    assert!(r.body.get("NextToken").is_none(), "absent members are omitted, not null");
    emu.shutdown().await;
}

#[tokio::test]
async fn hostile_strings_are_refused_by_name_and_never_echoed_whole() {
    let emu = start(EmulatorConfig::default()).await.unwrap();
    let a = emu.addr();
    let hostile = r#"{"PipelineName": "<script>alert(1)</script>\"'; DROP TABLE pipelines; --"}"#;
    let r = raw(a, Some("SageMaker.DescribePipeline"), hostile.as_bytes()).await;
    assert_error(&r, "ValidationException");
    assert!(r.body["message"].as_str().unwrap().contains("at 'pipelineName' failed to satisfy constraint"));
    let r = raw(a, Some("SageMaker.SendPipelineExecutionStepSuccess"), br#"{"CallbackToken": "short"}"#).await;
    assert_error(&r, "ValidationException");
    assert!(r.body["message"].as_str().unwrap().contains("Member must have length greater than or equal to 10"));
    emu.shutdown().await;
}

#[tokio::test]
async fn every_answer_conforms_to_the_output_shape() {
    let (emu, client) = common::emulator(20_000.0, None).await;
    common::create(&client, "AbalonePipeline", common::ABALONE).await;
    let arn = common::start_execution(&client, "AbalonePipeline", &[]).await;
    common::wait_for(&client, &arn, common::terminal).await;
    let a = emu.addr();
    let calls: Vec<(&str, String)> = vec![
        ("ListPipelines", "{}".into()),
        ("DescribePipeline", r#"{"PipelineName": "AbalonePipeline"}"#.into()),
        ("ListPipelineExecutions", r#"{"PipelineName": "AbalonePipeline"}"#.into()),
        ("DescribePipelineExecution", format!(r#"{{"PipelineExecutionArn": "{arn}"}}"#)),
        ("ListPipelineExecutionSteps", format!(r#"{{"PipelineExecutionArn": "{arn}"}}"#)),
        ("ListPipelineParametersForExecution", format!(r#"{{"PipelineExecutionArn": "{arn}"}}"#)),
        ("DescribePipelineDefinitionForExecution", format!(r#"{{"PipelineExecutionArn": "{arn}"}}"#)),
    ];
    for (op, body) in calls {
        let r = raw(a, Some(&format!("SageMaker.{op}")), body.as_bytes()).await;
        assert_eq!(r.status, 200, "{op}: {:?}", r.body);
        model().validate_output(op, &r.body).unwrap_or_else(|e| panic!("{op}: {e}"));
        assert!(!r.body.to_string().contains("null"), "{op} sent a null: {}", r.body);
    }
    emu.shutdown().await;
}
