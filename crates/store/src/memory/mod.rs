//! `MemoryStore`: the in-memory `Store`, one `RwLock` over hash maps with secondary indexes.

mod columns;
mod slab;
mod state;
mod tables;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::{AkKeyPair, AkProvider, AkUser, AuthorizationCode, CoreToken, NbUser, OAuthKind, OAuthToken, Pat};
use crate::pagination::Slice;
use crate::query::Listing;
use crate::resource::{Child, ErasedColumn, Field, Key, Resource, Row as AnyRow, Table, downcast};
use crate::secrets::Secret;
use crate::{CoreTokenQuery, ExpireAction, OAuthQuery, Snapshot, Store, StoreError, TokenCounts};
use slab::{Row, Slab};
use tables::Tables;

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
    /// Every declared resource (`resource/`): users, providers, applications, key pairs, NetBird users and groups.
    tables: Tables,
    /// Core tokens with their identifier, key, pk and user indexes.
    core: CoreTable,
    /// `(expires, pk)` of every expiring core token with an expiry, for the sweep.
    core_expiry: BTreeSet<(DateTime<Utc>, Uuid)>,
    oauth: HashMap<(OAuthKind, i64), OAuthToken>,
    /// user → the OAuth2 tokens of that user, so a non-superuser's listing reads only its own.
    oauth_by_user: HashMap<i64, Vec<(OAuthKind, i64)>>,
    /// Per kind ([`kind_index`]): the tokens by value and the pks in order, for the token endpoint.
    oauth_index: [OAuthIndex; 2],
    /// Authorization codes by code.
    codes: HashMap<String, AuthorizationCode>,
    /// id → PAT
    pats: PatTable,
}

// Manual, so keys and hashes held in the indexes never reach a log.
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("ak_users", &self.tables.len(AkUser::TABLE))
            .field("providers", &self.tables.len(AkProvider::TABLE))
            .field("core_tokens", &self.core.len())
            .field("oauth_tokens", &self.oauth.len())
            .field("authorization_codes", &self.codes.len())
            .field("key_pairs", &self.tables.len(AkKeyPair::TABLE))
            .field("nb_users", &self.tables.len(NbUser::TABLE))
            .field("pats", &self.pats.len())
            .finish()
    }
}

/// Core tokens, unique by identifier, key and pk, listed by user.
type CoreTable = Slab<CoreToken, 3>;
const BY_IDENTIFIER: usize = 0;
const BY_KEY: usize = 1;
const BY_PK: usize = 2;
/// The unique field of each index, for `Duplicate`.
const CORE_UNIQUE: [Field; 3] = [Field::Identifier, Field::Key, Field::Pk];

impl Row<3> for CoreToken {
    type Owner = i64;

    fn keys(&self) -> [&[u8]; 3] {
        [self.identifier.as_bytes(), self.key.expose().as_bytes(), self.pk.as_bytes()]
    }

    fn owner(&self) -> &i64 {
        &self.user
    }
}

impl CoreTable {
    fn by_identifier(&self, identifier: &str) -> Option<&CoreToken> {
        self.get(BY_IDENTIFIER, identifier.as_bytes())
    }

    fn by_key(&self, key: &str) -> Option<&CoreToken> {
        self.get(BY_KEY, key.as_bytes())
    }
}

/// A core token's place in the expiry index: expiring tokens with an expiry.
fn expiry_key(token: &CoreToken) -> Option<DateTime<Utc>> {
    token.expires.filter(|_| token.expiring)
}

/// The secondary indexes of one kind of OAuth2 tokens: pks by token value (values are not unique, as upstream's
/// `TextField`; a lookup answers the lowest pk) and every pk, for the highest.
#[derive(Default)]
struct OAuthIndex {
    by_token: HashMap<Box<str>, Vec<i64>>,
    pks: BTreeSet<i64>,
}

impl OAuthIndex {
    fn add(&mut self, token: &OAuthToken) {
        self.by_token.entry(token.token.expose().into()).or_default().push(token.pk);
        self.pks.insert(token.pk);
    }

