//! The message operations: SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch),
//! ChangeMessageVisibility(Batch). The simulator decides every outcome; this file translates
//! requests and answers, and keeps the facts SQS reports that the simulator does not.

use std::sync::Arc;
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::errors::{
    self, batch_too_long, empty_batch, from_backend, invalid_value, message_too_long, missing,
    too_many_entries,
};
use super::{ACCOUNT, MessageFacts, Sqs, request};
use crate::backend::{
    Backend, BackendError, OutgoingMessage, QueueId, Receipt, ReceiveRequest, ReceivedMessage,
};
use crate::serve::error::ApiError;
use crate::serve::history::Note;
use crate::sqs::facts::{
    MAX_BATCH, MAX_BATCH_ENTRY_ID, MAX_DELAY, MAX_PAYLOAD_BYTES, MAX_RECEIVE_WAIT,
    MAX_VISIBILITY_TIMEOUT,
};

/// The most message attributes one message takes.
const MAX_MESSAGE_ATTRIBUTES: usize = 10;

/// Above this many remembered messages, the facts of messages no queue holds any more are
/// dropped (see `Sqs::forget_departed_if_many`).
const FACTS_PRUNE_AT: usize = 100_000;

/// One entry to send, with its message attributes (as sent, and their MD5).
struct Outgoing {
    message: OutgoingMessage,
    attributes: Option<(Value, String)>,
}

/// How long a ReceiveRequestAttemptId can be retried: 5 minutes after the receive. Source: Amazon
/// SQS API Reference, "ReceiveMessage" (`ReceiveRequestAttemptId`).
const ATTEMPT_WINDOW_MS: u64 = 5 * 60 * 1000;

