//! tokenstack's model and stores: the domain types of both emulated products and the storage interface, one
//! async method per logical read or write, implemented by the memory, SQLite and PostgreSQL backends.
//!
//! This crate knows no HTTP and no rules: it depends on neither Dropshot nor `tokenstack-api` (checked by
//! `cargo xtask check`, "layers").

mod listings;
pub mod memory;
pub mod model;
pub mod pagination;
pub mod postgres;
pub mod query;
pub mod resource;
pub mod secrets;
pub(crate) mod sql;
pub mod sqlite;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{
    AkApplication, AkDeviceToken, AkGroup, AkKeyPair, AkProvider, AkScopeMapping, AkSession, AkUser, AkUserConsent,
    AuthorizationCode, CoreToken, NbAccount, NbGroup, NbPeer, NbSetupKey, NbUser, OAuthKind, OAuthToken, Pat,
};
use crate::pagination::{PageRequest, Slice};
use crate::query::Listing;
use crate::resource::{DeclaredColumn, ErasedColumn, Resource, Row, Table, downcast};
use crate::secrets::Secret;

pub use listings::{CoreTokenField, CoreTokenQuery, OAuthField, OAuthQuery, UserField, UserQuery};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use resource::{Field, Key};
pub use sqlite::SqliteStore;

/// How many distinct terms a `search` value has, as every listing splits it.
pub fn search_term_count(search: &str) -> usize {
    query::search_terms(Some(search)).len()
}

/// The store a `--store` value names, told apart before anything is opened:
///
/// * `memory` (the default): in memory, empty at start, gone at exit;
/// * `sqlite:PATH` (also `sqlite://PATH`): the SQLite database file `PATH`, created if missing;
/// * `postgres://…` or `postgresql://…`: a PostgreSQL database, shareable by several replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreUrl<'a> {
    Memory,
    Sqlite(&'a Path),
    Postgres(&'a str),
}

impl<'a> StoreUrl<'a> {
    /// The store `url` names, or why it names none (a bad setting, not a failing store).
    pub fn parse(url: &'a str) -> Result<StoreUrl<'a>, StoreError> {
        if url == "memory" {
            return Ok(StoreUrl::Memory);
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(StoreError::backend("sqlite: needs a file path, as in sqlite:tokenstack.db"));
            }
            return Ok(StoreUrl::Sqlite(Path::new(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url));
        }
        Err(StoreError::backend(format!(
            "unknown store {:?}: expected memory, sqlite:PATH or postgres://…",
            redact_password(url)
        )))
    }
}

/// Opens the store a `--store` value names ([`StoreUrl`]). Durable stores apply their pending schema migrations
/// before returning.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match StoreUrl::parse(url)? {
        StoreUrl::Memory => Arc::new(MemoryStore::new()),
        StoreUrl::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
        StoreUrl::Postgres(url) => Arc::new(PostgresStore::connect(url).await?),
    })
}

/// `url` with the password of its `user:password@` part replaced by `***`, for messages and logs.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Storage failures, free of HTTP meaning.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The addressed row (or a row it references) does not exist.
    #[error("not found")]
    NotFound,
    /// A unique field already holds this value.
    #[error("duplicate value for {field}")]
    Duplicate { field: Field },
    /// The backend itself failed: what the store was doing and, when a driver failed, its error.
    #[error("{context}")]
    Backend { context: String, source: Option<Arc<dyn std::error::Error + Send + Sync>> },
}

impl StoreError {
    /// A backend failure without an underlying error (a value the store cannot represent).
    pub fn backend(context: impl Into<String>) -> Self {
        StoreError::Backend { context: context.into(), source: None }
    }

    /// A backend failure caused by `source` (a driver or codec error), kept for the log.
    pub fn caused(context: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend { context: context.into(), source: Some(Arc::new(source)) }
    }
}

/// Backend failures compare by context: the driver's error has no equality.
impl PartialEq for StoreError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (StoreError::NotFound, StoreError::NotFound) => true,
            (StoreError::Duplicate { field: a }, StoreError::Duplicate { field: b }) => a == b,
            (StoreError::Backend { context: a, .. }, StoreError::Backend { context: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Eq for StoreError {}

/// What the expiry rule does to one expired core token (decided by the server's expiry rule, applied by the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpireAction {
    /// A new key and expiry.
    Rotate {
        key: Secret,
        expires: DateTime<Utc>,
    },
    Delete,
}

/// What an expiry sweep did, by identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpiryOutcome {
    pub rotated: Vec<String>,
    pub deleted: Vec<String>,
}

/// Stored tokens by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub core: u64,
    pub oauth_access: u64,
    pub oauth_refresh: u64,
    pub pats: u64,
}

