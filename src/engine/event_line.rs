//! Reading one line of a history (`--events`, the format [`crate::report::events`] documents)
//! back into an [`EventKind`]: how `qsim report` reads a history, and how a run merges the lines
//! of its child processes and of an endpoint's own history.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{EventKind, EventLog, KeyRef, MessageIx};
use crate::backend::TransitionKind;
use crate::backend::faults::{ApiOperation, FaultKind};
use crate::backend::{QueueRole, Status};
use crate::scenario::FieldValue;

/// The writer's milliseconds (microseconds / 1000) back to the engine's microseconds.
pub(crate) fn micros(t_ms: f64) -> u64 {
    (t_ms * 1000.0).round() as u64
}

pub(crate) fn field<T: DeserializeOwned>(value: &Value, name: &str) -> Result<T, String> {
    T::deserialize(&value[name]).map_err(|e| format!("`{name}`: {e}"))
}

pub(crate) fn api_operation(text: &str) -> Result<ApiOperation, String> {
    ApiOperation::ALL
        .into_iter()
        .find(|o| o.as_str() == text)
        .ok_or_else(|| format!("unknown API operation `{text}`"))
}

pub(crate) fn fault_kind(text: &str) -> Result<FaultKind, String> {
    FaultKind::ALL
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or_else(|| format!("unknown fault `{text}`"))
}

pub(crate) fn status(text: &str) -> Result<Status, String> {
    [Status::Started, Status::Completed]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("unknown status `{text}`: STARTED or COMPLETED"))
}

pub(crate) fn queue_role(text: &str) -> Result<QueueRole, String> {
    [QueueRole::Main, QueueRole::DeadLetter]
        .into_iter()
        .find(|q| q.as_str() == text)
        .ok_or_else(|| format!("unknown queue `{text}`: main or dlq"))
}

/// The [`EventKind`] of one event line (its `event` and fields), interning its keys and values
/// in `log`: how a history is read back, and how a parent run merges its child processes' lines.
pub(crate) fn event_kind(
    log: &mut EventLog,
    event: &str,
    value: &Value,
    message: Option<MessageIx>,
) -> Result<EventKind, String> {
    let count = |name: &str| field::<u32>(value, name);
    Ok(match event {
        "sent" => EventKind::Sent,
        "send-failed" => EventKind::SendFailed,
        "committed" => EventKind::Committed,
        "commit-failed" => EventKind::CommitFailed,
        "resent" => EventKind::Resent,
        "outbox-deleted" => EventKind::OutboxDeleted,
        "payload-stored" => EventKind::PayloadStored {
            chunks: count("chunks")?,
        },
        "payload-missing" => EventKind::PayloadMissing,
        "payload-deleted" => EventKind::PayloadDeleted,
        "producer-done" => EventKind::ProducerDone,
        "consumer-started" => EventKind::ConsumerStarted,
        "received" => EventKind::Received {
            receive_count: count("receive_count")?,
        },
        "unexpected" => EventKind::Unexpected,
        "rejected" => EventKind::Rejected,
        "released" => EventKind::Released,
        "release-failed" => EventKind::ReleaseFailed,
        "skipped" => EventKind::Skipped {
            reason: field(value, "reason")?,
            key: key(log, value, "key", message)?,
        },
        "side-effect" => EventKind::SideEffect {
            key: key(log, value, "key", message)?,
        },
        "applying" => EventKind::Applying {
            version: count("version")?,
            entity: log.intern(&Arc::from(field::<String>(value, "entity")?)),
        },
        "applied" => EventKind::Applied {
            version: count("version")?,
            key: key(log, value, "key", message)?,
        },
        "stale-version" => EventKind::StaleVersion {
            version: count("version")?,
            current: count("current")?,
        },
        "stale-message" => EventKind::StaleMessage {
            age_ms: count("age_ms")?,
        },
        "logged" => {
            let logged = match &value["value"] {
                Value::String(s) => FieldValue::Str(s.clone()),
                other => {
                    FieldValue::Int(other.as_i64().ok_or("`value` is a string or an integer")?)
                }
            };
            EventKind::Logged {
                value: log.intern_value(logged),
            }
        }
        "status-written" => EventKind::StatusWritten(status(&field::<String>(value, "status")?)?),
        "deleted" => EventKind::Deleted,
        "delete-failed" => EventKind::DeleteFailed,
        "heartbeat" => EventKind::Heartbeat,
        "heartbeat-failed" => EventKind::HeartbeatFailed,
        "prefetch-expired" => EventKind::PrefetchExpired,
        "invoked" => EventKind::Invoked {
            messages: count("messages")?,
        },
        "throttled" => EventKind::Throttled,
        "invocation-timed-out" => EventKind::InvocationTimedOut,
        "fault" => EventKind::Fault {
            operation: api_operation(&field::<String>(value, "operation")?)?,
            fault: fault_kind(&field::<String>(value, "fault")?)?,
        },
        "retried" => EventKind::Retried {
            operation: api_operation(&field::<String>(value, "operation")?)?,
            attempt: count("attempt")?,
        },
        "crashed" => EventKind::Crashed(field(value, "point")?),
        "killed" => EventKind::Killed,
        "exited" => EventKind::Exited(field(value, "reason")?),
        "shutdown-requested" => EventKind::ShutdownRequested,
        "purge" => EventKind::PurgeRequested(queue_role(&field::<String>(value, "queue")?)?),
        "purge-failed" => EventKind::PurgeFailed(queue_role(&field::<String>(value, "queue")?)?),
        "redrive-started" => EventKind::RedriveStarted,
        "redrive-failed" => EventKind::RedriveFailed,
        "deployed" => EventKind::Deployed,
        "scaled-out" => EventKind::ScaledOut,
        "scaled-in" => EventKind::ScaledIn,
        "timed-out" => EventKind::TimedOut,
        "visibility-expired" => EventKind::Queue(TransitionKind::VisibilityExpired),
        "dead-lettered" => EventKind::Queue(TransitionKind::DeadLettered {
            receive_count: count("receive_count")?,
        }),
        "purged" => EventKind::Queue(TransitionKind::Purged),
        "deduplicated" => EventKind::Queue(TransitionKind::Deduplicated),
        "expired" => EventKind::Queue(TransitionKind::Expired),
        "redriven" => EventKind::Queue(TransitionKind::Redriven),
        "duplicated" => EventKind::Queue(TransitionKind::Duplicated),
        "stale-receipt" => EventKind::Queue(TransitionKind::StaleReceipt {
            operation: api_operation(&field::<String>(value, "operation")?)?,
            acted: field(value, "acted")?,
        }),
        // `conforms` accepted it, so the format documents a kind this reader lacks.
        other => return Err(format!("qsim cannot read `{other}` lines back yet")),
    })
}

/// An idempotency key: the message's own id, or an interned business key.
fn key(
    log: &mut EventLog,
    value: &Value,
    name: &str,
    message: Option<MessageIx>,
) -> Result<KeyRef, String> {
    let key: Arc<str> = field::<String>(value, name)?.into();
    let ix = message.ok_or("a key belongs to a message")?;
    Ok(log.key_ref(ix, &key))
}
