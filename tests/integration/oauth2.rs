//! authentik's OAuth2 provider endpoints (`/application/o/`): the `openidconnect` crate, unmodified, runs every
//! flow against them; the generated client calls each operation; the issued tokens are the management API's.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken, CoreIdTokenVerifier, CoreProviderMetadata,
};
use openidconnect::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RequestTokenError, RevocationUrl, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use reqwest::Method;
use serde_json::{Value, json};
use tokenstack_client::{Client, types};

use crate::support::{ADMIN_KEY, ALICE_KEY, TestServer};

const REDIRECT: &str = "http://localhost:9999/cb";
const SECRET: &str = "provider-secret-0123456789";
/// The key pairs a fresh tokenstack creates (`model::RSA_KEY_PAIR`, `EC_KEY_PAIR`).
const RSA_KEY: &str = "7f1a0003-0000-4000-8000-000000000003";
const EC_KEY: &str = "7f1a0004-0000-4000-8000-000000000004";

/// A provider `client_id` with the application `slug` bound to it, signed by `signing_key` (`None`: HS256).
async fn provider(server: &TestServer, slug: &str, signing_key: Option<&str>) -> i64 {
    let body = json!({
        "name": slug, "client_id": slug, "client_secret": SECRET,
        "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
        "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
        "redirect_uris": [{"matching_mode": "strict", "url": REDIRECT}],
        "signing_key": signing_key,
        "grant_types": ["authorization_code", "refresh_token", "client_credentials", "password"],
    });
    let admin = format!("Bearer {ADMIN_KEY}");
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&admin), Some(&body.to_string())).await;
    assert_eq!(status, 201, "{created}");
    let pk = created["pk"].as_i64().expect("pk");
    let app = json!({"name": slug, "slug": slug, "provider": pk});
    let (status, body) =
        server.raw(Method::POST, "/api/v3/core/applications/", Some(&admin), Some(&app.to_string())).await;
    assert_eq!(status, 201, "{body}");
    pk
}

/// openidconnect's HTTP client: the tests' reqwest, never following redirects.
fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

pub(crate) async fn send(
    client: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body).expect("a response from its parts"))
}

/// The `code` and `state` of the redirect an authorization answers with.
fn code_and_state(location: &str) -> (String, String) {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let param = |name: &str| {
        query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).map(str::to_owned).unwrap_or_default()
    };
    (param("code"), param("state"))
}

