//! What the SQLite and PostgreSQL stores share: embedded migrations, value encodings, error mapping,
//! the listing query builder and the `Store` implementation itself (one macro, two concrete backends).
//!
//! Both schemas use the same column names and encodings (see `migrations/*/0001_init.sql`):
//! timestamps are `BIGINT` microseconds since the epoch, UUIDs and JSON documents are text, and
//! `*_lc` columns hold the Unicode lower case of searched fields. The only dialect differences the
//! queries need is the substring function (`instr` / `strpos`).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::error::{BoxDynError, ErrorKind};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::model::{CoreToken, OAuthKind, OAuthToken, Pat};
use crate::store::query::Column;
use crate::store::{CoreTokenField, OAuthField, StoreError};

/// One migration file compiled into the binary: `(version, description, sql)`.
pub(crate) type EmbeddedMigration = (i64, &'static str, &'static str);

/// The embedded migrations as a `sqlx` migration source (what `sqlx::migrate!` would produce,
/// without pulling in `sqlx`'s proc-macro crates; checksums are computed the same way).
#[derive(Debug)]
struct Embedded(&'static [EmbeddedMigration]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Builds the migrator for one backend's embedded migrations.
pub(crate) async fn migrator(files: &'static [EmbeddedMigration]) -> Result<Migrator, StoreError> {
    Migrator::new(Embedded(files)).await.map_err(|err| StoreError::caused("cannot read the embedded migrations", err))
}

/// Maps a driver error: unique violations become `Duplicate` on the violated field, foreign-key
/// violations `NotFound` (a referenced row is missing), everything else `Backend`.
pub(crate) fn db_err(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        match db.kind() {
            ErrorKind::UniqueViolation => {
                // PostgreSQL names the constraint (`<table>__<column>`); SQLite only says
                // `UNIQUE constraint failed: <table>.<column>[, <table>.<column>]`.
                let name = db.constraint().unwrap_or_else(|| db.message());
                if let Some(field) = unique_field(name) {
                    return StoreError::Duplicate { field };
                }
            }
            ErrorKind::ForeignKeyViolation => return StoreError::NotFound,
            _ => {}
        }
    }
    // The driver's error is kept for the log (its text is the database's message, never PostgreSQL's
    // DETAIL, which can quote a value); the response body never shows it.
    StoreError::caused("the database failed", err)
}

/// The `StoreError::Duplicate` field for a constraint name or SQLite message.
fn unique_field(name: &str) -> Option<&'static str> {
    let column = name.rsplit(['.', ' ']).next().map(|c| c.rsplit("__").next().unwrap_or(c))?;
    Some(match column {
        "pk" => "pk",
        "identifier" => "identifier",
        "token_key" => "key",
        "username" => "username",
        "id" => "id",
        "hashed_token" => "hashed_token",
        _ => return None,
    })
}

/// Microseconds since the epoch: the stored form of every timestamp.
pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The exact stored form of `at`, or `None` when `at` has sub-microsecond digits (so it cannot
/// equal any stored value).
pub(crate) fn exact_micros(at: DateTime<Utc>) -> Option<i64> {
    at.timestamp_subsec_nanos().is_multiple_of(1000).then(|| micros(at))
}

/// The smallest stored value that is not strictly before `at` (for `expires < bound` ⇔ `expires < at`).
pub(crate) fn micros_ceil(at: DateTime<Utc>) -> i64 {
    micros(at) + i64::from(!at.timestamp_subsec_nanos().is_multiple_of(1000))
}

pub(crate) fn from_micros(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::backend(format!("stored timestamp out of range: {value}")))
}

pub(crate) fn opt_from_micros(value: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    value.map(from_micros).transpose()
}

/// A timestamp as the SQL stores will give it back (microsecond precision).
pub(crate) fn trunc(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// A core token as stored: timestamps truncated to microseconds.
pub(crate) fn stored_core(mut token: CoreToken) -> CoreToken {
    token.expires = token.expires.map(trunc);
    token
}

/// An OAuth2 token as stored.
pub(crate) fn stored_oauth(mut token: OAuthToken) -> OAuthToken {
    token.expires = token.expires.map(trunc);
    token
}

/// A PAT as stored.
pub(crate) fn stored_pat(mut pat: Pat) -> Pat {
    pat.expiration_date = trunc(pat.expiration_date);
    pat.created_at = trunc(pat.created_at);
    pat.last_used = pat.last_used.map(trunc);
    pat
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::caused("cannot encode a JSON column", err))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::caused("cannot decode a JSON column", err))
}

