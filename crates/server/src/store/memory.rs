//! `MemoryStore`: the in-memory `Store`, one `RwLock` over hash maps with secondary indexes.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::model::{AkProvider, AkUser, CoreToken, Intent, NbUser, OAuthKind, OAuthToken, Pat};
use crate::pagination::Slice;
use crate::secrets::{Secret, generate_key};
use crate::store::query::Value;
use crate::store::{
    CoreTokenField, CoreTokenQuery, ExpiryOutcome, OAuthField, OAuthQuery, Snapshot, Store, StoreError, TokenCounts,
};

/// An in-memory store. The lock is never held across `.await`: every method is synchronous inside.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, State>, StoreError> {
        self.state.read().map_err(|_| StoreError::backend("memory store lock poisoned"))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, State>, StoreError> {
        self.state.write().map_err(|_| StoreError::backend("memory store lock poisoned"))
    }
}

#[derive(Default)]
struct State {
    ak_users: HashMap<i64, AkUser>,
    ak_user_by_username: HashMap<String, i64>,
    providers: HashMap<i64, AkProvider>,
    /// Core tokens with their identifier, key, pk and user indexes.
    core: CoreTable,
    oauth: HashMap<(OAuthKind, i64), OAuthToken>,
    nb_users: HashMap<String, NbUser>,
    /// id → PAT
    pats: PatTable,
}

// Manual, so keys and hashes held in the indexes never reach a log.
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("ak_users", &self.ak_users.len())
            .field("providers", &self.providers.len())
            .field("core_tokens", &self.core.len())
            .field("oauth_tokens", &self.oauth.len())
            .field("nb_users", &self.nb_users.len())
            .field("pats", &self.pats.len())
            .finish()
    }
}

/// Core tokens in a slab, indexed by identifier, key, pk and user through slot numbers, so that
/// each token's strings are stored once (about 430 resident bytes per token at a million, where
/// string-keyed maps holding copies took about 1 KB).
#[derive(Default)]
struct CoreTable {
    slots: Vec<Option<CoreToken>>,
    free: Vec<u32>,
    by_identifier: StrIndex,
    by_key: StrIndex,
    by_pk: HashMap<Uuid, u32>,
    by_user: HashMap<i64, Vec<u32>>,
}

impl CoreTable {
    fn len(&self) -> usize {
        self.by_pk.len()
    }

    fn slot(&self, slot: u32) -> Option<&CoreToken> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn get(&self, identifier: &str) -> Option<&CoreToken> {
        let slot = self.by_identifier.get(identifier, |s| self.slot(s).map(|t| t.identifier.as_str()))?;
        self.slot(slot)
    }

    fn by_key(&self, key: &str) -> Option<&CoreToken> {
        let slot = self.by_key.get(key, |s| self.slot(s).map(|t| t.key.expose()))?;
        self.slot(slot)
    }

    fn contains_pk(&self, pk: &Uuid) -> bool {
        self.by_pk.contains_key(pk)
    }

    fn values(&self) -> impl Iterator<Item = &CoreToken> {
        self.slots.iter().flatten()
    }

    fn of_user(&self, user: i64) -> impl Iterator<Item = &CoreToken> {
        self.by_user.get(&user).into_iter().flatten().filter_map(|&s| self.slot(s))
    }

    /// Adds a token whose identifier, key and pk the caller has checked to be free.
    fn insert(&mut self, token: CoreToken) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 core tokens")
            }
        };
        let slots = &self.slots;
        let resolve = |s: u32| slots.get(s as usize).and_then(Option::as_ref);
        self.by_identifier.insert(&token.identifier, slot, |s| resolve(s).map(|t| t.identifier.as_str()));
        self.by_key.insert(token.key.expose(), slot, |s| resolve(s).map(|t| t.key.expose()));
        self.by_pk.insert(token.pk, slot);
        self.by_user.entry(token.user).or_default().push(slot);
        self.slots[slot as usize] = Some(token);
    }

    fn remove(&mut self, identifier: &str) -> Option<CoreToken> {
        let slot = self.by_identifier.get(identifier, |s| self.slot(s).map(|t| t.identifier.as_str()))?;
        let token = self.slots[slot as usize].take()?;
        self.by_identifier.remove(&token.identifier, slot);
        self.by_key.remove(token.key.expose(), slot);
        self.by_pk.remove(&token.pk);
        if let Some(slots) = self.by_user.get_mut(&token.user) {
            if let Some(at) = slots.iter().position(|&s| s == slot) {
                slots.swap_remove(at);
            }
            if slots.is_empty() {
                self.by_user.remove(&token.user);
            }
        }
        self.free.push(slot);
        Some(token)
    }
}

