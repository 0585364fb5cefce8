//! The engine: interprets a [`Scenario`] on a [`Backend`] and records what happened.
//!
//! One run: provision the queue, its DLQ and the two tables; start producers, consumer groups,
//! the timeline and the autoscaler as tasks on one single-threaded runtime; end when producers are
//! done, no consumer is alive and neither the timeline nor the autoscaler may still act (or at the
//! scenario's timeout); then read the final state (messages left in each queue, both tables) and
//! tear down.

mod autoscaler;
pub mod child;
mod child_instance;
mod claim_check;
mod consumer;
mod context;
mod event;
mod event_chunks;
pub(crate) mod event_line;
mod fleet;
mod outbox;
mod payload;
mod producer;
pub(crate) mod requirements;
mod retry;
mod standalone;
mod timeline;

pub(crate) use context::EventSink;
pub(crate) use event::{ActorId, Event, EventLog, KeyRef, MessageFields, MessageIx, MessageMeta};
pub use event::{CrashPoint, EventKind, SkipReason};
pub(crate) use fleet::InstanceState;
pub(crate) use payload::Body;
pub use requirements::missing_capabilities;
pub use standalone::{Instance, LoneEnd, consume, produce};

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::{sleep, sleep_until};

use crate::backend::faults::{ApiUsage, FaultLayer};
use crate::backend::{
    Backend, BackendError, Capability, MoveTask, QueueId, QueueRole, QueueSpec, ReceivedMessage,
    Redrive, Table,
};
pub use crate::backend::{FinalItem, FinalItems};
use crate::scenario::{GroupIx, QueueConfig, Scenario};
use context::RunContext;
use fleet::Fleet;

/// Everything a run leaves behind for the checks and reports.
#[derive(Debug)]
pub struct Outcome {
    pub seed: u64,
    /// The backend's short name (`sim`, `aws`).
    pub backend: &'static str,
    /// Whether the log holds the queues' own transitions (see [`Backend::observes_transitions`]):
    /// then every fate is observed, otherwise some are inferred from the final state.
    pub observed_queue: bool,
    /// Whether the log holds the consumers' own calls: always for qsim's consumers; for a
    /// `command` consumer only when the endpoint recorded them ([`Backend::foreign_events`]),
    /// otherwise its messages' fates are told by their effects.
    pub consumer_calls_observed: bool,
    pub log: EventLog,
    pub final_state: FinalState,
    pub ending: Ending,
    /// Run time on the backend's clock (virtual on the simulator).
    pub elapsed: Duration,
    /// Every consumer instance by name: its group index and how it ended.
    pub instances: BTreeMap<String, (GroupIx, InstanceState)>,
    pub peak_consumers: u64,
    /// The calls the scenario's actors made, per API operation, and what they bill.
    pub api: ApiUsage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Producers done, no consumer alive, nothing the timeline or the autoscaler would still do.
    Completed,
    /// The scenario's timeout passed first.
    TimedOut,
    /// The wall-clock limit (`--max-wall`) passed first.
    WallLimit,
    /// Virtual time stood still: [`context::STANDSTILL_EVENTS`] events in a row at one instant
    /// without progress (e.g. a 0 s visibility timeout and work that takes no time, which
    /// redelivers the same message at the same instant forever).
    Standstill,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::TimedOut => "timed-out",
            Ending::WallLimit => "wall-limit",
            Ending::Standstill => "standstill",
        }
    }

    /// What a report says about how the run ended.
    pub fn describe(self, scenario: &Scenario) -> String {
        match self {
            Ending::Completed => "completed".to_owned(),
            Ending::TimedOut => format!(
                "timed out after {}",
                humantime::format_duration(scenario.timeout)
            ),
            Ending::WallLimit => "stopped by the wall-clock limit (--max-wall)".to_owned(),
            Ending::Standstill => format!(
                "stopped: virtual time stood still for {} events in a row without progress \
                 (a livelock, e.g. a 0 s visibility timeout with work that takes no time)",
                context::STANDSTILL_EVENTS
            ),
        }
    }
}

