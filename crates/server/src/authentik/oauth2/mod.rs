//! The rules of authentik's OAuth2/OpenID provider endpoints under `/application/o/` (authentik/providers/oauth2/
//! views/): [`token`] (the token endpoint's grants), [`device`] (the device authorization grant), [`endpoints`]
//! (introspection, revocation, userinfo, the non-interactive authorization, JWKS, discovery) and [`end_session`]
//! (the checks of RP-initiated logout). Each answers a domain value of [`outcome`] (issued tokens, claims, a
//! redirect back to the client, an error code), which `http/oauth2/` turns into the response authentik sends.
//! Tokens minted here are the store's OAuth2 token rows, so the management API lists, retrieves and deletes them.

mod device;
mod end_session;
mod endpoints;
mod key_pairs;
mod outcome;
mod token;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::oidc::claims::{ClaimsProvider, ClaimsUser, IssuerMode, SubMode};
use super::oidc::jose::{JoseError, Signer, SigningKey};
use super::oidc::validity::timedelta_from_string;
use crate::model::{AkApplication, AkKeyPair, AkProvider, AkUser};
use crate::store::{Field, Store, StoreError};

pub(crate) use device::{DEFAULT_DEVICE_RATE, DeviceAuthorization, DeviceThrottle, QS_KEY_CODE, Rate};
pub(crate) use end_session::{EndSessionParams, EndSessionRefusal};
pub(crate) use endpoints::{AuthorizeQuery, Login};
pub(crate) use key_pairs::{KeyPairsReady, spawn_key_pairs, stand_in_key_pairs};
pub(crate) use outcome::{
    Authorization, AutoSubmit, Introspection, MSG_NO_APPLICATION, Revocation, TokenOutcome, UserInfo,
};
pub(crate) use token::TokenForm;

/// What went wrong beneath a provider view: the store or signing, which the HTTP layer turns into a 500 with its
/// cause.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProviderError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing failed: {0}")]
    Jose(#[from] JoseError),
}

/// What a provider view reads from the request besides its form or query.
#[derive(Debug, Clone, Copy)]
pub struct ProviderRequest<'a> {
    /// `scheme://host[:port]` of the request (discovery's `base_url`).
    pub base_url: &'a str,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
}

/// Parsed signing keys by key-pair pk, so that a key's PEM is parsed once, not per token; and the stand-in key
/// pairs being made after start-up, which every lookup waits for.
#[derive(Default)]
pub struct Keyring {
    keys: RwLock<HashMap<Uuid, Arc<SigningKey>>>,
    ready: KeyPairsReady,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").finish_non_exhaustive()
    }
}

impl Keyring {
    /// A keyring whose lookups wait until `ready` (the stand-in key pairs are in the store).
    pub(crate) fn waiting_for(ready: KeyPairsReady) -> Keyring {
        Keyring { keys: RwLock::default(), ready }
    }

    /// Waits until the stand-in key pairs made after start-up are in the store (at once when none are being made).
    pub(crate) async fn ready(&self) {
        self.ready.wait().await;
    }

    /// The parsed key of the key pair `pk` (parsed again when its PEM changed, after a state load).
    async fn key(&self, store: &dyn Store, pk: Uuid) -> Result<Option<Arc<SigningKey>>, ProviderError> {
        self.ready.wait().await;
        let pair = match store.get::<AkKeyPair>(Field::Pk, pk).await {
            Ok(pair) => pair,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let cached = self.keys.read().unwrap_or_else(|e| e.into_inner()).get(&pk).cloned();
        if let Some(key) = cached.filter(|k| k.pem().expose() == pair.key_data.expose()) {
            return Ok(Some(key));
        }
        let certificate = Some(pair.certificate_data.as_str()).filter(|c| !c.is_empty());
        let key = Arc::new(SigningKey::from_pem(pair.key_data.expose(), certificate, &pair.name)?);
        self.keys.write().unwrap_or_else(|e| e.into_inner()).insert(pk, key.clone());
        Ok(Some(key))
    }
}

/// The provider rules over a store at one instant `now` (with the clock offset).
#[derive(Clone, Copy)]
pub struct OAuth2<'a> {
    pub store: &'a dyn Store,
    pub now: DateTime<Utc>,
    pub keyring: &'a Keyring,
    /// `--authorize-as`: the user the authorization endpoint authorizes when the request names none.
    pub authorize_as: Option<&'a str>,
}

/// A provider with what its views need resolved: its application and its signing key.
struct Resolved {
    provider: AkProvider,
    application: Option<AkApplication>,
    key: Option<Arc<SigningKey>>,
    /// The scopes of its mappings and its custom mappings (`scope_mappings::provider_mappings`).
    scope_names: Vec<String>,
    custom: Vec<crate::model::AkScopeMapping>,
}

