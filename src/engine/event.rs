//! The event log: everything that happened in a run, in the order it happened, with the time
//! since the run started, the actor and the message.
//!
//! Events are small and fixed-size (no strings): names live once in [`EventLog::actors`] and
//! [`EventLog::messages`], and order-log values in [`EventLog::values`]. That keeps a run of a
//! million messages within a few hundred megabytes.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::backend::faults::{ApiOperation, FaultKind};
use crate::backend::{QueueRole, Status, TransitionKind};
use crate::scenario::FieldValue;

use super::event_chunks::Events;

/// Index of a message in [`EventLog::messages`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageIx(pub u32);

/// Index of an actor in [`EventLog::actors`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorId(pub u32);

/// The idempotency key a consumer used for a message: the message's own id, or an index in
/// [`EventLog::keys`] (a business key). Most keys are message ids, which then cost nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRef(u32);

impl KeyRef {
    pub const MESSAGE_ID: KeyRef = KeyRef(u32::MAX);

    /// Its 32 bits, for a compact store of events (and back with [`KeyRef::from_bits`]).
    pub(super) fn to_bits(self) -> u32 {
        self.0
    }

    pub(super) fn from_bits(bits: u32) -> KeyRef {
        KeyRef(bits)
    }
}

/// What the engine knows about a message it generated (the producer's side of the history), as
/// its producer describes it; the log keeps it as a compact [`MessageMeta`].
#[derive(Clone, Debug, PartialEq)]
pub struct MessageFields {
    /// The qsim id (`orders-0001`), carried in the body; never the backend's message id.
    pub id: Arc<str>,
    /// Index of the producer in the scenario.
    pub producer: usize,
    pub poison: bool,
    /// FIFO group (or the single group `-` on standard queues), used for order checks.
    pub group: Arc<str>,
    pub dedup_id: Option<Arc<str>>,
    /// Entity and version when the payload is versioned.
    pub entity: Option<Arc<str>>,
    pub version: Option<u64>,
    /// When the producer handed it to the queue, microseconds since the start.
    pub sent_at_us: Option<u64>,
    /// Position among its producer's messages of the same group (the body's `seq`), from 1.
    pub seq: u64,
}

/// [`MessageFields`] as the log keeps them, one per message of a run (a million-message run keeps
/// a million): 64 bytes instead of 120. The fields few messages have (a dedup id other than the
/// message's own id, an entity, a version) live in a box only those messages allocate.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageMeta {
    /// The qsim id (`orders-0001`), carried in the body; never the backend's message id.
    pub id: Arc<str>,
    /// FIFO group (or the single group `-` on standard queues), used for order checks.
    pub group: Arc<str>,
    /// Position among its producer's messages of the same group (the body's `seq`), from 1.
    pub seq: u64,
    /// Microseconds since the start, or [`NOT_SENT`].
    sent_at_us: u64,
    producer: u32,
    pub poison: bool,
    /// The dedup id is the message's id (a producer with `dedup = "message-id"`).
    dedup_is_id: bool,
    rare: Option<Box<RareFields>>,
}

#[derive(Clone, Debug, PartialEq)]
struct RareFields {
    dedup_id: Option<Arc<str>>,
    entity: Option<Arc<str>>,
    version: Option<u64>,
}

/// `sent_at_us` of a message never handed to the queue; no run lasts 584,000 years.
const NOT_SENT: u64 = u64::MAX;

impl MessageMeta {
    pub fn new(fields: MessageFields) -> MessageMeta {
        let dedup_is_id = fields.dedup_id.as_ref() == Some(&fields.id);
        let dedup_id = fields.dedup_id.filter(|_| !dedup_is_id);
        let rare = (dedup_id.is_some() || fields.entity.is_some() || fields.version.is_some())
            .then(|| {
                Box::new(RareFields {
                    dedup_id,
                    entity: fields.entity,
                    version: fields.version,
                })
            });
        MessageMeta {
            id: fields.id,
            group: fields.group,
            seq: fields.seq,
            sent_at_us: fields.sent_at_us.unwrap_or(NOT_SENT),
            producer: u32::try_from(fields.producer).expect("fewer than 2^32 producers"),
            poison: fields.poison,
            dedup_is_id,
            rare,
        }
    }

