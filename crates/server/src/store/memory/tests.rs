//! Row builders shared by the server's unit tests, and what is specific to the memory store.

use super::*;
use crate::model::NbRole;

pub(crate) fn ak_user(pk: i64, username: &str, superuser: bool) -> AkUser {
    AkUser {
        name: username.into(),
        email: format!("{username}@example.com"),
        is_superuser: superuser,
        ..AkUser::new(pk, username, Utc::now())
    }
}

pub(crate) fn core_token(identifier: &str, key: &str, user: i64) -> CoreToken {
    CoreToken::new(identifier, Secret::new(key), user)
}

pub(crate) fn provider(pk: i64, name: &str) -> AkProvider {
    AkProvider::new(pk, name)
}

pub(crate) fn oauth(kind: OAuthKind, pk: i64, provider: i64, user: i64) -> OAuthToken {
    let token = OAuthToken::new(kind, pk, provider, user, Secret::new(format!("tok-{pk}")));
    OAuthToken { scope: vec!["openid".into()], id_token: serde_json::json!({}), ..token }
}

pub(crate) fn nb_user(id: &str, account: &str, role: NbRole) -> NbUser {
    NbUser::new(id, account, role)
}

// The behaviour of every Store method is tested once for all backends, memory included, by
// crates/server/tests/store_conformance.rs; what is specific to the memory store stays here.

#[test]
fn store_is_object_safe_and_debug_hides_keys() {
    let s: std::sync::Arc<dyn Store> = std::sync::Arc::new(MemoryStore::new());
    drop(s);
    let m = MemoryStore::new();
    let mut state = m.write().unwrap();
    state.insert_ak_user(ak_user(1, "alice", false)).unwrap();
    state.insert_core(core_token("a", "topsecret", 1)).unwrap();
    drop(state);
    assert!(!format!("{m:?}").contains("topsecret"));
}
