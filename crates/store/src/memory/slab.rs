//! `Slab`: the memory store's one table shape: rows in slots, unique byte-keyed indexes and an owner index
//! that hold slot numbers, so each row's strings are stored once.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};

use hashbrown::HashTable;

/// A row a [`Slab`] can hold: `N` unique keys (one per index) and the owner it is listed under.
pub(super) trait Row<const N: usize> {
    type Owner: Eq + Hash + Clone;

    /// The row's unique keys, in index order.
    fn keys(&self) -> [&[u8]; N];

    fn owner(&self) -> &Self::Owner;
}

/// Rows in slots, indexed by each unique key and by owner through slot numbers (about 415 resident bytes
/// per core token at a million, `bench-tokenstack --tokens 1000000 --pats 0`, where string-keyed maps holding
/// copies took about 1 KB).
///
/// Each unique index is a `hashbrown::HashTable` of [`Entry`]s: it stores no copy of its keys; a lookup hashes
/// the key with `S` and compares it with the key of each candidate slot, so keys whose hashes collide cost a
/// probe, never correctness.
pub(super) struct Slab<T: Row<N>, const N: usize, S = RandomState> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    unique: [HashTable<Entry>; N],
    hasher: S,
    by_owner: HashMap<T::Owner, Vec<u32>>,
}

impl<T: Row<N>, const N: usize, S: Default> Default for Slab<T, N, S> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            unique: std::array::from_fn(|_| HashTable::new()),
            hasher: S::default(),
            by_owner: HashMap::new(),
        }
    }
}

/// A slot number and 32 bits of its key's hash (8 bytes). The table's hash is rebuilt from those bits, so a
/// table that grows moves its entries without reading and hashing their keys again (which, at a million rows,
/// made loading several times slower), and a lookup reads a candidate's key only when the bits match.
#[derive(Clone, Copy)]
struct Entry {
    slot: u32,
    hash: u32,
}

impl Entry {
    /// The hash the table sees: the 32 bits twice, so that both the bucket (low bits) and hashbrown's control
    /// byte (the top 7) come from them.
    fn table_hash(hash: u32) -> u64 {
        (u64::from(hash) << 32) | u64::from(hash)
    }
}

/// Key number `index` of the row in `slot` (empty for an empty slot, which no index holds).
fn key_at<T: Row<N>, const N: usize>(slots: &[Option<T>], slot: u32, index: usize) -> &[u8] {
    slots.get(slot as usize).and_then(Option::as_ref).map_or(&[], |row| row.keys()[index])
}

impl<T: Row<N>, const N: usize, S: BuildHasher> Slab<T, N, S> {
    pub(super) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn slot(&self, slot: u32) -> Option<&T> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// The upper half of `key`'s hash.
    fn hash(&self, key: &[u8]) -> u32 {
        (self.hasher.hash_one(key) >> 32) as u32
    }

    fn find(&self, index: usize, key: &[u8]) -> Option<u32> {
        let hash = self.hash(key);
        let matches = |e: &Entry| e.hash == hash && key_at(&self.slots, e.slot, index) == key;
        self.unique[index].find(Entry::table_hash(hash), matches).map(|e| e.slot)
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

    pub(super) fn of_owner<'a, Q>(&'a self, owner: &Q) -> impl Iterator<Item = &'a T> + use<'a, Q, T, N, S>
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
        match self.by_owner.get_mut(row.owner()) {
            Some(slots) => slots.push(slot),
            None => {
                self.by_owner.insert(row.owner().clone(), vec![slot]);
            }
        }
        for (i, key) in row.keys().into_iter().enumerate() {
            let hash = self.hash(key);
            self.unique[i].insert_unique(Entry::table_hash(hash), Entry { slot, hash }, |e| Entry::table_hash(e.hash));
        }
        self.slots[slot as usize] = Some(row);
        Ok(())
    }

    /// Removes the row whose key number `index` is `key`.
    pub(super) fn remove(&mut self, index: usize, key: &[u8]) -> Option<T> {
        let slot = self.find(index, key)?;
        let row = self.slots[slot as usize].take()?;
        for (i, key) in row.keys().into_iter().enumerate() {
            if let Ok(entry) = self.unique[i].find_entry(Entry::table_hash(self.hash(key)), |e| e.slot == slot) {
                entry.remove();
            }
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

    /// Hashes every key to the same value: every lookup probes past all the other keys of its index.
    #[derive(Default)]
    struct Colliding;

    impl BuildHasher for Colliding {
        type Hasher = Constant;

        fn build_hasher(&self) -> Constant {
            Constant
        }
    }

    struct Constant;

    impl std::hash::Hasher for Constant {
        fn finish(&self) -> u64 {
            0x5eed
        }

        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn colliding_hashes_still_resolve_exactly() {
        let mut slab: Slab<Item, 2, Colliding> = Slab::default();
        // Enough rows that the tables grow (and rehash) while every hash is the same.
        for n in 0..200u8 {
            slab.insert(Item(format!("id-{n}"), format!("key-{n}"), n % 3)).unwrap();
        }
        assert_eq!(slab.insert(Item("id-7".into(), "fresh".into(), 0)).err(), Some(0));
        assert_eq!(slab.insert(Item("fresh".into(), "key-199".into(), 0)).err(), Some(1));
        for n in 0..200u8 {
            assert_eq!(slab.get(0, format!("id-{n}").as_bytes()).map(|i| i.1.clone()), Some(format!("key-{n}")));
            assert_eq!(slab.get(1, format!("key-{n}").as_bytes()).map(|i| i.0.clone()), Some(format!("id-{n}")));
        }
        assert!(slab.get(0, b"id-200").is_none() && slab.get(1, b"id-1").is_none());
        for n in (0..200u8).step_by(2) {
            assert_eq!(slab.remove(1, format!("key-{n}").as_bytes()).map(|i| i.0), Some(format!("id-{n}")));
        }
        for n in 0..200u8 {
            let found = slab.get(0, format!("id-{n}").as_bytes()).is_some();
            assert_eq!(found, n % 2 == 1, "id-{n}");
            assert_eq!(slab.get(1, format!("key-{n}").as_bytes()).is_some(), n % 2 == 1, "key-{n}");
        }
        // Freed slots are reused, and a removed key can come back.
        slab.insert(Item("id-0".into(), "key-0".into(), 0)).unwrap();
        assert_eq!((slab.len(), slab.slots.len()), (101, 200));
        assert_eq!(slab.get(1, b"key-0").map(|i| i.0.as_str()), Some("id-0"));
    }
}
