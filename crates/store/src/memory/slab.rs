//! `Slab`: the memory store's one table shape: rows in slots, unique byte-keyed indexes and an owner index
//! that hold slot numbers, so each row's strings are stored once.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

/// A row a [`Slab`] can hold: `N` unique keys (one per index) and the owner it is listed under.
pub(super) trait Row<const N: usize> {
    type Owner: Eq + Hash + Clone;

    /// The row's unique keys, in index order.
    fn keys(&self) -> [&[u8]; N];

    fn owner(&self) -> &Self::Owner;
}

/// Rows in slots, indexed by each unique key and by owner through slot numbers (about 430 resident bytes
/// per core token at a million, where string-keyed maps holding copies took about 1 KB).
pub(super) struct Slab<T: Row<N>, const N: usize> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    unique: [KeyIndex; N],
    by_owner: HashMap<T::Owner, Vec<u32>>,
}

impl<T: Row<N>, const N: usize> Default for Slab<T, N> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            unique: std::array::from_fn(|_| KeyIndex::default()),
            by_owner: HashMap::new(),
        }
    }
}

impl<T: Row<N>, const N: usize> Slab<T, N> {
    pub(super) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn slot(&self, slot: u32) -> Option<&T> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn find(&self, index: usize, key: &[u8]) -> Option<u32> {
        self.unique[index].get(key, |s| self.slot(s).map(|row| row.keys()[index]))
    }

    /// The row whose key number `index` is `key`.
    pub(super) fn get(&self, index: usize, key: &[u8]) -> Option<&T> {
        self.slot(self.find(index, key)?)
    }

    /// For fields no index covers: the caller must not change a key or the owner.
    pub(super) fn get_mut(&mut self, index: usize, key: &[u8]) -> Option<&mut T> {
        let slot = self.find(index, key)?;
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }

    pub(super) fn of_owner<'a, Q>(&'a self, owner: &Q) -> impl Iterator<Item = &'a T> + use<'a, Q, T, N>
    where
        T::Owner: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.by_owner.get(owner).into_iter().flatten().filter_map(|&s| self.slot(s))
    }

    /// Adds a row, or answers the number of the first index that already holds its key.
    pub(super) fn insert(&mut self, row: T) -> Result<(), usize> {
        if let Some(taken) = (0..N).find(|&i| self.find(i, row.keys()[i]).is_some()) {
            return Err(taken);
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 rows")
            }
        };
        let slots = &self.slots;
        let keys = row.keys();
        for (i, index) in self.unique.iter_mut().enumerate() {
            index.insert(keys[i], slot, |s| slots.get(s as usize).and_then(Option::as_ref).map(|r| r.keys()[i]));
        }
        match self.by_owner.get_mut(row.owner()) {
            Some(slots) => slots.push(slot),
            None => {
                self.by_owner.insert(row.owner().clone(), vec![slot]);
            }
        }
        self.slots[slot as usize] = Some(row);
        Ok(())
    }

    /// Removes the row whose key number `index` is `key`.
    pub(super) fn remove(&mut self, index: usize, key: &[u8]) -> Option<T> {
        let slot = self.find(index, key)?;
        let row = self.slots[slot as usize].take()?;
        for (i, key) in row.keys().into_iter().enumerate() {
            self.unique[i].remove(key, slot);
        }
        if let Some(slots) = self.by_owner.get_mut(row.owner()) {
            if let Some(at) = slots.iter().position(|&s| s == slot) {
                slots.swap_remove(at);
            }
            if slots.is_empty() {
                self.by_owner.remove(row.owner());
            }
        }
        self.free.push(slot);
        Some(row)
    }
}

/// A unique key index that stores no copy of its keys: a random-keyed 64-bit hash maps to the slot, and the
/// slot's own key confirms the match. A key whose hash is already taken by another one goes to a small exact
/// map instead, so collisions cost space, never correctness.
#[derive(Default)]
struct KeyIndex {
    hasher: RandomState,
    by_hash: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    collided: HashMap<Box<[u8]>, u32>,
}

impl KeyIndex {
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn get<'a>(&self, key: &[u8], resolve: impl Fn(u32) -> Option<&'a [u8]>) -> Option<u32> {
        match self.by_hash.get(&self.hash(key)) {
            Some(&slot) if resolve(slot) == Some(key) => Some(slot),
            _ => self.collided.get(key).copied(),
        }
    }

    /// Adds a key the index does not hold yet.
    fn insert<'a>(&mut self, key: &[u8], slot: u32, resolve: impl Fn(u32) -> Option<&'a [u8]>) {
        let hash = self.hash(key);
        match self.by_hash.get(&hash) {
            Some(&other) if resolve(other).is_some() => {
                self.collided.insert(key.into(), slot);
            }
            _ => {
                self.by_hash.insert(hash, slot);
            }
        }
    }

    fn remove(&mut self, key: &[u8], slot: u32) {
        let hash = self.hash(key);
        if self.by_hash.get(&hash) == Some(&slot) {
            self.by_hash.remove(&hash);
        } else {
            self.collided.remove(key);
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(String, String, u8);

    impl Row<2> for Item {
        type Owner = u8;

        fn keys(&self) -> [&[u8]; 2] {
            [self.0.as_bytes(), self.1.as_bytes()]
        }

        fn owner(&self) -> &u8 {
            &self.2
        }
    }

    #[test]
    fn unique_keys_owner_index_and_slot_reuse() {
        let mut slab: Slab<Item, 2> = Slab::default();
        slab.insert(Item("a".into(), "ka".into(), 1)).unwrap();
        slab.insert(Item("b".into(), "kb".into(), 1)).unwrap();
        assert_eq!(slab.insert(Item("a".into(), "kc".into(), 2)).err(), Some(0));
        assert_eq!(slab.insert(Item("c".into(), "kb".into(), 2)).err(), Some(1));
        assert_eq!(slab.get(1, b"kb").map(|i| i.0.as_str()), Some("b"));
        assert_eq!(slab.of_owner(&1).count(), 2);
        assert_eq!(slab.remove(0, b"a").map(|i| i.1), Some("ka".to_string()));
        assert!(slab.get(1, b"ka").is_none());
        slab.insert(Item("c".into(), "ka".into(), 2)).unwrap();
        assert_eq!((slab.len(), slab.slots.len()), (2, 2));
        assert_eq!(slab.of_owner(&1).count(), 1);
    }

    #[test]
    fn colliding_hashes_still_resolve_exactly() {
        let mut index = KeyIndex::default();
        let keys: [&[u8]; 2] = [b"x", b"y"];
        index.insert(keys[0], 0, |s| Some(keys[s as usize]));
        // Force `y` into the collision map by pretending its hash slot is taken.
        index.collided.insert(keys[1].into(), 1);
        assert_eq!(index.get(b"x", |s| Some(keys[s as usize])), Some(0));
        assert_eq!(index.get(b"y", |s| Some(keys[s as usize])), Some(1));
        index.remove(b"y", 1);
        assert_eq!(index.get(b"y", |s| Some(keys[s as usize])), None);
    }
}
