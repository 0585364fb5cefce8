//! The resolved scenario: every default applied, every reference checked, nothing optional left
//! that the engine would have to guess. Built only by [`super::load`] / [`super::parse`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::Metric;
use crate::sqs::envelope::SimSettings;
use crate::sqs::faults::FaultRule;
use crate::sqs::{QueueAttributes, QueueRole};

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Where the file was read from (for reports and the reproduce command).
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub seed: u64,
    /// Fail (not hang) when the run has not finished by then.
    pub timeout: Duration,
    pub queue: QueueConfig,
    pub producers: Vec<Producer>,
    pub consumers: Vec<ConsumerGroup>,
    pub timeline: Vec<TimelineEntry>,
    pub autoscaler: Option<Autoscaler>,
    /// `[[faults]]`: what the fault layer injects at the backend boundary, in file order.
    pub faults: Vec<FaultRule>,
    pub expect: Expectations,
}

/// A consumer group, by its position in [`Scenario::consumers`]: references are resolved to
/// these once, so the engine never looks a name up while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupIx(pub usize);

/// A producer, by its position in [`Scenario::producers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProducerIx(pub usize);

impl Scenario {
    /// Whether a group runs a team's own consumer (`command`): it reports nothing of its work,
    /// so a message's handling is told by its effects (see the checks' facts), and its receives
    /// and deletes are in the history only when the endpoint recorded them.
    pub fn runs_commands(&self) -> bool {
        self.consumers
            .iter()
            .any(|g| matches!(g.execution, Execution::Command { .. }))
    }

    /// Whether its `command` consumers' calls must be seen or struck: it expects what only the
    /// endpoint's history tells of them (their receives), or has `[[faults]]` that may strike
    /// their calls (any but sends, which are its producers'). Only the simulator served to them
    /// does either.
    pub fn needs_command_calls(&self) -> bool {
        let expects_receives = || {
            (self.expect.checks.iter())
                .chain(&self.expect.sometimes)
                .any(|e| !e.metric.observable_without_consumer_calls())
        };
        let faults_strike_them = || {
            self.faults
                .iter()
                .any(|f| f.operation != Some(crate::sqs::faults::ApiOperation::Send))
        };
        self.runs_commands() && (expects_receives() || faults_strike_them())
    }

    /// Whether some group's instances are child processes (`process` or `command`), which need
    /// an endpoint to reach the queues.
    pub fn runs_child_processes(&self) -> bool {
        self.consumers
            .iter()
            .any(|g| g.execution.is_child_process())
    }

    pub fn group(&self, group: GroupIx) -> &ConsumerGroup {
        &self.consumers[group.0]
    }

    pub fn producer(&self, producer: ProducerIx) -> &Producer {
        &self.producers[producer.0]
    }
}

/// The queue under test; its DLQ, when it has one, gets the same attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueConfig {
    pub attributes: QueueAttributes,
    /// RedrivePolicy maxReceiveCount; `None` = no DLQ.
    pub max_receive_count: Option<u32>,
    /// The simulator's envelope, and the latitudes the scenario assumes away.
    pub sim: SimSettings,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Producer {
    pub name: String,
    pub start: Duration,
    pub amount: Amount,
    pub rate: Rate,
    /// 1 to 10.
    pub batch_size: u32,
    pub payload: Payload,
    /// FIFO: messages are spread round-robin over this many groups `g1..gN` (>= 1).
    pub groups: u32,
    /// FIFO: where MessageDeduplicationId comes from.
    pub dedup: DedupSource,
    /// Standard queues: per-message DelaySeconds.
    pub delay: Option<Duration>,
    /// How a send that failed transiently is retried.
    pub retries: RetryPolicy,
    /// Each body padded to this many bytes (`payload.size`).
    pub body_size: Option<u64>,
    /// Whether each message comes with a business record, and how the two are written.
    pub write: WriteMode,
    /// The claim check: bodies of more bytes than this are stored in the status table and the
    /// message carries a pointer to them.
    pub claim_check_above: Option<u64>,
}

/// How a producer writes a message and, in the business-record modes, the record it stands for
/// (the status table's `record:ID` item).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum WriteMode {
    /// Only the message: no business record.
    #[default]
    SendOnly,
    /// The transactional outbox: the record and an outbox row in one transaction; a relay sends
    /// the row's message, then deletes the row.
    Outbox(ProducerChaos),
    /// The naive dual write: the record and the message as two separate calls.
    DualWrite(DualWriteOrder, ProducerChaos),
}

impl WriteMode {
    pub fn chaos(self) -> ProducerChaos {
        match self {
            WriteMode::SendOnly => ProducerChaos::default(),
            WriteMode::Outbox(chaos) | WriteMode::DualWrite(_, chaos) => chaos,
        }
    }
}

