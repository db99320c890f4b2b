//! The device authorization grant (RFC 8628) as authentik serves it: the `openidconnect` crate, unmodified, runs
//! the device side (`exchange_device_code`, then `exchange_device_access_token` polling through
//! `authorization_pending`) while a user approves headless through the flow executor, or with the HTML forms of
//! `/device`; every refusal of the device endpoint, its throttle and the grant, as raw HTTP.

use std::time::Duration;

use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse, CoreIdTokenVerifier, CoreProviderMetadata};
use openidconnect::{ClientId, DeviceAuthorizationUrl, IssuerUrl, Nonce, OAuth2TokenResponse, Scope, TokenResponse};
use reqwest::Method;
use reqwest::header::CACHE_CONTROL;
use serde_json::{Value, json};
use tokenstack_client::types;

use crate::login::{ALICE_PASSWORD, Agent, EXPLICIT_CONSENT, IMPLICIT_CONSENT, query_param, urlencode};
use crate::oauth2::send;
use crate::support::{ADMIN_KEY, TestServer};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const PENDING: &str =
    "The authorization request is still pending as the end user hasn't yet completed the user-interaction steps";
const EXPIRED: &str = "The \"device_code\" has expired, and the device authorization session has concluded.  The client \
                       MAY commence a new device authorization request but SHOULD wait for user interaction before \
                       restarting to avoid unnecessary polling.";

/// A public provider `slug` (RS256) for devices, with its application unless `application` is false.
async fn device_provider(server: &TestServer, slug: &str, flow: &str, application: bool) {
    let admin = format!("Bearer {ADMIN_KEY}");
    let body = json!({
        "name": slug, "client_id": slug, "client_type": "public", "authorization_flow": flow,
        "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
        "signing_key": "7f1a0003-0000-4000-8000-000000000003", "redirect_uris": [],
        "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT],
    });
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&admin), Some(&body.to_string())).await;
    assert_eq!(status, 201, "{created}");
    if application {
        let app = json!({"name": format!("{slug} app"), "slug": slug, "provider": created["pk"]});
        let (status, body) =
            server.raw(Method::POST, "/api/v3/core/applications/", Some(&admin), Some(&app.to_string())).await;
        assert_eq!(status, 201, "{body}");
    }
}

/// A form POST under `/application/o/`: the status, the JSON body and whether `Cache-Control: no-store` came.
async fn post(server: &TestServer, path: &str, form: &[(&str, &str)], forwarded_for: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{}{path}", server.base)).form(form);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    assert_eq!(response.headers().get(CACHE_CONTROL).map(|v| v.to_str().unwrap()), Some("no-store"), "{path}");
    (status, response.json().await.expect("json"))
}

