//! The history as JSON lines (`--events`): a versioned header, every event of the run in time
//! order, then the final state, so a reader can recompute every metric from the file alone.
//!
//! [`EVENTS`] documents each line kind once; the README's event table, the JSON Schema
//! (`qsim schema --events`) and a test over the catalog's logs are all derived from it, so the
//! writer, the schema and the documentation cannot drift apart.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::backend::TransitionKind;
use crate::engine::{Event, EventKind, EventLog, Outcome};
use crate::scenario::{FieldValue, Scenario};

/// The `format` of the header line.
pub const FORMAT: &str = "qsim-events";
/// Bumped whenever a line kind or a field changes meaning or disappears.
pub const VERSION: u32 = 1;

/// A field's JSON type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Number,
    Boolean,
    /// A string or null.
    OptString,
    /// An integer or null.
    OptInteger,
    /// A string or an integer (order-log values).
    Scalar,
    /// An object of counts by name (`{"ReceiveMessage": 12}`).
    Counts,
}

impl FieldType {
    fn schema(self) -> Value {
        match self {
            FieldType::String => json!({"type": "string"}),
            FieldType::Integer => json!({"type": "integer", "minimum": 0}),
            FieldType::Number => json!({"type": "number"}),
            FieldType::Boolean => json!({"type": "boolean"}),
            FieldType::OptString => json!({"type": ["string", "null"]}),
            FieldType::OptInteger => json!({"type": ["integer", "null"], "minimum": 0}),
            FieldType::Scalar => json!({"type": ["string", "integer"]}),
            FieldType::Counts => json!({
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0}
            }),
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            FieldType::String => value.is_string(),
            FieldType::Integer => value.is_u64(),
            FieldType::Number => value.is_number(),
            FieldType::Boolean => value.is_boolean(),
            FieldType::OptString => value.is_string() || value.is_null(),
            FieldType::OptInteger => value.is_u64() || value.is_null(),
            FieldType::Scalar => value.is_string() || value.is_i64(),
            FieldType::Counts => value
                .as_object()
                .is_some_and(|counts| counts.values().all(Value::is_u64)),
        }
    }
}

/// One field of a line kind.
#[derive(Debug)]
pub struct FieldDoc {
    pub name: &'static str,
    pub ty: FieldType,
    pub meaning: &'static str,
}

/// Whether a line kind names a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    Always,
    Never,
    /// Absent for a body no producer of this run sent.
    WhenKnown,
}

/// One kind of line after the header.
#[derive(Debug)]
pub struct EventDoc {
    pub event: &'static str,
    /// Who records it (the `actor` field).
    pub actor: &'static str,
    pub message: Names,
    pub fields: &'static [FieldDoc],
    pub meaning: &'static str,
    /// One line of this kind, as qsim writes it (checked against the rest by a test).
    pub example: &'static str,
}

macro_rules! field {
    ($name:literal, $ty:ident, $meaning:literal) => {
        FieldDoc {
            name: $name,
            ty: FieldType::$ty,
            meaning: $meaning,
        }
    };
}

const MESSAGE_FACTS: &[FieldDoc] = &[
    field!("producer", String, "the producer's name"),
    field!(
        "group",
        OptString,
        "FIFO message group (null on a standard queue)"
    ),
    field!(
        "dedup_id",
        OptString,
        "FIFO deduplication id, when the producer sets one"
    ),
    field!("entity", OptString, "versioned payloads: the entity"),
    field!("version", OptInteger, "versioned payloads: the version"),
    field!("poison", Boolean, "a poison message"),
    field!(
        "seq",
        Integer,
        "position among its producer's messages of the same group, from 1 (the send order)"
    ),
];

const QUEUE_ACTOR: &str = "`queue:main` or `queue:dlq`";

