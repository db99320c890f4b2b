//! The bootstrap credentials: the superuser `akadmin` with its non-expiring `api` token and the NetBird owner with
//! its PAT, as authentik's `AUTHENTIK_BOOTSTRAP_TOKEN` does; generated (and printed) only for a new store.

use chrono::{DateTime, TimeDelta, Utc};

use super::{BOOTSTRAP_TOKEN_IDENTIFIER, DEFAULT_ACCOUNT, SeedError};
use crate::model::{AkUser, CoreToken, NbRole, NbUser, Pat};
use crate::pagination::PageRequest;
use crate::secrets::{PasswordHash, Secret, generate_key, generate_pat, hash_pat, new_xid_like_id, parse_pat};
use crate::store::query::Listing;
use crate::store::{Field, Store, StoreError, UserField};

/// The email of a new `akadmin`, as authentik's bootstrap blueprint sets it when `AUTHENTIK_BOOTSTRAP_EMAIL` is unset.
pub const DEFAULT_ADMIN_EMAIL: &str = "root@localhost";

/// The name of the bootstrap owner's PAT.
pub const BOOTSTRAP_PAT_NAME: &str = "bootstrap";

/// The credentials a fresh server can be used with, and whether tokenstack generated them (Debug hides the
/// secrets).
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub authentik_key: Secret,
    pub authentik_generated: bool,
    pub netbird_user: String,
    /// `None` when a durable store already held the bootstrap PAT and none was given: it is stored hashed, so
    /// only whoever received it at the first start knows it.
    pub netbird_pat: Option<Secret>,
    pub netbird_generated: bool,
    /// `--netbird-setup`: no NetBird owner is made here; `POST /api/setup` makes it.
    pub netbird_setup: bool,
    /// What `akadmin` gets when it is created (a state load re-creates it with this).
    pub admin: AdminBootstrap,
}

/// What a new `akadmin` gets, as authentik's bootstrap blueprint sets it at the user's creation only.
#[derive(Debug, Clone)]
pub struct AdminBootstrap {
    /// `--bootstrap-email`, authentik's `AUTHENTIK_BOOTSTRAP_EMAIL`.
    pub email: String,
    /// `--bootstrap-password`, authentik's `AUTHENTIK_BOOTSTRAP_PASSWORD`; without it, no usable password.
    pub password: Option<Secret>,
}

impl Default for AdminBootstrap {
    fn default() -> Self {
        AdminBootstrap { email: DEFAULT_ADMIN_EMAIL.to_string(), password: None }
    }
}

/// Adds the bootstrap superuser `akadmin` with a non-expiring `api` token, and a NetBird owner with a PAT (and their
/// account's `All` group), as authentik's `AUTHENTIK_BOOTSTRAP_TOKEN` does; values that are not given are generated.
///
/// Idempotent on a durable store: an existing `akadmin`, bootstrap token and NetBird owner are kept; the stored
/// key and `bootstrap` PAT stay unless others are given, so credentials are generated (and printed) only for a
/// new store. Replicas starting at once on a shared store converge instead of failing on each other's inserts.
pub async fn bootstrap(
    store: &dyn Store,
    now: DateTime<Utc>,
    authentik_key: Option<String>,
    netbird_pat: Option<String>,
    netbird_user: &str,
) -> Result<Bootstrap, SeedError> {
    let admin = AdminBootstrap::default();
    bootstrap_with_admin(store, now, authentik_key, netbird_pat, Some(netbird_user), &admin).await
}

