//! [`AwsBackend`]: connection, the run's resource registry, and the [`Backend`] impl, which
//! delegates to the SQS ([`super::queues`]), DynamoDB ([`super::tables`]) and drain
//! ([`super::drain`]) halves.
//!
//! Invariant: a resource is registered as soon as its create call succeeds, before anything
//! else can fail, so [`AwsBackend::teardown`] finds everything the run made.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;

use super::api_calls::ApiCalls;
use super::errors::sdk_error;
use super::naming::{RunNames, new_run_id};
use super::options::{AwsOptions, has_custom_endpoint, require_region};
use super::receipts::OutstandingReceipts;
use crate::backend::{
    Backend, BackendError, BackendErrorKind, Capabilities, Capability, Item, MoveTask,
    OutgoingMessage, PutOutcome, QueueDepth, QueueId, QueueRole, QueueSpec, Receipt,
    ReceiveRequest, ReceivedMessage, SendOutcome, Table, Update, UpdateOutcome,
};

/// The backend for real SQS + DynamoDB or an AWS-compatible endpoint, for one run.
pub struct AwsBackend {
    pub(super) sqs: aws_sdk_sqs::Client,
    pub(super) dynamodb: aws_sdk_dynamodb::Client,
    pub(super) names: RunNames,
    keep: bool,
    pub(super) custom_endpoint: bool,
    pub(super) queues: RefCell<Vec<QueueState>>,
    pub(super) tables: RefCell<Vec<CreatedTable>>,
    pub(super) calls: ApiCalls,
}

/// A queue this run created.
#[derive(Debug)]
pub(super) struct QueueState {
    pub(super) role: QueueRole,
    pub(super) name: String,
    pub(super) url: String,
    pub(super) arn: String,
    pub(super) fifo: bool,
    /// The RedrivePolicy JSON the queue was created with.
    pub(super) redrive_policy: Option<String>,
    pub(super) deleted: bool,
    pub(super) receipts: OutstandingReceipts,
}

/// What an SQS call needs to know about its queue, copied out so no borrow spans an await.
#[derive(Clone, Debug)]
pub(super) struct QueueRef {
    pub(super) name: String,
    pub(super) url: String,
    pub(super) arn: String,
    pub(super) fifo: bool,
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
    /// is read here: the rest is already part of `config`.
    pub fn from_sdk_config(
        config: &SdkConfig,
        options: &AwsOptions,
        scenario_name: &str,
    ) -> Result<Self, BackendError> {
        require_region(config)?;
        Ok(AwsBackend {
            sqs: aws_sdk_sqs::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            names: RunNames::new(scenario_name, new_run_id()),
            keep: options.keep,
            custom_endpoint: has_custom_endpoint(config),
            queues: RefCell::new(Vec::new()),
            tables: RefCell::new(Vec::new()),
            calls: ApiCalls::default(),
        })
    }

    /// The 8-hex-digit id of this run, also the value of its `qsim:run` tag.
    pub fn run_id(&self) -> &str {
        self.names.run_id()
    }

    /// `qsim-{scenario}-{runid}`: the prefix of every resource of this run.
    pub fn prefix(&self) -> &str {
        self.names.prefix()
    }

    /// The name of a queue this run created.
    pub fn queue_name(&self, queue: QueueId) -> Option<String> {
        self.queues
            .borrow()
            .get(queue.0)
            .map(|state| state.name.clone())
    }

    /// The URL of a queue this run created.
    pub fn queue_url(&self, queue: QueueId) -> Option<String> {
        self.queues
            .borrow()
            .get(queue.0)
            .map(|state| state.url.clone())
    }

    /// The name this run uses for `table`.
    pub fn table_name(&self, table: Table) -> String {
        self.names.table(table)
    }

