//! Team access benchmark (figures in BENCHMARKS.md):
//!
//! i. page render and server-function latency with the built-in login (`oidc`, a session looked up in the
//!    database on every request) and a policy, against no login (`none`);
//! j. activity writes a second with 50 concurrent actors, on SQLite and on PostgreSQL;
//! k. the activity log with 1,000,000 records: a page filtered by user, as the query and as the whole page.
//!
//! PostgreSQL is used when `STEPLINE_BENCH_DATABASE_URL` names one (`scripts/postgres.sh start DIR PORT`
//! makes one); otherwise its rows say it was not measured.
//! Run: `cargo bench --bench access`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::http::Request;
use leptos::prelude::LeptosOptions;
use stepline::{demo, router};
use stepline_core::access::Access;
use stepline_core::config::{AccessConfig, AuthMode, Database, HttpUrl, OidcConfig};
use stepline_core::store::Db;
use stepline_core::store::SessionUser;
use stepline_core::store::{Record, Scope};
use stepline_core::{gateway::Gateway, state::AppState};
use stepline_types::model::activity::{Action, Filter, Outcome};
use tower::ServiceExt;

type Res<T> = Result<T, String>;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn options() -> LeptosOptions {
    LeptosOptions::builder().output_name("stepline").site_root("target/site").build()
}

fn main() -> std::process::ExitCode {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    match rt.block_on(run()) {
        Ok(rows) => {
            println!("\n## Stepline team access benchmark\n");
            println!("| part | measurement | figure | note |");
            println!("|---|---|---|---|");
            for r in rows {
                println!("{r}");
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("access bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Res<Vec<String>> {
    let mut rows = vec![];
    let parts = std::env::var("STEPLINE_BENCH_PARTS").unwrap_or_else(|_| "ijk".into());
    if parts.contains('i') {
        eprintln!("i. oidc + policy against none …");
        rows.extend(login_overhead().await?);
    }
    let pg = std::env::var("STEPLINE_BENCH_DATABASE_URL").ok();
    let scratch = std::env::temp_dir().join(format!("stepline-bench-access-{}", std::process::id()));
    if parts.contains('j') {
        eprintln!("j. activity writes with 50 actors …");
        let sqlite = Db::open(&Database::Sqlite(scratch.join("writes.db"))).await?;
        rows.push(writes(&sqlite, "SQLite (WAL, synchronous=NORMAL)").await?);
        match &pg {
            Some(url) => {
                rows.push(writes(&Db::open(&Database::Postgres(url.clone())).await?, "PostgreSQL 15, loopback").await?)
            }
            None => rows.push(
                "| j | activity writes/s, PostgreSQL | not measured | STEPLINE_BENCH_DATABASE_URL not set |".into(),
            ),
        }
    }
    if parts.contains('k') {
        eprintln!("k. 1,000,000 records …");
        let sqlite = Db::open(&Database::Sqlite(scratch.join("million.db"))).await?;
        rows.extend(million(&sqlite, "SQLite").await?);
        if let Some(url) = &pg {
            rows.extend(million(&Db::open(&Database::Postgres(url.clone())).await?, "PostgreSQL").await?);
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
    Ok(rows)
}

/// The whole `/activity?user=…` page over the million records, rendered for an admin (server time).
async fn activity_page(db: &Db, what: &str) -> Res<String> {
    let dir = std::env::temp_dir().join(format!("stepline-bench-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[grant]]\ngroups = [\"platform\"]\nrole = \"admin\"\n").map_err(|e| e.to_string())?;
    let config = AccessConfig {
        auth: AuthMode::Proxy,
        public_url: Some(HttpUrl::parse("http://127.0.0.1").unwrap()),
        trusted_proxies: vec!["127.0.0.1/32".parse().map_err(|e: ipnet::AddrParseError| e.to_string())?],
        policy: Some(policy),
        session_hours: 12,
        ..Default::default()
    };
    let access = Arc::new(Access::new(&config, db.clone()).await?);
    // An admin's activity page asks SageMaker nothing: the gateway's endpoint is never called.
    let gateway = Arc::new(Gateway::new(demo::endpoint_client("http://127.0.0.1:9", "us-east-1"), "none"));
    let app = router::build(AppState::with_access(options(), gateway, access, Default::default())).await;
    let mut times = vec![];
    for i in 0..40 {
        let req = Request::get("/activity?user=user-137")
            .header("accept", "text/html")
            .header("host", "127.0.0.1")
            .header("x-forwarded-user", "root")
            .header("x-forwarded-groups", "platform")
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 1))))
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let t = Instant::now();
        let res = app.clone().oneshot(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        let body = to_bytes(res.into_body(), 64 << 20).await.map_err(|e| e.to_string())?;
        if i >= 10 {
            times.push(ms(t.elapsed()));
        }
        if !status.is_success() || !String::from_utf8_lossy(&body).contains("data-action=") {
            return Err(format!("/activity: HTTP {status}"));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(format!(
        "| k | 1,000,000 records, the whole /activity?user= page (100 rows) for an admin, {what} | {:.2} ms | median of 30 server renders; p90 {:.2} ms |",
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.9)
    ))
}

/// A provider with just enough for discovery: the login flow itself is not timed, only requests with a
/// session, as every request after login is.
async fn fake_provider() -> Res<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let doc = serde_json::json!({
        "issuer": base, "authorization_endpoint": format!("{base}/authorize"), "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"), "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"]
    });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let d = doc.clone();
                async move { axum::Json(d) }
            }),
        )
        .route("/jwks", axum::routing::get(|| async { axum::Json(serde_json::json!({"keys": []})) }));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Ok(base)
}

