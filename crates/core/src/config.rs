//! Command-line configuration, with `clap`: every flag is also an environment variable (`STEPLINE_…`) and a
//! key of an optional TOML file (`--config FILE`, keys named as the flags without their dashes:
//! `demo-speed = 5`). Flags win over the environment, which wins over the file: the file's values become
//! the flags' defaults. Parsing is a pure function of the arguments, the environment clap reads and the
//! file, so it is tested directly.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::HeaderName;
use clap::{Parser, ValueEnum};
use stepline_emulator::settings_file;

use super::access::claims::UserClaim;
pub use super::events_queue::EventsQueue;
pub use super::http_url::HttpUrl;
use super::limiter::Rate;

#[derive(Clone, Debug, PartialEq)]
pub enum Backend {
    /// The built-in emulator, seeded with example data.
    Demo { speed: f64 },
    /// A SageMaker-compatible endpoint at this URL.
    Endpoint(HttpUrl),
    /// Real SageMaker, in one or several accounts and regions (see `super::places`).
    Aws(Vec<AwsSpec>),
}

/// One account and region to show, as `--aws` names it: a profile of the AWS configuration (or the
/// standard credential chain) and a region (or the profile's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsSpec {
    pub profile: Option<String>,
    pub region: Option<String>,
}

impl std::fmt::Display for AwsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.profile.as_deref().unwrap_or("default"))?;
        match &self.region {
            Some(r) => write!(f, "@{r}"),
            None => Ok(()),
        }
    }
}

/// An `--aws` value: `default` (or `true`, the flag alone), `PROFILE`, `PROFILE@REGION` or `@REGION`.
fn aws_spec(v: &str) -> Result<AwsSpec, String> {
    let (profile, region) = match v.split_once('@') {
        Some((p, r)) => (p, Some(r)),
        None => (v, None),
    };
    let profile = match profile {
        "" | "default" | "true" => None,
        p if p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) => Some(p.to_string()),
        _ => {
            return Err(format!(
                "'{v}' is not PROFILE, PROFILE@REGION or @REGION (a profile's name is letters, digits and -_.)"
            ))
        }
    };
    let region = match region {
        None => None,
        Some(r) if stepline_types::base::is_region(r) => Some(r.to_string()),
        Some(r) => return Err(format!("'{v}': '{r}' is not a region name like eu-west-1")),
    };
    Ok(AwsSpec { profile, region })
}

/// How people are identified (see `access`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// No login: everyone is "anonymous" with the operator role. Only on a loopback address.
    #[default]
    None,
    /// Built-in OpenID Connect login against any provider.
    Oidc,
    /// Identity from an authenticating proxy (oauth2-proxy, an AWS ALB), trusted only when verified.
    Proxy,
}

