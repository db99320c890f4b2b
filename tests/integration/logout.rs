//! Logging out (issue 27): RP-initiated logout at `/application/o/<slug>/end-session/` (the provider's invalidation
//! flow, the session-end stage, `post_logout_redirect_uri` checked against the logout redirect URIs, `state`
//! kept, bad input refused with a 4xx), the default invalidation flow's redirect, and the authenticated sessions
//! API (list, retrieve, destroy, the owner rule).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokenstack_client::types;

use super::login::{
    ALICE_PASSWORD, Agent, IMPLICIT_CONSENT, REDIRECT, SECRET, authorize_path, provider_with, query_param, urlencode,
};
use crate::support::{ADMIN_KEY, ALICE_KEY, BOB_KEY, TestServer};

const LOGGED_OUT: &str = "http://localhost:3000/logged-out";
/// `default-invalidation-flow` (its logout stage ends the session) and `default-provider-invalidation-flow` (no
/// stage: the application's tokens go, the authentik session stays).
const INVALIDATION: &str = "7f1a0005-0000-4000-8000-000000000005";
const PROVIDER_INVALIDATION: &str = "7f1a0002-0000-4000-8000-000000000002";

/// A provider `slug` with its application: implicit consent, the invalidation flow `flow` and the logout URIs
/// `logout`.
async fn provider(server: &TestServer, slug: &str, flow: &str, logout: &[Value]) -> i64 {
    provider_with(server, slug, IMPLICIT_CONSENT, flow, logout).await
}

fn logout_uri(mode: &str, url: &str) -> Value {
    json!({"matching_mode": mode, "url": url, "redirect_uri_type": "logout"})
}

/// Logs the agent in as alice and runs the code flow at `client_id`: the token endpoint's answer.
async fn sign_in(server: &TestServer, agent: &mut Agent, client_id: &str) -> Value {
    let authorize = authorize_path(client_id, "");
    agent.login("alice", ALICE_PASSWORD, &authorize).await;
    let flow = agent.get(&authorize).await.location;
    let back = agent.get(&flow).await.location;
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("a code: {back}"));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id),
        ("client_secret", SECRET),
    ];
    let http = reqwest::Client::new();
    let response = http.post(format!("{}/application/o/token/", server.base)).form(&form).send().await.expect("token");
    response.json().await.expect("json")
}

/// Whether the provider still knows the access token.
async fn active(server: &TestServer, client_id: &str, token: &Value) -> bool {
    let form = [
        ("token", token["access_token"].as_str().unwrap_or_default()),
        ("client_id", client_id),
        ("client_secret", SECRET),
    ];
    let http = reqwest::Client::new();
    let response = http.post(format!("{}/application/o/introspect/", server.base)).form(&form).send().await;
    let answer: Value = response.expect("introspect").json().await.expect("json");
    answer["active"] == true
}

#[tokio::test]
async fn end_session_runs_the_invalidation_flow_then_follows_the_allowed_redirect_with_its_state() {
    let server = TestServer::start().await;
    provider(&server, "rp", INVALIDATION, &[logout_uri("strict", LOGGED_OUT)]).await;
    let mut agent = Agent::new(&server);
    let tokens = sign_in(&server, &mut agent, "rp").await;
    let id_token = tokens["id_token"].as_str().expect("an id token").to_owned();
    assert!(active(&server, "rp", &tokens).await);
    let old_cookie = agent.cookie.clone().expect("a session");

    // The end-session endpoint plans the provider's invalidation flow and sends the browser to its page with
    // the query as it came.
    let query = format!(
        "id_token_hint={id_token}&post_logout_redirect_uri={}&state={}",
        urlencode(LOGGED_OUT),
        urlencode("s t&te")
    );
    let seen = agent.get(&format!("/application/o/rp/end-session/?{query}")).await;
    assert_eq!(seen.status, 302, "{}", seen.body);
    assert!(seen.location.starts_with("/if/flow/default-invalidation-flow/?id_token_hint="), "{}", seen.location);
    assert_eq!(query_param(&seen.location, "state").as_deref(), Some("s t&te"));
    assert!(!active(&server, "rp", &tokens).await, "the session's access tokens for this provider are gone");

    // The flow's logout stage ends the session; the session-end stage goes on to the post-logout redirect URI
    // with the state.
    let page = seen.location.clone();
    let seen = agent.get(&page).await;
    assert_eq!((seen.status.as_u16(), seen.location.as_str()), (302, page.as_str()), "the logout stage passed");
    let seen = agent.get(&page).await;
    assert_eq!(
        (seen.status.as_u16(), seen.location.as_str()),
        (302, "http://localhost:3000/logged-out?state=s%20t%26te")
    );

    // Logged out: the user interface asks for a login, the old cookie no longer authenticates the API, and a new
    // authorization needs the password again.
    assert_eq!(agent.get("/if/user/").await.status, 302);
    let (status, _) = send_with_cookie(&server, "/api/v3/core/users/me/", &old_cookie).await;
    assert_eq!(status, 403, "the ended session's cookie authenticates nothing");
    let seen = agent.get(&authorize_path("rp", "")).await;
    assert!(seen.location.starts_with("/flows/-/default/authentication/?next="), "{}", seen.location);

    // An end-session without a session is a valid no-op: the flow runs all the same.
    let mut anonymous = Agent::new(&server);
    let seen = anonymous.get(&format!("/application/o/rp/end-session/?{query}")).await;
    assert_eq!(seen.status, 302);
    let seen = anonymous.follow(&seen.location).await;
    assert_eq!(seen.location, "http://localhost:3000/logged-out?state=s%20t%26te");
}