/// i. The same pages and server function, timed alternately on a dashboard without login and on one with
/// the built-in login and a policy, over one seeded emulator.
async fn login_overhead() -> Res<Vec<String>> {
    let emulator = demo::start_emulator().await?;
    let client = demo::endpoint_client(&emulator.endpoint_url(), "us-east-1");
    demo::seed(&emulator, &client, 20.0).await?;
    let gateway = Arc::new(Gateway::new(client.clone(), "bench"));
    let none = router::build(AppState::new(options(), gateway.clone()).await).await;

    let dir = std::env::temp_dir().join(format!("stepline-bench-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[grant]]\ngroups = [\"ml\"]\nrole = \"operator\"\npipelines = [\"Abalone*\", \"ControlFlow*\", \"Feature*\"]\n")
        .map_err(|e| e.to_string())?;
    let issuer = fake_provider().await?;
    let config = AccessConfig {
        auth: AuthMode::Oidc,
        public_url: Some(HttpUrl::parse("http://127.0.0.1").unwrap()),
        oidc: Some(OidcConfig {
            issuer,
            client_id: "bench".into(),
            client_secret: None,
            groups_claim: "groups".into(),
        }),
        policy: Some(policy),
        session_hours: 12,
        ..Default::default()
    };
    let db = Db::open(&Database::Sqlite(dir.join("stepline.db"))).await?;
    let session = db.create_session(&SessionUser { user: "ana".into(), groups: vec!["ml".into()] }, 12).await?;
    let access = Arc::new(Access::new(&config, db).await?);
    let oidc = router::build(AppState::with_access(options(), gateway, access, Default::default())).await;

    let out = client
        .list_pipeline_executions()
        .pipeline_name("AbalonePipeline")
        .max_results(10)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let id = out
        .pipeline_execution_summaries()
        .iter()
        .find_map(|s| s.pipeline_execution_arn())
        .map(|a| a.rsplit('/').next().unwrap_or_default().to_string())
        .unwrap_or_default();
    let cookie = format!("stepline_session={session}");
    let targets = [
        ("page /pipelines/AbalonePipeline", "GET", "/pipelines/AbalonePipeline".to_string(), String::new()),
        ("execution page", "GET", format!("/pipelines/AbalonePipeline/executions/{id}"), String::new()),
        (
            "server function /api/execution",
            "POST",
            "/api/execution".to_string(),
            format!("{{\"pipeline\":\"AbalonePipeline\",\"id\":\"{id}\"}}"),
        ),
    ];
    let mut rows = vec![];
    for (name, method, path, body) in targets {
        let (mut a, mut b) = (vec![], vec![]);
        for i in 0..240 {
            for (app, times, with_cookie) in [(&none, &mut a, false), (&oidc, &mut b, true)] {
                let mut req = Request::builder().method(method).uri(&path).header("host", "127.0.0.1");
                req = if method == "POST" {
                    req.header("content-type", "application/json")
                } else {
                    req.header("accept", "text/html")
                };
                if with_cookie {
                    req = req.header("cookie", &cookie);
                }
                let req = req.body(Body::from(body.clone())).map_err(|e| e.to_string())?;
                let t = Instant::now();
                let res = app.clone().oneshot(req).await.map_err(|e| e.to_string())?;
                let status = res.status();
                let location = res.headers().get("location").map(|l| format!("{l:?}")).unwrap_or_default();
                let body_bytes = to_bytes(res.into_body(), 64 << 20).await.unwrap_or_default();
                if i >= 40 {
                    times.push(ms(t.elapsed()));
                }
                if !status.is_success() {
                    return Err(format!(
                        "{name}: HTTP {status} {location} (login: {with_cookie}): {}",
                        String::from_utf8_lossy(&body_bytes)
                    ));
                }
            }
        }
        let (pa, pb) = (percentile(&mut a, 0.5), percentile(&mut b, 0.5));
        rows.push(format!(
            "| i | {name}: median, none → oidc + policy | {pa:.2} ms → {pb:.2} ms ({:+.1}%) | 200 requests each, alternated, after 40 warm-up; p90 {:.2} → {:.2} ms |",
            (pb / pa - 1.0) * 100.0,
            percentile(&mut a, 0.9),
            percentile(&mut b, 0.9)
        ));
    }
    std::fs::remove_dir_all(&dir).ok();
    emulator.shutdown().await;
    Ok(rows)
}

/// j. 50 actors append records as fast as they can for 5 s.
async fn writes(db: &Db, what: &str) -> Res<String> {
    let until = Instant::now() + Duration::from_secs(5);
    let mut tasks = vec![];
    for actor in 0..50 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let user = format!("actor-{actor}");
            let mut lat = vec![];
            while Instant::now() < until {
                let t = Instant::now();
                db.append(&Record {
                    place: Some(""),
                    user: &user,
                    role: Some(stepline_types::model::access::Role::Operator),
                    action: Action::Stop,
                    outcome: Outcome::Done,
                    pipeline: Some("AbalonePipeline"),
                    execution_arn: Some(
                        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/abalonepipeline/execution/abc",
                    ),
                    request_id: "bench",
                    error_code: None,
                    detail: serde_json::json!({"parameters": {"MseThreshold": "7.0"}}),
                })
                .await?;
                lat.push(ms(t.elapsed()));
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    let n = all.len();
    Ok(format!(
        "| j | activity writes/s, 50 concurrent actors, {what} | {:.0}/s | {n} records in 5 s; append p50 {:.2} ms, p99 {:.2} ms |",
        n as f64 / 5.0,
        percentile(&mut all, 0.5),
        percentile(&mut all, 0.99)
    ))
}

/// k. 1,000,000 records of 200 users over 50 pipelines, then a page of one user's, newest first.
async fn million(db: &Db, what: &str) -> Res<Vec<String>> {
    let t = Instant::now();
    let batch = 500;
    let mut n = 0usize;
    let mut tx = db.pool().begin().await.map_err(|e| e.to_string())?;
    while n < 1_000_000 {
        let mut sql = String::from(
            "INSERT INTO activity (at_ms, user_name, role, action, outcome, pipeline, execution_arn, request_id, error_code, detail) VALUES ",
        );
        for i in 0..batch {
            let k = n + i;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({}, 'user-{}', 'operator', '{}', 'done', 'pipeline-{}', 'arn:aws:sagemaker:us-east-1:123456789012:pipeline/pipeline-{}/execution/e{k}', 'r{k}', NULL, '{{}}')",
                1_700_000_000_000i64 + k as i64 * 1000,
                k % 200,
                ["start", "stop", "retry", "approve"][k % 4],
                k % 50,
                k % 50,
            ));
        }
        sqlx::query(&sql).execute(&mut *tx).await.map_err(|e| e.to_string())?;
        n += batch;
        if n.is_multiple_of(100_000) {
            tx.commit().await.map_err(|e| e.to_string())?;
            tx = db.pool().begin().await.map_err(|e| e.to_string())?;
        }
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    let load = t.elapsed();
    let mut rows = vec![];
    for (label, filter, scope) in [
        ("filtered by user, admin", Filter { user: Some("user-137".into()), ..Default::default() }, Scope::Everything),
        (
            "filtered by user and action, admin",
            Filter { user: Some("user-137".into()), action: Some(Action::Stop), ..Default::default() },
            Scope::Everything,
        ),
        (
            "unfiltered, a reader of 10 pipelines",
            Filter::default(),
            Scope::Readable {
                user: "user-3".into(),
                places: vec![stepline_core::store::PlaceScope {
                    place: String::new(),
                    pipelines: (0..10).map(|p| format!("pipeline-{p}")).collect(),
                    with_unplaced: true,
                }],
            },
        ),
    ] {
        let mut times = vec![];
        for _ in 0..30 {
            let t = Instant::now();
            let page = db.page(&filter, &scope, 100).await?;
            times.push(ms(t.elapsed()));
            if page.entries.len() != 100 {
                return Err(format!("{label}: {} records, not 100", page.entries.len()));
            }
        }
        rows.push(format!(
            "| k | 1,000,000 records, a page of 100 {label}, {what} | {:.2} ms | median of 30; p90 {:.2} ms (loaded in {:.0} s) |",
            percentile(&mut times, 0.5),
            percentile(&mut times, 0.9),
            load.as_secs_f64()
        ));
    }
    rows.push(activity_page(db, what).await?);
    Ok(rows)
}
