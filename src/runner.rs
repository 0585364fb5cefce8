//! Runs one scenario end to end on a chosen backend: capability check, engine, checks, snapshot.
//! The CLI, the tests and the benchmark all go through here, so they run scenarios the same way.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::backend::sim::SimBackend;
use crate::backend::{Backend, BackendError, Capability};
use crate::check::{self, Verdict};
use crate::engine::{self, Outcome};
use crate::report::projection;
use crate::report::snapshot::{self, SnapshotStatus, UpdateMode};
use crate::scenario::Scenario;

/// Which backend a run uses.
#[derive(Clone, Debug, Default)]
pub enum BackendChoice {
    #[default]
    Sim,
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub backend: BackendChoice,
    /// Overrides the file's seed; the snapshot comparison is then skipped.
    pub seed: Option<u64>,
    /// Where snapshots live; default `snapshots/` beside the scenario's folder.
    pub snapshots: Option<PathBuf>,
    pub update: UpdateMode,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            backend: BackendChoice::Sim,
            seed: None,
            snapshots: None,
            update: UpdateMode::Never,
        }
    }
}

/// One scenario's run, ready for reporting.
#[derive(Debug)]
pub struct ScenarioRun {
    pub scenario: Rc<Scenario>,
    pub seed: u64,
    pub backend: &'static str,
    pub wall: Duration,
    pub result: RunResult,
}

/// A run that completed: what happened, what the checks said, what the snapshot said.
#[derive(Debug)]
pub struct Finished {
    pub outcome: Outcome,
    pub verdict: Verdict,
    pub snapshot: SnapshotStatus,
}

#[derive(Debug)]
pub enum RunResult {
    Finished(Box<Finished>),
    /// The backend lacks something the scenario depends on; nothing was run.
    Skipped {
        missing: Vec<Capability>,
    },
    /// The backend failed (not the scenario's checks).
    BackendFailed(BackendError),
    /// Writing or reading a snapshot failed.
    SnapshotIo(String),
}

impl ScenarioRun {
    pub fn passed(&self) -> bool {
        match &self.result {
            RunResult::Finished(f) => f.verdict.passed() && !f.snapshot.is_failure(),
            RunResult::Skipped { .. } => true,
            RunResult::BackendFailed(_) | RunResult::SnapshotIo(_) => false,
        }
    }
}

/// Runs `scenario` as `options` say and checks it.
pub fn run_scenario(scenario: Scenario, options: &RunOptions) -> ScenarioRun {
    let scenario = Rc::new(scenario);
    let seed = options.seed.unwrap_or(scenario.seed);
    let started = Instant::now();
    let (backend_name, result) = match &options.backend {
        BackendChoice::Sim => (
            "sim",
            simulated_block_on(execute(&scenario, SimBackend::new(seed), seed)),
        ),
    };
    let wall = started.elapsed();
    let result = match result {
        Execution::Skipped(missing) => RunResult::Skipped { missing },
        Execution::Failed(error) => RunResult::BackendFailed(error),
        Execution::Done(outcome) => finish(&scenario, *outcome, seed, options),
    };
    ScenarioRun {
        scenario,
        seed,
        backend: backend_name,
        wall,
        result,
    }
}

/// Runs `scenario` on a fresh simulator and returns what happened (tests and benchmarks).
pub fn simulate(scenario: Rc<Scenario>, seed: u64) -> Result<Outcome, BackendError> {
    let backend = Rc::new(SimBackend::new(seed));
    simulated_block_on(engine::run(scenario, backend, seed))
}

enum Execution {
    Skipped(Vec<Capability>),
    Failed(BackendError),
    Done(Box<Outcome>),
}

async fn execute<B: Backend + 'static>(
    scenario: &Rc<Scenario>,
    backend: B,
    seed: u64,
) -> Execution {
    let missing = engine::missing_capabilities(scenario, &backend.capabilities());
    if !missing.is_empty() {
        return Execution::Skipped(missing);
    }
    match engine::run(scenario.clone(), Rc::new(backend), seed).await {
        Ok(outcome) => Execution::Done(Box::new(outcome)),
        Err(error) => Execution::Failed(error),
    }
}

fn simulated_block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    let runtime = engine::simulated_runtime().expect("a current-thread runtime always builds");
    tokio::task::LocalSet::new().block_on(&runtime, future)
}

fn finish(scenario: &Scenario, outcome: Outcome, seed: u64, options: &RunOptions) -> RunResult {
    let verdict = check::check(scenario, &outcome);
    let projection = projection::project(scenario, &outcome, &verdict.facts);
    let snapshot = if seed != scenario.seed {
        SnapshotStatus::SkippedForSeed {
            file_seed: scenario.seed,
        }
    } else {
        let dir = options
            .snapshots
            .clone()
            .unwrap_or_else(|| snapshot::default_dir(&scenario.path));
        match snapshot::compare(&dir, &scenario.name, &projection, options.update) {
            Ok(status) => status,
            Err(e) => return RunResult::SnapshotIo(format!("{}: {e}", dir.display())),
        }
    };
    RunResult::Finished(Box::new(Finished {
        outcome,
        verdict,
        snapshot,
    }))
}
