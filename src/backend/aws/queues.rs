//! The SQS half of [`AwsBackend`]: queue creation and the message operations, one SDK call
//! each, with per-entry results of batch calls checked even when the call succeeded.
//!
//! With pre-provisioned queues, creation is a lookup ([`super::provisioned`]), and sends and
//! receives first wait for the purges that emptied those queues to settle.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

use super::backend::{AwsBackend, QueueState};
use super::errors::{entry_error, is_unimplemented, sdk_error};
use super::naming::{MANAGED_TAG, RUN_TAG};
use super::options::long_poll_timeouts;
use super::purge_windows::PURGE_WINDOWS;
use super::sqs_attributes::{redrive_policy, sqs_attributes};
use crate::backend::{
    BackendError, BackendErrorKind, MoveTask, MoveTaskState, OutgoingMessage, QueueDepth, QueueId,
    QueueSpec, Receipt, ReceiveRequest, ReceivedMessage, SendOutcome,
};
use crate::sqs_facts::whole_seconds;

impl AwsBackend {
    pub(super) async fn create_queue_for(&self, spec: &QueueSpec) -> Result<QueueId, BackendError> {
        if let Some(provisioned) = &self.provisioned {
            return self.adopt_queue(spec, provisioned).await;
        }
        let ordinal = self
            .queues
            .borrow()
            .iter()
            .filter(|queue| queue.role == spec.role)
            .count();
        let name = self.names.queue(spec.role, spec.attributes.fifo, ordinal);
        let redrive_policy = match spec.redrive {
            None => None,
            Some(redrive) => {
                let dlq = self.queue_ref(redrive.dlq)?;
                if dlq.fifo != spec.attributes.fifo {
                    return Err(BackendError::new(
                        "CreateQueue",
                        name,
                        BackendErrorKind::InvalidParameter(format!(
                            "the dead-letter queue {} must be of the same type (FIFO or standard)",
                            dlq.name
                        )),
                    ));
                }
                Some(redrive_policy(&dlq.arn, redrive.max_receive_count))
            }
        };

        let mut request = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .tags(MANAGED_TAG, "true")
            .tags(RUN_TAG, self.names.run_id());
        for (attribute, value) in sqs_attributes(&spec.attributes) {
            request = request.attributes(attribute, value);
        }
        if let Some(policy) = &redrive_policy {
            request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
        }
        self.calls.record("CreateQueue");
        let created = request
            .send()
            .await
            .map_err(|error| sdk_error("CreateQueue", &name, error))?;
        let url = created.queue_url().unwrap_or_default().to_owned();
        let id = {
            let mut queues = self.queues.borrow_mut();
            queues.push(QueueState {
                role: spec.role,
                name: name.clone(),
                url: url.clone(),
                arn: String::new(),
                fifo: spec.attributes.fifo,
                redrive_policy,
                provisioned: false,
                deleted: false,
                emptied: false,
                receipts: Default::default(),
                drained: None,
            });
            QueueId(queues.len() - 1)
        };

        self.calls.record("GetQueueAttributes");
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|error| sdk_error("GetQueueAttributes", &name, error))?;
        let arn = attributes
            .attributes()
            .and_then(|map| map.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| {
                BackendError::new(
                    "GetQueueAttributes",
                    &name,
                    BackendErrorKind::Service("the response has no QueueArn".into()),
                )
            })?;
        self.queues.borrow_mut()[id.0].arn = arn;
        Ok(id)
    }

    pub(super) async fn send_batch(
        &self,
        queue: QueueId,
        batch: &[OutgoingMessage],
    ) -> Result<Vec<Result<SendOutcome, BackendError>>, BackendError> {
        let queue = self.queue_ref(queue)?;
        self.settle_purges().await;
        let entries = batch
            .iter()
            .map(|message| {
                SendMessageBatchRequestEntry::builder()
                    .id(&message.entry_id)
                    .message_body(message.body.as_ref())
                    .set_message_group_id(message.group_id.as_deref().map(str::to_owned))
                    .set_message_deduplication_id(message.dedup_id.as_deref().map(str::to_owned))
                    .set_delay_seconds(message.delay.map(seconds))
                    .build()
                    .map_err(|error| {
                        BackendError::new(
                            "SendMessageBatch",
                            &queue.name,
                            BackendErrorKind::InvalidParameter(error.to_string()),
                        )
                        .with_source(error)
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.calls.record("SendMessageBatch");
        let output = self
            .sqs
            .send_message_batch()
            .queue_url(&queue.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|error| sdk_error("SendMessageBatch", &queue.name, error))?;
        let sent: HashMap<&str, &str> = output
            .successful()
            .iter()
            .map(|entry| (entry.id(), entry.message_id()))
            .collect();
        let failed: HashMap<&str, _> = output
            .failed()
            .iter()
            .map(|entry| (entry.id(), entry))
            .collect();
        Ok(batch
            .iter()
            .map(|message| {
                let id = message.entry_id.as_str();
                if let Some(message_id) = sent.get(id) {
                    Ok(SendOutcome {
                        message_id: Arc::from(*message_id),
                    })
                } else if let Some(entry) = failed.get(id) {
                    Err(entry_error(
                        "SendMessageBatch",
                        &queue.name,
                        entry.code(),
                        entry.message(),
                    ))
                } else {
                    Err(missing_entry("SendMessageBatch", &queue.name, id))
                }
            })
            .collect())
    }

    pub(super) async fn receive_messages(
        &self,
        queue_id: QueueId,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        let queue = self.queue_ref(queue_id)?;
        self.settle_purges().await;
        let messages = self.receive_raw(&queue.url, &queue.name, request).await?;
        self.with_receipts(queue_id, |receipts| {
            for message in &messages {
                if let Receipt::Handle(handle) = &message.receipt {
                    receipts.received(message.message_id.clone(), handle.clone());
                }
            }
        });
        Ok(messages)
    }

    /// ReceiveMessage without receipt tracking (the drain's receives are not handed out).
    pub(super) async fn receive_raw(
        &self,
        url: &str,
        name: &str,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        self.calls.record("ReceiveMessage");
        let output = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(request.max).unwrap_or(i32::MAX))
            .wait_time_seconds(seconds(request.wait))
            .set_visibility_timeout(request.visibility.map(seconds))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .customize()
            .config_override(long_poll_timeouts(request.wait))
            .send()
            .await
            .map_err(|error| sdk_error("ReceiveMessage", name, error))?;
        output
            .messages()
            .iter()
            .map(|message| {
                received_message(message).map_err(|what| {
                    BackendError::new("ReceiveMessage", name, BackendErrorKind::Service(what))
                })
            })
            .collect()
    }

    pub(super) async fn delete_batch(
        &self,
        queue_id: QueueId,
        receipts: &[Receipt],
    ) -> Result<Vec<Result<(), BackendError>>, BackendError> {
        let queue = self.queue_ref(queue_id)?;
        let mut entries = Vec::with_capacity(receipts.len());
        for (index, receipt) in receipts.iter().enumerate() {
            if let Receipt::Handle(handle) = receipt {
                let entry = DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{index}"))
                    .receipt_handle(handle.as_ref())
                    .build()
                    .map_err(|error| {
                        BackendError::new(
                            "DeleteMessageBatch",
                            &queue.name,
                            BackendErrorKind::InvalidParameter(error.to_string()),
                        )
                        .with_source(error)
                    })?;
                entries.push(entry);
            }
        }
        let (deleted, failed) = if entries.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            self.calls.record("DeleteMessageBatch");
            let output = self
                .sqs
                .delete_message_batch()
                .queue_url(&queue.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| sdk_error("DeleteMessageBatch", &queue.name, error))?;
            let deleted: Vec<String> = output
                .successful()
                .iter()
                .map(|entry| entry.id().to_owned())
                .collect();
            (deleted, output.failed().to_vec())
        };
        let results: Vec<Result<(), BackendError>> = receipts
            .iter()
            .enumerate()
            .map(|(index, receipt)| {
                let id = format!("d{index}");
                match receipt {
                    Receipt::Token { .. } => {
                        Err(foreign_receipt("DeleteMessageBatch", &queue.name))
                    }
                    Receipt::Handle(_) if deleted.contains(&id) => Ok(()),
                    Receipt::Handle(_) => match failed.iter().find(|entry| entry.id() == id) {
                        Some(entry) => Err(entry_error(
                            "DeleteMessageBatch",
                            &queue.name,
                            entry.code(),
                            entry.message(),
                        )),
                        None => Err(missing_entry("DeleteMessageBatch", &queue.name, &id)),
                    },
                }
            })
            .collect();
        self.with_receipts(queue_id, |outstanding| {
            for (receipt, result) in receipts.iter().zip(&results) {
                if let (Receipt::Handle(handle), Ok(())) = (receipt, result) {
                    outstanding.deleted(handle);
                }
            }
        });
        Ok(results)
    }

    pub(super) async fn change_message_visibility(
        &self,
        queue: QueueId,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        let queue = self.queue_ref(queue)?;
        let Receipt::Handle(handle) = receipt else {
            return Err(foreign_receipt("ChangeMessageVisibility", &queue.name));
        };
        self.calls.record("ChangeMessageVisibility");
        self.sqs
            .change_message_visibility()
            .queue_url(&queue.url)
            .receipt_handle(handle.as_ref())
            .visibility_timeout(seconds(timeout))
            .send()
            .await
            .map_err(|error| sdk_error("ChangeMessageVisibility", &queue.name, error))?;
        Ok(())
    }

    pub(super) async fn purge_queue(&self, queue_id: QueueId) -> Result<(), BackendError> {
        let queue = self.queue_ref(queue_id)?;
        self.calls.record("PurgeQueue");
        self.sqs
            .purge_queue()
            .queue_url(&queue.url)
            .send()
            .await
            .map_err(|error| sdk_error("PurgeQueue", &queue.name, error))?;
        // A pre-provisioned queue outlives the run: the next one must respect this purge too.
        PURGE_WINDOWS.record(
            &queue.arn,
            tokio::time::Instant::now() + self.purge_window(),
        );
        // Purged messages are gone (on AWS within the minute): their receipts are moot.
        self.with_receipts(queue_id, |receipts| receipts.take());
        Ok(())
    }

    pub(super) async fn queue_depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        let queue = self.queue_ref(queue)?;
        self.depth_of(&queue.url, &queue.name).await
    }

    pub(super) async fn depth_of(&self, url: &str, name: &str) -> Result<QueueDepth, BackendError> {
        self.calls.record("GetQueueAttributes");
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|error| sdk_error("GetQueueAttributes", name, error))?;
        depth_from(name, output.attributes())
    }

    pub(super) async fn start_message_move_task(
        &self,
        source: QueueId,
        max_per_second: Option<u32>,
    ) -> Result<MoveTask, BackendError> {
        const OPERATION: &str = "StartMessageMoveTask";
        let queue = self.queue_ref(source)?;
        self.calls.record(OPERATION);
        let request = self
            .sqs
            .start_message_move_task()
            .source_arn(&queue.arn)
            .set_max_number_of_messages_per_second(
                max_per_second.map(|rate| i32::try_from(rate).unwrap_or(i32::MAX)),
            );
        let result = if self.custom_endpoint {
            // Emulators answer unimplemented operations with HTTP 500, which the SDK would retry.
            request
                .customize()
                .config_override(
                    aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()),
                )
                .send()
                .await
        } else {
            request.send().await
        };
        match result {
            Ok(output) => Ok(MoveTask {
                handle: Arc::from(output.task_handle().unwrap_or_default()),
                state: MoveTaskState::Running,
                moved: 0,
                to_move: None,
            }),
            Err(error) if self.custom_endpoint && is_unimplemented(&error) => {
                Err(unsupported(OPERATION, &queue.name).with_source(error))
            }
            Err(error) => Err(sdk_error(OPERATION, &queue.name, error)),
        }
    }

    pub(super) async fn list_message_move_tasks(
        &self,
        source: QueueId,
    ) -> Result<Option<MoveTask>, BackendError> {
        const OPERATION: &str = "ListMessageMoveTasks";
        let queue = self.queue_ref(source)?;
        self.calls.record(OPERATION);
        let request = self
            .sqs
            .list_message_move_tasks()
            .source_arn(&queue.arn)
            .max_results(1);
        let result = if self.custom_endpoint {
            request
                .customize()
                .config_override(
                    aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()),
                )
                .send()
                .await
        } else {
            request.send().await
        };
        let output = match result {
            Ok(output) => output,
            Err(error) if self.custom_endpoint && is_unimplemented(&error) => {
                return Err(unsupported(OPERATION, &queue.name).with_source(error));
            }
            Err(error) => return Err(sdk_error(OPERATION, &queue.name, error)),
        };
        // ListMessageMoveTasks returns the most recent task first.
        let Some(task) = output.results().first() else {
            return Ok(None);
        };
        let state = match task.status().unwrap_or_default() {
            "RUNNING" => MoveTaskState::Running,
            "COMPLETED" => MoveTaskState::Completed,
            "CANCELLING" => MoveTaskState::Cancelling,
            "CANCELLED" => MoveTaskState::Cancelled,
            "FAILED" => MoveTaskState::Failed,
            other => {
                return Err(BackendError::new(
                    OPERATION,
                    &queue.name,
                    BackendErrorKind::Service(format!("unknown move task status {other:?}")),
                ));
            }
        };
        Ok(Some(MoveTask {
            handle: Arc::from(task.task_handle().unwrap_or_default()),
            state,
            moved: u64::try_from(task.approximate_number_of_messages_moved()).unwrap_or(0),
            to_move: task
                .approximate_number_of_messages_to_move()
                .and_then(|count| u64::try_from(count).ok()),
        }))
    }
}

