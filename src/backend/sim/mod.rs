//! The embedded simulator: SQS and DynamoDB semantics in-process on tokio's paused clock.
//!
//! [`SimBackend`] reproduces sections 1 and 2 of `docs/sqs-semantics.md`: visibility timeouts,
//! receive counts and lazy redrive, long polling, batch limits, receipts (current, superseded,
//! forged), delay, retention, the asynchronous purge, FIFO groups, blocking and deduplication,
//! message move tasks, and the conditional DynamoDB writes qsim's idempotency patterns use; and
//! takes the latitudes of its section 0 (the envelope: duplicates, reordering, partial receives,
//! lagging counters, lingering purges, acting stale receipts) as seeded choices, see `faults`.
//!
//! Invariants:
//! - deterministic for a seed: all randomness comes from [`crate::rng::stream`] (one stream per
//!   queue for message ids, one for its faults, one for the backend), all time from
//!   `tokio::time::Instant` relative to the origin captured by [`SimBackend::new`], no hash-map
//!   order reaches a result, and every operation starts with `yield_now()` so concurrent actors
//!   interleave in the scheduler's (deterministic) order without advancing virtual time;
//! - single-threaded: state sits in `RefCell`s that are never borrowed across an `.await`;
//! - lazy time: each operation first applies what became due since the previous one (move-task
//!   steps, then the queue's timers), so no background task is needed and idle runs cost nothing.

mod clock;
mod counters;
mod dedup;
mod fast_hash;
mod faults;
mod fifo;
mod item_keys;
mod limits;
mod message_id;
mod move_task;
mod purge;
mod queue;
mod standard;
mod store;
mod table;
mod timers;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;

use crate::backend::{
    Backend, BackendError, BackendErrorKind, Capabilities, FinalItems, Item, MoveTask,
    OutgoingMessage, PutOutcome, QueueDepth, QueueId, QueueSpec, QueueTransition, Receipt,
    ReceiveRequest, ReceivedMessage, SendOutcome, Table, Update, UpdateOutcome,
};
use crate::rng::stream;

use crate::sqs::facts::{
    MAX_BATCH, MAX_DELAY, MAX_MOVE_TASK_RATE, MAX_RECEIVE_COUNT_RANGE, MAX_RECEIVE_WAIT,
    MAX_RETENTION, MAX_VISIBILITY_TIMEOUT, MIN_RETENTION,
};
use crate::sqs::{DeduplicationScope, FifoThroughputLimit};
use clock::{Clock, Moment};
use faults::Faults;
use limits::invalid;
use move_task::MoveTasks;
use queue::Queue;
use table::Tables;

/// The simulated SQS + DynamoDB service of one run.
///
/// Create it inside the (paused, current-thread) runtime that drives the run: its origin is the
/// virtual instant of construction.
#[derive(Debug)]
pub(crate) struct SimBackend {
    seed: u64,
    clock: Clock,
    queues: RefCell<Vec<Queue>>,
    moves: RefCell<MoveTasks>,
    tables: RefCell<Tables>,
    rng: RefCell<ChaCha8Rng>,
}

impl SimBackend {
    pub(crate) fn new(seed: u64) -> SimBackend {
        SimBackend {
            seed,
            clock: Clock::start(),
            queues: RefCell::new(Vec::new()),
            moves: RefCell::new(MoveTasks::default()),
            tables: RefCell::new(Tables::default()),
            rng: RefCell::new(stream(seed, "sim")),
        }
    }

    /// Runs `action` on `queue`, brought up to date with the current moment; wakes the queue's
    /// long polls if the action made something deliverable.
    fn with_queue<T>(
        &self,
        operation: &'static str,
        queue: QueueId,
        action: impl FnOnce(&mut Queue, Moment) -> Result<T, BackendErrorKind>,
    ) -> Result<T, BackendError> {
        let now = self.clock.now();
        let mut queues = self.queues.borrow_mut();
        self.moves.borrow_mut().catch_up(&mut queues, now);
        let queue = queues
            .get_mut(queue.0)
            .ok_or_else(|| missing_queue(operation, queue))?;
        queue.advance(now);
        let result = action(queue, now);
        queue.note_depth(now);
        queue.notify_if_woken();
        result.map_err(|kind| BackendError::new(operation, queue.name.clone(), kind))
    }

