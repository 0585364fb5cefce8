//! A consumer instance: the receive → process → side effect → delete loop, with the idempotency
//! patterns, version reconciliation, heartbeats and the chaos a scenario asks for.
//!
//! The same code runs on every backend. It never decides a message's fate itself: it records what
//! it did, and `check` decides afterwards from the log and the final state.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;
use tokio::time::sleep;

mod idempotency;
mod poller;
#[cfg(test)]
mod tests;

use idempotency::{Claim, Lru};

use super::claim_check;
use super::context::RunContext;
use super::event::{ActorId, CrashPoint, EventKind, ExitReason, KeyRef, MessageIx, SkipReason};
use super::payload::{Body, PayloadRef};
use super::retry::retrying;
use crate::backend::faults::ApiOperation;
use crate::backend::{
    Backend, BackendError, BackendErrorKind, Condition, Item, PutOutcome, Receipt, ReceiveRequest,
    ReceivedMessage, Table, Update, UpdateOutcome,
};
use crate::scenario::{
    Ack, ConsumerBehavior, CrashPolicy, FieldValue, GroupIx, Heartbeat, Idempotency,
    IdempotencyKey, RetryPolicy,
};

/// How a consumer instance ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConsumerEnd {
    Exited(ExitReason),
    Crashed(CrashPoint),
    /// A backend error ended the whole run.
    Failed,
    /// A child process the fleet killed (`kill`): the fleet recorded it already.
    Killed,
}

/// The signal side of an instance: SIGTERM is a flag the loop checks between messages.
#[derive(Default)]
pub(super) struct Control {
    terminate: Cell<bool>,
    /// SIGKILL for an instance that is a child process (an in-process one is aborted instead).
    kill: Cell<bool>,
    pub(super) woken: Notify,
}

impl Control {
    pub(super) fn kill(&self) {
        self.kill.set(true);
        self.woken.notify_one();
    }

    pub(super) fn is_killed(&self) -> bool {
        self.kill.get()
    }

    pub(super) fn terminate(&self) {
        self.terminate.set(true);
        self.woken.notify_one();
    }

    pub(super) fn is_terminating(&self) -> bool {
        self.terminate.get()
    }
}

/// What a group's instances share: the behaviour `deploy` replaces and the `once` crash budget.
pub(super) struct GroupShared {
    pub behavior: RefCell<Rc<ConsumerBehavior>>,
    pub crashed_after_receive: Cell<bool>,
    pub crashed_after_side_effect: Cell<bool>,
    /// Invocations running now, over the group's pollers (`poller.max_concurrency` bounds it).
    pub invocations: Cell<u32>,
}

impl GroupShared {
    /// The `once` crash points this group has used up, by name (`after-receive`).
    pub(super) fn spent_crashes(&self) -> Vec<&'static str> {
        [
            (&self.crashed_after_receive, "after-receive"),
            (&self.crashed_after_side_effect, "after-side-effect"),
        ]
        .into_iter()
        .filter(|(spent, _)| spent.get())
        .map(|(_, name)| name)
        .collect()
    }

    /// Marks the `once` crash at `point` used up (a child process crashed there).
    pub(super) fn spend_crash(&self, point: CrashPoint) {
        match point {
            CrashPoint::AfterReceive => self.crashed_after_receive.set(true),
            CrashPoint::AfterSideEffect => self.crashed_after_side_effect.set(true),
            CrashPoint::MidProcessing | CrashPoint::AfterCommit | CrashPoint::AfterSend => {}
        }
    }

    pub(super) fn new(group: &crate::scenario::ConsumerGroup) -> Self {
        GroupShared {
            behavior: RefCell::new(Rc::new(group.behavior.clone())),
            crashed_after_receive: Cell::default(),
            crashed_after_side_effect: Cell::default(),
            invocations: Cell::default(),
        }
    }
}

/// How often `ack = "on-success"` sends a failed delete entry, the first time included: the
/// standard retry mode's attempts of the AWS SDKs.
const DELETE_ATTEMPTS: u32 = 3;

/// Pause after an empty short-poll receive, so an idle consumer does not spin.
const SHORT_POLL_PAUSE: Duration = Duration::from_millis(100);

