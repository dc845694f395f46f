//! The notification settings file (`--notify FILE`, TOML): where messages go (channels) and what goes where
//! (rules). Secrets — Slack's and Teams' webhook URLs, a webhook's signing secret — are read from environment
//! variables or files named here, never written in it, and never shown or logged.
//!
//! ```toml
//! poll-seconds = 60                   # how often executions are looked at (default 60)
//! poll-rate = 1.0                     # pipelines looked at a second, at most (default 1: a quarter of
//!                                     # ListPipelineExecutions' default rate, the rest for the pages)
//! safety-net-seconds = 900            # with --events-queue: how often polling still looks (default 900)
//!
//! [channels.team-slack]
//! kind = "slack"                      # slack, teams or webhook
//! url-env = "SLACK_WEBHOOK_URL"       # or url-file = "/run/secrets/slack-webhook"
//!
//! [channels.oncall]
//! kind = "email"
//! smtp-host = "smtp.example.com"      # STARTTLS on 587 by default; tls = "tls" for 465
//! smtp-user = "stepline"
//! smtp-password-env = "SMTP_PASSWORD" # or smtp-password-file = …
//! from = "Stepline <stepline@example.com>"
//! to = ["ml-oncall@example.com"]
//!
//! [channels.ci]
//! kind = "webhook"
//! url = "https://ci.example.com/stepline"   # a webhook's URL may be written here: it is no secret
//! secret-file = "/run/secrets/stepline-webhook"
//!
//! [[rules]]
//! events = ["failed", "recovered", "waiting"]
//! pipelines = ["Abalone*", "fraud-*"]   # default: every pipeline
//! channel = "team-slack"
//!
//! [[rules]]
//! events = ["long-running"]
//! long-running-minutes = 120          # and/or long-running-times = 3.0: three times the pipeline's
//! channel = "ci"                      # median of its last successful runs (once it has three)
//! quiet-hours = "22:00-07:00"         # held until they end, in `timezone` (IANA; default UTC)
//! timezone = "Europe/Berlin"
//! digest-minutes = 60                 # one message an hour with what this rule sent meanwhile
//!
//! [personal]                          # what people's own subscriptions may use (default: nothing)
//! mail-channel = "oncall"             # e-mail through this channel's server, to the person's own address
//! webhook-prefixes = ["https://hooks.slack.com/services/"]   # their webhooks must start with one of these
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use stepline_types::notify::EventKind;

use crate::access::policy::Glob;
use crate::http_url::HttpUrl;

/// How a channel's messages are shaped and sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, strum::Display, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum ChannelKind {
    /// An incoming webhook; a Block Kit message.
    Slack,
    /// A Workflows webhook; an Adaptive Card.
    Teams,
    /// Any HTTP endpoint; Stepline's JSON, signed (`X-Stepline-Signature`).
    Webhook,
    /// E-mail over SMTP; a plain-text and an HTML part.
    Email,
}

/// A value that must not be shown: its `Debug` says only that it is there.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Where messages go.
#[derive(Clone, Debug)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub target: Target,
}

/// How a channel is reached.
#[derive(Clone, Debug)]
pub enum Target {
    /// Slack, Teams, a webhook: a POST to `url`, signed with `secret` when there is one.
    Http {
        url: Secret,
        secret: Option<Secret>,
    },
    Email(Email),
}

/// An SMTP server and the message's envelope.
#[derive(Clone, Debug)]
pub struct Email {
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    /// A certificate authority to trust besides the usual ones (a company's own), PEM.
    pub ca_pem: Option<Vec<u8>>,
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailTls {
    /// Plain, then upgraded (`STARTTLS`, required): port 587.
    Starttls,
    /// TLS from the first byte: port 465.
    Tls,
    /// No encryption: only to a server on loopback (a local relay).
    None,
}

/// When a delivery may be sent, and whether it goes with the others of its digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    pub at: DateTime<Utc>,
    pub digest: bool,
}

