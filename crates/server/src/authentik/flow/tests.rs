//! Unit tests of the flow engine against the memory store.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::*;
use crate::authentik::oauth2::Keyring;
use crate::model::{AkSession, AkUserConsent};
use crate::secrets::{PasswordHash, hash_session_key};
use crate::store::{Field, MemoryStore};
use crate::test_rows::ak_user;

struct Env {
    store: Box<dyn Store>,
    keyring: Keyring,
    now: DateTime<Utc>,
}

impl Env {
    fn flows(&self) -> Flows<'_> {
        let oauth2 = OAuth2 { store: &*self.store, now: self.now, keyring: &self.keyring, authorize_as: None };
        Flows { store: &*self.store, now: self.now, oauth2 }
    }
}

async fn env() -> Env {
    let store: Box<dyn Store> = Box::new(MemoryStore::new());
    let mut alice = ak_user(1, "alice", false);
    alice.password = Some(PasswordHash::new("secret"));
    store.insert_with_pk(alice).await.unwrap();
    Env { store, keyring: Keyring::default(), now: Utc::now() }
}

fn answer(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// Runs the login flow as alice; answers the session key.
async fn login(env: &Env) -> String {
    let flows = env.flows();
    let slug = "default-authentication-flow";
    let first =
        flows.get(slug, &FlowRequest { session_key: None, query: "", client: &Default::default() }).await.unwrap();
    let CookieChange::Set { key, .. } = first.cookie else { panic!("a first flow starts a session") };
    let request = FlowRequest { session_key: Some(key.expose()), query: "", client: &Default::default() };
    let next = flows.solve(slug, &request, &answer(json!({"uid_field": "alice"}))).await.unwrap();
    assert_eq!(next.answer, FlowAnswer::Next);
    let done = flows.solve(slug, &request, &answer(json!({"password": "secret"}))).await.unwrap();
    assert_eq!(done.answer, FlowAnswer::Next, "the password passed, the login stage follows");
    let login = flows.get(slug, &request).await.unwrap();
    assert_eq!(login.answer, FlowAnswer::Challenge(Challenge::Redirect { to: DEFAULT_NEXT.to_owned() }));
    let CookieChange::Set { key: new_key, max_age } = login.cookie else { panic!("a login sets a new key") };
    assert_ne!(new_key.expose(), key.expose(), "the login cycles the session key");
    assert_eq!(max_age, 14 * 24 * 3600);
    new_key.expose().to_owned()
}

#[tokio::test]
async fn sessions_are_stored_by_the_hash_of_their_random_key() {
    let env = env().await;
    let key = login(&env).await;
    assert_eq!(key.len(), 32);
    assert!(key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    let sessions = env.store.all::<AkSession>().await.unwrap();
    assert_eq!(sessions.len(), 1, "the session before the login is gone");
    let session = &sessions[0];
    assert_eq!(session.key_hash, hash_session_key(&key));
    assert!(!serde_json::to_string(session).unwrap().contains(&key));
    assert_eq!((session.user, session.amr.clone()), (Some(1), vec!["pwd".to_owned()]));
    let user = env.flows().session_user(Some(&key)).await.unwrap();
    assert_eq!(user.map(|u| u.username), Some("alice".to_owned()));
    assert_eq!(env.flows().session_user(Some(&session.key_hash)).await.unwrap(), None, "the hash is no key");
}

#[tokio::test]
async fn expired_sessions_and_sessions_of_deleted_users_log_nobody_in() {
    let env = env().await;
    let key = login(&env).await;
    assert!(env.flows().session_user(Some(&key)).await.unwrap().is_some());
    let later = Env { store: env.store, keyring: Keyring::default(), now: env.now + chrono::TimeDelta::weeks(3) };
    assert_eq!(later.flows().session_user(Some(&key)).await.unwrap(), None);
    assert!(later.store.all::<AkSession>().await.unwrap().is_empty(), "an expired session is deleted once seen");

    let env = Env { now: later.now - chrono::TimeDelta::weeks(3), ..later };
    let key = login(&env).await;
    assert!(env.flows().session_user(Some(&key)).await.unwrap().is_some());
    env.store.delete::<crate::model::AkUser>(1).await.unwrap();
    assert_eq!(env.flows().session_user(Some(&key)).await.unwrap(), None);
    assert!(env.store.all::<AkSession>().await.unwrap().is_empty(), "deleting the user deletes its sessions");
}

#[tokio::test]
async fn consents_are_stored_and_found() {
    let env = env().await;
    let consent = AkUserConsent {
        pk: uuid::Uuid::new_v4(),
        user: 1,
        application: "app".into(),
        permissions: "email profile".into(),
        expires: Some(env.now + chrono::TimeDelta::weeks(4)),
    };
    env.store.insert_with_pk(consent.clone()).await.unwrap();
    assert_eq!(env.store.all::<AkUserConsent>().await.unwrap(), vec![consent]);
    assert_eq!(
        env.store
            .get::<AkUserConsent>(Field::Pk, env.store.all::<AkUserConsent>().await.unwrap()[0].pk)
            .await
            .unwrap()
            .user,
        1
    );
}

#[test]
fn local_urls_only() {
    for ok in ["/", "/if/user/", "/application/o/authorize/?x=https://e", "relative", "/a:b"] {
        assert!(is_local_url(ok), "{ok}");
    }
    for bad in ["", "//evil", "https://evil", "javascript:alert(1)", "/\\evil", "\\\\evil", "/\t/evil", "HTTP://x"] {
        assert!(!is_local_url(bad), "{bad}");
    }
}