/// NetBird PATs in a slab, indexed by id, hashed token and user through slot numbers, as [`CoreTable`].
#[derive(Default)]
struct PatTable {
    slots: Vec<Option<Pat>>,
    free: Vec<u32>,
    by_id: StrIndex,
    by_hash: StrIndex,
    by_user: HashMap<String, Vec<u32>>,
}

impl PatTable {
    fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn slot(&self, slot: u32) -> Option<&Pat> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn find(&self, id: &str) -> Option<u32> {
        self.by_id.get(id, |s| self.slot(s).map(|p| p.id.as_str()))
    }

    fn get(&self, id: &str) -> Option<&Pat> {
        self.slot(self.find(id)?)
    }

    /// For fields no index covers (`last_used`).
    fn get_mut(&mut self, id: &str) -> Option<&mut Pat> {
        let slot = self.find(id)?;
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    fn by_hash(&self, hashed_token: &str) -> Option<&Pat> {
        let slot = self.by_hash.get(hashed_token, |s| self.slot(s).map(|p| p.hashed_token.as_str()))?;
        self.slot(slot)
    }

    fn values(&self) -> impl Iterator<Item = &Pat> {
        self.slots.iter().flatten()
    }

    fn of_user(&self, user_id: &str) -> impl Iterator<Item = &Pat> {
        self.by_user.get(user_id).into_iter().flatten().filter_map(|&s| self.slot(s))
    }

    /// Adds a PAT whose id and hashed token the caller has checked to be free.
    fn insert(&mut self, pat: Pat) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 PATs")
            }
        };
        let slots = &self.slots;
        let resolve = |s: u32| slots.get(s as usize).and_then(Option::as_ref);
        self.by_id.insert(&pat.id, slot, |s| resolve(s).map(|p| p.id.as_str()));
        self.by_hash.insert(&pat.hashed_token, slot, |s| resolve(s).map(|p| p.hashed_token.as_str()));
        match self.by_user.get_mut(&pat.user_id) {
            Some(slots) => slots.push(slot),
            None => {
                self.by_user.insert(pat.user_id.clone(), vec![slot]);
            }
        }
        self.slots[slot as usize] = Some(pat);
    }

    fn remove(&mut self, id: &str) -> Option<Pat> {
        let slot = self.find(id)?;
        let pat = self.slots[slot as usize].take()?;
        self.by_id.remove(&pat.id, slot);
        self.by_hash.remove(&pat.hashed_token, slot);
        if let Some(slots) = self.by_user.get_mut(&pat.user_id) {
            if let Some(at) = slots.iter().position(|&s| s == slot) {
                slots.swap_remove(at);
            }
            if slots.is_empty() {
                self.by_user.remove(&pat.user_id);
            }
        }
        self.free.push(slot);
        Some(pat)
    }
}

/// A unique string index that stores no copy of its strings: a random-keyed 64-bit hash maps to
/// the slot, and the slot's own string confirms the match. A string whose hash is already taken by
/// another one goes to a small exact map instead, so collisions cost space, never correctness.
#[derive(Default)]
struct StrIndex {
    hasher: RandomState,
    by_hash: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    collided: HashMap<Box<str>, u32>,
}

impl StrIndex {
    fn hash(&self, value: &str) -> u64 {
        self.hasher.hash_one(value)
    }

