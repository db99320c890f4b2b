//! The provider's other views: introspection (views/introspection.py), revocation (views/token_revoke.py),
//! userinfo (views/userinfo.py behind utils.py `protected_resource_view`), a non-interactive authorization
//! (views/authorize.py's checks, without its flow), JWKS (views/jwks.py), discovery (views/provider.py) and the
//! provider root's redirect (urls.py `provider-root`).

use super::outcome::{Authorization, AutoSubmit, ClientRedirect, Introspection, Revocation, UserInfo};
use super::{OAuth2, ProviderError, ProviderRequest, Resolved, claims_user, convert_redirect_uris, validity};
use crate::authentik::Authentik;
use crate::authentik::oidc::claims::{SCOPE_OPENID, scope_claims};
use crate::authentik::oidc::client_auth::{self, secret_matches};
use crate::authentik::oidc::discovery::{DiscoveryInput, Document, openid_configuration};
use crate::authentik::oidc::errors::{BearerError, authorize_description};
use crate::authentik::oidc::id_token::{IdToken, introspection_claims, userinfo_claims};
use crate::authentik::oidc::jose::Jwks;
use crate::authentik::oidc::json::Ordered;
use crate::authentik::oidc::{pkce, redirect};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::{AkProvider, AkUser, AuthorizationCode, OAuthKind, OAuthToken, user_uid};
use crate::secrets::{Secret, generate_authorization_code};
use crate::store::{Field, StoreError};

/// The query of `GET /application/o/authorize/` (`OAuthAuthorizationParams`), kept in a flow plan while the
/// authorization flow runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct AuthorizeQuery {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub response_mode: Option<String>,
}

impl AuthorizeQuery {
    /// The `prompt` values upstream honours (`ALLOWED_PROMPT_PARAMS`), space-separated in the request.
    pub fn prompts(&self) -> Vec<&str> {
        let prompt = self.prompt.as_deref().unwrap_or_default();
        prompt.split_whitespace().filter(|p| ["none", "consent", "login"].contains(p)).collect()
    }

    /// `max_age` in seconds, when it is an integer (upstream ignores anything else).
    pub fn max_age(&self) -> Option<i64> {
        self.max_age.as_deref().and_then(|m| m.trim().parse().ok())
    }
}

/// An authorization request that passed `OAuthAuthorizationParams`' checks.
pub(crate) struct CheckedAuthorization {
    resolved: Resolved,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    nonce: Option<String>,
    challenge: Option<(String, String)>,
    /// How the code goes back (`ResponseMode`).
    response_mode: ResponseMode,
}

/// `ResponseMode`: how the code goes back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMode {
    Query,
    Fragment,
    /// By a form the user agent posts.
    FormPost,
}

impl CheckedAuthorization {
    /// The provider's application: its slug and name.
    pub(crate) fn application(&self) -> Option<(String, String)> {
        self.resolved.application.as_ref().map(|a| (a.slug.clone(), a.name.clone()))
    }

    /// The provider's authorization flow.
    pub(crate) fn authorization_flow(&self) -> Option<Uuid> {
        self.resolved.provider.authorization_flow
    }

    /// The scopes granted.
    pub(crate) fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The provider's property mappings (their scope names and descriptions are the consent stage's
    /// permissions).
    pub(crate) fn property_mappings(&self) -> &[Uuid] {
        &self.resolved.provider.property_mappings
    }

    /// An `AuthorizeError` redirect back to the client.
    pub(crate) fn error(&self, error: &'static str) -> Authorization {
        let description = authorize_description(error).unwrap_or_default().to_owned();
        Authorization::Redirect(ClientRedirect::Error {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description,
            state: self.state.clone(),
        })
    }
}

/// The login an authorization code is issued for: when, how, and in which session.
#[derive(Debug, Clone, Default)]
pub(crate) struct Login {
    pub auth_time: Option<DateTime<Utc>>,
    pub amr: Vec<String>,
    pub session: Option<String>,
}

