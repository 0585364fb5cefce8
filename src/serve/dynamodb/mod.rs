//! The DynamoDB side of `qsim serve`: tables of attribute maps behind the
//! `DynamoDB_20120810.*` JSON operations.

use serde_json::Value;

use super::error::ApiError;

/// Every table of one server.
#[derive(Debug, Default)]
pub struct DynamoDb {
    writes: Vec<ItemWrite>,
}

/// One item changed by a successful write, for the server's history.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemWrite {
    pub table: String,
    /// The item's key attributes, in DynamoDB JSON (`{"pk": {"S": "..."}}`).
    pub key: Value,
    /// The item before and after the write, in DynamoDB JSON; `None` where absent.
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl DynamoDb {
    /// Handles one operation: `operation` is the part of `X-Amz-Target` after
    /// `DynamoDB_20120810.`, `request` the JSON body; `now_ms` the wall clock in Unix
    /// milliseconds (for TTL and the tables' creation times).
    pub fn handle(
        &mut self,
        operation: &str,
        request: &Value,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let _ = (request, now_ms);
        Err(ApiError::client(
            "UnknownOperationException",
            format!("unknown operation {operation}"),
        ))
    }

    /// Hands over the writes made since the last call, oldest first.
    pub fn take_writes(&mut self, sink: &mut dyn FnMut(ItemWrite)) {
        self.writes.drain(..).for_each(sink);
    }
}
