//! `qsim explore` as a person reads it: one line per scenario, then for each failure signature
//! how many seeds share it and the command that reproduces its first seed.

use std::fmt::Write;
use std::time::Duration;

use super::summary::clock;
use crate::explore::{Exploration, ScenarioTally, SometimesTally};

/// The lines of one explored scenario; `profile` is the `--profile` the exploration ran under.
pub fn scenario(tally: &ScenarioTally, profile: Option<&str>) -> String {
    let verdict = if tally.passed() { "PASS" } else { "FAIL" };
    let mut out = format!(
        "{verdict} {:<24} {}/{} seeds passed  {}",
        tally.name,
        tally.passed,
        tally.runs,
        clock(Duration::from_micros(tally.run_us))
    );
    for signature in &tally.failures {
        let _ = write!(
            out,
            "\n  ✗ {} {}: {}\n    first: {}",
            signature.seeds,
            if signature.seeds == 1 {
                "seed"
            } else {
                "seeds"
            },
            signature.failed.join(", "),
            reproduce(&tally.path, signature.first_seed, profile)
        );
    }
    for sometimes in &tally.sometimes {
        let _ = write!(out, "\n  {}", sometimes_line(sometimes, tally.runs));
    }
    out
}

/// Whether an `[expect.sometimes]` check held on some of the `runs` seeds.
pub fn sometimes_line(sometimes: &SometimesTally, runs: u64) -> String {
    match sometimes.first_seed {
        Some(first) => format!(
            "{}: held on {} of {runs} seeds (first: seed {first})",
            sometimes.check, sometimes.held
        ),
        None => format!(
            "✗ {}: held on none of {runs} seeds, so the behaviour it proves never happened",
            sometimes.check
        ),
    }
}

/// The closing line.
pub fn totals(exploration: &Exploration) -> String {
    let passed = exploration.scenarios.iter().filter(|s| s.passed()).count();
    let runs: u64 = exploration.scenarios.iter().map(|s| s.runs).sum();
    let shards = match exploration.partitions.as_slice() {
        [] => String::new(),
        shards => {
            let names: Vec<String> = shards.iter().map(ToString::to_string).collect();
            format!(", shard {}", names.join(" "))
        }
    };
    format!(
        "qsim explore: {passed} of {} scenarios passed, seeds {}{shards}, profile {}, {runs} runs in {}",
        exploration.scenarios.len(),
        exploration.seeds,
        exploration.profile.as_deref().unwrap_or("of each file"),
        clock(Duration::from_millis(exploration.wall_ms))
    )
}

/// The command that runs one explored seed again.
pub fn reproduce(path: &str, seed: u64, profile: Option<&str>) -> String {
    match profile {
        Some(profile) => format!("qsim run {path} --seed {seed} --sim-profile {profile}"),
        None => format!("qsim run {path} --seed {seed}"),
    }
}
