//! Delivery order of a standard queue: visible messages in the order they became visible, taken
//! from the head (or, when the reorder knob strikes, from a seeded position near it).
//!
//! Invariant: every visible message has exactly one live entry; entries of messages that left the
//! visible state other than by being taken (deleted, purged, expired) are stale and skipped.

use std::collections::VecDeque;

use super::faults::Faults;
use super::store::{State, Store, shrink_sparse};

#[derive(Clone, Copy, Debug)]
struct Entry {
    slot: u32,
    seq: u64,
}

#[derive(Debug, Default)]
pub(super) struct StandardOrder {
    visible: VecDeque<Entry>,
}

impl StandardOrder {
    pub(super) fn push(&mut self, slot: u32, seq: u64) {
        self.visible.push_back(Entry { slot, seq });
    }

    /// Takes the next visible message; `faults` decides reordering (`None`: strictly the head).
    pub(super) fn next(&mut self, store: &Store, mut faults: Option<&mut Faults>) -> Option<u32> {
        loop {
            let position = match faults.as_deref_mut() {
                Some(faults) if !self.visible.is_empty() => faults.pick(self.visible.len()),
                _ => 0,
            };
            let entry = self.visible.remove(position)?;
            if is_visible(store, entry) {
                return Some(entry.slot);
            }
        }
    }

    pub(super) fn compact(&mut self, store: &Store) {
        if self.visible.len() as u64 > 2 * store.depth().visible + 64 {
            self.visible.retain(|&e| is_visible(store, e));
        }
        shrink_sparse(&mut self.visible);
    }

    pub(super) fn clear(&mut self) {
        self.visible.clear();
    }
}

fn is_visible(store: &Store, entry: Entry) -> bool {
    store
        .live(entry.slot, entry.seq)
        .is_some_and(|m| m.state() == State::Visible)
}
