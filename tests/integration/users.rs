//! authentik and NetBird user operations through the generated client: CRUD, permissions, validation, and what
//! a user's deletion, deactivation or blocking does to their credentials.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{ADMIN_PAT, ALICE_KEY, AUDITOR_PAT, BOB_KEY, TestServer, USER_ROLE_PAT, error_of};

fn user_request(username: &str, name: &str) -> types::builder::UserRequest {
    types::UserRequest::builder().username(username.parse::<types::UserRequestUsername>().unwrap()).name(name)
}

#[tokio::test]
async fn a_created_user_gets_tokens_and_its_deletion_takes_them_and_its_key() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let carol =
        alice.core_users_create().body(user_request("carol", "Carol")).send().await.expect("create").into_inner();
    assert_eq!((carol.username.as_str(), carol.path.as_deref(), carol.is_active), ("carol", Some("users"), Some(true)));
    assert_eq!(alice.core_users_retrieve().id(carol.pk).send().await.expect("retrieve").into_inner().uuid, carol.uuid);
    let token = types::TokenRequest::builder().identifier("carol-api").user(carol.pk).intent(types::IntentEnum::Api);
    alice.core_tokens_create().body(token).send().await.expect("token for carol");
    let key = alice.core_tokens_view_key_retrieve().identifier("carol-api").send().await.expect("key").into_inner().key;
    let as_carol = server.authentik(&key);
    let own = as_carol.core_tokens_list().send().await.expect("carol lists").into_inner();
    assert_eq!(own.results.iter().map(|t| t.identifier.as_str()).collect::<Vec<_>>(), ["carol-api"]);

    alice.core_users_destroy().id(carol.pk).send().await.expect("destroy");
    let (status, body) = error_of(as_carol.core_tokens_list().send().await);
    assert_eq!((status, body), (403, json!({"detail": "Token invalid/expired"})));
    let (status, _) = error_of(alice.core_tokens_retrieve().identifier("carol-api").send().await);
    assert_eq!(status, 404, "the user's tokens went with them");
    let (status, body) = error_of(alice.core_users_retrieve().id(carol.pk).send().await);
    assert_eq!((status, body), (404, json!({"detail": "No User matches the given query."})));
}

#[tokio::test]
async fn list_filters_searches_orders_and_updates() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    for (username, name) in [("dave", "Dave Doe"), ("erin", "Erin Example")] {
        alice
            .core_users_create()
            .body(user_request(username, name).path("ci/team".parse::<types::UserRequestPath>().unwrap()))
            .send()
            .await
            .unwrap();
    }
    let names =
        |page: types::PaginatedUserList| page.results.into_iter().map(|u| u.username.to_string()).collect::<Vec<_>>();
    let by_path = alice.core_users_list().path_startswith("ci/").send().await.unwrap().into_inner();
    assert_eq!(names(by_path), ["dave", "erin"]);
    // Every term in one of email, name, uuid or username, case-insensitively (the seeded emails are @example.com).
    let searched = alice.core_users_list().search("EXAMPLE").send().await.unwrap().into_inner();
    assert_eq!(names(searched), ["alice", "bob", "erin"]);
    let searched = alice.core_users_list().search("doe DAVE").send().await.unwrap().into_inner();
    assert_eq!(names(searched), ["dave"]);
    let ordered = alice.core_users_list().path("ci/team").ordering("-username").send().await.unwrap().into_inner();
    assert_eq!(names(ordered), ["erin", "dave"]);

    let dave = alice.core_users_list().username("dave").send().await.unwrap().into_inner().results.remove(0);
    let patched = types::PatchedUserRequest::builder().name(Some("Dave D.".to_string()));
    let dave = alice.core_users_partial_update().id(dave.pk).body(patched).send().await.unwrap().into_inner();
    assert_eq!((dave.name.as_str(), dave.path.as_deref()), ("Dave D.", Some("ci/team")));
    let put = user_request("david", "David");
    let david = alice.core_users_update().id(dave.pk).body(put).send().await.unwrap().into_inner();
    assert_eq!((david.username.as_str(), david.pk), ("david", dave.pk));
    let (status, body) = error_of(alice.core_users_update().id(dave.pk).body(user_request("erin", "x")).send().await);
    assert_eq!((status, body), (400, json!({"username": ["This field must be unique."]})));
}

