//! Handlers of the flow executor API (`/api/v3/flows/executor/<slug>/`), the flow pages (`/if/flow/<slug>/`,
//! `/if/user/`) and the default-flow redirect: each reads the session cookie and the query, runs the flow
//! engine (`authentik::flow`), and writes its answer as JSON ([`executor_response`]) or as a page
//! ([`super::pages`]), with the session cookie it sets.

use std::collections::BTreeMap;

use dropshot::{Body, ErrorStatusCode, Path, Query, RequestContext, UntypedBody};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use tokenstack_api::params;

use super::ServerContext;
use super::error::{AkResponseError, PageResponseError, ak_detail};
use super::observe::{authorization, observed};
use super::pages;
use crate::authentik::AkError;
use crate::authentik::flow::csrf::{CSRF_COOKIE, CSRF_HEADER, CsrfInput, new_csrf_secret};
use crate::authentik::flow::{Challenge, Client, CookieChange, FlowAnswer, FlowOutcome, FlowRequest, SESSION_COOKIE};
use crate::model::AkUser;

const MSG_NO_FLOW: &str = "No Flow matches the given query.";
/// `ToDefaultFlow`'s target for the authentication designation (the brand's `flow_authentication`).
const AUTHENTICATION_FLOW: &str = "/if/flow/default-authentication-flow/";

/// The cookie `name` of the request.
fn cookie(rqctx: &RequestContext<ServerContext>, name: &str) -> Option<String> {
    let headers = rqctx.request.headers().get_all(header::COOKIE);
    let pairs = headers.iter().filter_map(|h| h.to_str().ok()).flat_map(|h| h.split(';'));
    pairs
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
        .next_back()
}

/// The session cookie of the request (`Cookie: authentik_session=…`).
pub(super) fn session_key(rqctx: &RequestContext<ServerContext>) -> Option<String> {
    cookie(rqctx, SESSION_COOKIE)
}

/// The caller of an authentik API operation: its API key (`TokenAuthentication`), else its session
/// (`SessionAuthentication`, with Django's CSRF check for unsafe methods).
pub(super) async fn caller(rqctx: &RequestContext<ServerContext>) -> Result<AkUser, AkError> {
    let key = session_key(rqctx);
    let csrf_cookie = cookie(rqctx, CSRF_COOKIE);
    let headers = rqctx.request.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = if is_secure(rqctx) { "https" } else { "http" };
    let own_origin = format!("{scheme}://{}", text("host").unwrap_or_default());
    let method = rqctx.request.method();
    let csrf = CsrfInput {
        safe_method: [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE].contains(method),
        cookie: csrf_cookie.as_deref(),
        header: text(CSRF_HEADER),
        origin: text("origin"),
        own_origin: &own_origin,
    };
    rqctx.context().flows().authenticate(authorization(rqctx), key.as_deref(), &csrf).await
}

/// The request's client: its address and `User-Agent` (what a login records in the session).
pub(super) fn client(rqctx: &RequestContext<ServerContext>) -> Client {
    let user_agent = rqctx.request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    Client { ip: rqctx.request.remote_addr().ip().to_string(), user_agent: user_agent.unwrap_or_default().to_owned() }
}