async fn send_with_cookie(server: &TestServer, path: &str, cookie: &str) -> (u16, String) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let response = http
        .get(format!("{}{path}", server.base))
        .header("cookie", format!("authentik_session={cookie}"))
        .send()
        .await
        .expect("an answer");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn without_a_redirect_the_flow_ends_on_the_session_end_page() {
    let server = TestServer::start().await;
    // The provider invalidation flow of a fresh install has no logout stage: the application's session ends,
    // authentik's stays.
    provider(&server, "keep", PROVIDER_INVALIDATION, &[]).await;
    let mut agent = Agent::new(&server);
    let tokens = sign_in(&server, &mut agent, "keep").await;
    // Without logout redirect URIs, a post_logout_redirect_uri is ignored (no error, no redirect).
    let seen = agent
        .get(&format!("/application/o/keep/end-session/?post_logout_redirect_uri={}", urlencode(LOGGED_OUT)))
        .await;
    assert_eq!(seen.status, 302);
    assert!(seen.location.starts_with("/if/flow/default-provider-invalidation-flow/?"), "{}", seen.location);
    assert!(!active(&server, "keep", &tokens).await);
    let page = agent.follow(&seen.location).await;
    assert_eq!(page.status, 200, "{}", page.location);
    assert!(page.body.contains("You&#x27;ve logged out of keep app."), "{}", page.body);
    let logout_link = r#"href="/if/flow/default-invalidation-flow/" id="logout">Log out of authentik</a>"#;
    assert!(page.body.contains(logout_link), "{}", page.body);
    let launch_link = r#"href="http://localhost:3000">Log back into keep app</a>"#;
    assert!(page.body.contains(launch_link), "the application's launch URL: {}", page.body);
    assert_eq!(agent.get("/if/user/").await.status, 200, "still logged in to authentik");

    // The executor shows the same stage as upstream's challenge.
    let seen = agent.get("/application/o/keep/end-session/").await;
    assert_eq!(seen.location, "/if/flow/default-provider-invalidation-flow/");
    let challenge = agent.get("/api/v3/flows/executor/default-provider-invalidation-flow/?query=").await.json();
    assert_eq!(challenge["component"], "ak-stage-session-end", "{challenge}");
    assert_eq!(challenge["application_name"], "keep app");
    assert_eq!(challenge["brand_name"], "authentik");
    assert_eq!(challenge["pending_user"], "alice");
    assert_eq!(challenge["invalidation_flow_url"], "/if/flow/default-invalidation-flow/");
    assert_eq!(challenge["flow_info"]["title"], "You've logged out of keep app.");

    // The user interface's sign-out link is the default invalidation flow; it ends the authentik session.
    let client = agent.client();
    let default = client.flows_default_invalidation().send().await;
    assert!(matches!(&default, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 302));
    let seen = agent.get("/flows/-/default/invalidation/?next=/if/user/").await;
    assert_eq!(seen.location, "/if/flow/default-invalidation-flow/?next=%2Fif%2Fuser%2F");
    let seen = agent.follow(&seen.location).await;
    assert_eq!(seen.location, "/if/user/");
    assert_eq!(agent.get("/if/user/").await.status, 302, "logged out");
}

