//! State shared by every actor of one run: the scenario, the backend, the clock, the event log and
//! live counters. Everything runs on one thread, so sharing is `Rc` + `RefCell` / `Cell`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use super::event::{ActorId, Event, EventKind, EventLog, MessageFields, MessageIx, MessageMeta};
use super::payload::Body;
use super::{Ending, Limits};
use crate::backend::faults::Injection;
use crate::backend::{Backend, BackendError, QueueId, QueueRole, QueueTransition, TransitionKind};
use crate::scenario::{LiveMetric, RetryPolicy, Scenario};

/// Counters the timeline's `when` conditions and the progress line read while the run goes on.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LiveCounters {
    pub sent: u64,
    pub received: u64,
    pub processed: u64,
    pub side_effects: u64,
    pub crashes: u64,
    pub consumers: u64,
    pub peak_consumers: u64,
    /// Messages deleted at least once, except a stale copy's delete: the progress line's
    /// count of processed messages, as the result line counts them (`processed` above counts
    /// deletes, so a message delivered and deleted twice counts twice there).
    pub messages_processed: u64,
}

pub(super) struct RunContext<B> {
    scenario: Rc<Scenario>,
    backend: Rc<B>,
    /// The seed in force (the file's, or `--seed`).
    seed: u64,
    origin: Instant,
    log: RefCell<EventLog>,
    main: QueueId,
    dlq: Option<QueueId>,
    live: Cell<LiveCounters>,
    /// One flag per producer: set by a `stop` action.
    producer_stopped: Vec<Cell<bool>>,
    producers_running: Cell<usize>,
    /// The first backend error no actor could handle; it ends the run.
    fatal: RefCell<Option<BackendError>>,
    /// Wakes the engine's main loop when something that may end the run happened.
    changed: Notify,
    /// The actors of the queues' own transitions: `queue:main`, `queue:dlq`.
    queue_actors: [ActorId; 2],
    /// Each retrying actor's stream of backoff jitter (`retry:ACTOR`), made on its first retry.
    retry_streams: RefCell<std::collections::HashMap<ActorId, rand_chacha::ChaCha8Rng>>,
    /// Why the run must stop before it is over (a limit), once one is hit.
    stop: Cell<Option<Ending>>,
    /// The wall-clock moment after which the run stops (`--max-wall`).
    wall_deadline: Option<std::time::Instant>,
    /// Events recorded at the current virtual instant since the last one that made progress.
    standstill: Cell<(u64, u64)>,
    /// Messages deleted at least once, a bit each: only a first delete is progress (a delete
    /// with a superseded receipt succeeds without removing anything, again and again).
    deleted_once: RefCell<MessageBits>,
    /// Messages a consumer found stale before their first delete: that delete processed nothing.
    stale_before_delete: RefCell<MessageBits>,
    /// Sees every event as it is recorded: `qsim consume --events` streams them, so a parent run
    /// has each line even when this process is killed the next moment. The `Option` outside the
    /// cell: a run without a sink (nearly all) tests a pointer per event, not a borrow flag.
    sink: Option<RefCell<EventSink>>,
    /// A consumer running alone (`qsim consume`): no producer of this process registered the
    /// messages, so each is registered from its body when first received.
    adopts_messages: bool,
}

/// Called with the log and each event just recorded.
pub(crate) type EventSink = Box<dyn FnMut(&EventLog, &Event)>;

/// One bit per message.
#[derive(Default)]
struct MessageBits(Vec<u64>);

impl MessageBits {
    /// Sets `ix`'s bit; whether it was clear.
    fn insert(&mut self, ix: MessageIx) -> bool {
        let (word, bit) = (ix.0 as usize / 64, 1u64 << (ix.0 % 64));
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        let first = self.0[word] & bit == 0;
        self.0[word] |= bit;
        first
    }

    fn contains(&self, ix: MessageIx) -> bool {
        let (word, bit) = (ix.0 as usize / 64, 1u64 << (ix.0 % 64));
        self.0.get(word).is_some_and(|w| w & bit != 0)
    }
}

/// Events in a row at one virtual instant, none of them progress, after which a run counts as
/// stuck: real SQS would have let time pass (every call takes some), the simulator cannot.
pub(super) const STANDSTILL_EVENTS: u64 = 100_000;

/// How often (in events) the wall clock is read for `--max-wall`: rarely enough to cost nothing.
const WALL_CHECK_EVERY: u64 = 4096;

