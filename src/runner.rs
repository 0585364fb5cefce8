//! Runs one scenario end to end on a chosen backend: capability check, engine, checks, snapshot.
//! The CLI, the tests and the benchmark all go through here, so they run scenarios the same way.

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use crate::backend::aws::{AwsBackend, AwsOptions, EndpointHistory, ResourceKind};
use crate::backend::sim::SimBackend;
use crate::backend::{Backend, BackendError, BackendErrorKind, Capability};
use crate::check::projection;
use crate::check::snapshot::{self, SnapshotStatus, UpdateMode};
use crate::check::{self, Verdict};
use crate::engine::{self, Outcome, Progress, ProgressHook, RunError};
use crate::infra::ResourcesFile;
use crate::interrupt::{ActiveRun, Interrupts, Signal};
use crate::poll_clock::ReadOncePerPoll;
use crate::scenario::Scenario;
use crate::serve::{self, HistoryTap, ServeOptions};
use crate::sqs::envelope::Profile;
use aws_sdk_sqs::config::Credentials;

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
    /// Overrides the file's simulator profile; the snapshot comparison is then skipped.
    pub profile: Option<Profile>,
    /// Where snapshots live; default `snapshots/` beside the scenario's folder.
    pub snapshots: Option<PathBuf>,
    pub update: UpdateMode,
    /// Called with a progress report every few seconds on real backends.
    pub progress: Option<ProgressFn>,
    /// Limits beyond the scenario's virtual `timeout` (`--max-wall`).
    pub limits: engine::Limits,
    /// Pre-provisioned resources per scenario (`--resources`); each run uses its scenario's.
    pub resources: Option<Arc<ResourcesFile>>,
    /// Ctrl-C and SIGTERM, shared by every run (see [`crate::interrupt`]); without it, a run on
    /// a real backend listens for them itself.
    pub interrupts: Option<Arc<Interrupts>>,
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
            profile: None,
            snapshots: None,
            update: UpdateMode::Never,
            progress: None,
            limits: engine::Limits::default(),
            resources: None,
            interrupts: None,
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
    /// HTTP requests per operation, SDK retries included (what AWS bills), where counted.
    pub api_attempts: Option<BTreeMap<String, u64>>,
    /// What the run could not delete, when its teardown failed or was cut short.
    pub leftovers: Option<Leftovers>,
    /// What runs it again, for the reproduce command.
    pub reproduce: Reproduce,
}

/// What selects a run again: the reports render the reproduce command from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reproduce {
    /// The scenario file.
    pub path: PathBuf,
    pub seed: u64,
    /// `--sim-profile`, when the run replaced the file's profile.
    pub sim_profile: Option<Profile>,
    /// `None`: the simulator, the default backend.
    pub aws: Option<AwsReproduce>,
}

/// The AWS connection settings a run was given, each `None` when left to the SDK's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsReproduce {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// The pre-provisioned resources file.
    pub resources: Option<PathBuf>,
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
    /// Ctrl-C or SIGTERM: the run stopped and its resources were torn down.
    Interrupted {
        signal: Signal,
    },
    /// Never started: an earlier signal, or the endpoint was unreachable for an earlier run.
    NotStarted(NotStarted),
}

/// Why a scenario was not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotStarted {
    Interrupted(Signal),
    /// The endpoint could not be reached during the run of this scenario.
    Unreachable {
        during: String,
    },
}

/// Resources a run created and could not delete.
#[derive(Debug)]
pub struct Leftovers {
    pub resources: Vec<(ResourceKind, String)>,
    /// The teardown's error, when the run's result does not already carry it.
    pub error: Option<BackendError>,
    /// The command that deletes them.
    pub cleanup_command: String,
}

impl ScenarioRun {
    pub fn passed(&self) -> bool {
        match &self.result {
            RunResult::Finished(f) => f.verdict.passed() && !f.snapshot.is_failure(),
            RunResult::Skipped { .. } => true,
            RunResult::BackendFailed(_)
            | RunResult::SnapshotIo(_)
            | RunResult::Interrupted { .. }
            | RunResult::NotStarted(_) => false,
        }
    }

