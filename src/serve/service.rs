//! One request to one answer: `X-Amz-Target` picks the service and operation, the JSON body is
//! the request, and the answer is JSON, or an error in the shape its protocol gives errors.
//! Every call, and what the queues and tables did meanwhile, goes to the history.

use std::cell::RefCell;

use serde_json::{Value, json};

use super::clock::WallClock;
use super::dynamodb::DynamoDb;
use super::error::ApiError;
use super::history::{History, Note};
use super::sqs::{Sqs, errors::legacy_code};
use crate::backend::faults::{
    ApiOperation, CallPlan, FaultKind, FaultRules, TIMEOUT_WAIT, TRANSACT_WRITE_UNITS_PER_ITEM,
    sqs_billed, wait_before_answer,
};

/// The `X-Amz-Target` prefix of SQS's JSON protocol.
const SQS_TARGET: &str = "AmazonSQS.";
/// The `X-Amz-Target` prefix of DynamoDB's.
const DYNAMODB_TARGET: &str = "DynamoDB_20120810.";
/// The content type of both protocols' requests and answers.
pub(super) const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// An answer, before HTTP.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
    /// `x-amzn-query-error`: an SQS error's legacy code and fault (`Sender`/`Receiver`).
    pub(super) query_error: Option<String>,
    /// An injected timeout: the connection is dropped without an answer, as when the request
    /// or its answer is lost on the way (the client's SDK sees a connection error and retries).
    pub(super) lost: bool,
}

impl Answer {
    fn lost() -> Answer {
        Answer {
            status: 0,
            body: Vec::new(),
            query_error: None,
            lost: true,
        }
    }
}

/// The services of one server.
#[derive(Debug)]
pub(super) struct Service {
    sqs: Sqs,
    dynamodb: RefCell<DynamoDb>,
    clock: WallClock,
    history: RefCell<Option<History>>,
    /// A scenario's `[[faults]]`, struck into the calls of named callers only (a run's
    /// `command` consumers; qsim's own calls meet them in the run's fault layer).
    faults: RefCell<FaultRules>,
}

impl Service {
    pub(super) fn new(
        sqs: Sqs,
        clock: WallClock,
        history: Option<History>,
        faults: FaultRules,
    ) -> Service {
        Service {
            sqs,
            dynamodb: RefCell::default(),
            clock,
            history: RefCell::new(history),
            faults: RefCell::new(faults),
        }
    }