    fn remove(&mut self, token: &OAuthToken) {
        if let Some(pks) = self.by_token.get_mut(token.token.expose()) {
            pks.retain(|pk| *pk != token.pk);
            if pks.is_empty() {
                self.by_token.remove(token.token.expose());
            }
        }
        self.pks.remove(&token.pk);
    }

    fn by_token(&self, token: &str) -> Option<i64> {
        self.by_token.get(token).and_then(|pks| pks.iter().min().copied())
    }
}

/// The place of `kind` in [`State::oauth_index`].
fn kind_index(kind: OAuthKind) -> usize {
    match kind {
        OAuthKind::Access => 0,
        OAuthKind::Refresh => 1,
    }
}

/// NetBird PATs, unique by id and hashed token, listed by user.
type PatTable = Slab<Pat, 2>;
const BY_ID: usize = 0;
const BY_HASH: usize = 1;

impl Row<2> for Pat {
    type Owner = String;

    fn keys(&self) -> [&[u8]; 2] {
        [self.id.as_bytes(), self.hashed_token.as_bytes()]
    }

    fn owner(&self) -> &String {
        &self.user_id
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn insert_row(&self, row: AnyRow, allocate: bool) -> Result<AnyRow, StoreError> {
        self.write()?.tables.insert(row, allocate)
    }

    async fn row(&self, table: &'static Table, field: Field, key: Key) -> Result<AnyRow, StoreError> {
        self.read()?.tables.get(table, field, &key).cloned().ok_or(StoreError::NotFound)
    }

    async fn rows(&self, table: &'static Table, listing: &Listing<ErasedColumn>) -> Result<Slice<AnyRow>, StoreError> {
        Ok(self.read()?.tables.list(table, listing))
    }

    async fn replace_row(&self, row: AnyRow) -> Result<(), StoreError> {
        self.write()?.tables.replace(row)
    }

    async fn delete_row(&self, table: &'static Table, pk: Key) -> Result<(), StoreError> {
        let mut state = self.write()?;
        for child in state.tables.delete(table, &pk)? {
            state.cascade(child, &pk);
        }
        Ok(())
    }

    async fn insert_core_token(&self, token: CoreToken) -> Result<CoreToken, StoreError> {
        self.write()?.insert_core(token.clone())?;
        Ok(token)
    }

    async fn core_token(&self, identifier: &str) -> Result<CoreToken, StoreError> {
        self.read()?.core.by_identifier(identifier).cloned().ok_or(StoreError::NotFound)
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
            (owner, Some(username)) => match state.user_pk(username) {
                Some(pk) if owner.is_none_or(|o| o == pk) => Some(pk),
                _ => return Ok(query.page.slice(Vec::new())),
            },
            (owner, None) => owner,
        };
        let candidates: Box<dyn Iterator<Item = &CoreToken>> = match (&query.identifier, user) {
            (Some(identifier), _) => Box::new(state.core.by_identifier(identifier).into_iter()),
            (None, Some(user)) => Box::new(state.core.of_owner(&user)),
            (None, None) => Box::new(state.core.values()),
        };
        Ok(listing.page_of(candidates, |t, c| state.core_value(t, c)))
    }

    async fn replace_core_token(&self, pk: Uuid, token: CoreToken) -> Result<CoreToken, StoreError> {
        let mut state = self.write()?;
        let identifier = state.core.get(BY_PK, pk.as_bytes()).ok_or(StoreError::NotFound)?.identifier.clone();
        state.replace_core(&identifier, token)
    }

    async fn delete_core_token(&self, pk: Uuid) -> Result<(), StoreError> {
        let mut state = self.write()?;
        let identifier = state.core.get(BY_PK, pk.as_bytes()).ok_or(StoreError::NotFound)?.identifier.clone();
        state.remove_core(&identifier).map(drop).ok_or(StoreError::NotFound)
    }

    async fn set_core_token_key(&self, pk: Uuid, key: Secret) -> Result<(), StoreError> {
        let mut state = self.write()?;
        let token = state.core.get(BY_PK, pk.as_bytes()).cloned().ok_or(StoreError::NotFound)?;
        let identifier = token.identifier.clone();
        state.replace_core(&identifier, CoreToken { key, ..token }).map(drop)
    }

