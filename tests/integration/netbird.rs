//! NetBird personal access token operations through the generated client, with the role matrix.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{
    ADMIN_PAT, AUDITOR_PAT, BLOCKED_PAT, NETADMIN_PAT, SERVICE_PAT, TestServer, USER_ROLE_PAT, error_of,
};

fn request(name: &str, expires_in: u64) -> types::builder::PersonalAccessTokenRequest {
    let expires_in = std::num::NonZeroU64::new(expires_in).expect("the client only sends 1..=365");
    types::PersonalAccessTokenRequest::builder().name(name).expires_in(expires_in)
}

#[tokio::test]
async fn create_list_get_delete_and_use_the_new_pat() {
    let server = TestServer::start().await;
    let admin = server.netbird(ADMIN_PAT);
    let generated = admin
        .netbird_tokens_create()
        .user_id("admin")
        .body(request("laptop", 30))
        .send()
        .await
        .expect("create")
        .into_inner();
    assert_eq!(generated.plain_token.len(), 40);
    assert!(generated.plain_token.starts_with("nbp_"));
    let pat = &generated.personal_access_token;
    assert_eq!((pat.name.as_str(), pat.created_by.as_str()), ("laptop", "admin"));
    assert_eq!((pat.expiration_date - pat.created_at).num_days(), 30);
    assert!(pat.last_used.is_none());

    // The new PAT authenticates, with the Bearer scheme too, and is marked used.
    let with_new = server.client(&format!("Bearer {}", generated.plain_token));
    let listed = with_new.netbird_tokens_list().user_id("admin").send().await.expect("list").into_inner();
    assert_eq!(listed.len(), 2);
    let fetched =
        admin.netbird_tokens_retrieve().user_id("admin").token_id(&pat.id).send().await.expect("get").into_inner();
    assert!(fetched.last_used.is_some());

    // Until first use, `last_used` is absent from the JSON, not null.
    let created =
        admin.netbird_tokens_create().user_id("admin").body(request("unused", 1)).send().await.expect("create");
    let unused_id = created.into_inner().personal_access_token.id;
    let (status, raw) = server
        .raw(Method::GET, &format!("/api/users/admin/tokens/{unused_id}"), Some(&format!("Token {ADMIN_PAT}")), None)
        .await;
    assert_eq!(status, 200);
    assert!(raw.get("last_used").is_none(), "{raw}");

    let (status, body) = server
        .raw(Method::DELETE, &format!("/api/users/admin/tokens/{}", pat.id), Some(&format!("Token {ADMIN_PAT}")), None)
        .await;
    assert_eq!((status, body), (200, json!({})));
    let deleted = admin.netbird_tokens_destroy().user_id("admin").token_id(&pat.id).send().await;
    assert_eq!(error_of(deleted), (404, json!({"message": format!("pat: {} not found", pat.id), "code": 404})));
    let revoked = with_new.netbird_tokens_list().user_id("admin").send().await;
    assert_eq!(error_of(revoked), (401, json!({"message": "token invalid", "code": 401})));
}

#[tokio::test]
async fn list_of_a_user_without_pats_is_an_empty_array() {
    let server = TestServer::start().await;
    let admin = server.netbird(ADMIN_PAT);
    let pats = admin.netbird_tokens_list().user_id("admin").send().await.expect("list").into_inner();
    let id = pats[0].id.clone();
    admin.netbird_tokens_destroy().user_id("admin").token_id(&id).send().await.expect("delete own bootstrap PAT");
    // The PAT just deleted was the caller's credential; use another admin-power caller on a service user instead.
    let (status, body) =
        server.raw(Method::GET, "/api/users/admin/tokens", Some(&format!("Token {ADMIN_PAT}")), None).await;
    assert_eq!((status, body), (401, json!({"message": "token invalid", "code": 401})));
    let robot = server.netbird(SERVICE_PAT);
    let own = robot.netbird_tokens_list().user_id("robot").send().await.expect("list").into_inner();
    assert_eq!(own.len(), 1);
    let (status, body) =
        server.raw(Method::GET, "/api/users/auditor/tokens", Some(&format!("Token {AUDITOR_PAT}")), None).await;
    assert_eq!(status, 200);
    assert!(body.is_array());
}

