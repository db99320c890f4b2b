//! authentik OAuth2 providers and applications through the generated client: CRUD, defaults, validation,
//! permissions, and what binding and deleting do to each other and to the provider's tokens.

use reqwest::Method;
use serde_json::json;
use tokenstack_client::types;
use uuid::Uuid;

use crate::support::{ALICE_KEY, BOB_KEY, TestServer, error_of};

/// `default-provider-authorization-implicit-consent`, a flow of every fresh store.
const FLOW: Uuid = Uuid::from_u128(0x7f1a_0001_0000_4000_8000_0000_0000_0001);

fn provider_request(name: &str) -> types::builder::OAuth2ProviderRequest {
    let redirect = types::RedirectUriRequest::builder()
        .matching_mode(types::MatchingModeEnum::Strict)
        .url("https://app.example.com/callback".parse::<types::RedirectUriRequestUrl>().unwrap());
    types::OAuth2ProviderRequest::builder()
        .name(name.parse::<types::OAuth2ProviderRequestName>().unwrap())
        .authorization_flow(FLOW)
        .invalidation_flow(FLOW)
        .redirect_uris(vec![redirect.try_into().unwrap()])
}

fn application_request(slug: &str, name: &str, provider: Option<i64>) -> types::builder::ApplicationRequest {
    types::ApplicationRequest::builder()
        .slug(slug.parse::<types::ApplicationRequestSlug>().unwrap())
        .name(name.parse::<types::ApplicationRequestName>().unwrap())
        .provider(provider)
}

