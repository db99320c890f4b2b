//! Unit tests of the NetBird rules against the memory store.

use chrono::{TimeDelta, TimeZone};

use super::groups::all_group;
use super::*;
use crate::model::{NbGroup, NbSetupKey, NbUser};
use crate::store::{Field, MemoryStore, Store};
use crate::test_rows::nb_user;

struct Env {
    store: Box<dyn Store>,
    now: DateTime<Utc>,
}

impl Env {
    fn nb(&self) -> NetBird<'_> {
        NetBird::new(&*self.store, self.now)
    }

    async fn user(&self, id: &str) -> NbUser {
        self.store.get::<NbUser>(Field::Id, id).await.unwrap()
    }

    async fn add(&self, user: NbUser) -> NbUser {
        self.store.insert(user.clone()).await.unwrap();
        user
    }
}

async fn env() -> Env {
    let e = Env { store: Box::new(MemoryStore::new()), now: Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap() };
    for (id, role) in [
        ("owner", NbRole::Owner),
        ("admin", NbRole::Admin),
        ("netadmin", NbRole::NetworkAdmin),
        ("auditor", NbRole::Auditor),
        ("user", NbRole::User),
    ] {
        e.add(nb_user(id, "acc1", role)).await;
    }
    e.add(NbUser { is_service_user: true, ..nb_user("svc", "acc1", NbRole::User) }).await;
    e.add(nb_user("stranger", "acc2", NbRole::Owner)).await;
    e
}

fn msg<T: std::fmt::Debug>(r: Result<T, NbError>) -> (NbErrorKind, String) {
    let e = r.expect_err("expected an error");
    (e.kind(), e.public_message())
}

/// A `PersonalAccessTokenRequest` body.
fn pat_body(name: &str, expires_in: i64) -> serde_json::Value {
    serde_json::json!({ "name": name, "expires_in": expires_in })
}

#[tokio::test]
async fn role_matrix_on_own_pats() {
    let e = env().await;
    let expected = [
        ("owner", [true, true, true]),
        ("admin", [true, true, true]),
        ("netadmin", [true, true, true]),
        ("auditor", [true, false, false]),
        ("user", [false, false, false]),
        ("svc", [true, false, false]),
    ];
    for (id, [read, create, delete]) in expected {
        // Seed a PAT directly so read and delete have a target regardless of role.
        let (_, pat) = e.nb().create_pat(&e.user("owner").await, "owner", &pat_body("seed", 1)).await.unwrap();
        let seeded = Pat { id: format!("seed-{id}"), user_id: id.into(), hashed_token: format!("h-{id}"), ..pat };
        e.store.insert_pat(seeded).await.unwrap();
        let caller = e.user(id).await;
        let nb = e.nb();
        let denied = (NbErrorKind::Forbidden, "permission denied".to_owned());

        let r = nb.list_pats(&caller, id).await;
        assert_eq!(r.is_ok(), read, "{id} list");
        if !read {
            assert_eq!(msg(r), denied);
        }
        let r = nb.get_pat(&caller, id, &format!("seed-{id}")).await;
        assert_eq!(r.is_ok(), read, "{id} get");
        let r = nb.create_pat(&caller, id, &pat_body("mine", 30)).await;
        assert_eq!(r.is_ok(), create, "{id} create");
        if !create {
            assert_eq!(msg(r), denied);
        }
        let r = nb.delete_pat(&caller, id, &format!("seed-{id}")).await;
        assert_eq!(r.is_ok(), delete, "{id} delete");
        if !delete {
            assert_eq!(msg(r), denied);
        }
    }
}

#[tokio::test]
async fn blocked_user_is_forbidden() {
    let e = env().await;
    let blocked = e.add(NbUser { blocked: true, ..nb_user("blocked", "acc1", NbRole::Owner) }).await;
    let nb = e.nb();
    assert_eq!(msg(nb.list_pats(&blocked, "blocked").await), (NbErrorKind::Forbidden, "user is blocked".into()));
    let owner = e.user("owner").await;
    let (plain, _) = nb.create_pat(&owner, "owner", &pat_body("t", 1)).await.unwrap();
    let header = format!("Token {}", plain.expose());
    assert_eq!(nb.authenticate(Some(&header)).await.unwrap().id, "owner");
    // Blocking after authentication still denies, and the PAT no longer authenticates.
    let mut now_blocked = owner.clone();
    now_blocked.blocked = true;
    e.store
        .import({
            let mut s = e.store.export().await.unwrap();
            s.nb_users.retain(|u| u.id != "owner");
            s.nb_users.push(now_blocked);
            s
        })
        .await
        .unwrap();
    assert_eq!(msg(nb.list_pats(&owner, "owner").await).1, "user is blocked");
    assert_eq!(msg(nb.authenticate(Some(&header)).await), (NbErrorKind::Forbidden, "user is blocked".into()));
}

