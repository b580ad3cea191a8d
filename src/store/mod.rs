//! The store: the only shared state. One set of queries serves SQLite (embedded default) and
//! PostgreSQL (several instances) through sqlx's `Any` driver: `$n` placeholders, `BIGINT`
//! milliseconds for time and 0/1 for flags, which both backends read the same way. Where the
//! two differ (write-transaction start, row locks, migrations) the difference lives here.

/// `sqlx::FromRow` for a struct whose fields are named as its columns, read by name: what
/// `#[derive(sqlx::FromRow)]` does, without sqlx's proc-macro crate (see `migrations`). The
/// field list is checked by the compiler: a struct literal must name every field, and only
/// fields.
macro_rules! from_row {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $name {
            fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?,)*
                })
            }
        }
    };
}
pub(crate) use from_row;

pub mod accounts;
pub mod api_tokens;
pub mod audit;
pub mod budgets;
pub mod city_settings;
pub mod contractors;
pub mod conversations;
pub mod email_undeliverable;
pub mod figures;
pub mod keys;
pub mod mailgun_tokens;
pub mod outbox;
pub mod queue;
pub mod registrations;
pub mod sessions;
pub mod sms_opt_outs;
pub mod staff;
pub mod threads;
pub mod ticket_desk;
pub mod tickets;
pub mod tokens;

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, SqlStr, Transaction};

use crate::config::DatabaseUrl;

/// The migrations compiled in, per backend: `migrations/{sqlite,postgres}/NNNN_name.sql`,
/// listed by build.rs. (Not `sqlx::migrate!`: its proc-macro crate builds both database
/// drivers a second time, for the compiler, which cost more build time than anything else
/// it offered; see the commit that made this change.)
mod migrations {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// A migrator as `sqlx::migrate!` makes it: the same versions, descriptions and checksums
/// (SHA-384 of each file), so databases migrated by earlier builds are recognised.
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

static SQLITE_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| migrator(migrations::SQLITE));
static POSTGRES_MIGRATIONS: LazyLock<Migrator> = LazyLock::new(|| migrator(migrations::POSTGRES));

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

#[cfg(test)]
mod tests {
    use super::*;

    /// build.rs embeds every file of migrations/{sqlite,postgres}, byte for byte, in version
    /// order, named as sqlx names them.
    #[test]
    fn every_migration_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for (backend, embedded, migrator) in [
            ("sqlite", migrations::SQLITE, &*SQLITE_MIGRATIONS),
            ("postgres", migrations::POSTGRES, &*POSTGRES_MIGRATIONS),
        ] {
            let mut on_disk: Vec<(String, String)> = std::fs::read_dir(root.join(backend))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(&p).unwrap())
                })
                .collect();
            on_disk.sort();
            assert!(on_disk.len() >= 4, "{backend}: {}", on_disk.len());
            let named: Vec<(String, String)> = embedded
                .iter()
                .map(|(v, d, sql)| {
                    (
                        format!("{v:04}_{}.sql", d.replace(' ', "_")),
                        sql.to_string(),
                    )
                })
                .collect();
            assert_eq!(named, on_disk, "{backend}");
            let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
            assert_eq!(versions, embedded.iter().map(|m| m.0).collect::<Vec<_>>());
        }
    }
}
