//! authentik token rules: bearer authentication ([`auth`]), owner visibility, core token CRUD ([`core_tokens`]),
//! OAuth2 token listing ([`issued_tokens`]), DRF serializer parsing of bodies ([`serializer`]) and django-filter
//! parsing of query values ([`validate`]).
//!
//! Expired tokens: like the newest upstream `TokenViewSet` (`Token.objects.including_expired()`),
//! expired core and OAuth2 tokens are still listed, retrieved, updated and deleted here.
//! They never authenticate. Authentication does not delete them either; the sweep in `crate::expiry`
//! is the cleanup.

mod applications;
mod auth;
mod core_tokens;
pub(crate) mod flow;
mod flows;
mod groups;
mod issued_tokens;
mod key_pairs;
pub(crate) mod oauth2;
pub(crate) mod oidc;
#[cfg(test)]
mod proptests;
mod providers;
mod providers_all;
mod root_config;
mod scope_mappings;
mod serializer;
mod sessions;
pub use applications::{ApplicationListParams, ApplicationView};
pub(crate) use core_tokens::with_fresh_key;
pub use flows::{DEFAULT_BACKGROUND_URL, FLOWS, Flow, FlowListParams, flow_by_pk};
pub use groups::{GroupListParams, GroupView, Include};
pub use key_pairs::KeyPairListParams;
pub use providers::ProviderListParams;
pub use providers_all::AllProvidersParams;
pub use root_config::RootConfig;
pub use scope_mappings::{
    ScopeMappingListParams, custom_claims, ensure_scope_mappings, expression_problem, managed_scope_mappings,
    provider_mappings, with_managed_scope_mappings,
};
pub(crate) use serializer::python_str;
pub use sessions::{SessionListParams, SessionView, parse_user_agent};
pub use users::{UserListParams, user_pk};
#[cfg(test)]
mod tests;
mod users;
mod validate;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Timelike, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::config::Limits;
use crate::model::{AK_ATTR_TOKEN_EXPIRES, AkProvider, AkUser, CoreToken, Intent, OAuthKind, OAuthToken, UsedBy};
use crate::pagination::{Page, PageRequest, parse_ordering};
use crate::secrets::{Secret, generate_key};
use crate::store::{CoreTokenField, CoreTokenQuery, Field, OAuthField, OAuthQuery, Store, StoreError};

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
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// Raw `GET /oauth2/{access,refresh}_tokens/` query parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OAuthListParams {
    pub user: Option<String>,
    pub provider: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
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
    pub limits: Limits,
}

impl<'a> Authentik<'a> {
    pub fn new(store: &'a dyn Store, now: DateTime<Utc>) -> Self {
        Self { store, now, limits: Limits::default() }
    }

    /// The same rules with other quotas.
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }
}

/// Lookups every resource shares: a row the caller may see, "does it exist", and the rows a page refers to.
impl Authentik<'_> {
    /// The users `pks` name, each looked up once (a page of one user's tokens is one lookup).
    pub async fn owners(&self, pks: Vec<i64>) -> Result<HashMap<i64, AkUser>, AkError> {
        let mut owners = HashMap::new();
        for pk in pks {
            if let Entry::Vacant(entry) = owners.entry(pk) {
                entry.insert(self.store.get::<AkUser>(Field::Pk, pk).await?);
            }
        }
        Ok(owners)
    }

    /// The OAuth2 providers `pks` name, each looked up once.
    pub async fn providers(&self, pks: Vec<i64>) -> Result<HashMap<i64, AkProvider>, AkError> {
        let mut providers = HashMap::new();
        for pk in pks {
            if let Entry::Vacant(entry) = providers.entry(pk) {
                entry.insert(self.store.get::<AkProvider>(Field::Pk, pk).await?);
            }
        }
        Ok(providers)
    }

    async fn visible_token(&self, caller: &AkUser, identifier: &str) -> Result<CoreToken, AkError> {
        // No stored identifier has a control character (they are slugs); such a path is not looked up at all.
        if identifier.chars().any(char::is_control) {
            return Err(AkError::not_found(MSG_TOKEN_NOT_FOUND));
        }
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
}

fn oauth_not_found(kind: OAuthKind) -> AkError {
    AkError::NotFound(format!("No {} matches the given query.", kind.model_name()))
}

fn owner_filter(caller: &AkUser) -> Option<i64> {
    (!caller.is_effective_superuser()).then_some(caller.pk)
}