#[tokio::test]
async fn openidconnect_runs_discovery_client_credentials_code_with_pkce_refresh_introspect_and_revoke() {
    let server = TestServer::start().await;
    // An HS256 provider's JWKS is `{}`, as authentik's, which openidconnect's discovery refuses (no `keys`);
    // the Python suite runs HS256 through authlib.
    for (slug, key) in [("rs256", RSA_KEY), ("es256", EC_KEY)] {
        provider(&server, slug, Some(key)).await;
        let reqwest = http();
        let http_client = |request| send(&reqwest, request);
        let issuer = IssuerUrl::new(format!("{}/application/o/{slug}/", server.base)).unwrap();
        let metadata = CoreProviderMetadata::discover_async(issuer.clone(), &http_client).await.expect("discovery");
        assert_eq!(metadata.issuer(), &issuer, "the issuer keeps authentik's trailing slash");
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(slug.to_owned()),
            Some(ClientSecret::new(SECRET.to_owned())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
        .set_introspection_url(IntrospectionUrl::new(format!("{}/application/o/introspect/", server.base)).unwrap())
        .set_revocation_url(RevocationUrl::new(format!("{}/application/o/revoke/", server.base)).unwrap());
        let verifier = client.id_token_verifier();
        let no_nonce = |_: Option<&Nonce>| Ok::<(), String>(());

        // client_credentials with the provider's own secret: the access token is a JWT the JWKS verifies.
        let token = client
            .exchange_client_credentials()
            .unwrap()
            .add_scope(Scope::new("openid".into()))
            .request_async(&http_client)
            .await
            .expect("client credentials");
        assert!(token.refresh_token().is_none(), "client_credentials issues no refresh token");
        let access: CoreIdToken = token.access_token().secret().parse().expect("the access token is a JWT");
        let claims = access.claims(&verifier, no_nonce).expect("the access token verifies against the JWKS");
        assert_eq!(claims.audiences()[0].as_str(), slug);
        token.id_token().expect("id token").claims(&verifier, no_nonce).expect("the id token verifies");

        // Authorization code with PKCE S256, as alice (her authentik key authorizes).
        let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();
        let redirect = reqwest.get(url).bearer_auth(ALICE_KEY).send().await.unwrap();
        assert_eq!(redirect.status(), 302);
        let location = redirect.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT), "{location}");
        let (code, state) = code_and_state(&location);
        assert_eq!(&state, csrf.secret());
        let tokens = client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .unwrap()
            .set_pkce_verifier(pkce_verifier)
            .request_async(&http_client)
            .await
            .expect("code exchange");
        let id_claims = tokens.id_token().expect("id token").claims(&verifier, &nonce).expect("nonce and signature");
        assert_eq!(id_claims.email().map(|e| e.as_str()), Some("alice@example.com"));
        let reused = client.exchange_code(AuthorizationCode::new(code)).unwrap().request_async(&http_client).await;
        match reused {
            Err(RequestTokenError::ServerResponse(e)) => assert_eq!(e.error(), &CoreErrorResponseType::InvalidGrant),
            other => panic!("a code used twice: {other:?}"),
        }

        // Refresh: rotated, and the old refresh token is then refused.
        let refresh = tokens.refresh_token().expect("offline_access gives a refresh token").clone();
        let refreshed = client.exchange_refresh_token(&refresh).unwrap().request_async(&http_client).await.unwrap();
        let rotated = refreshed.refresh_token().expect("rotated").clone();
        assert_ne!(rotated.secret(), refresh.secret());
        match client.exchange_refresh_token(&refresh).unwrap().request_async(&http_client).await {
            Err(RequestTokenError::ServerResponse(e)) => assert_eq!(e.error(), &CoreErrorResponseType::InvalidGrant),
            other => panic!("reuse of a rotated refresh token: {other:?}"),
        }

        // Introspect, revoke, introspect again.
        let access = refreshed.access_token().clone();
        let introspection = client.introspect(&access).request_async(&http_client).await.unwrap();
        assert!(introspection.active());
        assert_eq!(introspection.client_id().map(|c| c.as_str()), Some(slug));
        // openidconnect refuses to revoke over plain HTTP (RFC 7009 requires TLS: `InsecureUrl`), so the
        // revocation is the RFC's own form post.
        let refused = client.revoke_token(access.clone().into());
        assert!(matches!(refused, Err(openidconnect::ConfigurationError::InsecureUrl("revocation"))));
        let revoked = reqwest
            .post(format!("{}/application/o/revoke/", server.base))
            .basic_auth(slug, Some(SECRET))
            .header("content-type", "application/x-www-form-urlencoded")
            // A JWT is URL-safe base64 and dots: nothing to escape.
            .body(format!("token={}&token_type_hint=access_token", access.secret()))
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 200);
        let introspection = client.introspect(&access).request_async(&http_client).await.unwrap();
        assert!(!introspection.active(), "a revoked token introspects inactive");
        let unknown = AccessToken::new("unknown".into());
        assert!(!client.introspect(&unknown).request_async(&http_client).await.unwrap().active());
    }
}

/// A generated client that does not follow redirects, sending `authorization` when given.
fn client(server: &TestServer, authorization: Option<&str>) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(value) = authorization {
        headers.insert(reqwest::header::AUTHORIZATION, value.parse().unwrap());
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    Client::new_with_client(&server.base, http)
}

fn form(grant_type: &str) -> types::OAuth2TokenRequest {
    types::OAuth2TokenRequest {
        grant_type: Some(grant_type.into()),
        client_id: Some("app".into()),
        client_secret: Some(SECRET.into()),
        ..Default::default()
    }
}

/// The status and body of a response the generated client did not expect (a redirect, a bodiless 401).
fn unexpected<T, E: std::fmt::Debug>(result: Result<T, progenitor_client::Error<E>>) -> reqwest::Response {
    match result {
        Err(progenitor_client::Error::UnexpectedResponse(response)) => response,
        Err(other) => panic!("expected a response the client does not type, got {other:?}"),
        Ok(_) => panic!("expected a response the client does not type, got a success"),
    }
}

