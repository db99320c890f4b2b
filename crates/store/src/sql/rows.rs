//! Each table's row both ways, in the encodings of [`super`]: the statements that write a value (its `INSERT`;
//! for core tokens also the replace) and the value of a result row. The statements are plain [`Sql`], run on a
//! pool or in a transaction alike.

use uuid::Uuid;

use crate::StoreError;
use crate::model::{AuthorizationCode, CoreToken, Intent, OAuthToken, Pat};
use crate::secrets::Secret;
use crate::sql::driver::SqlRow;
use crate::sql::{Sql, from_json, from_micros, micros, opt_from_micros, parse_kind, to_json};

/// `token` as stored (see [`super::stored_core`]).
pub(crate) fn insert_core(token: &CoreToken) -> Result<Sql, StoreError> {
    let sql = Sql::new(
        "INSERT INTO core_tokens (pk, identifier, identifier_lc, token_key, intent, user_id, \
         description, description_lc, expires, expiring, managed, key_viewers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    );
    core_values(sql.arg(token.pk.to_string()), token)
}

/// Replaces the token stored under `identifier` with `token` (as stored), keeping its pk, which it returns:
/// one statement, so the old identifier and key stop resolving as the new ones start.
/// Replaces the row with `token.pk` (see [`super::stored_core`]).
pub(crate) fn replace_core(token: &CoreToken) -> Result<Sql, StoreError> {
    let sql = Sql::new(
        "UPDATE core_tokens SET identifier = $1, identifier_lc = $2, token_key = $3, intent = $4, \
         user_id = $5, description = $6, description_lc = $7, expires = $8, expiring = $9, \
         managed = $10, key_viewers = $11 WHERE pk = $12",
    );
    Ok(core_values(sql, token)?.arg(token.pk.to_string()))
}

/// The values of every core token column but `pk`, in table order.
fn core_values(sql: Sql, token: &CoreToken) -> Result<Sql, StoreError> {
    Ok(sql
        .arg(token.identifier.as_str())
        .arg(token.identifier.to_lowercase())
        .arg(token.key.expose())
        .arg(token.intent.as_str())
        .arg(token.user)
        .arg(token.description.as_str())
        .arg(token.description.to_lowercase())
        .arg(token.expires.map(micros))
        .arg(token.expiring)
        .arg(token.managed.as_deref())
        .arg(to_json(&token.key_viewers)?))
}

/// `token` as stored (see [`super::stored_oauth`]).
pub(crate) fn insert_oauth(token: &OAuthToken) -> Result<Sql, StoreError> {
    Ok(Sql::new(
        "INSERT INTO oauth_tokens (kind, pk, provider_id, user_id, token, expires, scope, id_token, revoked) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .arg(token.kind.as_str())
    .arg(token.pk)
    .arg(token.provider)
    .arg(token.user)
    .arg(token.token.expose())
    .arg(token.expires.map(micros))
    .arg(to_json(&token.scope)?)
    .arg(to_json(&token.id_token)?)
    .arg(token.revoked))
}

/// `code` as stored (see [`super::stored_code`]).
pub(crate) fn insert_code(code: &AuthorizationCode) -> Result<Sql, StoreError> {
    Ok(Sql::new(
        "INSERT INTO authorization_codes (code, provider_id, user_id, expires, scope, redirect_uri, nonce, \
         code_challenge, code_challenge_method, auth_time, amr, session) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .arg(code.code.expose())
    .arg(code.provider)
    .arg(code.user)
    .arg(micros(code.expires))
    .arg(to_json(&code.scope)?)
    .arg(code.redirect_uri.as_str())
    .arg(code.nonce.as_deref())
    .arg(code.code_challenge.as_deref())
    .arg(code.code_challenge_method.as_deref())
    .arg(micros(code.auth_time))
    .arg(to_json(&code.amr)?)
    .arg(code.session.as_deref()))
}

/// A row of [`CODE_COLUMNS`](super::CODE_COLUMNS).
pub(crate) fn code_from_row(row: &impl SqlRow) -> Result<AuthorizationCode, StoreError> {
    Ok(AuthorizationCode {
        code: Secret::new(row.text("code")?),
        provider: row.int("provider_id")?,
        user: row.int("user_id")?,
        expires: from_micros(row.int("expires")?)?,
        scope: from_json(&row.text("scope")?)?,
        redirect_uri: row.text("redirect_uri")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        code_challenge_method: row.opt_text("code_challenge_method")?,
        auth_time: from_micros(row.int("auth_time")?)?,
        amr: row.opt_text("amr")?.map(|amr| from_json(&amr)).transpose()?.unwrap_or_default(),
        session: row.opt_text("session")?,
    })
}

/// `pat` as stored (see [`super::stored_pat`]).
pub(crate) fn insert_pat(pat: &Pat) -> Result<Sql, StoreError> {
    Ok(Sql::new(
        "INSERT INTO pats (id, user_id, name, hashed_token, expiration_date, created_by, created_at, last_used) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .arg(pat.id.as_str())
    .arg(pat.user_id.as_str())
    .arg(pat.name.as_str())
    .arg(pat.hashed_token.as_str())
    .arg(micros(pat.expiration_date))
    .arg(pat.created_by.as_str())
    .arg(micros(pat.created_at))
    .arg(pat.last_used.map(micros)))
}

/// A core token pk as stored (UUID text).
pub(crate) fn parse_pk(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::caused("stored token pk is not a UUID", e))
}

/// A row of [`CORE_COLUMNS`](super::CORE_COLUMNS).
pub(crate) fn core_from_row(row: &impl SqlRow) -> Result<CoreToken, StoreError> {
    let pk = row.text("pk")?;
    let intent = row.text("intent")?;
    Ok(CoreToken {
        pk: parse_pk(&pk)?,
        identifier: row.text("identifier")?,
        key: Secret::new(row.text("token_key")?),
        intent: Intent::parse(&intent)
            .ok_or_else(|| StoreError::backend(format!("unknown stored intent {intent:?}")))?,
        user: row.int("user_id")?,
        description: row.text("description")?,
        expires: opt_from_micros(row.opt_int("expires")?)?,
        expiring: row.boolean("expiring")?,
        managed: row.opt_text("managed")?,
        key_viewers: from_json(&row.text("key_viewers")?)?,
    })
}

/// A row of [`OAUTH_COLUMNS`](super::OAUTH_COLUMNS).
pub(crate) fn oauth_from_row(row: &impl SqlRow) -> Result<OAuthToken, StoreError> {
    Ok(OAuthToken {
        pk: row.int("pk")?,
        kind: parse_kind(&row.text("kind")?)?,
        provider: row.int("provider_id")?,
        user: row.int("user_id")?,
        token: Secret::new(row.text("token")?),
        expires: opt_from_micros(row.opt_int("expires")?)?,
        scope: from_json(&row.text("scope")?)?,
        id_token: from_json(&row.text("id_token")?)?,
        revoked: row.boolean("revoked")?,
    })
}

/// A row of [`PAT_COLUMNS`](super::PAT_COLUMNS).
pub(crate) fn pat_from_row(row: &impl SqlRow) -> Result<Pat, StoreError> {
    Ok(Pat {
        id: row.text("id")?,
        user_id: row.text("user_id")?,
        name: row.text("name")?,
        hashed_token: row.text("hashed_token")?,
        expiration_date: from_micros(row.int("expiration_date")?)?,
        created_by: row.text("created_by")?,
        created_at: from_micros(row.int("created_at")?)?,
        last_used: opt_from_micros(row.opt_int("last_used")?)?,
    })
}
