//! The claim check: a producer stores a body too large for a message in the status table and
//! sends a pointer to it instead; the consumer reads the payload back before handling the
//! message and deletes it after deleting the message.
//!
//! A body may be larger than one DynamoDB item (SQS takes 1 MiB, an item holds 400 KB), so it
//! is stored in chunks, all in one TransactWriteItems: a pointer never names a half-stored
//! payload. Chunks split at character boundaries, so each is valid UTF-8 on its own.

use super::context::RunContext;
use super::event::{ActorId, EventKind, MessageIx};
use super::payload::PayloadRef;
use crate::backend::{Backend, BackendError, Item, Table, payload_item_key};

/// The most body bytes one chunk item holds: with its key and attribute names, well under
/// DynamoDB's 400 KB item limit ([`crate::backend::MAX_ITEM_BYTES`]).
const CHUNK_BYTES: usize = 384 * 1024;

/// `body` in pieces of at most [`CHUNK_BYTES`], split at character boundaries.
fn chunks(body: &str) -> Vec<&str> {
    let mut pieces = Vec::with_capacity(body.len().div_ceil(CHUNK_BYTES));
    let mut rest = body;
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// The pointer to `body` once stored.
pub(super) fn claim_of(body: &str) -> PayloadRef {
    PayloadRef {
        chunks: u32::try_from(chunks(body).len()).unwrap_or(u32::MAX),
        bytes: body.len() as u64,
    }
}

/// Stores message `ix`'s `body` (whose pointer is [`claim_of`]) and records it.
pub(super) async fn store<B: Backend>(
    ctx: &RunContext<B>,
    actor: ActorId,
    ix: MessageIx,
    body: &str,
) -> Result<(), BackendError> {
    let id = ctx.log().borrow().meta(ix).id.clone();
    let items: Vec<(String, Item)> = chunks(body)
        .into_iter()
        .zip(0..)
        .map(|(piece, n)| {
            let item = Item {
                message: Some(id.clone()),
                body: Some(piece.into()),
                ..Item::default()
            };
            (payload_item_key(&id, n), item)
        })
        .collect();
    ctx.backend().transact_put(Table::Status, &items).await?;
    let chunks = u32::try_from(items.len()).unwrap_or(u32::MAX);
    ctx.record(actor, Some(ix), EventKind::PayloadStored { chunks });
    Ok(())
}

/// The status-table keys of message `id`'s payload, in order.
pub(super) fn keys(id: &str, claim: PayloadRef) -> impl Iterator<Item = String> + '_ {
    (0..claim.chunks).map(move |n| payload_item_key(id, n))
}

/// Whether the chunks read back (`None` where an item is missing) make up the payload `claim`
/// describes.
pub(super) fn complete(claim: PayloadRef, read: &[Option<Item>]) -> bool {
    let bytes: Option<usize> = read
        .iter()
        .map(|item| item.as_ref()?.body.as_deref().map(str::len))
        .sum();
    read.len() == claim.chunks as usize && bytes == Some(claim.bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_body_at_character_boundaries_within_the_item_limit() {
        let body = format!(
            "{}é{}",
            "x".repeat(CHUNK_BYTES - 1),
            "y".repeat(CHUNK_BYTES + 5)
        );
        let pieces = chunks(&body);
        assert_eq!(pieces.concat(), body);
        assert_eq!(pieces.len(), 3);
        // The two-byte é would straddle the first boundary: the first piece stops before it.
        assert_eq!(pieces[0].len(), CHUNK_BYTES - 1);
        for piece in &pieces {
            let item = Item {
                message: Some("orders-0001".into()),
                body: Some((*piece).into()),
                ..Item::default()
            };
            let key = payload_item_key("orders-0001", 0);
            assert!(item.size_bytes(&key) <= crate::backend::MAX_ITEM_BYTES);
        }
        assert!(chunks("").is_empty());
    }

    #[test]
    fn a_payload_is_complete_only_with_every_chunk_and_every_byte() {
        let claim = PayloadRef {
            chunks: 2,
            bytes: 5,
        };
        let item = |body: &str| {
            Some(Item {
                body: Some(body.into()),
                ..Item::default()
            })
        };
        assert!(complete(claim, &[item("abc"), item("de")]));
        assert!(!complete(claim, &[item("abc"), None]));
        assert!(!complete(claim, &[item("abc"), item("d")]));
        assert!(!complete(claim, &[item("abc")]));
    }
}
