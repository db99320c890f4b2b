//! The store conformance suite: every `Store` operation, every error and concurrent writers, run
//! unchanged against the memory, SQLite and PostgreSQL backends.
//!
//! PostgreSQL runs in a throwaway cluster this test starts itself (see `common/mod.rs`); when the
//! PostgreSQL binaries are missing the PostgreSQL test fails, it never skips.
//!
//! Timestamps in the data are truncated to microseconds, the precision the SQL stores keep.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, SubsecRound, TimeDelta, TimeZone, Utc};
use tokio::task::JoinSet;
use uuid::Uuid;

use tokenstack_server::expiry;
use tokenstack_server::model::{
    AkApplication, AkDeviceToken, AkGroup, AkKeyPair, AkProvider, AkScopeMapping, AkSession, AkUser, AuthorizationCode,
    CoreToken, Intent, NbAccount, NbGroup, NbPeer, NbPeerMeta, NbResource, NbRole, NbSetupKey, NbUser, OAuthKind,
    OAuthToken, Pat, SetupKeyType,
};
use tokenstack_server::pagination::{PageRequest, Slice};
use tokenstack_server::secrets::{Secret, generate_pat, hash_pat};
use tokenstack_server::seed::{self, BOOTSTRAP_TOKEN_IDENTIFIER};
use tokenstack_server::store::query::Listing;
use tokenstack_server::store::resource::{NbGroupColumn, NbPeerColumn, NbSetupKeyColumn, NbUserColumn, SessionColumn};
use tokenstack_server::store::{
    self, CoreTokenField, CoreTokenQuery, ExpireAction, ExpiryOutcome, Field, MemoryStore, OAuthField, OAuthQuery,
    PostgresStore, Snapshot, SqliteStore, Store, StoreError, UserField, UserQuery,
};

use tokenstack_pg_cluster::PgCluster;

/// Now, at the precision every backend stores.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

// ---- cases ported from the memory store's unit tests ----

fn ak_user(pk: i64, username: &str, superuser: bool) -> AkUser {
    AkUser {
        name: username.into(),
        email: format!("{username}@example.com"),
        is_superuser: superuser,
        ..AkUser::new(pk, username, now())
    }
}

fn core_token(identifier: &str, key: &str, user: i64) -> CoreToken {
    CoreToken::new(identifier, Secret::new(key), user)
}

fn provider(pk: i64, name: &str) -> AkProvider {
    AkProvider::new(pk, name)
}

fn oauth(kind: OAuthKind, pk: i64, provider: i64, user: i64) -> OAuthToken {
    OAuthToken {
        scope: vec!["openid".into()],
        id_token: serde_json::json!({}),
        ..OAuthToken::new(kind, pk, provider, user, Secret::new(format!("tok-{pk}")))
    }
}

fn pat(id: &str, user: &str, hash: &str) -> Pat {
    let now = now();
    Pat {
        id: id.into(),
        user_id: user.into(),
        name: id.into(),
        hashed_token: hash.into(),
        expiration_date: now + TimeDelta::days(1),
        created_by: user.into(),
        created_at: now,
        last_used: None,
    }
}

fn code(value: &str, provider: i64, user: i64) -> AuthorizationCode {
    let now = now();
    AuthorizationCode {
        code: Secret::new(value),
        provider,
        user,
        expires: now + TimeDelta::minutes(1),
        scope: vec!["openid".into(), "offline_access".into()],
        redirect_uri: "https://app.example.com/cb".into(),
        nonce: Some(format!("nonce-{value}")),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some("S256".into()),
        auth_time: now - TimeDelta::seconds(5),
        amr: vec!["pwd".into()],
        session: Some(format!("session-{value}")),
    }
}

fn key_pair(name: &str) -> AkKeyPair {
    AkKeyPair {
        pk: Uuid::new_v4(),
        name: name.into(),
        key_data: Secret::new(format!("-----BEGIN PRIVATE KEY-----\n{name}\n-----END PRIVATE KEY-----\n")),
        certificate_data: format!("-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n"),
    }
}

/// Puts providers at fixed pks: an insert allocates the next one, a snapshot keeps them (and drops every code).
async fn place(s: &Arc<dyn Store>, providers: &[(i64, &str)]) {
    let mut snapshot = s.export().await.unwrap();
    snapshot.providers.extend(providers.iter().map(|(pk, name)| provider(*pk, name)));
    s.import(snapshot).await.unwrap();
}

async fn seeded(s: Arc<dyn Store>) -> Arc<dyn Store> {
    s.insert_with_pk(ak_user(1, "alice", false)).await.unwrap();
    s.insert_with_pk(ak_user(2, "bob", false)).await.unwrap();
    s
}

fn query() -> CoreTokenQuery {
    CoreTokenQuery { ordering: vec![(CoreTokenField::Identifier, false)], ..CoreTokenQuery::default() }
}

fn ids(slice: &Slice<CoreToken>) -> Vec<&str> {
    slice.items.iter().map(|t| t.identifier.as_str()).collect()
}

async fn ak_users_and_providers(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    assert_eq!(s.get::<AkUser>(Field::Pk, 1).await.unwrap().username, "alice");
    assert_eq!(s.get::<AkUser>(Field::Username, "bob").await.unwrap().pk, 2);
    assert_eq!(s.get::<AkUser>(Field::Pk, 9).await, Err(StoreError::NotFound));
    assert_eq!(s.get::<AkUser>(Field::Username, "eve").await, Err(StoreError::NotFound));
    assert_eq!(s.insert_with_pk(ak_user(1, "x", false)).await, Err(StoreError::Duplicate { field: Field::Pk }));
    assert_eq!(
        s.insert_with_pk(ak_user(3, "alice", false)).await,
        Err(StoreError::Duplicate { field: Field::Username })
    );
    place(&s, &[(5, "grafana")]).await;
    assert_eq!(s.get::<AkProvider>(Field::Pk, 5).await.unwrap().name, "grafana");
    assert_eq!(s.get::<AkProvider>(Field::Pk, 6).await, Err(StoreError::NotFound));
    assert_eq!(s.get::<AkProvider>(Field::Slug, 5).await, Err(StoreError::NotFound), "not a key of providers");
}

async fn core_token_insert_get_and_duplicates(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let t = s.insert_core_token(core_token("a", "k1", 1)).await.unwrap();
    assert_eq!(s.core_token("a").await.unwrap(), t);
    assert_eq!(s.core_token_by_key("k1").await.unwrap().identifier, "a");
    assert_eq!(s.core_token("zz").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key("zz").await, Err(StoreError::NotFound));
    assert_eq!(
        s.insert_core_token(core_token("a", "k2", 1)).await,
        Err(StoreError::Duplicate { field: Field::Identifier })
    );
    assert_eq!(s.insert_core_token(core_token("b", "k1", 1)).await, Err(StoreError::Duplicate { field: Field::Key }));
    let mut same_pk = core_token("c", "k3", 1);
    same_pk.pk = t.pk;
    assert_eq!(s.insert_core_token(same_pk).await, Err(StoreError::Duplicate { field: Field::Pk }));
    assert_eq!(s.insert_core_token(core_token("d", "k4", 99)).await, Err(StoreError::NotFound));
}

async fn replace_keeps_pk_and_reindexes(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let t = s.insert_core_token(core_token("a", "k1", 1)).await.unwrap();
    s.insert_core_token(core_token("b", "k2", 1)).await.unwrap();

    let mut changed = core_token("a2", "k1b", 2);
    changed.description = "moved".into();
    let out = s.replace_core_token(t.pk, changed).await.unwrap();
    assert_eq!(out.pk, t.pk);
    assert_eq!(s.core_token("a").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key("k1").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key("k1b").await.unwrap().identifier, "a2");
    let q = CoreTokenQuery { owner: Some(2), ..query() };
    assert_eq!(ids(&s.list_core_tokens(&q).await.unwrap()), vec!["a2"]);

    assert_eq!(
        s.replace_core_token(t.pk, core_token("b", "k1b", 2)).await,
        Err(StoreError::Duplicate { field: Field::Identifier })
    );
    assert_eq!(
        s.replace_core_token(t.pk, core_token("a2", "k2", 2)).await,
        Err(StoreError::Duplicate { field: Field::Key })
    );
    assert_eq!(s.replace_core_token(t.pk, core_token("a2", "k1b", 42)).await, Err(StoreError::NotFound));
    assert_eq!(s.replace_core_token(Uuid::new_v4(), core_token("x", "y", 1)).await, Err(StoreError::NotFound));
    // Failed replaces leave the row untouched.
    assert_eq!(s.core_token("a2").await.unwrap().description, "moved");
}

async fn delete_and_set_key(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let a = s.insert_core_token(core_token("a", "k1", 1)).await.unwrap();
    s.insert_core_token(core_token("b", "k2", 1)).await.unwrap();

    s.set_core_token_key(a.pk, Secret::new("k9")).await.unwrap();
    assert_eq!(s.core_token_by_key("k1").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key("k9").await.unwrap().identifier, "a");
    assert_eq!(s.set_core_token_key(a.pk, Secret::new("k2")).await, Err(StoreError::Duplicate { field: Field::Key }));
    assert_eq!(s.set_core_token_key(Uuid::new_v4(), Secret::new("k5")).await, Err(StoreError::NotFound));

    s.delete_core_token(a.pk).await.unwrap();
    assert_eq!(s.delete_core_token(a.pk).await, Err(StoreError::NotFound));
    // A token re-created under the same identifier is another row: writes addressed to the old pk miss it.
    let again = s.insert_core_token(core_token("a", "k10", 2)).await.unwrap();
    assert_eq!(s.set_core_token_key(a.pk, Secret::new("k11")).await, Err(StoreError::NotFound));
    assert_eq!(s.delete_core_token(a.pk).await, Err(StoreError::NotFound));
    assert_eq!(s.core_token("a").await.unwrap().key.expose(), "k10");
    s.delete_core_token(again.pk).await.unwrap();
    assert_eq!(s.core_token_by_key("k9").await, Err(StoreError::NotFound));
    assert_eq!(ids(&s.list_core_tokens(&query()).await.unwrap()), vec!["b"]);
}