fn error_code<T>(result: Result<T, progenitor_client::Error<types::OAuth2Error>>) -> (u16, String) {
    match result {
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            (response.status().as_u16(), response.into_inner().error)
        }
        Err(other) => panic!("expected an OAuth2 error, got {other:?}"),
        Ok(_) => panic!("expected an OAuth2 error, got a success"),
    }
}

#[tokio::test]
async fn the_generated_client_calls_every_provider_operation_and_bad_input_gets_upstream_errors() {
    let server = TestServer::start().await;
    provider(&server, "app", Some(EC_KEY)).await;
    let anonymous = client(&server, None);

    let discovery = anonymous.oauth2_provider_openid_configuration().application_slug("app").send().await.unwrap();
    assert_eq!(discovery.issuer, format!("{}/application/o/app/", server.base));
    assert_eq!(discovery.headers()["access-control-allow-origin"], "*");
    let jwks = anonymous.oauth2_provider_jwks().application_slug("app").send().await.unwrap();
    assert_eq!(jwks.keys[0].alg.as_deref(), Some("ES256"));
    let (status, _) = error_code(anonymous.oauth2_provider_jwks().application_slug("nope").send().await);
    assert_eq!(status, 404);
    let root = unexpected(anonymous.oauth2_provider_root().application_slug("app").send().await);
    assert_eq!(root.status(), 302);
    assert_eq!(root.headers()["location"], "/application/o/app/.well-known/openid-configuration");

    let issued = anonymous.oauth2_provider_token().body(form("client_credentials")).send().await.unwrap();
    assert_eq!(issued.headers()["cache-control"], "no-store");
    assert_eq!(issued.headers()["pragma"], "no-cache");
    let issued = issued.into_inner();
    assert_eq!(issued.token_type, types::OAuth2TokenResponseTokenType::Bearer);
    assert_eq!(issued.expires_in, 3600);

    // Bad input: each is authentik's error code, never a 5xx.
    let cases: [(types::OAuth2TokenRequest, &str); 6] = [
        (form("device_code"), "invalid_grant"),
        (types::OAuth2TokenRequest { grant_type: Some("bogus".into()), ..form("") }, "invalid_grant"),
        (types::OAuth2TokenRequest { client_id: Some("nope".into()), ..form("client_credentials") }, "invalid_client"),
        (
            types::OAuth2TokenRequest { client_secret: Some("wrong".into()), ..form("client_credentials") },
            "invalid_grant",
        ),
        (types::OAuth2TokenRequest { client_secret: Some("wrong".into()), ..form("refresh_token") }, "invalid_client"),
        (form("authorization_code"), "invalid_grant"),
    ];
    for (body, expected) in cases {
        let answer = error_code(anonymous.oauth2_provider_token().body(body.clone()).send().await);
        assert_eq!(answer, (400, expected.to_owned()), "{body:?}");
    }

    // Authorization code: the wrong redirect URI, a PKCE mismatch (the code stays usable), an expired code.
    let alice = client(&server, Some(&format!("Bearer {ALICE_KEY}")));
    let authorize = |challenge: &str| {
        alice
            .oauth2_provider_authorize()
            .client_id("app")
            .redirect_uri(REDIRECT)
            .response_type("code")
            .scope("openid profile")
            .state("s1")
            .code_challenge(challenge.to_owned())
            .code_challenge_method("plain")
            .send()
    };
    let redirect = unexpected(authorize("verifier-one").await);
    let (code, state) = code_and_state(redirect.headers()["location"].to_str().unwrap());
    assert_eq!(state, "s1");
    let exchange = |code: &str, verifier: &str, redirect_uri: &str| types::OAuth2TokenRequest {
        code: Some(code.to_owned()),
        code_verifier: Some(verifier.to_owned()),
        redirect_uri: Some(redirect_uri.to_owned()),
        ..form("authorization_code")
    };
    let wrong_uri = anonymous.oauth2_provider_token().body(exchange(&code, "verifier-one", "http://evil/cb")).send();
    assert_eq!(error_code(wrong_uri.await), (400, "invalid_client".to_owned()));
    let mismatch = anonymous.oauth2_provider_token().body(exchange(&code, "verifier-two", REDIRECT)).send();
    assert_eq!(error_code(mismatch.await), (400, "invalid_grant".to_owned()));
    let tokens =
        anonymous.oauth2_provider_token().body(exchange(&code, "verifier-one", REDIRECT)).send().await.unwrap();
    assert!(tokens.refresh_token.is_none(), "no offline_access, no refresh token");
    let redirect = unexpected(authorize("verifier-three").await);
    let (late, _) = code_and_state(redirect.headers()["location"].to_str().unwrap());
    server.set_clock_offset(61).await.unwrap();
    let expired = anonymous.oauth2_provider_token().body(exchange(&late, "verifier-three", REDIRECT)).send();
    assert_eq!(error_code(expired.await), (400, "invalid_grant".to_owned()));
    server.set_clock_offset(0).await.unwrap();
    let unknown_client =
        alice.oauth2_provider_authorize().client_id("nope").redirect_uri(REDIRECT).response_type("code");
    assert_eq!(error_code(unknown_client.send().await), (400, "invalid_client".to_owned()));

    // userinfo, introspection and revocation of the code's access token, then the clock past its expiry.
    let bearer = client(&server, Some(&format!("Bearer {}", tokens.access_token)));
    let info = bearer.oauth2_provider_userinfo().send().await.unwrap();
    assert_eq!(info.extra.get("preferred_username"), Some(&json!("alice")));
    let introspect = |token: &str| types::OAuth2IntrospectionRequest {
        token: Some(token.to_owned()),
        client_id: Some("app".into()),
        client_secret: Some(SECRET.into()),
        ..Default::default()
    };
    let active = anonymous.oauth2_provider_introspect().body(introspect(&tokens.access_token)).send().await.unwrap();
    assert!(active.active);
    assert_eq!(active.client_id.as_deref(), Some("app"));
    server.set_clock_offset(3601).await.unwrap();
    let expired = anonymous.oauth2_provider_introspect().body(introspect(&tokens.access_token)).send().await.unwrap();
    assert!(!expired.active, "past exp the token is inactive");
    match bearer.oauth2_provider_userinfo().send().await {
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            assert_eq!(response.status(), 401);
            assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("error=\"invalid_token\""));
        }
        other => panic!("userinfo past exp: {other:?}"),
    }
    server.set_clock_offset(0).await.unwrap();

    let revoke = |token: &str, secret: &str| types::OAuth2RevocationRequest {
        token: Some(token.to_owned()),
        client_id: Some("app".into()),
        client_secret: Some(secret.to_owned()),
        ..Default::default()
    };
    let bad = anonymous.oauth2_provider_revoke().body(revoke(&issued.access_token, "wrong")).send().await;
    assert_eq!(error_code(bad), (401, "invalid_client".to_owned()));
    anonymous.oauth2_provider_revoke().body(revoke("unknown", SECRET)).send().await.unwrap();
    anonymous.oauth2_provider_revoke().body(revoke(&issued.access_token, SECRET)).send().await.unwrap();
    let gone = anonymous.oauth2_provider_introspect().body(introspect(&issued.access_token)).send().await.unwrap();
    assert!(!gone.active);
    let (status, body) =
        server.raw(Method::POST, "/application/o/token/", None, Some("{\"grant_type\": \"client_credentials\"}")).await;
    assert_eq!((status, body["error"].clone()), (400, json!("invalid_client")), "a JSON body is an empty form");
    let (status, body) = server.raw(Method::GET, "/application/o/token/", None, None).await;
    assert_eq!((status, body["error"].clone()), (405, json!("method_not_allowed")));
    let (status, _) = server.raw(Method::POST, "/application/o/userinfo/", None, None).await;
    assert_eq!(status, 405);

    // A redirect URI a header cannot hold is percent-encoded, as Django's HttpResponseRedirect does (a provider
    // without redirect URIs registers the first one used).
    let admin = format!("Bearer {ADMIN_KEY}");
    let open = json!({"name": "open", "client_id": "open", "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
        "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002", "redirect_uris": [],
        "grant_types": ["authorization_code"]});
    let (status, _) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&admin), Some(&open.to_string())).await;
    assert_eq!(status, 201);
    let odd = "http://localhost/c|b\u{e9}\u{4}";
    let redirect = unexpected(
        alice.oauth2_provider_authorize().client_id("open").redirect_uri(odd).response_type("x").send().await,
    );
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("http://localhost/c%7Cb%C3%A9%04?error=unsupported_response_type"), "{location}");
}

