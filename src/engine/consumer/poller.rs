//! A Lambda-style SQS event source: each instance of a group with `poller` is one poller that
//! receives a batch and invokes "the function" (the group's behaviour, message by message) with
//! it, while all the group's pollers share the function's concurrency.
//!
//! What it reproduces, from the AWS Lambda Developer Guide:
//! - an invocation beyond the function's concurrency is throttled; the event source does not
//!   count the function's reserved concurrency and keeps receiving batches it cannot invoke
//!   with (AWS re:Post knowledge center, "lambda-sqs-scaling");
//! - a throttled batch is retried, which is why the queue's visibility timeout should be at
//!   least six times the function timeout; once its visibility runs out its messages come back
//!   with their receive count raised, so a redrive policy can move messages to the DLQ that never
//!   ran ("Creating and configuring an Amazon SQS event source mapping");
//! - by default an error anywhere in a batch returns the whole batch to the queue; with
//!   `ReportBatchItemFailures` only the items the function reports as failed return (same page).
//!
//! The pause between throttled retries is qsim's choice ([`THROTTLE_RETRY`]): AWS does not
//! document Lambda's.

use std::rc::Rc;
use std::time::Duration;

use tokio::time::{sleep, timeout};

use super::{Consumer, ConsumerEnd, Delivery, Disposition, GroupShared, PendingDelete};
use crate::backend::{Backend, BackendError, ReceiveRequest};
use crate::engine::event::{EventKind, ExitReason, MessageIx};
use crate::scenario::{Ack, Poller};

/// How long a poller waits before invoking again with a throttled batch.
const THROTTLE_RETRY: Duration = Duration::from_secs(1);

/// One running invocation, counted against the function's concurrency until dropped (also when
/// a kill drops the poller's task mid-invocation).
struct Slot(Rc<GroupShared>);

impl Drop for Slot {
    fn drop(&mut self) {
        let running = &self.0.invocations;
        running.set(running.get() - 1);
    }
}

impl<B: Backend> Consumer<B> {
    pub(super) async fn run_poller(&mut self, poller: Poller) -> Result<ConsumerEnd, BackendError> {
        let ctx = self.ctx.clone();
        let group = ctx.scenario().group(self.group);
        let request = ReceiveRequest {
            max: poller.batch_size,
            wait: group.wait,
            visibility: None,
        };
        let visibility = ctx.scenario().queue.attributes.visibility_timeout;
        let mut last_message = ctx.now_us();
        loop {
            if self.control.is_terminating() {
                return Ok(ConsumerEnd::Exited(ExitReason::Terminated));
            }
            if ctx.has_failed() {
                return Ok(ConsumerEnd::Failed);
            }
            let (batch, failed) = self.receive(request).await?;
            if batch.is_empty() {
                let pause = request.wait.is_zero() && !failed;
                if let Some(end) = self.idle(last_message, pause).await {
                    return Ok(end);
                }
                continue;
            }
            last_message = ctx.now_us();
            let held = self.deliveries(&batch, true);
            // SIGTERM during the long poll: hand the batch back unstarted, as a receive loop
            // does.
            if self.control.is_terminating() {
                self.release(&held.iter().collect::<Vec<_>>()).await?;
                return Ok(ConsumerEnd::Exited(ExitReason::Terminated));
            }
            let expires_us = ctx.now_us().saturating_add(visibility.as_micros() as u64);
            let Some(slot) = self.invocation_slot(&held, poller, expires_us).await else {
                if self.control.is_terminating() {
                    self.release(&held.iter().collect::<Vec<_>>()).await?;
                }
                continue;
            };
            let messages = u32::try_from(held.len()).unwrap_or(u32::MAX);
            self.record(None, EventKind::Invoked { messages });
            let invocation = timeout(poller.function_timeout, Box::pin(self.invoke(&held))).await;
            drop(slot);
            let dispositions = match invocation {
                Err(_) => {
                    self.record(None, EventKind::InvocationTimedOut);
                    continue;
                }
                Ok(dispositions) => dispositions?,
            };
            if let Some((ix, Disposition::Crash(point))) = dispositions
                .iter()
                .find(|(_, d)| matches!(d, Disposition::Crash(_)))
            {
                self.record(*ix, EventKind::Crashed(*point));
                return Ok(ConsumerEnd::Crashed(*point));
            }
            let failed = dispositions.iter().any(|(_, d)| *d == Disposition::Leave);
            let deletes: Vec<PendingDelete> = if failed && !poller.report_batch_item_failures {
                Vec::new()
            } else {
                held.iter()
                    .zip(&dispositions)
                    .filter(|(_, (_, d))| *d == Disposition::Delete)
                    .map(|(delivery, (ix, _))| (delivery.message.receipt.clone(), *ix))
                    .collect()
            };
            self.delete(deletes, Ack::OnSuccess).await?;
        }
    }

    /// Waits for a free invocation, recording each throttle, until the batch's visibility
    /// timeout would run out before the next try: then the batch is left to come back.
    async fn invocation_slot(
        &self,
        held: &[Delivery<'_>],
        poller: Poller,
        expires_us: u64,
    ) -> Option<Slot> {
        loop {
            let running = &self.shared.invocations;
            if running.get() < poller.max_concurrency {
                running.set(running.get() + 1);
                return Some(Slot(self.shared.clone()));
            }
            for delivery in held {
                self.record(delivery.ix(), EventKind::Throttled);
            }
            let next_try = self
                .ctx
                .now_us()
                .saturating_add(THROTTLE_RETRY.as_micros() as u64);
            if next_try >= expires_us || self.control.is_terminating() {
                return None;
            }
            sleep(THROTTLE_RETRY).await;
        }
    }

    /// One invocation: the function handles its batch message by message and stops at a crash.
    async fn invoke(
        &mut self,
        held: &[Delivery<'_>],
    ) -> Result<Vec<(Option<MessageIx>, Disposition)>, BackendError> {
        let mut dispositions = Vec::with_capacity(held.len());
        for delivery in held {
            let disposition = self.handle(delivery, &[]).await?;
            dispositions.push((delivery.ix(), disposition));
            if matches!(disposition, Disposition::Crash(_)) {
                break;
            }
        }
        Ok(dispositions)
    }
}
