//! The provider views' answers as the responses authentik sends: each domain value of `authentik::oauth2` becomes
//! an `http::Response<String>` (the body is JSON text in Python's layouts, or empty), which observation validates
//! and the handler sends. Django's conventions live here: `JsonResponse`, `TokenResponse` (`Cache-Control:
//! no-store`, `Pragma: no-cache`), `HttpResponseRedirect` (`iri_to_uri`), `protected_resource_view`'s
//! `WWW-Authenticate`, `http_method_not_allowed`'s `Allow`, and CORS on JWKS and discovery.

use dropshot::ErrorStatusCode;
use http::StatusCode;
use http::header::{self, HeaderName};
use serde::Serialize;

use crate::authentik::flow::{Challenge, EndSession};
use crate::authentik::oauth2::{
    Authorization, DeviceAuthorization, Introspection, MSG_NO_APPLICATION, Revocation, TokenOutcome, UserInfo,
};
use crate::authentik::oidc::discovery::Document;
use crate::authentik::oidc::errors::{BearerError, TokenError};
use crate::authentik::oidc::jose::Jwks;
use crate::authentik::oidc::json::{Ordered, Style, to_python_json};
use crate::http::error::{OAuth2ResponseError, oauth2_error};

/// A provider view's response before it is sent: its body is the text to send, empty for none.
pub(super) type Written = Result<http::Response<String>, OAuth2ResponseError>;

const JSON: &str = "application/json";

/// What `iri_to_uri` quotes: controls, space and the characters a URI cannot hold (non-ASCII always is).
const IRI_TO_URI: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A response with `headers`, then the body's `Content-Type` when it has one.
fn respond(status: StatusCode, headers: &[(HeaderName, &str)], body: Option<(&str, String)>) -> Written {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    let body = match body {
        Some((content_type, body)) => {
            builder = builder.header(header::CONTENT_TYPE, content_type);
            body
        }
        None => String::new(),
    };
    builder.body(body).map_err(|e| {
        oauth2_error(ErrorStatusCode::INTERNAL_SERVER_ERROR, "server_error", "response").with_cause(e.to_string())
    })
}

/// `json.dumps` with Django's `JsonResponse` separators (or the view's `indent`).
fn dumps(body: &impl Serialize, style: Style) -> String {
    to_python_json(body, style).unwrap_or_default()
}

/// Django's `JsonResponse`.
fn json(status: StatusCode, body: String) -> Written {
    respond(status, &[], Some((JSON, body)))
}

