//! Does a pre-provisioned queue fit the scenario? Its attributes, as GetQueueAttributes returns
//! them, compared with what qsim would have created for the same [`QueueSpec`].
//!
//! Invariants: every attribute that changes what a scenario shows is compared (kind, visibility,
//! long-poll wait, delay, retention, content-based deduplication, deduplication scope, redrive
//! policy; the FIFO throughput limit too, as what qsim would create); a DLQ is
//! compared only on what `terraform/` derives from the scenario (its retention is the maximum by
//! design, its wait and delay are SQS's defaults); every difference is reported, not the first.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::provisioned_mismatch::Misfit;
use super::sqs_attributes::{redrive_policy, sqs_attributes};
use crate::backend::{QueueRole, QueueSpec};
use crate::sqs::{DeduplicationScope, FifoThroughputLimit};

/// The redrive policy a main queue must have: its DLQ's ARN and the receive count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExpectedRedrive<'a> {
    pub(crate) dlq_arn: &'a str,
    pub(crate) max_receive_count: u32,
}

/// Every difference between `attributes` (GetQueueAttributes, by attribute name) and what `spec`
/// asks for; empty when the queue fits.
pub(crate) fn misfits(
    spec: &QueueSpec,
    redrive: Option<ExpectedRedrive<'_>>,
    attributes: &BTreeMap<String, String>,
) -> Vec<Misfit> {
    // qsim creates a standard queue without the FIFO attributes, which SQS then reads as false.
    let mut expected = Vec::new();
    if !spec.attributes.fifo {
        expected.extend(FIFO_ATTRIBUTES.map(|name| (name, false.to_string())));
    }
    expected.extend(sqs_attributes(&spec.attributes));
    let mut found: Vec<Misfit> = expected
        .into_iter()
        .filter(|(name, _)| spec.role == QueueRole::Main || COMPARED_ON_A_DLQ.contains(name))
        .filter_map(|(name, value)| attribute_misfit(attributes, &name, value))
        .collect();
    found.extend(redrive_misfits(
        redrive,
        attributes.get("RedrivePolicy").map(String::as_str),
    ));
    found
}

/// What `terraform/` derives from the scenario for a DLQ: its retention is the maximum by design,
/// its wait and delay are SQS's defaults.
const COMPARED_ON_A_DLQ: [QueueAttributeName; 3] = [
    QueueAttributeName::FifoQueue,
    QueueAttributeName::ContentBasedDeduplication,
    QueueAttributeName::VisibilityTimeout,
];

/// The attributes SQS omits when describing a standard queue.
const FIFO_ATTRIBUTES: [QueueAttributeName; 2] = [
    QueueAttributeName::FifoQueue,
    QueueAttributeName::ContentBasedDeduplication,
];

/// Attribute `name` as the queue has it, if that is not `expected`; an omitted FIFO attribute reads as
/// `false`, an omitted deduplication scope or throughput limit as SQS's default (an endpoint may
/// not describe what it does not model).
fn attribute_misfit(
    attributes: &BTreeMap<String, String>,
    name: &QueueAttributeName,
    expected: String,
) -> Option<Misfit> {
    let absent = if FIFO_ATTRIBUTES.contains(name) {
        "false"
    } else if *name == QueueAttributeName::DeduplicationScope {
        DeduplicationScope::default().api_name()
    } else if *name == QueueAttributeName::FifoThroughputLimit {
        FifoThroughputLimit::default().api_name()
    } else {
        "(absent)"
    };
    let actual = attributes
        .get(name.as_str())
        .map_or_else(|| absent.to_owned(), Clone::clone);
    (actual != expected).then(|| Misfit {
        attribute: name.as_str().to_owned(),
        expected,
        actual,
    })
}