    /// One receive attempt at `now`: the messages, and when nothing came back, what to wait on.
    fn try_receive(
        &self,
        queue: QueueId,
        request: &ReceiveRequest,
        now: Moment,
    ) -> Result<Attempt, BackendError> {
        let mut queues = self.queues.borrow_mut();
        let moves = &mut *self.moves.borrow_mut();
        moves.catch_up(&mut queues, now);
        let source = queues
            .get_mut(queue.0)
            .ok_or_else(|| missing_queue(RECEIVE, queue))?;
        source.advance(now);
        let visibility = request
            .visibility
            .unwrap_or(source.spec.attributes.visibility_timeout);
        let mut messages = Vec::with_capacity(request.max as usize);
        let mut redriven = Vec::new();
        let max = source.receive_cap(request.max as usize, request.wait.is_zero());
        source.receive(now, max, visibility, &mut messages, &mut redriven);
        source.note_depth(now);
        source.notify_if_woken();
        let wait = messages.is_empty().then(|| {
            let wake = [source.next_timer(), moves.next_move_at()]
                .into_iter()
                .flatten()
                .min();
            (Rc::clone(&source.notify), wake)
        });
        if let Some(redrive) = source.spec.redrive.filter(|_| !redriven.is_empty()) {
            let dlq = &mut queues[redrive.dlq.0];
            dlq.advance(now);
            for transfer in redriven {
                dlq.arrive(now, transfer);
            }
            dlq.note_depth(now);
            dlq.notify_if_woken();
        }
        Ok(Attempt { messages, wait })
    }

    /// CreateQueue under a name chosen by the caller (`qsim serve`, whose clients name their
    /// queues); the queue's random streams derive from `streams` (the server makes it unique
    /// per queue it creates, so a queue created again under an old name does not repeat the
    /// old one's message ids), so a server's queues are as reproducible for a seed as a run's.
    pub(crate) fn create_named_queue(
        &self,
        name: &str,
        streams: &str,
        spec: &QueueSpec,
    ) -> Result<QueueId, BackendError> {
        self.add_queue(name.to_owned(), streams, spec)
    }

    fn add_queue(
        &self,
        name: String,
        base: &str,
        spec: &QueueSpec,
    ) -> Result<QueueId, BackendError> {
        self.check_spec(spec)
            .map_err(|kind| BackendError::new("CreateQueue", name.clone(), kind))?;
        let mut queues = self.queues.borrow_mut();
        let id = QueueId(queues.len());
        let envelope = if spec.attributes.fifo {
            spec.sim.for_fifo()
        } else {
            spec.sim
        };
        queues.push(Queue::new(
            id,
            name,
            spec.clone(),
            stream(self.seed, &format!("sim-{base}")),
            Faults::new(envelope, self.seed, base),
        ));
        Ok(id)
    }

    /// SetQueueAttributes: `queue` takes the attributes and redrive policy of `spec` from now
    /// on (its type, standard or FIFO, cannot change; the caller keeps it). Messages already
    /// stored keep the delay and retention they were stored with, as on SQS.
    pub(crate) fn reconfigure_queue(
        &self,
        queue: QueueId,
        spec: &QueueSpec,
    ) -> Result<(), BackendError> {
        const SET: &str = "SetQueueAttributes";
        self.check_spec(spec)
            .map_err(|kind| BackendError::new(SET, format!("queue #{}", queue.0), kind))?;
        self.with_queue(SET, queue, |queue, _| {
            queue.spec.attributes = spec.attributes;
            queue.spec.redrive = spec.redrive;
            Ok(())
        })
    }

