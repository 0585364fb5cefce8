//! A queue as both sides of qsim see it: the scenario file declares it, the backends create it.
//!
//! These types live outside [`crate::scenario`] and [`crate::backend`] so that both use them
//! without depending on each other: [`QueueAttributes`] are what SQS is told at CreateQueue, with
//! SQS's own defaults; [`QueueRole`] tells the main queue from its dead-letter queue; [`SimKnobs`]
//! are the faults only the simulator injects.

use std::time::Duration;

use crate::sqs_facts::{DEFAULT_RETENTION, DEFAULT_VISIBILITY_TIMEOUT};

/// The attributes of one SQS queue, as CreateQueue takes them. Durations are already validated
/// against SQS's ranges ([`crate::sqs_facts`]); SQS takes them in whole seconds
/// ([`crate::sqs_facts::whole_seconds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueAttributes {
    /// `FifoQueue`.
    pub fifo: bool,
    /// `VisibilityTimeout`.
    pub visibility_timeout: Duration,
    /// `ReceiveMessageWaitTimeSeconds`: the queue's long poll.
    pub receive_wait: Duration,
    /// `DelaySeconds`.
    pub delay: Duration,
    /// `MessageRetentionPeriod`.
    pub retention: Duration,
    /// `ContentBasedDeduplication` (FIFO queues only).
    pub content_based_dedup: bool,
}

/// What SQS creates when CreateQueue names no attribute: a standard queue, 30 s of visibility,
/// no long poll, no delay, 4 days of retention.
impl Default for QueueAttributes {
    fn default() -> Self {
        QueueAttributes {
            fifo: false,
            visibility_timeout: DEFAULT_VISIBILITY_TIMEOUT,
            receive_wait: Duration::ZERO,
            delay: Duration::ZERO,
            retention: DEFAULT_RETENTION,
            content_based_dedup: false,
        }
    }
}

/// Which of the scenario's queues is meant: names, reports and timeline actions use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueRole {
    Main,
    DeadLetter,
}

impl QueueRole {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueRole::Main => "main",
            QueueRole::DeadLetter => "dlq",
        }
    }
}

/// Fault injection only the simulator can do: real SQS does these rarely and unpredictably.
/// All zero means "behave like an idealised SQS".
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SimKnobs {
    /// Probability that a receive leaves a second copy of a returned message in the queue
    /// (at-least-once delivery), delivered again later even if the first copy was deleted.
    pub duplicate_rate: f64,
    /// Probability that each message slot of a standard-queue receive is filled from a random
    /// position among the first `reorder_window` visible messages instead of the head.
    pub reorder_rate: f64,
    pub reorder_window: u32,
    /// Upper bound of the seeded duration of an asynchronous purge (SQS: up to
    /// [`crate::sqs_facts::PURGE_WINDOW`]).
    pub purge_window: Duration,
}