impl Sqs {
    pub(super) async fn send_message(
        &self,
        request: &Value,
        notes: &mut Vec<Note>,
    ) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        let outgoing = outgoing(request, "0")?;
        self.check_size(&name, &outgoing)?;
        let sent = self
            .sim
            .send(id, std::slice::from_ref(&outgoing.message))
            .await
            .map_err(|error| from_backend(&error, None, false))?;
        let result = sent
            .into_iter()
            .next()
            .expect("one result per entry")
            .map_err(|error| from_backend(&error, None, false))?;
        let answer = self.accepted(&name, &outgoing, &result.message_id.text(), notes);
        self.forget_departed_if_many().await;
        Ok(Value::Object(answer))
    }

    pub(super) async fn send_message_batch(
        &self,
        request: &Value,
        notes: &mut Vec<Note>,
    ) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        let entries = request::entries(request, "SendMessageBatch")?;
        let ids = entry_ids(entries, "SendMessageBatch")?;
        let outgoing: Vec<Outgoing> = entries
            .iter()
            .zip(&ids)
            .map(|(entry, id)| outgoing(entry, id))
            .collect::<Result<_, _>>()?;
        let total: usize = outgoing.iter().map(Outgoing::size).sum();
        if total > MAX_PAYLOAD_BYTES {
            return Err(batch_too_long(total));
        }
        // An entry above the queue's MaximumMessageSize fails alone; the others are sent.
        let (fitting, too_long): (Vec<_>, Vec<_>) = outgoing
            .iter()
            .zip(&ids)
            .partition(|(entry, _)| self.check_size(&name, entry).is_ok());
        let mut failed: Vec<Value> = too_long
            .into_iter()
            .filter_map(|(entry, entry_id)| {
                let error = self.check_size(&name, entry).err()?;
                Some(failed_api_entry(entry_id, &error))
            })
            .collect();
        let mut successful = Vec::new();
        if fitting.is_empty() {
            return Ok(json!({ "Successful": successful, "Failed": failed }));
        }
        let batch: Vec<OutgoingMessage> = fitting.iter().map(|(o, _)| o.message.clone()).collect();
        let results = self
            .sim
            .send(id, &batch)
            .await
            .map_err(|error| from_backend(&error, None, true))?;
        for ((entry, entry_id), result) in fitting.into_iter().zip(results) {
            match result {
                Ok(sent) => {
                    let mut answer = self.accepted(&name, entry, &sent.message_id.text(), notes);
                    answer.insert("Id".into(), json!(entry_id));
                    successful.push(Value::Object(answer));
                }
                Err(error) => failed.push(failed_entry(entry_id, &error, None)),
            }
        }
        self.forget_departed_if_many().await;
        Ok(json!({ "Successful": successful, "Failed": failed }))
    }

    fn is_fifo(&self, queue: &str) -> bool {
        self.queues
            .borrow()
            .get(queue)
            .is_some_and(|q| q.settings.attributes.fifo)
    }

    /// The queue's MaximumMessageSize, which the body and the attributes count toward.
    fn check_size(&self, queue: &str, outgoing: &Outgoing) -> Result<(), ApiError> {
        let max = self
            .queues
            .borrow()
            .get(queue)
            .map_or(MAX_PAYLOAD_BYTES as u64, |q| {
                q.settings.maximum_message_size
            });
        if outgoing.size() as u64 > max {
            return Err(message_too_long(max));
        }
        Ok(())
    }

    /// The answer to one accepted send; its facts remembered.
    fn accepted(
        &self,
        queue: &str,
        outgoing: &Outgoing,
        message_id: &Arc<str>,
        notes: &mut Vec<Note>,
    ) -> Map<String, Value> {
        let fifo = self.is_fifo(queue);
        let sequence_number = {
            let mut facts = self.facts.borrow_mut();
            // A FIFO send deduplicated within the window answers with the original's id and
            // sequence number; its facts stay the original's.
            let known = facts.get(message_id).map(|f| f.sequence_number.clone());
            match known {
                Some(sequence_number) => sequence_number,
                None => {
                    let sequence_number = fifo.then(|| {
                        let next = self.sequence.get() + 1;
                        self.sequence.set(next);
                        format!("{next:020}")
                    });
                    facts.insert(
                        Arc::clone(message_id),
                        MessageFacts {
                            sent_ms: self.clock.unix_ms(),
                            first_receive_ms: None,
                            attributes: outgoing.attributes.clone(),
                            dedup_id: outgoing.message.dedup_id.clone(),
                            sequence_number: sequence_number.clone(),
                        },
                    );
                    sequence_number
                }
            }
        };
        notes.push(Note::sent(queue, message_id, &outgoing.message.body));
        let mut answer = Map::new();
        answer.insert("MessageId".into(), json!(&**message_id));
        answer.insert(
            "MD5OfMessageBody".into(),
            json!(md5_hex(outgoing.message.body.as_bytes())),
        );
        if let Some((_, md5)) = &outgoing.attributes {
            answer.insert("MD5OfMessageAttributes".into(), json!(md5));
        }
        if let Some(sequence_number) = sequence_number {
            answer.insert("SequenceNumber".into(), json!(sequence_number));
        }
        answer
    }

    pub(super) async fn receive_message(
        &self,
        request: &Value,
        notes: &mut Vec<Note>,
    ) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        let max = request::integer_in(request, "MaxNumberOfMessages", 1, MAX_BATCH as i64)?;
        let wait = request::integer_in(
            request,
            "WaitTimeSeconds",
            0,
            MAX_RECEIVE_WAIT.as_secs() as i64,
        )?;
        let visibility = request::integer_in(
            request,
            "VisibilityTimeout",
            0,
            MAX_VISIBILITY_TIMEOUT.as_secs() as i64,
        )?;
        let mut system = request::string_list(request, "AttributeNames")?;
        system.extend(request::string_list(
            request,
            "MessageSystemAttributeNames",
        )?);
        let attribute_names = request::string_list(request, "MessageAttributeNames")?;
        let queue_wait = self.queues.borrow()[&name].settings.attributes.receive_wait;
        let fifo = self.is_fifo(&name);
        // A FIFO receive retried with its ReceiveRequestAttemptId (after a lost answer) gets the
        // same messages and receipts again. Simplified: the answer is repeated as it was, without
        // resetting the messages' visibility timeout as SQS does, and also after they were
        // deleted or changed (which SQS documents as not retriable).
        let attempt = match (fifo, request.get("ReceiveRequestAttemptId")) {
            (true, Some(Value::String(attempt))) => Some((name.clone(), attempt.clone())),
            _ => None,
        };
        let now_ms = self.clock.unix_ms();
        if let Some(key) = &attempt {
            let mut attempts = self.attempts.borrow_mut();
            attempts.retain(|_, (at, _)| now_ms.saturating_sub(*at) < ATTEMPT_WINDOW_MS);
            if let Some((_, answer)) = attempts.get(key) {
                return Ok(answer.clone());
            }
        }
        let received = self
            .sim
            .receive(
                id,
                ReceiveRequest {
                    max: max.unwrap_or(1) as u32,
                    wait: wait.map_or(queue_wait, Duration::from_secs),
                    visibility: visibility.map(Duration::from_secs),
                },
            )
            .await
            .map_err(|error| from_backend(&error, None, false))?;
        if received.is_empty() {
            return Ok(json!({}));
        }
        let messages: Vec<Value> = received
            .iter()
            .map(|message| {
                notes.push(Note::received(&name, message));
                self.delivered(message, fifo, &system, &attribute_names)
            })
            .collect();
        let answer = json!({ "Messages": messages });
        if let Some(key) = attempt {
            self.attempts
                .borrow_mut()
                .insert(key, (now_ms, answer.clone()));
        }
        Ok(answer)
    }

    /// One received message as ReceiveMessage returns it, with the system attributes in
    /// `system` and the message attributes `attribute_names` selects.
    fn delivered(
        &self,
        message: &ReceivedMessage,
        fifo: bool,
        system: &[&str],
        attribute_names: &[&str],
    ) -> Value {
        let handle = encode_receipt(&message.receipt);
        let message_id = message.message_id.text();
        self.receipts.borrow_mut().insert(
            handle.clone(),
            (Arc::clone(&message_id), Arc::clone(&message.body)),
        );
        let now_ms = self.clock.unix_ms();
        let facts = {
            let mut all = self.facts.borrow_mut();
            // A message a move task returned is a new message the server never saw sent.
            let facts = all
                .entry(Arc::clone(&message_id))
                .or_insert_with(|| MessageFacts {
                    sent_ms: now_ms,
                    first_receive_ms: None,
                    attributes: None,
                    dedup_id: None,
                    sequence_number: None,
                });
            facts.first_receive_ms.get_or_insert(now_ms);
            facts.clone()
        };
        let wants = |attribute: &str| system.iter().any(|n| *n == "All" || *n == attribute);
        let mut attributes = Map::new();
        let mut put = |attribute: &str, value: String| {
            if wants(attribute) {
                attributes.insert(attribute.to_owned(), Value::String(value));
            }
        };
        put("SenderId", ACCOUNT.to_owned());
        put("SentTimestamp", facts.sent_ms.to_string());
        put("ApproximateReceiveCount", message.receive_count.to_string());
        put(
            "ApproximateFirstReceiveTimestamp",
            facts.first_receive_ms.unwrap_or(now_ms).to_string(),
        );
        if let Some(group) = &message.group_id {
            put("MessageGroupId", group.to_string());
        }
        if fifo {
            let dedup_id = match &facts.dedup_id {
                Some(id) => id.to_string(),
                // Content-based deduplication: SQS's id is the body's SHA-256.
                None => sha256_hex(message.body.as_bytes()),
            };
            put("MessageDeduplicationId", dedup_id);
        }
        if let Some(sequence_number) = facts.sequence_number {
            put("SequenceNumber", sequence_number);
        }
        let mut answer = Map::new();
        answer.insert("MessageId".into(), json!(&*message_id));
        answer.insert("ReceiptHandle".into(), json!(handle));
        answer.insert("MD5OfBody".into(), json!(md5_hex(message.body.as_bytes())));
        answer.insert("Body".into(), json!(&*message.body));
        if !attributes.is_empty() {
            answer.insert("Attributes".into(), Value::Object(attributes));
        }
        if let Some((Value::Object(sent), _)) = &facts.attributes {
            let selected: Map<String, Value> = sent
                .iter()
                .filter(|(name, _)| selects(attribute_names, name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            if !selected.is_empty() {
                answer.insert(
                    "MD5OfMessageAttributes".into(),
                    json!(attributes_md5(&selected)),
                );
                answer.insert("MessageAttributes".into(), Value::Object(selected));
            }
        }
        Value::Object(answer)
    }

    pub(super) async fn delete_message(
        &self,
        request: &Value,
        notes: &mut Vec<Note>,
    ) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        let handle = request::string(request, "ReceiptHandle")?;
        let results = self
            .sim
            .delete(id, &[decode_receipt(handle)])
            .await
            .map_err(|error| from_backend(&error, Some(handle), false))?;
        if let Some(Err(error)) = results.into_iter().next() {
            return Err(from_backend(&error, Some(handle), false));
        }
        self.note_deleted(&name, handle, notes);
        Ok(json!({}))
    }

    pub(super) async fn delete_message_batch(
        &self,
        request: &Value,
        notes: &mut Vec<Note>,
    ) -> Result<Value, ApiError> {
        let (id, name) = self.queue_of(request)?;
        let entries = request::entries(request, "DeleteMessageBatch")?;
        let ids = entry_ids(entries, "DeleteMessageBatch")?;
        let handles: Vec<&str> = entries
            .iter()
            .map(|entry| request::string(entry, "ReceiptHandle"))
            .collect::<Result<_, _>>()?;
        let receipts: Vec<Receipt> = handles.iter().map(|h| decode_receipt(h)).collect();
        let results = self
            .sim
            .delete(id, &receipts)
            .await
            .map_err(|error| from_backend(&error, None, true))?;
        let mut successful = Vec::new();
        let mut failed = Vec::new();
        for ((result, entry_id), handle) in results.into_iter().zip(&ids).zip(&handles) {
            match result {
                Ok(()) => {
                    self.note_deleted(&name, handle, notes);
                    successful.push(json!({ "Id": entry_id }));
                }
                Err(error) => failed.push(failed_entry(entry_id, &error, Some(handle))),
            }
        }
        Ok(json!({ "Successful": successful, "Failed": failed }))
    }

    pub(super) async fn change_message_visibility(
        &self,
        request: &Value,
    ) -> Result<Value, ApiError> {
        let (id, _) = self.queue_of(request)?;
        let handle = request::string(request, "ReceiptHandle")?;
        let timeout = visibility_timeout(request)?;
        self.sim
            .change_visibility(id, &decode_receipt(handle), timeout)
            .await
            .map_err(|error| from_backend(&error, Some(handle), false))?;
        Ok(json!({}))
    }

    pub(super) async fn change_message_visibility_batch(
        &self,
        request: &Value,
    ) -> Result<Value, ApiError> {
        let (id, _) = self.queue_of(request)?;
        let entries = request::entries(request, "ChangeMessageVisibilityBatch")?;
        let ids = entry_ids(entries, "ChangeMessageVisibilityBatch")?;
        let mut successful = Vec::new();
        let mut failed = Vec::new();
        for (entry, entry_id) in entries.iter().zip(&ids) {
            let handle = request::string(entry, "ReceiptHandle")?;
            let changed = match visibility_timeout(entry) {
                Ok(timeout) => self
                    .sim
                    .change_visibility(id, &decode_receipt(handle), timeout)
                    .await
                    .map_err(|error| from_backend(&error, Some(handle), false)),
                Err(error) => Err(error),
            };
            match changed {
                Ok(()) => successful.push(json!({ "Id": entry_id })),
                Err(error) => failed.push(failed_api_entry(entry_id, &error)),
            }
        }
        Ok(json!({ "Successful": successful, "Failed": failed }))
    }

    fn note_deleted(&self, queue: &str, handle: &str, notes: &mut Vec<Note>) {
        if let Some((message_id, body)) = self.receipts.borrow_mut().remove(handle) {
            notes.push(Note::deleted(queue, &message_id, &body));
        }
    }

    /// Drops the facts and receipts of messages no live queue holds any more, once there are
    /// many: a long-running server must not grow with every message it ever carried.
    async fn forget_departed_if_many(&self) {
        if self.facts.borrow().len() < FACTS_PRUNE_AT {
            return;
        }
        let live: Vec<QueueId> = self.queues.borrow().values().map(|q| q.id).collect();
        let mut held = std::collections::HashSet::new();
        for id in live {
            if let Ok(remaining) = self.sim.remaining(id).await {
                held.extend(remaining.into_iter().map(|m| m.message_id.text()));
            }
        }
        self.facts.borrow_mut().retain(|id, _| held.contains(id));
        self.receipts
            .borrow_mut()
            .retain(|_, (id, _)| held.contains(id));
    }
}

