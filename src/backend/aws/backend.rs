//! [`AwsBackend`]: connection, the run's resource registry, and the [`Backend`] impl, which
//! delegates to the SQS ([`super::queues`]), DynamoDB ([`super::tables`]), drain
//! ([`super::drain`]) and pre-provisioned resources ([`super::provisioned`]) halves.
//!
//! Invariants: a resource is registered as soon as its create call succeeds (or, when
//! pre-provisioned, as soon as it is found), before anything else can fail, so
//! [`AwsBackend::teardown`] finds everything the run used; pre-provisioned resources are never
//! deleted.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;

use super::api_calls::ApiCalls;
use super::cleanup::ResourceKind;
use super::item_keys::ItemKeys;
use super::naming::{RunNames, new_run_id};
use super::options::{AwsOptions, has_custom_endpoint, require_region};
use super::receipts::OutstandingReceipts;
use super::{EndpointHistory, ProvisionedQueues};
use crate::backend::{
    Backend, BackendError, BackendErrorKind, Capabilities, Capability, Item, MoveTask,
    OutgoingMessage, PutOutcome, QueueDepth, QueueId, QueueRole, QueueSpec, Reachable, Receipt,
    ReceiveRequest, ReceivedMessage, SendOutcome, Table, Update, UpdateOutcome,
};

/// The backend for real SQS + DynamoDB or an AWS-compatible endpoint, for one run.
pub struct AwsBackend {
    pub(super) sqs: aws_sdk_sqs::Client,
    pub(super) dynamodb: aws_sdk_dynamodb::Client,
    pub(super) names: RunNames,
    keep: bool,
    pub(super) custom_endpoint: bool,
    /// See [`AwsOptions::max_send_rate`].
    max_send_rate: Option<u32>,
    /// `--resources`: the queues and tables to use instead of creating any.
    pub(super) provisioned: Option<ProvisionedQueues>,
    /// See [`AwsOptions::attach`].
    pub(super) attach: bool,
    /// Where the SDK sends requests (`None`: AWS itself), its region and named profile: what
    /// a child process needs to reach the same resources.
    endpoint_url: Option<String>,
    region: String,
    profile: Option<String>,
    pub(super) keys: ItemKeys,
    /// When the purges of this run's pre-provisioned queues settle: nothing is sent or received
    /// before then (see [`super::purge_windows`]).
    pub(super) settles_at: Cell<Option<tokio::time::Instant>>,
    pub(super) queues: RefCell<Vec<QueueState>>,
    pub(super) tables: RefCell<Vec<CreatedTable>>,
    pub(super) calls: ApiCalls,
    /// The history of the simulator served for this run (see [`Self::with_endpoint_history`]).
    endpoint_history: Option<EndpointHistory>,
}

/// A queue this run created or, when pre-provisioned, uses.
#[derive(Debug)]
pub(super) struct QueueState {
    pub(super) role: QueueRole,
    pub(super) queue: QueueRef,
    /// Pre-provisioned: emptied at teardown, never deleted.
    pub(super) provisioned: bool,
    pub(super) deleted: bool,
    /// Pre-provisioned and emptied for the next run.
    pub(super) emptied: bool,
    pub(super) receipts: OutstandingReceipts,
    /// After a complete `remaining()`: the receipts of the messages it holds (received, not
    /// deleted), which are then all the queue stores.
    pub(super) drained: Option<Vec<std::sync::Arc<str>>>,
}

/// What an SQS call needs to know about its queue, cloned out of [`QueueState`] so no borrow
/// spans an await.
#[derive(Clone, Debug)]
pub(super) struct QueueRef {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) arn: String,
    pub(super) fifo: bool,
    /// The RedrivePolicy JSON the queue was created with (or, pre-provisioned, found with).
    pub(super) redrive_policy: Option<String>,
}

#[derive(Debug)]
pub(super) struct CreatedTable {
    pub(super) name: String,
    pub(super) deleted: bool,
}

