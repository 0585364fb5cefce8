//! Producers that write a business record with each message (`outbox`, `dual_write`): the
//! record (`record:ID` in the status table) and the message must both exist or neither, and
//! how the producer writes them decides whether a crash between its calls can break that.
//!
//! - The transactional outbox commits the record and an outbox row (`outbox:ID`, holding the
//!   body) in one TransactWriteItems; its relay then sends the row's message and deletes the
//!   row. A crash anywhere leaves a row, which the relay sends when the producer restarts: a
//!   message can be sent twice (a `resent` copy), never lost or sent without its record.
//! - The naive dual write makes two calls: commit then send (a crash between loses the
//!   message), or send then commit (a crash between leaves a phantom message whose record
//!   never exists).
//!
//! The producer restarts at once with nothing in memory: the relay's recovery reads the rows
//! back from the table. Transactions and outbox deletes are made once (they are not among the
//! operations `[[faults]]` and `retries` name); a failed one is an event, not a retry.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::context::RunContext;
use super::event::{ActorId, CrashPoint, EventKind, MessageIx};
use super::producer::send;
use super::retry::retrying;
use crate::backend::faults::ApiOperation;
use crate::backend::{
    Backend, BackendError, Item, OutgoingMessage, PutOutcome, Table, message_of_outbox_key,
    outbox_item_key, record_item_key,
};
use crate::rng;
use crate::scenario::{CrashPolicy, DualWriteOrder, ProducerChaos, WriteMode};

/// One producer's business-record writes.
pub(super) struct RecordWriter<B: Backend> {
    ctx: Rc<RunContext<B>>,
    index: usize,
    actor: ActorId,
    mode: WriteMode,
    /// Crash draws, a stream of their own so that chaos does not change the payload's draws.
    rng: ChaCha8Rng,
    crashed_after_commit: bool,
    crashed_after_send: bool,
    /// Messages whose first send the history has: the relay's later sends of them are copies.
    /// The history's bookkeeping, not the producer's memory (which a crash wipes).
    sent: BTreeSet<MessageIx>,
}

/// What one step of a write came to.
enum Step {
    Done,
    /// The producer crashed or the write failed: the message's write ends here.
    Stopped,
}

impl<B: Backend> RecordWriter<B> {
    pub(super) fn new(
        ctx: Rc<RunContext<B>>,
        index: usize,
        actor: ActorId,
        mode: WriteMode,
    ) -> Self {
        let name = &ctx.scenario().producers[index].name;
        let rng = rng::stream(ctx.seed(), &format!("producer-chaos:{name}"));
        RecordWriter {
            ctx,
            index,
            actor,
            mode,
            rng,
            crashed_after_commit: false,
            crashed_after_send: false,
            sent: BTreeSet::new(),
        }
    }

    /// Writes message `ix` and its record as the mode says. `Err`: a fatal backend error.
    pub(super) async fn write(
        &mut self,
        message: &OutgoingMessage,
        ix: MessageIx,
    ) -> Result<(), BackendError> {
        match self.mode {
            WriteMode::SendOnly => {
                self.send_first(message, ix).await?;
            }
            WriteMode::Outbox(chaos) => self.outbox(chaos, message, ix).await?,
            WriteMode::DualWrite(DualWriteOrder::CommitThenSend, chaos) => {
                if let Step::Done = self.put_record(ix).await? {
                    if self.crashes(chaos.crash_after_commit, CrashPoint::AfterCommit, ix) {
                        return Ok(());
                    }
                    self.send_first(message, ix).await?;
                }
            }
            WriteMode::DualWrite(DualWriteOrder::SendThenCommit, chaos) => {
                if let Step::Done = self.send_first(message, ix).await? {
                    if self.crashes(chaos.crash_after_send, CrashPoint::AfterSend, ix) {
                        return Ok(());
                    }
                    self.put_record(ix).await?;
                }
            }
        }
        Ok(())
    }

    async fn outbox(
        &mut self,
        chaos: ProducerChaos,
        message: &OutgoingMessage,
        ix: MessageIx,
    ) -> Result<(), BackendError> {
        let id = self.ctx.log().borrow().meta(ix).id.clone();
        let record = Item {
            message: Some(id.clone()),
            ..Item::default()
        };
        let row = Item {
            message: Some(id.clone()),
            body: Some(message.body.clone()),
            ..Item::default()
        };
        let items = [(record_item_key(&id), record), (outbox_item_key(&id), row)];
        match self.ctx.backend().transact_put(Table::Status, &items).await {
            Ok(()) => self.ctx.record(self.actor, Some(ix), EventKind::Committed),
            Err(error) if error.kind.is_transient() => {
                self.ctx
                    .record(self.actor, Some(ix), EventKind::CommitFailed);
                return Ok(());
            }
            Err(error) => return Err(error),
        }
        if self.crashes(chaos.crash_after_commit, CrashPoint::AfterCommit, ix) {
            return self.recover().await;
        }
        if let Step::Stopped = self.send_first(message, ix).await? {
            // The row stays: the relay sends it on its next recovery.
            return Ok(());
        }
        if self.crashes(chaos.crash_after_send, CrashPoint::AfterSend, ix) {
            return self.recover().await;
        }
        self.delete_row(&id, ix).await
    }

