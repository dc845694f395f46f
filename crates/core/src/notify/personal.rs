//! Personal subscriptions: who is told of what besides the team's rules, and how a new one is checked.
//!
//! What the settings allow (`[personal]`): e-mail through one of their e-mail channels' server, to the
//! person's *own* address only (their user name, when it is an address: the verified e-mail by default), so
//! nobody can subscribe someone else's inbox; and webhooks only under the URL prefixes listed, since a
//! webhook makes Stepline's server send requests where the person says (and a server inside a company's
//! network must not become anyone's way in). A subscription to a pipeline is told when the person may still
//! read it: the policy is asked at each event, with the groups they had when they subscribed.

use std::sync::Arc;

use stepline_types::notify::EventKind;
use stepline_types::subscriptions::PersonalTarget;

use super::settings::{Channel, ChannelKind, Secret, Settings, Target};
use crate::http_url::HttpUrl;
use crate::store::{Outgoing, Subscriber};

/// The longest webhook URL taken.
const URL_MAX: usize = 2000;

/// The person's own e-mail address: their user name when it is one.
pub fn email_of(user: &str) -> Option<String> {
    user.parse::<lettre::Address>().ok().map(|a| a.to_string())
}

/// Where a new subscription's messages go, checked: the address (for e-mail, the person's own) and a
/// webhook's signing secret (new).
pub fn check_target(
    settings: &Settings,
    user: &str,
    target: PersonalTarget,
    url: &str,
) -> Result<(String, Option<String>), String> {
    let personal = &settings.personal;
    if target == PersonalTarget::Email {
        if personal.mail_channel.is_none() {
            return Err("Personal e-mail is off here: the notification settings name no mail channel for it.".into());
        }
        let address = email_of(user).ok_or_else(|| {
            format!(
                "You are signed in as '{}', which is not an e-mail address: subscribe with a webhook instead.",
                stepline_types::text::clip(user, 60)
            )
        })?;
        return Ok((address, None));
    }
    if personal.webhook_prefixes.is_empty() {
        return Err("Personal webhooks are off here: the notification settings allow no webhook address.".into());
    }
    let url = url.trim();
    if url.is_empty() {
        return Err("Give the webhook's address.".into());
    }
    if url.len() > URL_MAX {
        return Err(format!("The webhook's address is longer than {URL_MAX} characters."));
    }
    HttpUrl::parse(url).map_err(|_| "The webhook's address is not an http:// or https:// URL.".to_string())?;
    if !personal.webhook_prefixes.iter().any(|p| url.starts_with(p.as_str())) {
        return Err(format!(
            "Webhooks may only go to addresses starting with {}.",
            personal.webhook_prefixes.join(" or ")
        ));
    }
    let secret = (target == PersonalTarget::Webhook).then(|| crate::store::random_token(24));
    Ok((url.to_string(), secret))
}

/// The channel a personal delivery is sent on, built from its subscription (e-mail through the settings'
/// mail channel, to the one address).
pub fn channel_for(settings: &Settings, s: &Subscriber) -> Result<Channel, String> {
    let name = label(s.target);
    let kind = match s.target {
        PersonalTarget::Email => ChannelKind::Email,
        PersonalTarget::Webhook => ChannelKind::Webhook,
        PersonalTarget::Slack => ChannelKind::Slack,
        PersonalTarget::Teams => ChannelKind::Teams,
    };
    let target = match s.target {
        PersonalTarget::Email => {
            let via = settings.personal.mail_channel.as_deref().and_then(|c| settings.channels.get(c));
            let Some(Channel { target: Target::Email(mail), .. }) = via else {
                return Err("personal e-mail is no longer on in the settings".into());
            };
            Target::Email(super::settings::Email { to: vec![s.address.clone()], ..mail.clone() })
        }
        _ => {
            // The prefixes are asked again: a prefix removed from the settings stops what it allowed.
            if !settings.personal.webhook_prefixes.iter().any(|p| s.address.starts_with(p.as_str())) {
                return Err("the settings no longer allow this webhook's address".into());
            }
            Target::Http { url: Secret::new(s.address.clone()), secret: s.secret.clone().map(Secret::new) }
        }
    };
    Ok(Channel { name, kind, target })
}

/// The delivery log's name for a personal delivery's channel (whose it is is a column of its own).
pub fn label(target: PersonalTarget) -> String {
    format!("personal {target}")
}

/// Who wants what in one place right now: the team's rules and the open personal subscriptions.
#[derive(Clone)]
pub struct Audience {
    pub settings: Arc<Settings>,
    pub subscribers: Vec<Subscriber>,
}

impl Audience {
    /// Whether the pipeline is watched at all.
    pub fn covers(&self, pipeline: &str) -> bool {
        self.settings.covers(pipeline) || self.subscribers.iter().any(|s| s.pipeline.eq_ignore_ascii_case(pipeline))
    }

    /// Whether anyone wants `kind` of this execution.
    pub fn wants(&self, kind: EventKind, pipeline: &str, arn: &str) -> bool {
        !self.settings.channels_for(kind, pipeline).is_empty()
            || self.subscribers.iter().any(|s| s.wants(kind, pipeline, arn))
    }

