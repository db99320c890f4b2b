//! Redirect URI matching as authentik does it: `AuthorizeParams.check_redirect_uri` (`views/authorize.py`), the
//! token endpoint's `TokenParams.__check_redirect_uri` (`views/token.py`) and the provider serializer's regex check
//! (`api/providers.py`).
//!
//! Regular expressions are Python's `re.fullmatch`; here they are the `regex` crate's, anchored at both ends.
//! A pattern that Python compiles and `regex` does not (look-around, back-references, `\Z`) counts as a pattern
//! that fails to compile: upstream logs it and matches nothing with it, and so does tokenstack.

use regex::Regex;
use serde::{Deserialize, Serialize};

/// `RedirectURIMatchingMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MatchingMode {
    Strict,
    Regex,
}

/// `RedirectURIType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UriType {
    #[default]
    Authorization,
    Logout,
}

/// One entry of `OAuth2Provider.redirect_uris` (`RedirectURI`), as the management API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RedirectUri {
    pub(crate) matching_mode: MatchingMode,
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) redirect_uri_type: UriType,
}

impl RedirectUri {
    pub(crate) fn strict(url: impl Into<String>) -> Self {
        Self { matching_mode: MatchingMode::Strict, url: url.into(), redirect_uri_type: UriType::Authorization }
    }

    #[cfg(test)]
    pub(crate) fn regex(url: impl Into<String>) -> Self {
        Self { matching_mode: MatchingMode::Regex, url: url.into(), redirect_uri_type: UriType::Authorization }
    }

    /// Whether `uri` matches this entry: `==` when strict, `re.fullmatch(url, uri)` when regex
    /// (a pattern that does not compile matches nothing).
    pub(crate) fn matches(&self, uri: &str) -> bool {
        match self.matching_mode {
            MatchingMode::Strict => self.url == uri,
            MatchingMode::Regex => full_match(&self.url, uri).unwrap_or(false),
        }
    }
}

/// `re.fullmatch(pattern, text)`, or `None` when the pattern does not compile.
fn full_match(pattern: &str, text: &str) -> Option<bool> {
    // Compile the pattern alone first: wrapped, an unbalanced `a)|(b` would compile as an alternation.
    Regex::new(pattern).ok()?;
    Some(Regex::new(&format!(r"\A(?:{pattern})\z")).ok()?.is_match(text))
}

/// `OAuth2Provider.authorization_redirect_uris`: the entries of type `authorization`.
pub(crate) fn authorization_uris(uris: &[RedirectUri]) -> impl Iterator<Item = &RedirectUri> {
    uris.iter().filter(|u| u.redirect_uri_type == UriType::Authorization)
}

/// `FORBIDDEN_URI_SCHEMES` (`authentik/common/oauth/constants.py`).
pub(crate) const FORBIDDEN_SCHEMES: [&str; 3] = ["javascript", "data", "vbscript"];

/// The scheme `urllib.parse.urlparse(url).scheme` finds: leading C0 controls and spaces stripped, tabs and
/// newlines removed, then the letters, digits, `+`, `-` and `.` before the first `:` if they start with a letter,
/// lowercased; otherwise empty.
pub(crate) fn url_scheme(url: &str) -> String {
    let url: String =
        url.trim_start_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\r' | '\n')).collect();
    let Some(colon) = url.find(':') else {
        return String::new();
    };
    let candidate = &url[..colon];
    let starts_with_letter = candidate.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if starts_with_letter && candidate.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        candidate.to_ascii_lowercase()
    } else {
        String::new()
    }
}

fn forbidden_scheme(uri: &str) -> bool {
    FORBIDDEN_SCHEMES.contains(&url_scheme(uri).as_str())
}

/// Why the authorize endpoint refuses a redirect URI (`RedirectUriError.cause`). Upstream shows an error page
/// and never redirects to such a URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RedirectError {
    #[error("redirect_uri_missing")]
    Missing,
    #[error("redirect_uri_no_match")]
    NoMatch,
    #[error("redirect_uri_forbidden_scheme")]
    ForbiddenScheme,
}

