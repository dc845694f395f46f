//! Team access: who is asking, and what they may do. The one module every request passes through.
//!
//! [`guard`] runs before every route: it names the request (a request id), refuses requests for another
//! host (421) and cross-site requests that would change something (403), learns the identity (no login on
//! loopback, a session of the built-in OpenID Connect login, or a verified proxy) or sends the browser to
//! log in, and sets the security headers. Server functions and streams then ask [`Who`] before anything
//! else: a pipeline the person may not read answers exactly as an unknown one (404); an action their role
//! does not allow answers 403 and is recorded.

pub(crate) mod claims;
mod guard;
mod headers;
mod identity;
mod login_state;
pub mod oidc;
mod origin;
pub(crate) mod policy;
mod policy_file;
mod proxy;
mod who;

pub use claims::UserClaim;
pub use guard::guard;
pub use headers::{csp, plain};
pub use identity::{Identity, RequestId, SessionRef};
use policy_file::PolicyFile;
pub use proxy::Proxy;
use stepline_types::model::PipelineKey;
pub use who::Who;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::{AccessConfig, AuthMode};
use crate::http_url::HttpUrl;
use crate::store::Db;
use crate::store::Record;
use origin::Site;
use policy::{Decision, Person, Policy};
use stepline_types::error::{AppError, Subject};
use stepline_types::model::access::{Me, Role};
use stepline_types::model::activity::{Action, Outcome};

/// The pipelines' tags, for grants that name tags (asked through the gateway, cached).
pub trait Tags: Send + Sync {
    fn tags<'a>(
        &'a self,
        pipeline: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<(String, String)>, stepline_types::model::Upstream>>;

    /// A model package group's tags.
    fn group_tags<'a>(
        &'a self,
        group: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<(String, String)>, stepline_types::model::Upstream>>;
}

/// Where a place's pipelines' tags are asked (its gateway), and what sets its pipelines apart from
/// same-named ones of other accounts and regions in the cache (`super::places::Place::key`).
#[derive(Clone)]
pub struct TagSource {
    pub key: String,
    pub source: Arc<dyn Tags>,
}

/// Everything access needs: the mode, the site, the policy, the database and how tags are asked.
pub struct Access {
    pub mode: AuthMode,
    pub site: Site,
    pub db: Db,
    policy: PolicyFile,
    proxy: Option<proxy::Proxy>,
    pub oidc: Option<oidc::Oidc>,
    tag_cache: moka::sync::Cache<String, Arc<Vec<(String, String)>>>,
    /// Pipelines whose tags were asked for and that do not exist (by place and name).
    missing_pipelines: moka::sync::Cache<String, ()>,
    /// Sessions seen in the last seconds, by their id: a page costs no database round trip
    /// (which was 15–25% of a page's server time). A logout forgets its own at once; another replica's
    /// copy lasts `SESSION_KEPT` at most.
    sessions: moka::sync::Cache<String, Identity>,
    /// The other replicas, when they coordinate through PostgreSQL.
    cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
    /// Signs the logins under way that browsers keep (see `login_state`).
    pub login_seal: login_state::LoginSeal,
    /// The key of `Who::request_token`, the same on every replica.
    token_key: aws_lc_rs::hmac::Key,
    /// Sessions logged out (digests), until they would have expired anyway.
    revoked: moka::sync::Cache<String, ()>,
    logouts: tokio::sync::broadcast::Sender<String>,
    /// Digests of the login states already answered: each is good once.
    pub used_logins: moka::sync::Cache<String, ()>,
    /// Cookies only over https (`--public-url https://…`).
    pub secure_cookies: bool,
    pub session_hours: u32,
}

/// How long a session read from the database is believed without asking again.
const SESSION_KEPT: Duration = Duration::from_secs(10);

/// How long "this pipeline does not exist" is believed by the tag lookups (as the watchers' own memo).
const MISSING_KEPT: Duration = Duration::from_secs(30);

/// Logged-out sessions, until they would have expired anyway.
fn revoked(session_hours: u32) -> moka::sync::Cache<String, ()> {
    moka::sync::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(u64::from(session_hours.max(1)) * 3600))
        .build()
}

/// Used login states, until they would have expired anyway.
fn used_logins() -> moka::sync::Cache<String, ()> {
    moka::sync::Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(login_state::LOGIN_SECONDS as u64))
        .build()
}

