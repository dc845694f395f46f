//! Everything that runs only on the server: configuration, the SageMaker gateway, shared watchers, the
//! demo, identity, live streams and the HTTP router.

pub mod access;
pub mod acting;
pub mod assets;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod events;
pub mod exports;
pub mod gateway;
pub mod health;
pub mod limiter;
pub mod logbook;
pub mod observe;
pub mod reuse;
pub mod router;
pub mod scan;
pub mod stale;
pub mod state;
pub mod step_views;
pub mod store;
pub mod views;
pub mod watch;

use std::sync::Arc;

use config::{Backend, Config};
use gateway::Gateway;

/// Parse the command line, connect to the backend and serve until Ctrl-C.
pub async fn run(args: Vec<String>) -> Result<(), String> {
    let config = match config::parse_args(&args)? {
        config::Parsed::Print(text) => {
            println!("{}", text.trim_end());
            return Ok(());
        }
        config::Parsed::Run(config) => *config,
    };
    serve(config).await
}

/// How long requests in flight may take to finish after SIGTERM or Ctrl-C.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(8);

async fn serve(config: Config) -> Result<(), String> {
    // Before anything makes a link (see `crate::base`).
    crate::base::set(&config.base_path);
    observe::logging::init(config.log_format)?;
    observe::prometheus::install()?;
    observe::prometheus::spawn_upkeep();
    let leptos_options = router::leptos_options(&config)?;
    // The emulator of demo mode lives as long as the server.
    let mut _emulator = None;
    let mut limits = limiter::LimiterConfig::default();
    if let Some(n) = config.upstream_concurrency {
        limits.concurrency = n;
    }
    limits.rates.extend(config.upstream_rates.iter().cloned());
    let (gateway, sts) = match &config.backend {
        Backend::Demo { speed } => {
            let emulator = demo::start_emulator().await?;
            let region = config.region.clone().unwrap_or_else(|| "us-east-1".into());
            let client = demo::endpoint_client(&emulator.endpoint_url(), &region);
            tracing::info!("Seeding the built-in SageMaker emulator at {} …", emulator.endpoint_url());
            demo::seed(&emulator, &client, *speed).await?;
            // Strict only once seeded: the history is recorded through the API.
            if config.demo_latency.is_some() || config.demo_quotas.is_some() {
                let mut scenario = emulator.core().lock().scenario.clone();
                scenario.latency = config.demo_latency;
                scenario.quotas = config.demo_quotas.clone();
                emulator.core().set_scenario(scenario).map_err(|e| e.to_string())?;
            }
            let g = Gateway::with_limits(
                client,
                format!("built-in emulator at {} (demo)", emulator.endpoint_url()),
                limits.clone(),
            )
            .with_logs(demo::logs_client(&emulator.endpoint_url(), &region));
            let sts = demo::sts_client(&emulator.endpoint_url(), &region);
            _emulator = Some(emulator);
            (g, sts)
        }
        Backend::Endpoint(url) => {
            let region = config.region.clone().unwrap_or_else(|| "us-east-1".into());
            let g =
                Gateway::with_limits(demo::endpoint_client(url, &region), format!("endpoint {url}"), limits.clone())
                    .with_logs(demo::logs_client(url, &region));
            (g, demo::sts_client(url, &region))
        }
        Backend::Aws => {
            let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
            if let Some(r) = &config.region {
                loader = loader.region(aws_config::Region::new(r.clone()));
            }
            let shared = loader.load().await;
            let region = shared.region().map(|r| r.to_string()).unwrap_or_else(|| "no region set".into());
            let g =
                Gateway::with_limits(aws_sdk_sagemaker::Client::new(&shared), format!("AWS {region}"), limits.clone())
                    .with_logs(aws_sdk_cloudwatchlogs::Client::new(&shared));
            (g, aws_sdk_sts::Client::new(&shared))
        }
    };
    let gateway = match &config.act_role {
        Some(role) => {
            tracing::info!("Actions are taken as each person: AssumeRole on {role} with their SourceIdentity");
            gateway.with_act_role(acting::ActRole::new(role.clone(), sts))
        }
        None => gateway,
    };
    let db = store::Db::open(&config.database).await?;
    let access = Arc::new(access::Access::new(&config.access, db.clone()).await?);
    let database = match (&config.database, db.encrypted().await) {
        (config::Database::Sqlite(p), _) => p.display().to_string(),
        (config::Database::Postgres(_), Ok(Some(true))) => "PostgreSQL (over TLS)".to_string(),
        // Said at every start: sessions and the activity log cross the network in the clear.
        (config::Database::Postgres(_), _) => "PostgreSQL (not encrypted: add ?sslmode=verify-full to the URL)".into(),
    };
    tracing::info!(
        "Access: {}; activity log in {}",
        match config.access.auth {
            config::AuthMode::None => "no login (loopback only), everyone operates",
            config::AuthMode::Oidc => "OpenID Connect login",
            config::AuthMode::Proxy => "identity from the authenticating proxy",
        },
        database
    );
    // Expired sessions and abandoned logins are forgotten every hour.
    tokio::spawn(async move {
        loop {
            let _ = db.purge_expired().await;
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
    let mut state = state::AppState::with_access(leptos_options, Arc::new(gateway), access, Default::default());
    // Replicas on one PostgreSQL share the polling of live views and announce logouts (see `cluster`).
    if let config::Database::Postgres(url) = &config.database {
        let cluster = cluster::Cluster::connect(url).await?;
        state.watchers.join(cluster.clone());
        // Replicas split the account's request budget by the views each polls (see `cluster::Budget`).
        let mut budget = cluster.budget();
        let gateway = state.gateway.clone();
        tokio::spawn(async move {
            loop {
                let b = *budget.borrow_and_update();
                gateway.set_budget_share(b.share);
                metrics::gauge!(observe::CLUSTER_REPLICAS).set(b.replicas as f64);
                metrics::gauge!(observe::CLUSTER_BUDGET_SHARE).set(b.share);
                if budget.changed().await.is_err() {
                    return;
                }
            }
        });
        state.access.join(cluster);
        tracing::info!("Live views are shared with the other replicas on this PostgreSQL");
    }
    state.studio_link = config.studio_link.clone();
    let streams = state.streams.clone();
    let app = router::build(state).await;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("Stepline listening on http://{local}{}", crate::base::get());
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move {
            stepline_emulator::signals::stop_asked().await;
            tracing::info!("Stepline is shutting down: open streams are told to reconnect; in-flight requests finish");
            streams.close_all();
            // Whatever has not finished by then is cut: a container gets SIGKILL soon after anyway.
            tokio::spawn(async {
                tokio::time::sleep(SHUTDOWN_GRACE).await;
                tracing::warn!("requests still open after {} s; exiting", SHUTDOWN_GRACE.as_secs());
                std::process::exit(0);
            });
        })
        .await
        .map_err(|e| format!("server error: {e}"))
}
