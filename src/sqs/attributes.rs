//! [`QueueAttributes`]: a queue as CreateQueue takes it, with SQS's own defaults.

use std::time::Duration;

use super::facts::{DEFAULT_RETENTION, DEFAULT_VISIBILITY_TIMEOUT};
use super::fifo_mode::{DeduplicationScope, FifoThroughputLimit};

/// The attributes of one SQS queue, as CreateQueue takes them. Durations are already validated
/// against SQS's ranges ([`super::facts`]); SQS takes them in whole seconds
/// ([`super::facts::whole_seconds`]).
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
    /// `DeduplicationScope` (FIFO queues only).
    pub deduplication_scope: DeduplicationScope,
    /// `FifoThroughputLimit` (FIFO queues only).
    pub fifo_throughput_limit: FifoThroughputLimit,
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
            deduplication_scope: DeduplicationScope::Queue,
            fifo_throughput_limit: FifoThroughputLimit::PerQueue,
        }
    }
}
