//! A digest: the messages a rule with `digest-minutes` sends a channel, gathered and sent as one every N
//! minutes, in each channel's shape. Each item keeps its delivery id (a receiver deduplicates by them).

use serde_json::{json, Value};
use stepline_types::notify::Event;

use super::message::{self, Links};

/// One message of a digest.
pub struct Item<'a> {
    pub event: &'a Event,
    pub links: Links,
    pub delivery_id: &'a str,
}

/// The most items a chat message lists one by one (Slack allows 50 blocks); the rest are counted.
const LISTED: usize = 40;

pub fn title(items: &[Item]) -> String {
    match items.len() {
        1 => items[0].event.title(),
        n => format!("Stepline: {n} notifications"),
    }
}

/// One line of an item: its title, and the first failed step's reason when there is one.
fn line(event: &Event) -> String {
    match event.failed_steps.first() {
        Some(s) => format!("{} ({}: {})", event.title(), s.name, s.reason.as_deref().unwrap_or("no reason given")),
        None => event.title(),
    }
}

fn more(items: &[Item]) -> Option<String> {
    (items.len() > LISTED).then(|| format!("… and {} more on the Notifications page", items.len() - LISTED))
}

pub fn slack(items: &[Item]) -> Value {
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": title(items)}})];
    for i in items.iter().take(LISTED) {
        let text = format!("• <{}|{}>", i.links.execution, message::escape_slack(&line(i.event)));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": message::clip(&text, 2900)}}));
    }
    if let Some(m) = more(items) {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": m}]}));
    }
    json!({"text": title(items), "blocks": blocks})
}

pub fn teams(items: &[Item]) -> Value {
    let mut body =
        vec![json!({"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": title(items)})];
    for i in items.iter().take(LISTED) {
        body.push(
            json!({"type": "TextBlock", "wrap": true, "text": format!("[{}]({})", line(i.event), i.links.execution)}),
        );
    }
    if let Some(m) = more(items) {
        body.push(json!({"type": "TextBlock", "wrap": true, "isSubtle": true, "text": m}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": body},
        }],
    })
}

/// The webhook's digest: every item's own body, with its delivery id.
pub fn webhook(items: &[Item], digest_id: &str) -> Value {
    let events: Vec<Value> = items.iter().map(|i| message::webhook(i.event, &i.links, i.delivery_id)).collect();
    json!({"digest_id": digest_id, "title": title(items), "events": events})
}

pub fn text(items: &[Item]) -> String {
    let parts: Vec<String> = items.iter().map(|i| message::text(i.event, &i.links)).collect();
    format!("{}\n\n{}", title(items), parts.join("\n\n----\n\n"))
}

pub fn html(items: &[Item]) -> String {
    let e = stepline_types::text::escape_html;
    let mut html =
        format!("<!doctype html><html><body style=\"font-family: sans-serif\"><h2>{}</h2><ul>", e(&title(items)));
    for i in items {
        html.push_str(&format!("<li><a href=\"{}\">{}</a></li>", e(&i.links.execution), e(&line(i.event))));
    }
    html.push_str("</ul></body></html>");
    html
}
