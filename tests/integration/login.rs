//! Logging in as a person would (issue 27): headless through authentik's flow executor, then authorize, code
//! and token; the flow pages as a browser without JavaScript drives them; consent, `prompt`, `max_age`, the
//! session cookie and what ends a session; open redirects and bad input. Plain HTTP with the session cookie
//! kept by hand, as scripts against real authentik do, and the generated client for each operation.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokenstack_client::{Client, types};

use crate::support::{ADMIN_KEY, TestServer};

pub(crate) const REDIRECT: &str = "http://localhost:3000/cb";
pub(crate) const SECRET: &str = "login-provider-secret";
pub(crate) const ALICE_PASSWORD: &str = "alice-password";
pub(crate) const EXPLICIT_CONSENT: &str = "7f1a0005-0000-4000-8000-000000000007";
pub(crate) const IMPLICIT_CONSENT: &str = "7f1a0001-0000-4000-8000-000000000001";
const LOGIN: &str = "/api/v3/flows/executor/default-authentication-flow/";

/// A provider `slug` with its application, running the authorization flow `flow`.
async fn provider(server: &TestServer, slug: &str, flow: &str) {
    provider_with(server, slug, flow, "7f1a0002-0000-4000-8000-000000000002", &[]).await;
}

/// A provider `slug` with its application: the authorization flow `flow`, the invalidation flow `invalidation`,
/// the redirect URI [`REDIRECT`] and `more_uris`. Answers the provider's pk.
pub(crate) async fn provider_with(
    server: &TestServer,
    slug: &str,
    flow: &str,
    invalidation: &str,
    more_uris: &[Value],
) -> i64 {
    let admin = format!("Bearer {ADMIN_KEY}");
    let mut uris = vec![json!({"matching_mode": "strict", "url": REDIRECT})];
    uris.extend(more_uris.iter().cloned());
    let body = json!({
        "name": slug, "client_id": slug, "client_secret": SECRET, "authorization_flow": flow,
        "invalidation_flow": invalidation,
        "redirect_uris": uris,
        "signing_key": "7f1a0004-0000-4000-8000-000000000004",
        "grant_types": ["authorization_code", "refresh_token"],
    });
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&admin), Some(&body.to_string())).await;
    assert_eq!(status, 201, "{created}");
    let app = json!({"name": format!("{slug} app"), "slug": slug, "provider": created["pk"]});
    let (status, body) =
        server.raw(Method::POST, "/api/v3/core/applications/", Some(&admin), Some(&app.to_string())).await;
    assert_eq!(status, 201, "{body}");
    created["pk"].as_i64().expect("pk")
}

/// One user agent: plain HTTP that never follows redirects, and the `authentik_session` cookie it was given.
pub(crate) struct Agent {
    base: String,
    http: reqwest::Client,
    pub(crate) cookie: Option<String>,
    /// Every `Set-Cookie` of the session cookie, as sent.
    set_cookies: Vec<String>,
}

/// A response as the agent saw it.
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    pub(crate) location: String,
    pub(crate) body: String,
}

impl Seen {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Agent {
    pub(crate) fn new(server: &TestServer) -> Agent {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Agent { base: server.base.clone(), http, cookie: None, set_cookies: Vec::new() }
    }

    /// The generated client, sending this agent's cookie.
    pub(crate) fn client(&self) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(cookie) = &self.cookie {
            headers.insert(COOKIE, format!("authentik_session={cookie}").parse().expect("header"));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        Client::new_with_client(&self.base, http)
    }

    fn keep_cookie(&mut self, headers: &reqwest::header::HeaderMap) {
        for value in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            if let Some(rest) = value.strip_prefix("authentik_session=") {
                self.cookie = Some(rest.split(';').next().unwrap_or_default().to_owned());
                self.set_cookies.push(value.to_owned());
            }
        }
    }

