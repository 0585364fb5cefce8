//! A growable sequence in chunks of fixed capacity, for the per-slot vectors of a queue's store.
//!
//! A single `Vec` of a million slots grows by doubling: at each growth the old and the new buffer
//! exist together, and after it up to half the new one is spare. Chunks never move what they hold:
//! the sequence grows one chunk at a time and has at most one chunk of spare room. The first chunk
//! grows as a `Vec` does, so a queue that never holds many messages allocates no more than it
//! needs. (The run's event log does the same for events, see `engine/event_chunks.rs`.)

/// Elements per chunk; a power of two, so an index splits with a shift and a mask.
const CHUNK: usize = 1 << 12;

#[derive(Debug)]
pub(super) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
}

// Not derived: a derive would require `T: Default`.
impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked { chunks: Vec::new() }
    }
}

impl<T> Chunked<T> {
    pub(super) fn len(&self) -> usize {
        match self.chunks.last() {
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
            None => 0,
        }
    }

    /// The room allocated, used or not.
    pub(super) fn capacity(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum()
    }

    pub(super) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(value),
            _ => {
                // The first chunk starts small and grows; every later one is allocated whole.
                let mut chunk = match self.chunks.is_empty() {
                    true => Vec::new(),
                    false => Vec::with_capacity(CHUNK),
                };
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
    }

    pub(super) fn get(&self, at: usize) -> Option<&T> {
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    pub(super) fn get_mut(&mut self, at: usize) -> Option<&mut T> {
        self.chunks.get_mut(at / CHUNK)?.get_mut(at % CHUNK)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_across_chunks_keep_their_positions() {
        let n = 2 * CHUNK + 3;
        let mut chunked = Chunked::default();
        (0..n).for_each(|i| chunked.push(i));
        assert_eq!(chunked.len(), n);
        assert_eq!(chunked.chunks.len(), 3);
        // Every chunk after the first was allocated whole, never regrown.
        assert!(chunked.chunks[1..].iter().all(|c| c.capacity() == CHUNK));
        assert!(chunked.capacity() < n + CHUNK, "{}", chunked.capacity());
        assert!(chunked.iter().copied().eq(0..n));
        assert_eq!(chunked.get(CHUNK), Some(&CHUNK));
        assert_eq!(chunked.get(n), None);
        *chunked.get_mut(CHUNK + 1).expect("stored") = 7;
        chunked.iter_mut().take(2).for_each(|value| *value += 100);
        let read: Vec<usize> = chunked.iter().copied().take(2).collect();
        assert_eq!(read, [100, 101]);
        assert_eq!(chunked.get(CHUNK + 1), Some(&7));
        assert_eq!(Chunked::<u8>::default().len(), 0);
    }
}