    /// Index of the producer in the scenario.
    pub fn producer(&self) -> usize {
        self.producer as usize
    }

    pub fn dedup_id(&self) -> Option<&Arc<str>> {
        match self.dedup_is_id {
            true => Some(&self.id),
            false => self.rare.as_ref()?.dedup_id.as_ref(),
        }
    }

    /// The entity when the payload is versioned.
    pub fn entity(&self) -> Option<&Arc<str>> {
        self.rare.as_ref()?.entity.as_ref()
    }

    /// The version when the payload is versioned.
    pub fn version(&self) -> Option<u64> {
        self.rare.as_ref()?.version
    }

    /// When the producer handed it to the queue, microseconds since the start.
    pub fn sent_at_us(&self) -> Option<u64> {
        (self.sent_at_us != NOT_SENT).then_some(self.sent_at_us)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub at_us: u64,
    pub actor: ActorId,
    pub message: Option<MessageIx>,
    pub kind: EventKind,
}

/// Why a consumer did not perform a side effect for a message it handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The in-memory LRU had the key.
    SeenInMemory,
    /// The status table said COMPLETED.
    AlreadyCompleted,
    /// Another consumer holds an unexpired STARTED claim: leave the message for later.
    InProgressElsewhere,
    /// Check-before-doing found the side effect already recorded.
    AlreadyPerformed,
    /// The conditional side-effect write lost a race.
    ConditionFailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashPoint {
    AfterReceive,
    MidProcessing,
    AfterSideEffect,
    /// A producer, after committing a business record, before sending its message.
    AfterCommit,
    /// A producer, after sending a message, before the write that follows (the outbox row's
    /// delete, or a send-then-commit's record).
    AfterSend,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitReason {
    Idle,
    MessageLimit,
    Terminated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Sent,
    SendFailed,
    /// A producer committed the message's business record (an outbox producer: together with
    /// its outbox row, in one transaction).
    Committed,
    /// The business record's write failed: the message's write ends there.
    CommitFailed,
    /// An outbox relay sent the message again after a restart (its row outlived a send): a
    /// second copy in the queue.
    Resent,
    /// An outbox relay deleted the message's outbox row after sending it.
    OutboxDeleted,
    /// A producer stored the message's body in the status table as `chunks` items (the claim
    /// check); the message it sends carries a pointer to them.
    PayloadStored {
        chunks: u32,
    },
    /// A consumer found the message's claim-checked payload gone or incomplete: it cannot
    /// handle the message, which SQS delivers again.
    PayloadMissing,
    /// A consumer deleted the message's payload after deleting the message.
    PayloadDeleted,
    ProducerDone,
    ConsumerStarted,
    Received {
        receive_count: u32,
    },
    /// A body whose id no producer of this run generated.
    Unexpected,
    /// Poison rejected: not deleted, so SQS redelivers it (and eventually moves it to the DLQ).
    Rejected,
    /// Visibility reset to 0 so another consumer can take it at once (shutdown).
    Released,
    /// Released, but the release failed (e.g. another consumer had deleted it meanwhile).
    ReleaseFailed,
    Skipped {
        reason: SkipReason,
        key: KeyRef,
    },
    SideEffect {
        key: KeyRef,
    },
    /// A versioned apply is about to be sent (with `Applied`, it brackets the write in time).
    Applying {
        version: u32,
        /// The entity the consumer writes (its `versioning.entity` field's value).
        entity: KeyRef,
    },
    Applied {
        version: u32,
        key: KeyRef,
    },
    StaleVersion {
        version: u32,
        current: u32,
    },
    /// Older than `stale_after` when processed: deleted, not applied.
    StaleMessage {
        age_ms: u32,
    },
    Logged {
        value: u32,
    },
    StatusWritten(Status),
    Deleted,
    DeleteFailed,
    Heartbeat,
    /// A heartbeat's ChangeMessageVisibility was refused (e.g. past SQS's 12-hour limit); the
    /// consumer stops extending that message and goes on working.
    HeartbeatFailed,
    /// Taken from the prefetch buffer after its visibility timeout had run out while it waited
    /// there: SQS may have delivered it to another consumer meanwhile.
    PrefetchExpired,
    /// A poller invoked the function with a batch of this many messages.
    Invoked {
        messages: u32,
    },
    /// A poller's invocation with this message was throttled (the function was at its
    /// concurrency); the poller retries while the batch's visibility timeout lasts.
    Throttled,
    /// An invocation ran past the function timeout and was stopped: its batch failed.
    InvocationTimedOut,
    Crashed(CrashPoint),
    Killed,
    Exited(ExitReason),
    ShutdownRequested,
    PurgeRequested(QueueRole),
    PurgeFailed(QueueRole),
    RedriveStarted,
    RedriveFailed,
    Deployed,
    ScaledOut,
    ScaledIn,
    TimedOut,
    /// A transition the queue made by itself (observed on the simulator only).
    Queue(TransitionKind),
    /// The fault layer injected `fault` into a call of `operation` (actor `api`); the message,
    /// when the call names one (each message of a send, a hidden receive or delete).
    Fault {
        operation: ApiOperation,
        fault: FaultKind,
    },
    /// A producer or consumer makes attempt `attempt` (2 or more) of a call that failed
    /// transiently, after its backoff.
    Retried {
        operation: ApiOperation,
        attempt: u32,
    },
}

/// Everything recorded in one run.
#[derive(Debug, Default)]
pub struct EventLog {
    /// In time order once the run is over ([`EventLog::order_by_time`]); while it runs, the
    /// events recorded in time order so far.
    pub events: Events,
    /// Events recorded with a time before the latest of `events` (queue transitions applied
    /// lazily report their due moment), kept apart so that ordering the log at the end is a merge
    /// of a few late events rather than a sort of millions.
    late: Vec<Event>,
    pub actors: Vec<Arc<str>>,
    pub messages: Vec<MessageMeta>,
    pub values: Vec<FieldValue>,
    /// Business keys consumers used, by [`KeyRef`].
    pub keys: Vec<Arc<str>>,
    key_index: HashMap<Arc<str>, u32>,
    by_id: MessageIndex,
}

impl EventLog {
    pub fn actor(&mut self, name: &str) -> ActorId {
        if let Some(i) = self.actors.iter().position(|a| &**a == name) {
            return ActorId(i as u32);
        }
        self.actors.push(name.into());
        ActorId(self.actors.len() as u32 - 1)
    }

    pub fn register(&mut self, meta: MessageMeta) -> MessageIx {
        let ix = MessageIx(self.messages.len() as u32);
        self.by_id.insert(&meta.id, ix);
        self.messages.push(meta);
        ix
    }

    /// The message registered last with qsim id `id`.
    pub fn lookup(&self, id: &str) -> Option<MessageIx> {
        self.by_id.get(id)
    }

    pub fn meta(&self, ix: MessageIx) -> &MessageMeta {
        &self.messages[ix.0 as usize]
    }

    pub fn push(
        &mut self,
        at_us: u64,
        actor: ActorId,
        message: Option<MessageIx>,
        kind: EventKind,
    ) {
        let event = Event {
            at_us,
            actor,
            message,
            kind,
        };
        if self.events.last().is_some_and(|last| at_us < last.at_us) {
            self.late.push(event);
        } else {
            self.events.push(event);
        }
    }

    /// How many events were recorded.
    pub fn len(&self) -> usize {
        self.events.len() + self.late.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts every event in time order, events of the same moment in the order they were
    /// recorded: what a stable sort of the whole log by time gives, without its scratch space
    /// (half the log) or its time.
    ///
    /// `events` is already in order, and an event of `events` recorded at the same moment as a
    /// late event always precedes it: a late event is earlier than the last of `events` when it
    /// is recorded, and everything recorded into `events` afterwards is later still. So a stable
    /// sort of the late events and a merge that puts `events` first on ties is that order.
    pub fn order_by_time(&mut self) {
        let mut late = std::mem::take(&mut self.late);
        if late.is_empty() {
            return;
        }
        late.sort_by_key(|event| event.at_us);
        self.events = std::mem::take(&mut self.events).merged_with(&late);
    }

    /// The reference to idempotency key `key` used for message `ix`.
    pub fn key_ref(&mut self, ix: MessageIx, key: &Arc<str>) -> KeyRef {
        if Arc::ptr_eq(key, &self.meta(ix).id) || *key == self.meta(ix).id {
            return KeyRef::MESSAGE_ID;
        }
        self.intern(key)
    }

    /// A reference to `text` in [`EventLog::keys`] (business keys, entities).
    pub fn intern(&mut self, text: &Arc<str>) -> KeyRef {
        if let Some(&k) = self.key_index.get(text) {
            return KeyRef(k);
        }
        let k = self.keys.len() as u32;
        self.keys.push(text.clone());
        self.key_index.insert(text.clone(), k);
        KeyRef(k)
    }

    /// The key `key` names for message `ix`.
    pub fn key(&self, ix: MessageIx, key: KeyRef) -> &Arc<str> {
        match key {
            KeyRef::MESSAGE_ID => &self.meta(ix).id,
            KeyRef(k) => &self.keys[k as usize],
        }
    }

    pub fn intern_value(&mut self, value: FieldValue) -> u32 {
        self.values.push(value);
        self.values.len() as u32 - 1
    }
}

/// Finds messages by qsim id without hashing and storing a million strings a second time.
///
/// Producers name their `n`-th message `{producer}-{n:04}` and register messages in order, so the
/// last `-` of an id splits it into a producer and a position, and one vector per producer holds
/// the messages by position. Only ids in exactly that form take this path (`load-01` is not
/// `load-0001`), so a position names one id and a hit needs no comparison. Ids of any other shape
/// or order go to a plain map, so every id registered is found, and the latest registration of an
/// id wins, as with a map alone.
#[derive(Debug, Default)]
struct MessageIndex {
    by_producer: Vec<(Box<str>, Vec<MessageIx>)>,
    others: HashMap<Arc<str>, MessageIx>,
}

impl MessageIndex {
    fn insert(&mut self, id: &Arc<str>, ix: MessageIx) {
        if let Some((producer, n)) = split_id(id) {
            let known = self.by_producer.iter().position(|(p, _)| **p == *producer);
            let list = match known {
                Some(at) => Some(&mut self.by_producer[at].1),
                None if n == 1 => {
                    self.by_producer.push((producer.into(), Vec::new()));
                    self.by_producer.last_mut().map(|(_, list)| list)
                }
                None => None,
            };
            if let Some(list) = list.filter(|list| n == list.len() as u64 + 1) {
                list.push(ix);
                // A stale entry for the same id must not shadow this newer registration.
                if !self.others.is_empty() {
                    self.others.remove(&**id);
                }
                return;
            }
        }
        self.others.insert(id.clone(), ix);
    }

    fn get(&self, id: &str) -> Option<MessageIx> {
        // Checked first: an id lands here only after (or instead of) its positional entry.
        if let Some(&ix) = self.others.get(id) {
            return Some(ix);
        }
        let (producer, n) = split_id(id)?;
        let (_, list) = self.by_producer.iter().find(|(p, _)| **p == *producer)?;
        list.get(usize::try_from(n).ok()?.checked_sub(1)?).copied()
    }
}

/// `orders-0012` → (`orders`, 12); `None` unless the id is exactly what `{producer}-{n:04}`
/// formats (so `orders-012`, `orders-+12` and `orders-00012` are not position 12).
fn split_id(id: &str) -> Option<(&str, u64)> {
    let (producer, digits) = id.rsplit_once('-')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    // Digits of value n are n's digits after leading zeros; `{n:04}` pads to four, no further.
    let unpadded = n.checked_ilog10().map_or(1, |log| log as usize + 1);
    (digits.len() == unpadded.max(4)).then_some((producer, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> MessageMeta {
        MessageMeta::new(MessageFields {
            id: id.into(),
            producer: 0,
            poison: false,
            group: "-".into(),
            dedup_id: None,
            entity: None,
            version: None,
            sent_at_us: None,
            seq: 0,
        })
    }

    #[test]
    fn every_registered_id_is_found_whatever_its_shape() {
        let mut log = EventLog::default();
        let ids = [
            "load-0001",
            "load-0002",
            "other-0001",
            "load-0004",
            "no_dash",
            "a-b-0001",
            "load-x",
        ];
        let ixs: Vec<MessageIx> = ids.iter().map(|id| log.register(meta(id))).collect();
        for (id, ix) in ids.iter().zip(&ixs) {
            assert_eq!(log.lookup(id), Some(*ix), "{id}");
        }
        assert_eq!(log.lookup("load-0003"), None);
        assert_eq!(log.lookup("load-02"), None, "same position, different id");
        assert_eq!(log.lookup("load-2"), None);
        assert_eq!(log.lookup("load-00002"), None);
        assert_eq!(log.lookup("load-+002"), None);
        assert_eq!(log.lookup("a-0001"), None);
    }

    #[test]
    fn ids_split_only_in_the_form_producers_write() {
        for n in [0, 1, 9, 10, 999, 1000, 9999, 10_000, 123_456, u64::MAX] {
            let id = format!("p-{n:04}");
            assert_eq!(split_id(&id), Some(("p", n)), "{id}");
        }
        for id in [
            "p-001", "p-00001", "p-01000", "p-+001", "p- 001", "p-", "p", "p-12a4",
        ] {
            assert_eq!(split_id(id), None, "{id}");
        }
        // Non-canonical ids are still found, through the map.
        let mut log = EventLog::default();
        let ix = log.register(meta("p-01"));
        assert_eq!(log.lookup("p-01"), Some(ix));
        assert_eq!(log.lookup("p-0001"), None);
    }

    #[test]
    fn the_latest_registration_of_an_id_wins() {
        let mut log = EventLog::default();
        // Out of order first (goes to the map), then in order: the positional entry is newer.
        log.register(meta("w-0002"));
        log.register(meta("w-0001"));
        let newer = log.register(meta("w-0002"));
        assert_eq!(log.lookup("w-0002"), Some(newer));
        // In order first, then again: the map entry is newer.
        let again = log.register(meta("w-0001"));
        assert_eq!(log.lookup("w-0001"), Some(again));
    }

    #[test]
    fn the_time_order_is_a_stable_sort_of_the_recording_order() {
        let mut rng = crate::rng::stream(7, "event-log-test");
        for _ in 0..200 {
            let mut log = EventLog::default();
            let mut recorded = Vec::new();
            let mut now = 0u64;
            for n in 0..rand::RngExt::random_range(&mut rng, 0..60u32) {
                now += rand::RngExt::random_range(&mut rng, 0..3u64);
                // Every few events one that happened earlier, as a lazily applied timer reports.
                let at = if rand::RngExt::random_bool(&mut rng, 0.3) {
                    now.saturating_sub(rand::RngExt::random_range(&mut rng, 0..5u64))
                } else {
                    now
                };
                log.push(at, ActorId(n), None, EventKind::Sent);
                recorded.push((at, n));
            }
            recorded.sort_by_key(|&(at, _)| at);
            log.order_by_time();
            let ordered: Vec<(u64, u32)> =
                log.events.iter().map(|e| (e.at_us, e.actor.0)).collect();
            assert_eq!(ordered, recorded);
            assert_eq!(log.len(), recorded.len());
        }
    }

    #[test]
    fn message_meta_keeps_every_field_it_is_given() {
        let id: Arc<str> = "p-0001".into();
        let cases = [
            (None, None, None, None),
            (Some(id.clone()), None, None, Some(0)),
            (Some("other".into()), None, None, Some(7)),
            (None, Some("e".into()), Some(3), None),
            (
                Some(id.clone()),
                Some("e".into()),
                Some(0),
                Some(u64::MAX - 1),
            ),
        ];
        for (dedup_id, entity, version, sent_at_us) in cases {
            let fields = MessageFields {
                id: id.clone(),
                producer: 3,
                poison: true,
                group: "g".into(),
                dedup_id,
                entity,
                version,
                sent_at_us,
                seq: 9,
            };
            let meta = MessageMeta::new(fields.clone());
            let kept = MessageFields {
                id: meta.id.clone(),
                producer: meta.producer(),
                poison: meta.poison,
                group: meta.group.clone(),
                dedup_id: meta.dedup_id().cloned(),
                entity: meta.entity().cloned(),
                version: meta.version(),
                sent_at_us: meta.sent_at_us(),
                seq: meta.seq,
            };
            assert_eq!(kept, fields);
        }
        // A million-message run keeps a million of them.
        assert!(
            size_of::<MessageMeta>() <= 64,
            "{}",
            size_of::<MessageMeta>()
        );
    }

    #[test]
    fn events_stay_small() {
        // A million-message run records several million events: keep them compact.
        assert!(size_of::<Event>() <= 32, "{}", size_of::<Event>());
    }
}
