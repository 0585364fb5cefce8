//! The run's events in chunks of fixed capacity.
//!
//! A single `Vec` of millions of events grows by doubling: at each growth the old and the new
//! buffer exist together, and after it up to half the new one is empty. Chunks never move what
//! is recorded: the log grows one chunk at a time and wastes at most one chunk's spare room.
//! The first chunk grows as a `Vec` does, so a small run allocates no more than it needs.

use std::ops::{Index, IndexMut};

use super::event::Event;

/// Events per chunk: 2 MiB of 32-byte events. A power of two, so indexing is a shift and a mask.
const CHUNK: usize = 1 << 16;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    chunks: Vec<Vec<Event>>,
    len: usize,
}

impl Events {
    pub fn push(&mut self, event: Event) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(event),
            _ => {
                // The first chunk starts small and grows; every later one is allocated whole.
                let mut chunk = match self.chunks.is_empty() {
                    true => Vec::new(),
                    false => Vec::with_capacity(CHUNK),
                };
                chunk.push(event);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn first(&self) -> Option<&Event> {
        self.chunks.first()?.first()
    }

    pub fn last(&self) -> Option<&Event> {
        self.chunks.last()?.last()
    }

    /// Keeps only the events `keep` holds for, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Event) -> bool) {
        *self = std::mem::take(self)
            .chunks
            .into_iter()
            .flatten()
            .filter(|event| keep(event))
            .collect();
    }

    /// In recording order (in time order once the log is ordered).
    pub fn iter(&self) -> std::iter::Flatten<std::slice::Iter<'_, Vec<Event>>> {
        self.chunks.iter().flatten()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<Event>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Index<usize> for Events {
    type Output = Event;

    fn index(&self, at: usize) -> &Event {
        &self.chunks[at / CHUNK][at % CHUNK]
    }
}

impl IndexMut<usize> for Events {
    fn index_mut(&mut self, at: usize) -> &mut Event {
        &mut self.chunks[at / CHUNK][at % CHUNK]
    }
}

impl FromIterator<Event> for Events {
    fn from_iter<I: IntoIterator<Item = Event>>(events: I) -> Self {
        let mut all = Events::default();
        events.into_iter().for_each(|event| all.push(event));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{ActorId, EventKind};

    fn event(at_us: u64) -> Event {
        Event {
            at_us,
            actor: ActorId(0),
            message: None,
            kind: EventKind::Heartbeat,
        }
    }

    #[test]
    fn events_across_chunks_keep_their_order_and_positions() {
        let n = 2 * CHUNK + 3;
        let mut events: Events = (0..n as u64).map(event).collect();
        assert_eq!(events.len(), n);
        assert_eq!(events.chunks.len(), 3);
        // Every chunk after the first was allocated whole, never regrown.
        assert!(events.chunks[1..].iter().all(|c| c.capacity() == CHUNK));
        assert!(events.iter().map(|e| e.at_us).eq(0..n as u64));
        assert!(events.iter().rev().map(|e| e.at_us).eq((0..n as u64).rev()));
        assert_eq!(events[CHUNK].at_us, CHUNK as u64);
        assert_eq!(events.first().map(|e| e.at_us), Some(0));
        assert_eq!(events.last().map(|e| e.at_us), Some(n as u64 - 1));
        events[CHUNK + 1].at_us = 7;
        assert_eq!(events.iter().nth(CHUNK + 1).map(|e| e.at_us), Some(7));
        events.retain(|e| e.at_us % 2 == 1);
        assert_eq!(events.len(), CHUNK + 1);
        assert_eq!(events.iter().nth(CHUNK / 2).map(|e| e.at_us), Some(7));
        assert!(Events::default().is_empty());
    }
}
