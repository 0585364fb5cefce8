//! Every table of the file format and its keys, in file order. One line per key:
//! `CONST name: shape, presence, "meaning";`.

use std::time::Duration;

use super::{
    ANY_DURATION, Key, MAX_VIRTUAL, POSITIVE_DURATION, PROBABILITY, Presence, Shape, at_least_ms,
    count_from, instances_from, int, int_from, positive_up_to, secs,
};
use crate::sqs::envelope::{ASSUMPTION_NAMES, PROFILE_NAMES};
use crate::sqs::facts::{
    self, MAX_BATCH, MAX_DELAY, MAX_MOVE_TASK_RATE, MAX_RECEIVE_COUNT_RANGE, MAX_RECEIVE_WAIT,
    MAX_RETENTION, MAX_VISIBILITY_TIMEOUT, MIN_RETENTION,
};
use crate::sqs::{DeduplicationScope, FifoThroughputLimit};

const OPTIONAL: Presence = Presence::Optional;
const REQUIRED: Presence = Presence::Required;

const fn default(value: &'static str) -> Presence {
    Presence::Default(value)
}

const fn derived(description: &'static str) -> Presence {
    Presence::Derived(description)
}

/// Declares `pub(crate) mod $module` with one `Key` const per key and `KEYS`, all of them in order.
macro_rules! table {
    ($module:ident { $($konst:ident $name:ident: $shape:expr, $presence:expr, $doc:literal;)* }) => {
        pub(crate) mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                pub(crate) const $konst: Key = Key {
                    name: stringify!($name),
                    shape: $shape,
                    presence: $presence,
                    doc: $doc,
                };
            )*
            pub(crate) const KEYS: &[Key] = &[$($konst),*];
        }
    };
}

/// Payload kinds and the keys each takes besides `kind` (the other payload keys are errors).
pub(crate) const PAYLOAD_KINDS: &[(&str, &[&str])] = &[
    ("work", &["poison"]),
    ("business-duplicates", &["field", "orders", "duplicates"]),
    ("versioned", &["entities", "versions", "shuffle"]),
    ("literal", &["messages"]),
];

pub(crate) const PAYLOAD_KIND_NAMES: &[&str] =
    &["work", "business-duplicates", "versioned", "literal"];

/// The top level of a scenario file.
pub(crate) const TOP: &[Key] = top::KEYS;

table!(top {
    SCENARIO scenario: Shape::Table(&[scenario::KEYS]), REQUIRED, "What the scenario is called and how it runs.";
    QUEUE queue: Shape::Table(&[queue::KEYS]), OPTIONAL, "The queue under test (and its DLQ when max_receive_count is set).";
    PRODUCERS producers: Shape::TableList(&[producer::KEYS]), REQUIRED, "Who sends messages: at least one [[producers]].";
    CONSUMERS consumers: Shape::TableList(&[consumer::KEYS, behavior::KEYS]), REQUIRED, "Consumer groups: at least one [[consumers]].";
    AT at: Shape::TableList(&[at::KEYS]), OPTIONAL, "The timeline: one action at a time or when a condition holds.";
    AUTOSCALER autoscaler: Shape::Table(&[autoscaler::KEYS]), OPTIONAL, "Scale one consumer group with the queue's visible depth.";
    FAULTS faults: Shape::TableList(&[fault::KEYS]), OPTIONAL, "API faults injected at the backend boundary (every backend): throttles, 5xx errors, timeouts, latency.";
    EXPECT expect: Shape::Expect, OPTIONAL, "Invariants checked after the run: metric = value.";
});

table!(scenario {
    NAME name: Shape::Name, REQUIRED, "Scenario name, used in reports and snapshot names.";
    DESCRIPTION description: Shape::Text, REQUIRED, "What the scenario shows, in a few sentences (non-empty).";
    TAGS tags: Shape::List(&Shape::Tag), default("[]"), "Labels to select scenarios by.";
    SEED seed: int_from(0), default("1"), "Root seed: every random choice of the run derives from it.";
    TIMEOUT timeout: POSITIVE_DURATION, default("10m"), "The run fails (instead of hanging) when it has not finished by then.";
    ASSUMES assumes: Shape::List(&Shape::Choice(ASSUMPTION_NAMES)), default("[]"), "Latitudes of SQS this scenario assumes away (see docs/sqs-semantics.md): the simulator keeps them ideal under every profile, other backends report them as not guaranteed.";
});

