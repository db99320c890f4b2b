//! The seed file (`--seed`, YAML) and the bootstrap credentials, turned into store contents.
//!
//! The format is documented in docs/seed-format.md and shown in `examples/seed.yaml`. Tokens and OAuth2 tokens name
//! their user by username; NetBird PATs are given in plain text and stored only as their sha256 hash.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::model::{
    AkApplication, AkGroup, AkKeyPair, AkProvider, AkScopeMapping, AkUser, CoreToken, Intent, NbUser, OAuthKind,
    OAuthToken, Pat,
};
use crate::secrets::{Secret, generate_key, hash_pat, new_xid_like_id, parse_pat};
use crate::store::{Snapshot, Store, StoreError};

pub mod blueprint;
mod bootstrap;
mod groups;
mod netbird;
pub use bootstrap::{
    AdminBootstrap, BOOTSTRAP_PAT_NAME, Bootstrap, DEFAULT_ADMIN_EMAIL, bootstrap, bootstrap_with_admin,
};
use groups::group_rows;
use netbird::default_expires_in;
pub use netbird::{NbUserSeed, NetbirdSeed, PatSeed, SetupKeySeed};

/// Why seeding or bootstrapping failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    // `error`, not `source`: the message already carries it, and a source would print it twice in `{:#}`.
    #[error("cannot read seed file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("seed file {path} is invalid: {error}{at}")]
    Parse {
        path: String,
        error: serde_yaml::Error,
        /// ` at line N` where `error` has no location of its own (an unknown key at the top level).
        at: String,
    },
    #[error("seed: {0}")]
    Invalid(String),
    #[error("seed file {path} is an invalid blueprint: {error}")]
    BlueprintFile { path: String, error: blueprint::BlueprintError },
    #[error("invalid blueprint: {0}")]
    Blueprint(#[from] blueprint::BlueprintError),
    #[error(
        "TOKENSTACK_BOOTSTRAP_PAT is not a valid NetBird PAT (40 characters, `nbp_` prefix, correct checksum): {0}"
    )]
    BadBootstrapPat(String),
    #[error("seed could not be stored: {0}")]
    Store(#[from] StoreError),
}

/// The whole seed document.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedFile {
    pub authentik: AuthentikSeed,
    pub netbird: NetbirdSeed,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthentikSeed {
    pub users: Vec<AkUser>,
    pub providers: Vec<AkProvider>,
    pub applications: Vec<AkApplication>,
    pub tokens: Vec<TokenSeed>,
    pub access_tokens: Vec<OAuthSeed>,
    pub refresh_tokens: Vec<OAuthSeed>,
    /// Certificate-key pairs (providers' `signing_key`), with their PEM private keys.
    pub key_pairs: Vec<AkKeyPair>,
    /// Scope mappings (providers' `property_mappings`); authentik's managed ones are added where absent (an
    /// export of a store without any leaves the key out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope_mappings: Vec<AkScopeMapping>,
    /// Groups. A user's `groups` name groups too, by name (or pk): a group only users name needs no entry here
    /// (an export lists here only the groups without members).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<AkGroup>,
}

/// A core token; `key` is generated when absent, `expires` defaults to a day from start-up (`null`: none).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSeed {
    /// The token's uuid (generated when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pk: Option<Uuid>,
    pub identifier: String,
    /// Username of the owner.
    pub user: String,
    pub key: Option<Secret>,
    #[serde(default = "default_intent")]
    pub intent: Intent,
    #[serde(default)]
    pub description: String,
    /// Absent: start-up + 1 day; `null`: no expiry date.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub expires: Option<Option<DateTime<Utc>>>,
    #[serde(default = "default_true")]
    pub expiring: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<String>,
    /// Usernames holding `view_token_key` (default: the owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_viewers: Option<Vec<String>>,
}

/// An OAuth2 access or refresh token.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSeed {
    pub pk: i64,
    /// pk of the provider.
    pub provider: i64,
    /// Username of the owner.
    pub user: String,
    pub token: Option<Secret>,
    pub expires: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub id_token: serde_json::Value,
    #[serde(default)]
    pub revoked: bool,
}