/// How log lines are written (see `observe`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// The arguments as clap reads them; [`Config`] is what the server uses.
#[derive(Debug, Parser)]
#[command(
    name = "stepline",
    version,
    about = "A web dashboard for Amazon SageMaker Pipelines executions.",
    after_help = "With no backend flag Stepline runs on its built-in SageMaker emulator (demo mode), seeded with \
                  example pipelines and a history of executions."
)]
struct Args {
    /// A TOML file of settings: each key a flag's long name (`auth = "oidc"`, `trusted-proxy = ["10.0.0.0/8"]`);
    /// flags and environment variables override it
    #[arg(long, env = "STEPLINE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve everything under this path, behind a proxy that forwards e.g. https://tools.example.com/stepline/…
    /// as it is [default: the path of --public-url, else /]
    #[arg(long, env = "STEPLINE_BASE_PATH", value_name = "PATH", value_parser = stepline_types::base::parse)]
    base_path: Option<String>,
    /// Where the dashboard listens [default: LEPTOS_SITE_ADDR, else 127.0.0.1:3000]
    #[arg(long, env = "STEPLINE_ADDR", value_name = "HOST:PORT")]
    addr: Option<SocketAddr>,
    /// Any SageMaker-compatible endpoint (the standalone stepline-emulator, moto's server)
    #[arg(long, env = "STEPLINE_ENDPOINT_URL", value_name = "URL", value_parser = HttpUrl::parse, conflicts_with = "aws")]
    endpoint_url: Option<HttpUrl>,
    /// Real SageMaker through the standard AWS credential chain and region; or, with values, in each of
    /// the accounts and regions named: PROFILE (of the AWS configuration), PROFILE@REGION, @REGION,
    /// default. Several (repeated or comma-separated) put the account and region in every URL
    #[arg(long, env = "STEPLINE_AWS", value_name = "PROFILE@REGION", num_args = 0..,
          default_missing_value = "default", value_delimiter = ',', action = clap::ArgAction::Append,
          value_parser = aws_spec)]
    aws: Vec<AwsSpec>,
    /// The AWS region [default: from the AWS configuration, else us-east-1]
    #[arg(long, env = "STEPLINE_REGION")]
    region: Option<String>,
    /// Simulated seconds per real second for the demo's live executions
    #[arg(long, env = "STEPLINE_DEMO_SPEED", default_value_t = 20.0, value_parser = positive)]
    demo_speed: f64,
    /// Make the demo's emulator answer after MIN..MAX ms, as SageMaker does (e.g. 50..150)
    #[arg(long, env = "STEPLINE_DEMO_LATENCY", value_name = "MIN..MAX", value_parser = latency)]
    demo_latency: Option<stepline_emulator::strict::Latency>,
    /// Request quotas of the demo's emulator: 'default' (service-like) or Op=RATE[/BURST],…
    #[arg(long, env = "STEPLINE_DEMO_QUOTA", value_name = "SPEC")]
    demo_quota: Vec<String>,
    /// SageMaker requests in flight at most [default: 8]
    #[arg(long, env = "STEPLINE_UPSTREAM_CONCURRENCY", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    upstream_concurrency: Option<u16>,
    /// Requests a second the dashboard allows itself per operation ('*' for the rest); the defaults sit
    /// under SageMaker's usual quotas and halve on throttling
    #[arg(long, env = "STEPLINE_UPSTREAM_RATE", value_name = "Op=RATE[/BURST]", value_delimiter = ',',
          value_parser = parse_rate)]
    upstream_rate: Vec<(String, Rate)>,
    /// Link each execution to SageMaker Studio: an https URL with {pipeline} and {id}
    #[arg(long, env = "STEPLINE_STUDIO_LINK", value_name = "TEMPLATE", value_parser = studio_template)]
    studio_link: Option<String>,

    /// How people are identified: none (loopback only), oidc (built-in login) or proxy
    #[arg(long, env = "STEPLINE_AUTH", value_enum, default_value_t = AuthMode::None)]
    auth: AuthMode,
    /// The address people open Stepline at (e.g. https://stepline.example.com): the login's redirect URI is
    /// {public-url}/auth/callback, and requests for another host are refused
    #[arg(long, env = "STEPLINE_PUBLIC_URL", value_name = "URL", value_parser = HttpUrl::parse)]
    public_url: Option<HttpUrl>,
    /// The OpenID provider's issuer URL (oidc)
    #[arg(long, env = "STEPLINE_OIDC_ISSUER", value_name = "URL", value_parser = issuer_url)]
    oidc_issuer: Option<String>,
    /// The client id registered with the provider (oidc)
    #[arg(long, env = "STEPLINE_OIDC_CLIENT_ID", value_name = "ID")]
    oidc_client_id: Option<String>,
    /// The client secret (oidc); prefer STEPLINE_OIDC_CLIENT_SECRET or --oidc-client-secret-file
    #[arg(long, env = "STEPLINE_OIDC_CLIENT_SECRET", value_name = "SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// A file holding the client secret (oidc)
    #[arg(long, env = "STEPLINE_OIDC_CLIENT_SECRET_FILE", value_name = "FILE", conflicts_with = "oidc_client_secret")]
    oidc_client_secret_file: Option<PathBuf>,
    /// The ID token claim that lists the user's groups (oidc)
    #[arg(long, env = "STEPLINE_OIDC_GROUPS_CLAIM", value_name = "CLAIM", default_value = "groups")]
    oidc_groups_claim: String,
    /// The claim of a verified token that names the user (oidc, alb): email (used only when
    /// email_verified is true, else sub), sub, or another claim such as preferred_username
    #[arg(long, env = "STEPLINE_USER_CLAIM", value_name = "CLAIM", default_value = "email",
          value_parser = UserClaim::parse)]
    user_claim: UserClaim,
    /// Peers whose identity headers are trusted (proxy): the TCP peer's address, never X-Forwarded-For
    #[arg(long, env = "STEPLINE_TRUSTED_PROXY", value_name = "CIDR", value_delimiter = ',')]
    trusted_proxy: Vec<ipnet::IpNet>,
    /// The request header a trusted proxy names the user in (proxy); the proxy must set or strip it
    #[arg(long, env = "STEPLINE_PROXY_USER_HEADER", value_name = "HEADER", default_value = "x-forwarded-user",
          value_parser = header_name)]
    proxy_user_header: HeaderName,
    /// The request header with the user's email, read when the user header is absent (proxy); the proxy must
    /// set or strip it
    #[arg(long, env = "STEPLINE_PROXY_EMAIL_HEADER", value_name = "HEADER", default_value = "x-forwarded-email",
          value_parser = header_name)]
    proxy_email_header: HeaderName,
    /// The request header with the user's groups, comma-separated (proxy); the proxy must set or strip it
    #[arg(long, env = "STEPLINE_PROXY_GROUPS_HEADER", value_name = "HEADER", default_value = "x-forwarded-groups",
          value_parser = header_name)]
    proxy_groups_header: HeaderName,
    /// The ARN of the AWS load balancer whose signed x-amzn-oidc-data is trusted (proxy)
    #[arg(long, env = "STEPLINE_ALB_ARN", value_name = "ARN")]
    alb_arn: Option<String>,
    /// Where the load balancer's public keys are [default: https://public-keys.auth.elb.{region}.amazonaws.com]
    #[arg(long, env = "STEPLINE_ALB_KEYS_URL", value_name = "URL", value_parser = HttpUrl::parse)]
    alb_keys_url: Option<HttpUrl>,
    /// The identity provider the load balancer logs people in with (its token's `iss`); tokens of any
    /// other issuer are refused (proxy)
    #[arg(long, env = "STEPLINE_ALB_ISSUER", value_name = "URL")]
    alb_issuer: Option<String>,
    /// The client id the load balancer is registered with at the provider (its token's `client`); tokens for
    /// any other client are refused (proxy)
    #[arg(long, env = "STEPLINE_ALB_CLIENT_ID", value_name = "ID")]
    alb_client_id: Option<String>,
    /// Roles and teams: a TOML policy file, reloaded when it changes (without one, everyone who logs in
    /// is a viewer of every pipeline)
    #[arg(long, env = "STEPLINE_POLICY", value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Where the activity log and sessions are kept in SQLite [default: the user's data directory]
    #[arg(long, env = "STEPLINE_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL instead of SQLite: postgres://user:password@host/db
    #[arg(long, env = "STEPLINE_DATABASE_URL", value_name = "URL", hide_env_values = true,
          value_parser = postgres_url)]
    database_url: Option<String>,
    /// Make each action with credentials from sts:AssumeRole on this role, its SourceIdentity the user;
    /// with several accounts, one role per account (repeated or comma-separated), each used in its own
    #[arg(long, env = "STEPLINE_ACT_ROLE", value_name = "ARN", value_parser = role_arn, value_delimiter = ',')]
    act_role: Vec<String>,
    /// How long a login lasts, in hours
    #[arg(long, env = "STEPLINE_SESSION_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    session_hours: u32,
    /// How log lines are written: text (for people) or json (for a collector); RUST_LOG filters them
    /// [default RUST_LOG: info]
    #[arg(long, env = "STEPLINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Notifications: a TOML file of channels (Slack, Teams, webhooks) and rules (which events of which
    /// pipelines go where); see the README's "Notifications"
    #[arg(long, env = "STEPLINE_NOTIFY", value_name = "FILE")]
    notify: Option<PathBuf>,
    /// Notifications from SageMaker's own events: the SQS queue an EventBridge rule sends them to, by URL
    /// (one per account and region shown) or by name (one place); polling then only runs as a safety net
    #[arg(long, env = "STEPLINE_EVENTS_QUEUE", value_name = "URL|NAME", value_delimiter = ',',
          value_parser = EventsQueue::parse, requires = "notify")]
    events_queue: Vec<EventsQueue>,
    /// Cost estimates: a TOML file of instance prices (per instance type and component) and/or a discount
    /// off the AWS Price List, for private pricing; see the README's "What runs cost"
    #[arg(long, env = "STEPLINE_PRICES", value_name = "FILE")]
    prices: Option<PathBuf>,
}

