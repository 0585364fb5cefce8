//! The backend boundary: the subset of the SQS and DynamoDB APIs that qsim's producer and consumer
//! use, as one trait that the embedded simulator ([`sim`]) and the AWS SDK backend ([`aws`])
//! implement.
//!
//! Invariants every implementation keeps:
//! - operations mirror their SQS / DynamoDB namesakes, including their limits (batches of at most
//!   10, 0 to 20 s of long polling) and their per-entry results;
//! - all time is read from `tokio::time`, so the simulator runs on tokio's paused (virtual) clock
//!   and the AWS backend on the wall clock, with the same engine code;
//! - nothing here prints: errors are returned as [`BackendError`] with their cause chain.

mod api_calls;
pub mod aws;
mod error;
pub mod faults;
pub(crate) mod sim;
mod sorted_keys;
mod table;
mod types;

/// A queue's attributes and role are SQS's, shared with the scenario; re-exported as part of
/// this boundary.
pub use crate::sqs::{QueueAttributes, QueueRole};
pub(crate) use api_calls::ApiCalls;
pub(crate) use error::BackendError;
pub use error::{BackendErrorKind, error_chain};
pub use sorted_keys::SortedKeys;
pub use table::{
    Condition, FinalItem, FinalItems, Item, PutOutcome, Status, Table, Update, UpdateOutcome,
};
pub(crate) use table::{
    MAX_ITEM_BYTES, entity_item_key, entity_of_item_key, message_of_outbox_key,
    message_of_payload_key, message_of_record_key, outbox_item_key, payload_item_key,
    record_item_key,
};
pub use types::{
    CALLER_KEY_PREFIX, Capabilities, Capability, OutgoingMessage, QueueId, QueueSpec, Reachable,
    Receipt, ReceiveRequest, ReceivedMessage, Redrive, SqsMessageId,
};
pub(crate) use types::{
    MoveTask, MoveTaskState, QueueDepth, QueueTransition, SendOutcome, TransitionKind,
};

use std::time::Duration;