table!(queue {
    KIND kind: Shape::Choice(&["standard", "fifo"]), default("standard"), "Queue type.";
    VISIBILITY_TIMEOUT visibility_timeout: secs(Duration::ZERO, MAX_VISIBILITY_TIMEOUT), default("30s"), "How long a received message stays invisible.";
    RECEIVE_WAIT receive_wait: secs(Duration::ZERO, MAX_RECEIVE_WAIT), default("0s"), "ReceiveMessageWaitTimeSeconds: long polling.";
    DELAY delay: secs(Duration::ZERO, MAX_DELAY), default("0s"), "DelaySeconds of the queue.";
    RETENTION retention: secs(MIN_RETENTION, MAX_RETENTION), default("4d"), "MessageRetentionPeriod.";
    CONTENT_BASED_DEDUP content_based_dedup: Shape::Bool, default("false"), "FIFO only: deduplicate by a hash of the body.";
    DEDUPLICATION_SCOPE deduplication_scope: Shape::Choice(DeduplicationScope::NAMES), default("queue"), "FIFO only: DeduplicationScope, where a deduplication id must be unique within the 5-minute window: the whole queue, or the message's group (message-group: one id in two groups is two messages).";
    FIFO_THROUGHPUT_LIMIT fifo_throughput_limit: Shape::Choice(FifoThroughputLimit::NAMES), default("per-queue"), "FIFO only: FifoThroughputLimit, SQS's throughput quota per queue or per message group (per-message-group-id needs deduplication_scope = \"message-group\"). Given to the queue created on AWS; qsim models no quota, so it changes nothing in a run.";
    MAX_RECEIVE_COUNT max_receive_count: int(*MAX_RECEIVE_COUNT_RANGE.start() as i64, *MAX_RECEIVE_COUNT_RANGE.end() as i64), OPTIONAL, "When set, the queue gets a DLQ and moves a message there after this many receives.";
    SIM sim: Shape::Table(&[sim::KEYS]), OPTIONAL, "The simulator's envelope: its profile and overrides of its rates (ignored by other backends).";
});

table!(sim {
    PROFILE profile: Shape::Choice(PROFILE_NAMES), default("aws"), "How often the simulator takes each latitude SQS documents: aws (modest rates), ideal (never), adversarial (often); `qsim --profile` overrides it.";
    DUPLICATE_RATE duplicate_rate: PROBABILITY, derived("the profile's"), "Standard only: probability that a receive leaves a second copy behind (injected: simulator only).";
    REORDER_RATE reorder_rate: PROBABILITY, derived("the profile's"), "Standard only: probability that a receive slot is filled out of order (injected: simulator only).";
    REORDER_WINDOW reorder_window: int(1, 1000), derived("10"), "How far out of order a reordered message may come (simulator only).";
    PURGE_WINDOW purge_window: secs(Duration::ZERO, facts::PURGE_WINDOW), derived("60s"), "Longest time an asynchronous purge takes (injected: simulator only).";
    PURGE_REACH_RATE purge_reach_rate: PROBABILITY, derived("the profile's"), "Probability that a message sent before a purge can still be received until the purge deletes it (injected: simulator only).";
    COUNTER_LAG counter_lag: secs(Duration::ZERO, Duration::from_secs(300)), derived("the profile's"), "Queue depth readings (`when`, the autoscaler) show the queue as it was up to this long ago (injected: simulator only).";
    PARTIAL_RECEIVE_RATE partial_receive_rate: PROBABILITY, derived("the profile's"), "Probability that a receive returns fewer messages than it could, a short poll possibly none (injected: simulator only).";
    STALE_RECEIPT_RATE stale_receipt_rate: PROBABILITY, derived("the profile's"), "Standard only: probability that a delete or visibility change with a superseded receipt takes effect (injected: simulator only).";
});

