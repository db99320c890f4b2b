//! `SqliteStore`: the embedded, durable, single-node `Store` on SQLite (WAL, one writer connection).
//!
//! Writes go through a pool of exactly one connection, so writers in this process never race;
//! multi-statement writes take SQLite's write lock up front (`BEGIN IMMEDIATE`), and a busy
//! timeout covers another process holding it. Reads use a separate pool and, thanks to WAL, never
//! wait for the writer. `synchronous = FULL` makes every acknowledged commit durable, including
//! across a `kill -9` of the server or a power loss.
//!
//! The `Store` methods are the shared ones of `store::sql`; this file holds what is SQLite's own:
//! connection options, the two pools, how transactions begin (the `Driver` impl) and `instr`.
//!
//! Secrets at rest: authentik token keys and OAuth2 tokens are stored as upstream stores them, in
//! plain text (authentik shows them through `view_key`); NetBird PATs only as their SHA-256 hash.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::store::StoreError;
use crate::store::sql::driver::RowsAffected;
use crate::store::sql::{self, Driver, EmbeddedMigration, db_err};

/// The SQLite schema migrations, oldest first (files under `migrations/sqlite`).
pub(crate) const MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "users", include_str!("../../migrations/sqlite/0002_users.sql")),
    (3, "applications", include_str!("../../migrations/sqlite/0003_applications.sql")),
];

/// Readers allowed at once; the writer is always a single connection.
const READERS: u32 = 4;
/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A `Store` in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `path` and applies pending migrations.
    ///
    /// A new database file is created mode 0600 (it holds plaintext authentik keys); SQLite gives its `-wal`
    /// and `-shm` files the database file's mode.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(db_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|err| StoreError::caused(format!("cannot open {}", path.display()), err))?;
        sql::migrator(MIGRATIONS)
            .await?
            .run(&writer)
            .await
            .map_err(|err| StoreError::caused(format!("cannot migrate {}", path.display()), err))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await
            .map_err(|err| StoreError::caused(format!("cannot open {}", path.display()), err))?;
        Ok(Self { reader, writer })
    }

    /// Closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// What the shared SQL `Store` runs on: single statements on a reader or the one writer connection; a read
/// transaction is a deferred `BEGIN` on a reader, a write transaction takes the write lock up front.
impl Driver for SqliteStore {
    type Db = Sqlite;

    const POSITION_FN: &'static str = "instr";

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_read(&self) -> Result<Transaction<'_, Sqlite>, StoreError> {
        self.reader.begin().await.map_err(db_err)
    }

    async fn begin_write(&self) -> Result<Transaction<'_, Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)
    }

    async fn close(&self) {
        SqliteStore::close(self).await
    }
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

/// Creates `path` empty with mode 0600 unless it exists (an existing file keeps the mode its operator gave it).
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(StoreError::caused(format!("cannot create {}", path.display()), err)),
    }
}