impl OAuth2<'_> {
    /// `authenticate_provider`: the provider whose client id and secret the request presents, if confidential.
    async fn authenticated_provider(
        &self,
        request: &ProviderRequest<'_>,
        client_id: Option<&str>,
        client_secret: Option<&Secret>,
    ) -> Result<Option<Resolved>, ProviderError> {
        let credentials = client_auth::extract(request.authorization, client_id, client_secret.map(Secret::expose));
        if credentials.is_empty() {
            return Ok(None);
        }
        let Some(resolved) = self.provider_by_client_id(&credentials.client_id).await? else { return Ok(None) };
        let o = &resolved.provider.oauth2;
        let valid =
            o.client_type == "confidential" && secret_matches(o.client_secret.expose(), &credentials.client_secret);
        Ok(valid.then_some(resolved))
    }

    /// The access or refresh token `raw` of the provider `pk` (access tokens first, as upstream looks).
    async fn provider_token(&self, raw: &str, pk: i64) -> Result<Option<OAuthToken>, ProviderError> {
        for kind in [OAuthKind::Access, OAuthKind::Refresh] {
            match self.store.oauth_token_by_token(kind, raw).await {
                Ok(token) if token.provider == pk => return Ok(Some(token)),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// `TokenIntrospectionView.post`: the token's claims with `active`, `scope` and `client_id`, or
    /// `{"active": false}` for anything not introspectable by this client.
    pub async fn introspect(
        &self,
        request: &ProviderRequest<'_>,
        token: Option<&Secret>,
        client_id: Option<&str>,
        client_secret: Option<&Secret>,
    ) -> Result<Introspection, ProviderError> {
        let Some(resolved) = self.authenticated_provider(request, client_id, client_secret).await? else {
            return Ok(Introspection::Inactive);
        };
        let raw = token.map(Secret::expose).unwrap_or_default();
        let Some(token) = self.provider_token(raw, resolved.provider.pk).await? else {
            return Ok(Introspection::Inactive);
        };
        let Some(claims) = token.id_token.as_object().filter(|c| !c.is_empty()) else {
            return Ok(Introspection::Inactive);
        };
        if token.is_expired(self.now) {
            return Ok(Introspection::Inactive);
        }
        let mut stored = Ordered::new();
        stored.extend(claims.iter().map(|(k, v)| (k.clone(), v.clone())));
        let client_id = &resolved.provider.oauth2.client_id;
        Ok(Introspection::Claims(introspection_claims(stored, !token.revoked, &token.scope, client_id)))
    }

    /// `TokenRevokeView.post`: a token of the client's provider is deleted; an unknown one is `{}` too; bad
    /// client authentication is 401 `invalid_client`.
    pub async fn revoke(
        &self,
        request: &ProviderRequest<'_>,
        token: Option<&Secret>,
        client_id: Option<&str>,
        client_secret: Option<&Secret>,
    ) -> Result<Revocation, ProviderError> {
        let Some(resolved) = self.authenticated_provider(request, client_id, client_secret).await? else {
            return Ok(Revocation::InvalidClient);
        };
        let raw = token.map(Secret::expose).unwrap_or_default();
        if let Some(token) = self.provider_token(raw, resolved.provider.pk).await? {
            match self.store.delete_oauth_token(token.kind, token.pk).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Revocation::Revoked)
    }

    /// `UserInfoView` behind `protected_resource_view(["openid"])`: `sub`, the token's scope claims and its nonce.
    pub async fn userinfo(&self, request: &ProviderRequest<'_>) -> Result<UserInfo, ProviderError> {
        let header = request.authorization.unwrap_or_default();
        let raw = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).unwrap_or_default().trim();
        if raw.is_empty() {
            return Ok(UserInfo::Refused(BearerError::InvalidToken));
        }
        let token = match self.store.oauth_token_by_token(OAuthKind::Access, raw).await {
            Ok(token) if !token.is_expired(self.now) && !token.revoked => token,
            Ok(_) | Err(StoreError::NotFound) => return Ok(UserInfo::Refused(BearerError::InvalidToken)),
            Err(e) => return Err(e.into()),
        };
        if !token.scope.iter().any(|s| s == SCOPE_OPENID) {
            return Ok(UserInfo::Refused(BearerError::InsufficientScope));
        }
        let (user, provider) = match (
            self.store.get::<AkUser>(Field::Pk, token.user).await,
            self.store.get::<AkProvider>(Field::Pk, token.provider).await,
        ) {
            (Ok(user), Ok(provider)) => (user, provider),
            (Err(StoreError::NotFound), _) | (_, Err(StoreError::NotFound)) => {
                return Ok(UserInfo::Refused(BearerError::InvalidToken));
            }
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
        let Ok(id_token) = serde_json::from_value::<IdToken>(token.id_token.clone()) else {
            return Ok(UserInfo::Refused(BearerError::InvalidToken));
        };
        let uid = user_uid(user.pk);
        let groups: Vec<String> = user.groups.iter().map(|g| g.name.clone()).collect();
        let (scope_names, custom) = crate::authentik::provider_mappings(self.store, &provider).await?;
        let custom = crate::authentik::custom_claims(&custom, &user);
        let claims = scope_claims(&claims_user(&user, &uid, &groups), &scope_names, &token.scope, &custom);
        Ok(UserInfo::Claims(userinfo_claims(&id_token, claims)))
    }

    /// `OAuthAuthorizationParams.from_request`'s checks: the request that passed them, or the answer refusing it.
    pub(crate) async fn check_authorization(
        &self,
        query: &AuthorizeQuery,
    ) -> Result<Result<CheckedAuthorization, Authorization>, ProviderError> {
        let client_id = query.client_id.as_deref().unwrap_or_default();
        let Some(mut resolved) = self.provider_by_client_id(client_id).await? else {
            return Ok(Err(Authorization::UnknownClient { client_id: client_id.to_owned() }));
        };
        let check = redirect::check_authorize(&resolved.redirect_uris(), query.redirect_uri.as_deref());
        if let Some(registered) = check.register {
            // Upstream saves the first redirect URI a provider without any is used with.
            resolved.provider.oauth2.redirect_uris = convert_redirect_uris(&registered);
            match self.store.replace(resolved.provider.clone()).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Err(error) = check.result {
            return Ok(Err(Authorization::BadRedirectUri(error)));
        }
        let redirect_uri = query.redirect_uri.clone().unwrap_or_default();
        let state = query.state.clone();
        let fail = |error: &'static str, description: Option<&str>| {
            let description = description.or_else(|| authorize_description(error)).unwrap_or_default().to_owned();
            let redirect_uri = redirect_uri.clone();
            Ok(Err(Authorization::Redirect(ClientRedirect::Error {
                redirect_uri,
                error,
                description,
                state: state.clone(),
            })))
        };
        if query.response_type.as_deref() != Some("code") {
            return fail("unsupported_response_type", None);
        }
        // `OAuthAuthorizationParams.check_grant`: the response type's grant must be one the provider allows.
        if !resolved.provider.oauth2.grant_types.iter().any(|g| g == "authorization_code") {
            return fail("invalid_request", None);
        }
        if resolved.application.is_none() {
            return fail("access_denied", None);
        }
        let challenge =
            match pkce::authorize_challenge(query.code_challenge.as_deref(), query.code_challenge_method.as_deref()) {
                Ok(challenge) => challenge,
                Err(description) => return fail("invalid_request", Some(&description)),
            };
        let scopes = resolved.allowed_scopes(query.scope.as_deref());
        let nonce = query.nonce.clone().filter(|n| !n.is_empty());
        // `check_grant`: a response mode outside `ResponseMode` is `query` for the code flow.
        let response_mode = match query.response_mode.as_deref() {
            Some("fragment") => ResponseMode::Fragment,
            Some("form_post") => ResponseMode::FormPost,
            _ => ResponseMode::Query,
        };
        let state = query.state.clone();
        Ok(Ok(CheckedAuthorization { resolved, redirect_uri, state, scopes, nonce, challenge, response_mode }))
    }

    /// `OAuthFulfillmentStage.create_response_uri`: a code for `user`, as a redirect to the client.
    pub(crate) async fn issue_code(
        &self,
        checked: CheckedAuthorization,
        user: &AkUser,
        login: Login,
    ) -> Result<Authorization, ProviderError> {
        let provider = &checked.resolved.provider;
        let lifetime = validity(&provider.oauth2.access_code_validity, chrono::TimeDelta::minutes(1));
        let code = AuthorizationCode {
            code: Secret::new(generate_authorization_code()),
            provider: provider.pk,
            user: user.pk,
            expires: self.now + lifetime,
            scope: checked.scopes,
            redirect_uri: checked.redirect_uri.clone(),
            nonce: checked.nonce,
            code_challenge: checked.challenge.as_ref().map(|(c, _)| c.clone()),
            code_challenge_method: checked.challenge.map(|(_, m)| m),
            auth_time: login.auth_time.unwrap_or(self.now),
            amr: login.amr,
            session: login.session,
        };
        let value = code.code.expose().to_owned();
        self.store.insert_authorization_code(code).await?;
        let (redirect_uri, state) = (checked.redirect_uri, checked.state);
        if checked.response_mode == ResponseMode::FormPost {
            let application = checked.resolved.application.map(|a| a.name).unwrap_or_default();
            let mut attrs = vec![("code", value)];
            attrs.extend(state.filter(|s| !s.is_empty()).map(|s| ("state", s)));
            let title = format!("Redirecting to {application}...");
            return Ok(Authorization::Post(AutoSubmit { url: redirect_uri, title, attrs }));
        }
        let fragment = checked.response_mode == ResponseMode::Fragment;
        Ok(Authorization::Redirect(ClientRedirect::Code { redirect_uri, code: value, state, fragment }))
    }

    /// The authorization endpoint's instant approval, without authentik's flow: for the user of the request's
    /// authentik API key, or `--authorize-as`; `None` when the request names neither (the flow decides then).
    pub async fn authorize_at_once(
        &self,
        request: &ProviderRequest<'_>,
        query: &AuthorizeQuery,
    ) -> Result<Option<Authorization>, ProviderError> {
        if request.authorization.is_none() && self.authorize_as.is_none() {
            return Ok(None);
        }
        let checked = match self.check_authorization(query).await? {
            Ok(checked) => checked,
            Err(answer) => return Ok(Some(answer)),
        };
        let Some(user) = self.authorizing_user(request).await? else {
            return Ok(Some(checked.error("login_required")));
        };
        Ok(Some(self.issue_code(checked, &user, Login::default()).await?))
    }

    /// The user an authorization is for: the request's authentik API key, else `--authorize-as`.
    async fn authorizing_user(&self, request: &ProviderRequest<'_>) -> Result<Option<AkUser>, ProviderError> {
        if request.authorization.is_some() {
            return match Authentik::new(self.store, self.now).authenticate(request.authorization).await {
                Ok(user) => Ok(Some(user)),
                Err(crate::authentik::AkError::Store(e)) => Err(e.into()),
                Err(_) => Ok(None),
            };
        }
        let Some(username) = self.authorize_as else { return Ok(None) };
        match self.store.get::<AkUser>(Field::Username, username).await {
            Ok(user) if user.is_active => Ok(Some(user)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `JWKSView.get`: the signing key of the application's provider, `{}` without one; `None` for an unknown
    /// slug.
    pub async fn jwks(&self, slug: &str) -> Result<Option<Jwks>, ProviderError> {
        Ok(self.provider_by_slug(slug).await?.map(|resolved| Jwks::new(resolved.key.as_deref())))
    }

    /// `ProviderInfoView.get`: the discovery document; `None` for an unknown slug.
    pub async fn openid_configuration(
        &self,
        request: &ProviderRequest<'_>,
        slug: &str,
    ) -> Result<Option<Document>, ProviderError> {
        let Some(resolved) = self.provider_by_slug(slug).await? else { return Ok(None) };
        let scope_names = resolved.scope_names();
        let claims = resolved.claims_provider(&scope_names);
        let document = openid_configuration(&DiscoveryInput {
            base_url: request.base_url,
            slug,
            issuer_mode: claims.issuer_mode,
            signing_alg: resolved.signer().algorithm(),
            scope_names: &scope_names,
        });
        Ok(Some(document))
    }

    /// urls.py `provider-root`: where the provider root redirects to, the application's discovery document.
    pub fn provider_root(slug: &str) -> String {
        format!("/application/o/{slug}/.well-known/openid-configuration")
    }
}
