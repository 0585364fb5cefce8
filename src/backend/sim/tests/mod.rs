//! Behaviour tests of the simulator, one file per behaviour, all through the [`Backend`] trait on
//! a paused current-thread runtime. Timings are asserted exactly: virtual time makes them exact.

mod batch;
mod delay_retention;
mod determinism;
mod envelope;
mod faults;
mod fifo;
mod move_task;
mod polling;
mod purge;
mod receipts;
mod redrive;
mod table;
mod visibility;

use std::sync::Arc;
use std::time::Duration;

use crate::backend::{
    Backend, BackendErrorKind, OutgoingMessage, QueueAttributes, QueueId, QueueRole, QueueSpec,
    Receipt, ReceiveRequest, ReceivedMessage, Redrive, SqsMessageId,
};

use super::SimBackend;
use crate::sqs::envelope::Envelope;

pub(super) const SECOND: Duration = Duration::from_secs(1);

pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub(super) fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A main queue as SQS creates it by default.
pub(super) fn standard() -> QueueSpec {
    QueueSpec {
        role: QueueRole::Main,
        attributes: QueueAttributes::default(),
        redrive: None,
        sim: Envelope::IDEAL,
    }
}

pub(super) fn fifo() -> QueueSpec {
    with_attributes(standard(), |a| a.fifo = true)
}

/// `spec` with its attributes changed by `change`.
pub(super) fn with_attributes(
    mut spec: QueueSpec,
    change: impl FnOnce(&mut QueueAttributes),
) -> QueueSpec {
    change(&mut spec.attributes);
    spec
}

pub(super) fn dlq_of(spec: &QueueSpec) -> QueueSpec {
    QueueSpec {
        role: QueueRole::DeadLetter,
        redrive: None,
        ..spec.clone()
    }
}

/// Creates a DLQ and a main queue redriving to it after `max_receive_count` deliveries.
pub(super) async fn with_dlq(
    sim: &SimBackend,
    spec: QueueSpec,
    max_receive_count: u32,
) -> (QueueId, QueueId) {
    let dlq = sim.create_queue(&dlq_of(&spec)).await.unwrap();
    let main = QueueSpec {
        redrive: Some(Redrive {
            dlq,
            max_receive_count,
        }),
        ..spec
    };
    (sim.create_queue(&main).await.unwrap(), dlq)
}

pub(super) fn message(body: &str) -> OutgoingMessage {
    OutgoingMessage {
        entry_id: "e".to_owned(),
        body: Arc::from(body),
        group_id: None,
        dedup_id: None,
        delay: None,
    }
}

pub(super) fn grouped(body: &str, group: &str) -> OutgoingMessage {
    OutgoingMessage {
        group_id: Some(Arc::from(group)),
        dedup_id: Some(Arc::from(body)),
        ..message(body)
    }
}

/// Gives the entries of a batch distinct ids.
pub(super) fn numbered(mut batch: Vec<OutgoingMessage>) -> Vec<OutgoingMessage> {
    for (index, entry) in batch.iter_mut().enumerate() {
        entry.entry_id = format!("e{index}");
    }
    batch
}

/// Sends each message as its own batch of one; returns the message ids.
pub(super) async fn send_all(
    sim: &SimBackend,
    queue: QueueId,
    messages: impl IntoIterator<Item = OutgoingMessage>,
) -> Vec<SqsMessageId> {
    let mut ids = Vec::new();
    for entry in messages {
        let outcome = sim.send(queue, &[entry]).await.unwrap().remove(0);
        ids.push(outcome.unwrap().message_id);
    }
    ids
}

pub(super) async fn send_bodies(
    sim: &SimBackend,
    queue: QueueId,
    bodies: &[&str],
) -> Vec<SqsMessageId> {
    send_all(sim, queue, bodies.iter().map(|b| message(b))).await
}

pub(super) fn request(max: u32) -> ReceiveRequest {
    ReceiveRequest {
        max,
        wait: Duration::ZERO,
        visibility: None,
    }
}

/// A short-poll receive of up to `max` messages.
pub(super) async fn receive(sim: &SimBackend, queue: QueueId, max: u32) -> Vec<ReceivedMessage> {
    sim.receive(queue, request(max)).await.unwrap()
}

pub(super) fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
    messages.iter().map(|m| &*m.body).collect()
}

pub(super) async fn delete_one(
    sim: &SimBackend,
    queue: QueueId,
    receipt: &Receipt,
) -> Result<(), BackendErrorKind> {
    sim.delete(queue, std::slice::from_ref(receipt))
        .await
        .unwrap()
        .remove(0)
        .map_err(|e| e.kind)
}

pub(super) async fn delete_all(sim: &SimBackend, queue: QueueId, messages: &[ReceivedMessage]) {
    for m in messages {
        delete_one(sim, queue, &m.receipt).await.unwrap();
    }
}

pub(super) fn is_invalid_parameter(kind: &BackendErrorKind) -> bool {
    matches!(kind, BackendErrorKind::InvalidParameter(_))
}

pub(super) async fn sleep(duration: Duration) {
    tokio::time::sleep(duration).await;
}