/// [`bootstrap`] with the email and password a new `akadmin` gets (`--bootstrap-email`, `--bootstrap-password`,
/// authentik's `AUTHENTIK_BOOTSTRAP_EMAIL` and `AUTHENTIK_BOOTSTRAP_PASSWORD`): like authentik's blueprint, only at
/// the creation of the user; an existing `akadmin` keeps its email and password. Without a `netbird_user`
/// (`--netbird-setup`) no NetBird owner or PAT is made: `POST /api/setup` makes the owner.
pub async fn bootstrap_with_admin(
    store: &dyn Store,
    now: DateTime<Utc>,
    authentik_key: Option<String>,
    netbird_pat: Option<String>,
    netbird_user: Option<&str>,
    new_admin: &AdminBootstrap,
) -> Result<Bootstrap, SeedError> {
    if let Some(pat) = &netbird_pat {
        parse_pat(pat).map_err(|err| SeedError::BadBootstrapPat(err.to_string()))?;
    }
    let admin = match store.get::<AkUser>(Field::Username, "akadmin").await {
        Ok(user) => user,
        Err(StoreError::NotFound) => {
            let highest =
                Listing::new(None, &[], UserField::Pk, PageRequest::new(Some(1), Some(1)).unwrap_or_default())
                    .order_by(&[(UserField::Pk, true)]);
            if store.list::<AkUser>(&highest).await?.items.first().is_some_and(|u| u.pk == i64::MAX) {
                return Err(SeedError::Invalid(
                    "no user pk is left for akadmin: the largest pk is i64::MAX".to_string(),
                ));
            }
            let user = AkUser {
                name: "authentik Default Admin".to_string(),
                email: new_admin.email.clone(),
                is_superuser: true,
                password: new_admin.password.as_ref().map(|password| PasswordHash::new(password.expose())),
                ..AkUser::new(0, "akadmin", now)
            };
            match store.insert(user).await {
                Ok(user) => user,
                // Another replica created it (or took the pk) first.
                Err(StoreError::Duplicate { .. }) => store.get::<AkUser>(Field::Username, "akadmin").await?,
                Err(err) => return Err(err.into()),
            }
        }
        Err(err) => return Err(err.into()),
    };
    let (key, authentik_generated) = bootstrap_token(store, admin.pk, authentik_key).await?;
    let Some(netbird_user) = netbird_user else {
        return Ok(Bootstrap {
            authentik_key: key,
            authentik_generated,
            netbird_user: String::new(),
            netbird_pat: None,
            netbird_generated: false,
            netbird_setup: true,
            admin: new_admin.clone(),
        });
    };
    let (netbird_pat, netbird_generated) = bootstrap_pat(store, now, netbird_pat, netbird_user).await?;
    // The owner's account has its `All` group, as every NetBird account from its creation.
    let owner = store.get::<NbUser>(Field::Id, netbird_user).await?;
    crate::netbird::ensure_all_group(store, &owner.account_id).await?;
    Ok(Bootstrap {
        authentik_key: key,
        authentik_generated,
        netbird_user: netbird_user.to_string(),
        netbird_pat,
        netbird_generated,
        netbird_setup: false,
        admin: new_admin.clone(),
    })
}

/// The bootstrap token's key: the given one (set on the stored token if it differs), else the stored one, else a
/// new one (the only case that is "generated", and so printed).
async fn bootstrap_token(store: &dyn Store, admin: i64, given: Option<String>) -> Result<(Secret, bool), SeedError> {
    let stored = match store.core_token(BOOTSTRAP_TOKEN_IDENTIFIER).await {
        Ok(token) => Some(token),
        Err(StoreError::NotFound) => None,
        Err(err) => return Err(err.into()),
    };
    if let Some(stored) = stored {
        return match given {
            Some(key) if key != stored.key.expose() => {
                let key = Secret::new(key);
                store.set_core_token_key(stored.pk, key.clone()).await?;
                Ok((key, false))
            }
            _ => Ok((stored.key, false)),
        };
    }
    let generated = given.is_none();
    let key = Secret::new(given.unwrap_or_else(generate_key));
    let token = CoreToken {
        description: "Bootstrap token".to_string(),
        expiring: false,
        key_viewers: vec![admin],
        ..CoreToken::new(BOOTSTRAP_TOKEN_IDENTIFIER, key.clone(), admin)
    };
    match store.insert_core_token(token).await {
        Ok(_) => Ok((key, generated)),
        // Another replica created it first: its key stands unless one was given.
        Err(StoreError::Duplicate { field: Field::Identifier }) => {
            let stored = store.core_token(BOOTSTRAP_TOKEN_IDENTIFIER).await?;
            if generated {
                Ok((stored.key, false))
            } else {
                store.set_core_token_key(stored.pk, key.clone()).await?;
                Ok((key, false))
            }
        }
        Err(StoreError::Duplicate { field: Field::Key })
            if store.core_token_by_key(key.expose()).await?.identifier == BOOTSTRAP_TOKEN_IDENTIFIER =>
        {
            Ok((key, false))
        }
        Err(err) => Err(err.into()),
    }
}

/// The bootstrap PAT: the given one (stored if missing), else the `bootstrap` PAT already stored (whose plain
/// value only its holder knows: `None`), else a new one (generated, and so printed).
async fn bootstrap_pat(
    store: &dyn Store,
    now: DateTime<Utc>,
    given: Option<String>,
    netbird_user: &str,
) -> Result<(Option<Secret>, bool), SeedError> {
    match store.insert(NbUser::new(netbird_user, DEFAULT_ACCOUNT, NbRole::Owner)).await {
        Ok(_) | Err(StoreError::Duplicate { field: Field::Id }) => {}
        Err(err) => return Err(err.into()),
    }
    let generated = given.is_none();
    if generated && store.list_pats(netbird_user).await?.iter().any(|p| p.name == BOOTSTRAP_PAT_NAME) {
        return Ok((None, false));
    }
    let plain = given.unwrap_or_else(|| generate_pat().0);
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
            let inserted = store
                .insert_pat(Pat {
                    id: new_xid_like_id(),
                    user_id: netbird_user.to_string(),
                    name: BOOTSTRAP_PAT_NAME.to_string(),
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
                Err(StoreError::Duplicate { field: Field::HashedToken }) => {
                    owned_by_user(&store.pat_by_hash(&hashed).await?)?
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(err) => return Err(err.into()),
    }
    Ok((Some(Secret::new(plain)), generated))
}