#[tokio::test]
async fn validation_is_drf_field_keyed() {
    let server = TestServer::start().await;
    let auth = format!("Bearer {ALICE_KEY}");
    let cases = [
        ("{}", json!({"username": ["This field is required."], "name": ["This field is required."]})),
        (r#"{"username": "alice", "name": "x"}"#, json!({"username": ["This field must be unique."]})),
        (
            r#"{"username": "p", "name": "x", "path": "/lead"}"#,
            json!({"path": ["No leading or trailing slashes allowed."]}),
        ),
        (
            r#"{"username": "p", "name": "x", "path": "a//b"}"#,
            json!({"path": ["No empty segments in user path allowed."]}),
        ),
        (
            r#"{"username": "p", "name": "x", "type": "internal_service_account"}"#,
            json!({"type": ["Setting a user to internal service account is not allowed."]}),
        ),
        (
            r#"{"username": "p", "name": "x", "type": "robot", "is_active": "maybe"}"#,
            json!({"type": ["\"robot\" is not a valid choice."], "is_active": ["Must be a valid boolean."]}),
        ),
        (
            &format!(r#"{{"username": "{}", "name": "x"}}"#, "u".repeat(151)),
            json!({"username": ["Ensure this field has no more than 150 characters."]}),
        ),
        (r#"{"username": "a\u0000b", "name": "x"}"#, json!({"username": ["Null characters are not allowed."]})),
    ];
    for (body, expected) in cases {
        let response = server.raw(Method::POST, "/api/v3/core/users/", Some(&auth), Some(body)).await;
        assert_eq!(response, (400, expected), "{body}");
    }
}

#[tokio::test]
async fn a_normal_user_sees_only_itself_and_changes_nothing() {
    let server = TestServer::start().await;
    let bob = server.authentik(BOB_KEY);
    let listed = bob.core_users_list().send().await.unwrap().into_inner();
    assert_eq!(listed.results.iter().map(|u| u.username.to_string()).collect::<Vec<_>>(), ["bob"]);
    let me = listed.results[0].pk;
    let alice_pk = 2;
    let not_found = json!({"detail": "No User matches the given query."});
    let denied = json!({"detail": "You do not have permission to perform this action."});
    assert_eq!(error_of(bob.core_users_retrieve().id(alice_pk).send().await), (404, not_found.clone()));
    assert_eq!(error_of(bob.core_users_destroy().id(alice_pk).send().await), (404, not_found));
    assert_eq!(error_of(bob.core_users_create().body(user_request("x", "x")).send().await), (403, denied.clone()));
    assert_eq!(error_of(bob.core_users_destroy().id(me).send().await), (403, denied.clone()));
    let patch = types::PatchedUserRequest::builder().name(Some("Bobby".to_string()));
    assert_eq!(error_of(bob.core_users_partial_update().id(me).body(patch).send().await), (403, denied));
}

#[tokio::test]
async fn a_deactivated_user_authenticates_with_none_of_its_keys() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let bob = server.authentik(BOB_KEY);
    bob.core_tokens_list().send().await.expect("bob is active");
    let off = types::PatchedUserRequest::builder().is_active(false);
    alice.core_users_partial_update().id(3).body(off).send().await.unwrap();
    assert_eq!(error_of(bob.core_tokens_list().send().await), (403, json!({"detail": "Token invalid/expired"})));
    let on = types::PatchedUserRequest::builder().is_active(true);
    alice.core_users_partial_update().id(3).body(on).send().await.unwrap();
    bob.core_tokens_list().send().await.expect("bob is active again");
}

fn service_user(name: &str, role: &str) -> types::builder::UserCreateRequest {
    types::UserCreateRequest::builder()
        .name(Some(name.to_string()))
        .role(role)
        .is_service_user(true)
        .auto_groups(vec![])
}

#[tokio::test]
async fn netbird_service_user_pat_works_until_the_user_is_blocked_or_deleted() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let bot = owner.netbird_users_create().body(service_user("deploy-bot", "admin")).send().await.unwrap().into_inner();
    assert_eq!((bot.is_service_user, bot.issued.as_deref(), bot.role.as_str()), (Some(true), Some("api"), "admin"));
    let pat = types::PersonalAccessTokenRequest::builder().name("bot-ci").expires_in(30);
    let plain = owner.netbird_tokens_create().user_id(&bot.id).body(pat).send().await.unwrap().into_inner().plain_token;
    let as_bot = server.netbird(&plain);
    let seen = as_bot.netbird_users_list().send().await.expect("the bot lists with its admin role").into_inner();
    assert!(seen.iter().any(|u| u.id == "admin") && seen.iter().any(|u| u.id == bot.id && u.is_current == Some(true)));
    let services = owner.netbird_users_list().service_user(true).send().await.unwrap().into_inner();
    assert!(services.iter().all(|u| u.is_service_user == Some(true)) && services.iter().any(|u| u.id == bot.id));

    let block = types::NetbirdUserRequest::builder().role("admin").auto_groups(vec![]).is_blocked(true);
    let blocked = owner.netbird_users_update().user_id(&bot.id).body(block).send().await.unwrap().into_inner();
    assert_eq!(blocked.status, types::NetbirdUserStatus::Blocked);
    assert_eq!(error_of(as_bot.netbird_users_list().send().await).0, 403, "a blocked user's PAT stops at once");
    let unblock = types::NetbirdUserRequest::builder().role("admin").auto_groups(vec![]).is_blocked(false);
    owner.netbird_users_update().user_id(&bot.id).body(unblock).send().await.unwrap();
    as_bot.netbird_users_list().send().await.expect("unblocked");

    let deleted = owner.netbird_users_destroy().user_id(&bot.id).send().await.unwrap().into_inner();
    assert!(deleted.is_empty());
    let (status, _) = error_of(as_bot.netbird_users_list().send().await);
    assert_eq!(status, 401, "a deleted user's PAT is unknown");
}

#[tokio::test]
async fn netbird_user_rules_answer_upstreams_statuses() {
    let server = TestServer::start().await;
    let owner = format!("Token {ADMIN_PAT}");
    let call = |method: Method, path: &'static str, auth: String, body: Option<&'static str>| {
        let server = &server;
        async move { server.raw(method, path, Some(&auth), body).await }
    };
    let nb = |status: u16, message: &str| (status, json!({"message": message, "code": status}));
    let cases = [
        (
            Method::POST,
            "/api/users",
            owner.clone(),
            Some(
                r#"{"role": "user", "auto_groups": [], "is_service_user": false, "name": "h", "email": "h@example.com"}"#,
            ),
            nb(412, "idp manager must be enabled to send user invites"),
        ),
        (
            Method::POST,
            "/api/users",
            owner.clone(),
            Some(r#"{"role": "Boss", "is_service_user": true}"#),
            nb(422, "unknown user role boss"),
        ),
        (
            Method::POST,
            "/api/users",
            owner.clone(),
            Some(r#"{"role": "owner", "is_service_user": true}"#),
            nb(422, "can't create a service user with owner role"),
        ),
        (
            Method::POST,
            "/api/users",
            format!("Token {AUDITOR_PAT}"),
            Some(r#"{"role": "user", "is_service_user": true}"#),
            nb(403, "permission denied"),
        ),
        (
            Method::GET,
            "/api/users?service_user=maybe",
            owner.clone(),
            None,
            nb(422, "invalid service_user query parameter"),
        ),
        (
            Method::PUT,
            "/api/users/auditor",
            owner.clone(),
            Some(r#"{"role": "user", "is_blocked": false}"#),
            nb(400, "auto_groups field can't be absent"),
        ),
        (
            Method::PUT,
            "/api/users/auditor",
            owner.clone(),
            Some(r#"{"role": "chief", "auto_groups": []}"#),
            nb(422, "invalid user role"),
        ),
        (
            Method::PUT,
            "/api/users/admin",
            owner.clone(),
            Some(r#"{"role": "owner", "auto_groups": [], "is_blocked": true}"#),
            nb(403, "failed to process update for user admin: admins can't block or unblock themselves"),
        ),
        (
            Method::PUT,
            "/api/users/nobody",
            owner.clone(),
            Some(r#"{"role": "user", "auto_groups": []}"#),
            nb(404, "user: nobody not found"),
        ),
        (Method::DELETE, "/api/users/admin", owner.clone(), None, nb(422, "self deletion is not allowed")),
        (Method::DELETE, "/api/users/admin", format!("Token {USER_ROLE_PAT}"), None, nb(403, "permission denied")),
        (Method::DELETE, "/api/users/nobody", owner.clone(), None, nb(404, "user: nobody not found")),
    ];
    for (method, path, auth, body, expected) in cases {
        assert_eq!(call(method.clone(), path, auth, body).await, expected, "{method} {path} {body:?}");
    }
    // A plain user lists only itself.
    let (status, listed) = call(Method::GET, "/api/users", format!("Token {USER_ROLE_PAT}"), None).await;
    assert_eq!((status, listed.as_array().map(|a| a.len())), (200, Some(1)));
    assert_eq!(listed[0]["id"], "plain-user");
}

#[tokio::test]
async fn me_and_service_accounts() {
    let server = TestServer::start().await;
    let bob = server.authentik(BOB_KEY);
    let me = bob.core_users_me_retrieve().send().await.expect("me").into_inner();
    assert_eq!((me.user.username.as_str(), me.user.pk, me.users.len()), ("bob", 3, 1));
    let request = || {
        types::UserServiceAccountRequest::builder()
            .name("ci robot".parse::<types::UserServiceAccountRequestName>().unwrap())
    };
    let denied = json!({"detail": "You do not have permission to perform this action."});
    assert_eq!(error_of(bob.core_users_service_account_create().body(request()).send().await), (403, denied));

    let alice = server.authentik(ALICE_KEY);
    let created = alice.core_users_service_account_create().body(request()).send().await.expect("created").into_inner();
    assert_eq!((created.username.as_str(), created.group_pk), ("ci robot", None));
    let user = alice.core_users_retrieve().id(created.user_pk).send().await.unwrap().into_inner();
    assert_eq!(
        (user.path.as_deref(), user.type_),
        (Some("goauthentik.io/service-accounts"), Some(types::UserTypeEnum::ServiceAccount))
    );
    let tokens = alice.core_tokens_list().user_username("ci robot").send().await.unwrap().into_inner().results;
    assert_eq!(tokens.len(), 1);
    let token = &tokens[0];
    assert_eq!(
        (token.identifier.as_str(), token.intent),
        ("service-account-ci-robot-password", Some(types::IntentEnum::AppPassword))
    );
    let key = alice
        .core_tokens_view_key_retrieve()
        .identifier(token.identifier.to_string())
        .send()
        .await
        .unwrap()
        .into_inner()
        .key;
    assert_eq!(key, created.token);
    // An app password is not an API key.
    assert_eq!(error_of(server.authentik(&key).core_users_me_retrieve().send().await).0, 403);
    let (status, body) = error_of(alice.core_users_service_account_create().body(request()).send().await);
    assert_eq!((status, body), (400, json!({"name": ["This field must be unique."]})));
    let auth = format!("Bearer {ALICE_KEY}");
    let other = server.raw(Method::POST, "/api/v3/core/users/5/", Some(&auth), Some(r#"{"name": "x"}"#)).await;
    assert_eq!(other, (405, json!({"detail": "Method \"POST\" not allowed."})));
    let not_an_id = server.raw(Method::GET, "/api/v3/core/users/abc/", Some(&auth), None).await;
    assert_eq!(not_an_id, (404, json!({"detail": "Not found."})));
}

/// Every NetBird role × another user's objects × every user and PAT operation: the upstream status of each cell.
#[tokio::test]
async fn netbird_bola_matrix() {
    use crate::support::{NETADMIN_PAT, SERVICE_PAT};
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    // Each cell gets a fresh victim: a service user with one PAT (so admins may manage its PATs) and a
    // human-like target for the user operations.
    let mut n = 0;
    let mut victim = || {
        n += 1;
        let (owner, n) = (&owner, n);
        async move {
            let bot = owner
                .netbird_users_create()
                .body(service_user(&format!("victim-{n}"), "user"))
                .send()
                .await
                .unwrap()
                .into_inner();
            let pat = types::PersonalAccessTokenRequest::builder().name("victim").expires_in(30);
            let pat = owner.netbird_tokens_create().user_id(&bot.id).body(pat).send().await.unwrap().into_inner();
            (bot.id, pat.personal_access_token.id)
        }
    };
    // (role, PAT, [list PATs, create PAT, get PAT, delete PAT, update user, delete user])
    let matrix: [(&str, &str, [u16; 6]); 5] = [
        ("owner", ADMIN_PAT, [200, 200, 200, 200, 200, 200]),
        ("network_admin", NETADMIN_PAT, [403, 403, 403, 403, 403, 403]),
        ("auditor", AUDITOR_PAT, [403, 403, 403, 403, 403, 403]),
        ("user", USER_ROLE_PAT, [403, 403, 403, 403, 403, 403]),
        ("service user (role user)", SERVICE_PAT, [403, 403, 403, 403, 403, 403]),
    ];
    for (role, pat, expected) in matrix {
        let auth = format!("Token {pat}");
        let (target, pat_id) = victim().await;
        let tokens = format!("/api/users/{target}/tokens");
        let token = format!("{tokens}/{pat_id}");
        let user = format!("/api/users/{target}");
        let calls: [(Method, String, Option<&str>); 6] = [
            (Method::GET, tokens.clone(), None),
            (Method::POST, tokens.clone(), Some(r#"{"name": "bola", "expires_in": 1}"#)),
            (Method::GET, token.clone(), None),
            (Method::DELETE, token.clone(), None),
            (Method::PUT, user.clone(), Some(r#"{"role": "user", "auto_groups": [], "is_blocked": false}"#)),
            (Method::DELETE, user.clone(), None),
        ];
        for ((method, path, body), status) in calls.into_iter().zip(expected) {
            let (got, response) = server.raw(method.clone(), &path, Some(&auth), body).await;
            assert_eq!(got, status, "{role}: {method} {path}: {response}");
        }
    }
}

/// authentik's two kinds of caller × another user and that user's token × every user and token operation.
#[tokio::test]
async fn authentik_bola_matrix() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    // (caller, key, [retrieve user, update user, delete user, retrieve token, update token, delete token])
    let matrix: [(&str, &str, [u16; 6]); 2] = [
        ("superuser", ALICE_KEY, [200, 200, 204, 200, 200, 204]),
        ("normal user", BOB_KEY, [404, 404, 404, 404, 404, 404]),
    ];
    for (n, (caller, key, expected)) in matrix.into_iter().enumerate() {
        let victim =
            alice.core_users_create().body(user_request(&format!("victim{n}"), "V")).send().await.unwrap().into_inner();
        let identifier = format!("victim-token-{n}");
        let token = types::TokenRequest::builder().identifier(identifier.clone()).user(victim.pk);
        alice.core_tokens_create().body(token).send().await.unwrap();
        let auth = format!("Bearer {key}");
        let user = format!("/api/v3/core/users/{}/", victim.pk);
        let token = format!("/api/v3/core/tokens/{identifier}/");
        let calls: [(Method, &str, Option<&str>); 6] = [
            (Method::GET, &user, None),
            (Method::PATCH, &user, Some(r#"{"name": "owned"}"#)),
            (Method::DELETE, &user, None),
            (Method::GET, &token, None),
            (Method::PATCH, &token, Some(r#"{"description": "owned"}"#)),
            (Method::DELETE, &token, None),
        ];
        // The superuser's user delete takes the token with it, so its token cells run before it.
        let order = if n == 0 { [0, 1, 3, 4, 5, 2] } else { [0, 1, 2, 3, 4, 5] };
        for i in order {
            let (method, path, body) = &calls[i];
            let (got, response) = server.raw(method.clone(), path, Some(&auth), *body).await;
            assert_eq!(got, expected[i], "{caller}: {method} {path}: {response}");
        }
    }
}

/// Two users churn delete, create and set_key of one identifier at once: a key set by one never authenticates
/// as the other (writes go to the row that was checked, by its pk).
async fn churn_one_identifier(server: &TestServer) {
    let alice = server.authentik(ALICE_KEY);
    let carol = alice.core_users_create().body(user_request("carol", "Carol")).send().await.unwrap().into_inner();
    let token = types::TokenRequest::builder().identifier("carol-api").user(carol.pk).intent(types::IntentEnum::Api);
    alice.core_tokens_create().body(token).send().await.unwrap();
    let carol_key =
        alice.core_tokens_view_key_retrieve().identifier("carol-api").send().await.unwrap().into_inner().key;
    let worker = |name: &'static str, key: String| {
        let client = server.authentik(&key);
        let base = server.base.clone();
        async move {
            let mut checked = 0;
            for round in 0..60 {
                let _ = client.core_tokens_create().body(request_shared()).send().await;
                let new_key = format!("{name}-key-{round}-0123456789abcdefghijklmnopqrstuvwxyz");
                let body = types::TokenSetKeyRequest::builder().key(new_key.clone());
                if client.core_tokens_set_key_create().identifier("shared").body(body).send().await.is_ok() {
                    let me = tokenstack_client::Client::new_with_client(&base, authorized(&new_key));
                    if let Ok(me) = me.core_users_me_retrieve().send().await {
                        assert_eq!(
                            me.into_inner().user.username.to_string(),
                            name,
                            "round {round}: a key set by {name}"
                        );
                        checked += 1;
                    }
                }
                let _ = client.core_tokens_destroy().identifier("shared").send().await;
            }
            checked
        }
    };
    let (bob, carol) = tokio::join!(worker("bob", BOB_KEY.to_string()), worker("carol", carol_key));
    assert!(bob + carol > 0, "some set_key calls succeeded and were checked");
}

fn request_shared() -> types::builder::TokenRequest {
    types::TokenRequest::builder().identifier("shared").intent(types::IntentEnum::Api)
}

fn authorized(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {key}").parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_never_lands_on_another_users_token_memory() {
    churn_one_identifier(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_never_lands_on_another_users_token_sqlite() {
    let path = std::env::temp_dir().join(format!("tokenstack-churn-{}.db", std::process::id()));
    let store = format!("sqlite:{}", path.display());
    churn_one_identifier(&TestServer::start_with(|config| config.store = store).await).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Users made through the upstream APIs, with every field they were given, survive a state export and load.
#[tokio::test]
async fn api_users_survive_export_and_load() {
    use crate::support::ADMIN_TOKEN;
    let server = TestServer::start().await;
    let admin = server.client(&format!("Bearer {ADMIN_TOKEN}"));
    let owner = server.netbird(ADMIN_PAT);
    let request = service_user("exported-bot", "user")
        .email(Some("bot@example.com".to_string()))
        .auto_groups(vec!["g1".to_string()]);
    let bot = owner.netbird_users_create().body(request).send().await.unwrap().into_inner();
    let alice = server.authentik(ALICE_KEY);
    alice.core_users_create().body(user_request("exported", "Ex Ported")).send().await.unwrap();
    let exported = admin.admin_state_export().send().await.unwrap().into_inner();
    admin.admin_reset().send().await.unwrap();
    assert!(owner.netbird_users_list().send().await.unwrap().into_inner().iter().all(|u| u.id != bot.id));
    let document: types::SeedDocument = serde_json::from_value(serde_json::to_value(&exported).unwrap()).unwrap();
    admin.admin_state_load().body(document).send().await.unwrap();
    let users = owner.netbird_users_list().send().await.unwrap().into_inner();
    let back = users.iter().find(|u| u.id == bot.id).expect("the bot is back");
    assert_eq!(
        (back.name.as_str(), back.email.as_str(), back.auto_groups.clone()),
        ("exported-bot", "bot@example.com", vec!["g1".to_string()])
    );
    let found = alice.core_users_list().username("exported").send().await.unwrap().into_inner().results;
    assert_eq!(found.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Ex Ported"]);
}

#[tokio::test]
async fn set_password_stores_a_salted_hash_and_answers_as_upstream() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let before = alice.core_users_retrieve().id(3).send().await.unwrap().into_inner();
    let body = types::UserPasswordSetRequest::builder()
        .password("  correct horse  ".parse::<types::UserPasswordSetRequestPassword>().unwrap());
    let set = alice.core_users_set_password_create().id(3).body(body).send().await.unwrap();
    assert_eq!(set.status(), 204);
    let after = alice.core_users_retrieve().id(3).send().await.unwrap().into_inner();
    assert!(after.password_change_date > before.password_change_date);
    // Stored as Django's salted hash of the trimmed password (DRF's CharField trims), never in plain text.
    let state = serde_json::to_value(server.admin().admin_state_export().send().await.unwrap().into_inner()).unwrap();
    let bob = &state["authentik"]["users"].as_array().unwrap().iter().find(|u| u["username"] == "bob").unwrap().clone();
    let hash: tokenstack_server::secrets::PasswordHash = serde_json::from_value(bob["password"].clone()).unwrap();
    assert!(bob["password"].as_str().unwrap().starts_with("pbkdf2_sha256$"), "{bob}");
    assert!(hash.verify("correct horse") && !hash.verify("  correct horse  "));

    let auth = format!("Bearer {ALICE_KEY}");
    let post = |path: &'static str, body: &'static str, auth: String| {
        let server = &server;
        async move { server.raw(Method::POST, path, Some(&auth), Some(body)).await }
    };
    let cases = [
        (
            "/api/v3/core/users/999/set_password/",
            r#"{"password": "x"}"#,
            404,
            json!({"detail": "No User matches the given query."}),
        ),
        ("/api/v3/core/users/abc/set_password/", r#"{"password": "x"}"#, 404, json!({"detail": "Not found."})),
        ("/api/v3/core/users/3/set_password/", "{}", 400, json!({"password": ["This field is required."]})),
        (
            "/api/v3/core/users/3/set_password/",
            r#"{"password": "   "}"#,
            400,
            json!({"password": ["This field may not be blank."]}),
        ),
        (
            "/api/v3/core/users/3/set_password/",
            r#"{"password": null}"#,
            400,
            json!({"password": ["This field may not be null."]}),
        ),
    ];
    for (path, body, status, answer) in cases {
        assert_eq!(post(path, body, auth.clone()).await, (status, answer), "{path} {body}");
    }
    // Without permissions on users: 403 for bob, on himself, on alice and on nobody (upstream's `ObjectFilter`).
    let bob_auth = format!("Bearer {BOB_KEY}");
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    for path in [
        "/api/v3/core/users/2/set_password/",
        "/api/v3/core/users/3/set_password/",
        "/api/v3/core/users/999/set_password/",
    ] {
        assert_eq!(post(path, r#"{"password": "x"}"#, bob_auth.clone()).await, (403, forbidden.clone()), "{path}");
    }
}