/// Leaves the SDK clients out: their configuration holds the credentials provider.
impl std::fmt::Debug for AwsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsBackend")
            .field("prefix", &self.names.prefix())
            .field("keep", &self.keep)
            .field("custom_endpoint", &self.custom_endpoint)
            .field("provisioned", &self.provisioned)
            .field("queues", &self.queues)
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl AwsBackend {
    /// Connects with the default credential chain and `options`' overrides; creates nothing yet.
    pub async fn connect(options: &AwsOptions, scenario_name: &str) -> Result<Self, BackendError> {
        let config = options.load().await?;
        Self::from_sdk_config(&config, options, scenario_name)
    }

    /// As [`AwsBackend::connect`], from an already loaded SDK configuration (for callers that
    /// add to [`AwsOptions::config_loader`], e.g. with static credentials). Only `options.keep`
    /// and `options.provisioned` are read here: the rest is already part of `config`.
    pub fn from_sdk_config(
        config: &SdkConfig,
        options: &AwsOptions,
        scenario_name: &str,
    ) -> Result<Self, BackendError> {
        require_region(config)?;
        let names = RunNames::new(scenario_name, new_run_id());
        let keys = match &options.provisioned {
            Some(_) if !options.attach => ItemKeys::shared_tables(names.run_id()),
            _ => ItemKeys::own_tables(),
        };
        let calls = ApiCalls::default();
        let sqs = aws_sdk_sqs::config::Builder::from(config)
            .interceptor(calls.attempt_counter())
            .build();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(config)
            .interceptor(calls.attempt_counter())
            .build();
        Ok(AwsBackend {
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            names,
            keep: options.keep,
            custom_endpoint: has_custom_endpoint(config),
            provisioned: options.provisioned.clone(),
            attach: options.attach && options.provisioned.is_some(),
            endpoint_url: config.endpoint_url().map(str::to_owned),
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
            profile: options.profile.clone(),
            max_send_rate: options.max_send_rate,
            keys,
            settles_at: Cell::new(None),
            queues: RefCell::new(Vec::new()),
            tables: RefCell::new(Vec::new()),
            calls,
            endpoint_history: None,
        })
    }

    /// The endpoint is the simulator served for this run, whose history `history` reads: the
    /// calls of the run's `command` consumers are taken from it (see
    /// [`Backend::foreign_events`]).
    pub fn with_endpoint_history(mut self, history: EndpointHistory) -> Self {
        self.endpoint_history = Some(history);
        self
    }

    /// The 8-hex-digit id of this run, also the value of its `qsim:run` tag.
    pub fn run_id(&self) -> &str {
        self.names.run_id()
    }

    /// `qsim-{scenario}-{runid}`: the prefix of every resource this run creates (none when its
    /// resources are pre-provisioned).
    pub fn prefix(&self) -> &str {
        self.names.prefix()
    }

    /// The name of a queue this run created or uses.
    pub fn queue_name(&self, queue: QueueId) -> Option<String> {
        self.queues
            .borrow()
            .get(queue.0)
            .map(|state| state.queue.name.clone())
    }

    /// The URL of a queue this run created or uses.
    pub fn queue_url(&self, queue: QueueId) -> Option<String> {
        self.queues
            .borrow()
            .get(queue.0)
            .map(|state| state.queue.url.clone())
    }

    /// The name this run uses for `table`: its own, or the pre-provisioned one.
    pub fn table_name(&self, table: Table) -> String {
        match (&self.provisioned, table) {
            (None, _) => self.names.table(table),
            (Some(provisioned), Table::Status) => provisioned.status_table.clone(),
            (Some(provisioned), Table::SideEffects) => provisioned.side_effects_table.clone(),
        }
    }

    /// The key under which this run stores the item `key`: `{runid}#{key}` in pre-provisioned
    /// tables, which every run shares, else `key` itself.
    pub fn stored_key(&self, key: &str) -> String {
        self.keys.stored(key).into_owned()
    }

    /// Calls made so far, per API operation (SDK-internal retries not included: see
    /// [`AwsBackend::api_attempts`]).
    pub fn api_calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.snapshot()
    }

    /// HTTP requests sent so far, per API operation: every attempt, the SDK's retries included
    /// (what AWS bills). At least [`AwsBackend::api_calls`] for each operation.
    pub fn api_attempts(&self) -> BTreeMap<String, u64> {
        self.calls.attempts()
    }

    /// The queues and tables this run created and has not deleted (yet): after a teardown that
    /// failed, what is left behind for `qsim cleanup`. Empty with `keep` (kept on purpose) and
    /// for pre-provisioned resources (never deleted).
    pub fn undeleted(&self) -> Vec<(ResourceKind, String)> {
        if self.keep {
            return Vec::new();
        }
        let queues = self.queues.borrow();
        let tables = self.tables.borrow();
        let queues = queues
            .iter()
            .filter(|q| !q.deleted && !q.provisioned)
            .map(|q| (ResourceKind::Queue, q.queue.name.clone()));
        let tables = tables
            .iter()
            .filter(|t| !t.deleted)
            .map(|t| (ResourceKind::Table, t.name.clone()));
        queues.chain(tables).collect()
    }

    pub(super) fn queue_ref(&self, queue: QueueId) -> Result<QueueRef, BackendError> {
        let queues = self.queues.borrow();
        let state = queues.get(queue.0).ok_or_else(|| {
            BackendError::new(
                "Lookup",
                format!("queue #{}", queue.0),
                BackendErrorKind::NotFound,
            )
        })?;
        Ok(state.queue.clone())
    }

    /// Registers a queue this run created or uses (`provisioned`), as soon as it exists.
    pub(super) fn register_queue(
        &self,
        role: QueueRole,
        queue: QueueRef,
        provisioned: bool,
    ) -> QueueId {
        let mut queues = self.queues.borrow_mut();
        queues.push(QueueState {
            role,
            queue,
            provisioned,
            deleted: false,
            emptied: false,
            receipts: OutstandingReceipts::default(),
            drained: None,
        });
        QueueId(queues.len() - 1)
    }

    pub(super) fn with_receipts<T>(
        &self,
        queue: QueueId,
        f: impl FnOnce(&mut OutstandingReceipts) -> T,
    ) -> Option<T> {
        self.queues
            .borrow_mut()
            .get_mut(queue.0)
            .map(|state| f(&mut state.receipts))
    }

    async fn delete_queues(&self) -> Result<(), BackendError> {
        let mut first_error = None;
        let count = self.queues.borrow().len();
        for index in 0..count {
            let queue = {
                let queues = self.queues.borrow();
                let state = &queues[index];
                if state.deleted || state.provisioned {
                    continue;
                }
                state.queue.clone()
            };
            let outcome = self
                .call("DeleteQueue", &queue.name)
                .send(self.sqs.delete_queue().queue_url(&queue.url).send())
                .await
                .map(drop)
                .or_else(already_gone);
            match outcome {
                Ok(()) => self.queues.borrow_mut()[index].deleted = true,
                Err(error) if error.kind.is_unreachable() => return Err(error),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn delete_tables(&self) -> Result<(), BackendError> {
        let mut first_error = None;
        let count = self.tables.borrow().len();
        for index in 0..count {
            let name = {
                let tables = self.tables.borrow();
                if tables[index].deleted {
                    continue;
                }
                tables[index].name.clone()
            };
            let outcome = self
                .call("DeleteTable", &name)
                .send(self.dynamodb.delete_table().table_name(&name).send())
                .await
                .map(drop)
                .or_else(already_gone);
            match outcome {
                Ok(()) => self.tables.borrow_mut()[index].deleted = true,
                Err(error) if error.kind.is_unreachable() => return Err(error),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// A delete that found its resource already gone did what it was asked.
fn already_gone(error: BackendError) -> Result<(), BackendError> {
    match error.kind {
        BackendErrorKind::NotFound => Ok(()),
        _ => Err(error),
    }
}

/// Each operation is an inherent method of the same name, in the module of its half (`queues`,
/// `tables`, `drain`); a path such as `AwsBackend::send` resolves to the inherent method.
impl Backend for AwsBackend {
    fn name(&self) -> &'static str {
        "aws"
    }

    /// A custom endpoint is assumed to be an emulator with moto's gaps (docs/sqs-semantics.md §3);
    /// AWS itself has every behaviour except the simulator's injected faults and determinism.
    fn capabilities(&self) -> Capabilities {
        let mut capabilities = Capabilities::default();
        if !self.custom_endpoint {
            capabilities.0.extend([
                Capability::MessageMoveTask,
                Capability::AsyncPurge,
                Capability::FifoDedupWindow,
                Capability::FifoDedupScope,
                Capability::FifoRedeliveryOrder,
            ]);
        }
        if self.endpoint_history.is_some() {
            // The simulator served for the run, with the scenario's own envelope: everything
            // the simulator does, on the wall clock instead of a virtual one.
            capabilities = Capabilities::all();
            capabilities.0.remove(&Capability::Deterministic);
        }
        capabilities
    }

    fn max_send_rate(&self) -> Option<u32> {
        self.max_send_rate
    }

    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueId, BackendError> {
        AwsBackend::create_queue(self, spec).await
    }

    async fn create_tables(&self) -> Result<(), BackendError> {
        AwsBackend::create_tables(self).await
    }

    async fn send(
        &self,
        queue: QueueId,
        batch: &[OutgoingMessage],
    ) -> Result<Vec<Result<SendOutcome, BackendError>>, BackendError> {
        AwsBackend::send(self, queue, batch).await
    }

    async fn receive(
        &self,
        queue: QueueId,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        AwsBackend::receive(self, queue, request).await
    }

    async fn delete(
        &self,
        queue: QueueId,
        receipts: &[Receipt],
    ) -> Result<Vec<Result<(), BackendError>>, BackendError> {
        AwsBackend::delete(self, queue, receipts).await
    }

    async fn change_visibility(
        &self,
        queue: QueueId,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        AwsBackend::change_visibility(self, queue, receipt, timeout).await
    }

    async fn purge(&self, queue: QueueId) -> Result<(), BackendError> {
        AwsBackend::purge(self, queue).await
    }

    async fn depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        AwsBackend::depth(self, queue).await
    }

    async fn start_move_task(
        &self,
        source: QueueId,
        max_per_second: Option<u32>,
    ) -> Result<MoveTask, BackendError> {
        AwsBackend::start_move_task(self, source, max_per_second).await
    }

    async fn move_task_status(&self, source: QueueId) -> Result<Option<MoveTask>, BackendError> {
        AwsBackend::move_task_status(self, source).await
    }

    async fn remaining(&self, queue: QueueId) -> Result<Vec<ReceivedMessage>, BackendError> {
        AwsBackend::remaining(self, queue).await
    }

    async fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendError> {
        AwsBackend::put_if_absent(self, table, key, item).await
    }

    async fn update(
        &self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendError> {
        AwsBackend::update(self, table, key, update).await
    }

    async fn transact_put(
        &self,
        table: Table,
        items: &[(String, Item)],
    ) -> Result<(), BackendError> {
        AwsBackend::transact_put(self, table, items).await
    }

    async fn delete_item(&self, table: Table, key: &str) -> Result<(), BackendError> {
        AwsBackend::delete_item(self, table, key).await
    }

    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendError> {
        AwsBackend::get(self, table, key).await
    }

    async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendError> {
        AwsBackend::scan(self, table).await
    }

    /// Pre-provisioned tables key this run's items under a prefix no child knows of: a child
    /// process needs the run's own tables.
    fn reachable(&self, main: QueueId, dlq: Option<QueueId>) -> Option<Reachable> {
        if self.provisioned.is_some() && !self.attach {
            return None;
        }
        Some(Reachable {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            queue_url: self.queue_url(main)?,
            dlq_url: match dlq {
                Some(dlq) => Some(self.queue_url(dlq)?),
                None => None,
            },
            status_table: self.table_name(Table::Status),
            side_effects_table: self.table_name(Table::SideEffects),
            names_callers: self.endpoint_history.is_some(),
        })
    }

    fn foreign_events(&self, origin: std::time::Instant) -> Option<Vec<serde_json::Value>> {
        let history = self.endpoint_history.as_ref()?;
        let main = self
            .queues
            .borrow()
            .iter()
            .find(|state| state.role == QueueRole::Main)
            .map(|state| state.queue.name.clone())?;
        // A named caller's calls, its receives and deletes of the main queue, and the faults
        // that struck its calls (a table call's names no queue).
        let by_a_named_caller = |line: &serde_json::Value| {
            let of_main = || line["queue"].as_str() == Some(main.as_str());
            line["caller"].is_string()
                && match line["event"].as_str() {
                    Some("received" | "deleted") => of_main() && line["message"].is_string(),
                    Some("fault") => line["queue"].is_null() || of_main(),
                    Some("call") => true,
                    _ => false,
                }
        };
        Some(
            history(origin)
                .into_iter()
                .filter(by_a_named_caller)
                .collect(),
        )
    }

    /// Deletes this run's queues and tables (unless `keep`) and empties the pre-provisioned
    /// queues for the next run (unless `keep`, which leaves their messages for inspection; the
    /// next run purges them). Pre-provisioned queues and tables are never deleted, and their
    /// items stay (under this run's key prefix). Tries every resource even when one fails,
    /// returns the first failure, and may be called again: finished resources are skipped and
    /// already-missing ones count as deleted.
    async fn teardown(&self) -> Result<(), BackendError> {
        // Attached resources are another run's, which tears them down.
        if self.keep || self.attach {
            return Ok(());
        }
        let emptied = self.empty_provisioned_queues().await;
        if let Err(error) = &emptied
            && error.kind.is_unreachable()
        {
            // Each further call would wait out the same timeouts: stop, and let the caller
            // report what is left (see `undeleted`).
            return emptied;
        }
        let queues = self.delete_queues().await;
        if let Err(error) = &queues
            && error.kind.is_unreachable()
        {
            return queues;
        }
        let tables = self.delete_tables().await;
        emptied.and(queues).and(tables)
    }
}