table!(producer {
    NAME name: Shape::Name, REQUIRED, "Producer name, unique among producers.";
    START start: ANY_DURATION, default("0s"), "When the producer starts sending.";
    COUNT count: count_from(1), OPTIONAL, "Send this many messages (exactly one of count / continuous / schedule).";
    CONTINUOUS continuous: Shape::Bool, default("false"), "Send until a `stop` action names this producer; needs a finite rate.";
    SCHEDULE schedule: Shape::List(&ANY_DURATION), OPTIONAL, "Send one message at each of these offsets from start.";
    RATE rate: Shape::Rate, default("unlimited"), "How fast messages are sent.";
    BATCH_SIZE batch_size: int(1, MAX_BATCH as i64), default("1"), "Messages per SendMessageBatch call.";
    GROUPS groups: int(1, 10_000), default("1"), "FIFO only when > 1: spread messages round-robin over groups g1..gN.";
    DEDUP dedup: Shape::Choice(&["message-id", "content", "payload"]), derived("\"content\" when queue.content_based_dedup, else \"message-id\""), "FIFO only: where MessageDeduplicationId comes from (\"content\" needs content_based_dedup, \"payload\" a literal payload).";
    DELAY delay: secs(Duration::ZERO, MAX_DELAY), OPTIONAL, "Standard only: DelaySeconds of every message.";
    PAYLOAD payload: Shape::Table(&[payload::KEYS]), OPTIONAL, "What the messages contain (default kind = \"work\").";
    RETRIES retries: Shape::Table(&[retries::KEYS]), derived("the AWS SDK's standard retry mode: max_attempts = 3, backoff = \"1s\""), "How a send that failed transiently (throttled, 5xx, timed out) is retried.";
    OUTBOX outbox: Shape::Bool, default("false"), "The transactional outbox (standard queues, batch_size = 1): each message's business record and an outbox row in one TransactWriteItems, then a relay sends the row's message and deletes the row; after a crash the relay sends the rows left.";
    DUAL_WRITE dual_write: Shape::Choice(&["commit-then-send", "send-then-commit"]), OPTIONAL, "The naive dual write (standard queues, batch_size = 1, not with outbox): the business record (PutItem) and the send as two calls in this order.";
    CHAOS chaos: Shape::Table(&[producer_chaos::KEYS]), OPTIONAL, "With outbox or dual_write: crashes between the two writes (the producer restarts at once).";
    CLAIM_CHECK_ABOVE claim_check_above: int(1, facts::MAX_PAYLOAD_BYTES as i64), OPTIONAL, "The claim check (not with outbox or dual_write): a body of more than this many bytes is stored in the status table (items `payload:ID:N` of at most 384 KiB, one TransactWriteItems) and the message carries a pointer to it; the consumer reads the payload back before handling the message and deletes it after deleting the message.";
});

table!(producer_chaos {
    CRASH_AFTER_COMMIT crash_after_commit: Shape::CrashPolicy, default("never"), "Crash after the business record is committed, before the message is sent (outbox, commit-then-send).";
    CRASH_AFTER_SEND crash_after_send: Shape::CrashPolicy, default("never"), "Crash after the message is sent, before the write that follows it: the outbox row's delete (outbox) or the business record (send-then-commit).";
});

table!(payload {
    KIND kind: Shape::Choice(PAYLOAD_KIND_NAMES), default("work"), "Message generator: work (poison keys), business-duplicates (field, orders, duplicates), versioned (entities, versions, shuffle), literal (messages).";
    POISON poison: Shape::Table(&[poison::KEYS]), OPTIONAL, "work: which messages are poison (exactly one of every / positions / probability).";
    FIELD field: Shape::Text, default("order_id"), "business-duplicates: the payload field that holds the business key.";
    ORDERS orders: count_from(1), OPTIONAL, "business-duplicates (required): number of distinct business keys.";
    DUPLICATES duplicates: count_from(0), default("1"), "business-duplicates: extra messages reusing existing keys (the producer sends orders + duplicates messages).";
    ENTITIES entities: count_from(1), default("1"), "versioned: number of entities.";
    VERSIONS versions: count_from(1), OPTIONAL, "versioned (required): versions 1..=N of each entity.";
    SHUFFLE shuffle: Shape::Bool, default("true"), "versioned: send the versions in a seeded random order.";
    MESSAGES messages: Shape::TableList(&[literal::KEYS]), OPTIONAL, "literal (required): the messages, sent in order.";
    SIZE size: int(1, MAX_BODY_SIZE), OPTIONAL, "Every kind: pad each body to this many bytes (SQS refuses more than 1048576; bodies are JSON, so a few hundred bytes at least).";
});

/// The largest body `size` asks for: twice SQS's limit, room enough to break it.
pub(crate) const MAX_BODY_SIZE: i64 = 2 * facts::MAX_PAYLOAD_BYTES as i64;