    async fn expired_core_tokens(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<CoreToken>, StoreError> {
        let state = self.read()?;
        // Through the expiry index: `expires < now` is everything before `(now, the smallest pk)`.
        let mut expired: Vec<&CoreToken> = state
            .core_expiry
            .range(..(now, Uuid::nil()))
            .filter_map(|(_, pk)| state.core.get(BY_PK, pk.as_bytes()))
            .filter(|t| t.is_expired(now))
            .collect();
        expired.sort_unstable_by(|a, b| a.identifier.cmp(&b.identifier));
        Ok(expired.into_iter().take(limit).cloned().collect())
    }

    async fn expire_core_token(&self, pk: Uuid, now: DateTime<Utc>, action: ExpireAction) -> Result<bool, StoreError> {
        let mut state = self.write()?;
        let Some(token) = state.core.get(BY_PK, pk.as_bytes()).filter(|t| t.is_expired(now)).cloned() else {
            return Ok(false);
        };
        let identifier = token.identifier.clone();
        match action {
            ExpireAction::Rotate { key, expires } => {
                state.replace_core(&identifier, CoreToken { key, expires: Some(expires), ..token })?;
            }
            ExpireAction::Delete => {
                state.remove_core(&identifier);
            }
        }
        Ok(true)
    }

    async fn insert_oauth_token(&self, mut token: OAuthToken, allocate: bool) -> Result<OAuthToken, StoreError> {
        let mut state = self.write()?;
        if allocate {
            let highest = state.oauth_index[kind_index(token.kind)].pks.last().copied().unwrap_or(0);
            token.pk = highest.saturating_add(1);
        }
        state.insert_oauth(token.clone())?;
        Ok(token)
    }

    async fn oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<OAuthToken, StoreError> {
        self.read()?.oauth.get(&(kind, pk)).cloned().ok_or(StoreError::NotFound)
    }

    async fn list_oauth_tokens(&self, query: &OAuthQuery) -> Result<Slice<OAuthToken>, StoreError> {
        let state = self.read()?;
        // One user's tokens through the index when the listing is restricted to a user; the listing re-checks.
        let candidates: Box<dyn Iterator<Item = &OAuthToken>> = match query.owner.or(query.user) {
            Some(user) => {
                Box::new(state.oauth_by_user.get(&user).into_iter().flatten().filter_map(|id| state.oauth.get(id)))
            }
            None => Box::new(state.oauth.values()),
        };
        Ok(query.listing().page_of(candidates, |t, c| state.oauth_value(t, c)))
    }

    async fn delete_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError> {
        self.write()?.remove_oauth((kind, pk)).map(drop).ok_or(StoreError::NotFound)
    }

    async fn oauth_token_by_token(&self, kind: OAuthKind, token: &str) -> Result<OAuthToken, StoreError> {
        let state = self.read()?;
        let pk = state.oauth_index[kind_index(kind)].by_token(token).ok_or(StoreError::NotFound)?;
        state.oauth.get(&(kind, pk)).cloned().ok_or(StoreError::NotFound)
    }

    async fn revoke_oauth_token(&self, kind: OAuthKind, pk: i64) -> Result<(), StoreError> {
        self.write()?.oauth.get_mut(&(kind, pk)).ok_or(StoreError::NotFound)?.revoked = true;
        Ok(())
    }

    async fn insert_authorization_code(&self, code: AuthorizationCode) -> Result<(), StoreError> {
        self.write()?.insert_code(code)
    }

    async fn take_authorization_code(&self, code: &str) -> Result<AuthorizationCode, StoreError> {
        self.write()?.codes.remove(code).ok_or(StoreError::NotFound)
    }

    async fn insert_pat(&self, pat: Pat) -> Result<(), StoreError> {
        self.write()?.insert_pat(pat)
    }

    async fn pat_by_hash(&self, hashed_token: &str) -> Result<Pat, StoreError> {
        self.read()?.pats.get(BY_HASH, hashed_token.as_bytes()).cloned().ok_or(StoreError::NotFound)
    }

    async fn list_pats(&self, user_id: &str) -> Result<Vec<Pat>, StoreError> {
        let state = self.read()?;
        let mut pats: Vec<Pat> = state.pats.of_owner(user_id).cloned().collect();
        pats.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        Ok(pats)
    }

    async fn pat(&self, user_id: &str, id: &str) -> Result<Pat, StoreError> {
        let state = self.read()?;
        state.pats.get(BY_ID, id.as_bytes()).filter(|p| p.user_id == user_id).cloned().ok_or(StoreError::NotFound)
    }

    async fn delete_pat(&self, user_id: &str, id: &str) -> Result<(), StoreError> {
        let mut state = self.write()?;
        state.user_pat_mut(user_id, id)?;
        state.pats.remove(BY_ID, id.as_bytes());
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
            ak_users: rows(&state.tables)?,
            providers: rows(&state.tables)?,
            applications: rows(&state.tables)?,
            core_tokens: state.core.values().cloned().collect(),
            oauth_tokens: state.oauth.values().cloned().collect(),
            nb_users: rows(&state.tables)?,
            pats: state.pats.values().cloned().collect(),
            key_pairs: rows(&state.tables)?,
            nb_groups: rows(&state.tables)?,
            scope_mappings: rows(&state.tables)?,
            nb_setup_keys: rows(&state.tables)?,
            nb_peers: rows(&state.tables)?,
            nb_accounts: rows(&state.tables)?,
            ak_sessions: rows(&state.tables)?,
            ak_user_consents: rows(&state.tables)?,
            ak_groups: rows(&state.tables)?,
            ak_device_tokens: rows(&state.tables)?,
        };
        snapshot.ak_sessions.sort_by(|a, b| a.key_hash.cmp(&b.key_hash));
        snapshot.ak_user_consents.sort_by_key(|c| c.pk);
        snapshot.ak_device_tokens.sort_by(|a, b| a.device_code.expose().cmp(b.device_code.expose()));
        snapshot.key_pairs.sort_by(|a, b| a.name.cmp(&b.name));
        snapshot.scope_mappings.sort_by(|a, b| a.name.cmp(&b.name));
        snapshot.ak_groups.sort_by(|a, b| a.name.cmp(&b.name));
        snapshot.core_tokens.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        snapshot.oauth_tokens.sort_by_key(|t| (t.kind, t.pk));
        snapshot.pats.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(snapshot)
    }