/// `TokenResponse` (utils.py): JSON with `Cache-Control: no-store` and `Pragma: no-cache`.
fn token(status: StatusCode, body: String) -> Written {
    respond(status, &[(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Some((JSON, body)))
}

/// `OAuth2Error.create_dict`: `{"error": …, "error_description": …, "request_id": …}` (the request id is part of
/// upstream's body), in `json.dumps`' default layout.
pub(super) fn error_body(error: &str, description: &str, request_id: &str) -> String {
    let mut body = Ordered::new();
    body.insert("error", error);
    body.insert("error_description", description);
    body.insert("request_id", request_id);
    dumps(&body, Style::Spaced)
}

/// A `TokenError` as the token, introspection and revocation views answer it.
fn token_error(status: StatusCode, error: TokenError, request_id: &str) -> Written {
    token(status, error_body(error.code(), error.description(), request_id))
}

/// A 302 to `location`, percent-encoded as Django's `HttpResponseRedirect` does (`iri_to_uri`): a redirect URI
/// may hold what a header cannot.
fn redirect(location: &str) -> Written {
    let location = percent_encoding::utf8_percent_encode(location, IRI_TO_URI).to_string();
    respond(StatusCode::FOUND, &[(header::LOCATION, &location)], None)
}

/// `BearerTokenError`'s status.
fn bearer_status(error: BearerError) -> StatusCode {
    match error {
        BearerError::InvalidToken => StatusCode::UNAUTHORIZED,
        BearerError::InsufficientScope => StatusCode::FORBIDDEN,
    }
}

/// `protected_resource_view`'s header: `error="<code>", error_description="<description>"`.
fn www_authenticate(error: BearerError) -> String {
    format!(r#"error="{}", error_description="{}""#, error.code(), error.description())
}

/// With `Access-Control-Allow-Origin: *` (JWKS and discovery).
fn cors(status: StatusCode, body: String) -> Written {
    respond(status, &[(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Some((JSON, body)))
}

/// Django's `Http404` for `get_object_or_404(Application, slug=…)`, as the spec's error body.
fn no_application(request_id: &str) -> Written {
    json(StatusCode::NOT_FOUND, error_body("not_found", MSG_NO_APPLICATION, request_id))
}

/// `TokenView.post`: 200 with the tokens, 400 with the `TokenError`.
pub(super) fn token_outcome(outcome: TokenOutcome, request_id: &str) -> Written {
    match outcome {
        TokenOutcome::Issued(body) => token(StatusCode::OK, dumps(&body, Style::Spaced)),
        TokenOutcome::Refused(refusal) => token_error(StatusCode::BAD_REQUEST, refusal.error, request_id),
    }
}

/// `DeviceView.post`: 200 with the device authorization, 400 with its error, 429 `slow_down` from the throttle.
pub(super) fn device_authorization(outcome: DeviceAuthorization, request_id: &str) -> Written {
    match outcome {
        DeviceAuthorization::Issued(body) => token(StatusCode::OK, dumps(&body, Style::Spaced)),
        DeviceAuthorization::Refused(refusal) => token_error(StatusCode::BAD_REQUEST, refusal.error, request_id),
        DeviceAuthorization::Throttled => token_error(StatusCode::TOO_MANY_REQUESTS, TokenError::SlowDown, request_id),
    }
}

/// `TokenIntrospectionView.post`: always 200.
pub(super) fn introspection(outcome: Introspection) -> Written {
    match outcome {
        Introspection::Claims(claims) => token(StatusCode::OK, dumps(&claims, Style::Spaced)),
        Introspection::Inactive => token(StatusCode::OK, r#"{"active": false}"#.to_owned()),
    }
}

/// `TokenRevokeView.post`: 200 `{}`, or 401 `invalid_client`.
pub(super) fn revocation(outcome: Revocation, request_id: &str) -> Written {
    match outcome {
        Revocation::Revoked => token(StatusCode::OK, "{}".to_owned()),
        Revocation::InvalidClient => token_error(StatusCode::UNAUTHORIZED, TokenError::InvalidClient, request_id),
    }
}

/// `UserInfoView`: 200 with the claims; a refused token is its status with the error in `WWW-Authenticate`
/// and no body.
pub(super) fn userinfo(outcome: UserInfo) -> Written {
    match outcome {
        UserInfo::Claims(claims) => json(StatusCode::OK, dumps(&claims, Style::Spaced)),
        UserInfo::Refused(error) => {
            respond(bearer_status(error), &[(header::WWW_AUTHENTICATE, &www_authenticate(error))], None)
        }
    }
}

/// The authorization: a 302 back to the client, or a 400 JSON error where authentik shows its error page.
pub(super) fn authorization(outcome: Authorization, request_id: &str) -> Written {
    match outcome {
        Authorization::UnknownClient { client_id } => {
            let description = format!("Invalid client identifier: {client_id}.");
            json(StatusCode::BAD_REQUEST, error_body("invalid_client", &description, request_id))
        }
        Authorization::BadRedirectUri(error) => {
            json(StatusCode::BAD_REQUEST, error_body(error.cause(), "Invalid redirect URI", request_id))
        }
        Authorization::Redirect(to) => redirect(&to.location()),
        Authorization::Post(form) => respond(
            StatusCode::OK,
            &[],
            Some(("text/html; charset=utf-8", super::super::pages::stage(&Challenge::Autosubmit(form), ""))),
        ),
        Authorization::Local(to) => redirect(&to),
    }
}

/// `JWKSView.get`: 200 with CORS, 404 for an unknown application.
pub(super) fn jwks(jwks: Option<Jwks>, request_id: &str) -> Written {
    match jwks {
        Some(jwks) => cors(StatusCode::OK, dumps(&jwks, Style::Spaced)),
        None => no_application(request_id),
    }
}

/// `ProviderInfoView.get`: `JsonResponse(…, json_dumps_params={"indent": 2})` with CORS, 404 for an unknown
/// application.
pub(super) fn openid_configuration(document: Option<Document>, request_id: &str) -> Written {
    match document {
        Some(document) => cors(StatusCode::OK, dumps(&document, Style::Indent(2))),
        None => no_application(request_id),
    }
}

/// `EndSessionView`: `plan.to_redirect`'s 302 to the invalidation flow's page with the request's query
/// (`redirect_with_qs`), `bad_request_message`'s 400 page, or Django's 404 page.
pub(super) fn end_session(answer: EndSession, query: &str) -> Written {
    let html = |status, body| respond(status, &[], Some(("text/html; charset=utf-8", body)));
    match answer {
        EndSession::Flow(slug) => {
            let query = crate::http::flows::django_urlencode(query);
            let separator = if query.is_empty() { "" } else { "?" };
            redirect(&format!("/if/flow/{slug}/{separator}{query}"))
        }
        EndSession::Refused(_) => {
            html(StatusCode::BAD_REQUEST, crate::http::pages::bad_request(TokenError::InvalidRequest.description()))
        }
        EndSession::NotFound => html(StatusCode::NOT_FOUND, crate::http::pages::not_found()),
    }
}

/// urls.py `provider-root`'s `RedirectView`.
pub(super) fn provider_root(location: &str) -> Written {
    redirect(location)
}

/// Django's `http_method_not_allowed` for a method the view does not serve, with `Allow`; the views that answer
/// JSON errors get the error body too (userinfo's errors have none).
pub(super) fn method_not_allowed(allow: &'static str, json_body: bool, request_id: &str) -> Written {
    let description = format!("only {allow} is served here");
    let body = json_body.then(|| (JSON, error_body("method_not_allowed", &description, request_id)));
    respond(StatusCode::METHOD_NOT_ALLOWED, &[(header::ALLOW, allow)], body)
}

/// Django's `DisallowedHost`: its plain 400 page, before any view (and so outside the spec's responses).
pub(super) fn disallowed_host() -> Written {
    respond(StatusCode::BAD_REQUEST, &[], Some(("text/html", "<h1>Bad Request (400)</h1>".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_error_body_is_create_dict() {
        let error = TokenError::InvalidGrant;
        assert_eq!(
            error_body(error.code(), error.description(), "abc"),
            concat!(
                r#"{"error": "invalid_grant", "error_description": "The provided authorization grant or refresh token "#,
                r#"is invalid, expired, revoked, does not match the redirection URI used in the authorization request, "#,
                r#"or was issued to another client", "request_id": "abc"}"#
            )
        );
    }

    #[test]
    fn bearer_errors_carry_status_and_header() {
        assert_eq!(bearer_status(BearerError::InvalidToken), 401);
        assert_eq!(
            www_authenticate(BearerError::InvalidToken),
            r#"error="invalid_token", error_description="The access token provided is expired, revoked, malformed, or invalid for other reasons""#
        );
        assert_eq!(bearer_status(BearerError::InsufficientScope), 403);
        let response = userinfo(UserInfo::Refused(BearerError::InsufficientScope)).unwrap();
        assert_eq!(response.status(), 403);
        assert!(response.body().is_empty() && response.headers().get(header::CONTENT_TYPE).is_none());
        assert!(
            response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("error=\"insufficient_scope\"")
        );
    }

    #[test]
    fn token_responses_are_never_cached() {
        let response = revocation(Revocation::Revoked, "r").unwrap();
        assert_eq!((response.status(), response.body().as_str()), (StatusCode::OK, "{}"));
        let names: Vec<&str> = response.headers().keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["cache-control", "pragma", "content-type"]);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let refused = revocation(Revocation::InvalidClient, "r").unwrap();
        assert_eq!(refused.status(), 401);
        assert!(refused.body().starts_with(r#"{"error": "invalid_client", "#));
        assert_eq!(introspection(Introspection::Inactive).unwrap().body(), r#"{"active": false}"#);
    }

    #[test]
    fn redirects_are_iri_to_uri_encoded() {
        let response = provider_root("/cb?state=a b\u{1}é").unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(response.headers()[header::LOCATION], "/cb?state=a%20b%01%C3%A9");
        assert!(response.body().is_empty());
    }

    #[test]
    fn method_not_allowed_has_allow_and_maybe_a_body() {
        let json = method_not_allowed("POST", true, "r").unwrap();
        assert_eq!(json.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(json.headers()[header::ALLOW], "POST");
        assert!(json.body().contains("only POST is served here"));
        assert!(method_not_allowed("GET", false, "r").unwrap().body().is_empty());
    }
}