/// Whether the request came over TLS (or through a proxy that says so: `SECURE_PROXY_SSL_HEADER`).
fn is_secure(rqctx: &RequestContext<ServerContext>) -> bool {
    let forwarded = rqctx.request.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    rqctx.server.using_tls() || forwarded.is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// Adds the session cookie a response sets (Django's session cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`,
/// `Secure` under TLS).
pub(super) fn with_cookie(
    rqctx: &RequestContext<ServerContext>,
    mut response: http::Response<String>,
    cookie: &CookieChange,
) -> http::Response<String> {
    if let CookieChange::Set { key, max_age } = cookie {
        let secure = if is_secure(rqctx) { "; Secure" } else { "" };
        let value =
            format!("{SESSION_COOKIE}={}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=Lax{secure}", key.expose());
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A response with a status, headers and maybe a body.
pub(super) fn respond(
    status: StatusCode,
    headers: &[(header::HeaderName, &str)],
    body: Option<(&str, String)>,
) -> http::Response<String> {
    let mut response = http::Response::new(String::new());
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().append(name.clone(), value);
        }
    }
    if let Some((content_type, body)) = body {
        if let Ok(value) = HeaderValue::from_str(content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        *response.body_mut() = body;
    }
    response
}

/// A 302 to `location`.
pub(super) fn found(location: &str) -> http::Response<String> {
    respond(StatusCode::FOUND, &[(header::LOCATION, location)], None)
}

fn send(response: http::Response<String>) -> http::Response<Body> {
    response.map(|body| if body.is_empty() { Body::empty() } else { Body::from(body) })
}

/// `urllib.parse.quote_plus`'s safe set.
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~').remove(b' ');

/// `urlencode(request.GET.items())`, as `redirect_with_qs` writes the query it passes on (the last of a
/// repeated name).
pub(super) fn django_urlencode(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match pairs.iter_mut().find(|(n, _)| *n == name) {
            Some(pair) => pair.1 = value.into_owned(),
            None => pairs.push((name.into_owned(), value.into_owned())),
        }
    }
    let quote = |s: &str| utf8_percent_encode(s, QUOTE_PLUS).to_string().replace(' ', "+");
    pairs.iter().map(|(n, v)| format!("{}={}", quote(n), quote(v))).collect::<Vec<_>>().join("&")
}

/// The request's path with its query, as Django's `get_full_path`.
fn full_path(rqctx: &RequestContext<ServerContext>) -> String {
    let uri = rqctx.request.uri();
    uri.path_and_query().map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
}

/// The executor's answer as JSON: a challenge, the 302 back to itself after a stage passed (upstream's
/// `to_stage_response` answers a redirect challenge instead when the redirect is not to the request's own
/// path), or the 404 of an unknown flow.
fn executor_response(
    rqctx: &RequestContext<ServerContext>,
    slug: &str,
    outcome: FlowOutcome,
) -> http::Response<String> {
    if outcome.failed_login {
        rqctx.context().metrics.failed_login();
    }
    let json = |status: StatusCode, body: Value| respond(status, &[], Some(("application/json", body.to_string())));
    let response = match outcome.answer {
        FlowAnswer::NotFound => json(StatusCode::NOT_FOUND, json!({"detail": MSG_NO_FLOW})),
        FlowAnswer::Challenge(challenge) => json(StatusCode::OK, challenge.to_json()),
        FlowAnswer::Next => {
            let query = rqctx.request.uri().query().unwrap_or_default();
            let location = format!("/api/v3/flows/executor/{slug}/?{}", django_urlencode(query));
            if location == full_path(rqctx) {
                found(&location)
            } else {
                json(StatusCode::OK, Challenge::Redirect { to: location }.to_json())
            }
        }
    };
    with_cookie(rqctx, response, &outcome.cookie)
}

/// A challenge response as DRF's parsers read it: JSON or a form; an empty body is no fields.
fn challenge_answer(rqctx: &RequestContext<ServerContext>, body: &[u8]) -> Result<Map<String, Value>, AkResponseError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    let content_type =
        rqctx.request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => Ok(fields),
            Ok(_) => Ok(Map::new()),
            Err(e) => Err(ak_detail(ErrorStatusCode::BAD_REQUEST, format!("JSON parse error - {e}"))),
        },
        "application/x-www-form-urlencoded" => Ok(form_fields(body, &[])),
        _ => Err(ak_detail(
            ErrorStatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported media type \"{content_type}\" in request."),
        )),
    }
}

