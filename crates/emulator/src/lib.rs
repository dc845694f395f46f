//! A local emulator of the Amazon SageMaker Pipelines API with real execution semantics.
//!
//! It speaks the service's wire protocol (AWS JSON 1.1), so the AWS SDKs, boto3, the SageMaker Python SDK
//! and the AWS CLI can point at it, and it runs pipeline definitions the way the service does: steps start
//! when their dependencies finish, conditions pick branches, jobs fail and retry, caches hit, callbacks
//! wait, stops and retries follow the service's rules. Job steps are simulated; a scenario says how.
//!
//! Layers, top to bottom: `server` (HTTP) → `ops` (the 29 operations, validated by `shapes` against the
//! botocore model) → `store` (state) and `engine` (execution semantics, pure) ← `runtime` (the lock and
//! the scheduler) → `persist` (SQLite, with `--data-dir`).
//!
//! The jobs steps create are records of their own (`state::JobRun`), described by `describe` (on `jobs`'
//! properties; `job_view`, `tuning` for a tuning job's trials), and write CloudWatch logs simulated line by
//! line (`logs`), which the same endpoint serves as CloudWatch Logs (`ops::dispatch_logs`, read by
//! `log_query`).
//!
//! The model registry (`registry`, `ops::registry`) holds the groups and versions created through the API and
//! the approvals changed through it; the versions RegisterModel steps registered are their jobs.
//!
//! The same endpoint serves STS (`sts`, in the awsQuery protocol of `query`): `AssumeRole` issues credentials
//! whose role session (`sessions`), SourceIdentity included, names the caller in CreatedBy and LastModifiedBy.

pub mod cli;
pub mod clock;
pub mod describe;
pub mod draws;
pub mod engine;
pub mod error;
pub mod guard;
pub mod job_view;
pub mod jobs;
pub mod log_query;
pub mod logs;
pub mod ops;
pub mod paging;
pub mod persist;
pub mod query;
pub mod random;
pub mod registry;
pub mod runtime;
pub mod scenario;
pub mod seed;
pub mod server;
pub mod sessions;
pub mod settings_file;
pub mod shapes;
pub mod signals;
pub mod sqs;
pub mod state;
pub mod store;
pub mod strict;
pub mod sts;
pub mod tuning;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use error::EmulatorError;
pub use jobs::Account;
pub use runtime::Core;
pub use scenario::Scenario;

/// How to run an emulator.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Keep state in SQLite here so it survives restarts; in memory when absent.
    pub data_dir: Option<PathBuf>,
    /// Replaces the stored scenario when given.
    pub scenario: Option<Scenario>,
    /// Simulated seconds per real second.
    pub speed: f64,
    pub account: Account,
    /// Override the scenario's latency and quotas (`--latency`, `--quota`), keeping the rest of it.
    pub latency: Option<strict::Latency>,
    pub quotas: Option<strict::Quotas>,
    /// History to add at start, straight into the store (`--seed`).
    pub seed: Option<seed::Seed>,
    /// Host names answered besides IP addresses and localhost (`--allowed-host`; see `guard`).
    pub allowed_hosts: Vec<String>,
    /// The SQS queue SageMaker's events go to, created at start (`--events-queue`; see `sqs::events`).
    /// Without it events go to `sagemaker-events` once a client creates that queue.
    pub events_queue: Option<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            scenario: None,
            speed: 60.0,
            account: Account::default(),
            latency: None,
            quotas: None,
            seed: None,
            allowed_hosts: Vec::new(),
            events_queue: None,
        }
    }
}

/// A running emulator: its address, and a handle to stop it.
pub struct RunningEmulator {
    addr: SocketAddr,
    core: Arc<Core>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningEmulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to give an AWS client as its endpoint.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn core(&self) -> Arc<Core> {
        self.core.clone()
    }

    /// Stop serving and stop the scheduler.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Build the service state: open (and load) the data dir, apply the scenario.
pub fn build_core(config: &EmulatorConfig) -> Result<Arc<Core>, EmulatorError> {
    let mut store = store::Store::default();
    let mut scenario = Scenario::default();
    let db = match &config.data_dir {
        Some(dir) => {
            let db = persist::Db::open(dir)?;
            let loaded = db.load()?;
            for p in loaded.pipelines {
                store.pipelines.insert(p.name.to_lowercase(), p);
            }
            let mut executions = loaded.executions;
            executions.sort_by(|a, b| a.created.total_cmp(&b.created));
            for ex in executions {
                sqs::events::remember(&mut store.published, &ex);
                store.insert_execution(ex);
            }
            for (op, token, answer) in loaded.idempotency {
                store.idempotency.insert((op, token), answer);
            }
            for (p, s, k, run) in loaded.cache {
                store.cache.entry((p, s, k)).or_default().push(run);
            }
            for runs in store.cache.values_mut() {
                runs.sort_by(|a, b| a.finished.total_cmp(&b.finished));
            }
            for session in loaded.sessions {
                store.sessions.insert(session);
            }
            for q in loaded.queues {
                store.queues.insert(q.name.clone(), q);
            }
            ops::registry::restore(&mut store.registry, loaded.registry);
            for c in store.registry.created.values() {
                let top = store.package_versions.entry(c.group.to_lowercase()).or_insert(0);
                *top = (*top).max(c.version);
            }
            if let Some(text) = loaded.scenario {
                scenario = Scenario::parse(&text)?;
            }
            Some(db)
        }
        None => None,
    };
    let mut inner = runtime::Inner {
        store,
        db,
        scenario,
        account: config.account.clone(),
        speed: config.speed,
        clock: runtime::Clock::wall(),
        events_queue: config.events_queue.clone().unwrap_or_else(|| sqs::events::DEFAULT_QUEUE.into()),
        keep_events_queue: config.events_queue.is_some(),
    };
    inner.ensure_events_queue()?;
    let mut scenario = config.scenario.clone();
    if config.latency.is_some() || config.quotas.is_some() {
        let s = scenario.get_or_insert_with(|| inner.scenario.clone());
        s.latency = config.latency.or(s.latency);
        s.quotas = config.quotas.clone().or(s.quotas.take());
    }
    if let Some(s) = scenario {
        let text = serde_json::to_string(&s).map_err(EmulatorError::Encode)?;
        inner.persist(&[persist::Write::Scenario(&text)])?;
        inner.scenario = s;
    }
    let core = Core::new(inner);
    if let Some(seed) = &config.seed {
        seed::apply(&core, seed)?;
    }
    Ok(core)
}

/// Start an emulator on `config.addr`. Running executions found in the data dir carry on.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    if !(config.speed.is_finite() && config.speed > 0.0) {
        return Err(EmulatorError::Speed(config.speed));
    }
    let core = build_core(&config)?;
    let listen = |source| EmulatorError::Listen { addr: config.addr, source };
    let listener = tokio::net::TcpListener::bind(config.addr).await.map_err(listen)?;
    let addr = listener.local_addr().map_err(listen)?;
    let (tx, rx) = watch::channel(false);
    let scheduler = tokio::spawn(core.clone().run_scheduler(rx.clone()));
    core.advance_all_running();
    let app = server::router_for(core.clone(), config.allowed_hosts.clone());
    let mut stop = rx;
    let serve = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await;
    });
    Ok(RunningEmulator { addr, core, shutdown: tx, tasks: vec![scheduler, serve] })
}