    /// [`Backend::take_transitions`] with the name of the queue each happened in, for a
    /// server whose queues are not one run's main queue and DLQ.
    pub(crate) fn take_named_transitions(&self, sink: &mut dyn FnMut(&str, QueueTransition)) {
        for queue in self.queues.borrow_mut().iter_mut() {
            let role = queue.spec.role;
            let (name, noted) = queue.take_noted();
            for noted in noted {
                let transition = QueueTransition {
                    at: self.clock.instant(noted.at),
                    queue: role,
                    kind: noted.kind,
                    body: noted.body,
                };
                sink(name, transition);
            }
        }
    }

    fn check_spec(&self, spec: &QueueSpec) -> Result<(), BackendErrorKind> {
        limits::at_most(
            spec.attributes.visibility_timeout,
            MAX_VISIBILITY_TIMEOUT,
            "VisibilityTimeout",
        )?;
        limits::at_most(
            spec.attributes.receive_wait,
            MAX_RECEIVE_WAIT,
            "ReceiveMessageWaitTimeSeconds",
        )?;
        limits::at_most(spec.attributes.delay, MAX_DELAY, "DelaySeconds")?;
        limits::at_most(
            spec.attributes.retention,
            MAX_RETENTION,
            "MessageRetentionPeriod",
        )?;
        if spec.attributes.retention < MIN_RETENTION {
            return Err(invalid(&format!(
                "MessageRetentionPeriod is below {} s",
                MIN_RETENTION.as_secs()
            )));
        }
        if spec.attributes.content_based_dedup && !spec.attributes.fifo {
            return Err(invalid(
                "ContentBasedDeduplication is only valid on FIFO queues",
            ));
        }
        let scope = spec.attributes.deduplication_scope;
        let limit = spec.attributes.fifo_throughput_limit;
        if !spec.attributes.fifo
            && (scope != DeduplicationScope::default() || limit != FifoThroughputLimit::default())
        {
            return Err(invalid(
                "DeduplicationScope and FifoThroughputLimit are only valid on FIFO queues",
            ));
        }
        if !limit.allowed_with(scope) {
            return Err(invalid(
                "FifoThroughputLimit perMessageGroupId is only valid with DeduplicationScope messageGroup",
            ));
        }
        let envelope = spec.sim;
        let rates = [
            envelope.purge_reach_rate,
            envelope.reorder_rate,
            envelope.partial_receive_rate,
            envelope.duplicate_rate,
            envelope.stale_receipt_rate,
        ];
        if !rates.iter().all(|p| (0.0..=1.0).contains(p)) {
            return Err(invalid("sim envelope rates are probabilities in [0, 1]"));
        }
        if let Some(redrive) = spec.redrive {
            let queues = self.queues.borrow();
            let dlq = queues
                .get(redrive.dlq.0)
                .ok_or_else(|| invalid("RedrivePolicy: the dead-letter queue does not exist"))?;
            if dlq.spec.attributes.fifo != spec.attributes.fifo {
                return Err(invalid(
                    "RedrivePolicy: a dead-letter queue has the type (standard or FIFO) of its source",
                ));
            }
            if !MAX_RECEIVE_COUNT_RANGE.contains(&redrive.max_receive_count) {
                return Err(invalid(&format!(
                    "RedrivePolicy: maxReceiveCount is {} to {}",
                    MAX_RECEIVE_COUNT_RANGE.start(),
                    MAX_RECEIVE_COUNT_RANGE.end()
                )));
            }
        }
        Ok(())
    }
}

const RECEIVE: &str = "ReceiveMessage";

/// The outcome of one receive attempt; `wait` is set when it came back empty: what wakes the
/// long poll (a send or similar) and the next timer that could make something visible.
struct Attempt {
    messages: Vec<ReceivedMessage>,
    wait: Option<(Rc<Notify>, Option<Moment>)>,
}

fn missing_queue(operation: &'static str, queue: QueueId) -> BackendError {
    BackendError::new(
        operation,
        format!("queue #{}", queue.0),
        BackendErrorKind::NotFound,
    )
}