/// Limits of one run beyond the scenario's own `timeout` (virtual time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Stop after this much wall-clock time (`--max-wall`); `None` for no limit.
    pub max_wall: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_wall: Some(DEFAULT_MAX_WALL),
        }
    }
}

/// `--max-wall`'s default: far above any catalog scenario (the largest takes seconds).
pub const DEFAULT_MAX_WALL: Duration = Duration::from_secs(600);

/// The backend's state after the run.
#[derive(Debug, Default)]
pub struct FinalState {
    pub main: Vec<ReceivedMessage>,
    pub dlq: Vec<ReceivedMessage>,
    pub status: FinalItems,
    pub side_effects: FinalItems,
    pub move_task: Option<MoveTask>,
}

/// Counts a `call` line of the endpoint's history (`AmazonSQS.ReceiveMessage`, with the
/// requests it `billed`) under the name qsim counts that operation by; calls qsim does not
/// count (set-up: creating, listing, tagging) are left out, as its own are.
fn count_foreign_call<B: Backend>(api: &FaultLayer<B>, line: &serde_json::Value) {
    let target = line["operation"].as_str().unwrap_or_default();
    let operation = target.rsplit('.').next().unwrap_or_default();
    if let Some(name) = crate::backend::faults::counted_api_name(operation) {
        api.count_foreign(name, line["billed"].as_u64().unwrap_or(1));
    }
}

/// How often the main loop re-checks whether the run is over on a real backend, besides being
/// woken.
const SETTLE_CHECK: Duration = Duration::from_millis(50);

/// What a long run is doing, for a progress line (the engine never prints it itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub elapsed: Duration,
    pub sent: u64,
    pub processed: u64,
    pub in_flight: u64,
    pub dlq: u64,
    pub consumers: u64,
}

/// Receives a [`Progress`] every `every` while a run goes on.
pub struct ProgressHook {
    pub every: Duration,
    pub report: Box<dyn Fn(&Progress)>,
}

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressHook")
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

/// A run that failed, or whose resources could not all be deleted, or both: neither error
/// hides the other (the report names what is left behind).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run failed; its resources were deleted.
    #[error("{0}")]
    Run(BackendError),
    /// The run went through; deleting its resources failed.
    #[error("deleting the run's resources failed: {0}")]
    Teardown(BackendError),
    /// The run failed, and deleting its resources failed too.
    #[error("{run}; deleting the run's resources failed too: {teardown}")]
    Both {
        run: BackendError,
        teardown: BackendError,
    },
}

impl RunError {
    /// The run's error, else the teardown's; the other, if any, as its own value.
    pub fn split(self) -> (BackendError, Option<BackendError>) {
        match self {
            RunError::Run(run) => (run, None),
            RunError::Teardown(teardown) => (teardown, None),
            RunError::Both { run, teardown } => (run, Some(teardown)),
        }
    }
}

/// Runs `scenario` on `backend` with `seed`. Must be called inside a `tokio::task::LocalSet`.
/// Tears the backend's resources down whatever happens, and reports a teardown failure even
/// when the run failed too.
pub async fn run<B: Backend + 'static>(
    scenario: Rc<Scenario>,
    backend: Rc<B>,
    seed: u64,
    progress: Option<ProgressHook>,
    limits: Limits,
) -> Result<Outcome, RunError> {
    let result = run_provisioned(scenario, backend.clone(), seed, progress, limits).await;
    let teardown = backend.teardown().await;
    match (result, teardown) {
        (Ok(outcome), Ok(())) => Ok(outcome),
        (Ok(_), Err(teardown)) => Err(RunError::Teardown(teardown)),
        (Err(run), Ok(())) => Err(RunError::Run(run)),
        (Err(run), Err(teardown)) => Err(RunError::Both { run, teardown }),
    }
}

