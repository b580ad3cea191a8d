//! The store: the only shared state. One set of queries serves SQLite (embedded default) and
//! PostgreSQL (several instances) through sqlx's `Any` driver: `$n` placeholders, `BIGINT`
//! milliseconds for time and 0/1 for flags, which both backends read the same way. Where the
//! two differ (write-transaction start, row locks, migrations) the difference lives here.

pub mod accounts;
pub mod audit;
pub mod budgets;
pub mod contractors;
pub mod conversations;
pub mod keys;
pub mod outbox;
pub mod registrations;
pub mod sessions;
pub mod sms_opt_outs;
pub mod staff;
pub mod tickets;
pub mod tokens;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::config::DatabaseUrl;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A write transaction on either backend.
pub type Tx = Transaction<'static, Any>;

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the pool. SQLite files are created if missing and run in WAL mode with
    /// `synchronous=NORMAL` and a busy timeout, and connections are handed out without a
    /// ping; PostgreSQL is reached within five seconds or
    /// the error is returned.
    pub async fn connect(url: &DatabaseUrl) -> Result<Store, sqlx::Error> {
        install_default_drivers();
        let (backend, url) = if url.is_postgres() {
            (Backend::Postgres, url.expose().to_string())
        } else {
            (Backend::Sqlite, sqlite_url(url.expose()))
        };
        let options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 10,
            });
        let options = if backend == Backend::Sqlite {
            // A pooled SQLite connection is a file handle in this process: it cannot have been
            // dropped by a server or the network while idle, so the round trip to its worker
            // thread that a ping on every checkout costs (as much as a small query) buys
            // nothing. PostgreSQL keeps the check.
            options
                .test_before_acquire(false)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies any migrations not yet applied.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        self.migrator().run(&self.pool).await
    }

    /// True when the database answers and every migration this build knows is applied.
    pub async fn is_ready(&self) -> Result<bool, sqlx::Error> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await?;
        Ok(self.migrator().iter().all(|m| applied.contains(&m.version)))
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so a transaction that
    /// reads before it writes cannot fail to upgrade its lock halfway.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// ` FOR UPDATE` on PostgreSQL; empty on SQLite, where `BEGIN IMMEDIATE` already holds the
    /// only write lock.
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Adds `mode=rwc` (create if missing) unless the URL already chooses a mode.
fn sqlite_url(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// True when the error is a unique-constraint violation (both backends).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
