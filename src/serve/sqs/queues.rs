//! The queue operations: CreateQueue, GetQueueUrl, ListQueues, Get/SetQueueAttributes, tags,
//! DeleteQueue, PurgeQueue and the message move tasks.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::attributes::{Setting, Settings};
use super::errors::{self, from_backend, invalid_value, queue_does_not_exist};
use super::{QueueEntry, Sqs, arn, name_of_arn, request};
use crate::backend::{Backend, MoveTaskState, QueueId, QueueRole, QueueSpec, Redrive};
use crate::serve::error::ApiError;
use crate::sqs::facts::{FIFO_SUFFIX, MAX_LIST_QUEUES_RESULTS, MAX_MOVE_TASK_RATE, MAX_QUEUE_NAME};

/// Every attribute name GetQueueAttributes takes (the API Reference's `AttributeNames`).
const READABLE: &[&str] = &[
    "All",
    "Policy",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
    "ApproximateNumberOfMessagesDelayed",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedriveAllowPolicy",
    "SqsManagedSseEnabled",
];

/// The most move tasks ListMessageMoveTasks returns.
const MAX_MOVE_TASK_RESULTS: i64 = 10;

impl Sqs {
    pub(super) fn create_queue(&self, request: &Value) -> Result<Value, ApiError> {
        let name = request::string(request, "QueueName")?;
        let given = request::string_map(request, "Attributes")?;
        let tags = request::string_map(request, "tags")?;
        let settings = Settings::default().apply(&given, Setting::Create)?;
        check_name(name, settings.attributes.fifo)?;
        if let Some(existing) = self.queues.borrow().get(name) {
            return match differing_attribute(&existing.settings, &given)? {
                None => Ok(json!({ "QueueUrl": self.url(name) })),
                Some(attribute) => Err(ApiError::client(
                    "QueueNameExists",
                    format!(
                        "A queue already exists with the same name and a different value for attribute {attribute}"
                    ),
                )),
            };
        }
        let spec = self.spec(&settings)?;
        let ordinal = self.created.get();
        let id = self
            .sim
            .create_named_queue(name, &format!("{name}#{ordinal}"), &spec)
            .map_err(|error| from_backend(&error, None, false))?;
        self.created.set(ordinal + 1);
        let now_s = self.clock.unix_ms() / 1000;
        self.queues.borrow_mut().insert(
            name.to_owned(),
            QueueEntry {
                id,
                name: name.to_owned(),
                settings,
                tags,
                created_s: now_s,
                modified_s: now_s,
            },
        );
        Ok(json!({ "QueueUrl": self.url(name) }))
    }

    pub(super) fn get_queue_url(&self, request: &Value) -> Result<Value, ApiError> {
        let name = request::string(request, "QueueName")?;
        if !self.queues.borrow().contains_key(name) {
            return Err(queue_does_not_exist());
        }
        Ok(json!({ "QueueUrl": self.url(name) }))
    }

    pub(super) fn list_queues(&self, request: &Value) -> Result<Value, ApiError> {
        let prefix = request::optional_string(request, "QueueNamePrefix")?.unwrap_or("");
        let max = request::integer_in(request, "MaxResults", 1, MAX_LIST_QUEUES_RESULTS.into())?;
        let after = request::optional_string(request, "NextToken")?;
        let queues = self.queues.borrow();
        let mut names = queues
            .keys()
            .filter(|name| name.starts_with(prefix))
            .filter(|name| after.is_none_or(|token| name.as_str() > token));
        let limit = max.map_or(usize::from(MAX_LIST_QUEUES_RESULTS), |m| m as usize);
        let page: Vec<&String> = names.by_ref().take(limit).collect();
        let mut answer = Map::new();
        if !page.is_empty() {
            let urls: Vec<String> = page.iter().map(|name| self.url(name)).collect();
            answer.insert("QueueUrls".into(), json!(urls));
        }
        // SQS pages only when MaxResults is given; the token is the last name returned.
        if max.is_some() && names.next().is_some() {
            answer.insert("NextToken".into(), json!(page.last().map(|n| n.as_str())));
        }
        Ok(Value::Object(answer))
    }

