//! `Bounded`: the cache's map with a capacity, evicting first-in first-out.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A bounded map with first-in first-out eviction: each value carries the sequence number of its insertion,
/// and the queue holds `(key, seq)`; a queue entry whose value was replaced or removed is skipped.
pub(super) struct Bounded<K, V> {
    pub(super) map: HashMap<K, (V, u64)>,
    pub(super) order: VecDeque<(K, u64)>,
    next: u64,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    pub(super) fn new(capacity: usize) -> Self {
        Bounded { map: HashMap::new(), order: VecDeque::new(), next: 0, capacity }
    }

    pub(super) fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key).map(|(v, _)| v)
    }

    pub(super) fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.map.get_mut(key).map(|(v, _)| v)
    }

    /// Inserts `value`; returns the values evicted to make room (and the one it replaced).
    pub(super) fn insert(&mut self, key: K, value: V) -> Vec<(K, V)> {
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

    pub(super) fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map.remove(key).map(|(v, _)| v)
    }

    pub(super) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}