/// Login and authorization settings (see `access`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessConfig {
    pub auth: AuthMode,
    pub public_url: Option<HttpUrl>,
    pub oidc: Option<OidcConfig>,
    /// The claim of a verified token (ID token, load balancer) that names the user.
    pub user_claim: UserClaim,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The one set of request headers a trusted proxy names the user in.
    pub proxy_headers: ProxyHeaders,
    pub alb_arn: Option<String>,
    pub alb_keys_url: Option<HttpUrl>,
    /// When set, a load balancer token must carry this `iss` and this `client`.
    pub alb_issuer: Option<String>,
    pub alb_client_id: Option<String>,
    pub policy: Option<PathBuf>,
    pub session_hours: u32,
}

/// The request headers an authenticating proxy names the user in. One fixed set: a client's own headers of
/// any other name are never read, so a proxy that strips and sets these cannot be bypassed by a header it
/// does not know about. oauth2-proxy's request headers by default.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyHeaders {
    pub user: HeaderName,
    /// Read when the user header is absent.
    pub email: HeaderName,
    pub groups: HeaderName,
}

impl Default for ProxyHeaders {
    fn default() -> Self {
        ProxyHeaders {
            user: HeaderName::from_static("x-forwarded-user"),
            email: HeaderName::from_static("x-forwarded-email"),
            groups: HeaderName::from_static("x-forwarded-groups"),
        }
    }
}

#[derive(Clone, PartialEq)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub groups_claim: String,
}

// The secret never reaches a log line, even through `{:?}` of the configuration.
impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<hidden>"))
            .field("groups_claim", &self.groups_claim)
            .finish()
    }
}

