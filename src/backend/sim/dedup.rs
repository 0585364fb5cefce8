//! FIFO deduplication: an id seen within the last 5 minutes makes a send a no-op that answers
//! with the original message id. The window is independent of the stored messages, so an id is
//! remembered after its message was received and deleted (as SQS does, unlike moto).
//!
//! Content-based deduplication keys on the body itself: equal bodies are exactly what equal
//! SHA-256 digests stand for, without hashing twice.
//!
//! Under `DeduplicationScope=messageGroup` the key also holds the message group, so one id sent
//! in two groups is two messages; under the default `queue` scope it holds none. A
//! SetQueueAttributes that changes the scope leaves the ids remembered under the old one
//! unmatched until they expire: AWS documents nothing about ids across the switch, and this is
//! the simplest behaviour that never drops a send the new scope would deliver.

use std::collections::VecDeque;
use std::sync::Arc;

use super::clock::Moment;
use super::fast_hash::FastMap;
use super::message_id::MessageId;
use crate::sqs::DeduplicationScope;
use crate::sqs::facts::DEDUP_WINDOW;

/// What makes two sends the same message: the deduplication id, within the scope's group.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct DedupKey {
    /// The message group under the `messageGroup` scope; `None` under the `queue` scope.
    group: Option<Arc<str>>,
    id: DedupId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum DedupId {
    Explicit(Arc<str>),
    Content(Arc<str>),
}

impl DedupKey {
    pub(super) fn new(scope: DeduplicationScope, group: Option<&Arc<str>>, id: DedupId) -> Self {
        let group = match scope {
            DeduplicationScope::Queue => None,
            DeduplicationScope::MessageGroup => group.cloned(),
        };
        DedupKey { group, id }
    }
}

#[derive(Debug)]
struct Seen {
    message_id: MessageId,
    until: Moment,
}

#[derive(Debug, Default)]
pub(super) struct DedupWindow {
    seen: FastMap<DedupKey, Seen>,
    /// Expiry order; the window is constant, so insertion order is expiry order.
    expiries: VecDeque<(Moment, DedupKey)>,
}

impl DedupWindow {
    /// The message id of an earlier send with this key within the window, if any.
    pub(super) fn original(&mut self, key: &DedupKey, now: Moment) -> Option<MessageId> {
        self.expire(now);
        self.seen.get(key).map(|seen| seen.message_id)
    }

    pub(super) fn remember(&mut self, key: DedupKey, message_id: MessageId, now: Moment) {
        let until = now.after(DEDUP_WINDOW);
        self.expiries.push_back((until, key.clone()));
        self.seen.insert(key, Seen { message_id, until });
    }

    fn expire(&mut self, now: Moment) {
        while let Some((until, _)) = self.expiries.front() {
            if *until > now {
                break;
            }
            let (until, key) = self.expiries.pop_front().expect("front exists");
            if self.seen.get(&key).is_some_and(|seen| seen.until == until) {
                self.seen.remove(&key);
            }
        }
    }
}
