//! `remaining()` on SQS: every message still stored in a queue after the run, found by
//! receiving, since SQS has no way to list a queue.
//!
//! How, and why:
//! - the messages consumers received and never deleted are made visible first
//!   (ChangeMessageVisibility 0 with the latest receipt handed out for each), otherwise they would
//!   stay hidden for their visibility timeout;
//! - a queue's RedrivePolicy is suspended while it is drained and restored afterwards: the
//!   drain's own receives must not move exhausted messages to the DLQ;
//! - the drain receives (visibility 600 s, 1 s long polls, 10 at a time) until a receive comes
//!   back empty and GetQueueAttributes shows nothing visible or delayed: once on an emulator,
//!   whose counters are exact, three times in a row on AWS, whose counters lag;
//! - messages are returned, not deleted, with the exception SQS forces on FIFO queues: a group's
//!   messages behind one in flight cannot be received, so when a drain is blocked that way the
//!   FIFO messages it already holds are deleted to reach the rest;
//! - `receive_count` of a returned message excludes the drain's own receive;
//! - the receipts of the messages a complete drain holds are kept on the queue, so teardown can
//!   empty a pre-provisioned queue by deleting exactly those.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName};

use super::backend::{AwsBackend, QueueRef};
use crate::backend::{
    BackendError, BackendErrorKind, QueueId, Receipt, ReceiveRequest, ReceivedMessage,
};
use crate::sqs::facts::MAX_BATCH;

const DRAIN_RECEIVE: ReceiveRequest = ReceiveRequest {
    max: MAX_BATCH as u32,
    wait: Duration::from_secs(1),
    visibility: Some(Duration::from_secs(600)),
};

impl AwsBackend {
    pub(super) async fn remaining(
        &self,
        queue_id: QueueId,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        let queue = self.queue_ref(queue_id)?;
        let outstanding = self
            .with_receipts(queue_id, |receipts| receipts.take())
            .unwrap_or_default();
        self.make_visible(&queue, &outstanding).await?;
        let (messages, held) = match &queue.redrive_policy {
            None => self.receive_all(&queue).await?,
            Some(policy) => {
                self.set_redrive_policy(&queue, "").await?;
                let drained = self.receive_all(&queue).await;
                let restored = self.set_redrive_policy(&queue, policy).await;
                let drained = drained?;
                restored?;
                drained
            }
        };
        if let Some(state) = self.queues.borrow_mut().get_mut(queue_id.0) {
            state.drained = Some(held);
        }
        Ok(messages)
    }

    /// ChangeMessageVisibilityBatch to 0. Entries whose message was deleted, moved or is no
    /// longer in flight fail harmlessly and are ignored.
    async fn make_visible(
        &self,
        queue: &QueueRef,
        receipts: &[Arc<str>],
    ) -> Result<(), BackendError> {
        let call = self.call("ChangeMessageVisibilityBatch", &queue.name);
        for chunk in receipts.chunks(MAX_BATCH) {
            let entries = call.entries(chunk, |index, receipt| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("v{index}"))
                    .receipt_handle(receipt.as_ref())
                    .visibility_timeout(0)
                    .build()
            })?;
            let output = call
                .send(
                    self.sqs
                        .change_message_visibility_batch()
                        .queue_url(&queue.url)
                        .set_entries(Some(entries))
                        .send(),
                )
                .await?;
            for failed in output.failed() {
                let error = call.entry_error(failed.code(), failed.message());
                let harmless = matches!(
                    error.kind,
                    BackendErrorKind::ReceiptHandleInvalid
                        | BackendErrorKind::InvalidParameter(_)
                        | BackendErrorKind::NotInFlight
                );
                if !harmless {
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    async fn set_redrive_policy(&self, queue: &QueueRef, policy: &str) -> Result<(), BackendError> {
        self.call("SetQueueAttributes", &queue.name)
            .send(
                self.sqs
                    .set_queue_attributes()
                    .queue_url(&queue.url)
                    .attributes(QueueAttributeName::RedrivePolicy, policy)
                    .send(),
            )
            .await?;
        Ok(())
    }

    /// Every stored message, and the receipts of those still held (not deleted).
    async fn receive_all(
        &self,
        queue: &QueueRef,
    ) -> Result<(Vec<ReceivedMessage>, Vec<Arc<str>>), BackendError> {
        // Emulators' counters are exact; AWS's lag, so one quiet reading proves little there.
        let (quiet_needed, stuck_limit) = if self.custom_endpoint {
            (1, 10)
        } else {
            (3, 120)
        };
        let mut found = Vec::new();
        let mut seen = BTreeSet::new();
        let mut held: Vec<Arc<str>> = Vec::new();
        let (mut quiet, mut stuck) = (0, 0);
        loop {
            let batch = self.receive_untracked(queue, DRAIN_RECEIVE, false).await?;
            if !batch.is_empty() {
                (quiet, stuck) = (0, 0);
                for mut message in batch {
                    // Standard queues may deliver a copy twice; a message is stored once.
                    if !seen.insert(message.message_id.text()) {
                        continue;
                    }
                    if let Receipt::Handle(handle) = &message.receipt {
                        held.push(handle.clone());
                    }
                    message.receive_count = message.receive_count.saturating_sub(1);
                    found.push(message);
                }
                continue;
            }
            let depth = self.depth_of(queue).await?;
            if depth.visible == 0 && depth.delayed == 0 {
                quiet += 1;
                if quiet >= quiet_needed {
                    return Ok((found, held));
                }
                continue;
            }
            quiet = 0;
            if depth.visible == 0 {
                // Only delayed messages left: they become visible by themselves.
                continue;
            }
            if queue.fifo && !held.is_empty() {
                self.delete_held(queue, &std::mem::take(&mut held)).await?;
                continue;
            }
            stuck += 1;
            if stuck >= stuck_limit {
                return Err(BackendError::new(
                    "ReceiveMessage",
                    &queue.name,
                    BackendErrorKind::Service(format!(
                        "draining the queue: {} messages stay visible but {stuck} receives in a \
                         row returned none",
                        depth.visible
                    )),
                ));
            }
        }
    }

    /// Deletes drained FIFO messages (already recorded) so their groups' later messages can be
    /// received.
    async fn delete_held(
        &self,
        queue: &QueueRef,
        receipts: &[Arc<str>],
    ) -> Result<(), BackendError> {
        match self
            .delete_receipts(queue, receipts)
            .await?
            .into_iter()
            .next()
        {
            Some(failed) => Err(failed),
            None => Ok(()),
        }
    }

    /// DeleteMessageBatch for `receipts`, [`MAX_BATCH`] at a time; the entries that failed, as
    /// errors.
    pub(super) async fn delete_receipts(
        &self,
        queue: &QueueRef,
        receipts: &[Arc<str>],
    ) -> Result<Vec<BackendError>, BackendError> {
        let call = self.call("DeleteMessageBatch", &queue.name);
        let mut failures = Vec::new();
        for chunk in receipts.chunks(MAX_BATCH) {
            let handles: Vec<&str> = chunk.iter().map(AsRef::as_ref).collect();
            let results = self
                .delete_message_batch(&call, queue, &handles, false)
                .await?;
            failures.extend(results.into_iter().filter_map(Result::err));
        }
        Ok(failures)
    }
}