/// One queue-and-table service: what the engine provisions, drives and inspects.
///
/// Methods are `async fn` without a `Send` bound: the engine runs every actor on one
/// single-threaded runtime, which is what makes simulator runs deterministic.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// A short name for reports: `sim` or `aws`.
    fn name(&self) -> &'static str;

    /// What this backend can show faithfully; scenarios needing more are reported as skipped.
    fn capabilities(&self) -> Capabilities;

    /// The most messages per second it is declared to take (`None`: no declared bound).
    fn max_send_rate(&self) -> Option<u32> {
        None
    }

    /// Creates (or, for pre-provisioned resources, looks up) the queue for `spec`.
    /// A DLQ is created before the queue that redrives to it.
    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueId, BackendError>;

    /// Creates the status and side-effects tables, empty.
    async fn create_tables(&self) -> Result<(), BackendError>;

    /// SendMessageBatch (a batch of one is SendMessage). One outcome per entry, in order.
    async fn send(
        &self,
        queue: QueueId,
        batch: &[OutgoingMessage],
    ) -> Result<Vec<Result<SendOutcome, BackendError>>, BackendError>;

    /// ReceiveMessage: up to `max` messages, long-polling up to `wait` when none is visible.
    async fn receive(
        &self,
        queue: QueueId,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError>;

    /// DeleteMessageBatch. One result per receipt, in order.
    async fn delete(
        &self,
        queue: QueueId,
        receipts: &[Receipt],
    ) -> Result<Vec<Result<(), BackendError>>, BackendError>;

    /// ChangeMessageVisibility: the message becomes visible `timeout` from now.
    async fn change_visibility(
        &self,
        queue: QueueId,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendError>;

    /// PurgeQueue.
    async fn purge(&self, queue: QueueId) -> Result<(), BackendError>;

    /// ApproximateNumberOfMessages{,NotVisible,Delayed}, as a client of the queue reads them
    /// (on the simulator: lagging, as its envelope says).
    async fn depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError>;

    /// The depth as exactly as the backend can know it, for qsim's own decisions (whether a run
    /// can still change, progress) rather than the scenario's: the simulator's true state; other
    /// backends have nothing better than [`Backend::depth`].
    async fn settled_depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        self.depth(queue).await
    }

    /// StartMessageMoveTask from `source` (a DLQ) back to the queues its messages came from.
    async fn start_move_task(
        &self,
        source: QueueId,
        max_per_second: Option<u32>,
    ) -> Result<MoveTask, BackendError>;

    /// ListMessageMoveTasks, the most recent task for `source`.
    async fn move_task_status(&self, source: QueueId) -> Result<Option<MoveTask>, BackendError>;

    /// Every message still stored in `queue` after the run, visible or not, in no particular
    /// order. Used once, after all actors stopped, to decide each message's fate.
    async fn remaining(&self, queue: QueueId) -> Result<Vec<ReceivedMessage>, BackendError>;

    /// PutItem with `attribute_not_exists(pk)`; returns the existing item when the condition fails.
    async fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendError>;

    /// UpdateItem (creating the item when missing, as DynamoDB does) under `update.condition`.
    async fn update(
        &self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendError>;

    /// TransactWriteItems of unconditional Puts into `table`: every item written, or none.
    async fn transact_put(
        &self,
        table: Table,
        items: &[(String, Item)],
    ) -> Result<(), BackendError>;

    /// DeleteItem; deleting a missing item succeeds, as on DynamoDB.
    async fn delete_item(&self, table: Table, key: &str) -> Result<(), BackendError>;

    /// GetItem with ConsistentRead.
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendError>;

    /// Scan of the whole table, sorted by key so reports are stable.
    async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendError>;

    /// The whole table as the checks read it after the run: a [`Backend::scan`] kept compact.
    ///
    /// A run calls it last, right before its teardown deletes the tables, so a backend may let
    /// go of the table as it reads it (the simulator does: it would otherwise hold a million
    /// items twice at the end of a run).
    async fn take_final_items(&self, table: Table) -> Result<FinalItems, BackendError> {
        let scanned = self.scan(table).await?;
        let items = scanned
            .iter()
            .map(|(key, item)| (key.as_str(), FinalItem::of(item)))
            .collect();
        Ok(FinalItems::from_unsorted(items))
    }

    /// Whether [`Backend::take_transitions`] reports every transition the queues make by
    /// themselves (visibility expiry, redrive, purge, deduplication, retention).
    fn observes_transitions(&self) -> bool {
        false
    }

    /// Hands over the queue transitions observed since the last call, oldest first per queue.
    /// Backends that cannot observe them report none.
    fn take_transitions(&self, sink: &mut dyn FnMut(QueueTransition)) {
        let _ = sink;
    }

    /// Hands over the API faults injected since the last call, oldest first (only the
    /// [`faults::FaultLayer`] injects any).
    fn take_injections(&self, sink: &mut dyn FnMut(faults::Injection)) {
        let _ = sink;
    }

    /// How a child process reaches this run's queues and tables (`process` and `command`
    /// consumers), or `None` when it cannot: the simulator lives inside this process.
    fn reachable(&self, main: QueueId, dlq: Option<QueueId>) -> Option<Reachable> {
        let _ = (main, dlq);
        None
    }

    /// The calls of processes outside qsim (`command` consumers; `call` lines, with the
    /// requests each bills), their receives and deletes of the run's main queue, and the
    /// `[[faults]]` that struck their calls, as the endpoint itself recorded them (the history
    /// of the simulator served for the run) and named their callers: history lines (`--events` format) whose actor is
    /// the instance and whose `t_ms` counts from `origin`, the run's start. Such a consumer's
    /// receives and deletes then count as if qsim had seen them. `None`: the endpoint records
    /// nothing (AWS, moto_server), and such a consumer is judged by its effects on the queues
    /// and tables.
    fn foreign_events(&self, origin: std::time::Instant) -> Option<Vec<serde_json::Value>> {
        let _ = origin;
        None
    }

    /// Removes what this run created (a no-op for the simulator). Pre-provisioned resources are
    /// never deleted: their queues are only emptied for the next run.
    async fn teardown(&self) -> Result<(), BackendError>;
}
