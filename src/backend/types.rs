//! Plain data crossing the backend boundary.

use std::sync::Arc;
use std::time::Duration;

use crate::sqs::envelope::Envelope;
use crate::sqs::faults::ApiOperation;
use crate::sqs::{QueueAttributes, QueueRole};

/// A queue the backend created for this run, by position in creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub usize);

/// Everything needed to create one queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSpec {
    pub role: QueueRole,
    pub attributes: QueueAttributes,
    pub redrive: Option<Redrive>,
    /// The simulator's envelope (ignored by other backends).
    pub sim: Envelope,
}

/// RedrivePolicy: after `max_receive_count` deliveries the next receive moves the message to `dlq`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Redrive {
    pub dlq: QueueId,
    pub max_receive_count: u32,
}

/// One entry of SendMessageBatch.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingMessage {
    /// Batch entry id, unique within the batch (`[A-Za-z0-9_-]{1,80}`).
    pub entry_id: String,
    pub body: Arc<str>,
    pub group_id: Option<Arc<str>>,
    pub dedup_id: Option<Arc<str>>,
    /// Per-message DelaySeconds (standard queues only).
    pub delay: Option<Duration>,
}

/// What SQS answered for one accepted entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SendOutcome {
    pub message_id: SqsMessageId,
}

/// The id SQS gives a message: the text a queue answered, or the simulator's UUID kept as its 16
/// bytes and spelled out only when asked ([`SqsMessageId::text`]). qsim's own producers and
/// consumers never read it, and a million-message run would otherwise spell two million of
/// them (each send's and each receive's); `qsim serve` and the AWS backend's bookkeeping do.
#[derive(Clone, Debug)]
pub struct SqsMessageId(IdRepr);

#[derive(Clone, Debug)]
enum IdRepr {
    /// A UUID's bits, most significant byte first.
    Uuid([u8; 16]),
    Text(Arc<str>),
}

impl SqsMessageId {
    pub(crate) fn from_uuid(bits: [u8; 16]) -> SqsMessageId {
        SqsMessageId(IdRepr::Uuid(bits))
    }

    /// The id as SQS shows it; a UUID as 36 characters, lowercase hex grouped 8-4-4-4-12.
    pub fn text(&self) -> Arc<str> {
        match &self.0 {
            IdRepr::Text(text) => Arc::clone(text),
            IdRepr::Uuid(bits) => uuid_text(*bits),
        }
    }
}

fn uuid_text(bits: [u8; 16]) -> Arc<str> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = u128::from_be_bytes(bits);
    let mut text = [0u8; 36];
    let mut nibble = 32;
    for (position, byte) in text.iter_mut().enumerate() {
        if matches!(position, 8 | 13 | 18 | 23) {
            *byte = b'-';
        } else {
            nibble -= 1;
            *byte = HEX[((bits >> (nibble * 4)) & 0xf) as usize];
        }
    }
    Arc::from(std::str::from_utf8(&text).expect("ASCII hex"))
}

impl From<Arc<str>> for SqsMessageId {
    fn from(text: Arc<str>) -> SqsMessageId {
        SqsMessageId(IdRepr::Text(text))
    }
}

impl From<&str> for SqsMessageId {
    fn from(text: &str) -> SqsMessageId {
        SqsMessageId(IdRepr::Text(Arc::from(text)))
    }
}

/// Equal when they spell the same id, however each is kept.
impl PartialEq for SqsMessageId {
    fn eq(&self, other: &SqsMessageId) -> bool {
        match (&self.0, &other.0) {
            (IdRepr::Uuid(a), IdRepr::Uuid(b)) => a == b,
            (IdRepr::Text(a), IdRepr::Text(b)) => a == b,
            _ => self.text() == other.text(),
        }
    }
}

impl Eq for SqsMessageId {}

impl std::fmt::Display for SqsMessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// ReceiveMessage parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReceiveRequest {
    /// MaxNumberOfMessages, 1 to 10.
    pub max: u32,
    /// WaitTimeSeconds, 0 to 20 s.
    pub wait: Duration,
    /// VisibilityTimeout override for this receive.
    pub visibility: Option<Duration>,
}

/// One delivered message.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedMessage {
    pub message_id: SqsMessageId,
    pub body: Arc<str>,
    pub receipt: Receipt,
    /// ApproximateReceiveCount, including this delivery.
    pub receive_count: u32,
    pub group_id: Option<Arc<str>>,
}

/// A receipt handle. The simulator uses a compact token; AWS an opaque string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Receipt {
    Token { slot: u64, generation: u32 },
    Handle(Arc<str>),
}

/// ApproximateNumberOfMessages, ...NotVisible, ...Delayed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl QueueDepth {
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// A message move task as ListMessageMoveTasks reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveTask {
    pub handle: Arc<str>,
    pub state: MoveTaskState,
    pub moved: u64,
    pub to_move: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveTaskState {
    Running,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

/// Behaviours a scenario may depend on that not every backend reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// StartMessageMoveTask and ListMessageMoveTasks.
    MessageMoveTask,
    /// PurgeQueue taking up to 60 s, deleting messages sent while it runs.
    AsyncPurge,
    /// Seeded duplicate delivery and reordering on standard queues.
    InjectedFaults,
    /// FIFO deduplication that remembers ids for 5 minutes after delete.
    FifoDedupWindow,
    /// FIFO deduplication per message group (`DeduplicationScope=messageGroup`).
    FifoDedupScope,
    /// FIFO group order kept when several receivers poll one group, or when several in-flight
    /// messages of a group go back to the queue together (a batch that times out or is released).
    FifoRedeliveryOrder,
    /// Deterministic for a seed (virtual time, one RNG): timelines are exact.
    Deterministic,
    /// Taking messages as fast as the scenario's producers send them (their rates summed):
    /// an endpoint declared slower (`--endpoint-max-rate`) would fail such a scenario on timing.
    SendRate,
    /// A `command` consumer's calls seen and struck: its receives and deletes recorded by
    /// instance, `[[faults]]` injected into them. The simulator served for the run does both
    /// (see [`CALLER_KEY_PREFIX`]).
    CommandCalls,
}

