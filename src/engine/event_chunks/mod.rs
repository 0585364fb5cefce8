//! The run's events in chunks of fixed capacity, each event packed into 16 bytes.
//!
//! A single `Vec` of millions of events grows by doubling: at each growth the old and the new
//! buffer exist together, and after it up to half the new one is empty. Chunks never move what
//! is recorded: the log grows one chunk at a time and wastes at most one chunk's spare room.
//! The first chunk grows as a `Vec` does, so a small run allocates no more than it needs.
//!
//! An [`Event`] is 32 bytes (its 8-byte time aligns it). Stored, its time is a 32-bit offset
//! from its chunk's first event, its message a plain index, its actor 16 bits and its kind six
//! bytes ([`PackedKind`]): 16 bytes. A million-message run keeps six million events, so this
//! saves 96 MB. A chunk ends early when an event's time does not fit its offset (over 71
//! minutes after the chunk's first event, or before it), so any order of times is stored
//! exactly. The few events that do not pack (a kind with two 32-bit numbers, an actor past
//! 65,535) are kept whole beside the packed ones.

mod packed_kind;

use self::packed_kind::{PackedKind, Tag};
use super::event::{ActorId, Event, MessageIx};

/// Events per chunk: 1 MiB of 16-byte events.
const CHUNK: usize = 1 << 16;

/// [`Event::message`]'s `None`: a run registers fewer than 2^32 - 1 messages.
const NO_MESSAGE: u32 = u32::MAX;

/// An event as a chunk stores it: the fields of its [`PackedKind`] laid out flat, so that they
/// share one 16-byte slot with the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Packed {
    /// Microseconds after the chunk's `base_us`.
    offset_us: u32,
    message: u32,
    value: u32,
    actor: u16,
    tag: Tag,
    detail: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Chunk {
    base_us: u64,
    events: Vec<Packed>,
    /// The events that do not pack, whole; a [`Tag::Spilled`] event is its index here.
    spilled: Vec<Event>,
}

impl Chunk {
    fn new(base_us: u64, capacity: usize) -> Chunk {
        Chunk {
            base_us,
            events: Vec::with_capacity(capacity),
            spilled: Vec::new(),
        }
    }

    /// Stores `event` if its time fits and there is room; gives it back if not.
    fn push(&mut self, event: Event) -> Result<(), Event> {
        if self.events.len() >= CHUNK {
            return Err(event);
        }
        let Some(offset_us) = event
            .at_us
            .checked_sub(self.base_us)
            .and_then(|offset| u32::try_from(offset).ok())
        else {
            return Err(event);
        };
        let message = match event.message {
            Some(MessageIx(ix)) => {
                assert_ne!(ix, NO_MESSAGE, "fewer than 2^32 - 1 messages");
                ix
            }
            None => NO_MESSAGE,
        };
        let packed = u16::try_from(event.actor.0)
            .ok()
            .zip(PackedKind::pack(event.kind));
        let (actor, kind) = packed.unwrap_or_else(|| {
            let index = u32::try_from(self.spilled.len()).expect("a chunk holds under 2^32");
            self.spilled.push(event);
            (0, PackedKind::spilled(index))
        });
        self.events.push(Packed {
            offset_us,
            message,
            value: kind.value,
            actor,
            tag: kind.tag,
            detail: kind.detail,
        });
        Ok(())
    }

    fn unpack(&self, packed: &Packed) -> Event {
        let kind = PackedKind {
            tag: packed.tag,
            detail: packed.detail,
            value: packed.value,
        };
        if kind.tag == Tag::Spilled {
            return self.spilled[packed.value as usize];
        }
        Event {
            at_us: self.base_us + u64::from(packed.offset_us),
            actor: ActorId(u32::from(packed.actor)),
            message: (packed.message != NO_MESSAGE).then_some(MessageIx(packed.message)),
            kind: kind.unpack(),
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
        let event = match self.chunks.last_mut() {
            Some(chunk) => chunk.push(event).err(),
            None => Some(event),
        };
        if let Some(event) = event {
            // The first chunk starts small and grows; every later one is allocated whole.
            let capacity = if self.chunks.is_empty() { 0 } else { CHUNK };
            let mut chunk = Chunk::new(event.at_us, capacity);
            chunk
                .push(event)
                .expect("an empty chunk takes its base time");
            self.chunks.push(chunk);
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
    use super::super::event::{EventKind, KeyRef};
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
    fn events_are_stored_in_16_bytes() {
        assert_eq!(size_of::<Packed>(), 16);
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
    fn events_that_do_not_pack_are_kept_whole_in_their_place() {
        let mut all: Vec<Event> = (0..10).map(event).collect();
        all[2].kind = EventKind::Applied {
            version: 7,
            key: KeyRef::MESSAGE_ID,
        };
        all[5].actor = ActorId(70_000);
        all[6].kind = EventKind::StaleVersion {
            version: 1,
            current: 2,
        };
        all[6].message = None;
        let events: Events = all.iter().copied().collect();
        assert_eq!(events.chunks.len(), 1);
        assert_eq!(events.chunks[0].spilled.len(), 3);
        assert!(events.iter().eq(all.iter().copied()));
        assert!(events.iter().rev().eq(all.iter().rev().copied()));
        let merged = events.merged_with(&[event(4)]);
        assert_eq!(merged.iter().nth(6), Some(all[5]));
        let mut kept = merged;
        kept.retain(|e| e.actor.0 == 70_000 || e.message.is_none());
        assert!(kept.iter().eq([all[5], all[6]]));
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
