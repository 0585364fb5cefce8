//! Message ids: UUID v4 strings drawn from a queue's seeded stream, so they look like SQS's and
//! are the same for the same seed and sequence of sends. Formatted by hand into a stack buffer:
//! the `Arc<str>` is the only allocation of a send.

use std::sync::Arc;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

const HEX: &[u8; 16] = b"0123456789abcdef";

pub(super) fn next_message_id(rng: &mut ChaCha8Rng) -> Arc<str> {
    let mut bits: u128 = rng.random();
    // Version 4, variant 10xx, as a real UUID v4.
    bits = (bits & !(0xf << 76)) | (0x4 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let mut text = [0u8; 36];
    let mut nibble = 32;
    for (position, byte) in text.iter_mut().enumerate() {
        if matches!(position, 8 | 13 | 18 | 23) {
            *byte = b'-';
        } else {
            nibble -= 1;
            *byte = HEX[((bits >> (nibble * 4)) & 0xf) as usize];
        }
    }
    Arc::from(std::str::from_utf8(&text).expect("ASCII hex"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn ids_are_uuid_v4_shaped_distinct_and_seeded() {
        let mut a = stream(1, "sim-main");
        let mut b = stream(1, "sim-main");
        let first = next_message_id(&mut a);
        let second = next_message_id(&mut a);
        assert_eq!(first, next_message_id(&mut b));
        assert_ne!(first, second);
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
        let dashes: Vec<usize> = first.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, [8, 13, 18, 23]);
    }
}