async fn list_filters_search_ordering_owner(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let now = now();
    let mut a = core_token("alpha", "k1", 1);
    a.description = "CI deploy".into();
    a.expires = Some(now);
    let mut b = core_token("beta", "k2", 2);
    b.intent = Intent::AppPassword;
    b.managed = Some("goauthentik.io/x".into());
    let mut c = core_token("gamma", "k3", 1);
    c.expiring = false;
    for t in [a, b, c] {
        s.insert_core_token(t).await.unwrap();
    }
    let store = &s;
    let list = |q: CoreTokenQuery| async move { ids(&store.list_core_tokens(&q).await.unwrap()).join(",") };

    assert_eq!(list(query()).await, "alpha,beta,gamma");
    assert_eq!(list(CoreTokenQuery { owner: Some(1), ..query() }).await, "alpha,gamma");
    assert_eq!(list(CoreTokenQuery { owner: Some(3), ..query() }).await, "");
    assert_eq!(list(CoreTokenQuery { intent: Some(Intent::AppPassword), ..query() }).await, "beta");
    assert_eq!(list(CoreTokenQuery { user_username: Some("alice".into()), ..query() }).await, "alpha,gamma");
    assert_eq!(list(CoreTokenQuery { expiring: Some(false), ..query() }).await, "gamma");
    assert_eq!(list(CoreTokenQuery { expires: Some(now), ..query() }).await, "alpha");
    assert_eq!(list(CoreTokenQuery { managed: Some("goauthentik.io/x".into()), ..query() }).await, "beta");
    assert_eq!(list(CoreTokenQuery { description: Some("CI deploy".into()), ..query() }).await, "alpha");
    assert_eq!(list(CoreTokenQuery { identifier: Some("gamma".into()), ..query() }).await, "gamma");
    // search: case-insensitive, over identifier, intent, username, description; terms ANDed
    assert_eq!(list(CoreTokenQuery { search: Some("BOB".into()), ..query() }).await, "beta");
    assert_eq!(list(CoreTokenQuery { search: Some("app_pass".into()), ..query() }).await, "beta");
    assert_eq!(list(CoreTokenQuery { search: Some("deploy alice".into()), ..query() }).await, "alpha");
    assert_eq!(list(CoreTokenQuery { search: Some("deploy bob".into()), ..query() }).await, "");
    // ordering, NULLs last ascending and first descending
    let by = |o: Vec<(CoreTokenField, bool)>| CoreTokenQuery { ordering: o, ..query() };
    assert_eq!(list(by(vec![(CoreTokenField::Identifier, true)])).await, "gamma,beta,alpha");
    assert_eq!(
        list(by(vec![(CoreTokenField::User, true), (CoreTokenField::Identifier, false)])).await,
        "beta,alpha,gamma"
    );
    assert_eq!(
        list(by(vec![(CoreTokenField::Expires, false), (CoreTokenField::Identifier, false)])).await,
        "alpha,beta,gamma"
    );
    assert_eq!(
        list(by(vec![(CoreTokenField::Expires, true), (CoreTokenField::Identifier, false)])).await,
        "beta,gamma,alpha"
    );
    // paging
    let paged = s
        .list_core_tokens(&CoreTokenQuery { page: PageRequest::new(Some(2), Some(2)).unwrap(), ..query() })
        .await
        .unwrap();
    assert_eq!((paged.total, ids(&paged)), (3, vec!["gamma"]));
}

async fn expire_rotates_api_and_deletes_others(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let now = now();
    let mut api = core_token("api", "k1", 1);
    api.expires = Some(now - TimeDelta::hours(1));
    let mut app = core_token("app", "k2", 1);
    app.intent = Intent::AppPassword;
    app.expires = Some(now - TimeDelta::hours(1));
    let mut fresh = core_token("fresh", "k3", 1);
    fresh.expires = Some(now + TimeDelta::hours(1));
    for t in [api, app, fresh] {
        s.insert_core_token(t).await.unwrap();
    }
    let out = expiry::sweep(&*s, now).await.unwrap();
    assert_eq!(out, ExpiryOutcome { rotated: vec!["api".into()], deleted: vec!["app".into()] });
    let rotated = s.core_token("api").await.unwrap();
    assert_ne!(rotated.key.expose(), "k1");
    assert_eq!(rotated.expires, Some(now + TimeDelta::days(1)));
    assert_eq!(s.core_token_by_key("k1").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token("app").await, Err(StoreError::NotFound));
    assert!(s.core_token("fresh").await.is_ok());
}

async fn oauth_tokens(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    place(&s, &[(10, "Grafana"), (11, "Wiki")]).await;
    s.insert_oauth_token(oauth(OAuthKind::Access, 1, 11, 1), false).await.unwrap();
    s.insert_oauth_token(oauth(OAuthKind::Access, 2, 10, 2), false).await.unwrap();
    s.insert_oauth_token(oauth(OAuthKind::Refresh, 1, 10, 1), false).await.unwrap();
    assert_eq!(
        s.insert_oauth_token(oauth(OAuthKind::Access, 1, 10, 1), false).await,
        Err(StoreError::Duplicate { field: Field::Pk })
    );
    assert_eq!(s.insert_oauth_token(oauth(OAuthKind::Access, 3, 99, 1), false).await, Err(StoreError::NotFound));
    assert_eq!(s.insert_oauth_token(oauth(OAuthKind::Access, 3, 10, 99), false).await, Err(StoreError::NotFound));
    assert_eq!(s.oauth_token(OAuthKind::Refresh, 1).await.unwrap().provider, 10);
    assert_eq!(s.oauth_token(OAuthKind::Refresh, 2).await, Err(StoreError::NotFound));

    let q = OAuthQuery {
        kind: OAuthKind::Access,
        owner: None,
        user: None,
        provider: None,
        search: None,
        ordering: vec![(OAuthField::Provider, false), (OAuthField::Expires, false)],
        page: PageRequest::default(),
    };
    let pks = |slice: Slice<OAuthToken>| slice.items.iter().map(|t| t.pk).collect::<Vec<_>>();
    assert_eq!(pks(s.list_oauth_tokens(&q).await.unwrap()), vec![2, 1]);
    assert_eq!(pks(s.list_oauth_tokens(&OAuthQuery { owner: Some(1), ..q.clone() }).await.unwrap()), vec![1]);
    assert_eq!(pks(s.list_oauth_tokens(&OAuthQuery { user: Some(2), ..q.clone() }).await.unwrap()), vec![2]);
    assert_eq!(pks(s.list_oauth_tokens(&OAuthQuery { provider: Some(11), ..q.clone() }).await.unwrap()), vec![1]);
    let search = |t: &str| OAuthQuery { search: Some(t.into()), ..q.clone() };
    assert_eq!(pks(s.list_oauth_tokens(&search("graf")).await.unwrap()), vec![2]);
    assert_eq!(pks(s.list_oauth_tokens(&search("ALICE")).await.unwrap()), vec![1]);
    let desc = OAuthQuery { ordering: vec![(OAuthField::Pk, true)], ..q.clone() };
    assert_eq!(pks(s.list_oauth_tokens(&desc).await.unwrap()), vec![2, 1]);

    s.delete_oauth_token(OAuthKind::Access, 2).await.unwrap();
    assert_eq!(s.delete_oauth_token(OAuthKind::Access, 2).await, Err(StoreError::NotFound));
    assert!(s.oauth_token(OAuthKind::Refresh, 1).await.is_ok(), "kinds are separate tables");
}

async fn netbird_users_and_pats(s: Arc<dyn Store>) {
    s.insert(NbUser::new("u1", "acc", NbRole::User)).await.unwrap();
    s.insert(NbUser::new("u2", "acc", NbRole::Admin)).await.unwrap();
    assert_eq!(s.insert(NbUser::new("u1", "acc", NbRole::User)).await, Err(StoreError::Duplicate { field: Field::Id }));
    assert_eq!(s.get::<NbUser>(Field::Id, "u2").await.unwrap().role, NbRole::Admin);
    assert_eq!(s.get::<NbUser>(Field::Id, "u3").await, Err(StoreError::NotFound));

    s.insert_pat(pat("p1", "u1", "h1")).await.unwrap();
    s.insert_pat(pat("p2", "u1", "h2")).await.unwrap();
    assert_eq!(s.insert_pat(pat("p1", "u2", "h3")).await, Err(StoreError::Duplicate { field: Field::Id }));
    assert_eq!(s.insert_pat(pat("p3", "u2", "h1")).await, Err(StoreError::Duplicate { field: Field::HashedToken }));
    assert_eq!(s.insert_pat(pat("p4", "nobody", "h4")).await, Err(StoreError::NotFound));

    assert_eq!(s.pat_by_hash("h2").await.unwrap().id, "p2");
    assert_eq!(s.pat_by_hash("hx").await, Err(StoreError::NotFound));
    assert_eq!(s.list_pats("u1").await.unwrap().len(), 2);
    assert!(s.list_pats("u2").await.unwrap().is_empty());
    assert_eq!(s.pat("u1", "p1").await.unwrap().name, "p1");
    assert_eq!(s.pat("u2", "p1").await, Err(StoreError::NotFound), "other user's PAT");

    let at = now();
    s.mark_pat_used("u1", "p1", at).await.unwrap();
    assert_eq!(s.pat("u1", "p1").await.unwrap().last_used, Some(at));
    assert_eq!(s.mark_pat_used("u2", "p1", at).await, Err(StoreError::NotFound));

    assert_eq!(s.delete_pat("u2", "p1").await, Err(StoreError::NotFound));
    s.delete_pat("u1", "p1").await.unwrap();
    assert_eq!(s.delete_pat("u1", "p1").await, Err(StoreError::NotFound));
    assert_eq!(s.pat_by_hash("h1").await, Err(StoreError::NotFound));
    assert_eq!(s.list_pats("u1").await.unwrap().len(), 1);
}

async fn export_import_round_trip_and_atomicity(s: Arc<dyn Store>, s2: Arc<dyn Store>) {
    let s = seeded(s).await;
    place(&s, &[(10, "Grafana")]).await;
    s.insert_core_token(core_token("a", "k1", 1)).await.unwrap();
    s.insert_oauth_token(oauth(OAuthKind::Access, 1, 10, 2), false).await.unwrap();
    s.insert(NbUser::new("u1", "acc", NbRole::Owner)).await.unwrap();
    s.insert_pat(pat("p1", "u1", "h1")).await.unwrap();
    s.insert(key_pair("signing")).await.unwrap();
    s.insert(key_pair("another")).await.unwrap();
    s.insert(NbGroup::new("g1", "acc", "All")).await.unwrap();
    s.insert(setup_key("k1", "acc", "sk1")).await.unwrap();
    s.insert(AkGroup::new(Uuid::new_v4(), "developers")).await.unwrap();
    s.insert_authorization_code(code("c1", 10, 2)).await.unwrap();
    let snapshot = s.export().await.unwrap();
    assert_eq!(snapshot.ak_groups.len(), 1);
    assert_eq!(snapshot.key_pairs, s.all::<AkKeyPair>().await.unwrap(), "by name, as listed");
    assert_eq!(snapshot.nb_groups.len(), 1);
    assert_eq!(snapshot.nb_setup_keys, [setup_key("k1", "acc", "sk1")]);

    let json = serde_json::to_string(&snapshot).unwrap();
    let parsed: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, snapshot);

    let t = s2;
    t.import(parsed).await.unwrap();
    assert_eq!(t.export().await.unwrap(), snapshot);
    assert_eq!(t.core_token_by_key("k1").await.unwrap().identifier, "a");
    assert_eq!(t.pat_by_hash("h1").await.unwrap().id, "p1");
    assert_eq!(t.all::<AkKeyPair>().await.unwrap(), snapshot.key_pairs);
    assert_eq!(t.get::<AkKeyPair>(Field::Pk, snapshot.key_pairs[1].pk).await.unwrap().name, "signing");
    assert_eq!(t.get::<NbGroup>(Field::Id, "g1").await.unwrap().name, "All");
    assert_eq!(t.get::<AkGroup>(Field::Name, "developers").await.unwrap(), snapshot.ak_groups[0]);
    assert_eq!(t.get::<NbSetupKey>(Field::HashedToken, "sk1").await.unwrap().id, "k1");
    assert_eq!(t.oauth_token_by_token(OAuthKind::Access, "tok-1").await.unwrap().user, 2, "the value index too");
    assert_eq!(t.take_authorization_code("c1").await, Err(StoreError::NotFound), "codes are not exported");

    let mut broken = snapshot.clone();
    broken.core_tokens.push(core_token("b", "k1", 1));
    assert_eq!(t.import(broken).await, Err(StoreError::Duplicate { field: Field::Key }));
    assert_eq!(t.export().await.unwrap(), snapshot, "failed import changes nothing");
    let mut broken = snapshot.clone();
    broken.key_pairs.push(key_pair("signing"));
    assert_eq!(t.import(broken).await, Err(StoreError::Duplicate { field: Field::Name }));
    assert_eq!(t.export().await.unwrap(), snapshot, "failed import changes nothing");

    // An import drops every code, and a reset to the snapshot keeps the key pairs.
    s.insert_authorization_code(code("c2", 10, 1)).await.unwrap();
    s.import(snapshot.clone()).await.unwrap();
    assert_eq!(s.take_authorization_code("c1").await, Err(StoreError::NotFound));
    assert_eq!(s.take_authorization_code("c2").await, Err(StoreError::NotFound));
    assert_eq!(s.export().await.unwrap(), snapshot);
}