/// The line of the top-level key that `error` refuses: serde_yaml locates it at the document's start, which its
/// message leaves out (it locates every key below the top level itself).
fn top_level_line(text: &str, error: &serde_yaml::Error) -> Option<usize> {
    if error.location().is_some_and(|location| location.index() > 0) {
        return None;
    }
    let message = error.to_string();
    let key = message.strip_prefix("unknown field `")?.split('`').next()?;
    text.lines()
        .position(|line| line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':')))
        .map(|i| i + 1)
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn default_intent() -> Intent {
    Intent::Api
}
fn default_true() -> bool {
    true
}
fn default_account() -> String {
    DEFAULT_ACCOUNT.to_string()
}

/// The NetBird account every user belongs to unless the seed says otherwise.
pub const DEFAULT_ACCOUNT: &str = "default";
/// Identifier of the bootstrap token, as authentik names it.
pub const BOOTSTRAP_TOKEN_IDENTIFIER: &str = "authentik-bootstrap-token";

impl SeedFile {
    pub fn load(path: &Path) -> Result<SeedFile, SeedError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| SeedError::Read { path: path.display().to_string(), error })?;
        SeedFile::parse(path, &text)
    }

    /// The seed file `text`, read from `path`.
    fn parse(path: &Path, text: &str) -> Result<SeedFile, SeedError> {
        serde_yaml::from_str(text).map_err(|error| {
            let at = top_level_line(text, &error).map(|line| format!(" at line {line}")).unwrap_or_default();
            SeedError::Parse { path: path.display().to_string(), error, at }
        })
    }

    /// A seed document given as JSON (the admin API's `PUT /_tokenstack/state`).
    pub fn from_json(value: serde_json::Value) -> Result<SeedFile, SeedError> {
        serde_json::from_value(value).map_err(|err| SeedError::Invalid(err.to_string()))
    }

    /// The seed document that [`SeedFile::snapshot`] turns back into `snapshot` (PATs as their hashes).
    pub fn from_snapshot(snapshot: Snapshot) -> Result<SeedFile, SeedError> {
        // Indexed once: a snapshot can hold a million tokens (the first user with a pk wins, as a scan would).
        let mut by_pk: HashMap<i64, &str> = HashMap::with_capacity(snapshot.ak_users.len());
        for user in &snapshot.ak_users {
            by_pk.entry(user.pk).or_insert(&user.username);
        }
        let username = |pk: i64| {
            by_pk
                .get(&pk)
                .map(|name| (*name).to_string())
                .ok_or_else(|| SeedError::Invalid(format!("no authentik user with pk {pk}")))
        };
        let mut pats_of: HashMap<&str, Vec<&Pat>> = HashMap::new();
        for pat in &snapshot.pats {
            pats_of.entry(&pat.user_id).or_default().push(pat);
        }
        let mut tokens = Vec::new();
        for token in &snapshot.core_tokens {
            tokens.push(TokenSeed {
                pk: Some(token.pk),
                identifier: token.identifier.clone(),
                user: username(token.user)?,
                key: Some(token.key.clone()),
                intent: token.intent,
                description: token.description.clone(),
                expires: Some(token.expires),
                expiring: token.expiring,
                managed: token.managed.clone(),
                key_viewers: Some(token.key_viewers.iter().map(|pk| username(*pk)).collect::<Result<_, _>>()?),
            });
        }
        let (mut access_tokens, mut refresh_tokens) = (Vec::new(), Vec::new());
        for token in &snapshot.oauth_tokens {
            let seed = OAuthSeed {
                pk: token.pk,
                provider: token.provider,
                user: username(token.user)?,
                token: Some(token.token.clone()),
                expires: token.expires,
                scope: token.scope.clone(),
                id_token: token.id_token.clone(),
                revoked: token.revoked,
            };
            match token.kind {
                OAuthKind::Access => access_tokens.push(seed),
                OAuthKind::Refresh => refresh_tokens.push(seed),
            }
        }
        let users = snapshot
            .nb_users
            .iter()
            .map(|user| NbUserSeed {
                id: user.id.clone(),
                account_id: user.account_id.clone(),
                role: user.role,
                service_user: user.is_service_user,
                blocked: user.blocked,
                name: user.name.clone(),
                email: user.email.clone(),
                auto_groups: user.auto_groups.clone(),
                pats: pats_of
                    .get(user.id.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|pat| PatSeed {
                        id: Some(pat.id.clone()),
                        name: pat.name.clone(),
                        token: None,
                        hashed_token: Some(pat.hashed_token.clone()),
                        expires_in: default_expires_in(),
                        expiration_date: Some(pat.expiration_date),
                        created_at: Some(pat.created_at),
                        created_by: Some(pat.created_by.clone()),
                        last_used: pat.last_used,
                    })
                    .collect(),
            })
            .collect();
        Ok(SeedFile {
            authentik: AuthentikSeed {
                users: snapshot.ak_users.clone(),
                providers: snapshot.providers.clone(),
                applications: snapshot.applications.clone(),
                tokens,
                access_tokens,
                refresh_tokens,
                key_pairs: snapshot.key_pairs.clone(),
                scope_mappings: snapshot.scope_mappings.clone(),
                groups: {
                    // Indexed once, as the users above: the groups some user's row embeds are exported there.
                    let named: std::collections::HashSet<Uuid> =
                        snapshot.ak_users.iter().flat_map(|u| u.groups.iter().map(|g| g.pk)).collect();
                    snapshot.ak_groups.iter().filter(|g| !named.contains(&g.pk)).cloned().collect()
                },
            },
            netbird: NetbirdSeed {
                users,
                groups: snapshot.nb_groups.clone(),
                setup_keys: snapshot.nb_setup_keys.iter().map(SetupKeySeed::of).collect(),
                peers: snapshot.nb_peers.clone(),
                accounts: snapshot.nb_accounts.clone(),
            },
        })
    }

    /// The store contents this seed describes, at time `now`.
    pub fn snapshot(self, now: DateTime<Utc>) -> Result<Snapshot, SeedError> {
        let ak = self.authentik;
        // Indexed once: a seed can hold a million tokens (the first user with a username wins, as a scan would).
        let mut by_username: HashMap<&str, i64> = HashMap::with_capacity(ak.users.len());
        for user in &ak.users {
            by_username.entry(user.username.as_str()).or_insert(user.pk);
        }
        let username_pk = |username: &str| {
            by_username
                .get(username)
                .copied()
                .ok_or_else(|| SeedError::Invalid(format!("unknown authentik user {username:?}")))
        };
        let mut core_tokens = Vec::new();
        for token in ak.tokens {
            let user = username_pk(&token.user)?;
            let key_viewers = match &token.key_viewers {
                Some(names) => names.iter().map(|name| username_pk(name)).collect::<Result<_, _>>()?,
                None => vec![user],
            };
            core_tokens.push(CoreToken {
                pk: token.pk.unwrap_or_else(Uuid::new_v4),
                identifier: token.identifier,
                key: token.key.unwrap_or_else(|| Secret::new(generate_key())),
                intent: token.intent,
                user,
                description: token.description,
                expires: token.expires.unwrap_or(Some(now + TimeDelta::days(1))),
                expiring: token.expiring,
                managed: token.managed,
                key_viewers,
            });
        }
        let mut oauth_tokens = Vec::new();
        for (kind, seeds) in [(OAuthKind::Access, ak.access_tokens), (OAuthKind::Refresh, ak.refresh_tokens)] {
            for seed in seeds {
                oauth_tokens.push(OAuthToken {
                    pk: seed.pk,
                    kind,
                    provider: seed.provider,
                    user: username_pk(&seed.user)?,
                    token: seed.token.unwrap_or_else(|| Secret::new(generate_key())),
                    expires: seed.expires,
                    scope: seed.scope,
                    id_token: seed.id_token,
                    revoked: seed.revoked,
                });
            }
        }
        let mut nb_users = Vec::new();
        let mut pats = Vec::new();
        let nb = self.netbird;
        let nb_setup_keys = nb.setup_keys.into_iter().map(|key| key.into_key(now)).collect::<Result<_, _>>()?;
        for user in nb.users {
            for pat in user.pats {
                let hashed_token = match (&pat.token, pat.hashed_token) {
                    (Some(token), None) => {
                        parse_pat(token.expose())
                            .map_err(|err| SeedError::Invalid(format!("PAT {:?} of {}: {err}", pat.name, user.id)))?;
                        hash_pat(token.expose())
                    }
                    (None, Some(hashed)) => hashed,
                    _ => {
                        return Err(SeedError::Invalid(format!(
                            "PAT {:?} of {}: give exactly one of token and hashed_token",
                            pat.name, user.id
                        )));
                    }
                };
                let expiration_date = match pat.expiration_date {
                    Some(at) => at,
                    None => TimeDelta::try_days(pat.expires_in)
                        .and_then(|days| now.checked_add_signed(days))
                        .ok_or_else(|| {
                            SeedError::Invalid(format!(
                                "PAT {:?} of {}: expires_in {} days is out of range",
                                pat.name, user.id, pat.expires_in
                            ))
                        })?,
                };
                pats.push(Pat {
                    id: pat.id.unwrap_or_else(new_xid_like_id),
                    user_id: user.id.clone(),
                    name: pat.name,
                    hashed_token,
                    expiration_date,
                    created_by: pat.created_by.unwrap_or_else(|| user.id.clone()),
                    created_at: pat.created_at.unwrap_or(now),
                    last_used: pat.last_used,
                });
            }
            nb_users.push(NbUser {
                is_service_user: user.service_user,
                blocked: user.blocked,
                name: user.name,
                email: user.email,
                auto_groups: user.auto_groups,
                ..NbUser::new(user.id, user.account_id, user.role)
            });
        }
        let mut users = ak.users;
        let ak_groups = group_rows(ak.groups, &mut users);
        Ok(Snapshot {
            ak_users: users,
            // A seed may leave a provider's client id and secret out: they are generated here, once.
            providers: ak.providers.into_iter().map(AkProvider::with_credentials).collect(),
            applications: ak.applications,
            core_tokens,
            oauth_tokens,
            nb_users,
            pats,
            key_pairs: ak.key_pairs,
            nb_groups: nb.groups,
            scope_mappings: crate::authentik::with_managed_scope_mappings(ak.scope_mappings),
            nb_setup_keys,
            nb_peers: nb.peers,
            nb_accounts: nb.accounts,
            ak_sessions: Vec::new(),
            ak_user_consents: Vec::new(),
            ak_device_tokens: Vec::new(),
            ak_groups,
        })
    }
}

/// Loads the seed into the store only when the store is empty, so that a durable store (SQLite,
/// PostgreSQL) seeded on its first start keeps its data across restarts instead of being reset to
/// the seed; returns whether the seed was loaded. A memory store is always empty at start.
pub async fn seed_if_empty(store: &dyn Store, snapshot: Snapshot) -> Result<bool, SeedError> {
    if store.export().await? != Snapshot::default() {
        return Ok(false);
    }
    let accounts = nb_accounts(&snapshot);
    store.import(snapshot).await?;
    ensure_all_groups(store, &accounts).await?;
    Ok(true)
}

/// The accounts of a snapshot's NetBird users, each once: in tokenstack an account comes into being with its users.
pub fn nb_accounts(snapshot: &Snapshot) -> Vec<String> {
    let mut accounts: Vec<String> = snapshot.nb_users.iter().map(|user| user.account_id.clone()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    accounts
}

/// Gives each account its `All` group unless it has one, as NetBird makes it with every account
/// (`Account.AddAllGroup`); run after a seed or a loaded state is imported.
pub async fn ensure_all_groups(store: &dyn Store, accounts: &[String]) -> Result<(), StoreError> {
    for account in accounts {
        crate::netbird::ensure_all_group(store, account).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
