//! authentik token rules: bearer authentication, owner visibility, core token CRUD and OAuth2 token listing.
//!
//! Expired tokens: like the newest upstream `TokenViewSet` (`Token.objects.including_expired()`),
//! expired core and OAuth2 tokens are still listed, retrieved, updated and deleted here.
//! They never authenticate. Authentication does not delete them either; `Store::expire_core_tokens`
//! is the cleanup.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Timelike, Utc};
use uuid::Uuid;

use crate::model::{AK_ATTR_TOKEN_EXPIRES, AkUser, CoreToken, Intent, OAuthKind, OAuthToken, UsedBy};
use crate::pagination::{Page, PageRequest, parse_ordering};
use crate::secrets::{Secret, generate_key};
use crate::store::{CoreTokenField, CoreTokenQuery, OAuthField, OAuthQuery, Store, StoreError};

pub const MSG_NOT_PROVIDED: &str = "Authentication credentials were not provided.";
pub const MSG_UNSUPPORTED: &str = "Unsupported authentication type";
pub const MSG_MALFORMED: &str = "Malformed header";
pub const MSG_TOKEN_INVALID: &str = "Token invalid/expired";
pub const MSG_NO_PERMISSION: &str = "You do not have permission to perform this action.";
pub const MSG_INVALID_PAGE: &str = "Invalid page.";
pub const MSG_TOKEN_NOT_FOUND: &str = "No Token matches the given query.";
const MSG_REQUIRED: &str = "This field is required.";
const MSG_BLANK: &str = "This field may not be blank.";
const MSG_SLUG: &str = "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens.";
const MSG_IDENTIFIER_TAKEN: &str = "Token with this identifier already exists.";
const MSG_IDENTIFIER_LENGTH: &str = "Ensure this field has no more than 255 characters.";
const MSG_USER_CHANGED: &str = "User cannot be changed";
const MSG_BAD_DATETIME: &str = "Enter a valid date/time.";
const MSG_BAD_FK_CHOICE: &str = "Select a valid choice. That choice is not one of the available choices.";
/// Not an upstream message: upstream keys are not unique, ours are (they index authentication).
const MSG_KEY_TAKEN: &str = "Token with this key already exists.";

/// `DEFAULT_TOKEN_DURATION = "days=1"`, also the app-password maximum lifetime
/// (the group attribute `goauthentik.io/user/token-maximum-lifetime` is not emulated).
pub fn default_token_duration() -> TimeDelta {
    TimeDelta::days(1)
}

const IDENTIFIER_MAX_CHARS: usize = 255;

/// An authentik rule violation. The HTTP layer maps `Forbidden` to 403 `{"detail"}`,
/// `NotFound` to 404 `{"detail"}`, `Invalid` to a field-keyed 400 and `Store` to 500.
#[derive(Debug, thiserror::Error)]
pub enum AkError {
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid request: {0:?}")]
    Invalid(BTreeMap<String, Vec<String>>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AkError {
    fn forbidden(msg: &str) -> Self {
        Self::Forbidden(msg.to_owned())
    }

    fn not_found(msg: &str) -> Self {
        Self::NotFound(msg.to_owned())
    }

    fn field(field: &str, msg: impl Into<String>) -> Self {
        Self::Invalid(BTreeMap::from([(field.to_owned(), vec![msg.into()])]))
    }
}

/// Raw `GET /core/tokens/` query parameters, as strings so filter errors come out as
/// django-filter reports them. Empty strings count as absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenListParams {
    pub identifier: Option<String>,
    pub intent: Option<String>,
    pub user_username: Option<String>,
    pub description: Option<String>,
    pub expires: Option<String>,
    pub expiring: Option<String>,
    pub managed: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// Raw `GET /oauth2/{access,refresh}_tokens/` query parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OAuthListParams {
    pub user: Option<String>,
    pub provider: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
}

/// A `TokenRequest` / `PatchedTokenRequest` body; `None` means the key was absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewToken {
    pub identifier: Option<String>,
    pub intent: Option<Intent>,
    pub user: Option<i64>,
    pub description: Option<String>,
    pub expires: Option<DateTime<Utc>>,
    pub expiring: Option<bool>,
    pub managed: Option<String>,
}

/// The authentik rules over a store, evaluated at one instant `now`.
#[derive(Clone, Copy)]
pub struct Authentik<'a> {
    pub store: &'a dyn Store,
    pub now: DateTime<Utc>,
}

impl<'a> Authentik<'a> {
    pub fn new(store: &'a dyn Store, now: DateTime<Utc>) -> Self {
        Self { store, now }
    }