#[tokio::test]
async fn issued_tokens_are_the_management_apis_rows_and_a_deleted_one_introspects_inactive() {
    let server = TestServer::start().await;
    let pk = provider(&server, "app", Some(RSA_KEY)).await;
    let anonymous = client(&server, None);
    let alice = client(&server, Some(&format!("Bearer {ALICE_KEY}")));
    let redirect = unexpected(
        alice
            .oauth2_provider_authorize()
            .client_id("app")
            .redirect_uri(REDIRECT)
            .response_type("code")
            .scope("openid offline_access")
            .send()
            .await,
    );
    let (code, _) = code_and_state(redirect.headers()["location"].to_str().unwrap());
    let body = types::OAuth2TokenRequest {
        code: Some(code),
        redirect_uri: Some(REDIRECT.into()),
        ..form("authorization_code")
    };
    let tokens = anonymous.oauth2_provider_token().body(body).send().await.unwrap().into_inner();
    let admin = server.authentik(ADMIN_KEY);
    let access = admin.oauth2_access_tokens_list().provider(pk).send().await.unwrap().into_inner().results;
    let refresh = admin.oauth2_refresh_tokens_list().provider(pk).send().await.unwrap().into_inner().results;
    assert_eq!((access.len(), refresh.len()), (1, 1));
    let id_token: Value = serde_json::from_str(&access[0].id_token).unwrap();
    assert_eq!(id_token["aud"], "app");
    assert_eq!(access[0].scope, vec!["openid".to_owned(), "offline_access".to_owned()]);
    admin.oauth2_access_tokens_destroy().id(access[0].pk).send().await.unwrap();
    let form = types::OAuth2IntrospectionRequest {
        token: Some(tokens.access_token.clone()),
        client_id: Some("app".into()),
        client_secret: Some(SECRET.into()),
        ..Default::default()
    };
    let gone = anonymous.oauth2_provider_introspect().body(form).send().await.unwrap();
    assert!(!gone.active, "deleted through the management API");

    // The state export carries the signing keys, and loading it back keeps what they signed verifiable.
    let state = server.admin().admin_state_export().send().await.unwrap().into_inner();
    let authentik = state.authentik.as_ref().expect("the export has an authentik part");
    let pairs: Vec<String> = authentik.key_pairs.iter().map(|p| p.pk.to_string()).collect();
    assert_eq!(pairs, [RSA_KEY.to_owned(), EC_KEY.to_owned()]);
    let jwks_before = anonymous.oauth2_provider_jwks().application_slug("app").send().await.unwrap().into_inner();
    server.admin().admin_state_load().body(state).send().await.unwrap();
    let jwks_after = anonymous.oauth2_provider_jwks().application_slug("app").send().await.unwrap().into_inner();
    assert_eq!(jwks_before.keys[0].kid, jwks_after.keys[0].kid);
}

