//! What must last: the activity log and the login sessions. SQLite in the data directory by default,
//! PostgreSQL when `--database-url` is given; one set of queries through sqlx's `Any` driver, and one
//! migration per schema version for each database (their SQL differs only in the id column and triggers).

mod activity;
mod costs;
mod outbox;
mod sessions;
mod subscriptions;

pub use activity::{PlaceScope, Record, Scope, PAGE};
pub use costs::KeptCost;
pub use outbox::{Due, Outgoing, Seen};
pub use sessions::{LoginState, SessionUser};
pub use subscriptions::{NewSubscription, Subscriber};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor};

use crate::config::Database;

/// The database, with the kind it is (some statements differ).
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    pub kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Db {
    /// Connect and bring the schema up to date.
    pub async fn open(database: &Database) -> Result<Db, String> {
        sqlx::any::install_default_drivers();
        let (url, kind) = match database {
            Database::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
                }
                (format!("sqlite://{}?mode=rwc", path.display()), Kind::Sqlite)
            }
            Database::Postgres(url) => (url.clone(), Kind::Postgres),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if kind == Kind::Sqlite { 4 } else { 16 })
            .acquire_timeout(std::time::Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if kind == Kind::Sqlite {
                        // WAL: readers never wait for the writer; NORMAL is durable across a crash of the
                        // process (the log may lose the last commit only on a power failure).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| format!("cannot open the database ({}): {e}", describe(database)))?;
        let migrated = match kind {
            Kind::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await,
            Kind::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await,
        };
        migrated.map_err(|e| format!("cannot bring the database's schema up to date ({}): {e}", describe(database)))?;
        Ok(Db { pool, kind })
    }

    /// A private in-memory SQLite database (one connection, kept open): tests, benchmarks.
    pub async fn memory() -> Result<Db, String> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .map_err(|e| format!("cannot open an in-memory database: {e}"))?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await.map_err(|e| e.to_string())?;
        Ok(Db { pool, kind: Kind::Sqlite })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the connection to PostgreSQL is encrypted (`None` for SQLite, which has no connection). TLS is
    /// asked for in the URL: `?sslmode=verify-full&sslrootcert=/path/ca.pem` (RDS: its global bundle).
    pub async fn encrypted(&self) -> Result<Option<bool>, String> {
        if self.kind != Kind::Postgres {
            return Ok(None);
        }
        let (ssl,): (bool,) = sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(ssl))
    }

    /// Whether a write goes through (for readiness): a transaction that writes and rolls back.
    pub async fn writable(&self) -> Result<(), String> {
        let mut tx = self.pool.begin().await.map_err(|e| e.to_string())?;
        sqlx::query("DELETE FROM server_secrets WHERE name = ''").execute(&mut *tx).await.map_err(|e| e.to_string())?;
        tx.rollback().await.map_err(|e| e.to_string())
    }
}

/// Where the database is, without a password.
fn describe(database: &Database) -> String {
    match database {
        Database::Sqlite(p) => format!("SQLite at {}", p.display()),
        Database::Postgres(url) => {
            let host = url.split('@').nth(1).unwrap_or("PostgreSQL");
            format!("PostgreSQL at {host}")
        }
    }
}

/// Milliseconds since the epoch, as rows keep times.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A column that may be missing from a row read by name.
pub fn opt_text(row: &AnyRow, col: &str) -> Option<String> {
    use sqlx::Row;
    row.try_get::<Option<String>, _>(col).ok().flatten()
}

/// Random bytes from the operating system's CSPRNG, as URL-safe text (for session ids, login states).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a secret, hex: what is stored instead of it.
pub fn digest(secret: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