#[tokio::test]
async fn target_rules() {
    let e = env().await;
    let nb = e.nb();
    let admin = e.user("admin").await;
    let netadmin = e.user("netadmin").await;
    let admin_required = (NbErrorKind::Forbidden, "admin role required to perform this action".to_owned());

    assert_eq!(msg(nb.list_pats(&admin, "ghost").await), (NbErrorKind::NotFound, "user: ghost not found".into()));
    assert_eq!(msg(nb.list_pats(&admin, "stranger").await), (NbErrorKind::Forbidden, "permission denied".into()));
    assert_eq!(msg(nb.list_pats(&admin, "user").await), admin_required, "admins cannot read humans' PATs");
    assert_eq!(msg(nb.create_pat(&admin, "owner", &pat_body("x", 1)).await), admin_required);
    assert!(nb.list_pats(&admin, "svc").await.unwrap().is_empty(), "admins manage service users' PATs");
    let (_, svc_pat) = nb.create_pat(&admin, "svc", &pat_body("ci", 7)).await.unwrap();
    assert_eq!(svc_pat.created_by, "admin");
    assert_eq!(svc_pat.user_id, "svc");
    assert_eq!(
        msg(nb.get_pat(&netadmin, "svc", &svc_pat.id).await),
        admin_required,
        "network_admin has no admin power"
    );
    // role check comes before the target lookup
    let user = e.user("user").await;
    assert_eq!(msg(nb.list_pats(&user, "ghost").await).1, "permission denied");
    nb.delete_pat(&admin, "svc", &svc_pat.id).await.unwrap();
}

#[tokio::test]
async fn pat_lookup_is_scoped_to_user() {
    let e = env().await;
    let nb = e.nb();
    let owner = e.user("owner").await;
    let (_, pat) = nb.create_pat(&owner, "owner", &pat_body("mine", 1)).await.unwrap();
    assert_eq!(nb.get_pat(&owner, "owner", &pat.id).await.unwrap(), pat);
    assert_eq!(msg(nb.get_pat(&owner, "owner", "nope").await), (NbErrorKind::NotFound, "pat: nope not found".into()));
    let admin = e.user("admin").await;
    let (_, svc_pat) = nb.create_pat(&admin, "svc", &pat_body("svc", 1)).await.unwrap();
    assert_eq!(msg(nb.get_pat(&admin, "svc", &pat.id).await).1, format!("pat: {} not found", pat.id));
    assert_eq!(msg(nb.delete_pat(&owner, "owner", &svc_pat.id).await).0, NbErrorKind::NotFound);
    assert_eq!(msg(nb.get_pat(&owner, "owner", "").await), (NbErrorKind::InvalidArgument, "invalid token ID".into()));
    assert_eq!(msg(nb.get_pat(&owner, "", "x").await), (NbErrorKind::InvalidArgument, "invalid user ID".into()));
    assert_eq!(nb.list_pats(&owner, "owner").await.unwrap(), vec![pat.clone()]);
    nb.delete_pat(&owner, "owner", &pat.id).await.unwrap();
    assert_eq!(msg(nb.delete_pat(&owner, "owner", &pat.id).await).0, NbErrorKind::NotFound);
    assert!(nb.list_pats(&owner, "owner").await.unwrap().is_empty());
}

#[tokio::test]
async fn create_validates_body_first() {
    let e = env().await;
    let nb = e.nb();
    let user = e.user("user").await;
    let invalid = |m: &str| (NbErrorKind::InvalidArgument, m.to_owned());
    assert_eq!(msg(nb.create_pat(&user, "user", &pat_body("", 30)).await), invalid("token name can't be empty"));
    for days in [0, -1, 366] {
        assert_eq!(
            msg(nb.create_pat(&user, "user", &pat_body("n", days)).await),
            invalid("expiration has to be between 1 and 365")
        );
    }
    assert_eq!(msg(nb.create_pat(&user, "ghost", &pat_body("", 30)).await), invalid("token name can't be empty"));
    assert_eq!(msg(nb.create_pat(&user, "user", &pat_body("n", 30)).await).1, "permission denied");

    let owner = e.user("owner").await;
    for days in [1, 365] {
        let (plain, pat) = nb.create_pat(&owner, "owner", &pat_body("ok", days)).await.unwrap();
        assert_eq!(parse_pat(plain.expose()), Ok(()));
        assert_eq!(pat.hashed_token, hash_pat(plain.expose()));
        assert_eq!(pat.expiration_date, e.now + TimeDelta::days(days));
        assert_eq!((pat.created_at, pat.created_by.as_str(), pat.last_used), (e.now, "owner", None));
        assert_eq!(pat.id.len(), 20);
    }
}

