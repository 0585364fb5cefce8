//! The DynamoDB subset behind qsim's idempotency patterns, as typed items instead of attribute
//! maps: the engine only ever stores these fields, and typed updates keep the simulator's hot path
//! free of attribute-map allocations.

use std::sync::Arc;

use super::sorted_keys::SortedKeys;

/// The two tables of the two-table pattern; both have the string hash key `pk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Processing status per idempotency key: STARTED / COMPLETED, attempts, lease.
    Status,
    /// The "external system": one item per key that had its side effect, with a count of how
    /// often it happened, and per entity the version applied last.
    SideEffects,
}

impl Table {
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Status => "status",
            Table::SideEffects => "side-effects",
        }
    }
}

/// The side-effects table's key of a versioned entity's item.
pub(crate) fn entity_item_key(entity: &str) -> String {
    format!("{ENTITY_PREFIX}{entity}")
}

/// The entity a side-effects table key names, if it is an entity's item.
pub(crate) fn entity_of_item_key(key: &str) -> Option<&str> {
    key.strip_prefix(ENTITY_PREFIX)
}

const ENTITY_PREFIX: &str = "entity:";

/// The status table's key of the business record a producer writes with a message (`outbox` and
/// `dual_write` producers): the record and its outbox row live in the status table under their
/// own prefixes, so one TransactWriteItems on one table writes both and no table is added.
pub(crate) fn record_item_key(message: &str) -> String {
    format!("{RECORD_PREFIX}{message}")
}

/// The status table's key of a message's outbox row.
pub(crate) fn outbox_item_key(message: &str) -> String {
    format!("{OUTBOX_PREFIX}{message}")
}

/// The message a business record's key names, if it is one.
pub(crate) fn message_of_record_key(key: &str) -> Option<&str> {
    key.strip_prefix(RECORD_PREFIX)
}

/// The message an outbox row's key names, if it is one.
pub(crate) fn message_of_outbox_key(key: &str) -> Option<&str> {
    key.strip_prefix(OUTBOX_PREFIX)
}

/// The status table's key of chunk `chunk` (from 0) of a message's claim-checked payload.
pub(crate) fn payload_item_key(message: &str, chunk: u32) -> String {
    format!("{PAYLOAD_PREFIX}{message}:{chunk}")
}

/// The message and chunk a claim-checked payload's key names, if it is one.
pub(crate) fn message_of_payload_key(key: &str) -> Option<(&str, u32)> {
    let (message, chunk) = key.strip_prefix(PAYLOAD_PREFIX)?.rsplit_once(':')?;
    Some((message, chunk.parse().ok()?))
}

const PAYLOAD_PREFIX: &str = "payload:";

/// The largest item DynamoDB stores, attribute names and values together.
/// Source: Amazon DynamoDB Developer Guide, "Quotas in Amazon DynamoDB" (item size: 400 KB).
pub(crate) const MAX_ITEM_BYTES: usize = 400 * 1024;

const RECORD_PREFIX: &str = "record:";
const OUTBOX_PREFIX: &str = "outbox:";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Started,
    Completed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Started => "STARTED",
            Status::Completed => "COMPLETED",
        }
    }
}

/// One item. Absent attributes are `None` / 0.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Item {
    pub status: Option<Status>,
    /// Processing attempts (status table).
    pub attempts: u32,
    /// Until when (milliseconds since the run started) a STARTED record blocks other consumers.
    pub lease_until_ms: Option<u64>,
    /// How often the side effect happened (side-effects table).
    pub count: u32,
    /// The version applied last (side-effects table, per entity).
    pub version: Option<u64>,
    /// The qsim message id that wrote the item last.
    pub message: Option<Arc<str>>,
    /// The message body an outbox row holds until its relay has sent it.
    pub body: Option<Arc<str>>,
}

/// One item of a table after the run, as the checks read it and the history records it
/// (`final-item`), so that a run read back from its history has the same state. Kept apart from
/// [`Item`], whose lease, message and body attributes would more than double the size of a final
/// state of millions of items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FinalItem {
    pub status: Option<Status>,
    pub count: u32,
    pub version: Option<u64>,
}

impl FinalItem {
    pub fn of(item: &Item) -> FinalItem {
        FinalItem {
            status: item.status,
            count: item.count,
            version: item.version,
        }
    }
}

/// A whole table after the run, by key.
pub type FinalItems = SortedKeys<FinalItem>;

impl Item {
    /// The item's size as DynamoDB counts it: each attribute's name plus its value (strings by
    /// their UTF-8 bytes, numbers at about one byte per two digits plus one). Source: Amazon
    /// DynamoDB Developer Guide, "Item sizes and formats".
    pub(crate) fn size_bytes(&self, key: &str) -> usize {
        let number = |n: u64| {
            n.checked_ilog10()
                .map_or(1, |digits| digits as usize / 2 + 2)
        };
        let string = |name: &str, value: &str| name.len() + value.len();
        let nonzero = |name: &str, n: u32| match n {
            0 => 0,
            n => name.len() + number(n.into()),
        };
        let mut size = string("pk", key);
        size += self.status.map_or(0, |s| string("status", s.as_str()));
        size += nonzero("attempts", self.attempts);
        size += self
            .lease_until_ms
            .map_or(0, |l| "lease_until_ms".len() + number(l));
        size += nonzero("count", self.count);
        size += self.version.map_or(0, |v| "version".len() + number(v));
        size += self.message.as_deref().map_or(0, |m| string("message", m));
        size += self.body.as_deref().map_or(0, |b| string("body", b));
        size
    }
}

/// PutItem with `attribute_not_exists(pk)`.
#[derive(Clone, Debug, PartialEq)]
pub enum PutOutcome {
    Created,
    /// ConditionalCheckFailed, with ReturnValuesOnConditionCheckFailure=ALL_OLD.
    Exists(Item),
}

/// A conditional UpdateItem. Fields left `None` / 0 are not touched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    pub set_status: Option<Status>,
    /// `ADD attempts :n`
    pub add_attempts: u32,
    pub set_lease_until_ms: Option<u64>,
    /// `ADD count :n`
    pub add_count: u32,
    pub set_version: Option<u64>,
    pub set_message: Option<Arc<str>>,
    pub condition: Condition,
}

/// The ConditionExpressions qsim needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Condition {
    #[default]
    Always,
    /// `attribute_not_exists(version) OR version < :v`: last-write-wins by version.
    VersionBelow(u64),
    /// `status = STARTED AND lease_until <= :now`: take over an abandoned claim.
    LeaseExpired { now_ms: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub enum UpdateOutcome {
    /// The item after the update (ReturnValues=ALL_NEW).
    Updated(Item),
    /// ConditionalCheckFailed; the item as it is (None when missing).
    ConditionFailed(Option<Item>),
}
