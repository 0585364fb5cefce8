//! The run's events in chunks of fixed capacity, each event packed into 24 bytes.
//!
//! A single `Vec` of millions of events grows by doubling: at each growth the old and the new
//! buffer exist together, and after it up to half the new one is empty. Chunks never move what
//! is recorded: the log grows one chunk at a time and wastes at most one chunk's spare room.
//! The first chunk grows as a `Vec` does, so a small run allocates no more than it needs.
//!
//! An [`Event`] is 32 bytes (its 8-byte time aligns it); stored, its time is a 32-bit offset from
//! its chunk's first event and its message a plain index, 24 bytes: a million-message run keeps
//! six million events, so this is 48 MB. A chunk ends early when an event's time does not fit
//! its offset (over 71 minutes after the chunk's first event, or before it), so any order of
//! times is stored exactly.

use super::event::{ActorId, Event, EventKind, MessageIx};

/// Events per chunk: 1.5 MiB of 24-byte events.
const CHUNK: usize = 1 << 16;

/// [`Event::message`]'s `None`: a run registers fewer than 2^32 - 1 messages.
const NO_MESSAGE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Packed {
    /// Microseconds after the chunk's `base_us`.
    offset_us: u32,
    actor: u32,
    message: u32,
    kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Chunk {
    base_us: u64,
    events: Vec<Packed>,
}

impl Chunk {
    fn new(base_us: u64, capacity: usize) -> Chunk {
        Chunk {
            base_us,
            events: Vec::with_capacity(capacity),
        }
    }

    /// `event` packed for this chunk, if its time fits and there is room.
    fn pack(&self, event: &Event) -> Option<Packed> {
        if self.events.len() >= CHUNK {
            return None;
        }
        let offset_us = u32::try_from(event.at_us.checked_sub(self.base_us)?).ok()?;
        let message = match event.message {
            Some(MessageIx(ix)) => {
                assert_ne!(ix, NO_MESSAGE, "fewer than 2^32 - 1 messages");
                ix
            }
            None => NO_MESSAGE,
        };
        Some(Packed {
            offset_us,
            actor: event.actor.0,
            message,
            kind: event.kind,
        })
    }

    fn unpack(&self, packed: &Packed) -> Event {
        Event {
            at_us: self.base_us + u64::from(packed.offset_us),
            actor: ActorId(packed.actor),
            message: (packed.message != NO_MESSAGE).then_some(MessageIx(packed.message)),
            kind: packed.kind,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    chunks: Vec<Chunk>,
    len: usize,
}

impl Events {
    pub fn push(&mut self, event: Event) {
        match self.chunks.last_mut() {
            Some(chunk) if let Some(packed) = chunk.pack(&event) => chunk.events.push(packed),
            _ => {
                // The first chunk starts small and grows; every later one is allocated whole.
                let capacity = if self.chunks.is_empty() { 0 } else { CHUNK };
                let mut chunk = Chunk::new(event.at_us, capacity);
                let packed = chunk.pack(&event).expect("an empty chunk takes its base");
                chunk.events.push(packed);
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

    pub fn first(&self) -> Option<Event> {
        let chunk = self.chunks.first()?;
        chunk.events.first().map(|packed| chunk.unpack(packed))
    }

    pub fn last(&self) -> Option<Event> {
        let chunk = self.chunks.last()?;
        chunk.events.last().map(|packed| chunk.unpack(packed))
    }

    /// Keeps only the events `keep` holds for, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Event) -> bool) {
        let mut kept = Events::default();
        for chunk in std::mem::take(&mut self.chunks) {
            for packed in &chunk.events {
                let event = chunk.unpack(packed);
                if keep(&event) {
                    kept.push(event);
                }
            }
        }
        *self = kept;
    }

    /// These events merged with `late` (sorted by time), in time order where both are; on equal
    /// times these events come first. Each chunk is dropped once merged, so the merge needs one
    /// chunk of room, not a second log.
    pub fn merged_with(self, late: &[Event]) -> Events {
        let mut merged = Events::default();
        let mut late = late.iter().peekable();
        for chunk in self.chunks {
            for packed in &chunk.events {
                let event = chunk.unpack(packed);
                while let Some(earlier) = late.next_if(|l| l.at_us < event.at_us) {
                    merged.push(*earlier);
                }
                merged.push(event);
            }
        }
        late.for_each(|event| merged.push(*event));
        merged
    }

    /// In recording order (in time order once the log is ordered).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            chunks: &self.chunks,
            front: (0, 0),
            back: (self.chunks.len(), 0),
            remaining: self.len,
        }
    }
}

/// The events of an [`Events`], unpacked one at a time.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    chunks: &'a [Chunk],
    /// The next event from the front: (chunk, index in it).
    front: (usize, usize),
    /// One past the next event from the back: (chunk, index in it), or (chunk count, 0).
    back: (usize, usize),
    remaining: usize,
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if self.remaining == 0 {
            return None;
        }
        let (mut chunk, mut at) = self.front;
        while at >= self.chunks[chunk].events.len() {
            (chunk, at) = (chunk + 1, 0);
        }
        self.front = (chunk, at + 1);
        self.remaining -= 1;
        let chunk = &self.chunks[chunk];
        Some(chunk.unpack(&chunk.events[at]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Event> {
        if self.remaining == 0 {
            return None;
        }
        let (mut chunk, mut at) = self.back;
        while at == 0 {
            chunk -= 1;
            at = self.chunks[chunk].events.len();
        }
        self.back = (chunk, at - 1);
        self.remaining -= 1;
        let chunk = &self.chunks[chunk];
        Some(chunk.unpack(&chunk.events[at - 1]))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Events {
    type Item = Event;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
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

    fn event(at_us: u64) -> Event {
        Event {
            at_us,
            actor: ActorId(3),
            message: Some(MessageIx(at_us as u32)),
            kind: EventKind::Heartbeat,
        }
    }

    #[test]
    fn events_are_stored_in_24_bytes() {
        assert_eq!(size_of::<Packed>(), 24);
    }

    #[test]
    fn events_across_chunks_keep_their_order_and_fields() {
        let n = 2 * CHUNK + 3;
        let mut events: Events = (0..n as u64).map(event).collect();
        assert_eq!(events.len(), n);
        assert_eq!(events.chunks.len(), 3);
        // Every chunk after the first was allocated whole, never regrown.
        assert!(
            events.chunks[1..]
                .iter()
                .all(|c| c.events.capacity() == CHUNK)
        );
        assert!(events.iter().eq((0..n as u64).map(event)));
        assert!(events.iter().rev().eq((0..n as u64).rev().map(event)));
        assert_eq!(events.iter().len(), n);
        assert_eq!(events.first(), Some(event(0)));
        assert_eq!(events.last(), Some(event(n as u64 - 1)));
        let mut from_both_ends = events.iter();
        assert_eq!(from_both_ends.next(), Some(event(0)));
        assert_eq!(from_both_ends.next_back(), Some(event(n as u64 - 1)));
        assert_eq!(from_both_ends.len(), n - 2);
        events.retain(|e| e.at_us % 2 == 1);
        assert_eq!(events.len(), CHUNK + 1);
        assert_eq!(events.iter().nth(CHUNK / 2), Some(event(CHUNK as u64 + 1)));
        assert!(Events::default().is_empty());
        assert_eq!(Events::default().iter().next(), None);
    }

    #[test]
    fn times_far_apart_or_backwards_and_messageless_events_are_kept_exactly() {
        let times = [5, u64::from(u32::MAX) + 6, 7, 7, u64::MAX - 1, 0];
        let mut all: Vec<Event> = times.iter().map(|&t| event(t)).collect();
        all[2].message = None;
        let events: Events = all.iter().copied().collect();
        assert!(events.iter().eq(all.iter().copied()));
        assert_eq!(
            events.chunks.len(),
            5,
            "a new chunk wherever a time does not fit"
        );
    }

    #[test]
    fn a_merge_keeps_time_order_and_puts_the_log_first_on_ties() {
        let log: Events = [1, 3, 3, 8].into_iter().map(event).collect();
        let mut late: Vec<Event> = [0, 3, 9].into_iter().map(event).collect();
        late.iter_mut().for_each(|e| e.actor = ActorId(9));
        let merged = log.merged_with(&late);
        let order: Vec<(u64, u32)> = merged.iter().map(|e| (e.at_us, e.actor.0)).collect();
        assert_eq!(
            order,
            [(0, 9), (1, 3), (3, 3), (3, 3), (3, 9), (8, 3), (9, 9)]
        );
    }
}