/// Every kind of line after the header, in the order the README lists them.
pub const EVENTS: &[EventDoc] = &[
    EventDoc {
        event: "sent",
        actor: "producer",
        message: Names::Always,
        fields: MESSAGE_FACTS,
        meaning: "SQS accepted the message (one `sent` or `send-failed` per message, with its facts; none for a message whose producer's record commit failed or that crashed after the commit without an outbox)",
        example: r#"{"t_ms":0.0,"actor":"orders","event":"sent","message":"orders-0001","producer":"orders","group":"g1","dedup_id":"orders-0001","entity":null,"version":null,"poison":false,"seq":1}"#,
    },
    EventDoc {
        event: "send-failed",
        actor: "producer",
        message: Names::Always,
        fields: MESSAGE_FACTS,
        meaning: "SQS refused the message",
        example: r#"{"t_ms":0.0,"actor":"orders","event":"send-failed","message":"orders-0002","producer":"orders","group":null,"dedup_id":null,"entity":"e1","version":3,"poison":false,"seq":2}"#,
    },
    EventDoc {
        event: "committed",
        actor: "producer",
        message: Names::Always,
        fields: MESSAGE_FACTS,
        meaning: "an `outbox` or `dual_write` producer committed the message's business record (`record:ID` in the status table; with `outbox`, together with its outbox row `outbox:ID`, in one TransactWriteItems); the message's facts, as on its `sent` line",
        example: r#"{"t_ms":0.0,"actor":"orders","event":"committed","message":"orders-0001","producer":"orders","group":null,"dedup_id":null,"entity":null,"version":null,"poison":false,"seq":1}"#,
    },
    EventDoc {
        event: "commit-failed",
        actor: "producer",
        message: Names::Always,
        fields: &[],
        meaning: "the business record's write failed: the producer's write of this message ends there",
        example: r#"{"t_ms":0.0,"actor":"orders","event":"commit-failed","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "resent",
        actor: "producer",
        message: Names::Always,
        fields: &[],
        meaning: "an outbox relay, after a restart, sent a message whose row outlived its send: a second copy in the queue",
        example: r#"{"t_ms":0.0,"actor":"orders","event":"resent","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "outbox-deleted",
        actor: "producer",
        message: Names::Always,
        fields: &[],
        meaning: "an outbox relay deleted the message's outbox row after sending it",
        example: r#"{"t_ms":0.0,"actor":"orders","event":"outbox-deleted","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "payload-stored",
        actor: "producer",
        message: Names::Always,
        fields: &[field!(
            "chunks",
            Integer,
            "how many items hold the body, at most 384 KiB each"
        )],
        meaning: "a `claim_check_above` producer stored the message's body in the status table as `chunks` items (`payload:ID:0` on, one TransactWriteItems) before sending a pointer to it",
        example: r#"{"t_ms":0.0,"actor":"large","event":"payload-stored","message":"large-0001","chunks":3}"#,
    },
    EventDoc {
        event: "payload-missing",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "the consumer found the message's stored payload gone or incomplete (e.g. deleted with an earlier copy of the message): it cannot handle the message, which SQS delivers again",
        example: r#"{"t_ms":1.0,"actor":"worker-1","event":"payload-missing","message":"large-0001"}"#,
    },
    EventDoc {
        event: "payload-deleted",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "the consumer deleted the message's stored payload after deleting the message",
        example: r#"{"t_ms":1.0,"actor":"worker-1","event":"payload-deleted","message":"large-0001"}"#,
    },
    EventDoc {
        event: "producer-done",
        actor: "producer",
        message: Names::Never,
        fields: &[],
        meaning: "the producer sent its last message or was stopped",
        example: r#"{"t_ms":0.0,"actor":"orders","event":"producer-done"}"#,
    },
    EventDoc {
        event: "consumer-started",
        actor: "consumer",
        message: Names::Never,
        fields: &[],
        meaning: "a consumer instance started",
        example: r#"{"t_ms":0.0,"actor":"worker-1","event":"consumer-started"}"#,
    },
    EventDoc {
        event: "received",
        actor: "consumer",
        message: Names::Always,
        fields: &[field!(
            "receive_count",
            Integer,
            "SQS's ApproximateReceiveCount, this delivery included"
        )],
        meaning: "one message of a ReceiveMessage response, at the moment of the receive, whether or not the consumer gets to handle it",
        example: r#"{"t_ms":12.5,"actor":"worker-1","event":"received","message":"orders-0001","receive_count":1}"#,
    },
    EventDoc {
        event: "unexpected",
        actor: "consumer",
        message: Names::Never,
        fields: &[],
        meaning: "a received body that no producer of this run sent",
        example: r#"{"t_ms":12.5,"actor":"worker-1","event":"unexpected"}"#,
    },
    EventDoc {
        event: "rejected",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "poison rejected: not deleted, so SQS delivers it again",
        example: r#"{"t_ms":12.5,"actor":"worker-1","event":"rejected","message":"orders-0003"}"#,
    },
    EventDoc {
        event: "released",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "handed back unhandled (visibility 0): SIGTERM, or beyond `message_limit`",
        example: r#"{"t_ms":5000.0,"actor":"worker-1","event":"released","message":"orders-0004"}"#,
    },
    EventDoc {
        event: "release-failed",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "the release was refused (the receipt was no longer valid)",
        example: r#"{"t_ms":5000.0,"actor":"worker-1","event":"release-failed","message":"orders-0004"}"#,
    },
    EventDoc {
        event: "skipped",
        actor: "consumer",
        message: Names::Always,
        fields: &[
            field!(
                "reason",
                String,
                "seen-in-memory, already-completed, in-progress-elsewhere, already-performed or condition-failed"
            ),
            field!("key", String, "the idempotency key"),
        ],
        meaning: "the idempotency pattern kept the consumer from doing the side effect",
        example: r#"{"t_ms":3012.5,"actor":"worker-2","event":"skipped","message":"orders-0001","reason":"already-completed","key":"orders-0001"}"#,
    },
    EventDoc {
        event: "side-effect",
        actor: "consumer",
        message: Names::Always,
        fields: &[field!(
            "key",
            String,
            "the idempotency key (the message id, or the business key's value)"
        )],
        meaning: "the side effect happened (one more on the key's item in the side-effects table)",
        example: r#"{"t_ms":3012.5,"actor":"worker-1","event":"side-effect","message":"orders-0001","key":"o-1"}"#,
    },
    EventDoc {
        event: "applying",
        actor: "consumer",
        message: Names::Always,
        fields: &[
            field!("version", Integer, "the version being written"),
            field!(
                "entity",
                String,
                "the entity written (the value of the consumer's `versioning.entity` field)"
            ),
        ],
        meaning: "a versioned write is sent (with `applied` it brackets the write in time)",
        example: r#"{"t_ms":20.0,"actor":"worker-1","event":"applying","message":"events-0007","version":4,"entity":"e1"}"#,
    },
    EventDoc {
        event: "applied",
        actor: "consumer",
        message: Names::Always,
        fields: &[
            field!("version", Integer, "the version written"),
            field!("key", String, "the idempotency key"),
        ],
        meaning: "the versioned write succeeded (a side effect on item `entity:ENTITY`)",
        example: r#"{"t_ms":20.0,"actor":"worker-1","event":"applied","message":"events-0007","version":4,"key":"events-0007"}"#,
    },
    EventDoc {
        event: "stale-version",
        actor: "consumer",
        message: Names::Always,
        fields: &[
            field!("version", Integer, "the version refused"),
            field!("current", Integer, "the version the entity had"),
        ],
        meaning: "the versioned write was refused: the entity already had this or a newer version",
        example: r#"{"t_ms":21.0,"actor":"worker-2","event":"stale-version","message":"events-0002","version":2,"current":4}"#,
    },
    EventDoc {
        event: "stale-message",
        actor: "consumer",
        message: Names::Always,
        fields: &[field!("age_ms", Integer, "the message's age")],
        meaning: "older than `stale_after`: deleted without being applied",
        example: r#"{"t_ms":61000.0,"actor":"worker-1","event":"stale-message","message":"orders-0009","age_ms":61000}"#,
    },
    EventDoc {
        event: "logged",
        actor: "consumer",
        message: Names::Always,
        fields: &[field!("value", Scalar, "the `log_field` value")],
        meaning: "an order-log entry, written when the side effect happened",
        example: r#"{"t_ms":20.0,"actor":"worker-1","event":"logged","message":"orders-0001","value":1}"#,
    },
    EventDoc {
        event: "status-written",
        actor: "consumer",
        message: Names::Always,
        fields: &[field!("status", String, "STARTED or COMPLETED")],
        meaning: "the status table's item for the key was written",
        example: r#"{"t_ms":20.0,"actor":"worker-1","event":"status-written","message":"orders-0001","status":"COMPLETED"}"#,
    },
    EventDoc {
        event: "deleted",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "DeleteMessage succeeded (with a stale receipt, SQS may not have deleted the message: on the simulator a `stale-receipt` line of the same instant says)",
        example: r#"{"t_ms":20.0,"actor":"worker-1","event":"deleted","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "delete-failed",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "DeleteMessage was refused (e.g. an expired FIFO receipt)",
        example: r#"{"t_ms":40000.0,"actor":"worker-1","event":"delete-failed","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "heartbeat",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "the message's visibility was extended",
        example: r#"{"t_ms":1000.0,"actor":"worker-1","event":"heartbeat","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "heartbeat-failed",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "the extension was refused (past SQS's 12-hour limit); the consumer stops extending it and goes on",
        example: r#"{"t_ms":43200000.0,"actor":"worker-1","event":"heartbeat-failed","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "prefetch-expired",
        actor: "consumer",
        message: Names::Always,
        fields: &[],
        meaning: "taken from the `prefetch` buffer after its visibility timeout ran out while it waited there: SQS may have delivered it to another consumer; it is handled anyway",
        example: r#"{"t_ms":4000.0,"actor":"worker-1","event":"prefetch-expired","message":"orders-0007"}"#,
    },
    EventDoc {
        event: "invoked",
        actor: "consumer",
        message: Names::Never,
        fields: &[field!(
            "messages",
            Integer,
            "how many messages the invocation's batch holds"
        )],
        meaning: "a `poller` invoked the function with the batch it received last",
        example: r#"{"t_ms":12.5,"actor":"lambda-1","event":"invoked","messages":10}"#,
    },
    EventDoc {
        event: "throttled",
        actor: "consumer",
        message: Names::WhenKnown,
        fields: &[],
        meaning: "a `poller`'s invocation holding this message was throttled (the function was at `max_concurrency`); the poller retries while the batch's visibility timeout lasts, then leaves it to come back",
        example: r#"{"t_ms":12.5,"actor":"lambda-2","event":"throttled","message":"orders-0011"}"#,
    },
    EventDoc {
        event: "invocation-timed-out",
        actor: "consumer",
        message: Names::Never,
        fields: &[],
        meaning: "an invocation ran past `function_timeout` and was stopped: nothing of its batch is deleted",
        example: r#"{"t_ms":30012.5,"actor":"lambda-1","event":"invocation-timed-out"}"#,
    },
    EventDoc {
        event: "crashed",
        actor: "consumer or producer",
        message: Names::WhenKnown,
        fields: &[field!(
            "point",
            String,
            "a consumer's after-receive, mid-processing or after-side-effect; a producer's after-commit or after-send"
        )],
        meaning: "the instance crashed, holding what it had received; or an `outbox` / `dual_write` producer crashed between its two writes of the message (it restarts at once)",
        example: r#"{"t_ms":0.0,"actor":"worker-1","event":"crashed","message":"orders-0001","point":"after-receive"}"#,
    },
    EventDoc {
        event: "killed",
        actor: "consumer",
        message: Names::Never,
        fields: &[],
        meaning: "the instance was killed (SIGKILL)",
        example: r#"{"t_ms":5000.0,"actor":"worker-1","event":"killed"}"#,
    },
    EventDoc {
        event: "exited",
        actor: "consumer",
        message: Names::Never,
        fields: &[field!(
            "reason",
            String,
            "idle, message-limit or terminated"
        )],
        meaning: "the instance exited cleanly",
        example: r#"{"t_ms":9000.0,"actor":"worker-1","event":"exited","reason":"idle"}"#,
    },
    EventDoc {
        event: "shutdown-requested",
        actor: "consumer",
        message: Names::Never,
        fields: &[],
        meaning: "SIGTERM reached the instance",
        example: r#"{"t_ms":2000.0,"actor":"worker-1","event":"shutdown-requested"}"#,
    },
    EventDoc {
        event: "visibility-expired",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[],
        meaning: "an in-flight message's visibility timeout ran out: visible again",
        example: r#"{"t_ms":2012.5,"actor":"queue:main","event":"visibility-expired","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "dead-lettered",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[field!(
            "receive_count",
            Integer,
            "the receive count it had when moved"
        )],
        meaning: "moved to the DLQ by the redrive policy",
        example: r#"{"t_ms":8000.0,"actor":"queue:main","event":"dead-lettered","message":"orders-0003","receive_count":3}"#,
    },
    EventDoc {
        event: "purged",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[],
        meaning: "deleted by a purge of this queue",
        example: r#"{"t_ms":10000.0,"actor":"queue:main","event":"purged","message":"orders-0005"}"#,
    },
    EventDoc {
        event: "deduplicated",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[],
        meaning: "a FIFO send accepted but dropped: its deduplication id was seen within 5 minutes",
        example: r#"{"t_ms":0.0,"actor":"queue:main","event":"deduplicated","message":"orders-0002"}"#,
    },
    EventDoc {
        event: "expired",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[],
        meaning: "deleted at the end of the retention period",
        example: r#"{"t_ms":60000.0,"actor":"queue:main","event":"expired","message":"orders-0006"}"#,
    },
    EventDoc {
        event: "redriven",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[],
        meaning: "returned to the main queue from the DLQ by a move task (a new SQS message, never received)",
        example: r#"{"t_ms":4100.0,"actor":"queue:main","event":"redriven","message":"orders-0003"}"#,
    },
    EventDoc {
        event: "duplicated",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[],
        meaning: "`[queue.sim] duplicate_rate`: a receive left a second copy in the queue",
        example: r#"{"t_ms":12.5,"actor":"queue:main","event":"duplicated","message":"orders-0001"}"#,
    },
    EventDoc {
        event: "stale-receipt",
        actor: QUEUE_ACTOR,
        message: Names::WhenKnown,
        fields: &[
            field!("operation", String, "delete or change_visibility"),
            field!(
                "acted",
                Boolean,
                "whether the queue acted on it (deleted the message, changed its visibility)"
            ),
        ],
        meaning: "a consumer deleted the message or changed its visibility with the receipt of an earlier receive (it was received again since); SQS answers OK either way and may or may not act (`inert-stale-receipts`)",
        example: r#"{"t_ms":8100.0,"actor":"queue:main","event":"stale-receipt","message":"orders-0001","operation":"delete","acted":false}"#,
    },
    EventDoc {
        event: "fault",
        actor: "api",
        message: Names::WhenKnown,
        fields: &[
            field!(
                "operation",
                String,
                "send, receive, delete, change_visibility, get_item, put_item or update_item"
            ),
            field!(
                "fault",
                String,
                "throttle, error, timeout_before, timeout_after or latency"
            ),
        ],
        meaning: "`[[faults]]`: the fault layer injected a fault into a call; one line per message the call names (each of a send; each a hidden `timeout_after` receive or delete took), else one without `message`",
        example: r#"{"t_ms":0.0,"actor":"api","event":"fault","message":"orders-0001","operation":"send","fault":"timeout_after"}"#,
    },
    EventDoc {
        event: "retried",
        actor: "producer or consumer",
        message: Names::WhenKnown,
        fields: &[
            field!("operation", String, "the operation retried (as in `fault`)"),
            field!("attempt", Integer, "the attempt now made, 2 or more"),
        ],
        meaning: "a call that failed transiently (throttled, 5xx, timed out) is made again after its backoff (`retries`); one line per message the call concerns, else one without `message`",
        example: r#"{"t_ms":1010.0,"actor":"orders","event":"retried","message":"orders-0001","operation":"send","attempt":2}"#,
    },
    EventDoc {
        event: "purge",
        actor: "timeline",
        message: Names::Never,
        fields: &[field!("queue", String, "main or dlq")],
        meaning: "PurgeQueue was called",
        example: r#"{"t_ms":10000.0,"actor":"timeline","event":"purge","queue":"main"}"#,
    },
    EventDoc {
        event: "purge-failed",
        actor: "timeline",
        message: Names::Never,
        fields: &[field!("queue", String, "main or dlq")],
        meaning: "PurgeQueue was refused (a purge was still running)",
        example: r#"{"t_ms":20000.0,"actor":"timeline","event":"purge-failed","queue":"main"}"#,
    },
    EventDoc {
        event: "redrive-started",
        actor: "timeline",
        message: Names::Never,
        fields: &[],
        meaning: "a message move task from the DLQ started",
        example: r#"{"t_ms":4000.0,"actor":"timeline","event":"redrive-started"}"#,
    },
    EventDoc {
        event: "redrive-failed",
        actor: "timeline",
        message: Names::Never,
        fields: &[],
        meaning: "the move task could not start",
        example: r#"{"t_ms":4000.0,"actor":"timeline","event":"redrive-failed"}"#,
    },
    EventDoc {
        event: "deployed",
        actor: "timeline",
        message: Names::Never,
        fields: &[],
        meaning: "a group's behaviour changed",
        example: r#"{"t_ms":4000.0,"actor":"timeline","event":"deployed"}"#,
    },
    EventDoc {
        event: "scaled-out",
        actor: "autoscaler",
        message: Names::Never,
        fields: &[],
        meaning: "the autoscaler started an instance",
        example: r#"{"t_ms":5000.0,"actor":"autoscaler","event":"scaled-out"}"#,
    },
    EventDoc {
        event: "scaled-in",
        actor: "autoscaler",
        message: Names::Never,
        fields: &[],
        meaning: "the autoscaler terminated an instance",
        example: r#"{"t_ms":5000.0,"actor":"autoscaler","event":"scaled-in"}"#,
    },
    EventDoc {
        event: "timed-out",
        actor: "engine",
        message: Names::Never,
        fields: &[],
        meaning: "the scenario's timeout passed before the run was over",
        example: r#"{"t_ms":120000.0,"actor":"engine","event":"timed-out"}"#,
    },
    EventDoc {
        event: "final-message",
        actor: "engine",
        message: Names::WhenKnown,
        fields: &[
            field!("queue", String, "main or dlq"),
            field!("receive_count", Integer, "its receive count"),
        ],
        meaning: "after the run: a message still stored in a queue (one line each)",
        example: r#"{"t_ms":15000.0,"actor":"engine","event":"final-message","message":"orders-0003","queue":"dlq","receive_count":3}"#,
    },
    EventDoc {
        event: "final-item",
        actor: "engine",
        message: Names::Never,
        fields: &[
            field!("table", String, "status or side_effects"),
            field!(
                "key",
                String,
                "the item's key (`entity:E` for versioned entities)"
            ),
            field!("count", Integer, "side effects on this key"),
            field!("version", OptInteger, "the entity's version"),
            field!("status", OptString, "STARTED or COMPLETED"),
        ],
        meaning: "after the run: one item of a table (one line each)",
        example: r#"{"t_ms":15000.0,"actor":"engine","event":"final-item","table":"side_effects","key":"orders-0001","count":1,"version":null,"status":null}"#,
    },
    EventDoc {
        event: "run-ended",
        actor: "engine",
        message: Names::Never,
        fields: &[
            field!(
                "ending",
                String,
                "completed, timed-out, wall-limit (`--max-wall`) or standstill (a livelock)"
            ),
            field!(
                "peak_consumers",
                Integer,
                "most consumer instances alive at once"
            ),
            field!("redriven", Integer, "messages the move task moved back"),
            field!(
                "api_calls",
                Counts,
                "calls the producers, consumers, timeline and autoscaler made, per API operation (qsim's own provisioning and final reads not included)"
            ),
            field!(
                "billed_requests",
                Counts,
                "the requests those calls bill, per API operation: SQS bills each 64 KiB of a call's payload as one request"
            ),
        ],
        meaning: "the last line of a run",
        example: r#"{"t_ms":15000.0,"actor":"engine","event":"run-ended","ending":"completed","peak_consumers":2,"redriven":0,"api_calls":{"ReceiveMessage":3,"SendMessageBatch":1},"billed_requests":{"ReceiveMessage":3,"SendMessageBatch":1}}"#,
    },
];

