//! The SQS half of `qsim serve`: the `AmazonSQS.*` operations of the JSON protocol on top of the
//! simulator ([`SimBackend`]), which keeps every message semantics (visibility, receive counts,
//! redrive, FIFO groups and deduplication, delays, purge, retention, the envelope's latitudes).
//! What the simulator does not know, because a run never needs it, is kept here: queue names and
//! URLs, attributes as given, tags, and per-message facts (message attributes, timestamps,
//! sequence numbers).
//!
//! - [`attributes`]: queue attributes, parsed and rendered;
//! - [`errors`]: SQS's error codes, modern and legacy;
//! - [`queues`]: the queue operations (create, look up, list, attributes, tags, delete, purge,
//!   move tasks);
//! - [`messages`]: the message operations (send, receive, delete, change visibility).
//!
//! Invariants: no `RefCell` borrow is held across an `.await` (long polls wait inside the
//! simulator, which keeps the same rule), so any number of connections interleave on the
//! server's one thread.

mod attributes;
pub(crate) mod errors;
mod messages;
mod queues;
mod request;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::backend::QueueId;
use crate::backend::sim::SimBackend;
use crate::serve::clock::WallClock;
use crate::serve::error::ApiError;
use crate::serve::history::Note;
use crate::sqs::envelope::Envelope;
use attributes::Settings;

/// The account id in every queue URL and ARN (the one LocalStack and moto use too).
pub(crate) const ACCOUNT: &str = "000000000000";
/// The region in every ARN.
const REGION: &str = "us-east-1";

/// Every queue of one server.
#[derive(Debug)]
pub(crate) struct Sqs {
    sim: SimBackend,
    /// Where clients reach the server, for the queue URLs it hands out.
    endpoint: String,
    /// The profile's envelope, for every queue created.
    envelope: Envelope,
    clock: WallClock,
    queues: RefCell<BTreeMap<String, QueueEntry>>,
    /// Per-message facts the simulator does not keep, by SQS message id.
    facts: RefCell<HashMap<Arc<str>, MessageFacts>>,
    /// The message each receipt handed out names, for the history of deletes.
    receipts: RefCell<HashMap<String, Delivered>>,
    /// Move tasks started, by source queue: when (Unix ms) and at what rate.
    move_tasks: RefCell<HashMap<QueueId, (u64, Option<u32>)>>,
    /// FIFO sequence numbers: one counter for the server, so they grow per queue as SQS's do.
    sequence: Cell<u64>,
    /// Queues created, so a recreated name gets fresh random streams.
    created: Cell<usize>,
    /// FIFO receives by (queue, ReceiveRequestAttemptId): when (Unix ms) and what they returned.
    attempts: RefCell<BTreeMap<(String, String), (u64, Value)>>,
}

/// One live queue.
#[derive(Debug)]
struct QueueEntry {
    id: QueueId,
    name: String,
    settings: Settings,
    tags: BTreeMap<String, String>,
    created_s: u64,
    modified_s: u64,
}

/// The SQS id and body of a message a receipt was handed out for.
type Delivered = (Arc<str>, Arc<str>);

/// What SQS reports of a message beyond its body and receive count.
#[derive(Clone, Debug)]
struct MessageFacts {
    sent_ms: u64,
    first_receive_ms: Option<u64>,
    /// MessageAttributes as sent (a JSON object), and their MD5.
    attributes: Option<(Value, String)>,
    dedup_id: Option<Arc<str>>,
    sequence_number: Option<String>,
}

impl Sqs {
    pub(crate) fn new(seed: u64, envelope: Envelope, endpoint: String, clock: WallClock) -> Sqs {
        Sqs {
            sim: SimBackend::new(seed),
            endpoint,
            envelope,
            clock,
            queues: RefCell::default(),
            facts: RefCell::default(),
            receipts: RefCell::default(),
            move_tasks: RefCell::default(),
            sequence: Cell::new(0),
            created: Cell::new(0),
            attempts: RefCell::default(),
        }
    }

    /// Handles one operation: `operation` is the part of `X-Amz-Target` after `AmazonSQS.`.
    /// Messages the call concerns are noted in `notes`, for the history.
    pub(crate) async fn handle(
        &self,
        operation: &str,
        request: &Value,
        notes: &mut Vec<Note>,
    ) -> Result<Value, ApiError> {
        if !request.is_object() {
            return Err(errors::invalid_value(
                "The request body is not a JSON object.",
            ));
        }
        match operation {
            "CreateQueue" => self.create_queue(request),
            "GetQueueUrl" => self.get_queue_url(request),
            "ListQueues" => self.list_queues(request),
            "GetQueueAttributes" => self.get_queue_attributes(request).await,
            "SetQueueAttributes" => self.set_queue_attributes(request),
            "TagQueue" => self.tag_queue(request),
            "UntagQueue" => self.untag_queue(request),
            "ListQueueTags" => self.list_queue_tags(request),
            "DeleteQueue" => self.delete_queue(request).await,
            "PurgeQueue" => self.purge_queue(request).await,
            "StartMessageMoveTask" => self.start_message_move_task(request).await,
            "ListMessageMoveTasks" => self.list_message_move_tasks(request).await,
            "SendMessage" => self.send_message(request, notes).await,
            "SendMessageBatch" => self.send_message_batch(request, notes).await,
            "ReceiveMessage" => self.receive_message(request, notes).await,
            "DeleteMessage" => self.delete_message(request, notes).await,
            "DeleteMessageBatch" => self.delete_message_batch(request, notes).await,
            "ChangeMessageVisibility" => self.change_message_visibility(request).await,
            "ChangeMessageVisibilityBatch" => self.change_message_visibility_batch(request).await,
            _ => Err(ApiError::client(
                "UnsupportedOperation",
                format!("qsim serve does not implement AmazonSQS.{operation}."),
            )),
        }
    }

    /// The queue a transition happened in is named by the simulator; the history wants them.
    pub(crate) fn sim(&self) -> &SimBackend {
        &self.sim
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{ACCOUNT}/{name}", self.endpoint)
    }
}

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

/// The queue name an ARN of this server names.
fn name_of_arn(arn: &str) -> Option<&str> {
    arn.strip_prefix(&format!("arn:aws:sqs:{REGION}:{ACCOUNT}:"))
        .filter(|name| !name.is_empty())
}
