//! The provider's error codes and descriptions as `errors.py` defines them: `TokenError` (token, introspection
//! and revocation endpoints), `BearerTokenError` (userinfo), `AuthorizeError` (redirects to the client with
//! `error`, `error_description` and `state`). How each is sent (status, body, `WWW-Authenticate`) is
//! `http/oauth2/`'s.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The `TokenError.errors` (RFC 6749 §5.2) the endpoints answer, and the `DeviceCodeError.errors` (RFC 8628
/// §3.5) of the device code grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    InvalidScope,
    AuthorizationPending,
    ExpiredToken,
    SlowDown,
}

impl TokenError {
    pub(crate) fn code(self) -> &'static str {
        match self {
            TokenError::InvalidRequest => "invalid_request",
            TokenError::InvalidClient => "invalid_client",
            TokenError::InvalidGrant => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidScope => "invalid_scope",
            TokenError::AuthorizationPending => "authorization_pending",
            TokenError::ExpiredToken => "expired_token",
            TokenError::SlowDown => "slow_down",
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
            TokenError::UnsupportedGrantType => {
                "The authorization grant type is not supported by the authorization server"
            }
            TokenError::InvalidScope => {
                "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner"
            }
            TokenError::AuthorizationPending => {
                "The authorization request is still pending as the end user hasn't yet completed the user-interaction \
                 steps"
            }
            TokenError::ExpiredToken => {
                "The \"device_code\" has expired, and the device authorization session has concluded.  The client MAY \
                 commence a new device authorization request but SHOULD wait for user interaction before restarting to \
                 avoid unnecessary polling."
            }
            // Upstream's adjacent literals join without spaces ("isstill", "MUSTbe").
            TokenError::SlowDown => {
                "A variant of \"authorization_pending\", the authorization request isstill pending and polling should \
                 continue, but the interval MUSTbe increased by 5 seconds for this and all subsequent requests."
            }
        }
    }
}

/// The `BearerTokenError`s `protected_resource_view` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BearerError {
    InvalidToken,
    InsufficientScope,
}

impl BearerError {
    pub(crate) fn code(self) -> &'static str {
        match self {
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }

    pub(crate) fn description(self) -> &'static str {
        match self {
            BearerError::InvalidToken => {
                "The access token provided is expired, revoked, malformed, or invalid for other reasons"
            }
            BearerError::InsufficientScope => {
                "The request requires higher privileges than provided by the access token"
            }
        }
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
    fn token_error_descriptions_are_upstreams() {
        assert_eq!(
            TokenError::InvalidClient.description(),
            "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported \
             authentication method)"
        );
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