    async fn request(&mut self, method: Method, path: &str, body: Option<(&str, String)>) -> Seen {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) };
        let mut request = self.http.request(method, url);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, format!("authentik_session={cookie}"));
        }
        if let Some((content_type, body)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let response = request.send().await.expect("an answer");
        self.keep_cookie(response.headers());
        let status = response.status();
        let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = response.text().await.expect("a body");
        assert!(status.as_u16() < 500, "{path}: {status} {body}");
        Seen { status, location, body }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Seen {
        self.request(Method::GET, path, None).await
    }

    /// GETs `path` and follows the flow pages' redirects (a stage passed: the page again), as a browser does.
    pub(crate) async fn follow(&mut self, path: &str) -> Seen {
        let mut seen = self.get(path).await;
        for _ in 0..10 {
            if seen.status != StatusCode::FOUND || !seen.location.starts_with("/if/flow/") {
                break;
            }
            let next = seen.location.clone();
            seen = self.get(&next).await;
        }
        seen
    }

    pub(crate) async fn post_json(&mut self, path: &str, body: Value) -> Seen {
        self.request(Method::POST, path, Some(("application/json", body.to_string()))).await
    }

    pub(crate) async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Seen {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        self.request(Method::POST, path, Some(("application/x-www-form-urlencoded", body))).await
    }

    /// Posts a challenge response to the executor and follows its 302 back, as `requests` does.
    pub(crate) async fn solve(&mut self, path: &str, body: Value) -> Value {
        let seen = self.post_json(path, body).await;
        if seen.status == StatusCode::FOUND {
            assert_eq!(seen.location, path, "the executor redirects back to itself");
            return self.get(path).await.json();
        }
        seen.json()
    }

    /// The headless login of scripts against real authentik: identification, password, then the redirect.
    pub(crate) async fn login(&mut self, uid: &str, password: &str, next: &str) -> Value {
        let path = format!("{LOGIN}?query={}", urlencode(&format!("next={}", urlencode(next))));
        let first = self.get(&path).await.json();
        assert_eq!(first["component"], "ak-stage-identification", "{first}");
        let password_stage = self.solve(&path, json!({"component": "ak-stage-identification", "uid_field": uid})).await;
        assert_eq!(password_stage["component"], "ak-stage-password", "{password_stage}");
        self.solve(&path, json!({"component": "ak-stage-password", "password": password})).await
    }
}

pub(crate) fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub(crate) fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/application/o/authorize/?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid%20email%20profile&state=st4te&nonce=n0nce{extra}",
        urlencode(REDIRECT)
    )
}

pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The code → token exchange; answers the introspected claims of the access token (its stored id token).
async fn exchange(server: &TestServer, client_id: &str, code: &str) -> Value {
    let http = reqwest::Client::new();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id),
        ("client_secret", SECRET),
    ];
    let token: Value = http
        .post(format!("{}/application/o/token/", server.base))
        .form(&form)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access = token["access_token"].as_str().unwrap_or_else(|| panic!("no access token: {token}"));
    let introspect = [("token", access), ("client_id", client_id), ("client_secret", SECRET)];
    http.post(format!("{}/application/o/introspect/", server.base))
        .form(&introspect)
        .send()
        .await
        .expect("introspect")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn headless_login_through_the_executor_then_authorize_code_and_token() {
    let server = TestServer::start().await;
    provider(&server, "headless", IMPLICIT_CONSENT).await;
    let mut agent = Agent::new(&server);
    let authorize = authorize_path("headless", "");

    // Without a session, authorize sends the user agent to the login flow with `next` (Django's
    // redirect_to_login), which goes on to the flow interface with the query kept.
    let seen = agent.get(&authorize).await;
    assert_eq!(seen.status, 302);
    let login = seen.location.clone();
    assert!(login.starts_with("/flows/-/default/authentication/?next=/application/o/authorize/%3F"), "{login}");
    assert_eq!(query_param(&login, "next").as_deref(), Some(authorize.as_str()));
    let seen = agent.get(&login).await;
    assert_eq!(seen.status, 302);
    assert!(seen.location.starts_with("/if/flow/default-authentication-flow/?next="), "{}", seen.location);
    assert_eq!(query_param(&seen.location, "next").as_deref(), Some(authorize.as_str()));

    // The executor, as scripts drive it: the flow ends with a redirect challenge to `next`.
    let done = agent.login("alice", ALICE_PASSWORD, &authorize).await;
    assert_eq!(done, json!({"component": "xak-flow-redirect", "to": authorize}));
    let set = agent.set_cookies.last().expect("a session cookie").clone();
    assert!(set.contains("; HttpOnly") && set.contains("; SameSite=Lax") && set.contains("; Path=/"), "{set}");
    assert!(!set.contains("Secure"), "no Secure over plain HTTP: {set}");
    assert!(agent.set_cookies.len() >= 2, "the login sets a new session key: {:?}", agent.set_cookies);

    // With the session, authorize plans the provider's authorization flow and sends the user agent to it;
    // implicit consent goes straight on to the client with the code and the state.
    let seen = agent.get(&authorize).await;
    assert_eq!(seen.status, 302);
    let flow = seen.location.clone();
    assert!(flow.starts_with("/if/flow/default-provider-authorization-implicit-consent/?client_id=headless"), "{flow}");
    let seen = agent.get(&flow).await;
    assert_eq!(seen.status, 302);
    assert!(seen.location.starts_with(&format!("{REDIRECT}?code=")), "{}", seen.location);
    assert_eq!(query_param(&seen.location, "state").as_deref(), Some("st4te"));
    let code = query_param(&seen.location, "code").expect("code");

    // The id token's auth_time, amr and sid come from the session.
    let claims = exchange(&server, "headless", &code).await;
    assert_eq!(claims["active"], true, "{claims}");
    assert_eq!(claims["amr"], json!(["pwd"]), "{claims}");
    assert_eq!(claims["nonce"], "n0nce");
    assert_eq!(claims["email"], "alice@example.com");
    let sid = claims["sid"].as_str().expect("sid");
    assert_eq!(sid.len(), 64);
    assert_ne!(Some(sid), agent.cookie.as_deref(), "sid is the session key's hash, never the key");
    let auth_time = claims["auth_time"].as_i64().expect("auth_time");
    assert!((chrono::Utc::now().timestamp() - auth_time).abs() < 60);

    let key = agent.cookie.clone().expect("cookie");
    assert!(key.len() >= 32, "at least 128 bits: {key}");

    // The generated client drives the executor too; for a logged-in user the authentication flow starts over
    // (it has no authentication requirement), as upstream.
    let answer = agent.client().flows_executor_get().flow_slug("default-authentication-flow").query("").send().await;
    let answer = serde_json::to_value(answer.expect("a challenge").into_inner()).expect("json");
    assert_eq!(answer["component"], "ak-stage-identification");
}