/// The header line's fields.
pub const HEADER: &[FieldDoc] = &[
    field!("format", String, "always `qsim-events`"),
    field!(
        "version",
        Integer,
        "the format version (this README describes 1)"
    ),
    field!("scenario", String, "the scenario's name"),
    field!("seed", Integer, "the seed in force"),
    field!("backend", String, "sim or aws"),
    field!("queue", String, "standard or fifo"),
    field!(
        "observed_queue",
        Boolean,
        "true when the backend reports the queue's own transitions (the simulator)"
    ),
    field!(
        "max_receive_count",
        OptInteger,
        "the redrive policy's maxReceiveCount (null: no DLQ)"
    ),
];

/// Fields every line after the header has.
pub const COMMON: &[FieldDoc] = &[
    field!(
        "t_ms",
        Number,
        "milliseconds since the run started (virtual on the simulator)"
    ),
    field!("actor", String, "who did it"),
    field!("event", String, "the line's kind"),
    field!(
        "message",
        String,
        "the qsim message id (`orders-0001`), when it concerns one"
    ),
];

/// Writes `outcome`'s history: the header, every event, the final state.
pub fn write(out: &mut impl Write, scenario: &Scenario, outcome: &Outcome) -> io::Result<()> {
    let mut line = |value: &Value| -> io::Result<()> {
        serde_json::to_writer(&mut *out, value)?;
        out.write_all(b"\n")
    };
    line(&header(scenario, outcome))?;
    let log = &outcome.log;
    for event in &log.events {
        line(&event_line(log, &event, scenario.queue.attributes.fifo))?;
    }
    // In the events' own unit, so the end is never a rounding error before the last event.
    let last_us = log.events.last().map_or(0, |e| e.at_us);
    let end_ms = (outcome.elapsed.as_micros() as u64).max(last_us) as f64 / 1000.0;
    let engine = "engine";
    let queues = [
        ("main", &outcome.final_state.main),
        ("dlq", &outcome.final_state.dlq),
    ];
    for (queue, messages) in queues {
        for message in messages {
            let mut fields = Map::new();
            fields.insert("queue".into(), json!(queue));
            fields.insert("receive_count".into(), json!(message.receive_count));
            let id = crate::engine::Body::id_of(&message.body)
                .and_then(|id| log.lookup(&id))
                .map(|ix| &*log.meta(ix).id);
            line(&common(end_ms, engine, "final-message", id, fields))?;
        }
    }
    let tables = [
        ("status", &outcome.final_state.status),
        ("side_effects", &outcome.final_state.side_effects),
    ];
    for (name, items) in tables {
        for (key, item) in items {
            let mut fields = Map::new();
            fields.insert("table".into(), json!(name));
            fields.insert("key".into(), json!(key));
            fields.insert("count".into(), json!(item.count));
            fields.insert("version".into(), json!(item.version));
            fields.insert("status".into(), json!(item.status.map(|s| s.as_str())));
            line(&common(end_ms, engine, "final-item", None, fields))?;
        }
    }
    let mut fields = Map::new();
    fields.insert("ending".into(), json!(outcome.ending.as_str()));
    fields.insert("peak_consumers".into(), json!(outcome.peak_consumers));
    let redriven = outcome
        .final_state
        .move_task
        .as_ref()
        .map_or(0, |t| t.moved);
    fields.insert("redriven".into(), json!(redriven));
    fields.insert("api_calls".into(), json!(outcome.api.calls));
    fields.insert("billed_requests".into(), json!(outcome.api.billed));
    line(&common(end_ms, engine, "run-ended", None, fields))
}

