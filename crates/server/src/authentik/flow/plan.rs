//! Flow plans (`authentik/flows/planner.py FlowPlan`): the stages left to run and the context they share, kept in
//! the session between requests; and the stages of each built-in flow, as upstream's default blueprints bind
//! them (`blueprints/default/flow-*.yaml`).

use serde::{Deserialize, Serialize};

use crate::authentik::Flow;
use crate::authentik::oauth2::AuthorizeQuery;

/// A stage of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// `default-authentication-identification`: `user_fields` email and username, no password field,
    /// `pretend_user_exists`, case-insensitive matching.
    Identification,
    /// `default-authentication-password`: the inbuilt backend, `failed_attempts_before_cancel` 5.
    Password,
    /// `default-authentication-login`.
    UserLogin,
    /// `default-provider-authorization-consent` (mode `expiring`, `consent_expire_in` `weeks=4`), or the
    /// in-memory stage `prompt=consent` adds (`always_require`).
    Consent { always: bool },
    /// `default-invalidation-logout`.
    UserLogout,
    /// The authorization view's in-memory `OAuthFulfillmentStage`: the code, back to the client.
    OAuthFulfillment,
    /// `OAuthDeviceCodeStage`: the user enters the device's code.
    DeviceCode,
    /// `OAuthDeviceCodeFinishStage`: the device code is approved.
    DeviceCodeFinish,
    /// The in-memory `SessionEndStage` end-session appends to the invalidation flow: on to the
    /// post-logout redirect URI, else a page with the ways on.
    SessionEnd,
}

/// The user a flow is for (`PLAN_CONTEXT_PENDING_USER`): a stored one, or an identifier nobody has (the
/// identification stage pretends the user exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pending {
    User { pk: i64, username: String },
    Unknown(String),
}

impl Pending {
    /// What a challenge shows for the user.
    pub fn username(&self) -> &str {
        match self {
            Pending::User { username, .. } | Pending::Unknown(username) => username,
        }
    }
}

/// What the stages of a plan share (`FlowPlan.context`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    pub pending_user: Option<Pending>,
    /// Set by the password stage: the pending user has authenticated (`user_backend`).
    pub authenticated: bool,
    /// `PLAN_CONTEXT_APPLICATION`: the application's slug and name.
    pub application: Option<(String, String)>,
    /// `PLAN_CONTEXT_PARAMS`: the authorization request being fulfilled.
    pub authorize: Option<AuthorizeQuery>,
    /// `PLAN_CONTEXT_CONSENT_HEADER`.
    pub consent_header: Option<String>,
    /// `PLAN_CONTEXT_CONSENT_PERMISSIONS`: the requested scopes with their descriptions.
    pub consent_permissions: Vec<(String, String)>,
    /// The token the consent stage last showed.
    pub consent_token: Option<String>,
    /// `PLAN_CONTEXT_DEVICE`: the user code of the device token being approved.
    pub device: Option<String>,
    /// `PLAN_CONTEXT_POST_LOGOUT_REDIRECT_URI`: where an end-session ends, with its `state`.
    pub post_logout_redirect_uri: Option<String>,
    /// The application's launch URL, which the session-end page links to.
    pub application_launch_url: Option<String>,
}

/// A plan: the flow, its remaining stages and its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub flow: String,
    pub bindings: Vec<Stage>,
    #[serde(default)]
    pub context: Context,
}

/// The stages a built-in flow binds, in order. Stages tokenstack does not model are left out: the MFA
/// validation stage of the authentication flow (a user without devices passes it), and the stages of the
/// setup, enrollment and recovery flows (which therefore end at once).
pub fn stages_of(flow: &Flow) -> Vec<Stage> {
    match flow.slug {
        "default-authentication-flow" => vec![Stage::Identification, Stage::Password, Stage::UserLogin],
        "default-provider-authorization-explicit-consent" => vec![Stage::Consent { always: false }],
        "default-invalidation-flow" => vec![Stage::UserLogout],
        "default-device-code-flow" => vec![Stage::DeviceCode],
        _ => Vec::new(),
    }
}