    pub(super) async fn get_queue_attributes(&self, request: &Value) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        let wanted = request::string_list(request, "AttributeNames")?;
        if let Some(unknown) = wanted.iter().find(|name| !READABLE.contains(name)) {
            return Err(errors::unknown_attribute(unknown));
        }
        let all = wanted.contains(&"All");
        let wants = |attribute: &str| all || wanted.contains(&attribute);
        let mut rendered: BTreeMap<&'static str, String> = BTreeMap::new();
        if wants("ApproximateNumberOfMessages")
            || wants("ApproximateNumberOfMessagesNotVisible")
            || wants("ApproximateNumberOfMessagesDelayed")
        {
            let depth = self
                .sim
                .depth(id)
                .await
                .map_err(|error| from_backend(&error, None, false))?;
            rendered.insert("ApproximateNumberOfMessages", depth.visible.to_string());
            rendered.insert(
                "ApproximateNumberOfMessagesNotVisible",
                depth.in_flight.to_string(),
            );
            rendered.insert(
                "ApproximateNumberOfMessagesDelayed",
                depth.delayed.to_string(),
            );
        }
        {
            let queues = self.queues.borrow();
            let entry = queues.get(&name).ok_or_else(queue_does_not_exist)?;
            entry.settings.render(&mut rendered);
            rendered.insert("QueueArn", arn(&name));
            rendered.insert("CreatedTimestamp", entry.created_s.to_string());
            rendered.insert("LastModifiedTimestamp", entry.modified_s.to_string());
        }
        let attributes: Map<String, Value> = rendered
            .into_iter()
            .filter(|(attribute, _)| wants(attribute))
            .map(|(attribute, value)| (attribute.to_owned(), Value::String(value)))
            .collect();
        if attributes.is_empty() {
            return Ok(json!({}));
        }
        Ok(json!({ "Attributes": attributes }))
    }

    pub(super) fn set_queue_attributes(&self, request: &Value) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        let given = request::string_map(request, "Attributes")?;
        let current = self.queues.borrow()[&name].settings.clone();
        let settings = current.apply(&given, Setting::Change)?;
        let spec = self.spec(&settings)?;
        self.sim
            .reconfigure_queue(id, &spec)
            .map_err(|error| from_backend(&error, None, false))?;
        let mut queues = self.queues.borrow_mut();
        let entry = queues.get_mut(&name).ok_or_else(queue_does_not_exist)?;
        entry.settings = settings;
        entry.modified_s = self.clock.unix_ms() / 1000;
        Ok(json!({}))
    }

    pub(super) fn tag_queue(&self, request: &Value) -> Result<Value, ApiError> {
        let (_, name) = self.queue_of(request)?;
        let tags = request::string_map(request, "Tags")?;
        if tags.is_empty() {
            return Err(errors::missing("Tags"));
        }
        let mut queues = self.queues.borrow_mut();
        let entry = queues.get_mut(&name).ok_or_else(queue_does_not_exist)?;
        entry.tags.extend(tags);
        Ok(json!({}))
    }

    pub(super) fn untag_queue(&self, request: &Value) -> Result<Value, ApiError> {
        let (_, name) = self.queue_of(request)?;
        let keys = request::string_list(request, "TagKeys")?;
        if keys.is_empty() {
            return Err(errors::missing("TagKeys"));
        }
        let mut queues = self.queues.borrow_mut();
        let entry = queues.get_mut(&name).ok_or_else(queue_does_not_exist)?;
        for key in keys {
            entry.tags.remove(key);
        }
        Ok(json!({}))
    }

    pub(super) fn list_queue_tags(&self, request: &Value) -> Result<Value, ApiError> {
        let (_, name) = self.queue_of(request)?;
        let queues = self.queues.borrow();
        let tags = &queues.get(&name).ok_or_else(queue_does_not_exist)?.tags;
        if tags.is_empty() {
            return Ok(json!({}));
        }
        Ok(json!({ "Tags": tags }))
    }

    pub(super) async fn delete_queue(&self, request: &Value) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        self.queues.borrow_mut().remove(&name);
        // The facts of the messages it held go with it.
        if let Ok(remaining) = self.sim.remaining(id).await {
            let mut facts = self.facts.borrow_mut();
            for message in remaining {
                facts.remove(&message.message_id.text());
            }
        }
        Ok(json!({}))
    }

    pub(super) async fn purge_queue(&self, request: &Value) -> Result<Value, ApiError> {
        let (id, _) = self.queue_of(request)?;
        self.sim
            .purge(id)
            .await
            .map_err(|error| from_backend(&error, None, false))?;
        Ok(json!({}))
    }

    pub(super) async fn start_message_move_task(&self, request: &Value) -> Result<Value, ApiError> {
        let source_arn = request::string(request, "SourceArn")?;
        let id = self.queue_of_arn(source_arn, "SourceArn")?;
        if let Some(destination) = request::optional_string(request, "DestinationArn")? {
            return Err(ApiError::client(
                "UnsupportedOperation",
                format!(
                    "qsim serve moves messages back to the queues they came from only; DestinationArn {destination} is not supported."
                ),
            ));
        }
        let rate = request::integer_in(
            request,
            "MaxNumberOfMessagesPerSecond",
            1,
            MAX_MOVE_TASK_RATE.into(),
        )?
        .map(|rate| rate as u32);
        let task = self
            .sim
            .start_move_task(id, rate)
            .await
            .map_err(|error| from_backend(&error, None, false))?;
        self.move_tasks
            .borrow_mut()
            .insert(id, (self.clock.unix_ms(), rate));
        Ok(json!({ "TaskHandle": &*task.handle }))
    }

    pub(super) async fn list_message_move_tasks(&self, request: &Value) -> Result<Value, ApiError> {
        let source_arn = request::string(request, "SourceArn")?;
        let id = self.queue_of_arn(source_arn, "SourceArn")?;
        request::integer_in(request, "MaxResults", 1, MAX_MOVE_TASK_RESULTS)?;
        let task = self
            .sim
            .move_task_status(id)
            .await
            .map_err(|error| from_backend(&error, None, false))?;
        let Some(task) = task else {
            return Ok(json!({ "Results": [] }));
        };
        let (started_ms, rate) = self
            .move_tasks
            .borrow()
            .get(&id)
            .copied()
            .unwrap_or_default();
        let mut result = Map::new();
        if task.state == MoveTaskState::Running {
            result.insert("TaskHandle".into(), json!(&*task.handle));
        }
        let status = match task.state {
            MoveTaskState::Running => "RUNNING",
            MoveTaskState::Completed => "COMPLETED",
            MoveTaskState::Cancelling => "CANCELLING",
            MoveTaskState::Cancelled => "CANCELLED",
            MoveTaskState::Failed => "FAILED",
        };
        result.insert("Status".into(), json!(status));
        result.insert("SourceArn".into(), json!(source_arn));
        if let Some(rate) = rate {
            result.insert("MaxNumberOfMessagesPerSecond".into(), json!(rate));
        }
        result.insert("ApproximateNumberOfMessagesMoved".into(), json!(task.moved));
        if let Some(to_move) = task.to_move {
            result.insert("ApproximateNumberOfMessagesToMove".into(), json!(to_move));
        }
        result.insert("StartedTimestamp".into(), json!(started_ms));
        Ok(json!({ "Results": [result] }))
    }

    /// The queue `QueueUrl` names: its last path segment, whatever the host (clients may reach
    /// the server under another name than the one in the URLs it hands out).
    pub(super) fn queue_of(&self, request: &Value) -> Result<(QueueId, String), ApiError> {
        let url = request::string(request, "QueueUrl")?;
        let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
        let queues = self.queues.borrow();
        let entry = queues.get(name).ok_or_else(queue_does_not_exist)?;
        Ok((entry.id, entry.name.clone()))
    }

    fn queue_of_arn(&self, arn: &str, member: &str) -> Result<QueueId, ApiError> {
        let queues = self.queues.borrow();
        name_of_arn(arn)
            .and_then(|name| queues.get(name))
            .map(|entry| entry.id)
            .ok_or_else(|| {
                ApiError::client(
                    "ResourceNotFoundException",
                    format!(
                        "The resource that you specified for the {member} parameter doesn't exist."
                    ),
                )
            })
    }

    /// The simulator's spec for `settings`: the dead-letter queue resolved by ARN.
    fn spec(&self, settings: &Settings) -> Result<QueueSpec, ApiError> {
        let redrive = match &settings.redrive {
            None => None,
            Some(policy) => {
                let queues = self.queues.borrow();
                let dlq = name_of_arn(&policy.dead_letter_target_arn)
                    .and_then(|name| queues.get(name))
                    .ok_or_else(|| {
                        invalid_value(format!(
                            "Value {} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.",
                            policy.dead_letter_target_arn
                        ))
                    })?;
                Some(Redrive {
                    dlq: dlq.id,
                    max_receive_count: policy.max_receive_count,
                })
            }
        };
        Ok(QueueSpec {
            role: QueueRole::Main,
            attributes: settings.attributes,
            redrive,
            sim: self.envelope,
        })
    }
}