    /// Whether anyone wants one of `kinds` of any execution of the pipeline.
    pub fn wants_any(&self, kinds: &[EventKind], pipeline: &str) -> bool {
        self.settings.wants_any(kinds, pipeline)
            || self
                .subscribers
                .iter()
                .any(|s| s.pipeline.eq_ignore_ascii_case(pipeline) && kinds.iter().any(|k| s.events.contains(k)))
    }

    /// When the first open subscription to the pipeline was made.
    pub fn subscribed_since(&self, pipeline: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let first = self
            .subscribers
            .iter()
            .filter(|s| s.pipeline.eq_ignore_ascii_case(pipeline))
            .map(|s| s.created_ms)
            .min()?;
        chrono::DateTime::from_timestamp_millis(first)
    }

    /// The subscriptions that want this event, due at once (quiet hours and digests are the team rules').
    pub fn personal(&self, kind: EventKind, pipeline: &str, arn: &str) -> Vec<&Subscriber> {
        self.subscribers.iter().filter(|s| s.wants(kind, pipeline, arn)).collect()
    }
}

/// A personal delivery, due at `due_ms`.
pub fn outgoing(s: &Subscriber, due_ms: i64) -> Outgoing {
    Outgoing { channel: label(s.target), due_ms, digest: false, subscription: Some(s.id) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(personal: &str) -> Settings {
        let text = format!(
            "[channels.mail]\nkind = \"email\"\nsmtp-host = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"s@example.com\"\nto = [\"t@example.com\"]\n{personal}"
        );
        Settings::parse(&text, &|_| None).unwrap()
    }

    #[test]
    fn e_mail_goes_to_the_persons_own_address_only() {
        let s = settings("[personal]\nmail-channel = \"mail\"\n");
        let (address, secret) = check_target(&s, "ana@example.com", PersonalTarget::Email, "boss@example.com").unwrap();
        assert_eq!((address.as_str(), secret), ("ana@example.com", None), "what was typed is not used");
        let e = check_target(&s, "ana", PersonalTarget::Email, "").unwrap_err();
        assert!(e.contains("not an e-mail address"), "{e}");
        let off = check_target(&settings(""), "ana@example.com", PersonalTarget::Email, "").unwrap_err();
        assert!(off.contains("Personal e-mail is off"), "{off}");
    }

    #[test]
    fn a_webhook_must_start_with_an_allowed_prefix_and_gets_its_own_secret() {
        let s = settings("[personal]\nwebhook-prefixes = [\"https://hooks.example.com/\"]\n");
        let (url, secret) =
            check_target(&s, "ana", PersonalTarget::Webhook, " https://hooks.example.com/ana ").unwrap();
        assert_eq!(url, "https://hooks.example.com/ana");
        assert_eq!(secret.map(|s| s.len()), Some(48));
        let (_, none) = check_target(&s, "ana", PersonalTarget::Slack, "https://hooks.example.com/x").unwrap();
        assert_eq!(none, None, "Slack's messages are not signed");
        for (bad, says) in [
            ("https://hooks.example.com.evil.org/x", "may only go to"),
            ("http://169.254.169.254/latest", "may only go to"),
            ("javascript:alert(1)", "not an http"),
            ("", "Give the webhook"),
        ] {
            let e = check_target(&s, "ana", PersonalTarget::Webhook, bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(3000));
        assert!(check_target(&s, "ana", PersonalTarget::Webhook, &long).unwrap_err().contains("longer than"));
        let off = check_target(&settings(""), "ana", PersonalTarget::Webhook, "https://hooks.example.com/a");
        assert!(off.unwrap_err().contains("Personal webhooks are off"));
    }

    fn subscriber(execution_arn: Option<&str>, events: Vec<EventKind>) -> Subscriber {
        Subscriber {
            id: 7,
            owner: "ana".into(),
            groups: vec![],
            place: String::new(),
            pipeline: "Abalone".into(),
            execution_arn: execution_arn.map(String::from),
            execution_id: None,
            events,
            target: PersonalTarget::Webhook,
            address: "https://hooks.example.com/ana".into(),
            secret: Some("s".into()),
            created_ms: 0,
            ended_ms: None,
        }
    }

    #[test]
    fn the_audience_is_the_rules_and_the_subscriptions() {
        let a = Audience {
            settings: Arc::new(settings("[personal]\nwebhook-prefixes = [\"https://hooks.example.com/\"]\n")),
            subscribers: vec![subscriber(Some("arn:x/1"), vec![EventKind::Succeeded])],
        };
        assert!(a.covers("abalone") && !a.covers("Other"));
        assert!(a.wants(EventKind::Succeeded, "Abalone", "ARN:X/1"));
        assert!(!a.wants(EventKind::Succeeded, "Abalone", "arn:x/2"), "another execution");
        assert!(!a.wants(EventKind::Failed, "Abalone", "arn:x/1"), "another kind");
        assert!(!a.wants_any(&[EventKind::Waiting], "Abalone"));
        let o = outgoing(&a.subscribers[0], 5);
        assert_eq!((o.channel.as_str(), o.subscription, o.digest), ("personal webhook", Some(7), false));
        let c = channel_for(&a.settings, &a.subscribers[0]).unwrap();
        assert!(matches!(c.target, Target::Http { secret: Some(_), .. }));
        let narrowed = settings("[personal]\nwebhook-prefixes = [\"https://other.example.com/\"]\n");
        assert!(channel_for(&narrowed, &a.subscribers[0]).unwrap_err().contains("no longer allow"));
    }
}