impl Outgoing {
    /// What counts toward the size limits: the body, and each attribute's name, type and
    /// value (the Developer Guide's "message attributes" section).
    fn size(&self) -> usize {
        let attributes = self.attributes.as_ref().and_then(|(a, _)| a.as_object());
        let attribute_bytes: usize = attributes.map_or(0, |attributes| {
            attributes
                .iter()
                .map(|(name, value)| {
                    let text = |member: &str| value[member].as_str().map_or(0, str::len);
                    name.len() + text("DataType") + text("StringValue") + text("BinaryValue")
                })
                .sum()
        });
        self.message.body.len() + attribute_bytes
    }
}

/// One entry of SendMessage(Batch): its body, group, deduplication id, delay and attributes.
fn outgoing(entry: &Value, entry_id: &str) -> Result<Outgoing, ApiError> {
    let body = request::string(entry, "MessageBody")?;
    if body.is_empty() {
        return Err(missing("MessageBody"));
    }
    let delay = request::integer_in(entry, "DelaySeconds", 0, MAX_DELAY.as_secs() as i64)?;
    let text = |member| request::optional_string(entry, member).map(|t| t.map(Arc::from));
    let attributes = match &entry["MessageAttributes"] {
        Value::Null => None,
        Value::Object(map) if map.is_empty() => None,
        Value::Object(map) => {
            check_message_attributes(map)?;
            Some((Value::Object(map.clone()), attributes_md5(map)))
        }
        _ => return Err(invalid_value("MessageAttributes must be a map.")),
    };
    Ok(Outgoing {
        message: OutgoingMessage {
            entry_id: entry_id.to_owned(),
            body: Arc::from(body),
            group_id: text("MessageGroupId")?,
            dedup_id: text("MessageDeduplicationId")?,
            delay: delay.map(Duration::from_secs),
        },
        attributes,
    })
}

