//! Domain values to wire types, written as authentik and NetBird write them.

use tokenstack_api::types;

use crate::authentik::oidc::json::{Style, to_python_json};
use crate::model::{
    AkProvider, AkUser, AkUserType, CoreToken, Intent, NbGroup, NbSetupKey, NbUser, OAuthToken, Pat, UsedBy,
    UsedByAction,
};
use chrono::{DateTime, Utc};

use crate::pagination::Page;
use crate::secrets::Secret;

/// A domain value's generated wire twin (the domain types live in `tokenstack-store`, so `From` cannot join them).
pub trait ToWire<W> {
    fn to_wire(self) -> W;
}

/// A domain enum and its generated wire twin, matched both ways variant by variant (the reverse match is a
/// constant that only the compiler reads): both matches are exhaustive, so a variant added to the spec or the
/// model without the other fails to build here.
macro_rules! wire_enum {
    ($domain:ident <=> $wire:ident { $($variant:ident),* $(,)? }) => {
        impl ToWire<types::$wire> for $domain {
            fn to_wire(self) -> types::$wire {
                match self {
                    $($domain::$variant => types::$wire::$variant,)*
                }
            }
        }

        const _: fn(types::$wire) -> $domain = |wire| match wire {
            $(types::$wire::$variant => $domain::$variant,)*
        };
    };
}

wire_enum!(Intent <=> IntentEnum { Verification, Api, Recovery, AppPassword });
wire_enum!(AkUserType <=> UserTypeEnum { Internal, External, ServiceAccount, InternalServiceAccount });
wire_enum!(UsedByAction <=> UsedByActionEnum { Cascade, CascadeMany, SetNull, SetDefault, LeftDangling });

/// authentik's `User` serializer: groups in full, no roles, `uid` a stable hash of the pk.
pub use crate::model::user_uid;

/// `SessionUser` of `/core/users/me/`: the caller, not impersonating anyone.
pub fn session_user(user: &AkUser) -> types::SessionUser {
    let named = |g: &crate::model::AkGroup| types::UserSelfGroups { name: g.name.clone(), pk: g.pk.to_string() };
    let mut groups: Vec<types::UserSelfGroups> = user.groups.iter().map(named).collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let settings = user.attributes.get("settings").and_then(|s| s.as_object()).cloned().unwrap_or_default();
    let me = types::UserSelf {
        avatar: avatar_svg(&user.username),
        email: Some(user.email.clone()),
        groups,
        is_active: user.is_active,
        is_current: true,
        is_superuser: user.is_effective_superuser(),
        name: user.name.clone(),
        pk: user.pk,
        roles: Vec::new(),
        settings,
        system_permissions: Vec::new(),
        type_: Some(user.user_type.to_wire()),
        uid: user_uid(user.pk),
        username: user.username.clone(),
    };
    types::SessionUser { original: None, user: me.clone(), users: vec![me] }
}

pub fn user(user: &AkUser) -> types::User {
    let user_type = user.user_type.to_wire();
    let uid = user_uid(user.pk);
    types::User {
        attributes: user.attributes.clone(),
        avatar: avatar_svg(&user.username),
        date_joined: user.date_joined,
        email: Some(user.email.clone()),
        groups: user.groups.iter().map(|g| g.pk).collect(),
        groups_obj: Some(
            user.groups
                .iter()
                .map(|g| types::PartialGroup {
                    attributes: g.attributes.clone(),
                    is_superuser: Some(g.is_superuser),
                    name: g.name.clone(),
                    num_pk: crate::model::AkGroup::upstream_num_pk(g.pk),
                    pk: g.pk,
                })
                .collect(),
        ),
        is_active: Some(user.is_active),
        is_superuser: user.is_effective_superuser(),
        last_login: user.last_login,
        last_updated: user.last_updated,
        name: user.name.clone(),
        password_change_date: user.password_change_date,
        path: Some(user.path.clone()),
        pk: user.pk,
        roles: Vec::new(),
        roles_obj: Some(Vec::new()),
        type_: Some(user_type),
        uid,
        username: user.username.clone(),
        uuid: user.uuid,
    }
}