// ---- cases for what the SQL backends add ----

async fn paging_totals_and_empty_pages(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    for i in 0..5 {
        s.insert_core_token(core_token(&format!("t{i}"), &format!("k{i}"), 1)).await.unwrap();
    }
    let page = |page, size| CoreTokenQuery { page: PageRequest::new(Some(page), Some(size)).unwrap(), ..query() };
    let second = s.list_core_tokens(&page(2, 2)).await.unwrap();
    assert_eq!((second.total, ids(&second)), (5, vec!["t2", "t3"]));
    let past_the_end = s.list_core_tokens(&page(4, 2)).await.unwrap();
    assert_eq!((past_the_end.total, past_the_end.items.len()), (5, 0), "an empty page still counts every match");
    let nothing = s.list_core_tokens(&CoreTokenQuery { identifier: Some("none".into()), ..query() }).await.unwrap();
    assert_eq!((nothing.total, nothing.items.len()), (0, 0));
}

async fn search_is_unicode_case_insensitive_and_literal(s: Arc<dyn Store>) {
    s.insert_with_pk(ak_user(1, "Zoë", false)).await.unwrap();
    let mut a = core_token("Ärger-100%", "k1", 1);
    a.description = "Straße".into();
    s.insert_core_token(a).await.unwrap();
    s.insert_core_token(core_token("plain", "k2", 1)).await.unwrap();
    let search = |term: &str| CoreTokenQuery { search: Some(term.into()), owner: None, ..query() };
    for (term, expected) in [
        ("ZOË", "plain,Ärger-100%"),
        ("ärger", "Ärger-100%"),
        ("STRASSE", ""),
        ("straße", "Ärger-100%"),
        ("100%", "Ärger-100%"),
        ("_", ""),
        ("%", "Ärger-100%"),
    ] {
        let got = s.list_core_tokens(&search(term)).await.unwrap();
        assert_eq!(ids(&got).join(","), expected, "search {term:?}");
    }
}

async fn timestamps_round_trip_and_expiry_boundary(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let at = now();
    let mut t = core_token("edge", "k1", 1);
    t.expires = Some(at);
    let stored = s.insert_core_token(t).await.unwrap();
    assert_eq!(s.core_token("edge").await.unwrap(), stored, "insert returns what is stored");
    assert_eq!(stored.expires, Some(at));
    // `now > expires` is strict: at `expires` itself the token is not expired yet.
    let out = expiry::sweep(&*s, at).await.unwrap();
    assert_eq!(out, ExpiryOutcome::default());
    let out = expiry::sweep(&*s, at + TimeDelta::nanoseconds(1)).await.unwrap();
    assert_eq!(out.rotated, vec!["edge".to_string()]);
    // Non-expiring tokens and tokens without `expires` are never touched.
    let mut keep = core_token("keep", "k2", 1);
    keep.expiring = false;
    keep.expires = Some(at - TimeDelta::days(3));
    s.insert_core_token(keep).await.unwrap();
    s.insert_core_token(core_token("open", "k3", 1)).await.unwrap();
    let out = expiry::sweep(&*s, at + TimeDelta::days(2)).await.unwrap();
    assert_eq!(out, ExpiryOutcome { rotated: vec!["edge".into()], deleted: vec![] });
}

async fn expiry_sweeps_in_batches_and_writes_only_still_expired_tokens(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let now = now();
    for i in 0..300 {
        let mut t = core_token(&format!("app-{i:03}"), &format!("key-{i}"), 1);
        t.intent = Intent::AppPassword;
        t.expires = Some(now - TimeDelta::minutes(1));
        s.insert_core_token(t).await.unwrap();
    }
    let mut fresh = core_token("fresh", "fresh-key", 2);
    fresh.expires = Some(now + TimeDelta::hours(1));
    let fresh = s.insert_core_token(fresh).await.unwrap();
    // A token that is not expired (any more) is left alone, whatever the action.
    assert!(!s.expire_core_token(fresh.pk, now, ExpireAction::Delete).await.unwrap());
    assert!(!s.expire_core_token(Uuid::new_v4(), now, ExpireAction::Delete).await.unwrap());
    let out = expiry::sweep(&*s, now).await.unwrap();
    assert_eq!(out.deleted.len(), 300, "every batch is swept");
    assert!(out.rotated.is_empty());
    assert_eq!(s.count_tokens().await.unwrap().core, 1);
    assert_eq!(s.core_token("fresh").await.unwrap(), fresh);
}

async fn users_list_replace_and_delete_with_their_tokens(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let mut carol = ak_user(7, "Carol", false);
    carol.path = "ci/team".into();
    carol.is_active = false;
    s.insert_with_pk(carol.clone()).await.unwrap();
    let list = |q: UserQuery| {
        let s = s.clone();
        async move {
            let q = UserQuery { ordering: vec![(UserField::Username, false)], ..q };
            s.list::<AkUser>(&q.listing()).await.unwrap().items.into_iter().map(|u| u.username).collect::<Vec<_>>()
        }
    };
    assert_eq!(list(UserQuery::default()).await, ["Carol", "alice", "bob"], "byte order, as PostgreSQL's C collation");
    assert_eq!(list(UserQuery { path_startswith: Some("ci/".into()), ..UserQuery::default() }).await, ["Carol"]);
    assert_eq!(
        list(UserQuery { path_startswith: Some("team".into()), ..UserQuery::default() }).await,
        Vec::<String>::new()
    );
    assert_eq!(list(UserQuery { is_active: Some(false), ..UserQuery::default() }).await, ["Carol"]);
    assert_eq!(list(UserQuery { search: Some("CAROL@EXAMPLE".into()), ..UserQuery::default() }).await, ["Carol"]);
    assert_eq!(list(UserQuery { only: Some(2), ..UserQuery::default() }).await, ["bob"]);
    assert_eq!(list(UserQuery { user_type: Some("internal".into()), ..UserQuery::default() }).await.len(), 3);

    carol.username = "carol".into();
    carol.name = "Carol C".into();
    s.replace(carol.clone()).await.unwrap();
    assert_eq!(s.get::<AkUser>(Field::Username, "carol").await.unwrap(), carol);
    assert_eq!(s.get::<AkUser>(Field::Username, "Carol").await, Err(StoreError::NotFound));
    assert_eq!(list(UserQuery { name: Some("Carol C".into()), ..UserQuery::default() }).await, ["carol"]);
    carol.username = "alice".into();
    assert_eq!(s.replace(carol).await, Err(StoreError::Duplicate { field: Field::Username }));
    assert_eq!(s.replace(ak_user(99, "ghost", false)).await, Err(StoreError::NotFound));

    place(&s, &[(1, "grafana")]).await;
    s.insert_core_token(core_token("carol-t", "carol-key", 7)).await.unwrap();
    s.insert_oauth_token(oauth(OAuthKind::Access, 1, 1, 7), false).await.unwrap();
    s.insert_core_token(core_token("alice-t", "alice-key", 1)).await.unwrap();
    s.delete::<AkUser>(7).await.unwrap();
    assert_eq!(s.core_token("carol-t").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key("carol-key").await, Err(StoreError::NotFound));
    assert_eq!(s.oauth_token(OAuthKind::Access, 1).await, Err(StoreError::NotFound));
    assert!(s.core_token("alice-t").await.is_ok());
    assert_eq!(s.delete::<AkUser>(7).await, Err(StoreError::NotFound));
    assert_eq!(s.insert(ak_user(0, "dave", false)).await.unwrap().pk, 3, "one after the highest in use");
}

async fn netbird_users_replace_and_delete_with_their_pats(s: Arc<dyn Store>) {
    s.insert(NbUser::new("u1", "acc", NbRole::User)).await.unwrap();
    s.insert(NbUser::new("u0", "acc", NbRole::Owner)).await.unwrap();
    s.insert(NbUser::new("other", "acc2", NbRole::Owner)).await.unwrap();
    let ids = |users: Vec<NbUser>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    let account = Listing::new(None, &[], NbUserColumn::Id, PageRequest::all())
        .filter(NbUserColumn::AccountId, Some("acc".to_string()));
    assert_eq!(ids(s.list::<NbUser>(&account).await.unwrap().items), ["u0", "u1"]);
    let u1 = NbUser { blocked: true, auto_groups: vec!["g1".into()], ..NbUser::new("u1", "acc", NbRole::Admin) };
    s.replace(u1.clone()).await.unwrap();
    assert_eq!(s.get::<NbUser>(Field::Id, "u1").await.unwrap(), u1);
    assert_eq!(s.replace(NbUser::new("ghost", "acc", NbRole::User)).await, Err(StoreError::NotFound));
    s.insert_pat(pat("p1", "u1", "h1")).await.unwrap();
    s.insert_pat(pat("p0", "u0", "h0")).await.unwrap();
    s.delete::<NbUser>("u1").await.unwrap();
    assert_eq!(s.pat_by_hash("h1").await, Err(StoreError::NotFound));
    assert!(s.pat_by_hash("h0").await.is_ok());
    assert_eq!(s.get::<NbUser>(Field::Id, "u1").await, Err(StoreError::NotFound));
    assert_eq!(s.delete::<NbUser>("u1").await, Err(StoreError::NotFound));
}

