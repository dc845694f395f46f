//! Team access: who is asking, and what they may do. The one module every request passes through.
//!
//! [`guard`] runs before every route: it names the request (a request id), refuses requests for another
//! host (421) and cross-site requests that would change something (403), learns the identity (no login on
//! loopback, a session of the built-in OpenID Connect login, or a verified proxy) or sends the browser to
//! log in, and sets the security headers. Server functions and streams then ask [`Who`] before anything
//! else: a pipeline the person may not read answers exactly as an unknown one (404); an action their role
//! does not allow answers 403 and is recorded.

pub mod claims;
pub mod login_state;
pub mod oidc;
pub mod origin;
pub mod policy;
pub mod proxy;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::{AccessConfig, AuthMode};
use crate::store::activity::Record;
use crate::store::Db;
use origin::Site;
use policy::{Decision, Person, Policy};
use stepline_types::error::{AppError, Subject};
use stepline_types::model::access::{Me, Role};
use stepline_types::model::activity::{Action, Outcome};

/// Who is asking: learned once per request by [`guard`], read by everything after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
    /// Logged in through Stepline's own login (so it can log out).
    pub session: bool,
    /// The login's session (its id's digest) and when it ends, for what outlives the request that was
    /// identified: a live stream ends when the session is logged out or expires.
    pub login: Option<SessionRef>,
    /// Nobody in particular (`--auth none`): told by how the identity was made, never by its name, so a
    /// person whose proxy or provider calls them "anonymous" is still a person (and counted as one).
    anonymous: bool,
}

/// A login session, as an identity refers to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    /// SHA-256 of the session id (the id itself stays in the cookie).
    pub digest: String,
    pub expires_ms: i64,
}

impl Identity {
    /// A person, as a proxy, a load balancer or a login names them.
    pub fn person(user: String, groups: Vec<String>, session: bool) -> Identity {
        Identity { user, groups, session, login: None, anonymous: false }
    }

    pub fn anonymous() -> Identity {
        Identity { user: "anonymous".into(), groups: vec![], session: false, login: None, anonymous: true }
    }

    /// Nobody in particular: no login (`--auth none`).
    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    fn as_person(&self) -> Person<'_> {
        Person { user: &self.user, groups: &self.groups }
    }
}

/// The request's id: in the activity log, the `x-request-id` header and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The pipelines' tags, for grants that name tags (asked through the gateway, cached).
pub trait Tags: Send + Sync {
    fn tags<'a>(
        &'a self,
        pipeline: &'a str,
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

/// The policy in force, reloaded when its file changes (checked at most every 2 s).
struct PolicyFile {
    path: Option<std::path::PathBuf>,
    current: RwLock<(Arc<Policy>, Option<SystemTime>, std::time::Instant)>,
}

impl PolicyFile {
    fn fixed(policy: Policy) -> PolicyFile {
        PolicyFile { path: None, current: RwLock::new((Arc::new(policy), None, std::time::Instant::now())) }
    }

    fn load(path: &std::path::Path) -> Result<(Policy, Option<SystemTime>), String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the policy {}: {e}", path.display()))?;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let policy = Policy::parse(&text).map_err(|e| format!("the policy {}: {e}", path.display()))?;
        Ok((policy, modified))
    }

    fn get(&self) -> Arc<Policy> {
        let Some(path) = &self.path else {
            return self.current.read().unwrap_or_else(|e| e.into_inner()).0.clone();
        };
        {
            let cur = self.current.read().unwrap_or_else(|e| e.into_inner());
            if cur.2.elapsed() < Duration::from_secs(2) {
                return cur.0.clone();
            }
        }
        let mut cur = self.current.write().unwrap_or_else(|e| e.into_inner());
        cur.2 = std::time::Instant::now();
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified != cur.1 {
            // A policy that no longer parses keeps the last good one in force (and says so once).
            match PolicyFile::load(path) {
                Ok((policy, m)) => {
                    tracing::info!("the policy {} was reloaded", path.display());
                    *cur = (Arc::new(policy), m, std::time::Instant::now());
                }
                Err(e) => {
                    tracing::error!("{e}; the previous policy stays in force");
                    cur.1 = modified;
                }
            }
        }
        cur.0.clone()
    }
}

