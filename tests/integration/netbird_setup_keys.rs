//! NetBird setup keys through the generated client: create (the plain key once), the hidden form elsewhere, state
//! and validity with the clock offset, update (revoked and auto_groups only), delete, every upstream refusal with
//! its status and text, groups a key holds, and the `setup_keys` role matrix.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{ADMIN_PAT, AUDITOR_PAT, NETADMIN_PAT, SERVICE_PAT, TestServer, USER_ROLE_PAT, error_of};

/// Go's `time.Time{}` as NetBird writes it.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn key(name: &str, kind: &str, expires_in: i64) -> types::builder::CreateSetupKeyRequest {
    types::CreateSetupKeyRequest::builder()
        .name(name)
        .type_(kind)
        .expires_in(expires_in)
        .usage_limit(0)
        .auto_groups(Vec::<String>::new())
}

fn update(revoked: bool, auto_groups: Vec<String>) -> types::builder::SetupKeyRequest {
    types::SetupKeyRequest::builder().revoked(revoked).auto_groups(auto_groups)
}

async fn group_id(server: &TestServer, name: &str) -> String {
    let body = types::NetbirdGroupRequest::builder().name(name);
    server.netbird(ADMIN_PAT).netbird_groups_create().body(body).send().await.expect("group").into_inner().id
}

#[tokio::test]
async fn create_shows_the_key_once_and_the_hidden_form_elsewhere() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let agents = group_id(&server, "agents").await;
    let body = key("e2e-agents", "reusable", 86_400).auto_groups(vec![agents.clone()]).ephemeral(true);
    let created = owner.netbird_setup_keys_create().body(body).send().await.expect("create").into_inner();
    // An upper-case UUID, shown whole in this response only.
    assert_eq!(created.key.len(), 36);
    assert_eq!(created.key, created.key.to_uppercase());
    assert!(uuid::Uuid::parse_str(&created.key).is_ok(), "{}", created.key);
    assert_eq!(
        (created.name.as_str(), created.type_.as_str(), created.state.as_str()),
        ("e2e-agents", "reusable", "valid")
    );
    assert!(created.valid && !created.revoked && created.ephemeral && !created.allow_extra_dns_labels);
    assert_eq!((created.used_times, created.usage_limit, created.auto_groups.clone()), (0, 0, vec![agents]));
    assert_eq!((created.expires - created.updated_at).num_seconds(), 86_400);
    assert_eq!(created.last_used.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), ZERO_TIME);

    // Everywhere else: the first 5 characters and `****`.
    let hidden = format!("{}****", &created.key[..5]);
    let listed = owner.netbird_setup_keys_list().send().await.expect("list").into_inner();
    assert_eq!(
        listed.iter().map(|k| (k.id.as_str(), k.key.as_str())).collect::<Vec<_>>(),
        [(created.id.as_str(), hidden.as_str())]
    );
    let got = owner.netbird_setup_keys_retrieve().key_id(&created.id).send().await.expect("get").into_inner();
    assert_eq!((got.key.as_str(), got.expires, got.updated_at), (hidden.as_str(), created.expires, created.updated_at));

    // expires_in 0 never expires; one-off keys have usage limit 1 (0 or 1 asked).
    let forever = owner.netbird_setup_keys_create().body(key("forever", "one-off", 0)).send().await.expect("create");
    let forever = forever.into_inner();
    assert_eq!(forever.expires.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), ZERO_TIME);
    assert_eq!((forever.type_.as_str(), forever.usage_limit, forever.state.as_str()), ("one-off", 1, "valid"));
    let once = owner.netbird_setup_keys_create().body(key("once", "one-off", 60).usage_limit(1)).send().await;
    assert_eq!(once.expect("a limit of 1").into_inner().usage_limit, 1);
    let raw = server
        .raw(Method::GET, &format!("/api/setup-keys/{}", forever.id), Some(&format!("Token {ADMIN_PAT}")), None)
        .await;
    assert_eq!(
        (raw.0, raw.1["expires"].clone(), raw.1["last_used"].clone()),
        (200, json!(ZERO_TIME), json!(ZERO_TIME))
    );
}

