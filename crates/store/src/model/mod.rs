//! Plain domain types for both emulated products, seedable from YAML and free of HTTP concerns.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::secrets::{PasswordHash, Secret};

mod device;
mod netbird;
mod providers;
mod sessions;
pub use device::*;
pub use netbird::*;
pub use providers::*;
pub use sessions::*;

/// authentik's `User.uid`: a stable hash of the pk (upstream hashes it with the install id); the `sub` of a
/// provider's tokens under the default `hashed_user_id` mode.
pub fn user_uid(pk: i64) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("tokenstack-{pk}"));
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{b:02x}"));
    }
    out
}

/// User attribute that decides `expiring` for tokens a non-superuser creates.
pub const AK_ATTR_TOKEN_EXPIRES: &str = "goauthentik.io/user/token-expires";

/// An authentik user, with its groups embedded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkUser {
    pub pk: i64,
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default = "default_true")]
    pub is_active: bool,
    #[serde(default)]
    pub is_superuser: bool,
    #[serde(default)]
    pub groups: Vec<AkGroup>,
    #[serde(default, alias = "type")]
    pub user_type: AkUserType,
    #[serde(default = "Uuid::new_v4")]
    pub uuid: Uuid,
    #[serde(default = "default_user_path")]
    pub path: String,
    #[serde(default = "Utc::now")]
    pub date_joined: DateTime<Utc>,
    #[serde(default)]
    pub last_login: Option<DateTime<Utc>>,
    #[serde(default = "Utc::now")]
    pub last_updated: DateTime<Utc>,
    #[serde(default = "Utc::now")]
    pub password_change_date: DateTime<Utc>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// The password's salted hash (`User.password`); `None` is Django's unusable password. A seed file may give
    /// the password in plain text: it is hashed as it is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordHash>,
}

impl AkUser {
    /// A user as authentik creates one from a pk and a username: active, internal, no groups, on path
    /// `users`, every date `now` (the seed file's defaults too).
    pub fn new(pk: i64, username: impl Into<String>, now: DateTime<Utc>) -> Self {
        AkUser {
            pk,
            username: username.into(),
            name: String::new(),
            email: String::new(),
            is_active: true,
            is_superuser: false,
            groups: Vec::new(),
            user_type: AkUserType::Internal,
            uuid: Uuid::new_v4(),
            path: default_user_path(),
            date_joined: now,
            last_login: None,
            last_updated: now,
            password_change_date: now,
            attributes: Map::new(),
            password: None,
        }
    }

    /// authentik's effective superuser flag: set on the user or on any of its groups.
    pub fn is_effective_superuser(&self) -> bool {
        self.is_superuser || self.groups.iter().any(|g| g.is_superuser)
    }
}

/// authentik `UserTypeEnum`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AkUserType {
    #[default]
    Internal,
    External,
    ServiceAccount,
    InternalServiceAccount,
}

impl AkUserType {
    /// The wire and stored name (`UserTypeEnum`).
    pub fn as_str(self) -> &'static str {
        match self {
            AkUserType::Internal => "internal",
            AkUserType::External => "external",
            AkUserType::ServiceAccount => "service_account",
            AkUserType::InternalServiceAccount => "internal_service_account",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Internal, Self::External, Self::ServiceAccount, Self::InternalServiceAccount]
            .into_iter()
            .find(|t| t.as_str() == value)
    }
}

/// An authentik group (`authentik_core.Group`): a stored row, and the copy of it each member's row embeds.
///
/// Membership lives in the users' rows (`AkUser::groups`); each holds a copy of its groups as they are stored,
/// which the group rules refresh whenever a group changes, so a user is read (authenticated, shown, given
/// claims) in one lookup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkGroup {
    #[serde(default = "Uuid::new_v4")]
    pub pk: Uuid,
    /// Kept as given by a seed or an older store; the API shows [`AkGroup::upstream_num_pk`].
    #[serde(default)]
    pub num_pk: i64,
    pub name: String,
    #[serde(default)]
    pub is_superuser: bool,
    /// The pks of its parent groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Uuid>,
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

impl AkGroup {
    /// A plain, non-superuser group without parents or attributes.
    pub fn new(pk: Uuid, name: impl Into<String>) -> Self {
        let num_pk = Self::upstream_num_pk(pk);
        AkGroup { pk, num_pk, name: name.into(), is_superuser: false, parents: Vec::new(), attributes: Map::new() }
    }

    /// `Group.num_pk`: the first five decimal digits of the pk as an integer (`int(str(self.pk.int)[:5])`).
    pub fn upstream_num_pk(pk: Uuid) -> i64 {
        pk.as_u128().to_string().chars().take(5).collect::<String>().parse().unwrap_or(0)
    }
}

/// authentik `IntentEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Verification,
    Api,
    Recovery,
    AppPassword,
}