pub(super) struct Consumer<B> {
    pub ctx: Rc<RunContext<B>>,
    pub group: GroupIx,
    pub actor: ActorId,
    pub control: Rc<Control>,
    pub shared: Rc<GroupShared>,
    pub rng: ChaCha8Rng,
    seen: Lru,
    /// Claim-checked messages handled and not yet deleted: their payloads go when they do.
    payloads: Vec<(MessageIx, PayloadRef)>,
}

/// One message of a receive response, with its body parsed once (`None`: not a message this
/// run's producers sent).
struct Delivery<'a> {
    message: &'a ReceivedMessage,
    known: Option<(MessageIx, Body<'a>)>,
}

impl Delivery<'_> {
    fn ix(&self) -> Option<MessageIx> {
        self.known.as_ref().map(|(ix, _)| *ix)
    }
}

/// A handled message waiting for the batch delete.
type PendingDelete = (Receipt, Option<MessageIx>);

/// What to do with a message after handling it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disposition {
    Delete,
    Leave,
    Crash(CrashPoint),
}

/// What the acknowledgement mode makes of a handled message: `always` deletes the failed ones
/// too (only a crash escapes it, as a killed process never reaches its `finally`).
fn acknowledged(ack: Ack, disposition: Disposition) -> Disposition {
    match (ack, disposition) {
        (Ack::Always, Disposition::Leave) => Disposition::Delete,
        _ => disposition,
    }
}

impl<B: Backend> Consumer<B> {
    pub(super) fn new(
        ctx: Rc<RunContext<B>>,
        group: GroupIx,
        actor: ActorId,
        control: Rc<Control>,
        shared: Rc<GroupShared>,
        rng: ChaCha8Rng,
    ) -> Self {
        Consumer {
            ctx,
            group,
            actor,
            control,
            shared,
            rng,
            seen: Lru::default(),
            payloads: Vec::new(),
        }
    }

    pub(super) async fn run(mut self) -> ConsumerEnd {
        match self.run_loop().await {
            Ok(end) => end,
            Err(error) => {
                self.ctx.fail(error);
                ConsumerEnd::Failed
            }
        }
    }