    /// A run that was stopped or never started: neither passed nor failed.
    pub fn interrupted_or_not_started(&self) -> bool {
        matches!(
            self.result,
            RunResult::Interrupted { .. } | RunResult::NotStarted(_)
        )
    }

    /// The run went through but deleting its resources failed: the result's error is the
    /// teardown's (with a run error too, the teardown's is in [`Leftovers::error`] instead).
    pub fn failed_in_teardown(&self) -> bool {
        matches!(self.result, RunResult::BackendFailed(_))
            && self.leftovers.as_ref().is_some_and(|l| l.error.is_none())
    }

    /// The endpoint could not be reached: later runs on it would only wait out the timeouts.
    fn found_endpoint_unreachable(&self) -> bool {
        matches!(&self.result, RunResult::BackendFailed(error) if error.kind.is_unreachable())
    }
}

/// Runs `scenario` as `options` say and checks it.
pub fn run_scenario(mut scenario: Scenario, options: &RunOptions) -> ScenarioRun {
    let file_profile = scenario.queue.sim.profile;
    if let Some(profile) = options.profile {
        scenario.queue.sim.profile = profile;
    }
    // The engine shares the scenario among its single-threaded actors (Rc); the report may
    // cross threads (`--jobs`), so it keeps its own Arc.
    let report_scenario = Arc::new(scenario.clone());
    let scenario = Rc::new(scenario);
    let seed = options.seed.unwrap_or(scenario.seed);
    let started = Instant::now();
    let (backend_name, execution, usage) = match &options.backend {
        // Child-process consumers reach the queues over the network: the simulator is served
        // for the run (`qsim serve`, in real time) and driven as any endpoint is.
        BackendChoice::Sim if scenario.runs_child_processes() => {
            let (execution, usage) = served(&scenario, seed, options);
            ("sim", execution, usage)
        }
        BackendChoice::Sim => {
            let sim = Rc::new(SimBackend::new(seed));
            (
                "sim",
                simulated_block_on(execute(&scenario, sim, seed, None, options.limits)),
                None,
            )
        }
        BackendChoice::Aws(aws) => {
            let mut aws = aws.clone();
            if let Some(resources) = &options.resources {
                // The CLI checked every scenario against the file before running any.
                aws.provisioned = resources.matching(&scenario).ok().cloned();
            }
            let connect = AwsBackend::connect(&aws, &scenario.name);
            let (execution, usage) =
                realtime_block_on(on_aws(&scenario, &aws, connect, seed, options));
            ("aws", execution, usage)
        }
    };
    let wall = started.elapsed();
    let mut teardown_error = None;
    let result = match execution {
        Execution::Skipped(missing) => RunResult::Skipped { missing },
        Execution::Failed(error) => {
            let (error, teardown) = error.split();
            teardown_error = teardown;
            RunResult::BackendFailed(error)
        }
        Execution::Interrupted { signal, teardown } => {
            teardown_error = teardown;
            RunResult::Interrupted { signal }
        }
        Execution::Done(outcome) => finish(&scenario, *outcome, seed, file_profile, options),
    };
    let reproduce = reproduce(&scenario, seed, options);
    let (api_calls, api_attempts, leftovers) = match usage {
        Some(usage) => {
            let left = !usage.undeleted.is_empty() || teardown_error.is_some();
            let leftovers = (left && usage.outlives_run).then(|| Leftovers {
                resources: usage.undeleted,
                error: teardown_error,
                cleanup_command: usage.cleanup_command,
            });
            (Some(usage.calls), Some(usage.attempts), leftovers)
        }
        None => (None, None, None),
    };
    ScenarioRun {
        scenario: report_scenario,
        seed,
        backend: backend_name,
        wall,
        result,
        api_calls,
        api_attempts,
        leftovers,
        reproduce,
    }
}

