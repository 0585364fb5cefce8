//! Message storage of one queue: a slab of slots reused through a free list, with the receipt
//! generations that tell a current receipt from a superseded, stale or forged one, and exact depth
//! counters.
//!
//! Invariants:
//! - `seq` is unique per stored message within the queue, so `(slot, seq)` names one message for
//!   ever: every lazily invalidated index (timers, visible lists, groups) checks it;
//! - a slot's `issued` generation only grows, across occupants: generations `1..=issued` were handed
//!   out, and `floor + 1..=issued` to the current occupant, so any token can be classified;
//! - `depth` always equals the number of occupants per [`State`]: every state change goes through
//!   [`Store::insert`], [`Store::set_state`] or [`Store::remove`];
//! - generations are kept per slot for the queue's life, occupants only while there are any: a
//!   drained backlog gives its memory back (see [`Store::remove`]).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::backend::{QueueDepth, QueueId};

use super::clock::Moment;
use super::message_id::MessageId;

/// Where a stored message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// Deliverable (for FIFO queues: subject to group blocking).
    Visible,
    /// Returned by a receive; visible again at `until` unless deleted first.
    InFlight { until: Moment, received_at: Moment },
    /// Sent with a delay; visible at `until`.
    Delayed { until: Moment },
}

/// One stored message (or an injected duplicate copy of one).
///
/// Kept small because a backlog holds millions of them (issue 9): the id is its 16 bytes, the
/// state is packed (its kind in the top bits of the sequence number, its moments in two fields
/// that the kind gives a meaning), and what standard messages seldom carry sits behind one
/// pointer in [`Rare`]. The size is held by a test.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    /// The sequence number, with the kind of [`State`] in the top [`KIND_BITS`] bits.
    seq_and_kind: u64,
    pub(super) message_id: MessageId,
    pub(super) body: Arc<str>,
    /// Retention counts from here; kept when a message is redriven to a DLQ.
    pub(super) enqueued_at: Moment,
    /// `until` of an in-flight or delayed message.
    until: Moment,
    /// `received_at` of an in-flight message.
    received_at: Moment,
    pub(super) receive_count: u32,
    /// Index of the FIFO group, set when the message first becomes available (unused on
    /// standard queues).
    pub(super) group: u32,
    rare: Option<Box<Rare>>,
}

/// What only some messages carry: FIFO messages their group id (so every FIFO message has this
/// part, one allocation, as its id was before), redriven ones their origin, injected duplicates
/// and their originals the link between them.
#[derive(Clone, Debug, Default)]
pub(super) struct Rare {
    pub(super) group_id: Option<Arc<str>>,
    /// The queue a redriven message came from (where a move task returns it).
    pub(super) origin: Option<QueueId>,
    /// For an injected duplicate: the original, deleted together with the copy if still stored.
    pub(super) copy_of: Option<(u32, u64)>,
    /// An original that already left a copy: one is the most it leaves, or a message that comes
    /// back at once (a 0 s visibility timeout) would multiply without end at one instant.
    pub(super) duplicated: bool,
}

/// Group index of messages on a standard queue, and of FIFO messages not yet available.
pub(super) const NO_GROUP: u32 = u32::MAX;

const KIND_BITS: u32 = 2;
const SEQ_BITS: u32 = u64::BITS - KIND_BITS;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
const VISIBLE: u64 = 0;
const IN_FLIGHT: u64 = 1;
const DELAYED: u64 = 2;

impl Stored {
    pub(super) fn new(
        seq: u64,
        message_id: MessageId,
        body: Arc<str>,
        enqueued_at: Moment,
        receive_count: u32,
        state: State,
        rare: Rare,
    ) -> Stored {
        let has_rare = rare.group_id.is_some()
            || rare.origin.is_some()
            || rare.copy_of.is_some()
            || rare.duplicated;
        let mut stored = Stored {
            seq_and_kind: seq,
            message_id,
            body,
            enqueued_at,
            until: Moment::ZERO,
            received_at: Moment::ZERO,
            receive_count,
            group: NO_GROUP,
            rare: has_rare.then(|| Box::new(rare)),
        };
        stored.put_state(state);
        stored
    }