table!(poison {
    EVERY every: count_from(1), OPTIONAL, "Every N-th message is poison.";
    POSITIONS positions: Shape::List(&count_from(1)), OPTIONAL, "These 1-based positions are poison.";
    PROBABILITY probability: super::PROBABILITY, OPTIONAL, "Each message is poison with this probability (seeded).";
});

table!(literal {
    FIELDS fields: Shape::Fields, default("{}"), "Payload fields, string or integer values.";
    GROUP group: Shape::Text, OPTIONAL, "FIFO only: MessageGroupId (default: the producer's round-robin group).";
    DEDUP_ID dedup_id: Shape::Text, OPTIONAL, "FIFO only, with dedup = \"payload\": MessageDeduplicationId.";
    POISON poison: Shape::Bool, default("false"), "The message is poison.";
});

table!(consumer {
    NAME name: Shape::Name, REQUIRED, "Consumer group name, unique among groups; instances are NAME-1, NAME-2, ...";
    COUNT count: instances_from(0), default("1"), "Instances started at `start` (0 = started later by the timeline or autoscaler).";
    START start: ANY_DURATION, default("0s"), "When the first instance starts.";
    STAGGER stagger: ANY_DURATION, default("0s"), "Instance k starts at start + k * stagger.";
    MAX_MESSAGES max_messages: int(1, MAX_BATCH as i64), default("1"), "MaxNumberOfMessages per receive.";
    WAIT wait: secs(Duration::ZERO, MAX_RECEIVE_WAIT), derived("queue.receive_wait"), "WaitTimeSeconds of each receive.";
    IDLE_TIMEOUT idle_timeout: POSITIVE_DURATION, derived("queue.visibility_timeout + 2 * wait + 1s"), "An instance exits cleanly after this long without receiving anything.";
    MESSAGE_LIMIT message_limit: count_from(1), OPTIONAL, "An instance exits cleanly after processing this many messages.";
    ACK ack: Shape::Choice(crate::scenario::Ack::NAMES), default("on-success"), "When handled messages are deleted: on-success (failed ones stay; failed delete entries are retried), always (also failed ones), batch-ignore-failures (failed delete entries are not retried), partial-batch (on FIFO the first failure fails the rest of its group in the batch).";
    PREFETCH prefetch: int(1, MAX_PREFETCH), OPTIONAL, "Receive ahead until this many messages are held (>= max_messages), then handle them one by one; each is deleted when handled.";
    POLLER poller: Shape::Table(&[poller::KEYS]), OPTIONAL, "A Lambda-style SQS event source: each instance is a poller invoking the function with batches, throttled beyond max_concurrency.";
    RETRIES retries: Shape::Table(&[retries::KEYS]), derived("the AWS SDK's standard retry mode: max_attempts = 3, backoff = \"1s\""), "How a receive, delete or visibility change that failed transiently (throttled, 5xx, timed out) is retried.";
    PROCESS process: Shape::Bool, default("false"), "Each instance runs as a `qsim consume` child process: terminate sends it a real SIGTERM, kill a real SIGKILL, restart_after starts a new process (in real time: on the simulator, served to the processes for the run).";
    COMMAND command: Shape::List(&Shape::Text), OPTIONAL, "A team's own consumer: each instance runs this program and arguments (relative paths from the directory qsim runs in) with QUEUE_URL, DLQ_URL, STATUS_TABLE, SIDE_EFFECTS_TABLE, QSIM_INSTANCE and AWS_* set; excludes the built-in consumer's keys (in real time: on the simulator, served to the processes for the run).";
    ENV env: Shape::Fields, default("{}"), "command only: extra environment variables of each instance (string or integer values).";
});

/// The most messages a consumer may hold received ahead: a buffer, not a second queue.
const MAX_PREFETCH: i64 = 1_000;

table!(poller {
    BATCH_SIZE batch_size: int(1, MAX_BATCH as i64), default("10"), "Messages per receive and invocation (an SQS event source's BatchSize without a batching window: 1 to 10).";
    MAX_CONCURRENCY max_concurrency: instances_from(1), REQUIRED, "The function's concurrency: invocations beyond it are throttled and retried until the batch's visibility timeout runs out.";
    FUNCTION_TIMEOUT function_timeout: POSITIVE_DURATION, REQUIRED, "An invocation running longer is stopped and its whole batch fails (at most the queue's visibility timeout).";
    REPORT_BATCH_ITEM_FAILURES report_batch_item_failures: Shape::Bool, default("false"), "The function reports its failed items and the rest of the batch is deleted; false: one failure fails the whole batch.";
});

