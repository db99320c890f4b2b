//! `POST /application/o/token/` (views/token.py `TokenView`, `TokenParams`): client authentication, then the
//! `authorization_code`, `refresh_token`, `client_credentials`, `password` and device code grants (the last in
//! [`super::device`]), each minting store rows.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::outcome::{Refusal, TokenOutcome};
use super::{OAuth2, ProviderError, ProviderRequest, Resolved, claims_user, validity};
use crate::authentik::oidc::claims::SCOPE_OFFLINE_ACCESS;
use crate::authentik::oidc::client_auth::{self, b64decode_utf8_partition, secret_matches};
use crate::authentik::oidc::errors::TokenError;
use crate::authentik::oidc::id_token::{IdToken, IdTokenInput, left_half_hash};
use crate::authentik::oidc::json::Ordered;
use crate::authentik::oidc::validity::whole_seconds;
use crate::authentik::oidc::{pkce, redirect};
use crate::model::{AkUser, AkUserType, Intent, OAuthKind, OAuthToken, user_uid};
use crate::secrets::{Secret, generate_refresh_token, generate_token_uid};
use crate::store::{Field, StoreError};

/// The form fields the token endpoint reads (`TokenParams.parse`); absent fields are `None`.
#[derive(Debug, Clone, Default)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<Secret>,
    pub scope: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub client_assertion_type: Option<String>,
    pub device_code: Option<String>,
}

/// The grants this endpoint serves, as metrics label them; anything else is `other`.
pub const GRANTS: &[&str] =
    &["authorization_code", "refresh_token", "client_credentials", "password", super::device::GRANT_TYPE_DEVICE_CODE];

/// `USERNAME_MAX_LENGTH - 22`: how much of a provider's name the client-credentials service account keeps.
const GENERATED_NAME_CHARS: usize = 128;
/// `USER_ATTRIBUTE_GENERATED`.
const ATTRIBUTE_GENERATED: &str = "goauthentik.io/user/generated";

type Grant<T> = Result<Result<T, Refusal>, ProviderError>;

/// A refusal with its reason, as upstream words its log line where it writes one.
fn refuse<T>(error: TokenError, reason: impl Into<String>) -> Grant<T> {
    Ok(Err(Refusal { error, reason: reason.into() }))
}

/// What a grant authorized: whose token, with which scopes, since when, and the nonce to carry.
pub(super) struct Authorized {
    pub(super) user: AkUser,
    pub(super) scopes: Vec<String>,
    pub(super) auth_time: DateTime<Utc>,
    pub(super) nonce: Option<String>,
    /// Issue a refresh token (offline_access on a code or a device code; a rotation).
    pub(super) refresh: bool,
    /// The refresh token this exchange rotates out.
    pub(super) rotated: Option<OAuthToken>,
    /// The login's authentication methods and session hash (the id token's `amr` and `sid`).
    pub(super) amr: Vec<String>,
    pub(super) sid: Option<String>,
}