impl Intent {
    /// The wire and database value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::Api => "api",
            Self::Recovery => "recovery",
            Self::AppPassword => "app_password",
        }
    }

    /// Parses the wire value.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Verification, Self::Api, Self::Recovery, Self::AppPassword].into_iter().find(|i| i.as_str() == value)
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authentik core token (`authentik_core.Token`); `key` is the bearer secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreToken {
    #[serde(default = "Uuid::new_v4")]
    pub pk: Uuid,
    pub identifier: String,
    pub key: Secret,
    #[serde(default = "default_intent")]
    pub intent: Intent,
    pub user: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub expires: Option<DateTime<Utc>>,
    #[serde(default = "default_true")]
    pub expiring: bool,
    #[serde(default)]
    pub managed: Option<String>,
    /// User pks holding `authentik_core.view_token_key` on this object.
    #[serde(default)]
    pub key_viewers: Vec<i64>,
}

impl CoreToken {
    /// A non-expiring-yet `api` token of `user` with key `key`, as the serializer's defaults make one: new pk,
    /// no description, no `expires`, `expiring`, not managed, no key viewers.
    pub fn new(identifier: impl Into<String>, key: Secret, user: i64) -> Self {
        CoreToken {
            pk: Uuid::new_v4(),
            identifier: identifier.into(),
            key,
            intent: Intent::Api,
            user,
            description: String::new(),
            expires: None,
            expiring: true,
            managed: None,
            key_viewers: Vec::new(),
        }
    }

    /// `ExpiringModel.is_expired`: `expiring and now > expires`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expiring && self.expires.is_some_and(|e| now > e)
    }
}

/// Which OAuth2 token table a row lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthKind {
    Access,
    Refresh,
}

impl OAuthKind {
    /// The stored and filtered name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthKind::Access => "access",
            OAuthKind::Refresh => "refresh",
        }
    }

    /// The Django model name, as used in `No <Model> matches the given query.`.
    pub fn model_name(self) -> &'static str {
        match self {
            Self::Access => "AccessToken",
            Self::Refresh => "RefreshToken",
        }
    }
}

/// An OAuth2 access or refresh token (`TokenModel`); `token` is the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OAuthToken {
    pub pk: i64,
    pub kind: OAuthKind,
    pub provider: i64,
    pub user: i64,
    pub token: Secret,
    #[serde(default)]
    pub expires: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub id_token: Value,
    #[serde(default)]
    pub revoked: bool,
}

impl OAuthToken {
    /// An unrevoked token without expiry, scope or id_token.
    pub fn new(kind: OAuthKind, pk: i64, provider: i64, user: i64, token: Secret) -> Self {
        OAuthToken {
            pk,
            kind,
            provider,
            user,
            token,
            expires: None,
            scope: Vec::new(),
            id_token: Value::Null,
            revoked: false,
        }
    }

    /// Same rule as core tokens, with `expiring` always true.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|e| now > e)
    }
}

/// authentik `UsedBy` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedBy {
    pub app: String,
    pub model_name: String,
    pub pk: String,
    pub name: String,
    pub action: UsedByAction,
}

/// authentik `UsedByActionEnum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsedByAction {
    Cascade,
    CascadeMany,
    SetNull,
    SetDefault,
    LeftDangling,
}

/// NetBird user roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NbRole {
    Owner,
    Admin,
    NetworkAdmin,
    Auditor,
    User,
}

impl NbRole {
    /// The wire name (`types.UserRole`).
    pub fn as_str(self) -> &'static str {
        match self {
            NbRole::Owner => "owner",
            NbRole::Admin => "admin",
            NbRole::NetworkAdmin => "network_admin",
            NbRole::Auditor => "auditor",
            NbRole::User => "user",
        }
    }

    /// `StrRoleToUserRole`: case-insensitive.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.to_lowercase();
        [Self::Owner, Self::Admin, Self::NetworkAdmin, Self::Auditor, Self::User]
            .into_iter()
            .find(|r| r.as_str() == value)
    }
}

/// A NetBird user; its account is implied by `account_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NbUser {
    pub id: String,
    pub account_id: String,
    pub role: NbRole,
    #[serde(default)]
    pub is_service_user: bool,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    /// Group ids assigned to the peers this user registers.
    #[serde(default)]
    pub auto_groups: Vec<String>,
}

impl NbUser {
    /// An active human user of `account_id` with `role`, no name, email or groups.
    pub fn new(id: impl Into<String>, account_id: impl Into<String>, role: NbRole) -> Self {
        NbUser {
            id: id.into(),
            account_id: account_id.into(),
            role,
            is_service_user: false,
            blocked: false,
            name: String::new(),
            email: String::new(),
            auto_groups: Vec::new(),
        }
    }

    /// `User.HasAdminPower`: owner or admin.
    pub fn has_admin_power(&self) -> bool {
        matches!(self.role, NbRole::Owner | NbRole::Admin)
    }
}

/// A NetBird personal access token; only the hash of the plain token is kept.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pat {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub hashed_token: String,
    pub expiration_date: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
}

impl Pat {
    /// `time.Now().After(expiration_date)`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now > self.expiration_date
    }
}

impl fmt::Debug for Pat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pat")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("hashed_token", &"***")
            .field("expiration_date", &self.expiration_date)
            .field("created_by", &self.created_by)
            .field("created_at", &self.created_at)
            .field("last_used", &self.last_used)
            .finish()
    }
}

fn default_true() -> bool {
    true
}

fn default_intent() -> Intent {
    Intent::Api
}

fn default_user_path() -> String {
    "users".to_owned()
}

#[cfg(test)]
mod tests;