/// Where the activity log and sessions live.
#[derive(Clone, PartialEq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            // A database URL may hold a password.
            Database::Postgres(_) => write!(f, "Postgres(<url hidden>)"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    /// The path everything is served under: `""` or like `/stepline` (see `stepline_types::base`).
    pub base_path: String,
    pub backend: Backend,
    pub region: Option<String>,
    /// How strict the demo's emulator is: latency and request quotas (`--demo-latency`, `--demo-quota`).
    pub demo_latency: Option<stepline_emulator::strict::Latency>,
    pub demo_quotas: Option<stepline_emulator::strict::Quotas>,
    /// The gateway's own request limits.
    pub upstream_concurrency: Option<usize>,
    pub upstream_rates: Vec<(String, Rate)>,
    pub studio_link: Option<String>,
    pub access: AccessConfig,
    pub database: Database,
    /// `--act-role`: at most one per account (the account is in the ARN).
    pub act_role: Vec<String>,
    pub log_format: LogFormat,
    /// `--notify`: the notification settings file, read at start.
    pub notify: Option<PathBuf>,
    /// `--events-queue`: SageMaker's events from SQS.
    pub events_queue: Vec<EventsQueue>,
    /// `--prices`: the price file, read at start.
    pub prices: Option<PathBuf>,
}

#[derive(Debug, PartialEq)]
pub enum Parsed {
    Run(Box<Config>),
    /// Help or version text, to print and exit successfully.
    Print(String),
}

fn default_addr() -> SocketAddr {
    std::env::var("LEPTOS_SITE_ADDR")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)))
}

/// Parse the arguments (without the program's name). Errors name the flag and say what would do.
pub fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let argv: Vec<String> = std::iter::once("stepline".to_string()).chain(args.iter().cloned()).collect();
    let matches = match settings_file::matches(<Args as clap::CommandFactory>::command(), &argv, "STEPLINE_CONFIG")? {
        Ok(m) => m,
        Err(text) => return Ok(Parsed::Print(text)),
    };
    let a = <Args as clap::FromArgMatches>::from_arg_matches(&matches).map_err(|e| settings_file::clap_message(&e))?;
    let addr = a.addr.unwrap_or_else(default_addr);
    let backend = match (a.endpoint_url, a.aws) {
        (Some(url), _) => Backend::Endpoint(url),
        (None, aws) if !aws.is_empty() => Backend::Aws(aws),
        (None, _) => Backend::Demo { speed: a.demo_speed },
    };
    if let Backend::Aws(specs) = &backend {
        for (i, s) in specs.iter().enumerate() {
            if specs[..i].contains(s) {
                return Err(format!("--aws names {s} twice"));
            }
        }
    }
    let mut demo_quotas: Option<stepline_emulator::strict::Quotas> = None;
    for spec in &a.demo_quota {
        stepline_emulator::strict::quotas_from_flag(spec, demo_quotas.get_or_insert_with(Default::default))
            .map_err(|e| format!("invalid value '{spec}' for '--demo-quota': {e}"))?;
    }
    let oidc = match a.auth {
        AuthMode::Oidc => {
            let issuer = a.oidc_issuer.ok_or("--auth oidc needs --oidc-issuer URL (the provider's issuer)")?;
            let client_id = a.oidc_client_id.ok_or("--auth oidc needs --oidc-client-id ID")?;
            let client_secret = match a.oidc_client_secret_file {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .map_err(|e| format!("--oidc-client-secret-file: cannot read {}: {e}", path.display()))?
                        .trim()
                        .to_string(),
                ),
                None => a.oidc_client_secret,
            };
            if a.public_url.is_none() {
                return Err(
                    "--auth oidc needs --public-url URL: the login's redirect URI is {public-url}/auth/callback".into(),
                );
            }
            Some(OidcConfig { issuer, client_id, client_secret, groups_claim: a.oidc_groups_claim })
        }
        _ => None,
    };
    match a.auth {
        AuthMode::None if !addr.ip().is_loopback() => {
            return Err(format!(
                "--auth none lets everyone who can reach {addr} act as an operator, so it is allowed only on a \
                 loopback address. Choose --auth oidc (built-in login) or --auth proxy (behind oauth2-proxy or an \
                 AWS ALB), or listen on 127.0.0.1"
            ));
        }
        AuthMode::Proxy if a.trusted_proxy.is_empty() && a.alb_arn.is_none() => {
            return Err("--auth proxy needs --trusted-proxy CIDR (the proxy's address, e.g. 10.0.0.0/8) or \
                        --alb-arn ARN (the load balancer that signs x-amzn-oidc-data)"
                .into());
        }
        _ => {}
    }
    // The public URL and the base path say the same: one gives the other, and they may not differ.
    let url_path = a.public_url.as_ref().map(|u| public_url_path(u.path())).transpose()?.unwrap_or_default();
    let base_path = match a.base_path {
        Some(b) if a.public_url.is_some() && !url_path.is_empty() && b != url_path => {
            return Err(format!(
                "--base-path {b} and --public-url {} name different paths: give the path once",
                a.public_url.map(|u| u.to_string()).unwrap_or_default()
            ));
        }
        Some(b) => b,
        None => url_path.clone(),
    };
    let public_url = a.public_url.map(|u| if url_path.is_empty() { u.with_path(&base_path) } else { u });
    let database = match a.database_url {
        Some(url) => Database::Postgres(url),
        None => Database::Sqlite(a.data_dir.unwrap_or_else(default_data_dir).join("stepline.db")),
    };
    Ok(Parsed::Run(Box::new(Config {
        addr,
        base_path,
        backend,
        region: a.region,
        demo_latency: a.demo_latency,
        demo_quotas,
        upstream_concurrency: a.upstream_concurrency.map(usize::from),
        upstream_rates: a.upstream_rate,
        studio_link: a.studio_link,
        access: AccessConfig {
            auth: a.auth,
            public_url,
            oidc,
            user_claim: a.user_claim,
            trusted_proxies: a.trusted_proxy,
            proxy_headers: ProxyHeaders {
                user: a.proxy_user_header,
                email: a.proxy_email_header,
                groups: a.proxy_groups_header,
            },
            alb_arn: a.alb_arn,
            alb_keys_url: a.alb_keys_url,
            alb_issuer: a.alb_issuer,
            alb_client_id: a.alb_client_id,
            policy: a.policy,
            session_hours: a.session_hours,
        },
        database,
        act_role: {
            for (i, r) in a.act_role.iter().enumerate() {
                if let Some(other) = a.act_role[..i].iter().find(|o| role_account(o) == role_account(r)) {
                    return Err(format!("--act-role names two roles of account {}: {other} and {r}", role_account(r)));
                }
            }
            a.act_role
        },
        log_format: a.log_format,
        notify: a.notify,
        events_queue: a.events_queue,
        prices: a.prices,
    })))
}

