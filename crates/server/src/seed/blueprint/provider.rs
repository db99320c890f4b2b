//! OAuth2 providers and applications of a blueprint, as their serializers read them.

use serde_json::Value;

use super::models::{Build, Model};
use super::values::{choice, flag, items as list, optional_int as int, optional_uuid as uuid, text, typed};
use crate::model::AkProvider;
use crate::secrets::Secret;

/// Sets one field of provider `i` as `OAuth2ProviderSerializer` reads it.
pub fn set(build: &mut Build, i: usize, key: &str, value: &Value) -> Result<(), String> {
    match key {
        "authentication_flow" | "authorization_flow" | "invalidation_flow" => {
            let flow = uuid(build, Model::Flow, value)?;
            let provider = &mut build.providers[i];
            match key {
                "authentication_flow" => provider.authentication_flow = flow,
                "authorization_flow" => provider.authorization_flow = flow,
                _ => provider.invalidation_flow = flow,
            }
        }
        "property_mappings" => {
            let pks =
                list(value)?.iter().map(|m| uuid(build, Model::ScopeMapping, m)).collect::<Result<Vec<_>, _>>()?;
            build.providers[i].property_mappings = pks.into_iter().flatten().collect();
        }
        "signing_key" => build.providers[i].oauth2.signing_key = uuid(build, Model::KeyPair, value)?,
        "encryption_key" => build.providers[i].oauth2.encryption_key = uuid(build, Model::KeyPair, value)?,
        "jwt_federation_providers" => {
            let pks = list(value)?.iter().map(|p| int(build, Model::Provider, p)).collect::<Result<Vec<_>, _>>()?;
            build.providers[i].oauth2.jwt_federation_providers = pks.into_iter().flatten().collect();
        }
        "jwt_federation_sources" if list(value)?.is_empty() => build.providers[i].oauth2.jwt_federation_sources.clear(),
        "jwt_federation_sources" => return Err("federation sources are not modelled by tokenstack".into()),
        _ => set_setting(&mut build.providers[i], key, value)?,
    }
    Ok(())
}

/// The provider's plain settings.
fn set_setting(provider: &mut AkProvider, key: &str, value: &Value) -> Result<(), String> {
    let settings = &mut provider.oauth2;
    match key {
        "name" => provider.name = text(value)?,
        "client_type" => settings.client_type = choice(value, &["confidential", "public"])?,
        "client_id" => settings.client_id = text(value)?,
        "client_secret" => settings.client_secret = Secret::new(text(value)?),
        "access_code_validity" => settings.access_code_validity = validity(value)?,
        "access_token_validity" => settings.access_token_validity = validity(value)?,
        "refresh_token_validity" => settings.refresh_token_validity = validity(value)?,
        "refresh_token_threshold" => settings.refresh_token_threshold = validity(value)?,
        "include_claims_in_id_token" => settings.include_claims_in_id_token = flag(value)?,
        "redirect_uris" => settings.redirect_uris = typed(value)?,
        "logout_uri" => settings.logout_uri = text(value)?,
        "logout_method" => settings.logout_method = choice(value, &["backchannel", "frontchannel"])?,
        "sub_mode" => {
            let modes = ["hashed_user_id", "user_id", "user_uuid", "user_username", "user_email", "user_upn"];
            settings.sub_mode = choice(value, &modes)?;
        }
        "issuer_mode" => settings.issuer_mode = choice(value, &["global", "per_provider"])?,
        _ => {
            let grants = crate::model::DEFAULT_GRANT_TYPES;
            settings.grant_types = list(value)?.iter().map(|g| choice(g, grants)).collect::<Result<_, _>>()?;
        }
    }
    Ok(())
}

/// A validity (`minutes=5`), checked by `timedelta_string_validator`.
fn validity(value: &Value) -> Result<String, String> {
    let given = text(value)?;
    crate::authentik::oidc::validity::validate(&given)?;
    Ok(given)
}

/// Sets one field of application `i` as `ApplicationSerializer` reads it.
pub fn set_application(build: &mut Build, i: usize, key: &str, value: &Value) -> Result<(), String> {
    match key {
        "provider" => build.applications[i].provider = int(build, Model::Provider, value)?,
        "backchannel_providers" => {
            let pks = list(value)?.iter().map(|p| int(build, Model::Provider, p)).collect::<Result<Vec<_>, _>>()?;
            build.applications[i].backchannel_providers = pks.into_iter().flatten().collect();
        }
        _ => {
            let app = &mut build.applications[i];
            match key {
                "name" => app.name = text(value)?,
                "slug" => app.slug = text(value)?,
                "open_in_new_tab" => app.open_in_new_tab = flag(value)?,
                "meta_launch_url" => app.meta_launch_url = text(value)?,
                "meta_icon" => app.meta_icon = text(value)?,
                "meta_description" => app.meta_description = text(value)?,
                "meta_publisher" => app.meta_publisher = text(value)?,
                "policy_engine_mode" => app.policy_engine_mode = choice(value, &["all", "any"])?,
                "group" => app.group = text(value)?,
                _ => app.meta_hide = flag(value)?,
            }
        }
    }
    Ok(())
}

/// A provider's required fields, once set: `name`, `authorization_flow`, `invalidation_flow`.
pub fn check(build: &Build, i: usize) -> Result<(), String> {
    let provider = &build.providers[i];
    for (field, missing) in [
        ("name", provider.name.is_empty()),
        ("authorization_flow", provider.authorization_flow.is_none()),
        ("invalidation_flow", provider.invalidation_flow.is_none()),
    ] {
        if missing {
            return Err(format!("{field}: This field is required."));
        }
    }
    if build.providers.iter().enumerate().any(|(j, p)| j != i && p.name == provider.name) {
        return Err("name: this value is taken by another row".into());
    }
    Ok(())
}