/// A form's fields (the last of a repeated name), renamed as `renames` says.
fn form_fields(body: &[u8], renames: &[(&str, &str)]) -> Map<String, Value> {
    let fields: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    fields
        .into_iter()
        .map(|(name, value)| {
            let name = renames.iter().find(|(from, _)| *from == name).map_or(name, |(_, to)| (*to).to_owned());
            (name, Value::String(value))
        })
        .collect()
}

/// `GET /api/v3/flows/executor/{flow_slug}/`.
pub(super) async fn executor_get(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::FlowsExecutorGetPath>,
    query: Query<params::FlowsExecutorGetQuery>,
) -> Result<http::Response<Body>, AkResponseError> {
    let slug = path.into_inner().flow_slug;
    let query = query.into_inner().query.unwrap_or_default();
    let key = session_key(rqctx);
    observed(rqctx, async {
        let request = FlowRequest { session_key: key.as_deref(), query: &query, client: &client(rqctx) };
        let outcome = rqctx.context().flows().get(&slug, &request).await?;
        Ok(executor_response(rqctx, &slug, outcome))
    })
    .await
    .map(send)
}

/// `POST /api/v3/flows/executor/{flow_slug}/`.
pub(super) async fn executor_solve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::FlowsExecutorSolvePath>,
    query: Query<params::FlowsExecutorSolveQuery>,
    body: UntypedBody,
) -> Result<http::Response<Body>, AkResponseError> {
    let slug = path.into_inner().flow_slug;
    let query = query.into_inner().query.unwrap_or_default();
    let key = session_key(rqctx);
    observed(rqctx, async {
        let answer = challenge_answer(rqctx, body.as_bytes())?;
        let request = FlowRequest { session_key: key.as_deref(), query: &query, client: &client(rqctx) };
        let outcome = rqctx.context().flows().solve(&slug, &request, &answer).await?;
        Ok(executor_response(rqctx, &slug, outcome))
    })
    .await
    .map(send)
}

