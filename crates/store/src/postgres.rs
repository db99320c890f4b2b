//! `PostgresStore`: the `Store` on PostgreSQL, shared by several tokenstack replicas.
//!
//! Every single-row write is one statement (atomic, visible to every replica once it returns);
//! multi-statement writes run in a transaction, and each expiry step is one statement conditional on
//! the token still being expired, so concurrent replicas never rotate a token twice. Listings read one statement's snapshot; `export` uses a `REPEATABLE READ` transaction.
//! Migrations take PostgreSQL's advisory lock, so replicas starting together migrate once.
//!
//! The `Store` methods are the shared ones of `store::sql`; this file holds what is PostgreSQL's
//! own: connection options, the pool, how transactions begin (the `Driver` impl) and `strpos`, and what keeps the
//! cache of `store::sql::cache` right across replicas:
//!
//! * triggers (`migrations/postgres/0004_cache_notify.sql`) announce every changed cached row on the channel
//!   `tokenstack_cache` when its transaction commits, and [`listen`] forgets what each announcement names;
//! * the cache answers only under a fresh lease (`cache::Lease`): [`ping`] sends `ping:<replica>:<n>` on the
//!   channel and the listener, on receiving it, confirms that every announcement committed before it was sent has
//!   been applied; a lost listener connection forgets everything and revokes the lease until a new connection
//!   confirms again;
//! * every write that can change a cached answer waits out the lease window after its commit before it is
//!   acknowledged (`sql::store`), so once acknowledged, no replica answers from a cache that has not applied it.
//!
//! Secrets at rest: authentik token keys and OAuth2 tokens are stored as upstream stores them, in
//! plain text (authentik shows them through `view_key`); NetBird PATs only as their SHA-256 hash.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions, PgQueryResult};
use sqlx::{Postgres, Transaction};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::StoreError;
use crate::sql::cache::{Cache, Change, Lease};
use crate::sql::driver::{On, RowsAffected, WriteJob};
use crate::sql::{self, Driver, EmbeddedMigration, Sql, db_err};

/// The PostgreSQL schema migrations, oldest first (files under `migrations/postgres`).
pub(crate) const MIGRATIONS: &[EmbeddedMigration] = &[
    (1, "init", include_str!("../migrations/postgres/0001_init.sql")),
    (2, "users", include_str!("../migrations/postgres/0002_users.sql")),
    (3, "applications", include_str!("../migrations/postgres/0003_applications.sql")),
    (4, "cache_notify", include_str!("../migrations/postgres/0004_cache_notify.sql")),
    (5, "oauth2_provider", include_str!("../migrations/postgres/0005_oauth2_provider.sql")),
    (6, "nb_groups", include_str!("../migrations/postgres/0006_nb_groups.sql")),
    (7, "scope_mappings", include_str!("../migrations/postgres/0007_scope_mappings.sql")),
    (8, "nb_setup_keys", include_str!("../migrations/postgres/0008_nb_setup_keys.sql")),
    (9, "ak_groups", include_str!("../migrations/postgres/0009_ak_groups.sql")),
    (11, "sessions", include_str!("../migrations/postgres/0011_sessions.sql")),
    (12, "code_logins", include_str!("../migrations/postgres/0012_code_logins.sql")),
    (13, "nb_peers", include_str!("../migrations/postgres/0013_nb_peers.sql")),
    (14, "nb_accounts", include_str!("../migrations/postgres/0014_nb_accounts.sql")),
    (16, "device_tokens", include_str!("../migrations/postgres/0016_device_tokens.sql")),
];

/// Connections per replica (besides the listener's and the pinger's): as many as concurrent clients commit, so that
/// PostgreSQL flushes their commits together.
const MAX_CONNECTIONS: u32 = 32;
/// How long a request waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an invalidating write waits after its commit before it is acknowledged, and how old the cache's
/// confirmation may be when it answers (see `sql::cache::Lease`).
const LEASE_WINDOW: Duration = Duration::from_millis(8);
/// The lease's age from which requests ask the pinger for a new confirmation: pings go out about every
/// millisecond plus their round trip while requests come, none when idle.
const LEASE_RENEWAL: Duration = Duration::from_millis(1);
/// The channel of the cache announcements and pings.
const CHANNEL: &str = "tokenstack_cache";
/// How long a ping may go unanswered before another is sent.
const PING_TIMEOUT: Duration = Duration::from_secs(1);
/// The pause before the listener or the pinger tries again after a failure.
const RETRY: Duration = Duration::from_millis(100);

/// Microseconds every listener of this process waits before applying each announcement (0: none).
static ANNOUNCEMENT_DELAY_MICROS: AtomicU64 = AtomicU64::new(0);

/// Makes every PostgreSQL listener of this process apply each announcement `delay` late, as a slow network
/// would: for tests that the guarantee does not rest on announcements arriving quickly. Never set by the server.
#[doc(hidden)]
pub fn delay_announcements(delay: Duration) {
    ANNOUNCEMENT_DELAY_MICROS.store(u64::try_from(delay.as_micros()).unwrap_or(u64::MAX), AtomicOrdering::Relaxed);
}

