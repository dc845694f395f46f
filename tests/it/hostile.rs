//! Hostile input, one table: each row is a request an attacker (or a careless client) sends and the answer
//! that keeps the door shut. Adding a case is one line in `cases()`. The servers are real: Stepline's router
//! behind a trusted proxy, Stepline with its own login against a real OpenID provider (oauth2-mock-server,
//! from the end-to-end suite's npm packages), and the emulator's own router.
//!
//! What each group guards (README, "Security"):
//! - proxy mode reads identity from one header set only;
//! - return addresses after login stay on the site whatever a browser would strip or rewrite;
//! - over https only the `__Host-` session cookie counts;
//! - logins under way write nothing (a flood of `/auth/login` leaves the database as it was);
//! - the URL cannot put words on a page (`?error=`);
//! - a selective re-run's source is an execution of the same pipeline;
//! - the emulator refuses cross-site posts and rebound host names;
//! - bodies over the limit are refused before they are read;
//! - live streams end when their session is logged out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common;

use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use stepline::{demo, router};
use stepline_core::access::Access;
use stepline_core::config::{AccessConfig, AuthMode, HttpUrl, OidcConfig};
use stepline_core::store::Db;
use stepline_core::{gateway::Gateway, state::AppState};
use tower::ServiceExt;

const POLICY: &str = r##"
[[grant]]
groups = ["analysts"]
role = "viewer"
pipelines = ["Abalone*"]

[[grant]]
groups = ["flow-ops"]
role = "operator"
pipelines = ["Abalone*", "ControlFlow*"]

[[grant]]
groups = ["ml-platform"]
role = "admin"
"##;

const HOST: &str = "stepline.test";

/// Which server a case is sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    /// `--auth proxy --trusted-proxy 127.0.0.1/32`, POLICY, the demo's pipelines.
    Proxy,
    /// `--auth oidc --public-url https://stepline.test`, POLICY; requests carry the session of `ana`
    /// (group flow-ops) in the `__Host-` cookie unless the case sets its own cookie.
    Oidc,
    /// The emulator's router.
    Emulator,
}