    /// Requests made so far, per API operation (SDK-internal retries not included).
    pub fn api_calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.snapshot()
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
        Ok(QueueRef {
            name: state.name.clone(),
            url: state.url.clone(),
            arn: state.arn.clone(),
            fifo: state.fifo,
            redrive_policy: state.redrive_policy.clone(),
        })
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
            let (name, url) = {
                let queues = self.queues.borrow();
                let state = &queues[index];
                if state.deleted {
                    continue;
                }
                (state.name.clone(), state.url.clone())
            };
            self.calls.record("DeleteQueue");
            let result = self.sqs.delete_queue().queue_url(&url).send().await;
            let outcome = match result {
                Ok(_) => Ok(()),
                Err(error) => match sdk_error("DeleteQueue", &name, error) {
                    gone if gone.kind == BackendErrorKind::NotFound => Ok(()),
                    other => Err(other),
                },
            };
            match outcome {
                Ok(()) => self.queues.borrow_mut()[index].deleted = true,
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
            self.calls.record("DeleteTable");
            let result = self.dynamodb.delete_table().table_name(&name).send().await;
            let outcome = match result {
                Ok(_) => Ok(()),
                Err(error) => match sdk_error("DeleteTable", &name, error) {
                    gone if gone.kind == BackendErrorKind::NotFound => Ok(()),
                    other => Err(other),
                },
            };
            match outcome {
                Ok(()) => self.tables.borrow_mut()[index].deleted = true,
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Backend for AwsBackend {
    fn name(&self) -> &'static str {
        "aws"
    }

    /// A custom endpoint is assumed to be an emulator with moto's gaps (sqs-semantics.md §3);
    /// AWS itself has every behaviour except the simulator's injected faults and determinism.
    fn capabilities(&self) -> Capabilities {
        if self.custom_endpoint {
            return Capabilities::default();
        }
        Capabilities(
            [
                Capability::MessageMoveTask,
                Capability::AsyncPurge,
                Capability::FifoDedupWindow,
                Capability::FifoRedeliveryOrder,
            ]
            .into_iter()
            .collect(),
        )
    }

    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueId, BackendError> {
        self.create_queue_for(spec).await
    }

    async fn create_tables(&self) -> Result<(), BackendError> {
        self.create_run_tables().await
    }

    async fn send(
        &self,
        queue: QueueId,
        batch: &[OutgoingMessage],
    ) -> Result<Vec<Result<SendOutcome, BackendError>>, BackendError> {
        self.send_batch(queue, batch).await
    }

    async fn receive(
        &self,
        queue: QueueId,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        self.receive_messages(queue, request).await
    }

    async fn delete(
        &self,
        queue: QueueId,
        receipts: &[Receipt],
    ) -> Result<Vec<Result<(), BackendError>>, BackendError> {
        self.delete_batch(queue, receipts).await
    }

    async fn change_visibility(
        &self,
        queue: QueueId,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        self.change_message_visibility(queue, receipt, timeout)
            .await
    }

    async fn purge(&self, queue: QueueId) -> Result<(), BackendError> {
        self.purge_queue(queue).await
    }

    async fn depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        self.queue_depth(queue).await
    }

    async fn start_move_task(
        &self,
        source: QueueId,
        max_per_second: Option<u32>,
    ) -> Result<MoveTask, BackendError> {
        self.start_message_move_task(source, max_per_second).await
    }

    async fn move_task_status(&self, source: QueueId) -> Result<Option<MoveTask>, BackendError> {
        self.list_message_move_tasks(source).await
    }

    async fn remaining(&self, queue: QueueId) -> Result<Vec<ReceivedMessage>, BackendError> {
        self.drain(queue).await
    }

    async fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendError> {
        self.put_item_if_absent(table, key, item).await
    }

    async fn update(
        &self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendError> {
        self.update_item(table, key, update).await
    }

    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendError> {
        self.get_item(table, key).await
    }

    async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendError> {
        self.scan_table(table).await
    }

    /// Deletes this run's queues and tables (unless `keep`). Tries every resource even when one
    /// fails, returns the first failure, and may be called again: deleted resources are skipped
    /// and already-missing ones count as deleted.
    async fn teardown(&self) -> Result<(), BackendError> {
        if self.keep {
            return Ok(());
        }
        let queues = self.delete_queues().await;
        let tables = self.delete_tables().await;
        queues.and(tables)
    }
}
