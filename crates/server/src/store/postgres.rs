//! `PostgresStore`: the `Store` on PostgreSQL, shared by several tokenstack replicas.
//!
//! Every single-row write is one statement (atomic, visible to every replica once it returns);
//! multi-statement writes run in a transaction, and each expiry step is one statement conditional on
//! the token still being expired, so concurrent replicas never rotate a token twice. Listings read one statement's snapshot; `export` uses a `REPEATABLE READ` transaction.
//! Migrations take PostgreSQL's advisory lock, so replicas starting together migrate once.
//!
//! The `Store` methods are the shared ones of `store::sql`; this file holds what is PostgreSQL's
//! own: connection options, the pool, how transactions begin (the `Driver` impl) and `strpos`.
//!
//! Secrets at rest: authentik token keys and OAuth2 tokens are stored as upstream stores them, in
//! plain text (authentik shows them through `view_key`); NetBird PATs only as their SHA-256 hash.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Postgres, Transaction};

use crate::store::StoreError;
use crate::store::sql::cache::{Cache, Lease};
use crate::store::sql::driver::{On, RowsAffected, WriteJob};
use crate::store::sql::{self, Driver, EmbeddedMigration, Sql, db_err};

/// The PostgreSQL schema migrations, oldest first (files under `migrations/postgres`).
pub(crate) const MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "users", include_str!("../../migrations/postgres/0002_users.sql")),
];

/// Connections per replica.
const MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an invalidating write waits after its commit before it is acknowledged, and how old the cache's
/// confirmation may be when it answers (see `sql::cache::Lease`).
const LEASE_WINDOW: Duration = Duration::from_millis(5);

/// A `Store` in a PostgreSQL database. Clones share the pool and the cache.
#[derive(Debug, Clone)]
pub struct PostgresStore(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    cache: Cache,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`, libpq-style parameters allowed) and
    /// applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|err| StoreError::caused("bad PostgreSQL URL", err))?
            .application_name("tokenstack");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|err| StoreError::caused("cannot connect to PostgreSQL", err))?;
        sql::migrator(MIGRATIONS)
            .await?
            .run(&pool)
            .await
            .map_err(|err| StoreError::caused("cannot migrate the PostgreSQL database", err))?;
        let inner = Arc::new(Inner { pool, cache: Cache::leased(Lease::new(LEASE_WINDOW)) });
        sql::spawn_flusher(&inner, PostgresStore);
        Ok(PostgresStore(inner))
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.0.pool.close().await;
    }
}

/// What the shared SQL `Store` runs on: one pool for reads and writes; a read transaction is a read-only
/// `REPEATABLE READ` snapshot, a write transaction PostgreSQL's default.
impl Driver for PostgresStore {
    type Db = Postgres;

    const POSITION_FN: &'static str = "strpos";

    fn reader(&self) -> &PgPool {
        &self.0.pool
    }

    fn cache(&self) -> &Cache {
        &self.0.cache
    }

    async fn begin_read(&self) -> Result<Transaction<'_, Postgres>, StoreError> {
        self.0.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(db_err)
    }

    /// One statement on the pool: PostgreSQL commits concurrent transactions with one WAL flush by itself.
    async fn write_statement(&self, sql: Sql) -> Result<u64, StoreError> {
        On::Pool(&self.0.pool).execute(&sql).await
    }

    async fn write_tx<T: Send + 'static>(&self, job: impl WriteJob<Self, T>) -> Result<T, StoreError> {
        let mut tx = self.0.pool.begin().await.map_err(db_err)?;
        let value = job(&mut tx).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(value)
    }

    async fn close(&self) {
        PostgresStore::close(self).await
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}
