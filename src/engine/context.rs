//! State shared by every actor of one run: the scenario, the backend, the clock, the event log and
//! live counters. Everything runs on one thread, so sharing is `Rc` + `RefCell` / `Cell`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::event::{ActorId, EventKind, EventLog, MessageIx};
use super::payload::Body;
use crate::backend::{Backend, BackendError, QueueId, QueueRole, QueueTransition};
use crate::scenario::{LiveMetric, Scenario};

/// Counters the timeline's `when` conditions and the progress line read while the run goes on.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveCounters {
    pub sent: u64,
    pub received: u64,
    pub processed: u64,
    pub side_effects: u64,
    pub crashes: u64,
    pub consumers: u64,
    pub peak_consumers: u64,
}

pub struct RunContext<B> {
    pub scenario: Rc<Scenario>,
    pub backend: Rc<B>,
    /// The seed in force (the file's, or `--seed`).
    pub seed: u64,
    origin: Instant,
    pub log: RefCell<EventLog>,
    pub main: QueueId,
    pub dlq: Option<QueueId>,
    pub live: Cell<LiveCounters>,
    /// One flag per producer: set by a `stop` action.
    pub producer_stopped: Vec<Cell<bool>>,
    pub producers_running: Cell<usize>,
    /// The first backend error no actor could handle; it ends the run.
    pub fatal: RefCell<Option<BackendError>>,
    /// Wakes the engine's main loop when something that may end the run happened.
    pub changed: Notify,
    /// The actors of the queues' own transitions: `queue:main`, `queue:dlq`.
    queue_actors: [ActorId; 2],
}

impl<B: Backend> RunContext<B> {
    pub fn new(
        scenario: Rc<Scenario>,
        backend: Rc<B>,
        seed: u64,
        main: QueueId,
        dlq: Option<QueueId>,
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
        }
    }

    pub fn origin(&self) -> Instant {
        self.origin
    }

    pub fn now_us(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }

    pub fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    pub fn actor(&self, name: &str) -> ActorId {
        self.log.borrow_mut().actor(name)
    }

    /// Records an event now, after the queue transitions the backend observed before it.
    pub fn record(&self, actor: ActorId, message: Option<MessageIx>, kind: EventKind) {
        self.take_transitions();
        let at = self.now_us();
        self.log.borrow_mut().push(at, actor, message, kind);
    }

    /// Moves the queue transitions the backend observed into the log. A lazily applied timer
    /// reports its due moment, which can be earlier than events already logged: the engine
    /// orders the log by time once the run is over.
    pub fn take_transitions(&self) {
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
    }

    pub fn count(&self, update: impl FnOnce(&mut LiveCounters)) {
        let mut live = self.live.get();
        update(&mut live);
        live.peak_consumers = live.peak_consumers.max(live.consumers);
        self.live.set(live);
    }

    /// Records an error that ends the run (the first one wins) and wakes the main loop.
    pub fn fail(&self, error: BackendError) {
        self.fatal.borrow_mut().get_or_insert(error);
        self.changed.notify_one();
    }

    pub fn has_failed(&self) -> bool {
        self.fatal.borrow().is_some()
    }

    /// The current value of a live metric; queue depths are asked from the backend.
    pub async fn live_metric(&self, metric: LiveMetric) -> Result<f64, BackendError> {
        let live = self.live.get();
        let value = match metric {
            LiveMetric::Sent => live.sent,
            LiveMetric::Received => live.received,
            LiveMetric::Processed => live.processed,
            LiveMetric::SideEffects => live.side_effects,
            LiveMetric::Consumers => live.consumers,
            LiveMetric::Crashes => live.crashes,
            LiveMetric::Depth => self.backend.depth(self.main).await?.visible,
            LiveMetric::InFlight => self.backend.depth(self.main).await?.in_flight,
            LiveMetric::Dlq => match self.dlq {
                Some(dlq) => self.backend.depth(dlq).await?.total(),
                None => 0,
            },
        };
        Ok(value as f64)
    }
}
