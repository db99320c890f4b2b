//! The provider's error codes, descriptions and bodies as `errors.py` defines them: `TokenError` (token endpoint,
//! 400), `TokenRevocationError`, `BearerTokenError` (userinfo: status and `WWW-Authenticate`), `AuthorizeError`
//! (redirects to the client with `error`, `error_description` and `state`).
//!
//! `OAuth2Error.create_dict` writes `{"error", "error_description", "request_id"}`: the request id is part of
//! upstream's body.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::json::{Ordered, Style, to_python_json};

/// `TokenError.errors` (RFC 6749 §5.2), plus `DeviceCodeError`'s and `TokenRevocationError`'s own codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// `TokenRevocationError` only.
    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    UnsupportedTokenType,
}

impl TokenError {
    pub(crate) fn code(self) -> &'static str {
        match self {
            TokenError::InvalidRequest => "invalid_request",
            TokenError::InvalidClient => "invalid_client",
            TokenError::InvalidGrant => "invalid_grant",
            TokenError::UnauthorizedClient => "unauthorized_client",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidScope => "invalid_scope",
            TokenError::UnsupportedTokenType => "unsupported_token_type",
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            TokenError::InvalidRequest => "The request is otherwise malformed",
            TokenError::InvalidClient => {
                "Client authentication failed (e.g., unknown client, no client authentication included, or \
                 unsupported authentication method)"
            }
            TokenError::InvalidGrant => {
                "The provided authorization grant or refresh token is invalid, expired, revoked, does not match the \
                 redirection URI used in the authorization request, or was issued to another client"
            }
            TokenError::UnauthorizedClient => {
                "The authenticated client is not authorized to use this authorization grant type"
            }
            TokenError::UnsupportedGrantType => {
                "The authorization grant type is not supported by the authorization server"
            }
            TokenError::InvalidScope => {
                "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner"
            }
            // Upstream's text, missing space ("not" "supporting") included.
            TokenError::UnsupportedTokenType => {
                "The authorization server does not support the revocation of the presented token type.  That is, the \
                 client tried to revoke an access token on a server notsupporting this feature."
            }
        }
    }

    /// `create_dict(request)` as a `TokenResponse` body (Django's `JsonResponse`).
    pub(crate) fn body(self, request_id: &str) -> String {
        error_body(self.code(), self.description(), request_id)
    }
}

/// `{"error": …, "error_description": …, "request_id": …}` in `json.dumps`'s default layout.
pub(crate) fn error_body(error: &str, description: &str, request_id: &str) -> String {
    let mut body = Ordered::new();
    body.insert("error", error);
    body.insert("error_description", description);
    body.insert("request_id", request_id);
    to_python_json(&body, Style::Spaced).unwrap_or_default()
}

/// `BearerTokenError` (`protected_resource_view`): an empty body with this status and
/// `WWW-Authenticate: error="<code>", error_description="<description>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BearerError {
    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
}

impl BearerError {
    pub(crate) fn code(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }

    pub(crate) fn status(self) -> u16 {
        match self {
            BearerError::InvalidRequest => 400,
            BearerError::InvalidToken => 401,
            BearerError::InsufficientScope => 403,
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "The request is otherwise malformed",
            BearerError::InvalidToken => {
                "The access token provided is expired, revoked, malformed, or invalid for other reasons"
            }
            BearerError::InsufficientScope => {
                "The request requires higher privileges than provided by the access token"
            }
        }
    }

