//! Message ids: UUID v4s drawn from a queue's seeded stream, so they look like SQS's and are the
//! same for the same seed and sequence of sends.
//!
//! A stored message keeps its id as the 16 bytes of the UUID ([`MessageId`]), and so does the id
//! that leaves the simulator ([`SqsMessageId`]): its text is spelled only for whoever asks. Stored
//! messages thus hold no allocation for their id; see `store.rs` for why that matters.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::backend::SqsMessageId;

/// The bits of a message id. Bytes rather than a `u128`, whose 16-byte alignment would pad every
/// stored message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct MessageId([u8; 16]);

impl MessageId {
    /// The next id of a queue's id stream.
    pub(super) fn next(rng: &mut ChaCha8Rng) -> MessageId {
        let mut bits: u128 = rng.random();
        // Version 4, variant 10xx, as a real UUID v4.
        bits = (bits & !(0xf << 76)) | (0x4 << 76);
        bits = (bits & !(0x3 << 62)) | (0x2 << 62);
        MessageId(bits.to_be_bytes())
    }

    /// The id as it leaves the simulator.
    pub(super) fn sqs(self) -> SqsMessageId {
        SqsMessageId::from_uuid(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn ids_are_uuid_v4_shaped_distinct_and_seeded() {
        let mut a = stream(1, "sim-main");
        let mut b = stream(1, "sim-main");
        let first = MessageId::next(&mut a);
        let second = MessageId::next(&mut a);
        assert_eq!(first, MessageId::next(&mut b));
        assert_ne!(first, second);
        let first = first.sqs().text();
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
        let dashes: Vec<usize> = first.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, [8, 13, 18, 23]);
    }

    #[test]
    fn the_text_spells_the_bits_in_order() {
        let id = MessageId(0x0123_4567_89ab_4def_8123_4567_89ab_cdef_u128.to_be_bytes());
        let text = id.sqs().text();
        assert_eq!(&*text, "01234567-89ab-4def-8123-456789abcdef");
        assert_eq!(
            id.sqs(),
            SqsMessageId::from(&*text),
            "kept either way, the same id"
        );
        assert_ne!(
            id.sqs(),
            SqsMessageId::from("01234567-89ab-4def-8123-456789abcdee")
        );
    }
}