impl RedirectError {
    /// `RedirectUriError.cause`.
    pub(crate) fn cause(self) -> &'static str {
        match self {
            RedirectError::Missing => "redirect_uri_missing",
            RedirectError::NoMatch => "redirect_uri_no_match",
            RedirectError::ForbiddenScheme => "redirect_uri_forbidden_scheme",
        }
    }
}

/// The outcome of `check_redirect_uri` at the authorize endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthorizeCheck {
    /// When the provider has no authorization redirect URIs, upstream saves the requested one as its only
    /// entry (strict) *before* checking it, so it is saved even when the scheme is then refused. The caller
    /// replaces the provider's `redirect_uris` with this list (upstream's setter drops the logout entries too).
    pub(crate) register: Option<Vec<RedirectUri>>,
    pub(crate) result: Result<(), RedirectError>,
}

/// `AuthorizeParams.check_redirect_uri`.
pub(crate) fn check_authorize(configured: &[RedirectUri], redirect_uri: Option<&str>) -> AuthorizeCheck {
    let redirect_uri = redirect_uri.unwrap_or_default();
    if redirect_uri.is_empty() {
        return AuthorizeCheck { register: None, result: Err(RedirectError::Missing) };
    }
    let register = authorization_uris(configured).next().is_none().then(|| vec![RedirectUri::strict(redirect_uri)]);
    let matched = match &register {
        Some(registered) => registered.iter().any(|entry| entry.matches(redirect_uri)),
        None => authorization_uris(configured).any(|entry| entry.matches(redirect_uri)),
    };
    let result = if !matched {
        Err(RedirectError::NoMatch)
    } else if forbidden_scheme(redirect_uri) {
        Err(RedirectError::ForbiddenScheme)
    } else {
        Ok(())
    };
    AuthorizeCheck { register, result }
}

/// Why the token endpoint refuses an authorization code's `redirect_uri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenRedirectError {
    /// No configured entry matches (none configured included): `invalid_client`.
    #[error("invalid_client")]
    InvalidClient,
    /// A forbidden scheme: `invalid_request`.
    #[error("invalid_request")]
    InvalidRequest,
}

