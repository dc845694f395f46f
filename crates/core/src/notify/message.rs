//! What a message says, shaped for each kind of channel, and the webhook's signature. Pure: the sender
//! posts what these return.
//!
//! The generic webhook's body (README, "Notifications"):
//!
//! ```json
//! {"delivery_id": "…", "event": "failed", "title": "Abalone · nightly failed", "pipeline": "Abalone",
//!  "execution": {"arn": "…", "id": "…", "display_name": "nightly", "status": "Failed", "url": "https://…",
//!                "started_by": "ana", "started": "2026-12-07T10:00:00Z"},
//!  "reason": "…", "step": null, "attempt": null, "running_minutes": null, "usual_minutes": null,
//!  "failed_steps": [{"name": "Train", "reason": "…", "log_tail": ["…"]}], "at": "2026-12-07T10:05:00Z"}
//! ```
//!
//! Signed like Stripe's and Slack's: `X-Stepline-Signature: t=UNIX_SECONDS,v1=HEX` where HEX is
//! HMAC-SHA256, keyed with the channel's secret, of `UNIX_SECONDS.BODY`. A receiver recomputes it, compares in
//! constant time and refuses a `t` more than five minutes old (a replay). `X-Stepline-Delivery` carries the
//! delivery id: a message can arrive twice (at least once), never with two ids.

use serde_json::{json, Value};
use stepline_types::notify::{Event, EventKind};

/// Where an event's links point: the execution's page, the approval of the step it waits at, and the
/// inbox, where a waiting step is answered with everything else that waits (the message's main link).
#[derive(Clone, Debug)]
pub struct Links {
    pub execution: String,
    pub approval: Option<String>,
    pub inbox: Option<String>,
}

impl Links {
    /// `origin` is `https://stepline.example.com` (no path); `base` the place's page base (`/stepline`,
    /// `/stepline/1234/eu-west-1` or empty).
    pub fn of(event: &Event, origin: &str, base: &str) -> Links {
        let seg = stepline_types::model::links::seg;
        if event.kind == EventKind::Test {
            return Links { execution: format!("{origin}{base}/notifications"), approval: None, inbox: None };
        }
        let execution =
            format!("{origin}{base}/pipelines/{}/executions/{}", seg(&event.pipeline), seg(&event.execution_id));
        let approval = match (event.kind, &event.step) {
            (EventKind::Waiting, Some(step)) => Some(format!("{execution}?step={}", seg(step))),
            _ => None,
        };
        let inbox = approval.is_some().then(|| format!("{origin}{base}/inbox"));
        Links { execution, approval, inbox }
    }

    fn main(&self) -> &str {
        self.inbox.as_deref().unwrap_or(&self.execution)
    }

    /// The main link's button.
    fn button(&self) -> &'static str {
        if self.inbox.is_some() {
            "Open your inbox"
        } else {
            "Open the execution"
        }
    }
}

/// How many lines of a failed job's log a message carries.
pub const LOG_LINES: usize = 10;

/// The lines a message says, as plain text (e-mail's text part, Teams' and Slack's fallbacks).
pub fn text(event: &Event, links: &Links) -> String {
    let mut out = vec![event.title()];
    out.push(format!("Status: {}", event.status));
    if let Some(who) = &event.started_by {
        out.push(format!("Started by: {who}"));
    }
    if let Some(reason) = &event.reason {
        out.push(format!("Reason: {reason}"));
    }
    for s in &event.failed_steps {
        out.push(format!("Step {} failed: {}", s.name, s.reason.as_deref().unwrap_or("no reason given")));
        for line in s.log_tail.iter().rev().take(LOG_LINES).rev() {
            out.push(format!("    {line}"));
        }
    }
    if links.inbox.is_some() {
        out.push(format!("Execution: {}", links.execution));
    }
    out.push(links.main().to_string());
    out.join("\n")
}