/// The `[personal]` section: what people's own subscriptions may use (`super::personal` says why so little).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Personal {
    /// The e-mail channel whose server and sender personal e-mail goes through.
    pub mail_channel: Option<String>,
    /// A personal webhook's URL must start with one of these (each ends with `/`).
    pub webhook_prefixes: Vec<String>,
}

/// What goes where.
#[derive(Clone, Debug)]
pub struct Rule {
    pub events: Vec<EventKind>,
    /// No patterns: every pipeline.
    pub pipelines: Vec<Glob>,
    /// The patterns as written, for the page.
    pub patterns: Vec<String>,
    pub channel: String,
    pub long_running_minutes: Option<i64>,
    /// A multiple of the pipeline's median successful run.
    pub long_running_times: Option<f64>,
    /// What this rule sends during these hours waits until they end.
    pub quiet: Option<super::quiet::Quiet>,
    /// Gather what this rule sends into one message every so many minutes.
    pub digest_minutes: Option<i64>,
}

impl Rule {
    pub fn covers(&self, pipeline: &str) -> bool {
        self.pipelines.is_empty() || self.pipelines.iter().any(|g| g.matches(pipeline))
    }

    pub fn wants(&self, kind: EventKind, pipeline: &str) -> bool {
        self.events.contains(&kind) && self.covers(pipeline)
    }
}

/// The whole file, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    pub channels: BTreeMap<String, Channel>,
    pub rules: Vec<Rule>,
    pub poll_seconds: u64,
    /// Pipelines looked at a second, at most: the share of `ListPipelineExecutions` the poller takes.
    pub poll_rate: f64,
    /// The polling interval of a place whose events come from SQS (`--events-queue`): a safety net for an
    /// event lost on the way (a rule disabled, a queue purged).
    pub safety_net_seconds: u64,
    /// What personal subscriptions may use (`[personal]`).
    pub personal: Personal,
}