#[tokio::test]
async fn authenticate_cases() {
    let e = env().await;
    let nb = e.nb();
    let owner = e.user("owner").await;
    let (plain, pat) = nb.create_pat(&owner, "owner", &pat_body("t", 1)).await.unwrap();
    let plain = plain.expose().to_owned();
    let unauthorized = |m: &str| (NbErrorKind::Unauthorized, m.to_owned());

    for header in
        [format!("Token {plain}"), format!("token {plain}"), format!("Bearer {plain}"), format!("BEARER {plain}")]
    {
        assert_eq!(nb.authenticate(Some(&header)).await.unwrap().id, "owner", "{header}");
    }
    assert_eq!(e.store.pat("owner", &pat.id).await.unwrap().last_used, Some(e.now));

    let (unknown, _) = generate_pat();
    let mut flipped = plain.clone().into_bytes();
    flipped[5] = if flipped[5] == b'x' { b'y' } else { b'x' };
    let flipped = String::from_utf8(flipped).unwrap();
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "no valid authentication provided"),
        (Some(String::new()), "no valid authentication provided"),
        (Some(format!("Basic {plain}")), "no valid authentication provided"),
        (Some(plain.clone()), "no valid authentication provided"),
        (Some("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig".into()), "token invalid"),
        (Some("Bearer".into()), "token invalid"),
        (Some("Token".into()), "token invalid"),
        (Some(format!("Token {plain} extra")), "token invalid"),
        (Some(format!("Token  {plain}")), "token invalid"),
        (Some(format!("Token {flipped}")), "token invalid"),
        (Some(format!("Token {unknown}")), "token invalid"),
        (Some("Token nbp_tooshort".into()), "token invalid"),
    ];
    for (header, expected) in cases {
        assert_eq!(msg(nb.authenticate(header.as_deref()).await), unauthorized(expected), "{header:?}");
    }

    let later = NetBird::new(&*e.store, e.now + TimeDelta::days(1) + TimeDelta::seconds(1));
    assert_eq!(msg(later.authenticate(Some(&format!("Token {plain}"))).await), unauthorized("token invalid"));
    let at_expiry = NetBird::new(&*e.store, e.now + TimeDelta::days(1));
    assert!(at_expiry.authenticate(Some(&format!("Token {plain}"))).await.is_ok(), "expiry is strictly after");

    nb.delete_pat(&owner, "owner", &pat.id).await.unwrap();
    assert_eq!(msg(nb.authenticate(Some(&format!("Token {plain}"))).await), unauthorized("token invalid"));
}

#[test]
fn error_kinds() {
    let store = NbError::Store(StoreError::backend("disk on fire"));
    assert_eq!((store.kind(), store.public_message()), (NbErrorKind::Internal, "internal server error".into()));
}

#[tokio::test]
async fn quotas_bound_pats_per_user_and_name_length() {
    let e = env().await;
    let nb = e.nb().with_limits(crate::config::Limits { tokens_per_user: 0, pats_per_user: 1, text_chars: 5 });
    let owner = e.user("owner").await;
    nb.create_pat(&owner, "owner", &pat_body("first", 30)).await.unwrap();
    let over = nb.create_pat(&owner, "owner", &pat_body("again", 30)).await.unwrap_err();
    assert_eq!(
        (over.kind(), over.public_message()),
        (NbErrorKind::InvalidArgument, "a user can't have more than 1 personal access tokens".to_string())
    );
    let long = nb.create_pat(&owner, "admin", &pat_body("toolong", 30)).await.unwrap_err();
    assert_eq!(long.public_message(), "token name can't be longer than 5 characters");
}

#[tokio::test]
async fn the_all_group_is_one_row_per_account_under_a_derived_id() {
    let e = env().await;
    let (first, second) = (all_group("acc1"), all_group("acc1"));
    assert_eq!(first, second, "the same id for every replica and start");
    assert_eq!(first.id.len(), 20);
    assert!(first.id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='v')), "{}", first.id);
    assert_ne!(all_group("acc2").id, first.id);
    assert_eq!((first.name.as_str(), first.issued.as_str(), first.peers.len()), ("All", "api", 0));
    for _ in 0..2 {
        ensure_all_group(&*e.store, "acc1").await.unwrap();
    }
    ensure_all_group(&*e.store, "acc2").await.unwrap();
    let listed = e.nb().list_groups(&e.user("owner").await, None).await.unwrap();
    assert_eq!(listed, [first]);
}

