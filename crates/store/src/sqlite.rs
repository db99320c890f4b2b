//! `SqliteStore`: the embedded, durable, single-node `Store` on SQLite (WAL, one writer connection).
//!
//! Writes go through one connection owned by the group-commit task ([`group_commit`]): it takes every write
//! waiting at that moment, runs them in one transaction (`BEGIN IMMEDIATE`, each multi-statement write in its own
//! savepoint, so a failed write rolls back alone) and answers each only once that transaction has committed. So
//! concurrent writers share one fsync, and writers in this process never race; a busy timeout covers another
//! process holding the write lock. Reads use a separate pool and, thanks to WAL, never wait for the writer.
//! `synchronous = FULL` makes every acknowledged commit durable, including across a `kill -9` of the server or a
//! power loss.
//!
//! The `Store` methods are the shared ones of `store::sql`; this file holds what is SQLite's own:
//! connection options, the two pools, how transactions begin (the `Driver` impl) and `instr`.
//!
//! Secrets at rest: authentik token keys and OAuth2 tokens are stored as upstream stores them, in
//! plain text (authentik shows them through `view_key`); NetBird PATs only as their SHA-256 hash.

use std::collections::VecDeque;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Executor as _, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::sql::cache::Cache;
use crate::sql::driver::{BoxFuture, On, RowsAffected, WriteJob};
use crate::sql::{self, Driver, EmbeddedMigration, Sql, db_err};

/// The SQLite schema migrations, oldest first (files under `migrations/sqlite`).
pub(crate) const MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "users", include_str!("../migrations/sqlite/0002_users.sql")),
    (3, "applications", include_str!("../migrations/sqlite/0003_applications.sql")),
    (5, "oauth2_provider", include_str!("../migrations/sqlite/0005_oauth2_provider.sql")),
    (6, "nb_groups", include_str!("../migrations/sqlite/0006_nb_groups.sql")),
    (7, "scope_mappings", include_str!("../migrations/sqlite/0007_scope_mappings.sql")),
    (8, "nb_setup_keys", include_str!("../migrations/sqlite/0008_nb_setup_keys.sql")),
    (9, "ak_groups", include_str!("../migrations/sqlite/0009_ak_groups.sql")),
    (11, "sessions", include_str!("../migrations/sqlite/0011_sessions.sql")),
    (12, "code_logins", include_str!("../migrations/sqlite/0012_code_logins.sql")),
    (13, "nb_peers", include_str!("../migrations/sqlite/0013_nb_peers.sql")),
    (14, "nb_accounts", include_str!("../migrations/sqlite/0014_nb_accounts.sql")),
    (16, "device_tokens", include_str!("../migrations/sqlite/0016_device_tokens.sql")),
];

/// Readers allowed at once; the writer is always a single connection.
const READERS: u32 = 4;
/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Writes committed together at most.
const MAX_BATCH: usize = 256;

/// A `Store` in one SQLite database file. Clones share the pools and the cache.
///
/// The cache assumes that this store is the only writer of the file (one tokenstack process per database, as
/// Deployment says): another process's writes are not seen by it.
#[derive(Debug, Clone)]
pub struct SqliteStore(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    reader: SqlitePool,
    writer: SqlitePool,
    cache: Cache,
    /// The queue of the group-commit task.
    writes: mpsc::UnboundedSender<Message>,
}

/// What the group-commit task receives.
enum Message {
    Write(Queued),
    /// Stop once the writes before are answered, and give the connection back.
    Close(oneshot::Sender<()>),
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Write(_) => "Write",
            Message::Close(_) => "Close",
        })
    }
}

/// One write waiting for the group-commit task; `single` writes are one statement, which SQLite rolls back alone
/// when it fails (a constraint aborts the statement, not the transaction), so they need no savepoint.
struct Queued {
    job: Box<dyn Pending>,
    single: bool,
}

/// A write job with the channel its caller waits on.
trait Pending: Send {
    /// Runs the job's statements; what happened, and how to answer once the batch's commit is known.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran>;
    /// Answers without running (the batch could not begin).
    fn abort(self: Box<Self>, error: StoreError);
}

/// A job that ran: whether it failed (and whether that failure may have ended the transaction), and its answer.
struct Ran {
    failed: Option<Failure>,
    reply: Box<dyn FnOnce(Result<(), StoreError>) + Send>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// `NotFound` or `Duplicate`: the statement was rolled back, the transaction goes on.
    Rejected,
    /// A backend failure: the transaction may be gone; the batch ends here.
    Backend,
}

