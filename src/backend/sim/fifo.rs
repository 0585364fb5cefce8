//! Delivery order of a FIFO queue: message groups, strict order within a group, and group
//! blocking.
//!
//! Each group lists its available messages (visible or in flight; delayed ones join when their
//! delay ends, so they never block) in the order they became available. Only the run of visible
//! messages before the group's first in-flight message is deliverable. A group whose first message
//! is visible waits in `ready`, a round-robin list, so groups are served fairly and in a
//! deterministic order.
//!
//! Invariants:
//! - a group is in `ready` at most once (`in_ready`); a `ready` entry may be stale (the group got
//!   blocked or emptied meanwhile) and is re-checked when popped;
//! - a group with no stored messages that is not in `ready` is recycled, so memory follows the
//!   number of groups with messages, not every group ever seen.

use std::collections::VecDeque;
use std::sync::Arc;

use super::fast_hash::FastMap;
use super::store::{State, Store, Stored};

#[derive(Clone, Copy, Debug)]
struct Entry {
    slot: u32,
    seq: u64,
}

#[derive(Debug)]
struct Group {
    id: Arc<str>,
    entries: VecDeque<Entry>,
    in_ready: bool,
}

#[derive(Debug, Default)]
pub(super) struct FifoOrder {
    groups: Vec<Group>,
    free: Vec<u32>,
    by_id: FastMap<Arc<str>, u32>,
    ready: VecDeque<u32>,
}

/// Where one receive is inside the group it is draining.
#[derive(Debug, Default)]
pub(super) struct Cursor {
    group: Option<u32>,
    position: usize,
}

impl FifoOrder {
    /// The index of the group `id`, created when new.
    pub(super) fn group(&mut self, id: &Arc<str>) -> u32 {
        if let Some(&index) = self.by_id.get(id) {
            return index;
        }
        let index = match self.free.pop() {
            Some(index) => {
                // The recycled group keeps its deque's buffer.
                let group = &mut self.groups[index as usize];
                group.id = Arc::clone(id);
                group.in_ready = false;
                index
            }
            None => {
                self.groups.push(Group {
                    id: Arc::clone(id),
                    entries: VecDeque::new(),
                    in_ready: false,
                });
                u32::try_from(self.groups.len() - 1).expect("fewer than 2^32 groups")
            }
        };
        self.by_id.insert(Arc::clone(id), index);
        index
    }

    /// A message becomes available in its group for the first time. Returns whether the group
    /// became deliverable.
    pub(super) fn push(&mut self, store: &Store, group: u32, slot: u32, seq: u64) -> bool {
        self.groups[group as usize]
            .entries
            .push_back(Entry { slot, seq });
        self.touch(store, group)
    }

    /// Re-examines a group after one of its messages changed (became visible again, was deleted,
    /// moved or expired). Returns whether the group became deliverable.
    pub(super) fn touch(&mut self, store: &Store, group: u32) -> bool {
        let entry = &mut self.groups[group as usize];
        while let Some(front) = entry.entries.front() {
            if store.live(front.slot, front.seq).is_some() {
                break;
            }
            entry.entries.pop_front();
        }
        let Some(front) = entry.entries.front() else {
            if !entry.in_ready {
                self.recycle(group);
            }
            return false;
        };
        let visible = store.get(front.slot).state() == State::Visible;
        if visible && !entry.in_ready {
            entry.in_ready = true;
            self.ready.push_back(group);
            return true;
        }
        false
    }

    /// The next deliverable message of this receive: the rest of the current group's visible
    /// run, then the next ready group. The caller makes the returned message in flight (or removes
    /// it) before asking again, and calls [`FifoOrder::finish`] at the end.
    pub(super) fn next(&mut self, store: &Store, cursor: &mut Cursor) -> Option<u32> {
        loop {
            if let Some(group) = cursor.group {
                let entries = &self.groups[group as usize].entries;
                while let Some(&entry) = entries.get(cursor.position) {
                    cursor.position += 1;
                    match store.live(entry.slot, entry.seq).map(Stored::state) {
                        None => continue,
                        Some(State::Visible) => return Some(entry.slot),
                        Some(_) => break,
                    }
                }
                self.finish(store, cursor);
            }
            let group = self.ready.pop_front()?;
            self.groups[group as usize].in_ready = false;
            *cursor = Cursor {
                group: Some(group),
                position: 0,
            };
        }
    }

    /// Ends a receive: the group it was draining is re-examined (recycled, or ready again).
    pub(super) fn finish(&mut self, store: &Store, cursor: &mut Cursor) {
        if let Some(group) = cursor.group.take() {
            self.touch(store, group);
        }
    }

    pub(super) fn clear(&mut self) {
        self.groups.clear();
        self.free.clear();
        self.by_id.clear();
        self.ready.clear();
    }

    fn recycle(&mut self, group: u32) {
        let entry = &mut self.groups[group as usize];
        self.by_id.remove(&entry.id);
        entry.entries.clear();
        self.free.push(group);
    }

    #[cfg(test)]
    pub(super) fn live_groups(&self) -> usize {
        self.by_id.len()
    }
}
