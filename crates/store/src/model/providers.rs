//! authentik's OAuth2 providers (with their `OAuth2Provider` settings), applications, authorization codes and
//! signing key pairs, as stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::secrets::Secret;

impl AkProvider {
    /// A new provider with no flows, property mappings or application, and a fresh client id and secret (the
    /// model's `default=` generators run when a provider is created, never when one is read).
    pub fn new(pk: i64, name: impl Into<String>) -> Self {
        AkProvider {
            pk,
            name: name.into(),
            authentication_flow: None,
            authorization_flow: None,
            invalidation_flow: None,
            property_mappings: Vec::new(),
            assigned_application_slug: None,
            assigned_application_name: None,
            oauth2: OAuth2Settings::default(),
        }
        .with_credentials()
    }

    /// The provider with a generated client id and secret where it has none: how a seed's provider that leaves
    /// them out is created. Reading a stored provider never generates anything (every stored row has both).
    pub fn with_credentials(mut self) -> Self {
        if self.oauth2.client_id.is_empty() {
            self.oauth2.client_id = crate::secrets::generate_client_id();
        }
        if self.oauth2.client_secret.expose().is_empty() {
            self.oauth2.client_secret = Secret::new(crate::secrets::generate_client_secret());
        }
        self
    }
}

/// authentik `Provider` (the stored part; verbose names are the HTTP layer's concern). Read through
/// [`ProviderFields`], flat, so that an unknown key is an error even beside the flattened settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "ProviderFields")]
pub struct AkProvider {
    pub pk: i64,
    pub name: String,
    #[serde(default)]
    pub authentication_flow: Option<Uuid>,
    #[serde(default)]
    pub authorization_flow: Option<Uuid>,
    #[serde(default)]
    pub invalidation_flow: Option<Uuid>,
    #[serde(default)]
    pub property_mappings: Vec<Uuid>,
    #[serde(default)]
    pub assigned_application_slug: Option<String>,
    #[serde(default)]
    pub assigned_application_name: Option<String>,
    /// The `OAuth2Provider` settings (`authentik/providers/oauth2/models.py`); defaults as upstream's model.
    #[serde(flatten)]
    pub oauth2: OAuth2Settings,
}

/// The settings of an authentik `OAuth2Provider` beyond the base `Provider`, with the model's defaults. The
/// defaults are deterministic: the generated client id and secret are [`AkProvider::new`]'s and
/// [`AkProvider::with_credentials`]'s, so a stored provider read back never gets new ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth2Settings {
    /// `confidential` or `public`.
    pub client_type: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// `timedelta_string_validator` strings: `minutes=1`, `hours=1`, `days=30`, `seconds=0`.
    pub access_code_validity: String,
    pub access_token_validity: String,
    pub refresh_token_validity: String,
    pub refresh_token_threshold: String,
    pub include_claims_in_id_token: bool,
    pub signing_key: Option<Uuid>,
    pub encryption_key: Option<Uuid>,
    pub redirect_uris: Vec<RedirectUri>,
    pub logout_uri: String,
    pub logout_method: String,
    pub sub_mode: String,
    pub issuer_mode: String,
    pub grant_types: Vec<String>,
    pub jwt_federation_sources: Vec<Uuid>,
    pub jwt_federation_providers: Vec<i64>,
}

/// [`AkProvider`] as a seed or an export spells it: every key at one level, an unknown one refused where it
/// stands (serde cannot deny unknown keys beside a `flatten`), absent settings taking the model's defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFields {
    pk: i64,
    name: String,
    #[serde(default)]
    authentication_flow: Option<Uuid>,
    #[serde(default)]
    authorization_flow: Option<Uuid>,
    #[serde(default)]
    invalidation_flow: Option<Uuid>,
    #[serde(default)]
    property_mappings: Vec<Uuid>,
    #[serde(default)]
    assigned_application_slug: Option<String>,
    #[serde(default)]
    assigned_application_name: Option<String>,
    client_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    access_code_validity: Option<String>,
    access_token_validity: Option<String>,
    refresh_token_validity: Option<String>,
    refresh_token_threshold: Option<String>,
    include_claims_in_id_token: Option<bool>,
    #[serde(default)]
    signing_key: Option<Uuid>,
    #[serde(default)]
    encryption_key: Option<Uuid>,
    redirect_uris: Option<Vec<RedirectUri>>,
    logout_uri: Option<String>,
    logout_method: Option<String>,
    sub_mode: Option<String>,
    issuer_mode: Option<String>,
    grant_types: Option<Vec<String>>,
    jwt_federation_sources: Option<Vec<Uuid>>,
    jwt_federation_providers: Option<Vec<i64>>,
}