#[tokio::test]
async fn a_wrong_password_shows_upstreams_error_is_counted_and_ends_the_flow_after_five() {
    let server = TestServer::start().await;
    let mut agent = Agent::new(&server);
    let path = format!("{LOGIN}?query=");
    agent.get(&path).await;
    let stage =
        agent.solve(&path, json!({"component": "ak-stage-identification", "uid_field": "ALICE@example.com"})).await;
    assert_eq!(
        (stage["component"].as_str(), stage["pending_user"].as_str()),
        (Some("ak-stage-password"), Some("alice"))
    );
    for attempt in 1..=5 {
        let refused = agent.solve(&path, json!({"component": "ak-stage-password", "password": "wrong"})).await;
        assert_eq!(
            refused["response_errors"],
            json!({"password": [{"string": "Invalid password", "code": "invalid"}]}),
            "attempt {attempt}: {refused}"
        );
        assert_eq!(refused["component"], "ak-stage-password");
    }
    let denied = agent.solve(&path, json!({"component": "ak-stage-password", "password": "wrong"})).await;
    assert_eq!(denied["component"], "ak-stage-access-denied", "{denied}");
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.expect("get").text().await.expect("text");
    assert!(metrics.contains("tokenstack_failed_logins_total 6"), "{metrics}");

    // An unknown user gets the same password stage (pretend_user_exists) and the same error.
    let mut stranger = Agent::new(&server);
    stranger.get(&path).await;
    let stage = stranger.solve(&path, json!({"uid_field": "nobody"})).await;
    assert_eq!(stage["pending_user"], "nobody");
    let refused = stranger.solve(&path, json!({"password": ALICE_PASSWORD})).await;
    assert_eq!(refused["response_errors"]["password"][0]["string"], "Invalid password");

    // Field errors as DRF words them.
    let mut agent = Agent::new(&server);
    agent.get(&path).await;
    let empty = agent.solve(&path, json!({"uid_field": ""})).await;
    assert_eq!(
        empty["response_errors"],
        json!({"non_field_errors": [{"string": "No identification data provided.", "code": "invalid"}]})
    );
    let odd = agent.solve(&path, json!({"uid_field": ["alice"]})).await;
    assert_eq!(odd["response_errors"]["uid_field"][0], json!({"string": "Not a valid string.", "code": "invalid"}));
    agent.solve(&path, json!({"uid_field": "alice"})).await;
    let missing = agent.solve(&path, json!({})).await;
    assert_eq!(
        missing["response_errors"]["password"][0],
        json!({"string": "This field is required.", "code": "required"})
    );
}