/// Runs `scenario` on the backend `connect` makes, on the wall clock, registered for Ctrl-C
/// and SIGTERM (which stop it and still delete what it created).
async fn on_aws(
    scenario: &Rc<Scenario>,
    aws: &AwsOptions,
    connect: impl Future<Output = Result<AwsBackend, BackendError>>,
    seed: u64,
    options: &RunOptions,
) -> (Execution, Option<Usage>) {
    let progress = options.progress.clone().map(|report| {
        let name = scenario.name.clone();
        ProgressHook {
            every: PROGRESS_EVERY,
            report: Box::new(move |p: &Progress| report(&name, p)),
        }
    });
    let backend = match connect.await {
        Ok(backend) => Rc::new(backend),
        Err(error) => return (Execution::Failed(RunError::Run(error)), None),
    };
    let _active = options.interrupts.as_ref().map(|interrupts| {
        interrupts.register(ActiveRun {
            scenario: scenario.name.clone(),
            prefix: backend.prefix().to_owned(),
            cleanup_command: aws.cleanup_command(),
        })
    });
    let execution = execute_interruptible(
        scenario,
        backend.clone(),
        seed,
        progress,
        options.limits,
        options.interrupts.as_deref(),
    )
    .await;
    let usage = Usage {
        calls: backend.api_calls(),
        attempts: backend.api_attempts(),
        undeleted: backend.undeleted(),
        cleanup_command: aws.cleanup_command(),
        outlives_run: true,
    };
    (execution, Some(usage))
}

/// A simulator run of a scenario with child-process consumers: the simulator served on a
/// loopback port for this run only, with the scenario's profile and seed, and qsim's AWS
/// backend pointed at it (any credentials do: the server checks none).
fn served(scenario: &Rc<Scenario>, seed: u64, options: &RunOptions) -> (Execution, Option<Usage>) {
    // The server's history tells which `command` instance received and deleted what.
    let history = HistoryTap::default();
    let serving = ServeOptions {
        port: None,
        profile: scenario.queue.sim.profile,
        envelope: Some(scenario.queue.sim.envelope()),
        seed,
        events: None,
        tap: Some(history.clone()),
        faults: scenario.faults.clone(),
    };
    let server = match serve::spawn(serving) {
        Ok(server) => server,
        Err(error) => {
            let kind = BackendErrorKind::Service(error.to_string());
            let error = BackendError::new("Serve", "sim", kind);
            return (Execution::Failed(RunError::Run(error)), None);
        }
    };
    let aws = AwsOptions {
        region: Some(SERVED_REGION.to_owned()),
        endpoint_url: Some(server.endpoint_url()),
        ..AwsOptions::default()
    };
    let connect = async {
        let credentials = Credentials::new("qsim", "qsim", None, None, "qsim-serve");
        let config = aws
            .config_loader()
            .credentials_provider(credentials)
            .load()
            .await;
        let backend = AwsBackend::from_sdk_config(&config, &aws, &scenario.name)?;
        let read: EndpointHistory = Box::new(move |origin| history.lines_since(origin));
        Ok(backend.with_endpoint_history(read))
    };
    let (execution, mut usage) = realtime_block_on(on_aws(scenario, &aws, connect, seed, options));
    // The run is over: nothing of the server's state is needed, but a server that failed (its
    // thread panicked) is why the run's calls failed: said, not lost.
    if let Err(error) = server.stop() {
        tracing::warn!(scenario = %scenario.name, %error, "the served simulator failed");
    }
    // Whatever its teardown could not delete lived in the server, and went with it: nothing is
    // left behind, and no cleanup command could reach it.
    if let Some(usage) = &mut usage {
        usage.outlives_run = false;
    }
    (execution, usage)
}

/// The region qsim serve's ARNs name.
const SERVED_REGION: &str = "us-east-1";

/// What a run on AWS used and left behind.
struct Usage {
    calls: BTreeMap<&'static str, u64>,
    attempts: BTreeMap<String, u64>,
    undeleted: Vec<(ResourceKind, String)>,
    cleanup_command: String,
    /// Whether the endpoint outlives the run, and with it what the run could not delete (not
    /// the simulator served for the run).
    outlives_run: bool,
}

