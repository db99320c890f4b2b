//! NetBird rules: `Token`/`Bearer nbp_…` authentication, the `pats` role matrix, the self-or-service-user rule and PAT
//! CRUD; users (`users.rs`), groups (`groups.rs`), setup keys (`setup_keys.rs`), peers and the setup-key login
//! that makes them (`peers.rs`) and accounts with their settings (`accounts.rs`), each with its role matrix; the
//! instance status (`instance.rs`) and its setup (`setup.rs`).

mod accounts;
mod auth;
mod decode;
mod groups;
mod instance;
mod pats;
mod peers;
mod permissions;
mod setup;
mod setup_keys;
#[cfg(test)]
mod tests;
mod users;

use chrono::{DateTime, Days, Utc};
use serde_json::Value;

use crate::config::Limits;
use crate::model::{NbRole, NbUser, Pat};
use crate::secrets::{Secret, generate_pat, hash_pat, new_xid_like_id, parse_pat};
use crate::store::{Store, StoreError};
use decode::GoStruct;
use users::MSG_ACCOUNT_MISMATCH;

pub use accounts::AccountView;
use groups::all_group;
pub use groups::ensure_all_group;
pub use peers::{DNS_DOMAIN, GrpcCode, LoginError, PeerLogin, PeerView};
pub use permissions::role_permissions;

/// The HTTP class of a NetBird error (`status.Type`): Unauthorized 401, Forbidden 403,
/// NotFound 404, InvalidArgument 422, AlreadyExists 409, PreconditionFailed 412, BadRequest 400, a method the route
/// lacks 405, Internal 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NbErrorKind {
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidArgument,
    AlreadyExists,
    PreconditionFailed,
    BadRequest,
    MethodNotAllowed,
    Internal,
}