impl Resolved {
    fn signer(&self) -> Signer<'_> {
        match &self.key {
            Some(key) => Signer::Key(key),
            None => Signer::ClientSecret(self.provider.oauth2.client_secret.expose()),
        }
    }

    /// The `scope_name`s of the provider's scope mappings.
    fn scope_names(&self) -> Vec<String> {
        self.scope_names.clone()
    }

    /// What its custom mappings return for `user`.
    fn custom_claims(&self, user: &AkUser) -> Vec<(String, serde_json::Map<String, Value>)> {
        crate::authentik::custom_claims(&self.custom, user)
    }

    /// `__check_scopes` (token.py) and the authorization's scopes: the requested ones, in order and once each,
    /// without those the provider has no mapping for (dropped silently, as upstream).
    fn allowed_scopes(&self, requested: Option<&str>) -> Vec<String> {
        let allowed = self.scope_names();
        let mut scopes: Vec<String> = Vec::new();
        for scope in requested.unwrap_or_default().split_whitespace() {
            if allowed.iter().any(|a| a == scope) && !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        scopes
    }

    /// The provider's redirect URIs as the matching rules read them.
    fn redirect_uris(&self) -> Vec<super::oidc::redirect::RedirectUri> {
        convert_redirect_uris(&self.provider.oauth2.redirect_uris)
    }

    fn claims_provider<'a>(&'a self, scope_names: &'a [String]) -> ClaimsProvider<'a> {
        let o = &self.provider.oauth2;
        ClaimsProvider {
            client_id: &o.client_id,
            sub_mode: parse_mode(&o.sub_mode).unwrap_or(SubMode::HashedUserId),
            issuer_mode: parse_mode(&o.issuer_mode).unwrap_or(IssuerMode::PerProvider),
            include_claims_in_id_token: o.include_claims_in_id_token,
            application_slug: self.application.as_ref().map(|a| a.slug.as_str()),
            scope_names,
        }
    }
}

/// A provider's redirect URIs between the stored form and the matching rules' (the same fields and serde names).
fn convert_redirect_uris<A: serde::Serialize, B: serde::de::DeserializeOwned>(uris: &[A]) -> Vec<B> {
    uris.iter().filter_map(|uri| serde_json::to_value(uri).ok().and_then(|v| serde_json::from_value(v).ok())).collect()
}

/// A model choice (`sub_mode`, `issuer_mode`) by its serde name.
fn parse_mode<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(Value::String(value.to_owned())).ok()
}

/// A provider's validity, or its model default when the stored text does not parse.
fn validity(value: &str, default: TimeDelta) -> TimeDelta {
    timedelta_from_string(value).unwrap_or(default)
}

/// The claims-relevant fields of a user.
fn claims_user<'a>(user: &'a AkUser, uid: &'a str, groups: &'a [String]) -> ClaimsUser<'a> {
    ClaimsUser {
        pk: user.pk,
        uid,
        uuid: user.uuid,
        username: &user.username,
        email: &user.email,
        name: &user.name,
        upn: user.attributes.get("upn"),
        groups,
    }
}

impl<'a> OAuth2<'a> {
    /// The provider with this `client_id`, resolved.
    async fn provider_by_client_id(&self, client_id: &str) -> Result<Option<Resolved>, ProviderError> {
        if client_id.is_empty() {
            return Ok(None);
        }
        let providers = self.store.all::<AkProvider>().await?;
        match providers.into_iter().find(|p| p.oauth2.client_id == client_id) {
            Some(provider) => self.resolve(provider).await.map(Some),
            None => Ok(None),
        }
    }

    /// The provider of the application `slug`, resolved; `None` for an unknown slug or one without provider.
    async fn provider_by_slug(&self, slug: &str) -> Result<Option<Resolved>, ProviderError> {
        let application = match self.store.get::<AkApplication>(Field::Slug, slug).await {
            Ok(application) => application,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(pk) = application.provider else { return Ok(None) };
        match self.store.get::<AkProvider>(Field::Pk, pk).await {
            Ok(provider) => self.resolve(provider).await.map(Some),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn resolve(&self, provider: AkProvider) -> Result<Resolved, ProviderError> {
        let application = match self.store.get::<AkApplication>(Field::Provider, provider.pk).await {
            Ok(application) => Some(application),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let key = match provider.oauth2.signing_key {
            Some(pk) => self.keyring.key(self.store, pk).await?,
            None => None,
        };
        let (scope_names, custom) = crate::authentik::provider_mappings(self.store, &provider).await?;
        Ok(Resolved { provider, application, key, scope_names, custom })
    }
}