async fn run_provisioned<B: Backend + 'static>(
    scenario: Rc<Scenario>,
    backend: Rc<B>,
    seed: u64,
    progress: Option<ProgressHook>,
    limits: Limits,
) -> Result<Outcome, BackendError> {
    tracing::debug!(scenario = %scenario.name, seed, backend = backend.name(), "provisioning");
    let (main, dlq) = provision(&scenario.queue, &*backend).await?;
    // Every actor's call goes through the fault layer, which also counts them; qsim's own
    // provisioning above and final reads below go to the backend directly.
    let api = Rc::new(FaultLayer::new(backend.clone(), &scenario.faults, seed));
    let ctx = Rc::new(RunContext::new(
        scenario.clone(),
        api.clone(),
        seed,
        (main, dlq),
        limits,
    ));
    api.start_at(ctx.origin());
    let fleet = Fleet::new(ctx.clone());

    let mut tasks = Vec::new();
    for index in 0..scenario.producers.len() {
        tasks.push(tokio::task::spawn_local(producer::run(ctx.clone(), index)));
    }
    for (group, config) in scenario.consumers.iter().enumerate() {
        fleet.start(GroupIx(group), config.count, config.start, config.stagger);
    }
    let pending = Rc::new(timeline::Pending::default());
    tasks.extend(timeline::spawn(&ctx, &fleet, &pending));
    if let Some(config) = scenario.autoscaler.clone() {
        autoscaler::start_min(&ctx, &fleet, &config);
        tasks.push(tokio::task::spawn_local(autoscaler::run(
            ctx.clone(),
            fleet.clone(),
            config,
        )));
    }
    if let Some(hook) = progress {
        tasks.push(tokio::task::spawn_local(report_progress(ctx.clone(), hook)));
    }

    let deadline = ctx.at(scenario.timeout);
    let virtual_clock = backend.capabilities().has(Capability::Deterministic);
    let ending = loop {
        if ctx.is_fatal() {
            break None;
        }
        if let Some(stopped) = ctx.stopped() {
            break Some(stopped);
        }
        // While actors run, every change that can end the run wakes this loop. A pending action
        // waits on a condition nobody announces (a depth, a timer), and on a real backend depths
        // change unannounced: then it looks again now and then. Not otherwise: an idle run on a
        // virtual clock must not tick through days of empty time.
        let mut look_again = !virtual_clock;
        if ctx.producers_running() == 0 && !fleet.any_alive() {
            match may_still_act(&ctx, &fleet, &pending).await {
                Ok(false) => break Some(Ending::Completed),
                Ok(true) => look_again = true,
                Err(error) => ctx.fail(error),
            }
        }
        tokio::select! {
            biased;
            _ = ctx.changed() => {}
            _ = sleep_until(deadline) => {
                ctx.record(ctx.actor("engine"), None, EventKind::TimedOut);
                break Some(Ending::TimedOut);
            }
            _ = sleep(SETTLE_CHECK), if look_again => {}
        }
    };
    let elapsed = ctx.elapsed();
    tracing::debug!(scenario = %scenario.name, ?ending, ?elapsed, "run over");
    for task in &tasks {
        task.abort();
    }
    let instances = fleet.abandon_all();
    if let Some(error) = ctx.take_fatal() {
        return Err(error);
    }
    let ending = ending.expect("only a fatal error leaves the loop without an ending");
    let mut consumer_calls_observed = !scenario.runs_commands();
    if let Some(lines) = backend.foreign_events(ctx.origin().into_std()) {
        for (number, line) in lines.iter().enumerate() {
            if line["event"] == "call" {
                // Counted and priced as qsim's own calls are; not an event of the history.
                count_foreign_call(&api, line);
                continue;
            }
            child_instance::merge_line(&ctx, line, "endpoint").map_err(|reason| {
                BackendError::new(
                    "ForeignEvents",
                    backend.name(),
                    crate::backend::BackendErrorKind::Service(format!(
                        "the endpoint's history, line {}: {reason}",
                        number + 1
                    )),
                )
            })?;
        }
        consumer_calls_observed = true;
    }

    let main_left = backend.remaining(main).await?;
    let dlq_left = match dlq {
        Some(dlq) => backend.remaining(dlq).await?,
        None => Vec::new(),
    };
    let move_task = match dlq {
        Some(dlq) if redrives(&scenario) => backend.move_task_status(dlq).await?,
        _ => None,
    };
    let peak_consumers = ctx.live().peak_consumers;
    drop(fleet);
    // Reading the final state brought the queues up to date: what they did meanwhile (a
    // retention expiry, a visibility timeout) belongs to the history too.
    ctx.take_transitions();
    let mut log = std::mem::take(&mut *ctx.log().borrow_mut());
    // Lazily applied transitions carry their due moment; events of one moment keep the order
    // they were recorded in.
    log.order_by_time();
    // Table scans touch no queue, so they add no transitions to the log.
    let final_state = FinalState {
        main: main_left,
        dlq: dlq_left,
        status: backend.take_final_items(Table::Status).await?,
        side_effects: backend.take_final_items(Table::SideEffects).await?,
        move_task,
    };
    Ok(Outcome {
        seed,
        backend: backend.name(),
        observed_queue: backend.observes_transitions(),
        consumer_calls_observed,
        log,
        final_state,
        ending,
        elapsed,
        instances,
        peak_consumers,
        api: api.usage(),
    })
}