/// A page's answer: the stage as HTML, a 302 for a redirect or the next stage, the 404 page.
/// Adds the CSRF cookie a page sets when the browser has none (the interfaces' `ensure_csrf_cookie`), so that
/// the page's user can call the API with its session.
fn with_csrf_cookie(
    rqctx: &RequestContext<ServerContext>,
    mut response: http::Response<String>,
) -> http::Response<String> {
    if cookie(rqctx, CSRF_COOKIE).is_none() {
        let value = format!("{CSRF_COOKIE}={}; Max-Age=31449600; Path=/; SameSite=Lax", new_csrf_secret());
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn page_response(rqctx: &RequestContext<ServerContext>, outcome: FlowOutcome) -> http::Response<String> {
    if outcome.failed_login {
        rqctx.context().metrics.failed_login();
    }
    let html = |status: StatusCode, body: String| respond(status, &[], Some(("text/html; charset=utf-8", body)));
    let response = match outcome.answer {
        FlowAnswer::NotFound => html(StatusCode::NOT_FOUND, pages::not_found()),
        FlowAnswer::Challenge(Challenge::Redirect { to }) => found(&to),
        FlowAnswer::Challenge(challenge) => html(StatusCode::OK, pages::stage(&challenge, &full_path(rqctx))),
        FlowAnswer::Next => found(&full_path(rqctx)),
    };
    with_csrf_cookie(rqctx, with_cookie(rqctx, response, &outcome.cookie))
}

/// `GET /if/flow/{flow_slug}/`: the flow runs with the page's query string as its `query`.
pub(super) async fn page_get(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::FlowInterfaceGetPath>,
    _query: Query<params::FlowInterfaceGetQuery>,
) -> Result<http::Response<Body>, PageResponseError> {
    let slug = path.into_inner().flow_slug;
    let key = session_key(rqctx);
    let query = rqctx.request.uri().query().unwrap_or_default().to_owned();
    observed(rqctx, async {
        let request = FlowRequest { session_key: key.as_deref(), query: &query, client: &client(rqctx) };
        let outcome = rqctx.context().flows().get(&slug, &request).await?;
        Ok(page_response(rqctx, outcome))
    })
    .await
    .map(send)
}

/// `POST /if/flow/{flow_slug}/`: the stage's form, as the executor's challenge response.
pub(super) async fn page_solve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::FlowInterfaceSolvePath>,
    _query: Query<params::FlowInterfaceSolveQuery>,
    body: UntypedBody,
) -> Result<http::Response<Body>, PageResponseError> {
    let slug = path.into_inner().flow_slug;
    let key = session_key(rqctx);
    let query = rqctx.request.uri().query().unwrap_or_default().to_owned();
    observed(rqctx, async {
        let answer = form_fields(body.as_bytes(), &[("uidField", "uid_field")]);
        let request = FlowRequest { session_key: key.as_deref(), query: &query, client: &client(rqctx) };
        let outcome = rqctx.context().flows().solve(&slug, &request, &answer).await?;
        Ok(page_response(rqctx, outcome))
    })
    .await
    .map(send)
}

/// `GET /if/user/`: the logged-in user's page, or the login (Django's `redirect_to_login`).
pub(super) async fn user_interface(
    rqctx: &RequestContext<ServerContext>,
) -> Result<http::Response<Body>, PageResponseError> {
    let key = session_key(rqctx);
    observed(rqctx, async {
        let user = rqctx.context().flows().session_user(key.as_deref()).await?;
        Ok(match user {
            Some(user) => with_csrf_cookie(
                rqctx,
                respond(StatusCode::OK, &[], Some(("text/html; charset=utf-8", pages::user(&user)))),
            ),
            None => found(&crate::authentik::flow::login_url("/if/user/")),
        })
    })
    .await
    .map(send)
}

/// `GET /device`: `DeviceEntryView`, on to the login, the authorization flow or the device-code flow.
pub(super) async fn device_entry(
    rqctx: &RequestContext<ServerContext>,
    _query: Query<params::DeviceEntryQuery>,
) -> Result<http::Response<Body>, PageResponseError> {
    let key = session_key(rqctx);
    let query = django_urlencode(rqctx.request.uri().query().unwrap_or_default());
    observed(rqctx, async {
        let (location, cookie) =
            rqctx.context().flows().device_entry(key.as_deref(), &full_path(rqctx), &query).await?;
        Ok(with_cookie(rqctx, found(&location), &cookie))
    })
    .await
    .map(send)
}

/// `GET /flows/-/default/authentication/`: `ToDefaultFlow`, on to the authentication flow with the query.
pub(super) async fn default_authentication(
    rqctx: &RequestContext<ServerContext>,
    _query: Query<params::FlowsDefaultAuthenticationQuery>,
) -> Result<http::Response<Body>, PageResponseError> {
    to_default_flow(rqctx, AUTHENTICATION_FLOW).await
}

/// `GET /flows/-/default/invalidation/`: `ToDefaultFlow`, on to the invalidation flow with the query.
pub(super) async fn default_invalidation(
    rqctx: &RequestContext<ServerContext>,
    _query: Query<params::FlowsDefaultInvalidationQuery>,
) -> Result<http::Response<Body>, PageResponseError> {
    let flow = format!("/if/flow/{}/", crate::authentik::flow::DEFAULT_INVALIDATION_FLOW);
    to_default_flow(rqctx, &flow).await
}

/// `ToDefaultFlow.dispatch`: a 302 to the flow's page, with the request's query (`redirect_with_qs`).
async fn to_default_flow(
    rqctx: &RequestContext<ServerContext>,
    flow_page: &str,
) -> Result<http::Response<Body>, PageResponseError> {
    let query = django_urlencode(rqctx.request.uri().query().unwrap_or_default());
    observed(rqctx, async {
        let separator = if query.is_empty() { "" } else { "?" };
        Ok(found(&format!("{flow_page}{separator}{query}")))
    })
    .await
    .map(send)
}