impl OAuth2<'_> {
    /// `TokenView.post`: the issued tokens or the refusal; also the grant's metrics label.
    pub async fn token(
        &self,
        request: &ProviderRequest<'_>,
        form: &TokenForm,
    ) -> Result<(TokenOutcome, &'static str), ProviderError> {
        let grant = form.grant_type.as_deref().unwrap_or_default();
        let label = GRANTS.iter().find(|g| **g == grant).copied().unwrap_or("other");
        let outcome = match self.token_grant(request, form, grant).await? {
            Ok(body) => TokenOutcome::Issued(body),
            Err(refusal) => TokenOutcome::Refused(refusal),
        };
        Ok((outcome, label))
    }

    async fn token_grant(&self, request: &ProviderRequest<'_>, form: &TokenForm, grant: &str) -> Grant<Ordered> {
        let secret = form.client_secret.as_ref().map(Secret::expose);
        let credentials = client_auth::extract(request.authorization, form.client_id.as_deref(), secret);
        let Some(resolved) = self.provider_by_client_id(&credentials.client_id).await? else {
            let client_id = &credentials.client_id;
            return refuse(
                TokenError::InvalidClient,
                format!("OAuth2Provider does not exist (client_id {client_id:?})"),
            );
        };
        let o = &resolved.provider.oauth2;
        let name = &resolved.provider.name;
        if !o.grant_types.iter().any(|g| g == grant) {
            return refuse(
                TokenError::InvalidGrant,
                format!("grant type {grant:?} is not in provider {name}'s grant_types"),
            );
        }
        let needs_secret = matches!(grant, "authorization_code" | "refresh_token");
        if needs_secret
            && o.client_type == "confidential"
            && !secret_matches(o.client_secret.expose(), &credentials.client_secret)
        {
            return refuse(TokenError::InvalidClient, format!("Invalid client secret (provider {name})"));
        }
        let scopes = resolved.allowed_scopes(form.scope.as_deref());
        let authorized = match grant {
            "authorization_code" => self.code_grant(&resolved, form).await?,
            "refresh_token" => self.refresh_grant(&resolved, form, scopes).await?,
            "client_credentials" | "password" => {
                self.client_credentials_grant(&resolved, form, &credentials.client_secret, scopes).await?
            }
            super::device::GRANT_TYPE_DEVICE_CODE => {
                self.device_code_grant(&resolved, form.device_code.as_deref()).await?
            }
            _ => refuse(TokenError::UnsupportedGrantType, format!("Invalid grant type {grant:?}"))?,
        };
        match authorized {
            Ok(authorized) => self.issue(request, &resolved, authorized).await.map(Ok),
            Err(error) => Ok(Err(error)),
        }
    }

    /// `__post_init_code`: the redirect URI, then the code (one use), its provider, expiry and PKCE.
    async fn code_grant(&self, resolved: &Resolved, form: &TokenForm) -> Grant<Authorized> {
        let raw = form.code.as_deref().unwrap_or_default();
        if raw.is_empty() {
            return refuse(TokenError::InvalidGrant, "Missing authorization code");
        }
        let redirect_uri = form.redirect_uri.as_deref().unwrap_or_default();
        match redirect::check_token(&resolved.redirect_uris(), redirect_uri) {
            Ok(()) => {}
            Err(redirect::TokenRedirectError::InvalidClient) => {
                let name = &resolved.provider.name;
                let reason = format!("Invalid redirect URI used by provider {name}: {redirect_uri:?}");
                return refuse(TokenError::InvalidClient, reason);
            }
            Err(redirect::TokenRedirectError::InvalidRequest) => {
                return refuse(TokenError::InvalidRequest, format!("forbidden redirect URI scheme: {redirect_uri:?}"));
            }
        }
        let code = match self.store.take_authorization_code(raw).await {
            Ok(code) => code,
            Err(StoreError::NotFound) => return refuse(TokenError::InvalidGrant, "Code does not exist"),
            Err(e) => return Err(e.into()),
        };
        if self.now > code.expires {
            return refuse(TokenError::InvalidGrant, "Code is expired");
        }
        let pkce = pkce::verify(
            code.code_challenge.as_deref(),
            code.code_challenge_method.as_deref(),
            form.code_verifier.as_deref(),
        );
        if code.provider != resolved.provider.pk || pkce.is_err() {
            // Upstream deletes a code only when it is exchanged: a refused exchange leaves it usable.
            match self.store.insert_authorization_code(code).await {
                Ok(()) | Err(StoreError::Duplicate { .. } | StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            return match pkce {
                Err(error) => refuse(TokenError::InvalidGrant, format!("PKCE: {error}")),
                Ok(()) => refuse(TokenError::InvalidGrant, "Invalid code: invalid client or code has expired"),
            };
        }
        let user = match self.store.get::<AkUser>(Field::Pk, code.user).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return refuse(TokenError::InvalidGrant, "the code's user no longer exists"),
            Err(e) => return Err(e.into()),
        };
        let refresh = code.scope.iter().any(|s| s == SCOPE_OFFLINE_ACCESS);
        Ok(Ok(Authorized {
            user,
            scopes: code.scope,
            auth_time: code.auth_time,
            nonce: code.nonce,
            refresh,
            rotated: None,
            amr: code.amr,
            sid: code.session,
        }))
    }

    /// `__post_init_refresh` and `create_refresh_response`: the token must be this provider's, unexpired and not
    /// revoked (reuse of a rotated one is `invalid_grant`); the scopes a subset of its own, with `offline_access`.
    async fn refresh_grant(&self, resolved: &Resolved, form: &TokenForm, scopes: Vec<String>) -> Grant<Authorized> {
        let raw = form.refresh_token.as_ref().map(Secret::expose).unwrap_or_default();
        if raw.is_empty() {
            return refuse(TokenError::InvalidGrant, "Missing refresh token");
        }
        let token = match self.store.oauth_token_by_token(OAuthKind::Refresh, raw).await {
            Ok(token) if token.provider == resolved.provider.pk => token,
            Ok(_) | Err(StoreError::NotFound) => {
                return refuse(TokenError::InvalidGrant, "Refresh token does not exist");
            }
            Err(e) => return Err(e.into()),
        };
        if token.is_expired(self.now) {
            return refuse(TokenError::InvalidGrant, "Refresh token is expired");
        }
        if token.revoked {
            return refuse(TokenError::InvalidGrant, "Refresh token is revoked");
        }
        let scopes = if scopes.is_empty() { token.scope.clone() } else { scopes };
        if scopes.iter().any(|s| !token.scope.contains(s)) || !scopes.iter().any(|s| s == SCOPE_OFFLINE_ACCESS) {
            let reason = "the requested scopes exceed the refresh token's, or lack offline_access";
            return refuse(TokenError::InvalidScope, reason);
        }
        let user = match self.store.get::<AkUser>(Field::Pk, token.user).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => {
                return refuse(TokenError::InvalidGrant, "the refresh token's user no longer exists");
            }
            Err(e) => return Err(e.into()),
        };
        let claim = |name: &str| token.id_token.get(name).cloned();
        let auth_time = claim("auth_time")
            .and_then(|t| t.as_i64())
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .unwrap_or(self.now);
        let nonce = claim("nonce").and_then(|n| n.as_str().map(str::to_owned));
        let amr = claim("amr").and_then(|a| serde_json::from_value(a).ok()).unwrap_or_default();
        let sid = claim("sid").and_then(|s| s.as_str().map(str::to_owned));
        let threshold = validity(&resolved.provider.oauth2.refresh_token_threshold, TimeDelta::zero());
        let rotate = threshold.is_zero() || token.expires.is_some_and(|e| e - self.now < threshold);
        Ok(Ok(Authorized {
            user,
            // The new tokens keep the refresh token's scopes, as upstream.
            scopes: token.scope.clone(),
            auth_time,
            nonce,
            refresh: rotate,
            rotated: rotate.then_some(token),
            amr,
            sid,
        }))
    }

    /// `__post_init_client_credentials`: a username with an app password, the provider's own secret (its
    /// service account), or a `client_secret` of base64 `username:app-password`. JWT client assertions
    /// (federation) are not modelled: `invalid_grant`.
    async fn client_credentials_grant(
        &self,
        resolved: &Resolved,
        form: &TokenForm,
        client_secret: &str,
        scopes: Vec<String>,
    ) -> Grant<Authorized> {
        if form.client_assertion_type.as_deref().is_some_and(|t| !t.is_empty()) {
            return refuse(TokenError::InvalidGrant, "client assertions (JWT federation) are not served by tokenstack");
        }
        let Some(application) = resolved.application.as_ref() else {
            let name = &resolved.provider.name;
            return refuse(TokenError::InvalidGrant, format!("provider {name} has no application"));
        };
        let user = match form.username.as_deref().filter(|u| !u.is_empty()) {
            Some(username) => {
                let password = form.password.as_ref().map(Secret::expose).unwrap_or_default();
                self.app_password_user(username, password).await?
            }
            None if client_secret == resolved.provider.oauth2.client_secret.expose() => {
                Some(self.client_credentials_user(resolved, application).await?)
            }
            None => match b64decode_utf8_partition(client_secret) {
                Some((username, password)) => self.app_password_user(&username, &password).await?,
                None => None,
            },
        };
        let Some(user) = user else {
            let reason = "no active user with an unexpired app password matching the given one";
            return refuse(TokenError::InvalidGrant, reason);
        };
        let (amr, sid) = (Vec::new(), None);
        Ok(Ok(Authorized { user, scopes, auth_time: self.now, nonce: None, refresh: false, rotated: None, amr, sid }))
    }

    /// `__post_init_client_credentials_creds`: an active user and an unexpired app-password token of theirs
    /// whose key is `password`.
    async fn app_password_user(&self, username: &str, password: &str) -> Result<Option<AkUser>, ProviderError> {
        let user = match self.store.get::<AkUser>(Field::Username, username).await {
            Ok(user) if user.is_active => user,
            Ok(_) | Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let token = match self.store.core_token_by_key(password).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let valid = token.intent == Intent::AppPassword && token.user == user.pk && !token.is_expired(self.now);
        Ok(valid.then_some(user))
    }

    /// `__post_init_client_credentials_generated`: `User.objects.update_or_create` of the provider's service
    /// account `ak-<provider name>-client_credentials`.
    async fn client_credentials_user(
        &self,
        resolved: &Resolved,
        application: &crate::model::AkApplication,
    ) -> Result<AkUser, ProviderError> {
        let name: String = resolved.provider.name.chars().take(GENERATED_NAME_CHARS).collect();
        let username = format!("ak-{name}-client_credentials");
        let update = |user: &mut AkUser| {
            user.last_login = Some(self.now);
            user.name = format!("Autogenerated user from application {} (client credentials)", application.name);
            user.path = format!("goauthentik.io/apps/{}", application.slug);
            user.user_type = AkUserType::ServiceAccount;
            user.attributes.insert(ATTRIBUTE_GENERATED.into(), Value::Bool(true));
        };
        loop {
            match self.store.get::<AkUser>(Field::Username, &username).await {
                Ok(mut user) => {
                    update(&mut user);
                    self.store.replace(user.clone()).await?;
                    return Ok(user);
                }
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            let mut user = AkUser::new(0, username.clone(), self.now);
            update(&mut user);
            match self.store.insert(user).await {
                Ok(user) => return Ok(user),
                // Another request created it first: look again.
                Err(StoreError::Duplicate { field: Field::Username }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `create_*_response`: the access token (and a refresh token when authorized), stored, as the body.
    async fn issue(
        &self,
        request: &ProviderRequest<'_>,
        resolved: &Resolved,
        a: Authorized,
    ) -> Result<Ordered, ProviderError> {
        let o = &resolved.provider.oauth2;
        let access_validity = validity(&o.access_token_validity, TimeDelta::hours(1));
        let (access, id_token) = self.mint(request, resolved, &a, OAuthKind::Access, access_validity, None).await?;
        let mut body = Ordered::new();
        body.insert("access_token", access.token.expose());
        body.insert("token_type", "Bearer");
        body.insert("scope", a.scopes.join(" "));
        body.insert("expires_in", whole_seconds(access_validity));
        body.insert("id_token", id_token.to_jwt(&resolved.signer())?);
        if a.refresh {
            let refresh_validity = validity(&o.refresh_token_validity, TimeDelta::days(30));
            let at_hash = left_half_hash(access.token.expose());
            let (refresh, _) =
                self.mint(request, resolved, &a, OAuthKind::Refresh, refresh_validity, Some(at_hash)).await?;
            if let Some(old) = &a.rotated {
                match self.store.revoke_oauth_token(OAuthKind::Refresh, old.pk).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            body.insert("refresh_token", refresh.token.expose());
        }
        Ok(body)
    }

    /// One stored token of `kind` with its id token (`IDToken.new`, the nonce and `at_hash` set after, as
    /// upstream); an access token's value is the signed JWT, a refresh token's 128 random characters.
    async fn mint(
        &self,
        request: &ProviderRequest<'_>,
        resolved: &Resolved,
        a: &Authorized,
        kind: OAuthKind,
        lifetime: TimeDelta,
        at_hash: Option<String>,
    ) -> Result<(OAuthToken, IdToken), ProviderError> {
        let expires = self.now + lifetime;
        let uid = user_uid(a.user.pk);
        let groups: Vec<String> = a.user.groups.iter().map(|g| g.name.clone()).collect();
        let scope_names = resolved.scope_names();
        let jti = generate_token_uid();
        let custom_claims = resolved.custom_claims(&a.user);
        let mut id_token = IdToken::new(&IdTokenInput {
            provider: resolved.claims_provider(&scope_names),
            user: claims_user(&a.user, &uid, &groups),
            scopes: &a.scopes,
            expires,
            auth_time: a.auth_time,
            now: self.now,
            base_url: request.base_url,
            jti: &jti,
            custom_claims: &custom_claims,
        });
        id_token.nonce = a.nonce.clone();
        id_token.at_hash = at_hash;
        id_token.amr = Some(a.amr.clone()).filter(|amr| !amr.is_empty());
        id_token.sid = a.sid.clone();
        let value = match kind {
            OAuthKind::Access => id_token.to_access_token(
                &resolved.signer(),
                &resolved.provider.oauth2.client_id,
                &generate_token_uid(),
                &a.scopes,
            )?,
            OAuthKind::Refresh => generate_refresh_token(),
        };
        let mut token = OAuthToken::new(kind, 0, resolved.provider.pk, a.user.pk, Secret::new(value));
        token.expires = Some(expires);
        token.scope = a.scopes.clone();
        token.id_token = id_token.to_dict().into_value();
        Ok((self.store.insert_oauth_token(token, true).await?, id_token))
    }
}
