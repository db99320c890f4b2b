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

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

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

/// A bounded map with first-in first-out eviction: each value carries the sequence number of its insertion,
/// and the queue holds `(key, seq)`; a queue entry whose value was replaced or removed is skipped.
struct Bounded<K, V> {
    map: HashMap<K, (V, u64)>,
    order: VecDeque<(K, u64)>,
    next: u64,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn new(capacity: usize) -> Self {
        Bounded { map: HashMap::new(), order: VecDeque::new(), next: 0, capacity }
    }

    fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key).map(|(v, _)| v)
    }

    fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.map.get_mut(key).map(|(v, _)| v)
    }

    /// Inserts `value`; returns the values evicted to make room (and the one it replaced).
    fn insert(&mut self, key: K, value: V) -> Vec<(K, V)> {
        let mut gone = Vec::new();
        self.next += 1;
        if let Some(old) = self.map.insert(key.clone(), (value, self.next)) {
            gone.push((key.clone(), old.0));
        }
        self.order.push_back((key, self.next));
        while self.map.len() > self.capacity {
            let Some((key, seq)) = self.order.pop_front() else { break };
            if self.map.get(&key).is_some_and(|(_, s)| *s == seq)
                && let Some((value, _)) = self.map.remove(&key)
            {
                gone.push((key, value));
            }
        }
        // Replaced and removed values leave stale queue entries: compact before the queue outgrows the map.
        if self.order.len() > 2 * self.capacity.max(16) {
            let map = &self.map;
            self.order.retain(|(key, seq)| map.get(key).is_some_and(|(_, s)| s == seq));
        }
        gone
    }

    fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map.remove(key).map(|(v, _)| v)
    }

    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

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
    pending_used: HashMap<String, (String, DateTime<Utc>)>,
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

/// The freshness of a cache whose invalidations arrive asynchronously (PostgreSQL `LISTEN/NOTIFY`).
///
/// The listener confirms it has applied every notification committed before an instant `S` by sending a ping
/// notification after `S` and receiving it back (PostgreSQL delivers notifications in commit order). The cache
/// answers only while the newest confirmed `S` is at most [`window`](Lease::window) old, and every write that
/// can invalidate waits `window` after its commit before it is acknowledged. So a read that starts after the
/// acknowledgement of a write on any replica either sees a confirmation sent after that write's commit (its
/// invalidation is applied) or goes to the database.
pub(crate) struct Lease {
    base: Instant,
    /// Nanoseconds from `base` to the send time of the newest confirmed ping, plus one; 0 for none.
    confirmed: AtomicU64,
    window: Duration,
    /// The age from which requests ask for a new confirmation.
    renew_after: Duration,
    /// Wakes the pinger: the lease is older than `renew_after`.
    pub(crate) renew: Notify,
}

impl Lease {
    pub(crate) fn new(window: Duration, renew_after: Duration) -> Self {
        Lease { base: Instant::now(), confirmed: AtomicU64::new(0), window, renew_after, renew: Notify::new() }
    }