/// The three message counts out of a GetQueueAttributes answer (a missing count is 0).
pub(super) fn depth_from(
    name: &str,
    attributes: Option<&HashMap<QueueAttributeName, String>>,
) -> Result<QueueDepth, BackendError> {
    let read = |attribute: QueueAttributeName| -> Result<u64, BackendError> {
        let text = attributes
            .and_then(|map| map.get(&attribute))
            .map(String::as_str)
            .unwrap_or("0");
        text.parse().map_err(|_| {
            BackendError::new(
                "GetQueueAttributes",
                name,
                BackendErrorKind::Service(format!("{attribute} is not a count: {text:?}")),
            )
        })
    };
    Ok(QueueDepth {
        visible: read(QueueAttributeName::ApproximateNumberOfMessages)?,
        in_flight: read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
        delayed: read(QueueAttributeName::ApproximateNumberOfMessagesDelayed)?,
    })
}

/// `duration` as the SDK takes SQS's whole seconds.
fn seconds(duration: Duration) -> i32 {
    i32::try_from(whole_seconds(duration)).unwrap_or(i32::MAX)
}

fn received_message(message: &Message) -> Result<ReceivedMessage, String> {
    let message_id = message.message_id().ok_or("a message without MessageId")?;
    let receipt = message
        .receipt_handle()
        .ok_or("a message without ReceiptHandle")?;
    let attribute =
        |name: &MessageSystemAttributeName| message.attributes().and_then(|map| map.get(name));
    let receive_count = match attribute(&MessageSystemAttributeName::ApproximateReceiveCount) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("ApproximateReceiveCount is not a count: {text:?}"))?,
        None => return Err("a message without ApproximateReceiveCount".into()),
    };
    Ok(ReceivedMessage {
        message_id: Arc::from(message_id),
        body: Arc::from(message.body().unwrap_or_default()),
        receipt: Receipt::Handle(Arc::from(receipt)),
        receive_count,
        group_id: attribute(&MessageSystemAttributeName::MessageGroupId)
            .map(|group| Arc::from(group.as_str())),
    })
}

fn missing_entry(operation: &'static str, queue: &str, id: &str) -> BackendError {
    BackendError::new(
        operation,
        queue,
        BackendErrorKind::Service(format!("the response has no result for entry {id}")),
    )
}

/// A simulator receipt token handed to the AWS backend: never issued by SQS.
fn foreign_receipt(operation: &'static str, queue: &str) -> BackendError {
    BackendError::new(operation, queue, BackendErrorKind::ReceiptHandleInvalid)
}

fn unsupported(operation: &'static str, queue: &str) -> BackendError {
    BackendError::new(
        operation,
        queue,
        BackendErrorKind::Unsupported(format!("{operation} is not implemented by this endpoint")),
    )
}
