//! momo's database: one connection pool over SQLite or PostgreSQL, chosen by URL.
//!
//! The default is a SQLite file in the data directory (WAL journal, foreign keys on,
//! busy timeout); a `postgres://` URL moves everything to PostgreSQL. Queries are written
//! once in the SQL both engines accept (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT DO NOTHING`, times as integer milliseconds) and run through sqlx's `Any`
//! driver; only the migrations differ, one folder per engine, applied at start.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Executor, Transaction};

pub mod search;
pub mod sql;

pub use sqlx;

/// A database error: cannot connect, bad URL, or a failed migration.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Pool settings. `None` picks a default suited to the engine.
#[derive(Debug, Clone, Default)]
pub struct PoolSettings {
    pub max_connections: Option<u32>,
    /// How long a request waits for a free connection before failing with 503.
    pub acquire_timeout: Option<Duration>,
    /// SQLite's `synchronous` pragma: `NORMAL` (the default; a committed write survives
    /// a crash of momo but may be lost with the last moments before a power cut) or
    /// `FULL` (it survives a power cut too, at the cost of an fsync per commit).
    pub sqlite_synchronous: Option<&'static str>,
}

/// The connection pool and the engine behind it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where writes go. On SQLite, one connection: writers queue in order in-process
    /// instead of contending for the file's write lock (which only one can hold anyway)
    /// through the busy handler's sleeps; readers keep the other connections (WAL lets
    /// them read while a write runs). On PostgreSQL, the same pool.
    writer: AnyPool,
    backend: Backend,
}

static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATE_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). A SQLite file is created if it
    /// does not exist.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalize_url(url)?;
        let opts = AnyConnectOptions::from_str(&url)
            .map_err(StoreError::Connect)?
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500))
            .log_statements(tracing::log::LevelFilter::Trace);
        let default_max = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let acquire = settings.acquire_timeout.unwrap_or(Duration::from_secs(5));
        let synchronous = settings.sqlite_synchronous.unwrap_or("NORMAL");
        let options = |max: u32, acquire: Duration| {
            let pool = AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(acquire);
            if backend != Backend::Sqlite {
                return pool;
            }
            pool.after_connect(move |conn, _meta| {
                Box::pin(async move {
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 5000; PRAGMA synchronous = {synchronous};"
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
        };
        let max = settings.max_connections.unwrap_or(default_max);
        let pool = options(max, acquire)
            .connect_with(opts.clone())
            .await
            .map_err(StoreError::Connect)?;
        let writer = match backend {
            // Writers wait their turn here; give the queue longer than a reader waits.
            Backend::Sqlite => options(1, acquire * 6)
                .connect_with(opts)
                .await
                .map_err(StoreError::Connect)?,
            Backend::Postgres => pool.clone(),
        };
        Ok(Store {
            pool,
            writer,
            backend,
        })
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATE_SQLITE,
            Backend::Postgres => &MIGRATE_POSTGRES,
        };
        migrator.run(&self.writer).await?;
        Ok(())
    }

    /// Connections for reading (and, on PostgreSQL, for everything).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Where statements that write go (a single connection on SQLite; see [`Store`]).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction, on the writer. On SQLite it takes the write lock up
    /// front (`BEGIN IMMEDIATE`), so that another process's writer makes it wait on the
    /// busy timeout rather than fail when it upgrades a read lock.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Publishes pool use as gauges (`db_pool_connections`, `db_pool_idle`,
    /// `db_pool_max_connections`).
    pub fn record_pool_metrics(&self) {
        metrics::gauge!("db_pool_connections").set(self.pool.size() as f64);
        metrics::gauge!("db_pool_idle").set(self.pool.num_idle() as f64);
        metrics::gauge!("db_pool_max_connections")
            .set(self.pool.options().get_max_connections() as f64);
    }

    /// Waits for connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// Tells the engine from the URL, and makes a SQLite URL create its file when missing.
fn normalize_url(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if url.starts_with("sqlite:") {
        if url.contains("mode=") || url.contains(":memory:") {
            return Ok((Backend::Sqlite, url.to_string()));
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        return Ok((Backend::Sqlite, format!("{url}{sep}mode=rwc")));
    }
    Err(StoreError::UnsupportedUrl(url.to_string()))
}

/// True when `err` is a violation of a unique constraint (both engines).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

/// True when `err` means the pool had no free connection in time.
pub fn is_pool_timeout(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_engine() {
        assert_eq!(
            normalize_url("sqlite://data/momo.db").unwrap(),
            (Backend::Sqlite, "sqlite://data/momo.db?mode=rwc".into())
        );
        assert_eq!(
            normalize_url("postgres://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert!(normalize_url("mysql://u@h/db").is_err());
    }

    #[tokio::test]
    async fn sqlite_file_is_created_migrated_and_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = Store::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap(); // applying twice is a no-op
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(fk, 1);
        store.close().await;
    }

    #[tokio::test]
    async fn sqlite_durability_is_normal_unless_full_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        for (asked, want) in [(None, 1i64), (Some("FULL"), 2)] {
            let url = format!("sqlite://{}/s{want}.db", dir.path().display());
            let settings = PoolSettings {
                sqlite_synchronous: asked,
                ..Default::default()
            };
            let store = Store::connect(&url, &settings).await.unwrap();
            for pool in [store.pool(), store.writer()] {
                let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(pool)
                    .await
                    .unwrap();
                assert_eq!(level, want, "{asked:?}");
            }
            store.close().await;
        }
    }
}