pub fn token(token: CoreToken, owner: types::User) -> types::Token {
    types::Token {
        description: Some(token.description),
        expires: token.expires,
        expiring: Some(token.expiring),
        identifier: token.identifier,
        intent: Some(token.intent.to_wire()),
        managed: token.managed,
        pk: token.pk,
        user: Some(token.user),
        user_obj: owner,
    }
}

/// authentik's `OAuth2ProviderSerializer` metadata for the generic `Provider` schema.
pub fn provider(provider: &AkProvider) -> types::Provider {
    types::Provider {
        assigned_application_name: provider.assigned_application_name.clone(),
        assigned_application_slug: provider.assigned_application_slug.clone(),
        assigned_backchannel_application_name: None,
        assigned_backchannel_application_slug: None,
        authentication_flow: provider.authentication_flow,
        authorization_flow: provider.authorization_flow,
        component: "ak-provider-oauth2-form".to_string(),
        invalidation_flow: provider.invalidation_flow,
        meta_model_name: "authentik_providers_oauth2.oauth2provider".to_string(),
        name: provider.name.clone(),
        pk: provider.pk,
        property_mappings: provider.property_mappings.clone(),
        verbose_name: "OAuth2/OpenID Provider".to_string(),
        verbose_name_plural: "OAuth2/OpenID Providers".to_string(),
    }
}

/// `TokenModelSerializer`; `id_token` is `json.dumps(id_token, indent=4)`, as upstream.
pub fn oauth_token(token: OAuthToken, provider: &AkProvider, owner: &AkUser, is_expired: bool) -> types::TokenModel {
    types::TokenModel {
        expires: token.expires,
        id_token: id_token_json(&token.id_token),
        is_expired,
        pk: token.pk,
        provider: self::provider(provider),
        revoked: Some(token.revoked),
        scope: token.scope,
        user: user(owner),
    }
}

pub fn pagination<T>(page: &Page<T>) -> types::Pagination {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    types::Pagination {
        count: n(page.count),
        current: n(page.current),
        end_index: n(page.end_index),
        next: n(page.next),
        previous: n(page.previous),
        start_index: n(page.start_index),
        total_pages: n(page.total_pages),
    }
}

pub fn used_by(used_by: UsedBy) -> types::UsedBy {
    let action = used_by.action.to_wire();
    types::UsedBy { action, app: used_by.app, model_name: used_by.model_name, name: used_by.name, pk: used_by.pk }
}

pub fn pat(pat: Pat) -> types::PersonalAccessToken {
    types::PersonalAccessToken {
        created_at: pat.created_at,
        created_by: pat.created_by,
        expiration_date: pat.expiration_date,
        id: pat.id,
        last_used: pat.last_used,
        name: pat.name,
    }
}

/// `toUserResponse`: a user as `caller` sees it. Users here never log in to a dashboard, so `last_login` is Go's
/// zero time, as upstream writes it for such users; every user was issued by the API.
pub fn nb_user(user: &NbUser, caller: &NbUser) -> types::NetbirdUser {
    types::NetbirdUser {
        auto_groups: user.auto_groups.clone(),
        email: user.email.clone(),
        id: user.id.clone(),
        idp_id: None,
        is_blocked: user.blocked,
        is_current: Some(user.id == caller.id),
        is_service_user: Some(user.is_service_user),
        issued: Some("api".to_string()),
        last_login: Some(go_zero_time()),
        name: user.name.clone(),
        password: None,
        pending_approval: false,
        permissions: None,
        role: user.role.as_str().to_string(),
        status: if user.blocked { types::NetbirdUserStatus::Blocked } else { types::NetbirdUserStatus::Active },
    }
}

/// `toUserWithPermissionsResponse`: the caller, with every module's permissions of its role.
pub fn nb_current_user(user: &NbUser, restricted: bool) -> types::NetbirdUser {
    let permissions =
        types::UserPermissions { is_restricted: restricted, modules: crate::netbird::role_permissions(user.role) };
    types::NetbirdUser { permissions: Some(permissions), ..nb_user(user, user) }
}

