//! The result of an exploration, per scenario: how many seeds ran and passed, each distinct
//! failure signature with its first seed, and how often each `[expect.sometimes]` held.
//!
//! Tallies only add up (counts) and take minimums (first seeds), so the order runs finish in
//! does not matter and shards merge into exactly what one machine would have tallied. The
//! JSON form is what `--report` writes and `--merge` reads.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::seeds::{Partition, Seeds};
use crate::scenario::Scenario;

/// The `format` field of an exploration's JSON.
pub(crate) const FORMAT: &str = "qsim-explore";
pub(super) const VERSION: u32 = 1;

/// An exploration, or several shards of one merged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Exploration {
    pub format: String,
    pub version: u32,
    /// The profile every scenario ran under; `None`: each file's own.
    pub profile: Option<String>,
    pub seeds: Seeds,
    /// The shards this result covers; empty: all seeds, unsharded.
    pub partitions: Vec<Partition>,
    /// Wall-clock time (for merged shards: the slowest shard's).
    pub wall_ms: u64,
    pub scenarios: Vec<ScenarioTally>,
}

/// One scenario across its explored seeds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioTally {
    pub path: String,
    pub name: String,
    pub runs: u64,
    pub passed: u64,
    /// Time spent running this scenario's seeds, summed over threads, in microseconds.
    pub run_us: u64,
    /// Distinct ways the failing seeds failed, by first seed.
    pub failures: Vec<Signature>,
    /// One per `[expect.sometimes]` check, in file order.
    pub sometimes: Vec<SometimesTally>,
}

/// The failed checks of a failing seed (names, not values): seeds failing the same checks
/// share a signature.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Signature {
    pub failed: Vec<String>,
    pub seeds: u64,
    pub first_seed: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SometimesTally {
    /// Where it is written: `expect.sometimes.purged`.
    pub check: String,
    /// The seeds it held on.
    pub held: u64,
    pub first_seed: Option<u64>,
}

/// What one seed of one scenario did.
#[derive(Clone, Debug)]
pub struct SeedRecord {
    pub seed: u64,
    pub wall_us: u64,
    /// Empty: the seed passed.
    pub failed: Vec<String>,
    /// Whether each `[expect.sometimes]` held.
    pub sometimes: Vec<bool>,
}

impl ScenarioTally {
    pub fn new(scenario: &Scenario) -> ScenarioTally {
        ScenarioTally {
            path: scenario.path.display().to_string(),
            name: scenario.name.clone(),
            runs: 0,
            passed: 0,
            run_us: 0,
            failures: Vec::new(),
            sometimes: scenario
                .expect
                .sometimes
                .iter()
                .map(|e| SometimesTally {
                    check: super::key_path(scenario, "expect.sometimes", e),
                    held: 0,
                    first_seed: None,
                })
                .collect(),
        }
    }

    pub fn add(&mut self, record: &SeedRecord) {
        self.runs += 1;
        self.run_us = self.run_us.saturating_add(record.wall_us);
        if record.failed.is_empty() {
            self.passed += 1;
        } else {
            self.add_failure(Signature {
                failed: record.failed.clone(),
                seeds: 1,
                first_seed: record.seed,
            });
        }
        for (tally, held) in self.sometimes.iter_mut().zip(&record.sometimes) {
            if *held {
                tally.add(1, Some(record.seed));
            }
        }
    }

    fn add_failure(&mut self, signature: Signature) {
        match self
            .failures
            .iter_mut()
            .find(|s| s.failed == signature.failed)
        {
            Some(known) => {
                known.seeds += signature.seeds;
                known.first_seed = known.first_seed.min(signature.first_seed);
            }
            None => self.failures.push(signature),
        }
        self.failures.sort_by_key(|s| s.first_seed);
    }

