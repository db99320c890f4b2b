//! The cache's rules: fills racing invalidations, eviction, the lease, the `last_used` marks.

use std::time::Duration;

use chrono::Utc;

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
