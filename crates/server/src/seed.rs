//! The seed file (`--seed`, YAML) and the bootstrap credentials, turned into store contents.
//!
//! The format is documented in README.md and shown in `examples/seed.yaml`. Tokens and OAuth2 tokens name
//! their user by username; NetBird PATs are given in plain text and stored only as their sha256 hash.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::model::{AkProvider, AkUser, AkUserType, CoreToken, Intent, NbRole, NbUser, OAuthKind, OAuthToken, Pat};
use crate::secrets::{Secret, generate_key, generate_pat, hash_pat, new_xid_like_id, parse_pat};
use crate::store::{Snapshot, Store, StoreError};

/// Why seeding or bootstrapping failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("seed file {path} is invalid: {source}")]
    Parse { path: String, source: serde_yaml::Error },
    #[error("seed: {0}")]
    Invalid(String),
    #[error("TOKENSTACK_BOOTSTRAP_PAT is not a valid NetBird PAT (40 characters, `nbp_` prefix, correct checksum): {0}")]
    BadBootstrapPat(String),
    #[error("seed could not be stored: {0}")]
    Store(#[from] StoreError),
}

/// The whole seed document.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeedFile {
    pub authentik: AuthentikSeed,
    pub netbird: NetbirdSeed,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthentikSeed {
    pub users: Vec<AkUser>,
    pub providers: Vec<AkProvider>,
    pub tokens: Vec<TokenSeed>,
    pub access_tokens: Vec<OAuthSeed>,
    pub refresh_tokens: Vec<OAuthSeed>,
}

/// A core token; `key` is generated when absent, `expires` defaults to a day from start-up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSeed {
    pub identifier: String,
    /// Username of the owner.
    pub user: String,
    pub key: Option<String>,
    #[serde(default = "default_intent")]
    pub intent: Intent,
    #[serde(default)]
    pub description: String,
    pub expires: Option<DateTime<Utc>>,
    #[serde(default = "default_true")]
    pub expiring: bool,
    pub managed: Option<String>,
}

/// An OAuth2 access or refresh token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSeed {
    pub pk: i64,
    /// pk of the provider.
    pub provider: i64,
    /// Username of the owner.
    pub user: String,
    pub token: Option<String>,
    pub expires: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub id_token: serde_json::Value,
    #[serde(default)]
    pub revoked: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetbirdSeed {
    pub users: Vec<NbUserSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NbUserSeed {
    pub id: String,
    #[serde(default = "default_account")]
    pub account_id: String,
    pub role: NbRole,
    #[serde(default)]
    pub service_user: bool,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub pats: Vec<PatSeed>,
}

/// A PAT given in plain text (`nbp_…`); only its hash is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatSeed {
    pub id: Option<String>,
    pub name: String,
    pub token: String,
    /// Days until expiry (default 365).
    #[serde(default = "default_expires_in")]
    pub expires_in: i64,
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
fn default_expires_in() -> i64 {
    365
}

/// The NetBird account every user belongs to unless the seed says otherwise.
pub const DEFAULT_ACCOUNT: &str = "default";
/// Identifier of the bootstrap token, as authentik names it.
pub const BOOTSTRAP_TOKEN_IDENTIFIER: &str = "authentik-bootstrap-token";

impl SeedFile {
    pub fn load(path: &Path) -> Result<SeedFile, SeedError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SeedError::Read { path: path.display().to_string(), source })?;
        serde_yaml::from_str(&text).map_err(|source| SeedError::Parse { path: path.display().to_string(), source })
    }

    /// The store contents this seed describes, at time `now`.
    pub fn snapshot(self, now: DateTime<Utc>) -> Result<Snapshot, SeedError> {
        let username_pk = |users: &[AkUser], username: &str| {
            users
                .iter()
                .find(|u| u.username == username)
                .map(|u| u.pk)
                .ok_or_else(|| SeedError::Invalid(format!("unknown authentik user {username:?}")))
        };
        let ak = self.authentik;
        let mut core_tokens = Vec::new();
        for token in ak.tokens {
            let user = username_pk(&ak.users, &token.user)?;
            core_tokens.push(CoreToken {
                pk: Uuid::new_v4(),
                identifier: token.identifier,
                key: Secret::new(token.key.unwrap_or_else(generate_key)),
                intent: token.intent,
                user,
                description: token.description,
                expires: Some(token.expires.unwrap_or(now + TimeDelta::days(1))),
                expiring: token.expiring,
                managed: token.managed,
                key_viewers: vec![user],
            });
        }
        let mut oauth_tokens = Vec::new();
        for (kind, seeds) in [(OAuthKind::Access, ak.access_tokens), (OAuthKind::Refresh, ak.refresh_tokens)] {
            for seed in seeds {
                oauth_tokens.push(OAuthToken {
                    pk: seed.pk,
                    kind,
                    provider: seed.provider,
                    user: username_pk(&ak.users, &seed.user)?,
                    token: Secret::new(seed.token.unwrap_or_else(generate_key)),
                    expires: seed.expires,
                    scope: seed.scope,
                    id_token: seed.id_token,
                    revoked: seed.revoked,
                });
            }
        }
        let mut nb_users = Vec::new();
        let mut pats = Vec::new();
        for user in self.netbird.users {
            for pat in user.pats {
                parse_pat(&pat.token)
                    .map_err(|err| SeedError::Invalid(format!("PAT {:?} of {}: {err}", pat.name, user.id)))?;
                pats.push(Pat {
                    id: pat.id.unwrap_or_else(new_xid_like_id),
                    user_id: user.id.clone(),
                    name: pat.name,
                    hashed_token: hash_pat(&pat.token),
                    expiration_date: now + TimeDelta::days(pat.expires_in),
                    created_by: user.id.clone(),
                    created_at: now,
                    last_used: None,
                });
            }
            nb_users.push(NbUser {
                id: user.id,
                account_id: user.account_id,
                role: user.role,
                is_service_user: user.service_user,
                blocked: user.blocked,
            });
        }
        Ok(Snapshot { ak_users: ak.users, providers: ak.providers, core_tokens, oauth_tokens, nb_users, pats })
    }
}