fn redrive_misfits(expected: Option<ExpectedRedrive<'_>>, actual: Option<&str>) -> Vec<Misfit> {
    let actual = actual.filter(|policy| !policy.trim().is_empty());
    let misfit = |attribute: &str, expected: String, actual: String| Misfit {
        attribute: attribute.to_owned(),
        expected,
        actual,
    };
    match (expected, actual) {
        (None, None) => Vec::new(),
        (None, Some(policy)) => vec![misfit("RedrivePolicy", "none".into(), policy.into())],
        (Some(expected), None) => vec![misfit(
            "RedrivePolicy",
            redrive_policy(expected.dlq_arn, expected.max_receive_count),
            "none".into(),
        )],
        (Some(expected), Some(policy)) => {
            let Ok(parsed) = serde_json::from_str::<serde_json::Value>(policy) else {
                return vec![misfit(
                    "RedrivePolicy",
                    "a JSON redrive policy".into(),
                    policy.into(),
                )];
            };
            // SQS returns the count as a number; some endpoints echo the string they were given.
            let count = match &parsed["maxReceiveCount"] {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Null => "(absent)".into(),
                other => other.to_string(),
            };
            let target = parsed["deadLetterTargetArn"]
                .as_str()
                .unwrap_or("(absent)")
                .to_owned();
            let mut found = Vec::new();
            if count != expected.max_receive_count.to_string() {
                found.push(misfit(
                    "RedrivePolicy.maxReceiveCount",
                    expected.max_receive_count.to_string(),
                    count,
                ));
            }
            if target != expected.dlq_arn {
                found.push(misfit(
                    "RedrivePolicy.deadLetterTargetArn",
                    expected.dlq_arn.to_owned(),
                    target,
                ));
            }
            found
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::backend::QueueAttributes;
    use crate::sqs::envelope::Envelope;
    use crate::sqs::facts::MAX_RETENTION;

    const DLQ_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:qsim-x-dlq";

    fn spec(role: QueueRole, fifo: bool) -> QueueSpec {
        QueueSpec {
            role,
            attributes: QueueAttributes {
                fifo,
                visibility_timeout: Duration::from_secs(5),
                receive_wait: Duration::from_secs(1),
                delay: Duration::ZERO,
                retention: Duration::from_secs(172_800),
                content_based_dedup: fifo,
                ..QueueAttributes::default()
            },
            redrive: None,
            sim: Envelope::IDEAL,
        }
    }

    /// What terraform/ creates for `spec`, as moto's GetQueueAttributes(All) returns it.
    fn provisioned(fifo: bool, policy: Option<&str>) -> BTreeMap<String, String> {
        let mut attributes: BTreeMap<String, String> = [
            ("VisibilityTimeout", "5"),
            ("ReceiveMessageWaitTimeSeconds", "1"),
            ("DelaySeconds", "0"),
            ("MessageRetentionPeriod", "172800"),
            ("QueueArn", "arn:aws:sqs:us-east-1:123456789012:qsim-x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if fifo {
            attributes.insert("FifoQueue".into(), "true".into());
            attributes.insert("ContentBasedDeduplication".into(), "true".into());
        }
        if let Some(policy) = policy {
            attributes.insert("RedrivePolicy".into(), policy.into());
        }
        attributes
    }

    fn redrive(count: u32) -> Option<ExpectedRedrive<'static>> {
        Some(ExpectedRedrive {
            dlq_arn: DLQ_ARN,
            max_receive_count: count,
        })
    }

    fn policy(count: &str, arn: &str) -> String {
        format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":{count}}}"#)
    }

    fn names(found: &[Misfit]) -> Vec<&str> {
        found.iter().map(|m| m.attribute.as_str()).collect()
    }

    #[test]
    fn a_queue_made_from_the_same_settings_fits() {
        let attributes = provisioned(false, Some(&policy("3", DLQ_ARN)));
        assert_eq!(
            misfits(&spec(QueueRole::Main, false), redrive(3), &attributes),
            []
        );
        let quoted = provisioned(true, Some(&policy("\"3\"", DLQ_ARN)));
        assert_eq!(
            misfits(&spec(QueueRole::Main, true), redrive(3), &quoted),
            []
        );
        assert_eq!(
            misfits(
                &spec(QueueRole::Main, false),
                None,
                &provisioned(false, None)
            ),
            []
        );
    }

    #[test]
    fn an_omitted_scope_reads_as_the_default_and_a_different_one_misfits() {
        let mut high_throughput = spec(QueueRole::Main, true);
        high_throughput.attributes.deduplication_scope = DeduplicationScope::MessageGroup;
        high_throughput.attributes.fifo_throughput_limit = FifoThroughputLimit::PerMessageGroupId;
        let found = misfits(&high_throughput, None, &provisioned(true, None));
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "DeduplicationScope expected messageGroup, actual queue",
                "FifoThroughputLimit expected perMessageGroupId, actual perQueue"
            ]
        );
        let mut described = provisioned(true, None);
        described.insert("DeduplicationScope".into(), "messageGroup".into());
        described.insert("FifoThroughputLimit".into(), "perMessageGroupId".into());
        assert_eq!(misfits(&high_throughput, None, &described), []);
    }

    #[test]
    fn every_differing_attribute_is_named_with_expected_and_actual() {
        let mut attributes = provisioned(false, None);
        attributes.insert("VisibilityTimeout".into(), "30".into());
        attributes.insert("ReceiveMessageWaitTimeSeconds".into(), "20".into());
        let found = misfits(&spec(QueueRole::Main, false), None, &attributes);
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "VisibilityTimeout expected 5, actual 30",
                "ReceiveMessageWaitTimeSeconds expected 1, actual 20"
            ]
        );
    }

    #[test]
    fn queue_kind_and_content_based_dedup_are_compared() {
        let found = misfits(
            &spec(QueueRole::Main, true),
            None,
            &provisioned(false, None),
        );
        assert_eq!(names(&found), ["FifoQueue", "ContentBasedDeduplication"]);
        assert_eq!(
            (found[0].expected.as_str(), found[0].actual.as_str()),
            ("true", "false")
        );

        let mut without_dedup = spec(QueueRole::Main, true);
        without_dedup.attributes.content_based_dedup = false;
        let found = misfits(&without_dedup, None, &provisioned(true, None));
        assert_eq!(names(&found), ["ContentBasedDeduplication"]);
    }

    #[test]
    fn the_redrive_policy_must_name_the_dlq_and_the_count() {
        let main = spec(QueueRole::Main, false);
        let other_dlq = policy("3", "arn:aws:sqs:us-east-1:123456789012:elsewhere");
        let found = misfits(&main, redrive(5), &provisioned(false, Some(&other_dlq)));
        assert_eq!(
            names(&found),
            [
                "RedrivePolicy.maxReceiveCount",
                "RedrivePolicy.deadLetterTargetArn"
            ]
        );
        assert_eq!(
            (found[0].expected.as_str(), found[0].actual.as_str()),
            ("5", "3")
        );

        let missing = misfits(&main, redrive(3), &provisioned(false, None));
        assert_eq!(names(&missing), ["RedrivePolicy"]);
        assert_eq!(missing[0].actual, "none");
        assert!(missing[0].expected.contains(DLQ_ARN), "{}", missing[0]);

        // An empty policy string is how SQS shows a removed policy.
        let empty = misfits(&main, None, &provisioned(false, Some("")));
        assert_eq!(empty, []);
        let unexpected = misfits(
            &main,
            None,
            &provisioned(false, Some(&policy("3", DLQ_ARN))),
        );
        assert_eq!(names(&unexpected), ["RedrivePolicy"]);
        assert_eq!(unexpected[0].expected, "none");
    }

    #[test]
    fn a_dlq_is_compared_only_on_what_terraform_derives_from_the_scenario() {
        let mut attributes = provisioned(true, None);
        // terraform/ keeps DLQ messages as long as SQS allows and leaves wait and delay default.
        attributes.insert(
            "MessageRetentionPeriod".into(),
            MAX_RETENTION.as_secs().to_string(),
        );
        attributes.insert("ReceiveMessageWaitTimeSeconds".into(), "0".into());
        attributes.insert("DelaySeconds".into(), "0".into());
        let mut dlq = spec(QueueRole::DeadLetter, true);
        dlq.attributes.delay = Duration::from_secs(3);
        assert_eq!(misfits(&dlq, None, &attributes), []);
        attributes.insert("VisibilityTimeout".into(), "9".into());
        assert_eq!(
            names(&misfits(&dlq, None, &attributes)),
            ["VisibilityTimeout"]
        );
    }

    #[test]
    fn sub_second_durations_round_up_as_the_generated_variables_do() {
        let mut main = spec(QueueRole::Main, false);
        main.attributes.visibility_timeout = Duration::from_millis(4_500);
        assert_eq!(misfits(&main, None, &provisioned(false, None)), []);
    }
}