/// `TokenParams.__check_redirect_uri`: the form's `redirect_uri` (empty when absent) against the provider's
/// authorization redirect URIs; unlike the authorize endpoint, nothing is registered here.
pub(crate) fn check_token(configured: &[RedirectUri], redirect_uri: &str) -> Result<(), TokenRedirectError> {
    if !authorization_uris(configured).any(|entry| entry.matches(redirect_uri)) {
        return Err(TokenRedirectError::InvalidClient);
    }
    if forbidden_scheme(redirect_uri) {
        return Err(TokenRedirectError::InvalidRequest);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logout(url: &str) -> RedirectUri {
        RedirectUri { matching_mode: MatchingMode::Strict, url: url.into(), redirect_uri_type: UriType::Logout }
    }

    #[test]
    fn strict_is_exact_string_equality() {
        let uris = [RedirectUri::strict("http://local.invalid/Foo")];
        assert_eq!(check_token(&uris, "http://local.invalid/Foo"), Ok(()));
        for other in ["http://local.invalid/foo", "http://local.invalid/Foo/", "http://local.invalid/Foo?a=1", ""] {
            assert_eq!(check_token(&uris, other), Err(TokenRedirectError::InvalidClient), "{other}");
        }
    }

    #[test]
    fn upstream_authorize_cases() {
        // test_invalid_redirect_uri_missing
        let strict = [RedirectUri::strict("http://local.invalid")];
        assert_eq!(check_authorize(&strict, None).result, Err(RedirectError::Missing));
        assert_eq!(check_authorize(&strict, Some("")).result, Err(RedirectError::Missing));
        // test_invalid_redirect_uri
        assert_eq!(check_authorize(&strict, Some("http://localhost")).result, Err(RedirectError::NoMatch));
        // test_blocked_redirect_uri
        let data = [RedirectUri::strict("data:localhost")];
        assert_eq!(check_authorize(&data, Some("data:localhost")).result, Err(RedirectError::ForbiddenScheme));
        // test_invalid_redirect_uri_regex
        let regex = [RedirectUri::regex("http://local.invalid?")];
        assert_eq!(check_authorize(&regex, Some("http://localhost")).result, Err(RedirectError::NoMatch));
        // test_redirect_uri_invalid_regex
        let invalid = [RedirectUri::regex("+")];
        assert_eq!(check_authorize(&invalid, Some("http://localhost")).result, Err(RedirectError::NoMatch));
        // test_redirect_uri_regex
        let any = [RedirectUri::regex(".+")];
        assert_eq!(
            check_authorize(&any, Some("http://foo.bar.baz")),
            AuthorizeCheck { register: None, result: Ok(()) }
        );
    }

    #[test]
    fn none_configured_registers_the_first_uri_at_authorize_only() {
        // test_invalid_redirect_uri_empty: the requested "+" becomes the provider's one strict entry.
        let check = check_authorize(&[], Some("+"));
        assert_eq!(check.register, Some(vec![RedirectUri::strict("+")]));
        assert_eq!(check.result, Ok(()));
        // Only logout entries count as none; a forbidden scheme is registered, then refused.
        let check = check_authorize(&[logout("http://a/")], Some("javascript:alert(1)"));
        assert_eq!(check.register, Some(vec![RedirectUri::strict("javascript:alert(1)")]));
        assert_eq!(check.result, Err(RedirectError::ForbiddenScheme));
        // The token endpoint checks an empty list and finds nothing.
        assert_eq!(check_token(&[], "+"), Err(TokenRedirectError::InvalidClient));
        assert_eq!(check_token(&[logout("http://a/")], "http://a/"), Err(TokenRedirectError::InvalidClient));
    }

    #[test]
    fn regex_is_a_full_match() {
        let uris = [RedirectUri::regex(r"https://(.*)\.example\.com/cb")];
        assert_eq!(check_token(&uris, "https://app.example.com/cb"), Ok(()));
        assert_eq!(check_token(&uris, "https://app.example.com/cb/extra"), Err(TokenRedirectError::InvalidClient));
        assert_eq!(check_token(&uris, "xhttps://app.example.com/cb"), Err(TokenRedirectError::InvalidClient));
        // An alternation is anchored as a whole, as fullmatch does.
        let alt = [RedirectUri::regex("http://a|http://b")];
        assert_eq!(check_token(&alt, "http://b"), Ok(()));
        assert_eq!(check_token(&alt, "http://bc"), Err(TokenRedirectError::InvalidClient));
        // Unbalanced parentheses do not compile in Python either.
        let unbalanced = [RedirectUri::regex("http://a)|(http://b")];
        assert_eq!(check_token(&unbalanced, "http://b"), Err(TokenRedirectError::InvalidClient));
        // A later entry matches after an invalid one.
        let mixed = [RedirectUri::regex("+"), RedirectUri::strict("http://ok")];
        assert_eq!(check_token(&mixed, "http://ok"), Ok(()));
    }

    #[test]
    fn forbidden_schemes_at_the_token_endpoint() {
        let any = [RedirectUri::regex(".*")];
        for uri in ["javascript:x", "JavaScript:x", " data:text/html,x", "vbscript:x", "java\tscript:x"] {
            assert_eq!(check_token(&any, uri), Err(TokenRedirectError::InvalidRequest), "{uri:?}");
        }
        for uri in ["http://x", "myapp://cb", "javascript//x", "1data:x"] {
            assert_eq!(check_token(&any, uri), Ok(()), "{uri:?}");
        }
    }

    #[test]
    fn url_scheme_is_pythons_urlparse() {
        assert_eq!(url_scheme("HTTPS://x"), "https");
        assert_eq!(url_scheme("com.example.app:/cb"), "com.example.app");
        assert_eq!(url_scheme("a_b:x"), "");
        assert_eq!(url_scheme(":x"), "");
        assert_eq!(url_scheme("\u{1} data:x"), "data");
        assert_eq!(url_scheme("no-colon"), "");
    }

    #[test]
    fn entries_read_and_write_as_the_api() {
        let entry: RedirectUri = serde_json::from_str(r#"{"matching_mode":"regex","url":"x"}"#).unwrap();
        assert_eq!(entry, RedirectUri::regex("x"));
        assert_eq!(
            serde_json::to_string(&logout("y")).unwrap(),
            r#"{"matching_mode":"strict","url":"y","redirect_uri_type":"logout"}"#
        );
    }
}