impl Access {
    /// From the configuration: reads the policy, prepares the login or the proxy's verification.
    pub async fn new(config: &AccessConfig, db: Db) -> Result<Access, String> {
        let site = match &config.public_url {
            Some(url) => Site::from_public_url(url)?,
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
            (Some(o), AuthMode::Oidc) => Some(
                oidc::Oidc::discover(o, &config.user_claim, config.public_url.as_deref().unwrap_or_default()).await?,
            ),
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
            secure_cookies: config.public_url.as_deref().is_some_and(|u| u.starts_with("https://")),
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

    /// A pipeline's tags, remembered. That it does not exist is remembered too (for `MISSING_KEPT`): repeated
    /// asks about a hidden pipeline and about one that does not exist are both answered from memory, so
    /// neither spends the quota nor answers in a time that tells the two apart.
    async fn tags_of(&self, pipeline: &str, tags: &TagSource) -> Option<Arc<Vec<(String, String)>>> {
        let key = format!("{}{}", tags.key, pipeline.to_lowercase());
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

/// The identity and request id of a server function or page being served, with access to decide.
#[derive(Clone)]
pub struct Who {
    pub identity: Identity,
    pub request_id: String,
    access: Arc<Access>,
    /// The tags of the place being asked about (its gateway's).
    tags: Option<TagSource>,
}

impl Who {
    /// From inside a server function or server rendering. Fails closed: without the guard's identity
    /// (a route it did not cover) nothing is served.
    pub async fn current(access: Arc<Access>) -> Result<Who, AppError> {
        let parts = leptos_axum::extract::<axum::http::request::Parts>()
            .await
            .map_err(|_| AppError::Server("the request could not be read".into()))?;
        Who::from_parts(&parts.extensions, access)
    }

    pub fn from_parts(ext: &axum::http::Extensions, access: Arc<Access>) -> Result<Who, AppError> {
        let identity = ext
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| AppError::Server("no identity for this request: it did not pass the access guard".into()))?;
        let request_id = ext.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        Ok(Who { identity, request_id, access, tags: None })
    }

    /// Asking about the pipelines of the place whose tags are these.
    pub fn in_place(mut self, tags: TagSource) -> Who {
        self.tags = Some(tags);
        self
    }

    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The place being asked about, as the activity log records it ("" with one place, else
    /// `/{account}/{region}`); None outside any place.
    pub fn place(&self) -> Option<String> {
        self.tags.as_ref().map(|t| t.key.trim_end().to_string())
    }

    pub async fn role(&self, pipeline: &str) -> Option<Role> {
        self.access.role(&self.identity, pipeline, self.tags.as_ref()).await
    }

    /// The person may read `pipeline`, or it answers as an unknown pipeline.
    pub async fn read(&self, pipeline: &str) -> Result<Role, AppError> {
        self.role(pipeline).await.ok_or_else(|| AppError::not_found(Subject::Pipeline(pipeline)))
    }

    /// The person may take `action` on `pipeline` (operator), or a recorded refusal: 404 when they may not
    /// even read it, 403 naming the role needed when they may read it.
    pub async fn operate(&self, pipeline: &str, action: Action, execution_arn: Option<&str>) -> Result<Role, AppError> {
        let role = self.role(pipeline).await;
        if role.is_some_and(|r| r >= Role::Operator) {
            return Ok(role.unwrap_or(Role::Operator));
        }
        let place = self.place();
        self.access
            .record(Record {
                place: place.as_deref(),
                user: &self.identity.user,
                role,
                action,
                outcome: Outcome::Denied,
                pipeline: Some(pipeline),
                execution_arn,
                request_id: &self.request_id,
                error_code: Some("AccessDenied"),
                detail: serde_json::Value::Null,
            })
            .await?;
        match role {
            None => Err(AppError::not_found(Subject::Pipeline(pipeline))),
            Some(_) => Err(AppError::Forbidden(self.me(role).cannot_operate().unwrap_or_default())),
        }
    }

    /// Record an action's outcome (before its answer is sent).
    #[allow(clippy::too_many_arguments)]
    pub async fn record(
        &self,
        role: Option<Role>,
        action: Action,
        pipeline: &str,
        execution_arn: Option<&str>,
        result: Result<(), &AppError>,
        detail: serde_json::Value,
    ) -> Result<(), AppError> {
        let (outcome, code) = match result {
            Ok(()) => (Outcome::Done, None),
            Err(e) => outcome_of(e),
        };
        let place = self.place();
        self.access
            .record(Record {
                place: place.as_deref(),
                user: &self.identity.user,
                role,
                action,
                outcome,
                pipeline: Some(pipeline),
                execution_arn,
                request_id: &self.request_id,
                error_code: code.as_deref(),
                detail,
            })
            .await
    }

    /// The idempotency token SageMaker is sent for a form's `token`: an HMAC of the person and the token
    /// under a key of this Stepline's. A form's token can travel in an address (a refused start form comes
    /// back with what was typed), and a link crafted with someone else's token must not make a person's start
    /// answer with the crafter's execution, recorded as theirs: the same token from two people is two tokens
    /// upstream. The same person sending the same form again still acts once.
    pub fn request_token(&self, token: &str) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.access.token_key, format!("{}\n{token}", self.identity.user).as_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Run an action on the person's behalf (with `--act-role`, with their own credentials).
    pub async fn acting<F: std::future::Future>(&self, f: F) -> F::Output {
        crate::gateway::acting::as_person(&self.identity.user, f).await
    }

    /// What a page says of the person, with their role there (`None` outside a pipeline).
    pub fn me(&self, role: Option<Role>) -> Me {
        Me {
            user: self.identity.user.clone(),
            role,
            can_log_out: self.identity.session,
            contact: self.access.policy().contact.clone(),
        }
    }

    /// The role outside any pipeline, and whether the person has any grant at all.
    pub fn everywhere(&self) -> (Option<Role>, bool) {
        let policy = self.access.policy();
        (policy.everywhere(&self.identity.as_person()), policy.knows(&self.identity.as_person()))
    }
}

/// An error's outcome and code for the activity log.
fn outcome_of(e: &AppError) -> (Outcome, Option<String>) {
    match e {
        AppError::Upstream(u) | AppError::Refused(u) => (Outcome::Refused, Some(u.code.clone())),
        AppError::Form(_) | AppError::Invalid(_) => (Outcome::Invalid, Some("InvalidInput".into())),
        AppError::Forbidden(_) => (Outcome::Denied, Some("AccessDenied".into())),
        AppError::NotFound(_) => (Outcome::Refused, Some("ResourceNotFound".into())),
        AppError::Server(_) => (Outcome::Refused, Some("ServerError".into())),
    }
}

/// Paths served to anyone: health, metrics (no names or ids in them), the login itself, and static files
/// (nothing in them is private).
fn public_path(path: &str) -> bool {
    path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path.starts_with("/auth/")
        || path.starts_with("/pkg/")
        || path == "/favicon.svg"
        || path == "/robots.txt"
}

/// The guard every request passes (see the module's comment).
pub async fn guard(State(access): State<Arc<Access>>, mut req: Request, next: Next) -> Response {
    let request_id = crate::store::random_token(8);
    let nonce = crate::store::random_token(16);
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_string);
    // Probes and scrapes name the pod by its address (a kubelet, a load balancer's health check,
    // Prometheus): they answer for any host, since nothing in them is worth a DNS-rebinding page's while.
    // Paths as the app knows them, without the base path (see `stepline_types::base`).
    let path = stepline_types::base::unbased(req.uri().path()).to_string();
    let probe = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics");
    let host_ok = probe || access.site.host_allowed(host.as_deref().or(req.uri().authority().map(|a| a.as_str())));
    let mut res = if !host_ok {
        plain(
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that host name. Open Stepline at its own address.",
        )
    } else {
        req.extensions_mut().insert(RequestId(request_id.clone()));
        if public_path(&path) {
            next.run(req).await
        } else {
            let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
            match identify(&access, req.headers(), peer).await {
                Ok(Some(identity)) => {
                    // Left on the answer too, for the request's log line (`observe::requests`).
                    let asking = identity.clone();
                    let mut res = if let Err(why) = access.site.origin_allowed(req.method(), req.headers()) {
                        deny_cross_site(&access, &identity, &request_id, &path, why).await
                    } else {
                        req.extensions_mut().insert(identity);
                        next.run(req).await
                    };
                    res.extensions_mut().insert(asking);
                    res
                }
                Ok(None) => login_needed(&access, &req),
                Err(why) => plain(StatusCode::UNAUTHORIZED, &why),
            }
        }
    };
    security_headers(res.headers_mut(), &nonce, &request_id);
    res
}

/// The identity of a request, `None` when it has none (log in first), or why it was refused.
async fn identify(
    access: &Access,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Option<Identity>, String> {
    match access.mode {
        AuthMode::None => Ok(Some(Identity::anonymous())),
        AuthMode::Proxy => match &access.proxy {
            Some(p) => p.identify(headers, peer).await.map(Some),
            None => Err("the proxy's identity cannot be verified".into()),
        },
        AuthMode::Oidc => {
            let Some(id) = oidc::session_cookie(headers, access.secure_cookies) else { return Ok(None) };
            // Keyed by the id itself: this map never leaves the process (the database keeps only digests).
            if let Some(who) = access.sessions.get(&id) {
                return Ok(Some(who));
            }
            match access.db.session_until(&id).await {
                Ok(Some((s, expires_ms))) => {
                    let mut who = Identity::person(s.user, s.groups, true);
                    who.login = Some(SessionRef { digest: crate::store::digest(&id), expires_ms });
                    access.sessions.insert(id, who.clone());
                    Ok(Some(who))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(format!("Sessions cannot be read right now ({e}); try again in a moment.")),
            }
        }
    }
}

/// Not logged in: a page opened in the browser goes to the login and comes back; anything else is told.
fn login_needed(access: &Access, req: &Request) -> Response {
    let page = req.method() == Method::GET
        && req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if access.mode == AuthMode::Oidc && page {
        let back = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let to = stepline_types::base::href(&format!("/auth/login?next={}", stepline_types::model::links::seg(back)));
        return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
    }
    plain(StatusCode::UNAUTHORIZED, "Log in first: open Stepline in the browser and log in, then try again.")
}

async fn deny_cross_site(access: &Access, who: &Identity, request_id: &str, path: &str, why: &str) -> Response {
    let pipeline = path.strip_prefix("/pipelines/").map(|p| p.split('/').next().unwrap_or_default());
    let _ = access
        .record(Record {
            place: None,
            user: &who.user,
            role: None,
            action: action_of_path(path),
            outcome: Outcome::Denied,
            pipeline,
            execution_arn: None,
            request_id,
            error_code: Some("CrossSite"),
            detail: serde_json::json!({ "path": stepline_types::text::clip(path, 200) }),
        })
        .await;
    plain(StatusCode::FORBIDDEN, &format!("Refused: {why}. Nothing was done."))
}

/// The action a refused post would have been, by its server function's path.
fn action_of_path(path: &str) -> Action {
    match path.rsplit('/').next().unwrap_or_default() {
        p if p.starts_with("stop") => Action::Stop,
        p if p.starts_with("retry") => Action::Retry,
        p if p.starts_with("callback") => Action::Approve,
        p if p.starts_with("logout") => Action::Logout,
        _ => Action::Start,
    }
}

pub fn plain(status: StatusCode, text: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text.to_string()).into_response()
}

/// The Content-Security-Policy of every response: scripts only from here and the page's own inline ones
/// (by nonce), WebAssembly compiled from here, no framing, forms only to here.
pub fn csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

fn security_headers(h: &mut HeaderMap, nonce: &str, request_id: &str) {
    // A rendered page has set its own (with the nonce of its inline scripts); everything else gets one
    // with a nonce nothing uses.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(v) = HeaderValue::from_str(&csp(nonce)) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-request-id", v);
    }
}

impl Tags for crate::gateway::Gateway {
    fn tags<'a>(
        &'a self,
        pipeline: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<(String, String)>, stepline_types::model::Upstream>> {
        Box::pin(self.pipeline_tags(pipeline))
    }
}

#[cfg(test)]
mod tests {
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