#[tokio::test]
async fn create_refuses_bad_input_with_upstream_statuses_and_texts() {
    let server = TestServer::start().await;
    let agents = group_id(&server, "agents").await;
    let all = server.netbird(ADMIN_PAT).netbird_groups_list().name("All").send().await.expect("All").into_inner();
    let all = &all[0].id;
    let auth = format!("Token {ADMIN_PAT}");
    let one_off_5 = "usage_limit 5 is not valid for a one-off setup key, which can be used once; use type reusable for \
                     a key that can be used more than once";
    let unknown = format!(r#"{{"name": "k", "type": "reusable", "auto_groups": ["{agents}", "NoSuchGroup"]}}"#);
    let with_all = format!(r#"{{"name": "k", "type": "reusable", "auto_groups": ["{all}"]}}"#);
    let cases = [
        (r#"{"name": "", "type": "reusable"}"#, 422, "setup key name shouldn't be empty"),
        ("{}", 422, "setup key name shouldn't be empty"),
        ("null", 422, "setup key name shouldn't be empty"),
        // util.WriteError lower-cases the whole text, the type included.
        (r#"{"name": "k", "type": "Reusable"}"#, 422, "unknown setup key type reusable"),
        (r#"{"name": "k"}"#, 422, "unknown setup key type "),
        (r#"{"name": "k", "type": "one-off", "usage_limit": 5}"#, 422, one_off_5),
        (r#"{"name": "k", "type": "reusable", "expires_in": -1}"#, 422, "expiresin can not be in the past"),
        // Go's `time.Duration(n) * time.Second` wraps: this many seconds is a negative duration.
        (r#"{"name": "k", "type": "reusable", "expires_in": 9300000000}"#, 422, "expiresin can not be in the past"),
        (unknown.as_str(), 422, "invalid auto groups: group not found: nosuchgroup"),
        (with_all.as_str(), 422, "invalid auto groups: can't add 'all' group to the setup key"),
        (r#"{"name": 1, "type": "reusable"}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "k", "type": "reusable", "expires_in": 1.5}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "k", "type": "reusable", "auto_groups": "g"}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "k", "type": "reusable", "ephemeral": "yes"}"#, 400, "couldn't parse JSON request"),
        ("[]", 400, "couldn't parse JSON request"),
    ];
    for (body, status, message) in cases {
        let response = server.raw(Method::POST, "/api/setup-keys", Some(&auth), Some(body)).await;
        assert_eq!(response, (status, json!({"message": message, "code": status})), "{body}");
    }
    // The handler's checks come before the permission check; the groups after it.
    let user = format!("Token {USER_ROLE_PAT}");
    let response = server.raw(Method::POST, "/api/setup-keys", Some(&user), Some(r#"{"name": ""}"#)).await;
    assert_eq!(response.0, 422);
    let response = server.raw(Method::POST, "/api/setup-keys", Some(&user), Some(&unknown)).await;
    assert_eq!(response, (403, json!({"message": "permission denied", "code": 403})));
    assert!(server.netbird(ADMIN_PAT).netbird_setup_keys_list().send().await.expect("list").into_inner().is_empty());
}

#[tokio::test]
async fn update_changes_only_revoked_and_auto_groups_and_never_un_revokes() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let agents = group_id(&server, "agents").await;
    let created = owner.netbird_setup_keys_create().body(key("k", "reusable", 3600)).send().await.expect("create");
    let created = created.into_inner();
    let auth = format!("Token {ADMIN_PAT}");
    let path = format!("/api/setup-keys/{}", created.id);

    // Fields beyond the two are ignored.
    let body = format!(r#"{{"name": "renamed", "revoked": false, "auto_groups": ["{agents}"], "usage_limit": 9}}"#);
    let (status, updated) = server.raw(Method::PUT, &path, Some(&auth), Some(&body)).await;
    assert_eq!((status, updated["name"].clone(), updated["auto_groups"].clone()), (200, json!("k"), json!([agents])));
    assert_eq!(
        (updated["usage_limit"].clone(), updated["key"].clone()),
        (json!(0), json!(format!("{}****", &created.key[..5])))
    );

    let cases = [
        (path.as_str(), r#"{"revoked": true, "auto_groups": null}"#, 422, "setup key autogroups field is invalid"),
        (path.as_str(), r#"{"revoked": true}"#, 422, "setup key autogroups field is invalid"),
        (path.as_str(), r#"{"revoked": "yes", "auto_groups": []}"#, 400, "couldn't parse JSON request"),
        (path.as_str(), r#"{"auto_groups": ["Missing"]}"#, 422, "invalid auto groups: group not found: missing"),
        ("/api/setup-keys/NoSuchKey", r#"{"auto_groups": []}"#, 404, "setup key: nosuchkey not found"),
    ];
    for (path, body, status, message) in cases {
        let response = server.raw(Method::PUT, path, Some(&auth), Some(body)).await;
        assert_eq!(response, (status, json!({"message": message, "code": status})), "{body}");
    }

    let revoked = owner.netbird_setup_keys_update().key_id(&created.id).body(update(true, vec![])).send().await;
    let revoked = revoked.expect("revoke").into_inner();
    assert_eq!((revoked.revoked, revoked.valid, revoked.state.as_str()), (true, false, "revoked"));
    assert!(revoked.auto_groups.is_empty());
    assert!(revoked.updated_at >= created.updated_at);
    let again = owner.netbird_setup_keys_update().key_id(&created.id).body(update(true, vec![])).send().await;
    again.expect("revoking twice is fine");
    let un_revoke = owner.netbird_setup_keys_update().key_id(&created.id).body(update(false, vec![])).send().await;
    assert_eq!(error_of(un_revoke), (422, json!({"message": "can't un-revoke a revoked setup key", "code": 422})));
}

#[tokio::test]
async fn state_follows_the_clock_offset_and_delete_answers_an_empty_object() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let day = owner.netbird_setup_keys_create().body(key("day", "reusable", 86_400)).send().await.expect("create");
    let day = day.into_inner();
    let forever = owner.netbird_setup_keys_create().body(key("forever", "reusable", 0)).send().await.expect("create");
    let forever = forever.into_inner();
    server.set_clock_offset(2 * 86_400).await.expect("clock");
    let got = owner.netbird_setup_keys_retrieve().key_id(&day.id).send().await.expect("get").into_inner();
    assert_eq!((got.state.as_str(), got.valid), ("expired", false));
    // Expired comes before revoked.
    let revoked = owner.netbird_setup_keys_update().key_id(&day.id).body(update(true, vec![])).send().await;
    assert_eq!(revoked.expect("revoke").into_inner().state, "expired");
    let got = owner.netbird_setup_keys_retrieve().key_id(&forever.id).send().await.expect("get").into_inner();
    assert_eq!((got.state.as_str(), got.valid), ("valid", true));
    server.set_clock_offset(0).await.expect("clock");
    let got = owner.netbird_setup_keys_retrieve().key_id(&day.id).send().await.expect("get").into_inner();
    assert_eq!(got.state, "revoked");

    let deleted = owner.netbird_setup_keys_destroy().key_id(&day.id).send().await.expect("delete").into_inner();
    assert!(deleted.is_empty());
    let gone = owner.netbird_setup_keys_destroy().key_id(&day.id).send().await;
    let message = format!("setup key: {} not found", day.id);
    assert_eq!(error_of(gone), (404, json!({"message": message, "code": 404})));
    let gone = owner.netbird_setup_keys_retrieve().key_id(&day.id).send().await;
    assert_eq!(error_of(gone).0, 404);
    let listed = owner.netbird_setup_keys_list().send().await.expect("list").into_inner();
    assert_eq!(listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), [forever.id.as_str()]);
}

#[tokio::test]
async fn a_group_a_setup_key_holds_cannot_be_deleted() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let agents = group_id(&server, "agents").await;
    let body = key("CI Runners", "reusable", 0).auto_groups(vec![agents.clone()]);
    let created = owner.netbird_setup_keys_create().body(body).send().await.expect("create").into_inner();
    let in_use = owner.netbird_groups_destroy().group_id(&agents).send().await;
    assert_eq!(
        error_of(in_use),
        (400, json!({"message": "group has been linked to setup key: CI Runners", "code": 400}))
    );
    owner.netbird_setup_keys_update().key_id(&created.id).body(update(false, vec![])).send().await.expect("update");
    owner.netbird_groups_destroy().group_id(&agents).send().await.expect("no longer held");
}

#[tokio::test]
async fn role_matrix_of_the_setup_keys_module() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    // A service user of role admin counts as an admin: everything.
    let admin =
        types::UserCreateRequest::builder().role("admin").is_service_user(true).auto_groups(Vec::<String>::new());
    let admin =
        owner.netbird_users_create().body(admin.name(Some("ops-bot".to_string()))).send().await.expect("service admin");
    let pat = types::PersonalAccessTokenRequest::builder().name("ci").expires_in(1);
    let admin_id = admin.into_inner().id;
    let admin_pat = owner.netbird_tokens_create().user_id(&admin_id).body(pat).send().await.expect("pat");
    let admin_pat = admin_pat.into_inner().plain_token;

    let denied = (403, json!({"message": "permission denied", "code": 403}));
    // (pat, read, write): owner and admin everything; network_admin and auditor read; a service user of role user
    // reads; user nothing.
    let cases = [
        (ADMIN_PAT, true, true),
        (admin_pat.as_str(), true, true),
        (NETADMIN_PAT, true, false),
        (AUDITOR_PAT, true, false),
        (SERVICE_PAT, true, false),
        (USER_ROLE_PAT, false, false),
    ];
    for (i, (pat, read, write)) in cases.into_iter().enumerate() {
        let target = owner.netbird_setup_keys_create().body(key(&format!("t{i}"), "reusable", 0)).send().await;
        let id = target.expect("create").into_inner().id;
        let client = server.netbird(pat);
        let listed = client.netbird_setup_keys_list().send().await;
        let got = client.netbird_setup_keys_retrieve().key_id(&id).send().await;
        match read {
            true => {
                assert!(listed.expect("list").into_inner().iter().any(|k| k.id == id), "{pat}");
                assert_eq!(got.expect("get").into_inner().id, id, "{pat}");
            }
            false => {
                assert_eq!(error_of(listed), denied, "{pat} list");
                assert_eq!(error_of(got), denied, "{pat} get");
            }
        }
        let created = client.netbird_setup_keys_create().body(key(&format!("c{i}"), "reusable", 0)).send().await;
        let updated = client.netbird_setup_keys_update().key_id(&id).body(update(true, vec![])).send().await;
        let deleted = client.netbird_setup_keys_destroy().key_id(&id).send().await;
        match write {
            true => {
                assert_eq!(created.expect("create").into_inner().name, format!("c{i}"), "{pat}");
                assert!(updated.expect("update").into_inner().revoked, "{pat}");
                deleted.expect("delete");
            }
            false => {
                assert_eq!(error_of(created), denied, "{pat} create");
                assert_eq!(error_of(updated), denied, "{pat} update");
                assert_eq!(error_of(deleted), denied, "{pat} delete");
            }
        }
    }
    let unauthenticated = server.client("Token nbp_short").netbird_setup_keys_list().send().await;
    assert_eq!(error_of(unauthenticated), (401, json!({"message": "token invalid", "code": 401})));
}
