//! Unit tests of the authentik rules against the memory store.

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::model::OAuthKind::{Access, Refresh};
use crate::store::MemoryStore;
use crate::test_rows::{ak_user, core_token, oauth, provider};

const ALICE: i64 = 1;
const BOB: i64 = 2;
const ROOT: i64 = 3;

struct Env {
    store: Box<dyn Store>,
    now: DateTime<Utc>,
    alice: AkUser,
    bob: AkUser,
    root: AkUser,
}

impl Env {
    fn ak(&self) -> Authentik<'_> {
        Authentik::new(&*self.store, self.now)
    }
}

async fn env() -> Env {
    let store: Box<dyn Store> = Box::new(MemoryStore::new());
    let (alice, bob, root) = (ak_user(ALICE, "alice", false), ak_user(BOB, "bob", false), ak_user(ROOT, "root", true));
    for u in [&alice, &bob, &root] {
        store.insert_with_pk(u.clone()).await.unwrap();
    }
    let now = Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap();
    Env { store, now, alice, bob, root }
}

/// A request body with `token`'s fields, as a client would send it.
fn json_body(token: NewToken) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    let mut put = |k: &str, v: Option<serde_json::Value>| {
        if let Some(v) = v {
            body.insert(k.to_string(), v);
        }
    };
    put("identifier", token.identifier.map(Into::into));
    put("intent", token.intent.map(|i| i.as_str().into()));
    put("user", token.user.map(Into::into));
    put("description", token.description.map(Into::into));
    put("expires", token.expires.map(|e| e.to_rfc3339().into()));
    put("expiring", token.expiring.map(Into::into));
    put("managed", token.managed.map(Into::into));
    serde_json::Value::Object(body)
}

/// A `set_key` body; `None` leaves `key` out.
fn key_body(key: Option<String>) -> serde_json::Value {
    key.map_or_else(|| serde_json::json!({}), |key| serde_json::json!({ "key": key }))
}

fn new_token(identifier: &str) -> NewToken {
    NewToken { identifier: Some(identifier.into()), ..NewToken::default() }
}

fn invalid(field: &str, msgs: &[&str]) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(field.to_owned(), msgs.iter().map(|m| m.to_string()).collect())])
}

