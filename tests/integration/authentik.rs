//! authentik core and OAuth2 token operations through the generated client, with their error paths.

use chrono::{TimeDelta, Utc};
use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{ADMIN_KEY, ALICE_KEY, BOB_KEY, TestServer, error_of};

fn request(identifier: &str) -> types::builder::TokenRequest {
    types::TokenRequest::builder().identifier(identifier)
}

#[tokio::test]
async fn create_retrieve_view_key_and_authenticate_with_the_new_key() {
    let server = TestServer::start().await;
    let bob = server.authentik(BOB_KEY);
    let before = Utc::now();
    let created = bob
        .core_tokens_create()
        .body(
            request("bob-new")
                .description(Some("made by bob".to_string()))
                .user(2)
                .expiring(false)
                .intent(types::IntentEnum::Api),
        )
        .send()
        .await
        .expect("create succeeds");
    assert_eq!(created.status().as_u16(), 201);
    let created = created.into_inner();
    // A non-superuser's token is always his own and always expires, a day from now for `api`.
    assert_eq!(created.user, Some(3));
    assert_eq!(created.user_obj.username.as_str(), "bob");
    assert_eq!(created.expiring, Some(true));
    let expires = created.expires.expect("api tokens expire");
    assert!(expires > before + TimeDelta::hours(23) && expires < Utc::now() + TimeDelta::hours(25), "{expires}");

    let fetched = bob.core_tokens_retrieve().identifier("bob-new").send().await.expect("retrieve").into_inner();
    assert_eq!(fetched.pk, created.pk);
    assert_eq!(fetched.description.as_deref(), Some("made by bob"));

    let key =
        bob.core_tokens_view_key_retrieve().identifier("bob-new").send().await.expect("view_key").into_inner().key;
    assert_eq!(key.len(), 60);
    // The new key authenticates as bob.
    let listed = server.authentik(&key).core_tokens_list().send().await.expect("new key authenticates").into_inner();
    assert!(listed.results.iter().all(|t| t.user_obj.username.as_str() == "bob"));
}