/// The whole state, for seeding and inspection. Authorization codes are not part of it: they live a minute, and
/// an import (or reset) drops them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub ak_users: Vec<AkUser>,
    pub providers: Vec<AkProvider>,
    pub applications: Vec<AkApplication>,
    pub core_tokens: Vec<CoreToken>,
    pub oauth_tokens: Vec<OAuthToken>,
    pub nb_users: Vec<NbUser>,
    pub pats: Vec<Pat>,
    /// The signing key pairs of OAuth2 providers, by name.
    pub key_pairs: Vec<AkKeyPair>,
    /// NetBird groups, by id.
    pub nb_groups: Vec<NbGroup>,
    /// authentik scope mappings, by name.
    pub scope_mappings: Vec<AkScopeMapping>,
    /// NetBird setup keys, by id (hashed: the plain keys are never stored).
    pub nb_setup_keys: Vec<NbSetupKey>,
    /// NetBird peers, by id.
    pub nb_peers: Vec<NbPeer>,
    /// NetBird accounts (their settings), by id.
    pub nb_accounts: Vec<NbAccount>,
    /// authentik sessions, by key hash (the keys themselves are never stored).
    pub ak_sessions: Vec<AkSession>,
    /// authentik user consents, by pk.
    pub ak_user_consents: Vec<AkUserConsent>,
    /// authentik groups, by name (their members' rows embed copies of them).
    pub ak_groups: Vec<AkGroup>,
    /// authentik device authorizations (RFC 8628), by device code.
    pub ak_device_tokens: Vec<AkDeviceToken>,
}