    fn get<'a>(&self, value: &str, resolve: impl Fn(u32) -> Option<&'a str>) -> Option<u32> {
        match self.by_hash.get(&self.hash(value)) {
            Some(&slot) if resolve(slot) == Some(value) => Some(slot),
            _ => self.collided.get(value).copied(),
        }
    }

    /// Adds a value the index does not hold yet.
    fn insert<'a>(&mut self, value: &str, slot: u32, resolve: impl Fn(u32) -> Option<&'a str>) {
        let hash = self.hash(value);
        match self.by_hash.get(&hash) {
            Some(&other) if resolve(other).is_some() => {
                self.collided.insert(value.into(), slot);
            }
            _ => {
                self.by_hash.insert(hash, slot);
            }
        }
    }

    fn remove(&mut self, value: &str, slot: u32) {
        let hash = self.hash(value);
        if self.by_hash.get(&hash) == Some(&slot) {
            self.by_hash.remove(&hash);
        } else {
            self.collided.remove(value);
        }
    }
}

/// The hasher of maps keyed by an already random-keyed 64-bit hash.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl State {
    fn insert_ak_user(&mut self, user: AkUser) -> Result<(), StoreError> {
        if self.ak_users.contains_key(&user.pk) {
            return Err(StoreError::Duplicate { field: "pk" });
        }
        if self.ak_user_by_username.contains_key(&user.username) {
            return Err(StoreError::Duplicate { field: "username" });
        }
        self.ak_user_by_username.insert(user.username.clone(), user.pk);
        self.ak_users.insert(user.pk, user);
        Ok(())
    }

    fn insert_provider(&mut self, provider: AkProvider) -> Result<(), StoreError> {
        if self.providers.contains_key(&provider.pk) {
            return Err(StoreError::Duplicate { field: "pk" });
        }
        self.providers.insert(provider.pk, provider);
        Ok(())
    }

    fn insert_core(&mut self, token: CoreToken) -> Result<(), StoreError> {
        if self.core.contains_pk(&token.pk) {
            return Err(StoreError::Duplicate { field: "pk" });
        }
        if self.core.get(&token.identifier).is_some() {
            return Err(StoreError::Duplicate { field: "identifier" });
        }
        if self.core.by_key(token.key.expose()).is_some() {
            return Err(StoreError::Duplicate { field: "key" });
        }
        if !self.ak_users.contains_key(&token.user) {
            return Err(StoreError::NotFound);
        }
        self.core.insert(token);
        Ok(())
    }

    fn remove_core(&mut self, identifier: &str) -> Option<CoreToken> {
        self.core.remove(identifier)
    }

    fn replace_core(&mut self, identifier: &str, mut token: CoreToken) -> Result<CoreToken, StoreError> {
        let old = self.core.get(identifier).ok_or(StoreError::NotFound)?;
        token.pk = old.pk;
        if token.identifier != identifier && self.core.get(&token.identifier).is_some() {
            return Err(StoreError::Duplicate { field: "identifier" });
        }
        if token.key != old.key && self.core.by_key(token.key.expose()).is_some() {
            return Err(StoreError::Duplicate { field: "key" });
        }
        if !self.ak_users.contains_key(&token.user) {
            return Err(StoreError::NotFound);
        }
        self.remove_core(identifier);
        self.core.insert(token.clone());
        Ok(token)
    }

    fn insert_oauth(&mut self, token: OAuthToken) -> Result<(), StoreError> {
        let id = (token.kind, token.pk);
        if self.oauth.contains_key(&id) {
            return Err(StoreError::Duplicate { field: "pk" });
        }
        if !self.ak_users.contains_key(&token.user) || !self.providers.contains_key(&token.provider) {
            return Err(StoreError::NotFound);
        }
        self.oauth.insert(id, token);
        Ok(())
    }

    fn insert_nb_user(&mut self, user: NbUser) -> Result<(), StoreError> {
        if self.nb_users.contains_key(&user.id) {
            return Err(StoreError::Duplicate { field: "id" });
        }
        self.nb_users.insert(user.id.clone(), user);
        Ok(())
    }

    fn insert_pat(&mut self, pat: Pat) -> Result<(), StoreError> {
        if self.pats.get(&pat.id).is_some() {
            return Err(StoreError::Duplicate { field: "id" });
        }
        if self.pats.by_hash(&pat.hashed_token).is_some() {
            return Err(StoreError::Duplicate { field: "hashed_token" });
        }
        if !self.nb_users.contains_key(&pat.user_id) {
            return Err(StoreError::NotFound);
        }
        self.pats.insert(pat);
        Ok(())
    }

    fn user_pat_mut(&mut self, user_id: &str, id: &str) -> Result<&mut Pat, StoreError> {
        self.pats.get_mut(id).filter(|p| p.user_id == user_id).ok_or(StoreError::NotFound)
    }

    fn username(&self, pk: i64) -> &str {
        self.ak_users.get(&pk).map_or("", |u| u.username.as_str())
    }

    /// A core token's value of a listing column.
    fn core_value<'a>(&'a self, t: &'a CoreToken, column: CoreTokenField) -> Value<'a> {
        match column {
            CoreTokenField::Pk => Value::Uuid(t.pk),
            CoreTokenField::Identifier => Value::text(&t.identifier),
            CoreTokenField::Intent => Value::text(t.intent.as_str()),
            CoreTokenField::User => Value::Int(t.user),
            CoreTokenField::Description => Value::text(&t.description),
            CoreTokenField::Expires => Value::opt_time(t.expires),
            CoreTokenField::Expiring => Value::Bool(t.expiring),
            CoreTokenField::Managed => Value::opt_text(t.managed.as_deref()),
            CoreTokenField::UserUsername => Value::text(self.username(t.user)),
        }
    }

    /// An OAuth2 token's value of a listing column.
    fn oauth_value<'a>(&'a self, t: &'a OAuthToken, column: OAuthField) -> Value<'a> {
        match column {
            OAuthField::Pk => Value::Int(t.pk),
            OAuthField::Provider => Value::Int(t.provider),
            OAuthField::User => Value::Int(t.user),
            OAuthField::Expires => Value::opt_time(t.expires),
            OAuthField::Revoked => Value::Bool(t.revoked),
            OAuthField::Kind => Value::text(t.kind.as_str()),
            OAuthField::ProviderName => Value::opt_text(self.providers.get(&t.provider).map(|p| p.name.as_str())),
            OAuthField::UserUsername => Value::text(self.username(t.user)),
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert_ak_user(&self, user: AkUser) -> Result<(), StoreError> {
        self.write()?.insert_ak_user(user)
    }

    async fn ak_user(&self, pk: i64) -> Result<AkUser, StoreError> {
        self.read()?.ak_users.get(&pk).cloned().ok_or(StoreError::NotFound)
    }

    async fn ak_user_by_username(&self, username: &str) -> Result<AkUser, StoreError> {
        let state = self.read()?;
        let pk = state.ak_user_by_username.get(username).ok_or(StoreError::NotFound)?;
        state.ak_users.get(pk).cloned().ok_or(StoreError::NotFound)
    }

    async fn insert_provider(&self, provider: AkProvider) -> Result<(), StoreError> {
        self.write()?.insert_provider(provider)
    }

    async fn provider(&self, pk: i64) -> Result<AkProvider, StoreError> {
        self.read()?.providers.get(&pk).cloned().ok_or(StoreError::NotFound)
    }

    async fn insert_core_token(&self, token: CoreToken) -> Result<CoreToken, StoreError> {
        self.write()?.insert_core(token.clone())?;
        Ok(token)
    }

    async fn core_token(&self, identifier: &str) -> Result<CoreToken, StoreError> {
        self.read()?.core.get(identifier).cloned().ok_or(StoreError::NotFound)
    }

    async fn core_token_by_key(&self, key: &str) -> Result<CoreToken, StoreError> {
        self.read()?.core.by_key(key).cloned().ok_or(StoreError::NotFound)
    }

    async fn list_core_tokens(&self, query: &CoreTokenQuery) -> Result<Slice<CoreToken>, StoreError> {
        let state = self.read()?;
        let listing = query.listing();
        // Narrowest index first: the unique identifier, then one user's set (visibility or
        // `user__username`), and only without either every token. The listing re-checks every filter.
        let user = match (query.owner, &query.user_username) {
            (owner, Some(username)) => match state.ak_user_by_username.get(username) {
                Some(&pk) if owner.is_none_or(|o| o == pk) => Some(pk),
                _ => return Ok(query.page.slice(Vec::new())),
            },
            (owner, None) => owner,
        };
        let candidates: Box<dyn Iterator<Item = &CoreToken>> = match (&query.identifier, user) {
            (Some(identifier), _) => Box::new(state.core.get(identifier).into_iter()),
            (None, Some(user)) => Box::new(state.core.of_user(user)),
            (None, None) => Box::new(state.core.values()),
        };
        Ok(listing.page_of(candidates, |t, c| state.core_value(t, c)))
    }

    async fn replace_core_token(&self, identifier: &str, token: CoreToken) -> Result<CoreToken, StoreError> {
        self.write()?.replace_core(identifier, token)
    }

    async fn delete_core_token(&self, identifier: &str) -> Result<(), StoreError> {
        self.write()?.remove_core(identifier).map(drop).ok_or(StoreError::NotFound)
    }

    async fn set_core_token_key(&self, identifier: &str, key: Secret) -> Result<(), StoreError> {
        let mut state = self.write()?;
        let mut token = state.core.get(identifier).cloned().ok_or(StoreError::NotFound)?;
        token.key = key;
        state.replace_core(identifier, token).map(drop)
    }

    async fn expire_core_tokens(&self, now: DateTime<Utc>, extend_by: TimeDelta) -> Result<ExpiryOutcome, StoreError> {
        let mut state = self.write()?;
        let mut expired: Vec<CoreToken> = state.core.values().filter(|t| t.is_expired(now)).cloned().collect();
        expired.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        let mut outcome = ExpiryOutcome::default();
        for mut token in expired {
            let identifier = token.identifier.clone();
            if token.intent == Intent::Api {
                token.key = loop {
                    let key = generate_key();
                    if state.core.by_key(&key).is_none() {
                        break Secret::new(key);
                    }
                };
                token.expires = Some(now + extend_by);
                state.replace_core(&identifier, token)?;
                outcome.rotated.push(identifier);
            } else {
                state.remove_core(&identifier);
                outcome.deleted.push(identifier);
            }
        }
        Ok(outcome)
    }

    async fn insert_oauth_token(&self, token: OAuthToken) -> Result<(), StoreError> {
        self.write()?.insert_oauth(token)
    }

    async fn oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<OAuthToken, StoreError> {
        self.read()?.oauth.get(&(kind, pk)).cloned().ok_or(StoreError::NotFound)
    }

    async fn list_oauth_tokens(&self, query: &OAuthQuery) -> Result<Slice<OAuthToken>, StoreError> {
        let state = self.read()?;
        Ok(query.listing().page_of(state.oauth.values(), |t, c| state.oauth_value(t, c)))
    }

    async fn delete_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError> {
        self.write()?.oauth.remove(&(kind, pk)).map(drop).ok_or(StoreError::NotFound)
    }

    async fn insert_nb_user(&self, user: NbUser) -> Result<(), StoreError> {
        self.write()?.insert_nb_user(user)
    }

    async fn nb_user(&self, id: &str) -> Result<NbUser, StoreError> {
        self.read()?.nb_users.get(id).cloned().ok_or(StoreError::NotFound)
    }

    async fn insert_pat(&self, pat: Pat) -> Result<(), StoreError> {
        self.write()?.insert_pat(pat)
    }

    async fn pat_by_hash(&self, hashed_token: &str) -> Result<Pat, StoreError> {
        self.read()?.pats.by_hash(hashed_token).cloned().ok_or(StoreError::NotFound)
    }

    async fn list_pats(&self, user_id: &str) -> Result<Vec<Pat>, StoreError> {
        let state = self.read()?;
        let mut pats: Vec<Pat> = state.pats.of_user(user_id).cloned().collect();
        pats.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(pats)
    }

    async fn pat(&self, user_id: &str, id: &str) -> Result<Pat, StoreError> {
        let state = self.read()?;
        state.pats.get(id).filter(|p| p.user_id == user_id).cloned().ok_or(StoreError::NotFound)
    }

    async fn delete_pat(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        let mut state = self.write()?;
        state.user_pat_mut(user_id, id)?;
        state.pats.remove(id);
        Ok(())
    }

    async fn mark_pat_used(&self, user_id: &str, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write()?.user_pat_mut(user_id, id)?.last_used = Some(at);
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read().map(drop)
    }

    async fn count_tokens(&self) -> Result<TokenCounts, StoreError> {
        let state = self.read()?;
        let access = state.oauth.keys().filter(|(kind, _)| *kind == OAuthKind::Access).count();
        Ok(TokenCounts {
            core: state.core.len() as u64,
            oauth_access: access as u64,
            oauth_refresh: (state.oauth.len() - access) as u64,
            pats: state.pats.len() as u64,
        })
    }

    async fn export(&self) -> Result<Snapshot, StoreError> {
        let state = self.read()?;
        let mut snapshot = Snapshot {
            ak_users: state.ak_users.values().cloned().collect(),
            providers: state.providers.values().cloned().collect(),
            core_tokens: state.core.values().cloned().collect(),
            oauth_tokens: state.oauth.values().cloned().collect(),
            nb_users: state.nb_users.values().cloned().collect(),
            pats: state.pats.values().cloned().collect(),
        };
        snapshot.ak_users.sort_by_key(|u| u.pk);
        snapshot.providers.sort_by_key(|p| p.pk);
        snapshot.core_tokens.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        snapshot.oauth_tokens.sort_by_key(|t| (t.kind, t.pk));
        snapshot.nb_users.sort_by(|a, b| a.id.cmp(&b.id));
        snapshot.pats.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(snapshot)
    }

    async fn import(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut fresh = State::default();
        snapshot.ak_users.into_iter().try_for_each(|u| fresh.insert_ak_user(u))?;
        snapshot.providers.into_iter().try_for_each(|p| fresh.insert_provider(p))?;
        snapshot.core_tokens.into_iter().try_for_each(|t| fresh.insert_core(t))?;
        snapshot.oauth_tokens.into_iter().try_for_each(|t| fresh.insert_oauth(t))?;
        snapshot.nb_users.into_iter().try_for_each(|u| fresh.insert_nb_user(u))?;
        snapshot.pats.into_iter().try_for_each(|p| fresh.insert_pat(p))?;
        *self.write()? = fresh;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {

    use super::*;
    use crate::model::NbRole;

    pub(crate) fn ak_user(pk: i64, username: &str, superuser: bool) -> AkUser {
        AkUser {
            name: username.into(),
            email: format!("{username}@example.com"),
            is_superuser: superuser,
            ..AkUser::new(pk, username, Utc::now())
        }
    }

    pub(crate) fn core_token(identifier: &str, key: &str, user: i64) -> CoreToken {
        CoreToken {
            pk: Uuid::new_v4(),
            identifier: identifier.into(),
            key: Secret::new(key),
            intent: Intent::Api,
            user,
            description: String::new(),
            expires: None,
            expiring: true,
            managed: None,
            key_viewers: vec![],
        }
    }

    pub(crate) fn provider(pk: i64, name: &str) -> AkProvider {
        AkProvider {
            pk,
            name: name.into(),
            authentication_flow: None,
            authorization_flow: None,
            invalidation_flow: None,
            property_mappings: vec![],
            assigned_application_slug: None,
            assigned_application_name: None,
        }
    }

    pub(crate) fn oauth(kind: OAuthKind, pk: i64, provider: i64, user: i64) -> OAuthToken {
        OAuthToken {
            pk,
            kind,
            provider,
            user,
            token: Secret::new(format!("tok-{pk}")),
            expires: None,
            scope: vec!["openid".into()],
            id_token: serde_json::json!({}),
            revoked: false,
        }
    }

    pub(crate) fn nb_user(id: &str, account: &str, role: NbRole) -> NbUser {
        NbUser { id: id.into(), account_id: account.into(), role, is_service_user: false, blocked: false }
    }

    // The behaviour of every Store method is tested once for all backends, memory included, by
    // crates/server/tests/store_conformance.rs; what is specific to the memory store stays here.

    #[test]
    fn store_is_object_safe_and_debug_hides_keys() {
        let s: std::sync::Arc<dyn Store> = std::sync::Arc::new(MemoryStore::new());
        drop(s);
        let m = MemoryStore::new();
        m.write().unwrap().core.insert(CoreToken {
            pk: Uuid::new_v4(),
            identifier: "a".into(),
            key: Secret::new("topsecret"),
            intent: Intent::Api,
            user: 1,
            description: String::new(),
            expires: None,
            expiring: false,
            managed: None,
            key_viewers: Vec::new(),
        });
        assert!(!format!("{m:?}").contains("topsecret"));
    }
}
