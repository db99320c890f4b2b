//! authentik blueprints as seeds (`--seed`, `PUT /_tokenstack/state`), through HTTP: upstream's own blueprints
//! load unmodified and serve; a bad one is refused whole, with a message naming the entry.
//!
//! Fixtures, verbatim:
//! - `fixtures/blueprints/action-setup-authentik-oidc.yaml`: `testing/blueprints/oidc.yaml` of
//!   goauthentik/action-setup-authentik at aa586e0afadfee8f31f79cc5f5a4ea0ea876db56;
//! - `fixtures/blueprints/authentik-scribe-groups-users.yaml`: `blueprints/scribe/scribe-groups-users.yaml` of
//!   goauthentik/authentik at ec95fb9dc610fefe763b28dd7093ac0fefdd678d.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{ADMIN_KEY, ADMIN_TOKEN, TestServer};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("integration/fixtures/blueprints").join(name)
}

fn text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture reads")
}

/// `PUT /_tokenstack/state` with `document`: status and body.
async fn load(server: &TestServer, document: &Value) -> (u16, Value) {
    let admin = format!("Bearer {ADMIN_TOKEN}");
    server.raw(Method::PUT, "/_tokenstack/state", Some(&admin), Some(&document.to_string())).await
}

async fn export(server: &TestServer) -> Value {
    let admin = format!("Bearer {ADMIN_TOKEN}");
    server.raw(Method::GET, "/_tokenstack/state", Some(&admin), None).await.1
}

async fn token(server: &TestServer, form: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/application/o/token/", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .expect("token request");
    (response.status().as_u16(), response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn the_action_setup_authentik_oidc_blueprint_loads_unmodified_and_serves_discovery_and_tokens() {
    let server = TestServer::start_with(|config| config.seed = Some(fixture("action-setup-authentik-oidc.yaml"))).await;
    let (status, discovery) =
        server.raw(Method::GET, "/application/o/test/.well-known/openid-configuration", None, None).await;
    assert_eq!(status, 200, "{discovery}");
    assert_eq!(discovery["issuer"], format!("{}/application/o/test/", server.base));
    let scopes = discovery["scopes_supported"].as_array().expect("scopes");
    for scope in ["openid", "profile", "email"] {
        assert!(scopes.contains(&json!(scope)), "{scopes:?}");
    }
    let (status, issued) =
        token(&server, "grant_type=client_credentials&client_id=123456&client_secret=123456&scope=openid").await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["access_token"].as_str().expect("an access token").split('.').count(), 3, "a JWT");
    let (status, wrong) =
        token(&server, "grant_type=client_credentials&client_id=123456&client_secret=wrong&scope=openid").await;
    assert!(status == 400 && wrong.get("access_token").is_none(), "{wrong}");
    // The provider signs with the self-signed key pair the blueprint's `!Find` named.
    let auth = format!("Bearer {ADMIN_KEY}");
    let (_, providers) = server.raw(Method::GET, "/api/v3/providers/oauth2/?name=test", Some(&auth), None).await;
    let (_, pairs) = server
        .raw(
            Method::GET,
            "/api/v3/crypto/certificatekeypairs/?name=authentik%20Self-signed%20Certificate",
            Some(&auth),
            None,
        )
        .await;
    assert_eq!(providers["results"][0]["signing_key"], pairs["results"][0]["pk"]);
    assert_eq!(providers["results"][0]["assigned_application_slug"], "test");
}

#[tokio::test]
async fn a_blueprint_of_authentiks_repository_loads_through_the_admin_api_as_yaml_text() {
    let server = TestServer::start().await;
    let (status, body) = load(&server, &Value::String(text("authentik-scribe-groups-users.yaml"))).await;
    assert_eq!(status, 204, "{body}");
    let auth = format!("Bearer {ADMIN_KEY}");
    let (_, users) = server.raw(Method::GET, "/api/v3/core/users/?path=service-accounts", Some(&auth), None).await;
    let users = users["results"].as_array().expect("users");
    let names: Vec<&str> = users.iter().filter_map(|u| u["username"].as_str()).collect();
    assert_eq!(names, ["scribe-hub", "scribe-service"]);
    for user in users {
        assert_eq!((&user["type"], &user["is_superuser"]), (&json!("service_account"), &json!(true)), "{user}");
        assert_eq!(user["groups_obj"][0]["name"], "authentik-api-admin", "{user}");
    }
    // Its tokens' conditions (`!If [!Context …]` of unset variables) are false: none was made.
    let (_, tokens) =
        server.raw(Method::GET, "/api/v3/core/tokens/?identifier=scribe-hub-api-token", Some(&auth), None).await;
    assert_eq!(tokens["pagination"]["count"], 0, "{tokens}");
    // The bootstrap credentials still work, and the state exported loads back.
    let state = export(&server).await;
    assert_eq!(load(&server, &state).await.0, 204);
}

#[tokio::test]
async fn a_bad_blueprint_is_a_400_naming_the_entry_and_changes_nothing() {
    let server = TestServer::start().await;
    let before = export(&server).await;
    let dangling = "version: 1\nentries:\n  - model: authentik_core.application\n    id: app\n    identifiers: {slug: app}\n    attrs: {name: app, provider: !KeyOf provider}\n";
    let unknown_model = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: g}\n  - model: authentik_stages_password.passwordstage\n    id: password\n    identifiers: {name: p}\n";
    let unknown_key = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: g}\n    attrs:\n      is_superuser: true\n      colour: red\n";
    let env = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: !Env TOKENSTACK_TEST_SURELY_UNSET}\n";
    let arity = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: !Format []}\n";
    for (blueprint, message) in [
        (
            dangling,
            "invalid blueprint: blueprint entry 0 (model authentik_core.application, id app, line 3): !KeyOf provider: failed to find an earlier entry with `id` of `provider`",
        ),
        (
            unknown_model,
            "invalid blueprint: blueprint entry 1 (model authentik_stages_password.passwordstage, id password, line 5): the model authentik_stages_password.passwordstage is not served by tokenstack (pass --blueprint-skip-unknown to skip such entries)",
        ),
        (
            unknown_key,
            "invalid blueprint: blueprint entry 0 (model authentik_core.group, line 3): unknown key `colour` in attrs at line 7",
        ),
        (
            env,
            "invalid blueprint: blueprint entry 0 (model authentik_core.group, line 3): !Env TOKENSTACK_TEST_SURELY_UNSET: the variable is not set and the tag gives no default",
        ),
        (
            arity,
            "invalid blueprint: blueprint entry 0 (model authentik_core.group, line 3): !Format takes [format, args…]",
        ),
    ] {
        let (status, body) = load(&server, &Value::String(blueprint.to_owned())).await;
        assert_eq!((status, body["message"].as_str()), (400, Some(message)), "{body}");
    }
    assert_eq!(export(&server).await, before);
}