#[tokio::test]
async fn the_flow_pages_log_in_with_forms_and_land_on_the_user_interface() {
    let server = TestServer::start().await;
    let mut agent = Agent::new(&server);
    // Without a session the user interface sends to the login, which goes on to the flow's page.
    let seen = agent.get("/if/user/").await;
    assert_eq!(
        (seen.status.as_u16(), seen.location.as_str()),
        (302, "/flows/-/default/authentication/?next=/if/user/")
    );
    let page = "/if/flow/default-authentication-flow/";
    let seen = agent.get(page).await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains(r#"name="uidField""#) && seen.body.contains(r#"<button type="submit">Log in</button>"#));
    let seen = agent.post_form(page, &[("uidField", "alice")]).await;
    assert_eq!((seen.status.as_u16(), seen.location.as_str()), (302, page));
    let seen = agent.get(page).await;
    assert!(seen.body.contains(r#"name="password""#) && seen.body.contains("alice"), "{}", seen.body);
    let seen = agent.post_form(page, &[("password", "nope")]).await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains(r#"class="pf-c-form__helper-text pf-m-error" role="alert">Invalid password</p>"#));
    let seen = agent.post_form(page, &[("password", ALICE_PASSWORD)]).await;
    assert_eq!((seen.status.as_u16(), seen.location.as_str()), (302, page));
    let seen = agent.get(page).await;
    assert_eq!((seen.status.as_u16(), seen.location.as_str()), (302, "/if/user/"));
    let seen = agent.get("/if/user/").await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains("alice@example.com"), "{}", seen.body);

    // The generated client reaches every page operation.
    let client = agent.client();
    let user = client.user_interface_get().send().await.expect("the user page");
    assert_eq!(user.status(), 200);
    let page = client.flow_interface_get().flow_slug("default-authentication-flow").send().await.expect("page");
    assert_eq!(page.status(), 200);
    let form = types::FlowStageForm { uid_field: Some("bob".into()), password: None, token: None, code: None };
    let posted = client.flow_interface_solve().flow_slug("default-authentication-flow").body(form).send().await;
    assert!(matches!(posted, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 302));
    let default = client.flows_default_authentication().next("/if/user/").send().await;
    assert!(matches!(default, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 302));
    let missing = client.flow_interface_get().flow_slug("no-such-flow").send().await;
    assert!(matches!(missing, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 404));

    // Logging out (the invalidation flow) ends the session.
    let seen = agent.get("/if/flow/default-invalidation-flow/").await;
    assert_eq!(seen.status, 302);
    let seen = agent.get("/if/user/").await;
    assert_eq!(seen.status, 302, "logged out");
}

#[tokio::test]
async fn explicit_consent_asks_once_and_prompt_and_max_age_behave_as_upstream() {
    let server = TestServer::start().await;
    provider(&server, "explicit", EXPLICIT_CONSENT).await;
    provider(&server, "implicit", IMPLICIT_CONSENT).await;
    let mut agent = Agent::new(&server);

    // prompt=none without a session: login_required, back to the client.
    let seen = agent.get(&authorize_path("explicit", "&prompt=none")).await;
    assert_eq!(query_param(&seen.location, "error").as_deref(), Some("login_required"), "{}", seen.location);
    assert_eq!(query_param(&seen.location, "state").as_deref(), Some("st4te"));

    agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
    let authorize = authorize_path("explicit", "");
    let flow = agent.get(&authorize).await.location;
    assert!(flow.starts_with("/if/flow/default-provider-authorization-explicit-consent/?"), "{flow}");
    let executor = format!(
        "/api/v3/flows/executor/default-provider-authorization-explicit-consent/?query={}",
        urlencode(flow.split_once('?').map(|(_, q)| q).unwrap_or_default())
    );
    let consent = agent.get(&executor).await.json();
    assert_eq!(consent["component"], "ak-stage-consent", "{consent}");
    assert_eq!(consent["header_text"], "You're about to sign into explicit app.");
    assert_eq!(consent["flow_info"]["title"], "Redirecting to explicit app");
    let scopes: Vec<&str> =
        consent["permissions"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(scopes, ["email", "profile"], "{consent}");
    let wrong = agent.solve(&executor, json!({"component": "ak-stage-consent", "token": "guess"})).await;
    assert_eq!(wrong["response_errors"]["token"][0]["string"], "Invalid consent token, re-showing prompt");
    let token = wrong["token"].as_str().unwrap().to_owned();
    let done = agent.solve(&executor, json!({"component": "ak-stage-consent", "token": token})).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    assert!(done["to"].as_str().unwrap().starts_with(&format!("{REDIRECT}?code=")), "{done}");

    // Asked once: the consent is remembered, so the next authorization goes straight on.
    let seen = agent.follow(&authorize).await;
    assert!(seen.location.starts_with(&format!("{REDIRECT}?code=")), "{}", seen.location);

    // prompt=consent adds a consent stage to an implicit flow, which asks every time; with prompt=none too, the
    // fulfillment then answers consent_required (OAuthFulfillmentStage).
    for (prompt, expected) in [("consent", "code"), ("none%20consent", "error")] {
        let flow = agent.get(&authorize_path("implicit", &format!("&prompt={prompt}"))).await.location;
        let page = agent.get(&flow).await;
        let token = page.body.split(r#"name="token" value=""#).nth(1).and_then(|rest| rest.split('"').next());
        let token = token.unwrap_or_else(|| panic!("a consent form: {}", page.body)).to_owned();
        let seen = agent.post_form(&flow, &[("token", &token)]).await;
        let seen = agent.follow(&seen.location).await;
        assert!(query_param(&seen.location, expected).is_some(), "{prompt}: {}", seen.location);
    }
    let seen = agent.follow(&authorize_path("implicit", "&prompt=none%20consent")).await;
    assert_eq!(seen.status, 200, "consent is asked first");

    // prompt=login sends a logged-in user to the login once; after a new login the same request goes on.
    let with_login = authorize_path("implicit", "&prompt=login");
    let seen = agent.get(&with_login).await;
    assert!(seen.location.starts_with("/flows/-/default/authentication/?next="), "{}", seen.location);
    agent.login("alice", ALICE_PASSWORD, &with_login).await;
    let seen = agent.get(&with_login).await;
    assert!(
        seen.location.starts_with("/if/flow/default-provider-authorization-implicit-consent/"),
        "{}",
        seen.location
    );

    // max_age older than the login: on to the login again.
    server.set_clock_offset(120).await.expect("clock");
    let seen = agent.get(&authorize_path("implicit", "&max_age=60")).await;
    assert!(seen.location.starts_with("/flows/-/default/authentication/?next="), "{}", seen.location);
    let seen = agent.get(&authorize_path("implicit", "&max_age=600")).await;
    assert!(seen.location.starts_with("/if/flow/"), "{}", seen.location);
}

#[tokio::test]
async fn next_never_leaves_the_server_and_every_value_is_escaped() {
    let server = TestServer::start().await;
    for next in
        ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)", "\t//evil.example"]
    {
        let mut agent = Agent::new(&server);
        let done = agent.login("alice", ALICE_PASSWORD, next).await;
        assert_eq!(done["component"], "ak-stage-access-denied", "{next}: {done}");
        assert_eq!(done["error_message"], "Invalid next URL");
    }
    let mut agent = Agent::new(&server);
    let done = agent.login("alice", ALICE_PASSWORD, "/if/user/?a=b").await;
    assert_eq!(done["to"], "/if/user/?a=b");

    // What a page shows of the request and the user is escaped.
    let evil = "<script>alert(1)</script>";
    let mut agent = Agent::new(&server);
    let page = format!("/if/flow/default-authentication-flow/?next={}", urlencode(evil));
    let seen = agent.get(&page).await;
    assert!(!seen.body.contains(evil) && seen.body.contains("%3Cscript%3E"), "{}", seen.body);
    agent.post_form(&page, &[("uidField", evil)]).await;
    let seen = agent.get(&page).await;
    assert!(!seen.body.contains(evil) && seen.body.contains("&lt;script&gt;"), "{}", seen.body);
}

#[tokio::test]
async fn deleting_the_user_or_a_reset_ends_the_session() {
    let server = TestServer::start().await;
    let mut agent = Agent::new(&server);
    agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
    let logged_in = agent.get("/if/user/").await;
    assert_eq!(logged_in.status, 200, "alice logged in");
    server.reset().await.expect("reset");
    assert_eq!(agent.get("/if/user/").await.status, 302, "a reset ends the session");

    let mut agent = Agent::new(&server);
    agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
    assert_eq!(agent.get("/if/user/").await.status, 200);
    let admin = format!("Bearer {ADMIN_KEY}");
    let (status, _) = server.raw(Method::DELETE, "/api/v3/core/users/2/", Some(&admin), None).await;
    assert_eq!(status, 204);
    assert_eq!(agent.get("/if/user/").await.status, 302, "deleting the user ends the session");
}

#[tokio::test]
async fn bad_input_on_the_executor_and_the_pages_is_never_a_server_error() {
    let server = TestServer::start().await;
    let mut agent = Agent::new(&server);
    let (status, body) = server.raw(Method::GET, "/api/v3/flows/executor/nope/?query=", None, None).await;
    assert_eq!((status, body), (404, json!({"detail": "No Flow matches the given query."})));
    let path = format!("{LOGIN}?query=next%3D%252F");
    for (content_type, body) in [
        ("application/json", "{"),
        ("application/json", "[1,2]"),
        ("application/json", "null"),
        ("text/plain", "uid_field=alice"),
        ("application/x-www-form-urlencoded", "uid_field=%ff%fe&&=="),
        ("application/json", r#"{"uid_field": {"a": 1}, "password": 3}"#),
    ] {
        let seen = agent.request(Method::POST, &path, Some((content_type, body.to_owned()))).await;
        assert!([200, 302, 400, 415].contains(&seen.status.as_u16()), "{content_type} {body}: {}", seen.status);
    }
    let (status, body) = server.raw(Method::POST, &path, None, Some("{")).await;
    assert_eq!(status, 400);
    assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error - "), "{body}");
    for cookie in ["", "x", &"a".repeat(5000), "%00", "authentik_session"] {
        agent.cookie = Some(cookie.to_owned());
        assert!(agent.get(&path).await.status.is_success());
        agent.cookie = Some(cookie.to_owned());
        agent.post_form("/if/flow/default-authentication-flow/?next=%00", &[("uidField", "\u{0}")]).await;
        agent.cookie = Some(cookie.to_owned());
        agent.get("/if/user/").await;
        agent.cookie = Some(cookie.to_owned());
        agent.get("/if/flow/%3Cx%3E/").await;
        agent.cookie = Some(cookie.to_owned());
        agent.get(&format!("{}&max_age=x&prompt=none%20login", authorize_path("nope", ""))).await;
    }
    // The generated client's executor solve, with each served challenge response.
    let client = Agent::new(&server).client();
    let body: types::FlowChallengeResponseRequest =
        serde_json::from_value(json!({"component": "ak-stage-identification", "uid_field": "alice"})).expect("body");
    let solved =
        client.flows_executor_solve().flow_slug("default-authentication-flow").query("").body(body).send().await;
    // A first POST without a session plans the flow and solves its first stage: the 302 back to the executor.
    assert!(matches!(solved, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 302));
}

#[tokio::test]
async fn the_session_authenticates_the_api_with_djangos_csrf_check_on_unsafe_methods() {
    let server = TestServer::start().await;
    let mut agent = Agent::new(&server);
    let seen = agent.get("/api/v3/core/users/me/").await;
    assert_eq!(
        (seen.status.as_u16(), seen.json()),
        (403, json!({"detail": "Authentication credentials were not provided."}))
    );
    agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
    let me = agent.get("/api/v3/core/users/me/").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"]["username"], "alice");
    // The generated client, with the session cookie only.
    let me = agent.client().core_users_me_retrieve().send().await.expect("me");
    assert_eq!(me.into_inner().user.username.as_str(), "alice");

    // Unsafe methods need the CSRF cookie and header (a page sets the cookie).
    let body = json!({"identifier": "from-the-browser"}).to_string();
    let seen = agent.request(Method::POST, "/api/v3/core/tokens/", Some(("application/json", body.clone()))).await;
    assert_eq!((seen.status.as_u16(), seen.json()), (403, json!({"detail": "CSRF Failed: CSRF cookie not set."})));
    let page = agent
        .http
        .get(format!("{}/if/user/", server.base))
        .header(COOKIE, format!("authentik_session={}", agent.cookie.clone().unwrap()))
        .send()
        .await
        .expect("page");
    let csrf = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("authentik_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("the page sets the CSRF cookie")
        .to_owned();
    let cookies = format!("authentik_session={}; authentik_csrf={csrf}", agent.cookie.clone().unwrap());
    let post = |token: &str| {
        agent
            .http
            .post(format!("{}/api/v3/core/tokens/", server.base))
            .header(COOKIE, cookies.clone())
            .header("X-authentik-CSRF", token.to_owned())
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
    };
    let wrong = post(&"x".repeat(32)).await.expect("answer");
    assert_eq!(wrong.status(), 403);
    assert_eq!(wrong.json::<Value>().await.unwrap(), json!({"detail": "CSRF Failed: CSRF token incorrect."}));
    let created = post(&csrf).await.expect("answer");
    assert_eq!(created.status(), 201);
    assert_eq!(created.json::<Value>().await.unwrap()["user_obj"]["username"], "alice");
}

/// The value of the hidden input `name` of a page's form.
fn hidden_input(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("<input type=\"hidden\" name=\"{name}\" value=\""))?;
    let value = &html[start..].split_once("value=\"")?.1;
    Some(value.split_once('"')?.0.to_owned())
}

#[tokio::test]
async fn form_post_sends_the_code_back_in_a_form_the_page_posts_and_fragment_in_the_fragment() {
    let server = TestServer::start().await;
    provider(&server, "formpost", IMPLICIT_CONSENT).await;
    let mut agent = Agent::new(&server);
    let authorize = authorize_path("formpost", "&response_mode=form_post");
    agent.login("alice", ALICE_PASSWORD, &authorize).await;

    // The flow page ends with authentik's autosubmit stage: a form posting code and state to the redirect URI.
    let flow = agent.get(&authorize).await.location;
    assert!(flow.starts_with("/if/flow/default-provider-authorization-implicit-consent/"), "{flow}");
    let page = agent.get(&flow).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("<form id=\"autosubmit\" method=\"post\" action=\"{REDIRECT}\">")),
        "{}",
        page.body
    );
    assert!(page.body.contains("<h1>Redirecting to formpost app...</h1>"), "{}", page.body);
    assert!(page.body.contains("<button type=\"submit\""), "a way on without script: {}", page.body);
    assert_eq!(hidden_input(&page.body, "state").as_deref(), Some("st4te"));
    let code = hidden_input(&page.body, "code").expect("a code");
    assert_eq!(exchange(&server, "formpost", &code).await["active"], true);

    // The executor answers the same stage as its `ak-stage-autosubmit` challenge; an empty state is left out,
    // as upstream's parse_qs drops it.
    let without_state = authorize.replace("&state=st4te", "");
    let flow = agent.get(&without_state).await.location;
    let query = flow.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let executor =
        format!("/api/v3/flows/executor/default-provider-authorization-implicit-consent/?query={}", urlencode(query));
    let challenge = agent.get(&executor).await.json();
    assert_eq!(challenge["component"], "ak-stage-autosubmit", "{challenge}");
    assert_eq!(challenge["url"], REDIRECT);
    assert_eq!(challenge["title"], "Redirecting to formpost app...");
    let attrs = challenge["attrs"].as_object().expect("attrs");
    assert_eq!(attrs.keys().collect::<Vec<_>>(), ["code"], "{challenge}");
    let code = attrs["code"].as_str().expect("code");
    assert_eq!(exchange(&server, "formpost", code).await["active"], true);

    // Authorized at once (an authentik API key), the answer is the same form as a page of its own; errors stay
    // redirects, as upstream.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let at_once = http
        .get(format!("{}{authorize}", server.base))
        .bearer_auth(crate::support::ADMIN_KEY)
        .send()
        .await
        .expect("authorize");
    assert_eq!(at_once.status(), 200);
    let body = at_once.text().await.expect("page");
    let code = hidden_input(&body, "code").expect("a code");
    assert_eq!(exchange(&server, "formpost", &code).await["active"], true);
    let fragment = http
        .get(format!("{}{}", server.base, authorize.replace("form_post", "fragment")))
        .bearer_auth(crate::support::ADMIN_KEY)
        .send()
        .await
        .expect("authorize");
    assert_eq!(fragment.status(), 302);
    let location = fragment.headers()[LOCATION].to_str().expect("location").to_owned();
    let (uri, answer) = location.split_once('#').expect("the code in the fragment");
    assert_eq!(uri, REDIRECT);
    let answer: Vec<(String, String)> = form_urlencoded::parse(answer.as_bytes()).into_owned().collect();
    assert_eq!(answer[1], ("state".to_owned(), "st4te".to_owned()));
    assert_eq!(exchange(&server, "formpost", &answer[0].1).await["active"], true);
    let refused = http
        .get(format!("{}{}", server.base, authorize.replace("response_type=code", "response_type=token")))
        .bearer_auth(crate::support::ADMIN_KEY)
        .send()
        .await
        .expect("authorize");
    assert_eq!(refused.status(), 302);
    let location = refused.headers()[LOCATION].to_str().expect("location").to_owned();
    assert_eq!(query_param(&location, "error").as_deref(), Some("unsupported_response_type"));
}
