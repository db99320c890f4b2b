//! authentik's scope mappings through the generated client: the managed mappings of a fresh store by `managed`
//! id, custom ones created, edited and deleted, and the scopes a provider serves: those of its mappings.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{ALICE_KEY, BOB_KEY, TestServer, error_of};

const OPENID: &str = "goauthentik.io/providers/oauth2/scope-openid";

fn mapping(name: &str, scope_name: &str) -> types::builder::ScopeMappingRequest {
    types::ScopeMappingRequest::builder()
        .name(name.parse::<types::ScopeMappingRequestName>().unwrap())
        .scope_name(scope_name.parse::<types::ScopeMappingRequestScopeName>().unwrap())
        .expression(
            "return {\"groups\": [group.name for group in request.user.ak_groups.all()]}"
                .parse::<types::ScopeMappingRequestExpression>()
                .unwrap(),
        )
}

#[tokio::test]
async fn a_fresh_store_holds_authentiks_managed_scope_mappings() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let openid = alice.propertymappings_provider_scope_list().managed(OPENID).send().await.unwrap().into_inner();
    assert_eq!(openid.pagination.count, 1.0);
    assert_eq!(openid.results[0].name, "authentik default OAuth Mapping: OpenID 'openid'");
    assert_eq!(openid.results[0].pk.to_string(), "7f1a0010-0000-4000-8000-000000000001");
    let profile = alice.propertymappings_provider_scope_list().scope_name("profile").send().await.unwrap();
    let profile = profile.into_inner();
    assert_eq!(profile.results[0].managed.as_deref(), Some("goauthentik.io/providers/oauth2/scope-profile"));
    assert!(profile.results[0].expression.contains("request.user.ak_groups.all()"), "upstream's expression");
    let all = alice.propertymappings_all_list().send().await.unwrap().into_inner();
    assert_eq!(all.pagination.count, 6.0);
    assert!(all.results.iter().all(|m| m.meta_model_name == "authentik_providers_oauth2.scopemapping"));
    let custom = alice.propertymappings_all_list().managed_isnull(true).send().await.unwrap().into_inner();
    assert_eq!(custom.pagination.count, 0.0);
}

#[tokio::test]
async fn custom_scope_mappings_are_created_edited_and_deleted() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let created = alice.propertymappings_provider_scope_create().body(mapping("groups", "groups")).send().await;
    let created = created.unwrap().into_inner();
    assert_eq!((created.scope_name.as_str(), created.managed.as_deref()), ("groups", None));
    let patch = types::PatchedScopeMappingRequest::builder().description(Some("Group membership".to_string()));
    let patched = alice.propertymappings_provider_scope_partial_update().pm_uuid(created.pk).body(patch).send().await;
    assert_eq!(patched.unwrap().into_inner().description.as_deref(), Some("Group membership"));
    let updated = alice
        .propertymappings_provider_scope_update()
        .pm_uuid(created.pk)
        .body(mapping("groups v2", "groups"))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "groups v2");
    let fetched = alice.propertymappings_provider_scope_retrieve().pm_uuid(created.pk).send().await.unwrap();
    assert_eq!(fetched.into_inner().name, "groups v2");

    let auth = format!("Bearer {ALICE_KEY}");
    let path = "/api/v3/propertymappings/provider/scope/";
    let duplicate = json!({"name": "groups v2", "scope_name": "x", "expression": "return {}"}).to_string();
    let (status, body) = server.raw(Method::POST, path, Some(&auth), Some(&duplicate)).await;
    assert_eq!((status, body), (400, json!({"name": ["Property Mapping with this name already exists."]})));
    let (status, body) = server.raw(Method::POST, path, Some(&auth), Some(r#"{"name": " "}"#)).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"name": ["This field may not be blank."], "scope_name": ["This field is required."],
                   "expression": ["This field is required."]})
        )
    );

    alice.propertymappings_provider_scope_destroy().pm_uuid(created.pk).send().await.unwrap();
    let (status, body) = error_of(alice.propertymappings_provider_scope_retrieve().pm_uuid(created.pk).send().await);
    assert_eq!((status, body), (404, json!({"detail": "No ScopeMapping matches the given query."})));
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    let bob = server.authentik(BOB_KEY);
    assert_eq!(error_of(bob.propertymappings_provider_scope_list().send().await), (403, forbidden.clone()));
    assert_eq!(error_of(bob.propertymappings_all_list().send().await), (403, forbidden));
}