async fn fifty_parallel_creates(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    // 50 creates over 25 identifiers: exactly one per identifier wins, the rest are duplicates.
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let s = s.clone();
        tasks.spawn(async move {
            let identifier = format!("c{:02}", i % 25);
            let key = format!("key-{i}");
            let result = s.insert_core_token(core_token(&identifier, &key, 1 + i % 2)).await;
            (identifier, key, result)
        });
    }
    let mut winners: BTreeMap<String, String> = BTreeMap::new();
    for done in tasks.join_all().await {
        match done {
            (identifier, key, Ok(_)) => {
                assert!(winners.insert(identifier, key).is_none(), "two creates of one identifier")
            }
            (_, _, Err(err)) => assert_eq!(err, StoreError::Duplicate { field: Field::Identifier }),
        }
    }
    assert_eq!(winners.len(), 25);
    let all = CoreTokenQuery { page: PageRequest::new(None, Some(100)).unwrap(), ..query() };
    let listed = s.list_core_tokens(&all).await.unwrap();
    assert_eq!(listed.total, 25);
    for token in &listed.items {
        assert_eq!(winners.get(&token.identifier).map(String::as_str), Some(token.key.expose()));
        assert_eq!(s.core_token_by_key(token.key.expose()).await.unwrap().identifier, token.identifier);
    }

    // 50 distinct creates at once: every one is stored.
    let mut tasks = JoinSet::new();
    for i in 0..50 {
        let s = s.clone();
        tasks.spawn(async move { s.insert_core_token(core_token(&format!("d{i:02}"), &format!("dkey-{i}"), 1)).await });
    }
    for result in tasks.join_all().await {
        result.unwrap();
    }
    assert_eq!(s.list_core_tokens(&all).await.unwrap().total, 75);
    // Racing creates of one key: one wins.
    let mut tasks = JoinSet::new();
    for i in 0..10 {
        let s = s.clone();
        tasks.spawn(
            async move { s.insert_core_token(core_token(&format!("same-key-{i}"), "shared", 1)).await.map(drop) },
        );
    }
    let results = tasks.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().all(|r| r.is_ok() || *r == Err(StoreError::Duplicate { field: Field::Key })));
}

async fn set_key_races(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    s.insert_core_token(core_token("race", "k-initial", 1)).await.unwrap();
    let keys: Vec<String> = (0..30).map(|i| format!("k-{i:02}")).collect();
    let mut all_keys = keys.clone();
    all_keys.push("k-initial".into());
    let all_keys = Arc::new(all_keys);

    let mut readers = JoinSet::new();
    for _ in 0..4 {
        let (s, all_keys) = (s.clone(), all_keys.clone());
        readers.spawn(async move {
            for round in 0..40 {
                // No torn read: the row always carries one whole key of the set...
                let token = s.core_token("race").await.unwrap();
                assert!(all_keys.contains(&token.key.expose().to_string()), "unknown key");
                // ...and a key lookup never returns a row holding another key.
                let probe = &all_keys[round % all_keys.len()];
                match s.core_token_by_key(probe).await {
                    Ok(found) => assert_eq!(found.key.expose(), probe.as_str()),
                    Err(err) => assert_eq!(err, StoreError::NotFound),
                }
                tokio::task::yield_now().await;
            }
        });
    }
    let mut writers = JoinSet::new();
    for key in keys.clone() {
        let s = s.clone();
        writers.spawn(async move {
            let pk = s.core_token("race").await?.pk;
            s.set_core_token_key(pk, Secret::new(key)).await
        });
    }
    for result in writers.join_all().await {
        result.unwrap();
    }
    readers.join_all().await;

    let final_key = s.core_token("race").await.unwrap().key.expose().to_string();
    assert!(keys.contains(&final_key));
    for key in all_keys.iter() {
        let found = s.core_token_by_key(key).await;
        if *key == final_key {
            assert_eq!(found.unwrap().identifier, "race");
        } else {
            assert_eq!(found, Err(StoreError::NotFound), "old key {key} still resolves");
        }
    }
    let listed = s.list_core_tokens(&query()).await.unwrap();
    assert_eq!((listed.total, listed.items[0].key.expose()), (1, final_key.as_str()));

    // Two tokens racing for one new key: exactly one gets it.
    let other = s.insert_core_token(core_token("other", "k-other", 1)).await.unwrap();
    let race = s.core_token("race").await.unwrap();
    let (a, b) = tokio::join!(
        s.set_core_token_key(race.pk, Secret::new("contested")),
        s.set_core_token_key(other.pk, Secret::new("contested"))
    );
    assert!(a.is_ok() ^ b.is_ok(), "{a:?} {b:?}");
    assert!([a, b].contains(&Err(StoreError::Duplicate { field: Field::Key })));
}

async fn concurrent_mark_pat_used(s: Arc<dyn Store>) {
    s.insert(NbUser::new("u1", "acc", NbRole::User)).await.unwrap();
    for i in 0..10 {
        s.insert_pat(pat(&format!("p{i}"), "u1", &format!("h{i}"))).await.unwrap();
    }
    let base = now();
    let mut tasks = JoinSet::new();
    for i in 0..50i64 {
        let s = s.clone();
        tasks.spawn(async move {
            let id = format!("p{}", i % 10);
            s.mark_pat_used("u1", &id, base + TimeDelta::seconds(i)).await
        });
    }
    for result in tasks.join_all().await {
        result.unwrap();
    }
    for pat in s.list_pats("u1").await.unwrap() {
        let n: i64 = pat.id[1..].parse().unwrap();
        let candidates: BTreeSet<_> = (0..5).map(|k| base + TimeDelta::seconds(n + 10 * k)).collect();
        assert!(candidates.contains(&pat.last_used.expect("every PAT marked")), "{pat:?}");
        assert_eq!(pat.hashed_token, format!("h{n}"), "marking touches only last_used");
    }
    // Marking a PAT being deleted: either it is marked first or it is gone.
    let (marked, deleted) = tokio::join!(s.mark_pat_used("u1", "p0", base), s.delete_pat("u1", "p0"));
    deleted.unwrap();
    assert!(marked.is_ok() || marked == Err(StoreError::NotFound));
    assert_eq!(s.pat("u1", "p0").await, Err(StoreError::NotFound));
}