/// A queue name: 1 to 80 of `[A-Za-z0-9_-]`, plus `.fifo` exactly when the queue is FIFO.
fn check_name(name: &str, fifo: bool) -> Result<(), ApiError> {
    let stem = name.strip_suffix(FIFO_SUFFIX).unwrap_or(name);
    let well_formed = (1..=MAX_QUEUE_NAME).contains(&name.len())
        && !stem.is_empty()
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(invalid_value(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    if fifo != name.ends_with(FIFO_SUFFIX) {
        return Err(invalid_value(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    Ok(())
}

/// The first attribute of `given` whose value differs from the existing queue's (CreateQueue on
/// an existing name is idempotent only for the same values).
fn differing_attribute(
    existing: &Settings,
    given: &BTreeMap<String, String>,
) -> Result<Option<String>, ApiError> {
    for (name, value) in given {
        let one = BTreeMap::from([(name.clone(), value.clone())]);
        if existing.apply(&one, Setting::Create)? != *existing {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_sqs_rules() {
        assert!(check_name("orders", false).is_ok());
        assert!(check_name("orders.fifo", true).is_ok());
        assert!(check_name("orders.fifo", false).is_err());
        assert!(check_name("orders", true).is_err());
        assert!(check_name("or ders", false).is_err());
        assert!(check_name(&"a".repeat(81), false).is_err());
        assert!(check_name("", false).is_err());
    }
}
