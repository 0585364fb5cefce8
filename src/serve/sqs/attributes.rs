//! Queue attributes as CreateQueue, SetQueueAttributes and GetQueueAttributes carry them: a map
//! of names to strings, parsed into [`QueueAttributes`] and a redrive policy, and rendered back.
//! Ranges and defaults are SQS's ([`crate::sqs::facts`]); the names and their meaning are the API
//! Reference's (`SetQueueAttributes`, "Request Parameters").

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::errors::{invalid_attribute_value, invalid_value, unknown_attribute};
use crate::serve::error::ApiError;
use crate::sqs::facts::{
    MAX_DELAY, MAX_PAYLOAD_BYTES, MAX_RECEIVE_COUNT_RANGE, MAX_RECEIVE_WAIT, MAX_RETENTION,
    MAX_VISIBILITY_TIMEOUT, MIN_RETENTION,
};
use crate::sqs::{DeduplicationScope, FifoThroughputLimit, QueueAttributes};

/// The smallest MaximumMessageSize SQS takes.
const MIN_MESSAGE_SIZE: u64 = 1024;

/// Attributes SQS accepts and reports but whose behaviour the simulator does not model
/// (encryption, policies): kept as given so clients read back what they set.
const OPAQUE: &[&str] = &[
    "Policy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "RedriveAllowPolicy",
];

/// A redrive policy, its dead-letter queue named by ARN.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct RedrivePolicy {
    pub(super) dead_letter_target_arn: String,
    pub(super) max_receive_count: u32,
}

/// One queue's settable attributes.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Settings {
    pub(super) attributes: QueueAttributes,
    pub(super) maximum_message_size: u64,
    pub(super) redrive: Option<RedrivePolicy>,
    pub(super) opaque: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            attributes: QueueAttributes::default(),
            maximum_message_size: MAX_PAYLOAD_BYTES as u64,
            redrive: None,
            opaque: BTreeMap::new(),
        }
    }
}

/// Whether the attributes arrive with CreateQueue (FifoQueue allowed) or SetQueueAttributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Setting {
    Create,
    Change,
}

impl Settings {
    /// `self` with `given` applied; `fifo` is the queue's type (for CreateQueue, as the name and
    /// FifoQueue say together, checked by the caller).
    pub(super) fn apply(
        &self,
        given: &BTreeMap<String, String>,
        setting: Setting,
    ) -> Result<Settings, ApiError> {
        let mut next = self.clone();
        for (name, value) in given {
            let seconds = |max: Duration| seconds_in(name, value, 0, max.as_secs());
            match name.as_str() {
                "FifoQueue" if setting == Setting::Create => {
                    next.attributes.fifo = boolean(name, value)?;
                }
                "ContentBasedDeduplication" if self.attributes.fifo || given_fifo(given) => {
                    next.attributes.content_based_dedup = boolean(name, value)?;
                }
                "DeduplicationScope" if self.attributes.fifo || given_fifo(given) => {
                    next.attributes.deduplication_scope = DeduplicationScope::from_api_name(value)
                        .ok_or_else(|| invalid_attribute_value(name))?;
                }
                "FifoThroughputLimit" if self.attributes.fifo || given_fifo(given) => {
                    next.attributes.fifo_throughput_limit =
                        FifoThroughputLimit::from_api_name(value)
                            .ok_or_else(|| invalid_attribute_value(name))?;
                }
                "VisibilityTimeout" => {
                    next.attributes.visibility_timeout = seconds(MAX_VISIBILITY_TIMEOUT)?;
                }
                "DelaySeconds" => next.attributes.delay = seconds(MAX_DELAY)?,
                "ReceiveMessageWaitTimeSeconds" => {
                    next.attributes.receive_wait = seconds(MAX_RECEIVE_WAIT)?;
                }
                "MessageRetentionPeriod" => {
                    next.attributes.retention = seconds_in(
                        name,
                        value,
                        MIN_RETENTION.as_secs(),
                        MAX_RETENTION.as_secs(),
                    )?;
                }
                "MaximumMessageSize" => {
                    next.maximum_message_size =
                        integer_in(name, value, MIN_MESSAGE_SIZE, MAX_PAYLOAD_BYTES as u64)?;
                }
                "RedrivePolicy" if value.is_empty() => next.redrive = None,
                "RedrivePolicy" => next.redrive = Some(redrive_policy(value)?),
                opaque if OPAQUE.contains(&opaque) => {
                    next.opaque.insert(name.clone(), value.clone());
                }
                _ => return Err(unknown_attribute(name)),
            }
        }
        // Checked on the result, not per attribute: one SetQueueAttributes may change both, and
        // either change may be the one that breaks the rule.
        let attributes = &next.attributes;
        if !attributes
            .fifo_throughput_limit
            .allowed_with(attributes.deduplication_scope)
        {
            return Err(invalid_attribute_value("FifoThroughputLimit"));
        }
        Ok(next)
    }