async fn bootstrap_is_idempotent(s: Arc<dyn Store>) {
    let key = "bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL".to_string();
    let (plain, hashed) = generate_pat();
    let first = seed::bootstrap(&*s, now(), Some(key.clone()), Some(plain.clone()), "admin").await.unwrap();
    assert!(!first.authentik_generated && !first.netbird_generated);
    // A restart with the same credentials on a store that has them already.
    seed::bootstrap(&*s, now(), Some(key.clone()), Some(plain.clone()), "admin").await.unwrap();
    assert_eq!(s.core_token_by_key(&key).await.unwrap().identifier, BOOTSTRAP_TOKEN_IDENTIFIER);
    let pats = s.list_pats("admin").await.unwrap();
    assert_eq!((pats.len(), pats[0].hashed_token.as_str()), (1, hashed.as_str()));
    assert_eq!(s.get::<AkUser>(Field::Username, "akadmin").await.unwrap().pk, 1);
    // Replicas starting together with the same credentials.
    let (a, b) = tokio::join!(
        seed::bootstrap(&*s, now(), Some(key.clone()), Some(plain.clone()), "admin"),
        seed::bootstrap(&*s, now(), Some(key.clone()), Some(plain.clone()), "admin")
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(s.list_pats("admin").await.unwrap().len(), 1);
    // A restart without them keeps the stored key and PAT, and generates (prints) nothing.
    let restarted = seed::bootstrap(&*s, now(), None, None, "admin").await.unwrap();
    assert!(!restarted.authentik_generated && !restarted.netbird_generated);
    assert_eq!((restarted.authentik_key.expose(), restarted.netbird_pat), (key.as_str(), None));
    assert_eq!(s.core_token_by_key(&key).await.unwrap().identifier, BOOTSTRAP_TOKEN_IDENTIFIER);
    assert_eq!(s.pat_by_hash(&hashed).await.unwrap().user_id, "admin");
    assert_eq!(s.list_pats("admin").await.unwrap().len(), 1);
    assert_eq!(s.export().await.unwrap().ak_users.len(), 1);
    // A new key given at a restart replaces the stored one at once.
    let rotated = "bootstrap-key-rotated-0123456789abcdefghijklmnopqrstuvwxyzABCDE".to_string();
    seed::bootstrap(&*s, now(), Some(rotated.clone()), None, "admin").await.unwrap();
    assert_eq!(s.core_token_by_key(&key).await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key(&rotated).await.unwrap().identifier, BOOTSTRAP_TOKEN_IDENTIFIER);
}

async fn bootstrap_generates_credentials_only_for_a_new_store(s: Arc<dyn Store>) {
    let first = seed::bootstrap(&*s, now(), None, None, "admin").await.unwrap();
    assert!(first.authentik_generated && first.netbird_generated);
    let pat = first.netbird_pat.expect("a new PAT");
    assert_eq!(s.pat_by_hash(&hash_pat(pat.expose())).await.unwrap().name, "bootstrap");
    let again = seed::bootstrap(&*s, now(), None, None, "admin").await.unwrap();
    assert!(!again.authentik_generated && !again.netbird_generated);
    assert_eq!(again.authentik_key, first.authentik_key);
    assert_eq!(s.list_pats("admin").await.unwrap().len(), 1);
}

async fn seed_only_into_an_empty_store(s: Arc<dyn Store>) {
    let snapshot = Snapshot { ak_users: vec![ak_user(5, "seeded", false)], ..Snapshot::default() };
    assert!(seed::seed_if_empty(&*s, snapshot.clone()).await.unwrap());
    s.insert_core_token(core_token("later", "k1", 5)).await.unwrap();
    assert!(!seed::seed_if_empty(&*s, snapshot).await.unwrap(), "a store with data is not reset");
    assert!(s.core_token("later").await.is_ok());
}

/// Every read that authentication and retrieve make, made before each write (so a caching store holds it) and
/// after: the second read sees the write, whichever write it is.
async fn reads_before_and_after_every_write(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    let a = s.insert_core_token(core_token("a", "k1", 1)).await.unwrap();
    let b = s.insert_core_token(core_token("b", "k2", 2)).await.unwrap();
    s.insert(NbUser::new("u1", "acc", NbRole::User)).await.unwrap();
    s.insert_pat(pat("p1", "u1", "h1")).await.unwrap();
    s.insert_pat(pat("p2", "u1", "h2")).await.unwrap();
    let warm = |s: Arc<dyn Store>| async move {
        let _ = s.core_token_by_key("k1").await;
        let _ = s.core_token("a").await;
        let _ = s.core_token_by_key("k2").await;
        let _ = s.get::<AkUser>(Field::Pk, 1).await;
        let _ = s.get::<AkUser>(Field::Pk, 2).await;
        let _ = s.pat_by_hash("h1").await;
        let _ = s.pat_by_hash("h2").await;
        let _ = s.get::<NbUser>(Field::Id, "u1").await;
    };

    // set_key: the old key stops at once, the new one resolves, retrieve shows it.
    warm(s.clone()).await;
    s.set_core_token_key(a.pk, Secret::new("k1b")).await.unwrap();
    assert_eq!(s.core_token_by_key("k1").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token("a").await.unwrap().key.expose(), "k1b");
    assert_eq!(s.core_token_by_key("k1b").await.unwrap().pk, a.pk);

    // replace: a new identifier and expiry are what both lookups give.
    warm(s.clone()).await;
    let expires = Some(now());
    let renamed = CoreToken { identifier: "a2".into(), expires, ..s.core_token("a").await.unwrap() };
    s.replace_core_token(a.pk, renamed).await.unwrap();
    assert_eq!(s.core_token("a").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key("k1b").await.unwrap().expires, expires);

    // The expiry sweep's rotation: the old key is gone.
    let _ = s.core_token_by_key("k1b").await;
    let later = now() + TimeDelta::seconds(1);
    let rotate = ExpireAction::Rotate { key: Secret::new("k1c"), expires: later + TimeDelta::days(1) };
    assert!(s.expire_core_token(a.pk, later, rotate).await.unwrap());
    assert_eq!(s.core_token_by_key("k1b").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token("a2").await.unwrap().key.expose(), "k1c");

    // A user deactivated, then deleted with their tokens.
    warm(s.clone()).await;
    let bob = AkUser { is_active: false, ..s.get::<AkUser>(Field::Pk, 2).await.unwrap() };
    s.replace(bob).await.unwrap();
    assert!(!s.get::<AkUser>(Field::Pk, 2).await.unwrap().is_active);
    s.delete::<AkUser>(2).await.unwrap();
    assert_eq!(s.get::<AkUser>(Field::Pk, 2).await, Err(StoreError::NotFound));
    assert_eq!(s.core_token_by_key("k2").await, Err(StoreError::NotFound));
    assert_eq!(s.core_token(&b.identifier).await, Err(StoreError::NotFound));

    // A NetBird user blocked; a PAT marked used, then deleted.
    warm(s.clone()).await;
    let blocked = NbUser { blocked: true, ..s.get::<NbUser>(Field::Id, "u1").await.unwrap() };
    s.replace(blocked).await.unwrap();
    assert!(s.get::<NbUser>(Field::Id, "u1").await.unwrap().blocked);
    let at = now();
    s.mark_pat_used("u1", "p1", at).await.unwrap();
    assert_eq!(s.pat("u1", "p1").await.unwrap().last_used, Some(at));
    assert_eq!(s.list_pats("u1").await.unwrap()[0].last_used, Some(at));
    s.delete_pat("u1", "p1").await.unwrap();
    assert_eq!(s.pat_by_hash("h1").await, Err(StoreError::NotFound));

    // The whole state replaced: nothing of before resolves.
    warm(s.clone()).await;
    let exported = s.export().await.unwrap();
    assert_eq!(exported.pats.iter().find(|p| p.id == "p2").map(|p| p.last_used), Some(None));
    s.import(Snapshot { ak_users: vec![ak_user(1, "alice", false)], ..Snapshot::default() }).await.unwrap();
    assert_eq!(s.core_token_by_key("k1c").await, Err(StoreError::NotFound));
    assert_eq!(s.pat_by_hash("h2").await, Err(StoreError::NotFound));
    assert_eq!(s.get::<NbUser>(Field::Id, "u1").await, Err(StoreError::NotFound));

    // The NetBird user deleted with their PATs.
    s.insert(NbUser::new("u2", "acc", NbRole::User)).await.unwrap();
    s.insert_pat(pat("p3", "u2", "h3")).await.unwrap();
    let _ = (s.pat_by_hash("h3").await, s.get::<NbUser>(Field::Id, "u2").await);
    s.delete::<NbUser>("u2").await.unwrap();
    assert_eq!(s.pat_by_hash("h3").await, Err(StoreError::NotFound));
    assert_eq!(s.get::<NbUser>(Field::Id, "u2").await, Err(StoreError::NotFound));
}

// ---- the OAuth2 provider's storage (token endpoint, authorization codes, signing keys) ----

async fn oauth_tokens_by_value_revoked_and_allocated_pks(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    place(&s, &[(10, "grafana"), (11, "wiki")]).await;
    assert_eq!(next_oauth_pk(&s, OAuthKind::Access).await, 1);
    assert_eq!(next_oauth_pk(&s, OAuthKind::Refresh).await, 1);
    s.insert_oauth_token(oauth(OAuthKind::Access, 1, 10, 1), false).await.unwrap();
    s.insert_oauth_token(oauth(OAuthKind::Access, 5, 10, 2), false).await.unwrap();
    let refresh = OAuthToken { token: Secret::new("refresh-3"), ..oauth(OAuthKind::Refresh, 3, 10, 1) };
    s.insert_oauth_token(refresh.clone(), false).await.unwrap();

    let by = |kind, value: &'static str| {
        let s = s.clone();
        async move { s.oauth_token_by_token(kind, value).await }
    };
    assert_eq!(by(OAuthKind::Access, "tok-1").await.unwrap(), s.oauth_token(OAuthKind::Access, 1).await.unwrap());
    assert_eq!(by(OAuthKind::Access, "tok-5").await.unwrap().user, 2);
    assert_eq!(by(OAuthKind::Refresh, "refresh-3").await.unwrap(), refresh);
    assert_eq!(by(OAuthKind::Access, "refresh-3").await, Err(StoreError::NotFound), "the other kind");
    assert_eq!(by(OAuthKind::Refresh, "tok-1").await, Err(StoreError::NotFound), "the other kind");
    assert_eq!(by(OAuthKind::Access, "tok-").await, Err(StoreError::NotFound), "exact values only");
    assert_eq!(by(OAuthKind::Access, "unknown").await, Err(StoreError::NotFound));
    assert_eq!(next_oauth_pk(&s, OAuthKind::Access).await, 6);
    assert_eq!(next_oauth_pk(&s, OAuthKind::Refresh).await, 4);

    // Rotation revokes the old refresh token: every read shows it, the other tokens stay as they were.
    assert!(!refresh.revoked);
    s.revoke_oauth_token(OAuthKind::Refresh, 3).await.unwrap();
    assert!(s.oauth_token(OAuthKind::Refresh, 3).await.unwrap().revoked);
    assert!(by(OAuthKind::Refresh, "refresh-3").await.unwrap().revoked);
    assert_eq!(by(OAuthKind::Refresh, "refresh-3").await.unwrap(), OAuthToken { revoked: true, ..refresh });
    assert!(!s.oauth_token(OAuthKind::Access, 1).await.unwrap().revoked);
    s.revoke_oauth_token(OAuthKind::Refresh, 3).await.unwrap();
    assert_eq!(s.revoke_oauth_token(OAuthKind::Refresh, 1).await, Err(StoreError::NotFound), "access 1 only");
    assert_eq!(s.revoke_oauth_token(OAuthKind::Access, 99).await, Err(StoreError::NotFound));

    // Values are not unique (upstream's `TextField`): the lowest pk answers.
    s.insert_oauth_token(oauth(OAuthKind::Access, 7, 11, 2), false).await.unwrap();
    let twin = OAuthToken { token: Secret::new("tok-1"), ..oauth(OAuthKind::Access, 8, 11, 2) };
    s.insert_oauth_token(twin, false).await.unwrap();
    assert_eq!(by(OAuthKind::Access, "tok-1").await.unwrap().pk, 1);
    assert_eq!(next_oauth_pk(&s, OAuthKind::Access).await, 9);

    // Every way a token goes takes it out of the lookup and of the highest pk.
    s.delete_oauth_token(OAuthKind::Access, 1).await.unwrap();
    assert_eq!(by(OAuthKind::Access, "tok-1").await.unwrap().pk, 8);
    s.delete::<AkProvider>(11).await.unwrap();
    assert_eq!(by(OAuthKind::Access, "tok-1").await, Err(StoreError::NotFound));
    assert_eq!(by(OAuthKind::Access, "tok-7").await, Err(StoreError::NotFound));
    assert_eq!(next_oauth_pk(&s, OAuthKind::Access).await, 6);
    s.delete::<AkUser>(2).await.unwrap();
    assert_eq!(by(OAuthKind::Access, "tok-5").await, Err(StoreError::NotFound));
    assert_eq!(next_oauth_pk(&s, OAuthKind::Access).await, 1);
    assert_eq!(next_oauth_pk(&s, OAuthKind::Refresh).await, 4);
    s.import(Snapshot::default()).await.unwrap();
    assert_eq!(by(OAuthKind::Refresh, "refresh-3").await, Err(StoreError::NotFound));
    let s = seeded(s).await;
    place(&s, &[(10, "grafana")]).await;
    assert_eq!(next_oauth_pk(&s, OAuthKind::Refresh).await, 1);
}

/// The pk an allocating insert of `kind` gets now (the highest of its kind + 1), by user 1 for provider 10; the
/// probe is deleted again.
async fn next_oauth_pk(s: &Arc<dyn Store>, kind: OAuthKind) -> i64 {
    let probe = s.insert_oauth_token(oauth(kind, 0, 10, 1), true).await.unwrap();
    assert_eq!(s.oauth_token(kind, probe.pk).await.unwrap(), probe, "stored as returned");
    s.delete_oauth_token(kind, probe.pk).await.unwrap();
    probe.pk
}

async fn authorization_codes_are_taken_once(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    place(&s, &[(10, "grafana"), (11, "wiki")]).await;
    let c1 = code("0123456789abcdef0123456789abcdef", 10, 1);
    s.insert_authorization_code(c1.clone()).await.unwrap();
    let again = code(c1.code.expose(), 11, 2);
    assert_eq!(s.insert_authorization_code(again).await, Err(StoreError::Duplicate { field: Field::Code }));
    assert_eq!(s.insert_authorization_code(code("c-unknown-provider", 99, 1)).await, Err(StoreError::NotFound));
    assert_eq!(s.insert_authorization_code(code("c-unknown-user", 10, 99)).await, Err(StoreError::NotFound));

    // Every field comes back; the second take finds nothing.
    assert_eq!(s.take_authorization_code(c1.code.expose()).await.unwrap(), c1);
    assert_eq!(s.take_authorization_code(c1.code.expose()).await, Err(StoreError::NotFound));
    assert_eq!(s.take_authorization_code("never-issued").await, Err(StoreError::NotFound));
    let bare =
        AuthorizationCode { nonce: None, code_challenge: None, code_challenge_method: None, ..code("bare", 10, 1) };
    s.insert_authorization_code(bare.clone()).await.unwrap();
    assert_eq!(s.take_authorization_code("bare").await.unwrap(), bare);
    // A taken code may be issued again (a new row).
    s.insert_authorization_code(c1.clone()).await.unwrap();
    assert_eq!(s.take_authorization_code(c1.code.expose()).await.unwrap(), c1);

    // Codes go with their user and with their provider, and only those.
    for (value, provider, user) in [("of-bob", 10, 2), ("of-alice", 10, 1), ("of-wiki", 11, 1)] {
        s.insert_authorization_code(code(value, provider, user)).await.unwrap();
    }
    s.delete::<AkUser>(2).await.unwrap();
    assert_eq!(s.take_authorization_code("of-bob").await, Err(StoreError::NotFound));
    assert_eq!(s.insert_authorization_code(code("for-bob", 10, 2)).await, Err(StoreError::NotFound));
    s.delete::<AkProvider>(11).await.unwrap();
    assert_eq!(s.take_authorization_code("of-wiki").await, Err(StoreError::NotFound));
    assert_eq!(s.take_authorization_code("of-alice").await.unwrap().user, 1);
}