    pub(crate) fn www_authenticate(self) -> String {
        format!(r#"error="{}", error_description="{}""#, self.code(), self.description())
    }
}

/// `AuthorizeError.errors`: the description of an authorize error code, if upstream defines it.
pub(crate) fn authorize_description(error: &str) -> Option<&'static str> {
    Some(match error {
        "invalid_request" => "The request is otherwise malformed",
        "unauthorized_client" => "The client is not authorized to request an authorization code using this method",
        "access_denied" => "The resource owner or authorization server denied the request",
        "unsupported_response_type" => {
            "The authorization server does not support obtaining an authorization code using this method"
        }
        "invalid_scope" => "The requested scope is invalid, unknown, or malformed",
        "server_error" => "The authorization server encountered an error",
        "temporarily_unavailable" => {
            "The authorization server is currently unable to handle the request due to a temporary overloading or \
             maintenance of the server"
        }
        "interaction_required" => "The Authorization Server requires End-User interaction of some form to proceed",
        "login_required" => "The Authorization Server requires End-User authentication",
        "account_selection_required" => "The End-User is required to select a session at the Authorization Server",
        "consent_required" => "The Authorization Server requires End-User consent",
        "invalid_request_uri" => {
            "The request_uri in the Authorization Request returns an error or contains invalid data"
        }
        "invalid_request_object" => "The request parameter contains an invalid Request Object",
        "request_not_supported" => "The provider does not support use of the request parameter",
        "request_uri_not_supported" => "The provider does not support use of the request_uri parameter",
        "registration_not_supported" => "The provider does not support use of the registration parameter",
        _ => return None,
    })
}

/// `urllib.parse.quote(text)`: everything but letters, digits, `_.-~` and `/` percent-encoded as UTF-8.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~').remove(b'/');

pub(crate) fn quote(text: &str) -> String {
    utf8_percent_encode(text, QUOTE).to_string()
}

/// `AuthorizeError.create_uri()`: `<redirect_uri>?error=<error>&error_description=<quoted>[&state=<state>]`,
/// with `#` instead of `?` for the implicit and hybrid flows. `state` is appended as given, unquoted, as
/// upstream does; so is `error`.
pub(crate) fn authorize_error_uri(
    redirect_uri: &str,
    error: &str,
    description: &str,
    fragment: bool,
    state: Option<&str>,
) -> String {
    let separator = if fragment { '#' } else { '?' };
    let mut uri = format!("{redirect_uri}{separator}error={error}&error_description={}", quote(description));
    if let Some(state) = state.filter(|s| !s.is_empty()) {
        uri.push_str("&state=");
        uri.push_str(state);
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_error_body_is_create_dict() {
        assert_eq!(
            TokenError::InvalidGrant.body("abc"),
            concat!(
                r#"{"error": "invalid_grant", "error_description": "The provided authorization grant or refresh token "#,
                r#"is invalid, expired, revoked, does not match the redirection URI used in the authorization request, "#,
                r#"or was issued to another client", "request_id": "abc"}"#
            )
        );
        assert_eq!(
            TokenError::InvalidClient.description(),
            "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported \
             authentication method)"
        );
    }

    #[test]
    fn bearer_errors_carry_status_and_header() {
        assert_eq!(BearerError::InvalidToken.status(), 401);
        assert_eq!(
            BearerError::InvalidToken.www_authenticate(),
            r#"error="invalid_token", error_description="The access token provided is expired, revoked, malformed, or invalid for other reasons""#
        );
        assert_eq!(BearerError::InsufficientScope.status(), 403);
    }

    #[test]
    fn authorize_error_redirect_is_create_uri() {
        let description = authorize_description("invalid_request").unwrap();
        assert_eq!(
            authorize_error_uri("http://localhost/cb", "invalid_request", description, false, Some("st ate")),
            "http://localhost/cb?error=invalid_request&error_description=The%20request%20is%20otherwise%20malformed&state=st ate"
        );
        assert_eq!(
            authorize_error_uri("http://l/cb", "invalid_request", "Unsupported challenge method s256", true, None),
            "http://l/cb#error=invalid_request&error_description=Unsupported%20challenge%20method%20s256"
        );
        assert_eq!(quote("a/b_c.d-e~f:g?h&é"), "a/b_c.d-e~f%3Ag%3Fh%26%C3%A9");
        assert_eq!(authorize_description("bogus"), None);
    }
}