/// The storage interface, used as `Arc<dyn Store>`.
///
/// Every method is one logical, atomic read or write. References between rows
/// (token → user, PAT → user) are enforced like foreign keys and give `NotFound`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // declared resources (`resource.rs`), through the typed methods of `dyn Store` below

    /// Adds a row: `Duplicate` on a unique key, `NotFound` for a missing parent. With `allocate`, an allocated
    /// primary key ([`PrimaryKey::Allocated`](resource::PrimaryKey)) is made here, in the same step; otherwise the
    /// row keeps its own. The row as stored is returned.
    async fn insert_row(&self, row: Row, allocate: bool) -> Result<Row, StoreError>;
    /// The row whose unique key `field` is `key`.
    async fn row(&self, table: &'static Table, field: Field, key: Key) -> Result<Row, StoreError>;
    /// One page of a table's rows.
    async fn rows(&self, table: &'static Table, listing: &Listing<ErasedColumn>) -> Result<Slice<Row>, StoreError>;
    /// Replaces the row with the same primary key: `NotFound` without one, `Duplicate` and missing parents as
    /// for insert.
    async fn replace_row(&self, row: Row) -> Result<(), StoreError>;
    /// Deletes the row with primary key `pk`, with what its children do (`Child::on_delete`), in one step.
    async fn delete_row(&self, table: &'static Table, pk: Key) -> Result<(), StoreError>;

    // authentik core tokens

    /// Adds a token; `Duplicate` on `pk`, `identifier` or `key`, `NotFound` for an unknown user.
    async fn insert_core_token(&self, token: CoreToken) -> Result<CoreToken, StoreError>;
    async fn core_token(&self, identifier: &str) -> Result<CoreToken, StoreError>;
    /// Lookup by secret key through an index, for authentication.
    async fn core_token_by_key(&self, key: &str) -> Result<CoreToken, StoreError>;
    async fn list_core_tokens(&self, query: &CoreTokenQuery) -> Result<Slice<CoreToken>, StoreError>;
    /// Replaces the token with primary key `pk` (the row a rule checked), keeping its `pk`; the new value may
    /// carry a new identifier, key or user (`Duplicate`/`NotFound` as for insert). Writes go by `pk`, never by
    /// identifier: a token deleted and re-created under the same identifier in between is another row.
    async fn replace_core_token(&self, pk: Uuid, token: CoreToken) -> Result<CoreToken, StoreError>;
    async fn delete_core_token(&self, pk: Uuid) -> Result<(), StoreError>;
    /// Swaps the key of the token `pk`; the old key stops resolving in the same step.
    async fn set_core_token_key(&self, pk: Uuid, key: Secret) -> Result<(), StoreError>;
    /// Up to `limit` core tokens expired at `now` ([`CoreToken::is_expired`]), by identifier.
    async fn expired_core_tokens(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<CoreToken>, StoreError>;
    /// Applies `action` to the core token `pk` in one step if it is still expired at `now`; `false` when it
    /// is gone or no longer expired. A rotation's new key may be `Duplicate`.
    async fn expire_core_token(&self, pk: Uuid, now: DateTime<Utc>, action: ExpireAction) -> Result<bool, StoreError>;

    // authentik OAuth2 tokens

    /// Adds a token; `Duplicate` on `(kind, pk)`, `NotFound` for an unknown user or provider. With `allocate`, its
    /// pk is one more than the highest of its kind, made in the same step; the token as stored is returned.
    async fn insert_oauth_token(&self, token: OAuthToken, allocate: bool) -> Result<OAuthToken, StoreError>;
    async fn oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<OAuthToken, StoreError>;
    async fn list_oauth_tokens(&self, query: &OAuthQuery) -> Result<Slice<OAuthToken>, StoreError>;
    async fn delete_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError>;
    /// The access or refresh token whose value is `token`, through an index; `NotFound` when none.
    async fn oauth_token_by_token(&self, kind: OAuthKind, token: &str) -> Result<OAuthToken, StoreError>;
    /// Marks the token revoked (refresh-token rotation); `NotFound` when absent.
    async fn revoke_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError>;

    // authentik OAuth2 authorization codes and signing key pairs

    /// Adds a code; `Duplicate { field: Field::Code }` on the same code, `NotFound` for an unknown provider or user.
    /// Codes go with their user or provider, and with every import.
    async fn insert_authorization_code(&self, code: AuthorizationCode) -> Result<(), StoreError>;
    /// Removes and returns the code, atomically: of two concurrent takes of one code exactly one gets it, the
    /// other `NotFound`. Read through no cache.
    async fn take_authorization_code(&self, code: &str) -> Result<AuthorizationCode, StoreError>;
    // NetBird

    /// Adds a PAT; `Duplicate` on `id` or `hashed_token`, `NotFound` for an unknown user.
    async fn insert_pat(&self, pat: Pat) -> Result<(), StoreError>;
    /// Lookup by hashed token through an index, for authentication.
    async fn pat_by_hash(&self, hashed_token: &str) -> Result<Pat, StoreError>;
    /// All PATs of a user, oldest first; empty for an unknown user.
    async fn list_pats(&self, user_id: &str) -> Result<Vec<Pat>, StoreError>;
    /// The PAT `id` if it belongs to `user_id`.
    async fn pat(&self, user_id: &str, id: &str) -> Result<Pat, StoreError>;
    async fn delete_pat(&self, user_id: &str, id: &str) -> Result<(), StoreError>;
    /// Sets `last_used`.
    async fn mark_pat_used(&self, user_id: &str, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    // whole state

    async fn export(&self) -> Result<Snapshot, StoreError>;
    /// Replaces the whole state; on error nothing changes.
    async fn import(&self, snapshot: Snapshot) -> Result<(), StoreError>;

    /// How many tokens are stored, by kind (for the `tokenstack_tokens` gauge).
    async fn count_tokens(&self) -> Result<TokenCounts, StoreError>;

    /// Whether the backend answers (the readiness probe): one round trip, no rows read.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes connections cleanly at shutdown; later calls fail with `Backend`.
    async fn close(&self) {}
}

/// The generic operations of every declared resource, typed.
impl dyn Store {
    /// Adds `row`; with an allocated primary key, it comes back with the key the store made.
    pub async fn insert<R: Resource>(&self, row: R) -> Result<R, StoreError> {
        downcast(&self.insert_row(Arc::new(row), true).await?)
    }

    /// Adds `row` with the primary key it has, even where the store allocates keys (as Django saves a model
    /// whose pk is set): the admin API's rows.
    pub async fn insert_with_pk<R: Resource>(&self, row: R) -> Result<R, StoreError> {
        downcast(&self.insert_row(Arc::new(row), false).await?)
    }

    /// The `R` whose unique key `field` is `key`.
    pub async fn get<R: Resource>(&self, field: Field, key: impl Into<Key>) -> Result<R, StoreError> {
        downcast(&self.row(R::TABLE, field, key.into()).await?)
    }

    /// One page of `R`s.
    pub async fn list<R: Resource>(&self, listing: &Listing<R::Column>) -> Result<Slice<R>, StoreError> {
        let slice = self.rows(R::TABLE, &listing.map(DeclaredColumn::erased)).await?;
        Ok(Slice { total: slice.total, items: slice.items.iter().map(downcast).collect::<Result<_, _>>()? })
    }

    /// Every `R`, in the declared order.
    pub async fn all<R: Resource>(&self) -> Result<Vec<R>, StoreError> {
        let order = R::Column::ALL.iter().copied().find(|c| query::Column::sql(*c) == R::TABLE.order);
        let order = order.unwrap_or(R::Column::ALL[0]);
        Ok(self.list::<R>(&Listing::new(None, &[], order, PageRequest::all())).await?.items)
    }

    /// Replaces the `R` with `row`'s primary key.
    pub async fn replace<R: Resource>(&self, row: R) -> Result<(), StoreError> {
        self.replace_row(Arc::new(row)).await
    }

    /// Deletes the `R` with primary key `pk`, with what that cascades to.
    pub async fn delete<R: Resource>(&self, pk: impl Into<Key>) -> Result<(), StoreError> {
        self.delete_row(R::TABLE, pk.into()).await
    }
}