#[tokio::test]
async fn refused_redirects_and_bad_input_are_4xx_and_end_nothing() {
    let server = TestServer::start().await;
    provider(
        &server,
        "rp",
        INVALIDATION,
        &[logout_uri("strict", LOGGED_OUT), logout_uri("regex", "https://app\\.example/(bye|.*:.*)")],
    )
    .await;
    provider(&server, "other", INVALIDATION, &[]).await;
    let mut agent = Agent::new(&server);
    let tokens = sign_in(&server, &mut agent, "rp").await;
    let id_token = tokens["id_token"].as_str().expect("an id token").to_owned();
    let other = sign_in(&server, &mut Agent::new(&server), "other").await;
    let other_id_token = other["id_token"].as_str().expect("an id token").to_owned();

    let refused = [
        // A logout redirect without an id_token_hint (OIDC certification: the hint is required with it).
        format!("post_logout_redirect_uri={}", urlencode(LOGGED_OUT)),
        // Not registered, or registered for authorization only.
        format!("id_token_hint={id_token}&post_logout_redirect_uri={}", urlencode("https://evil.example/")),
        format!("id_token_hint={id_token}&post_logout_redirect_uri={}", urlencode(REDIRECT)),
        // A forbidden scheme, even where a pattern matches it.
        format!("id_token_hint={id_token}&post_logout_redirect_uri={}", urlencode("javascript:alert(1)")),
        // Not a token, or another provider's (its audience and issuer).
        "id_token_hint=garbage".to_owned(),
        format!("id_token_hint={other_id_token}"),
        format!("id_token_hint={}x", &id_token[..id_token.len() - 1]),
    ];
    for query in refused {
        let seen = agent.get(&format!("/application/o/rp/end-session/?{query}")).await;
        assert_eq!(seen.status, 400, "{query}");
        assert!(seen.body.contains("The request is otherwise malformed"), "{query}: {}", seen.body);
        assert!(seen.location.is_empty());
    }
    assert!(active(&server, "rp", &tokens).await, "a refused request ends nothing");
    assert_eq!(agent.get("/if/user/").await.status, 200);

    // An expired id token is still a valid hint (PyJWT without `verify_exp`): logout comes after expiry.
    server.set_clock_offset(3 * 3600).await.expect("clock");
    let seen = agent.get(&format!("/application/o/rp/end-session/?id_token_hint={id_token}&state=late")).await;
    assert_eq!(seen.status, 302, "{}", seen.body);
    server.set_clock_offset(0).await.expect("clock");

    // A regex logout URI matches as re.fullmatch does.
    let seen = agent
        .get(&format!(
            "/application/o/rp/end-session/?id_token_hint={id_token}&post_logout_redirect_uri={}",
            urlencode("https://app.example/bye")
        ))
        .await;
    assert_eq!(seen.status, 302);
    let end = agent.follow(&seen.location).await;
    assert_eq!(end.location, "https://app.example/bye");

    // Unknown applications are Django's 404 page; POST reads the form (and a JSON body is an empty form).
    assert_eq!(agent.get("/application/o/nope/end-session/").await.status, 404);
    let seen = agent
        .post_form("/application/o/rp/end-session/", &[("post_logout_redirect_uri", "https://evil.example/")])
        .await;
    assert_eq!(seen.status, 400);
    let seen = agent.post_form("/application/o/rp/end-session/", &[("state", "x")]).await;
    assert_eq!((seen.status.as_u16(), seen.location.as_str()), (302, "/if/flow/default-invalidation-flow/"));

    // The generated client reaches both operations.
    let client = agent.client();
    let get = client.oauth2_provider_end_session().application_slug("rp").id_token_hint("garbage").send().await;
    assert!(matches!(&get, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 400));
    let form = types::OAuth2EndSessionRequest { id_token_hint: None, post_logout_redirect_uri: None, state: None };
    let post = client.oauth2_provider_end_session_post().application_slug("rp").body(form).send().await;
    assert!(matches!(&post, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 302));
    let missing = client.oauth2_provider_end_session().application_slug("nope").send().await;
    assert!(matches!(&missing, Err(progenitor_client::Error::UnexpectedResponse(r)) if r.status() == 404));
}

