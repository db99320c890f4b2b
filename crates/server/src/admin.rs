//! tokenstack's admin rules (the `/_tokenstack/` API): reset, load and export the whole state, and add the
//! users, providers and OAuth2 tokens that the upstream APIs cannot create. No HTTP knowledge.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::model::{AkGroup, AkKeyPair, AkProvider, AkUser, NbUser, OAuthToken};
use crate::secrets::Secret;
use crate::seed::{self, Bootstrap, SeedError, SeedFile};
use crate::store::{Field, Snapshot, Store, StoreError};

/// Why an admin operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request cannot be carried out; the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SeedError> for AdminError {
    fn from(error: SeedError) -> Self {
        match error {
            SeedError::Store(error) => AdminError::Store(error),
            other => AdminError::Invalid(other.to_string()),
        }
    }
}

/// What the admin API needs: its token, the state to reset to, the credentials to keep after a load.
pub struct AdminState {
    token: Secret,
    /// Shared with the task that makes the stand-in key pairs after start-up, which adds them.
    initial: Arc<Mutex<Snapshot>>,
    bootstrap: Bootstrap,
    /// `--blueprint-skip-unknown`.
    blueprint_skip_unknown: bool,
}

impl AdminState {
    /// `initial` is the state right after seeding and bootstrapping.
    pub fn new(token: Secret, initial: Snapshot, bootstrap: Bootstrap) -> Self {
        AdminState { token, initial: Arc::new(Mutex::new(initial)), bootstrap, blueprint_skip_unknown: false }
    }

    /// Whether a loaded blueprint's entries of models tokenstack does not serve are skipped (`--blueprint-skip-unknown`).
    pub fn with_blueprint_skip_unknown(mut self, skip: bool) -> Self {
        self.blueprint_skip_unknown = skip;
        self
    }

    /// What gives the start-up state the key pairs made after start-up (the store had none when it was taken).
    pub fn key_pairs_sink(&self) -> impl FnOnce(&[AkKeyPair]) + Send + 'static {
        let initial = self.initial.clone();
        move |pairs: &[AkKeyPair]| {
            initial.lock().unwrap_or_else(|e| e.into_inner()).key_pairs.extend(pairs.iter().cloned());
        }
    }

    /// Whether `given` is the admin token, compared in constant time.
    pub fn accepts(&self, given: &str) -> bool {
        let (a, b) = (given.as_bytes(), self.token.expose().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// Restores the start-up state.
    pub async fn reset(&self, store: &dyn Store) -> Result<(), AdminError> {
        let initial = self.initial.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(store.import(initial).await?)
    }

    /// Replaces the state with a seed document or a blueprint, gives each of its NetBird accounts its `All` group,
    /// then re-applies the bootstrap credentials; on any error the previous state is kept. Returns the warnings of
    /// the blueprint's skipped entries.
    pub async fn load(
        &self,
        store: &dyn Store,
        now: DateTime<Utc>,
        document: serde_json::Value,
    ) -> Result<Vec<String>, AdminError> {
        let blueprint = match &document {
            serde_json::Value::String(text) => seed::blueprint::is_blueprint_text(text),
            document => seed::blueprint::is_blueprint_value(document),
        };
        let (seed, warnings) = {
            let env = |name: &str| std::env::var(name).ok();
            let options = seed::blueprint::Options { skip_unknown: self.blueprint_skip_unknown, env: &env };
            SeedFile::from_document(document, &options, now)?
        };
        let mut snapshot = seed.snapshot(now)?;
        if blueprint {
            // A blueprint is applied to a fresh install: the key pairs made at start-up stay unless it brings its own.
            let initial = self.initial.lock().unwrap_or_else(|e| e.into_inner()).key_pairs.clone();
            if snapshot.key_pairs.is_empty() {
                snapshot.key_pairs = initial;
            }
        }
        let previous = store.export().await?;
        let accounts = seed::nb_accounts(&snapshot);
        store.import(snapshot).await?;
        let bootstrap = &self.bootstrap;
        let applied = async {
            seed::ensure_all_groups(store, &accounts).await?;
            seed::bootstrap_with_admin(
                store,
                now,
                Some(bootstrap.authentik_key.expose().to_string()),
                bootstrap.netbird_pat.as_ref().map(|pat| pat.expose().to_string()),
                (!bootstrap.netbird_setup).then_some(bootstrap.netbird_user.as_str()),
                &bootstrap.admin,
            )
            .await
        }
        .await;
        if let Err(err) = applied {
            store.import(previous).await?;
            return Err(err.into());
        }
        Ok(warnings)
    }
}

/// The whole state as a seed document (a JSON object).
pub async fn export(store: &dyn Store) -> Result<serde_json::Map<String, serde_json::Value>, AdminError> {
    let seed = SeedFile::from_snapshot(store.export().await?)?;
    match serde_json::to_value(seed) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(StoreError::backend("the state does not serialize as a JSON object").into()),
    }
}

pub async fn add_ak_user(store: &dyn Store, user: AkUser) -> Result<AkUser, AdminError> {
    if user.username.is_empty() {
        return Err(AdminError::Invalid("username must not be empty".to_string()));
    }
    let mut user = user;
    let mut created = Vec::new();
    for copy in &mut user.groups {
        // A group is named by its name: an existing one is joined as it is, a new one is created.
        match store.get::<AkGroup>(Field::Name, &copy.name).await {
            Ok(group) => *copy = group,
            Err(StoreError::NotFound) => created.push(copy.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    store.insert_with_pk(user.clone()).await?;
    for group in created {
        match store.insert(group).await {
            Ok(_) | Err(StoreError::Duplicate { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(user)
}

pub async fn add_provider(store: &dyn Store, provider: AkProvider) -> Result<AkProvider, AdminError> {
    Ok(store.insert_with_pk(provider).await?)
}

/// The authentik user an admin request names by username.
pub async fn ak_user_named(store: &dyn Store, username: &str) -> Result<AkUser, AdminError> {
    match store.get::<AkUser>(Field::Username, username).await {
        Err(StoreError::NotFound) => Err(AdminError::Invalid(format!("unknown authentik user {username:?}"))),
        other => Ok(other?),
    }
}

pub async fn add_oauth_token(store: &dyn Store, token: OAuthToken) -> Result<OAuthToken, AdminError> {
    store.insert_oauth_token(token.clone(), false).await?;
    Ok(token)
}

pub async fn add_nb_user(store: &dyn Store, user: NbUser) -> Result<NbUser, AdminError> {
    if user.id.is_empty() {
        return Err(AdminError::Invalid("id must not be empty".to_string()));
    }
    store.insert(user.clone()).await?;
    // A user of a new account brings the account, and with it its `All` group.
    crate::netbird::ensure_all_group(store, &user.account_id).await?;
    Ok(user)
}