/// `$XDG_DATA_HOME/stepline`, else `~/.local/share/stepline`, else `./stepline-data`.
fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("stepline");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/stepline"),
        None => PathBuf::from("stepline-data"),
    }
}

/// A request header's name, lower-cased as HTTP/2 sends it.
fn header_name(v: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(v.trim().to_ascii_lowercase().as_bytes()).map_err(|_| format!("'{v}' is not a header name"))
}

/// An issuer is checked as a URL but kept as given: OpenID and the load balancer's tokens compare it byte for
/// byte, trailing slash included.
fn issuer_url(v: &str) -> Result<String, String> {
    HttpUrl::parse(v)?;
    Ok(v.trim().to_string())
}

/// The path of a public URL (`https://tools.example.com/stepline` → `/stepline`), checked as a base path.
fn public_url_path(path: &str) -> Result<String, String> {
    stepline_types::base::parse(path).map_err(|e| format!("--public-url: its path {e}"))
}

fn postgres_url(v: &str) -> Result<String, String> {
    if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
        return Err("not a postgres:// URL (SQLite needs no URL: see --data-dir)".into());
    }
    Ok(v.to_string())
}

/// The account of an IAM role's ARN (checked by `role_arn`).
pub fn role_account(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

fn role_arn(v: &str) -> Result<String, String> {
    let ok = v.split(':').collect::<Vec<_>>();
    if ok.len() == 6 && ok[0] == "arn" && ok[2] == "iam" && ok[5].starts_with("role/") && ok[4].len() == 12 {
        Ok(v.to_string())
    } else {
        Err(format!("'{v}' is not an IAM role ARN like arn:aws:iam::123456789012:role/stepline-actions"))
    }
}

fn positive(v: &str) -> Result<f64, String> {
    v.parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0).ok_or_else(|| format!("'{v}' is not a positive number"))
}

fn latency(v: &str) -> Result<stepline_emulator::strict::Latency, String> {
    stepline_emulator::strict::Latency::parse(v).map_err(|e| e.to_string())
}

fn studio_template(v: &str) -> Result<String, String> {
    if !v.starts_with("https://") || !v.contains("{id}") {
        return Err(format!("'{v}' is not an https:// URL with {{pipeline}} and {{id}} in it"));
    }
    Ok(v.to_string())
}