/// A scenario that was never run, for the report.
fn not_started(scenario: Scenario, options: &RunOptions, why: NotStarted) -> ScenarioRun {
    let seed = options.seed.unwrap_or(scenario.seed);
    ScenarioRun {
        seed,
        reproduce: reproduce(&scenario, seed, options),
        scenario: Arc::new(scenario),
        backend: match options.backend {
            BackendChoice::Sim => "sim",
            BackendChoice::Aws(_) => "aws",
        },
        wall: Duration::ZERO,
        result: RunResult::NotStarted(why),
        api_calls: None,
        api_attempts: None,
        leftovers: None,
    }
}

/// Runs `scenarios` on up to `jobs` threads (each run has its own runtime and backend) and hands
/// each result to `report` in the scenarios' order, as soon as it and all before it are done.
/// `report` returns false to stop: scenarios not yet started are not run. After a stop signal,
/// or once a run found the endpoint unreachable, no new scenario starts: the rest are reported
/// as [`RunResult::NotStarted`], so every scenario gets a result.
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
    let unreachable: Mutex<Option<String>> = Mutex::new(None);
    let halted = || -> Option<NotStarted> {
        if let Some(signal) = options.interrupts.as_ref().and_then(|i| i.received()) {
            return Some(NotStarted::Interrupted(signal));
        }
        let during = unreachable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        during.map(|during| NotStarted::Unreachable { during })
    };
    let (done, results) = mpsc::channel::<(usize, ScenarioRun)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, total.max(1)) {
            let (queue, stop, done, unreachable) = (&queue, &stop, done.clone(), &unreachable);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) && halted().is_none() {
                    let Some((index, scenario)) = queue
                        .lock()
                        .expect("no worker panics holding it")
                        .pop_front()
                    else {
                        break;
                    };
                    let run = run_scenario(scenario, options);
                    if run.found_endpoint_unreachable() {
                        let mut first = unreachable.lock().unwrap_or_else(|p| p.into_inner());
                        first.get_or_insert_with(|| run.scenario.name.clone());
                    }
                    if done.send((index, run)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut pending: BTreeMap<usize, ScenarioRun> = BTreeMap::new();
        let mut next = 0;
        let mut report_ready = |pending: &mut BTreeMap<usize, ScenarioRun>| {
            while let Some(run) = pending.remove(&next) {
                next += 1;
                if !report(run) {
                    stop.store(true, Ordering::Relaxed);
                    return false;
                }
            }
            true
        };
        for (index, run) in results {
            pending.insert(index, run);
            if !report_ready(&mut pending) {
                return;
            }
        }
        // Every worker is done: what is still queued was held back by a stop signal or an
        // unreachable endpoint.
        let why = halted();
        let queue = std::mem::take(&mut *queue.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(why) = why {
            for (index, scenario) in queue {
                pending.insert(index, not_started(scenario, options, why.clone()));
            }
        }
        report_ready(&mut pending);
    });
}

/// What runs `scenario` with `seed` on `options`' backend again.
fn reproduce(scenario: &Scenario, seed: u64, options: &RunOptions) -> Reproduce {
    let aws = match &options.backend {
        BackendChoice::Sim => None,
        BackendChoice::Aws(aws) => Some(AwsReproduce {
            region: aws.region.clone(),
            profile: aws.profile.clone(),
            endpoint_url: aws.endpoint_url.clone(),
            resources: options.resources.as_ref().map(|r| r.path.clone()),
        }),
    };
    Reproduce {
        path: scenario.path.clone(),
        seed,
        sim_profile: options.profile,
        aws,
    }
}

/// A run read back from its history (`qsim report`): checked again from the history, its
/// snapshot not compared, its reproduce command the file's with the history's seed.
pub fn from_history(scenario: Scenario, outcome: Outcome) -> ScenarioRun {
    let verdict = check::check(&scenario, &outcome);
    let seed = outcome.seed;
    ScenarioRun {
        reproduce: Reproduce {
            path: scenario.path.clone(),
            seed,
            ..Reproduce::default()
        },
        scenario: Arc::new(scenario),
        seed,
        backend: outcome.backend,
        wall: Duration::ZERO,
        result: RunResult::Finished(Box::new(Finished {
            outcome,
            verdict,
            snapshot: SnapshotStatus::NotCompared,
        })),
        api_calls: None,
        api_attempts: None,
        leftovers: None,
    }
}

