//! The read-through cache of the SQL stores: what authentication and retrieve read on every request (core tokens
//! by key and by identifier, authentik users by pk, PATs by hash, NetBird users by id), in this process, with
//! bounded memory, plus the `last_used` marks of PATs that are written to the database in batches.
//!
//! Correctness rests on three rules:
//!
//! * every write of this process that can change a cached answer invalidates it after the write and before it is
//!   acknowledged (the store's write methods do so, whatever the write's outcome);
//! * a fill (a miss answered by the database) is dropped when any invalidation happened between its start and its
//!   end (the generation check), so a value read before a write can never be cached after that write's invalidation;
//! * with a [`Lease`] (PostgreSQL replicas, whose writes arrive by `LISTEN/NOTIFY`), nothing is answered or filled
//!   from the cache unless the lease is fresh: see [`Lease`].
//!
//! Bounds: [`TOKENS`] core tokens, [`AK_USERS`] authentik users, [`PATS`] PATs and [`NB_USERS`] NetBird users,
//! each evicted first-in first-out. Secrets stay as the store keeps them (keys as stored, PATs only as their hash);
//! the cache's `Debug` shows counts only.

mod bounded;
mod lease;
mod uses;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use bounded::Bounded;
pub(crate) use lease::Lease;
use uses::PendingUses;

use crate::model::{AkUser, CoreToken, NbUser, Pat};

/// Core tokens kept (by pk, indexed by key and identifier): about 0.5 KiB each, so at most ~16 MiB.
pub(crate) const TOKENS: usize = 32_768;
/// authentik users kept (by pk).
pub(crate) const AK_USERS: usize = 8_192;
/// PATs kept (by hash, indexed by id).
pub(crate) const PATS: usize = 32_768;
/// NetBird users kept (by id).
pub(crate) const NB_USERS: usize = 8_192;

/// What a lookup found: the value, or a ticket to fill the cache with what the database answers (none when the
/// cache may not be filled now: the lease is stale).
pub(crate) enum Lookup<T> {
    Hit(T),
    Miss(Option<Ticket>),
}

/// The generation a miss saw; its fill is kept only if no invalidation happened since.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

/// The cached tables; every change happens under the one lock.
struct Tables {
    generation: u64,
    tokens: Bounded<Uuid, Arc<CoreToken>>,
    token_by_key: HashMap<Box<str>, Uuid>,
    token_by_identifier: HashMap<Box<str>, Uuid>,
    ak_users: Bounded<i64, Arc<AkUser>>,
    pats: Bounded<Box<str>, Arc<Pat>>,
    pat_by_id: HashMap<Box<str>, Box<str>>,
    nb_users: Bounded<Box<str>, Arc<NbUser>>,
    /// `last_used` marks not yet written, by PAT id: `(user id, at)`.
    pending_used: PendingUses,
}

impl Tables {
    fn new() -> Self {
        Tables {
            generation: 0,
            tokens: Bounded::new(TOKENS),
            token_by_key: HashMap::new(),
            token_by_identifier: HashMap::new(),
            ak_users: Bounded::new(AK_USERS),
            pats: Bounded::new(PATS),
            pat_by_id: HashMap::new(),
            nb_users: Bounded::new(NB_USERS),
            pending_used: HashMap::new(),
        }
    }

    fn unindex_token(&mut self, token: &CoreToken) {
        if self.token_by_key.get(token.key.expose()) == Some(&token.pk) {
            self.token_by_key.remove(token.key.expose());
        }
        if self.token_by_identifier.get(token.identifier.as_str()) == Some(&token.pk) {
            self.token_by_identifier.remove(token.identifier.as_str());
        }
    }

    fn remove_token(&mut self, pk: &Uuid) {
        if let Some(token) = self.tokens.remove(pk) {
            self.unindex_token(&token);
        }
    }

    fn unindex_pat(&mut self, pat: &Pat) {
        if self.pat_by_id.get(pat.id.as_str()).is_some_and(|hash| **hash == *pat.hashed_token) {
            self.pat_by_id.remove(pat.id.as_str());
        }
    }

