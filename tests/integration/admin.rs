//! The admin API (`/_tokenstack/`), the clock offset, fault injection and response self-validation.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use tokenstack_client::types;
use tokenstack_server::secrets::PasswordHash;

use crate::support::{ADMIN_KEY, ADMIN_PAT, ADMIN_TOKEN, ALICE_KEY, TestServer, error_of};

fn admin(server: &TestServer) -> tokenstack_client::Client {
    server.client(&format!("Bearer {ADMIN_TOKEN}"))
}

async fn export(admin: &tokenstack_client::Client) -> Value {
    serde_json::to_value(admin.admin_state_export().send().await.expect("export").into_inner()).unwrap()
}

fn doc(value: &Value) -> types::SeedDocument {
    serde_json::from_value(value.clone()).unwrap()
}

fn faults(rules: Value) -> types::FaultConfig {
    serde_json::from_value(json!({ "rules": rules })).expect("valid fault config")
}

#[tokio::test]
async fn admin_api_refuses_upstream_credentials_and_missing_tokens() {
    let server = TestServer::start().await;
    for authorization in [
        format!("Bearer {ADMIN_KEY}"),
        format!("Token {ADMIN_PAT}"),
        format!("Bearer {ADMIN_PAT}"),
        "Bearer nope".into(),
    ] {
        let result = server.client(&authorization).admin_state_export().send().await;
        let (status, body) = error_of(result);
        assert_eq!(status, 401, "{authorization}: {body}");
        assert!(body["message"].as_str().unwrap().contains("admin token required"), "{body}");
    }
    let (status, _) = server.raw(Method::POST, "/_tokenstack/reset", None, None).await;
    assert_eq!(status, 401);
    // The admin token is no upstream credential either.
    let (status, _) =
        server.raw(Method::GET, "/api/v3/core/tokens/", Some(&format!("Bearer {ADMIN_TOKEN}")), None).await;
    assert_eq!(status, 403);
    let (status, _) =
        server.raw(Method::GET, "/api/users/admin/tokens", Some(&format!("Token {ADMIN_TOKEN}")), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_admin_token_is_trimmed_at_least_32_characters_and_no_upstream_credential() {
    let start = |token: &str| {
        let mut config = crate::support::test_config();
        config.admin_token = Some(token.into());
        async move { tokenstack_server::start(&config).await.err().map(|err| err.to_string()) }
    };
    let short = "  0123456789abcdef0123456789abcde  ";
    assert_eq!(
        start(short).await.as_deref(),
        Some("--admin-token: must be at least 32 characters long (spaces around it do not count)")
    );
    assert_eq!(start(ADMIN_KEY).await.as_deref(), Some("--admin-token: must differ from the bootstrap token and PAT"));

    // Spaces around the configured token do not count, as they do not around the presented one.
    let server = TestServer::start_with(|config| config.admin_token = Some(format!("  {ADMIN_TOKEN}\n").into())).await;
    let clock = admin(&server).admin_clock_retrieve().send().await.expect("admin token accepted");
    assert_eq!(clock.into_inner().offset_seconds, 0);
}

#[tokio::test]
async fn admin_api_is_disabled_without_an_admin_token() {
    let server = TestServer::start_with(|config| config.admin_token = None).await;
    let (status, body) = error_of(admin(&server).admin_clock_retrieve().send().await);
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().contains("--admin-token"), "{body}");
}

#[tokio::test]
async fn export_load_reset_round_trip() {
    let server = TestServer::start().await;
    let admin = admin(&server);
    let initial = export(&admin).await;
    // PATs are exported as hashes, never in plain text.
    assert!(!serde_json::to_string(&initial).unwrap().contains(ADMIN_PAT));

    // Change the state: a new token and a deleted one.
    let ak = server.authentik(ADMIN_KEY);
    ak.core_tokens_create()
        .body(types::TokenRequest::builder().identifier("made-after-export"))
        .send()
        .await
        .expect("create");
    ak.core_tokens_destroy().identifier("alice-ci").send().await.expect("delete");
    let changed = export(&admin).await;
    assert_ne!(changed, initial);

    // Loading the first export restores it exactly, credentials included.
    admin.admin_state_load().body(doc(&initial)).send().await.expect("load");
    assert_eq!(export(&admin).await, initial);
    ak.core_tokens_retrieve().identifier("alice-ci").send().await.expect("alice-ci is back");
    server.authentik(ALICE_KEY).core_tokens_list().send().await.expect("alice's key works again");

    // Load the changed state, then reset to the start-up state.
    admin.admin_state_load().body(doc(&changed)).send().await.expect("load");
    assert_eq!(export(&admin).await, changed);
    admin.admin_reset().send().await.expect("reset");
    assert_eq!(export(&admin).await, initial);

    // A minimal, hand-written seed document (no `expires`, no `key_viewers`: the loader's defaults), sent as
    // plain JSON: the bootstrap credentials are re-applied on top of it.
    let minimal = json!({
        "authentik": {"users": [{"pk": 50, "username": "carol"}], "tokens": [{"identifier": "carol-ci", "user": "carol", "key": "carol-key-0123456789"}]},
        "netbird": {"users": [{"id": "dave", "role": "user"}]}
    });
    assert!(serde_json::from_value::<types::SeedDocument>(minimal.clone()).is_err(), "the spec requires expires");
    server.load(minimal).await.expect("load");
    let carol = server.authentik("carol-key-0123456789");
    let own = carol.core_tokens_list().send().await.expect("carol authenticates").into_inner();
    assert_eq!(own.results.len(), 1);
    assert!(own.results[0].expires.is_some_and(|e| e > Utc::now() + TimeDelta::hours(23)), "a day from loading");
    assert_eq!(error_of(ak.core_tokens_retrieve().identifier("alice-ci").send().await).0, 404);
    server.netbird(ADMIN_PAT).netbird_tokens_list().user_id("admin").send().await.expect("bootstrap PAT kept");

    // An invalid document changes nothing. The typed client already refuses an unknown key (the schema has
    // `additionalProperties: false`); sent anyway, the server answers 400 naming it.
    let before = export(&admin).await;
    let bad = json!({"authentik": {"userz": []}});
    assert!(serde_json::from_value::<types::SeedDocument>(bad.clone()).is_err());
    assert_load_refused(&server, bad, "userz").await;
    // At every level, beside the flattened provider settings too.
    let typos = [
        (json!({"authentik": {"users": [{"pk": 60, "username": "alice2", "is_superusr": true}]}}), "is_superusr"),
        (
            json!({"authentik": {"users": [{"pk": 60, "username": "alice2", "groups": [{"name": "g", "is_superusr": true}]}]}}),
            "is_superusr",
        ),
        (json!({"authentik": {"providers": [{"pk": 9, "name": "p", "client_secrt": "s"}]}}), "client_secrt"),
    ];
    for (bad, key) in typos {
        assert_load_refused(&server, bad, &format!("unknown field `{key}`")).await;
    }
    assert_eq!(export(&admin).await, before);

    // Values past the clock's or the pk's range are a 400 naming them, never a dropped connection.
    let far = json!({
        "netbird": {"users": [{"id": "dave", "role": "user", "pats": [{"name": "far", "token": ADMIN_PAT, "expires_in": 100_000_000}]}]}
    });
    assert_load_refused(&server, far, "expires_in 100000000 days is out of range").await;
    let last_pk = json!({"authentik": {"users": [{"pk": i64::MAX, "username": "maxine"}]}});
    assert_load_refused(&server, last_pk, "no user pk is left for akadmin").await;
    assert_eq!(export(&admin).await, before);
}

async fn assert_load_refused(server: &TestServer, document: Value, message: &str) {
    match server.load(document).await {
        Err(tokenstack_testing::Error::Admin { status: Some(400), detail, .. }) => {
            assert!(detail.contains(message), "{detail}")
        }
        other => panic!("expected a 400 containing {message:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn creates_users_providers_and_oauth_tokens() {
    let server = TestServer::start().await;
    let admin = admin(&server);
    let user: types::AdminAuthentikUser = serde_json::from_value(json!({
        "pk": 40, "username": "erin", "groups": [{"name": "admins", "is_superuser": true}], "password": "erin-pw"
    }))
    .unwrap();
    let created = admin.admin_authentik_users_create().body(user.clone()).send().await.expect("user").into_inner();
    assert_eq!((created.pk, created.username.as_str(), created.is_superuser), (40, "erin", Some(false)));
    assert_eq!(created.password, None, "the response never shows the password");
    assert_eq!(error_of(admin.admin_authentik_users_create().body(user).send().await).0, 400);
    // The export holds only the password's salted hash.
    let state = export(&admin).await;
    let erin = state["authentik"]["users"].as_array().unwrap().iter().find(|u| u["username"] == "erin").unwrap();
    let hash: PasswordHash = serde_json::from_value(erin["password"].clone()).expect("a hash");
    assert!(hash.verify("erin-pw") && !state.to_string().contains("erin-pw"));

    // erin is an effective superuser through her group: her token sees every token.
    let ak = server.authentik(ADMIN_KEY);
    let request = types::TokenRequest::builder().identifier("erin-api").user(40).intent(types::IntentEnum::Api);
    ak.core_tokens_create().body(request).send().await.expect("token for erin");
    let key = ak.core_tokens_view_key_retrieve().identifier("erin-api").send().await.expect("key").into_inner().key;
    let all = server.authentik(&key).core_tokens_list().send().await.expect("list").into_inner();
    assert!(all.results.len() > 1, "a superuser sees every token");

    let provider: types::AdminAuthentikProvider = serde_json::from_value(json!({"pk": 9, "name": "wiki"})).unwrap();
    admin.admin_authentik_providers_create().body(provider).send().await.expect("provider");
    let access: types::AdminOAuthToken =
        serde_json::from_value(json!({"pk": 70, "provider": 9, "user": "erin", "scope": ["openid"]})).unwrap();
    let access = admin.admin_authentik_access_tokens_create().body(access).send().await.expect("access").into_inner();
    assert!(access.token.is_some_and(|t| !t.is_empty()));
    let refresh: types::AdminOAuthToken =
        serde_json::from_value(json!({"pk": 71, "provider": 9, "user": "erin"})).unwrap();
    admin.admin_authentik_refresh_tokens_create().body(refresh).send().await.expect("refresh");
    let fetched = ak.oauth2_access_tokens_retrieve().id(70).send().await.expect("access token visible").into_inner();
    assert_eq!(fetched.scope, ["openid"]);
    ak.oauth2_refresh_tokens_retrieve().id(71).send().await.expect("refresh token visible");
    let unknown: types::AdminOAuthToken =
        serde_json::from_value(json!({"pk": 72, "provider": 9, "user": "nobody"})).unwrap();
    assert_eq!(error_of(admin.admin_authentik_access_tokens_create().body(unknown).send().await).0, 400);

    // NetBird users: a blocked user cannot act, a service user is listed as such by role rules.
    for (id, role, service, blocked) in [("svc", "admin", true, false), ("gone", "admin", false, true)] {
        let user: types::AdminNetbirdUser =
            serde_json::from_value(json!({"id": id, "role": role, "service_user": service, "blocked": blocked}))
                .unwrap();
        let created = admin.admin_netbird_users_create().body(user).send().await.expect("nb user").into_inner();
        assert_eq!((created.service_user, created.blocked), (Some(service), Some(blocked)));
    }
    let nb = server.netbird(ADMIN_PAT);
    let request =
        types::PersonalAccessTokenRequest::builder().name("ci").expires_in(std::num::NonZeroU64::new(5).unwrap());
    let svc_pat = nb.netbird_tokens_create().user_id("svc").body(request).send().await.expect("PAT for a service user");
    let plain = svc_pat.into_inner().plain_token;
    server.netbird(&plain).netbird_tokens_list().user_id("svc").send().await.expect("service user's PAT works");
}

#[tokio::test]
async fn clock_offset_drives_expiry() {
    let server = TestServer::start().await;
    let admin = admin(&server);
    assert_eq!(admin.admin_clock_retrieve().send().await.expect("clock").into_inner().offset_seconds, 0);

    let ak = server.authentik(ADMIN_KEY);
    let expires = Utc::now() + TimeDelta::days(1);
    let request = types::TokenRequest::builder().identifier("short-lived").expires(Some(expires)).expiring(true);
    ak.core_tokens_create().body(request).send().await.expect("create");
    let key = ak.core_tokens_view_key_retrieve().identifier("short-lived").send().await.expect("key").into_inner().key;
    server.authentik(&key).core_tokens_list().send().await.expect("valid today");

    let nb = server.netbird(ADMIN_PAT);
    let request =
        types::PersonalAccessTokenRequest::builder().name("one-day").expires_in(std::num::NonZeroU64::new(1).unwrap());
    let plain =
        nb.netbird_tokens_create().user_id("admin").body(request).send().await.expect("pat").into_inner().plain_token;
    server.netbird(&plain).netbird_tokens_list().user_id("admin").send().await.expect("valid today");

    let two_days = 2 * 86_400;
    let set =
        admin.admin_clock_update().body(types::ClockOffset { offset_seconds: two_days }).send().await.expect("set");
    assert_eq!(set.into_inner().offset_seconds, two_days);
    assert_eq!(admin.admin_clock_retrieve().send().await.expect("clock").into_inner().offset_seconds, two_days);

    let (status, _) = error_of(server.authentik(&key).core_tokens_list().send().await);
    assert_eq!(status, 403, "an expired authentik token no longer authenticates");
    let (status, body) = error_of(server.netbird(&plain).netbird_tokens_list().user_id("admin").send().await);
    assert_eq!(status, 401, "an expired PAT is a 401: {body}");
    // Back to now: both work again.
    admin.admin_clock_update().body(types::ClockOffset { offset_seconds: 0 }).send().await.expect("reset clock");
    server.authentik(&key).core_tokens_list().send().await.expect("valid again");
}

#[tokio::test]
async fn fault_latency_fixed_and_range() {
    let server = TestServer::start().await;
    let admin = admin(&server);
    let config = faults(json!([{"operation_id": "healthz", "latency_ms": 150}]));
    admin.admin_faults_update().body(config).send().await.expect("set");
    let client = server.client("Bearer x");
    let started = Instant::now();
    client.healthz().send().await.expect("healthz");
    assert!(started.elapsed() >= Duration::from_millis(150));
    // The admin API itself is never faulted: no injected latency is counted for it.
    admin.admin_faults_retrieve().send().await.expect("get");

    let config = faults(json!([{"operation_id": "*", "latency_ms": 20, "latency_max_ms": 60, "seed": 3}]));
    admin.admin_faults_update().body(config).send().await.expect("set");
    for _ in 0..3 {
        let started = Instant::now();
        client.readyz().send().await.expect("readyz");
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
    }
    let metrics = metrics_text(&server).await;
    assert!(
        metrics.contains(r#"tokenstack_injected_faults_total{kind="latency",operation_id="readyz"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"tokenstack_injected_faults_total{kind="latency",operation_id="healthz"} 1"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"tokenstack_injected_faults_total{kind="latency",operation_id="admin_"#), "{metrics}");
}

async fn statuses(server: &TestServer, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        let (status, _) =
            server.raw(Method::GET, "/api/users/admin/tokens", Some(&format!("Token {ADMIN_PAT}")), None).await;
        out.push(status);
    }
    out
}

#[tokio::test]
async fn fault_errors_are_upstream_shaped_and_replay_with_a_seed() {
    let server = TestServer::start().await;
    let admin = admin(&server);
    let rule = json!([{"operation_id": "netbird_tokens_list", "error_rate": 0.5, "error_status": 500, "seed": 42}]);
    admin.admin_faults_update().body(faults(rule.clone())).send().await.expect("set");
    let first = statuses(&server, 20).await;
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
    // Setting the same rules again reseeds: the same sequence replays.
    admin.admin_faults_update().body(faults(rule)).send().await.expect("set");
    assert_eq!(statuses(&server, 20).await, first);

    // Bodies take each upstream's error shape.
    let all = json!([{"operation_id": "*", "error_rate": 1.0, "error_status": 403}]);
    admin.admin_faults_update().body(faults(all)).send().await.expect("set");
    let (status, body) =
        server.raw(Method::GET, "/api/users/admin/tokens", Some(&format!("Token {ADMIN_PAT}")), None).await;
    assert_eq!((status, body), (403, json!({"message": "tokenstack: injected fault (403)", "code": 403})));
    let (status, body) =
        server.raw(Method::GET, "/api/v3/core/tokens/", Some(&format!("Bearer {ADMIN_KEY}")), None).await;
    assert_eq!((status, body), (403, json!({"detail": "tokenstack: injected fault (403)"})));

    // Off again with an empty list.
    admin.admin_faults_update().body(faults(json!([]))).send().await.expect("clear");
    assert!(statuses(&server, 3).await.iter().all(|s| *s == 200));
    let metrics = metrics_text(&server).await;
    assert!(
        metrics.contains(r#"tokenstack_injected_faults_total{kind="error",operation_id="netbird_tokens_list"}"#),
        "{metrics}"
    );

    let bad = json!([{"operation_id": "no_such_operation", "error_rate": 1.0}]);
    assert_eq!(error_of(admin.admin_faults_update().body(faults(bad)).send().await).0, 400);
}

#[tokio::test]
async fn fault_drops_connections_deterministically() {
    let server = TestServer::start().await;
    let admin = admin(&server);
    let rule = json!([{"operation_id": "healthz", "drop_rate": 0.5, "seed": 9}]);
    let outcomes = || async {
        let mut out = Vec::new();
        for _ in 0..12 {
            // A fresh connection each time: a dropped one is not reused.
            let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
            let result = http.get(format!("{}/healthz", server.base)).send().await;
            out.push(match result {
                Ok(response) => Some(response.status().as_u16()),
                Err(err) => {
                    assert!(!err.is_timeout(), "{err}");
                    None
                }
            });
        }
        out
    };
    admin.admin_faults_update().body(faults(rule.clone())).send().await.expect("set");
    let first = outcomes().await;
    assert!(first.contains(&None) && first.contains(&Some(200)), "{first:?}");
    admin.admin_faults_update().body(faults(rule)).send().await.expect("set");
    assert_eq!(outcomes().await, first);
    // The server survives its dropped connections.
    admin.admin_faults_update().body(faults(json!([]))).send().await.expect("clear");
    server.client("Bearer x").healthz().send().await.expect("still serving");
    let metrics = metrics_text(&server).await;
    assert!(metrics.contains(r#"tokenstack_injected_faults_total{kind="drop",operation_id="healthz"}"#), "{metrics}");
}

#[tokio::test]
async fn an_off_spec_response_is_caught_by_self_validation() {
    let server = TestServer::start().await;
    let admin = admin(&server);
    // 418 is not documented for healthz (200 and 503 are): the validator replaces it with a 500 naming it.
    let rule = json!([{"operation_id": "healthz", "error_rate": 1.0, "error_status": 418}]);
    admin.admin_faults_update().body(faults(rule)).send().await.expect("set");
    let (status, body) = server.raw(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 500, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("healthz") && message.contains("status 418 is not documented"), "{message}");
    // A documented status passes.
    let rule = json!([{"operation_id": "healthz", "error_rate": 1.0, "error_status": 503}]);
    admin.admin_faults_update().body(faults(rule)).send().await.expect("set");
    let (status, _) = server.raw(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 503);
    let metrics = metrics_text(&server).await;
    assert!(metrics.contains(r#"tokenstack_response_violations_total{operation_id="healthz"} 1"#), "{metrics}");
}

async fn metrics_text(server: &TestServer) -> String {
    reqwest::get(format!("{}/metrics", server.base)).await.expect("metrics").text().await.expect("text")
}