impl<B: Backend> RunContext<B> {
    pub(super) fn new(
        scenario: Rc<Scenario>,
        backend: Rc<B>,
        seed: u64,
        (main, dlq): (QueueId, Option<QueueId>),
        limits: Limits,
    ) -> Self {
        let producers = scenario.producers.len();
        let mut log = EventLog::default();
        let queue_actors = [log.actor("queue:main"), log.actor("queue:dlq")];

        RunContext {
            scenario,
            backend,
            seed,
            origin: Instant::now(),
            log: RefCell::new(log),
            main,
            dlq,
            live: Cell::new(LiveCounters::default()),
            producer_stopped: (0..producers).map(|_| Cell::new(false)).collect(),
            producers_running: Cell::new(producers),
            fatal: RefCell::new(None),
            changed: Notify::new(),
            queue_actors,
            retry_streams: RefCell::new(std::collections::HashMap::new()),
            stop: Cell::new(None),
            wall_deadline: limits
                .max_wall
                .and_then(|max| std::time::Instant::now().checked_add(max)),
            standstill: Cell::new((0, 0)),
            deleted_once: RefCell::default(),
            stale_before_delete: RefCell::default(),
            sink: None,
            adopts_messages: false,
        }
    }

    /// A context for one actor running alone (`qsim consume`, `qsim produce`): its clock starts
    /// at `origin` (a parent run's, so their times line up) and `sink` sees each event.
    pub(super) fn standalone(mut self, origin: Instant, sink: EventSink) -> Self {
        self.origin = origin;
        self.sink = Some(RefCell::new(sink));
        self
    }

    /// A consumer running alone registers the messages it receives: no producer of this
    /// process did.
    pub(super) fn adopting_messages(mut self) -> Self {
        self.adopts_messages = true;
        self
    }

    /// The message whose body is `body`: registered by a producer of this run, or, for a
    /// consumer running alone, registered now from the body.
    pub(super) fn message_of(&self, body: &Body, group_id: Option<&str>) -> Option<MessageIx> {
        let known = self.log.borrow().lookup(&body.id);
        if known.is_some() || !self.adopts_messages {
            return known;
        }
        Some(
            self.log
                .borrow_mut()
                .register(MessageMeta::new(MessageFields {
                    id: body.id.as_ref().into(),
                    producer: 0,
                    poison: body.poison,
                    group: group_id.unwrap_or("-").into(),
                    dedup_id: None,
                    entity: None,
                    version: None,
                    sent_at_us: None,
                    seq: body.seq,
                })),
        )
    }

    /// An event a child process recorded (its `--events` line), merged into this run's log as
    /// if one of this run's actors had recorded it, live counters included.
    pub(super) fn merge(
        &self,
        at_us: u64,
        actor: ActorId,
        message: Option<MessageIx>,
        kind: EventKind,
    ) {
        self.take_transitions();
        self.log.borrow_mut().push(at_us, actor, message, kind);
        match kind {
            EventKind::Received { .. } => self.count(|live| live.received += 1),
            EventKind::Deleted => self.count(|live| live.processed += 1),
            EventKind::SideEffect { .. } | EventKind::Applied { .. } => {
                self.count(|live| live.side_effects += 1)
            }
            _ => {}
        }
        self.watch(at_us, message, kind);
        self.notify_changed();
    }

    pub(super) fn scenario(&self) -> &Rc<Scenario> {
        &self.scenario
    }

    pub(super) fn backend(&self) -> &B {
        &self.backend
    }

    /// The seed in force (the file's, or `--seed`).
    pub(super) fn seed(&self) -> u64 {
        self.seed
    }

    pub(super) fn log(&self) -> &RefCell<EventLog> {
        &self.log
    }

    pub(super) fn main(&self) -> QueueId {
        self.main
    }

    pub(super) fn dlq(&self) -> Option<QueueId> {
        self.dlq
    }

    pub(super) fn live(&self) -> LiveCounters {
        self.live.get()
    }

    /// Whether a `stop` action stopped producer `index`.
    pub(super) fn producer_stopped(&self, index: usize) -> bool {
        self.producer_stopped[index].get()
    }

    /// A `stop` action: producer `index` stops (all of them without an index).
    pub(super) fn stop_producers(&self, index: Option<usize>) {
        match index {
            Some(index) => self.producer_stopped[index].set(true),
            None => self
                .producer_stopped
                .iter()
                .for_each(|stopped| stopped.set(true)),
        }
    }

    /// How many producers have not finished yet.
    pub(super) fn producers_running(&self) -> usize {
        self.producers_running.get()
    }

    /// A producer finished: one fewer runs, and the main loop wakes to see whether the run is over.
    pub(super) fn producer_finished(&self) {
        self.producers_running.set(self.producers_running.get() - 1);
        self.changed.notify_one();
    }

    /// The error that ended the run, taken out of the context.
    pub(super) fn take_fatal(&self) -> Option<BackendError> {
        self.fatal.borrow_mut().take()
    }

    /// Whether a backend error ended the run.
    pub(super) fn is_fatal(&self) -> bool {
        self.fatal.borrow().is_some()
    }

