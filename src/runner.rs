//! Runs one scenario end to end on a chosen backend: capability check, engine, checks, snapshot.
//! The CLI, the tests and the benchmark all go through here, so they run scenarios the same way.

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use crate::backend::aws::{AwsBackend, AwsOptions};
use crate::backend::sim::SimBackend;
use crate::backend::{Backend, BackendError, Capability};
use crate::check::{self, Verdict};
use crate::engine::{self, Outcome, Progress, ProgressHook};
use crate::infra::ResourcesFile;
use crate::report::projection;
use crate::report::snapshot::{self, SnapshotStatus, UpdateMode};
use crate::scenario::Scenario;

/// Which backend a run uses.
#[derive(Clone, Debug, Default)]
pub enum BackendChoice {
    #[default]
    Sim,
    /// AWS, or an AWS-compatible endpoint (`endpoint_url`). Boxed: the options carry a
    /// resources entry, far larger than the simulator's nothing.
    Aws(Box<AwsOptions>),
}

#[derive(Clone)]
pub struct RunOptions {
    pub backend: BackendChoice,
    /// Overrides the file's seed; the snapshot comparison is then skipped.
    pub seed: Option<u64>,
    /// Where snapshots live; default `snapshots/` beside the scenario's folder.
    pub snapshots: Option<PathBuf>,
    pub update: UpdateMode,
    /// Called with a progress report every few seconds on real backends.
    pub progress: Option<ProgressFn>,
    /// Limits beyond the scenario's virtual `timeout` (`--max-wall`).
    pub limits: engine::Limits,
    /// Pre-provisioned resources per scenario (`--resources`); each run uses its scenario's.
    pub resources: Option<Arc<ResourcesFile>>,
}

/// Receives progress reports of a run on a real backend: (scenario name, progress).
pub type ProgressFn = Arc<dyn Fn(&str, &Progress) + Send + Sync>;

/// How often a run on a real backend reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("backend", &self.backend)
            .field("seed", &self.seed)
            .field("snapshots", &self.snapshots)
            .field("update", &self.update)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            backend: BackendChoice::Sim,
            seed: None,
            snapshots: None,
            update: UpdateMode::Never,
            progress: None,
            limits: engine::Limits::default(),
            resources: None,
        }
    }
}

/// One scenario's run, ready for reporting.
#[derive(Debug)]
pub struct ScenarioRun {
    pub scenario: Arc<Scenario>,
    pub seed: u64,
    pub backend: &'static str,
    pub wall: Duration,
    pub result: RunResult,
    /// API calls per operation, on backends that count them (what a run costs on AWS).
    pub api_calls: Option<BTreeMap<&'static str, u64>>,
    /// The flags that select this backend again, for the reproduce command.
    pub backend_args: String,
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
    /// Ctrl-C: the run stopped and its resources were torn down.
    Interrupted,
}

impl ScenarioRun {
    pub fn passed(&self) -> bool {
        match &self.result {
            RunResult::Finished(f) => f.verdict.passed() && !f.snapshot.is_failure(),
            RunResult::Skipped { .. } => true,
            RunResult::BackendFailed(_) | RunResult::SnapshotIo(_) | RunResult::Interrupted => {
                false
            }
        }
    }
}

/// Runs `scenario` as `options` say and checks it.
pub fn run_scenario(scenario: Scenario, options: &RunOptions) -> ScenarioRun {
    // The engine shares the scenario among its single-threaded actors (Rc); the report may
    // cross threads (`--jobs`), so it keeps its own Arc.
    let report_scenario = Arc::new(scenario.clone());
    let scenario = Rc::new(scenario);
    let seed = options.seed.unwrap_or(scenario.seed);
    let started = Instant::now();
    let (backend_name, execution, api_calls) = match &options.backend {
        BackendChoice::Sim => {
            let sim = Rc::new(SimBackend::new(seed));
            (
                "sim",
                simulated_block_on(execute(&scenario, sim, seed, None, options.limits)),
                None,
            )
        }
        BackendChoice::Aws(aws) => {
            let progress = options.progress.clone().map(|report| {
                let name = scenario.name.clone();
                ProgressHook {
                    every: PROGRESS_EVERY,
                    report: Box::new(move |p: &Progress| report(&name, p)),
                }
            });
            let mut aws = aws.clone();
            if let Some(resources) = &options.resources {
                // The CLI checked every scenario against the file before running any.
                aws.provisioned = resources.matching(&scenario).ok().cloned();
            }
            let (execution, calls) = realtime_block_on(async {
                match AwsBackend::connect(&aws, &scenario.name).await {
                    Ok(backend) => {
                        let backend = Rc::new(backend);
                        let execution = execute_interruptible(
                            &scenario,
                            backend.clone(),
                            seed,
                            progress,
                            options.limits,
                        )
                        .await;
                        (execution, Some(backend.api_calls()))
                    }
                    Err(error) => (Execution::Failed(error), None),
                }
            });
            ("aws", execution, calls)
        }
    };
    let wall = started.elapsed();
    let result = match execution {
        Execution::Skipped(missing) => RunResult::Skipped { missing },
        Execution::Failed(error) => RunResult::BackendFailed(error),
        Execution::Interrupted => RunResult::Interrupted,
        Execution::Done(outcome) => finish(&scenario, *outcome, seed, options),
    };
    let backend_args = backend_args(options);
    ScenarioRun {
        scenario: report_scenario,
        seed,
        backend: backend_name,
        wall,
        result,
        api_calls,
        backend_args,
    }
}