pub(crate) fn parse_kind(value: &str) -> Result<OAuthKind, StoreError> {
    match value {
        "access" => Ok(OAuthKind::Access),
        "refresh" => Ok(OAuthKind::Refresh),
        other => Err(StoreError::backend(format!("unknown stored OAuth token kind {other:?}"))),
    }
}

/// A bound query parameter; the backends bind each variant with its native type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    Bool(bool),
}

/// A query under construction with `$n` placeholders (understood by both SQLite and PostgreSQL).
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `param`.
    pub(crate) fn bind(&mut self, param: Param) -> &mut Self {
        self.params.push(param);
        let n = self.params.len();
        self.text.push_str(&format!("${n}"));
        self
    }
}

/// The SQL dialect bits the listing queries need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    /// `f(haystack, needle)` that is positive when `needle` occurs in `haystack`.
    pub position_fn: &'static str,
}

/// The columns of a core token row, in the order `core_from_row` reads them.
pub(crate) const CORE_COLUMNS: &str = "t.pk, t.identifier, t.token_key, t.intent, t.user_id, \
     t.description, t.expires, t.expiring, t.managed, t.key_viewers";

/// What core token listings select from: the columns of [`CoreTokenField`] name these tables.
pub(crate) const CORE_FROM: &str = "core_tokens t JOIN ak_users u ON u.pk = t.user_id";

impl Column for CoreTokenField {
    fn sql(self) -> &'static str {
        match self {
            CoreTokenField::Pk => "t.pk",
            CoreTokenField::Identifier => "t.identifier",
            CoreTokenField::Intent => "t.intent",
            CoreTokenField::User => "t.user_id",
            CoreTokenField::Description => "t.description",
            CoreTokenField::Expires => "t.expires",
            CoreTokenField::Expiring => "t.expiring",
            CoreTokenField::Managed => "t.managed",
            CoreTokenField::UserUsername => "u.username",
        }
    }

    fn search_sql(self) -> &'static str {
        match self {
            CoreTokenField::Identifier => "t.identifier_lc",
            CoreTokenField::UserUsername => "u.username_lc",
            CoreTokenField::Description => "t.description_lc",
            other => other.sql(),
        }
    }
}

/// The columns of an OAuth2 token row.
pub(crate) const OAUTH_COLUMNS: &str =
    "o.kind, o.pk, o.provider_id, o.user_id, o.token, o.expires, o.scope, o.id_token, o.revoked";

/// What OAuth2 token listings select from.
pub(crate) const OAUTH_FROM: &str =
    "oauth_tokens o JOIN providers p ON p.pk = o.provider_id JOIN ak_users u ON u.pk = o.user_id";

impl Column for OAuthField {
    fn sql(self) -> &'static str {
        match self {
            OAuthField::Pk => "o.pk",
            OAuthField::Provider => "o.provider_id",
            OAuthField::User => "o.user_id",
            OAuthField::Expires => "o.expires",
            OAuthField::Revoked => "o.revoked",
            OAuthField::Kind => "o.kind",
            OAuthField::ProviderName => "p.name_lc",
            OAuthField::UserUsername => "u.username_lc",
        }
    }
}

/// The columns of a PAT row.
pub(crate) const PAT_COLUMNS: &str =
    "id, user_id, name, hashed_token, expiration_date, created_by, created_at, last_used";