struct Job<T, F> {
    job: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send + 'static, F: WriteJob<SqliteStore, T>> Pending for Job<T, F> {
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran> {
        let Job { job, reply } = *self;
        Box::pin(async move {
            let result = job(conn).await;
            let failed = match &result {
                Ok(_) => None,
                Err(StoreError::NotFound | StoreError::Duplicate { .. }) => Some(Failure::Rejected),
                Err(StoreError::Backend { .. }) => Some(Failure::Backend),
            };
            // The caller hears of its write only with the commit's outcome.
            let reply = Box::new(move |commit: Result<(), StoreError>| drop(reply.send(commit.and(result))));
            Ran { failed, reply }
        })
    }

    fn abort(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

fn closed() -> StoreError {
    StoreError::backend("the SQLite store is closed")
}

/// The group-commit task: owns the writer connection; each round takes every write waiting (up to [`MAX_BATCH`])
/// and commits them in one transaction.
async fn group_commit(mut conn: PoolConnection<Sqlite>, mut inbox: mpsc::UnboundedReceiver<Message>) {
    let mut queue: VecDeque<Queued> = VecDeque::new();
    let mut close = None;
    loop {
        if queue.is_empty() && close.is_none() {
            match inbox.recv().await {
                Some(Message::Write(write)) => queue.push_back(write),
                Some(Message::Close(done)) => close = Some(done),
                None => return,
            }
        }
        while close.is_none() {
            match inbox.try_recv() {
                Ok(Message::Write(write)) => queue.push_back(write),
                Ok(Message::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if !queue.is_empty() {
            commit_batch(&mut conn, &mut queue).await;
        }
        if queue.is_empty()
            && let Some(done) = close.take()
        {
            drop(conn);
            let _ = done.send(());
            return;
        }
    }
}

/// Runs writes from the front of `queue` in one transaction and answers them with its commit's outcome.
async fn commit_batch(conn: &mut SqliteConnection, queue: &mut VecDeque<Queued>) {
    if let Err(err) = conn.execute("BEGIN IMMEDIATE").await {
        let err = db_err(err);
        for write in queue.drain(..) {
            write.job.abort(err.clone());
        }
        return;
    }
    let mut replies = Vec::new();
    while replies.len() < MAX_BATCH {
        let Some(Queued { job, single }) = queue.pop_front() else { break };
        if !single && let Err(err) = conn.execute("SAVEPOINT write").await {
            job.abort(db_err(err));
            break;
        }
        let ran = job.run(conn).await;
        let mut failed = ran.failed;
        if !single {
            let end = if failed.is_some() { "ROLLBACK TO write; RELEASE write" } else { "RELEASE write" };
            if conn.execute(end).await.is_err() {
                failed = Some(Failure::Backend);
            }
        }
        replies.push(ran.reply);
        if failed == Some(Failure::Backend) {
            break;
        }
    }
    let commit = conn.execute("COMMIT").await.map(drop).map_err(db_err);
    if commit.is_err() {
        let _ = conn.execute("ROLLBACK").await;
    }
    for reply in replies {
        reply(commit.clone());
    }
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
        let conn = writer.acquire().await.map_err(db_err)?;
        let (writes, inbox) = mpsc::unbounded_channel();
        tokio::spawn(group_commit(conn, inbox));
        let inner = Arc::new(Inner { reader, writer, cache: Cache::local(), writes });
        sql::uses::spawn_flusher(&inner, SqliteStore);
        Ok(SqliteStore(inner))
    }

    /// Answers the writes queued so far, then closes both pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        let (done, stopped) = oneshot::channel();
        if self.0.writes.send(Message::Close(done)).is_ok() {
            let _ = stopped.await;
        }
        self.0.reader.close().await;
        self.0.writer.close().await;
    }

    async fn queue<T: Send + 'static>(&self, job: impl WriteJob<Self, T>, single: bool) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let write = Queued { job: Box::new(Job { job, reply }), single };
        self.0.writes.send(Message::Write(write)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

/// What the shared SQL `Store` runs on: single statements on a reader or the one writer connection; a read
/// transaction is a deferred `BEGIN` on a reader, a write transaction takes the write lock up front.
impl Driver for SqliteStore {
    type Db = Sqlite;

    const POSITION_FN: &'static str = "instr";

    fn reader(&self) -> &SqlitePool {
        &self.0.reader
    }

    fn cache(&self) -> &Cache {
        &self.0.cache
    }

    async fn begin_read(&self) -> Result<Transaction<'_, Sqlite>, StoreError> {
        self.0.reader.begin().await.map_err(db_err)
    }

    async fn write_statement(&self, sql: Sql) -> Result<u64, StoreError> {
        self.queue(
            move |conn: &mut SqliteConnection| Box::pin(async move { On::<Sqlite>::Tx(conn).execute(&sql).await }),
            true,
        )
        .await
    }

    async fn write_tx<T: Send + 'static>(&self, job: impl WriteJob<Self, T>) -> Result<T, StoreError> {
        self.queue(job, false).await
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