    /// The settable attributes as GetQueueAttributes reports them.
    pub(super) fn render(&self, out: &mut BTreeMap<&'static str, String>) {
        let attributes = &self.attributes;
        out.insert(
            "VisibilityTimeout",
            attributes.visibility_timeout.as_secs().to_string(),
        );
        out.insert("DelaySeconds", attributes.delay.as_secs().to_string());
        out.insert(
            "ReceiveMessageWaitTimeSeconds",
            attributes.receive_wait.as_secs().to_string(),
        );
        out.insert(
            "MessageRetentionPeriod",
            attributes.retention.as_secs().to_string(),
        );
        out.insert("MaximumMessageSize", self.maximum_message_size.to_string());
        if attributes.fifo {
            out.insert("FifoQueue", "true".into());
            out.insert(
                "ContentBasedDeduplication",
                attributes.content_based_dedup.to_string(),
            );
            out.insert(
                "DeduplicationScope",
                attributes.deduplication_scope.api_name().to_owned(),
            );
            out.insert(
                "FifoThroughputLimit",
                attributes.fifo_throughput_limit.api_name().to_owned(),
            );
        }
        if let Some(redrive) = &self.redrive {
            let policy = serde_json::json!({
                "deadLetterTargetArn": redrive.dead_letter_target_arn,
                "maxReceiveCount": redrive.max_receive_count,
            });
            out.insert("RedrivePolicy", policy.to_string());
        }
        for (name, value) in &self.opaque {
            if let Some(known) = OPAQUE.iter().find(|known| **known == name) {
                out.insert(known, value.clone());
            }
        }
    }
}

fn given_fifo(given: &BTreeMap<String, String>) -> bool {
    given.get("FifoQueue").is_some_and(|v| v == "true")
}

fn boolean(name: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid_attribute_value(name)),
    }
}

fn integer_in(name: &str, value: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| invalid_attribute_value(name))
}

fn seconds_in(name: &str, value: &str, min: u64, max: u64) -> Result<Duration, ApiError> {
    integer_in(name, value, min, max).map(Duration::from_secs)
}

