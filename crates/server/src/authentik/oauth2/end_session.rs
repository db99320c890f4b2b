//! The checks of RP-initiated logout (`views/end_session.py EndSessionView.validate`): the `id_token_hint` as PyJWT
//! decodes it (signature, audience and issuer, not expiry) and the `post_logout_redirect_uri` against the
//! provider's redirect URIs of type `logout`, with `state` appended. The flow the view then plans is the flow
//! engine's (`flow::logout`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::{OAuth2, ProviderError, ProviderRequest};
use crate::authentik::ApplicationView;
use crate::authentik::oidc::claims::issuer;
use crate::authentik::oidc::redirect::{FORBIDDEN_SCHEMES, RedirectUri, UriType, url_scheme};
use crate::model::AkProvider;

/// The request's parameters (`request.GET`, or `request.POST` for a POST).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// Why a logout request is refused (`TokenError("invalid_request").with_cause(…)`); every cause shows the same
/// page, `invalid_request`'s description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndSessionRefusal {
    #[error("id_token_hint_decode_failed")]
    IdTokenHint,
    #[error("id_token_hint_missing")]
    IdTokenHintMissing,
    #[error("post_logout_redirect_uri")]
    ForbiddenScheme,
    #[error("invalid_post_logout_redirect_uri")]
    NoMatch,
}

/// A logout request that passed the checks.
#[derive(Debug, Clone)]
pub struct EndSessionChecked {
    pub provider: AkProvider,
    /// The application's slug and name (`PLAN_CONTEXT_APPLICATION`).
    pub application: (String, String),
    /// `Application.get_launch_url`.
    pub launch_url: Option<String>,
    /// Where the flow ends, with `state` (`PLAN_CONTEXT_POST_LOGOUT_REDIRECT_URI`).
    pub post_logout_redirect_uri: Option<String>,
}

/// What `quote(state, safe='')` leaves as it is.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~');

impl OAuth2<'_> {
    /// `resolve_provider_application` and `validate`: `None` for an unknown slug or an application without
    /// provider (Django's 404).
    pub async fn check_end_session(
        &self,
        request: &ProviderRequest<'_>,
        slug: &str,
        params: &EndSessionParams,
    ) -> Result<Option<Result<EndSessionChecked, EndSessionRefusal>>, ProviderError> {
        let Some(resolved) = self.provider_by_slug(slug).await? else { return Ok(None) };
        let application = resolved.application.as_ref().map(|a| (a.slug.clone(), a.name.clone()));
        let Some(application) = application else { return Ok(None) };
        let hint = params.id_token_hint.as_deref().filter(|h| !h.is_empty());
        if let Some(hint) = hint {
            let claims = resolved.claims_provider(&[]);
            let issuer = issuer(request.base_url, claims.issuer_mode, Some(slug)).unwrap_or_default();
            let decoded = resolved.signer().verify_signature(hint).ok();
            let valid =
                decoded.is_some_and(|c| pyjwt_claims_valid(&c, claims.client_id, &issuer, self.now.timestamp()));
            if !valid {
                return Ok(Some(Err(EndSessionRefusal::IdTokenHint)));
            }
        }
        let mut redirect = None;
        let requested = params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty());
        let logout_uris: Vec<RedirectUri> =
            resolved.redirect_uris().into_iter().filter(|u| u.redirect_uri_type == UriType::Logout).collect();
        if let Some(requested) = requested.filter(|_| !logout_uris.is_empty()) {
            if hint.is_none() {
                return Ok(Some(Err(EndSessionRefusal::IdTokenHintMissing)));
            }
            if FORBIDDEN_SCHEMES.contains(&url_scheme(requested).as_str()) {
                return Ok(Some(Err(EndSessionRefusal::ForbiddenScheme)));
            }
            if !logout_uris.iter().any(|allowed| allowed.matches(requested)) {
                return Ok(Some(Err(EndSessionRefusal::NoMatch)));
            }
            redirect = Some(requested.to_owned());
        }
        if let (Some(uri), Some(state)) = (redirect.as_mut(), params.state.as_deref().filter(|s| !s.is_empty())) {
            let separator = if uri.contains('?') { '&' } else { '?' };
            uri.push(separator);
            uri.push_str("state=");
            uri.push_str(&utf8_percent_encode(state, QUOTE).to_string());
        }
        let launch_url = resolved.application.clone().and_then(|application| {
            let provider = Some(resolved.provider.clone());
            ApplicationView { application, provider, backchannel_providers: Vec::new() }.launch_url()
        });
        Ok(Some(Ok(EndSessionChecked {
            provider: resolved.provider,
            application,
            launch_url,
            post_logout_redirect_uri: redirect,
        })))
    }
}

/// PyJWT's claim checks after the signature, with `audience` and `issuer` given and `verify_exp` off: `aud` is
/// the client id (or a list holding it), `iss` the issuer, and `iat` and `nbf`, when present, numbers not in the
/// future.
fn pyjwt_claims_valid(claims: &Value, client_id: &str, issuer: &str, now: i64) -> bool {
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == client_id,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    let issuer_ok = claims.get("iss").and_then(Value::as_str) == Some(issuer);
    let not_future = |name: &str| match claims.get(name) {
        None => true,
        Some(value) => value.as_f64().is_some_and(|at| at <= now as f64),
    };
    audience_ok && issuer_ok && not_future("iat") && not_future("nbf")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::pyjwt_claims_valid;

    #[test]
    fn audience_issuer_and_times_as_pyjwt_checks_them() {
        let iss = "http://h/application/o/app/";
        let good = json!({"aud": "cid", "iss": iss, "iat": 10, "exp": 1});
        assert!(pyjwt_claims_valid(&good, "cid", iss, 20), "an expired token is accepted");
        assert!(pyjwt_claims_valid(&json!({"aud": ["x", "cid"], "iss": iss}), "cid", iss, 20));
        assert!(!pyjwt_claims_valid(&json!({"aud": "other", "iss": iss}), "cid", iss, 20));
        assert!(!pyjwt_claims_valid(&json!({"iss": iss}), "cid", iss, 20), "aud is required");
        assert!(!pyjwt_claims_valid(&json!({"aud": "cid", "iss": "http://h/"}), "cid", iss, 20));
        assert!(!pyjwt_claims_valid(&json!({"aud": "cid", "iss": iss, "iat": 30}), "cid", iss, 20));
        assert!(!pyjwt_claims_valid(&json!({"aud": "cid", "iss": iss, "nbf": "soon"}), "cid", iss, 20));
    }
}