/// A `Store` in a PostgreSQL database. Clones share the pool and the cache.
#[derive(Debug, Clone)]
pub struct PostgresStore(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    cache: Arc<Cache>,
    /// The listener's and the pinger's own connections (one each).
    listener_pool: PgPool,
    ping_pool: PgPool,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The pings of this replica: who it is, the ping waiting for its echo, and the listener's connection epoch.
struct Pings {
    replica: String,
    state: Mutex<PingState>,
    /// Wakes the pinger: its ping came back, or the listener's connection changed.
    settled: Notify,
}

#[derive(Default)]
struct PingState {
    /// Counts the listener's connections lost and established; a ping answers only within its epoch.
    epoch: u64,
    next: u64,
    /// `(n, lease stamp when sent, epoch)` of the ping waiting for its echo.
    waiting: Option<(u64, u64, u64)>,
}

impl Pings {
    fn lock(&self) -> std::sync::MutexGuard<'_, PingState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new ping, stamped `sent`: its payload.
    fn start(&self, sent: u64) -> (u64, String) {
        let mut state = self.lock();
        state.next += 1;
        let n = state.next;
        state.waiting = Some((n, sent, state.epoch));
        (n, format!("ping:{}:{n}", self.replica))
    }

    /// The listener's connection changed: no ping sent before answers any more.
    fn new_epoch(&self) {
        let mut state = self.lock();
        state.epoch += 1;
        state.waiting = None;
        drop(state);
        self.settled.notify_one();
    }

    /// A ping came back: the stamp it was sent at, if it is this replica's waiting one.
    fn echo(&self, payload: &str) -> Option<u64> {
        let (replica, n) = payload.rsplit_once(':')?;
        if replica != self.replica {
            return None;
        }
        let n: u64 = n.parse().ok()?;
        let mut state = self.lock();
        match state.waiting {
            Some((waiting, sent, epoch)) if waiting == n && epoch == state.epoch => {
                state.waiting = None;
                Some(sent)
            }
            _ => None,
        }
    }

    fn answered(&self, n: u64) -> bool {
        self.lock().waiting.is_none_or(|(waiting, _, _)| waiting != n)
    }
}

/// The listener: applies every announcement to `cache`, confirms its lease on this replica's pings, and on a lost
/// connection forgets everything and revokes the lease before it listens again.
async fn listen(pool: PgPool, cache: Arc<Cache>, pings: Arc<Pings>) {
    let lease = cache.lease().expect("a PostgreSQL cache has a lease");
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(_) => {
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        // A lost connection ends this listener: the next one forgets first.
        listener.eager_reconnect(false);
        if listener.listen(CHANNEL).await.is_ok() {
            // Listening from here on: pings sent before cannot confirm, the next one can.
            pings.new_epoch();
            lease.renew.notify_one();
            while let Ok(Some(notification)) = listener.try_recv().await {
                let delay = ANNOUNCEMENT_DELAY_MICROS.load(AtomicOrdering::Relaxed);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_micros(delay)).await;
                }
                let payload = notification.payload();
                if let Some(ping) = payload.strip_prefix("ping:") {
                    if let Some(sent) = pings.echo(ping) {
                        lease.confirm(sent);
                        pings.settled.notify_one();
                    }
                    continue;
                }
                for change in Change::parse_notification(payload) {
                    cache.invalidate(&change);
                }
            }
        }
        // Announcements may have been missed: nothing cached can be trusted.
        lease.revoke();
        cache.invalidate(&Change::All);
        pings.new_epoch();
        drop(listener);
        tokio::time::sleep(RETRY).await;
    }
}

/// The pinger: whenever the lease asks for renewal, sends a ping on its own connection and waits for the listener
/// to hear it (or for [`PING_TIMEOUT`]).
async fn ping(pool: PgPool, cache: Arc<Cache>, pings: Arc<Pings>) {
    let lease = cache.lease().expect("a PostgreSQL cache has a lease");
    loop {
        lease.renew.notified().await;
        if pool.is_closed() {
            return;
        }
        // Requests asked while the last ping was on its way: no need for another yet.
        if !lease.wants_renewal() {
            continue;
        }
        let (n, payload) = pings.start(lease.stamp());
        let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(&payload).execute(&pool).await;
        if sent.is_err() {
            tokio::time::sleep(RETRY).await;
            lease.renew.notify_one();
            continue;
        }
        let _ = tokio::time::timeout(PING_TIMEOUT, async {
            while !pings.answered(n) {
                pings.settled.notified().await;
            }
        })
        .await;
    }
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
            .connect_with(options.clone())
            .await
            .map_err(|err| StoreError::caused("cannot connect to PostgreSQL", err))?;
        sql::migrator(MIGRATIONS)
            .await?
            .run(&pool)
            .await
            .map_err(|err| StoreError::caused("cannot migrate the PostgreSQL database", err))?;
        let one = || PgPoolOptions::new().max_connections(1).min_connections(0).max_lifetime(None).idle_timeout(None);
        let listener_pool = one().connect_lazy_with(options.clone());
        // Pings need no durability: their commits do not wait for the WAL flush.
        let ping_pool = one().connect_lazy_with(options.options([("synchronous_commit", "off")]));
        let cache = Arc::new(Cache::leased(Lease::new(LEASE_WINDOW, LEASE_RENEWAL)));
        let replica = format!("{:016x}", rand::random::<u64>());
        let pings = Arc::new(Pings { replica, state: Mutex::new(PingState::default()), settled: Notify::new() });
        let tasks = vec![
            tokio::spawn(listen(listener_pool.clone(), cache.clone(), pings.clone())),
            tokio::spawn(ping(ping_pool.clone(), cache.clone(), pings)),
        ];
        let inner = Arc::new(Inner { pool, cache, listener_pool, ping_pool, tasks });
        sql::uses::spawn_flusher(&inner, PostgresStore);
        Ok(PostgresStore(inner))
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        for task in &self.0.tasks {
            task.abort();
        }
        self.0.listener_pool.close().await;
        self.0.ping_pool.close().await;
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