    async fn run_loop(&mut self) -> Result<ConsumerEnd, BackendError> {
        let ctx = self.ctx.clone();
        let group = ctx.scenario().group(self.group);
        if let Some(poller) = group.poller {
            // Boxed: the poller's state (an invocation wrapping `handle`) would otherwise make
            // every consumer's future larger, and the AWS SDK's futures are large already.
            return Box::pin(self.run_poller(poller)).await;
        }
        let request = ReceiveRequest {
            max: group.max_messages,
            wait: group.wait,
            visibility: None,
        };
        let ack = group.ack;
        let fifo = ctx.scenario().queue.attributes.fifo;
        let mut last_message = ctx.now_us();
        let mut handled = 0u64;
        loop {
            if self.control.is_terminating() {
                return Ok(ConsumerEnd::Exited(ExitReason::Terminated));
            }
            if ctx.has_failed() {
                return Ok(ConsumerEnd::Failed);
            }
            let (mut batch, failed) = self.receive(request).await?;
            if batch.is_empty() {
                let pause = request.wait.is_zero() && !failed;
                if let Some(end) = self.idle(last_message, pause).await {
                    return Ok(end);
                }
                continue;
            }
            last_message = ctx.now_us();
            let (held, received_at) = match group.prefetch {
                None => (self.deliveries(&batch, true), Vec::new()),
                Some(prefetch) => {
                    let received_at = self.prefetch(&mut batch, prefetch, request).await?;
                    (self.deliveries(&batch, false), received_at)
                }
            };

            let mut deletes: Vec<PendingDelete> = Vec::new();
            // Messages not yet handled, and handled ones waiting for the batch delete: what
            // the instance still holds, so what a heartbeat extends.
            let mut waiting: Vec<Receipt> = Vec::new();
            // FIFO groups of this batch with a failed message (`ack = "partial-batch"`): the
            // rest of each is handed back unhandled so the group keeps its order.
            let mut failed_groups: Vec<&str> = Vec::new();
            let mut handed_back: Vec<&Delivery> = Vec::new();
            let mut next = 0;
            while next < held.len() {
                // SIGTERM (also during the receive's long poll) or the limit: nothing more
                // is started; the rest is released below.
                let limit_reached = group.message_limit.is_some_and(|limit| handled >= limit);
                if self.control.is_terminating() || limit_reached {
                    break;
                }
                let delivery = &held[next];
                next += 1;
                let message_group = delivery.message.group_id.as_deref();
                if message_group.is_some_and(|g| failed_groups.contains(&g)) {
                    handed_back.push(delivery);
                    continue;
                }
                if let Some(at) = received_at.get(next - 1) {
                    self.note_prefetch_expiry(delivery, *at);
                }
                waiting.clear();
                if self.shared.behavior.borrow().heartbeat.is_some() {
                    waiting.extend(deletes.iter().map(|(r, _)| r.clone()));
                    waiting.extend(held[next..].iter().map(|d| d.message.receipt.clone()));
                }
                let disposition = self.handle(delivery, &waiting).await?;
                handled += 1;
                match acknowledged(ack, disposition) {
                    Disposition::Delete => {
                        deletes.push((delivery.message.receipt.clone(), delivery.ix()));
                        // A prefetching consumer acknowledges each message as it finishes it:
                        // the rest of its buffer may wait long.
                        if group.prefetch.is_some() {
                            self.delete(std::mem::take(&mut deletes), ack).await?;
                        }
                    }
                    Disposition::Leave => {
                        if ack == Ack::PartialBatch && fifo {
                            failed_groups.extend(message_group);
                        }
                    }
                    Disposition::Crash(point) => {
                        self.record(delivery.ix(), EventKind::Crashed(point));
                        return Ok(ConsumerEnd::Crashed(point));
                    }
                }
            }
            handed_back.extend(&held[next..]);
            self.release(&handed_back).await?;
            self.delete(deletes, ack).await?;
            if group.message_limit.is_some_and(|limit| handled >= limit) {
                return Ok(ConsumerEnd::Exited(ExitReason::MessageLimit));
            }
        }
    }

    /// ReceiveMessage, retried as the group's `retries` say. Out of attempts (transient
    /// failures only): nothing received, as after an empty receive, and `true`: each failed
    /// attempt took its time, so no pause is due.
    async fn receive(
        &self,
        request: ReceiveRequest,
    ) -> Result<(Vec<ReceivedMessage>, bool), BackendError> {
        let ctx = &self.ctx;
        let retries = ctx.scenario().group(self.group).retries;
        let call = (ApiOperation::Receive, &[][..]);
        let received = retrying(ctx, self.actor, retries, call, || {
            ctx.backend().receive(ctx.main(), request)
        })
        .await;
        match received {
            Ok(batch) => Ok((batch, false)),
            Err(error) if error.kind.is_transient() => Ok((Vec::new(), true)),
            Err(error) => Err(error),
        }
    }

    /// After an empty receive: the idle exit once nothing came for `idle_timeout` since
    /// `last_message_us`, else, with `pause` (after a short poll), a pause so an idle consumer
    /// does not spin.
    async fn idle(&self, last_message_us: u64, pause: bool) -> Option<ConsumerEnd> {
        let group = self.ctx.scenario().group(self.group);
        let idle = Duration::from_micros(self.ctx.now_us() - last_message_us);
        if idle >= group.idle_timeout {
            return Some(ConsumerEnd::Exited(ExitReason::Idle));
        }
        if pause {
            tokio::select! {
                biased;
                _ = self.control.woken.notified() => {}
                _ = sleep(SHORT_POLL_PAUSE) => {}
            }
        }
        None
    }