/// Whether the timeline or the autoscaler may still act, once the producers are done and no
/// consumer is alive: the run is not over while one of them would.
async fn may_still_act<B: Backend + 'static>(
    ctx: &RunContext<B>,
    fleet: &Fleet<B>,
    pending: &timeline::Pending,
) -> Result<bool, BackendError> {
    if pending.may_still_act(ctx).await? {
        return Ok(true);
    }
    match &ctx.scenario().autoscaler {
        Some(config) => autoscaler::may_still_act(ctx, fleet, config).await,
        None => Ok(false),
    }
}

async fn report_progress<B: Backend>(ctx: Rc<RunContext<B>>, hook: ProgressHook) {
    // A first report as the run starts, so even a run shorter than `every` shows it ran; it
    // asks the backend nothing (no call to count or bill): the queues were just provisioned.
    (hook.report)(&progress_now(&ctx, 0, 0));
    loop {
        sleep(hook.every).await;
        let in_flight = ctx
            .backend()
            .settled_depth(ctx.main())
            .await
            .map_or(0, |d| d.in_flight);
        let dlq = match ctx.dlq() {
            Some(dlq) => ctx
                .backend()
                .settled_depth(dlq)
                .await
                .map_or(0, |d| d.total()),
            None => 0,
        };
        (hook.report)(&progress_now(&ctx, in_flight, dlq));
    }
}

/// The run's progress now, given the queue depths (the caller reads them, or knows them).
fn progress_now<B: Backend>(ctx: &RunContext<B>, in_flight: u64, dlq: u64) -> Progress {
    let live = ctx.live();
    Progress {
        elapsed: ctx.elapsed(),
        sent: live.sent,
        processed: live.messages_processed,
        in_flight,
        dlq,
        consumers: live.consumers,
    }
}

fn redrives(scenario: &Scenario) -> bool {
    scenario
        .timeline
        .iter()
        .any(|e| matches!(e.action, crate::scenario::Action::Redrive { .. }))
}

/// The queue the engine asks a backend for: `queue`'s attributes in `role`.
pub fn queue_spec(queue: &QueueConfig, role: QueueRole, redrive: Option<Redrive>) -> QueueSpec {
    QueueSpec {
        role,
        attributes: queue.attributes,
        redrive,
        sim: queue.sim.envelope(),
    }
}

