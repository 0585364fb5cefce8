//! Pre-provisioned resources (`qsim run --resources FILE.json`, from terraform/): the queues and
//! tables a run uses instead of creating its own.
//!
//! - A queue is looked up, not created: GetQueueAttributes must show the attributes qsim would
//!   have created for the scenario ([`super::queue_fit`]), else the run stops with an error naming
//!   the queue, each attribute, expected and actual, and the fix (regenerate the variables, apply).
//! - Before the run a queue must be empty: if it stores anything (visible, in flight or delayed)
//!   it is purged. SQS allows one purge per 60 s per queue and a purge may take that long,
//!   deleting messages sent meanwhile: on a backend with [`Capability::AsyncPurge`] (AWS) the run
//!   starts only once every purge of its queues settled, in this run or an earlier one of the
//!   process ([`super::purge_windows`]), and PurgeQueueInProgress means wait and purge again.
//! - Tables must exist with the string hash key `pk` and be ACTIVE; items are kept apart per run
//!   by key prefix ([`super::item_keys`]), never deleted.
//! - Teardown deletes nothing: it empties the queues for the next run, deleting the messages a
//!   complete `remaining()` holds, and purging only when that cannot be known to be everything.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{KeyType, ScalarAttributeType, TableStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use tokio::time::{Duration, Instant, sleep_until};

use super::ProvisionedQueues;
use super::backend::{AwsBackend, QueueRef};
use super::items::KEY;
use super::naming::queue_name_from_url;
use super::provisioned_mismatch::ProvisionedMismatch;
use super::purge_windows::PURGE_WINDOWS;
use super::queue_fit::{ExpectedRedrive, misfits};
use super::queues::depth_from;
use crate::backend::{
    Backend, BackendError, BackendErrorKind, Capability, QueueId, QueueRole, QueueSpec,
};
use crate::sqs::facts::PURGE_WINDOW;

/// PurgeQueueInProgress answers tolerated in a row, each followed by a full purge window.
const PURGE_ATTEMPTS: u32 = 3;