#[tokio::test]
async fn create_never_returns_the_key_and_rejects_bad_input() {
    let server = TestServer::start().await;
    let body = r#"{"identifier": "raw-token"}"#;
    let (status, created) =
        server.raw(Method::POST, "/api/v3/core/tokens/", Some(&format!("Bearer {ADMIN_KEY}")), Some(body)).await;
    assert_eq!(status, 201);
    assert!(created.get("key").is_none(), "{created}");
    assert!(created["expires"].is_string(), "{created}");
    assert_eq!(created["managed"], json!(null));

    let (status, error) = server
        .raw(
            Method::POST,
            "/api/v3/core/tokens/",
            Some(&format!("Bearer {ADMIN_KEY}")),
            Some(r#"{"identifier": "x", "intent": "recovery"}"#),
        )
        .await;
    assert_eq!((status, error), (400, json!({"intent": ["Invalid intent recovery"]})));

    let duplicate = server.authentik(ADMIN_KEY).core_tokens_create().body(request("alice-ci")).send().await;
    let (status, error) = error_of(duplicate);
    assert_eq!(status, 400);
    assert!(error["identifier"].is_array(), "{error}");

    let (status, error) = server
        .raw(
            Method::POST,
            "/api/v3/core/tokens/",
            Some(&format!("Bearer {ADMIN_KEY}")),
            Some(r#"{"identifier": "not a slug"}"#),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error["identifier"][0].as_str().unwrap_or_default().contains("slug"), "{error}");
}

#[tokio::test]
async fn update_and_partial_update() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let updated = alice
        .core_tokens_update()
        .identifier("alice-ci")
        .body(request("alice-ci").description(Some("renamed".to_string())).user(2))
        .send()
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.description.as_deref(), Some("renamed"));

    let patched = alice
        .core_tokens_partial_update()
        .identifier("alice-ci")
        .body(types::PatchedTokenRequest::builder().description(Some("patched".to_string())))
        .send()
        .await
        .expect("partial update")
        .into_inner();
    assert_eq!(patched.description.as_deref(), Some("patched"));
    assert_eq!(patched.identifier.as_str(), "alice-ci");

    let moved = alice.core_tokens_update().identifier("alice-ci").body(request("alice-ci").user(3)).send().await;
    assert_eq!(error_of(moved), (400, json!({"user": ["User cannot be changed"]})));
}

#[tokio::test]
async fn set_key_replaces_the_key_at_once() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let new_key = "alice-rotated-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
    let response = alice
        .core_tokens_set_key_create()
        .identifier("alice-ci")
        .body(types::TokenSetKeyRequest::builder().key(new_key))
        .send()
        .await
        .expect("set_key");
    assert_eq!(response.status().as_u16(), 204);

    let old = server.authentik(ALICE_KEY).core_tokens_list().send().await;
    assert_eq!(error_of(old), (403, json!({"detail": "Token invalid/expired"})));
    server.authentik(new_key).core_tokens_list().send().await.expect("new key authenticates");

    let (status, _) = server
        .raw(
            Method::POST,
            "/api/v3/core/tokens/alice-ci/set_key/",
            Some(&format!("Bearer {new_key}")),
            Some(r#"{"key": ""}"#),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn used_by_is_a_plain_empty_list() {
    let server = TestServer::start().await;
    let used_by =
        server.authentik(ALICE_KEY).core_tokens_used_by_list().identifier("alice-ci").send().await.expect("used_by");
    assert!(used_by.into_inner().is_empty());
}

#[tokio::test]
async fn destroy_then_retrieve_is_404() {
    let server = TestServer::start().await;
    let admin = server.authentik(ADMIN_KEY);
    let response = admin.core_tokens_destroy().identifier("bob-api").send().await.expect("destroy");
    assert_eq!(response.status().as_u16(), 204);
    let gone = admin.core_tokens_retrieve().identifier("bob-api").send().await;
    assert_eq!(error_of(gone), (404, json!({"detail": "No Token matches the given query."})));
}

#[tokio::test]
async fn list_paginates_filters_searches_and_orders_like_authentik() {
    let server = TestServer::start().await;
    let admin = server.authentik(ADMIN_KEY);
    let page = admin.core_tokens_list().page_size(1).send().await.expect("list").into_inner();
    let p = &page.pagination;
    assert_eq!(
        (p.count, p.current, p.total_pages, p.start_index, p.end_index, p.next, p.previous),
        (3.0, 1.0, 3.0, 1.0, 1.0, 2.0, 0.0)
    );
    // Default ordering is by identifier.
    assert_eq!(page.results[0].identifier.as_str(), "alice-ci");

    let ordered = admin.core_tokens_list().ordering("-identifier,nonsense").send().await.expect("list").into_inner();
    let identifiers: Vec<&str> = ordered.results.iter().map(|t| t.identifier.as_str()).collect();
    assert_eq!(identifiers, ["bob-api", "authentik-bootstrap-token", "alice-ci"]);

    let filtered = admin.core_tokens_list().user_username("bob").send().await.expect("list").into_inner();
    assert_eq!(filtered.results.len(), 1);
    let searched = admin.core_tokens_list().search("CI TOKEN").send().await.expect("list").into_inner();
    assert_eq!(searched.results.len(), 1);
    assert_eq!(searched.results[0].identifier.as_str(), "alice-ci");

    let past_end = admin.core_tokens_list().page(9).send().await;
    assert_eq!(error_of(past_end), (404, json!({"detail": "Invalid page."})));

    // An empty list keeps Django's empty-page numbers, as raw JSON integers.
    let (status, empty) = server
        .raw(Method::GET, "/api/v3/core/tokens/?identifier=none", Some(&format!("Bearer {ADMIN_KEY}")), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        empty,
        json!({"autocomplete": {}, "results": [], "pagination": {"count": 0, "current": 1, "total_pages": 1, "start_index": 0, "end_index": 0, "next": 0, "previous": 0}})
    );
}

#[tokio::test]
async fn another_users_token_is_invisible() {
    let server = TestServer::start().await;
    let bob = server.authentik(BOB_KEY);
    let listed = bob.core_tokens_list().send().await.expect("list").into_inner();
    assert_eq!(listed.results.iter().map(|t| t.identifier.as_str()).collect::<Vec<_>>(), ["bob-api"]);
    // Filters never widen visibility, whichever index the store uses for them.
    for listed in [
        bob.core_tokens_list().identifier("alice-ci").send().await,
        bob.core_tokens_list().search("alice").send().await,
        bob.core_tokens_list().user_username("alice").send().await,
    ] {
        assert!(listed.expect("list").into_inner().results.is_empty());
    }

    let not_found = json!({"detail": "No Token matches the given query."});
    assert_eq!(error_of(bob.core_tokens_retrieve().identifier("alice-ci").send().await), (404, not_found.clone()));
    assert_eq!(
        error_of(bob.core_tokens_view_key_retrieve().identifier("alice-ci").send().await),
        (404, not_found.clone())
    );
    assert_eq!(error_of(bob.core_tokens_used_by_list().identifier("alice-ci").send().await), (404, not_found.clone()));
    assert_eq!(error_of(bob.core_tokens_destroy().identifier("alice-ci").send().await), (404, not_found.clone()));
    let patch = bob
        .core_tokens_partial_update()
        .identifier("alice-ci")
        .body(types::PatchedTokenRequest::builder())
        .send()
        .await;
    assert_eq!(error_of(patch), (404, not_found.clone()));
    let put = bob.core_tokens_update().identifier("alice-ci").body(request("alice-ci")).send().await;
    assert_eq!(error_of(put), (404, not_found.clone()));
    let set_key = bob
        .core_tokens_set_key_create()
        .identifier("alice-ci")
        .body(types::TokenSetKeyRequest::builder().key("k"))
        .send()
        .await;
    assert_eq!(error_of(set_key), (404, not_found));

    // The superuser sees bob's token, and alice's key still works: nothing was changed.
    server.authentik(ALICE_KEY).core_tokens_retrieve().identifier("bob-api").send().await.expect("superuser sees all");
    server.authentik(ALICE_KEY).core_tokens_list().send().await.expect("alice's key unchanged");
}

#[tokio::test]
async fn view_key_needs_the_key_permission() {
    let server = TestServer::start().await;
    // The superuser creates a token for bob: bob owns it but was not granted view_token_key.
    server
        .authentik(ADMIN_KEY)
        .core_tokens_create()
        .body(request("for-bob").user(3).intent(types::IntentEnum::AppPassword))
        .send()
        .await
        .expect("superuser creates for bob");
    let denied = server.authentik(BOB_KEY).core_tokens_view_key_retrieve().identifier("for-bob").send().await;
    assert_eq!(error_of(denied), (403, json!({"detail": "You do not have permission to perform this action."})));
    let key = server
        .authentik(ADMIN_KEY)
        .core_tokens_view_key_retrieve()
        .identifier("for-bob")
        .send()
        .await
        .expect("superuser views");
    assert_eq!(key.into_inner().key.len(), 60);
}

#[tokio::test]
async fn authentication_failures_are_403_with_authentiks_messages() {
    let server = TestServer::start().await;
    let path = "/api/v3/core/tokens/";
    let cases = [
        (None, "Authentication credentials were not provided."),
        (Some("Basic dXNlcjpwYXNz"), "Unsupported authentication type"),
        (Some("Bearer not-a-key"), "Token invalid/expired"),
        (Some("bearer not-a-key"), "Token invalid/expired"),
    ];
    for (header, detail) in cases {
        let (status, body) = server.raw(Method::GET, path, header, None).await;
        assert_eq!((status, body), (403, json!({"detail": detail})), "{header:?}");
    }
    // The scheme is case-insensitive.
    let (status, _) = server.raw(Method::GET, path, Some(&format!("BEARER {ADMIN_KEY}")), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oauth2_access_tokens() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let all = alice.oauth2_access_tokens_list().send().await.expect("list").into_inner();
    assert_eq!(all.pagination.count, 2.0);
    let bob_only = server.authentik(BOB_KEY).oauth2_access_tokens_list().send().await.expect("list").into_inner();
    assert_eq!(bob_only.results.iter().map(|t| t.pk).collect::<Vec<_>>(), [2]);
    assert!(bob_only.results[0].is_expired);
    let filtered = alice.oauth2_access_tokens_list().user(2).send().await.expect("list").into_inner();
    assert_eq!(filtered.results.len(), 1);

    let token = alice.oauth2_access_tokens_retrieve().id(1).send().await.expect("retrieve").into_inner();
    assert_eq!(token.provider.name, "grafana");
    assert_eq!(token.user.username.as_str(), "alice");
    assert!(!token.is_expired);
    let id_token: serde_json::Value = serde_json::from_str(&token.id_token).expect("id_token is a JSON string");
    assert_eq!(id_token["sub"], "alice");

    let used_by = alice.oauth2_access_tokens_used_by_list().id(1).send().await.expect("used_by").into_inner();
    assert!(used_by.is_empty());

    let hidden = server.authentik(BOB_KEY).oauth2_access_tokens_retrieve().id(1).send().await;
    assert_eq!(error_of(hidden), (404, json!({"detail": "No AccessToken matches the given query."})));
    let (status, body) =
        server.raw(Method::GET, "/api/v3/oauth2/access_tokens/abc/", Some(&format!("Bearer {ALICE_KEY}")), None).await;
    assert_eq!((status, body), (404, json!({"detail": "Not found."})));

    assert_eq!(alice.oauth2_access_tokens_destroy().id(1).send().await.expect("destroy").status().as_u16(), 204);
    assert_eq!(error_of(alice.oauth2_access_tokens_retrieve().id(1).send().await).0, 404);
}

#[tokio::test]
async fn oauth2_refresh_tokens() {
    let server = TestServer::start().await;
    let bob = server.authentik(BOB_KEY);
    let listed = bob.oauth2_refresh_tokens_list().send().await.expect("list").into_inner();
    assert_eq!(listed.results.iter().map(|t| t.pk).collect::<Vec<_>>(), [1]);
    let token = bob.oauth2_refresh_tokens_retrieve().id(1).send().await.expect("retrieve").into_inner();
    assert_eq!(token.scope, ["openid", "offline_access"]);
    assert!(bob.oauth2_refresh_tokens_used_by_list().id(1).send().await.expect("used_by").into_inner().is_empty());

    let none_for_admin =
        server.authentik(ADMIN_KEY).oauth2_refresh_tokens_list().provider(1).send().await.expect("list");
    assert_eq!(none_for_admin.into_inner().pagination.count, 1.0);

    let other = server.authentik(crate::support::ALICE_KEY);
    assert_eq!(
        other.oauth2_refresh_tokens_destroy().id(1).send().await.expect("superuser deletes").status().as_u16(),
        204
    );
    let gone = bob.oauth2_refresh_tokens_destroy().id(1).send().await;
    assert_eq!(error_of(gone), (404, json!({"detail": "No RefreshToken matches the given query."})));
}

#[tokio::test]
async fn bodies_and_filters_are_parsed_by_the_rules_with_drf_messages() {
    let server = TestServer::start().await;
    let auth = format!("Bearer {ALICE_KEY}");
    let post = |body: &'static str| server.raw(Method::POST, "/api/v3/core/tokens/", Some(&auth), Some(body));
    let cases = [
        ("{}", json!({"identifier": ["This field is required."]})),
        (r#"{"identifier": "x", "intent": "bogus"}"#, json!({"intent": ["\"bogus\" is not a valid choice."]})),
        (
            r#"{"identifier": "x", "user": "abc"}"#,
            json!({"user": ["Incorrect type. Expected pk value, received str."]}),
        ),
        (r#"{"identifier": null}"#, json!({"identifier": ["This field may not be null."]})),
        (
            r#"{"identifier": "bad id", "expiring": "maybe"}"#,
            json!({
                "identifier": ["Enter a valid “slug” consisting of letters, numbers, underscores or hyphens."],
                "expiring": ["Must be a valid boolean."]
            }),
        ),
        ("[1]", json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
    ];
    let list = |query: &'static str| {
        server.raw(Method::GET, format!("/api/v3/core/tokens/?{query}").leak(), Some(&auth), None)
    };
    let before = list("").await.1["results"].as_array().map(Vec::len);
    for (body, expected) in cases {
        assert_eq!(post(body).await, (400, expected), "{body}");
    }
    assert_eq!(
        list("intent=bogus").await,
        (400, json!({"intent": ["Select a valid choice. bogus is not one of the available choices."]}))
    );
    assert_eq!(list("page=abc").await, (404, json!({"detail": "Invalid page."})));
    // django-filter ignores a boolean it cannot read, and DRF a page size it cannot read.
    let (status, body) = list("expiring=maybe&page_size=lots").await;
    assert_eq!(status, 200, "{body}");
    // Nothing was created by the rejected bodies.
    assert_eq!(body["results"].as_array().map(Vec::len), before);
}