#[tokio::test]
async fn a_provider_has_upstreams_defaults_and_is_listed_retrieved_updated_and_deleted() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let created = alice.providers_oauth2_create().body(provider_request("wiki")).send().await.unwrap().into_inner();
    assert_eq!(created.client_type, Some(types::ClientTypeEnum::Confidential));
    assert_eq!(created.client_id.as_ref().map(|s| s.len()), Some(40));
    assert_eq!(created.client_secret.as_ref().map(|s| s.len()), Some(128));
    let validities = (
        created.access_code_validity.as_deref(),
        created.access_token_validity.as_deref(),
        created.refresh_token_validity.as_deref(),
    );
    assert_eq!(validities, (Some("minutes=1"), Some("hours=1"), Some("days=30")));
    assert_eq!(created.sub_mode, Some(types::SubModeEnum::HashedUserId));
    assert_eq!(created.issuer_mode, Some(types::IssuerModeEnum::PerProvider));
    assert_eq!(created.include_claims_in_id_token, Some(true));
    assert_eq!(created.assigned_application_slug, None);
    assert_eq!(created.redirect_uris[0].redirect_uri_type, types::RedirectUriTypeEnum::Authorization);

    let fetched = alice.providers_oauth2_retrieve().id(created.pk).send().await.unwrap().into_inner();
    assert_eq!(fetched.client_id, created.client_id);
    let listed = alice.providers_oauth2_list().search("WIK").send().await.unwrap().into_inner();
    assert_eq!(listed.results.iter().map(|p| p.pk).collect::<Vec<_>>(), [created.pk]);
    let by_client = alice.providers_oauth2_list().client_id(created.client_id.clone().unwrap()).send().await.unwrap();
    assert_eq!(by_client.into_inner().pagination.count, 1.0);

    let update = provider_request("wiki-2")
        .client_id(Some("wiki-client".parse::<types::OAuth2ProviderRequestClientId>().unwrap()))
        .sub_mode(Some(types::SubModeEnum::UserUsername))
        .access_token_validity(Some("minutes=5".parse::<types::OAuth2ProviderRequestAccessTokenValidity>().unwrap()));
    let updated = alice.providers_oauth2_update().id(created.pk).body(update).send().await.unwrap().into_inner();
    assert_eq!(
        (updated.name.as_str(), updated.client_id.as_deref().map(String::as_str)),
        ("wiki-2", Some("wiki-client"))
    );
    assert_eq!(
        (updated.sub_mode, updated.access_token_validity.as_deref()),
        (Some(types::SubModeEnum::UserUsername), Some("minutes=5"))
    );
    assert_eq!(updated.client_secret, created.client_secret, "an omitted secret stays");

    alice.providers_oauth2_destroy().id(created.pk).send().await.unwrap();
    let (status, body) = error_of(alice.providers_oauth2_retrieve().id(created.pk).send().await);
    assert_eq!((status, body), (404, json!({"detail": "No OAuth2Provider matches the given query."})));
    let (status, _) = error_of(alice.providers_oauth2_destroy().id(created.pk).send().await);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn provider_validation_is_drf_field_keyed() {
    let server = TestServer::start().await;
    let auth = format!("Bearer {ALICE_KEY}");
    let flow = FLOW.to_string();
    let base = json!({"name": "p", "authorization_flow": flow, "invalidation_flow": flow, "redirect_uris": []});
    let with = |extra: serde_json::Value| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body.to_string()
    };
    let cases = [
        (
            "{}".to_string(),
            json!({
                "name": ["This field is required."],
                "authorization_flow": ["This field is required."],
                "invalidation_flow": ["This field is required."],
                "redirect_uris": ["This field is required."],
            }),
        ),
        (with(json!({"client_type": "secret"})), json!({"client_type": ["\"secret\" is not a valid choice."]})),
        (
            with(json!({"access_token_validity": "forever"})),
            json!({"access_token_validity": ["forever is not in the correct format of 'hours=3;minutes=1'."]}),
        ),
        (
            with(json!({"redirect_uris": [{"matching_mode": "regex", "url": "https://(unclosed"}]})),
            json!({"redirect_uris": ["url: Invalid Regex Pattern: https://(unclosed"]}),
        ),
        (with(json!({"authorization_flow": "nope"})), json!({"authorization_flow": ["“nope” is not a valid UUID."]})),
        (
            with(json!({"invalidation_flow": "11112222-3333-4444-5555-666677778888"})),
            json!({"invalidation_flow": ["Invalid pk \"11112222-3333-4444-5555-666677778888\" - object does not exist."]}),
        ),
        (
            with(json!({"authentication_flow": "11112222-3333-4444-5555-666677778888"})),
            json!({"authentication_flow": ["Invalid pk \"11112222-3333-4444-5555-666677778888\" - object does not exist."]}),
        ),
        ("[]".to_string(), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
    ];
    for (body, expected) in cases {
        let (status, got) = server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&body)).await;
        assert_eq!((status, got), (400, expected), "{body}");
    }
    let (status, _) = server
        .raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&with(json!({"client_id": "same"}))))
        .await;
    assert_eq!(status, 201);
    let (status, got) = server
        .raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&with(json!({"client_id": "same"}))))
        .await;
    assert_eq!(
        (status, got),
        (400, json!({"client_id": ["OAuth2/OpenID Provider with this Client ID already exists."]}))
    );
}