fn header(scenario: &Scenario, outcome: &Outcome) -> Value {
    header_line(
        scenario,
        outcome.seed,
        outcome.backend,
        outcome.observed_queue,
    )
}

/// The header line of a history of `scenario` (also what `qsim consume --events` opens with).
pub(crate) fn header_line(
    scenario: &Scenario,
    seed: u64,
    backend: &str,
    observed_queue: bool,
) -> Value {
    json!({
        "format": FORMAT,
        "version": VERSION,
        "scenario": scenario.name,
        "seed": seed,
        "backend": backend,
        "queue": if scenario.queue.attributes.fifo { "fifo" } else { "standard" },
        "observed_queue": observed_queue,
        "max_receive_count": scenario.queue.max_receive_count,
    })
}

/// One line after the header: the common fields first, then `fields`.
pub(crate) fn common(
    t_ms: f64,
    actor: &str,
    event: &'static str,
    message: Option<&str>,
    fields: Map<String, Value>,
) -> Value {
    let mut line = Map::new();
    line.insert("t_ms".into(), json!(t_ms));
    line.insert("actor".into(), json!(actor));
    line.insert("event".into(), json!(event));
    if let Some(id) = message {
        line.insert("message".into(), json!(id));
    }
    line.extend(fields);
    Value::Object(line)
}