impl From<ProviderFields> for AkProvider {
    fn from(f: ProviderFields) -> Self {
        let d = OAuth2Settings::default();
        AkProvider {
            pk: f.pk,
            name: f.name,
            authentication_flow: f.authentication_flow,
            authorization_flow: f.authorization_flow,
            invalidation_flow: f.invalidation_flow,
            property_mappings: f.property_mappings,
            assigned_application_slug: f.assigned_application_slug,
            assigned_application_name: f.assigned_application_name,
            oauth2: OAuth2Settings {
                client_type: f.client_type.unwrap_or(d.client_type),
                client_id: f.client_id.unwrap_or(d.client_id),
                client_secret: f.client_secret.unwrap_or(d.client_secret),
                access_code_validity: f.access_code_validity.unwrap_or(d.access_code_validity),
                access_token_validity: f.access_token_validity.unwrap_or(d.access_token_validity),
                refresh_token_validity: f.refresh_token_validity.unwrap_or(d.refresh_token_validity),
                refresh_token_threshold: f.refresh_token_threshold.unwrap_or(d.refresh_token_threshold),
                include_claims_in_id_token: f.include_claims_in_id_token.unwrap_or(d.include_claims_in_id_token),
                signing_key: f.signing_key,
                encryption_key: f.encryption_key,
                redirect_uris: f.redirect_uris.unwrap_or(d.redirect_uris),
                logout_uri: f.logout_uri.unwrap_or(d.logout_uri),
                logout_method: f.logout_method.unwrap_or(d.logout_method),
                sub_mode: f.sub_mode.unwrap_or(d.sub_mode),
                issuer_mode: f.issuer_mode.unwrap_or(d.issuer_mode),
                grant_types: f.grant_types.unwrap_or(d.grant_types),
                jwt_federation_sources: f.jwt_federation_sources.unwrap_or(d.jwt_federation_sources),
                jwt_federation_providers: f.jwt_federation_providers.unwrap_or(d.jwt_federation_providers),
            },
        }
    }
}

/// The flow a provider without one shows as its `authorization_flow` (tokenstack models no flows; the official
/// clients require a uuid there): a fixed stand-in for authentik's `default-provider-authorization-implicit-consent`.
pub const DEFAULT_AUTHORIZATION_FLOW: Uuid = Uuid::from_u128(0x7f1a_0001_0000_4000_8000_0000_0000_0001);
/// Likewise for `invalidation_flow` (authentik's `default-provider-invalidation-flow`).
pub const DEFAULT_INVALIDATION_FLOW: Uuid = Uuid::from_u128(0x7f1a_0002_0000_4000_8000_0000_0000_0002);

/// The certificate-key pairs a fresh tokenstack creates (when the store has none): authentik's own
/// "authentik Self-signed Certificate" (RSA, RS256) and an ECDSA P-256 one (ES256), for providers' `signing_key`.
pub const RSA_KEY_PAIR: (Uuid, &str) =
    (Uuid::from_u128(0x7f1a_0003_0000_4000_8000_0000_0000_0003), "authentik Self-signed Certificate");
pub const EC_KEY_PAIR: (Uuid, &str) =
    (Uuid::from_u128(0x7f1a_0004_0000_4000_8000_0000_0000_0004), "tokenstack ES256 Certificate");

/// The pks of authentik's managed scope mappings in a fresh store, by the scope name each maps (the four OpenID
/// ones keep the uuids tokenstack used before mappings were stored): a provider whose `property_mappings` name
/// none of the stored mappings has the first four.
pub const SCOPE_MAPPINGS: [(Uuid, &str); 4] = [
    (Uuid::from_u128(0x7f1a_0010_0000_4000_8000_0000_0000_0001), "openid"),
    (Uuid::from_u128(0x7f1a_0010_0000_4000_8000_0000_0000_0002), "email"),
    (Uuid::from_u128(0x7f1a_0010_0000_4000_8000_0000_0000_0003), "profile"),
    (Uuid::from_u128(0x7f1a_0010_0000_4000_8000_0000_0000_0004), "offline_access"),
];

/// `OAuth2Provider.grant_types`' default: every grant the provider serves.
pub const DEFAULT_GRANT_TYPES: &[&str] =
    &["authorization_code", "refresh_token", "implicit", "client_credentials", "password"];