    /// The answer to one request; `caller` names the client (see [`crate::backend::CALLER_KEY_PREFIX`]).
    pub(super) async fn answer(
        &self,
        target: Option<&str>,
        caller: Option<&str>,
        body: &[u8],
    ) -> Answer {
        let Some(target) = target else {
            return error_answer(
                "",
                &ApiError::client(
                    "MissingAction",
                    "qsim serve speaks the AWS JSON protocol: the request needs an X-Amz-Target header.",
                ),
            );
        };
        let request: Value = if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(request) => request,
                Err(error) => {
                    let error = ApiError::client(
                        "SerializationException",
                        format!("The request body is not JSON: {error}"),
                    );
                    return self.recorded(target, (caller, None), Err(error), &[]);
                }
            }
        };
        let struck = match caller {
            Some(caller) => self.strike(target, caller).await,
            None => None,
        };
        if let Some((caller, operation, fault)) = struck {
            match fault {
                FaultKind::Throttle | FaultKind::Error => {
                    self.record_fault(caller, operation, fault, None);
                    let error = injected_error(target, fault);
                    return self.recorded(target, (Some(caller), Some(1)), Err(error), &[]);
                }
                FaultKind::TimeoutBefore => {
                    self.record_fault(caller, operation, fault, None);
                    return Answer::lost();
                }
                FaultKind::TimeoutAfter | FaultKind::Latency => {}
            }
        }
        let mut notes = Vec::new();
        let result = if let Some(operation) = target.strip_prefix(SQS_TARGET) {
            self.sqs.handle(operation, &request, &mut notes).await
        } else if let Some(operation) = target.strip_prefix(DYNAMODB_TARGET) {
            let now_ms = self.clock.unix_ms();
            self.dynamodb
                .borrow_mut()
                .handle(operation, &request, now_ms)
        } else {
            Err(ApiError::client(
                "UnknownOperationException",
                format!("qsim serve does not know the target {target}."),
            ))
        };
        let billed = caller.map(|_| billed_requests(target, &request, &notes));
        if let Some((caller, operation, FaultKind::TimeoutAfter)) = struck {
            // The call happened; its answer is lost. The messages it concerned are the fault's:
            // a hidden receive's messages are in flight unseen, a hidden delete's are gone.
            let _ = self.recorded(target, (Some(caller), billed), result, &[]);
            if notes.is_empty() {
                self.record_fault(caller, operation, FaultKind::TimeoutAfter, None);
            }
            for note in &notes {
                self.record_fault(caller, operation, FaultKind::TimeoutAfter, Some(note));
            }
            tokio::time::sleep(TIMEOUT_WAIT).await;
            return Answer::lost();
        }
        self.recorded(target, (caller, billed), result, &notes)
    }

    /// The `[[faults]]` rule that strikes this call by `caller`, if one does, after waiting out
    /// what the caller would wait (a latency rule's delay, a round trip, a timeout before the
    /// call). Only the operations a rule may name are struck.
    async fn strike<'c>(
        &self,
        target: &str,
        caller: &'c str,
    ) -> Option<(&'c str, ApiOperation, FaultKind)> {
        let operation = fault_operation(target)?;
        let elapsed = self.clock.elapsed_of(tokio::time::Instant::now());
        let CallPlan { delay, fault } = {
            let mut faults = self.faults.borrow_mut();
            if faults.is_empty() {
                return None;
            }
            faults.plan(operation, elapsed)
        };
        if !delay.is_zero() {
            self.record_fault(caller, operation, FaultKind::Latency, None);
        }
        let wait = delay + wait_before_answer(fault);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        fault.map(|fault| (caller, operation, fault))
    }

    fn record_fault(
        &self,
        caller: &str,
        operation: ApiOperation,
        fault: FaultKind,
        note: Option<&Note>,
    ) {
        if let Some(history) = self.history.borrow_mut().as_mut() {
            history.fault(caller, operation, fault, note);
        }
    }

    /// The answer to `target`, its call by `caller` billing `billed` requests (and everything
    /// the queues and tables did meanwhile) written to the history.
    fn recorded(
        &self,
        target: &str,
        (caller, billed): (Option<&str>, Option<u64>),
        result: Result<Value, ApiError>,
        notes: &[Note],
    ) -> Answer {
        // Taken whether recorded or not: the simulator and the store keep them until asked.
        let mut history = self.history.borrow_mut();
        self.record_transitions(history.as_mut());
        if let Some(history) = history.as_mut() {
            let error = result.as_ref().err().map(|e| e.code.as_str());
            history.call(target, (caller, billed), error, notes);
        }
        self.dynamodb.borrow_mut().take_writes(&mut |write| {
            if let Some(history) = history.as_mut() {
                history.item_written(&write);
            }
        });
        drop(history);
        match result {
            Ok(value) => Answer {
                status: 200,
                body: value.to_string().into_bytes(),
                query_error: None,
                lost: false,
            },
            Err(error) => error_answer(target, &error),
        }
    }

    fn record_transitions(&self, mut history: Option<&mut History>) {
        self.sqs
            .sim()
            .take_named_transitions(&mut |queue, transition| {
                if let Some(history) = history.as_mut() {
                    history.transition(queue, &transition);
                }
            });
    }

    /// Ends the history: what the queues did since the last call, then its last line.
    pub(super) fn finish(&self, path: Option<&std::path::Path>) -> std::io::Result<()> {
        match self.history.borrow_mut().take() {
            Some(mut history) => {
                self.record_transitions(Some(&mut history));
                history.finish(path)
            }
            None => Ok(()),
        }
    }
}

/// The requests a call to `target` bills, as qsim's fault layer counts its own: SQS bills each
/// 64 KiB of the bodies a send carries or a receive returns as one request; a transactional
/// write or read of an item costs two units ("Transactional write requests require 2 WRUs",
/// "Transactional read requests require 2 RRUs", <https://aws.amazon.com/dynamodb/pricing/on-demand/>);
/// a batch of item calls one unit per item; any other call one.
fn billed_requests(target: &str, request: &Value, notes: &[Note]) -> u64 {
    let bodies = |entries: &[Value]| -> usize {
        entries
            .iter()
            .filter_map(|entry| entry["MessageBody"].as_str())
            .map(str::len)
            .sum()
    };
    let count = |items: &Value| items.as_array().map_or(0, Vec::len) as u64;
    let per_table = |of_table: &dyn Fn(&Value) -> u64| -> u64 {
        request["RequestItems"]
            .as_object()
            .map_or(0, |tables| tables.values().map(of_table).sum())
    };
    let billed = match target {
        "AmazonSQS.SendMessage" => sqs_billed(bodies(std::slice::from_ref(request))),
        "AmazonSQS.SendMessageBatch" => sqs_billed(bodies(
            request["Entries"].as_array().map_or(&[], Vec::as_slice),
        )),
        "AmazonSQS.ReceiveMessage" => sqs_billed(notes.iter().map(Note::body_len).sum()),
        "DynamoDB_20120810.TransactWriteItems" | "DynamoDB_20120810.TransactGetItems" => {
            TRANSACT_WRITE_UNITS_PER_ITEM * count(&request["TransactItems"])
        }
        "DynamoDB_20120810.BatchWriteItem" => per_table(&count),
        "DynamoDB_20120810.BatchGetItem" => per_table(&|table| count(&table["Keys"])),
        _ => 1,
    };
    billed.max(1)
}