/// An e-mail's subject, and its HTML part (the text part is [`text`]).
pub fn email_html(event: &Event, links: &Links) -> String {
    let e = stepline_types::text::escape_html;
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif\"><h2><a href=\"{}\">{}</a></h2><table>",
        e(links.main()),
        e(&event.title())
    );
    let mut row = |k: &str, v: &str| html.push_str(&format!("<tr><th align=\"left\">{k}</th><td>{}</td></tr>", e(v)));
    row("Pipeline", &event.pipeline);
    row("Execution", event.execution_label());
    row("Status", &event.status);
    if let Some(who) = &event.started_by {
        row("Started by", who);
    }
    if let Some(reason) = &event.reason {
        row("Reason", reason);
    }
    html.push_str("</table>");
    for s in &event.failed_steps {
        html.push_str(&format!(
            "<h3>Step {} failed</h3><p>{}</p>",
            e(&s.name),
            e(s.reason.as_deref().unwrap_or("no reason given"))
        ));
        if !s.log_tail.is_empty() {
            let tail: Vec<&str> = s.log_tail.iter().rev().take(LOG_LINES).rev().map(String::as_str).collect();
            html.push_str(&format!("<pre>{}</pre>", e(&tail.join("\n"))));
        }
    }
    let button = links.button();
    html.push_str(&format!("<p><a href=\"{}\">{button}</a></p></body></html>", e(links.main())));
    html
}

/// Slack's Block Kit message (an incoming webhook's body).
pub fn slack(event: &Event, links: &Links) -> Value {
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!("*<{}|{}>*", links.main(), escape_slack(&event.title()))},
    })];
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Pipeline*\n{}", escape_slack(&event.pipeline))}),
        json!({"type": "mrkdwn", "text": format!("*Status*\n{}", escape_slack(&event.status))}),
    ];
    if let Some(who) = &event.started_by {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Started by*\n{}", escape_slack(who))}));
    }
    blocks.push(json!({"type": "section", "fields": fields}));
    if let Some(reason) = &event.reason {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Reason*: {}", escape_slack(reason))}}));
    }
    for s in &event.failed_steps {
        let mut text = format!(
            "*Step {} failed*: {}",
            escape_slack(&s.name),
            escape_slack(s.reason.as_deref().unwrap_or("no reason given"))
        );
        if !s.log_tail.is_empty() {
            let tail: Vec<&str> = s.log_tail.iter().rev().take(LOG_LINES).rev().map(String::as_str).collect();
            text.push_str(&format!("\n```{}```", escape_slack(&tail.join("\n")).replace("```", "'''")));
        }
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, 2900)}}));
    }
    let button = links.button();
    blocks.push(json!({
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": button}, "url": links.main()}],
    }));
    json!({"text": event.title(), "blocks": blocks})
}

/// A Teams Workflows webhook's body: a message with one Adaptive Card.
pub fn teams(event: &Event, links: &Links) -> Value {
    let mut facts =
        vec![json!({"title": "Pipeline", "value": event.pipeline}), json!({"title": "Status", "value": event.status})];
    if let Some(who) = &event.started_by {
        facts.push(json!({"title": "Started by", "value": who}));
    }
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": event.title()}),
        json!({"type": "FactSet", "facts": facts}),
    ];
    if let Some(reason) = &event.reason {
        body.push(json!({"type": "TextBlock", "wrap": true, "text": format!("Reason: {reason}")}));
    }
    for s in &event.failed_steps {
        body.push(json!({
            "type": "TextBlock", "wrap": true, "weight": "Bolder",
            "text": format!("Step {} failed: {}", s.name, s.reason.as_deref().unwrap_or("no reason given")),
        }));
        if !s.log_tail.is_empty() {
            let tail: Vec<&str> = s.log_tail.iter().rev().take(LOG_LINES).rev().map(String::as_str).collect();
            body.push(json!({"type": "TextBlock", "wrap": true, "fontType": "Monospace", "text": tail.join("\n")}));
        }
    }
    let title = links.button();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": [{"type": "Action.OpenUrl", "title": title, "url": links.main()}],
            },
        }],
    })
}

/// The generic webhook's body (see the module's comment).
pub fn webhook(event: &Event, links: &Links, delivery_id: &str) -> Value {
    json!({
        "delivery_id": delivery_id,
        "event": event.kind,
        "title": event.title(),
        "pipeline": event.pipeline,
        "execution": {
            "arn": event.execution_arn,
            "id": event.execution_id,
            "display_name": event.display_name,
            "status": event.status,
            "url": links.execution,
            "started_by": event.started_by,
            "started": event.started,
        },
        "approval_url": links.approval,
        "inbox_url": links.inbox,
        "reason": event.reason,
        "step": event.step,
        "attempt": event.attempt,
        "running_minutes": event.running_minutes,
        "usual_minutes": event.usual_minutes,
        "failed_steps": event.failed_steps,
        "at": event.at,
    })
}

