//! What SQS documents about itself and qsim relies on: limits, ranges, defaults and windows, each
//! stated once, with the AWS documentation page it comes from.
//!
//! The key catalogue (ranges and defaults of the file format), the simulator (the limits it
//! enforces and the windows it keeps), the AWS backend (batch sizes, the purge rule, names) and the
//! checker (what a purge or a deduplication id may still reach) all read these constants, so they
//! cannot disagree about SQS.
//!
//! Part of the [`crate::sqs`] leaf, which imports nothing else of qsim: `scenario` and `backend`
//! both use it, and neither may depend on the other for it. qsim relies on no DynamoDB limit
//! (items are a few attributes, reads are single items or paginated scans), so only SQS is here.

use std::ops::RangeInclusive;
use std::time::Duration;

/// Entries per SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch call, and
/// messages per ReceiveMessage (`MaxNumberOfMessages`, 1 to 10).
/// Source: Amazon SQS API Reference, "SendMessageBatch" and "ReceiveMessage".
pub const MAX_BATCH: usize = 10;

/// The longest batch entry id (`[A-Za-z0-9_-]`, 1 to 80 characters).
/// Source: Amazon SQS API Reference, "SendMessageBatchRequestEntry" (`Id`).
pub const MAX_BATCH_ENTRY_ID: usize = 80;

/// The most bytes a message, and all messages of one SendMessageBatch together, may hold.
/// Source: Amazon SQS Developer Guide, "Amazon SQS message quotas" (maximum message size).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// The longest queue name, `.fifo` suffix included (`[A-Za-z0-9_-]`).
/// Source: Amazon SQS API Reference, "CreateQueue" (`QueueName`).
pub const MAX_QUEUE_NAME: usize = 80;

/// The suffix every FIFO queue's name ends with.
/// Source: Amazon SQS API Reference, "CreateQueue" (`QueueName`).
pub const FIFO_SUFFIX: &str = ".fifo";

/// The most queue URLs one ListQueues page returns (`MaxResults`, 1 to 1,000).
/// Source: Amazon SQS API Reference, "ListQueues".
pub const MAX_LIST_QUEUES_RESULTS: u16 = 1000;

/// `VisibilityTimeout` when a queue is created without one.
/// Source: Amazon SQS API Reference, "CreateQueue" (`VisibilityTimeout`, default 30 seconds).
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest `VisibilityTimeout`, of a queue, of a receive or of ChangeMessageVisibility
/// (0 to 43,200 seconds).
/// Source: Amazon SQS API Reference, "CreateQueue" and "ChangeMessageVisibility".
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// The longest long poll: `ReceiveMessageWaitTimeSeconds` of a queue and `WaitTimeSeconds` of a
/// receive (0 to 20 seconds, default 0).
/// Source: Amazon SQS API Reference, "CreateQueue" and "ReceiveMessage".
pub const MAX_RECEIVE_WAIT: Duration = Duration::from_secs(20);

/// The longest `DelaySeconds`, of a queue or of one message (0 to 900 seconds, default 0).
/// Source: Amazon SQS API Reference, "CreateQueue" and "SendMessage".
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// `MessageRetentionPeriod` when a queue is created without one.
/// Source: Amazon SQS API Reference, "CreateQueue" (`MessageRetentionPeriod`, default 345,600
/// seconds).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(4 * 24 * 60 * 60);

/// The shortest `MessageRetentionPeriod`.
/// Source: Amazon SQS API Reference, "CreateQueue" (60 to 1,209,600 seconds).
pub const MIN_RETENTION: Duration = Duration::from_secs(60);

/// The longest `MessageRetentionPeriod`.
/// Source: Amazon SQS API Reference, "CreateQueue" (60 to 1,209,600 seconds).
pub const MAX_RETENTION: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// The values `maxReceiveCount` of a redrive policy takes.
/// Source: Amazon SQS API Reference, "SetQueueAttributes" (`RedrivePolicy`, maxReceiveCount 1 to
/// 1,000).
pub const MAX_RECEIVE_COUNT_RANGE: RangeInclusive<u32> = 1..=1000;

/// How long a purge runs: messages sent up to this long after PurgeQueue may still be deleted by
/// it, and another PurgeQueue within it fails with PurgeQueueInProgress.
/// Source: Amazon SQS API Reference, "PurgeQueue" ("the message deletion process takes up to 60
/// seconds").
pub const PURGE_WINDOW: Duration = Duration::from_secs(60);

/// How long a FIFO queue remembers a deduplication id, from the first send that used it.
/// Source: Amazon SQS Developer Guide, "Exactly-once processing in Amazon SQS" (the 5-minute
/// deduplication interval).
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);

/// The fastest message move task: `MaxNumberOfMessagesPerSecond` of StartMessageMoveTask is 1 to
/// 500. Without one SQS picks its own rate; the simulator moves at this one.
/// Source: Amazon SQS API Reference, "StartMessageMoveTask".
pub const MAX_MOVE_TASK_RATE: u32 = 500;

/// A duration as SQS takes it, in whole seconds: a fraction rounds up, so a timeout or a delay is
/// never shorter than asked. Saturates at `u64::MAX` seconds.
pub const fn whole_seconds(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(if duration.subsec_nanos() > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_of_seconds_round_up() {
        assert_eq!(whole_seconds(Duration::ZERO), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1_500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(20)), 20);
        assert_eq!(whole_seconds(Duration::MAX), u64::MAX);
    }
}
