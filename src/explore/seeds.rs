//! Which seeds an exploration runs: `--seeds N` (seeds 1 to N), `--seeds A..B` (A to B-1, as a
//! Rust range) or `--seeds A..=B`, and `--partition K/N` (this shard's share of them).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An inclusive range of seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seeds {
    pub first: u64,
    pub last: u64,
}

impl Seeds {
    pub fn count(&self) -> u64 {
        self.last - self.first + 1
    }

    /// The seeds of `partition` (all of them without one), in order.
    pub fn iter_in(&self, partition: Option<Partition>) -> impl Iterator<Item = u64> + use<> {
        let first = self.first;
        (self.first..=self.last).filter(move |seed| partition.is_none_or(|p| p.owns(seed - first)))
    }
}

impl FromStr for Seeds {
    type Err = String;

    fn from_str(text: &str) -> Result<Seeds, String> {
        let number = |part: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| format!("\"{part}\" is not a seed (a whole number from 0)"))
        };
        let seeds = if let Some((first, last)) = text.split_once("..=") {
            Seeds {
                first: number(first)?,
                last: number(last)?,
            }
        } else if let Some((first, end)) = text.split_once("..") {
            let (first, end) = (number(first)?, number(end)?);
            if end <= first {
                return Err(format!(
                    "{text} holds no seed: the end is excluded, as in Rust"
                ));
            }
            Seeds {
                first,
                last: end - 1,
            }
        } else {
            let count = number(text)?;
            if count == 0 {
                return Err("--seeds 0 runs nothing: give a count from 1".to_owned());
            }
            Seeds {
                first: 1,
                last: count,
            }
        };
        if seeds.last < seeds.first {
            return Err(format!("{text} holds no seed: the last is below the first"));
        }
        Ok(seeds)
    }
}

impl fmt::Display for Seeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.first, self.last)
    }
}

/// Shard `index` (1-based) of `count`: every `count`-th seed, starting with the `index`-th.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    fn owns(&self, position: u64) -> bool {
        position % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Partition, String> {
        let invalid = || format!("\"{text}\" is not a partition: K/N with 1 <= K <= N, e.g. 2/4");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index: u32 = index.trim().parse().map_err(|_| invalid())?;
        let count: u32 = count.trim().parse().map_err(|_| invalid())?;
        if index == 0 || index > count {
            return Err(invalid());
        }
        Ok(Partition { index, count })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_read_as_a_count_or_a_rust_range() {
        let seeds = |t: &str| t.parse::<Seeds>().map(|s| (s.first, s.last));
        assert_eq!(seeds("1000"), Ok((1, 1000)));
        assert_eq!(seeds("5..8"), Ok((5, 7)));
        assert_eq!(seeds("5..=8"), Ok((5, 8)));
        assert!(seeds("0").is_err());
        assert!(seeds("8..8").is_err());
        assert!(seeds("9..=8").is_err());
        assert!(seeds("x..3").is_err());
    }

    #[test]
    fn the_shards_of_a_partition_cover_every_seed_once() {
        let seeds: Seeds = "3..=40".parse().unwrap();
        let mut covered: Vec<u64> = (1..=4)
            .flat_map(|index| seeds.iter_in(Some(Partition { index, count: 4 })))
            .collect();
        covered.sort_unstable();
        assert_eq!(covered, seeds.iter_in(None).collect::<Vec<_>>());
        assert_eq!(covered.len() as u64, seeds.count());
    }

    #[test]
    fn partitions_read_as_k_of_n() {
        assert_eq!("2/4".parse(), Ok(Partition { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }
}