/// One event's history line.
pub(crate) fn event_line(log: &EventLog, event: &Event, fifo: bool) -> Value {
    let mut fields = Map::new();
    let mut put = |k: &str, v: Value| {
        fields.insert(k.to_owned(), v);
    };
    let key = |key| match event.message {
        Some(ix) => json!(&**log.key(ix, key)),
        None => Value::Null,
    };
    let name = match event.kind {
        EventKind::Sent | EventKind::SendFailed | EventKind::Committed => {
            if let Some(ix) = event.message {
                let meta = log.meta(ix);
                put("producer", json!(&*log.actors[event.actor.0 as usize]));
                put("group", json!(fifo.then(|| &*meta.group)));
                put("dedup_id", json!(meta.dedup_id().map(|id| &**id)));
                put("entity", json!(meta.entity().map(|entity| &**entity)));
                put("version", json!(meta.version()));
                put("poison", json!(meta.poison));
                put("seq", json!(meta.seq));
            }
            match event.kind {
                EventKind::Sent => "sent",
                EventKind::Committed => "committed",
                _ => "send-failed",
            }
        }
        EventKind::CommitFailed => "commit-failed",
        EventKind::Resent => "resent",
        EventKind::OutboxDeleted => "outbox-deleted",
        EventKind::PayloadStored { chunks } => {
            put("chunks", json!(chunks));
            "payload-stored"
        }
        EventKind::PayloadMissing => "payload-missing",
        EventKind::PayloadDeleted => "payload-deleted",
        EventKind::ProducerDone => "producer-done",
        EventKind::ConsumerStarted => "consumer-started",
        EventKind::Received { receive_count } => {
            put("receive_count", json!(receive_count));
            "received"
        }
        EventKind::Unexpected => "unexpected",
        EventKind::Rejected => "rejected",
        EventKind::Released => "released",
        EventKind::ReleaseFailed => "release-failed",
        EventKind::Skipped { reason, key: k } => {
            put("reason", json!(reason));
            put("key", key(k));
            "skipped"
        }
        EventKind::SideEffect { key: k } => {
            put("key", key(k));
            "side-effect"
        }
        EventKind::Applying { version, entity } => {
            put("version", json!(version));
            put("entity", key(entity));
            "applying"
        }
        EventKind::Applied { version, key: k } => {
            put("version", json!(version));
            put("key", key(k));
            "applied"
        }
        EventKind::StaleVersion { version, current } => {
            put("version", json!(version));
            put("current", json!(current));
            "stale-version"
        }
        EventKind::StaleMessage { age_ms } => {
            put("age_ms", json!(age_ms));
            "stale-message"
        }
        EventKind::Logged { value } => {
            let value = match &log.values[value as usize] {
                FieldValue::Int(i) => json!(i),
                FieldValue::Str(s) => json!(s),
            };
            put("value", value);
            "logged"
        }
        EventKind::StatusWritten(status) => {
            put("status", json!(status.as_str()));
            "status-written"
        }
        EventKind::Deleted => "deleted",
        EventKind::DeleteFailed => "delete-failed",
        EventKind::Heartbeat => "heartbeat",
        EventKind::HeartbeatFailed => "heartbeat-failed",
        EventKind::PrefetchExpired => "prefetch-expired",
        EventKind::Invoked { messages } => {
            put("messages", json!(messages));
            "invoked"
        }
        EventKind::Throttled => "throttled",
        EventKind::InvocationTimedOut => "invocation-timed-out",
        EventKind::Crashed(point) => {
            put("point", json!(point));
            "crashed"
        }
        EventKind::Killed => "killed",
        EventKind::Exited(reason) => {
            put("reason", json!(reason));
            "exited"
        }
        EventKind::ShutdownRequested => "shutdown-requested",
        EventKind::PurgeRequested(queue) => {
            put("queue", json!(queue.as_str()));
            "purge"
        }
        EventKind::PurgeFailed(queue) => {
            put("queue", json!(queue.as_str()));
            "purge-failed"
        }
        EventKind::RedriveStarted => "redrive-started",
        EventKind::RedriveFailed => "redrive-failed",
        EventKind::Deployed => "deployed",
        EventKind::ScaledOut => "scaled-out",
        EventKind::ScaledIn => "scaled-in",
        EventKind::TimedOut => "timed-out",
        EventKind::Fault { operation, fault } => {
            put("operation", json!(operation.as_str()));
            put("fault", json!(fault.as_str()));
            "fault"
        }
        EventKind::Retried { operation, attempt } => {
            put("operation", json!(operation.as_str()));
            put("attempt", json!(attempt));
            "retried"
        }
        EventKind::Queue(transition) => {
            transition_fields(transition, put);
            transition.as_str()
        }
    };
    common(
        event.at_us as f64 / 1000.0,
        &log.actors[event.actor.0 as usize],
        name,
        event.message.map(|m| &*log.meta(m).id),
        fields,
    )
}