/// `toGroupResponse`: `peers` are the group's peers that the account has, once each, by name (upstream writes
/// `null` for none, against its spec; here `[]`); `resources` as stored (the rules keep only
/// upstream's four types). `issued` is always written, as upstream's pointer to the stored value.
pub fn nb_group(group: &NbGroup, peer_names: &std::collections::HashMap<String, String>) -> types::NetbirdGroup {
    let mut peers: Vec<types::PeerMinimum> = Vec::new();
    for id in &group.peers {
        if let Some(name) = peer_names.get(id).filter(|_| !peers.iter().any(|p| &p.id == id)) {
            peers.push(types::PeerMinimum { id: id.clone(), name: name.clone() });
        }
    }
    let resources: Vec<types::Resource> = group
        .resources
        .iter()
        .filter_map(|r| Some(types::Resource { id: r.id.clone(), type_: r.kind.parse().ok()? }))
        .collect();
    types::NetbirdGroup {
        id: group.id.clone(),
        issued: group.issued.parse().ok(),
        name: group.name.clone(),
        peers_count: peers.len() as i64,
        peers,
        resources_count: resources.len() as i64,
        resources,
    }
}

/// `ToResponseBody`: the hidden key, state and validity at `now`, Go's zero time for a key that never expires or
/// was never used.
pub fn setup_key(key: &NbSetupKey, now: DateTime<Utc>) -> types::SetupKey {
    types::SetupKey {
        allow_extra_dns_labels: key.allow_extra_dns_labels,
        auto_groups: key.auto_groups.clone(),
        ephemeral: key.ephemeral,
        expires: key.expires_at.unwrap_or_else(go_zero_time),
        id: key.id.clone(),
        key: key.key_secret.clone(),
        last_used: key.last_used.unwrap_or_else(go_zero_time),
        name: key.name.clone(),
        revoked: key.revoked,
        state: key.state(now).to_string(),
        type_: key.key_type.as_str().to_string(),
        updated_at: key.updated_at,
        usage_limit: key.usage_limit,
        used_times: key.used_times,
        valid: key.is_valid(now),
    }
}

/// The create response: the same body with the plain key, the only time it is shown.
pub fn setup_key_clear(key: &NbSetupKey, plain: &Secret, now: DateTime<Utc>) -> types::SetupKeyClear {
    let shown = setup_key(key, now);
    types::SetupKeyClear {
        allow_extra_dns_labels: shown.allow_extra_dns_labels,
        auto_groups: shown.auto_groups,
        ephemeral: shown.ephemeral,
        expires: shown.expires,
        id: shown.id,
        key: plain.expose().to_string(),
        last_used: shown.last_used,
        name: shown.name,
        revoked: shown.revoked,
        state: shown.state,
        type_: shown.type_,
        updated_at: shown.updated_at,
        usage_limit: shown.usage_limit,
        used_times: shown.used_times,
        valid: shown.valid,
    }
}

/// Go's `time.Time{}`: `0001-01-01T00:00:00Z`.
fn go_zero_time() -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default().and_time(chrono::NaiveTime::MIN).and_utc()
}

/// `json.dumps(id_token, indent=4)`. authentik's id_token is always an object; an unset one dumps as `{}`.
fn id_token_json(id_token: &serde_json::Value) -> String {
    if id_token.is_null() {
        return "{}".to_string();
    }
    to_python_json(id_token, Style::Indent(4)).unwrap_or_else(|_| "{}".to_string())
}

/// authentik's default avatar: a `data:` URL of an inline SVG with the user's initials.
fn avatar_svg(username: &str) -> String {
    use base64::Engine;
    let initials: String = username.chars().take(2).collect::<String>().to_uppercase();
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#3a3a3a"/><text x="50%" y="50%" fill="#fff" text-anchor="middle" dominant-baseline="central" font-size="28">{initials}</text></svg>"##
    );
    let mut url = String::with_capacity(26 + svg.len().div_ceil(3) * 4);
    url.push_str("data:image/svg+xml;base64,");
    base64::engine::general_purpose::STANDARD.encode_string(svg, &mut url);
    url
}

