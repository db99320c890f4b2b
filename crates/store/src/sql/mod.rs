//! What the SQLite and PostgreSQL stores share: embedded migrations, value encodings, error mapping, statements
//! ([`Sql`] with [`Param`] binds) and the columns listings name. Each table's row both ways is in `rows.rs`; the
//! `Store` implementation itself is plain generic code (`store.rs`) over a [`Driver`] (`driver.rs`), which
//! `SqliteStore` and `PostgresStore` implement.
//!
//! Both schemas use the same column names and encodings (see `migrations/*/0001_init.sql`):
//! timestamps are `BIGINT` microseconds since the epoch, UUIDs and JSON documents are text, and
//! `*_lc` columns hold the Unicode lower case of searched fields. The only dialect differences the
//! queries need is the substring function (`instr` / `strpos`, [`Driver::POSITION_FN`]).

pub(crate) mod cache;
pub(crate) mod driver;
pub(crate) mod listing;
mod resources;
mod rows;
mod store;
pub(crate) mod uses;

pub(crate) use driver::Driver;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::error::{BoxDynError, ErrorKind};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::model::{AuthorizationCode, CoreToken, OAuthKind, OAuthToken, Pat};
use crate::query::Column;
use crate::{CoreTokenField, Field, OAuthField, StoreError};

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
fn unique_field(name: &str) -> Option<Field> {
    let column = name.rsplit(['.', ' ']).next().map(|c| c.rsplit("__").next().unwrap_or(c))?;
    Some(match column {
        "pk" => Field::Pk,
        "identifier" => Field::Identifier,
        "token_key" | "peer_key" => Field::Key,
        "username" => Field::Username,
        "id" => Field::Id,
        "hashed_token" => Field::HashedToken,
        "slug" => Field::Slug,
        "provider" | "provider_id" => Field::Provider,
        "code" | "device_code" => Field::Code,
        "user_code" => Field::UserCode,
        "name" => Field::Name,
        "managed" => Field::Managed,
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

/// An authorization code as stored.
pub(crate) fn stored_code(mut code: AuthorizationCode) -> AuthorizationCode {
    code.expires = trunc(code.expires);
    code.auth_time = trunc(code.auth_time);
    code
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

/// A bound query parameter; the backends bind each variant with its native type (a `None` as a NULL of it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

impl From<Option<i64>> for Param {
    fn from(value: Option<i64>) -> Self {
        Param::OptInt(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::Text(value.to_owned())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Param::Text(value)
    }
}

impl From<Option<&str>> for Param {
    fn from(value: Option<&str>) -> Self {
        Param::OptText(value.map(str::to_owned))
    }
}

impl From<bool> for Param {
    fn from(value: bool) -> Self {
        Param::Bool(value)
    }
}

/// A query under construction with `$n` placeholders (understood by both SQLite and PostgreSQL).
#[derive(Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

/// The text and how many parameters, never their values: a statement can carry a token key.
impl std::fmt::Debug for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sql").field("text", &self.text).field("params", &self.params.len()).finish()
    }
}

impl Sql {
    /// A statement whose `$n` placeholders are already in `text`: give their values with [`arg`](Sql::arg).
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Sql { text: text.into(), params: Vec::new() }
    }

    /// Adds the value of the next placeholder (`$1` first).
    pub(crate) fn arg(mut self, param: impl Into<Param>) -> Self {
        self.params.push(param.into());
        self
    }

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

/// The columns of an authorization code row (`authorization_codes` is read only by `DELETE … RETURNING`).
pub(crate) const CODE_COLUMNS: &str = "code, provider_id, user_id, expires, scope, redirect_uri, nonce, \
     code_challenge, code_challenge_method, auth_time, amr, session";

/// The columns of a PAT row.
pub(crate) const PAT_COLUMNS: &str =
    "id, user_id, name, hashed_token, expiration_date, created_by, created_at, last_used";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every declared resource (`resource/`) names its table's columns, and each unique key's constraint is
    /// `<table>__<column>`, which a violation reports as the declared field.
    #[tokio::test]
    async fn every_declaration_matches_its_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("schema.db")).await.unwrap();
        for table in crate::resource::RESOURCES {
            let sql = Sql::new(format!("SELECT {} FROM {} LIMIT 0", table.columns.join(", "), table.name));
            let selected = store.read().fetch_all(&sql).await;
            assert!(selected.is_ok(), "{}: {:?}", table.name, selected.err());
            assert_eq!(table.pk_column(), table.unique[0].1, "{}: the primary key is the first column", table.name);
            for (field, column) in table.unique {
                assert!(table.columns.contains(column), "{}: unique {column} is a stored column", table.name);
                let message = format!("UNIQUE constraint failed: {}.{column}", table.name);
                assert_eq!(unique_field(&message), Some(*field), "{}.{column}", table.name);
                assert_eq!(unique_field(&format!("{}__{column}", table.name)), Some(*field), "{}", table.name);
            }
        }
        store.close().await;
    }

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (backend, embedded) in [("sqlite", crate::sqlite::MIGRATIONS), ("postgres", crate::postgres::MIGRATIONS)] {
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
        assert_eq!(unique_field("core_tokens__token_key"), Some(Field::Key));
        assert_eq!(unique_field("UNIQUE constraint failed: core_tokens.identifier"), Some(Field::Identifier));
        assert_eq!(unique_field("UNIQUE constraint failed: oauth_tokens.kind, oauth_tokens.pk"), Some(Field::Pk));
        assert_eq!(unique_field("pats__hashed_token"), Some(Field::HashedToken));
        assert_eq!(unique_field("UNIQUE constraint failed: authorization_codes.code"), Some(Field::Code));
        assert_eq!(unique_field("key_pairs__name"), Some(Field::Name));
        assert_eq!(unique_field("scope_mappings__managed"), Some(Field::Managed));
        assert_eq!(unique_field("ak_device_tokens__user_code"), Some(Field::UserCode));
        assert_eq!(unique_field("UNIQUE constraint failed: ak_device_tokens.device_code"), Some(Field::Code));
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
