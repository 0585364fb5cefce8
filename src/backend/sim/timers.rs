//! Timers with lazy invalidation: a timer names a message by `(slot, seq)` and its due moment;
//! whoever pops it checks that the message still waits for exactly that moment. Cancelling is
//! free (nothing to find), and stale entries are dropped in bulk once they outnumber live ones,
//! which keeps every operation amortised O(log n) and memory proportional to what is stored.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::clock::Moment;
use super::store::shrink_sparse;

/// A due moment for the message `(slot, seq)`. Ordered by time, then by send order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Timer {
    pub(super) at: Moment,
    pub(super) seq: u64,
    pub(super) slot: u32,
}

/// Visibility and delay ends: a min-heap.
#[derive(Debug, Default)]
pub(super) struct TimerHeap {
    heap: BinaryHeap<Reverse<Timer>>,
}

impl TimerHeap {
    pub(super) fn push(&mut self, timer: Timer) {
        self.heap.push(Reverse(timer));
    }

    pub(super) fn pop_due(&mut self, now: Moment) -> Option<Timer> {
        match self.heap.peek() {
            Some(Reverse(top)) if top.at <= now => self.heap.pop().map(|Reverse(t)| t),
            _ => None,
        }
    }

    /// The earliest live timer, dropping stale ones on top.
    pub(super) fn next_live(&mut self, live: impl Fn(&Timer) -> bool) -> Option<Moment> {
        while let Some(Reverse(top)) = self.heap.peek() {
            if live(top) {
                return Some(top.at);
            }
            self.heap.pop();
        }
        None
    }

    /// Drops stale timers once they are the majority; `live_count` is how many can be live.
    pub(super) fn compact(&mut self, live_count: u64, live: impl Fn(&Timer) -> bool) {
        if self.heap.len() as u64 > 2 * live_count + 64 {
            self.heap.retain(|Reverse(t)| live(t));
        }
    }

    pub(super) fn clear(&mut self) {
        self.heap.clear();
    }
}

/// Retention expiries. Sends arrive in time order, so most expiries are appended to a deque in
/// order (O(1)); the rare out-of-order one (a redriven message keeps its older enqueue time) goes
/// to a heap.
#[derive(Debug, Default)]
pub(super) struct ExpiryQueue {
    ordered: VecDeque<Timer>,
    unordered: BinaryHeap<Reverse<Timer>>,
}

impl ExpiryQueue {
    pub(super) fn push(&mut self, timer: Timer) {
        match self.ordered.back() {
            Some(last) if last.at > timer.at => self.unordered.push(Reverse(timer)),
            _ => self.ordered.push_back(timer),
        }
    }

    pub(super) fn pop_due(&mut self, now: Moment) -> Option<Timer> {
        let ordered = self.ordered.front().filter(|t| t.at <= now);
        let unordered = self.unordered.peek().map(|r| &r.0).filter(|t| t.at <= now);
        match (ordered, unordered) {
            (Some(a), Some(b)) if b < a => self.unordered.pop().map(|Reverse(t)| t),
            (Some(_), _) => self.ordered.pop_front(),
            (None, Some(_)) => self.unordered.pop().map(|Reverse(t)| t),
            (None, None) => None,
        }
    }

    pub(super) fn compact(&mut self, live_count: u64, live: impl Fn(&Timer) -> bool) {
        if (self.ordered.len() + self.unordered.len()) as u64 > 2 * live_count + 64 {
            self.ordered.retain(&live);
            self.unordered.retain(|Reverse(t)| live(t));
        }
        shrink_sparse(&mut self.ordered);
    }

    pub(super) fn clear(&mut self) {
        self.ordered.clear();
        self.unordered.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(at: u64, seq: u64) -> Timer {
        Timer {
            at: Moment::from_nanos(at),
            seq,
            slot: 0,
        }
    }

    #[test]
    fn expiry_queue_pops_in_time_order_across_both_halves() {
        let mut queue = ExpiryQueue::default();
        for (at, seq) in [(10, 1), (20, 2), (5, 3), (30, 4), (15, 5)] {
            queue.push(timer(at, seq));
        }
        let mut popped = Vec::new();
        while let Some(t) = queue.pop_due(Moment::from_nanos(25)) {
            popped.push(t.seq);
        }
        assert_eq!(popped, [3, 1, 5, 2]);
        assert_eq!(queue.pop_due(Moment::from_nanos(29)), None);
        assert_eq!(
            queue.pop_due(Moment::from_nanos(30)).map(|t| t.seq),
            Some(4)
        );
    }

    #[test]
    fn heap_compaction_keeps_only_live_timers() {
        let mut heap = TimerHeap::default();
        for seq in 0..1000 {
            heap.push(timer(seq, seq));
        }
        heap.compact(10, |t| t.seq % 100 == 0);
        assert_eq!(heap.heap.len(), 10);
        assert_eq!(heap.next_live(|_| true), Some(Moment::from_nanos(0)));
    }
}
