//! The official authentik Rust client (crate `authentik-client` 2026.8.5) deserializes tokenstack's answers.

use authentik_client::apis::configuration::Configuration;
use authentik_client::apis::{Error, core_api, oauth2_api};

use crate::support::{ALICE_KEY, BOB_KEY, TestServer};

fn configuration(server: &TestServer, key: &str) -> Configuration {
    Configuration {
        base_path: format!("{}/api/v3", server.base),
        bearer_access_token: Some(key.to_string()),
        ..Configuration::default()
    }
}

#[tokio::test]
async fn official_client_retrieves_and_lists_core_tokens() {
    let server = TestServer::start().await;
    let alice = configuration(&server, ALICE_KEY);
    let token = core_api::core_tokens_retrieve(&alice, "alice-ci").await.expect("retrieve decodes");
    assert_eq!(token.identifier, "alice-ci");
    assert_eq!(token.user_obj.username, "alice");
    assert_eq!(token.expiring, Some(false));

    let page = core_api::core_tokens_list(
        &alice,
        None,
        None,
        None,
        None,
        None,
        None,
        Some("-identifier"),
        Some(1),
        Some(2),
        None,
        None,
    )
    .await
    .expect("list decodes");
    assert_eq!(page.pagination.count, 3.0);
    assert_eq!(page.pagination.next, 2.0);
    assert_eq!(page.results.len(), 2);
    assert_eq!(page.results[0].identifier, "bob-api");

    let key = core_api::core_tokens_view_key_retrieve(&alice, "alice-ci").await.expect("view_key decodes");
    assert_eq!(key.key, ALICE_KEY);
}

#[tokio::test]
async fn official_client_reads_oauth2_tokens_and_sees_upstream_errors() {
    let server = TestServer::start().await;
    let alice = configuration(&server, ALICE_KEY);
    let access =
        oauth2_api::oauth2_access_tokens_list(&alice, None, None, None, None, None, None).await.expect("list decodes");
    assert_eq!(access.results.len(), 2);
    let refresh = oauth2_api::oauth2_refresh_tokens_retrieve(&alice, 1).await.expect("retrieve decodes");
    assert_eq!(refresh.provider.name, "grafana");
    assert!(!refresh.is_expired);

    let bob = configuration(&server, BOB_KEY);
    match core_api::core_tokens_retrieve(&bob, "alice-ci").await {
        Err(Error::ResponseError(response)) => assert_eq!(response.status.as_u16(), 404),
        other => panic!("expected a 404, got {other:?}"),
    }
    let bad = configuration(&server, "not-a-key");
    match core_api::core_tokens_list(&bad, None, None, None, None, None, None, None, None, None, None, None).await {
        Err(Error::ResponseError(response)) => {
            assert_eq!(response.status.as_u16(), 403);
            assert!(response.content.contains("Token invalid/expired"), "{}", response.content);
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}