    /// Receives ahead until `batch` holds `prefetch` messages or a receive comes back empty,
    /// recording each receive as it happens. Returns when each message was
    /// received (microseconds since the start), in `batch` order.
    async fn prefetch(
        &mut self,
        batch: &mut Vec<ReceivedMessage>,
        prefetch: u32,
        request: ReceiveRequest,
    ) -> Result<Vec<u64>, BackendError> {
        let ctx = self.ctx.clone();
        self.deliveries(batch, true);
        let mut received_at = vec![ctx.now_us(); batch.len()];
        // Top-ups long-poll like the first receive: a short poll may come back empty while
        // messages wait (SQS samples a subset of its servers), which would end the fill early.
        let top_up = request;
        while (batch.len() as u64) < u64::from(prefetch) && !self.control.is_terminating() {
            let room = u64::from(prefetch) - batch.len() as u64;
            let more = ReceiveRequest {
                max: top_up.max.min(u32::try_from(room).unwrap_or(u32::MAX)),
                ..top_up
            };
            let (extra, _) = self.receive(more).await?;
            if extra.is_empty() {
                break;
            }
            self.deliveries(&extra, true);
            received_at.resize(batch.len() + extra.len(), ctx.now_us());
            batch.extend(extra);
        }
        Ok(received_at)
    }

    /// Records a buffered message whose visibility timeout ran out while it waited: from then
    /// on SQS may hand it to another consumer, which this one cannot know.
    fn note_prefetch_expiry(&self, delivery: &Delivery, received_at_us: u64) {
        let visibility = self.ctx.scenario().queue.attributes.visibility_timeout;
        let waited = Duration::from_micros(self.ctx.now_us().saturating_sub(received_at_us));
        if waited >= visibility && delivery.ix().is_some() {
            self.record(delivery.ix(), EventKind::PrefetchExpired);
        }
    }