    pub(super) fn seq(&self) -> u64 {
        self.seq_and_kind & SEQ_MASK
    }

    pub(super) fn state(&self) -> State {
        match self.seq_and_kind >> SEQ_BITS {
            VISIBLE => State::Visible,
            IN_FLIGHT => State::InFlight {
                until: self.until,
                received_at: self.received_at,
            },
            _ => State::Delayed { until: self.until },
        }
    }

    fn put_state(&mut self, state: State) {
        let kind = match state {
            State::Visible => VISIBLE,
            State::InFlight { until, received_at } => {
                self.until = until;
                self.received_at = received_at;
                IN_FLIGHT
            }
            State::Delayed { until } => {
                self.until = until;
                DELAYED
            }
        };
        self.seq_and_kind = self.seq() | (kind << SEQ_BITS);
    }

    pub(super) fn group_id(&self) -> Option<&Arc<str>> {
        self.rare.as_ref()?.group_id.as_ref()
    }

    pub(super) fn origin(&self) -> Option<QueueId> {
        self.rare.as_ref()?.origin
    }

    pub(super) fn copy_of(&self) -> Option<(u32, u64)> {
        self.rare.as_ref()?.copy_of
    }

    pub(super) fn duplicated(&self) -> bool {
        self.rare.as_ref().is_some_and(|rare| rare.duplicated)
    }

    /// Takes the rare part, leaving none (for a message leaving the store).
    pub(super) fn take_rare(&mut self) -> Rare {
        self.rare.take().map(|rare| *rare).unwrap_or_default()
    }
}

/// What a receipt token refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReceiptStatus {
    /// Never issued by this queue.
    Invalid,
    /// Issued for a message that is no longer stored here.
    Gone,
    /// Issued for the stored message, but a later receive issued a newer one.
    Superseded(u32),
    /// The latest receipt of the stored message in this slot.
    Current(u32),
}

/// The receipt generations of one slot.
#[derive(Clone, Copy, Debug, Default)]
struct Generations {
    issued: u32,
    floor: u32,
}

/// Below this many occupant places a drained store keeps them, so a queue that keeps emptying
/// and refilling does not reallocate every time.
const RELEASE_AT: usize = 4096;

#[derive(Debug, Default)]
pub(super) struct Store {
    /// Per slot, for the queue's life: old receipts stay classifiable.
    generations: Vec<Generations>,
    /// The occupant of each slot; never longer than `generations`, shorter after a release.
    messages: Vec<Option<Stored>>,
    free: Vec<u32>,
    next_seq: u64,
    depth: QueueDepth,
}

impl Store {
    pub(super) fn depth(&self) -> QueueDepth {
        self.depth
    }

    pub(super) fn len(&self) -> u64 {
        self.depth.total()
    }