/// The fields of a queue's transition line beside `message` (in qsim's history and in `qsim
/// serve`'s).
pub(crate) fn transition_fields(transition: TransitionKind, mut put: impl FnMut(&str, Value)) {
    match transition {
        TransitionKind::DeadLettered { receive_count } => {
            put("receive_count", json!(receive_count))
        }
        TransitionKind::StaleReceipt { operation, acted } => {
            put("operation", json!(operation.as_str()));
            put("acted", json!(acted));
        }
        TransitionKind::VisibilityExpired
        | TransitionKind::Purged
        | TransitionKind::Deduplicated
        | TransitionKind::Expired
        | TransitionKind::Redriven
        | TransitionKind::Duplicated => {}
    }
}

/// The JSON Schema of one line of the history (`qsim schema --events`): the header or one of
/// [`EVENTS`].
pub fn json_schema() -> Value {
    let properties = |docs: &[&FieldDoc]| -> Map<String, Value> {
        docs.iter()
            .map(|f| {
                let mut schema = f.ty.schema();
                schema["description"] = json!(f.meaning);
                (f.name.to_owned(), schema)
            })
            .collect()
    };
    let header_fields: Vec<&FieldDoc> = HEADER.iter().collect();
    let mut header_props = properties(&header_fields);
    header_props["format"]["const"] = json!(FORMAT);
    header_props["version"]["const"] = json!(VERSION);
    let header = json!({
        "title": "header",
        "type": "object",
        "properties": header_props,
        "required": HEADER.iter().map(|f| f.name).collect::<Vec<_>>(),
        "additionalProperties": false,
    });
    let mut variants = vec![header];
    for doc in EVENTS {
        let mut fields: Vec<&FieldDoc> = COMMON.iter().collect();
        fields.extend(doc.fields);
        let mut props = properties(&fields);
        props["event"]["const"] = json!(doc.event);
        let mut required: Vec<&str> = vec!["t_ms", "actor", "event"];
        if doc.message == Names::Always {
            required.push("message");
        }
        if doc.message == Names::Never {
            props.remove("message");
        }
        required.extend(doc.fields.iter().map(|f| f.name));
        variants.push(json!({
            "title": doc.event,
            "description": doc.meaning,
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": false,
        }));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/qsim/qsim/qsim.events.schema.json",
        "title": "qsim event log line",
        "description": format!("One line of `qsim run --events` ({FORMAT}, version {VERSION})."),
        "oneOf": variants,
    })
}