    async fn import(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let mut fresh = State::default();
        restore(&mut fresh, snapshot.ak_users)?;
        restore(&mut fresh, snapshot.providers)?;
        restore(&mut fresh, snapshot.applications)?;
        restore(&mut fresh, snapshot.key_pairs)?;
        restore(&mut fresh, snapshot.nb_groups)?;
        restore(&mut fresh, snapshot.scope_mappings)?;
        restore(&mut fresh, snapshot.nb_setup_keys)?;
        restore(&mut fresh, snapshot.nb_peers)?;
        restore(&mut fresh, snapshot.nb_accounts)?;
        restore(&mut fresh, snapshot.ak_groups)?;
        snapshot.core_tokens.into_iter().try_for_each(|t| fresh.insert_core(t))?;
        snapshot.oauth_tokens.into_iter().try_for_each(|t| fresh.insert_oauth(t))?;
        restore(&mut fresh, snapshot.nb_users)?;
        restore(&mut fresh, snapshot.ak_sessions)?;
        restore(&mut fresh, snapshot.ak_user_consents)?;
        restore(&mut fresh, snapshot.ak_device_tokens)?;
        snapshot.pats.into_iter().try_for_each(|p| fresh.insert_pat(p))?;
        *self.write()? = fresh;
        Ok(())
    }
}

/// Every row of a declared resource, in primary key order.
fn rows<R: Resource>(tables: &Tables) -> Result<Vec<R>, StoreError> {
    tables.values(R::TABLE).map(downcast).collect()
}

/// Adds imported rows of a declared resource with their primary keys.
fn restore<R: Resource>(state: &mut State, rows: Vec<R>) -> Result<(), StoreError> {
    rows.into_iter().try_for_each(|row| state.tables.insert(Arc::new(row), false).map(drop))
}

#[cfg(test)]
pub(crate) mod tests;
