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
//!   [`Store::insert`], [`Store::set_state`] or [`Store::remove`].

use std::sync::Arc;

use crate::backend::{QueueDepth, QueueId};

use super::clock::Moment;

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
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub(super) seq: u64,
    pub(super) message_id: Arc<str>,
    pub(super) body: Arc<str>,
    pub(super) group_id: Option<Arc<str>>,
    /// Index of the FIFO group, set when the message first becomes available (unused on
    /// standard queues).
    pub(super) group: u32,
    /// Retention counts from here; kept when a message is redriven to a DLQ.
    pub(super) enqueued_at: Moment,
    pub(super) receive_count: u32,
    pub(super) state: State,
    /// The queue a redriven message came from (where a move task returns it).
    pub(super) origin: Option<QueueId>,
    /// For an injected duplicate: the original, deleted together with the copy if still stored.
    pub(super) copy_of: Option<(u32, u64)>,
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

#[derive(Debug, Default)]
struct Slot {
    issued: u32,
    floor: u32,
    message: Option<Stored>,
}

#[derive(Debug, Default)]
pub(super) struct Store {
    slots: Vec<Slot>,
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
        self.next_seq
    }

    pub(super) fn insert(&mut self, message: Stored) -> u32 {
        count(&mut self.depth, message.state, 1);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len()).expect("fewer than 2^32 messages");
                self.slots.push(Slot::default());
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.floor = slot.issued;
        slot.message = Some(message);
        index
    }

    pub(super) fn remove(&mut self, slot: u32) -> Stored {
        let message = self.slots[slot as usize]
            .message
            .take()
            .expect("removing an occupied slot");
        count(&mut self.depth, message.state, -1);
        self.free.push(slot);
        message
    }

    /// Removes every stored message; issued generations are kept so old receipts stay `Gone`.
    pub(super) fn clear(&mut self) {
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.message.take().is_some() {
                self.free.push(index as u32);
            }
        }
        self.depth = QueueDepth::default();
    }

    /// The message named by `(slot, seq)`, if it is still stored.
    pub(super) fn live(&self, slot: u32, seq: u64) -> Option<&Stored> {
        self.slots
            .get(slot as usize)
            .and_then(|s| s.message.as_ref())
            .filter(|m| m.seq == seq)
    }

    /// The occupant of a slot known to be occupied.
    pub(super) fn get(&self, slot: u32) -> &Stored {
        self.slots[slot as usize]
            .message
            .as_ref()
            .expect("occupied slot")
    }

    pub(super) fn set_state(&mut self, slot: u32, state: State) {
        let message = self.slots[slot as usize]
            .message
            .as_mut()
            .expect("occupied slot");
        count(&mut self.depth, message.state, -1);
        count(&mut self.depth, state, 1);
        message.state = state;
    }

    pub(super) fn set_group(&mut self, slot: u32, group: u32) {
        self.slots[slot as usize]
            .message
            .as_mut()
            .expect("occupied slot")
            .group = group;
    }

    /// Counts a delivery and issues its receipt generation.
    pub(super) fn deliver(&mut self, slot: u32, state: State) -> u32 {
        self.set_state(slot, state);
        let slot = &mut self.slots[slot as usize];
        slot.issued += 1;
        slot.message.as_mut().expect("occupied slot").receive_count += 1;
        slot.issued
    }

    pub(super) fn classify(&self, slot: u32, generation: u32) -> ReceiptStatus {
        let Some(entry) = self.slots.get(slot as usize) else {
            return ReceiptStatus::Invalid;
        };
        if generation == 0 || generation > entry.issued {
            ReceiptStatus::Invalid
        } else if entry.message.is_none() || generation <= entry.floor {
            ReceiptStatus::Gone
        } else if generation < entry.issued {
            ReceiptStatus::Superseded(slot)
        } else {
            ReceiptStatus::Current(slot)
        }
    }

    /// The generation a receipt for this slot's occupant would carry now (0: never received).
    pub(super) fn generation(&self, slot: u32) -> u32 {
        let entry = &self.slots[slot as usize];
        if entry.issued > entry.floor {
            entry.issued
        } else {
            0
        }
    }

    /// Every stored message with its slot, in send order.
    pub(super) fn all(&self) -> Vec<(u32, &Stored)> {
        let mut all: Vec<(u32, &Stored)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| slot.message.as_ref().map(|m| (index as u32, m)))
            .collect();
        all.sort_by_key(|(_, m)| m.seq);
        all
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
