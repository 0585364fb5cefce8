//! `qsim explore`: each scenario across many seeds on the simulator, to find what a single seed
//! hides. A scenario passes an exploration when every seed passes its `[expect]` and each of its
//! `[expect.sometimes]` holds on at least one seed (the fault it is about did fire).
//!
//! Runs are independent (each its own single-threaded simulator), so they spread over threads;
//! the result does not depend on the number of threads or on the order runs finish in, so shards
//! of one exploration ([`Partition`], as cargo-nextest's `--partition count:K/N`) run on many
//! machines and [`Exploration::merge`] combines their results into the verdict one machine would
//! have reached.

mod seeds;
mod tally;

pub use seeds::{Partition, Seeds};
pub use tally::Exploration;
pub(crate) use tally::{FORMAT, MergeError, ScenarioTally, SeedRecord, SometimesTally};

use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::check::{self, Verdict};
use crate::runner;
use crate::scenario::{Expectation, Scenario};
use crate::sqs::envelope::Profile;

/// What to explore.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seeds: Seeds,
    /// Replaces every file's `[queue.sim] profile`.
    pub profile: Option<Profile>,
    /// Only this shard's seeds.
    pub partition: Option<Partition>,
    /// Runs at once (each on its own thread).
    pub jobs: usize,
}

/// Explores every scenario as `plan` says; `finished` is called once per scenario, in the
/// scenarios' order, as soon as all its seeds are done.
pub fn explore(
    scenarios: Vec<Scenario>,
    plan: &Plan,
    mut finished: impl FnMut(&ScenarioTally),
) -> Exploration {
    let scenarios: Vec<Arc<Scenario>> = scenarios
        .into_iter()
        .map(|mut scenario| {
            if let Some(profile) = plan.profile {
                scenario.queue.sim.profile = profile;
            }
            Arc::new(scenario)
        })
        .collect();
    let seeds: Vec<u64> = plan.seeds.iter_in(plan.partition).collect();
    let work: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|s| seeds.iter().map(move |&seed| (s, seed)))
        .collect();
    let tallies: Vec<Mutex<ScenarioTally>> = scenarios
        .iter()
        .map(|s| Mutex::new(ScenarioTally::new(s)))
        .collect();
    let remaining: Vec<AtomicUsize> = scenarios
        .iter()
        .map(|_| AtomicUsize::new(seeds.len()))
        .collect();
    let next = AtomicUsize::new(0);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<usize>();
    let started = Instant::now();
    std::thread::scope(|threads| {
        for _ in 0..plan.jobs.clamp(1, work.len().max(1)) {
            let done_tx = done_tx.clone();
            let (work, scenarios, tallies, remaining, next) =
                (&work, &scenarios, &tallies, &remaining, &next);
            threads.spawn(move || {
                // The engine shares a scenario among its actors with `Rc`: one per thread.
                let mut local: Vec<Option<Rc<Scenario>>> = vec![None; scenarios.len()];
                while let Some(&(index, seed)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let scenario = local[index]
                        .get_or_insert_with(|| Rc::new(Scenario::clone(&scenarios[index])));
                    let record = run_seed(scenario, seed);
                    lock(&tallies[index]).add(&record);
                    if remaining[index].fetch_sub(1, Ordering::AcqRel) == 1 {
                        let _ = done_tx.send(index);
                    }
                }
            });
        }
        drop(done_tx);
        // Report in the scenarios' order, each as soon as it and every one before it is done.
        let mut done = vec![seeds.is_empty(); scenarios.len()];
        let mut reported = 0;
        let mut report_ready = |done: &[bool], reported: &mut usize| {
            while *reported < done.len() && done[*reported] {
                finished(&lock(&tallies[*reported]));
                *reported += 1;
            }
        };
        report_ready(&done, &mut reported);
        for index in done_rx {
            done[index] = true;
            report_ready(&done, &mut reported);
        }
    });
    Exploration {
        format: FORMAT.to_owned(),
        version: tally::VERSION,
        profile: plan.profile.map(|p| p.as_str().to_owned()),
        seeds: plan.seeds,
        partitions: plan.partition.into_iter().collect(),
        wall_ms: millis(started.elapsed()),
        scenarios: tallies
            .into_iter()
            .map(|t| t.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect(),
    }
}

/// One seed of one scenario, checked.
fn run_seed(scenario: &Rc<Scenario>, seed: u64) -> SeedRecord {
    let started = Instant::now();
    let outcome = runner::simulate(Rc::clone(scenario), seed);
    let wall_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    match outcome {
        Err(error) => SeedRecord {
            seed,
            wall_us,
            failed: vec![format!("backend error: {}", error.kind)],
            sometimes: vec![false; scenario.expect.sometimes.len()],
        },
        Ok(outcome) => {
            let verdict = check::check(scenario, &outcome);
            SeedRecord {
                seed,
                wall_us,
                failed: failed_checks(scenario, &verdict),
                sometimes: verdict.sometimes.iter().map(|r| r.passed).collect(),
            }
        }
    }
}

/// What failed on one run, as stable names (not values, which vary by seed): the signature.
fn failed_checks(scenario: &Scenario, verdict: &Verdict) -> Vec<String> {
    let mut failed = Vec::new();
    if verdict.ending != crate::engine::Ending::Completed {
        failed.push(format!("run {}", verdict.ending.as_str()));
    }
    if !verdict.violations.is_empty() {
        failed.push("conservation (a bug in qsim)".to_owned());
    }
    failed.extend(
        verdict
            .failures()
            .map(|r| key_path(scenario, "expect", &r.expectation)),
    );
    failed
}

/// Where an expectation of `scenario` is written in its file: `expect.processed`,
/// `expect.producer.safe.purged`, `expect.sometimes.purged`.
pub fn key_path(scenario: &Scenario, table: &str, expectation: &Expectation) -> String {
    match expectation.scope {
        Some(producer) => format!(
            "{table}.producer.{}.{}",
            scenario.producer(producer).name,
            expectation.metric.name()
        ),
        None => format!("{table}.{}", expectation.metric.name()),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking run poisons nothing worth losing: the tally is updated in one call.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