#[tokio::test]
async fn a_provider_serves_the_scopes_of_its_mappings() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let auth = format!("Bearer {ALICE_KEY}");
    let groups = alice.propertymappings_provider_scope_create().body(mapping("groups", "groups")).send().await;
    let groups = groups.unwrap().into_inner().pk.to_string();
    let provider = |mappings: serde_json::Value| {
        json!({
            "name": "scoped", "client_id": "scoped", "client_secret": "scoped-secret", "redirect_uris": [],
            "grant_types": ["authorization_code", "client_credentials"],
            "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
            "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
            "property_mappings": mappings,
        })
        .to_string()
    };
    let unknown = "11112222-3333-4444-5555-666677778888";
    let (status, body) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&provider(json!([unknown])))).await;
    let message = format!("Invalid pk \"{unknown}\" - object does not exist.");
    assert_eq!((status, body), (400, json!({"property_mappings": [message]})));
    let openid = "7f1a0010-0000-4000-8000-000000000001";
    let (status, created) = server
        .raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&provider(json!([openid, groups]))))
        .await;
    assert_eq!(status, 201, "{created}");
    let app = json!({"name": "scoped", "slug": "scoped", "provider": created["pk"]}).to_string();
    assert_eq!(server.raw(Method::POST, "/api/v3/core/applications/", Some(&auth), Some(&app)).await.0, 201);

    let (_, discovery) =
        server.raw(Method::GET, "/application/o/scoped/.well-known/openid-configuration", None, None).await;
    let scopes: Vec<&str> =
        discovery["scopes_supported"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    assert!(scopes.contains(&"groups") && !scopes.contains(&"email"), "{scopes:?}");
    let form =
        "grant_type=client_credentials&client_id=scoped&client_secret=scoped-secret&scope=openid%20email%20groups";
    let response = reqwest::Client::new()
        .post(format!("{}/application/o/token/", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let token: serde_json::Value = response.json().await.unwrap();
    assert_eq!(token["scope"], "openid groups", "email is not among the provider's mappings: {token}");
}

#[tokio::test]
async fn a_custom_mapping_adds_its_claims_to_the_id_token_and_userinfo() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let auth = format!("Bearer {ALICE_KEY}");
    let expression = "# what setups write\nteam = request.user.attributes.get('team', 'none')\nreturn {\n    \"groups\": [group.name for group in request.user.ak_groups.all()],\n    \"team\": team,\n}";
    let groups = types::ScopeMappingRequest::builder()
        .name("groups".parse::<types::ScopeMappingRequestName>().unwrap())
        .scope_name("groups".parse::<types::ScopeMappingRequestScopeName>().unwrap())
        .expression(expression.parse::<types::ScopeMappingRequestExpression>().unwrap());
    let groups = alice.propertymappings_provider_scope_create().body(groups).send().await.unwrap().into_inner();
    let unsupported = mapping("odd", "odd")
        .expression("return {'x': 1 + 1}".parse::<types::ScopeMappingRequestExpression>().unwrap());
    let odd = alice.propertymappings_provider_scope_create().body(unsupported).send().await.unwrap().into_inner();
    let redirect = "http://localhost:9999/cb";
    let provider = json!({
        "name": "claims", "client_id": "claims", "client_secret": "claims-secret", "grant_types": ["authorization_code"],
        "redirect_uris": [{"matching_mode": "strict", "url": redirect}],
        "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
        "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
        "property_mappings": ["7f1a0010-0000-4000-8000-000000000001", "7f1a0010-0000-4000-8000-000000000002", groups.pk, odd.pk],
    });
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&provider.to_string())).await;
    assert_eq!(status, 201, "{created}");
    let app = json!({"name": "claims", "slug": "claims", "provider": created["pk"]}).to_string();
    assert_eq!(server.raw(Method::POST, "/api/v3/core/applications/", Some(&auth), Some(&app)).await.0, 201);

    let tokens = server.code_login(("claims", "claims-secret"), redirect, "openid%20email%20groups%20odd", &auth).await;
    let http = reqwest::Client::new();
    let access = tokens["access_token"].as_str().unwrap_or_else(|| panic!("{tokens}"));
    let userinfo: serde_json::Value = http
        .get(format!("{}/application/o/userinfo/", server.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["groups"], json!(["authentik Admins"]), "{userinfo}");
    assert_eq!((userinfo["team"].as_str(), userinfo["email"].as_str()), (Some("none"), Some("alice@example.com")));
    assert!(userinfo.get("x").is_none(), "an expression outside the subset adds nothing");

    let provider_pk = created["pk"].as_i64().unwrap();
    let stored = alice.oauth2_access_tokens_list().provider(provider_pk).send().await.unwrap().into_inner();
    let id_token: serde_json::Value = serde_json::from_str(&stored.results[0].id_token).unwrap();
    assert_eq!((id_token["groups"].clone(), id_token["team"].clone()), (json!(["authentik Admins"]), json!("none")));
}
