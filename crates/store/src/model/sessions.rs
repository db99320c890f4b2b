//! authentik sessions (Django's session with authentik's `AuthenticatedSession`, `authentik/core/models.py`):
//! who a browser or a headless client is logged in as, and the flow it is running.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// A JSON document the rules own, kept as its text: the store copies and writes it without parsing it into a
/// tree (a session's flow state is read and written on every request of a login).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Document(Box<RawValue>);

impl Document {
    /// The document `json`, if it is JSON.
    pub fn from_json(json: String) -> Result<Document, serde_json::Error> {
        RawValue::from_string(json).map(Document)
    }

    /// Its JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl Default for Document {
    /// `null`.
    fn default() -> Self {
        Document(RawValue::from_string("null".to_owned()).expect("null is JSON"))
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

/// One session. Its key (the `authentik_session` cookie) is never stored: `key_hash` is its SHA-256
/// ([`crate::secrets::hash_session_key`]), which is also the id token's `sid`, as upstream's `hash_session_key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkSession {
    /// SHA-256 of the session key, lowercase hex; the primary key.
    pub key_hash: String,
    /// The logged-in user; `None` before a login (a session that only carries a flow).
    #[serde(default)]
    pub user: Option<i64>,
    /// When the user logged in (the login event's time upstream).
    #[serde(default)]
    pub auth_time: Option<DateTime<Utc>>,
    /// How the user authenticated (`pwd`), the id token's `amr`.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The login's id: changes with every login, so `prompt=login` can tell a new login from the old one.
    #[serde(default)]
    pub login_id: Option<Uuid>,
    /// When the session ends.
    pub expires: DateTime<Utc>,
    /// The client's address when the session was last written at a login (`Session.last_ip`).
    #[serde(default)]
    pub last_ip: String,
    /// The client's `User-Agent` then (`Session.last_user_agent`).
    #[serde(default)]
    pub last_user_agent: String,
    /// When the session was last used to log in (`Session.last_used`); `None` before a login.
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    /// What the flow engine keeps between requests (its plan, the executor's query, failed attempts): a document
    /// the rules own and the store keeps as it is.
    #[serde(default)]
    pub flow: Document,
}

impl AkSession {
    /// Whether the session has ended at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires <= now
    }
}

/// An authentik `UserConsent` (`authentik/stages/consent/models.py`): a user's consent to an application, remembered
/// by an explicit-consent stage until it expires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkUserConsent {
    /// The consent's id.
    pub pk: Uuid,
    pub user: i64,
    /// The application's slug.
    pub application: String,
    /// The scopes consented to, space-separated as upstream's `permissions`.
    #[serde(default)]
    pub permissions: String,
    /// `None` for a consent that never expires (`permanent` mode).
    #[serde(default)]
    pub expires: Option<DateTime<Utc>>,
}