    fn remove_pat_by_id(&mut self, id: &str) {
        if let Some(hash) = self.pat_by_id.remove(id)
            && let Some(pat) = self.pats.remove(&*hash)
        {
            self.unindex_pat(&pat);
        }
        self.pending_used.remove(id);
    }

    fn clear(&mut self) {
        self.tokens.clear();
        self.token_by_key.clear();
        self.token_by_identifier.clear();
        self.ak_users.clear();
        self.pats.clear();
        self.pat_by_id.clear();
        self.nb_users.clear();
        self.pending_used.clear();
    }
}

/// What one invalidation names; the PostgreSQL trigger notifications carry the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A core token by pk.
    CoreToken(Uuid),
    /// An authentik user by pk, and every core token of theirs.
    AkUser(i64),
    /// A PAT by id.
    Pat(String),
    /// A NetBird user by id, and every PAT of theirs.
    NbUser(String),
    /// Everything.
    All,
}

impl Change {
    /// The changes a `tokenstack_cache` notification names (`migrations/postgres/0004_cache_notify.sql`):
    /// `c:`, `u:`, `p:` or `n:` and comma-separated keys, or `*`. Anything else forgets everything.
    pub(crate) fn parse_notification(payload: &str) -> Vec<Change> {
        let Some((kind, keys)) = payload.split_once(':') else { return vec![Change::All] };
        let keys = keys.split(',').filter(|k| !k.is_empty());
        let parsed: Option<Vec<Change>> = match kind {
            "c" => keys.map(|k| Uuid::parse_str(k).ok().map(Change::CoreToken)).collect(),
            "u" => keys.map(|k| k.parse().ok().map(Change::AkUser)).collect(),
            "p" => Some(keys.map(|k| Change::Pat(k.to_owned())).collect()),
            "n" => Some(keys.map(|k| Change::NbUser(k.to_owned())).collect()),
            _ => None,
        };
        parsed.unwrap_or_else(|| vec![Change::All])
    }
}

/// The cache of one SQL store.
pub(crate) struct Cache {
    tables: Mutex<Tables>,
    lease: Option<Lease>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.lock();
        f.debug_struct("Cache")
            .field("tokens", &t.tokens.len())
            .field("ak_users", &t.ak_users.len())
            .field("pats", &t.pats.len())
            .field("nb_users", &t.nb_users.len())
            .field("pending_used", &t.pending_used.len())
            .finish()
    }
}

impl Cache {
    /// A cache whose every invalidation is local (one process owns the database: SQLite).
    pub(crate) fn local() -> Self {
        Cache { tables: Mutex::new(Tables::new()), lease: None }
    }

    /// A cache kept fresh by `lease` (PostgreSQL replicas).
    pub(crate) fn leased(lease: Lease) -> Self {
        Cache { tables: Mutex::new(Tables::new()), lease: Some(lease) }
    }

    pub(crate) fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic under the lock leaves consistent tables (every change is a few map operations).
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fresh(&self) -> bool {
        self.lease.as_ref().is_none_or(Lease::fresh)
    }

    /// A lookup: `find` on the tables when the cache may answer, else a miss that may not fill.
    fn lookup<T>(&self, find: impl FnOnce(&Tables) -> Option<T>) -> Lookup<T> {
        if !self.fresh() {
            return Lookup::Miss(None);
        }
        let tables = self.lock();
        match find(&tables) {
            Some(value) => Lookup::Hit(value),
            None => Lookup::Miss(Some(Ticket(tables.generation))),
        }
    }

    /// Runs `fill` if no invalidation happened since `ticket` was issued.
    fn fill(&self, ticket: Option<Ticket>, fill: impl FnOnce(&mut Tables)) {
        let Some(Ticket(generation)) = ticket else { return };
        let mut tables = self.lock();
        if tables.generation == generation {
            fill(&mut tables);
        }
    }

    pub(crate) fn core_token_by_key(&self, key: &str) -> Lookup<Arc<CoreToken>> {
        self.lookup(|t| t.token_by_key.get(key).and_then(|pk| t.tokens.get(pk)).cloned())
    }