/// `{"deadLetterTargetArn": "...", "maxReceiveCount": 5}`; SQS takes the count as a number or
/// a string of one.
fn redrive_policy(text: &str) -> Result<RedrivePolicy, ApiError> {
    let invalid = || invalid_attribute_value("RedrivePolicy");
    let policy: Value = serde_json::from_str(text).map_err(|_| invalid())?;
    let arn = policy["deadLetterTargetArn"].as_str().ok_or_else(|| {
        invalid_value("Value for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
    })?;
    let count = match &policy["maxReceiveCount"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .and_then(|n| u32::try_from(n).ok())
    .filter(|n| MAX_RECEIVE_COUNT_RANGE.contains(n))
    .ok_or_else(|| {
        invalid_value(format!(
            "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: {}, valid values are from {} to {} both inclusive.",
            policy["maxReceiveCount"],
            MAX_RECEIVE_COUNT_RANGE.start(),
            MAX_RECEIVE_COUNT_RANGE.end()
        ))
    })?;
    Ok(RedrivePolicy {
        dead_letter_target_arn: arn.to_owned(),
        max_receive_count: count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn ranges_and_names_are_checked() {
        let base = Settings::default();
        let set = |pairs| base.apply(&given(pairs), Setting::Create);
        assert_eq!(
            set(&[("VisibilityTimeout", "43201")]).unwrap_err().code,
            "InvalidAttributeValue"
        );
        assert_eq!(
            set(&[("MessageRetentionPeriod", "59")]).unwrap_err().code,
            "InvalidAttributeValue"
        );
        assert_eq!(
            set(&[("Colour", "blue")]).unwrap_err().code,
            "InvalidAttributeName"
        );
        assert_eq!(
            set(&[("ContentBasedDeduplication", "true")])
                .unwrap_err()
                .code,
            "InvalidAttributeName",
            "a standard queue has no content-based deduplication"
        );
        let fifo = set(&[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")]).unwrap();
        assert!(fifo.attributes.fifo && fifo.attributes.content_based_dedup);
        let changed = base
            .apply(&given(&[("FifoQueue", "true")]), Setting::Change)
            .unwrap_err();
        assert_eq!(
            changed.code, "InvalidAttributeName",
            "the type is fixed at creation"
        );
    }

    #[test]
    fn the_fifo_modes_follow_sqs_rules_and_render_back() {
        let base = Settings::default();
        let create = |pairs: &[(&str, &str)]| base.apply(&given(pairs), Setting::Create);
        for name in ["DeduplicationScope", "FifoThroughputLimit"] {
            let refused = create(&[(name, "queue")]).unwrap_err();
            assert_eq!(
                refused.code, "InvalidAttributeName",
                "{name} on a standard queue"
            );
            let refused = create(&[("FifoQueue", "true"), (name, "everywhere")]).unwrap_err();
            assert_eq!(refused.code, "InvalidAttributeValue", "{name}=everywhere");
        }
        let per_group_quota = create(&[
            ("FifoQueue", "true"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ])
        .unwrap_err();
        assert_eq!(per_group_quota.code, "InvalidAttributeValue");

        let high_throughput = create(&[
            ("FifoQueue", "true"),
            ("DeduplicationScope", "messageGroup"),
            ("FifoThroughputLimit", "perMessageGroupId"),
        ])
        .unwrap();
        let mut rendered = BTreeMap::new();
        high_throughput.render(&mut rendered);
        assert_eq!(rendered["DeduplicationScope"], "messageGroup");
        assert_eq!(rendered["FifoThroughputLimit"], "perMessageGroupId");
        let back_to_queue_scope = high_throughput
            .apply(&given(&[("DeduplicationScope", "queue")]), Setting::Change)
            .unwrap_err();
        assert_eq!(
            back_to_queue_scope.code, "InvalidAttributeValue",
            "the per-group quota would be left without its scope"
        );
        let normal_throughput = high_throughput
            .apply(
                &given(&[
                    ("DeduplicationScope", "queue"),
                    ("FifoThroughputLimit", "perQueue"),
                ]),
                Setting::Change,
            )
            .unwrap();
        assert_eq!(
            normal_throughput.attributes.deduplication_scope,
            DeduplicationScope::Queue
        );

        let mut defaults = BTreeMap::new();
        create(&[("FifoQueue", "true")])
            .unwrap()
            .render(&mut defaults);
        assert_eq!(defaults["DeduplicationScope"], "queue");
        assert_eq!(defaults["FifoThroughputLimit"], "perQueue");
        let mut standard = BTreeMap::new();
        base.render(&mut standard);
        assert!(!standard.contains_key("DeduplicationScope"));
    }

    #[test]
    fn a_redrive_policy_takes_its_count_as_number_or_string_and_renders_back() {
        let arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
        for count in ["3", "\"3\""] {
            let text = format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":{count}}}"#);
            let settings = Settings::default()
                .apply(&given(&[("RedrivePolicy", &text)]), Setting::Change)
                .unwrap();
            assert_eq!(settings.redrive.as_ref().unwrap().max_receive_count, 3);
            let mut rendered = BTreeMap::new();
            settings.render(&mut rendered);
            let back: Value = serde_json::from_str(&rendered["RedrivePolicy"]).unwrap();
            assert_eq!(back["deadLetterTargetArn"], arn);
        }
        let zero = format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":0}}"#);
        let refused = Settings::default()
            .apply(&given(&[("RedrivePolicy", &zero)]), Setting::Change)
            .unwrap_err();
        assert_eq!(refused.code, "InvalidParameterValue");
    }
}
