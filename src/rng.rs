//! Seeded randomness. One root seed per run; every actor (a producer, a consumer instance, the
//! simulator) draws from its own stream derived from (seed, actor name), so adding an actor never
//! changes the draws of the others.
//!
//! Stream labels: `kind:name`, the kind in lower case and the name as the scenario spells it, a
//! `#n` suffix for an actor that restarts, n its restarts so far (`producer:orders`,
//! `consumer:workers-2#1`). A new stream follows this form. The simulator's streams predate it
//! and keep theirs (`sim`; per queue, named without `.fifo`, `sim-{queue}` for message ids and
//! `sim-{queue}-{latitude}` for its envelope choices): a label is part of the seed, so renaming
//! one would change every draw from it, every seeded run and the shipped snapshots.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream of the actor `name` in a run seeded with `seed`.
pub(crate) fn stream(seed: u64, name: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ fnv1a(name.as_bytes()).rotate_left(17))
}

/// FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a1: u64 = stream(7, "consumer:worker-1").random();
        let a2: u64 = stream(7, "consumer:worker-1").random();
        let b: u64 = stream(7, "consumer:worker-2").random();
        let c: u64 = stream(8, "consumer:worker-1").random();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
    }
}