async fn concurrent_takes_of_one_code(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    place(&s, &[(10, "grafana")]).await;
    for round in 0..20 {
        let value = format!("code-{round}");
        s.insert_authorization_code(code(&value, 10, 1)).await.unwrap();
        let mut takes = JoinSet::new();
        for _ in 0..4 {
            let (s, value) = (s.clone(), value.clone());
            takes.spawn(async move { s.take_authorization_code(&value).await });
        }
        let mut won = 0;
        while let Some(result) = takes.join_next().await {
            match result.unwrap() {
                Ok(taken) => {
                    won += 1;
                    assert_eq!(taken.code.expose(), value);
                }
                Err(err) => assert_eq!(err, StoreError::NotFound, "round {round}"),
            }
        }
        assert_eq!(won, 1, "exactly one take of {value} gets it");
    }
}

fn scope_mapping(name: &str, managed: Option<&str>) -> AkScopeMapping {
    AkScopeMapping {
        pk: Uuid::new_v4(),
        name: name.into(),
        managed: managed.map(str::to_owned),
        scope_name: "groups".into(),
        description: String::new(),
        expression: "return {}".into(),
    }
}

async fn scope_mappings(s: Arc<dyn Store>) {
    let managed = scope_mapping("b-managed", Some("goauthentik.io/providers/oauth2/scope-groups"));
    let (custom, other) = (scope_mapping("a-custom", None), scope_mapping("c-custom", None));
    for mapping in [&managed, &custom, &other] {
        s.insert(mapping.clone()).await.unwrap();
    }
    assert_eq!(
        s.get::<AkScopeMapping>(Field::Managed, "goauthentik.io/providers/oauth2/scope-groups").await.unwrap(),
        managed
    );
    assert_eq!(s.get::<AkScopeMapping>(Field::Name, "a-custom").await.unwrap(), custom, "by any unique key");
    let names: Vec<String> = s.all::<AkScopeMapping>().await.unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["a-custom", "b-managed", "c-custom"], "by name; any number without a managed id");
    let same_managed = scope_mapping("d", Some("goauthentik.io/providers/oauth2/scope-groups"));
    assert_eq!(s.insert(same_managed).await, Err(StoreError::Duplicate { field: Field::Managed }));
    assert_eq!(s.insert(scope_mapping("a-custom", None)).await, Err(StoreError::Duplicate { field: Field::Name }));
    let edited =
        AkScopeMapping { expression: "return {\"a\": 1}".into(), managed: Some("mine".into()), ..custom.clone() };
    s.replace(edited.clone()).await.unwrap();
    assert_eq!(s.get::<AkScopeMapping>(Field::Managed, "mine").await.unwrap(), edited);
    s.delete::<AkScopeMapping>(managed.pk).await.unwrap();
    assert_eq!(s.get::<AkScopeMapping>(Field::Pk, managed.pk).await, Err(StoreError::NotFound));
    assert_eq!(s.export().await.unwrap().scope_mappings, s.all::<AkScopeMapping>().await.unwrap());
}

/// Groups are rows with unique names; a member's row embeds a copy, and a superuser group's copy makes the member
/// a superuser in the users listing.
async fn groups(s: Arc<dyn Store>) {
    let admins = AkGroup { is_superuser: true, ..AkGroup::new(Uuid::new_v4(), "b-admins") };
    let devs = AkGroup { parents: vec![admins.pk], ..AkGroup::new(Uuid::new_v4(), "a-devs") };
    for group in [&admins, &devs] {
        assert_eq!(&s.insert(group.clone()).await.unwrap(), group);
    }
    assert_eq!(s.get::<AkGroup>(Field::Name, "a-devs").await.unwrap(), devs, "by any unique key");
    assert_eq!(s.get::<AkGroup>(Field::Pk, admins.pk).await.unwrap(), admins);
    let clash = AkGroup::new(Uuid::new_v4(), "b-admins");
    assert_eq!(s.insert(clash).await, Err(StoreError::Duplicate { field: Field::Name }));
    let names: Vec<String> = s.all::<AkGroup>().await.unwrap().into_iter().map(|g| g.name).collect();
    assert_eq!(names, ["a-devs", "b-admins"], "by name");

    let mut member = ak_user(7, "member", false);
    member.groups = vec![admins.clone()];
    s.insert_with_pk(member).await.unwrap();
    s.insert_with_pk(ak_user(8, "plain", false)).await.unwrap();
    let superusers = UserQuery { is_superuser: Some(true), ..UserQuery::default() };
    let listed = s.list::<AkUser>(&superusers.listing()).await.unwrap();
    assert_eq!(listed.items.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["member"]);

    let renamed = AkGroup { name: "c-admins".into(), attributes: serde_json::Map::new(), ..admins.clone() };
    s.replace(renamed.clone()).await.unwrap();
    assert_eq!(s.get::<AkGroup>(Field::Name, "b-admins").await, Err(StoreError::NotFound), "reindexed");
    assert_eq!(s.get::<AkGroup>(Field::Name, "c-admins").await.unwrap(), renamed);
    s.delete::<AkGroup>(devs.pk).await.unwrap();
    assert_eq!(s.get::<AkGroup>(Field::Pk, devs.pk).await, Err(StoreError::NotFound));
    assert_eq!(s.export().await.unwrap().ak_groups, vec![renamed]);
}

async fn key_pairs(s: Arc<dyn Store>) {
    assert!(s.all::<AkKeyPair>().await.unwrap().is_empty());
    let (b, a) = (key_pair("b-signing"), key_pair("a-signing"));
    s.insert(b.clone()).await.unwrap();
    s.insert(a.clone()).await.unwrap();
    let without_certificate = AkKeyPair { certificate_data: String::new(), ..key_pair("Z-bare") };
    s.insert(without_certificate.clone()).await.unwrap();
    assert_eq!(s.get::<AkKeyPair>(Field::Pk, b.pk).await.unwrap(), b, "the private key and certificate round-trip");
    assert_eq!(s.get::<AkKeyPair>(Field::Pk, without_certificate.pk).await.unwrap(), without_certificate);
    assert_eq!(s.get::<AkKeyPair>(Field::Name, "a-signing").await.unwrap(), a, "by any unique key");
    assert_eq!(s.get::<AkKeyPair>(Field::Pk, Uuid::new_v4()).await, Err(StoreError::NotFound));
    let names: Vec<String> = s.all::<AkKeyPair>().await.unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["Z-bare", "a-signing", "b-signing"], "by name, byte order");
    let same_name = key_pair("a-signing");
    assert_eq!(s.insert(same_name).await, Err(StoreError::Duplicate { field: Field::Name }));
    let same_pk = AkKeyPair { pk: a.pk, ..key_pair("c-signing") };
    assert_eq!(s.insert(same_pk).await, Err(StoreError::Duplicate { field: Field::Pk }));
    assert_eq!(s.all::<AkKeyPair>().await.unwrap().len(), 3, "rejected inserts add nothing");
    assert_eq!(s.export().await.unwrap().key_pairs, s.all::<AkKeyPair>().await.unwrap());
    // A replace keeps the unique keys unique, and its own name is no clash.
    let renamed = AkKeyPair { name: "b-signing".into(), ..a.clone() };
    assert_eq!(s.replace(renamed).await, Err(StoreError::Duplicate { field: Field::Name }));
    let recertified = AkKeyPair { certificate_data: "new".into(), ..a.clone() };
    s.replace(recertified.clone()).await.unwrap();
    assert_eq!(s.get::<AkKeyPair>(Field::Name, "a-signing").await.unwrap(), recertified);
    let moved = AkKeyPair { name: "c-signing".into(), ..a.clone() };
    s.replace(moved).await.unwrap();
    assert_eq!(s.get::<AkKeyPair>(Field::Name, "a-signing").await, Err(StoreError::NotFound), "the old name is free");
    assert_eq!(s.get::<AkKeyPair>(Field::Name, "c-signing").await.unwrap().pk, a.pk);
    s.insert(key_pair("a-signing")).await.unwrap();
    s.delete::<AkKeyPair>(b.pk).await.unwrap();
    assert_eq!(s.delete::<AkKeyPair>(b.pk).await, Err(StoreError::NotFound));
    assert_eq!(s.get::<AkKeyPair>(Field::Name, "b-signing").await, Err(StoreError::NotFound));
}

// ---- the runner ----

// ---- the generic operations of declared resources (`resource.rs`) ----

async fn allocated_keys(s: Arc<dyn Store>) {
    let first = s.insert(provider(0, "grafana")).await.unwrap();
    let second = s.insert(provider(0, "wiki")).await.unwrap();
    assert_eq!((first.pk, second.pk), (1, 2), "the store allocates, in the insert");
    assert_eq!(s.get::<AkProvider>(Field::Pk, 2).await.unwrap(), second, "the returned row is the stored one");
    s.delete::<AkProvider>(2).await.unwrap();
    assert_eq!(s.insert(provider(0, "again")).await.unwrap().pk, 2, "one after the highest in use");
    let mut inserts = JoinSet::new();
    for i in 0..8 {
        let s = s.clone();
        inserts.spawn(async move { s.insert(provider(0, &format!("p{i}"))).await.unwrap().pk });
    }
    let mut pks = Vec::new();
    while let Some(pk) = inserts.join_next().await {
        pks.push(pk.unwrap());
    }
    pks.sort_unstable();
    assert_eq!(pks, (3..=10).collect::<Vec<i64>>(), "concurrent inserts get distinct keys");
}