/// `OAuth2ProviderSerializer`; `client_secret` is shown, as upstream shows it to those who may view providers.
pub fn oauth2_provider(provider: &AkProvider) -> types::OAuth2Provider {
    let o = &provider.oauth2;
    let base = self::provider(provider);
    types::OAuth2Provider {
        access_code_validity: Some(o.access_code_validity.clone()),
        access_token_validity: Some(o.access_token_validity.clone()),
        assigned_application_name: base.assigned_application_name,
        assigned_application_slug: base.assigned_application_slug,
        assigned_backchannel_application_name: None,
        assigned_backchannel_application_slug: None,
        authentication_flow: provider.authentication_flow,
        authorization_flow: provider.authorization_flow.unwrap_or(crate::model::DEFAULT_AUTHORIZATION_FLOW),
        client_id: Some(o.client_id.clone()),
        client_secret: Some(o.client_secret.expose().to_string()),
        client_type: o.client_type.parse().ok(),
        component: base.component,
        encryption_key: o.encryption_key,
        grant_types: o.grant_types.iter().filter_map(|g| g.parse().ok()).collect(),
        include_claims_in_id_token: Some(o.include_claims_in_id_token),
        invalidation_flow: provider.invalidation_flow.unwrap_or(crate::model::DEFAULT_INVALIDATION_FLOW),
        issuer_mode: o.issuer_mode.parse().ok(),
        jwt_federation_providers: o.jwt_federation_providers.clone(),
        jwt_federation_sources: o.jwt_federation_sources.clone(),
        logout_method: o.logout_method.parse().ok(),
        logout_uri: Some(o.logout_uri.clone()),
        meta_model_name: base.meta_model_name,
        name: provider.name.clone(),
        pk: provider.pk,
        property_mappings: provider.property_mappings.clone(),
        redirect_uris: o
            .redirect_uris
            .iter()
            .filter_map(|r| {
                Some(types::RedirectUri {
                    matching_mode: r.matching_mode.parse().ok()?,
                    redirect_uri_type: r.redirect_uri_type.parse().ok()?,
                    url: r.url.clone(),
                })
            })
            .collect(),
        refresh_token_threshold: Some(o.refresh_token_threshold.clone()),
        refresh_token_validity: Some(o.refresh_token_validity.clone()),
        signing_key: o.signing_key,
        sub_mode: o.sub_mode.parse().ok(),
        verbose_name: base.verbose_name,
        verbose_name_plural: base.verbose_name_plural,
    }
}

/// `ApplicationSerializer`: `pk` is the `pbm_uuid`; no icons are stored, so the icon URLs are null.
pub fn application(view: &crate::authentik::ApplicationView) -> types::Application {
    let app = &view.application;
    types::Application {
        backchannel_providers: app.backchannel_providers.clone(),
        backchannel_providers_obj: view.backchannel_providers.iter().map(provider).collect(),
        group: Some(app.group.clone()),
        launch_url: view.launch_url(),
        meta_description: Some(app.meta_description.clone()),
        meta_hide: Some(app.meta_hide),
        meta_icon: Some(app.meta_icon.clone()),
        meta_icon_themed_urls: None,
        meta_icon_url: None,
        meta_launch_url: Some(app.meta_launch_url.clone()),
        meta_publisher: Some(app.meta_publisher.clone()),
        name: app.name.clone(),
        open_in_new_tab: Some(app.open_in_new_tab),
        pbm_uuid: app.pk,
        pk: app.pk,
        policy_engine_mode: app.policy_engine_mode.parse().ok(),
        provider: app.provider,
        provider_obj: view.provider.as_ref().map(provider),
        slug: app.slug.clone(),
    }
}

/// `ConfigSerializer`.
pub fn root_config(config: &crate::authentik::RootConfig) -> types::Config {
    types::Config {
        cache_timeout: config.cache_timeout,
        cache_timeout_flows: config.cache_timeout_flows,
        cache_timeout_policies: config.cache_timeout_policies,
        capabilities: config.capabilities.iter().filter_map(|c| c.parse().ok()).collect(),
        error_reporting: types::ErrorReportingConfig {
            enabled: config.error_reporting_enabled,
            environment: config.environment.to_owned(),
            send_pii: config.send_pii,
            sentry_dsn: config.sentry_dsn.to_owned(),
            traces_sample_rate: config.traces_sample_rate,
        },
    }
}

