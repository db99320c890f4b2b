//! What a setup script does first, through the generated client: readiness on `/root/config/` (anonymous or
//! with a key), and the flows of a fresh install looked up by slug and designation.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;

use crate::support::{ALICE_KEY, BOB_KEY, TestServer, error_of};

#[tokio::test]
async fn root_config_answers_anyone_and_checks_a_credential_that_is_sent() {
    let server = TestServer::start().await;
    let anonymous = tokenstack_client::Client::new(&server.base);
    let config = anonymous.root_config_retrieve().send().await.unwrap().into_inner();
    assert_eq!((config.cache_timeout, config.cache_timeout_flows, config.cache_timeout_policies), (300, 300, 300));
    assert!(!config.error_reporting.enabled);
    assert_eq!(config.error_reporting.environment, "customer");
    assert!(config.capabilities.is_empty());

    let with_key = server.authentik(ALICE_KEY).root_config_retrieve().send().await.unwrap().into_inner();
    assert_eq!(serde_json::to_value(with_key).unwrap(), serde_json::to_value(&config).unwrap());
    let (status, body) = error_of(server.authentik("no-such-key").root_config_retrieve().send().await);
    assert_eq!((status, body), (403, json!({"detail": "Token invalid/expired"})));
    let (status, body) = server.raw(Method::GET, "/api/v3/root/config/", Some("Basic abc"), None).await;
    assert_eq!((status, body), (403, json!({"detail": "Unsupported authentication type"})));
}

#[tokio::test]
async fn a_fresh_store_holds_the_default_flows_by_slug_and_designation() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);

    let implicit = alice
        .flows_instances_retrieve()
        .slug("default-provider-authorization-implicit-consent")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(implicit.designation, types::FlowDesignationEnum::Authorization);
    assert_eq!((implicit.name.as_str(), implicit.title.as_str()), ("Authorize Application", "Redirecting to %(app)s"));
    assert_eq!(implicit.pk.to_string(), "7f1a0001-0000-4000-8000-000000000001");
    assert_eq!(implicit.policybindingmodel_ptr_id, implicit.pk);
    assert_eq!(implicit.export_url, "/api/v3/flows/instances/default-provider-authorization-implicit-consent/export/");

    let by_slug = alice.flows_instances_list().slug("default-provider-invalidation-flow").send().await.unwrap();
    let by_slug = by_slug.into_inner();
    assert_eq!(by_slug.pagination.count, 1.0);
    assert_eq!(by_slug.results[0].title, "You've logged out of %(app)s.");
    assert_eq!(by_slug.results[0].designation, types::FlowDesignationEnum::Invalidation);

    let authorization = alice.flows_instances_list().designation("authorization").send().await.unwrap().into_inner();
    let slugs: Vec<&str> = authorization.results.iter().map(|f| f.slug.as_str()).collect();
    assert_eq!(
        slugs,
        ["default-provider-authorization-explicit-consent", "default-provider-authorization-implicit-consent"]
    );

    let searched = alice.flows_instances_list().search("welcome AUTHENTICATION").ordering("-slug").send().await;
    let slugs: Vec<String> = searched.unwrap().into_inner().results.into_iter().map(|f| f.slug.to_string()).collect();
    assert_eq!(slugs, ["default-source-authentication", "default-authentication-flow"]);

    let all = alice.flows_instances_list().page_size(5).send().await.unwrap().into_inner();
    assert_eq!((all.pagination.count, all.pagination.total_pages, all.results.len()), (14.0, 3.0, 5));
    assert_eq!(all.results[0].slug.as_str(), "default-authentication-flow");
}

#[tokio::test]
async fn flow_lookups_answer_upstreams_errors() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let (status, body) = error_of(alice.flows_instances_retrieve().slug("no-such-flow").send().await);
    assert_eq!((status, body), (404, json!({"detail": "No Flow matches the given query."})));
    let auth = format!("Bearer {ALICE_KEY}");
    let (status, body) = server.raw(Method::GET, "/api/v3/flows/instances/?designation=login", Some(&auth), None).await;
    assert_eq!(
        (status, body),
        (400, json!({"designation": ["Select a valid choice. login is not one of the available choices."]}))
    );
    let (status, body) = server.raw(Method::GET, "/api/v3/flows/instances/?flow_uuid=nope", Some(&auth), None).await;
    assert_eq!((status, body), (400, json!({"flow_uuid": ["Enter a valid UUID."]})));
    let (status, body) = error_of(alice.flows_instances_list().page(9).send().await);
    assert_eq!((status, body), (404, json!({"detail": "Invalid page."})));

    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    let bob = server.authentik(BOB_KEY);
    assert_eq!(error_of(bob.flows_instances_list().send().await), (403, forbidden.clone()));
    assert_eq!(
        error_of(bob.flows_instances_retrieve().slug("default-authentication-flow").send().await),
        (403, forbidden)
    );

    let (status, _) = server.raw(Method::POST, "/api/v3/flows/instances/", Some(&auth), Some("{}")).await;
    assert_eq!(status, 405, "flows cannot be created");
}