    /// The next sequence number; pass it to [`Store::insert`].
    pub(super) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        assert!(
            self.next_seq <= SEQ_MASK,
            "fewer than 2^62 sends to one queue"
        );
        self.next_seq
    }

    pub(super) fn insert(&mut self, message: Stored) -> u32 {
        count(&mut self.depth, message.state(), 1);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index =
                    u32::try_from(self.generations.len()).expect("fewer than 2^32 messages");
                self.generations.push(Generations::default());
                index
            }
        };
        let at = index as usize;
        if self.messages.len() <= at {
            self.messages.resize_with(at + 1, || None);
        }
        let generations = &mut self.generations[at];
        generations.floor = generations.issued;
        self.messages[at] = Some(message);
        index
    }

    pub(super) fn remove(&mut self, slot: u32) -> Stored {
        let message = self.messages[slot as usize]
            .take()
            .expect("removing an occupied slot");
        count(&mut self.depth, message.state(), -1);
        self.free.push(slot);
        if self.depth.total() == 0 {
            self.release();
        }
        message
    }

    /// Removes every stored message; issued generations are kept so old receipts stay `Gone`.
    pub(super) fn clear(&mut self) {
        for (index, slot) in self.messages.iter_mut().enumerate() {
            if slot.take().is_some() {
                self.free.push(index as u32);
            }
        }
        self.depth = QueueDepth::default();
        self.release();
    }

    /// On an empty store: drops the occupant places (most of a drained backlog's memory; the
    /// generations stay) and hands slots out from 0 again, so the places regrow only as far as
    /// the next backlog needs. Which slot a message gets is invisible outside the store.
    fn release(&mut self) {
        if self.messages.capacity() < RELEASE_AT {
            return;
        }
        self.messages = Vec::new();
        self.free.clear();
        self.free.extend((0..self.generations.len() as u32).rev());
    }

    fn occupant(&self, slot: u32) -> Option<&Stored> {
        self.messages.get(slot as usize)?.as_ref()
    }

    fn occupant_mut(&mut self, slot: u32) -> &mut Stored {
        self.messages[slot as usize]
            .as_mut()
            .expect("occupied slot")
    }

    /// The message named by `(slot, seq)`, if it is still stored.
    pub(super) fn live(&self, slot: u32, seq: u64) -> Option<&Stored> {
        self.occupant(slot).filter(|m| m.seq() == seq)
    }

    /// The occupant of a slot known to be occupied.
    /// Records that the message in `slot` left its one injected copy.
    pub(super) fn mark_duplicated(&mut self, slot: u32) {
        let message = self.occupant_mut(slot);
        message.rare.get_or_insert_default().duplicated = true;
    }

    pub(super) fn get(&self, slot: u32) -> &Stored {
        self.occupant(slot).expect("occupied slot")
    }

    pub(super) fn set_state(&mut self, slot: u32, state: State) {
        let message = self.occupant_mut(slot);
        let old = message.state();
        message.put_state(state);
        count(&mut self.depth, old, -1);
        count(&mut self.depth, state, 1);
    }

    pub(super) fn set_group(&mut self, slot: u32, group: u32) {
        self.occupant_mut(slot).group = group;
    }

    /// Counts a delivery and issues its receipt generation.
    pub(super) fn deliver(&mut self, slot: u32, state: State) -> u32 {
        self.set_state(slot, state);
        self.occupant_mut(slot).receive_count += 1;
        let generations = &mut self.generations[slot as usize];
        generations.issued += 1;
        generations.issued
    }

    pub(super) fn classify(&self, slot: u32, generation: u32) -> ReceiptStatus {
        let Some(entry) = self.generations.get(slot as usize) else {
            return ReceiptStatus::Invalid;
        };
        if generation == 0 || generation > entry.issued {
            ReceiptStatus::Invalid
        } else if self.occupant(slot).is_none() || generation <= entry.floor {
            ReceiptStatus::Gone
        } else if generation < entry.issued {
            ReceiptStatus::Superseded(slot)
        } else {
            ReceiptStatus::Current(slot)
        }
    }

    /// The generation a receipt for this slot's occupant would carry now (0: never received).
    pub(super) fn generation(&self, slot: u32) -> u32 {
        let entry = &self.generations[slot as usize];
        if entry.issued > entry.floor {
            entry.issued
        } else {
            0
        }
    }

    /// Every stored message with its slot, in send order.
    pub(super) fn all(&self) -> Vec<(u32, &Stored)> {
        let mut all: Vec<(u32, &Stored)> = self
            .messages
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| slot.as_ref().map(|m| (index as u32, m)))
            .collect();
        all.sort_by_key(|(_, m)| m.seq());
        all
    }
}

/// Gives back the capacity of a deque that a drained backlog left mostly empty (it never shrinks
/// by itself). Halving at a quarter keeps the cost amortised O(1) per element.
pub(super) fn shrink_sparse<T>(deque: &mut VecDeque<T>) {
    if deque.capacity() > 4 * deque.len() + RELEASE_AT {
        deque.shrink_to(2 * deque.len());
    }
}