impl Capability {
    pub fn describe(self) -> &'static str {
        match self {
            Capability::MessageMoveTask => {
                "StartMessageMoveTask / ListMessageMoveTasks (DLQ redrive)"
            }
            Capability::AsyncPurge => "PurgeQueue's asynchronous 60 s window",
            Capability::InjectedFaults => "seeded duplicate delivery and reordering (sim knobs)",
            Capability::FifoDedupWindow => {
                "FIFO deduplication remembered for 5 minutes after delete"
            }
            Capability::FifoDedupScope => {
                "FIFO deduplication per message group (DeduplicationScope=messageGroup)"
            }
            Capability::FifoRedeliveryOrder => {
                "FIFO group order with several receivers of one group, or a batch of one group returning to the queue"
            }
            Capability::Deterministic => "deterministic timing for a seed",
            Capability::SendRate => {
                "the scenario's send rate (above what --endpoint-max-rate declares the endpoint takes)"
            }
            Capability::CommandCalls => {
                "the `command` consumer's calls seen (its receives and deletes) and struck by `[[faults]]`, which only the simulator qsim serves to it does (the default backend)"
            }
        }
    }
}

/// A set of [`Capability`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities(pub std::collections::BTreeSet<Capability>);

impl Capabilities {
    pub fn all() -> Self {
        use Capability::*;
        Capabilities(
            [
                MessageMoveTask,
                AsyncPurge,
                InjectedFaults,
                FifoDedupWindow,
                FifoDedupScope,
                FifoRedeliveryOrder,
                Deterministic,
                CommandCalls,
            ]
            .into_iter()
            .collect(),
        )
    }

    pub fn has(&self, capability: Capability) -> bool {
        self.0.contains(&capability)
    }
}

/// A change a queue made by itself, not as the answer to a call: what the history needs to
/// account for every message. Only backends that can observe them report them (the simulator);
/// on AWS the checker infers them from the final state instead.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueTransition {
    /// When it happened (a lazily applied timer reports its due moment, not the moment it was
    /// applied).
    pub at: tokio::time::Instant,
    /// The queue it happened in.
    pub queue: QueueRole,
    pub kind: TransitionKind,
    /// The message's body, which names it.
    pub body: Arc<str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionKind {
    /// An in-flight message's visibility timeout ran out: it is visible again.
    VisibilityExpired,
    /// Moved to the dead-letter queue by the redrive policy, with the receive count it had.
    DeadLettered { receive_count: u32 },
    /// Deleted by a purge.
    Purged,
    /// A FIFO send accepted but dropped: its deduplication id was seen within 5 minutes.
    Deduplicated,
    /// Deleted at the end of the retention period.
    Expired,
    /// Returned to this queue from its dead-letter queue by a message move task (as a new
    /// message, never received).
    Redriven,
    /// Simulator fault injection: a receive left a second copy in the queue.
    Duplicated,
    /// A delete or visibility change (`operation`) came with a receipt handle of an earlier
    /// receive (the message was received again since). SQS answers OK and may or may not act on
    /// it; `acted` is what the queue did.
    StaleReceipt {
        operation: ApiOperation,
        acted: bool,
    },
}

impl TransitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::VisibilityExpired => "visibility-expired",
            TransitionKind::DeadLettered { .. } => "dead-lettered",
            TransitionKind::Purged => "purged",
            TransitionKind::Deduplicated => "deduplicated",
            TransitionKind::Expired => "expired",
            TransitionKind::Redriven => "redriven",
            TransitionKind::Duplicated => "duplicated",
            TransitionKind::StaleReceipt { .. } => "stale-receipt",
        }
    }
}

/// The access key id prefix by which `qsim serve` names a caller in its history: a client
/// signing as `qsim.worker-1` is `worker-1` there. Such a key is never a real credential (AWS
/// key ids are upper-case letters and digits), so it may be written down.
pub const CALLER_KEY_PREFIX: &str = "qsim.";

/// What a process outside qsim needs to reach a run's resources: the endpoint, the region, the
/// queue URLs and the table names (the contract of `command` consumers' environment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reachable {
    /// `None`: AWS itself.
    pub endpoint_url: Option<String>,
    pub region: String,
    /// The named profile qsim itself uses (`--profile`), passed on so children sign alike.
    pub profile: Option<String>,
    pub queue_url: String,
    pub dlq_url: Option<String>,
    pub status_table: String,
    pub side_effects_table: String,
    /// The endpoint names its callers by their access key id (the simulator served for the
    /// run, see [`CALLER_KEY_PREFIX`]): each `command` instance signs as itself, so its calls
    /// are told apart in the endpoint's history.
    pub names_callers: bool,
}