#[tokio::test]
async fn providers_and_applications_are_for_superusers() {
    let server = TestServer::start().await;
    let bob = server.authentik(BOB_KEY);
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    assert_eq!(error_of(bob.providers_oauth2_list().send().await), (403, forbidden.clone()));
    assert_eq!(
        error_of(bob.providers_oauth2_create().body(provider_request("x")).send().await),
        (403, forbidden.clone())
    );
    assert_eq!(error_of(bob.providers_oauth2_retrieve().id(1).send().await), (403, forbidden.clone()));
    assert_eq!(error_of(bob.providers_oauth2_destroy().id(1).send().await), (403, forbidden.clone()));
    let app = application_request("x", "x", None);
    assert_eq!(error_of(bob.core_applications_create().body(app).send().await), (403, forbidden.clone()));
    let alice = server.authentik(ALICE_KEY);
    alice.core_applications_create().body(application_request("shared", "Shared", None)).send().await.unwrap();
    let listed = bob.core_applications_list().send().await.unwrap().into_inner();
    assert_eq!(listed.results.iter().map(|a| a.slug.as_str()).collect::<Vec<_>>(), ["shared"], "no policies: all pass");
    let not_found = json!({"detail": "No Application matches the given query."});
    assert_eq!(error_of(bob.core_applications_retrieve().slug("shared").send().await), (404, not_found.clone()));
    assert_eq!(error_of(bob.core_applications_destroy().slug("shared").send().await), (403, forbidden));
    let (status, _) = error_of(server.authentik("no-such-key").providers_oauth2_list().send().await);
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_application_binds_one_provider_and_deleting_either_unbinds() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let provider = alice.providers_oauth2_create().body(provider_request("grafana-oidc")).send().await.unwrap();
    let pk = provider.into_inner().pk;
    let app = alice
        .core_applications_create()
        .body(application_request("grafana-2", "Grafana 2", Some(pk)))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((app.pk, app.provider), (app.pbm_uuid, Some(pk)));
    assert_eq!(app.provider_obj.as_ref().map(|p| p.name.as_str()), Some("grafana-oidc"));
    assert_eq!(app.provider_obj.as_ref().and_then(|p| p.assigned_application_slug.as_deref()), Some("grafana-2"));
    assert_eq!(app.launch_url.as_deref(), Some("https://app.example.com"), "from the first redirect URI");
    assert_eq!(app.policy_engine_mode, Some(types::PolicyEngineMode::Any));
    let bound = alice.providers_oauth2_retrieve().id(pk).send().await.unwrap().into_inner();
    assert_eq!(bound.assigned_application_name.as_deref(), Some("Grafana 2"));
    let by_app = alice.providers_oauth2_list().application(app.pk).send().await.unwrap().into_inner();
    assert_eq!(by_app.results.iter().map(|p| p.pk).collect::<Vec<_>>(), [pk]);

    let (status, body) =
        error_of(alice.core_applications_create().body(application_request("other", "Other", Some(pk))).send().await);
    assert_eq!((status, body), (400, json!({"provider": ["Application with this provider already exists."]})));
    let (status, body) =
        error_of(alice.core_applications_create().body(application_request("grafana-2", "G", None)).send().await);
    assert_eq!((status, body), (400, json!({"slug": ["Application with this slug already exists."]})));
    let (status, body) =
        error_of(alice.core_applications_create().body(application_request("ghost", "G", Some(999))).send().await);
    assert_eq!((status, body), (400, json!({"provider": ["Invalid pk \"999\" - object does not exist."]})));

    let fetched = alice.core_applications_retrieve().slug("grafana-2").send().await.unwrap().into_inner();
    assert_eq!(fetched.provider, Some(pk));
    let searched = alice.core_applications_list().search("GRAF").send().await.unwrap().into_inner();
    assert_eq!(searched.results.iter().map(|a| a.slug.as_str()).collect::<Vec<_>>(), ["grafana-2"]);

    alice.providers_oauth2_destroy().id(pk).send().await.unwrap();
    let orphan = alice.core_applications_retrieve().slug("grafana-2").send().await.unwrap().into_inner();
    assert_eq!((orphan.provider, orphan.provider_obj.is_none()), (None, true));
    alice.core_applications_destroy().slug("grafana-2").send().await.unwrap();
    let (status, body) = error_of(alice.core_applications_retrieve().slug("grafana-2").send().await);
    assert_eq!((status, body), (404, json!({"detail": "No Application matches the given query."})));
}