    /// Hands back what was not started instead of letting it wait for its timeout.
    async fn release(&self, deliveries: &[&Delivery<'_>]) -> Result<(), BackendError> {
        let ctx = &self.ctx;
        let retries = ctx.scenario().group(self.group).retries;
        for delivery in deliveries {
            let call = (ApiOperation::ChangeVisibility, &[delivery.ix()][..]);
            let released = retrying(ctx, self.actor, retries, call, || {
                ctx.backend().change_visibility(
                    ctx.main(),
                    &delivery.message.receipt,
                    Duration::ZERO,
                )
            })
            .await;
            let kind = match released {
                Ok(()) => EventKind::Released,
                // Another consumer may have received and deleted it meanwhile, or the call
                // kept failing: a real consumer logs that and goes on (the message comes
                // back after its visibility timeout).
                Err(e) if e.kind.is_refusal() || e.kind.is_transient() => EventKind::ReleaseFailed,
                Err(e) => return Err(e),
            };
            self.record(delivery.ix(), kind);
        }
        Ok(())
    }

    /// Parses each body of a receive response once and, with `record`, records every message
    /// at the moment of the receive (including those the instance will not get to).
    fn deliveries<'a>(&self, batch: &'a [ReceivedMessage], record: bool) -> Vec<Delivery<'a>> {
        let ctx = &self.ctx;
        if record {
            ctx.count(|live| live.received += batch.len() as u64);
        }
        batch
            .iter()
            .map(|message| {
                let known = serde_json::from_str::<Body>(&message.body)
                    .ok()
                    .and_then(|body| {
                        Some((ctx.message_of(&body, message.group_id.as_deref())?, body))
                    });
                if record {
                    match &known {
                        Some((ix, _)) => self.record(
                            Some(*ix),
                            EventKind::Received {
                                receive_count: message.receive_count,
                            },
                        ),
                        None => self.record(None, EventKind::Unexpected),
                    }
                }
                Delivery { message, known }
            })
            .collect()
    }

    /// DeleteMessageBatch of what was handled. Entries that fail for a reason a retry can fix
    /// (not a refusal such as a stale receipt) are sent again by `on-success`, as the AWS SDKs'
    /// batch helpers leave to the caller; `batch-ignore-failures` drops them, so those
    /// messages come back.
    async fn delete(
        &mut self,
        mut deletes: Vec<PendingDelete>,
        ack: Ack,
    ) -> Result<(), BackendError> {
        let ctx = self.ctx.clone();
        let retries = ctx.scenario().group(self.group).retries;
        let mut attempts = 0;
        while !deletes.is_empty() {
            attempts += 1;
            let receipts: Vec<Receipt> = deletes.iter().map(|(r, _)| r.clone()).collect();
            let ixs: Vec<Option<MessageIx>> = deletes.iter().map(|(_, ix)| *ix).collect();
            let call = (ApiOperation::Delete, ixs.as_slice());
            let results = match retrying(&ctx, self.actor, retries, call, || {
                ctx.backend().delete(ctx.main(), &receipts)
            })
            .await
            {
                Ok(results) => results,
                // Out of attempts: none is known deleted; SQS delivers them again.
                Err(error) if error.kind.is_transient() => {
                    for (_, ix) in deletes {
                        self.record(ix, EventKind::DeleteFailed);
                    }
                    break;
                }
                Err(error) => return Err(error),
            };
            let mut processed = 0;
            let mut retry = Vec::new();
            for ((receipt, ix), result) in deletes.into_iter().zip(results) {
                match result {
                    Ok(()) => {
                        processed += 1;
                        self.record(ix, EventKind::Deleted);
                        self.delete_payload(ix).await?;
                    }
                    Err(e) => {
                        self.record(ix, EventKind::DeleteFailed);
                        let retries = ack != Ack::BatchIgnoreFailures;
                        if retries && !e.kind.is_refusal() && attempts < DELETE_ATTEMPTS {
                            retry.push((receipt, ix));
                        }
                    }
                }
            }
            ctx.count(|live| live.processed += processed);
            deletes = retry;
        }
        Ok(())
    }

    /// Reads a claim-checked message's payload back (GetItem per chunk); whether it is whole.
    async fn read_payload(
        &self,
        ix: MessageIx,
        id: &str,
        payload: PayloadRef,
    ) -> Result<bool, BackendError> {
        let ctx = &self.ctx;
        let mut read = Vec::with_capacity(payload.chunks as usize);
        for key in claim_check::keys(id, payload) {
            let item = self
                .table_call(ApiOperation::GetItem, ix, || {
                    ctx.backend().get(Table::Status, &key)
                })
                .await?;
            read.push(item);
        }
        Ok(claim_check::complete(payload, &read))
    }

    /// After message `ix` was deleted: deletes its payload, if it had one this instance read.
    async fn delete_payload(&mut self, ix: Option<MessageIx>) -> Result<(), BackendError> {
        let Some(at) = self.payloads.iter().position(|(m, _)| Some(*m) == ix) else {
            return Ok(());
        };
        let (ix, payload) = self.payloads.swap_remove(at);
        let id = self.ctx.log().borrow().meta(ix).id.clone();
        for key in claim_check::keys(&id, payload) {
            match self.ctx.backend().delete_item(Table::Status, &key).await {
                Ok(()) => {}
                // Left behind, as a real consumer's failed cleanup leaves it: an orphan.
                Err(error) if error.kind.is_transient() => return Ok(()),
                Err(error) => return Err(error),
            }
        }
        self.record(Some(ix), EventKind::PayloadDeleted);
        Ok(())
    }

    fn record(&self, ix: Option<MessageIx>, kind: EventKind) {
        self.ctx.record(self.actor, ix, kind);
    }

    fn behavior(&self) -> Rc<ConsumerBehavior> {
        self.shared.behavior.borrow().clone()
    }

    /// Handles one delivery; `also_held` are the other receipts the instance holds meanwhile.
    async fn handle(
        &mut self,
        delivery: &Delivery<'_>,
        also_held: &[Receipt],
    ) -> Result<Disposition, BackendError> {
        let ctx = self.ctx.clone();
        let Some((ix, body)) = &delivery.known else {
            return Ok(Disposition::Leave);
        };
        let (ix, message) = (*ix, delivery.message);
        let behavior = self.behavior();

        if self.crashes(behavior.chaos.crash_after_receive, CrashPoint::AfterReceive) {
            return Ok(Disposition::Crash(CrashPoint::AfterReceive));
        }
        if let Some(payload) = body.claim {
            match self.read_payload(ix, &body.id, payload).await {
                Ok(true) => {
                    // Handled again after a delivery it left: one entry per message.
                    self.payloads.retain(|(m, _)| *m != ix);
                    self.payloads.push((ix, payload));
                }
                Ok(false) => {
                    self.record(Some(ix), EventKind::PayloadMissing);
                    return Ok(Disposition::Leave);
                }
                Err(error) if error.kind.is_transient() => return Ok(Disposition::Leave),
                Err(error) => return Err(error),
            }
        }
        if let Some(limit) = behavior.stale_after {
            let age_ms = ctx.now_ms().saturating_sub(body.sent_at_ms);
            if Duration::from_millis(age_ms) > limit {
                self.record(
                    Some(ix),
                    EventKind::StaleMessage {
                        age_ms: saturate(age_ms),
                    },
                );
                return Ok(Disposition::Delete);
            }
        }
        if body.poison && behavior.reject_poison {
            self.record(Some(ix), EventKind::Rejected);
            return Ok(Disposition::Leave);
        }

        let actor = self.actor;
        let retries = ctx.scenario().group(self.group).retries;
        let work = self.process(ix, body, &behavior);
        let held = Held {
            in_hand: (&message.receipt, ix),
            also: also_held,
        };
        match heartbeating(&ctx, actor, (behavior.heartbeat, retries), held, work).await {
            // A table call kept failing: the handler gives up on this message, which SQS
            // delivers again after its visibility timeout.
            Err(error) if error.kind.is_transient() => Ok(Disposition::Leave),
            result => result,
        }
    }

    /// A table call of the handling of `ix`, retried by the group's `retries`.
    async fn table_call<T, F>(
        &self,
        operation: ApiOperation,
        ix: MessageIx,
        call: impl FnMut() -> F,
    ) -> Result<T, BackendError>
    where
        F: Future<Output = Result<T, BackendError>>,
    {
        let retries = self.ctx.scenario().group(self.group).retries;
        retrying(
            &self.ctx,
            self.actor,
            retries,
            (operation, &[Some(ix)]),
            call,
        )
        .await
    }

    /// Processing, the idempotency protocol and the side effect.
    async fn process(
        &mut self,
        ix: MessageIx,
        body: &Body<'_>,
        behavior: &ConsumerBehavior,
    ) -> Result<Disposition, BackendError> {
        let ctx = self.ctx.clone();
        let chaos = behavior.chaos;
        let mut delay = behavior.processing;
        if chaos.slow_rate > 0.0 && self.rng.random_bool(chaos.slow_rate) {
            delay = delay.saturating_add(chaos.slow_delay);
        }
        if !delay.is_zero() {
            sleep(delay).await;
        }
        if chaos.crash_rate > 0.0 && self.rng.random_bool(chaos.crash_rate) {
            return Ok(Disposition::Crash(CrashPoint::MidProcessing));
        }

        // The registered id is the body's id (lookup matched it exactly); sharing it saves an
        // allocation per message.
        let id = ctx.log().borrow().meta(ix).id.clone();
        let key: Arc<str> = match &behavior.idempotency_key {
            IdempotencyKey::MessageId => id,
            IdempotencyKey::Field(field) => body.fields.get(field).map_or(id, |v| v.as_key()),
        };
        let uses_status_table = matches!(
            behavior.idempotency,
            Idempotency::Lock { .. } | Idempotency::Tables { .. }
        );
        let key_ref = ctx.log().borrow_mut().key_ref(ix, &key);
        let skipped = |reason| EventKind::Skipped {
            reason,
            key: key_ref,
        };
        match &behavior.idempotency {
            Idempotency::None => {}
            Idempotency::Memory { capacity } => {
                if self.seen.contains(&key) {
                    self.record(Some(ix), skipped(SkipReason::SeenInMemory));
                    return Ok(Disposition::Delete);
                }
                self.seen.capacity = *capacity;
            }
            Idempotency::Lock { lease } | Idempotency::Tables { lease } => {
                match self.claim(ix, &key, *lease).await? {
                    Claim::Claimed => {}
                    Claim::Completed => {
                        self.record(Some(ix), skipped(SkipReason::AlreadyCompleted));
                        return Ok(Disposition::Delete);
                    }
                    Claim::Busy => {
                        self.record(Some(ix), skipped(SkipReason::InProgressElsewhere));
                        return Ok(Disposition::Leave);
                    }
                }
            }
        }
        let check_before_doing = matches!(behavior.idempotency, Idempotency::Tables { .. });
        let performed_before = match check_before_doing {
            true => self
                .table_call(ApiOperation::GetItem, ix, || {
                    ctx.backend().get(Table::SideEffects, &key)
                })
                .await?
                .is_some(),
            false => false,
        };
        if performed_before {
            self.record(Some(ix), skipped(SkipReason::AlreadyPerformed));
            self.complete(ix, &key).await?;
            return Ok(Disposition::Delete);
        }

        if !behavior.side_effect_delay.is_zero() {
            sleep(behavior.side_effect_delay).await;
        }
        let performed = self
            .side_effect(ix, (&key, key_ref), body, behavior, check_before_doing)
            .await?;
        if performed {
            if let Some(field) = &behavior.log_field {
                if let Some(value) = log_value(body, field) {
                    let value = ctx.log().borrow_mut().intern_value(value);
                    self.record(Some(ix), EventKind::Logged { value });
                }
            }
        }
        if let Idempotency::Memory { .. } = behavior.idempotency {
            self.seen.insert(key.clone());
        }
        if self.crashes(chaos.crash_after_side_effect, CrashPoint::AfterSideEffect) {
            return Ok(Disposition::Crash(CrashPoint::AfterSideEffect));
        }
        if uses_status_table {
            self.complete(ix, &key).await?;
        }
        Ok(Disposition::Delete)
    }

    /// Performs the side effect (or the versioned apply). Returns whether it happened.
    async fn side_effect(
        &mut self,
        ix: MessageIx,
        (key, key_ref): (&Arc<str>, KeyRef),
        body: &Body<'_>,
        behavior: &ConsumerBehavior,
        conditional: bool,
    ) -> Result<bool, BackendError> {
        let ctx = self.ctx.clone();
        // The item's writer: the registered id, shared instead of copied from the body.
        let id = ctx.log().borrow().meta(ix).id.clone();
        if let Some(versioning) = &behavior.versioning {
            let entity = body
                .fields
                .get(&versioning.entity_field)
                .map(|f| f.as_key());
            let version = body
                .fields
                .get(&versioning.version_field)
                .and_then(|f| f.as_u64());
            if let (Some(entity), Some(version)) = (entity, version) {
                let update = Update {
                    set_version: Some(version),
                    add_count: 1,
                    set_message: Some(id.clone()),
                    condition: if versioning.check {
                        Condition::VersionBelow(version)
                    } else {
                        Condition::Always
                    },
                    ..Update::default()
                };
                let item_key = crate::backend::entity_item_key(&entity);
                let entity = ctx.log().borrow_mut().intern(&entity);
                self.record(
                    Some(ix),
                    EventKind::Applying {
                        version: saturate(version),
                        entity,
                    },
                );
                let outcome = self
                    .table_call(ApiOperation::UpdateItem, ix, || {
                        ctx.backend().update(Table::SideEffects, &item_key, &update)
                    })
                    .await?;
                return match outcome {
                    UpdateOutcome::Updated(_) => {
                        self.record(
                            Some(ix),
                            EventKind::Applied {
                                version: saturate(version),
                                key: key_ref,
                            },
                        );
                        ctx.count(|live| live.side_effects += 1);
                        Ok(true)
                    }
                    UpdateOutcome::ConditionFailed(current) => {
                        let current = current.and_then(|i| i.version).unwrap_or(0);
                        let (version, current) = (saturate(version), saturate(current));
                        self.record(Some(ix), EventKind::StaleVersion { version, current });
                        Ok(false)
                    }
                };
            }
        }
        let performed = if conditional {
            let item = Item {
                count: 1,
                message: Some(id.clone()),
                ..Item::default()
            };
            let outcome = self
                .table_call(ApiOperation::PutItem, ix, || {
                    ctx.backend().put_if_absent(Table::SideEffects, key, &item)
                })
                .await?;
            matches!(outcome, PutOutcome::Created)
        } else {
            let update = Update {
                add_count: 1,
                set_message: Some(id.clone()),
                ..Update::default()
            };
            self.table_call(ApiOperation::UpdateItem, ix, || {
                ctx.backend().update(Table::SideEffects, key, &update)
            })
            .await?;
            true
        };
        if performed {
            self.record(Some(ix), EventKind::SideEffect { key: key_ref });
            ctx.count(|live| live.side_effects += 1);
        } else {
            let reason = SkipReason::ConditionFailed;
            let skipped = EventKind::Skipped {
                reason,
                key: key_ref,
            };
            self.record(Some(ix), skipped);
        }
        Ok(performed)
    }

    /// Draws the crash decision for one message at one point.
    fn crashes(&mut self, policy: CrashPolicy, point: CrashPoint) -> bool {
        let once_used = match point {
            CrashPoint::AfterReceive => &self.shared.crashed_after_receive,
            CrashPoint::AfterSideEffect => &self.shared.crashed_after_side_effect,
            CrashPoint::MidProcessing | CrashPoint::AfterCommit | CrashPoint::AfterSend => {
                return false;
            }
        };
        match policy {
            CrashPolicy::Never => false,
            CrashPolicy::Always => true,
            CrashPolicy::Once => !once_used.replace(true),
            CrashPolicy::Probability(p) => self.rng.random_bool(p),
        }
    }
}

