//! What the provider's views decide, before HTTP: each rule of [`super::OAuth2`] answers one of these values, and
//! `http/oauth2/` writes it as the response authentik sends (status, `Cache-Control`, `Location`,
//! `WWW-Authenticate`, the JSON layout of the body).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::authentik::oidc::errors::{BearerError, TokenError, authorize_error_uri};
use crate::authentik::oidc::json::Ordered;
use crate::authentik::oidc::redirect::RedirectError;

/// Django's `Http404` text for `get_object_or_404(Application, slug=…)` (JWKS and discovery).
pub const MSG_NO_APPLICATION: &str = "No Application matches the given query.";

/// `TokenView.post`.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenOutcome {
    /// The token response: `access_token`, `token_type`, `scope`, `expires_in`, `id_token`, maybe `refresh_token`.
    Issued(Ordered),
    /// The grant is refused.
    Refused(Refusal),
}

/// A refused grant: upstream's error (its fixed `error_description` is all the client sees, as upstream), and
/// why, for the server's log line (upstream's own log words where it logs one; never a secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub error: TokenError,
    pub reason: String,
}

/// `TokenIntrospectionView.post`.
#[derive(Debug, Clone, PartialEq)]
pub enum Introspection {
    /// A token of the client's provider: its claims with `active`, `scope` and `client_id`.
    Claims(Ordered),
    /// Anything not introspectable by this client: `{"active": false}`.
    Inactive,
}

/// `TokenRevokeView.post`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The token is gone, or never was one of the client's: `{}`.
    Revoked,
    /// Client authentication failed (`invalid_client`, upstream's 401).
    InvalidClient,
}

/// `UserInfoView` behind `protected_resource_view(["openid"])`.
#[derive(Debug, Clone, PartialEq)]
pub enum UserInfo {
    /// `sub`, the token's scope claims and its nonce.
    Claims(Ordered),
    /// The bearer token is refused (sent in `WWW-Authenticate`, without a body).
    Refused(BearerError),
}

/// The non-interactive authorization endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Authorization {
    /// No provider has the `client_id`: shown to the user agent (authentik's error page), never redirected.
    UnknownClient { client_id: String },
    /// The redirect URI is refused: shown, never redirected to.
    BadRedirectUri(RedirectError),
    /// Back to the client, with a code or an error.
    Redirect(ClientRedirect),
    /// Back to the client by a form the user agent posts (`response_mode=form_post`).
    Post(AutoSubmit),
    /// On to a page of this server: the login flow, or the authorization flow planned in the session.
    Local(String),
}

/// Where the authorization sends the user agent back to: the client's redirect URI with the answer's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRedirect {
    /// `code` and `state` (`urlencode`d; an absent state is sent empty), in the query or, for
    /// `response_mode=fragment`, appended to the fragment.
    Code { redirect_uri: String, code: String, state: Option<String>, fragment: bool },
    /// `AuthorizeError`: `error`, `error_description` and, when there is one, `state`.
    Error { redirect_uri: String, error: &'static str, description: String, state: Option<String> },
}

/// `OAuthFulfillmentStage.redirect` for `response_mode=form_post`: the `AutosubmitChallenge` whose form the user
/// agent posts to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoSubmit {
    /// The redirect URI, as the request gave it.
    pub url: String,
    /// `Redirecting to <application>...`.
    pub title: String,
    /// `code` and, when not empty, `state` (upstream reads them back with `parse_qs`, which drops blank values).
    pub attrs: Vec<(&'static str, String)>,
}

/// `urllib.parse.quote_plus`, as `urlencode` writes query values.
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~').remove(b' ');

fn quote_plus(text: &str) -> String {
    utf8_percent_encode(text, QUOTE_PLUS).to_string().replace(' ', "+")
}

impl ClientRedirect {
    /// The URI to send the user agent to (before the HTTP layer's `iri_to_uri`).
    pub fn location(&self) -> String {
        match self {
            ClientRedirect::Code { redirect_uri, code, state, fragment } => {
                let state = quote_plus(state.as_deref().unwrap_or_default());
                if *fragment {
                    let (uri, existing) = redirect_uri.split_once('#').unwrap_or((redirect_uri, ""));
                    return format!("{uri}#{existing}code={code}&state={state}");
                }
                let separator = if redirect_uri.contains('?') { '&' } else { '?' };
                format!("{redirect_uri}{separator}code={code}&state={state}")
            }
            ClientRedirect::Error { redirect_uri, error, description, state } => {
                authorize_error_uri(redirect_uri, error, description, false, state.as_deref())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_carry_their_parameters() {
        let code = ClientRedirect::Code {
            redirect_uri: "http://c/cb?x=1".into(),
            code: "abc".into(),
            state: Some("a b&c".into()),
            fragment: false,
        };
        assert_eq!(code.location(), "http://c/cb?x=1&code=abc&state=a+b%26c");
        let code = ClientRedirect::Code {
            redirect_uri: "http://c/cb".into(),
            code: "abc".into(),
            state: None,
            fragment: false,
        };
        assert_eq!(code.location(), "http://c/cb?code=abc&state=");
        let code = ClientRedirect::Code {
            redirect_uri: "http://c/cb?x=1".into(),
            code: "abc".into(),
            state: None,
            fragment: true,
        };
        assert_eq!(code.location(), "http://c/cb?x=1#code=abc&state=");
        let error = ClientRedirect::Error {
            redirect_uri: "http://c/cb".into(),
            error: "login_required",
            description: "The Authorization Server requires End-User authentication".into(),
            state: None,
        };
        assert_eq!(
            error.location(),
            "http://c/cb?error=login_required&error_description=The%20Authorization%20Server%20requires%20End-User%20authentication"
        );
    }
}