/// Creates the DLQ (when the queue has a redrive policy), the main queue redriving to it, and
/// the tables; returns the main queue and the DLQ.
pub async fn provision<B: Backend>(
    queue: &QueueConfig,
    backend: &B,
) -> Result<(QueueId, Option<QueueId>), BackendError> {
    let dlq = match queue.max_receive_count {
        Some(_) => Some(
            backend
                .create_queue(&queue_spec(queue, QueueRole::DeadLetter, None))
                .await?,
        ),
        None => None,
    };
    let redrive = dlq
        .zip(queue.max_receive_count)
        .map(|(dlq, max_receive_count)| Redrive {
            dlq,
            max_receive_count,
        });
    let main = backend
        .create_queue(&queue_spec(queue, QueueRole::Main, redrive))
        .await?;
    backend.create_tables().await?;
    Ok((main, dlq))
}

/// A current-thread runtime on tokio's paused clock: the simulator's virtual time.
pub fn simulated_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
}

/// A current-thread runtime on the wall clock, with I/O, for real backends.
pub fn realtime_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::rc::Rc;

    use crate::{check, runner, scenario};

    /// The progress line counts processed messages as the result line does: once the run has
    /// gone quiet (consumers idling out after the last delete), the last report's count is the
    /// `processed` metric, for every catalog scenario (duplicates, redeliveries, stale copies).
    #[test]
    fn progress_counts_processed_messages_as_the_result_line_does() {
        use std::cell::Cell;
        use std::time::Duration;

        use crate::backend::sim::SimBackend;
        use crate::scenario::Metric;

        let mut compared = 0;
        for file in scenario::discover(Path::new("scenarios.d")).unwrap() {
            let scenario = Rc::new(scenario::load(&file).unwrap());
            if scenario.runs_child_processes() {
                continue;
            }
            let last = Rc::new(Cell::new(None));
            let hook = super::ProgressHook {
                every: Duration::from_millis(10),
                report: Box::new({
                    let last = last.clone();
                    move |p: &super::Progress| last.set(Some(*p))
                }),
            };
            let runtime = super::simulated_runtime().unwrap();
            let backend = Rc::new(SimBackend::new(scenario.seed));
            let outcome = tokio::task::LocalSet::new()
                .block_on(
                    &runtime,
                    super::run(
                        scenario.clone(),
                        backend,
                        scenario.seed,
                        Some(hook),
                        super::Limits::default(),
                    ),
                )
                .unwrap();
            let last_delete_us = outcome
                .log
                .events
                .iter()
                .filter(|e| e.kind == super::EventKind::Deleted)
                .map(|e| e.at_us)
                .max()
                .unwrap_or(0);
            let Some(last) = last.get() else { continue };
            // A run that ends at its last delete has no report after it to compare.
            if last.elapsed.as_micros() as u64 <= last_delete_us {
                continue;
            }
            let verdict = check::check(&scenario, &outcome);
            let processed = check::metric_value(Metric::Processed, &outcome, &verdict.facts);
            assert_eq!(
                processed.to_string(),
                last.processed.to_string(),
                "{}",
                scenario.name
            );
            compared += 1;
        }
        assert!(
            compared >= 15,
            "only {compared} scenarios went quiet before their end"
        );
    }

    /// A `when` entry that starts the only consumers: the producer is done and nobody is alive
    /// before it fires, yet the run must wait for it (it used to end there, unprocessed).
    #[test]
    fn a_condition_that_holds_keeps_the_run_alive_until_it_acts() {
        let text = r#"
            [scenario]
            name = "late-start"
            description = "consumers start once everything is sent"

            [[producers]]
            name = "load"
            count = 20
            batch_size = 10

            [[consumers]]
            name = "worker"
            count = 0
            idle_timeout = "2s"

            [[at]]
            when = "sent >= 20"
            poll = "1s"
            start = { group = "worker", count = 2 }

            [expect]
            processed = 20
            peak_consumers = 2
        "#;
        let scenario = scenario::parse(Path::new("late-start.toml"), text).unwrap();
        let outcome = runner::simulate(Rc::new(scenario.clone()), 1).unwrap();
        let verdict = check::check(&scenario, &outcome);
        assert!(
            verdict.passed(),
            "{:?}",
            verdict.failures().collect::<Vec<_>>()
        );
    }
}