/// `FlowSerializer`: `pk` and `policybindingmodel_ptr_id` are the same uuid; no stages, policies or cached plans.
pub fn flow(flow: &crate::authentik::Flow) -> types::Flow {
    types::Flow {
        authentication: flow.authentication.parse().ok(),
        background: Some(String::new()),
        background_themed_urls: None,
        background_url: crate::authentik::DEFAULT_BACKGROUND_URL.to_owned(),
        cache_count: 0,
        compatibility_mode: Some(false),
        denied_action: flow.denied_action.parse().ok(),
        designation: flow.designation.parse().unwrap_or(types::FlowDesignationEnum::StageConfiguration),
        export_url: format!("/api/v3/flows/instances/{}/export/", flow.slug),
        layout: Some(types::FlowLayoutEnum::Stacked),
        name: flow.name.to_owned(),
        pk: flow.pk,
        policies: Vec::new(),
        policy_engine_mode: Some(types::PolicyEngineMode::Any),
        policybindingmodel_ptr_id: flow.pk,
        slug: flow.slug.to_owned(),
        stages: Vec::new(),
        title: flow.title.to_owned(),
    }
}

/// `CertificateKeyPairSerializer`: the certificate's details as stored upstream (null where it does not load), the
/// download URLs of `view_certificate/` and `view_private_key/`; no pair is `managed`.
pub fn key_pair(pair: &crate::model::AkKeyPair) -> types::CertificateKeyPair {
    let info = crate::authentik::oidc::x509::certificate_info(&pair.certificate_data);
    let info = info.as_ref();
    let base = format!("/api/v3/crypto/certificatekeypairs/{}", pair.pk);
    types::CertificateKeyPair {
        cert_expiry: info.map(|i| i.not_after),
        cert_subject: info.map(|i| i.subject.clone()),
        certificate_download_url: format!("{base}/view_certificate/?download"),
        fingerprint_sha1: info.map(|i| i.fingerprint_sha1.clone()),
        fingerprint_sha256: info.map(|i| i.fingerprint_sha256.clone()),
        key_type: info.and_then(|i| i.key_type).and_then(|k| k.parse().ok()),
        managed: None,
        name: pair.name.clone(),
        pk: pair.pk,
        private_key_available: !pair.key_data.expose().is_empty(),
        private_key_download_url: format!("{base}/view_private_key/?download"),
    }
}

/// `ScopeMappingSerializer`.
pub fn scope_mapping(mapping: &crate::model::AkScopeMapping) -> types::ScopeMapping {
    let base = property_mapping(mapping);
    types::ScopeMapping {
        component: base.component,
        description: Some(mapping.description.clone()),
        expression: base.expression,
        managed: base.managed,
        meta_model_name: base.meta_model_name,
        name: base.name,
        pk: base.pk,
        scope_name: mapping.scope_name.clone(),
        verbose_name: base.verbose_name,
        verbose_name_plural: base.verbose_name_plural,
    }
}

/// `PropertyMappingSerializer` of a scope mapping (the only kind stored).
pub fn property_mapping(mapping: &crate::model::AkScopeMapping) -> types::PropertyMapping {
    types::PropertyMapping {
        component: "ak-property-mapping-provider-scope-form".into(),
        expression: mapping.expression.clone(),
        managed: mapping.managed.clone(),
        meta_model_name: "authentik_providers_oauth2.scopemapping".into(),
        name: mapping.name.clone(),
        pk: mapping.pk,
        verbose_name: "Scope Mapping".into(),
        verbose_name_plural: "Scope Mappings".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_token_is_python_indent_4() {
        let dumped = id_token_json(&serde_json::json!({"sub": "1"}));
        assert_eq!(dumped, "{\n    \"sub\": \"1\"\n}");
        // json.dumps({"groups": [], "name": "Zoë", "x": {}}, indent=4)
        let dumped = id_token_json(&serde_json::json!({"name": "Zoë", "groups": [], "x": {}}));
        assert_eq!(dumped, "{\n    \"groups\": [],\n    \"name\": \"Zo\\u00eb\",\n    \"x\": {}\n}");
        assert_eq!(id_token_json(&serde_json::Value::Null), "{}");
    }
}