/// Checks one written line against [`EVENTS`] / [`HEADER`]: its kind is documented, it has
/// exactly the documented fields, each of the documented type. Used by the drift tests.
pub fn conforms(line: &Value) -> Result<(), String> {
    let object = line.as_object().ok_or("not an object")?;
    let check = |docs: &[&FieldDoc], optional: &[&str]| -> Result<(), String> {
        for (name, value) in object {
            let doc = docs
                .iter()
                .find(|d| d.name == name)
                .ok_or_else(|| format!("undocumented field `{name}`"))?;
            if !doc.ty.accepts(value) {
                return Err(format!("`{name}` = {value} is not a {:?}", doc.ty));
            }
        }
        for doc in docs {
            if !object.contains_key(doc.name) && !optional.contains(&doc.name) {
                return Err(format!("missing field `{}`", doc.name));
            }
        }
        Ok(())
    };
    if object.contains_key("format") {
        return check(&HEADER.iter().collect::<Vec<_>>(), &[]);
    }
    let name = object
        .get("event")
        .and_then(Value::as_str)
        .ok_or("no `event`")?;
    let doc = EVENTS
        .iter()
        .find(|d| d.event == name)
        .ok_or_else(|| format!("undocumented event `{name}`"))?;
    let mut docs: Vec<&FieldDoc> = COMMON.iter().collect();
    docs.extend(doc.fields);
    match doc.message {
        Names::Always => check(&docs, &[]),
        Names::WhenKnown => check(&docs, &["message"]),
        Names::Never => {
            docs.retain(|d| d.name != "message");
            check(&docs, &[])
        }
    }
}