impl AwsBackend {
    /// `create_queue` on pre-provisioned resources: the queue for `spec.role`, checked against
    /// `spec`, registered (never to be deleted) and emptied.
    pub(super) async fn adopt_queue(
        &self,
        spec: &QueueSpec,
        provisioned: &ProvisionedQueues,
    ) -> Result<QueueId, BackendError> {
        let url = match spec.role {
            QueueRole::Main => Some(provisioned.queue_url.as_str()),
            QueueRole::DeadLetter => provisioned.dlq_url.as_deref(),
        };
        let Some(url) = url else {
            return Err(BackendError::new(
                "CreateQueue",
                format!("the {} queue", spec.role.as_str()),
                BackendErrorKind::Provisioned(ProvisionedMismatch::NoDeadLetterQueue),
            ));
        };
        let name = queue_name_from_url(url).to_owned();
        let already = self.queues.borrow().iter().any(|q| q.role == spec.role);
        if already {
            return Err(BackendError::new(
                "CreateQueue",
                &name,
                BackendErrorKind::Provisioned(ProvisionedMismatch::SecondQueue(spec.role)),
            ));
        }
        let dlq_arn = match spec.redrive {
            Some(redrive) => Some(self.queue_ref(redrive.dlq)?.arn),
            None => None,
        };

        let describe = self.call("GetQueueAttributes", &name);
        let output = describe
            .send(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::All)
                    .send(),
            )
            .await
            .map_err(|error| {
                provisioned_missing(
                    error,
                    ProvisionedMismatch::MissingQueue {
                        url: url.to_owned(),
                    },
                )
            })?;
        let attributes: BTreeMap<String, String> = output
            .attributes()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
            .collect();
        let redrive = dlq_arn
            .as_deref()
            .zip(spec.redrive)
            .map(|(arn, redrive)| ExpectedRedrive {
                dlq_arn: arn,
                max_receive_count: redrive.max_receive_count,
            });
        // Attached queues were created by the run this process is part of, from the same spec.
        let found = if self.attach {
            Vec::new()
        } else {
            misfits(spec, redrive, &attributes)
        };
        if !found.is_empty() {
            return Err(describe.error(BackendErrorKind::Provisioned(
                ProvisionedMismatch::QueueMisfits {
                    role: spec.role,
                    misfits: found,
                },
            )));
        }
        let arn = attributes
            .get("QueueArn")
            .cloned()
            .ok_or_else(|| describe.answer_lacks("QueueArn"))?;
        let depth = depth_from(&describe, output.attributes())?;
        let queue = QueueRef {
            name: name.clone(),
            url: url.to_owned(),
            arn: arn.clone(),
            fifo: spec.attributes.fifo,
            redrive_policy: attributes
                .get("RedrivePolicy")
                .filter(|policy| !policy.trim().is_empty())
                .cloned(),
        };
        let id = self.register_queue(spec.role, queue.clone(), true);
        if depth.total() > 0 && !self.attach {
            self.purge_settled(&queue).await?;
        }
        // This run's purge, or one an earlier run of this process made.
        if let Some(settles_at) = PURGE_WINDOWS.pending(&arn, Instant::now()) {
            let later = self
                .settles_at
                .get()
                .map_or(settles_at, |t| t.max(settles_at));
            self.settles_at.set(Some(later));
        }
        Ok(id)
    }

    /// A pre-provisioned table: it exists, is keyed like qsim's own tables, and is ACTIVE.
    pub(super) async fn check_provisioned_table(&self, name: &str) -> Result<(), BackendError> {
        let describe = self.call("DescribeTable", name);
        let output = describe
            .send(self.dynamodb.describe_table().table_name(name).send())
            .await
            .map_err(|error| provisioned_missing(error, ProvisionedMismatch::MissingTable))?;
        let table = output.table();
        let hash_key = table
            .map(|t| t.key_schema())
            .unwrap_or_default()
            .iter()
            .find(|element| element.key_type() == &KeyType::Hash)
            .map(|element| element.attribute_name().to_owned());
        let key_type = hash_key.as_deref().and_then(|key| {
            table
                .map(|t| t.attribute_definitions())
                .unwrap_or_default()
                .iter()
                .find(|definition| definition.attribute_name() == key)
                .map(|definition| definition.attribute_type().clone())
        });
        if hash_key.as_deref() != Some(KEY) || key_type != Some(ScalarAttributeType::S) {
            return Err(describe.error(BackendErrorKind::Provisioned(
                ProvisionedMismatch::TableKey {
                    expected: KEY,
                    actual: hash_key
                        .map(|key| (key, key_type.map(|kind| kind.as_str().to_owned()))),
                },
            )));
        }
        if table.and_then(|t| t.table_status()) != Some(&TableStatus::Active) {
            self.wait_until_active(name).await?;
        }
        Ok(())
    }

    /// Teardown of pre-provisioned queues: each left empty for the next run, none deleted.
    /// Tries every queue, returns the first failure; emptied queues are skipped when called again.
    pub(super) async fn empty_provisioned_queues(&self) -> Result<(), BackendError> {
        let mut first_error = None;
        let count = self.queues.borrow().len();
        for index in 0..count {
            let pending = {
                let queues = self.queues.borrow();
                queues[index].provisioned && !queues[index].emptied
            };
            if !pending {
                continue;
            }
            match self.empty_for_next_run(QueueId(index)).await {
                Ok(()) => self.queues.borrow_mut()[index].emptied = true,
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Deletes what this run holds in `queue` (the messages a complete `remaining()` drained, or
    /// else the receipts consumers never deleted). When that cannot be everything (no complete
    /// drain, or a delete failed), checks the counts where they are exact (emulators) and purges
    /// if anything is left; on AWS, whose counts lag, purges.
    async fn empty_for_next_run(&self, queue_id: QueueId) -> Result<(), BackendError> {
        let queue = self.queue_ref(queue_id)?;
        let (drained, outstanding) = {
            let mut queues = self.queues.borrow_mut();
            let state = &mut queues[queue_id.0];
            (state.drained.take(), state.receipts.take())
        };
        let complete = drained.is_some();
        let mut receipts: Vec<Arc<str>> = drained.unwrap_or_default();
        receipts.extend(outstanding);
        let failures = self.delete_receipts(&queue, &receipts).await?;
        if complete && failures.is_empty() {
            return Ok(());
        }
        let left = if self.custom_endpoint {
            self.depth_of(&queue).await?.total() > 0
        } else {
            true
        };
        if left {
            self.purge_settled(&queue).await?;
        }
        Ok(())
    }

    /// PurgeQueue outside the scenario's own timeline, keeping SQS's rule: waits for an earlier
    /// purge of the queue to settle first, and on PurgeQueueInProgress (a purge this process did
    /// not see) waits a full window and tries again. Records the new purge's window.
    pub(super) async fn purge_settled(&self, queue: &QueueRef) -> Result<(), BackendError> {
        let mut in_progress = 0;
        loop {
            if let Some(settles_at) = PURGE_WINDOWS.pending(&queue.arn, Instant::now()) {
                sleep_until(settles_at).await;
            }
            let purged = self
                .call("PurgeQueue", &queue.name)
                .send(self.sqs.purge_queue().queue_url(&queue.url).send())
                .await;
            let error = match purged {
                Ok(_) => {
                    PURGE_WINDOWS.record(&queue.arn, Instant::now() + self.purge_window());
                    return Ok(());
                }
                Err(error) => error,
            };
            in_progress += 1;
            if error.kind != BackendErrorKind::PurgeInProgress || in_progress >= PURGE_ATTEMPTS {
                return Err(error);
            }
            // Started at most a window ago, by someone else: settled a window from now at the
            // latest.
            PURGE_WINDOWS.record(&queue.arn, Instant::now() + PURGE_WINDOW);
        }
    }

    /// How long a purge runs on this backend: SQS's window on AWS; an emulator's purge is
    /// immediate.
    pub(super) fn purge_window(&self) -> Duration {
        if self.capabilities().has(Capability::AsyncPurge) {
            PURGE_WINDOW
        } else {
            Duration::ZERO
        }
    }

    /// Waits until the purges that emptied this run's pre-provisioned queues settled; a no-op
    /// once they have (and always for runs on their own queues).
    pub(super) async fn settle_purges(&self) {
        if let Some(settles_at) = self.settles_at.get() {
            sleep_until(settles_at).await;
            self.settles_at.set(None);
        }
    }
}

/// A resource the resources file names that the endpoint does not know: `missing`, keeping the
/// service's answer as the cause. Other errors stay as they are.
fn provisioned_missing(error: BackendError, missing: ProvisionedMismatch) -> BackendError {
    match error.kind {
        BackendErrorKind::NotFound => BackendError {
            kind: BackendErrorKind::Provisioned(missing),
            ..error
        },
        _ => error,
    }
}