    /// Wakes the engine's main loop: something that may end the run happened.
    pub(super) fn notify_changed(&self) {
        self.changed.notify_one();
    }

    /// Resolves when [`RunContext::notify_changed`] is next called (or was, since the last wait).
    pub(super) fn changed(&self) -> Notified<'_> {
        self.changed.notified()
    }

    /// `origin + offset` on the run's clock, saturating far in the future instead of
    /// overflowing (a scenario's times are bounded by validation; the engine still never panics).
    pub(super) fn at(&self, offset: Duration) -> Instant {
        at_offset(self.origin, offset)
    }

    /// The limit that stopped the run, if one did.
    pub(super) fn stopped(&self) -> Option<Ending> {
        self.stop.get()
    }

    fn stop_at(&self, ending: Ending) {
        if self.stop.get().is_none() {
            self.stop.set(Some(ending));
            self.changed.notify_one();
        }
    }

    /// Whether `ix` is deleted for the first time (and remembers that it was); counts it as
    /// processed unless it was a stale copy.
    fn first_delete(&self, ix: MessageIx) -> bool {
        let first = self.deleted_once.borrow_mut().insert(ix);
        if first && !self.stale_before_delete.borrow().contains(ix) {
            self.count(|live| live.messages_processed += 1);
        }
        first
    }

    /// Counts `kind` towards the limits: the wall clock, and a virtual instant that never ends.
    fn watch(&self, at: u64, message: Option<MessageIx>, kind: EventKind) {
        let (instant, count) = self.standstill.get();
        // Progress is what a stuck loop never does: a message sent, deleted or gone from the queue
        // by the queue's own hand (DLQ, purge, retention, deduplication, redrive), a timeline
        // action. Receiving and working on the same message again is not, and neither is an
        // instance crashing and restarting at once, forever.
        let progress = matches!(
            kind,
            EventKind::Sent
                | EventKind::SendFailed
                | EventKind::ProducerDone
                | EventKind::PurgeRequested(_)
                | EventKind::RedriveStarted
                | EventKind::Deployed
                | EventKind::Queue(
                    TransitionKind::DeadLettered { .. }
                        | TransitionKind::Purged
                        | TransitionKind::Expired
                        | TransitionKind::Deduplicated
                        | TransitionKind::Redriven
                )
        );
        if let (EventKind::StaleMessage { .. }, Some(ix)) = (kind, message)
            && !self.deleted_once.borrow().contains(ix)
        {
            self.stale_before_delete.borrow_mut().insert(ix);
        }
        let progress = progress
            || (kind == EventKind::Deleted && message.is_some_and(|ix| self.first_delete(ix)));
        let count = if instant == at && !progress {
            count + 1
        } else {
            0
        };
        self.standstill.set((at, count));
        if count >= STANDSTILL_EVENTS {
            self.stop_at(Ending::Standstill);
        }
        let checked = self.log.borrow().len() as u64;
        if checked % WALL_CHECK_EVERY == 0
            && self
                .wall_deadline
                .is_some_and(|deadline| std::time::Instant::now() >= deadline)
        {
            self.stop_at(Ending::WallLimit);
        }
    }

    pub(super) fn origin(&self) -> Instant {
        self.origin
    }

    /// Time since the run started.
    pub(super) fn elapsed(&self) -> Duration {
        crate::poll_clock::now().saturating_duration_since(self.origin)
    }

    pub(super) fn now_us(&self) -> u64 {
        self.elapsed().as_micros() as u64
    }

    pub(super) fn now_ms(&self) -> u64 {
        self.elapsed().as_millis() as u64
    }

    pub(super) fn actor(&self, name: &str) -> ActorId {
        self.log.borrow_mut().actor(name)
    }

    /// Records an event now, after the queue transitions the backend observed before it.
    pub(super) fn record(&self, actor: ActorId, message: Option<MessageIx>, kind: EventKind) {
        self.take_transitions();
        let at = self.now_us();
        self.push(at, actor, message, kind);
    }

    fn push(&self, at: u64, actor: ActorId, message: Option<MessageIx>, kind: EventKind) {
        self.log.borrow_mut().push(at, actor, message, kind);
        if let Some(sink) = &self.sink {
            let event = Event {
                at_us: at,
                actor,
                message,
                kind,
            };
            (sink.borrow_mut())(&self.log.borrow(), &event);
        }
        self.watch(at, message, kind);
    }

    /// Records the outcome of a call whose transitions the log must show after it: the sends a
    /// FIFO queue then drops as duplicates, the purge whose victims follow. Call
    /// [`RunContext::take_transitions`] right before the call, so only its own follow.
    pub(super) fn record_cause(&self, actor: ActorId, message: Option<MessageIx>, kind: EventKind) {
        let at = self.now_us();
        self.push(at, actor, message, kind);
    }

    /// Moves the queue transitions the backend observed into the log. A lazily applied timer
    /// reports its due moment, which can be earlier than events already logged: the engine
    /// orders the log by time once the run is over.
    pub(super) fn take_transitions(&self) {
        let mut log = self.log.borrow_mut();
        self.backend.take_transitions(&mut |t: QueueTransition| {
            let at = t.at.saturating_duration_since(self.origin).as_micros() as u64;
            let actor = match t.queue {
                QueueRole::Main => self.queue_actors[0],
                QueueRole::DeadLetter => self.queue_actors[1],
            };
            let message = Body::id_of(&t.body).and_then(|id| log.lookup(&id));
            log.push(at, actor, message, EventKind::Queue(t.kind));
        });
        self.backend.take_injections(&mut |injection: Injection| {
            // Named on the first fault only: a run without faults has no `api` actor.
            let api = log.actor("api");
            let at = injection
                .at
                .saturating_duration_since(self.origin)
                .as_micros() as u64;
            let message = injection
                .body
                .as_deref()
                .and_then(Body::id_of)
                .and_then(|id| log.lookup(&id));
            let kind = EventKind::Fault {
                operation: injection.operation,
                fault: injection.fault,
            };
            log.push(at, api, message, kind);
        });
    }

    /// How long `actor` waits before attempt `attempt` (2 or more) under `policy`: the AWS
    /// SDK's full jitter, a seeded random fraction of `backoff * 2^(attempt-2)`, capped.
    pub(super) fn backoff(&self, actor: ActorId, policy: RetryPolicy, attempt: u32) -> Duration {
        let ceiling = policy
            .backoff
            .saturating_mul(1u32 << (attempt.saturating_sub(2)).min(20))
            .min(RetryPolicy::MAX_BACKOFF);
        if ceiling.is_zero() {
            return Duration::ZERO;
        }
        let mut streams = self.retry_streams.borrow_mut();
        let rng = streams.entry(actor).or_insert_with(|| {
            let name = self.log.borrow().actors[actor.0 as usize].clone();
            crate::rng::stream(self.seed, &format!("retry:{name}"))
        });
        ceiling.mul_f64(rand::RngExt::random::<f64>(rng))
    }

    pub(super) fn count(&self, update: impl FnOnce(&mut LiveCounters)) {
        let mut live = self.live.get();
        update(&mut live);
        live.peak_consumers = live.peak_consumers.max(live.consumers);
        self.live.set(live);
    }

    /// Records an error that ends the run (the first one wins) and wakes the main loop.
    pub(super) fn fail(&self, error: BackendError) {
        self.fatal.borrow_mut().get_or_insert(error);
        self.changed.notify_one();
    }

    /// Whether actors must stop: a fatal backend error, or a limit.
    pub(super) fn has_failed(&self) -> bool {
        self.fatal.borrow().is_some() || self.stop.get().is_some()
    }

    /// The current value of a live metric as the scenario's triggers read it; queue depths are
    /// the backend's (possibly lagging) counters.
    pub(super) async fn live_metric(&self, metric: LiveMetric) -> Result<f64, BackendError> {
        self.metric_reading(metric, false).await
    }

    /// The current value of a live metric as exactly as the backend knows it: for deciding
    /// whether the run can still change, which a lagging counter must not decide.
    pub(super) async fn settled_metric(&self, metric: LiveMetric) -> Result<f64, BackendError> {
        self.metric_reading(metric, true).await
    }

    async fn metric_reading(&self, metric: LiveMetric, settled: bool) -> Result<f64, BackendError> {
        let depth = |queue| async move {
            match settled {
                true => self.backend.settled_depth(queue).await,
                false => self.backend.depth(queue).await,
            }
        };
        let live = self.live.get();
        let value = match metric {
            LiveMetric::Sent => live.sent,
            LiveMetric::Received => live.received,
            LiveMetric::Processed => live.processed,
            LiveMetric::SideEffects => live.side_effects,
            LiveMetric::Consumers => live.consumers,
            LiveMetric::Crashes => live.crashes,
            LiveMetric::Depth => depth(self.main).await?.visible,
            LiveMetric::InFlight => depth(self.main).await?.in_flight,
            LiveMetric::Dlq => match self.dlq {
                Some(dlq) => depth(dlq).await?.total(),
                None => 0,
            },
        };
        Ok(value as f64)
    }
}

/// `origin + offset`, saturating at a century past `origin`.
pub(super) fn at_offset(origin: Instant, offset: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    origin
        .checked_add(offset.min(FAR))
        .unwrap_or(origin + Duration::from_secs(365 * 24 * 3600))
}
