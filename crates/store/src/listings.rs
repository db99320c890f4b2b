//! The typed listings of the resources whose listing rules are their own (DRF's filters, search and ordering
//! fields): each compiles to the one listing model of `query.rs`, for every store.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::{Intent, OAuthKind};
use crate::pagination::PageRequest;
use crate::query::Listing;

/// Sortable core token fields (DRF's default valid fields of `TokenSerializer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreTokenField {
    Pk,
    Identifier,
    Intent,
    User,
    Description,
    Expires,
    Expiring,
    Managed,
    /// The owner's username: a filter (`user__username`) and a search field, not an ordering term.
    UserUsername,
}

impl CoreTokenField {
    /// Maps an `ordering` term to a field; unknown terms give `None`.
    pub fn parse(term: &str) -> Option<Self> {
        Some(match term {
            "pk" => Self::Pk,
            "identifier" => Self::Identifier,
            "intent" => Self::Intent,
            "user" => Self::User,
            "description" => Self::Description,
            "expires" => Self::Expires,
            "expiring" => Self::Expiring,
            "managed" => Self::Managed,
            _ => return None,
        })
    }
}

/// Sortable OAuth2 token fields (DRF's default valid fields of `TokenModelSerializer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthField {
    Pk,
    Provider,
    User,
    Expires,
    Revoked,
    /// Filter and search fields, not ordering terms: the token's kind, its provider's name and its user's username.
    Kind,
    ProviderName,
    UserUsername,
}

impl OAuthField {
    /// Maps an `ordering` term to a field; unknown terms give `None`.
    pub fn parse(term: &str) -> Option<Self> {
        Some(match term {
            "pk" => Self::Pk,
            "provider" => Self::Provider,
            "user" => Self::User,
            "expires" => Self::Expires,
            "revoked" => Self::Revoked,
            _ => return None,
        })
    }
}

/// Filterable, searchable and sortable authentik user fields (`UsersFilter`, `UserViewSet.search_fields`, DRF's
/// default ordering fields of `UserSerializer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Pk,
    Username,
    Name,
    Email,
    IsActive,
    /// Effective: the user's own flag or a superuser group's.
    IsSuperuser,
    Path,
    Type,
    Uuid,
    DateJoined,
    LastLogin,
    LastUpdated,
}

impl UserField {
    /// Maps an `ordering` term to a field; unknown terms give `None`.
    pub fn parse(term: &str) -> Option<Self> {
        Some(match term {
            "pk" => Self::Pk,
            "username" => Self::Username,
            "name" => Self::Name,
            "email" => Self::Email,
            "is_active" => Self::IsActive,
            "is_superuser" => Self::IsSuperuser,
            "path" => Self::Path,
            "type" => Self::Type,
            "uuid" => Self::Uuid,
            "date_joined" => Self::DateJoined,
            "last_login" => Self::LastLogin,
            "last_updated" => Self::LastUpdated,
            _ => return None,
        })
    }
}

/// A typed authentik user listing; `search` covers email, name, uuid and username (`UserViewSet.search_fields`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserQuery {
    /// Visibility: `Some(pk)` restricts to that user, `None` is everyone.
    pub only: Option<i64>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub is_active: Option<bool>,
    pub is_superuser: Option<bool>,
    pub path: Option<String>,
    pub path_startswith: Option<String>,
    pub user_type: Option<String>,
    pub uuid: Option<Uuid>,
    pub search: Option<String>,
    pub ordering: Vec<(UserField, bool)>,
    pub page: PageRequest,
}

impl UserQuery {
    /// The one definition of what a user listing matches, for every store.
    pub fn listing(&self) -> Listing<UserField> {
        use UserField as F;
        Listing::new(self.search.as_deref(), &[F::Email, F::Name, F::Uuid, F::Username], F::Pk, self.page)
            .filter(F::Pk, self.only)
            .filter(F::Username, self.username.clone())
            .filter(F::Name, self.name.clone())
            .filter(F::Email, self.email.clone())
            .filter(F::IsActive, self.is_active)
            .filter(F::IsSuperuser, self.is_superuser)
            .filter(F::Path, self.path.clone())
            .prefix(F::Path, self.path_startswith.clone())
            .filter(F::Type, self.user_type.clone())
            .filter(F::Uuid, self.uuid.map(|u| u.to_string()))
            .order_by(&self.ordering)
    }
}

/// A typed core token listing: every filter is exact, `search` is a case-insensitive
/// substring over identifier, intent, the owner's username and description.
/// Ordering puts `NULL` last ascending and first descending (PostgreSQL), ties broken by pk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CoreTokenQuery {
    /// Visibility: `Some(pk)` restricts to tokens of that user, `None` is everything.
    pub owner: Option<i64>,
    pub identifier: Option<String>,
    pub intent: Option<Intent>,
    pub user_username: Option<String>,
    pub description: Option<String>,
    pub expires: Option<DateTime<Utc>>,
    pub expiring: Option<bool>,
    pub managed: Option<String>,
    pub search: Option<String>,
    pub ordering: Vec<(CoreTokenField, bool)>,
    pub page: PageRequest,
}

/// A typed OAuth2 token listing; `search` covers the provider's name and the user's username.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthQuery {
    pub kind: OAuthKind,
    /// Visibility: `Some(pk)` restricts to tokens of that user, `None` is everything.
    pub owner: Option<i64>,
    pub user: Option<i64>,
    pub provider: Option<i64>,
    pub search: Option<String>,
    pub ordering: Vec<(OAuthField, bool)>,
    pub page: PageRequest,
}

impl CoreTokenQuery {
    /// The one definition of what a core token listing matches, for every store.
    pub(crate) fn listing(&self) -> Listing<CoreTokenField> {
        use CoreTokenField as F;
        const SEARCH: &[CoreTokenField] = &[F::Identifier, F::Intent, F::UserUsername, F::Description];
        Listing::new(self.search.as_deref(), SEARCH, F::Pk, self.page)
            .filter(F::User, self.owner)
            .filter(F::Identifier, self.identifier.clone())
            .filter(F::Intent, self.intent.map(|i| i.as_str().to_owned()))
            .filter(F::UserUsername, self.user_username.clone())
            .filter(F::Description, self.description.clone())
            .filter(F::Expires, self.expires)
            .filter(F::Expiring, self.expiring)
            .filter(F::Managed, self.managed.clone())
            .order_by(&self.ordering)
    }
}

impl OAuthQuery {
    /// The one definition of what an OAuth2 token listing matches, for every store.
    pub(crate) fn listing(&self) -> Listing<OAuthField> {
        use OAuthField as F;
        Listing::new(self.search.as_deref(), &[F::ProviderName, F::UserUsername], F::Pk, self.page)
            .filter(F::Kind, Some(self.kind.as_str().to_owned()))
            .filter(F::User, self.owner)
            .filter(F::User, self.user)
            .filter(F::Provider, self.provider)
            .order_by(&self.ordering)
    }
}