/// A NetBird rule violation; `Display` is the exact (lower-case) upstream message.
#[derive(Debug, thiserror::Error)]
pub enum NbError {
    #[error("no valid authentication provided")]
    NoAuth,
    #[error("token invalid")]
    TokenInvalid,
    #[error("user is blocked")]
    UserBlocked,
    #[error("permission denied")]
    PermissionDenied,
    #[error("admin role required to perform this action")]
    AdminRequired,
    #[error("user: {0} not found")]
    UserNotFound(String),
    #[error("pat: {0} not found")]
    PatNotFound(String),
    #[error("token name can't be empty")]
    EmptyName,
    #[error("expiration has to be between 1 and 365")]
    BadExpiration,
    #[error("invalid user ID")]
    InvalidUserId,
    #[error("invalid token ID")]
    InvalidTokenId,
    /// A name no store can keep (PostgreSQL text cannot hold NUL); upstream has no message for it.
    #[error("{0} can't contain control characters")]
    ControlCharacters(&'static str),
    /// tokenstack's quotas (`--max-text-chars`, `--max-pats-per-user`); upstream has no such limits.
    #[error("token name can't be longer than {0} characters")]
    NameTooLong(usize),
    #[error("a user can't have more than {0} personal access tokens")]
    PatQuota(u64),
    #[error("invalid service_user query parameter")]
    BadServiceUserFilter,
    #[error("unknown user role {0}")]
    UnknownRole(String),
    #[error("invalid user role")]
    InvalidRole,
    #[error("can't create a service user with owner role")]
    OwnerServiceUser,
    #[error("idp manager must be enabled to send user invites")]
    NoIdpManager,
    #[error("auto_groups field can't be absent")]
    AutoGroupsAbsent,
    #[error("group name shouldn't be empty")]
    EmptyGroupName,
    /// `GetGroupByName` found none (`status.NewGroupNotFoundError`).
    #[error("group: {0} not found")]
    GroupNotFound(String),
    /// `validateNewGroup`: the account has a group of that name.
    #[error("group with name {0} already exists")]
    GroupExists(String),
    /// tokenstack's `--max-text-chars`; upstream has no such limit.
    #[error("group name can't be longer than {0} characters")]
    GroupNameTooLong(usize),
    /// A group resource whose type is none of upstream's four (upstream stores any string and cannot write it
    /// back within its own schema).
    #[error("unknown resource type {0}")]
    UnknownResourceType(String),
    #[error("updating group all is not allowed")]
    UpdateAllGroup,
    /// `DeleteGroup` refused: the handler writes the error's own text (not lower-cased) with 400, whatever its
    /// kind, because `DeleteGroups` joins the errors (`errors.Join`).
    #[error("{0}")]
    DeleteGroupRefused(String),
    #[error("setup key name shouldn't be empty")]
    EmptySetupKeyName,
    #[error("unknown setup key type {0}")]
    UnknownSetupKeyType(String),
    #[error(
        "usage_limit {0} is not valid for a one-off setup key, which can be used once; use type reusable for a key \
         that can be used more than once"
    )]
    OneOffUsageLimit(i64),
    /// Upstream's `expiresIn can not be in the past`, lower-cased by `util.WriteError`.
    #[error("expiresin can not be in the past")]
    ExpiresInPast,
    /// `validateSetupKeyAutoGroups` refused (`group not found: <id>` or `can't add 'All' group to the setup key`).
    #[error("invalid auto groups: {0}")]
    InvalidAutoGroups(String),
    /// Upstream's `setup key AutoGroups field is invalid`, lower-cased.
    #[error("setup key autogroups field is invalid")]
    SetupKeyAutoGroupsAbsent,
    #[error("setup key: {0} not found")]
    SetupKeyNotFound(String),
    #[error("can't un-revoke a revoked setup key")]
    UnRevoke,
    /// tokenstack's `--max-text-chars`; upstream has no such limit.
    #[error("setup key name can't be longer than {0} characters")]
    SetupKeyNameTooLong(usize),
    /// `POST /api/setup` with a body that does not decode (`WriteErrorResponse`, 400).
    #[error("invalid request body")]
    SetupBadBody,
    /// `validateSetupInfo` and `normalizeSetupOptions` (422).
    #[error("{0}")]
    SetupInvalid(&'static str),
    #[error("setup already completed")]
    SetupCompleted,
    /// A method the route does not have (gorilla's 405; upstream's body is empty).
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("self deletion is not allowed")]
    SelfDeletion,
    #[error("can't delete a user with the owner role")]
    DeleteOwner,
    /// `validateUserUpdate` refused (403), or the target is in another account (422).
    #[error("failed to process update for user {user}: {reason}")]
    UpdateRefused { user: String, reason: &'static str },
    /// `GetPeerByID`.
    #[error("peer not found: {0}")]
    PeerNotFound(String),
    /// `GetAccountIDByPeerID`.
    #[error("peer {0} account not found")]
    PeerAccountNotFound(String),
    #[error("peer is not part of this account")]
    PeerNotInAccount,
    /// `GetPeer` for a user of role `user` who did not enrol the peer (upstream's `status.Internal`, 500).
    #[error("user {user} has no access to peer {peer} under account {account}")]
    PeerAccess { user: String, peer: String, account: String },
    /// tokenstack's `--max-text-chars`; upstream has no such limit.
    #[error("peer name can't be longer than {0} characters")]
    PeerNameTooLong(usize),
    /// A name with no DNS label (upstream fails on it with an internal error).
    #[error("invalid peer name")]
    InvalidPeerName,
    #[error("this peer hasn't been added with the SSO login, therefore the {0} expiration can't be updated")]
    ExpirationNotSso(&'static str),
    /// `updateAccountRequestSettings` and `validateSettingsUpdate` (422).
    #[error("{0}")]
    AccountSettingsInvalid(String),
    /// `ValidateAccountAccess` for another account, wrapped by `UpdateAccountSettings`.
    #[error("failed to validate user permissions: user is not part of this account")]
    NotPartOfAccount,
    /// The body does not decode into the request struct (Go's `json.Decoder`).
    #[error("couldn't parse JSON request")]
    InvalidJson,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NbError {
    pub fn kind(&self) -> NbErrorKind {
        match self {
            Self::NoAuth | Self::TokenInvalid => NbErrorKind::Unauthorized,
            Self::UserBlocked | Self::PermissionDenied | Self::AdminRequired => NbErrorKind::Forbidden,
            Self::UserNotFound(_)
            | Self::PatNotFound(_)
            | Self::GroupNotFound(_)
            | Self::SetupKeyNotFound(_)
            | Self::PeerNotFound(_)
            | Self::PeerAccountNotFound(_) => NbErrorKind::NotFound,
            Self::PeerNotInAccount | Self::NotPartOfAccount => NbErrorKind::Forbidden,
            Self::PeerAccess { .. } => NbErrorKind::Internal,
            Self::ExpirationNotSso(_) => NbErrorKind::PreconditionFailed,
            Self::EmptyName
            | Self::BadExpiration
            | Self::InvalidUserId
            | Self::InvalidTokenId
            | Self::BadServiceUserFilter
            | Self::UnknownRole(_)
            | Self::InvalidRole
            | Self::OwnerServiceUser
            | Self::ControlCharacters(_)
            | Self::NameTooLong(_)
            | Self::PatQuota(_)
            | Self::EmptyGroupName
            | Self::GroupNameTooLong(_)
            | Self::UnknownResourceType(_)
            | Self::UpdateAllGroup
            | Self::EmptySetupKeyName
            | Self::UnknownSetupKeyType(_)
            | Self::OneOffUsageLimit(_)
            | Self::ExpiresInPast
            | Self::InvalidAutoGroups(_)
            | Self::SetupKeyAutoGroupsAbsent
            | Self::UnRevoke
            | Self::SetupKeyNameTooLong(_)
            | Self::SetupInvalid(_)
            | Self::PeerNameTooLong(_)
            | Self::InvalidPeerName
            | Self::AccountSettingsInvalid(_)
            | Self::SelfDeletion => NbErrorKind::InvalidArgument,
            Self::UpdateRefused { reason, .. } if *reason == MSG_ACCOUNT_MISMATCH => NbErrorKind::InvalidArgument,
            Self::DeleteOwner | Self::UpdateRefused { .. } => NbErrorKind::Forbidden,
            Self::GroupExists(_) => NbErrorKind::AlreadyExists,
            Self::NoIdpManager | Self::SetupCompleted => NbErrorKind::PreconditionFailed,
            Self::InvalidJson | Self::AutoGroupsAbsent | Self::DeleteGroupRefused(_) | Self::SetupBadBody => {
                NbErrorKind::BadRequest
            }
            Self::MethodNotAllowed => NbErrorKind::MethodNotAllowed,
            Self::Store(_) => NbErrorKind::Internal,
        }
    }

    /// The client-facing message, lower-cased whole as `util.WriteError` does; store failures are not echoed
    /// (`internal server error`).
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(_) => "internal server error".to_owned(),
            Self::UnknownRole(_)
            | Self::UpdateRefused { .. }
            | Self::GroupNotFound(_)
            | Self::GroupExists(_)
            | Self::UnknownSetupKeyType(_)
            | Self::InvalidAutoGroups(_)
            | Self::SetupKeyNotFound(_)
            | Self::PeerNotFound(_)
            | Self::PeerAccountNotFound(_)
            | Self::PeerAccess { .. }
            | Self::ExpirationNotSso(_)
            | Self::AccountSettingsInvalid(_) => self.to_string().to_lowercase(),
            other => other.to_string(),
        }
    }
}

