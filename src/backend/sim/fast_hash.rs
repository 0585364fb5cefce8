//! A fast, non-cryptographic hasher (the Fx hash of rustc) for the simulator's lookup-only maps
//! (FIFO groups, dedup ids, table keys). SipHash's DoS resistance buys nothing for keys a scenario
//! chooses and dominated FIFO send profiles; these maps are never iterated into results, so the
//! hash never affects determinism.

use std::hash::{BuildHasherDefault, Hasher};

pub(super) type FastMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        // The length keeps zero padding of the last word from colliding with real zero bytes.
        self.add(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// Fx leaves the low and top bits (hashbrown's bucket index and tag) poorly mixed for
    /// short strings; a final avalanche (MurmurHash3's fmix64) fixes both.
    fn finish(&self) -> u64 {
        let mut hash = self.hash;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^ (hash >> 33)
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn equal_strings_hash_equal_and_near_misses_differ() {
        let build = BuildHasherDefault::<FxHasher>::default();
        assert_eq!(build.hash_one("order-17"), build.hash_one("order-17"));
        assert_ne!(build.hash_one("order-17"), build.hash_one("order-71"));
        assert_ne!(build.hash_one("a"), build.hash_one("a\0"));
    }
}