/// The credentials a fresh server can be used with, and whether tokenstack generated them.
#[derive(Clone)]
pub struct Bootstrap {
    pub authentik_key: Secret,
    pub authentik_generated: bool,
    pub netbird_user: String,
    pub netbird_pat: Secret,
    pub netbird_generated: bool,
}

/// Loads the seed into the store only when the store is empty, so that a durable store (SQLite,
/// PostgreSQL) seeded on its first start keeps its data across restarts instead of being reset to
/// the seed; returns whether the seed was loaded. A memory store is always empty at start.
pub async fn seed_if_empty(store: &dyn Store, snapshot: Snapshot) -> Result<bool, SeedError> {
    if store.export().await? != Snapshot::default() {
        return Ok(false);
    }
    store.import(snapshot).await?;
    Ok(true)
}

/// Adds the bootstrap superuser `akadmin` with a non-expiring `api` token, and a NetBird owner with a PAT,
/// as authentik's `AUTHENTIK_BOOTSTRAP_TOKEN` does; values that are not given are generated.
///
/// Idempotent on a durable store: an existing `akadmin`, bootstrap token (its key is set to the given or
/// generated one) and NetBird owner are kept, and a bootstrap PAT already stored is reused; a generated
/// PAT replaces the `bootstrap` PATs of earlier starts, as a generated authentik key replaces the old key.
/// Replicas starting at once on a shared store converge instead of failing on each other's inserts.
pub async fn bootstrap(
    store: &dyn Store,
    now: DateTime<Utc>,
    authentik_key: Option<String>,
    netbird_pat: Option<String>,
    netbird_user: &str,
) -> Result<Bootstrap, SeedError> {
    if let Some(pat) = &netbird_pat {
        parse_pat(pat).map_err(|err| SeedError::BadBootstrapPat(err.to_string()))?;
    }
    let admin = match store.ak_user_by_username("akadmin").await {
        Ok(user) => user,
        Err(StoreError::NotFound) => {
            let snapshot = store.export().await?;
            let pk = snapshot.ak_users.iter().map(|u| u.pk).max().unwrap_or(0) + 1;
            let user = AkUser {
                pk,
                username: "akadmin".to_string(),
                name: "authentik Default Admin".to_string(),
                email: "root@localhost".to_string(),
                is_active: true,
                is_superuser: true,
                groups: Vec::new(),
                user_type: AkUserType::Internal,
                uuid: Uuid::new_v4(),
                path: "users".to_string(),
                date_joined: now,
                last_login: None,
                last_updated: now,
                password_change_date: now,
                attributes: Default::default(),
            };
            match store.insert_ak_user(user.clone()).await {
                Ok(()) => user,
                // Another replica created it (or took the pk) first.
                Err(StoreError::Duplicate { .. }) => store.ak_user_by_username("akadmin").await?,
                Err(err) => return Err(err.into()),
            }
        }
        Err(err) => return Err(err.into()),
    };
    let authentik_generated = authentik_key.is_none();
    let key = Secret::new(authentik_key.unwrap_or_else(generate_key));
    let token = CoreToken {
        pk: Uuid::new_v4(),
        identifier: BOOTSTRAP_TOKEN_IDENTIFIER.to_string(),
        key: key.clone(),
        intent: Intent::Api,
        user: admin.pk,
        description: "Bootstrap token".to_string(),
        expires: None,
        expiring: false,
        managed: None,
        key_viewers: vec![admin.pk],
    };
    match store.insert_core_token(token).await {
        Ok(_) => {}
        Err(StoreError::Duplicate { field: "identifier" }) => {
            store.set_core_token_key(BOOTSTRAP_TOKEN_IDENTIFIER, key.clone()).await?;
        }
        Err(StoreError::Duplicate { field: "key" })
            if store.core_token_by_key(key.expose()).await?.identifier == BOOTSTRAP_TOKEN_IDENTIFIER => {}
        Err(err) => return Err(err.into()),
    }

    let netbird_generated = netbird_pat.is_none();
    let plain = netbird_pat.unwrap_or_else(|| generate_pat().0);
    match store
        .insert_nb_user(NbUser {
            id: netbird_user.to_string(),
            account_id: DEFAULT_ACCOUNT.to_string(),
            role: NbRole::Owner,
            is_service_user: false,
            blocked: false,
        })
        .await
    {
        Ok(()) | Err(StoreError::Duplicate { field: "id" }) => {}
        Err(err) => return Err(err.into()),
    }
    let hashed = hash_pat(&plain);
    let owned_by_user = |pat: &Pat| {
        if pat.user_id == netbird_user {
            Ok(())
        } else {
            Err(SeedError::Invalid(format!(
                "the bootstrap PAT is already stored for NetBird user {:?}, not {netbird_user:?}",
                pat.user_id
            )))
        }
    };
    match store.pat_by_hash(&hashed).await {
        Ok(existing) => owned_by_user(&existing)?,
        Err(StoreError::NotFound) => {
            if netbird_generated {
                for old in store.list_pats(netbird_user).await? {
                    if old.name == "bootstrap" {
                        match store.delete_pat(netbird_user, &old.id).await {
                            Ok(()) | Err(StoreError::NotFound) => {}
                            Err(err) => return Err(err.into()),
                        }
                    }
                }
            }
            let inserted = store
                .insert_pat(Pat {
                    id: new_xid_like_id(),
                    user_id: netbird_user.to_string(),
                    name: "bootstrap".to_string(),
                    hashed_token: hashed.clone(),
                    expiration_date: now + TimeDelta::days(365),
                    created_by: netbird_user.to_string(),
                    created_at: now,
                    last_used: None,
                })
                .await;
            match inserted {
                Ok(()) => {}
                // A replica starting with the same PAT stored it first.
                Err(StoreError::Duplicate { field: "hashed_token" }) => owned_by_user(&store.pat_by_hash(&hashed).await?)?,
                Err(err) => return Err(err.into()),
            }
        }
        Err(err) => return Err(err.into()),
    }
    Ok(Bootstrap {
        authentik_key: key,
        authentik_generated,
        netbird_user: netbird_user.to_string(),
        netbird_pat: Secret::new(plain),
        netbird_generated,
    })
}
