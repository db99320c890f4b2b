//! OAuth2 providers (`/providers/oauth2/`, `authentik/providers/oauth2/api/providers.py OAuth2ProviderViewSet`):
//! list with its filters, search over `name` and ordering by `name`, retrieve, create, update and destroy, with
//! `OAuth2ProviderSerializer`'s validation. Superusers only (authentik's model permissions; nobody else holds
//! them by default).

use super::oidc::validity;
use super::serializer::Body;
use super::validate::*;
use super::*;
use crate::model::{AkApplication, AkProvider, OAuth2Settings, RedirectUri};
use crate::store::Field;

const MSG_PROVIDER_NOT_FOUND: &str = "No OAuth2Provider matches the given query.";
/// Django's `unique=True` message of `OAuth2Provider.client_id`.
const MSG_CLIENT_ID_TAKEN: &str = "OAuth2/OpenID Provider with this Client ID already exists.";
const CLIENT_TYPES: &[&str] = &["confidential", "public"];
const SUB_MODES: &[&str] = &["hashed_user_id", "user_id", "user_uuid", "user_username", "user_email", "user_upn"];
const ISSUER_MODES: &[&str] = &["global", "per_provider"];
const MATCHING_MODES: &[&str] = &["strict", "regex"];
const REDIRECT_URI_TYPES: &[&str] = &["authorization", "logout"];
const LOGOUT_METHODS: &[&str] = &["backchannel", "frontchannel"];
const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "hybrid",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];
/// `client_id`, `client_secret`: `max_length=255`.
const CLIENT_FIELD_MAX_CHARS: usize = 255;

/// `OAuth2ProviderSetupURLs` (no dynamic client registration is modelled, so none for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupUrls {
    pub issuer: String,
    pub authorize: String,
    pub token: String,
    pub user_info: String,
    pub provider_info: String,
    pub logout: String,
    pub jwks: String,
}

/// Raw `GET /providers/oauth2/` query parameters (empty strings count as absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderListParams {
    pub name: Option<String>,
    pub client_id: Option<String>,
    pub client_type: Option<String>,
    pub sub_mode: Option<String>,
    pub issuer_mode: Option<String>,
    pub include_claims_in_id_token: Option<String>,
    pub access_code_validity: Option<String>,
    pub access_token_validity: Option<String>,
    pub refresh_token_validity: Option<String>,
    pub application: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