/// `Operation=RATE[/BURST]`: requests a second, and at once.
fn parse_rate(v: &str) -> Result<(String, Rate), String> {
    let bad = || format!("'{v}' is not Operation=RATE[/BURST] with RATE above 0 (e.g. ListPipelines=2/4)");
    let (op, spec) = v.split_once('=').ok_or_else(bad)?;
    let (rate, burst) = match spec.split_once('/') {
        Some((r, b)) => (r.parse::<f64>().map_err(|_| bad())?, b.parse::<f64>().map_err(|_| bad())?),
        None => {
            let r = spec.parse::<f64>().map_err(|_| bad())?;
            (r, r.max(1.0))
        }
    };
    let valid_op = op == "*" || (!op.is_empty() && op.chars().all(|c| c.is_ascii_alphanumeric()));
    if !(valid_op && rate.is_finite() && rate > 0.0 && burst.is_finite() && burst >= 1.0) {
        return Err(bad());
    }
    Ok((op.to_string(), Rate { per_second: rate, burst }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::Unpoisoned;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// clap reads the environment on every parse: the test that sets variables holds this lock while
    /// they are set, and every other parse waits for it.
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn parse(v: &[&str]) -> Result<Parsed, String> {
        let _env = ENV.locked();
        parse_args(&args(v))
    }

    fn run(v: &[&str]) -> Config {
        match parse(v).unwrap() {
            Parsed::Run(c) => *c,
            Parsed::Print(_) => panic!("expected a run configuration"),
        }
    }

    fn err(v: &[&str]) -> String {
        parse(v).unwrap_err()
    }

    #[test]
    fn addr_flag_in_both_spellings() {
        assert_eq!(run(&["--addr", "127.0.0.1:4000"]).addr.port(), 4000);
        assert_eq!(run(&["--addr=127.0.0.1:4001"]).addr.port(), 4001);
    }

    #[test]
    fn backends() {
        assert_eq!(run(&[]).backend, Backend::Demo { speed: 20.0 });
        assert_eq!(run(&["--demo-speed", "5"]).backend, Backend::Demo { speed: 5.0 });
        assert_eq!(
            run(&["--endpoint-url", "http://127.0.0.1:5000/"]).backend,
            Backend::Endpoint(HttpUrl::parse("http://127.0.0.1:5000").unwrap())
        );
        let c = run(&["--aws", "--region", "eu-west-1"]);
        assert_eq!(c.backend, Backend::Aws(vec![AwsSpec::default()]));
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        let spec = |p: Option<&str>, r: Option<&str>| AwsSpec { profile: p.map(Into::into), region: r.map(Into::into) };
        assert_eq!(
            run(&["--aws", "prod@eu-west-1,staging", "--aws=@us-west-2"]).backend,
            Backend::Aws(vec![
                spec(Some("prod"), Some("eu-west-1")),
                spec(Some("staging"), None),
                spec(None, Some("us-west-2"))
            ])
        );
        assert_eq!(spec(Some("prod"), Some("eu-west-1")).to_string(), "prod@eu-west-1");
        assert_eq!(spec(None, None).to_string(), "default");
    }

    #[test]
    fn bad_input_is_named() {
        let e = err(&["--addr", "nope"]);
        assert!(e.contains("'nope'") && e.contains("--addr"), "{e}");
        let e = err(&["--frobnicate"]);
        assert!(e.contains("unexpected argument '--frobnicate'"), "{e}");
        let e = err(&["--addr"]);
        assert!(e.contains("--addr") && e.contains("value is required"), "{e}");
        let e = err(&["--aws", "--endpoint-url", "http://x.example"]);
        assert!(e.contains("cannot be used with"), "{e}");
        let e = err(&["--aws=prod@EU_WEST"]);
        assert!(e.contains("--aws") && e.contains("not a region name"), "{e}");
        let e = err(&["--aws=pr/od"]);
        assert!(e.contains("--aws") && e.contains("PROFILE@REGION"), "{e}");
        let e = err(&["--aws", "a@eu-west-1,b,a@eu-west-1"]);
        assert!(e.contains("names a@eu-west-1 twice"), "{e}");
        let e = err(&["--endpoint-url", "localhost:5000"]);
        assert!(e.contains("not an http"), "{e}");
        let e = err(&["--upstream-rate", "ListPipelines=0"]);
        assert!(e.contains("'ListPipelines=0'") && e.contains("--upstream-rate"), "{e}");
        let e = err(&["--demo-latency", "9..1"]);
        assert!(e.contains("--demo-latency"), "{e}");
        let e = err(&["--upstream-concurrency", "0"]);
        assert!(e.contains("--upstream-concurrency") && e.contains("1..=256"), "{e}");
        let e = err(&["--demo-quota", "Nope=x"]);
        assert!(e.contains("--demo-quota"), "{e}");
        let c = run(&["--upstream-rate", "ListPipelines=2/4", "--demo-quota", "default", "--demo-latency", "50..150"]);
        assert_eq!(c.upstream_rates, vec![("ListPipelines".to_string(), Rate { per_second: 2.0, burst: 4.0 })]);
        assert!(c.demo_quotas.unwrap().contains_key("ListPipelineExecutions"));
        assert_eq!(c.demo_latency.unwrap().max_ms, 150);
        let e = err(&["--studio-link", "http://x/{id}"]);
        assert!(e.contains("--studio-link"), "{e}");
        let e = err(&["--demo-speed=-1"]);
        assert!(e.contains("--demo-speed"), "{e}");
        let e = err(&["--act-role", "arn:aws:iam::111111111111:role/a,arn:aws:iam::111111111111:role/b"]);
        assert!(e.contains("two roles of account 111111111111"), "{e}");
        let roles = "arn:aws:iam::111111111111:role/a,arn:aws:iam::222222222222:role/a";
        assert_eq!(run(&["--act-role", roles]).act_role.len(), 2);
        let e = err(&["--act-role", "arn:aws:iam::1:user/x"]);
        assert!(e.contains("not an IAM role ARN"), "{e}");
        let e = err(&["--database-url", "mysql://x"]);
        assert!(e.contains("not a postgres:// URL"), "{e}");
        let e = err(&["--auth", "magic"]);
        assert!(e.contains("'magic'") && e.contains("none, oidc, proxy"), "{e}");
        match parse(&["-h"]).unwrap() {
            Parsed::Print(help) => {
                for flag in ["--auth", "--policy", "--database-url", "STEPLINE_ACT_ROLE", "[default: 12]"] {
                    assert!(help.contains(flag), "help lists {flag}: {help}");
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_login_only_on_loopback() {
        let e = err(&["--addr", "0.0.0.0:3000"]);
        assert!(e.contains("--auth none") && e.contains("--auth oidc") && e.contains("--auth proxy"), "{e}");
        assert_eq!(run(&["--addr", "[::1]:3000"]).access.auth, AuthMode::None);
        let e = err(&["--addr", "0.0.0.0:3000", "--auth", "proxy"]);
        assert!(e.contains("--trusted-proxy"), "{e}");
        let c = run(&["--addr", "0.0.0.0:3000", "--auth", "proxy", "--trusted-proxy", "10.0.0.0/8,192.168.1.7/32"]);
        assert_eq!(c.access.trusted_proxies.len(), 2);
        let e = err(&["--auth", "proxy", "--trusted-proxy", "10.0.0.300/8"]);
        assert!(e.contains("--trusted-proxy"), "{e}");
    }

    #[test]
    fn oidc_needs_its_provider_and_keeps_the_secret_out_of_debug_output() {
        let e = err(&["--auth", "oidc"]);
        assert!(e.contains("--oidc-issuer"), "{e}");
        let e = err(&["--auth", "oidc", "--oidc-issuer", "https://id.example.com", "--oidc-client-id", "s"]);
        assert!(e.contains("--public-url"), "{e}");
        let dir = std::env::temp_dir().join(format!("stepline-oidc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "s3cr3t-value\n").unwrap();
        let c = run(&[
            "--auth",
            "oidc",
            "--oidc-issuer",
            "https://id.example.com/",
            "--oidc-client-id",
            "stepline",
            "--oidc-client-secret-file",
            secret.to_str().unwrap(),
            "--public-url",
            "https://stepline.example.com",
            "--database-url",
            "postgres://u:pw@db/stepline",
        ]);
        let oidc = c.access.oidc.clone().unwrap();
        // Kept as given: the provider's discovery document must name it byte for byte (Auth0's ends in '/').
        assert_eq!(oidc.issuer, "https://id.example.com/");
        assert_eq!(oidc.client_secret.as_deref(), Some("s3cr3t-value"));
        assert_eq!(oidc.groups_claim, "groups");
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cr3t") && !debug.contains(":pw@"), "{debug}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn environment_variables_stand_for_flags_and_flags_win() {
        let parse_here = |v: &[&str]| parse_args(&args(v));
        let _env = ENV.locked();
        std::env::set_var("STEPLINE_SESSION_HOURS", "3");
        let hours = |p: Result<Parsed, String>| match p {
            Ok(Parsed::Run(c)) => c.access.session_hours,
            other => panic!("{other:?}"),
        };
        assert_eq!(hours(parse_here(&[])), 3);
        assert_eq!(hours(parse_here(&["--session-hours", "5"])), 5);
        std::env::set_var("STEPLINE_SESSION_HOURS", "0");
        let e = parse_here(&[]).unwrap_err();
        assert!(e.contains("--session-hours"), "{e}");
        std::env::remove_var("STEPLINE_SESSION_HOURS");
        assert_eq!(hours(parse_here(&[])), 12);
    }

    #[test]
    fn a_config_file_gives_defaults_that_the_environment_and_flags_override() {
        let dir = std::env::temp_dir().join(format!("stepline-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("stepline.toml");
        std::fs::write(
            &file,
            "demo-speed = 7.5\nsession-hours = 4\nstudio-link = \"https://studio.example/{pipeline}/{id}\"\n\
             upstream-rate = [\"ListPipelines=2\", \"DescribePipeline=3/6\"]\nregion = \"eu-west-1\"\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let c = run(&["--config", f]);
        assert_eq!(c.backend, Backend::Demo { speed: 7.5 });
        assert_eq!(c.access.session_hours, 4);
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.studio_link.as_deref(), Some("https://studio.example/{pipeline}/{id}"));
        assert_eq!(c.upstream_rates.len(), 2);
        // Flags win over the file.
        let c = run(&[&format!("--config={f}"), "--session-hours", "9"]);
        assert_eq!(c.access.session_hours, 9);
        {
            // The environment wins over the file, and names the file itself.
            let _env = ENV.locked();
            std::env::set_var("STEPLINE_SESSION_HOURS", "6");
            std::env::set_var("STEPLINE_CONFIG", f);
            let c = match parse_args(&[]) {
                Ok(Parsed::Run(c)) => c,
                other => panic!("{other:?}"),
            };
            std::env::remove_var("STEPLINE_SESSION_HOURS");
            std::env::remove_var("STEPLINE_CONFIG");
            assert_eq!(c.access.session_hours, 6);
            assert_eq!(c.backend, Backend::Demo { speed: 7.5 });
        }
        // `--aws` in a file: alone (as the Kubernetes example has it), or naming places.
        std::fs::write(&file, "aws = true\n").unwrap();
        assert_eq!(run(&["--config", f]).backend, Backend::Aws(vec![AwsSpec::default()]));
        std::fs::write(&file, "aws = [\"prod@eu-west-1\", \"staging\"]\n").unwrap();
        match run(&["--config", f]).backend {
            Backend::Aws(specs) => {
                assert_eq!(specs.iter().map(ToString::to_string).collect::<Vec<_>>(), ["prod@eu-west-1", "staging"])
            }
            other => panic!("{other:?}"),
        }
        {
            let _env = ENV.locked();
            std::env::set_var("STEPLINE_AWS", "a@eu-west-1,b@us-east-1");
            let c = parse_args(&[]);
            std::env::remove_var("STEPLINE_AWS");
            match c {
                Ok(Parsed::Run(c)) => assert!(matches!(&c.backend, Backend::Aws(s) if s.len() == 2)),
                other => panic!("{other:?}"),
            }
        }
        // Bad files and bad values are refused, naming what is wrong.
        std::fs::write(&file, "demo-sped = 3\n").unwrap();
        let e = err(&["--config", f]);
        assert!(e.contains("'demo-sped' is not a setting"), "{e}");
        std::fs::write(&file, "session-hours = 0\n").unwrap();
        let e = err(&["--config", f]);
        assert!(e.contains("--session-hours"), "{e}");
        std::fs::write(&file, "auth = [\n").unwrap();
        assert!(err(&["--config", f]).contains("is not valid TOML"));
        std::fs::write(&file, "policy = { a = 1 }\n").unwrap();
        assert!(err(&["--config", f]).contains("'policy' must be"));
        assert!(err(&["--config", "/nonexistent/stepline.toml"]).contains("cannot read"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn log_format_is_text_unless_json_is_asked() {
        assert_eq!(run(&[]).log_format, LogFormat::Text);
        assert_eq!(run(&["--log-format", "json"]).log_format, LogFormat::Json);
        let e = err(&["--log-format", "xml"]);
        assert!(e.contains("'xml'") && e.contains("text, json"), "{e}");
    }

    #[test]
    fn the_base_path_comes_from_its_flag_or_the_public_url() {
        assert_eq!(run(&[]).base_path, "");
        assert_eq!(run(&["--base-path", "/stepline/"]).base_path, "/stepline");
        let proxied = ["--addr", "0.0.0.0:3000", "--auth", "proxy", "--trusted-proxy", "10.0.0.0/8"];
        let with = |extra: &[&str]| run(&[&proxied[..], extra].concat());
        let c = with(&["--public-url", "https://tools.example.com/stepline"]);
        assert_eq!(
            (c.base_path.as_str(), c.access.public_url.as_ref().map(HttpUrl::as_str)),
            ("/stepline", Some("https://tools.example.com/stepline"))
        );
        // The base path is added to a public URL without one (the login's redirect URI is under it).
        let c = with(&["--public-url", "https://tools.example.com", "--base-path", "/stepline"]);
        assert_eq!(c.access.public_url.as_ref().map(HttpUrl::as_str), Some("https://tools.example.com/stepline"));
        let e = err(&[&proxied[..], &["--public-url", "https://t.example.com/a", "--base-path", "/b"]].concat());
        assert!(e.contains("name different paths"), "{e}");
        let e = err(&["--base-path", "stepline"]);
        assert!(e.contains("--base-path") && e.contains("is not a path"), "{e}");
        let e = err(&[&proxied[..], &["--public-url", "https://t.example.com/a b"]].concat());
        assert!(e.contains("--public-url"), "{e}");
    }

    #[test]
    fn the_data_dir_holds_the_database() {
        assert_eq!(
            run(&["--data-dir", "/srv/stepline"]).database,
            Database::Sqlite("/srv/stepline/stepline.db".into())
        );
    }
}