/// Runs `scenario` on a fresh simulator and returns what happened (tests and benchmarks).
pub fn simulate(scenario: Rc<Scenario>, seed: u64) -> Result<Outcome, BackendError> {
    let backend = Rc::new(SimBackend::new(seed));
    // The simulator's teardown cannot fail: the run's error is the only one.
    simulated_block_on(engine::run(
        scenario,
        backend,
        seed,
        None,
        engine::Limits::default(),
    ))
    .map_err(|e| e.split().0)
}

enum Execution {
    Skipped(Vec<Capability>),
    Failed(RunError),
    Interrupted {
        signal: Signal,
        teardown: Option<BackendError>,
    },
    Done(Box<Outcome>),
}

async fn execute<B: Backend + 'static>(
    scenario: &Rc<Scenario>,
    backend: Rc<B>,
    seed: u64,
    progress: Option<ProgressHook>,
    limits: engine::Limits,
) -> Execution {
    let missing = engine::missing_capabilities(scenario, &*backend);
    if !missing.is_empty() {
        tracing::info!(scenario = %scenario.name, ?missing, "skipped: the backend lacks capabilities");
        return Execution::Skipped(missing);
    }
    match engine::run(scenario.clone(), backend, seed, progress, limits).await {
        Ok(outcome) => Execution::Done(Box::new(outcome)),
        Err(error) => Execution::Failed(error),
    }
}

/// As [`execute`], but Ctrl-C or SIGTERM stops the run and still tears its resources down.
async fn execute_interruptible<B: Backend + 'static>(
    scenario: &Rc<Scenario>,
    backend: Rc<B>,
    seed: u64,
    progress: Option<ProgressHook>,
    limits: engine::Limits,
    interrupts: Option<&Interrupts>,
) -> Execution {
    let stopped = async {
        match interrupts {
            Some(interrupts) => interrupts.stopped().await,
            None => crate::interrupt::next_signal().await,
        }
    };
    tokio::select! {
        biased;
        signal = stopped => {
            // The run's future is dropped mid-flight; teardown is idempotent and deletes
            // whatever this run had created so far.
            let teardown = backend.teardown().await.err();
            Execution::Interrupted { signal, teardown }
        }
        execution = execute(scenario, backend.clone(), seed, progress, limits) => execution,
    }
}

fn realtime_block_on<T>(future: impl Future<Output = T>) -> T {
    let runtime = engine::realtime_runtime().expect("a current-thread runtime always builds");
    tokio::task::LocalSet::new().block_on(&runtime, future)
}

/// Runs `future` on a paused runtime, its polls sharing one reading of the clock (the local
/// tasks' included: `run_until` polls them within its own poll).
fn simulated_block_on<T>(future: impl Future<Output = T>) -> T {
    let runtime = engine::simulated_runtime().expect("a current-thread runtime always builds");
    let local_tasks = tokio::task::LocalSet::new();
    runtime.block_on(ReadOncePerPoll::new(local_tasks.run_until(future)))
}

fn finish(
    scenario: &Scenario,
    outcome: Outcome,
    seed: u64,
    file_profile: Profile,
    options: &RunOptions,
) -> RunResult {
    let verdict = check::check(scenario, &outcome);
    let projection = projection::project(scenario, &outcome, &verdict.facts);
    let snapshot = if seed != scenario.seed {
        SnapshotStatus::SkippedForSeed {
            file_seed: scenario.seed,
        }
    } else if scenario.queue.sim.profile != file_profile {
        SnapshotStatus::SkippedForProfile { file_profile }
    } else if scenario.runs_child_processes() && options.update != UpdateMode::Always {
        // Written when asked (`--update-snapshots`), to look at; never a verdict.
        SnapshotStatus::NotCompared
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