impl Access {
    /// From the configuration: reads the policy, prepares the login or the proxy's verification.
    pub async fn new(config: &AccessConfig, db: Db) -> Result<Access, String> {
        let site = match &config.public_url {
            Some(url) => Site::from_public_url(url),
            None if config.auth == AuthMode::None => Site::Loopback,
            None => {
                return Err(format!(
                    "--auth {} needs --public-url URL: requests for any other host are refused",
                    if config.auth == AuthMode::Oidc { "oidc" } else { "proxy" }
                ))
            }
        };
        let policy = match (&config.policy, config.auth) {
            (Some(path), _) => {
                let (policy, modified) = PolicyFile::load(path)?;
                PolicyFile {
                    path: Some(path.clone()),
                    current: RwLock::new((Arc::new(policy), modified, std::time::Instant::now())),
                }
            }
            (None, AuthMode::None) => PolicyFile::fixed(Policy::operators_everywhere()),
            (None, _) => PolicyFile::fixed(Policy::viewers_everywhere()),
        };
        let proxy = match config.auth {
            AuthMode::Proxy => Some(proxy::Proxy::new(config)?),
            _ => None,
        };
        // The key that signs logins under way, the same on every replica (see `login_state`).
        let login_seal = login_state::LoginSeal::new(&db.secret("login-state").await?);
        let token_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &db.secret("request-token").await?);
        let oidc = match (&config.oidc, config.auth) {
            (Some(o), AuthMode::Oidc) => {
                Some(oidc::Oidc::discover(o, &config.user_claim, config.public_url.as_ref()).await?)
            }
            _ => None,
        };
        Ok(Access {
            mode: config.auth,
            site,
            db,
            policy,
            proxy,
            oidc,
            tag_cache: moka::sync::Cache::builder().max_capacity(10_000).time_to_live(Duration::from_secs(300)).build(),
            missing_pipelines: moka::sync::Cache::builder().max_capacity(10_000).time_to_live(MISSING_KEPT).build(),
            sessions: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(SESSION_KEPT)
                .support_invalidation_closures()
                .build(),
            cluster: Default::default(),
            login_seal,
            token_key,
            revoked: revoked(config.session_hours),
            logouts: tokio::sync::broadcast::channel(256).0,
            used_logins: used_logins(),
            secure_cookies: config.public_url.as_ref().is_some_and(HttpUrl::is_https),
            session_hours: config.session_hours.max(1),
        })
    }

    /// No login, everyone operates everything: the demo on loopback, tests and benchmarks.
    pub fn local(db: Db) -> Access {
        Access {
            mode: AuthMode::None,
            site: Site::Loopback,
            db,
            policy: PolicyFile::fixed(Policy::operators_everywhere()),
            proxy: None,
            oidc: None,
            tag_cache: moka::sync::Cache::new(1),
            missing_pipelines: moka::sync::Cache::new(1),
            sessions: moka::sync::Cache::builder().max_capacity(1).support_invalidation_closures().build(),
            cluster: Default::default(),
            login_seal: login_state::LoginSeal::new(crate::store::random_token(32).as_bytes()),
            token_key: aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                crate::store::random_token(32).as_bytes(),
            ),
            revoked: revoked(12),
            logouts: tokio::sync::broadcast::channel(256).0,
            used_logins: used_logins(),
            secure_cookies: false,
            session_hours: 12,
        }
    }

    /// Forget a session kept in memory (at logout), here and on every other replica; its open streams end.
    pub async fn forget_session(&self, id: &str) {
        self.sessions.invalidate(id);
        let digest = crate::store::digest(id);
        self.revoke(&digest);
        if let Some(cluster) = self.cluster.get() {
            cluster.logged_out(&digest).await;
        }
    }

    /// A session (by its digest) is over: what outlives its requests (live streams) learns it at once.
    fn revoke(&self, digest: &str) {
        self.revoked.insert(digest.to_string(), ());
        let _ = self.logouts.send(digest.to_string());
    }

    /// Logouts as they happen (session digests), for the live streams.
    pub fn logouts(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.logouts.subscribe()
    }

    /// Whether `who` still holds: their session not logged out nor expired. What they may see is
    /// rechecked by the caller (`Who::role`), since the policy may have changed too.
    pub fn session_holds(&self, who: &Identity) -> Result<(), &'static str> {
        match &who.login {
            None => Ok(()),
            Some(s) if self.revoked.contains_key(&s.digest) => Err("logged-out"),
            Some(s) if s.expires_ms <= chrono::Utc::now().timestamp_millis() => Err("session-expired"),
            Some(_) => Ok(()),
        }
    }

    /// Listen for the other replicas' logouts (see `crate::cluster`).
    pub fn join(self: &Arc<Self>, cluster: Arc<crate::cluster::Cluster>) {
        if self.cluster.set(cluster.clone()).is_err() {
            return;
        }
        cluster.follow(self, |this, news| async move {
            if let crate::cluster::News::LoggedOut(digest) = news {
                this.revoke(&digest);
                // Sessions are kept here by id; the announcement names only its digest.
                let _ = this.sessions.invalidate_entries_if(move |id, _| crate::store::digest(id) == digest);
            }
        });
    }

    pub fn policy(&self) -> Arc<Policy> {
        self.policy.get()
    }

    /// The person's role on `pipeline`: by name, and by its tags (asked of `tags`) when a grant needs them.
    pub async fn role(&self, who: &Identity, pipeline: &str, tags: Option<&TagSource>) -> Option<Role> {
        let policy = self.policy();
        match policy.decide(&who.as_person(), pipeline, None) {
            Decision::Role(r) => r,
            Decision::NeedsTags => {
                let tags = match tags {
                    Some(t) => self.tags_of(pipeline, t).await,
                    None => None,
                };
                match policy.decide(&who.as_person(), pipeline, tags.as_deref().map(|t| t.as_slice())) {
                    Decision::Role(r) => r,
                    // Tags unknown (SageMaker did not say): only what the name gives.
                    Decision::NeedsTags => match policy.decide(&who.as_person(), pipeline, Some(&[])) {
                        Decision::Role(r) => r,
                        Decision::NeedsTags => None,
                    },
                }
            }
        }
    }

    /// What the person's grants naming model package groups give on `group`'s versions (`None`: none names
    /// it), asking the group's tags (remembered like a pipeline's) when a grant names groups by tags.
    pub async fn model_group_role(&self, who: &Identity, group: &str, tags: Option<&TagSource>) -> Option<Role> {
        let policy = self.policy();
        let person = who.as_person();
        match policy.decide_model_group(&person, group, None) {
            Decision::Role(r) => r,
            Decision::NeedsTags => {
                let known = match tags {
                    Some(t) => self.group_tags_of(group, t).await,
                    None => None,
                };
                // Tags unknown (SageMaker did not say): only what names give.
                let known = known.as_deref().map(|t| t.as_slice()).unwrap_or(&[]);
                match policy.decide_model_group(&person, group, Some(known)) {
                    Decision::Role(r) => r,
                    Decision::NeedsTags => None,
                }
            }
        }
    }

    async fn group_tags_of(&self, group: &str, tags: &TagSource) -> Option<Arc<Vec<(String, String)>>> {
        let key = format!("{}model-package-group/{}", tags.key, group.to_lowercase());
        if let Some(t) = self.tag_cache.get(&key) {
            return Some(t);
        }
        let t = Arc::new(tags.source.group_tags(group).await.ok()?);
        self.tag_cache.insert(key, t.clone());
        Some(t)
    }

    /// A pipeline's tags, remembered. That it does not exist is remembered too (for `MISSING_KEPT`): repeated
    /// asks about a hidden pipeline and about one that does not exist are both answered from memory, so
    /// neither spends the quota nor answers in a time that tells the two apart.
    async fn tags_of(&self, pipeline: &str, tags: &TagSource) -> Option<Arc<Vec<(String, String)>>> {
        let key = format!("{}{}", tags.key, PipelineKey::of(pipeline));
        if let Some(t) = self.tag_cache.get(&key) {
            return Some(t);
        }
        if self.missing_pipelines.contains_key(&key) {
            return None;
        }
        match tags.source.tags(pipeline).await {
            Ok(t) => {
                let t = Arc::new(t);
                self.tag_cache.insert(key, t.clone());
                Some(t)
            }
            Err(e) => {
                if e.is_not_found() {
                    self.missing_pipelines.insert(key, ());
                }
                None
            }
        }
    }

    /// Append to the activity log. A record that cannot be written is an error of the request: an action
    /// is never answered as done without its record.
    pub async fn record(&self, r: Record<'_>) -> Result<(), AppError> {
        self.db.append(&r).await.map(|_| ()).map_err(|e| {
            tracing::error!(request_id = r.request_id, "{e}");
            AppError::Server(format!(
                "{e}. What was asked may have been done: check the execution before sending it again."
            ))
        })
    }
}