fn count(depth: &mut QueueDepth, state: State, delta: i64) {
    let counter = match state {
        State::Visible => &mut depth.visible,
        State::InFlight { .. } => &mut depth.in_flight,
        State::Delayed { .. } => &mut depth.delayed,
    };
    *counter = counter.wrapping_add_signed(delta);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(store: &mut Store) -> Stored {
        Stored::new(
            store.next_seq(),
            MessageId::next(&mut crate::rng::stream(1, "store")),
            Arc::from("body"),
            Moment::ZERO,
            0,
            State::Visible,
            Rare::default(),
        )
    }

    #[test]
    fn a_stored_message_stays_small() {
        // An occupied slot: the store holds `Option<Stored>` per slot, with no room for a tag.
        assert!(
            size_of::<Option<Stored>>() <= 80,
            "{}",
            size_of::<Option<Stored>>()
        );
    }

    #[test]
    fn the_packed_state_reads_back_as_written() {
        let mut store = Store::default();
        let stored = message(&mut store);
        let seq = stored.seq();
        let slot = store.insert(stored);
        let states = [
            State::InFlight {
                until: Moment::from_nanos(7),
                received_at: Moment::from_nanos(3),
            },
            State::Delayed {
                until: Moment::from_nanos(9),
            },
            State::Visible,
        ];
        for state in states {
            store.set_state(slot, state);
            assert_eq!(store.get(slot).state(), state);
            assert_eq!(store.get(slot).seq(), seq);
        }
        assert!(!store.get(slot).duplicated());
        store.mark_duplicated(slot);
        assert!(store.get(slot).duplicated());
        assert_eq!(store.get(slot).state(), State::Visible);
    }

    #[test]
    fn a_drained_backlog_gives_its_places_back_and_old_receipts_stay_gone() {
        let mut store = Store::default();
        let in_flight = State::InFlight {
            until: Moment::ZERO,
            received_at: Moment::ZERO,
        };
        let mut receipts = Vec::new();
        for _ in 0..2 * RELEASE_AT {
            let stored = message(&mut store);
            let slot = store.insert(stored);
            receipts.push((slot, store.deliver(slot, in_flight)));
        }
        for &(slot, _) in &receipts {
            store.remove(slot);
        }
        assert_eq!(store.messages.capacity(), 0, "released");
        for &(slot, generation) in &receipts {
            assert_eq!(store.classify(slot, generation), ReceiptStatus::Gone);
            assert_eq!(store.classify(slot, generation + 1), ReceiptStatus::Invalid);
        }
        // Slots are handed out from 0 again; the old receipt of a reused slot stays gone.
        let stored = message(&mut store);
        let slot = store.insert(stored);
        assert_eq!(slot, 0);
        assert_eq!(store.messages.len(), 1);
        let (_, old) = receipts[0];
        assert_eq!(store.classify(0, old), ReceiptStatus::Gone);
        let current = store.deliver(slot, in_flight);
        assert_eq!(store.classify(0, current), ReceiptStatus::Current(0));
        assert_eq!(store.depth().in_flight, 1);
    }

    #[test]
    fn a_small_store_keeps_its_places() {
        let mut store = Store::default();
        let stored = message(&mut store);
        let slot = store.insert(stored);
        store.remove(slot);
        assert!(store.messages.capacity() > 0);
    }

    #[test]
    fn sparse_deques_shrink_and_full_ones_do_not() {
        let mut deque: VecDeque<u64> = (0..10 * RELEASE_AT as u64).collect();
        let full = deque.capacity();
        shrink_sparse(&mut deque);
        assert_eq!(deque.capacity(), full);
        deque.truncate(10);
        shrink_sparse(&mut deque);
        assert!(deque.capacity() < full / 4, "{}", deque.capacity());
        assert_eq!(deque.len(), 10);
    }
}