/// The README's table of line kinds.
pub fn table() -> String {
    let mut out = String::from("| event | actor | fields | meaning |\n|---|---|---|---|\n");
    for doc in EVENTS {
        let mut fields: Vec<String> = doc.fields.iter().map(|f| format!("`{}`", f.name)).collect();
        match doc.message {
            Names::Always => fields.insert(0, "`message`".into()),
            Names::WhenKnown => fields.insert(0, "`message`?".into()),
            Names::Never => {}
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            doc.event,
            doc.actor,
            fields.join(" "),
            doc.meaning.replace('|', "\\|")
        ));
    }
    out
}

/// One example line per kind, for the README.
pub fn examples() -> String {
    let mut out = String::from("```json\n");
    for doc in EVENTS {
        out.push_str(doc.example);
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_a_line_of_its_kind() {
        for doc in EVENTS {
            let line: Value = serde_json::from_str(doc.example).unwrap();
            assert_eq!(line["event"], doc.event, "{}", doc.example);
            conforms(&line).unwrap_or_else(|e| panic!("{}: {e}", doc.example));
        }
    }

    #[test]
    fn kinds_are_documented_once() {
        let mut names: Vec<&str> = EVENTS.iter().map(|d| d.event).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn a_line_with_an_undocumented_or_missing_field_does_not_conform() {
        let extra =
            json!({"t_ms": 1.0, "actor": "w-1", "event": "deleted", "message": "m-0001", "x": 1});
        assert!(conforms(&extra).is_err());
        let missing =
            json!({"t_ms": 1.0, "actor": "w-1", "event": "received", "message": "m-0001"});
        assert!(conforms(&missing).is_err());
        let wrong_type = json!({"t_ms": 1.0, "actor": "w-1", "event": "received", "message": "m-0001", "receive_count": "1"});
        assert!(conforms(&wrong_type).is_err());
        let unknown = json!({"t_ms": 1.0, "actor": "w-1", "event": "teleported"});
        assert!(conforms(&unknown).is_err());
    }
}
