//! The SQS half of [`AwsBackend`]: queue creation and the message operations, one SDK call
//! each, with per-entry results of batch calls checked even when the call succeeded.
//!
//! With pre-provisioned queues, creation is a lookup ([`super::provisioned`]), and sends and
//! receives first wait for the purges that emptied those queues to settle.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

use super::backend::{AwsBackend, QueueRef};
use super::call::Call;
use super::naming::{MANAGED_TAG, RUN_TAG};
use super::options::long_poll_timeouts;
use super::purge_windows::PURGE_WINDOWS;
use super::sqs_attributes::{redrive_policy, sqs_attributes};
use crate::backend::{
    BackendError, BackendErrorKind, MoveTask, MoveTaskState, OutgoingMessage, QueueDepth, QueueId,
    QueueSpec, Receipt, ReceiveRequest, ReceivedMessage, SendOutcome, SqsMessageId,
};
use crate::sqs::facts::whole_seconds;
use aws_sdk_sqs::config::retry::RetryConfig;

impl AwsBackend {
    pub(super) async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueId, BackendError> {
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
        let create = self.call("CreateQueue", &name);
        let redrive_policy = match spec.redrive {
            None => None,
            Some(redrive) => {
                let dlq = self.queue_ref(redrive.dlq)?;
                if dlq.fifo != spec.attributes.fifo {
                    return Err(create.error(BackendErrorKind::InvalidParameter(format!(
                        "the dead-letter queue {} must be of the same type (FIFO or standard)",
                        dlq.name
                    ))));
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
        let created = create.send(request.send()).await?;
        let mut queue = QueueRef {
            name: name.clone(),
            url: created.queue_url().unwrap_or_default().to_owned(),
            arn: String::new(),
            fifo: spec.attributes.fifo,
            redrive_policy,
        };
        // Registered before anything else can fail, so teardown deletes it.
        let id = self.register_queue(spec.role, queue.clone(), false);

        let describe = self.call("GetQueueAttributes", &name);
        let attributes = describe
            .send(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(&queue.url)
                    .attribute_names(QueueAttributeName::QueueArn)
                    .send(),
            )
            .await?;
        queue.arn = attributes
            .attributes()
            .and_then(|map| map.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| describe.answer_lacks("QueueArn"))?;
        self.queues.borrow_mut()[id.0].queue = queue;
        Ok(id)
    }

    pub(super) async fn send(
        &self,
        queue: QueueId,
        batch: &[OutgoingMessage],
    ) -> Result<Vec<Result<SendOutcome, BackendError>>, BackendError> {
        let queue = self.queue_ref(queue)?;
        self.settle_purges().await;
        let call = self.call("SendMessageBatch", &queue.name);
        let entries = call.entries(batch, |_, message| {
            SendMessageBatchRequestEntry::builder()
                .id(&message.entry_id)
                .message_body(message.body.as_ref())
                .set_message_group_id(message.group_id.as_deref().map(str::to_owned))
                .set_message_deduplication_id(message.dedup_id.as_deref().map(str::to_owned))
                .set_delay_seconds(message.delay.map(seconds))
                .build()
        })?;
        let output = call
            .send(
                Self::retried_by_engine(
                    self.sqs
                        .send_message_batch()
                        .queue_url(&queue.url)
                        .set_entries(Some(entries))
                        .customize(),
                )
                .send(),
            )
            .await?;
        let ids = batch.iter().map(|message| message.entry_id.as_str());
        Ok(call
            .entry_results(
                ids,
                output.successful(),
                |entry| entry.id(),
                output.failed(),
            )
            .into_iter()
            .map(|sent| {
                sent.map(|entry| SendOutcome {
                    message_id: SqsMessageId::from(entry.message_id()),
                })
            })
            .collect())
    }

    pub(super) async fn receive(
        &self,
        queue_id: QueueId,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        let queue = self.queue_ref(queue_id)?;
        self.settle_purges().await;
        let messages = self.receive_untracked(&queue, request, true).await?;
        self.with_receipts(queue_id, |receipts| {
            for message in &messages {
                if let Receipt::Handle(handle) = &message.receipt {
                    receipts.received(message.message_id.text(), handle.clone());
                }
            }
        });
        Ok(messages)
    }

    /// ReceiveMessage without receipt tracking (the drain's receives are not handed out);
    /// `by_engine`: an actor's receive, which the engine retries (the SDK then makes one
    /// attempt), not qsim's own.
    pub(super) async fn receive_untracked(
        &self,
        queue: &QueueRef,
        request: ReceiveRequest,
        by_engine: bool,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        let mut config = long_poll_timeouts(request.wait);
        if by_engine {
            config = config.retry_config(RetryConfig::disabled());
        }
        let call = self.call("ReceiveMessage", &queue.name);
        let output = call
            .send(
                self.sqs
                    .receive_message()
                    .queue_url(&queue.url)
                    .max_number_of_messages(i32::try_from(request.max).unwrap_or(i32::MAX))
                    .wait_time_seconds(seconds(request.wait))
                    .set_visibility_timeout(request.visibility.map(seconds))
                    .message_system_attribute_names(
                        MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
                    .customize()
                    .config_override(config)
                    .send(),
            )
            .await?;
        output
            .messages()
            .iter()
            .map(|message| {
                received_message(message)
                    .map_err(|what| call.error(BackendErrorKind::Service(what)))
            })
            .collect()
    }

    pub(super) async fn delete(
        &self,
        queue_id: QueueId,
        receipts: &[Receipt],
    ) -> Result<Vec<Result<(), BackendError>>, BackendError> {
        let queue = self.queue_ref(queue_id)?;
        let call = self.call("DeleteMessageBatch", &queue.name);
        let handles: Vec<&str> = receipts
            .iter()
            .filter_map(|receipt| match receipt {
                Receipt::Handle(handle) => Some(handle.as_ref()),
                Receipt::Token { .. } => None,
            })
            .collect();
        let mut deleted = if handles.is_empty() {
            Vec::new()
        } else {
            self.delete_message_batch(&call, &queue, &handles, true)
                .await?
        }
        .into_iter();
        let results: Vec<Result<(), BackendError>> = receipts
            .iter()
            .map(|receipt| match receipt {
                Receipt::Token { .. } => Err(call.foreign_receipt()),
                Receipt::Handle(_) => deleted.next().expect("one result per receipt handle"),
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

    /// DeleteMessageBatch of `handles` (at most [`crate::sqs::facts::MAX_BATCH`]) as `call`: one
    /// result per handle, in order. The one path of every delete, the consumers' and the drain's.
    pub(super) async fn delete_message_batch(
        &self,
        call: &Call<'_>,
        queue: &QueueRef,
        handles: &[&str],
        by_engine: bool,
    ) -> Result<Vec<Result<(), BackendError>>, BackendError> {
        let entry_id = |index: usize| format!("d{index}");
        let entries = call.entries(handles, |index, handle| {
            DeleteMessageBatchRequestEntry::builder()
                .id(entry_id(index))
                .receipt_handle(*handle)
                .build()
        })?;
        let output = call
            .send(
                {
                    let request = self
                        .sqs
                        .delete_message_batch()
                        .queue_url(&queue.url)
                        .set_entries(Some(entries))
                        .customize();
                    match by_engine {
                        true => Self::retried_by_engine(request),
                        false => request,
                    }
                }
                .send(),
            )
            .await?;
        let ids = (0..handles.len()).map(entry_id);
        Ok(call
            .entry_results(
                ids,
                output.successful(),
                |entry| entry.id(),
                output.failed(),
            )
            .into_iter()
            .map(|deleted| deleted.map(drop))
            .collect())
    }

    pub(super) async fn change_visibility(
        &self,
        queue: QueueId,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        let queue = self.queue_ref(queue)?;
        let call = self.call("ChangeMessageVisibility", &queue.name);
        let Receipt::Handle(handle) = receipt else {
            return Err(call.foreign_receipt());
        };
        call.send(
            Self::retried_by_engine(
                self.sqs
                    .change_message_visibility()
                    .queue_url(&queue.url)
                    .receipt_handle(handle.as_ref())
                    .visibility_timeout(seconds(timeout))
                    .customize(),
            )
            .send(),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn purge(&self, queue_id: QueueId) -> Result<(), BackendError> {
        let queue = self.queue_ref(queue_id)?;
        self.call("PurgeQueue", &queue.name)
            .send(self.sqs.purge_queue().queue_url(&queue.url).send())
            .await?;
        // A pre-provisioned queue outlives the run: the next one must respect this purge too.
        PURGE_WINDOWS.record(
            &queue.arn,
            tokio::time::Instant::now() + self.purge_window(),
        );
        // Purged messages are gone (on AWS within the minute): their receipts are moot.
        self.with_receipts(queue_id, |receipts| receipts.take());
        Ok(())
    }

    pub(super) async fn depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        let queue = self.queue_ref(queue)?;
        self.depth_of(&queue).await
    }

    pub(super) async fn depth_of(&self, queue: &QueueRef) -> Result<QueueDepth, BackendError> {
        let call = self.call("GetQueueAttributes", &queue.name);
        let output = call
            .send(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(&queue.url)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                    .send(),
            )
            .await?;
        depth_from(&call, output.attributes())
    }

    pub(super) async fn start_move_task(
        &self,
        source: QueueId,
        max_per_second: Option<u32>,
    ) -> Result<MoveTask, BackendError> {
        let queue = self.queue_ref(source)?;
        let call = self.call("StartMessageMoveTask", &queue.name);
        let request = self
            .sqs
            .start_message_move_task()
            .source_arn(&queue.arn)
            .set_max_number_of_messages_per_second(
                max_per_second.map(|rate| i32::try_from(rate).unwrap_or(i32::MAX)),
            )
            .customize();
        let output = call
            .send_raw(self.once_on_emulator(request).send())
            .await
            .map_err(|error| self.optional_operation_error(&call, error))?;
        Ok(MoveTask {
            handle: Arc::from(output.task_handle().unwrap_or_default()),
            state: MoveTaskState::Running,
            moved: 0,
            to_move: None,
        })
    }

    pub(super) async fn move_task_status(
        &self,
        source: QueueId,
    ) -> Result<Option<MoveTask>, BackendError> {
        let queue = self.queue_ref(source)?;
        let call = self.call("ListMessageMoveTasks", &queue.name);
        let request = self
            .sqs
            .list_message_move_tasks()
            .source_arn(&queue.arn)
            .max_results(1)
            .customize();
        let output = call
            .send_raw(self.once_on_emulator(request).send())
            .await
            .map_err(|error| self.optional_operation_error(&call, error))?;
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
                return Err(call.error(BackendErrorKind::Service(format!(
                    "unknown move task status {other:?}"
                ))));
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

/// The three message counts out of the answer of `call`, a GetQueueAttributes (a missing count
/// is 0).
pub(super) fn depth_from(
    call: &Call<'_>,
    attributes: Option<&HashMap<QueueAttributeName, String>>,
) -> Result<QueueDepth, BackendError> {
    let read = |attribute: QueueAttributeName| -> Result<u64, BackendError> {
        let text = attributes
            .and_then(|map| map.get(&attribute))
            .map(String::as_str)
            .unwrap_or("0");
        text.parse().map_err(|_| {
            call.error(BackendErrorKind::Service(format!(
                "{attribute} is not a count: {text:?}"
            )))
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
        message_id: SqsMessageId::from(message_id),
        body: Arc::from(message.body().unwrap_or_default()),
        receipt: Receipt::Handle(Arc::from(receipt)),
        receive_count,
        group_id: attribute(&MessageSystemAttributeName::MessageGroupId)
            .map(|group| Arc::from(group.as_str())),
    })
}