    /// How long an invalidating write waits after its commit.
    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// The instant as the lease counts it.
    pub(crate) fn stamp(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Records that everything committed before `sent` (a [`stamp`](Lease::stamp)) has been applied.
    pub(crate) fn confirm(&self, sent: u64) {
        self.confirmed.fetch_max(sent, Ordering::AcqRel);
    }

    /// Nothing is confirmed any more (the listener lost its connection).
    pub(crate) fn revoke(&self) {
        self.confirmed.store(0, Ordering::Release);
    }

    /// Whether the newest confirmation is older than `renew_after` (the pinger should send another).
    pub(crate) fn wants_renewal(&self) -> bool {
        let confirmed = self.confirmed.load(Ordering::Acquire);
        confirmed == 0 || Duration::from_nanos(self.stamp().saturating_sub(confirmed)) > self.renew_after
    }

    /// Whether the cache may answer now; asks for a renewal once the lease is older than `renew_after`.
    fn fresh(&self) -> bool {
        let confirmed = self.confirmed.load(Ordering::Acquire);
        if confirmed == 0 {
            self.renew.notify_one();
            return false;
        }
        let age = Duration::from_nanos(self.stamp().saturating_sub(confirmed));
        if age > self.renew_after {
            self.renew.notify_one();
        }
        age <= self.window
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

    /// Records that the PAT `id` of `user_id` was used `at`, to be written by the next flush, when the PAT is
    /// cached; `false` when the caller must write it itself. The lease need not be fresh: the caller has just
    /// authenticated the PAT (from a fresh cache or the database), so it existed an instant ago, and a mark of a
    /// PAT deleted since changes no row when it is written.
    pub(crate) fn mark_pat_used(&self, user_id: &str, id: &str, at: DateTime<Utc>) -> bool {
        let mut t = self.lock();
        let Some(hash) = t.pat_by_id.get(id).cloned() else { return false };
        let Some(pat) = t.pats.get_mut(&*hash) else { return false };
        if pat.user_id != user_id {
            return false;
        }
        Arc::make_mut(pat).last_used = Some(at);
        t.pending_used.insert(id.to_owned(), (user_id.to_owned(), at));
        true
    }

    /// Sets `last_used` of the cached PAT `id` (written by the caller): no invalidation, since no answer of
    /// authentication depends on it, so a busy PAT stays cached.
    pub(crate) fn note_pat_used(&self, id: &str, at: DateTime<Utc>) {
        let mut t = self.lock();
        let Some(hash) = t.pat_by_id.get(id).cloned() else { return };
        if let Some(pat) = t.pats.get_mut(&*hash) {
            let pat = Arc::make_mut(pat);
            pat.last_used = pat.last_used.max(Some(at));
        }
    }

    /// `pat` with the `last_used` mark not yet written, if any is newer.
    pub(crate) fn with_pending_use(&self, mut pat: Pat) -> Pat {
        let t = self.lock();
        if let Some((user, at)) = t.pending_used.get(&pat.id)
            && *user == pat.user_id
        {
            pat.last_used = pat.last_used.max(Some(*at));
        }
        pat
    }

    /// Every `last_used` mark not yet written, `(id, user id, at)`, taken out for writing.
    pub(crate) fn take_pending_uses(&self) -> Vec<(String, String, DateTime<Utc>)> {
        let mut t = self.lock();
        t.pending_used.drain().map(|(id, (user, at))| (id, user, at)).collect()
    }

    /// Puts back marks whose write failed, unless a newer mark came in meanwhile.
    pub(crate) fn restore_pending_uses(&self, marks: Vec<(String, String, DateTime<Utc>)>) {
        let mut t = self.lock();
        for (id, user, at) in marks {
            if t.pat_by_id.contains_key(id.as_str()) {
                t.pending_used.entry(id).or_insert((user, at));
            }
        }
    }

    /// How many marks wait for the next flush.
    pub(crate) fn pending_uses(&self) -> usize {
        self.lock().pending_used.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn token(identifier: &str, key: &str, user: i64) -> CoreToken {
        CoreToken::new(identifier, Secret::new(key), user)
    }

    fn hit<T>(lookup: Lookup<T>) -> Option<T> {
        match lookup {
            Lookup::Hit(value) => Some(value),
            Lookup::Miss(_) => None,
        }
    }

    fn ticket<T>(lookup: Lookup<T>) -> Option<Ticket> {
        match lookup {
            Lookup::Hit(_) => panic!("expected a miss"),
            Lookup::Miss(ticket) => ticket,
        }
    }

    #[test]
    fn a_fill_racing_an_invalidation_is_dropped() {
        let cache = Cache::local();
        let t = token("a", "k1", 1);
        let stale = ticket(cache.core_token_by_key("k1"));
        cache.invalidate(&Change::CoreToken(t.pk));
        cache.fill_core_token(stale, &t);
        assert!(hit(cache.core_token_by_key("k1")).is_none(), "a value read before the write is not cached");
        let fresh = ticket(cache.core_token_by_key("k1"));
        cache.fill_core_token(fresh, &t);
        assert_eq!(hit(cache.core_token_by_key("k1")).map(|t| t.identifier.clone()).as_deref(), Some("a"));
        assert!(hit(cache.core_token("a")).is_some());
    }

    #[test]
    fn invalidation_drops_every_index_and_cascades() {
        let cache = Cache::local();
        let (a, b) = (token("a", "k1", 1), token("b", "k2", 2));
        for t in [&a, &b] {
            let ticket = ticket(cache.core_token_by_key(t.key.expose()));
            cache.fill_core_token(ticket, t);
        }
        cache.invalidate(&Change::CoreToken(a.pk));
        assert!(hit(cache.core_token_by_key("k1")).is_none() && hit(cache.core_token("a")).is_none());
        assert!(hit(cache.core_token_by_key("k2")).is_some());
        cache.invalidate(&Change::AkUser(2));
        assert!(hit(cache.core_token("b")).is_none(), "a user's tokens go with the user");
    }

    #[test]
    fn refilling_under_a_new_key_forgets_the_old_one() {
        let cache = Cache::local();
        let old = token("a", "k1", 1);
        cache.fill_core_token(ticket(cache.core_token("a")), &old);
        let new = CoreToken { key: Secret::new("k2"), ..old.clone() };
        cache.fill_core_token(ticket(cache.core_token_by_key("k2")), &new);
        assert!(hit(cache.core_token_by_key("k1")).is_none());
        assert!(hit(cache.core_token_by_key("k2")).is_some());
    }

    #[test]
    fn bounded_first_in_first_out() {
        let mut map = Bounded::new(2);
        assert!(map.insert(1, "a").is_empty());
        assert!(map.insert(2, "b").is_empty());
        assert_eq!(map.insert(1, "a2"), vec![(1, "a")], "a replacement gives back the old value");
        assert_eq!(map.insert(3, "c"), vec![(2, "b")], "the oldest insertion goes first");
        assert_eq!((map.get(&1), map.get(&3), map.len()), (Some(&"a2"), Some(&"c"), 2));
        for n in 0..1000 {
            map.insert(4, "d");
            map.remove(&4);
            assert!(map.order.len() <= 2 * 16 + 1, "stale queue entries are compacted ({n})");
        }
    }

    #[test]
    fn the_cache_holds_at_most_its_bound() {
        let cache = Cache::local();
        for n in 0..TOKENS + 10 {
            let t = token(&format!("t{n}"), &format!("k{n}"), 1);
            cache.fill_core_token(ticket(cache.core_token(&t.identifier)), &t);
        }
        let t = cache.lock();
        assert_eq!(t.tokens.len(), TOKENS);
        assert_eq!((t.token_by_key.len(), t.token_by_identifier.len()), (TOKENS, TOKENS));
        assert!(t.token_by_identifier.contains_key("t10") && !t.token_by_identifier.contains_key("t9"));
    }

    #[test]
    fn a_stale_lease_answers_nothing_and_fills_nothing() {
        let cache = Cache::leased(Lease::new(Duration::from_secs(3600), Duration::from_secs(1)));
        let t = token("a", "k1", 1);
        assert!(ticket(cache.core_token("a")).is_none(), "no confirmation yet: no ticket");
        let lease = cache.lease().unwrap();
        lease.confirm(lease.stamp());
        cache.fill_core_token(ticket(cache.core_token("a")), &t);
        assert!(hit(cache.core_token("a")).is_some());
        lease.revoke();
        assert!(hit(cache.core_token("a")).is_none(), "a revoked lease answers from the database");
    }

    #[test]
    fn notifications_name_changes() {
        let pk = Uuid::new_v4();
        assert_eq!(Change::parse_notification(&format!("c:{pk}")), vec![Change::CoreToken(pk)]);
        assert_eq!(Change::parse_notification("u:1,2"), vec![Change::AkUser(1), Change::AkUser(2)]);
        assert_eq!(Change::parse_notification("p:a"), vec![Change::Pat("a".into())]);
        assert_eq!(Change::parse_notification("n:x,y").len(), 2);
        for forget in ["*", "c:not-a-uuid", "u:x", "z:1", ""] {
            assert_eq!(Change::parse_notification(forget), vec![Change::All], "{forget:?}");
        }
    }

    #[test]
    fn pending_uses_of_cached_pats() {
        let cache = Cache::local();
        let at = Utc::now();
        let pat = Pat {
            id: "p1".into(),
            user_id: "u1".into(),
            name: "n".into(),
            hashed_token: "h1".into(),
            expiration_date: at,
            created_by: "u1".into(),
            created_at: at,
            last_used: None,
        };
        assert!(!cache.mark_pat_used("u1", "p1", at), "not cached: the caller writes");
        cache.fill_pat(ticket(cache.pat_by_hash("h1")), &pat);
        assert!(!cache.mark_pat_used("u2", "p1", at), "another user's PAT");
        assert!(cache.mark_pat_used("u1", "p1", at));
        assert_eq!(hit(cache.pat_by_hash("h1")).unwrap().last_used, Some(at));
        assert_eq!(cache.with_pending_use(pat.clone()).last_used, Some(at));
        assert_eq!(cache.take_pending_uses(), vec![("p1".to_string(), "u1".to_string(), at)]);
        assert_eq!(cache.pending_uses(), 0);
        cache.mark_pat_used("u1", "p1", at);
        cache.invalidate(&Change::Pat("p1".into()));
        assert_eq!(cache.pending_uses(), 0, "a deleted PAT's mark goes with it");
    }
}