/// Which of the two calls of a naive dual write comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DualWriteOrder {
    CommitThenSend,
    SendThenCommit,
}

/// Where a business-record producer crashes; it restarts at once with nothing in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProducerChaos {
    pub crash_after_commit: CrashPolicy,
    pub crash_after_send: CrashPolicy,
}

/// How a producer or consumer retries a call that failed transiently (throttled, 5xx, timed
/// out), as the AWS SDK's standard retry mode does: up to `max_attempts` attempts in all, the
/// n-th retry after a seeded random fraction of `backoff * 2^(n-1)`, capped at
/// [`RetryPolicy::MAX_BACKOFF`] (full jitter).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff: Duration,
}

impl RetryPolicy {
    /// The AWS SDKs' standard retry mode: three attempts ("The default maximum number of
    /// attempts with this mode is three", AWS SDKs and Tools Reference Guide, Retry behavior,
    /// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>), an
    /// initial backoff of one second (aws-smithy-types `RetryConfig::with_initial_backoff`,
    /// <https://docs.rs/aws-smithy-types/latest/aws_smithy_types/retry/struct.RetryConfig.html>).
    pub const SDK_STANDARD: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        backoff: Duration::from_secs(1),
    };

    /// The standard mode's cap on one backoff (`RetryConfig::with_max_backoff`, default 20 s).
    pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
}