/// Implements [`Store`](crate::store::Store) for a struct with these inherent methods:
/// `reader(&self) -> &Pool<DB>`, `writer(&self) -> &Pool<DB>`,
/// `begin_read(&self)` / `begin_write(&self) -> Result<Transaction<'_, DB>, StoreError>`,
/// and the constant `DIALECT: Dialect`.
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $row:ty) => {
        mod sql_impl {
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use sqlx::Row as _;
            use uuid::Uuid;

            use super::*;
            use crate::model::{AkProvider, AkUser, CoreToken, Intent, NbUser, OAuthKind, OAuthToken, Pat};
            use crate::pagination::Slice;
            use crate::secrets::Secret;
            use crate::store::sql::{self, Param, db_err};
            use crate::store::{CoreTokenQuery, ExpireAction, OAuthQuery, Snapshot, Store, StoreError, TokenCounts};

            type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>;

            fn bind_all<'q>(mut query: Query<'q>, params: &'q [Param]) -> Query<'q> {
                for param in params {
                    query = match param {
                        Param::Int(v) => query.bind(*v),
                        Param::Text(v) => query.bind(v.as_str()),
                        Param::Bool(v) => query.bind(*v),
                    };
                }
                query
            }

            fn get<'r, T>(row: &'r $row, column: &str) -> Result<T, StoreError>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(column).map_err(db_err)
            }

            fn core_from_row(row: &$row) -> Result<CoreToken, StoreError> {
                let pk: String = get(row, "pk")?;
                let intent: String = get(row, "intent")?;
                Ok(CoreToken {
                    pk: Uuid::parse_str(&pk).map_err(|e| StoreError::caused("stored token pk is not a UUID", e))?,
                    identifier: get(row, "identifier")?,
                    key: Secret::new(get::<String>(row, "token_key")?),
                    intent: Intent::parse(&intent)
                        .ok_or_else(|| StoreError::backend(format!("unknown stored intent {intent:?}")))?,
                    user: get(row, "user_id")?,
                    description: get(row, "description")?,
                    expires: sql::opt_from_micros(get(row, "expires")?)?,
                    expiring: get(row, "expiring")?,
                    managed: get(row, "managed")?,
                    key_viewers: sql::from_json(&get::<String>(row, "key_viewers")?)?,
                })
            }

            fn oauth_from_row(row: &$row) -> Result<OAuthToken, StoreError> {
                Ok(OAuthToken {
                    pk: get(row, "pk")?,
                    kind: sql::parse_kind(&get::<String>(row, "kind")?)?,
                    provider: get(row, "provider_id")?,
                    user: get(row, "user_id")?,
                    token: Secret::new(get::<String>(row, "token")?),
                    expires: sql::opt_from_micros(get(row, "expires")?)?,
                    scope: sql::from_json(&get::<String>(row, "scope")?)?,
                    id_token: sql::from_json(&get::<String>(row, "id_token")?)?,
                    revoked: get(row, "revoked")?,
                })
            }

            fn pat_from_row(row: &$row) -> Result<Pat, StoreError> {
                Ok(Pat {
                    id: get(row, "id")?,
                    user_id: get(row, "user_id")?,
                    name: get(row, "name")?,
                    hashed_token: get(row, "hashed_token")?,
                    expiration_date: sql::from_micros(get(row, "expiration_date")?)?,
                    created_by: get(row, "created_by")?,
                    created_at: sql::from_micros(get(row, "created_at")?)?,
                    last_used: sql::opt_from_micros(get(row, "last_used")?)?,
                })
            }

            fn data_from_row<T: serde::de::DeserializeOwned>(row: &$row) -> Result<T, StoreError> {
                sql::from_json(&get::<String>(row, "data")?)
            }

            async fn insert_ak_user<'c, E>(db: E, user: &AkUser) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query("INSERT INTO ak_users (pk, username, username_lc, data) VALUES ($1, $2, $3, $4)")
                    .bind(user.pk)
                    .bind(user.username.as_str())
                    .bind(user.username.to_lowercase())
                    .bind(sql::to_json(user)?)
                    .execute(db)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn insert_provider<'c, E>(db: E, provider: &AkProvider) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query("INSERT INTO providers (pk, name_lc, data) VALUES ($1, $2, $3)")
                    .bind(provider.pk)
                    .bind(provider.name.to_lowercase())
                    .bind(sql::to_json(provider)?)
                    .execute(db)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn insert_core<'c, E>(db: E, token: &CoreToken) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query(
                    "INSERT INTO core_tokens (pk, identifier, identifier_lc, token_key, intent, user_id, \
                     description, description_lc, expires, expiring, managed, key_viewers) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(token.pk.to_string())
                .bind(token.identifier.as_str())
                .bind(token.identifier.to_lowercase())
                .bind(token.key.expose())
                .bind(token.intent.as_str())
                .bind(token.user)
                .bind(token.description.as_str())
                .bind(token.description.to_lowercase())
                .bind(token.expires.map(sql::micros))
                .bind(token.expiring)
                .bind(token.managed.as_deref())
                .bind(sql::to_json(&token.key_viewers)?)
                .execute(db)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn insert_oauth<'c, E>(db: E, token: &OAuthToken) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query(
                    "INSERT INTO oauth_tokens (kind, pk, provider_id, user_id, token, expires, scope, id_token, revoked) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(token.kind.as_str())
                .bind(token.pk)
                .bind(token.provider)
                .bind(token.user)
                .bind(token.token.expose())
                .bind(token.expires.map(sql::micros))
                .bind(sql::to_json(&token.scope)?)
                .bind(sql::to_json(&token.id_token)?)
                .bind(token.revoked)
                .execute(db)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn insert_nb_user<'c, E>(db: E, user: &NbUser) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query("INSERT INTO nb_users (id, account_id, data) VALUES ($1, $2, $3)")
                    .bind(user.id.as_str())
                    .bind(user.account_id.as_str())
                    .bind(sql::to_json(user)?)
                    .execute(db)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn insert_pat<'c, E>(db: E, pat: &Pat) -> Result<(), StoreError>
            where
                E: sqlx::Executor<'c, Database = $db>,
            {
                sqlx::query(
                    "INSERT INTO pats (id, user_id, name, hashed_token, expiration_date, created_by, created_at, last_used) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(pat.id.as_str())
                .bind(pat.user_id.as_str())
                .bind(pat.name.as_str())
                .bind(pat.hashed_token.as_str())
                .bind(sql::micros(pat.expiration_date))
                .bind(pat.created_by.as_str())
                .bind(sql::micros(pat.created_at))
                .bind(pat.last_used.map(sql::micros))
                .execute(db)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            impl $store {
                async fn list<T>(
                    &self,
                    listing: crate::store::query::SqlListing,
                    decode: fn(&$row) -> Result<T, StoreError>,
                ) -> Result<Slice<T>, StoreError> {
                    let rows = bind_all(sqlx::query(&listing.page.text), &listing.page.params)
                        .fetch_all(self.reader())
                        .await
                        .map_err(db_err)?;
                    let total: i64 = match rows.first() {
                        Some(row) => get(row, "total")?,
                        None => bind_all(sqlx::query(&listing.count.text), &listing.count.params)
                            .fetch_one(self.reader())
                            .await
                            .map_err(db_err)?
                            .try_get(0)
                            .map_err(db_err)?,
                    };
                    let items = rows.iter().map(decode).collect::<Result<Vec<T>, _>>()?;
                    Ok(Slice { total: u64::try_from(total).unwrap_or(0), items })
                }
            }

            #[async_trait]
            impl Store for $store {
                async fn insert_ak_user(&self, user: AkUser) -> Result<(), StoreError> {
                    insert_ak_user(self.writer(), &user).await
                }

                async fn ak_user(&self, pk: i64) -> Result<AkUser, StoreError> {
                    let row = sqlx::query("SELECT data FROM ak_users WHERE pk = $1")
                        .bind(pk)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?;
                    data_from_row(&row)
                }

                async fn ak_user_by_username(&self, username: &str) -> Result<AkUser, StoreError> {
                    let row = sqlx::query("SELECT data FROM ak_users WHERE username = $1")
                        .bind(username)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?;
                    data_from_row(&row)
                }

                async fn insert_provider(&self, provider: AkProvider) -> Result<(), StoreError> {
                    insert_provider(self.writer(), &provider).await
                }

                async fn provider(&self, pk: i64) -> Result<AkProvider, StoreError> {
                    let row = sqlx::query("SELECT data FROM providers WHERE pk = $1")
                        .bind(pk)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?;
                    data_from_row(&row)
                }

                async fn insert_core_token(&self, token: CoreToken) -> Result<CoreToken, StoreError> {
                    let token = sql::stored_core(token);
                    insert_core(self.writer(), &token).await?;
                    Ok(token)
                }

                async fn core_token(&self, identifier: &str) -> Result<CoreToken, StoreError> {
                    let row = sqlx::query(&format!(
                        "SELECT {} FROM core_tokens t WHERE t.identifier = $1",
                        sql::CORE_COLUMNS
                    ))
                    .bind(identifier)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound)?;
                    core_from_row(&row)
                }

                async fn core_token_by_key(&self, key: &str) -> Result<CoreToken, StoreError> {
                    let row = sqlx::query(&format!(
                        "SELECT {} FROM core_tokens t WHERE t.token_key = $1",
                        sql::CORE_COLUMNS
                    ))
                    .bind(key)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound)?;
                    core_from_row(&row)
                }

                async fn list_core_tokens(
                    &self,
                    query: &CoreTokenQuery,
                ) -> Result<Slice<CoreToken>, StoreError> {
                    self.list(query.listing().to_sql(Self::DIALECT.position_fn, sql::CORE_COLUMNS, sql::CORE_FROM), core_from_row).await
                }

                async fn replace_core_token(
                    &self,
                    identifier: &str,
                    token: CoreToken,
                ) -> Result<CoreToken, StoreError> {
                    let mut token = sql::stored_core(token);
                    // One statement: the old identifier and key stop resolving as the new ones start.
                    let row = sqlx::query(
                        "UPDATE core_tokens SET identifier = $1, identifier_lc = $2, token_key = $3, intent = $4, \
                         user_id = $5, description = $6, description_lc = $7, expires = $8, expiring = $9, \
                         managed = $10, key_viewers = $11 WHERE identifier = $12 RETURNING pk",
                    )
                    .bind(token.identifier.as_str())
                    .bind(token.identifier.to_lowercase())
                    .bind(token.key.expose())
                    .bind(token.intent.as_str())
                    .bind(token.user)
                    .bind(token.description.as_str())
                    .bind(token.description.to_lowercase())
                    .bind(token.expires.map(sql::micros))
                    .bind(token.expiring)
                    .bind(token.managed.as_deref())
                    .bind(sql::to_json(&token.key_viewers)?)
                    .bind(identifier)
                    .fetch_optional(self.writer())
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound)?;
                    let pk: String = get(&row, "pk")?;
                    token.pk = Uuid::parse_str(&pk).map_err(|e| StoreError::caused("stored token pk is not a UUID", e))?;
                    Ok(token)
                }

                async fn delete_core_token(&self, identifier: &str) -> Result<(), StoreError> {
                    let done = sqlx::query("DELETE FROM core_tokens WHERE identifier = $1")
                        .bind(identifier)
                        .execute(self.writer())
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn set_core_token_key(&self, identifier: &str, key: Secret) -> Result<(), StoreError> {
                    let done = sqlx::query("UPDATE core_tokens SET token_key = $1 WHERE identifier = $2")
                        .bind(key.expose())
                        .bind(identifier)
                        .execute(self.writer())
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn expired_core_tokens(
                    &self,
                    now: DateTime<Utc>,
                    limit: usize,
                ) -> Result<Vec<CoreToken>, StoreError> {
                    let rows = sqlx::query(&format!(
                        "SELECT {} FROM core_tokens t WHERE t.expiring AND t.expires IS NOT NULL \
                         AND t.expires < $1 ORDER BY t.identifier LIMIT $2",
                        sql::CORE_COLUMNS,
                    ))
                    .bind(sql::micros_ceil(now))
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(self.reader())
                    .await
                    .map_err(db_err)?;
                    rows.iter().map(core_from_row).collect()
                }

                async fn expire_core_token(
                    &self,
                    pk: Uuid,
                    now: DateTime<Utc>,
                    action: ExpireAction,
                ) -> Result<bool, StoreError> {
                    const STILL_EXPIRED: &str = "t.pk = $1 AND t.expiring AND t.expires IS NOT NULL AND t.expires < $2";
                    let result = match action {
                        ExpireAction::Rotate { key, expires } => sqlx::query(&format!(
                            "UPDATE core_tokens AS t SET token_key = $3, expires = $4 WHERE {STILL_EXPIRED}"
                        ))
                        .bind(pk.to_string())
                        .bind(sql::micros_ceil(now))
                        .bind(key.expose())
                        .bind(sql::micros(sql::trunc(expires)))
                        .execute(self.writer())
                        .await,
                        ExpireAction::Delete => {
                            sqlx::query(&format!("DELETE FROM core_tokens AS t WHERE {STILL_EXPIRED}"))
                                .bind(pk.to_string())
                                .bind(sql::micros_ceil(now))
                                .execute(self.writer())
                                .await
                        }
                    };
                    Ok(result.map_err(db_err)?.rows_affected() == 1)
                }

                async fn insert_oauth_token(&self, token: OAuthToken) -> Result<(), StoreError> {
                    insert_oauth(self.writer(), &sql::stored_oauth(token)).await
                }

                async fn oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<OAuthToken, StoreError> {
                    let row = sqlx::query(&format!(
                        "SELECT {} FROM oauth_tokens o WHERE o.kind = $1 AND o.pk = $2",
                        sql::OAUTH_COLUMNS
                    ))
                    .bind(kind.as_str())
                    .bind(pk)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound)?;
                    oauth_from_row(&row)
                }

                async fn list_oauth_tokens(&self, query: &OAuthQuery) -> Result<Slice<OAuthToken>, StoreError> {
                    self.list(query.listing().to_sql(Self::DIALECT.position_fn, sql::OAUTH_COLUMNS, sql::OAUTH_FROM), oauth_from_row).await
                }

                async fn delete_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError> {
                    let done = sqlx::query("DELETE FROM oauth_tokens WHERE kind = $1 AND pk = $2")
                        .bind(kind.as_str())
                        .bind(pk)
                        .execute(self.writer())
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn insert_nb_user(&self, user: NbUser) -> Result<(), StoreError> {
                    insert_nb_user(self.writer(), &user).await
                }

                async fn nb_user(&self, id: &str) -> Result<NbUser, StoreError> {
                    let row = sqlx::query("SELECT data FROM nb_users WHERE id = $1")
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?;
                    data_from_row(&row)
                }

                async fn insert_pat(&self, pat: Pat) -> Result<(), StoreError> {
                    insert_pat(self.writer(), &sql::stored_pat(pat)).await
                }

                async fn pat_by_hash(&self, hashed_token: &str) -> Result<Pat, StoreError> {
                    let row = sqlx::query(&format!("SELECT {} FROM pats WHERE hashed_token = $1", sql::PAT_COLUMNS))
                        .bind(hashed_token)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(db_err)?
                        .ok_or(StoreError::NotFound)?;
                    pat_from_row(&row)
                }

                async fn list_pats(&self, user_id: &str) -> Result<Vec<Pat>, StoreError> {
                    sqlx::query(&format!(
                        "SELECT {} FROM pats WHERE user_id = $1 ORDER BY created_at, id",
                        sql::PAT_COLUMNS
                    ))
                    .bind(user_id)
                    .fetch_all(self.reader())
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(pat_from_row)
                    .collect()
                }

                async fn pat(&self, user_id: &str, id: &str) -> Result<Pat, StoreError> {
                    let row = sqlx::query(&format!(
                        "SELECT {} FROM pats WHERE user_id = $1 AND id = $2",
                        sql::PAT_COLUMNS
                    ))
                    .bind(user_id)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound)?;
                    pat_from_row(&row)
                }

                async fn delete_pat(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
                    let done = sqlx::query("DELETE FROM pats WHERE user_id = $1 AND id = $2")
                        .bind(user_id)
                        .bind(id)
                        .execute(self.writer())
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn mark_pat_used(
                    &self,
                    user_id: &str,
                    id: &str,
                    at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    let done = sqlx::query("UPDATE pats SET last_used = $1 WHERE user_id = $2 AND id = $3")
                        .bind(sql::micros(at))
                        .bind(user_id)
                        .bind(id)
                        .execute(self.writer())
                        .await
                        .map_err(db_err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn export(&self) -> Result<Snapshot, StoreError> {
                    // One read transaction, so the snapshot is consistent.
                    let mut tx = self.begin_read().await?;
                    let mut snapshot = Snapshot::default();
                    for row in sqlx::query("SELECT data FROM ak_users ORDER BY pk")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)?
                    {
                        snapshot.ak_users.push(data_from_row(&row)?);
                    }
                    for row in sqlx::query("SELECT data FROM providers ORDER BY pk")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)?
                    {
                        snapshot.providers.push(data_from_row(&row)?);
                    }
                    for row in sqlx::query(&format!(
                        "SELECT {} FROM core_tokens t ORDER BY t.identifier",
                        sql::CORE_COLUMNS
                    ))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?
                    {
                        snapshot.core_tokens.push(core_from_row(&row)?);
                    }
                    // `kind` text orders access before refresh, as `OAuthKind` does.
                    for row in sqlx::query(&format!(
                        "SELECT {} FROM oauth_tokens o ORDER BY o.kind, o.pk",
                        sql::OAUTH_COLUMNS
                    ))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?
                    {
                        snapshot.oauth_tokens.push(oauth_from_row(&row)?);
                    }
                    for row in sqlx::query("SELECT data FROM nb_users ORDER BY id")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)?
                    {
                        snapshot.nb_users.push(data_from_row(&row)?);
                    }
                    for row in sqlx::query(&format!("SELECT {} FROM pats ORDER BY id", sql::PAT_COLUMNS))
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)?
                    {
                        snapshot.pats.push(pat_from_row(&row)?);
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(snapshot)
                }

                async fn count_tokens(&self) -> Result<TokenCounts, StoreError> {
                    let row = sqlx::query(
                        "SELECT (SELECT COUNT(*) FROM core_tokens), \
                                (SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'access'), \
                                (SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'refresh'), \
                                (SELECT COUNT(*) FROM pats)",
                    )
                    .fetch_one(&mut *self.begin_read().await?)
                    .await
                    .map_err(db_err)?;
                    let count = |i: usize| row.try_get::<i64, _>(i).map(|n| n.max(0) as u64).map_err(db_err);
                    Ok(TokenCounts { core: count(0)?, oauth_access: count(1)?, oauth_refresh: count(2)?, pats: count(3)? })
                }

                async fn ping(&self) -> Result<(), StoreError> {
                    sqlx::query("SELECT 1").execute(&mut *self.begin_read().await?).await.map_err(db_err)?;
                    Ok(())
                }

                async fn close(&self) {
                    <$store>::close(self).await
                }

                async fn import(&self, snapshot: Snapshot) -> Result<(), StoreError> {
                    // One write transaction: on any error it rolls back (dropped uncommitted).
                    let mut tx = self.begin_write().await?;
                    for table in ["pats", "nb_users", "oauth_tokens", "core_tokens", "providers", "ak_users"] {
                        sqlx::query(&format!("DELETE FROM {table}"))
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    for user in &snapshot.ak_users {
                        insert_ak_user(&mut *tx, user).await?;
                    }
                    for provider in &snapshot.providers {
                        insert_provider(&mut *tx, provider).await?;
                    }
                    for token in snapshot.core_tokens {
                        insert_core(&mut *tx, &sql::stored_core(token)).await?;
                    }
                    for token in snapshot.oauth_tokens {
                        insert_oauth(&mut *tx, &sql::stored_oauth(token)).await?;
                    }
                    for user in &snapshot.nb_users {
                        insert_nb_user(&mut *tx, user).await?;
                    }
                    for pat in snapshot.pats {
                        insert_pat(&mut *tx, &sql::stored_pat(pat)).await?;
                    }
                    tx.commit().await.map_err(db_err)?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_sql_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (backend, embedded) in
            [("sqlite", crate::store::sqlite::MIGRATIONS), ("postgres", crate::store::postgres::MIGRATIONS)]
        {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            let expected: Vec<String> =
                embedded.iter().map(|(version, description, _)| format!("{version:04}_{description}.sql")).collect();
            assert_eq!(files, expected, "{backend}");
        }
    }

    #[test]
    fn unique_fields_from_both_dialects() {
        assert_eq!(unique_field("core_tokens__token_key"), Some("key"));
        assert_eq!(unique_field("UNIQUE constraint failed: core_tokens.identifier"), Some("identifier"));
        assert_eq!(unique_field("UNIQUE constraint failed: oauth_tokens.kind, oauth_tokens.pk"), Some("pk"));
        assert_eq!(unique_field("pats__hashed_token"), Some("hashed_token"));
        assert_eq!(unique_field("something_else"), None);
    }

    #[test]
    fn micros_rounding() {
        let at = DateTime::from_timestamp(100, 1_500).unwrap();
        assert_eq!(micros(at), 100_000_001);
        assert_eq!(micros_ceil(at), 100_000_002);
        assert_eq!(exact_micros(at), None);
        let exact = DateTime::from_timestamp(100, 2_000).unwrap();
        assert_eq!(micros_ceil(exact), 100_000_002);
        assert_eq!(exact_micros(exact), Some(100_000_002));
    }
}