    /// `TokenAuthentication` (`authentik/api/authentication.py validate_auth` + `bearer_auth`).
    /// Only `intent=api`, unexpired core token keys of active users authenticate; every
    /// failure is `Forbidden`. As upstream, the header is stripped first, so a header
    /// without a space (`"Bearer"`, `"Bearer   "`) counts as no credentials.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<AkUser, AkError> {
        let raw = header.map(str::trim).unwrap_or_default();
        let Some((scheme, credential)) = raw.split_once(' ') else {
            return Err(AkError::forbidden(MSG_NOT_PROVIDED));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AkError::forbidden(MSG_UNSUPPORTED));
        }
        if credential.is_empty() {
            return Err(AkError::forbidden(MSG_MALFORMED));
        }
        let token = match self.store.core_token_by_key(credential).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => return Err(AkError::forbidden(MSG_TOKEN_INVALID)),
            Err(e) => return Err(e.into()),
        };
        if token.intent != Intent::Api || token.is_expired(self.now) {
            return Err(AkError::forbidden(MSG_TOKEN_INVALID));
        }
        match self.store.ak_user(token.user).await {
            Ok(user) if user.is_active => Ok(user),
            Ok(_) | Err(StoreError::NotFound) => Err(AkError::forbidden(MSG_TOKEN_INVALID)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_list`: owner visibility, django-filter exact filters, DRF search and
    /// ordering (default `identifier,expires`), then authentik pagination.
    pub async fn list_tokens(&self, caller: &AkUser, params: TokenListParams) -> Result<Page<CoreToken>, AkError> {
        let mut errors = BTreeMap::new();
        let intent = non_empty(params.intent).and_then(|v| {
            Intent::parse(&v).or_else(|| {
                add_error(
                    &mut errors,
                    "intent",
                    format!("Select a valid choice. {v} is not one of the available choices."),
                );
                None
            })
        });
        let expires = non_empty(params.expires).and_then(|v| {
            parse_django_datetime(&v).or_else(|| {
                add_error(&mut errors, "expires", MSG_BAD_DATETIME);
                None
            })
        });
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let query = CoreTokenQuery {
            owner: owner_filter(caller),
            identifier: non_empty(params.identifier),
            intent,
            user_username: non_empty(params.user_username),
            description: non_empty(params.description),
            expires,
            expiring: non_empty(params.expiring).and_then(|v| parse_null_boolean(&v)),
            managed: non_empty(params.managed),
            search: non_empty(params.search),
            ordering: parse_ordering(
                params.ordering.as_deref(),
                CoreTokenField::parse,
                &[(CoreTokenField::Identifier, false), (CoreTokenField::Expires, false)],
            ),
            page: page_request(params.page, params.page_size)?,
        };
        let slice = self.store.list_core_tokens(&query).await?;
        Page::build(query.page, slice).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `core_tokens_retrieve`.
    pub async fn get_token(&self, caller: &AkUser, identifier: &str) -> Result<CoreToken, AkError> {
        self.visible_token(caller, identifier).await
    }

    /// `core_tokens_create` (`TokenSerializer.validate` + `TokenViewSet.perform_create`).
    pub async fn create_token(&self, caller: &AkUser, body: NewToken) -> Result<CoreToken, AkError> {
        let fields = self.validate_fields(&body, true, None).await?;
        let identifier = fields.identifier.unwrap_or_default();
        let intent = body.intent.unwrap_or(Intent::Api);
        let expires = self.validate_expiry(intent, body.expires)?.unwrap_or(self.now + default_token_duration());

        let superuser = caller.is_effective_superuser();
        let (user, expiring, key_viewers) = if superuser {
            (body.user.unwrap_or(caller.pk), body.expiring.unwrap_or(true), vec![])
        } else {
            let expiring = caller.attributes.get(AK_ATTR_TOKEN_EXPIRES).and_then(|v| v.as_bool()).unwrap_or(true);
            (caller.pk, expiring, vec![caller.pk])
        };
        let mut token = CoreToken {
            pk: Uuid::new_v4(),
            identifier,
            key: Secret::new(generate_key()),
            intent,
            user,
            description: fields.description.unwrap_or_default(),
            expires: Some(expires),
            expiring,
            managed: fields.managed,
            key_viewers,
        };
        loop {
            match self.store.insert_core_token(token.clone()).await {
                Ok(token) => return Ok(token),
                Err(StoreError::Duplicate { field: "identifier" }) => {
                    return Err(AkError::field("identifier", MSG_IDENTIFIER_TAKEN));
                }
                // A 60-character key collision is astronomically unlikely; draw again.
                Err(StoreError::Duplicate { field: "key" }) => token.key = Secret::new(generate_key()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `core_tokens_update` (`partial = false`) and `core_tokens_partial_update` (`partial = true`).
    ///
    /// As in DRF, absent fields keep their value for both; PUT only requires `identifier`.
    /// An absent `intent` keeps the stored intent (upstream's `setdefault("intent", api)` would
    /// silently turn an app password into an API token). `intent=api` always renews
    /// `expires` to now + 1 day. Non-superusers cannot change `expiring`.
    pub async fn update_token(
        &self,
        caller: &AkUser,
        identifier: &str,
        body: NewToken,
        partial: bool,
    ) -> Result<CoreToken, AkError> {
        let current = self.visible_token(caller, identifier).await?;
        let fields = self.validate_fields(&body, !partial, Some(&current)).await?;
        let intent = body.intent.unwrap_or(current.intent);
        let expires = self.validate_expiry(intent, body.expires)?.or(current.expires);
        let expiring = match body.expiring {
            Some(expiring) if caller.is_effective_superuser() => expiring,
            _ => current.expiring,
        };
        let updated = CoreToken {
            identifier: fields.identifier.unwrap_or_else(|| current.identifier.clone()),
            intent,
            description: fields.description.unwrap_or_else(|| current.description.clone()),
            expires,
            expiring,
            managed: fields.managed.or_else(|| current.managed.clone()),
            ..current
        };
        match self.store.replace_core_token(identifier, updated).await {
            Ok(token) => Ok(token),
            Err(StoreError::Duplicate { field: "identifier" }) => {
                Err(AkError::field("identifier", MSG_IDENTIFIER_TAKEN))
            }
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_TOKEN_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_destroy`.
    pub async fn delete_token(&self, caller: &AkUser, identifier: &str) -> Result<(), AkError> {
        self.visible_token(caller, identifier).await?;
        match self.store.delete_core_token(identifier).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_TOKEN_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_view_key_retrieve`: visibility (404) first, then `view_token_key`
    /// (superuser, or granted at creation by a non-superuser), else 403.
    pub async fn view_key(&self, caller: &AkUser, identifier: &str) -> Result<Secret, AkError> {
        let token = self.visible_token(caller, identifier).await?;
        if caller.is_effective_superuser() || token.key_viewers.contains(&caller.pk) {
            Ok(token.key)
        } else {
            Err(AkError::forbidden(MSG_NO_PERMISSION))
        }
    }

    /// `core_tokens_set_key_create`: visibility (404), permission (owner or superuser, 403),
    /// then the body (`key` required, trimmed, non-blank). The old key stops working at once.
    pub async fn set_key(&self, caller: &AkUser, identifier: &str, key: Option<String>) -> Result<(), AkError> {
        let token = self.visible_token(caller, identifier).await?;
        if !(caller.is_effective_superuser() || token.user == caller.pk) {
            return Err(AkError::forbidden(MSG_NO_PERMISSION));
        }
        let key = match key.as_deref().map(str::trim) {
            None => return Err(AkError::field("key", MSG_REQUIRED)),
            Some("") => return Err(AkError::field("key", MSG_BLANK)),
            Some(key) => Secret::new(key),
        };
        match self.store.set_core_token_key(identifier, key).await {
            Ok(()) => Ok(()),
            Err(StoreError::Duplicate { .. }) => Err(AkError::field("key", MSG_KEY_TAKEN)),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_TOKEN_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_used_by_list`: nothing references a token, so always empty once visible.
    pub async fn used_by(&self, caller: &AkUser, identifier: &str) -> Result<Vec<UsedBy>, AkError> {
        self.visible_token(caller, identifier).await?;
        Ok(Vec::new())
    }

    /// `oauth2_{access,refresh}_tokens_list`: owner visibility, `user`/`provider` filters,
    /// search over provider name and username, default ordering `provider,expires`.
    pub async fn list_oauth(
        &self,
        caller: &AkUser,
        kind: OAuthKind,
        params: OAuthListParams,
    ) -> Result<Page<OAuthToken>, AkError> {
        let mut errors = BTreeMap::new();
        let user = match non_empty(params.user).map(|v| v.trim().parse::<i64>()) {
            None => None,
            Some(Ok(pk)) if self.exists(self.store.ak_user(pk).await)? => Some(pk),
            Some(_) => {
                add_error(&mut errors, "user", MSG_BAD_FK_CHOICE);
                None
            }
        };
        let provider = match non_empty(params.provider).map(|v| v.trim().parse::<i64>()) {
            None => None,
            Some(Ok(pk)) if self.exists(self.store.provider(pk).await)? => Some(pk),
            Some(_) => {
                add_error(&mut errors, "provider", MSG_BAD_FK_CHOICE);
                None
            }
        };
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let query = OAuthQuery {
            kind,
            owner: owner_filter(caller),
            user,
            provider,
            search: non_empty(params.search),
            ordering: parse_ordering(
                params.ordering.as_deref(),
                OAuthField::parse,
                &[(OAuthField::Provider, false), (OAuthField::Expires, false)],
            ),
            page: page_request(params.page, params.page_size)?,
        };
        let slice = self.store.list_oauth_tokens(&query).await?;
        Page::build(query.page, slice).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `oauth2_{access,refresh}_tokens_retrieve`.
    pub async fn get_oauth(&self, caller: &AkUser, kind: OAuthKind, pk: i64) -> Result<OAuthToken, AkError> {
        self.visible_oauth(caller, kind, pk).await
    }

    /// `oauth2_{access,refresh}_tokens_destroy`.
    pub async fn delete_oauth(&self, caller: &AkUser, kind: OAuthKind, pk: i64) -> Result<(), AkError> {
        self.visible_oauth(caller, kind, pk).await?;
        match self.store.delete_oauth_token(kind, pk).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(oauth_not_found(kind)),
            Err(e) => Err(e.into()),
        }
    }

    /// `oauth2_{access,refresh}_tokens_used_by_list`: always empty once visible.
    pub async fn oauth_used_by(&self, caller: &AkUser, kind: OAuthKind, pk: i64) -> Result<Vec<UsedBy>, AkError> {
        self.visible_oauth(caller, kind, pk).await?;
        Ok(Vec::new())
    }

    async fn visible_token(&self, caller: &AkUser, identifier: &str) -> Result<CoreToken, AkError> {
        match self.store.core_token(identifier).await {
            Ok(t) if caller.is_effective_superuser() || t.user == caller.pk => Ok(t),
            Ok(_) | Err(StoreError::NotFound) => Err(AkError::not_found(MSG_TOKEN_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    async fn visible_oauth(&self, caller: &AkUser, kind: OAuthKind, pk: i64) -> Result<OAuthToken, AkError> {
        match self.store.oauth_token(kind, pk).await {
            Ok(t) if caller.is_effective_superuser() || t.user == caller.pk => Ok(t),
            Ok(_) | Err(StoreError::NotFound) => Err(oauth_not_found(kind)),
            Err(e) => Err(e.into()),
        }
    }

    fn exists<T>(&self, result: Result<T, StoreError>) -> Result<bool, AkError> {
        match result {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// DRF field-level validation of a token body, all fields at once:
    /// `identifier` (required, trimmed, non-blank, unique, ≤ 255, slug), `user`
    /// (must exist; on update must not change), `managed` (non-blank).
    async fn validate_fields(
        &self,
        body: &NewToken,
        identifier_required: bool,
        current: Option<&CoreToken>,
    ) -> Result<ValidFields, AkError> {
        let mut errors = BTreeMap::new();
        let identifier = match body.identifier.as_deref().map(str::trim) {
            None => {
                if identifier_required {
                    add_error(&mut errors, "identifier", MSG_REQUIRED);
                }
                None
            }
            Some("") => {
                add_error(&mut errors, "identifier", MSG_BLANK);
                None
            }
            Some(identifier) => {
                let unchanged = current.is_some_and(|c| c.identifier == identifier);
                if !unchanged && self.exists(self.store.core_token(identifier).await)? {
                    add_error(&mut errors, "identifier", MSG_IDENTIFIER_TAKEN);
                }
                if identifier.chars().count() > IDENTIFIER_MAX_CHARS {
                    add_error(&mut errors, "identifier", MSG_IDENTIFIER_LENGTH);
                }
                if !identifier.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                    add_error(&mut errors, "identifier", MSG_SLUG);
                }
                Some(identifier.to_owned())
            }
        };
        if let Some(pk) = body.user {
            if !self.exists(self.store.ak_user(pk).await)? {
                add_error(&mut errors, "user", format!("Invalid pk \"{pk}\" - object does not exist."));
            } else if current.is_some_and(|c| c.user != pk) {
                add_error(&mut errors, "user", MSG_USER_CHANGED);
            }
        }
        let managed = match body.managed.as_deref().map(str::trim) {
            Some("") => {
                add_error(&mut errors, "managed", MSG_BLANK);
                None
            }
            other => other.map(str::to_owned),
        };
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        Ok(ValidFields { identifier, description: body.description.as_deref().map(|d| d.trim().to_owned()), managed })
    }

    /// `TokenSerializer.validate` for intent and expiry. Returns the `expires` to store:
    /// forced for `api`, the client's (checked) value for `app_password`.
    fn validate_expiry(
        &self,
        intent: Intent,
        expires: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, AkError> {
        match intent {
            Intent::Api => Ok(Some(self.now + default_token_duration())),
            Intent::AppPassword => {
                let max = self.now + default_token_duration();
                match expires {
                    Some(e) if e > max => Err(AkError::field(
                        "expires",
                        format!("Token expires exceeds maximum lifetime ({} UTC).", python_datetime(max)),
                    )),
                    other => Ok(other),
                }
            }
            other => Err(AkError::field("intent", format!("Invalid intent {other}"))),
        }
    }
}

struct ValidFields {
    identifier: Option<String>,
    description: Option<String>,
    managed: Option<String>,
}

fn oauth_not_found(kind: OAuthKind) -> AkError {
    AkError::NotFound(format!("No {} matches the given query.", kind.model_name()))
}

fn owner_filter(caller: &AkUser) -> Option<i64> {
    (!caller.is_effective_superuser()).then_some(caller.pk)
}

fn page_request(page: Option<i64>, page_size: Option<i64>) -> Result<PageRequest, AkError> {
    PageRequest::new(page, page_size).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
}

fn add_error(errors: &mut BTreeMap<String, Vec<String>>, field: &str, msg: impl Into<String>) {
    errors.entry(field.to_owned()).or_default().push(msg.into());
}

/// django-filter treats `""` as "no filter".
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Django `NullBooleanField.to_python`: unrecognised values mean "no filter".
fn parse_null_boolean(value: &str) -> Option<bool> {
    match value {
        "True" | "true" | "1" => Some(true),
        "False" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Django `parse_datetime`: ISO 8601 with `T` or space, optional seconds and fraction,
/// optional `Z`/offset; naive values are UTC (`TIME_ZONE = "UTC"`).
fn parse_django_datetime(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let normalized = match value.strip_suffix('Z').or_else(|| value.strip_suffix('z')) {
        Some(rest) => format!("{rest}+00:00"),
        None => value.to_owned(),
    };
    let normalized = normalized.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(dt) = DateTime::parse_from_str(&normalized, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            return Some(dt.and_utc());
        }
    }
    None
}

/// Python's `str(datetime)` for an aware UTC value: `2026-08-23 12:00:00[.ffffff]+00:00`.
fn python_datetime(dt: DateTime<Utc>) -> String {
    let micros = dt.nanosecond() / 1_000;
    if micros == 0 {
        dt.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        format!("{}.{micros:06}+00:00", dt.format("%Y-%m-%d %H:%M:%S"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::model::OAuthKind::{Access, Refresh};
    use crate::store::MemoryStore;
    use crate::store::memory::tests::{ak_user, core_token, oauth, provider};

    const ALICE: i64 = 1;
    const BOB: i64 = 2;
    const ROOT: i64 = 3;

    struct Env {
        store: MemoryStore,
        now: DateTime<Utc>,
        alice: AkUser,
        bob: AkUser,
        root: AkUser,
    }

    impl Env {
        fn ak(&self) -> Authentik<'_> {
            Authentik::new(&self.store, self.now)
        }
    }

    async fn env() -> Env {
        let store = MemoryStore::new();
        let (alice, bob, root) =
            (ak_user(ALICE, "alice", false), ak_user(BOB, "bob", false), ak_user(ROOT, "root", true));
        for u in [&alice, &bob, &root] {
            store.insert_ak_user(u.clone()).await.unwrap();
        }
        let now = Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap();
        Env { store, now, alice, bob, root }
    }

    fn new_token(identifier: &str) -> NewToken {
        NewToken { identifier: Some(identifier.into()), ..NewToken::default() }
    }

    fn invalid(field: &str, msgs: &[&str]) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([(field.to_owned(), msgs.iter().map(|m| m.to_string()).collect())])
    }

    fn forbidden_msg(r: Result<impl std::fmt::Debug, AkError>) -> String {
        match r {
            Err(AkError::Forbidden(m)) => m,
            other => panic!("expected Forbidden, got {other:?}"),
        }
    }

    fn not_found_msg(r: Result<impl std::fmt::Debug, AkError>) -> String {
        match r {
            Err(AkError::NotFound(m)) => m,
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    fn invalid_map(r: Result<impl std::fmt::Debug, AkError>) -> BTreeMap<String, Vec<String>> {
        match r {
            Err(AkError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn identifiers(page: &Page<CoreToken>) -> Vec<&str> {
        page.results.iter().map(|t| t.identifier.as_str()).collect()
    }

    #[tokio::test]
    async fn authenticate_header_cases() {
        let e = env().await;
        e.store.insert_core_token(core_token("a", "goodkey", ALICE)).await.unwrap();
        let ak = e.ak();
        let cases: &[(Option<&str>, &str)] = &[
            (None, MSG_NOT_PROVIDED),
            (Some(""), MSG_NOT_PROVIDED),
            (Some("Bearer"), MSG_NOT_PROVIDED),
            (Some("Bearer    "), MSG_NOT_PROVIDED),
            (Some("Basic dXNlcjpwYXNz"), MSG_UNSUPPORTED),
            (Some("Token goodkey"), MSG_UNSUPPORTED),
            (Some("Bearer wrongkey"), MSG_TOKEN_INVALID),
            (Some("Bearer  goodkey"), MSG_TOKEN_INVALID),
        ];
        for (header, msg) in cases {
            assert_eq!(forbidden_msg(ak.authenticate(*header).await), *msg, "header {header:?}");
        }
        for header in ["Bearer goodkey", "bearer goodkey", "BEARER goodkey", "  Bearer goodkey  "] {
            assert_eq!(ak.authenticate(Some(header)).await.unwrap().pk, ALICE, "header {header:?}");
        }
    }

    #[tokio::test]
    async fn only_live_api_tokens_of_active_users_authenticate() {
        let e = env().await;
        let mut expired = core_token("expired", "k-expired", ALICE);
        expired.expires = Some(e.now - TimeDelta::seconds(1));
        let mut not_expiring = core_token("forever", "k-forever", ALICE);
        not_expiring.expires = Some(e.now - TimeDelta::days(9));
        not_expiring.expiring = false;
        let mut app = core_token("app", "k-app", ALICE);
        app.intent = Intent::AppPassword;
        let mut inactive = ak_user(4, "gone", false);
        inactive.is_active = false;
        e.store.insert_ak_user(inactive).await.unwrap();
        for t in [expired, not_expiring, app, core_token("inactive", "k-inactive", 4)] {
            e.store.insert_core_token(t).await.unwrap();
        }
        let ak = e.ak();
        for key in ["k-expired", "k-app", "k-inactive"] {
            let header = format!("Bearer {key}");
            assert_eq!(forbidden_msg(ak.authenticate(Some(&header)).await), MSG_TOKEN_INVALID, "{key}");
        }
        assert_eq!(ak.authenticate(Some("Bearer k-forever")).await.unwrap().pk, ALICE);

        // The expired token is still listed and retrievable.
        let page = ak.list_tokens(&e.alice, TokenListParams::default()).await.unwrap();
        assert_eq!(identifiers(&page), vec!["app", "expired", "forever"]);
        assert!(ak.get_token(&e.alice, "expired").await.unwrap().is_expired(e.now));
    }

    #[tokio::test]
    async fn set_key_invalidates_old_key_for_auth() {
        let e = env().await;
        e.store.insert_core_token(core_token("a", "old-key", ALICE)).await.unwrap();
        let ak = e.ak();
        ak.set_key(&e.alice, "a", Some("  new-key ".into())).await.unwrap();
        assert_eq!(forbidden_msg(ak.authenticate(Some("Bearer old-key")).await), MSG_TOKEN_INVALID);
        assert_eq!(ak.authenticate(Some("Bearer new-key")).await.unwrap().pk, ALICE);

        assert_eq!(invalid_map(ak.set_key(&e.alice, "a", None).await), invalid("key", &[MSG_REQUIRED]));
        assert_eq!(invalid_map(ak.set_key(&e.alice, "a", Some("  ".into())).await), invalid("key", &[MSG_BLANK]));
        e.store.insert_core_token(core_token("b", "other-key", ALICE)).await.unwrap();
        assert_eq!(
            invalid_map(ak.set_key(&e.alice, "a", Some("other-key".into())).await),
            invalid("key", &[MSG_KEY_TAKEN])
        );
        ak.set_key(&e.alice, "a", Some("new-key".into())).await.unwrap();
    }

    #[tokio::test]
    async fn two_user_visibility() {
        let e = env().await;
        e.store.insert_core_token(core_token("alice-t", "k1", ALICE)).await.unwrap();
        e.store.insert_core_token(core_token("bob-t", "k2", BOB)).await.unwrap();
        let ak = e.ak();

        assert_eq!(identifiers(&ak.list_tokens(&e.alice, TokenListParams::default()).await.unwrap()), vec!["alice-t"]);
        assert_eq!(identifiers(&ak.list_tokens(&e.bob, TokenListParams::default()).await.unwrap()), vec!["bob-t"]);
        assert_eq!(
            identifiers(&ak.list_tokens(&e.root, TokenListParams::default()).await.unwrap()),
            vec!["alice-t", "bob-t"]
        );
        let nf = MSG_TOKEN_NOT_FOUND;
        assert_eq!(not_found_msg(ak.get_token(&e.alice, "bob-t").await), nf);
        assert_eq!(not_found_msg(ak.get_token(&e.alice, "missing").await), nf);
        assert_eq!(not_found_msg(ak.view_key(&e.alice, "bob-t").await), nf);
        assert_eq!(not_found_msg(ak.set_key(&e.alice, "bob-t", Some("x".into())).await), nf);
        assert_eq!(not_found_msg(ak.used_by(&e.alice, "bob-t").await), nf);
        assert_eq!(not_found_msg(ak.update_token(&e.alice, "bob-t", new_token("bob-t"), false).await), nf);
        assert_eq!(not_found_msg(ak.delete_token(&e.alice, "bob-t").await), nf);
        assert!(ak.get_token(&e.root, "bob-t").await.is_ok());
        assert!(ak.used_by(&e.alice, "alice-t").await.unwrap().is_empty());
        ak.delete_token(&e.root, "bob-t").await.unwrap();
        assert_eq!(not_found_msg(ak.get_token(&e.root, "bob-t").await), nf);
    }

    #[tokio::test]
    async fn superuser_through_group() {
        let e = env().await;
        e.store.insert_core_token(core_token("alice-t", "k1", ALICE)).await.unwrap();
        let mut admin = ak_user(5, "groupadmin", false);
        admin.groups.push(crate::model::AkGroup {
            pk: Uuid::new_v4(),
            num_pk: 1,
            name: "authentik Admins".into(),
            is_superuser: true,
            attributes: Default::default(),
        });
        assert!(e.ak().get_token(&admin, "alice-t").await.is_ok());
    }

    #[tokio::test]
    async fn list_filters_ordering_and_pages() {
        let e = env().await;
        for (id, desc) in [("b", "two"), ("a", "one"), ("c", "three")] {
            let mut t = core_token(id, &format!("key-{id}"), ALICE);
            t.description = desc.into();
            e.store.insert_core_token(t).await.unwrap();
        }
        let ak = e.ak();
        let list = |params: TokenListParams| {
            let e = &e;
            async move { e.ak().list_tokens(&e.alice, params).await }
        };
        let ordered = |o: &str| TokenListParams { ordering: Some(o.into()), ..TokenListParams::default() };
        assert_eq!(identifiers(&list(TokenListParams::default()).await.unwrap()), vec!["a", "b", "c"]);
        assert_eq!(identifiers(&list(ordered("-identifier")).await.unwrap()), vec!["c", "b", "a"]);
        assert_eq!(identifiers(&list(ordered("-description")).await.unwrap()), vec!["b", "c", "a"]);
        assert_eq!(identifiers(&list(ordered("nonsense")).await.unwrap()), vec!["a", "b", "c"]);
        assert_eq!(identifiers(&list(ordered("nonsense,-identifier")).await.unwrap()), vec!["c", "b", "a"]);

        let search = TokenListParams { search: Some("THR".into()), ..TokenListParams::default() };
        assert_eq!(identifiers(&list(search).await.unwrap()), vec!["c"]);
        let by_user = TokenListParams { user_username: Some("bob".into()), ..TokenListParams::default() };
        assert!(list(by_user).await.unwrap().results.is_empty());
        let expiring = |v: &str| TokenListParams { expiring: Some(v.into()), ..TokenListParams::default() };
        assert_eq!(list(expiring("false")).await.unwrap().count, 0);
        assert_eq!(list(expiring("maybe")).await.unwrap().count, 3, "unknown boolean means no filter");
        let empty_filter = TokenListParams { identifier: Some(String::new()), ..TokenListParams::default() };
        assert_eq!(list(empty_filter).await.unwrap().count, 3);

        let bad = TokenListParams {
            intent: Some("nope".into()),
            expires: Some("yesterday".into()),
            ..TokenListParams::default()
        };
        let errors = invalid_map(list(bad).await);
        assert_eq!(errors["intent"], vec!["Select a valid choice. nope is not one of the available choices."]);
        assert_eq!(errors["expires"], vec![MSG_BAD_DATETIME]);
        let intent = TokenListParams { intent: Some("api".into()), ..TokenListParams::default() };
        assert_eq!(list(intent).await.unwrap().count, 3);

        let paged = |page: Option<i64>, size: Option<i64>| TokenListParams {
            page,
            page_size: size,
            ..TokenListParams::default()
        };
        let p = list(paged(Some(2), Some(2))).await.unwrap();
        assert_eq!(
            (identifiers(&p), p.count, p.current, p.total_pages, p.next, p.previous),
            (vec!["c"], 3, 2, 2, 0, 1)
        );
        assert_eq!((p.start_index, p.end_index), (3, 3));
        assert_eq!(not_found_msg(list(paged(Some(3), Some(2))).await), MSG_INVALID_PAGE);
        assert_eq!(not_found_msg(list(paged(Some(0), None)).await), MSG_INVALID_PAGE);

        let empty = ak.list_tokens(&e.bob, TokenListParams::default()).await.unwrap();
        assert_eq!(
            (
                empty.count,
                empty.current,
                empty.total_pages,
                empty.start_index,
                empty.end_index,
                empty.next,
                empty.previous
            ),
            (0, 1, 1, 0, 0, 0, 0)
        );
    }

    #[tokio::test]
    async fn list_filter_by_expires_datetime() {
        let e = env().await;
        let mut t = core_token("dated", "k", ALICE);
        t.expires = Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        e.store.insert_core_token(t).await.unwrap();
        e.store.insert_core_token(core_token("undated", "k2", ALICE)).await.unwrap();
        for v in
            ["2026-01-02T03:04:05Z", "2026-01-02 03:04:05", "2026-01-02T04:04:05+01:00", "2026-01-02T03:04:05.000000"]
        {
            let params = TokenListParams { expires: Some(v.into()), ..TokenListParams::default() };
            assert_eq!(identifiers(&e.ak().list_tokens(&e.alice, params).await.unwrap()), vec!["dated"], "{v}");
        }
    }

    #[tokio::test]
    async fn create_validates_identifier() {
        let e = env().await;
        e.store.insert_core_token(core_token("taken", "k", BOB)).await.unwrap();
        let ak = e.ak();
        let create = |body: NewToken| {
            let e = &e;
            async move { e.ak().create_token(&e.alice, body).await }
        };
        assert_eq!(invalid_map(create(NewToken::default()).await), invalid("identifier", &[MSG_REQUIRED]));
        assert_eq!(invalid_map(create(new_token("  ")).await), invalid("identifier", &[MSG_BLANK]));
        assert_eq!(invalid_map(create(new_token("bad id!")).await), invalid("identifier", &[MSG_SLUG]));
        assert_eq!(invalid_map(create(new_token("taken")).await), invalid("identifier", &[MSG_IDENTIFIER_TAKEN]));
        assert_eq!(
            invalid_map(create(new_token(&"x".repeat(256))).await),
            invalid("identifier", &[MSG_IDENTIFIER_LENGTH])
        );
        assert_eq!(
            invalid_map(create(new_token(&"é".repeat(256))).await),
            invalid("identifier", &[MSG_IDENTIFIER_LENGTH, MSG_SLUG])
        );
        let created = create(new_token(&"x".repeat(255))).await.unwrap();
        assert_eq!(created.identifier.len(), 255);
        let trimmed = create(new_token("  spaced-ok_1 ")).await.unwrap();
        assert_eq!(trimmed.identifier, "spaced-ok_1");
        let blank_managed = NewToken { managed: Some(String::new()), ..new_token("m") };
        assert_eq!(invalid_map(create(blank_managed).await), invalid("managed", &[MSG_BLANK]));
        // field errors are collected across fields
        let both = NewToken { user: Some(99), ..new_token("bad id") };
        let errors = invalid_map(ak.create_token(&e.alice, both).await);
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["identifier", "user"]);
        assert_eq!(errors["user"], vec!["Invalid pk \"99\" - object does not exist."]);
    }

    #[tokio::test]
    async fn create_intent_and_expiry_rules() {
        let e = env().await;
        let ak = e.ak();
        let day = e.now + TimeDelta::days(1);

        let api = NewToken { expires: Some(e.now + TimeDelta::days(300)), ..new_token("api") };
        let api = ak.create_token(&e.alice, api).await.unwrap();
        assert_eq!((api.intent, api.expires), (Intent::Api, Some(day)), "client expiry ignored for api");
        assert_eq!(api.key.expose().len(), 60);

        for bad in [Intent::Verification, Intent::Recovery] {
            let body = NewToken { intent: Some(bad), ..new_token("bad") };
            assert_eq!(
                invalid_map(ak.create_token(&e.alice, body).await),
                invalid("intent", &[&format!("Invalid intent {bad}")])
            );
        }
        let app = |id: &str, expires: Option<DateTime<Utc>>| NewToken {
            intent: Some(Intent::AppPassword),
            expires,
            ..new_token(id)
        };
        let too_long = ak.create_token(&e.alice, app("long", Some(day + TimeDelta::seconds(1)))).await;
        assert_eq!(
            invalid_map(too_long),
            invalid("expires", &["Token expires exceeds maximum lifetime (2026-08-23 12:00:00+00:00 UTC)."])
        );
        let odd_now = Authentik::new(&e.store, e.now + TimeDelta::microseconds(1500));
        let too_long = odd_now.create_token(&e.alice, app("long", Some(day + TimeDelta::days(1)))).await;
        assert_eq!(
            invalid_map(too_long)["expires"],
            vec!["Token expires exceeds maximum lifetime (2026-08-23 12:00:00.001500+00:00 UTC)."]
        );
        let short = e.now + TimeDelta::hours(2);
        assert_eq!(ak.create_token(&e.alice, app("short", Some(short))).await.unwrap().expires, Some(short));
        assert_eq!(ak.create_token(&e.alice, app("max", Some(day))).await.unwrap().expires, Some(day));
        assert_eq!(ak.create_token(&e.alice, app("default", None)).await.unwrap().expires, Some(day));
    }

    #[tokio::test]
    async fn create_owner_rules() {
        let e = env().await;
        let ak = e.ak();
        let body = NewToken { user: Some(BOB), expiring: Some(false), ..new_token("mine") };
        let t = ak.create_token(&e.alice, body).await.unwrap();
        assert_eq!((t.user, t.expiring, t.key_viewers.clone()), (ALICE, true, vec![ALICE]));
        assert_eq!(ak.view_key(&e.alice, "mine").await.unwrap(), t.key);

        let mut lenient = ak_user(6, "lenient", false);
        lenient.attributes.insert(AK_ATTR_TOKEN_EXPIRES.into(), json!(false));
        e.store.insert_ak_user(lenient.clone()).await.unwrap();
        assert!(!ak.create_token(&lenient, new_token("never")).await.unwrap().expiring);

        let body = NewToken { user: Some(BOB), expiring: Some(false), ..new_token("for-bob") };
        let t = ak.create_token(&e.root, body).await.unwrap();
        assert_eq!((t.user, t.expiring, t.key_viewers.len()), (BOB, false, 0));
        // Created for bob by an admin: bob sees it but may not view its key.
        assert!(ak.get_token(&e.bob, "for-bob").await.is_ok());
        assert_eq!(forbidden_msg(ak.view_key(&e.bob, "for-bob").await), MSG_NO_PERMISSION);
        assert_eq!(ak.view_key(&e.root, "for-bob").await.unwrap(), t.key);
        // bob may still set it (owner)
        ak.set_key(&e.bob, "for-bob", Some("bobs-own-key".into())).await.unwrap();

        let missing_user = NewToken { user: Some(42), ..new_token("ghost") };
        assert_eq!(
            invalid_map(ak.create_token(&e.root, missing_user).await),
            invalid("user", &["Invalid pk \"42\" - object does not exist."])
        );
        assert_eq!(ak.create_token(&e.root, new_token("self")).await.unwrap().user, ROOT);
    }

    #[tokio::test]
    async fn update_rules() {
        let e = env().await;
        let ak = e.ak();
        let body = NewToken {
            intent: Some(Intent::AppPassword),
            description: Some("first".into()),
            expires: Some(e.now + TimeDelta::hours(1)),
            managed: Some("m".into()),
            ..new_token("t")
        };
        let original = ak.create_token(&e.alice, body).await.unwrap();
        e.store.insert_core_token(core_token("other", "k-other", ALICE)).await.unwrap();

        assert_eq!(
            invalid_map(ak.update_token(&e.alice, "t", NewToken { user: Some(BOB), ..new_token("t") }, false).await),
            invalid("user", &[MSG_USER_CHANGED])
        );
        assert!(ak.update_token(&e.alice, "t", NewToken { user: Some(ALICE), ..new_token("t") }, false).await.is_ok());
        assert_eq!(
            invalid_map(ak.update_token(&e.alice, "t", NewToken::default(), false).await),
            invalid("identifier", &[MSG_REQUIRED])
        );
        assert_eq!(
            invalid_map(ak.update_token(&e.alice, "t", new_token("other"), true).await),
            invalid("identifier", &[MSG_IDENTIFIER_TAKEN])
        );

        // partial: absent fields keep their values, including intent and expires
        let patched = NewToken { description: Some("second".into()), expiring: Some(false), ..NewToken::default() };
        let t = ak.update_token(&e.alice, "t", patched, true).await.unwrap();
        assert_eq!(t.pk, original.pk);
        assert_eq!(t.key, original.key);
        assert_eq!((t.description.as_str(), t.intent, t.expires), ("second", Intent::AppPassword, original.expires));
        assert!(t.expiring, "non-superusers cannot clear expiring");
        assert_eq!(t.managed.as_deref(), Some("m"));

        let too_long = NewToken { expires: Some(e.now + TimeDelta::days(2)), ..NewToken::default() };
        assert!(invalid_map(ak.update_token(&e.alice, "t", too_long, true).await).contains_key("expires"));

        // rename, then switch to api: expires is renewed
        let renamed = ak.update_token(&e.alice, "t", new_token("t2"), true).await.unwrap();
        assert_eq!(renamed.identifier, "t2");
        assert_eq!(not_found_msg(ak.get_token(&e.alice, "t").await), MSG_TOKEN_NOT_FOUND);
        let api = NewToken { intent: Some(Intent::Api), ..NewToken::default() };
        let t = ak.update_token(&e.alice, "t2", api, true).await.unwrap();
        assert_eq!(t.expires, Some(e.now + TimeDelta::days(1)));
        let bad = NewToken { intent: Some(Intent::Recovery), ..NewToken::default() };
        assert_eq!(
            invalid_map(ak.update_token(&e.alice, "t2", bad, true).await),
            invalid("intent", &["Invalid intent recovery"])
        );
        let by_root = NewToken { expiring: Some(false), ..NewToken::default() };
        assert!(!ak.update_token(&e.root, "t2", by_root, true).await.unwrap().expiring);
    }

    async fn oauth_env() -> Env {
        let e = env().await;
        e.store.insert_provider(provider(10, "Wiki")).await.unwrap();
        e.store.insert_provider(provider(11, "Grafana")).await.unwrap();
        let mut expired = oauth(Access, 1, 11, ALICE);
        expired.expires = Some(e.now - TimeDelta::minutes(1));
        for t in [expired, oauth(Access, 2, 10, ALICE), oauth(Access, 3, 10, BOB), oauth(Refresh, 1, 10, BOB)] {
            e.store.insert_oauth_token(t).await.unwrap();
        }
        e
    }

    #[tokio::test]
    async fn oauth_list_and_visibility() {
        let e = oauth_env().await;
        let ak = e.ak();
        let pks = |p: Page<OAuthToken>| p.results.iter().map(|t| t.pk).collect::<Vec<_>>();
        let default = OAuthListParams::default();
        assert_eq!(pks(ak.list_oauth(&e.alice, Access, default.clone()).await.unwrap()), vec![2, 1]);
        assert_eq!(pks(ak.list_oauth(&e.root, Access, default.clone()).await.unwrap()), vec![2, 3, 1]);
        assert_eq!(pks(ak.list_oauth(&e.alice, Refresh, default.clone()).await.unwrap()), Vec::<i64>::new());
        let ordered = OAuthListParams { ordering: Some("-pk".into()), ..default.clone() };
        assert_eq!(pks(ak.list_oauth(&e.root, Access, ordered).await.unwrap()), vec![3, 2, 1]);
        let search = OAuthListParams { search: Some("grafana".into()), ..default.clone() };
        assert_eq!(pks(ak.list_oauth(&e.root, Access, search).await.unwrap()), vec![1]);
        let user = OAuthListParams { user: Some(BOB.to_string()), ..default.clone() };
        assert_eq!(pks(ak.list_oauth(&e.root, Access, user.clone()).await.unwrap()), vec![3]);
        assert_eq!(pks(ak.list_oauth(&e.alice, Access, user).await.unwrap()), Vec::<i64>::new());
        let provider = OAuthListParams { provider: Some("11".into()), ..default.clone() };
        assert_eq!(pks(ak.list_oauth(&e.root, Access, provider).await.unwrap()), vec![1]);
        let bad = OAuthListParams { user: Some("99".into()), provider: Some("x".into()), ..default.clone() };
        let errors = invalid_map(ak.list_oauth(&e.root, Access, bad).await);
        assert_eq!(errors["user"], vec![MSG_BAD_FK_CHOICE]);
        assert_eq!(errors["provider"], vec![MSG_BAD_FK_CHOICE]);
        let page = OAuthListParams { page: Some(2), ..default };
        assert_eq!(not_found_msg(ak.list_oauth(&e.root, Access, page).await), MSG_INVALID_PAGE);

        let expired = ak.get_oauth(&e.alice, Access, 1).await.unwrap();
        assert!(expired.is_expired(e.now));
        assert_eq!(not_found_msg(ak.get_oauth(&e.alice, Access, 3).await), "No AccessToken matches the given query.");
        assert_eq!(not_found_msg(ak.get_oauth(&e.alice, Refresh, 1).await), "No RefreshToken matches the given query.");
        assert_eq!(
            not_found_msg(ak.delete_oauth(&e.alice, Access, 3).await),
            "No AccessToken matches the given query."
        );
        assert!(ak.oauth_used_by(&e.bob, Refresh, 1).await.unwrap().is_empty());
        ak.delete_oauth(&e.alice, Access, 1).await.unwrap();
        assert_eq!(not_found_msg(ak.get_oauth(&e.root, Access, 1).await), "No AccessToken matches the given query.");
        ak.delete_oauth(&e.root, Refresh, 1).await.unwrap();
    }
}
