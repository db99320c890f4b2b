//! OAuth2 providers and applications of a blueprint, and the rows built turned into the seed's sections.

use serde_json::Value;

use super::models::{Build, Model};
use super::values::{choice, flag, items as list, optional_int as int, optional_uuid as uuid, text, typed};
use crate::model::{AkKeyPair, AkProvider, AkUser, EC_KEY_PAIR, RSA_KEY_PAIR};
use crate::secrets::{PasswordHash, Secret};
use crate::seed::{AuthentikSeed, TokenSeed};

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

/// Group rows as the users' groups: each user gets a copy of every group that lists it or that it lists, and is a
/// superuser when one of them is. The one place that knows how groups are stored (today, inside users).
fn embed_groups(build: &Build) -> Vec<AkUser> {
    let mut users = Vec::with_capacity(build.users.len());
    for row in &build.users {
        let mut user = row.user.clone();
        if let Some(password) = &row.password {
            user.password = Some(PasswordHash::new(password.expose()));
        }
        for group in &build.groups {
            if row.groups.contains(&group.group.pk) || group.users.contains(&user.pk) {
                user.is_superuser |= group.group.is_superuser;
                user.groups.push(group.group.clone());
            }
        }
        users.push(user);
    }
    users
}

/// The rows built, as the seed's `authentik` section.
pub fn finish(build: Build) -> Result<AuthentikSeed, String> {
    let users = embed_groups(&build);
    let mut tokens = Vec::new();
    for token in build.tokens {
        let user = users.iter().find(|u| u.pk == token.user).ok_or("a token's user is gone")?;
        tokens.push(TokenSeed {
            pk: Some(token.pk),
            identifier: token.identifier,
            user: user.username.clone(),
            key: token.key,
            intent: token.intent,
            description: token.description,
            expires: token.expires,
            expiring: token.expiring,
            managed: None,
            key_viewers: None,
        });
    }
    let mut providers = build.providers;
    for app in &build.applications {
        let Some(pk) = app.provider else { continue };
        let bound = build.applications.iter().filter(|a| a.provider == Some(pk)).count();
        if bound > 1 {
            return Err(format!("provider {pk} is bound to {bound} applications; an OAuth2 provider serves one"));
        }
        if let Some(provider) = providers.iter_mut().find(|p| p.pk == pk) {
            provider.assigned_application_slug = Some(app.slug.clone());
            provider.assigned_application_name = Some(app.name.clone());
        }
    }
    let own: Vec<AkKeyPair> = build.key_pairs.iter().filter(|k| !k.builtin).map(|k| k.pair.clone()).collect();
    // A store with key pairs gets no stand-ins at start-up: the self-signed pair of a fresh install is added here.
    let key_pairs = if own.is_empty() {
        own
    } else {
        let builtin = crate::authentik::oauth2::stand_in_key_pairs().map_err(|e| e.to_string())?;
        let pks = [RSA_KEY_PAIR.0, EC_KEY_PAIR.0];
        builtin
            .into_iter()
            .filter(|k| pks.contains(&k.pk) && build.key_pairs.iter().any(|b| b.builtin && b.pair.pk == k.pk))
            .chain(own)
            .collect()
    };
    Ok(AuthentikSeed {
        users,
        providers,
        applications: build.applications,
        tokens,
        access_tokens: Vec::new(),
        refresh_tokens: Vec::new(),
        key_pairs,
        scope_mappings: build.mappings,
    })
}