#[tokio::test]
async fn skip_unknown_loads_the_served_entries_and_a_blueprint_may_be_json() {
    let server = TestServer::start_with(|config| config.blueprint_skip_unknown = true).await;
    let blueprint = json!({
        "version": 1,
        "entries": [
            {"model": "authentik_core.user", "id": "carol", "identifiers": {"username": "carol"}, "attrs": {"email": "carol@example.com", "password": "carol-pw"}},
            {"model": "authentik_stages_password.passwordstage", "identifiers": {"name": "p"}},
            {"model": "authentik_core.group", "identifiers": {"name": "staff"}, "attrs": {"users": [1]}},
        ],
    });
    let (status, body) = load(&server, &blueprint).await;
    assert_eq!(status, 204, "{body}");
    let auth = format!("Bearer {ADMIN_KEY}");
    let (_, users) = server.raw(Method::GET, "/api/v3/core/users/?username=carol", Some(&auth), None).await;
    assert_eq!(users["results"][0]["email"], "carol@example.com");
    assert_eq!(users["results"][0]["groups_obj"][0]["name"], "staff");
    // The password is stored hashed, never as given.
    let state = export(&server).await;
    let carol = state["authentik"]["users"].as_array().unwrap().iter().find(|u| u["username"] == "carol").cloned();
    let hash = carol.as_ref().and_then(|c| c["password"].as_str()).unwrap_or_default();
    assert!(hash.starts_with("pbkdf2_sha256$") && !hash.contains("carol-pw"), "{carol:?}");
    // Applied to a fresh install, which holds the self-signed key pair.
    let pairs = state["authentik"]["key_pairs"].as_array().expect("key pairs");
    assert!(pairs.iter().any(|pair| pair["name"] == "authentik Self-signed Certificate"), "{pairs:?}");
}
