//! A read-mostly map from string keys to small values, for the millions of keys a table ends a
//! run with: the keys back to back in one string, sorted, found by binary search.
//!
//! A `BTreeMap<String, V>` or a `Vec<(Box<str>, V)>` pays a heap allocation per key (about 32
//! bytes for a 12-character key) on top of the key itself; here a key costs its bytes and a
//! 4-byte end offset. Keys are given in ascending order ([`SortedKeys::push`]) or sorted once
//! ([`SortedKeys::from_unsorted`]).

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct SortedKeys<V> {
    text: String,
    /// Where each key ends in `text`; key `i` starts where key `i - 1` ends.
    ends: Vec<u32>,
    values: Vec<V>,
}

impl<V> Default for SortedKeys<V> {
    fn default() -> Self {
        SortedKeys {
            text: String::new(),
            ends: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<V> SortedKeys<V> {
    /// Room for `keys` keys of `text_bytes` bytes together.
    pub fn with_capacity(keys: usize, text_bytes: usize) -> Self {
        SortedKeys {
            text: String::with_capacity(text_bytes),
            ends: Vec::with_capacity(keys),
            values: Vec::with_capacity(keys),
        }
    }

    /// Appends `key`, which must sort after every key already in; a key equal to the last one
    /// replaces its value.
    ///
    /// # Panics
    /// When `key` sorts before the last key (a caller's bug: the order is what lookups rely on),
    /// or when the keys pass 4 GiB.
    pub fn push(&mut self, key: &str, value: V) {
        if let Some(last) = self.last_key() {
            assert!(
                last <= key,
                "keys pushed out of order: {key:?} after {last:?}"
            );
            if last == key {
                *self.values.last_mut().expect("a last key has a value") = value;
                return;
            }
        }
        self.text.push_str(key);
        let end = u32::try_from(self.text.len()).expect("under 4 GiB of keys");
        self.ends.push(end);
        self.values.push(value);
    }

    /// The map of `entries` in any order; of equal keys the last one stays.
    pub fn from_unsorted<K: AsRef<str>>(entries: Vec<(K, V)>) -> Self {
        let mut entries = entries;
        // Stable: equal keys keep their order, so the last one given is the one pushed last.
        entries.sort_by(|(a, _), (b, _)| a.as_ref().cmp(b.as_ref()));
        let text_bytes = entries.iter().map(|(key, _)| key.as_ref().len()).sum();
        let mut map = SortedKeys::with_capacity(entries.len(), text_bytes);
        for (key, value) in entries {
            map.push(key.as_ref(), value);
        }
        map
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn key(&self, at: usize) -> &str {
        let start = match at {
            0 => 0,
            _ => self.ends[at - 1] as usize,
        };
        &self.text[start..self.ends[at] as usize]
    }

    fn last_key(&self) -> Option<&str> {
        self.len().checked_sub(1).map(|last| self.key(last))
    }

    fn position(&self, key: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.key(middle).cmp(key) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.position(key).map(|at| &self.values[at])
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// In key order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            map: self,
            at: 0..self.len(),
        }
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        (0..self.len()).map(|at| self.key(at))
    }

    pub fn values(&self) -> std::slice::Iter<'_, V> {
        self.values.iter()
    }
}

impl<'a, V> IntoIterator for &'a SortedKeys<V> {
    type Item = (&'a str, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

#[derive(Debug)]
pub struct Iter<'a, V> {
    map: &'a SortedKeys<V>,
    at: std::ops::Range<usize>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a str, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let at = self.at.next()?;
        Some((self.map.key(at), &self.map.values[at]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.at.size_hint()
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let at = self.at.next_back()?;
        Some((self.map.key(at), &self.map.values[at]))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

impl<V: fmt::Debug> fmt::Debug for SortedKeys<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_and_listed_in_order() {
        let map = SortedKeys::from_unsorted(vec![("b", 2), ("", 0), ("ab", 1), ("c", 3)]);
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            [("", &0), ("ab", &1), ("b", &2), ("c", &3)]
        );
        for (key, value) in [("", 0), ("ab", 1), ("b", 2), ("c", 3)] {
            assert_eq!(map.get(key), Some(&value), "{key}");
        }
        for absent in ["a", "abc", "bb", "d"] {
            assert!(!map.contains_key(absent), "{absent}");
        }
        assert_eq!(map.keys().next_back(), Some("c"));
    }

    #[test]
    fn the_last_of_equal_keys_stays() {
        let map = SortedKeys::from_unsorted(vec![("k", 1), ("j", 0), ("k", 2)]);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("k"), Some(&2));
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn a_key_pushed_out_of_order_is_a_bug() {
        let mut map = SortedKeys::default();
        map.push("b", ());
        map.push("a", ());
    }
}
