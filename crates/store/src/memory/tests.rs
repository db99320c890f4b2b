//! What is specific to the memory store.

use super::*;

fn ak_user(pk: i64, username: &str, superuser: bool) -> AkUser {
    AkUser { is_superuser: superuser, ..AkUser::new(pk, username, Utc::now()) }
}

fn core_token(identifier: &str, key: &str, user: i64) -> CoreToken {
    CoreToken::new(identifier, Secret::new(key), user)
}

fn provider(pk: i64, name: &str) -> AkProvider {
    AkProvider::new(pk, name)
}

fn oauth(kind: OAuthKind, pk: i64, provider: i64, user: i64) -> OAuthToken {
    OAuthToken::new(kind, pk, provider, user, Secret::new(format!("tok-{pk}")))
}

// The behaviour of every Store method is tested once for all backends, memory included, by
// crates/server/tests/server/store_conformance.rs; what is specific to the memory store stays here.

#[test]
fn store_is_object_safe_and_debug_hides_keys() {
    let s: std::sync::Arc<dyn Store> = std::sync::Arc::new(MemoryStore::new());
    drop(s);
    let m = MemoryStore::new();
    let mut state = m.write().unwrap();
    state.tables.insert(Arc::new(ak_user(1, "alice", false)), false).unwrap();
    state.insert_core(core_token("a", "topsecret", 1)).unwrap();
    drop(state);
    assert!(!format!("{m:?}").contains("topsecret"));
}

#[tokio::test]
async fn the_expiry_index_follows_replaces_and_deletes() {
    let store = MemoryStore::new();
    (&store as &dyn Store).insert_with_pk(ak_user(1, "alice", false)).await.unwrap();
    let now = Utc::now();
    let soon = CoreToken { expires: Some(now - chrono::TimeDelta::minutes(1)), ..core_token("t", "k", 1) };
    let token = store.insert_core_token(soon.clone()).await.unwrap();
    assert_eq!(store.expired_core_tokens(now, 10).await.unwrap().len(), 1);
    // Moved into the future: no longer expired, and its old index entry is gone.
    let later = CoreToken { expires: Some(now + chrono::TimeDelta::hours(1)), ..soon.clone() };
    store.replace_core_token(token.pk, later).await.unwrap();
    assert!(store.expired_core_tokens(now, 10).await.unwrap().is_empty());
    assert_eq!(store.expired_core_tokens(now + chrono::TimeDelta::hours(2), 10).await.unwrap().len(), 1);
    // Not expiring: out of the index.
    store.replace_core_token(token.pk, CoreToken { expiring: false, ..soon }).await.unwrap();
    assert!(store.expired_core_tokens(now + chrono::TimeDelta::days(9), 10).await.unwrap().is_empty());
    store.delete_core_token(token.pk).await.unwrap();
    assert!(store.read().unwrap().core_expiry.is_empty());
}

#[tokio::test]
async fn the_oauth_value_index_follows_every_removal() {
    let store = MemoryStore::new();
    let dynamic: &dyn Store = &store;
    for (pk, name) in [(1, "alice"), (2, "bob")] {
        dynamic.insert_with_pk(ak_user(pk, name, false)).await.unwrap();
    }
    let grafana = dynamic.insert(provider(0, "grafana")).await.unwrap().pk;
    let wiki = dynamic.insert(provider(0, "wiki")).await.unwrap().pk;
    assert_eq!((grafana, wiki), (1, 2), "allocated after the highest");
    let tokens =
        [(OAuthKind::Access, 1, grafana, 1), (OAuthKind::Refresh, 1, grafana, 1), (OAuthKind::Access, 2, wiki, 2)];
    for (kind, pk, provider, user) in tokens {
        store.insert_oauth_token(oauth(kind, pk, provider, user), false).await.unwrap();
    }
    store.insert_oauth_token(oauth(OAuthKind::Access, 3, grafana, 2), false).await.unwrap();
    let indexed = |store: &MemoryStore| {
        let state = store.read().unwrap();
        state.oauth_index.iter().map(|index| (index.by_token.len(), index.pks.len())).collect::<Vec<_>>()
    };
    assert_eq!(indexed(&store), [(3, 3), (1, 1)]);
    store.delete_oauth_token(OAuthKind::Access, 3).await.unwrap();
    assert_eq!(indexed(&store), [(2, 2), (1, 1)]);
    dynamic.delete::<AkProvider>(wiki).await.unwrap();
    assert_eq!(indexed(&store), [(1, 1), (1, 1)]);
    assert!(store.read().unwrap().oauth_by_user.get(&2).is_some_and(Vec::is_empty));
    dynamic.delete::<AkUser>(1).await.unwrap();
    assert_eq!(indexed(&store), [(0, 0), (0, 0)]);
    assert!(store.read().unwrap().oauth.is_empty());
}