table!(retries {
    MAX_ATTEMPTS max_attempts: int(1, 20), default("3"), "Attempts per call, the first included (1: no retry).";
    BACKOFF backoff: MAX_BACKOFF_SHAPE, default("1s"), "Base of the exponential backoff: the n-th retry waits a seeded random fraction of backoff * 2^(n-1), at most 20 s (0s: retry at once).";
});

/// The base of a retry backoff: up to the AWS SDK standard mode's 20 s cap on one backoff.
const MAX_BACKOFF_SHAPE: Shape = Shape::Duration {
    min: Duration::ZERO,
    max: Some(crate::scenario::RetryPolicy::MAX_BACKOFF),
    positive: false,
    seconds: false,
};

/// `operation` of a fault: the backend boundary's operations, or every one of them.
const FAULT_OPERATIONS: &[&str] = &[
    "send",
    "receive",
    "delete",
    "change_visibility",
    "get_item",
    "put_item",
    "update_item",
    "all",
];

const FAULT_KINDS: &[&str] = &[
    "throttle",
    "error",
    "timeout_before",
    "timeout_after",
    "latency",
];

table!(fault {
    OPERATION operation: Shape::Choice(FAULT_OPERATIONS), REQUIRED, "The API operation the fault strikes (\"all\": every one).";
    KIND kind: Shape::Choice(FAULT_KINDS), REQUIRED, "throttle (RequestThrottled / ProvisionedThroughputExceededException), error (5xx InternalError), timeout_before (nothing happened), timeout_after (the service applied it, the answer was lost), latency (a seeded extra delay).";
    PROBABILITY probability: super::PROBABILITY, OPTIONAL, "Trigger: each targeted call (or entry) with this probability, seeded (exactly one of probability / window / nth).";
    WINDOW window: Shape::Table(&[window::KEYS]), OPTIONAL, "Trigger: every targeted call (or entry) made from `from` until `until`.";
    NTH nth: count_from(1), OPTIONAL, "Trigger: only the n-th targeted call (or entry), from 1.";
    SCOPE scope: Shape::Choice(&["call", "entry"]), default("call"), "call: the whole call fails; entry: single entries of a batch call (send, delete) get error results, the call succeeds (kind throttle or error only).";
    DELAY delay: positive_up_to(MAX_VIRTUAL), OPTIONAL, "latency only (required there): the upper bound of the seeded extra delay, drawn uniformly up to it.";
});

table!(window {
    FROM from: ANY_DURATION, REQUIRED, "Start of the window (run time).";
    UNTIL until: ANY_DURATION, REQUIRED, "End of the window, exclusive (after from).";
});

table!(behavior {
    PROCESSING processing: ANY_DURATION, default("0s"), "Time spent on a message before its side effect.";
    SIDE_EFFECT_DELAY side_effect_delay: ANY_DURATION, default("0s"), "Duration of the side effect itself (the external call).";
    IDEMPOTENCY idempotency: Shape::Choice(&["none", "memory", "lock", "tables"]), default("none"), "How repeated deliveries are recognised: none, an in-memory LRU, a status-table lock, or status + side-effects tables.";
    CACHE_SIZE cache_size: int(1, 10_000_000), default("1000"), "idempotency = \"memory\" only: LRU capacity.";
    LEASE lease: ANY_DURATION, derived("queue.visibility_timeout"), "idempotency = \"lock\" or \"tables\" only: how long a STARTED claim holds (0s: another consumer may take it over at once).";
    BUSINESS_KEY business_key: Shape::Text, OPTIONAL, "Idempotency key = this payload field instead of the message id.";
    VERSIONING versioning: Shape::Table(&[versioning::KEYS]), OPTIONAL, "Apply messages as versioned events of an entity.";
    LOG_FIELD log_field: Shape::Text, OPTIONAL, "Payload field recorded in the order log at each side effect.";
    REJECT_POISON reject_poison: Shape::Bool, default("false"), "Poison messages fail processing (not deleted, so they are redelivered).";
    HEARTBEAT heartbeat: Shape::Table(&[heartbeat::KEYS]), OPTIONAL, "Extend the visibility timeout while processing.";
    STALE_AFTER stale_after: POSITIVE_DURATION, OPTIONAL, "Messages older than this when processed are deleted as stale, not applied.";
    CHAOS chaos: Shape::Table(&[chaos::KEYS]), OPTIONAL, "Crashes and slowness injected into the consumer.";
});