#[tokio::test]
async fn deleting_a_provider_deletes_its_tokens_and_applications_survive_export_and_load() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let before = alice.oauth2_access_tokens_list().provider(1).send().await.unwrap().into_inner();
    assert!(before.pagination.count > 0.0, "the example seed has tokens of provider 1");
    alice.core_applications_create().body(application_request("grafana-app", "Grafana", Some(1))).send().await.unwrap();
    let exported = server.export().await.unwrap();
    assert_eq!(exported["authentik"]["applications"][0]["slug"], json!("grafana-app"));
    let secret = "grafana-example-client-secret-never-reuse";
    assert_eq!(exported["authentik"]["providers"][0]["client_secret"], json!(secret), "the seed's secret, exported");
    alice.providers_oauth2_destroy().id(1).send().await.unwrap();
    let (status, _) = error_of(alice.oauth2_access_tokens_list().provider(1).send().await);
    assert_eq!(status, 400, "the provider filter names an unknown provider now");
    let all = alice.oauth2_access_tokens_list().send().await.unwrap().into_inner();
    assert!(all.results.iter().all(|t| t.provider.pk != 1), "its tokens went with it");

    server.load(exported.clone()).await.unwrap();
    let restored = alice.providers_oauth2_retrieve().id(1).send().await.unwrap().into_inner();
    assert_eq!(
        restored.client_secret.as_deref().map(String::as_str),
        exported["authentik"]["providers"][0]["client_secret"].as_str()
    );
    assert_eq!(restored.assigned_application_slug.as_deref(), Some("grafana-app"));
    let app = alice.core_applications_retrieve().slug("grafana-app").send().await.unwrap().into_inner();
    assert_eq!(app.provider, Some(1));
}

#[tokio::test]
async fn a_provider_is_patched_and_shows_its_setup_urls_once_an_application_names_it() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let created = alice.providers_oauth2_create().body(provider_request("setup")).send().await.unwrap().into_inner();
    let patch = types::PatchedOAuth2ProviderRequest::builder()
        .name(Some("renamed".parse::<types::PatchedOAuth2ProviderRequestName>().unwrap()));
    let patched = alice.providers_oauth2_partial_update().id(created.pk).body(patch).send().await.unwrap();
    let patched = patched.into_inner();
    assert_eq!((patched.name.as_str(), &patched.client_id), ("renamed", &created.client_id), "the rest stays");
    let auth = format!("Bearer {ALICE_KEY}");
    let path = format!("/api/v3/providers/oauth2/{}/", created.pk);
    let unknown = json!({"authorization_flow": "11112222-3333-4444-5555-666677778888"}).to_string();
    let (status, body) = server.raw(Method::PATCH, &path, Some(&auth), Some(&unknown)).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"authorization_flow": ["Invalid pk \"11112222-3333-4444-5555-666677778888\" - object does not exist."]})
        )
    );

    let (status, body) = error_of(alice.providers_oauth2_setup_urls_retrieve().id(created.pk).send().await);
    assert_eq!((status, body), (404, json!({"detail": "Provider has no application assigned"})));
    alice
        .core_applications_create()
        .body(application_request("setup-app", "Setup", Some(created.pk)))
        .send()
        .await
        .unwrap();
    let urls = alice.providers_oauth2_setup_urls_retrieve().id(created.pk).send().await.unwrap().into_inner();
    let root = format!("{}/application/o", server.base);
    assert_eq!(urls.issuer, format!("{root}/setup-app/"));
    assert_eq!((urls.authorize, urls.token), (format!("{root}/authorize/"), format!("{root}/token/")));
    assert_eq!(urls.provider_info, format!("{root}/setup-app/.well-known/openid-configuration"));
    assert_eq!((urls.jwks, urls.dcr_registration), (format!("{root}/setup-app/jwks/"), None));
    let discovery =
        server.raw(Method::GET, "/application/o/setup-app/.well-known/openid-configuration", None, None).await;
    assert_eq!(discovery.1["issuer"].as_str(), Some(urls.issuer.as_str()), "the issuer discovery shows");
}