async fn listings_of_declared_resources(s: Arc<dyn Store>) {
    for (id, account, name) in [("g1", "a", "All"), ("g2", "a", "Devs"), ("g3", "b", "All"), ("g4", "a", "devops")] {
        s.insert(NbGroup::new(id, account, name)).await.unwrap();
    }
    assert_eq!(s.insert(NbGroup::new("g1", "b", "x")).await, Err(StoreError::Duplicate { field: Field::Id }));
    let ids = |groups: Vec<NbGroup>| groups.into_iter().map(|g| g.id).collect::<Vec<_>>();
    let in_a = Listing::new(Some("DEV"), &[NbGroupColumn::Name], NbGroupColumn::Id, PageRequest::default())
        .filter(NbGroupColumn::AccountId, Some("a".to_string()))
        .order_by(&[(NbGroupColumn::Name, true)]);
    let page = s.list::<NbGroup>(&in_a).await.unwrap();
    assert_eq!((page.total, ids(page.items)), (2, vec!["g4".to_string(), "g2".to_string()]), "byte order, descending");
    let second = Listing::new(None, &[], NbGroupColumn::Id, PageRequest::new(Some(2), Some(2)).unwrap())
        .filter(NbGroupColumn::AccountId, Some("a".to_string()));
    let page = s.list::<NbGroup>(&second).await.unwrap();
    assert_eq!((page.total, ids(page.items)), (3, vec!["g4".to_string()]));
    let past = Listing::new(None, &[], NbGroupColumn::Id, PageRequest::new(Some(9), None).unwrap());
    let page = s.list::<NbGroup>(&past).await.unwrap();
    assert_eq!((page.total, page.items.len()), (4, 0), "an empty page still counts");
    assert_eq!(ids(s.all::<NbGroup>().await.unwrap()), ["g1", "g2", "g3", "g4"]);
    let renamed = NbGroup { name: "Ops".into(), ..NbGroup::new("g2", "a", "Devs") };
    s.replace(renamed.clone()).await.unwrap();
    assert_eq!(s.get::<NbGroup>(Field::Id, "g2").await.unwrap(), renamed);
    s.delete::<NbGroup>("g2").await.unwrap();
    assert_eq!(s.get::<NbGroup>(Field::Id, "g2").await, Err(StoreError::NotFound));
}

fn setup_key(id: &str, account: &str, hash: &str) -> NbSetupKey {
    let at = Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap() + TimeDelta::microseconds(123_456);
    NbSetupKey {
        id: id.into(),
        account_id: account.into(),
        key_hash: hash.into(),
        key_secret: "A6160****".into(),
        name: format!("key {id}"),
        key_type: SetupKeyType::Reusable,
        created_at: at,
        expires_at: Some(at + TimeDelta::days(1)),
        updated_at: at,
        revoked: false,
        used_times: 0,
        last_used: None,
        auto_groups: vec!["g2".into()],
        usage_limit: 0,
        ephemeral: true,
        allow_extra_dns_labels: false,
    }
}

async fn setup_keys_and_group_resources(s: Arc<dyn Store>) {
    for (id, account, hash) in [("k1", "a", "h1"), ("k2", "b", "h2"), ("k3", "a", "h3")] {
        s.insert(setup_key(id, account, hash)).await.unwrap();
    }
    assert_eq!(s.insert(setup_key("k1", "b", "h9")).await, Err(StoreError::Duplicate { field: Field::Id }));
    assert_eq!(s.insert(setup_key("k9", "b", "h1")).await, Err(StoreError::Duplicate { field: Field::HashedToken }));
    assert_eq!(s.get::<NbSetupKey>(Field::HashedToken, "h2").await.unwrap(), setup_key("k2", "b", "h2"));
    let in_a = Listing::new(None, &[], NbSetupKeyColumn::Id, PageRequest::all())
        .filter(NbSetupKeyColumn::AccountId, Some("a".to_string()));
    let ids = s.list::<NbSetupKey>(&in_a).await.unwrap().items.into_iter().map(|k| k.id).collect::<Vec<_>>();
    assert_eq!(ids, ["k1", "k3"]);
    let used = NbSetupKey {
        revoked: true,
        used_times: 3,
        last_used: Some(Utc.with_ymd_and_hms(2026, 8, 23, 0, 0, 0).unwrap()),
        expires_at: None,
        ..setup_key("k1", "a", "h1")
    };
    s.replace(used.clone()).await.unwrap();
    assert_eq!(s.get::<NbSetupKey>(Field::Id, "k1").await.unwrap(), used, "every field round-trips");
    s.delete::<NbSetupKey>("k3").await.unwrap();
    assert_eq!(s.get::<NbSetupKey>(Field::HashedToken, "h3").await, Err(StoreError::NotFound));
    assert_eq!(s.delete::<NbSetupKey>("k3").await, Err(StoreError::NotFound));

    let resources = vec![NbResource { id: "r1".into(), kind: "host".into() }];
    let group = NbGroup { resources, peers: vec!["p1".into()], ..NbGroup::new("g1", "a", "devs") };
    s.insert(group.clone()).await.unwrap();
    assert_eq!(s.get::<NbGroup>(Field::Id, "g1").await.unwrap(), group);
}

fn peer(id: &str, account: &str, key: &str, ip: &str) -> NbPeer {
    let at = Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap() + TimeDelta::microseconds(654_321);
    NbPeer {
        id: id.into(),
        account_id: account.into(),
        key: key.into(),
        name: format!("host {id}"),
        ip: ip.into(),
        ipv6: Some("fd12:3456:789a:bcde::1".into()),
        dns_label: format!("host-{id}"),
        user_id: String::new(),
        created_at: at,
        last_login: at,
        last_seen: at,
        connected: false,
        ssh_enabled: true,
        login_expiration_enabled: false,
        inactivity_expiration_enabled: false,
        ephemeral: true,
        extra_dns_labels: vec!["web".into()],
        allow_extra_dns_labels: true,
        meta: NbPeerMeta { hostname: format!("host {id}"), os: "linux".into(), ..NbPeerMeta::default() },
        connection_ip: "10.0.0.1".into(),
        setup_key_id: Some("k1".into()),
    }
}

async fn peers_and_accounts(s: Arc<dyn Store>) {
    for (id, account, key, ip) in
        [("p1", "a", "w1", "100.64.0.1"), ("p2", "b", "w2", "100.65.0.1"), ("p3", "a", "w3", "100.64.0.2")]
    {
        s.insert(peer(id, account, key, ip)).await.unwrap();
    }
    assert_eq!(s.insert(peer("p1", "b", "w9", "x")).await, Err(StoreError::Duplicate { field: Field::Id }));
    assert_eq!(s.insert(peer("p9", "b", "w1", "x")).await, Err(StoreError::Duplicate { field: Field::Key }));
    assert_eq!(s.get::<NbPeer>(Field::Key, "w2").await.unwrap(), peer("p2", "b", "w2", "100.65.0.1"));
    let in_a = Listing::new(None, &[], NbPeerColumn::Id, PageRequest::all())
        .filter(NbPeerColumn::AccountId, Some("a".to_string()))
        .filter(NbPeerColumn::Ip, Some("100.64.0.2".to_string()));
    let ids = s.list::<NbPeer>(&in_a).await.unwrap().items.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids, ["p3"]);
    let renamed = NbPeer { name: "builder".into(), dns_label: "builder".into(), ..peer("p1", "a", "w1", "100.64.0.1") };
    s.replace(renamed.clone()).await.unwrap();
    assert_eq!(s.get::<NbPeer>(Field::Id, "p1").await.unwrap(), renamed, "every field round-trips");
    s.delete::<NbPeer>("p3").await.unwrap();
    assert_eq!(s.get::<NbPeer>(Field::Key, "w3").await, Err(StoreError::NotFound));

    let settings = serde_json::json!({"peer_login_expiration": 3600, "extra": {"user_approval_required": true}});
    let account = NbAccount {
        id: "a".into(),
        created_at: Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap(),
        created_by: "owner".into(),
        domain: String::new(),
        domain_category: String::new(),
        settings: settings.as_object().unwrap().clone(),
        onboarding: Default::default(),
    };
    s.insert(account.clone()).await.unwrap();
    assert_eq!(s.insert(account.clone()).await, Err(StoreError::Duplicate { field: Field::Id }));
    assert_eq!(s.get::<NbAccount>(Field::Id, "a").await.unwrap(), account);
    let snapshot = s.export().await.unwrap();
    assert_eq!((snapshot.nb_peers.len(), snapshot.nb_accounts.len()), (2, 1));
    s.import(Snapshot::default()).await.unwrap();
    assert!(s.export().await.unwrap().nb_peers.is_empty());
    s.import(snapshot.clone()).await.unwrap();
    assert_eq!(s.export().await.unwrap(), snapshot, "peers and accounts survive export and import");
}

async fn providers_and_applications(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    place(&s, &[(5, "grafana"), (3, "wiki")]).await;
    assert_eq!(s.all::<AkProvider>().await.unwrap().iter().map(|p| p.pk).collect::<Vec<_>>(), [3, 5]);
    let mut changed = s.get::<AkProvider>(Field::Pk, 5).await.unwrap();
    changed.name = "grafana-2".into();
    changed.oauth2.sub_mode = "user_email".into();
    s.replace(changed.clone()).await.unwrap();
    assert_eq!(s.get::<AkProvider>(Field::Pk, 5).await.unwrap(), changed, "every OAuth2 setting round-trips");
    assert_eq!(s.replace(provider(9, "none")).await, Err(StoreError::NotFound));

    let app = AkApplication { provider: Some(5), ..AkApplication::new("grafana", "Grafana") };
    s.insert(app.clone()).await.unwrap();
    assert_eq!(s.get::<AkApplication>(Field::Slug, "grafana").await.unwrap(), app);
    assert_eq!(s.get::<AkApplication>(Field::Provider, 5).await.unwrap().slug, "grafana");
    assert_eq!(s.get::<AkApplication>(Field::Provider, 3).await, Err(StoreError::NotFound));
    let same_slug = AkApplication::new("grafana", "Other");
    assert_eq!(s.insert(same_slug).await, Err(StoreError::Duplicate { field: Field::Slug }));
    let same_provider = AkApplication { provider: Some(5), ..AkApplication::new("other", "Other") };
    assert_eq!(s.insert(same_provider).await, Err(StoreError::Duplicate { field: Field::Provider }));
    let unknown = AkApplication { provider: Some(77), ..AkApplication::new("ghost", "Ghost") };
    assert_eq!(s.insert(unknown).await, Err(StoreError::NotFound), "a missing parent");
    s.insert(AkApplication::new("alpha", "Alpha")).await.unwrap();
    let slugs: Vec<String> = s.all::<AkApplication>().await.unwrap().into_iter().map(|a| a.slug).collect();
    assert_eq!(slugs, ["alpha", "grafana"]);
    let unbound_to_unknown = AkApplication { provider: Some(77), ..AkApplication::new("alpha", "Alpha") };
    assert_eq!(s.replace(unbound_to_unknown).await, Err(StoreError::NotFound), "a replace checks parents too");

    // Deleting a provider takes its tokens and leaves its application unbound.
    s.insert_oauth_token(oauth(OAuthKind::Access, 1, 5, 1), false).await.unwrap();
    s.insert_oauth_token(oauth(OAuthKind::Refresh, 2, 3, 1), false).await.unwrap();
    s.delete::<AkProvider>(5).await.unwrap();
    assert_eq!(s.oauth_token(OAuthKind::Access, 1).await, Err(StoreError::NotFound));
    assert!(s.oauth_token(OAuthKind::Refresh, 2).await.is_ok(), "other providers' tokens stay");
    assert_eq!(s.get::<AkApplication>(Field::Slug, "grafana").await.unwrap().provider, None);
    assert_eq!(s.get::<AkApplication>(Field::Provider, 5).await, Err(StoreError::NotFound), "its index entry went");
    assert_eq!(s.delete::<AkProvider>(5).await, Err(StoreError::NotFound));
    let snapshot = s.export().await.unwrap();
    assert_eq!(snapshot.applications.len(), 2);
    s.import(snapshot.clone()).await.unwrap();
    assert_eq!(s.export().await.unwrap().applications, snapshot.applications);
    s.delete::<AkApplication>("grafana").await.unwrap();
    assert_eq!(s.delete::<AkApplication>("grafana").await, Err(StoreError::NotFound));
}