/// `t=…,v1=…` for a body sent at `unix_seconds` (see the module's comment).
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    format!("t={unix_seconds},v1={}", hmac_hex(secret, &[format!("{unix_seconds}.").as_bytes(), body]))
}

/// HMAC-SHA256 of the parts, one after the other, as lower-case hex.
fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    ctx.sign().as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Slack's three control characters, escaped as its docs ask.
pub(super) fn escape_slack(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Slack refuses a section's text over 3,000 characters.
pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use stepline_types::notify::FailedStep;

    fn failed() -> Event {
        Event {
            kind: EventKind::Failed,
            pipeline: "Abalone".into(),
            execution_arn: "arn:aws:sagemaker:us-east-1:1:pipeline/abalone/execution/ab12".into(),
            execution_id: "ab12".into(),
            display_name: Some("nightly <3>".into()),
            status: "Failed".into(),
            reason: Some("Step failure: One or multiple steps failed.".into()),
            step: None,
            attempt: None,
            failed_steps: vec![FailedStep {
                name: "Train".into(),
                reason: Some("ClientError: disk full".into()),
                log_tail: (1..=12).map(|i| format!("line {i}")).collect(),
            }],
            started_by: Some("ana".into()),
            started: None,
            running_minutes: None,
            usual_minutes: None,
            change: 2,
            at: Utc::now(),
        }
    }

    #[test]
    fn every_shape_names_the_pipeline_the_step_its_reason_and_links_the_execution() {
        let e = failed();
        let links = Links::of(&e, "https://stepline.example.com", "/stepline");
        assert_eq!(links.execution, "https://stepline.example.com/stepline/pipelines/Abalone/executions/ab12");
        let slack = slack(&e, &links).to_string();
        let teams = teams(&e, &links).to_string();
        let text = text(&e, &links);
        for body in [&slack, &teams, &text] {
            for needle in ["Abalone", "Train", "disk full", "ana", &links.execution] {
                assert!(body.contains(needle), "{needle} missing from {body}");
            }
        }
        assert!(slack.contains("nightly &lt;3&gt;"), "Slack's control characters escaped");
        assert!(
            text.contains("line 12") && text.contains("line 3") && !text.contains("line 2\n"),
            "the last ten lines"
        );
        let hook = webhook(&e, &links, "d-1");
        assert_eq!(hook["event"], "failed");
        assert_eq!(hook["execution"]["url"], links.execution.as_str());
        assert_eq!(hook["failed_steps"][0]["reason"], "ClientError: disk full");
    }

    #[test]
    fn a_waiting_step_links_to_its_approval() {
        let mut e = failed();
        e.kind = EventKind::Waiting;
        e.step = Some("Approve Model".into());
        e.failed_steps.clear();
        let links = Links::of(&e, "http://127.0.0.1:3000", "");
        assert_eq!(
            links.approval.as_deref(),
            Some("http://127.0.0.1:3000/pipelines/Abalone/executions/ab12?step=Approve%20Model")
        );
        assert_eq!(links.inbox.as_deref(), Some("http://127.0.0.1:3000/inbox"));
        let s = slack(&e, &links).to_string();
        assert!(s.contains("Open your inbox") && s.contains("/inbox\""), "{s}");
        assert!(text(&e, &links).contains("http://127.0.0.1:3000/inbox"));
        assert_eq!(webhook(&e, &links, "d-1")["inbox_url"], "http://127.0.0.1:3000/inbox");
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_and_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            hmac_hex("Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sig = signature("Jefe", 1_796_650_000, b"{}");
        assert_eq!(sig, format!("t=1796650000,v1={}", hmac_hex("Jefe", &[b"1796650000.{}"])));
        assert_ne!(signature("other", 1, b"x"), signature("Jefe", 1, b"x"));
        assert_ne!(signature("Jefe", 2, b"x"), signature("Jefe", 1, b"x"), "the time is signed too");
    }
}