#[tokio::test]
async fn grants_are_counted_by_type_and_faults_name_the_provider_operations() {
    let server = TestServer::start().await;
    provider(&server, "app", Some(EC_KEY)).await;
    let anonymous = client(&server, None);
    anonymous.oauth2_provider_token().body(form("client_credentials")).send().await.unwrap();
    let refused = anonymous.oauth2_provider_token().body(form("refresh_token")).send().await;
    assert_eq!(error_code(refused).0, 400);
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"tokenstack_oauth2_grants_total{grant="client_credentials",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"tokenstack_oauth2_grants_total{grant="refresh_token",status="400"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"operation_id="oauth2_provider_token",status="200""#), "{metrics}");

    // A fault rule names the literal operation, not the route it shares: introspection still answers.
    let rule = json!({"rules": [{"operation_id": "oauth2_provider_token", "error_rate": 1.0, "error_status": 400}]});
    let rule: types::FaultConfig = serde_json::from_value(rule).unwrap();
    server.admin().admin_faults_update().body(rule).send().await.unwrap();
    let (status, code) = error_code(anonymous.oauth2_provider_token().body(form("client_credentials")).send().await);
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
    let introspect = types::OAuth2IntrospectionRequest { token: Some("x".into()), ..Default::default() };
    let answer = anonymous.oauth2_provider_introspect().body(introspect).send().await.unwrap();
    assert!(!answer.active);
}

/// Issuers follow the request's `Host`, as authentik's do (docs/container.md, "Issuer URLs across networks"): a token
/// minted through the compose service name carries that issuer, and discovery through `localhost` names another.
#[tokio::test]
async fn the_issuer_follows_the_host_a_request_names() {
    let server = TestServer::start().await;
    provider(&server, "hosted", Some(RSA_KEY)).await;
    let client = http();
    let discovery = |host: &'static str| {
        client
            .get(format!("{}/application/o/hosted/.well-known/openid-configuration", server.base))
            .header(reqwest::header::HOST, host)
            .send()
    };
    let local: Value = discovery("localhost:9000").await.expect("discovery").json().await.expect("json");
    assert_eq!(local["issuer"], "http://localhost:9000/application/o/hosted/");
    let inside: Value = discovery("tokenstack:9000").await.expect("discovery").json().await.expect("json");
    assert_eq!(inside["issuer"], "http://tokenstack:9000/application/o/hosted/");

    let form =
        [("grant_type", "client_credentials"), ("client_id", "hosted"), ("client_secret", SECRET), ("scope", "openid")];
    let response = client
        .post(format!("{}/application/o/token/", server.base))
        .header(reqwest::header::HOST, "tokenstack:9000")
        .form(&form)
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let access: CoreIdToken = body["access_token"].as_str().expect("access token").parse().expect("a JWT");
    let verifier = CoreIdTokenVerifier::new_insecure_without_verification();
    let claims = access.claims(&verifier, |_: Option<&Nonce>| Ok::<(), String>(())).expect("claims");
    assert_eq!(claims.issuer().as_str(), "http://tokenstack:9000/application/o/hosted/");
}

