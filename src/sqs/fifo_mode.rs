//! A FIFO queue's deduplication scope and throughput limit (`DeduplicationScope`,
//! `FifoThroughputLimit`): together, high throughput for FIFO queues.
//!
//! Source: Amazon SQS API Reference, "SetQueueAttributes" (both attributes apply only to FIFO
//! queues; `perMessageGroupId` is allowed only with the `messageGroup` scope), and Amazon SQS
//! Developer Guide, "High throughput for FIFO queues"
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html>).
//!
//! Each value has two spellings: the API's (`messageGroup`) and the scenario file's kebab-case
//! one (`message-group`), so a scenario reads like the rest of the file format.

/// Where a FIFO queue looks for an earlier send with the same deduplication id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DeduplicationScope {
    /// The whole queue: one id is one message, whatever its group (SQS's default).
    #[default]
    Queue,
    /// The message's group: one id sent in two groups is two messages.
    MessageGroup,
}

/// Whether a FIFO queue's throughput quota is one for the queue or one per message group. Only
/// AWS enforces it: qsim models no quota (throttles are faults a scenario asks for), so the
/// simulator accepts and reports it without any effect on a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FifoThroughputLimit {
    /// One quota for the whole queue (SQS's default).
    #[default]
    PerQueue,
    /// One quota per message group id; allowed only with [`DeduplicationScope::MessageGroup`].
    PerMessageGroupId,
}

/// The two spellings of each value of `$mode`, in declaration order, and the lookups by either.
macro_rules! spellings {
    ($mode:ident { $($value:ident: $name:literal, $api:literal;)+ }) => {
        impl $mode {
            /// The scenario file's values, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
            const ALL: &'static [$mode] = &[$($mode::$value),+];
            const API_NAMES: &'static [&'static str] = &[$($api),+];

            /// The value as SQS's API spells it.
            pub fn api_name(self) -> &'static str {
                Self::API_NAMES[self as usize]
            }

            /// The value of the API's spelling `name`, if it is one.
            pub fn from_api_name(name: &str) -> Option<Self> {
                let position = Self::API_NAMES.iter().position(|n| *n == name)?;
                Some(Self::ALL[position])
            }

            /// The value of the scenario file's spelling `name`, if it is one.
            pub fn from_name(name: &str) -> Option<Self> {
                let position = Self::NAMES.iter().position(|n| *n == name)?;
                Some(Self::ALL[position])
            }
        }
    };
}

spellings!(DeduplicationScope {
    Queue: "queue", "queue";
    MessageGroup: "message-group", "messageGroup";
});

spellings!(FifoThroughputLimit {
    PerQueue: "per-queue", "perQueue";
    PerMessageGroupId: "per-message-group-id", "perMessageGroupId";
});

impl FifoThroughputLimit {
    /// SQS's combination rule: a per-group quota needs deduplication per group.
    pub fn allowed_with(self, scope: DeduplicationScope) -> bool {
        self == FifoThroughputLimit::PerQueue || scope == DeduplicationScope::MessageGroup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_name_every_value_once() {
        for (i, scope) in DeduplicationScope::ALL.iter().enumerate() {
            let api = DeduplicationScope::from_api_name(scope.api_name());
            let file = DeduplicationScope::from_name(DeduplicationScope::NAMES[i]);
            assert_eq!((api, file), (Some(*scope), Some(*scope)));
        }
        for (i, limit) in FifoThroughputLimit::ALL.iter().enumerate() {
            let api = FifoThroughputLimit::from_api_name(limit.api_name());
            let file = FifoThroughputLimit::from_name(FifoThroughputLimit::NAMES[i]);
            assert_eq!((api, file), (Some(*limit), Some(*limit)));
        }
        assert_eq!(DeduplicationScope::from_api_name("message-group"), None);
        assert_eq!(FifoThroughputLimit::from_name("perQueue"), None);
    }

    #[test]
    fn a_per_group_quota_needs_the_group_scope() {
        use DeduplicationScope::{MessageGroup, Queue};
        use FifoThroughputLimit::{PerMessageGroupId, PerQueue};
        assert!(PerQueue.allowed_with(Queue));
        assert!(PerQueue.allowed_with(MessageGroup));
        assert!(PerMessageGroupId.allowed_with(MessageGroup));
        assert!(!PerMessageGroupId.allowed_with(Queue));
    }
}