/// Each attribute has a DataType of String, Number or Binary (optionally `.label`) and the value
/// member that type takes (the API Reference's `MessageAttributeValue`).
fn check_message_attributes(attributes: &Map<String, Value>) -> Result<(), ApiError> {
    if attributes.len() > MAX_MESSAGE_ATTRIBUTES {
        return Err(invalid_value(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}].",
            attributes.len()
        )));
    }
    for (name, value) in attributes {
        let data_type = value["DataType"].as_str().unwrap_or_default();
        let member = match data_type.split('.').next().unwrap_or_default() {
            "String" | "Number" => "StringValue",
            "Binary" => "BinaryValue",
            _ => {
                return Err(invalid_value(format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                )));
            }
        };
        if !value[member].is_string() {
            return Err(invalid_value(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
            )));
        }
    }
    Ok(())
}

/// Whether MessageAttributeNames `names` selects attribute `name`: `All`, `.*`, a `prefix.*`,
/// or the name itself.
fn selects(names: &[&str], name: &str) -> bool {
    names.iter().any(|wanted| match *wanted {
        "All" | ".*" => true,
        wanted => match wanted.strip_suffix(".*") {
            Some(prefix) => name.starts_with(prefix),
            None => wanted == name,
        },
    })
}

/// The batch entries' ids: present, well formed, distinct, 1 to 10 of them.
fn entry_ids(entries: &[Value], operation: &str) -> Result<Vec<String>, ApiError> {
    match entries.len() {
        0 => return Err(empty_batch(operation)),
        1..=MAX_BATCH => {}
        n => return Err(too_many_entries(n)),
    }
    let mut ids: Vec<String> = Vec::with_capacity(entries.len());
    for entry in entries {
        let id = request::string(entry, "Id")?;
        let well_formed = (1..=MAX_BATCH_ENTRY_ID).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(ApiError::client(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if ids.iter().any(|seen| seen == id) {
            return Err(ApiError::client(
                "BatchEntryIdsNotDistinct",
                format!("Id {id} repeated."),
            ));
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

fn visibility_timeout(request: &Value) -> Result<Duration, ApiError> {
    request::integer_in(
        request,
        "VisibilityTimeout",
        0,
        MAX_VISIBILITY_TIMEOUT.as_secs() as i64,
    )?
    .map(Duration::from_secs)
    .ok_or_else(|| missing("VisibilityTimeout"))
}

fn failed_entry(entry_id: &str, error: &BackendError, handle: Option<&str>) -> Value {
    failed_api_entry(entry_id, &from_backend(error, handle, false))
}

/// A `BatchResultErrorEntry`: every per-entry failure the simulator reports is the sender's.
fn failed_api_entry(entry_id: &str, error: &ApiError) -> Value {
    json!({
        "Id": entry_id,
        "SenderFault": error.status < 500,
        "Code": errors::legacy_code(&error.code),
        "Message": error.message,
    })
}

/// A receipt handle: the simulator's token in hex; anything else is a handle no queue issued.
fn encode_receipt(receipt: &Receipt) -> String {
    match receipt {
        Receipt::Token { slot, generation } => format!("{slot:016x}{generation:08x}"),
        Receipt::Handle(handle) => handle.to_string(),
    }
}

fn decode_receipt(handle: &str) -> Receipt {
    let token = (handle.len() == 24 && handle.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| {
            let slot = u64::from_str_radix(&handle[..16], 16).ok()?;
            let generation = u32::from_str_radix(&handle[16..], 16).ok()?;
            Some(Receipt::Token { slot, generation })
        })
        .flatten();
    token.unwrap_or_else(|| Receipt::Handle(Arc::from(handle)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

/// MD5OfMessageAttributes, as the SQS Developer Guide's "Calculating the MD5 message digest for
/// message attributes" defines it: the attributes sorted by name, each as its length-prefixed
/// name, length-prefixed data type, a transport byte (1 string, 2 binary) and length-prefixed
/// value.
fn attributes_md5(attributes: &Map<String, Value>) -> String {
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    let mut bytes = Vec::new();
    let field = |bytes: &mut Vec<u8>, data: &[u8]| {
        bytes.extend_from_slice(&(data.len() as u32).to_be_bytes());
        bytes.extend_from_slice(data);
    };
    for name in names {
        let value = &attributes[name];
        let data_type = value["DataType"].as_str().unwrap_or_default();
        field(&mut bytes, name.as_bytes());
        field(&mut bytes, data_type.as_bytes());
        if data_type.starts_with("Binary") {
            bytes.push(2);
            let encoded = value["BinaryValue"].as_str().unwrap_or_default();
            let decoded = aws_smithy_types::base64::decode(encoded).unwrap_or_default();
            field(&mut bytes, &decoded);
        } else {
            bytes.push(1);
            let text = value["StringValue"].as_str().unwrap_or_default();
            field(&mut bytes, text.as_bytes());
        }
    }
    md5_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_and_foreign_handles_stay_foreign() {
        let token = Receipt::Token {
            slot: (3 << 32) | 17,
            generation: 2,
        };
        assert_eq!(decode_receipt(&encode_receipt(&token)), token);
        assert!(matches!(
            decode_receipt("not-a-receipt"),
            Receipt::Handle(_)
        ));
    }

    #[test]
    fn attribute_names_select_by_name_prefix_or_all() {
        assert!(selects(&["All"], "trace"));
        assert!(selects(&[".*"], "trace"));
        assert!(selects(&["tr.*"], "trace"));
        assert!(selects(&["trace"], "trace"));
        assert!(!selects(&["other"], "trace"));
        assert!(!selects(&[], "trace"));
    }

    /// The digest depends on the attributes, not on the order they were sent in, and tells a
    /// string from the same bytes sent as binary (the transport byte).
    #[test]
    fn the_message_attribute_md5_is_order_free_and_typed() {
        let one = json!({"a": {"DataType": "String", "StringValue": "x"},
                         "b": {"DataType": "Number", "StringValue": "1"}});
        let mut reversed = Map::new();
        for (name, value) in one.as_object().unwrap().iter().rev() {
            reversed.insert(name.clone(), value.clone());
        }
        assert_eq!(
            attributes_md5(one.as_object().unwrap()),
            attributes_md5(&reversed)
        );
        let text = json!({"a": {"DataType": "String", "StringValue": "eA=="}});
        let binary = json!({"a": {"DataType": "Binary", "BinaryValue": "eA=="}});
        assert_ne!(
            attributes_md5(text.as_object().unwrap()),
            attributes_md5(binary.as_object().unwrap())
        );
    }

    #[test]
    fn batches_need_one_to_ten_distinct_well_formed_ids() {
        let entry = |id: &str| json!({ "Id": id });
        assert_eq!(entry_ids(&[], "X").unwrap_err().code, "EmptyBatchRequest");
        let eleven: Vec<Value> = (0..11).map(|i| entry(&i.to_string())).collect();
        assert_eq!(
            entry_ids(&eleven, "X").unwrap_err().code,
            "TooManyEntriesInBatchRequest"
        );
        assert_eq!(
            entry_ids(&[entry("a"), entry("a")], "X").unwrap_err().code,
            "BatchEntryIdsNotDistinct"
        );
        assert_eq!(
            entry_ids(&[entry("a b")], "X").unwrap_err().code,
            "InvalidBatchEntryId"
        );
        assert_eq!(
            entry_ids(&[entry("a"), entry("b")], "X").unwrap(),
            ["a", "b"]
        );
    }
}