async fn start_device(server: &TestServer, client_id: &str, scope: &str) -> Value {
    let (status, body) =
        post(server, "/application/o/device/", &[("client_id", client_id), ("scope", scope)], None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn poll(server: &TestServer, client_id: &str, device_code: &str) -> (u16, Value) {
    let form = [("grant_type", DEVICE_GRANT), ("client_id", client_id), ("device_code", device_code)];
    post(server, "/application/o/token/", &form, None).await
}

/// The executor path of flow `slug` with the page's query.
fn executor(slug: &str, query: &str) -> String {
    format!("/api/v3/flows/executor/{slug}/?query={}", urlencode(query))
}

#[tokio::test]
async fn openidconnect_runs_the_device_flow_while_a_user_approves_through_the_executor() {
    let server = TestServer::start().await;
    device_provider(&server, "tv", EXPLICIT_CONSENT, true).await;
    let reqwest = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let http_client = |request| send(&reqwest, request);

    // Discovery lists the device authorization endpoint and the grant, as upstream's ProviderInfoView.
    let issuer = IssuerUrl::new(format!("{}/application/o/tv/", server.base)).unwrap();
    let document: Value = reqwest
        .get(format!("{}.well-known/openid-configuration", issuer.as_str()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device_endpoint = document["device_authorization_endpoint"].as_str().expect("listed").to_owned();
    assert_eq!(device_endpoint, format!("{}/application/o/device/", server.base));
    assert!(document["grant_types_supported"].as_array().unwrap().contains(&json!(DEVICE_GRANT)), "{document}");

    let metadata = CoreProviderMetadata::discover_async(issuer, &http_client).await.expect("discovery");
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new("tv".into()), None)
        .set_device_authorization_url(DeviceAuthorizationUrl::new(device_endpoint).unwrap());
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&http_client)
        .await
        .expect("a device authorization");
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9, "nine digits: {user_code}");
    assert!(user_code.bytes().all(|b| b.is_ascii_digit()), "{user_code}");
    assert_eq!(details.verification_uri().as_str(), format!("{}/device", server.base));
    let complete = details.verification_uri_complete().expect("with the code").secret().clone();
    assert_eq!(complete, format!("{}/device?code={user_code}", server.base));
    assert_eq!((details.expires_in(), details.interval()), (Duration::from_secs(60), Duration::from_secs(5)));

    // The device polls (authorization_pending until the approval) while alice logs in headless and opens
    // verification_uri_complete: the explicit consent stage, then the finish stage, through the executor.
    let approve = async {
        let mut agent = Agent::new(&server);
        let done = agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
        assert_eq!(done["to"], "/if/user/", "{done}");
        let seen = agent.get(&complete).await;
        assert_eq!(seen.status, 302);
        let flow = format!("/if/flow/default-provider-authorization-explicit-consent/?code={user_code}");
        assert_eq!(seen.location, flow);
        let path = executor("default-provider-authorization-explicit-consent", &format!("code={user_code}"));
        let consent = agent.get(&path).await.json();
        assert_eq!(consent["component"], "ak-stage-consent", "{consent}");
        assert_eq!(consent["header_text"], "You're about to sign into tv app.");
        let scopes: Vec<&str> =
            consent["permissions"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(scopes, ["email", "offline_access"], "{consent}");
        let finish = agent.solve(&path, json!({"component": "ak-stage-consent", "token": consent["token"]})).await;
        assert_eq!(finish["component"], "ak-provider-oauth2-device-code-finish", "{finish}");
        assert_eq!(finish["flow_info"]["title"], "Redirecting to tv app", "{finish}");
        let done = agent.solve(&path, json!({"component": "ak-provider-oauth2-device-code-finish"})).await;
        assert_eq!(done, json!({"component": "xak-flow-redirect", "to": "/if/user/"}));
    };
    let polling = client.exchange_device_access_token(&details).expect("a token endpoint").request_async(
        &http_client,
        tokio::time::sleep,
        Some(Duration::from_secs(50)),
    );
    let (token, ()) = tokio::join!(polling, approve);
    let token = token.expect("the tokens once approved");
    assert!(token.refresh_token().is_some(), "offline_access brings a refresh token");
    let scopes: Vec<&str> = token.scopes().expect("scope").iter().map(|s| s.as_str()).collect();
    assert_eq!(scopes, ["openid", "email", "offline_access"]);
    let verifier: CoreIdTokenVerifier = client.id_token_verifier();
    let no_nonce = |_: Option<&Nonce>| Ok::<(), String>(());
    let claims = token.id_token().expect("an id token").claims(&verifier, no_nonce).expect("it verifies");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
    let amr: Vec<&str> = claims.auth_method_refs().expect("amr").iter().map(|a| a.as_str()).collect();
    assert_eq!(amr, ["pwd"], "the approving session's login");
    let age = chrono::Utc::now() - claims.auth_time().expect("auth_time");
    assert!(age.num_seconds() < 60, "auth_time is the login's");

    // The device code is spent.
    let (status, body) = poll(&server, "tv", details.device_code().secret()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[tokio::test]
async fn the_device_endpoint_and_the_grant_refuse_as_upstream() {
    let server = TestServer::start().await;
    device_provider(&server, "tv", IMPLICIT_CONSENT, true).await;
    device_provider(&server, "radio", IMPLICIT_CONSENT, true).await;
    device_provider(&server, "orphan", IMPLICIT_CONSENT, false).await;

    // DeviceView: no client_id, an unknown one, a provider without application are invalid_client.
    for form in [vec![("scope", "openid")], vec![("client_id", "nobody")], vec![("client_id", "orphan")]] {
        let (status, body) = post(&server, "/application/o/device/", &form, None).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert_eq!(body["error"], "invalid_client", "{body}");
        assert!(body["error_description"].as_str().unwrap().starts_with("Client authentication failed"), "{body}");
        assert!(body["request_id"].is_string(), "{body}");
    }
    let (status, _) = server.raw(Method::GET, "/application/o/device/", None, None).await;
    assert_eq!(status, 405, "the view serves POST only");

    // The generated client: the device authorization, its headers and its refusal.
    let client = Agent::new(&server).client();
    let form = |client_id: Option<&str>| types::OAuth2DeviceAuthorizationRequest {
        client_id: client_id.map(str::to_owned),
        scope: Some("openid".into()),
    };
    let issued = client.oauth2_provider_device().body(form(Some("tv"))).send().await.expect("a device authorization");
    assert_eq!(
        (&issued.headers()["cache-control"], &issued.headers()["pragma"]),
        (&"no-store".parse().unwrap(), &"no-cache".parse().unwrap())
    );
    let started = serde_json::to_value(issued.into_inner()).unwrap();
    let refused = client.oauth2_provider_device().body(form(None)).send().await;
    match refused {
        Err(progenitor_client::Error::ErrorResponse(e)) => {
            assert_eq!((e.status().as_u16(), e.error.as_str()), (400, "invalid_client"));
        }
        other => panic!("expected invalid_client: {other:?}"),
    }

    // The grant: an unknown device code, another provider's, pending, expired; the provider must have the grant.
    let device_code = started["device_code"].as_str().unwrap();
    assert_eq!(device_code.len(), 128, "generate_key()");
    for (client_id, code) in [("tv", "no-such-code"), ("radio", device_code), ("tv", "")] {
        let (status, body) = poll(&server, client_id, code).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{client_id}: {body}");
    }
    let (status, body) = poll(&server, "tv", device_code).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        (body["error"].as_str(), body["error_description"].as_str()),
        (Some("authorization_pending"), Some(PENDING))
    );
    let admin = format!("Bearer {ADMIN_KEY}");
    let (_, providers) = server.raw(Method::GET, "/api/v3/providers/oauth2/?name=radio", Some(&admin), None).await;
    let pk = providers["results"][0]["pk"].as_i64().unwrap();
    let only_code = json!({"grant_types": ["authorization_code"]}).to_string();
    let path = format!("/api/v3/providers/oauth2/{pk}/");
    let (status, body) = server.raw(Method::PATCH, &path, Some(&admin), Some(&only_code)).await;
    assert_eq!(status, 200, "{body}");
    let radio_code = start_device(&server, "radio", "").await;
    let (status, body) = poll(&server, "radio", radio_code["device_code"].as_str().unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "not in grant_types: {body}");

    // Past the provider's access_code_validity (minutes=1) by the server's clock: expired_token, and /device no
    // longer finds its user code.
    server.set_clock_offset(61).await.unwrap();
    let (status, body) = poll(&server, "tv", device_code).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!((body["error"].as_str(), body["error_description"].as_str()), (Some("expired_token"), Some(EXPIRED)));
    let mut agent = Agent::new(&server);
    agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
    let user_code = started["user_code"].as_str().unwrap();
    let entry = agent.client().device_entry().code(user_code).send().await;
    match entry {
        Err(progenitor_client::Error::UnexpectedResponse(r)) => {
            assert_eq!(r.status(), 302);
            let location = r.headers()["location"].to_str().unwrap();
            assert_eq!(location, format!("/if/flow/default-device-code-flow/?code={user_code}"));
        }
        Ok(_) | Err(_) => panic!("expected a 302 to the device-code flow"),
    }
}

#[tokio::test]
async fn the_device_endpoint_is_throttled_per_client_with_slow_down() {
    let server = TestServer::start_with(|config| config.device_throttle = "3/hour".into()).await;
    device_provider(&server, "tv", IMPLICIT_CONSENT, true).await;
    for _ in 0..3 {
        let (status, body) = post(&server, "/application/o/device/", &[("client_id", "tv")], Some("10.0.0.1")).await;
        assert_eq!(status, 200, "{body}");
    }
    // Refusals count too until the limit: a fourth request of any kind is 429.
    let (status, body) = post(&server, "/application/o/device/", &[("client_id", "nobody")], Some("10.0.0.1")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "slow_down");
    assert_eq!(
        body["error_description"],
        "A variant of \"authorization_pending\", the authorization request isstill pending and polling should \
         continue, but the interval MUSTbe increased by 5 seconds for this and all subsequent requests."
    );
    let (status, _) = post(&server, "/application/o/device/", &[("client_id", "tv")], Some("10.0.0.2")).await;
    assert_eq!(status, 200, "another client address has its own allowance");
    server.set_clock_offset(3601).await.unwrap();
    let (status, _) = post(&server, "/application/o/device/", &[("client_id", "tv")], Some("10.0.0.1")).await;
    assert_eq!(status, 200, "an hour later");
}

#[tokio::test]
async fn the_device_pages_log_in_first_then_take_the_code_and_approve_with_forms() {
    let server = TestServer::start().await;
    device_provider(&server, "tv", IMPLICIT_CONSENT, true).await;
    let started = start_device(&server, "tv", "openid profile").await;
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let mut agent = Agent::new(&server);

    // Without a session, /device sends the browser to log in, with `next` back to it.
    let seen = agent.get("/device").await;
    assert_eq!((seen.status.as_u16(), seen.location.as_str()), (302, "/flows/-/default/authentication/?next=/device"));
    let seen = agent.get("/device?code=%3Cscript%3E").await;
    assert_eq!(query_param(&seen.location, "next").as_deref(), Some("/device?code=%3Cscript%3E"));
    let login = agent.follow("/flows/-/default/authentication/?next=/device").await;
    assert!(login.body.contains("name=\"uidField\""), "{}", login.body);
    let page = "/if/flow/default-authentication-flow/?next=%2Fdevice";
    let seen = agent.post_form(page, &[("uidField", "alice")]).await;
    assert_eq!(seen.status, 302);
    agent.post_form(page, &[("password", ALICE_PASSWORD)]).await;
    let seen = agent.follow(page).await;
    assert_eq!((seen.status.as_u16(), seen.location.as_str()), (302, "/device"));

    // /device plans the device-code flow: its page asks for the code; a wrong one is upstream's error, and the
    // page never shows what was typed.
    let seen = agent.get("/device").await;
    assert_eq!(seen.location, "/if/flow/default-device-code-flow/");
    let entry = agent.get(&seen.location).await;
    assert!(entry.body.contains("name=\"code\"") && entry.body.contains("type=\"submit\""), "{}", entry.body);
    let api = agent.get(&executor("default-device-code-flow", "")).await.json();
    assert_eq!(api["component"], "ak-provider-oauth2-device-code", "{api}");
    let wrong = agent.post_form("/if/flow/default-device-code-flow/", &[("code", "<script>alert(1)</script>")]).await;
    assert_eq!(wrong.status, 200);
    assert!(wrong.body.contains("Invalid code") && !wrong.body.contains("<script>alert"), "{}", wrong.body);
    let empty = agent.solve(&executor("default-device-code-flow", ""), json!({"code": ""})).await;
    assert_eq!(empty["response_errors"]["code"][0]["code"], "blank", "{empty}");
    let invalid = agent.solve(&executor("default-device-code-flow", ""), json!({"code": "000000000"})).await;
    assert_eq!(invalid["response_errors"], json!({"code": [{"string": "Invalid code", "code": "invalid"}]}));

    // The right code: on to the provider's authorization flow (implicit consent), whose last stage approves.
    let seen = agent.post_form("/if/flow/default-device-code-flow/", &[("code", &format!(" {user_code} "))]).await;
    assert_eq!(
        (seen.status.as_u16(), seen.location.as_str()),
        (302, "/if/flow/default-provider-authorization-implicit-consent/")
    );
    let (status, body) = poll(&server, "tv", &device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("authorization_pending")), "not before the finish stage");
    let finish = agent.follow(&seen.location).await;
    assert!(finish.body.contains("successfully authenticated your device"), "{}", finish.body);
    let done = agent.post_form("/if/flow/default-provider-authorization-implicit-consent/", &[]).await;
    assert_eq!((done.status.as_u16(), done.location.as_str()), (302, "/if/user/"));

    let (status, token) = poll(&server, "tv", &device_code).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "openid profile");
    assert!(token.get("refresh_token").is_none(), "no offline_access: {token}");

    // The stored access token (upstream's API shows its id token) carries the approving session's login.
    let admin = format!("Bearer {ADMIN_KEY}");
    let (_, tokens) = server.raw(Method::GET, "/api/v3/oauth2/access_tokens/", Some(&admin), None).await;
    let stored = tokens["results"].as_array().unwrap().iter().find(|t| t["scope"] == json!(["openid", "profile"]));
    let id_token: Value = serde_json::from_str(stored.expect("the token")["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id_token["amr"], json!(["pwd"]), "{id_token}");
    let sid = id_token["sid"].as_str().expect("sid");
    assert!(sid.len() == 64 && Some(sid) != agent.cookie.as_deref(), "the session key's hash: {sid}");
    assert_eq!(id_token["name"], "Alice Admin", "profile claims: {id_token}");
}

#[tokio::test]
async fn bad_input_on_the_device_endpoints_and_pages_is_never_a_server_error() {
    let server = TestServer::start().await;
    device_provider(&server, "tv", IMPLICIT_CONSENT, true).await;
    let bodies = ["", "client_id=%FF%FE", "client_id=tv&scope=%00", "client_id=tv&client_id=&scope=a+b"];
    for body in bodies {
        let response = reqwest::Client::new()
            .post(format!("{}/application/o/device/", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().as_u16() < 500, "{body}: {}", response.status());
    }
    let (status, _) = server.raw(Method::POST, "/application/o/device/", None, Some("{\"client_id\": \"tv\"}")).await;
    assert_eq!(status, 400, "a JSON body is no form: no client_id");
    let form = [("grant_type", DEVICE_GRANT), ("client_id", "tv"), ("device_code", "\u{0}")];
    let (status, _) = post(&server, "/application/o/token/", &form, None).await;
    assert_eq!(status, 400);

    let mut agent = Agent::new(&server);
    agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
    for path in ["/device?code=%FF", "/device?next=//evil.example&code=1", "/device?code=1&code=2"] {
        // Every answer stays on the server: on to the device-code flow (a repeated `code` is Dropshot's 400).
        let seen = agent.get(path).await;
        if seen.status != 400 {
            assert!(seen.location.starts_with("/if/flow/default-device-code-flow/"), "{path}: {}", seen.location);
        }
    }
    // A `next` off the server rides along into the authorization flow, whose end refuses it.
    let started = start_device(&server, "tv", "openid").await;
    let user_code = started["user_code"].as_str().unwrap();
    let seen = agent.get(&format!("/device?code={user_code}&next=https%3A%2F%2Fevil.example%2F")).await;
    assert_eq!(seen.status, 302);
    let finish = agent.follow(&seen.location).await;
    assert!(finish.body.contains("successfully authenticated your device"), "{}", finish.body);
    let end = agent.post_form(&seen.location, &[]).await;
    assert_eq!(end.status, 200, "no redirect to {}", end.location);
    assert!(end.body.contains("Invalid next URL") && !end.body.contains("href=\"https://evil"), "{}", end.body);

    let path = executor("default-device-code-flow", "");
    for body in [json!({"code": {"a": 1}}), json!({"code": null}), json!({"code": 123}), json!([1, 2])] {
        let seen = agent.post_json(&path, body.clone()).await;
        assert!(seen.status.as_u16() < 500, "{body}: {}", seen.status);
    }
}
