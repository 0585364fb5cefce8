//! The key space of the simulated tables: every key written, stored once, with a dense id.
//!
//! A table of a million items as `HashMap<Box<str>, Item>` costs one heap allocation per key, a
//! pointer chase per comparison and hashbrown's half-empty buckets of whole items. Here the keys
//! sit back to back in one string, the tables are vectors indexed by key id, and the hash index
//! maps 32 bits of a key's hash to its id (8-byte buckets). Keys whose hashes collide chain
//! through [`Span::next_same_hash`], so a collision costs a comparison, never a wrong answer.
//!
//! Invariants: ids are `0..len()` in order of first write; `spans[id]` locates key `id` in `text`;
//! every id is reachable from `index[hash(key)]` by following the chain.

use std::hash::{BuildHasher, BuildHasherDefault};

use super::fast_hash::{FastMap, FxHasher};

/// Ends a collision chain.
const END: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    len: u32,
    /// The next key with the same hash, or [`END`].
    next_same_hash: u32,
}

#[derive(Debug, Default)]
pub(super) struct KeyIndex {
    text: String,
    spans: Vec<Span>,
    /// Hash of a key → the most recently added id with that hash.
    index: FastMap<u32, u32>,
}

impl KeyIndex {
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.index.clear();
    }

    pub(super) fn key(&self, id: u32) -> &str {
        let span = self.spans[id as usize];
        &self.text[span.start as usize..(span.start + span.len) as usize]
    }

    /// The id of `key`, if it was ever written.
    pub(super) fn find(&self, key: &str) -> Option<u32> {
        self.find_hashed(key, hash(key))
    }

    /// The id of `key`, adding it if new.
    pub(super) fn intern(&mut self, key: &str) -> u32 {
        let hash = hash(key);
        match self.find_hashed(key, hash) {
            Some(id) => id,
            None => self.insert_hashed(key, hash),
        }
    }

    fn insert_hashed(&mut self, key: &str, hash: u32) -> u32 {
        let id = u32::try_from(self.spans.len()).expect("fewer than 2^32 keys");
        let start = u32::try_from(self.text.len()).expect("under 4 GiB of keys");
        let len = u32::try_from(key.len()).expect("keys are short");
        self.text.push_str(key);
        let next_same_hash = self.index.insert(hash, id).unwrap_or(END);
        self.spans.push(Span {
            start,
            len,
            next_same_hash,
        });
        id
    }

    fn find_hashed(&self, key: &str, hash: u32) -> Option<u32> {
        let mut id = *self.index.get(&hash)?;
        while id != END {
            if self.key(id) == key {
                return Some(id);
            }
            id = self.spans[id as usize].next_same_hash;
        }
        None
    }
}

/// 32 bits of the key's (avalanched) Fx hash. A million keys share about a hundred of these
/// pairwise, which the chains absorb; the index map hashes it again for its buckets.
fn hash(key: &str) -> u32 {
    (BuildHasherDefault::<FxHasher>::default().hash_one(key) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_get_dense_ids_and_are_found_again() {
        let mut keys = KeyIndex::default();
        assert_eq!(keys.intern("order-1"), 0);
        assert_eq!(keys.intern("order-2"), 1);
        assert_eq!(keys.intern("order-1"), 0);
        assert_eq!(keys.find("order-2"), Some(1));
        assert_eq!(keys.find("order-3"), None);
        assert_eq!(keys.key(1), "order-2");
        assert_eq!(keys.spans.len(), 2);
        keys.clear();
        assert_eq!(keys.find("order-1"), None);
    }

    #[test]
    fn colliding_hashes_chain_instead_of_confusing_keys() {
        // Force a collision: file a second key under the hash of the first.
        let mut keys = KeyIndex::default();
        let a = keys.intern("a");
        let b = keys.insert_hashed("b", hash("a"));
        assert_ne!(a, b);
        assert_eq!(keys.find_hashed("b", hash("a")), Some(b));
        assert_eq!(keys.find_hashed("a", hash("a")), Some(a));
        assert_eq!(keys.find_hashed("c", hash("a")), None);
    }
}