fn table_error(
    operation: &'static str,
    table: Table,
) -> impl FnOnce(BackendErrorKind) -> BackendError {
    move |kind| BackendError::new(operation, table.as_str(), kind)
}

impl Backend for SimBackend {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueId, BackendError> {
        tokio::task::yield_now().await;
        let base = {
            let queues = self.queues.borrow();
            let same_role = queues.iter().filter(|q| q.spec.role == spec.role).count();
            match same_role {
                0 => spec.role.as_str().to_owned(),
                n => format!("{}-{}", spec.role.as_str(), n + 1),
            }
        };
        let name = if spec.attributes.fifo {
            format!("{base}.fifo")
        } else {
            base.clone()
        };
        self.add_queue(name, &base, spec)
    }

    async fn create_tables(&self) -> Result<(), BackendError> {
        tokio::task::yield_now().await;
        self.tables.borrow_mut().create();
        Ok(())
    }

    async fn send(
        &self,
        queue: QueueId,
        batch: &[OutgoingMessage],
    ) -> Result<Vec<Result<SendOutcome, BackendError>>, BackendError> {
        const SEND: &str = "SendMessageBatch";
        tokio::task::yield_now().await;
        self.with_queue(SEND, queue, |queue, now| {
            limits::send_batch(batch)?;
            Ok(batch
                .iter()
                .map(|message| match queue.send(now, message) {
                    Ok(message_id) => Ok(SendOutcome {
                        message_id: message_id.sqs(),
                    }),
                    Err(kind) => Err(BackendError::new(SEND, queue.name.clone(), kind)),
                })
                .collect())
        })
    }