/// What must come back.
#[derive(Clone, Debug)]
enum Expect {
    Status(u16),
    /// This status, and the body contains the text.
    StatusWith(u16, &'static str),
    /// This status, and the body does not contain the text.
    StatusWithout(u16, &'static str),
    /// A login that ends back on this site (its Location has no other host), whatever `next` said.
    ReturnsToSite,
}

struct Case {
    name: &'static str,
    server: Server,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    expect: Expect,
}

fn case(name: &'static str, server: Server, method: &'static str, path: &str, expect: Expect) -> Case {
    Case { name, server, method, path: path.to_string(), headers: vec![], body: vec![], expect }
}

impl Case {
    fn header(mut self, name: &'static str, value: &str) -> Case {
        self.headers.push((name, value.to_string()));
        self
    }

    fn body(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = body.into();
        self
    }
}

/// The table. `{arn}` in a path or body is the ARN of an execution of ControlFlowPipeline (another
/// pipeline than the one a re-run is for).
fn cases() -> Vec<Case> {
    use Expect::*;
    use Server::*;
    let bob = |c: Case| c.header("x-forwarded-user", "bob").header("x-forwarded-groups", "analysts");
    let login = |next: &str| case("login return", Oidc, "GET", &format!("/auth/login?next={next}"), ReturnsToSite);
    let start = "/api/start";
    let rerun_form = "form[pipeline]=AbalonePipeline&form[token]=hostile-rerun-token-0123456789abcdef01234&\
                      form[source]={arn}&form[steps][AbaloneTrain]=on";
    vec![
        // Proxy mode: identity from the configured headers only.
        bob(case("proxy: a viewer sees what it may", Proxy, "GET", "/pipelines/AbalonePipeline", Status(200))),
        bob(case("proxy: and not the rest", Proxy, "GET", "/pipelines/ControlFlowPipeline", Status(404))),
        bob(case(
            "proxy: X-Auth-Request-Groups is not read",
            Proxy,
            "GET",
            "/pipelines/ControlFlowPipeline",
            Status(404),
        ))
        .header("x-auth-request-groups", "ml-platform"),
        case("proxy: X-Auth-Request-User names nobody", Proxy, "GET", "/", Status(401))
            .header("x-auth-request-user", "root")
            .header("x-auth-request-groups", "ml-platform"),
        case("proxy: preferred username alone names nobody", Proxy, "GET", "/", Status(401))
            .header("x-forwarded-preferred-username", "root")
            .header("x-forwarded-groups", "ml-platform"),
        bob(case("proxy: a second groups header names nobody", Proxy, "GET", "/", Status(401)))
            .header("x-forwarded-groups", "ml-platform"),
        // After login, only this site: every form a browser normalises.
        login("/pipelines/AbalonePipeline"),
        login("//evil.example/"),
        login("/%09/evil.example"),
        login("/%09%5Cevil.example"),
        login("/%0A/evil.example"),
        login("/%0D%0A/evil.example"),
        login("/%5C/evil.example"),
        login("%5C%5Cevil.example"),
        login("/%5C%5Cevil.example"),
        login("https://evil.example/"),
        login("javascript:alert(1)"),
        login("/%2F%2Fevil.example"),
        login("%09//evil.example"),
        // Over https, a plain cookie is no session (a sibling subdomain could have set it).
        case("oidc: the __Host- session cookie opens pages", Oidc, "GET", "/", Status(200)),
        case("oidc: a plain session cookie is not a session", Oidc, "GET", "/", Status(302))
            .header("cookie", "stepline_session={session}"),
        // The URL cannot put words on a page.
        case(
            "oidc: ?error= shows only the page's own sentences",
            Oidc,
            "GET",
            "/pipelines/AbalonePipeline/executions/{id}?error=Your%20account%20is%20locked%3A%20call%20us",
            StatusWithout(200, "account is locked"),
        ),
        // A selective re-run names an execution of its own pipeline only.
        case(
            "oidc: a re-run from another pipeline's execution",
            Oidc,
            "POST",
            start,
            StatusWith(400, "is not an execution of"),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(rerun_form),
        // Bodies over the limit are refused before they are read whole.
        case("oidc: a 3 MB form", Oidc, "POST", start, Status(400))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(vec![b'a'; 3 << 20]),
        // The emulator: no cross-site posts, no rebound names.
        case("emulator: reset from another site", Emulator, "POST", "/_emulator/reset", Status(403))
            .header("host", "127.0.0.1:4566")
            .header("origin", "https://evil.example")
            .header("content-type", "text/plain"),
        case("emulator: a no-cors fetch", Emulator, "POST", "/_emulator/scenario", Status(403))
            .header("host", "127.0.0.1:4566")
            .header("sec-fetch-site", "cross-site")
            .body(r#"{"faults": []}"#),
        case("emulator: seed from a null origin", Emulator, "POST", "/_emulator/seed", Status(403))
            .header("host", "localhost:4566")
            .header("origin", "null"),
        case("emulator: a rebound host name", Emulator, "GET", "/_emulator/stats", Status(421))
            .header("host", "evil.example:4566"),
        case("emulator: an API call from another site", Emulator, "POST", "/", Status(403))
            .header("host", "127.0.0.1:4566")
            .header("origin", "https://evil.example")
            .header("x-amz-target", "SageMaker.DeletePipeline")
            .header("content-type", "text/plain")
            .body(r#"{"PipelineName": "AbalonePipeline", "ClientRequestToken": "0123456789abcdef0123456789abcdef"}"#),
        case("emulator: an API call to a rebound name", Emulator, "POST", "/", Status(421))
            .header("host", "evil.example:4566")
            .header("x-amz-target", "SageMaker.ListPipelines")
            .header("content-type", "application/x-amz-json-1.1")
            .body("{}"),
        case("emulator: an SDK's request", Emulator, "POST", "/", Status(200))
            .header("host", "127.0.0.1:4566")
            .header("x-amz-target", "SageMaker.ListPipelines")
            .header("content-type", "application/x-amz-json-1.1")
            .body("{}"),
    ]
}

/// The servers, made once for the whole table.
struct Servers {
    proxy: Router,
    oidc: Router,
    oidc_db: Db,
    emulator: Router,
    /// The `__Host-` session of `ana` on `oidc`.
    session: String,
    /// An execution of ControlFlowPipeline (not AbalonePipeline's) and one of AbalonePipeline.
    other_arn: String,
    abalone_id: String,
    provider_url: String,
    _provider: Provider,
}

struct Provider(std::process::Child);

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The OpenID provider from the end-to-end suite's packages, signing tokens with `claims`; None (the cases
/// that need it are skipped, saying so) where those packages are not installed.
async fn provider(claims: serde_json::Value) -> Option<(Provider, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("end2end/node_modules/oauth2-mock-server").is_dir() {
        return None;
    }
    let mut child = std::process::Command::new("node")
        .arg(root.join("end2end/tools/oidc-provider.mjs"))
        .env("STEPLINE_TEST_CLAIMS", claims.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let url = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        lines.find_map(|l| l.ok()?.strip_prefix("listening ").map(str::to_string))
    })
    .await
    .ok()??;
    Some((Provider(child), url))
}

async fn demo_gateway() -> (Arc<Gateway>, aws_sdk_sagemaker::Client) {
    let emulator = demo::start_emulator().await.unwrap();
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    demo::seed(&emulator, &client, 2.0).await.unwrap();
    // The emulator lives as long as the test's runtime.
    std::mem::forget(emulator);
    (Arc::new(Gateway::new(client.clone(), "test")), client)
}

/// A directory of its own for each set of servers (the tests run side by side, each with its own database).
fn scratch(name: &str) -> std::path::PathBuf {
    static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("stepline-hostile-{name}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn servers() -> Option<Servers> {
    let claims = serde_json::json!({"sub": "ana-id", "email": "ana@example.test", "email_verified": true,
        "groups": ["flow-ops"]});
    let (provider, provider_url) = provider(claims).await?;
    let (gateway, client) = demo_gateway().await;
    let dir = scratch("servers");
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();

    let proxy_config = AccessConfig {
        auth: AuthMode::Proxy,
        public_url: Some(HttpUrl::parse(&format!("http://{HOST}")).unwrap()),
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        policy: Some(policy.clone()),
        session_hours: 12,
        ..Default::default()
    };
    let access = Arc::new(Access::new(&proxy_config, Db::memory().await.unwrap()).await.unwrap());
    let proxy =
        router::build(AppState::with_access(common::options(), gateway.clone(), access, Default::default())).await;

    let oidc_config = AccessConfig {
        auth: AuthMode::Oidc,
        public_url: Some(HttpUrl::parse(&format!("https://{HOST}")).unwrap()),
        oidc: Some(OidcConfig {
            issuer: provider_url.clone(),
            client_id: "stepline".into(),
            client_secret: Some("not-a-real-secret".into()),
            groups_claim: "groups".into(),
        }),
        policy: Some(policy),
        session_hours: 12,
        ..Default::default()
    };
    let oidc_db = Db::open(&stepline_core::config::Database::Sqlite(dir.join("stepline.db"))).await.unwrap();
    let access = Arc::new(Access::new(&oidc_config, oidc_db.clone()).await.unwrap());
    let oidc =
        router::build(AppState::with_access(common::options(), gateway.clone(), access, Default::default())).await;
    let who = stepline_core::store::SessionUser { user: "ana@example.test".into(), groups: vec!["flow-ops".into()] };
    let session = oidc_db.create_session(&who, 1).await.unwrap();

    let emulator_core = stepline_emulator::build_core(&Default::default()).unwrap();
    let emulator = stepline_emulator::server::router(emulator_core);

    let list = |p: &'static str| {
        let client = client.clone();
        async move {
            let out = client.list_pipeline_executions().pipeline_name(p).send().await.unwrap();
            out.pipeline_execution_summaries()[0].pipeline_execution_arn().unwrap().to_string()
        }
    };
    let other_arn = list("ControlFlowPipeline").await;
    let abalone_id = list("AbalonePipeline").await.rsplit('/').next().unwrap().to_string();
    Some(Servers { proxy, oidc, oidc_db, emulator, session, other_arn, abalone_id, provider_url, _provider: provider })
}

async fn answer(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let res = tokio::time::timeout(Duration::from_secs(60), app.clone().oneshot(req))
        .await
        .expect("answered within 60 s")
        .unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    // Bounded read: a refusal is small.
    let body = to_bytes(res.into_body(), 16 << 20).await.map(|b| String::from_utf8_lossy(&b).into_owned());
    (status, headers, body.unwrap_or_default())
}

fn fill(s: &str, servers: &Servers) -> String {
    s.replace("{arn}", &stepline_types::model::links::seg(&servers.other_arn))
        .replace("{id}", &servers.abalone_id)
        .replace("{session}", &servers.session)
}

/// The case's request as its server receives it.
fn request(c: &Case, servers: &Servers) -> Request<Body> {
    let mut b = Request::builder().method(c.method).uri(fill(&c.path, servers));
    let peer: SocketAddr = ([127, 0, 0, 1], 40000).into();
    b = b.extension(ConnectInfo(peer));
    let mut has_host = false;
    let mut has_cookie = false;
    for (k, v) in &c.headers {
        has_host |= *k == "host";
        has_cookie |= *k == "cookie";
        b = b.header(*k, fill(v, servers));
    }
    if !has_host {
        b = b.header("host", HOST);
    }
    if c.server == Server::Oidc && !has_cookie {
        b = b.header("cookie", format!("__Host-stepline_session={}", servers.session));
    }
    if !c.headers.iter().any(|(k, _)| *k == "accept") {
        b = b.header("accept", "text/html");
    }
    let body =
        String::from_utf8_lossy(&c.body).replace("{arn}", &stepline_types::model::links::seg(&servers.other_arn));
    b.body(Body::from(if c.body.len() > 100_000 { c.body.clone() } else { body.into_bytes() })).unwrap()
}

/// A whole login through the provider with `next`: where Stepline sends the browser at its end.
async fn login_returns_to(servers: &Servers, path: &str) -> Result<String, String> {
    let start = Request::get(path).header("host", HOST).body(Body::empty()).unwrap();
    let (status, headers, body) = answer(&servers.oidc, start).await;
    if status != StatusCode::FOUND {
        return Err(format!("/auth/login answered {status}: {body}"));
    }
    let location = |h: &HeaderMap| h.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("stepline_login="))
        .and_then(|c| c.split(';').next())
        .ok_or("no login cookie")?
        .to_string();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let authorize = location(&headers);
    if !authorize.starts_with(&servers.provider_url) {
        return Err(format!("the login went to {authorize}"));
    }
    let answered = http.get(&authorize).send().await.map_err(|e| e.to_string())?;
    let back = answered.headers().get("location").and_then(|v| v.to_str().ok()).ok_or("the provider did not answer")?;
    let callback = back.strip_prefix(&format!("https://{HOST}")).ok_or(format!("the provider sent to {back}"))?;
    let req = Request::get(callback).header("host", HOST).header("cookie", cookie).body(Body::empty()).unwrap();
    let (status, headers, body) = answer(&servers.oidc, req).await;
    if status != StatusCode::FOUND {
        return Err(format!("the callback answered {status}: {body}"));
    }
    Ok(location(&headers))
}

#[tokio::test]
async fn hostile_requests_get_the_answers_that_keep_the_door_shut() {
    let Some(servers) = servers().await else {
        println!("SKIPPED: the OpenID provider (end2end/node_modules/oauth2-mock-server) is not installed: run scripts/install-tools.sh");
        return;
    };
    let site = url::Url::parse(&format!("https://{HOST}/")).unwrap();
    let mut failures = vec![];
    for c in cases() {
        let got = match (&c.expect, c.server) {
            (Expect::ReturnsToSite, _) => match login_returns_to(&servers, &c.path).await {
                Ok(location) => {
                    let followed = site.join(&location).map(|u| u.host_str().map(str::to_string));
                    if followed == Ok(Some(HOST.to_string())) && !location.contains(['\t', '\n', '\r', '\\']) {
                        Ok(())
                    } else {
                        Err(format!("ended at {location:?}"))
                    }
                }
                Err(e) => Err(e),
            },
            (expect, server) => {
                let app = match server {
                    Server::Proxy => &servers.proxy,
                    Server::Oidc => &servers.oidc,
                    Server::Emulator => &servers.emulator,
                };
                let (status, _, body) = answer(app, request(&c, &servers)).await;
                let (want, ok) = match expect {
                    Expect::Status(s) => (*s, true),
                    Expect::StatusWith(s, text) => (*s, body.contains(text)),
                    Expect::StatusWithout(s, text) => (*s, !body.contains(text)),
                    Expect::ReturnsToSite => unreachable!(),
                };
                if status.as_u16() == want && ok {
                    Ok(())
                } else {
                    Err(format!("answered {status}, wanted {expect:?}: {}", body.chars().take(300).collect::<String>()))
                }
            }
        };
        match got {
            Ok(()) => println!("ok: {}", c.name),
            Err(e) => failures.push(format!("{} ({} {}): {e}", c.name, c.method, c.path)),
        }
    }
    assert!(failures.is_empty(), "{} hostile cases answered wrongly:\n{}", failures.len(), failures.join("\n"));
}

/// Unauthenticated logins write nothing: a flood of `/auth/login` leaves the database's tables as they were.
#[tokio::test]
async fn a_flood_of_logins_writes_nothing() {
    let Some(servers) = servers().await else {
        println!("SKIPPED: the OpenID provider is not installed");
        return;
    };
    let count = |db: Db| async move {
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(db.pool()).await.unwrap();
        let activity: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activity").fetch_one(db.pool()).await.unwrap();
        sessions + activity
    };
    let before = count(servers.oidc_db.clone()).await;
    for n in 0..300 {
        let next = format!("/auth/login?next=/{}", "a".repeat(1000 + n));
        let req = Request::get(next).header("host", HOST).body(Body::empty()).unwrap();
        assert_eq!(answer(&servers.oidc, req).await.0, StatusCode::FOUND);
    }
    assert_eq!(count(servers.oidc_db.clone()).await, before, "no row for a login that was only started");
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(servers.oidc_db.pool())
        .await
        .unwrap();
    assert!(!tables.iter().any(|t| t == "login_states"), "{tables:?}");
}

/// A live stream of a logged-in person ends with a `revoked` event when the session is logged out.
#[tokio::test]
async fn live_streams_end_when_their_session_logs_out() {
    use futures::StreamExt;
    let Some(servers) = servers().await else {
        println!("SKIPPED: the OpenID provider is not installed");
        return;
    };
    let cookie = format!("__Host-stepline_session={}", servers.session);
    let open = Request::get("/events/pipelines/AbalonePipeline/executions")
        .header("host", HOST)
        .header("cookie", &cookie)
        .header("accept", "text/event-stream")
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40001))))
        .body(Body::empty())
        .unwrap();
    let res = servers.oidc.clone().oneshot(open).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body().into_data_stream();
    let first = tokio::time::timeout(Duration::from_secs(30), body.next()).await.unwrap().unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: changed"), "{first:?}");

    let logout = Request::post("/auth/logout")
        .header("host", HOST)
        .header("cookie", &cookie)
        .header("origin", format!("https://{HOST}"))
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap();
    assert_eq!(answer(&servers.oidc, logout).await.0, StatusCode::SEE_OTHER);
    let mut seen = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream went on after the logout: {seen}");
    assert!(seen.contains("event: revoked") && seen.contains("logged-out"), "{seen}");
    // And the session opens nothing more.
    let again = Request::get("/events/pipelines/AbalonePipeline/executions")
        .header("host", HOST)
        .header("cookie", &cookie)
        .header("accept", "text/event-stream")
        .body(Body::empty())
        .unwrap();
    assert_eq!(answer(&servers.oidc, again).await.0, StatusCode::UNAUTHORIZED);
}
