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

use idempotency::{Claim, Lru};

use super::context::RunContext;
use super::event::{ActorId, CrashPoint, EventKind, ExitReason, KeyRef, MessageIx, SkipReason};
use super::payload::Body;
use super::retry::retrying;
use crate::backend::faults::ApiOperation;
use crate::backend::{
    Backend, BackendError, BackendErrorKind, Condition, Item, PutOutcome, Receipt, ReceiveRequest,
    ReceivedMessage, Table, Update, UpdateOutcome,
};
use crate::scenario::{
    ConsumerBehavior, CrashPolicy, FieldValue, GroupIx, Heartbeat, Idempotency, IdempotencyKey,
    RetryPolicy,
};

/// How a consumer instance ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ConsumerEnd {
    Exited(ExitReason),
    Crashed(CrashPoint),
    /// A backend error ended the whole run.
    Failed,
}

/// The signal side of an instance: SIGTERM is a flag the loop checks between messages.
#[derive(Default)]
pub(super) struct Control {
    terminate: Cell<bool>,
    pub(super) woken: Notify,
}

impl Control {
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
}

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

/// What to do with a message after handling it.
enum Disposition {
    Delete,
    Leave,
    Crash(CrashPoint),
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
        let request = ReceiveRequest {
            max: group.max_messages,
            wait: group.wait,
            visibility: None,
        };
        let mut last_message = ctx.now_us();
        let mut handled = 0u64;
        loop {
            if self.control.is_terminating() {
                return Ok(ConsumerEnd::Exited(ExitReason::Terminated));
            }
            if ctx.has_failed() {
                return Ok(ConsumerEnd::Failed);
            }
            let call = (ApiOperation::Receive, &[][..]);
            let received = retrying(&ctx, self.actor, group.retries, call, || {
                ctx.backend().receive(ctx.main(), request)
            })
            .await;
            // Out of attempts: nothing received, as after an empty receive (each failed attempt
            // took its time, so no pause is added).
            let (batch, failed) = match received {
                Ok(batch) => (batch, false),
                Err(error) if error.kind.is_transient() => (Vec::new(), true),
                Err(error) => return Err(error),
            };
            if batch.is_empty() {
                let idle = Duration::from_micros(ctx.now_us() - last_message);
                if idle >= group.idle_timeout {
                    return Ok(ConsumerEnd::Exited(ExitReason::Idle));
                }
                if request.wait.is_zero() && !failed {
                    tokio::select! {
                        biased;
                        _ = self.control.woken.notified() => {}
                        _ = sleep(SHORT_POLL_PAUSE) => {}
                    }
                }
                continue;
            }
            last_message = ctx.now_us();
            let held = self.deliveries(&batch);

            let mut deletes: Vec<(Receipt, Option<MessageIx>)> = Vec::new();
            // Messages not yet handled, and handled ones waiting for the batch delete: what
            // the instance still holds, so what a heartbeat extends.
            let mut waiting: Vec<Receipt> = Vec::new();
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
                waiting.clear();
                if self.shared.behavior.borrow().heartbeat.is_some() {
                    waiting.extend(deletes.iter().map(|(r, _)| r.clone()));
                    waiting.extend(held[next..].iter().map(|d| d.message.receipt.clone()));
                }
                let disposition = self.handle(delivery, &waiting).await?;
                handled += 1;
                match disposition {
                    Disposition::Delete => {
                        deletes.push((delivery.message.receipt.clone(), delivery.ix()))
                    }
                    Disposition::Leave => {}
                    Disposition::Crash(point) => {
                        self.record(delivery.ix(), EventKind::Crashed(point));
                        return Ok(ConsumerEnd::Crashed(point));
                    }
                }
            }
            // Hand back what was not started instead of letting it wait for its timeout.
            for delivery in &held[next..] {
                let call = (ApiOperation::ChangeVisibility, &[delivery.ix()][..]);
                let released = retrying(&ctx, self.actor, group.retries, call, || {
                    let receipt = &delivery.message.receipt;
                    ctx.backend()
                        .change_visibility(ctx.main(), receipt, Duration::ZERO)
                })
                .await;
                let kind = match released {
                    Ok(()) => EventKind::Released,
                    // Another consumer may have received and deleted it meanwhile, or the
                    // call kept failing: a real consumer logs that and goes on (the message
                    // comes back after its visibility timeout).
                    Err(e) if e.kind.is_refusal() || e.kind.is_transient() => {
                        EventKind::ReleaseFailed
                    }
                    Err(e) => return Err(e),
                };
                self.record(delivery.ix(), kind);
            }
            self.delete(deletes).await?;
            if group.message_limit.is_some_and(|limit| handled >= limit) {
                return Ok(ConsumerEnd::Exited(ExitReason::MessageLimit));
            }
        }
    }

    /// Records every message of a receive response at the moment of the receive (including
    /// those the instance will not get to) and parses each body once.
    fn deliveries<'a>(&self, batch: &'a [ReceivedMessage]) -> Vec<Delivery<'a>> {
        let ctx = &self.ctx;
        ctx.count(|live| live.received += batch.len() as u64);
        batch
            .iter()
            .map(|message| {
                let known = serde_json::from_str::<Body>(&message.body)
                    .ok()
                    .and_then(|body| Some((ctx.log().borrow().lookup(&body.id)?, body)));
                match &known {
                    Some((ix, _)) => self.record(
                        Some(*ix),
                        EventKind::Received {
                            receive_count: message.receive_count,
                        },
                    ),
                    None => self.record(None, EventKind::Unexpected),
                }
                Delivery { message, known }
            })
            .collect()
    }

    async fn delete(
        &mut self,
        deletes: Vec<(Receipt, Option<MessageIx>)>,
    ) -> Result<(), BackendError> {
        if deletes.is_empty() {
            return Ok(());
        }
        let ctx = self.ctx.clone();
        let receipts: Vec<Receipt> = deletes.iter().map(|(r, _)| r.clone()).collect();
        let ixs: Vec<Option<MessageIx>> = deletes.iter().map(|(_, ix)| *ix).collect();
        let retries = ctx.scenario().group(self.group).retries;
        let call = (ApiOperation::Delete, ixs.as_slice());
        let results = retrying(&ctx, self.actor, retries, call, || {
            ctx.backend().delete(ctx.main(), &receipts)
        })
        .await;
        let deleted: Vec<bool> = match results {
            Ok(results) => results.iter().map(Result::is_ok).collect(),
            // Out of attempts: none is known deleted; SQS delivers them again.
            Err(error) if error.kind.is_transient() => vec![false; receipts.len()],
            Err(error) => return Err(error),
        };
        let mut processed = 0;
        for ((_, ix), deleted) in deletes.into_iter().zip(deleted) {
            match deleted {
                true => {
                    processed += 1;
                    self.record(ix, EventKind::Deleted);
                }
                false => self.record(ix, EventKind::DeleteFailed),
            }
        }
        ctx.count(|live| live.processed += processed);
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
            CrashPoint::MidProcessing => return false,
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