#[tokio::test]
async fn groups_list_puts_all_first_and_the_name_filter_takes_the_most_peers() {
    let e = env().await;
    let owner = e.user("owner").await;
    let store = &*e.store;
    // Ids that sort before and after `All`'s: the listing still starts with `All`.
    let all = all_group("acc1");
    for (id, name, peers) in [("0000", "jwt-team", 1), ("zzzz", "jwt-team", 2), ("0001", "other", 0)] {
        let peers = (0..peers).map(|i| format!("p{i}")).collect();
        store.insert(NbGroup { issued: "jwt".into(), peers, ..NbGroup::new(id, "acc1", name) }).await.unwrap();
    }
    store.insert(all.clone()).await.unwrap();
    store.insert(NbGroup::new("elsewhere", "acc2", "other")).await.unwrap();
    let listed = e.nb().list_groups(&owner, None).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, [all.id.as_str(), "0000", "0001", "zzzz"]);
    let named = e.nb().list_groups(&owner, Some("jwt-team")).await.unwrap();
    assert_eq!(named.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["zzzz"]);
    assert_eq!(e.nb().list_groups(&owner, Some("")).await.unwrap().len(), 4, "an empty name filters nothing");
    assert_eq!(
        msg(e.nb().list_groups(&owner, Some("Other-Team")).await),
        (NbErrorKind::NotFound, "group: other-team not found".to_owned())
    );
}

#[tokio::test]
async fn groups_create_keeps_each_peer_once_and_refuses_a_taken_name() {
    let e = env().await;
    let owner = e.user("owner").await;
    let body =
        serde_json::json!({"name": "devs", "peers": ["p1", "p2", "p1"], "resources": [{"id": "r", "type": "host"}]});
    let created = e.nb().create_group(&owner, &body).await.unwrap();
    assert_eq!((created.account_id.as_str(), created.issued.as_str()), ("acc1", "api"));
    assert_eq!(created.peers, ["p1", "p2"]);
    let stored: NbGroup = e.store.get(Field::Id, &created.id).await.unwrap();
    assert_eq!(stored, created);
    let again = e.nb().create_group(&owner, &serde_json::json!({"name": "devs"})).await;
    assert_eq!(msg(again), (NbErrorKind::AlreadyExists, "group with name devs already exists".to_owned()));
    // Another account may use the name.
    e.nb().create_group(&e.user("stranger").await, &serde_json::json!({"name": "devs"})).await.unwrap();

    let nb = e.nb().with_limits(crate::config::Limits { tokens_per_user: 0, pats_per_user: 0, text_chars: 5 });
    let long = nb.create_group(&owner, &serde_json::json!({"name": "toolong"})).await;
    assert_eq!(msg(long), (NbErrorKind::InvalidArgument, "group name can't be longer than 5 characters".to_owned()));
    let control = nb.create_group(&owner, &serde_json::json!({"name": "a\u{0}b"})).await;
    assert_eq!(msg(control).0, NbErrorKind::InvalidArgument);
}

#[tokio::test]
async fn setup_keys_are_stored_hashed_and_never_logged() {
    let e = env().await;
    let body = serde_json::json!({"name": "ci", "type": "one-off", "expires_in": 60, "usage_limit": 1});
    let owner = e.user("owner").await;
    let (plain, created) = e.nb().create_setup_key(&owner, &body).await.unwrap();
    let stored = e.store.get::<NbSetupKey>(Field::Id, &created.id).await.unwrap();
    assert_eq!(stored.key_hash, crate::secrets::hash_setup_key(plain.expose()));
    assert_eq!(stored.key_secret, format!("{}****", &plain.expose()[..5]));
    let everything = format!("{stored:?} {plain:?} {plain}");
    assert!(!everything.contains(plain.expose()) && !everything.contains(&stored.key_hash), "{everything}");
    assert_eq!((stored.expires_at, stored.usage_limit), (Some(e.now + TimeDelta::seconds(60)), 1));
    // The stored row is found by the hash of the key, as a joining peer's would be.
    let by_hash = e.store.get::<NbSetupKey>(Field::HashedToken, &stored.key_hash).await.unwrap();
    assert_eq!(by_hash, stored);
}

#[tokio::test]
async fn setup_is_required_only_while_no_owner_exists() {
    let e = Env { store: Box::new(MemoryStore::new()), now: Utc.with_ymd_and_hms(2026, 8, 22, 12, 0, 0).unwrap() };
    assert!(e.nb().setup_required().await.unwrap(), "an empty instance");
    e.add(nb_user("auditor", "acc1", NbRole::Auditor)).await;
    e.add(NbUser { is_service_user: true, ..nb_user("bot", "acc1", NbRole::Admin) }).await;
    assert!(e.nb().setup_required().await.unwrap(), "users, but no owner");
    e.add(nb_user("boss", "acc2", NbRole::Owner)).await;
    assert!(!e.nb().setup_required().await.unwrap());
}
