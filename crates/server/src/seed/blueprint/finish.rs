//! The rows a blueprint built, as the seed's `authentik` section: group rows and their copies in their users,
//! tokens naming their user, providers knowing their application, the self-signed key pair beside the blueprint's
//! own.

use crate::model::{AkGroup, AkKeyPair, AkUser, EC_KEY_PAIR, RSA_KEY_PAIR};
use crate::secrets::PasswordHash;
use crate::seed::{AuthentikSeed, TokenSeed};

use super::rows::Build;

/// The users, each with a copy of every group that lists it or that it lists (the store keeps a member's groups in
/// its row; a superuser group makes its members superusers through that copy), and their passwords hashed.
fn users_in_groups(build: &Build) -> Vec<AkUser> {
    let mut users = Vec::with_capacity(build.users.len());
    for row in &build.users {
        let mut user = row.user.clone();
        if let Some(password) = &row.password {
            user.password = Some(PasswordHash::new(password.expose()));
        }
        for group in group_rows(build) {
            if row.groups.contains(&group.pk)
                || build.groups.iter().any(|g| g.group.pk == group.pk && g.users.contains(&user.pk))
            {
                user.groups.push(group);
            }
        }
        users.push(user);
    }
    users
}

/// The group rows, each with its parent.
fn group_rows(build: &Build) -> impl Iterator<Item = AkGroup> + '_ {
    build.groups.iter().map(|row| AkGroup { parents: row.parent.into_iter().collect(), ..row.group.clone() })
}

/// The rows built, as the seed's `authentik` section.
pub fn finish(build: Build) -> Result<AuthentikSeed, String> {
    let users = users_in_groups(&build);
    let groups = group_rows(&build).collect();
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
        groups,
        providers,
        applications: build.applications,
        tokens,
        access_tokens: Vec::new(),
        refresh_tokens: Vec::new(),
        key_pairs,
        scope_mappings: build.mappings,
    })
}