#[tokio::test]
async fn an_application_is_updated_renamed_and_rebound() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let first = alice.providers_oauth2_create().body(provider_request("first")).send().await.unwrap().into_inner();
    let second = alice.providers_oauth2_create().body(provider_request("second")).send().await.unwrap().into_inner();
    alice.core_applications_create().body(application_request("app", "App", Some(first.pk))).send().await.unwrap();

    let patch = types::PatchedApplicationRequest::builder()
        .meta_launch_url(Some("https://app.example.com".to_string()))
        .provider(Some(second.pk));
    let patched = alice.core_applications_partial_update().slug("app").body(patch).send().await.unwrap().into_inner();
    assert_eq!((patched.name.as_str(), patched.provider), ("App", Some(second.pk)), "a PATCH keeps the rest");
    let unbound = alice.providers_oauth2_retrieve().id(first.pk).send().await.unwrap().into_inner();
    assert_eq!(unbound.assigned_application_slug, None, "the provider it left is unbound");

    let renamed = alice
        .core_applications_update()
        .slug("app")
        .body(application_request("app-2", "App 2", Some(second.pk)))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!((renamed.slug.as_str(), renamed.name.as_str()), ("app-2", "App 2"));
    assert_eq!(renamed.meta_launch_url.as_deref(), Some("https://app.example.com"), "a PUT keeps what it omits");
    let (status, _) = error_of(alice.core_applications_retrieve().slug("app").send().await);
    assert_eq!(status, 404, "the old slug is gone");
    let bound = alice.providers_oauth2_retrieve().id(second.pk).send().await.unwrap().into_inner();
    assert_eq!(bound.assigned_application_slug.as_deref(), Some("app-2"));

    alice.core_applications_create().body(application_request("other", "Other", Some(first.pk))).send().await.unwrap();
    let auth = format!("Bearer {ALICE_KEY}");
    let (status, body) =
        server.raw(Method::PATCH, "/api/v3/core/applications/other/", Some(&auth), Some(r#"{"slug": "app-2"}"#)).await;
    assert_eq!((status, body), (400, json!({"slug": ["Application with this slug already exists."]})));
    let steal = json!({"provider": second.pk}).to_string();
    let (status, body) = server.raw(Method::PATCH, "/api/v3/core/applications/other/", Some(&auth), Some(&steal)).await;
    assert_eq!((status, body), (400, json!({"provider": ["Application with this provider already exists."]})));
    let (status, body) = server.raw(Method::PUT, "/api/v3/core/applications/other/", Some(&auth), Some("{}")).await;
    assert_eq!(
        (status, body),
        (400, json!({"name": ["This field is required."], "slug": ["This field is required."]}))
    );
    let bob = server.authentik(BOB_KEY);
    let (status, _) = error_of(
        bob.core_applications_partial_update()
            .slug("other")
            .body(types::PatchedApplicationRequest::builder())
            .send()
            .await,
    );
    assert_eq!(status, 403, "for superusers, as create and destroy");
}

#[tokio::test]
async fn every_provider_is_listed_searched_and_filtered_by_its_application() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let seeded = alice.providers_all_list().send().await.unwrap().into_inner().pagination.count;
    let bound = alice.providers_oauth2_create().body(provider_request("zeta")).send().await.unwrap().into_inner();
    let unbound = alice.providers_oauth2_create().body(provider_request("alpha")).send().await.unwrap().into_inner();
    alice
        .core_applications_create()
        .body(application_request("wiki-zeta", "Wiki Zeta", Some(bound.pk)))
        .send()
        .await
        .unwrap();

    let all = alice.providers_all_list().send().await.unwrap().into_inner();
    assert_eq!(all.pagination.count, seeded + 2.0);
    assert!(all.results.windows(2).all(|w| w[0].pk < w[1].pk), "by pk");
    let by_app_name = alice.providers_all_list().search("WIKI zeta").send().await.unwrap().into_inner();
    assert_eq!(
        by_app_name.results.iter().map(|p| p.pk).collect::<Vec<_>>(),
        [bound.pk],
        "the application's name counts"
    );
    let free = alice.providers_all_list().application_isnull(true).search("alpha").send().await.unwrap().into_inner();
    assert_eq!(free.results.iter().map(|p| p.pk).collect::<Vec<_>>(), [unbound.pk]);
    assert_eq!(free.results[0].meta_model_name, "authentik_providers_oauth2.oauth2provider");
    let backchannel = alice.providers_all_list().backchannel(true).send().await.unwrap().into_inner();
    assert_eq!(backchannel.pagination.count, 0.0, "OAuth2 providers are never backchannel providers");
    let by_name = alice.providers_all_list().ordering("-name").search("alpha zeta").send().await.unwrap().into_inner();
    assert!(by_name.results.is_empty(), "every term must match");
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    assert_eq!(error_of(server.authentik(BOB_KEY).providers_all_list().send().await), (403, forbidden));
}
