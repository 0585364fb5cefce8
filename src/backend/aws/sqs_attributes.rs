//! [`QueueAttributes`] as SQS attributes: what CreateQueue is given, and so what a
//! pre-provisioned queue must show to fit ([`super::queue_fit`]).
//!
//! Invariant: one mapping for both, so a queue qsim creates always fits the check it applies to
//! queues it did not create.

use aws_sdk_sqs::types::QueueAttributeName;

use crate::backend::QueueAttributes;
use crate::sqs::facts::whole_seconds;

/// The attributes CreateQueue gets for `attributes`, in the order the fit check reports them.
/// `FifoQueue`, `ContentBasedDeduplication`, `DeduplicationScope` and `FifoThroughputLimit` only
/// on FIFO queues: SQS refuses them on standard ones, and omits them when describing one.
pub(crate) fn sqs_attributes(attributes: &QueueAttributes) -> Vec<(QueueAttributeName, String)> {
    let mut named = Vec::with_capacity(8);
    if attributes.fifo {
        named.push((QueueAttributeName::FifoQueue, "true".to_owned()));
        named.push((
            QueueAttributeName::ContentBasedDeduplication,
            attributes.content_based_dedup.to_string(),
        ));
        named.push((
            QueueAttributeName::DeduplicationScope,
            attributes.deduplication_scope.api_name().to_owned(),
        ));
        named.push((
            QueueAttributeName::FifoThroughputLimit,
            attributes.fifo_throughput_limit.api_name().to_owned(),
        ));
    }
    let seconds = |duration| whole_seconds(duration).to_string();
    named.extend([
        (
            QueueAttributeName::VisibilityTimeout,
            seconds(attributes.visibility_timeout),
        ),
        (
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
            seconds(attributes.receive_wait),
        ),
        (QueueAttributeName::DelaySeconds, seconds(attributes.delay)),
        (
            QueueAttributeName::MessageRetentionPeriod,
            seconds(attributes.retention),
        ),
    ]);
    named
}

/// The RedrivePolicy JSON that moves a message to `dlq_arn` after `max_receive_count` receives.
pub(crate) fn redrive_policy(dlq_arn: &str, max_receive_count: u32) -> String {
    serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": max_receive_count,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn names(attributes: &QueueAttributes) -> Vec<String> {
        sqs_attributes(attributes)
            .into_iter()
            .map(|(name, _)| name.as_str().to_owned())
            .collect()
    }

    #[test]
    fn fifo_attributes_are_given_only_to_fifo_queues() {
        let standard = QueueAttributes {
            content_based_dedup: true,
            ..QueueAttributes::default()
        };
        assert_eq!(
            names(&standard),
            [
                "VisibilityTimeout",
                "ReceiveMessageWaitTimeSeconds",
                "DelaySeconds",
                "MessageRetentionPeriod"
            ]
        );
        let fifo = QueueAttributes {
            fifo: true,
            ..QueueAttributes::default()
        };
        assert_eq!(
            names(&fifo)[..4],
            [
                "FifoQueue",
                "ContentBasedDeduplication",
                "DeduplicationScope",
                "FifoThroughputLimit"
            ]
        );
    }

    #[test]
    fn the_fifo_modes_are_given_in_the_api_spelling() {
        let high_throughput = QueueAttributes {
            fifo: true,
            deduplication_scope: crate::sqs::DeduplicationScope::MessageGroup,
            fifo_throughput_limit: crate::sqs::FifoThroughputLimit::PerMessageGroupId,
            ..QueueAttributes::default()
        };
        let named = sqs_attributes(&high_throughput);
        let value = |name: QueueAttributeName| {
            named
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            value(QueueAttributeName::DeduplicationScope),
            Some("messageGroup")
        );
        assert_eq!(
            value(QueueAttributeName::FifoThroughputLimit),
            Some("perMessageGroupId")
        );
    }

    #[test]
    fn durations_are_whole_seconds_rounded_up() {
        let attributes = QueueAttributes {
            visibility_timeout: Duration::from_millis(4_500),
            ..QueueAttributes::default()
        };
        let values: Vec<String> = sqs_attributes(&attributes)
            .into_iter()
            .map(|(_, value)| value)
            .collect();
        let retention = QueueAttributes::default().retention.as_secs().to_string();
        assert_eq!(values, ["5", "0", "0", retention.as_str()]);
    }
}