/// Runs `scenarios` on up to `jobs` threads (each run has its own runtime and backend) and hands
/// each result to `report` in the scenarios' order, as soon as it and all before it are done.
/// `report` returns false to stop: scenarios not yet started are not run.
pub fn run_all(
    scenarios: Vec<Scenario>,
    options: &RunOptions,
    jobs: usize,
    mut report: impl FnMut(ScenarioRun) -> bool,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, mpsc};

    let total = scenarios.len();
    let queue = Mutex::new(
        scenarios
            .into_iter()
            .enumerate()
            .collect::<std::collections::VecDeque<_>>(),
    );
    let stop = AtomicBool::new(false);
    let (done, results) = mpsc::channel::<(usize, ScenarioRun)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, total.max(1)) {
            let (queue, stop, done) = (&queue, &stop, done.clone());
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some((index, scenario)) = queue
                        .lock()
                        .expect("no worker panics holding it")
                        .pop_front()
                    else {
                        break;
                    };
                    if done.send((index, run_scenario(scenario, options))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut pending: BTreeMap<usize, ScenarioRun> = BTreeMap::new();
        let mut next = 0;
        for (index, run) in results {
            pending.insert(index, run);
            while let Some(run) = pending.remove(&next) {
                next += 1;
                if !report(run) {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    });
}

/// The flags that select `options`' backend again, for the reproduce command.
fn backend_args(options: &RunOptions) -> String {
    match &options.backend {
        BackendChoice::Sim => String::new(),
        BackendChoice::Aws(aws) => {
            let mut args = String::from(" --backend aws");
            for (flag, value) in [
                ("--region", &aws.region),
                ("--profile", &aws.profile),
                ("--endpoint-url", &aws.endpoint_url),
            ] {
                if let Some(value) = value {
                    args.push_str(&format!(" {flag} {value}"));
                }
            }
            if let Some(resources) = &options.resources {
                args.push_str(&format!(" --resources {}", resources.path.display()));
            }
            args
        }
    }
}

/// Runs `scenario` on a fresh simulator and returns what happened (tests and benchmarks).
pub fn simulate(scenario: Rc<Scenario>, seed: u64) -> Result<Outcome, BackendError> {
    let backend = Rc::new(SimBackend::new(seed));
    simulated_block_on(engine::run(
        scenario,
        backend,
        seed,
        None,
        engine::Limits::default(),
    ))
}

enum Execution {
    Skipped(Vec<Capability>),
    Failed(BackendError),
    Interrupted,
    Done(Box<Outcome>),
}

async fn execute<B: Backend + 'static>(
    scenario: &Rc<Scenario>,
    backend: Rc<B>,
    seed: u64,
    progress: Option<ProgressHook>,
    limits: engine::Limits,
) -> Execution {
    let missing = engine::missing_capabilities(scenario, &backend.capabilities());
    if !missing.is_empty() {
        tracing::info!(scenario = %scenario.name, ?missing, "skipped: the backend lacks capabilities");
        return Execution::Skipped(missing);
    }
    match engine::run(scenario.clone(), backend, seed, progress, limits).await {
        Ok(outcome) => Execution::Done(Box::new(outcome)),
        Err(error) => Execution::Failed(error),
    }
}

/// As [`execute`], but Ctrl-C stops the run and still tears its resources down.
async fn execute_interruptible<B: Backend + 'static>(
    scenario: &Rc<Scenario>,
    backend: Rc<B>,
    seed: u64,
    progress: Option<ProgressHook>,
    limits: engine::Limits,
) -> Execution {
    tokio::select! {
        biased;
        _ = tokio::signal::ctrl_c() => {
            // The run's future is dropped mid-flight; teardown is idempotent and deletes
            // whatever this run had created so far.
            let _ = backend.teardown().await;
            Execution::Interrupted
        }
        execution = execute(scenario, backend.clone(), seed, progress, limits) => execution,
    }
}

fn realtime_block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    let runtime = engine::realtime_runtime().expect("a current-thread runtime always builds");
    tokio::task::LocalSet::new().block_on(&runtime, future)
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