#[tokio::test]
async fn a_provider_created_without_grant_types_allows_none_until_it_names_them() {
    let server = TestServer::start().await;
    let admin = format!("Bearer {ADMIN_KEY}");
    let body = json!({
        "name": "bare", "client_id": "bare", "client_secret": SECRET,
        "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
        "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
        "redirect_uris": [{"matching_mode": "strict", "url": REDIRECT}],
    });
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&admin), Some(&body.to_string())).await;
    assert_eq!((status, created.get("grant_types").cloned().unwrap_or(json!([]))), (201, json!([])), "{created}");
    let pk = created["pk"].as_i64().unwrap();
    let app = json!({"name": "bare", "slug": "bare", "provider": pk}).to_string();
    assert_eq!(server.raw(Method::POST, "/api/v3/core/applications/", Some(&admin), Some(&app)).await.0, 201);

    let http = http();
    let token = || async {
        let form = format!("grant_type=client_credentials&client_id=bare&client_secret={SECRET}&scope=openid");
        let response = http
            .post(format!("{}/application/o/token/", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    };
    let (status, refused) = token().await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("invalid_grant")), "{refused}");
    let authorize = format!(
        "{}/application/o/authorize/?client_id=bare&response_type=code&scope=openid&redirect_uri={REDIRECT}&state=s",
        server.base
    );
    let response = http.get(authorize).header("authorization", &admin).send().await.unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{REDIRECT}?error=invalid_request")), "{location}");

    let patch = json!({"grant_types": ["client_credentials"]}).to_string();
    let path = format!("/api/v3/providers/oauth2/{pk}/");
    assert_eq!(server.raw(Method::PATCH, &path, Some(&admin), Some(&patch)).await.0, 200);
    let (status, issued) = token().await;
    assert_eq!((status, issued["token_type"].as_str()), (200, Some("Bearer")), "{issued}");
}