    pub(crate) fn core_token(&self, identifier: &str) -> Lookup<Arc<CoreToken>> {
        self.lookup(|t| t.token_by_identifier.get(identifier).and_then(|pk| t.tokens.get(pk)).cloned())
    }

    pub(crate) fn fill_core_token(&self, ticket: Option<Ticket>, token: &CoreToken) {
        self.fill(ticket, |t| {
            t.remove_token(&token.pk);
            let pk = token.pk;
            for (_, evicted) in t.tokens.insert(pk, Arc::new(token.clone())) {
                t.unindex_token(&evicted);
            }
            t.token_by_key.insert(token.key.expose().into(), pk);
            t.token_by_identifier.insert(token.identifier.as_str().into(), pk);
        });
    }

    pub(crate) fn ak_user(&self, pk: i64) -> Lookup<Arc<AkUser>> {
        self.lookup(|t| t.ak_users.get(&pk).cloned())
    }

    pub(crate) fn fill_ak_user(&self, ticket: Option<Ticket>, user: &AkUser) {
        self.fill(ticket, |t| drop(t.ak_users.insert(user.pk, Arc::new(user.clone()))));
    }

    pub(crate) fn pat_by_hash(&self, hashed_token: &str) -> Lookup<Arc<Pat>> {
        self.lookup(|t| t.pats.get(hashed_token).cloned())
    }

    /// The PAT `id`, if it is `user_id`'s.
    pub(crate) fn pat(&self, user_id: &str, id: &str) -> Lookup<Arc<Pat>> {
        self.lookup(|t| {
            let hash = t.pat_by_id.get(id)?;
            t.pats.get(&**hash).filter(|pat| pat.user_id == user_id).cloned()
        })
    }

    pub(crate) fn fill_pat(&self, ticket: Option<Ticket>, pat: &Pat) {
        self.fill(ticket, |t| {
            t.remove_pat_by_id(&pat.id);
            let mut pat = pat.clone();
            if let Some((user, at)) = t.pending_used.get(&pat.id)
                && *user == pat.user_id
            {
                pat.last_used = pat.last_used.max(Some(*at));
            }
            let hash: Box<str> = pat.hashed_token.as_str().into();
            for (_, evicted) in t.pats.insert(hash.clone(), Arc::new(pat.clone())) {
                t.unindex_pat(&evicted);
            }
            t.pat_by_id.insert(pat.id.as_str().into(), hash);
        });
    }

    pub(crate) fn nb_user(&self, id: &str) -> Lookup<Arc<NbUser>> {
        self.lookup(|t| t.nb_users.get(id).cloned())
    }

    pub(crate) fn fill_nb_user(&self, ticket: Option<Ticket>, user: &NbUser) {
        self.fill(ticket, |t| drop(t.nb_users.insert(user.id.as_str().into(), Arc::new(user.clone()))));
    }

    /// Forgets what `change` names; fills in flight are dropped.
    pub(crate) fn invalidate(&self, change: &Change) {
        let mut t = self.lock();
        t.generation += 1;
        match change {
            Change::CoreToken(pk) => t.remove_token(pk),
            Change::AkUser(pk) => {
                t.ak_users.remove(pk);
                let theirs: Vec<Uuid> =
                    t.tokens.map.iter().filter(|(_, (token, _))| token.user == *pk).map(|(pk, _)| *pk).collect();
                for pk in theirs {
                    t.remove_token(&pk);
                }
            }
            Change::Pat(id) => t.remove_pat_by_id(id),
            Change::NbUser(id) => {
                t.nb_users.remove(id.as_str());
                let theirs: Vec<String> =
                    t.pats.map.values().filter(|(pat, _)| pat.user_id == *id).map(|(pat, _)| pat.id.clone()).collect();
                for pat in theirs {
                    t.remove_pat_by_id(&pat);
                }
                t.pending_used.retain(|_, (user, _)| user != id);
            }
            Change::All => t.clear(),
        }
    }
}

#[cfg(test)]
mod tests;