fn forbidden_msg(r: Result<impl std::fmt::Debug, AkError>) -> String {
    match r {
        Err(AkError::Forbidden(m)) => m,
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

fn not_found_msg(r: Result<impl std::fmt::Debug, AkError>) -> String {
    match r {
        Err(AkError::NotFound(m)) => m,
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn invalid_map(r: Result<impl std::fmt::Debug, AkError>) -> BTreeMap<String, Vec<String>> {
    match r {
        Err(AkError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn identifiers(page: &Page<CoreToken>) -> Vec<&str> {
    page.results.iter().map(|t| t.identifier.as_str()).collect()
}

#[tokio::test]
async fn authenticate_header_cases() {
    let e = env().await;
    e.store.insert_core_token(core_token("a", "goodkey", ALICE)).await.unwrap();
    let ak = e.ak();
    let cases: &[(Option<&str>, &str)] = &[
        (None, MSG_NOT_PROVIDED),
        (Some(""), MSG_NOT_PROVIDED),
        (Some("Bearer"), MSG_NOT_PROVIDED),
        (Some("Bearer    "), MSG_NOT_PROVIDED),
        (Some("Basic dXNlcjpwYXNz"), MSG_UNSUPPORTED),
        (Some("Token goodkey"), MSG_UNSUPPORTED),
        (Some("Bearer wrongkey"), MSG_TOKEN_INVALID),
        (Some("Bearer  goodkey"), MSG_TOKEN_INVALID),
    ];
    for (header, msg) in cases {
        assert_eq!(forbidden_msg(ak.authenticate(*header).await), *msg, "header {header:?}");
    }
    for header in ["Bearer goodkey", "bearer goodkey", "BEARER goodkey", "  Bearer goodkey  "] {
        assert_eq!(ak.authenticate(Some(header)).await.unwrap().pk, ALICE, "header {header:?}");
    }
}

#[tokio::test]
async fn only_live_api_tokens_of_active_users_authenticate() {
    let e = env().await;
    let mut expired = core_token("expired", "k-expired", ALICE);
    expired.expires = Some(e.now - TimeDelta::seconds(1));
    let mut not_expiring = core_token("forever", "k-forever", ALICE);
    not_expiring.expires = Some(e.now - TimeDelta::days(9));
    not_expiring.expiring = false;
    let mut app = core_token("app", "k-app", ALICE);
    app.intent = Intent::AppPassword;
    let mut inactive = ak_user(4, "gone", false);
    inactive.is_active = false;
    e.store.insert_with_pk(inactive).await.unwrap();
    for t in [expired, not_expiring, app, core_token("inactive", "k-inactive", 4)] {
        e.store.insert_core_token(t).await.unwrap();
    }
    let ak = e.ak();
    for key in ["k-expired", "k-app", "k-inactive"] {
        let header = format!("Bearer {key}");
        assert_eq!(forbidden_msg(ak.authenticate(Some(&header)).await), MSG_TOKEN_INVALID, "{key}");
    }
    assert_eq!(ak.authenticate(Some("Bearer k-forever")).await.unwrap().pk, ALICE);

    // The expired token is still listed and retrievable.
    let page = ak.list_tokens(&e.alice, TokenListParams::default()).await.unwrap();
    assert_eq!(identifiers(&page), vec!["app", "expired", "forever"]);
    assert!(ak.get_token(&e.alice, "expired").await.unwrap().is_expired(e.now));
}

#[tokio::test]
async fn set_key_invalidates_old_key_for_auth() {
    let e = env().await;
    e.store.insert_core_token(core_token("a", "old-key", ALICE)).await.unwrap();
    let ak = e.ak();
    ak.set_key(&e.alice, "a", &key_body(Some("  new-key ".into()))).await.unwrap();
    assert_eq!(forbidden_msg(ak.authenticate(Some("Bearer old-key")).await), MSG_TOKEN_INVALID);
    assert_eq!(ak.authenticate(Some("Bearer new-key")).await.unwrap().pk, ALICE);

    assert_eq!(invalid_map(ak.set_key(&e.alice, "a", &key_body(None)).await), invalid("key", &[MSG_REQUIRED]));
    assert_eq!(
        invalid_map(ak.set_key(&e.alice, "a", &key_body(Some("  ".into()))).await),
        invalid("key", &[MSG_BLANK])
    );
    e.store.insert_core_token(core_token("b", "other-key", ALICE)).await.unwrap();
    assert_eq!(
        invalid_map(ak.set_key(&e.alice, "a", &key_body(Some("other-key".into()))).await),
        invalid("key", &[MSG_KEY_TAKEN])
    );
    ak.set_key(&e.alice, "a", &key_body(Some("new-key".into()))).await.unwrap();
}

#[tokio::test]
async fn two_user_visibility() {
    let e = env().await;
    e.store.insert_core_token(core_token("alice-t", "k1", ALICE)).await.unwrap();
    e.store.insert_core_token(core_token("bob-t", "k2", BOB)).await.unwrap();
    let ak = e.ak();

    assert_eq!(identifiers(&ak.list_tokens(&e.alice, TokenListParams::default()).await.unwrap()), vec!["alice-t"]);
    assert_eq!(identifiers(&ak.list_tokens(&e.bob, TokenListParams::default()).await.unwrap()), vec!["bob-t"]);
    assert_eq!(
        identifiers(&ak.list_tokens(&e.root, TokenListParams::default()).await.unwrap()),
        vec!["alice-t", "bob-t"]
    );
    let nf = MSG_TOKEN_NOT_FOUND;
    assert_eq!(not_found_msg(ak.get_token(&e.alice, "bob-t").await), nf);
    assert_eq!(not_found_msg(ak.get_token(&e.alice, "missing").await), nf);
    assert_eq!(not_found_msg(ak.view_key(&e.alice, "bob-t").await), nf);
    assert_eq!(not_found_msg(ak.set_key(&e.alice, "bob-t", &key_body(Some("x".into()))).await), nf);
    assert_eq!(not_found_msg(ak.used_by(&e.alice, "bob-t").await), nf);
    assert_eq!(not_found_msg(ak.update_token(&e.alice, "bob-t", &json_body(new_token("bob-t")), false).await), nf);
    assert_eq!(not_found_msg(ak.delete_token(&e.alice, "bob-t").await), nf);
    assert!(ak.get_token(&e.root, "bob-t").await.is_ok());
    assert!(ak.used_by(&e.alice, "alice-t").await.unwrap().is_empty());
    ak.delete_token(&e.root, "bob-t").await.unwrap();
    assert_eq!(not_found_msg(ak.get_token(&e.root, "bob-t").await), nf);
}

#[tokio::test]
async fn superuser_through_group() {
    let e = env().await;
    e.store.insert_core_token(core_token("alice-t", "k1", ALICE)).await.unwrap();
    let mut admin = ak_user(5, "groupadmin", false);
    admin.groups.push(crate::model::AkGroup {
        is_superuser: true,
        ..crate::model::AkGroup::new(Uuid::new_v4(), "authentik Admins")
    });
    assert!(e.ak().get_token(&admin, "alice-t").await.is_ok());
}

#[tokio::test]
async fn list_filters_ordering_and_pages() {
    let e = env().await;
    for (id, desc) in [("b", "two"), ("a", "one"), ("c", "three")] {
        let mut t = core_token(id, &format!("key-{id}"), ALICE);
        t.description = desc.into();
        e.store.insert_core_token(t).await.unwrap();
    }
    let ak = e.ak();
    let list = |params: TokenListParams| {
        let e = &e;
        async move { e.ak().list_tokens(&e.alice, params).await }
    };
    let ordered = |o: &str| TokenListParams { ordering: Some(o.into()), ..TokenListParams::default() };
    assert_eq!(identifiers(&list(TokenListParams::default()).await.unwrap()), vec!["a", "b", "c"]);
    assert_eq!(identifiers(&list(ordered("-identifier")).await.unwrap()), vec!["c", "b", "a"]);
    assert_eq!(identifiers(&list(ordered("-description")).await.unwrap()), vec!["b", "c", "a"]);
    assert_eq!(identifiers(&list(ordered("nonsense")).await.unwrap()), vec!["a", "b", "c"]);
    assert_eq!(identifiers(&list(ordered("nonsense,-identifier")).await.unwrap()), vec!["c", "b", "a"]);

    let search = TokenListParams { search: Some("THR".into()), ..TokenListParams::default() };
    assert_eq!(identifiers(&list(search).await.unwrap()), vec!["c"]);
    let by_user = TokenListParams { user_username: Some("bob".into()), ..TokenListParams::default() };
    assert!(list(by_user).await.unwrap().results.is_empty());
    let expiring = |v: &str| TokenListParams { expiring: Some(v.into()), ..TokenListParams::default() };
    assert_eq!(list(expiring("false")).await.unwrap().count, 0);
    assert_eq!(list(expiring("maybe")).await.unwrap().count, 3, "unknown boolean means no filter");
    let empty_filter = TokenListParams { identifier: Some(String::new()), ..TokenListParams::default() };
    assert_eq!(list(empty_filter).await.unwrap().count, 3);

    let bad = TokenListParams {
        intent: Some("nope".into()),
        expires: Some("yesterday".into()),
        ..TokenListParams::default()
    };
    let errors = invalid_map(list(bad).await);
    assert_eq!(errors["intent"], vec!["Select a valid choice. nope is not one of the available choices."]);
    assert_eq!(errors["expires"], vec![MSG_BAD_DATETIME]);
    let intent = TokenListParams { intent: Some("api".into()), ..TokenListParams::default() };
    assert_eq!(list(intent).await.unwrap().count, 3);

    let paged = |page: Option<i64>, size: Option<i64>| TokenListParams {
        page: page.map(|p| p.to_string()),
        page_size: size.map(|s| s.to_string()),
        ..TokenListParams::default()
    };
    let p = list(paged(Some(2), Some(2))).await.unwrap();
    assert_eq!((identifiers(&p), p.count, p.current, p.total_pages, p.next, p.previous), (vec!["c"], 3, 2, 2, 0, 1));
    assert_eq!((p.start_index, p.end_index), (3, 3));
    assert_eq!(not_found_msg(list(paged(Some(3), Some(2))).await), MSG_INVALID_PAGE);
    assert_eq!(not_found_msg(list(paged(Some(0), None)).await), MSG_INVALID_PAGE);

    let empty = ak.list_tokens(&e.bob, TokenListParams::default()).await.unwrap();
    assert_eq!(
        (empty.count, empty.current, empty.total_pages, empty.start_index, empty.end_index, empty.next, empty.previous),
        (0, 1, 1, 0, 0, 0, 0)
    );
}

#[tokio::test]
async fn list_filter_by_expires_datetime() {
    let e = env().await;
    let mut t = core_token("dated", "k", ALICE);
    t.expires = Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
    e.store.insert_core_token(t).await.unwrap();
    e.store.insert_core_token(core_token("undated", "k2", ALICE)).await.unwrap();
    for v in ["2026-01-02T03:04:05Z", "2026-01-02 03:04:05", "2026-01-02T04:04:05+01:00", "2026-01-02T03:04:05.000000"]
    {
        let params = TokenListParams { expires: Some(v.into()), ..TokenListParams::default() };
        assert_eq!(identifiers(&e.ak().list_tokens(&e.alice, params).await.unwrap()), vec!["dated"], "{v}");
    }
}

#[tokio::test]
async fn create_validates_identifier() {
    let e = env().await;
    e.store.insert_core_token(core_token("taken", "k", BOB)).await.unwrap();
    let ak = e.ak();
    let create = |body: NewToken| {
        let e = &e;
        async move { e.ak().create_token(&e.alice, &json_body(body)).await }
    };
    assert_eq!(invalid_map(create(NewToken::default()).await), invalid("identifier", &[MSG_REQUIRED]));
    assert_eq!(invalid_map(create(new_token("  ")).await), invalid("identifier", &[MSG_BLANK]));
    assert_eq!(invalid_map(create(new_token("bad id!")).await), invalid("identifier", &[MSG_SLUG]));
    assert_eq!(invalid_map(create(new_token("taken")).await), invalid("identifier", &[MSG_IDENTIFIER_TAKEN]));
    assert_eq!(invalid_map(create(new_token(&"x".repeat(256))).await), invalid("identifier", &[MSG_IDENTIFIER_LENGTH]));
    assert_eq!(
        invalid_map(create(new_token(&"é".repeat(256))).await),
        invalid("identifier", &[MSG_IDENTIFIER_LENGTH, MSG_SLUG])
    );
    let created = create(new_token(&"x".repeat(255))).await.unwrap();
    assert_eq!(created.identifier.len(), 255);
    let trimmed = create(new_token("  spaced-ok_1 ")).await.unwrap();
    assert_eq!(trimmed.identifier, "spaced-ok_1");
    let blank_managed = NewToken { managed: Some(String::new()), ..new_token("m") };
    assert_eq!(invalid_map(create(blank_managed).await), invalid("managed", &[MSG_BLANK]));
    // field errors are collected across fields
    let both = NewToken { user: Some(99), ..new_token("bad id") };
    let errors = invalid_map(ak.create_token(&e.alice, &json_body(both)).await);
    assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["identifier", "user"]);
    assert_eq!(errors["user"], vec!["Invalid pk \"99\" - object does not exist."]);
}

#[tokio::test]
async fn create_intent_and_expiry_rules() {
    let e = env().await;
    let ak = e.ak();
    let day = e.now + TimeDelta::days(1);

    let api = NewToken { expires: Some(e.now + TimeDelta::days(300)), ..new_token("api") };
    let api = ak.create_token(&e.alice, &json_body(api)).await.unwrap();
    assert_eq!((api.intent, api.expires), (Intent::Api, Some(day)), "client expiry ignored for api");
    assert_eq!(api.key.expose().len(), 60);

    for bad in [Intent::Verification, Intent::Recovery] {
        let body = NewToken { intent: Some(bad), ..new_token("bad") };
        assert_eq!(
            invalid_map(ak.create_token(&e.alice, &json_body(body)).await),
            invalid("intent", &[&format!("Invalid intent {bad}")])
        );
    }
    let app = |id: &str, expires: Option<DateTime<Utc>>| NewToken {
        intent: Some(Intent::AppPassword),
        expires,
        ..new_token(id)
    };
    let too_long = ak.create_token(&e.alice, &json_body(app("long", Some(day + TimeDelta::seconds(1))))).await;
    assert_eq!(
        invalid_map(too_long),
        invalid("expires", &["Token expires exceeds maximum lifetime (2026-08-23 12:00:00+00:00 UTC)."])
    );
    let odd_now = Authentik::new(&*e.store, e.now + TimeDelta::microseconds(1500));
    let too_long = odd_now.create_token(&e.alice, &json_body(app("long", Some(day + TimeDelta::days(1))))).await;
    assert_eq!(
        invalid_map(too_long)["expires"],
        vec!["Token expires exceeds maximum lifetime (2026-08-23 12:00:00.001500+00:00 UTC)."]
    );
    let short = e.now + TimeDelta::hours(2);
    assert_eq!(ak.create_token(&e.alice, &json_body(app("short", Some(short)))).await.unwrap().expires, Some(short));
    assert_eq!(ak.create_token(&e.alice, &json_body(app("max", Some(day)))).await.unwrap().expires, Some(day));
    assert_eq!(ak.create_token(&e.alice, &json_body(app("default", None))).await.unwrap().expires, Some(day));
}

#[tokio::test]
async fn create_owner_rules() {
    let e = env().await;
    let ak = e.ak();
    let body = NewToken { user: Some(BOB), expiring: Some(false), ..new_token("mine") };
    let t = ak.create_token(&e.alice, &json_body(body)).await.unwrap();
    assert_eq!((t.user, t.expiring, t.key_viewers.clone()), (ALICE, true, vec![ALICE]));
    assert_eq!(ak.view_key(&e.alice, "mine").await.unwrap(), t.key);

    let mut lenient = ak_user(6, "lenient", false);
    lenient.attributes.insert(AK_ATTR_TOKEN_EXPIRES.into(), json!(false));
    e.store.insert_with_pk(lenient.clone()).await.unwrap();
    assert!(!ak.create_token(&lenient, &json_body(new_token("never"))).await.unwrap().expiring);

    let body = NewToken { user: Some(BOB), expiring: Some(false), ..new_token("for-bob") };
    let t = ak.create_token(&e.root, &json_body(body)).await.unwrap();
    assert_eq!((t.user, t.expiring, t.key_viewers.len()), (BOB, false, 0));
    // Created for bob by an admin: bob sees it but may not view its key.
    assert!(ak.get_token(&e.bob, "for-bob").await.is_ok());
    assert_eq!(forbidden_msg(ak.view_key(&e.bob, "for-bob").await), MSG_NO_PERMISSION);
    assert_eq!(ak.view_key(&e.root, "for-bob").await.unwrap(), t.key);
    // bob may still set it (owner)
    ak.set_key(&e.bob, "for-bob", &key_body(Some("bobs-own-key".into()))).await.unwrap();

    let missing_user = NewToken { user: Some(42), ..new_token("ghost") };
    assert_eq!(
        invalid_map(ak.create_token(&e.root, &json_body(missing_user)).await),
        invalid("user", &["Invalid pk \"42\" - object does not exist."])
    );
    assert_eq!(ak.create_token(&e.root, &json_body(new_token("self"))).await.unwrap().user, ROOT);
}

#[tokio::test]
async fn update_rules() {
    let e = env().await;
    let ak = e.ak();
    let body = NewToken {
        intent: Some(Intent::AppPassword),
        description: Some("first".into()),
        expires: Some(e.now + TimeDelta::hours(1)),
        managed: Some("m".into()),
        ..new_token("t")
    };
    let original = ak.create_token(&e.alice, &json_body(body)).await.unwrap();
    e.store.insert_core_token(core_token("other", "k-other", ALICE)).await.unwrap();

    assert_eq!(
        invalid_map(
            ak.update_token(&e.alice, "t", &json_body(NewToken { user: Some(BOB), ..new_token("t") }), false).await
        ),
        invalid("user", &[MSG_USER_CHANGED])
    );
    assert!(
        ak.update_token(&e.alice, "t", &json_body(NewToken { user: Some(ALICE), ..new_token("t") }), false)
            .await
            .is_ok()
    );
    assert_eq!(
        invalid_map(ak.update_token(&e.alice, "t", &json_body(NewToken::default()), false).await),
        invalid("identifier", &[MSG_REQUIRED])
    );
    assert_eq!(
        invalid_map(ak.update_token(&e.alice, "t", &json_body(new_token("other")), true).await),
        invalid("identifier", &[MSG_IDENTIFIER_TAKEN])
    );

    // partial: absent fields keep their values, including intent and expires
    let patched = NewToken { description: Some("second".into()), expiring: Some(false), ..NewToken::default() };
    let t = ak.update_token(&e.alice, "t", &json_body(patched), true).await.unwrap();
    assert_eq!(t.pk, original.pk);
    assert_eq!(t.key, original.key);
    assert_eq!((t.description.as_str(), t.intent, t.expires), ("second", Intent::AppPassword, original.expires));
    assert!(t.expiring, "non-superusers cannot clear expiring");
    assert_eq!(t.managed.as_deref(), Some("m"));

    let too_long = NewToken { expires: Some(e.now + TimeDelta::days(2)), ..NewToken::default() };
    assert!(invalid_map(ak.update_token(&e.alice, "t", &json_body(too_long), true).await).contains_key("expires"));

    // rename, then switch to api: expires is renewed
    let renamed = ak.update_token(&e.alice, "t", &json_body(new_token("t2")), true).await.unwrap();
    assert_eq!(renamed.identifier, "t2");
    assert_eq!(not_found_msg(ak.get_token(&e.alice, "t").await), MSG_TOKEN_NOT_FOUND);
    let api = NewToken { intent: Some(Intent::Api), ..NewToken::default() };
    let t = ak.update_token(&e.alice, "t2", &json_body(api), true).await.unwrap();
    assert_eq!(t.expires, Some(e.now + TimeDelta::days(1)));
    let bad = NewToken { intent: Some(Intent::Recovery), ..NewToken::default() };
    assert_eq!(
        invalid_map(ak.update_token(&e.alice, "t2", &json_body(bad), true).await),
        invalid("intent", &["Invalid intent recovery"])
    );
    let by_root = NewToken { expiring: Some(false), ..NewToken::default() };
    assert!(!ak.update_token(&e.root, "t2", &json_body(by_root), true).await.unwrap().expiring);
}

async fn oauth_env() -> Env {
    let e = env().await;
    // Fixed pks: a snapshot keeps them (an insert allocates the next one).
    let mut snapshot = e.store.export().await.unwrap();
    snapshot.providers = vec![provider(10, "Wiki"), provider(11, "Grafana")];
    e.store.import(snapshot).await.unwrap();
    let mut expired = oauth(Access, 1, 11, ALICE);
    expired.expires = Some(e.now - TimeDelta::minutes(1));
    for t in [expired, oauth(Access, 2, 10, ALICE), oauth(Access, 3, 10, BOB), oauth(Refresh, 1, 10, BOB)] {
        e.store.insert_oauth_token(t, false).await.unwrap();
    }
    e
}

#[tokio::test]
async fn oauth_list_and_visibility() {
    let e = oauth_env().await;
    let ak = e.ak();
    let pks = |p: Page<OAuthToken>| p.results.iter().map(|t| t.pk).collect::<Vec<_>>();
    let default = OAuthListParams::default();
    assert_eq!(pks(ak.list_oauth(&e.alice, Access, default.clone()).await.unwrap()), vec![2, 1]);
    assert_eq!(pks(ak.list_oauth(&e.root, Access, default.clone()).await.unwrap()), vec![2, 3, 1]);
    assert_eq!(pks(ak.list_oauth(&e.alice, Refresh, default.clone()).await.unwrap()), Vec::<i64>::new());
    let ordered = OAuthListParams { ordering: Some("-pk".into()), ..default.clone() };
    assert_eq!(pks(ak.list_oauth(&e.root, Access, ordered).await.unwrap()), vec![3, 2, 1]);
    let search = OAuthListParams { search: Some("grafana".into()), ..default.clone() };
    assert_eq!(pks(ak.list_oauth(&e.root, Access, search).await.unwrap()), vec![1]);
    let user = OAuthListParams { user: Some(BOB.to_string()), ..default.clone() };
    assert_eq!(pks(ak.list_oauth(&e.root, Access, user.clone()).await.unwrap()), vec![3]);
    assert_eq!(pks(ak.list_oauth(&e.alice, Access, user).await.unwrap()), Vec::<i64>::new());
    let provider = OAuthListParams { provider: Some("11".into()), ..default.clone() };
    assert_eq!(pks(ak.list_oauth(&e.root, Access, provider).await.unwrap()), vec![1]);
    let bad = OAuthListParams { user: Some("99".into()), provider: Some("x".into()), ..default.clone() };
    let errors = invalid_map(ak.list_oauth(&e.root, Access, bad).await);
    assert_eq!(errors["user"], vec![MSG_BAD_FK_CHOICE]);
    assert_eq!(errors["provider"], vec![MSG_BAD_FK_CHOICE]);
    let page = OAuthListParams { page: Some("2".into()), ..default };
    assert_eq!(not_found_msg(ak.list_oauth(&e.root, Access, page).await), MSG_INVALID_PAGE);

    let expired = ak.get_oauth(&e.alice, Access, 1).await.unwrap();
    assert!(expired.is_expired(e.now));
    assert_eq!(not_found_msg(ak.get_oauth(&e.alice, Access, 3).await), "No AccessToken matches the given query.");
    assert_eq!(not_found_msg(ak.get_oauth(&e.alice, Refresh, 1).await), "No RefreshToken matches the given query.");
    assert_eq!(not_found_msg(ak.delete_oauth(&e.alice, Access, 3).await), "No AccessToken matches the given query.");
    assert!(ak.oauth_used_by(&e.bob, Refresh, 1).await.unwrap().is_empty());
    ak.delete_oauth(&e.alice, Access, 1).await.unwrap();
    assert_eq!(not_found_msg(ak.get_oauth(&e.root, Access, 1).await), "No AccessToken matches the given query.");
    ak.delete_oauth(&e.root, Refresh, 1).await.unwrap();
}

#[tokio::test]
async fn quotas_bound_tokens_per_user_and_description_length() {
    let e = env().await;
    let limits = Limits { tokens_per_user: 2, pats_per_user: 1, text_chars: 8 };
    let ak = e.ak().with_limits(limits);
    for id in ["q1", "q2"] {
        ak.create_token(&e.alice, &json!({ "identifier": id })).await.unwrap();
    }
    let over = ak.create_token(&e.alice, &json!({ "identifier": "q3" })).await;
    assert_eq!(invalid_map(over), invalid("non_field_errors", &["A user may own at most 2 tokens."]));
    // Another user has a quota of their own.
    ak.create_token(&e.bob, &json!({ "identifier": "b1" })).await.unwrap();
    let long = ak.create_token(&e.bob, &json!({ "identifier": "b2", "description": "123456789" })).await;
    assert_eq!(invalid_map(long), invalid("description", &["Ensure this field has no more than 8 characters."]));
}