/// The operation a `[[faults]]` rule names for `target`: the SQS calls a consumer makes
/// (single and batch alike) and the item reads and writes.
fn fault_operation(target: &str) -> Option<ApiOperation> {
    if let Some(operation) = target.strip_prefix(SQS_TARGET) {
        return match operation {
            "SendMessage" | "SendMessageBatch" => Some(ApiOperation::Send),
            "ReceiveMessage" => Some(ApiOperation::Receive),
            "DeleteMessage" | "DeleteMessageBatch" => Some(ApiOperation::Delete),
            "ChangeMessageVisibility" | "ChangeMessageVisibilityBatch" => {
                Some(ApiOperation::ChangeVisibility)
            }
            _ => None,
        };
    }
    match target.strip_prefix(DYNAMODB_TARGET)? {
        "GetItem" => Some(ApiOperation::GetItem),
        "PutItem" => Some(ApiOperation::PutItem),
        "UpdateItem" => Some(ApiOperation::UpdateItem),
        _ => None,
    }
}

/// The error an injected throttle or error answers in `target`'s protocol: what SQS and
/// DynamoDB answer when they throttle (HTTP 400) or fail (HTTP 500).
fn injected_error(target: &str, fault: FaultKind) -> ApiError {
    let sqs = target.starts_with(SQS_TARGET);
    match (fault, sqs) {
        (FaultKind::Throttle, true) => {
            ApiError::client("RequestThrottled", "Request is throttled.")
        }
        (FaultKind::Throttle, false) => ApiError::client(
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        (_, true) => ApiError {
            status: 500,
            ..ApiError::client("InternalError", "We encountered an internal error.")
        },
        (_, false) => ApiError {
            status: 500,
            ..ApiError::client("InternalServerError", "Internal server error")
        },
    }
}

/// An error as the protocol of `target` returns it: `__type` namespaced by service, `message`,
/// the error's own fields; for SQS, the legacy code in `x-amzn-query-error`.
fn error_answer(target: &str, error: &ApiError) -> Answer {
    let sqs = target.starts_with(SQS_TARGET);
    let namespace = if sqs {
        "com.amazonaws.sqs#"
    } else if target.starts_with(DYNAMODB_TARGET) {
        "com.amazonaws.dynamodb.v20120810#"
    } else {
        ""
    };
    let mut body = serde_json::Map::new();
    body.insert("__type".into(), json!(format!("{namespace}{}", error.code)));
    body.insert("message".into(), json!(error.message));
    body.extend(error.extra.clone());
    let fault = if error.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    Answer {
        status: error.status,
        body: Value::Object(body).to_string().into_bytes(),
        query_error: sqs.then(|| format!("{};{fault}", legacy_code(&error.code))),
        lost: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_bill_by_payload_chunk_and_by_item() {
        let big = "x".repeat(40 * 1024);
        let send = json!({ "Entries": [{ "MessageBody": big }, { "MessageBody": big }] });
        assert_eq!(billed_requests("AmazonSQS.SendMessageBatch", &send, &[]), 2);
        let one = json!({ "MessageBody": "small" });
        assert_eq!(billed_requests("AmazonSQS.SendMessage", &one, &[]), 1);
        let transact = json!({ "TransactItems": [{}, {}, {}] });
        assert_eq!(
            billed_requests("DynamoDB_20120810.TransactWriteItems", &transact, &[]),
            3 * TRANSACT_WRITE_UNITS_PER_ITEM
        );
        let batch = json!({ "RequestItems": { "a": [{}, {}], "b": [{}, {}, {}] } });
        assert_eq!(
            billed_requests("DynamoDB_20120810.BatchWriteItem", &batch, &[]),
            5
        );
        let gets = json!({ "RequestItems": { "a": { "Keys": [{}, {}, {}, {}] } } });
        assert_eq!(
            billed_requests("DynamoDB_20120810.BatchGetItem", &gets, &[]),
            4
        );
        assert_eq!(
            billed_requests("DynamoDB_20120810.GetItem", &json!({}), &[]),
            1
        );
    }
}
