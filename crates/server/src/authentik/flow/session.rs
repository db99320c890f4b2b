//! Sessions (Django's session store, authentik's `AuthenticatedSession`): the `authentik_session` cookie's key,
//! found by its hash, the flow state kept in it, and login and logout.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::plan::Plan;
use crate::model::{AkSession, AkUser, Document};
use crate::secrets::{Secret, generate_session_key, hash_session_key};
use crate::store::{Field, Store, StoreError};

/// `SESSION_COOKIE_NAME`.
pub const SESSION_COOKIE: &str = "authentik_session";

/// How long a session without a login lives (`sessions.unauthenticated_age`, `days=1`).
fn unauthenticated_age() -> TimeDelta {
    TimeDelta::days(1)
}

/// How long a login lasts (the user login stage's default `session_duration` leaves it to Django's
/// `SESSION_COOKIE_AGE`, two weeks).
fn authenticated_age() -> TimeDelta {
    TimeDelta::weeks(2)
}

/// What the flow engine keeps in a session between requests (`SESSION_KEY_PLAN`, `SESSION_KEY_GET`, the password
/// stage's `user_invalid_tries` and the authorization view's `last_login_uid`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlowState {
    pub plan: Option<Plan>,
    /// The executor's `query`, as received.
    pub get: Option<String>,
    pub invalid_tries: u32,
    pub last_login_uid: Option<Uuid>,
}

/// The cookie a response sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieChange {
    Keep,
    /// A new session key (a new session, or a login's new key), and how long it lasts, in seconds.
    Set {
        key: Secret,
        max_age: i64,
    },
}

/// Who sends a request, as a login records it in the session (`Session.last_ip`, `last_user_agent`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// The request's session, loaded once and saved when it changed.
#[derive(Debug)]
pub struct Session {
    row: Option<AkSession>,
    /// The request's client, recorded by a login.
    pub client: Client,
    pub state: FlowState,
    /// The logged-in user (an active one).
    pub user: Option<AkUser>,
    new_key: Option<Secret>,
    changed: bool,
}

fn set_cookie(key: Option<Secret>, row: Option<&AkSession>, now: DateTime<Utc>) -> CookieChange {
    match (key, row) {
        (Some(key), Some(row)) => CookieChange::Set { key, max_age: (row.expires - now).num_seconds().max(0) },
        _ => CookieChange::Keep,
    }
}

impl Session {
    /// The session of the cookie `key`, if it exists, has not expired and names an existing user (or none).
    pub async fn load(store: &dyn Store, key: Option<&str>, now: DateTime<Utc>) -> Result<Session, StoreError> {
        let mut session = Session {
            row: None,
            client: Client::default(),
            state: FlowState::default(),
            user: None,
            new_key: None,
            changed: false,
        };
        let Some(key) = key.filter(|k| !k.is_empty() && k.len() <= 256) else { return Ok(session) };
        let row = match store.get::<AkSession>(Field::HashedToken, hash_session_key(key)).await {
            Ok(row) if !row.is_expired(now) => row,
            Ok(expired) => {
                // An expired session is gone once it is seen (Django's `clearsessions` is not run for us).
                match store.delete::<AkSession>(expired.key_hash).await {
                    Ok(()) | Err(StoreError::NotFound) => return Ok(session),
                    Err(e) => return Err(e),
                }
            }
            Err(StoreError::NotFound) => return Ok(session),
            Err(e) => return Err(e),
        };
        session.state = serde_json::from_str(row.flow.json()).unwrap_or_default();
        if let Some(pk) = row.user {
            match store.get::<AkUser>(Field::Pk, pk).await {
                Ok(user) if user.is_active => session.user = Some(user),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        session.row = Some(row);
        Ok(session)
    }

    /// The stored row, when there is one.
    pub fn row(&self) -> Option<&AkSession> {
        self.row.as_ref()
    }

    /// Marks the flow state as changed, to be saved.
    pub fn touch(&mut self) {
        self.changed = true;
    }

    /// Django's `login()`: the user is logged in under a new session key (the old session is gone, so a key
    /// known before the login is worth nothing after it), with the flow state kept.
    pub async fn login(
        &mut self,
        store: &dyn Store,
        user: AkUser,
        amr: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(old) = self.row.take() {
            match store.delete::<AkSession>(old.key_hash).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        let key = generate_session_key();
        self.row = Some(AkSession {
            key_hash: hash_session_key(key.expose()),
            user: Some(user.pk),
            auth_time: Some(now),
            amr,
            login_id: Some(Uuid::new_v4()),
            expires: now + authenticated_age(),
            last_ip: self.client.ip.clone(),
            last_user_agent: self.client.user_agent.clone(),
            last_used: Some(now),
            flow: Document::default(),
        });
        self.new_key = Some(key);
        self.user = Some(user);
        self.changed = true;
        Ok(())
    }

    /// Django's `logout()`: the session ends (a later flow starts a new one).
    pub async fn logout(&mut self, store: &dyn Store) -> Result<(), StoreError> {
        self.user = None;
        self.state = FlowState::default();
        self.changed = false;
        if let Some(old) = self.row.take() {
            match store.delete::<AkSession>(old.key_hash).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes the session when it changed (a first write creates it, with a new key), and says which cookie to
    /// set.
    pub async fn save(mut self, store: &dyn Store, now: DateTime<Utc>) -> Result<CookieChange, StoreError> {
        if !self.changed {
            return Ok(set_cookie(self.new_key, self.row.as_ref(), now));
        }
        // Written as its JSON text, never as a tree (`Document`): a login reads and writes it on every request.
        let flow = serde_json::to_string(&self.state).ok().and_then(|json| Document::from_json(json).ok());
        let flow = flow.unwrap_or_default();
        match self.row.take() {
            Some(mut row) if self.new_key.is_some() => {
                row.flow = flow;
                self.row = Some(store.insert_with_pk(row).await?);
            }
            // The same document again (an executor's GET of the stage it is at): nothing to write.
            Some(row) if row.flow == flow => {}
            Some(mut row) => {
                row.flow = flow;
                match store.replace(row.clone()).await {
                    Ok(()) => {}
                    // Deleted meanwhile (a logout elsewhere, a reset, its user deleted): written again.
                    Err(StoreError::NotFound) if row.user.is_none() => {
                        store.insert_with_pk(row).await?;
                    }
                    Err(StoreError::NotFound) => return Ok(CookieChange::Keep),
                    Err(e) => return Err(e),
                }
            }
            None => {
                let key = generate_session_key();
                let row = AkSession {
                    key_hash: hash_session_key(key.expose()),
                    user: None,
                    auth_time: None,
                    amr: Vec::new(),
                    login_id: None,
                    expires: now + unauthenticated_age(),
                    last_ip: self.client.ip.clone(),
                    last_user_agent: self.client.user_agent.clone(),
                    last_used: None,
                    flow,
                };
                self.row = Some(store.insert_with_pk(row).await?);
                self.new_key = Some(key);
            }
        }
        Ok(set_cookie(self.new_key, self.row.as_ref(), now))
    }
}
