//! NetBird's instance bootstrap as its e2e harness drives it: a tokenstack started with `--netbird-setup` has no
//! NetBird owner, `GET /api/instance` says setup is required, `POST /api/setup` makes the owner (and, with
//! `--setup-pat-enabled`, a PAT), and the harness goes on with that PAT; every refusal with upstream's text.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{ADMIN_PAT, AUDITOR_PAT, NETADMIN_PAT, SERVICE_PAT, TestServer, USER_ROLE_PAT, error_of};

async fn setup_server(setup_pat_enabled: bool) -> TestServer {
    TestServer::start_with(|config| {
        config.bootstrap_pat = None;
        config.netbird_setup = true;
        config.setup_pat_enabled = setup_pat_enabled;
        // The example seed has NetBird users but no owner.
    })
    .await
}

fn setup_body(email: &str) -> types::SetupRequest {
    types::SetupRequest {
        create_pat: Some(true),
        email: email.to_string(),
        name: "Admin User".to_string(),
        password: "securepassword123".parse().expect("8 characters or more"),
        pat_expire_in: std::num::NonZeroU64::MIN,
    }
}

#[tokio::test]
async fn the_harness_bootstraps_through_setup_and_goes_on_with_its_pat() {
    let server = setup_server(true).await;
    let anonymous = server.client("");
    assert!(anonymous.netbird_instance_retrieve().send().await.expect("instance").into_inner().setup_required);

    let long = "p".repeat(73);
    let cases = [
        ("[]", 400, "invalid request body"),
        (r#"{"email": 1}"#, 400, "invalid request body"),
        (
            r#"{"email": "a@b.c", "name": "A", "password": "12345678", "create_pat": true, "pat_expire_in": 0}"#,
            422,
            "pat_expire_in must be between 1 and 365",
        ),
        (r#"{"name": "A", "password": "12345678"}"#, 422, "email is required"),
        (r#"{"email": "nobody", "name": "A", "password": "12345678"}"#, 422, "invalid email format"),
        (r#"{"email": "a@b.c", "password": "12345678"}"#, 422, "name is required"),
        (r#"{"email": "a@b.c", "name": "A"}"#, 422, "password is required"),
        (r#"{"email": "a@b.c", "name": "A", "password": "1234567"}"#, 422, "password must be at least 8 characters"),
    ];
    for (body, status, message) in cases {
        let response = server.raw(Method::POST, "/api/setup", None, Some(body)).await;
        assert_eq!(response, (status, json!({"message": message, "code": status})), "{body}");
    }
    let too_long = format!(r#"{{"email": "a@b.c", "name": "A", "password": "{long}"}}"#);
    let response = server.raw(Method::POST, "/api/setup", None, Some(&too_long)).await;
    assert_eq!(response, (422, json!({"message": "password must be at most 72 characters", "code": 422})));
    assert!(anonymous.netbird_instance_retrieve().send().await.expect("instance").into_inner().setup_required);

    let done = anonymous.netbird_setup_create().body(setup_body("admin@example.com")).send().await;
    let done = done.expect("setup");
    // The response may carry a plain PAT: upstream forbids caching it.
    assert_eq!(done.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    let done = done.into_inner();
    assert_eq!(done.email, "admin@example.com");
    // Dex's id of a local user: base64 of {1: a uuid, 2: "local"}, 36 + 9 bytes.
    assert_eq!(done.user_id.len(), 60, "{}", done.user_id);
    let pat = done.personal_access_token.expect("a PAT with --setup-pat-enabled");
    assert!(!anonymous.netbird_instance_retrieve().send().await.expect("instance").into_inner().setup_required);

    // The harness goes on with the PAT: the owner, the account's `All` group, a group and the agents' key.
    let owner = server.netbird(&pat);
    let me = owner.netbird_users_current().send().await.expect("current").into_inner();
    assert_eq!((me.id.as_str(), me.role.as_str()), (done.user_id.as_str(), "owner"));
    let users = owner.netbird_users_list().send().await.expect("users").into_inner();
    let me = users.iter().find(|u| u.is_current == Some(true)).expect("the owner");
    assert_eq!(
        (me.id.as_str(), me.role.as_str(), me.email.as_str()),
        (done.user_id.as_str(), "owner", "admin@example.com")
    );
    let tokens = owner.netbird_tokens_list().user_id(&done.user_id).send().await.expect("tokens").into_inner();
    assert_eq!(tokens.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["setup-token"]);
    assert_eq!((tokens[0].expiration_date - tokens[0].created_at).num_days(), 1);
    let groups = owner.netbird_groups_list().send().await.expect("groups").into_inner();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["All"]);
    let group = owner.netbird_groups_create().body(types::GroupRequest::builder().name("e2e")).send().await;
    group.expect("group");
    let key = types::CreateSetupKeyRequest::builder()
        .name("e2e-agents")
        .type_("reusable")
        .expires_in(86_400)
        .usage_limit(0)
        .auto_groups(Vec::<String>::new());
    let key = owner.netbird_setup_keys_create().body(key).send().await.expect("setup key").into_inner();
    assert_eq!((key.name.as_str(), key.state.as_str()), ("e2e-agents", "valid"));

    // Once set up, setup is upstream's 412 (before any check of a body that would otherwise be valid).
    let again = anonymous.netbird_setup_create().body(setup_body("other@example.com")).send().await;
    assert_eq!(error_of(again), (412, json!({"message": "setup already completed", "code": 412})));

    // Reset goes back to the start-up state: no owner, setup required again.
    server.reset().await.expect("reset");
    assert!(anonymous.netbird_instance_retrieve().send().await.expect("instance").into_inner().setup_required);
    let error = owner.netbird_users_list().send().await;
    assert_eq!(error_of(error).0, 401);
}

#[tokio::test]
async fn without_setup_pats_create_pat_is_ignored_and_a_bootstrapped_instance_refuses_setup() {
    let server = setup_server(false).await;
    // Without setup PATs, create_pat and pat_expire_in are ignored (0 included).
    let body = r#"{"email": "ops@example.com", "name": "Ops", "password": "12345678", "create_pat": true,
                   "pat_expire_in": 0}"#;
    let (status, done) = server.raw(Method::POST, "/api/setup", None, Some(body)).await;
    assert_eq!(
        (status, done["email"].clone(), done.get("personal_access_token")),
        (200, json!("ops@example.com"), None)
    );
    let (status, raw) = server.raw(Method::GET, "/api/instance", None, None).await;
    assert_eq!((status, raw), (200, json!({"setup_required": false})));

    // A tokenstack with its bootstrap owner is set up from the start.
    let bootstrapped = TestServer::start().await;
    let refused = bootstrapped.client("").netbird_setup_create().body(setup_body("x@example.com")).send().await;
    assert_eq!(error_of(refused), (412, json!({"message": "setup already completed", "code": 412})));
    bootstrapped.netbird(ADMIN_PAT).netbird_groups_list().send().await.expect("the bootstrap owner works");

    // --netbird-setup and a bootstrap PAT contradict each other.
    let both = tokenstack_testing::TestServer::builder()
        .netbird_pat(ADMIN_PAT)
        .config(|config| config.netbird_setup = true)
        .try_start()
        .await;
    let message = both.err().expect("refused").to_string();
    assert!(message.contains("--netbird-setup"), "{message}");
}

#[tokio::test]
async fn current_user_shows_the_caller_with_its_roles_permissions() {
    let server = TestServer::start().await;
    let me = server.netbird(ADMIN_PAT).netbird_users_current().send().await.expect("current").into_inner();
    assert_eq!((me.id.as_str(), me.role.as_str(), me.is_current), ("admin", "owner", Some(true)));
    let permissions = me.permissions.expect("permissions");
    assert_eq!((permissions.is_restricted, permissions.modules.len()), (false, 24));
    assert!(permissions.modules.values().all(|ops| ops.len() == 4 && ops.values().all(|allowed| *allowed)));

    let auditor = server.netbird(AUDITOR_PAT).netbird_users_current().send().await.expect("current").into_inner();
    let modules = auditor.permissions.expect("permissions").modules;
    assert!(modules["setup_keys"]["read"] && !modules["setup_keys"]["create"]);
    let netadmin = server.netbird(NETADMIN_PAT).netbird_users_current().send().await.expect("current").into_inner();
    let modules = netadmin.permissions.expect("permissions").modules;
    assert!(modules["groups"]["delete"] && modules["setup_keys"]["read"] && !modules["setup_keys"]["delete"]);
    // A user of role `user` sees nothing and its peers view is restricted (new accounts block regular users).
    let user = server.netbird(USER_ROLE_PAT).netbird_users_current().send().await.expect("current").into_inner();
    let permissions = user.permissions.expect("permissions");
    assert!(permissions.is_restricted);
    assert!(permissions.modules.values().all(|ops| ops.values().all(|allowed| !allowed)));

    // A service user is refused, whatever it may read elsewhere.
    let service = server.netbird(SERVICE_PAT).netbird_users_current().send().await;
    assert_eq!(error_of(service), (403, json!({"message": "permission denied", "code": 403})));
    let anonymous = server.client("").netbird_users_current().send().await;
    assert_eq!(error_of(anonymous), (401, json!({"message": "no valid authentication provided", "code": 401})));
    // `current` shares its route with `/api/users/{userId}`, which has no GET.
    let auth = format!("Token {ADMIN_PAT}");
    let response = server.raw(Method::GET, "/api/users/admin", Some(&auth), None).await;
    assert_eq!(response, (405, json!({"message": "method not allowed", "code": 405})));
}
