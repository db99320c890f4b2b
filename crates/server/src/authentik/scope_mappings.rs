//! Scope mappings (`/propertymappings/provider/scope/`, `authentik/providers/oauth2/api/scopes.py
//! ScopeMappingViewSet`, and `/propertymappings/all/`): authentik's managed mappings of a fresh install
//! (`blueprints/system/providers-oauth2.yaml`), custom ones created, updated and deleted, and the scopes a
//! provider serves: those of the mappings its `property_mappings` name. Superusers only (model permissions).
//!
//! The claims of the managed scopes (`openid`, `email`, `profile`, `offline_access`) are upstream's, computed
//! by `oidc::claims`; a custom mapping's expression is evaluated by `oidc::expression`, a subset of Python that
//! covers what setups write, and one outside it adds no claims (docs/divergences.md).

use serde_json::Map;

use super::oidc::expression::{ExpressionUser, evaluate};
use super::serializer::Body;
use super::validate::*;
use super::*;
use crate::model::{AkProvider, AkScopeMapping, SCOPE_MAPPINGS};
use crate::store::Field;

const MSG_MAPPING_NOT_FOUND: &str = "No ScopeMapping matches the given query.";
/// Django's `unique=True` messages of `PropertyMapping.name` and `ManagedModel.managed`.
const MSG_NAME_TAKEN: &str = "Property Mapping with this name already exists.";
const MSG_MANAGED_TAKEN: &str = "Property Mapping with this Managed by authentik already exists.";