/// The receipts an instance holds while it works on one message.
struct Held<'a> {
    in_hand: (&'a Receipt, MessageIx),
    /// The rest of its batch: handled and waiting for the batch delete, or not started yet.
    also: &'a [Receipt],
}

/// Runs `work`, extending the visibility of every message the instance holds each heartbeat
/// interval while it runs, as consumer libraries do: finished messages waiting for the batch
/// delete and messages not started yet would otherwise come back to another consumer.
async fn heartbeating<B: Backend, T>(
    ctx: &RunContext<B>,
    actor: ActorId,
    (heartbeat, retries): (Option<Heartbeat>, RetryPolicy),
    held: Held<'_>,
    work: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    let Some(heartbeat) = heartbeat else {
        return work.await;
    };
    let (receipt, ix) = held.in_hand;
    let mut extending: Vec<(&Receipt, Option<MessageIx>)> = vec![(receipt, Some(ix))];
    extending.extend(held.also.iter().map(|r| (r, None)));
    tokio::pin!(work);
    loop {
        tokio::select! {
            biased;
            done = &mut work => return done,
            _ = sleep(heartbeat.interval) => {
                let mut still = Vec::with_capacity(extending.len());
                for (receipt, ix) in extending {
                    let call = (ApiOperation::ChangeVisibility, &[ix][..]);
                    let extended = retrying(ctx, actor, retries, call, || {
                        ctx.backend().change_visibility(ctx.main(), receipt, heartbeat.extend)
                    })
                    .await;
                    match extended {
                        Ok(()) => {
                            if ix.is_some() {
                                ctx.record(actor, ix, EventKind::Heartbeat);
                            }
                            still.push((receipt, ix));
                        }
                        // The receipt went stale (the message was redelivered or deleted):
                        // nothing to extend any more.
                        Err(e)
                            if matches!(
                                e.kind,
                                BackendErrorKind::ReceiptHandleInvalid
                                    | BackendErrorKind::NotInFlight
                            ) => {}
                        // Refused, e.g. past SQS's 12-hour limit: a real consumer logs it,
                        // stops extending and goes on working.
                        Err(e) if e.kind.is_refusal() => {
                            if ix.is_some() {
                                ctx.record(actor, ix, EventKind::HeartbeatFailed);
                            }
                        }
                        // Out of attempts this time: the next interval tries again.
                        Err(e) if e.kind.is_transient() => still.push((receipt, ix)),
                        Err(e) => return Err(e),
                    }
                }
                extending = still;
            }
        }
    }
}

/// Event fields are 32-bit to keep events small; larger values are clamped, not wrapped.
fn saturate(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn log_value(body: &Body, field: &str) -> Option<FieldValue> {
    match field {
        "seq" => Some(FieldValue::Int(body.seq as i64)),
        "id" => Some(FieldValue::Str(body.id.to_string())),
        _ => body.fields.get(field).map(FieldValue::from),
    }
}