/// Operations on the `pats` permission module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatOp {
    Read,
    Create,
    Delete,
}

/// `permissions/manager.go` + `roles/*.go` for module `pats`: owner and admin everything,
/// network_admin read/create/delete, auditor read, user nothing; service users always read.
pub fn pats_permission(user: &NbUser, op: PatOp) -> bool {
    if user.is_service_user && op == PatOp::Read {
        return true;
    }
    match user.role {
        NbRole::Owner | NbRole::Admin | NbRole::NetworkAdmin => true,
        NbRole::Auditor => op == PatOp::Read,
        NbRole::User => false,
    }
}

/// `expires_in` bounds in days (`account/pat.go`).
pub const PAT_MIN_DAYS: i64 = 1;
pub const PAT_MAX_DAYS: i64 = 365;

/// The NetBird rules over a store, evaluated at one instant `now`.
#[derive(Clone, Copy)]
pub struct NetBird<'a> {
    pub store: &'a dyn Store,
    pub now: DateTime<Utc>,
    pub limits: Limits,
}

impl<'a> NetBird<'a> {
    pub fn new(store: &'a dyn Store, now: DateTime<Utc>) -> Self {
        Self { store, now, limits: Limits::default() }
    }

    /// The same rules with other quotas.
    pub fn with_limits(self, limits: Limits) -> Self {
        Self { limits, ..self }
    }
}
