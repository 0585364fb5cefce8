//! An AWS API error, as the JSON protocols of SQS and DynamoDB return it: an HTTP status, an error
//! code (`__type`) and a message, plus any fields an operation adds (DynamoDB's `Item` of a failed
//! condition check, its `CancellationReasons`).

use serde_json::{Map, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// 400 for client errors, 500 for the service's own.
    pub status: u16,
    /// The code without its namespace, e.g. `QueueDoesNotExist`, `ConditionalCheckFailedException`.
    pub code: String,
    pub message: String,
    /// Fields of the error body beyond `__type` and `message`.
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// A client error (HTTP 400).
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: 400,
            code: code.into(),
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// A field added to the error body.
    pub fn with(mut self, field: &str, value: Value) -> ApiError {
        self.extra.insert(field.to_owned(), value);
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