#[derive(Clone, Debug, PartialEq)]
pub enum Amount {
    /// Exactly this many messages (for `versioned` and `literal` it is derived from the payload).
    Count(u64),
    /// Until a `stop` action names this producer (or the run ends).
    Continuous,
    /// One message at each offset from the producer's start, in order.
    Schedule(Vec<Duration>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Unlimited,
    PerSecond(f64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DedupSource {
    /// Standard queues, or FIFO with content-based deduplication and no explicit id.
    None,
    /// The qsim message id (unique per message).
    MessageId,
    /// From the payload (literal messages' `dedup_id`).
    Payload,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    /// Plain work items, optionally with poison among them.
    Work { poison: Option<PoisonPattern> },
    /// `orders` distinct business keys in `field`, plus `duplicates` more messages that reuse
    /// existing keys with new message ids (seeded choice of which keys).
    BusinessDuplicates {
        field: String,
        orders: u64,
        duplicates: u64,
    },
    /// Versions 1..=versions of each of `entities` entities, shuffled (seeded) when `shuffle`.
    Versioned {
        entities: u64,
        versions: u64,
        shuffle: bool,
    },
    /// Literal messages, sent in order.
    Literal(Vec<LiteralMessage>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum PoisonPattern {
    /// These 1-based positions in the producer's sequence.
    Positions(Vec<u64>),
    /// Every n-th message (n, 2n, ...).
    Every(u64),
    /// Each message independently with this probability (seeded).
    Probability(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LiteralMessage {
    /// Extra payload fields (string or integer values), e.g. `order_id`.
    pub fields: BTreeMap<String, FieldValue>,
    pub group: Option<String>,
    pub dedup_id: Option<String>,
    pub poison: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldValue {
    Int(i64),
    Str(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerGroup {
    pub name: String,
    /// Instances started at `start` (0 = only started by the timeline or the autoscaler).
    pub count: u32,
    pub start: Duration,
    /// Instance k (0-based) starts at `start + k * stagger`.
    pub stagger: Duration,
    /// MaxNumberOfMessages, 1 to 10.
    pub max_messages: u32,
    /// WaitTimeSeconds of each receive, 0 to 20 s (defaults to the queue's receive wait).
    pub wait: Duration,
    /// Exit cleanly after this long without receiving anything.
    pub idle_timeout: Duration,
    /// Exit cleanly after processing this many messages (per instance).
    pub message_limit: Option<u64>,
    /// When a handled message is deleted.
    pub ack: Ack,
    /// The most messages an instance holds received ahead of handling them (`None`: one
    /// receive's worth).
    pub prefetch: Option<u32>,
    /// A Lambda-style event source instead of a receive loop.
    pub poller: Option<Poller>,
    /// How a receive, delete or visibility change that failed transiently is retried.
    pub retries: RetryPolicy,
    /// The behaviour a `deploy` action can replace while the run goes on.
    pub behavior: ConsumerBehavior,
    /// Where each instance runs: a task of qsim's own process, or a child process.
    pub execution: Execution,
}

/// Where a consumer group's instances run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Execution {
    /// A task of the run's own process (the simulator's only way).
    #[default]
    InProcess,
    /// `process = true`: each instance is a `qsim consume` child process running the built-in
    /// consumer, signalled for real.
    Process,
    /// `command = [...]`: each instance is a team's own program, signalled for real; its
    /// receives and deletes are not observable, only its effects on the queues and tables.
    Command {
        argv: Vec<String>,
        /// Extra environment (`env`), on top of the contract's variables.
        env: BTreeMap<String, String>,
    },
}

impl Execution {
    /// Whether the instances are child processes (and so need a real endpoint to reach).
    pub fn is_child_process(&self) -> bool {
        !matches!(self, Execution::InProcess)
    }
}

/// When a consumer deletes the messages it handled: the acknowledgement patterns consumer
/// libraries implement, correctly or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ack {
    /// Delete what was handled successfully (one DeleteMessageBatch per receive); entries that
    /// fail for a transient reason are sent again.
    #[default]
    OnSuccess,
    /// Delete whatever was received, also when the handler failed (a `finally { delete }`).
    Always,
    /// Like `OnSuccess`, but the per-entry failures of DeleteMessageBatch are ignored.
    BatchIgnoreFailures,
    /// A batch handler reports its failed items and the rest are deleted; on a FIFO queue the
    /// first failure also fails the rest of its group in the batch (released unhandled), so
    /// order holds, each release costing those messages a receive.
    PartialBatch,
}

impl Ack {
    pub const NAMES: &'static [&'static str] = &[
        "on-success",
        "always",
        "batch-ignore-failures",
        "partial-batch",
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        let all = [
            Ack::OnSuccess,
            Ack::Always,
            Ack::BatchIgnoreFailures,
            Ack::PartialBatch,
        ];
        Self::NAMES.iter().position(|n| *n == name).map(|i| all[i])
    }
}

/// A Lambda-style SQS event source: each instance of the group is one poller that receives
/// batches and invokes the function, at most `max_concurrency` invocations running at once over
/// the group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Poller {
    /// Messages per receive, 1 to 10.
    pub batch_size: u32,
    /// The function's concurrency: an invocation beyond it is throttled.
    pub max_concurrency: u32,
    /// An invocation running longer is stopped and its whole batch fails.
    pub function_timeout: Duration,
    /// The function returns its failed items (`ReportBatchItemFailures`): the rest of the batch
    /// is deleted. Without it one failure fails the whole batch.
    pub report_batch_item_failures: bool,
}

/// How a consumer handles one message. Replaced as a whole by `deploy` (unset keys of the deploy
/// keep their current values).
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerBehavior {
    /// Time spent on a message before its side effect.
    pub processing: Duration,
    /// Duration of the side effect itself (the external call).
    pub side_effect_delay: Duration,
    pub idempotency: Idempotency,
    /// What identifies "the same work": the message id, or a business field of the payload.
    pub idempotency_key: IdempotencyKey,
    /// Apply messages as versioned events of an entity (last-write-wins), instead of counting
    /// side effects.
    pub versioning: Option<Versioning>,
    /// Record this payload field in the order log when the side effect happens.
    pub log_field: Option<String>,
    /// Poison messages fail processing (not deleted, so SQS redelivers them).
    pub reject_poison: bool,
    /// ChangeMessageVisibility while processing.
    pub heartbeat: Option<Heartbeat>,
    /// Messages older than this when processed are recorded as stale and deleted, not applied.
    pub stale_after: Option<Duration>,
    pub chaos: Chaos,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Idempotency {
    /// Every delivery performs the side effect.
    None,
    /// Per-instance LRU of keys already handled (lost when the consumer crashes).
    Memory { capacity: usize },
    /// Status table claim (STARTED with a lease, COMPLETED at the end); the side effect itself is
    /// a plain, non-idempotent call. An expired lease is taken over.
    Lock { lease: Duration },
    /// The two-table pattern: the claim of `Lock`, then check-before-doing in the side-effects
    /// table and a conditional write of the side effect.
    Tables { lease: Duration },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyKey {
    MessageId,
    Field(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioning {
    pub entity_field: String,
    pub version_field: String,
    /// Conditional write (`version < :v`); false = naive, apply in arrival order.
    pub check: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heartbeat {
    pub interval: Duration,
    /// New visibility timeout set by each heartbeat.
    pub extend: Duration,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Chaos {
    pub crash_after_receive: CrashPolicy,
    pub crash_after_side_effect: CrashPolicy,
    /// Probability per message of crashing mid-processing (before the side effect).
    pub crash_rate: f64,
    /// Probability per message of taking `slow_delay` extra.
    pub slow_rate: f64,
    pub slow_delay: Duration,
    /// A crashed instance is restarted after this long (a supervisor); `None` = stays down.
    pub restart_after: Option<Duration>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum CrashPolicy {
    #[default]
    Never,
    /// The first message the group handles at that point crashes its instance; later ones not.
    Once,
    /// Every message.
    Always,
    /// Each message with this probability (seeded).
    Probability(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub trigger: Trigger,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    At(Duration),
    /// Polled every `poll`; fires once, the first time it holds.
    When {
        condition: WhenCondition,
        poll: Duration,
    },
}

/// A `when` trigger's `METRIC OP VALUE` over live run metrics (the backend's conditional
/// writes are `backend::Condition`).
#[derive(Clone, Debug, PartialEq)]
pub struct WhenCondition {
    pub metric: LiveMetric,
    pub op: CompareOp,
    pub value: f64,
}

/// Metrics known while the run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveMetric {
    Sent,
    Received,
    Processed,
    SideEffects,
    /// Visible messages in the main queue (ApproximateNumberOfMessages).
    Depth,
    InFlight,
    /// Messages in the DLQ.
    Dlq,
    /// Consumers currently running.
    Consumers,
    Crashes,
}

impl LiveMetric {
    /// Every live metric with its name in `when` conditions and what it counts.
    pub const ALL: &[(LiveMetric, &str, &str)] = &[
        (LiveMetric::Sent, "sent", "messages sent so far"),
        (
            LiveMetric::Received,
            "received",
            "receives so far (every delivery counts)",
        ),
        (
            LiveMetric::Processed,
            "processed",
            "messages processed and deleted so far",
        ),
        (
            LiveMetric::SideEffects,
            "side_effects",
            "side effects performed so far",
        ),
        (
            LiveMetric::Depth,
            "depth",
            "visible messages in the main queue",
        ),
        (
            LiveMetric::InFlight,
            "in_flight",
            "messages received and not yet deleted or visible",
        ),
        (LiveMetric::Dlq, "dlq", "messages in the DLQ"),
        (
            LiveMetric::Consumers,
            "consumers",
            "consumers currently running",
        ),
        (
            LiveMetric::Crashes,
            "crashes",
            "consumer crashes and kills so far",
        ),
    ];

    pub fn from_name(name: &str) -> Option<LiveMetric> {
        LiveMetric::ALL
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(m, _, _)| *m)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn holds(self, actual: f64, expected: f64) -> bool {
        match self {
            CompareOp::Eq => actual == expected,
            CompareOp::Ne => actual != expected,
            CompareOp::Lt => actual < expected,
            CompareOp::Le => actual <= expected,
            CompareOp::Gt => actual > expected,
            CompareOp::Ge => actual >= expected,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// SIGTERM: finish in-flight work, then exit cleanly. `None` target = every consumer.
    Terminate(Target),
    /// SIGKILL: stop at once, in-flight messages return after their visibility timeout.
    Kill(Target),
    /// Start `count` more instances of a group.
    Start { group: GroupIx, count: u32 },
    /// Stop a producer (continuous producers end this way).
    StopProducer(ProducerIx),
    /// PurgeQueue on the main queue or the DLQ.
    Purge(QueueRole),
    /// Replace a group's behaviour for every instance, running or future.
    Deploy {
        group: GroupIx,
        behavior: Box<ConsumerBehavior>,
    },
    /// Start a message move task from the DLQ back to the main queue.
    Redrive { max_per_second: Option<u32> },
    /// Stop every producer and terminate every consumer.
    StopAll,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    All,
    Group(GroupIx),
    /// One instance, `group-N` (1-based).
    Instance {
        group: GroupIx,
        index: u32,
    },
}

/// Scale a group out while the main queue's visible depth stays high.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscaler {
    pub group: GroupIx,
    pub interval: Duration,
    /// Add one instance when depth >= this.
    pub scale_out_depth: u64,
    /// Terminate one instance when depth <= this (and more than `min` run); `None` = never.
    pub scale_in_depth: Option<u64>,
    pub min: u32,
    pub max: u32,
}

/// `[expect]`: invariants checked after the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expectations {
    pub checks: Vec<Expectation>,
    /// `[expect.sometimes]`: must hold on at least one explored seed; a single run reports them.
    pub sometimes: Vec<Expectation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// `None` = the whole run; `Some(p)` = only messages of producer `p` (`[expect.producer.p]`).
    pub scope: Option<ProducerIx>,
    pub metric: Metric,
    pub expected: Expected,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expected {
    Compare {
        op: CompareOp,
        value: f64,
    },
    Bool(bool),
    /// `status = { COMPLETED = 3 }`: items per status in the status table.
    Counts(BTreeMap<String, u64>),
}