impl Authentik<'_> {
    /// `providers_oauth2_list`: exact filters, `?search=` over the name, `?ordering=` by `name` or `pk`
    /// (default `name`).
    pub async fn list_providers(
        &self,
        caller: &AkUser,
        params: ProviderListParams,
    ) -> Result<Page<AkProvider>, AkError> {
        require_provider_admin(caller)?;
        let mut errors = BTreeMap::new();
        let choice =
            |errors: &mut BTreeMap<String, Vec<String>>, field: &str, value: Option<String>, choices: &[&str]| {
                let value = non_empty(value)?;
                if choices.contains(&value.as_str()) {
                    Some(value)
                } else {
                    add_error(
                        errors,
                        field,
                        format!("Select a valid choice. {value} is not one of the available choices."),
                    );
                    None
                }
            };
        let client_type = choice(&mut errors, "client_type", params.client_type, CLIENT_TYPES);
        let sub_mode = choice(&mut errors, "sub_mode", params.sub_mode, SUB_MODES);
        let issuer_mode = choice(&mut errors, "issuer_mode", params.issuer_mode, ISSUER_MODES);
        let include_claims = non_empty(params.include_claims_in_id_token).and_then(|v| parse_null_boolean(&v));
        let application = match non_empty(params.application) {
            None => None,
            Some(v) => match Uuid::parse_str(v.trim()) {
                Ok(pk) => Some(pk),
                Err(_) => {
                    add_error(&mut errors, "application", MSG_BAD_FK_CHOICE);
                    None
                }
            },
        };
        let search = search_filter(&mut errors, params.search).map(|s| s.to_lowercase());
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let application_provider = match application {
            None => None,
            Some(pk) => {
                let bound = self.store.all::<AkApplication>().await?.into_iter().find(|a| a.pk == pk);
                match bound {
                    Some(app) => Some(app.provider),
                    None => return Err(AkError::field("application", MSG_BAD_FK_CHOICE)),
                }
            }
        };
        let name = non_empty(params.name);
        let client_id = non_empty(params.client_id);
        let validities = [
            non_empty(params.access_code_validity),
            non_empty(params.access_token_validity),
            non_empty(params.refresh_token_validity),
        ];
        let mut providers: Vec<AkProvider> = self
            .store
            .all::<AkProvider>()
            .await?
            .into_iter()
            .filter(|p| {
                let o = &p.oauth2;
                name.as_ref().is_none_or(|n| &p.name == n)
                    && client_id.as_ref().is_none_or(|c| &o.client_id == c)
                    && client_type.as_ref().is_none_or(|c| &o.client_type == c)
                    && sub_mode.as_ref().is_none_or(|s| &o.sub_mode == s)
                    && issuer_mode.as_ref().is_none_or(|s| &o.issuer_mode == s)
                    && include_claims.is_none_or(|b| o.include_claims_in_id_token == b)
                    && validities[0].as_ref().is_none_or(|v| &o.access_code_validity == v)
                    && validities[1].as_ref().is_none_or(|v| &o.access_token_validity == v)
                    && validities[2].as_ref().is_none_or(|v| &o.refresh_token_validity == v)
                    && application_provider.is_none_or(|bound| bound == Some(p.pk))
                    && search.as_ref().is_none_or(|s| p.name.to_lowercase().contains(s))
            })
            .collect();
        let ordering = params.ordering.unwrap_or_default();
        let mut keys: Vec<(&str, bool)> = ordering
            .split(',')
            .map(str::trim)
            .filter_map(|term| {
                let (field, descending) = term.strip_prefix('-').map_or((term, false), |f| (f, true));
                matches!(field, "name" | "pk" | "client_id").then_some((field, descending))
            })
            .collect();
        if keys.is_empty() {
            keys.push(("name", false));
        }
        providers.sort_by(|a, b| {
            keys.iter()
                .map(|(field, descending)| {
                    let order = match *field {
                        "pk" => a.pk.cmp(&b.pk),
                        "client_id" => a.oauth2.client_id.cmp(&b.oauth2.client_id),
                        _ => a.name.cmp(&b.name),
                    };
                    if *descending { order.reverse() } else { order }
                })
                .find(|o| o.is_ne())
                .unwrap_or(a.pk.cmp(&b.pk))
        });
        Page::build(page, page.slice(providers)).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `providers_oauth2_retrieve`.
    pub async fn get_provider(&self, caller: &AkUser, pk: i64) -> Result<AkProvider, AkError> {
        require_provider_admin(caller)?;
        self.existing_provider(pk).await
    }

    /// `providers_oauth2_create`: the store gives it a new pk after the highest one.
    pub async fn create_provider(&self, caller: &AkUser, body: &Value) -> Result<AkProvider, AkError> {
        require_provider_admin(caller)?;
        let mut provider = AkProvider::new(0, String::new());
        self.parse_provider(body, &mut provider, None, false).await?;
        Ok(self.store.insert(provider).await?)
    }

    /// `providers_oauth2_update` (PUT: every required field again; omitted optional fields keep their values,
    /// as DRF's `ModelSerializer.update`) and `providers_oauth2_partial_update` (`partial`: nothing required).
    pub async fn update_provider(
        &self,
        caller: &AkUser,
        pk: i64,
        body: &Value,
        partial: bool,
    ) -> Result<AkProvider, AkError> {
        require_provider_admin(caller)?;
        let mut provider = self.existing_provider(pk).await?;
        self.parse_provider(body, &mut provider, Some(pk), partial).await?;
        match self.store.replace(provider.clone()).await {
            Ok(()) => Ok(provider),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_PROVIDER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `providers_oauth2_setup_urls_retrieve`: the provider's endpoints under `base_url` (the request's
    /// `scheme://host`), which name its application; 404 without one.
    pub async fn setup_urls(&self, caller: &AkUser, pk: i64, base_url: &str) -> Result<SetupUrls, AkError> {
        require_provider_admin(caller)?;
        let provider = self.existing_provider(pk).await?;
        let Some(slug) = provider.assigned_application_slug.as_deref() else {
            return Err(AkError::not_found("Provider has no application assigned"));
        };
        let root = format!("{base_url}/application/o");
        let issuer = match provider.oauth2.issuer_mode.as_str() {
            "global" => format!("{base_url}/"),
            _ => format!("{root}/{slug}/"),
        };
        Ok(SetupUrls {
            issuer,
            authorize: format!("{root}/authorize/"),
            token: format!("{root}/token/"),
            user_info: format!("{root}/userinfo/"),
            provider_info: format!("{root}/{slug}/.well-known/openid-configuration"),
            logout: format!("{root}/{slug}/end-session/"),
            jwks: format!("{root}/{slug}/jwks/"),
        })
    }

    /// `providers_oauth2_destroy`: its tokens go with it, its application stays without a provider.
    pub async fn delete_provider(&self, caller: &AkUser, pk: i64) -> Result<(), AkError> {
        require_provider_admin(caller)?;
        match self.store.delete::<AkProvider>(pk).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_PROVIDER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// The provider with its `assigned_application_*` fields read from the application bound to it.
    pub async fn with_application(&self, mut provider: AkProvider) -> Result<AkProvider, AkError> {
        match self.store.get::<AkApplication>(Field::Provider, provider.pk).await {
            Ok(app) => {
                provider.assigned_application_slug = Some(app.slug);
                provider.assigned_application_name = Some(app.name);
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(provider)
    }

    async fn existing_provider(&self, pk: i64) -> Result<AkProvider, AkError> {
        match self.store.get::<AkProvider>(Field::Pk, pk).await {
            Ok(p) => self.with_application(p).await,
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_PROVIDER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `OAuth2ProviderSerializer` over `body`, applied to `provider`; `own` is the pk being updated (its own
    /// `client_id` is no clash); `partial`: a PATCH, where no field is required.
    async fn parse_provider(
        &self,
        body: &Value,
        provider: &mut AkProvider,
        own: Option<i64>,
        partial: bool,
    ) -> Result<(), AkError> {
        let mut parsed = Body::new(body)?;
        let name = parsed.string("name", false);
        let authentication_flow = parsed.uuid("authentication_flow", true);
        let authentication_flow_given = body.get("authentication_flow").is_some();
        let authorization_flow = parsed.uuid("authorization_flow", false);
        let invalidation_flow = parsed.uuid("invalidation_flow", false);
        let property_mappings = parsed.uuid_list("property_mappings");
        let client_type = parsed.choice("client_type", CLIENT_TYPES);
        let grant_types = parsed.choice_list("grant_types", GRANT_TYPES);
        let client_id = parsed.string("client_id", false);
        let client_secret = parsed.string("client_secret", false);
        let validities =
            ["access_code_validity", "access_token_validity", "refresh_token_validity", "refresh_token_threshold"]
                .map(|field| (field, parsed.string(field, false)));
        let include_claims = parsed.boolean("include_claims_in_id_token");
        let signing_key = parsed.uuid("signing_key", true);
        let signing_key_given = body.get("signing_key").is_some();
        let encryption_key = parsed.uuid("encryption_key", true);
        let encryption_key_given = body.get("encryption_key").is_some();
        let redirect_uris = parsed.list("redirect_uris").cloned();
        let logout_uri = parsed.string("logout_uri", false);
        let logout_method = parsed.choice("logout_method", LOGOUT_METHODS);
        let sub_mode = parsed.choice("sub_mode", SUB_MODES);
        let issuer_mode = parsed.choice("issuer_mode", ISSUER_MODES);
        let federation_sources = parsed.uuid_list("jwt_federation_sources");
        let federation_providers = parsed.pk_list("jwt_federation_providers");
        let mut errors = parsed.finish();
        for (field, value) in [("name", &name), ("authorization_flow", &None), ("invalidation_flow", &None)] {
            if !partial && body.get(field).is_none() && !errors.contains_key(field) {
                add_error(&mut errors, field, MSG_REQUIRED);
            } else if field == "name" && value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                add_error(&mut errors, field, MSG_BLANK);
            }
        }
        let flows = [
            ("authentication_flow", authentication_flow),
            ("authorization_flow", authorization_flow),
            ("invalidation_flow", invalidation_flow),
        ];
        for (field, pk) in flows {
            if let Some(pk) = pk
                && super::flow_by_pk(pk).is_none()
                && !errors.contains_key(field)
            {
                add_error(&mut errors, field, does_not_exist(body, field));
            }
        }
        for pk in property_mappings.iter().flatten() {
            if !errors.contains_key("property_mappings") && !self.scope_mapping_exists(*pk).await? {
                add_error(&mut errors, "property_mappings", format!("Invalid pk \"{pk}\" - object does not exist."));
            }
        }
        for (field, pk) in [("signing_key", signing_key), ("encryption_key", encryption_key)] {
            if let Some(pk) = pk
                && !errors.contains_key(field)
                && !self.key_pair_exists(pk).await?
            {
                add_error(&mut errors, field, does_not_exist(body, field));
            }
        }
        let redirect_uris = match redirect_uris {
            None if !partial && body.get("redirect_uris").is_none() => {
                add_error(&mut errors, "redirect_uris", MSG_REQUIRED);
                None
            }
            None => None,
            Some(items) => Some(parse_redirect_uris(&items, &mut errors)),
        };
        if let Some(id) = &client_id {
            if id.trim().is_empty() {
                add_error(&mut errors, "client_id", MSG_BLANK);
            } else if id.chars().count() > CLIENT_FIELD_MAX_CHARS {
                add_error(&mut errors, "client_id", MSG_IDENTIFIER_LENGTH);
            } else {
                let taken = self
                    .store
                    .all::<AkProvider>()
                    .await?
                    .iter()
                    .any(|p| p.oauth2.client_id == *id && Some(p.pk) != own);
                if taken {
                    add_error(&mut errors, "client_id", MSG_CLIENT_ID_TAKEN);
                }
            }
        }
        if client_secret.as_ref().is_some_and(|s| s.chars().count() > CLIENT_FIELD_MAX_CHARS) {
            add_error(&mut errors, "client_secret", MSG_IDENTIFIER_LENGTH);
        }
        for (field, value) in &validities {
            match value {
                Some(v) if v.trim().is_empty() => add_error(&mut errors, field, MSG_BLANK),
                Some(v) => {
                    if let Err(message) = validity::validate(v) {
                        add_error(&mut errors, field, message);
                    }
                }
                _ => {}
            }
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let o: &mut OAuth2Settings = &mut provider.oauth2;
        if let Some(name) = name {
            provider.name = name.trim().to_owned();
        }
        if authentication_flow_given {
            provider.authentication_flow = authentication_flow;
        }
        provider.authorization_flow = authorization_flow.or(provider.authorization_flow);
        provider.invalidation_flow = invalidation_flow.or(provider.invalidation_flow);
        if let Some(mappings) = property_mappings {
            provider.property_mappings = mappings;
        }
        set(&mut o.client_type, client_type);
        set(&mut o.grant_types, grant_types);
        set(&mut o.client_id, client_id);
        if let Some(secret) = client_secret {
            o.client_secret = Secret::new(secret);
        }
        for (field, value) in validities {
            let slot = match field {
                "access_code_validity" => &mut o.access_code_validity,
                "access_token_validity" => &mut o.access_token_validity,
                "refresh_token_validity" => &mut o.refresh_token_validity,
                _ => &mut o.refresh_token_threshold,
            };
            set(slot, value);
        }
        set(&mut o.include_claims_in_id_token, include_claims);
        if signing_key_given {
            o.signing_key = signing_key;
        }
        if encryption_key_given {
            o.encryption_key = encryption_key;
        }
        set(&mut o.redirect_uris, redirect_uris);
        set(&mut o.logout_uri, logout_uri);
        set(&mut o.logout_method, logout_method);
        set(&mut o.sub_mode, sub_mode);
        set(&mut o.issuer_mode, issuer_mode);
        set(&mut o.jwt_federation_sources, federation_sources);
        set(&mut o.jwt_federation_providers, federation_providers);
        Ok(())
    }
}

/// DRF's `PrimaryKeyRelatedField` message for a well-formed pk that names no row, with the value as sent.
fn does_not_exist(body: &Value, field: &str) -> String {
    let raw = match body.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    format!("Invalid pk \"{raw}\" - object does not exist.")
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// `RedirectURISerializer(many=True)` and the provider serializer's check that every `regex` URL compiles
/// (`Invalid Regex Pattern: …`).
fn parse_redirect_uris(items: &[Value], errors: &mut BTreeMap<String, Vec<String>>) -> Vec<RedirectUri> {
    let mut uris = Vec::new();
    for item in items {
        let mut parsed = match Body::new(item) {
            Ok(parsed) => parsed,
            Err(_) => {
                add_error(errors, "redirect_uris", "Invalid data. Expected a dictionary, but got a non-object value.");
                continue;
            }
        };
        let matching_mode = parsed.choice("matching_mode", MATCHING_MODES);
        let url = parsed.string("url", false);
        let redirect_uri_type = parsed.choice("redirect_uri_type", REDIRECT_URI_TYPES);
        let mut item_errors = parsed.finish();
        for field in ["matching_mode", "url"] {
            if item.get(field).is_none() {
                add_error(&mut item_errors, field, MSG_REQUIRED);
            }
        }
        if let (Some(mode), Some(url)) = (&matching_mode, &url)
            && mode == "regex"
            && regex::Regex::new(url).is_err()
        {
            add_error(&mut item_errors, "url", format!("Invalid Regex Pattern: {url}"));
        }
        for (field, messages) in item_errors {
            for message in messages {
                add_error(errors, "redirect_uris", format!("{field}: {message}"));
            }
        }
        if let (Some(matching_mode), Some(url)) = (matching_mode, url) {
            let redirect_uri_type = redirect_uri_type.unwrap_or_else(|| "authorization".into());
            uris.push(RedirectUri { matching_mode, url, redirect_uri_type });
        }
    }
    uris
}

/// authentik's `view_oauth2provider` and friends; only superusers hold them by default.
fn require_provider_admin(caller: &AkUser) -> Result<(), AkError> {
    if caller.is_effective_superuser() { Ok(()) } else { Err(AkError::forbidden(MSG_NO_PERMISSION)) }
}