impl Default for OAuth2Settings {
    fn default() -> Self {
        OAuth2Settings {
            client_type: "confidential".into(),
            client_id: String::new(),
            client_secret: Secret::new(String::new()),
            access_code_validity: "minutes=1".into(),
            access_token_validity: "hours=1".into(),
            refresh_token_validity: "days=30".into(),
            refresh_token_threshold: "seconds=0".into(),
            include_claims_in_id_token: true,
            signing_key: None,
            encryption_key: None,
            redirect_uris: Vec::new(),
            logout_uri: String::new(),
            logout_method: "backchannel".into(),
            sub_mode: "hashed_user_id".into(),
            issuer_mode: "per_provider".into(),
            grant_types: DEFAULT_GRANT_TYPES.iter().map(|g| g.to_string()).collect(),
            jwt_federation_sources: Vec::new(),
            jwt_federation_providers: Vec::new(),
        }
    }
}

/// One `RedirectURI` of a provider: `strict` or `regex` matching, for `authorization` or `logout`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectUri {
    pub matching_mode: String,
    pub url: String,
    #[serde(default = "default_redirect_uri_type")]
    pub redirect_uri_type: String,
}

fn default_redirect_uri_type() -> String {
    "authorization".into()
}

/// An authentik `Application` (`authentik/core/models.py`), addressed by its unique slug.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkApplication {
    /// `pbm_uuid`, also the API's `pk`.
    #[serde(default = "Uuid::new_v4")]
    pub pk: Uuid,
    pub name: String,
    pub slug: String,
    /// The bound provider (one application per provider); `None` after the provider is deleted.
    #[serde(default)]
    pub provider: Option<i64>,
    #[serde(default)]
    pub backchannel_providers: Vec<i64>,
    #[serde(default)]
    pub open_in_new_tab: bool,
    #[serde(default)]
    pub meta_launch_url: String,
    #[serde(default)]
    pub meta_icon: String,
    #[serde(default)]
    pub meta_description: String,
    #[serde(default)]
    pub meta_publisher: String,
    #[serde(default = "default_policy_engine_mode")]
    pub policy_engine_mode: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub meta_hide: bool,
}

fn default_policy_engine_mode() -> String {
    "any".into()
}

impl AkApplication {
    /// An application named `name` at `slug`, bound to no provider.
    pub fn new(slug: impl Into<String>, name: impl Into<String>) -> Self {
        AkApplication {
            pk: Uuid::new_v4(),
            name: name.into(),
            slug: slug.into(),
            provider: None,
            backchannel_providers: Vec::new(),
            open_in_new_tab: false,
            meta_launch_url: String::new(),
            meta_icon: String::new(),
            meta_description: String::new(),
            meta_publisher: String::new(),
            policy_engine_mode: default_policy_engine_mode(),
            group: String::new(),
            meta_hide: false,
        }
    }
}

/// An authentik `AuthorizationCode` (`authentik/providers/oauth2/models.py`): one use, short-lived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    /// 32 hex characters; the lookup key (unique).
    pub code: Secret,
    pub provider: i64,
    pub user: i64,
    pub expires: DateTime<Utc>,
    #[serde(default)]
    pub scope: Vec<String>,
    pub redirect_uri: String,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub code_challenge: Option<String>,
    #[serde(default)]
    pub code_challenge_method: Option<String>,
    pub auth_time: DateTime<Utc>,
    /// How the user authenticated (the session's `amr`); empty for a code issued without a login.
    #[serde(default)]
    pub amr: Vec<String>,
    /// The hash of the session the code was issued in (the id token's `sid`).
    #[serde(default)]
    pub session: Option<String>,
}

/// An authentik `CertificateKeyPair` used as a provider's signing key: PEM private key and certificate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkKeyPair {
    pub pk: Uuid,
    /// Unique.
    pub name: String,
    /// The PEM private key (PKCS#8).
    pub key_data: Secret,
    /// The PEM certificate; may be empty.
    #[serde(default)]
    pub certificate_data: String,
}

/// An authentik `ScopeMapping` (`authentik/providers/oauth2/models.py`): the claims one scope adds, written as a
/// Python expression upstream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkScopeMapping {
    /// `pm_uuid`, the API's `pk`.
    pub pk: Uuid,
    /// Unique.
    pub name: String,
    /// The managed id (`goauthentik.io/providers/oauth2/scope-email`); unique when set.
    #[serde(default)]
    pub managed: Option<String>,
    pub scope_name: String,
    #[serde(default)]
    pub description: String,
    pub expression: String,
}