#[tokio::test]
async fn create_validates_before_anything_else() {
    let server = TestServer::start().await;
    let path = "/api/users/admin/tokens";
    let auth = format!("Token {ADMIN_PAT}");
    let cases = [
        (r#"{"name": "", "expires_in": 30}"#, 422, "token name can't be empty"),
        (r#"{"name": "x", "expires_in": 0}"#, 422, "expiration has to be between 1 and 365"),
        (r#"{"name": "x", "expires_in": 366}"#, 422, "expiration has to be between 1 and 365"),
        (r#"{"name": "x", "#, 400, "couldn't parse JSON request"),
        // Decoded as Go does: missing fields are zero values for the 422s, wrong JSON types are 400s.
        ("{}", 422, "token name can't be empty"),
        ("null", 422, "token name can't be empty"),
        (r#"{"name": "x"}"#, 422, "expiration has to be between 1 and 365"),
        (r#"{"NAME": "x", "expires_in": 400}"#, 422, "expiration has to be between 1 and 365"),
        (r#"{"name": 5, "expires_in": 30}"#, 400, "couldn't parse JSON request"),
        (r#"{"name": "x", "expires_in": 1.5}"#, 400, "couldn't parse JSON request"),
        ("[]", 400, "couldn't parse JSON request"),
    ];
    for (body, status, message) in cases {
        let response = server.raw(Method::POST, path, Some(&auth), Some(body)).await;
        assert_eq!(response, (status, json!({"message": message, "code": status})), "{body}");
    }
    // Even a caller without the create permission gets the validation error first.
    let response = server
        .raw(Method::POST, "/api/users/auditor/tokens", Some(&format!("Token {AUDITOR_PAT}")), Some(cases[0].0))
        .await;
    assert_eq!(response.0, 422);
}

#[tokio::test]
async fn authentication_failures_are_401() {
    let server = TestServer::start().await;
    let path = "/api/users/admin/tokens";
    let mut flipped = ADMIN_PAT.to_string();
    flipped.replace_range(10..11, if &ADMIN_PAT[10..11] == "a" { "b" } else { "a" });
    let cases = [
        (None, "no valid authentication provided"),
        (Some("Basic abc".to_string()), "no valid authentication provided"),
        (Some("Token nbp_short".to_string()), "token invalid"),
        (Some(format!("Token {flipped}")), "token invalid"),
        (Some("Bearer some.jwt.token".to_string()), "token invalid"),
    ];
    for (header, message) in cases {
        let response = server.raw(Method::GET, path, header.as_deref(), None).await;
        assert_eq!(response, (401, json!({"message": message, "code": 401})), "{header:?}");
    }
}

#[tokio::test]
async fn role_matrix_and_self_or_service_user_rule() {
    let server = TestServer::start().await;
    let denied = |message: &str| (403, json!({"message": message, "code": 403}));

    // auditor: read only.
    let auditor = server.netbird(AUDITOR_PAT);
    auditor.netbird_tokens_list().user_id("auditor").send().await.expect("auditor reads");
    let create = auditor.netbird_tokens_create().user_id("auditor").body(request("x", 1)).send().await;
    assert_eq!(error_of(create), denied("permission denied"));

    // user role: nothing, not even its own PATs.
    let user = server.netbird(USER_ROLE_PAT);
    assert_eq!(error_of(user.netbird_tokens_list().user_id("plain-user").send().await), denied("permission denied"));

    // network_admin: read, create, delete its own.
    let netadmin = server.netbird(NETADMIN_PAT);
    let created =
        netadmin.netbird_tokens_create().user_id("netadmin").body(request("x", 1)).send().await.expect("create");
    let id = created.into_inner().personal_access_token.id;
    netadmin.netbird_tokens_destroy().user_id("netadmin").token_id(&id).send().await.expect("delete");

    // blocked users are refused.
    let blocked = server.netbird(BLOCKED_PAT);
    assert_eq!(error_of(blocked.netbird_tokens_list().user_id("blocked").send().await), denied("user is blocked"));

    // Even the owner cannot touch another human user's PATs, but may manage a service user's.
    let admin = server.netbird(ADMIN_PAT);
    let other = admin.netbird_tokens_list().user_id("auditor").send().await;
    assert_eq!(error_of(other), denied("admin role required to perform this action"));
    let for_robot =
        admin.netbird_tokens_create().user_id("robot").body(request("rotated", 7)).send().await.expect("service user");
    assert_eq!(for_robot.into_inner().personal_access_token.created_by, "admin");
    let robot_pats = admin.netbird_tokens_list().user_id("robot").send().await.expect("list").into_inner();
    assert_eq!(robot_pats.len(), 2);
    let robot_pat = &robot_pats[0].id;
    let foreign = admin.netbird_tokens_retrieve().user_id("admin").token_id(robot_pat).send().await;
    assert_eq!(error_of(foreign), (404, json!({"message": format!("pat: {robot_pat} not found"), "code": 404})));

    let unknown = admin.netbird_tokens_list().user_id("ghost").send().await;
    assert_eq!(error_of(unknown), (404, json!({"message": "user: ghost not found", "code": 404})));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let server = TestServer::start().await;
    let response = server.netbird(ADMIN_PAT).netbird_tokens_list().user_id("admin").send().await.expect("list");
    assert!(response.headers().contains_key("x-request-id"));
    let error = server.netbird("nbp_bad").netbird_tokens_list().user_id("admin").send().await;
    match error {
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            assert!(response.headers().contains_key("x-request-id"))
        }
        other => panic!("expected a 401, got {other:?}"),
    }
}

#[tokio::test]
async fn instance_status_is_unauthenticated_and_needs_no_setup_with_the_bootstrap_owner() {
    let server = TestServer::start().await;
    // Unauthenticated, as upstream: the bootstrap owner exists, so no setup is required.
    let status = server.client("").netbird_instance_retrieve().send().await.expect("instance").into_inner();
    assert!(!status.setup_required);
    let (code, raw) = server.raw(reqwest::Method::GET, "/api/instance", None, None).await;
    assert_eq!((code, raw), (200, serde_json::json!({"setup_required": false})));
    // A loaded state keeps the bootstrap owner, so it still needs none (the rule without an owner: netbird/tests.rs).
    let ownerless = serde_json::json!({"netbird": {"users": [{"id": "auditor", "role": "auditor"}]}});
    server.load(ownerless).await.expect("load");
    let status = server.client("").netbird_instance_retrieve().send().await.expect("instance").into_inner();
    assert!(!status.setup_required);
}