    async fn receive(
        &self,
        queue: QueueId,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        tokio::task::yield_now().await;
        let checked = if !(1..=MAX_BATCH as u32).contains(&request.max) {
            Err(invalid(&format!("MaxNumberOfMessages is 1 to {MAX_BATCH}")))
        } else {
            limits::at_most(request.wait, MAX_RECEIVE_WAIT, "WaitTimeSeconds").and_then(|()| {
                limits::at_most(
                    request.visibility.unwrap_or_default(),
                    MAX_VISIBILITY_TIMEOUT,
                    "VisibilityTimeout",
                )
            })
        };
        if let Err(kind) = checked {
            let name = self
                .queues
                .borrow()
                .get(queue.0)
                .map_or_else(|| format!("queue #{}", queue.0), |q| q.name.clone());
            return Err(BackendError::new(RECEIVE, name, kind));
        }
        let deadline = self.clock.now().after(request.wait);
        loop {
            let now = self.clock.now();
            let attempt = self.try_receive(queue, &request, now)?;
            let Some((notify, wake)) = attempt.wait.filter(|_| now < deadline) else {
                return Ok(attempt.messages);
            };
            let wake = wake.map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                biased;
                () = notify.notified() => {}
                () = tokio::time::sleep_until(self.clock.instant(wake)) => {}
            }
        }
    }

    async fn delete(
        &self,
        queue: QueueId,
        receipts: &[Receipt],
    ) -> Result<Vec<Result<(), BackendError>>, BackendError> {
        const DELETE: &str = "DeleteMessageBatch";
        tokio::task::yield_now().await;
        self.with_queue(DELETE, queue, |queue, now| {
            limits::batch_size(receipts.len())?;
            Ok(receipts
                .iter()
                .map(|receipt| {
                    queue
                        .delete(now, receipt)
                        .map_err(|kind| BackendError::new(DELETE, queue.name.clone(), kind))
                })
                .collect())
        })
    }

    async fn change_visibility(
        &self,
        queue: QueueId,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        tokio::task::yield_now().await;
        self.with_queue("ChangeMessageVisibility", queue, |queue, now| {
            queue.change_visibility(now, receipt, timeout)
        })
    }

    async fn purge(&self, queue: QueueId) -> Result<(), BackendError> {
        tokio::task::yield_now().await;
        self.with_queue("PurgeQueue", queue, |queue, now| queue.purge(now))
    }

    async fn depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        tokio::task::yield_now().await;
        self.with_queue("GetQueueAttributes", queue, |queue, now| {
            Ok(queue.reported_depth(now))
        })
    }

    async fn settled_depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        tokio::task::yield_now().await;
        self.with_queue("GetQueueAttributes", queue, |queue, _| Ok(queue.depth()))
    }

    async fn start_move_task(
        &self,
        source: QueueId,
        max_per_second: Option<u32>,
    ) -> Result<MoveTask, BackendError> {
        const START: &str = "StartMessageMoveTask";
        tokio::task::yield_now().await;
        let is_dlq = self
            .queues
            .borrow()
            .iter()
            .any(|q| q.spec.redrive.is_some_and(|r| r.dlq == source));
        let task = self.with_queue(START, source, |dlq, now| {
            let per_second = max_per_second.unwrap_or(MAX_MOVE_TASK_RATE);
            if !(1..=MAX_MOVE_TASK_RATE).contains(&per_second) {
                return Err(invalid(&format!(
                    "MaxNumberOfMessagesPerSecond is 1 to {MAX_MOVE_TASK_RATE}"
                )));
            }
            if !is_dlq {
                return Err(invalid(
                    "the source queue is not the dead-letter queue of any queue",
                ));
            }
            let handle = format!("sim-move-{:016x}", self.rng.borrow_mut().random::<u64>());
            self.moves.borrow_mut().start(
                source,
                per_second,
                now,
                dlq.depth().visible,
                handle.into(),
            )
        })?;
        move_task::wake_destinations(&self.queues.borrow(), source);
        Ok(task)
    }

    async fn move_task_status(&self, source: QueueId) -> Result<Option<MoveTask>, BackendError> {
        tokio::task::yield_now().await;
        self.with_queue("ListMessageMoveTasks", source, |_, _| Ok(()))?;
        Ok(self.moves.borrow().latest(source))
    }

    async fn remaining(&self, queue: QueueId) -> Result<Vec<ReceivedMessage>, BackendError> {
        tokio::task::yield_now().await;
        self.with_queue("ReceiveMessage", queue, |queue, _| Ok(queue.remaining()))
    }

    async fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendError> {
        tokio::task::yield_now().await;
        self.tables
            .borrow_mut()
            .put_if_absent(table, key, item)
            .map_err(table_error("PutItem", table))
    }

    async fn update(
        &self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendError> {
        tokio::task::yield_now().await;
        self.tables
            .borrow_mut()
            .update(table, key, update)
            .map_err(table_error("UpdateItem", table))
    }

    async fn transact_put(
        &self,
        table: Table,
        items: &[(String, Item)],
    ) -> Result<(), BackendError> {
        tokio::task::yield_now().await;
        self.tables
            .borrow_mut()
            .transact_put(table, items)
            .map_err(table_error("TransactWriteItems", table))
    }

    async fn delete_item(&self, table: Table, key: &str) -> Result<(), BackendError> {
        tokio::task::yield_now().await;
        self.tables
            .borrow_mut()
            .delete(table, key)
            .map_err(table_error("DeleteItem", table))
    }

    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendError> {
        tokio::task::yield_now().await;
        self.tables
            .borrow()
            .get(table, key)
            .map_err(table_error("GetItem", table))
    }

    async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendError> {
        tokio::task::yield_now().await;
        self.tables
            .borrow()
            .scan(table)
            .map_err(table_error("Scan", table))
    }

    async fn take_final_items(&self, table: Table) -> Result<FinalItems, BackendError> {
        tokio::task::yield_now().await;
        self.tables
            .borrow_mut()
            .take_final_items(table)
            .map_err(table_error("Scan", table))
    }

    fn observes_transitions(&self) -> bool {
        true
    }

    fn take_transitions(&self, sink: &mut dyn FnMut(QueueTransition)) {
        self.take_named_transitions(&mut |_, transition| sink(transition));
    }

    async fn teardown(&self) -> Result<(), BackendError> {
        tokio::task::yield_now().await;
        Ok(())
    }
}