    /// The relay after a restart: sends every outbox row left in the table, then deletes it.
    async fn recover(&mut self) -> Result<(), BackendError> {
        let rows = self.ctx.backend().scan(Table::Status).await?;
        for (key, row) in rows {
            let (Some(id), Some(body)) = (message_of_outbox_key(&key), row.body) else {
                continue;
            };
            let Some(ix) = self.ctx.log().borrow().lookup(id) else {
                continue;
            };
            // Only this producer's rows: another producer's relay owns its own.
            if self.ctx.log().borrow().meta(ix).producer() != self.index {
                continue;
            }
            let message = self.relayed(body);
            let sent = if self.sent.contains(&ix) {
                self.send(&message, ix, EventKind::Resent).await?
            } else {
                self.send_first(&message, ix).await?
            };
            if let Step::Done = sent {
                let id: Arc<str> = Arc::from(id);
                self.delete_row(&id, ix).await?;
            }
        }
        Ok(())
    }

    /// The message the relay sends for an outbox row: the body the row holds, as the producer
    /// would have sent it (outbox producers are standard-queue only: no group, no dedup id).
    fn relayed(&self, body: Arc<str>) -> OutgoingMessage {
        OutgoingMessage {
            entry_id: "m1".to_owned(),
            body,
            group_id: None,
            dedup_id: None,
            delay: self.ctx.scenario().producers[self.index].delay,
        }
    }

    async fn delete_row(&mut self, id: &str, ix: MessageIx) -> Result<(), BackendError> {
        match self
            .ctx
            .backend()
            .delete_item(Table::Status, &outbox_item_key(id))
            .await
        {
            Ok(()) => self
                .ctx
                .record(self.actor, Some(ix), EventKind::OutboxDeleted),
            // The row stays, and so does the chance that its message is sent again.
            Err(error) if error.kind.is_transient() => {}
            Err(error) => return Err(error),
        }
        Ok(())
    }

    /// The naive dual write's record: PutItem (retried as the producer's `retries` say).
    async fn put_record(&mut self, ix: MessageIx) -> Result<Step, BackendError> {
        let id = self.ctx.log().borrow().meta(ix).id.clone();
        let record = Item {
            message: Some(id.clone()),
            ..Item::default()
        };
        let key = record_item_key(&id);
        let policy = self.ctx.scenario().producers[self.index].retries;
        let messages = [Some(ix)];
        let call = (ApiOperation::PutItem, messages.as_slice());
        let ctx = &self.ctx;
        let outcome = retrying(ctx, self.actor, policy, call, || {
            ctx.backend().put_if_absent(Table::Status, &key, &record)
        })
        .await;
        match outcome {
            // The record exists either way: a message's record is only ever this one item.
            Ok(PutOutcome::Created | PutOutcome::Exists(_)) => {
                self.ctx.record(self.actor, Some(ix), EventKind::Committed);
                Ok(Step::Done)
            }
            Err(error) if error.kind.is_transient() => {
                self.ctx
                    .record(self.actor, Some(ix), EventKind::CommitFailed);
                Ok(Step::Stopped)
            }
            Err(error) => Err(error),
        }
    }

    /// The first send of message `ix`, recorded as `sent` / `send-failed`.
    async fn send_first(
        &mut self,
        message: &OutgoingMessage,
        ix: MessageIx,
    ) -> Result<Step, BackendError> {
        self.sent.insert(ix);
        self.send(message, ix, EventKind::Sent).await
    }

    /// Sends `message` as one batch of one; a success is recorded as `kind`.
    async fn send(
        &mut self,
        message: &OutgoingMessage,
        ix: MessageIx,
        kind: EventKind,
    ) -> Result<Step, BackendError> {
        let taken = send(
            &self.ctx,
            self.index,
            self.actor,
            std::slice::from_ref(message),
            &[ix],
            kind,
        )
        .await?;
        Ok(if taken == 1 {
            Step::Done
        } else {
            Step::Stopped
        })
    }

    /// Whether the producer crashes at `point` (recorded with the message in flight).
    fn crashes(&mut self, policy: CrashPolicy, point: CrashPoint, ix: MessageIx) -> bool {
        let once_used = match point {
            CrashPoint::AfterCommit => &mut self.crashed_after_commit,
            _ => &mut self.crashed_after_send,
        };
        let crash = match policy {
            CrashPolicy::Never => false,
            CrashPolicy::Always => true,
            CrashPolicy::Once => !std::mem::replace(once_used, true),
            CrashPolicy::Probability(p) => self.rng.random_bool(p),
        };
        if crash {
            self.ctx
                .record(self.actor, Some(ix), EventKind::Crashed(point));
        }
        crash
    }
}