impl Tags for crate::gateway::Gateway {
    fn tags<'a>(
        &'a self,
        pipeline: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<(String, String)>, stepline_types::model::Upstream>> {
        Box::pin(self.pipeline_tags(pipeline))
    }

    fn group_tags<'a>(
        &'a self,
        group: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<(String, String)>, stepline_types::model::Upstream>> {
        Box::pin(self.model_group_tags(group))
    }
}

#[cfg(test)]
mod tests {
    use super::guard::public_path;
    use super::*;

    #[test]
    fn public_paths_are_only_health_login_and_static_files() {
        for p in ["/healthz", "/metrics", "/auth/login", "/auth/callback", "/pkg/stepline.wasm", "/favicon.svg"] {
            assert!(public_path(p), "{p}");
        }
        for p in [
            "/",
            "/api/stop",
            "/events/pipelines/x/executions",
            "/pipelines/x",
            "/activity",
            "/authx",
            "/pkgx",
            "/metricsx",
        ] {
            assert!(!public_path(p), "{p}");
        }
    }

    #[test]
    fn the_csp_allows_only_this_origin_and_the_nonce() {
        let c = csp("abc");
        assert!(c.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"));
        assert!(c.contains("frame-ancestors 'none'") && !c.contains("unsafe-eval'") || c.contains("wasm-unsafe-eval"));
        assert!(!c.contains("script-src 'self' 'unsafe-inline'"));
    }
}