impl Settings {
    /// The channels an event goes to (each once, however many rules send it there).
    pub fn channels_for(&self, kind: EventKind, pipeline: &str) -> Vec<&Channel> {
        let mut names: Vec<&str> =
            self.rules.iter().filter(|r| r.wants(kind, pipeline)).map(|r| r.channel.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.iter().filter_map(|n| self.channels.get(*n)).collect()
    }

    /// The channels an event raised at `at` goes to, each with when it may be sent and whether as part of a
    /// digest: at once; at the end of the digest's window (`digest-minutes`, windows aligned on UTC); when
    /// the quiet hours end. A channel that another rule sends the same event to sooner gets it sooner.
    pub fn deliveries_for(&self, kind: EventKind, pipeline: &str, at: DateTime<Utc>) -> Vec<(&Channel, Due)> {
        let mut due: BTreeMap<&str, Due> = BTreeMap::new();
        for r in self.rules.iter().filter(|r| r.wants(kind, pipeline)) {
            let window = r.digest_minutes.map(|m| {
                let ms = m * 60_000;
                let end = (at.timestamp_millis() / ms + 1) * ms;
                DateTime::from_timestamp_millis(end).unwrap_or(at)
            });
            let quiet = r.quiet.as_ref().and_then(|q| q.release(at));
            let when = window.unwrap_or(at).max(quiet.unwrap_or(at));
            let this = Due { at: when, digest: r.digest_minutes.is_some() };
            let e = due.entry(r.channel.as_str()).or_insert(this);
            if this.at < e.at {
                *e = this;
            }
        }
        due.into_iter().filter_map(|(name, when)| Some((self.channels.get(name)?, when))).collect()
    }

    /// Whether any rule covers the pipeline (only those are watched).
    pub fn covers(&self, pipeline: &str) -> bool {
        self.rules.iter().any(|r| r.covers(pipeline))
    }

    /// Whether any rule wants one of `kinds` for the pipeline.
    pub fn wants_any(&self, kinds: &[EventKind], pipeline: &str) -> bool {
        kinds.iter().any(|k| self.rules.iter().any(|r| r.wants(*k, pipeline)))
    }

    /// Whether a rule's threshold for the pipeline is a multiple of its usual run (so the median is needed).
    pub fn wants_usual(&self, pipeline: &str) -> bool {
        self.rules.iter().any(|r| r.wants(EventKind::LongRunning, pipeline) && r.long_running_times.is_some())
    }

    /// The lowest long-running threshold of the rules covering the pipeline, in minutes, given the median of
    /// its last successful runs (`usual_minutes`, when known); with the usual minutes when the threshold is
    /// a multiple of them.
    pub fn long_running_threshold(&self, pipeline: &str, usual_minutes: Option<f64>) -> Option<(i64, Option<i64>)> {
        let mut best: Option<(i64, Option<i64>)> = None;
        for r in self.rules.iter().filter(|r| r.wants(EventKind::LongRunning, pipeline)) {
            let mut candidates = vec![];
            if let Some(m) = r.long_running_minutes {
                candidates.push((m, None));
            }
            if let (Some(times), Some(usual)) = (r.long_running_times, usual_minutes) {
                // Never under a minute: a pipeline of 10-second runs is not "long" at 30 seconds.
                candidates.push((((times * usual).ceil() as i64).max(1), Some(usual.round() as i64)));
            }
            for c in candidates {
                if best.is_none_or(|b| c.0 < b.0) {
                    best = Some(c);
                }
            }
        }
        best
    }

    pub fn load(path: &Path) -> Result<Settings, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("--notify: cannot read {}: {e}", path.display()))?;
        Settings::parse(&text, &|name| std::env::var(name).ok())
            .map_err(|e| format!("--notify {}: {e}", path.display()))
    }

    /// From the file's text; `env` reads an environment variable (tests give their own).
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut channels = BTreeMap::new();
        for (name, c) in file.channels {
            if c.kind == ChannelKind::Email {
                let target = Target::Email(email(&name, &c, env)?);
                channels.insert(name.clone(), Channel { name, kind: c.kind, target });
                continue;
            }
            if c.smtp_host.is_some() || !c.to.is_empty() || c.from.is_some() {
                return Err(format!("channel '{name}': smtp-host, from and to are for kind = \"email\""));
            }
            let url = secret_value(&name, "url", c.url.as_deref(), c.url_env.as_deref(), c.url_file.as_deref(), env)?
                .ok_or_else(|| format!("channel '{name}' needs url-env or url-file (or url for a webhook)"))?;
            if c.url.is_some() && c.kind != ChannelKind::Webhook {
                return Err(format!(
                    "channel '{name}': a {} webhook URL is a secret; give it with url-env or url-file",
                    c.kind
                ));
            }
            HttpUrl::parse(&url).map_err(|e| format!("channel '{name}': {e}"))?;
            let secret = secret_value(&name, "secret", None, c.secret_env.as_deref(), c.secret_file.as_deref(), env)?;
            if c.kind != ChannelKind::Webhook && secret.is_some() {
                return Err(format!("channel '{name}': only a webhook is signed with a secret"));
            }
            let target = Target::Http { url: Secret(url), secret: secret.map(Secret) };
            channels.insert(name.clone(), Channel { name, kind: c.kind, target });
        }
        let mut rules = vec![];
        for (i, r) in file.rules.into_iter().enumerate() {
            let n = i + 1;
            if !channels.contains_key(&r.channel) {
                return Err(format!("rule {n} sends to channel '{}', which is not defined", r.channel));
            }
            if r.events.is_empty() {
                return Err(format!(
                    "rule {n} names no events (failed, stopped, succeeded, recovered, waiting, retried, long-running, missed)"
                ));
            }
            let wants_long = r.events.contains(&EventKind::LongRunning);
            match (r.long_running_minutes, r.long_running_times) {
                (Some(m), _) if m <= 0 => return Err(format!("rule {n}: long-running-minutes must be at least 1")),
                (_, Some(t)) if !(1.1..=100.0).contains(&t) => {
                    return Err(format!("rule {n}: long-running-times must be between 1.1 and 100"))
                }
                (None, None) if wants_long => {
                    return Err(format!("rule {n}: long-running needs long-running-minutes or long-running-times"))
                }
                _ => {}
            }
            let pipelines = r
                .pipelines
                .iter()
                .map(|p| Glob::new(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("rule {n}: {e}"))?;
            rules.push(Rule {
                events: r.events,
                pipelines,
                patterns: r.pipelines,
                channel: r.channel,
                long_running_minutes: r.long_running_minutes,
                long_running_times: r.long_running_times,
                quiet: match &r.quiet_hours {
                    Some(h) => Some(
                        super::quiet::Quiet::parse(h, r.timezone.as_deref()).map_err(|e| format!("rule {n}: {e}"))?,
                    ),
                    None if r.timezone.is_some() => return Err(format!("rule {n}: timezone is for quiet-hours")),
                    None => None,
                },
                digest_minutes: match r.digest_minutes {
                    Some(m) if !(5..=1440).contains(&m) => {
                        return Err(format!("rule {n}: digest-minutes must be between 5 and 1440"))
                    }
                    m => m,
                },
            });
        }
        let poll_seconds = file.poll_seconds.unwrap_or(60);
        if !(5..=3600).contains(&poll_seconds) {
            return Err("poll-seconds must be between 5 and 3600".into());
        }
        let poll_rate = file.poll_rate.unwrap_or(1.0);
        if !(0.05..=20.0).contains(&poll_rate) {
            return Err("poll-rate must be between 0.05 and 20 pipelines a second".into());
        }
        let safety_net_seconds = file.safety_net_seconds.unwrap_or(900);
        if !(60..=86_400).contains(&safety_net_seconds) {
            return Err("safety-net-seconds must be between 60 and 86400".into());
        }
        let personal = personal(file.personal, &channels)?;
        Ok(Settings { channels, rules, poll_seconds, poll_rate, safety_net_seconds, personal })
    }
}