/// A managed mapping of a fresh install: pk, managed id, name, scope name, description, expression.
type Managed = (Uuid, &'static str, &'static str, &'static str, &'static str, &'static str);

/// `blueprints/system/providers-oauth2.yaml`: the scope mappings every authentik holds.
const MANAGED: [Managed; 6] = [
    (
        SCOPE_MAPPINGS[0].0,
        "goauthentik.io/providers/oauth2/scope-openid",
        "authentik default OAuth Mapping: OpenID 'openid'",
        "openid",
        "",
        "# This scope is required by the OpenID-spec, and must as such exist in authentik.\n# The scope by itself does not grant any information\nreturn {}\n",
    ),
    (
        SCOPE_MAPPINGS[1].0,
        "goauthentik.io/providers/oauth2/scope-email",
        "authentik default OAuth Mapping: OpenID 'email'",
        "email",
        "Email address",
        "return {\n    \"email\": request.user.email,\n    \"email_verified\": False\n}\n",
    ),
    (
        SCOPE_MAPPINGS[2].0,
        "goauthentik.io/providers/oauth2/scope-profile",
        "authentik default OAuth Mapping: OpenID 'profile'",
        "profile",
        "General Profile Information",
        "return {\n    # Because authentik only saves the user's full name, and has no concept of first and last names,\n    # the full name is used as given name.\n    # You can override this behaviour in custom mappings, i.e. `request.user.name.split(\" \")`\n    \"name\": request.user.name,\n    \"given_name\": request.user.name,\n    \"preferred_username\": request.user.username,\n    \"nickname\": request.user.username,\n    \"groups\": [group.name for group in request.user.ak_groups.all()],\n}\n",
    ),
    (
        Uuid::from_u128(0x7f1a_0010_0000_4000_8000_0000_0000_0005),
        "goauthentik.io/providers/oauth2/scope-entitlements",
        "authentik default OAuth Mapping: Application Entitlements",
        "entitlements",
        "Application entitlements",
        "entitlements = [entitlement.name for entitlement in request.user.app_entitlements(provider.application)]\nreturn {\n    \"entitlements\": entitlements,\n    \"roles\": entitlements,\n}\n",
    ),
    (
        SCOPE_MAPPINGS[3].0,
        "goauthentik.io/providers/oauth2/scope-offline_access",
        "authentik default OAuth Mapping: OpenID 'offline_access'",
        "offline_access",
        "Access to request new tokens without interaction",
        "# This scope grants the application a refresh token that can be used to refresh user data\n# and let the application access authentik without the users interaction\nreturn {}\n",
    ),
    (
        Uuid::from_u128(0x7f1a_0010_0000_4000_8000_0000_0000_0006),
        "goauthentik.io/providers/oauth2/scope-authentik_api",
        "authentik default OAuth Mapping: authentik API access",
        "goauthentik.io/api",
        "authentik API Access on behalf of your user",
        "# This scope grants the application the ability to access the authentik API\n# on behalf of the authorizing user\nreturn {}\n",
    ),
];

/// The managed scope mappings of a fresh authentik install.
pub fn managed_scope_mappings() -> Vec<AkScopeMapping> {
    MANAGED
        .iter()
        .map(|(pk, managed, name, scope_name, description, expression)| AkScopeMapping {
            pk: *pk,
            name: (*name).to_owned(),
            managed: Some((*managed).to_owned()),
            scope_name: (*scope_name).to_owned(),
            description: (*description).to_owned(),
            expression: (*expression).to_owned(),
        })
        .collect()
}

/// `mappings` with every managed mapping they lack (by managed id) added, as authentik's system blueprint
/// applies them to every install: what a seed or a loaded state gets.
pub fn with_managed_scope_mappings(mut mappings: Vec<AkScopeMapping>) -> Vec<AkScopeMapping> {
    for mapping in managed_scope_mappings() {
        let present =
            mappings.iter().any(|m| m.managed == mapping.managed || m.pk == mapping.pk || m.name == mapping.name);
        if !present {
            mappings.push(mapping);
        }
    }
    mappings
}

/// Creates the managed mappings a store lacks (a store written before mappings were stored has none).
pub async fn ensure_scope_mappings(store: &dyn Store) -> Result<(), StoreError> {
    let existing = store.all::<AkScopeMapping>().await?;
    for mapping in with_managed_scope_mappings(existing.clone()).into_iter().skip(existing.len()) {
        match store.insert(mapping).await {
            // Another replica created it first.
            Ok(_) | Err(StoreError::Duplicate { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The scope names a provider serves, and its custom mappings (those without a managed id, whose expressions
/// `oidc::expression` evaluates): the stored mappings its `property_mappings` name, in that order; a provider
/// that names none (a seed's, or one stored before mappings were) has the four OpenID scopes.
pub async fn provider_mappings(
    store: &dyn Store,
    provider: &AkProvider,
) -> Result<(Vec<String>, Vec<AkScopeMapping>), StoreError> {
    let (mut names, mut custom): (Vec<String>, Vec<AkScopeMapping>) = (Vec::new(), Vec::new());
    for pk in &provider.property_mappings {
        match store.get::<AkScopeMapping>(Field::Pk, *pk).await {
            Ok(mapping) => {
                if !names.contains(&mapping.scope_name) {
                    names.push(mapping.scope_name.clone());
                }
                if mapping.managed.is_none() {
                    custom.push(mapping);
                }
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    if names.is_empty() {
        names = SCOPE_MAPPINGS.iter().map(|(_, name)| (*name).to_owned()).collect();
    }
    Ok((names, custom))
}

/// What each custom mapping's expression returns for `user`, by scope name; an expression outside the subset
/// returns nothing (its warning is logged when the mapping is created or updated).
pub fn custom_claims(mappings: &[AkScopeMapping], user: &AkUser) -> Vec<(String, Map<String, Value>)> {
    let uid = crate::model::user_uid(user.pk);
    let attributes = Value::Object(user.attributes.clone());
    let groups: Vec<(String, Value)> =
        user.groups.iter().map(|g| (g.name.clone(), Value::Object(g.attributes.clone()))).collect();
    let subject = ExpressionUser {
        pk: user.pk,
        uid: &uid,
        username: &user.username,
        name: &user.name,
        email: &user.email,
        is_active: user.is_active,
        attributes: &attributes,
        groups: &groups,
    };
    mappings
        .iter()
        .filter_map(|m| evaluate(&m.expression, &subject).ok().map(|claims| (m.scope_name.clone(), claims)))
        .collect()
}

/// Why a custom mapping's expression adds no claims (it is outside `oidc::expression`'s subset), for the
/// warning logged when it is stored; `None` for a managed mapping or an expression the subset evaluates.
pub fn expression_problem(mapping: &AkScopeMapping) -> Option<String> {
    if mapping.managed.is_some() {
        return None;
    }
    let (attributes, groups) = (Value::Object(Map::new()), Vec::new());
    let probe = ExpressionUser {
        pk: 1,
        uid: "",
        username: "",
        name: "",
        email: "",
        is_active: true,
        attributes: &attributes,
        groups: &groups,
    };
    evaluate(&mapping.expression, &probe).err().map(|e| e.to_string())
}

/// Raw `GET /propertymappings/provider/scope/` and `/propertymappings/all/` query parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeMappingListParams {
    pub managed: Option<String>,
    pub managed_isnull: Option<String>,
    pub name: Option<String>,
    pub scope_name: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

impl Authentik<'_> {
    /// `propertymappings_provider_scope_list` (and `propertymappings_all_list`, whose rows are the same here):
    /// exact `managed`, `name` and `scope_name`, `managed__isnull`, search over the name, ordering by name (the
    /// default), scope name or pk.
    pub async fn list_scope_mappings(
        &self,
        caller: &AkUser,
        params: ScopeMappingListParams,
    ) -> Result<Page<AkScopeMapping>, AkError> {
        require_mapping_admin(caller)?;
        let mut errors = BTreeMap::new();
        let managed = text_filter(&mut errors, "managed", params.managed);
        let managed_isnull = non_empty(params.managed_isnull).and_then(|v| parse_null_boolean(&v));
        let name = text_filter(&mut errors, "name", params.name);
        let scope_name = text_filter(&mut errors, "scope_name", params.scope_name);
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let terms = crate::store::query::search_terms(search.as_deref());
        let mut mappings: Vec<AkScopeMapping> = self
            .store
            .all::<AkScopeMapping>()
            .await?
            .into_iter()
            .filter(|m| {
                managed.as_ref().is_none_or(|v| m.managed.as_ref() == Some(v))
                    && managed_isnull.is_none_or(|null| m.managed.is_none() == null)
                    && name.as_ref().is_none_or(|v| &m.name == v)
                    && scope_name.as_ref().is_none_or(|v| &m.scope_name == v)
                    && terms.iter().all(|term| m.name.to_lowercase().contains(term))
            })
            .collect();
        let ordering = params.ordering.unwrap_or_default();
        let (field, descending) = ordering
            .split(',')
            .map(str::trim)
            .map(|term| term.strip_prefix('-').map_or((term, false), |f| (f, true)))
            .find(|(field, _)| matches!(*field, "name" | "scope_name" | "pk" | "pm_uuid"))
            .unwrap_or(("name", false));
        mappings.sort_by(|a, b| {
            let order = match field {
                "scope_name" => a.scope_name.cmp(&b.scope_name).then_with(|| a.name.cmp(&b.name)),
                "pk" | "pm_uuid" => a.pk.to_string().cmp(&b.pk.to_string()),
                _ => a.name.cmp(&b.name),
            };
            if descending { order.reverse() } else { order }
        });
        Page::build(page, page.slice(mappings)).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `propertymappings_provider_scope_retrieve`.
    pub async fn get_scope_mapping(&self, caller: &AkUser, pk: Uuid) -> Result<AkScopeMapping, AkError> {
        require_mapping_admin(caller)?;
        match self.store.get::<AkScopeMapping>(Field::Pk, pk).await {
            Ok(mapping) => Ok(mapping),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_MAPPING_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `propertymappings_provider_scope_create`: `name`, `scope_name` and `expression` are required (the
    /// expression is kept as written; upstream checks that it compiles as Python).
    pub async fn create_scope_mapping(&self, caller: &AkUser, body: &Value) -> Result<AkScopeMapping, AkError> {
        require_mapping_admin(caller)?;
        let mut mapping = AkScopeMapping {
            pk: Uuid::new_v4(),
            name: String::new(),
            managed: None,
            scope_name: String::new(),
            description: String::new(),
            expression: String::new(),
        };
        parse_mapping(body, &mut mapping, false)?;
        match self.store.insert(mapping).await {
            Ok(mapping) => Ok(mapping),
            Err(e) => Err(taken(e)),
        }
    }

    /// `propertymappings_provider_scope_update` and `…_partial_update` (`partial`: every field optional).
    pub async fn update_scope_mapping(
        &self,
        caller: &AkUser,
        pk: Uuid,
        body: &Value,
        partial: bool,
    ) -> Result<AkScopeMapping, AkError> {
        let mut mapping = self.get_scope_mapping(caller, pk).await?;
        parse_mapping(body, &mut mapping, partial)?;
        match self.store.replace(mapping.clone()).await {
            Ok(()) => Ok(mapping),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_MAPPING_NOT_FOUND)),
            Err(e) => Err(taken(e)),
        }
    }

    /// `propertymappings_provider_scope_destroy`: providers keep its pk in `property_mappings` (a many-to-many
    /// row upstream, which goes with it), and it names no scope any more.
    pub async fn delete_scope_mapping(&self, caller: &AkUser, pk: Uuid) -> Result<(), AkError> {
        require_mapping_admin(caller)?;
        match self.store.delete::<AkScopeMapping>(pk).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_MAPPING_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the mapping `pk` exists (a provider's `property_mappings`).
    pub(super) async fn scope_mapping_exists(&self, pk: Uuid) -> Result<bool, AkError> {
        self.exists(self.store.get::<AkScopeMapping>(Field::Pk, pk).await)
    }
}

/// `ScopeMappingSerializer` over `body`, applied to `mapping`.
fn parse_mapping(body: &Value, mapping: &mut AkScopeMapping, partial: bool) -> Result<(), AkError> {
    let mut parsed = Body::new(body)?;
    let name = parsed.string("name", false);
    let scope_name = parsed.string("scope_name", false);
    let expression = parsed.string("expression", false);
    let description = parsed.string("description", false);
    let managed = parsed.string("managed", true);
    let mut errors = parsed.finish();
    for (field, value) in [("name", &name), ("scope_name", &scope_name), ("expression", &expression)] {
        match value {
            None if !partial && body.get(field).is_none() => add_error(&mut errors, field, MSG_REQUIRED),
            Some(v) if v.trim().is_empty() => add_error(&mut errors, field, MSG_BLANK),
            _ => {}
        }
    }
    if managed.as_deref().is_some_and(|v| v.trim().is_empty()) {
        add_error(&mut errors, "managed", MSG_BLANK);
    }
    if !errors.is_empty() {
        return Err(AkError::Invalid(errors));
    }
    if let Some(name) = name {
        mapping.name = name.trim().to_owned();
    }
    if let Some(scope_name) = scope_name {
        mapping.scope_name = scope_name.trim().to_owned();
    }
    if let Some(expression) = expression {
        mapping.expression = expression;
    }
    if let Some(description) = description {
        mapping.description = description.trim().to_owned();
    }
    if body.get("managed").is_some() {
        mapping.managed = managed.map(|m| m.trim().to_owned());
    }
    Ok(())
}

fn taken(error: StoreError) -> AkError {
    match error {
        StoreError::Duplicate { field: Field::Name } => AkError::field("name", MSG_NAME_TAKEN),
        StoreError::Duplicate { field: Field::Managed } => AkError::field("managed", MSG_MANAGED_TAKEN),
        e => e.into(),
    }
}

/// authentik's `view_scopemapping` and friends; only superusers hold them by default.
fn require_mapping_admin(caller: &AkUser) -> Result<(), AkError> {
    if caller.is_effective_superuser() { Ok(()) } else { Err(AkError::forbidden(MSG_NO_PERMISSION)) }
}