    /// Every seed passed and every `[expect.sometimes]` held somewhere.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.sometimes_unmet().next().is_none()
    }

    /// The `[expect.sometimes]` checks that held on no explored seed.
    pub fn sometimes_unmet(&self) -> impl Iterator<Item = &SometimesTally> {
        self.sometimes.iter().filter(|s| s.held == 0)
    }

    fn merge(&mut self, other: ScenarioTally) {
        self.runs += other.runs;
        self.passed += other.passed;
        self.run_us = self.run_us.saturating_add(other.run_us);
        for signature in other.failures {
            self.add_failure(signature);
        }
        for (mine, theirs) in self.sometimes.iter_mut().zip(other.sometimes) {
            mine.add(theirs.held, theirs.first_seed);
        }
    }
}

impl SometimesTally {
    fn add(&mut self, held: u64, first_seed: Option<u64>) {
        self.held += held;
        self.first_seed = match (self.first_seed, first_seed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no exploration results to merge")]
    Empty,
    #[error("{0}: not a qsim exploration result (format {FORMAT:?}, version {VERSION})")]
    NotAnExploration(String),
    #[error(
        "{path}: explored {found}, the first result explored {expected}: only shards of one exploration merge"
    )]
    Mismatch {
        path: String,
        expected: String,
        found: String,
    },
    #[error("shard {0} appears twice")]
    DuplicateShard(Partition),
    #[error("{0} covers every seed (it was not run with --partition): it merges with nothing")]
    Unsharded(String),
    #[error("shards of {0} and of {1} partitions do not make one exploration")]
    PartitionCounts(u32, u32),
    #[error("shards {missing} of {count} are missing: their seeds were not explored")]
    MissingShards { missing: String, count: u32 },
}

impl Exploration {
    pub fn passed(&self) -> bool {
        self.scenarios.iter().all(ScenarioTally::passed)
    }

    /// Combines shards of one exploration (same seeds, profile and scenarios, each shard once,
    /// none missing) into its result. `results` pairs each with the path it was read from.
    pub fn merge(results: Vec<(String, Exploration)>) -> Result<Exploration, MergeError> {
        let mut results = results.into_iter();
        let (first_path, mut merged) = results.next().ok_or(MergeError::Empty)?;
        let is_ours = |e: &Exploration| e.format == FORMAT && e.version == VERSION;
        if !is_ours(&merged) {
            return Err(MergeError::NotAnExploration(first_path));
        }
        let identity = |e: &Exploration| {
            let names: Vec<&str> = e.scenarios.iter().map(|s| s.path.as_str()).collect();
            format!(
                "seeds {} under profile {} of [{}]",
                e.seeds,
                e.profile.as_deref().unwrap_or("(each file's)"),
                names.join(", ")
            )
        };
        let expected = identity(&merged);
        let mut results = results.peekable();
        if merged.partitions.is_empty() && results.peek().is_some() {
            return Err(MergeError::Unsharded(first_path));
        }
        for (path, shard) in results {
            if shard.partitions.is_empty() {
                return Err(MergeError::Unsharded(path));
            }
            if !is_ours(&shard) {
                return Err(MergeError::NotAnExploration(path));
            }
            let found = identity(&shard);
            if found != expected {
                return Err(MergeError::Mismatch {
                    path,
                    expected,
                    found,
                });
            }
            merged.wall_ms = merged.wall_ms.max(shard.wall_ms);
            merged.partitions.extend(shard.partitions);
            for (mine, theirs) in merged.scenarios.iter_mut().zip(shard.scenarios) {
                mine.merge(theirs);
            }
        }
        merged.partitions.sort();
        if let Some(pair) = merged.partitions.windows(2).find(|p| p[0] == p[1]) {
            return Err(MergeError::DuplicateShard(pair[0]));
        }
        if let Some(count) = merged.partitions.first().map(|p| p.count) {
            if let Some(other) = merged.partitions.iter().find(|p| p.count != count) {
                return Err(MergeError::PartitionCounts(count, other.count));
            }
            let present: BTreeSet<u32> = merged.partitions.iter().map(|p| p.index).collect();
            let missing: Vec<String> = (1..=count)
                .filter(|i| !present.contains(i))
                .map(|i| i.to_string())
                .collect();
            if !missing.is_empty() {
                return Err(MergeError::MissingShards {
                    missing: missing.join(", "),
                    count,
                });
            }
            // Complete: the result is that of the whole range.
            merged.partitions.clear();
        }
        Ok(merged)
    }
}