/// The sessions API as a user sees it, by API key.
async fn sessions(server: &TestServer, key: &str, query: &str) -> Value {
    let (status, body) = server
        .raw(Method::GET, &format!("/api/v3/core/authenticated_sessions/{query}"), Some(&format!("Bearer {key}")), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn authenticated_sessions_are_listed_retrieved_and_ended_with_the_owner_rule() {
    let server = TestServer::start().await;
    let admin = format!("Bearer {ADMIN_KEY}");
    let (status, body) = server
        .raw(Method::POST, "/api/v3/core/users/3/set_password/", Some(&admin), Some(r#"{"password": "bob-password"}"#))
        .await;
    assert_eq!(status, 204, "{body}");
    let mut alice = Agent::new(&server);
    alice.login("alice", ALICE_PASSWORD, "/if/user/").await;
    let mut alice_again = Agent::new(&server);
    alice_again.login("alice", ALICE_PASSWORD, "/if/user/").await;
    let mut bob = Agent::new(&server);
    bob.login("bob", "bob-password", "/if/user/").await;
    // A session that never logged in is no authenticated session.
    Agent::new(&server).get("/if/flow/default-authentication-flow/").await;

    // A superuser sees every session, ordered by username; bob sees his own only.
    let all = sessions(&server, ALICE_KEY, "").await;
    assert_eq!(all["pagination"]["count"], 3, "{all}");
    let users: Vec<i64> =
        all["results"].as_array().expect("results").iter().map(|s| s["user"].as_i64().expect("user")).collect();
    assert_eq!(users, [2, 2, 3]);
    let first = &all["results"][0];
    assert_eq!(first["current"], false, "an API key has no session");
    assert_eq!(first["last_ip"], "127.0.0.1");
    assert_eq!(first["geo_ip"], Value::Null);
    assert_eq!(first["user_agent"]["string"], first["last_user_agent"]);
    let own = sessions(&server, BOB_KEY, "").await;
    assert_eq!(own["pagination"]["count"], 1, "{own}");
    assert_eq!(own["results"][0]["user"], 3);
    let bob_uuid = own["results"][0]["uuid"].as_str().expect("uuid").to_owned();

    // Filters and search as upstream's viewset declares them.
    assert_eq!(sessions(&server, ALICE_KEY, "?user__username=bob").await["pagination"]["count"], 1);
    assert_eq!(sessions(&server, ALICE_KEY, "?search=ALI").await["pagination"]["count"], 2);
    assert_eq!(sessions(&server, ALICE_KEY, "?session__last_ip=10.0.0.1").await["pagination"]["count"], 0);
    assert_eq!(sessions(&server, ALICE_KEY, "?ordering=-user").await["results"][0]["user"], 3);
    let (status, _) = server.raw(Method::GET, "/api/v3/core/authenticated_sessions/?page=9", Some(&admin), None).await;
    assert_eq!(status, 404, "Invalid page.");

    // Through the session itself, the request's own session is `current`.
    let mine = alice.client().core_authenticated_sessions_list().send().await.expect("a list").into_inner();
    assert_eq!(mine.pagination.count, 3.0);
    assert_eq!(mine.results.iter().filter(|s| s.current).count(), 1);

    // Retrieve: another user's session is a 404 for a non-superuser.
    let alice_uuid = all["results"][0]["uuid"].as_str().expect("uuid").to_owned();
    let path = |uuid: &str| format!("/api/v3/core/authenticated_sessions/{uuid}/");
    let (status, body) = server.raw(Method::GET, &path(&alice_uuid), Some(&format!("Bearer {BOB_KEY}")), None).await;
    assert_eq!((status, body), (404, json!({"detail": "No Authenticated Session matches the given query."})));
    let bob_client = server.authentik(BOB_KEY);
    let retrieved = bob_client
        .core_authenticated_sessions_retrieve()
        .uuid(bob_uuid.parse::<uuid::Uuid>().expect("uuid"))
        .send()
        .await;
    assert_eq!(retrieved.expect("bob's own").into_inner().user, 3);
    let (status, _) = server.raw(Method::DELETE, &path(&alice_uuid), Some(&format!("Bearer {BOB_KEY}")), None).await;
    assert_eq!(status, 404, "bob cannot end alice's session");
    assert_eq!(alice_again.get("/if/user/").await.status, 200);

    // Destroy ends the session: its cookie no longer logs in.
    let alice_client = server.authentik(ALICE_KEY);
    alice_client
        .core_authenticated_sessions_destroy()
        .uuid(bob_uuid.parse::<uuid::Uuid>().expect("uuid"))
        .send()
        .await
        .expect("a superuser ends bob's session");
    assert_eq!(bob.get("/if/user/").await.status, 302, "bob is logged out");
    assert_eq!(sessions(&server, ALICE_KEY, "").await["pagination"]["count"], 2);
    let (status, _) = server.raw(Method::GET, &path(&bob_uuid), Some(&admin), None).await;
    assert_eq!(status, 404);
    let (status, _) = server.raw(Method::GET, &path("not-a-uuid"), Some(&admin), None).await;
    assert!((400..500).contains(&status), "{status}");
    let (status, _) = server.raw(Method::GET, "/api/v3/core/authenticated_sessions/", None, None).await;
    assert_eq!(status, 403, "authentication required");
}

#[tokio::test]
async fn an_expired_session_is_neither_listed_nor_logged_in() {
    let server = TestServer::start().await;
    let mut agent = Agent::new(&server);
    agent.login("alice", ALICE_PASSWORD, "/if/user/").await;
    assert_eq!(agent.get("/if/user/").await.status, 200);
    assert_eq!(sessions(&server, ALICE_KEY, "").await["pagination"]["count"], 1);
    // Two weeks and a day later the login has expired.
    server.set_clock_offset(15 * 24 * 3600).await.expect("clock");
    assert_eq!(sessions(&server, ALICE_KEY, "").await["pagination"]["count"], 0, "not listed");
    assert_eq!(agent.get("/if/user/").await.status, StatusCode::FOUND, "not logged in");
}
