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
}

/// The services of one server.
#[derive(Debug)]
pub(super) struct Service {
    sqs: Sqs,
    dynamodb: RefCell<DynamoDb>,
    clock: WallClock,
    history: RefCell<Option<History>>,
}

impl Service {
    pub(super) fn new(sqs: Sqs, clock: WallClock, history: Option<History>) -> Service {
        Service {
            sqs,
            dynamodb: RefCell::default(),
            clock,
            history: RefCell::new(history),
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
                    return self.recorded(target, caller, Err(error), &[]);
                }
            }
        };
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
        self.recorded(target, caller, result, &notes)
    }

    /// The answer to `target`, its call (and everything the queues and tables did meanwhile)
    /// written to the history.
    fn recorded(
        &self,
        target: &str,
        caller: Option<&str>,
        result: Result<Value, ApiError>,
        notes: &[Note],
    ) -> Answer {
        // Taken whether recorded or not: the simulator and the store keep them until asked.
        let mut history = self.history.borrow_mut();
        self.record_transitions(history.as_mut());
        if let Some(history) = history.as_mut() {
            let error = result.as_ref().err().map(|e| e.code.as_str());
            history.call(target, caller, error, notes);
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
    }
}
