//! Parse the command line, connect to the backend and serve.

use stepline_core::{access, cluster, config, gateway, limiter, notify, observe, places, state, store};

use crate::{demo, router};
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
    // Before anything makes a link (see `stepline_types::base`).
    stepline_types::base::set(&config.base_path, &config.base_path);
    observe::logging::init(config.log_format)?;
    observe::prometheus::install()?;
    observe::prometheus::spawn_upkeep();
    let leptos_options = router::leptos_options(&config)?;
    // Notifications: their settings checked first, so a mistake in them stops the start at once, saying where.
    let notify_settings = config.notify.as_deref().map(notify::LiveSettings::load).transpose()?;
    // The emulator of demo mode lives as long as the server.
    let mut _emulator = None;
    let mut limits = limiter::LimiterConfig::default();
    if let Some(n) = config.upstream_concurrency {
        limits.concurrency = n;
    }
    limits.rates.extend(config.upstream_rates.iter().cloned());
    // One connection per account and region shown (several with `--aws a@eu-west-1,b@…`).
    let mut upstreams = Vec::new();
    match &config.backend {
        Backend::Demo { speed } => {
            // `--events-queue NAME` in demo mode: the embedded emulator's rule sends SageMaker's events there.
            let events_queue = config.events_queue.iter().find_map(|q| match q {
                config::EventsQueue::Name(n) => Some(n.clone()),
                config::EventsQueue::Url(_) => None,
            });
            let emulator = demo::start_emulator_with_events(events_queue).await?;
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
            .with_logs(demo::logs_client(&emulator.endpoint_url(), &region))
            .with_sqs(demo::sqs_client(&emulator.endpoint_url(), &region))
            .with_pricing(demo::pricing_client(&emulator.endpoint_url(), "us-east-1"));
            let sts = demo::sts_client(&emulator.endpoint_url(), &region);
            _emulator = Some(emulator);
            // An endpoint need not honour the client's region: ARNs are judged by account alone.
            upstreams.push(Upstream { gateway: g, sts, label: "demo".into(), region: String::new() });
        }
        Backend::Endpoint(url) => {
            let region = config.region.clone().unwrap_or_else(|| "us-east-1".into());
            let g = Gateway::with_limits(
                demo::endpoint_client(url.as_str(), &region),
                format!("endpoint {url}"),
                limits.clone(),
            )
            .with_logs(demo::logs_client(url.as_str(), &region))
            .with_sqs(demo::sqs_client(url.as_str(), &region))
            .with_pricing(demo::pricing_client(url.as_str(), "us-east-1"));
            upstreams.push(Upstream {
                gateway: g,
                sts: demo::sts_client(url.as_str(), &region),
                label: url.to_string(),
                region: String::new(),
            });
        }
        Backend::Aws(specs) => {
            for spec in specs {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(p) = &spec.profile {
                    loader = loader.profile_name(p);
                }
                if let Some(r) = spec.region.as_ref().or(config.region.as_ref()) {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                let shared = loader.load().await;
                let region = shared.region().map(|r| r.to_string()).ok_or_else(|| {
                    format!("--aws {spec}: no region (give one as {spec}@REGION, with --region, or in the profile)")
                })?;
                let label = match &spec.profile {
                    Some(p) => format!("{p}@{region}"),
                    None => region.clone(),
                };
                let g = Gateway::with_limits(
                    aws_sdk_sagemaker::Client::new(&shared),
                    format!(
                        "AWS {region}{}",
                        spec.profile.as_ref().map(|p| format!(" (profile {p})")).unwrap_or_default()
                    ),
                    limits.clone(),
                )
                .with_logs(aws_sdk_cloudwatchlogs::Client::new(&shared))
                .with_sqs(aws_sdk_sqs::Client::new(&shared))
                // The Price List answers in us-east-1 (and two other regions) for every region's prices.
                .with_pricing(aws_sdk_pricing::Client::from_conf(
                    aws_sdk_pricing::config::Builder::from(&shared)
                        .region(aws_sdk_pricing::config::Region::new("us-east-1"))
                        .build(),
                ));
                upstreams.push(Upstream { gateway: g, sts: aws_sdk_sts::Client::new(&shared), label, region });
            }
        }
    }
    let places = places_of(upstreams, &config.act_role).await?;
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
    let notify_db = db.clone();
    // Expired sessions and abandoned logins are forgotten every hour.
    tokio::spawn(async move {
        loop {
            let _ = db.purge_expired().await;
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
    let mut states: Vec<state::AppState> = places
        .into_iter()
        .map(|(place, gateway)| {
            let mut state = state::AppState::with_access(
                leptos_options.clone(),
                Arc::new(gateway),
                access.clone(),
                Default::default(),
            );
            state.place = Arc::new(place);
            state.studio_link = config.studio_link.clone();
            state
        })
        .collect();
    // One set of open streams (capped per person), one readiness and one price book for all places.
    let price_file = match &config.prices {
        Some(path) => stepline_core::prices::read_price_file(path)?,
        None => Default::default(),
    };
    let prices = Arc::new(stepline_core::prices::Prices::new(notify_db.clone(), price_file));
    let (streams, ready) = (states[0].streams.clone(), states[0].ready.clone());
    for s in &mut states {
        s.streams = streams.clone();
        s.ready = ready.clone();
        s.prices = prices.clone();
    }
    // Replicas on one PostgreSQL share the polling of live views and announce logouts (see `cluster`).
    let mut shared = None;
    if let config::Database::Postgres(url) = &config.database {
        let cluster = cluster::Cluster::connect(url).await?;
        shared = Some(cluster.clone());
        for s in &states {
            s.watchers.join(cluster.clone(), s.place.key());
        }
        // Replicas split each account's request budget by the views each polls (see `cluster::Budget`).
        let mut budget = cluster.budget();
        let gateways: Vec<_> = states.iter().map(|s| s.gateway.clone()).collect();
        tokio::spawn(async move {
            loop {
                let b = *budget.borrow_and_update();
                for g in &gateways {
                    g.set_budget_share(b.share);
                }
                metrics::gauge!(observe::CLUSTER_REPLICAS).set(b.replicas as f64);
                metrics::gauge!(observe::CLUSTER_BUDGET_SHARE).set(b.share);
                if budget.changed().await.is_err() {
                    return;
                }
            }
        });
        access.join(cluster);
        tracing::info!("Live views are shared with the other replicas on this PostgreSQL");
    }
    if let Some(settings) = notify_settings {
        // Links in messages: the public URL, else where this process listens (loopback, no login).
        let origin = match &config.access.public_url {
            Some(url) => url.origin(),
            None => format!("http://{}", config.addr),
        };
        let watches = Arc::new(notify::Watches::default());
        let notifier =
            Arc::new(notify::Notifier { settings: settings.clone(), origin: origin.clone(), watches: watches.clone() });
        for s in &mut states {
            s.notify = Some(notifier.clone());
        }
        let whose: Vec<(Option<String>, String)> =
            states.iter().map(|s| (s.place.account.clone(), s.place.region.clone())).collect();
        let queues = config::EventsQueue::assign(&config.events_queue, &whose)?;
        let places = states.iter().zip(queues).map(|(s, q)| (s.place.clone(), s.gateway.clone(), q)).collect();
        notify::spawn(settings, notify_db, places, origin, shared, watches, Some(access.clone()))?;
    }
    let app = router::build_places(states).await;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("Stepline listening on http://{local}{}", stepline_types::base::get());
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

/// A connection to one account and region, before its account is known.
struct Upstream {
    gateway: Gateway,
    sts: aws_sdk_sts::Client,
    label: String,
    /// The region ARNs of it carry; empty when the endpoint may not honour the client's (emulators).
    region: String,
}

/// The places to show, each with its gateway: with one, its account is asked once and may stay unknown;
/// with several, every account must be known (it is in their URLs), and no two may be the same account
/// and region. `--act-role` gives each place the role of its account.
async fn places_of(upstreams: Vec<Upstream>, act_roles: &[String]) -> Result<Vec<(places::Place, Gateway)>, String> {
    let several = upstreams.len() > 1;
    let mut out: Vec<(places::Place, Gateway)> = Vec::new();
    for u in upstreams {
        let account = if several {
            Some(
                places::account_of(&u.sts)
                    .await
                    .map_err(|e| format!("--aws {}: cannot tell its account (STS GetCallerIdentity: {e})", u.label))?,
            )
        } else {
            match tokio::time::timeout(std::time::Duration::from_secs(5), places::account_of_once(&u.sts)).await {
                Ok(Ok(a)) => Some(a),
                Ok(Err(e)) => {
                    tracing::warn!("the account of {} is unknown (STS GetCallerIdentity: {e}); pasted ARNs open whatever their account", u.label);
                    None
                }
                Err(_) => {
                    tracing::warn!("the account of {} is unknown (STS did not answer in 5 s)", u.label);
                    None
                }
            }
        };
        let place = match (several, account) {
            (true, Some(a)) => places::Place::among_several(u.label.clone(), a, u.region.clone()),
            (_, account) => places::Place::single(u.label.clone(), account, u.region.clone()),
        };
        if let Some((other, _)) = out.iter().find(|(p, _)| p.base == place.base) {
            return Err(format!(
                "--aws {} and {} are the same account and region ({}): name each once",
                other.label, place.label, place.base
            ));
        }
        let role = act_roles.iter().find(|r| place.account.as_deref() == Some(config::role_account(r)));
        let role = match (role, act_roles) {
            (Some(r), _) => Some(r.clone()),
            (None, []) => None,
            // One role and one place whose account is unknown: the role is the one meant.
            (None, [only]) if !several => Some(only.clone()),
            (None, _) => {
                return Err(format!(
                    "--act-role names no role of account {} ({}): actions there would not carry the person",
                    place.account.as_deref().unwrap_or("unknown"),
                    place.label
                ))
            }
        };
        let gateway = match role {
            Some(role) => {
                tracing::info!(
                    "Actions in {} are taken as each person: AssumeRole on {role} with their SourceIdentity",
                    place.label
                );
                u.gateway.with_act_role(gateway::acting::ActRole::new(role, u.sts))
            }
            None => u.gateway,
        };
        if several {
            gateway.set_place(
                place.base.strip_prefix(stepline_types::base::root()).unwrap_or(place.base).trim_start_matches('/'),
            );
        }
        out.push((place, gateway));
    }
    if several {
        stepline_types::base::set_places(out.iter().map(|(p, _)| p.link()).collect());
        tracing::info!(
            "Showing {} accounts and regions: {}",
            out.len(),
            out.iter().map(|(p, _)| format!("{} at {}", p.label, p.base)).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(out)
}