fn device_token(device_code: &str, user_code: &str, provider: i64) -> AkDeviceToken {
    AkDeviceToken {
        device_code: Secret::new(device_code),
        user_code: user_code.into(),
        provider,
        user: None,
        scope: vec!["openid".into(), "".into()],
        session: None,
        expires: now() + TimeDelta::minutes(1),
    }
}

async fn device_tokens(s: Arc<dyn Store>) {
    let s = seeded(s).await;
    place(&s, &[(5, "tv"), (3, "other")]).await;
    let token = device_token("dev-a", "012345678", 5);
    s.insert_with_pk(token.clone()).await.unwrap();
    assert_eq!(s.get::<AkDeviceToken>(Field::Code, "dev-a").await.unwrap(), token);
    assert_eq!(s.get::<AkDeviceToken>(Field::UserCode, "012345678").await.unwrap(), token);
    assert_eq!(
        s.get::<AkDeviceToken>(Field::UserCode, "12345678").await,
        Err(StoreError::NotFound),
        "text, not a number"
    );
    let same_user_code = device_token("dev-b", "012345678", 5);
    assert_eq!(s.insert_with_pk(same_user_code).await, Err(StoreError::Duplicate { field: Field::UserCode }));
    assert_eq!(
        s.insert_with_pk(device_token("dev-a", "1", 5)).await,
        Err(StoreError::Duplicate { field: Field::Code })
    );
    assert_eq!(s.insert_with_pk(device_token("dev-c", "2", 77)).await, Err(StoreError::NotFound), "a missing provider");

    // Approval: the user and the session are set, and the row round-trips through export and import.
    let approved = AkDeviceToken { user: Some(1), session: Some("ab".repeat(32)), ..token.clone() };
    s.replace(approved.clone()).await.unwrap();
    assert_eq!(s.get::<AkDeviceToken>(Field::Code, "dev-a").await.unwrap(), approved);
    s.insert_with_pk(device_token("dev-d", "3", 3)).await.unwrap();
    let snapshot = s.export().await.unwrap();
    let codes: Vec<&str> = snapshot.ak_device_tokens.iter().map(|t| t.device_code.expose()).collect();
    assert_eq!(codes, ["dev-a", "dev-d"]);
    s.import(Snapshot::default()).await.unwrap();
    assert!(s.all::<AkDeviceToken>().await.unwrap().is_empty());
    s.import(snapshot.clone()).await.unwrap();
    assert_eq!(s.export().await.unwrap().ak_device_tokens, snapshot.ak_device_tokens);

    // They go with their provider, and with the user who approved them.
    s.delete::<AkProvider>(3).await.unwrap();
    assert_eq!(s.get::<AkDeviceToken>(Field::Code, "dev-d").await, Err(StoreError::NotFound));
    s.delete::<AkUser>(1).await.unwrap();
    assert_eq!(s.get::<AkDeviceToken>(Field::Code, "dev-a").await, Err(StoreError::NotFound));
    assert_eq!(s.delete::<AkDeviceToken>("dev-a").await, Err(StoreError::NotFound));
}

/// A logged-in session of `user` (the authenticated sessions API's rows) expiring at `expires`.
fn ak_session(key_hash: &str, user: Option<i64>, expires: DateTime<Utc>) -> AkSession {
    AkSession {
        key_hash: key_hash.to_owned(),
        user,
        auth_time: user.map(|_| now()),
        amr: vec!["pwd".to_owned()],
        login_id: user.map(|_| Uuid::new_v4()),
        expires,
        last_ip: "127.0.0.1".to_owned(),
        last_user_agent: "Mozilla/5.0 HeadlessChrome/131.0".to_owned(),
        last_used: user.map(|_| now()),
        flow: tokenstack_store::model::Document::default(),
    }
}

async fn sessions_by_user_their_fields_and_the_sweep(s: Arc<dyn Store>) {
    s.insert_with_pk(ak_user(2, "alice", true)).await.unwrap();
    s.insert_with_pk(ak_user(3, "bob", false)).await.unwrap();
    let live = now() + TimeDelta::hours(1);
    let rows = [
        ak_session("a1", Some(2), live),
        ak_session("a2", Some(2), now() - TimeDelta::seconds(1)),
        ak_session("b1", Some(3), live),
        ak_session("anon", None, live),
    ];
    for row in rows.clone() {
        s.insert_with_pk(row).await.unwrap();
    }
    let by_user =
        |pk: i64| Listing::new(None, &[], SessionColumn::Key, PageRequest::all()).filter(SessionColumn::User, Some(pk));
    let alices = s.list::<AkSession>(&by_user(2)).await.unwrap().items;
    assert_eq!(alices, rows[..2].to_vec(), "every field kept, the user's rows only");
    assert_eq!(s.get::<AkSession>(Field::HashedToken, "b1").await.unwrap(), rows[2]);
    assert_eq!(expiry::sweep_sessions(&*s, now()).await.unwrap(), 1);
    let left: Vec<String> = s.all::<AkSession>().await.unwrap().into_iter().map(|r| r.key_hash).collect();
    assert_eq!(left, ["a1", "anon", "b1"]);
    s.delete::<AkSession>("b1".to_owned()).await.unwrap();
    assert!(s.list::<AkSession>(&by_user(3)).await.unwrap().items.is_empty(), "an ended session is gone");
}

/// One `#[test]` per case and backend (`store_conformance::sqlite::set_key_races`), so a failure names both;
/// each runs on a fresh store: a new memory store, a new SQLite file, a new database in the PostgreSQL cluster
/// that every PostgreSQL case of this test process shares.
macro_rules! conformance_cases {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(super::memory_store()).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$case(super::sqlite_store(dir.path(), "store").await).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(super::postgres_store().await).await;
                }
            )*
        }
    };
}

conformance_cases![
    ak_users_and_providers,
    providers_and_applications,
    allocated_keys,
    listings_of_declared_resources,
    setup_keys_and_group_resources,
    peers_and_accounts,
    core_token_insert_get_and_duplicates,
    replace_keeps_pk_and_reindexes,
    delete_and_set_key,
    list_filters_search_ordering_owner,
    expire_rotates_api_and_deletes_others,
    oauth_tokens,
    netbird_users_and_pats,
    paging_totals_and_empty_pages,
    search_is_unicode_case_insensitive_and_literal,
    timestamps_round_trip_and_expiry_boundary,
    expiry_sweeps_in_batches_and_writes_only_still_expired_tokens,
    users_list_replace_and_delete_with_their_tokens,
    netbird_users_replace_and_delete_with_their_pats,
    fifty_parallel_creates,
    set_key_races,
    concurrent_mark_pat_used,
    bootstrap_is_idempotent,
    bootstrap_generates_credentials_only_for_a_new_store,
    seed_only_into_an_empty_store,
    reads_before_and_after_every_write,
    oauth_tokens_by_value_revoked_and_allocated_pks,
    authorization_codes_are_taken_once,
    concurrent_takes_of_one_code,
    key_pairs,
    scope_mappings,
    groups,
    device_tokens,
    sessions_by_user_their_fields_and_the_sweep,
];

fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

async fn sqlite_store(dir: &std::path::Path, name: &str) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.join(format!("{name}.db"))).await.unwrap())
}

/// A new database in the cluster this process shares (started on first use, stopped by its watchdog when the
/// process ends).
async fn postgres_store() -> Arc<dyn Store> {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let cluster = CLUSTER.get_or_init(|| PgCluster::start().unwrap());
    let url = cluster.create_database(&format!("case_{}", NEXT.fetch_add(1, Ordering::SeqCst))).unwrap();
    Arc::new(PostgresStore::connect(&url).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_export_import_round_trip_and_atomicity() {
    export_import_round_trip_and_atomicity(memory_store(), memory_store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_export_import_round_trip_and_atomicity() {
    let dir = tempfile::tempdir().unwrap();
    export_import_round_trip_and_atomicity(sqlite_store(dir.path(), "a").await, sqlite_store(dir.path(), "b").await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_export_import_round_trip_and_atomicity() {
    export_import_round_trip_and_atomicity(postgres_store().await, postgres_store().await).await;
}

/// The SQLite database holds plaintext authentik keys: it and its `-wal` and `-shm` files are 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_are_private_to_the_service_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(dir.path(), "private").await;
    store.insert_with_pk(ak_user(1, "alice", false)).await.unwrap();
    for name in ["private.db", "private.db-wal", "private.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_selects_the_backend_and_durable_stores_reopen() {
    assert!(store::open("memory").await.is_ok());
    assert!(matches!(store::open("mysql://x").await, Err(StoreError::Backend { .. })));
    // A password in the URL never reaches the message.
    let message = store::open("mysql://app:s3cret@db:3306/x").await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("mysql://app:***@db:3306/x") && !message.contains("s3cret"), "{message}");
    assert_eq!(
        store::redact_password("postgres://u:p%40ss@h/db?sslmode=disable"),
        "postgres://u:***@h/db?sslmode=disable"
    );
    assert_eq!(store::redact_password("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(store::redact_password("sqlite:/var/lib/t.db"), "sqlite:/var/lib/t.db");
    assert!(matches!(store::open("sqlite:").await, Err(StoreError::Backend { .. })));

    // SQLite: created when missing, migrated once, data kept across a reopen.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub-dir-less.db");
    let url = format!("sqlite:{}", path.display());
    {
        let s = store::open(&url).await.unwrap();
        seeded(s.clone()).await;
        s.insert_core_token(core_token("kept", "k1", 1)).await.unwrap();
    }
    let s = store::open(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(s.core_token_by_key("k1").await.unwrap().identifier, "kept");

    // PostgreSQL: the same through a URL; a second connect finds the schema in place.
    let pg = PgCluster::start().unwrap();
    let url = pg.create_database("reopen").unwrap();
    {
        let s = store::open(&url).await.unwrap();
        seeded(s.clone()).await;
        s.insert_core_token(core_token("kept", "k1", 1)).await.unwrap();
    }
    let s = store::open(&url.replace("postgres://", "postgresql://")).await.unwrap();
    assert_eq!(s.core_token_by_key("k1").await.unwrap().identifier, "kept");
    assert!(matches!(store::open(&pg.url("missing_db")).await, Err(StoreError::Backend { .. })));
}