/// A value given plainly, by an environment variable's name or by a file's path (one of them).
fn secret_value(
    channel: &str,
    what: &str,
    plain: Option<&str>,
    env_name: Option<&str>,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let given = [plain.is_some(), env_name.is_some(), file.is_some()].iter().filter(|g| **g).count();
    if given > 1 {
        return Err(format!("channel '{channel}': give its {what} one way only"));
    }
    let value = match (plain, env_name, file) {
        (Some(v), _, _) => v.to_string(),
        (_, Some(name), _) => env(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("channel '{channel}': the environment variable {name} is not set"))?,
        (_, _, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("channel '{channel}': cannot read {}: {e}", path.display()))?,
        _ => return Ok(None),
    };
    Ok(Some(value.trim().to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    poll_seconds: Option<u64>,
    poll_rate: Option<f64>,
    safety_net_seconds: Option<u64>,
    #[serde(default)]
    channels: BTreeMap<String, ChannelFile>,
    #[serde(default)]
    rules: Vec<RuleFile>,
    personal: Option<PersonalFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PersonalFile {
    mail_channel: Option<String>,
    #[serde(default)]
    webhook_prefixes: Vec<String>,
}

/// The `[personal]` section, checked: its mail channel is an e-mail channel, and each prefix is an http(s)
/// URL ending with `/` (so `https://hooks.example.com` cannot also allow `https://hooks.example.com.evil.org`).
fn personal(file: Option<PersonalFile>, channels: &BTreeMap<String, Channel>) -> Result<Personal, String> {
    let Some(file) = file else { return Ok(Default::default()) };
    if let Some(name) = &file.mail_channel {
        match channels.get(name) {
            Some(c) if c.kind == ChannelKind::Email => {}
            Some(_) => return Err(format!("[personal] mail-channel '{name}' is not an e-mail channel")),
            None => return Err(format!("[personal] mail-channel '{name}' is not defined")),
        }
    }
    for p in &file.webhook_prefixes {
        HttpUrl::parse(p).map_err(|e| format!("[personal] webhook-prefixes: {e}"))?;
        let path = p.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
        if !path.contains('/') || !p.ends_with('/') {
            return Err(format!("[personal] webhook-prefixes: '{p}' must end with '/' after its host"));
        }
    }
    Ok(Personal { mail_channel: file.mail_channel, webhook_prefixes: file.webhook_prefixes })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ChannelFile {
    kind: ChannelKind,
    url: Option<String>,
    url_env: Option<String>,
    url_file: Option<std::path::PathBuf>,
    secret_env: Option<String>,
    secret_file: Option<std::path::PathBuf>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    tls: Option<MailTls>,
    smtp_user: Option<String>,
    smtp_password_env: Option<String>,
    smtp_password_file: Option<std::path::PathBuf>,
    ca_file: Option<std::path::PathBuf>,
    from: Option<String>,
    #[serde(default)]
    to: Vec<String>,
}

/// An e-mail channel's settings, checked: a host, a sender and recipients that parse as addresses, and no
/// password over an unencrypted connection to another machine.
fn email(name: &str, c: &ChannelFile, env: &dyn Fn(&str) -> Option<String>) -> Result<Email, String> {
    if c.url.is_some()
        || c.url_env.is_some()
        || c.url_file.is_some()
        || c.secret_env.is_some()
        || c.secret_file.is_some()
    {
        return Err(format!("channel '{name}': an e-mail channel has smtp-host, from and to, not a url or secret"));
    }
    let host = c
        .smtp_host
        .clone()
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| format!("channel '{name}' needs smtp-host"))?;
    let tls = c.tls.unwrap_or(MailTls::Starttls);
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if tls == MailTls::None && !loopback {
        return Err(format!("channel '{name}': tls = \"none\" only to a server on loopback (a local relay)"));
    }
    let port = c.smtp_port.unwrap_or(match tls {
        MailTls::Tls => 465,
        MailTls::Starttls => 587,
        MailTls::None => 25,
    });
    let from = c.from.clone().ok_or_else(|| format!("channel '{name}' needs from (the sender's address)"))?;
    from.parse::<lettre::message::Mailbox>().map_err(|e| format!("channel '{name}': from '{from}': {e}"))?;
    if c.to.is_empty() {
        return Err(format!("channel '{name}' needs to (one or more addresses)"));
    }
    for to in &c.to {
        to.parse::<lettre::message::Mailbox>().map_err(|e| format!("channel '{name}': to '{to}': {e}"))?;
    }
    let password = secret_value(
        name,
        "smtp-password",
        None,
        c.smtp_password_env.as_deref(),
        c.smtp_password_file.as_deref(),
        env,
    )?;
    if password.is_some() != c.smtp_user.is_some() {
        return Err(format!("channel '{name}': smtp-user and its password go together"));
    }
    if password.is_some() && tls == MailTls::None {
        return Err(format!("channel '{name}': a password is never sent without TLS"));
    }
    let ca_pem = match &c.ca_file {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| format!("channel '{name}': cannot read {}: {e}", path.display()))?)
        }
        None => None,
    };
    Ok(Email {
        host,
        port,
        tls,
        user: c.smtp_user.clone(),
        password: password.map(Secret),
        from,
        to: c.to.clone(),
        ca_pem,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RuleFile {
    events: Vec<EventKind>,
    #[serde(default)]
    pipelines: Vec<String>,
    channel: String,
    long_running_minutes: Option<i64>,
    long_running_times: Option<f64>,
    quiet_hours: Option<String>,
    timezone: Option<String>,
    digest_minutes: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SLACK_URL" => Some("https://hooks.slack.com/services/T0/B0/xyz\n".into()),
            "HOOK_SECRET" => Some("s3cret".into()),
            _ => None,
        }
    }

    const GOOD: &str = r#"
poll-seconds = 30
[channels.team]
kind = "slack"
url-env = "SLACK_URL"
[channels.ci]
kind = "webhook"
url = "http://127.0.0.1:9000/hook"
secret-env = "HOOK_SECRET"
[[rules]]
events = ["failed", "recovered"]
pipelines = ["Abalone*"]
channel = "team"
[[rules]]
events = ["failed", "long-running"]
long-running-minutes = 90
channel = "ci"
"#;

    #[test]
    fn rules_send_each_event_to_its_channels_once() {
        let s = Settings::parse(GOOD, &env).unwrap();
        assert_eq!(s.poll_seconds, 30);
        let names = |k, p| s.channels_for(k, p).iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(EventKind::Failed, "AbalonePipeline"), ["ci", "team"]);
        assert_eq!(names(EventKind::Failed, "Fraud"), ["ci"]);
        assert_eq!(names(EventKind::Recovered, "Fraud"), Vec::<String>::new());
        assert_eq!(names(EventKind::Stopped, "AbalonePipeline"), Vec::<String>::new());
        assert_eq!(s.long_running_threshold("Fraud", None), Some((90, None)));
        // A multiple of the usual run counts once the usual run is known, and the lower threshold wins.
        let times = Settings::parse(
            "[channels.c]\nkind = \"webhook\"\nurl = \"https://h.example/x\"\n[[rules]]\nevents = [\"long-running\"]\nlong-running-minutes = 120\nlong-running-times = 3.0\nchannel = \"c\"",
            &env,
        )
        .unwrap();
        assert!(times.wants_usual("Any"));
        assert_eq!(times.long_running_threshold("Any", None), Some((120, None)));
        assert_eq!(times.long_running_threshold("Any", Some(20.0)), Some((60, Some(20))));
        assert_eq!(times.long_running_threshold("Any", Some(50.0)), Some((120, None)));
        let Target::Http { url, .. } = &s.channels["team"].target else { panic!("slack is reached over HTTP") };
        assert_eq!(url.expose(), "https://hooks.slack.com/services/T0/B0/xyz");
        let debug = format!("{s:?}");
        assert!(!debug.contains("xyz") && !debug.contains("s3cret"), "secrets stay out of Debug: {debug}");
    }

    #[test]
    fn an_email_channel_is_starttls_on_587_unless_told() {
        let text = "[channels.mail]\nkind = \"email\"\nsmtp-host = \"smtp.example.com\"\nsmtp-user = \"stepline\"\nsmtp-password-env = \"HOOK_SECRET\"\nfrom = \"Stepline <stepline@example.com>\"\nto = [\"oncall@example.com\", \"ana@example.com\"]";
        let s = Settings::parse(text, &env).unwrap();
        let Target::Email(m) = &s.channels["mail"].target else { panic!("an e-mail target") };
        assert_eq!((m.port, m.tls, m.to.len()), (587, MailTls::Starttls, 2));
        assert_eq!(m.password.as_ref().map(Secret::expose), Some("s3cret"));
        assert!(!format!("{s:?}").contains("s3cret"));
        let local = "[channels.mail]\nkind = \"email\"\nsmtp-host = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]";
        let Target::Email(m) = &Settings::parse(local, &env).unwrap().channels["mail"].target else { panic!() };
        assert_eq!((m.port, m.tls), (25, MailTls::None), "a local relay");
    }

    #[test]
    fn mistakes_are_named() {
        let bad = |text: &str, says: &str| {
            let e = Settings::parse(text, &env).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        };
        bad("[channels.a]\nkind = \"slack\"\nurl = \"https://hooks.slack.com/x\"", "is a secret");
        bad("[channels.a]\nkind = \"slack\"\nurl-env = \"NOPE\"", "NOPE is not set");
        bad("[channels.a]\nkind = \"pager\"\nurl = \"x\"", "unknown variant");
        bad("[channels.a]\nkind = \"email\"\nurl = \"x\"", "not a url");
        bad("[channels.a]\nkind = \"email\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", "needs smtp-host");
        bad("[channels.a]\nkind = \"email\"\nsmtp-host = \"mail.example.com\"\ntls = \"none\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", "only to a server on loopback");
        bad("[channels.a]\nkind = \"email\"\nsmtp-host = \"mail.example.com\"\nfrom = \"not an address\"\nto = [\"d@e.f\"]", "from 'not an address'");
        bad("[channels.a]\nkind = \"email\"\nsmtp-host = \"mail.example.com\"\nfrom = \"a@b.c\"", "needs to");
        bad("[channels.a]\nkind = \"email\"\nsmtp-host = \"mail.example.com\"\nsmtp-user = \"u\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]", "go together");
        bad("[channels.a]\nkind = \"slack\"\nurl-env = \"SLACK_URL\"\nto = [\"d@e.f\"]", "are for kind");
        bad("[channels.a]\nkind = \"webhook\"\nurl = \"ftp://x\"", "not an http");
        bad("[[rules]]\nevents = [\"failed\"]\nchannel = \"none\"", "not defined");
        bad(&format!("{GOOD}\n[[rules]]\nevents = [\"exploded\"]\nchannel = \"ci\""), "unknown variant");
        bad(&format!("{GOOD}\n[[rules]]\nevents = [\"long-running\"]\nchannel = \"ci\""), "needs long-running-minutes");
        bad(
            &format!("{GOOD}\n[[rules]]\nevents = [\"long-running\"]\nlong-running-times = 1.0\nchannel = \"ci\""),
            "between 1.1 and 100",
        );
        bad(
            &format!("{GOOD}\n[[rules]]\nevents = [\"failed\"]\ndigest-minutes = 1\nchannel = \"ci\""),
            "between 5 and 1440",
        );
        bad(
            &format!("{GOOD}\n[[rules]]\nevents = [\"failed\"]\ntimezone = \"UTC\"\nchannel = \"ci\""),
            "timezone is for quiet-hours",
        );
        bad(&format!("{GOOD}\n[[rules]]\nevents = [\"failed\"]\npipelines = [\"a b\"]\nchannel = \"ci\""), "rule 3");
        bad("poll-seconds = 1", "between 5 and 3600");
        bad("poll-rate = 100.0", "between 0.05 and 20");
        bad("safety-net-seconds = 10", "between 60 and 86400");
        bad("colour = \"red\"", "unknown field");
    }

    #[test]
    fn a_digest_waits_for_its_window_unless_another_rule_sends_at_once() {
        let text = "[channels.c]\nkind = \"webhook\"\nurl = \"https://h.example/x\"\n\
                    [[rules]]\nevents = [\"failed\", \"stopped\"]\ndigest-minutes = 30\nchannel = \"c\"\n\
                    [[rules]]\nevents = [\"stopped\"]\nchannel = \"c\"";
        let s = Settings::parse(text, &env).unwrap();
        let at: DateTime<Utc> = "2026-12-07T10:20:00Z".parse().unwrap();
        let failed = s.deliveries_for(EventKind::Failed, "P", at);
        assert_eq!(failed[0].1, Due { at: "2026-12-07T10:30:00Z".parse().unwrap(), digest: true });
        let stopped = s.deliveries_for(EventKind::Stopped, "P", at);
        assert_eq!(stopped[0].1, Due { at, digest: false }, "the rule without a digest sends it at once");
    }
}