table!(versioning {
    ENTITY entity: Shape::Text, default("entity"), "Payload field naming the entity.";
    VERSION version: Shape::Text, default("version"), "Payload field holding the version.";
    CHECK check: Shape::Bool, default("true"), "Conditional write (only newer versions apply); false = last arrival wins.";
});

table!(heartbeat {
    INTERVAL interval: at_least_ms(100), REQUIRED, "Time between ChangeMessageVisibility calls (< extend).";
    EXTEND extend: positive_up_to(MAX_VISIBILITY_TIMEOUT), REQUIRED, "Visibility timeout set by each heartbeat.";
});

table!(chaos {
    CRASH_AFTER_RECEIVE crash_after_receive: Shape::CrashPolicy, default("never"), "Crash right after a receive.";
    CRASH_AFTER_SIDE_EFFECT crash_after_side_effect: Shape::CrashPolicy, default("never"), "Crash after the side effect, before the delete.";
    CRASH_RATE crash_rate: PROBABILITY, default("0.0"), "Probability per message of crashing before the side effect.";
    SLOW_RATE slow_rate: PROBABILITY, default("0.0"), "Probability per message of taking slow_delay longer.";
    SLOW_DELAY slow_delay: ANY_DURATION, default("0s"), "Extra time of a slow message.";
    RESTART_AFTER restart_after: ANY_DURATION, OPTIONAL, "A crashed instance is restarted after this long (default: it stays down).";
});

table!(at {
    TIME time: ANY_DURATION, OPTIONAL, "Run the action at this time (exactly one of time / when).";
    WHEN when: Shape::Condition, OPTIONAL, "Run the action the first time this condition holds.";
    POLL poll: at_least_ms(10), default("100ms"), "With `when`: how often the condition is checked.";
    TERMINATE terminate: Shape::Target, OPTIONAL, "Action: SIGTERM consumers (they finish in-flight work).";
    KILL kill: Shape::Target, OPTIONAL, "Action: SIGKILL consumers (in-flight messages come back later).";
    START start: Shape::Table(&[start::KEYS]), OPTIONAL, "Action: start more instances of a group.";
    STOP stop: Shape::Name, OPTIONAL, "Action: stop the named producer.";
    PURGE purge: Shape::Choice(&["main", "dlq"]), OPTIONAL, "Action: purge the main queue or the DLQ (needs max_receive_count).";
    DEPLOY deploy: Shape::Table(&[deploy::KEYS, behavior::KEYS]), OPTIONAL, "Action: replace a group's behaviour; keys left out keep their current values.";
    REDRIVE redrive: Shape::Table(&[redrive::KEYS]), OPTIONAL, "Action: move messages from the DLQ back (needs max_receive_count).";
    STOP_ALL stop_all: Shape::Bool, OPTIONAL, "Action (only `true`): stop every producer and terminate every consumer.";
});

table!(start {
    GROUP group: Shape::Name, REQUIRED, "The consumer group.";
    COUNT count: instances_from(1), default("1"), "How many instances to start.";
});

table!(deploy {
    GROUP group: Shape::Name, REQUIRED, "The consumer group whose behaviour changes.";
});

table!(redrive {
    MAX_PER_SECOND max_per_second: int(1, MAX_MOVE_TASK_RATE as i64), OPTIONAL, "Messages moved per second (default: as fast as SQS goes).";
});

table!(autoscaler {
    GROUP group: Shape::Name, REQUIRED, "The consumer group to scale.";
    INTERVAL interval: at_least_ms(100), default("5s"), "How often the depth is checked.";
    SCALE_OUT_DEPTH scale_out_depth: count_from(1), REQUIRED, "Add an instance when the visible depth is >= this.";
    SCALE_IN_DEPTH scale_in_depth: count_from(0), OPTIONAL, "Terminate an instance when the depth is <= this (default: never).";
    MIN min: instances_from(0), default("1"), "Instances the group has from the start (the autoscaler starts those its count lacks); never scales in below this.";
    MAX max: instances_from(1), REQUIRED, "Never more instances than this (>= min).";
});
