//! The DynamoDB side of `qsim serve`: tables of attribute maps behind the
//! `DynamoDB_20120810.*` JSON operations, with the request and response shapes, error codes and
//! messages of the DynamoDB API reference
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Operations_Amazon_DynamoDB.html>).
//!
//! A pure store: no I/O, no clock of its own (the caller passes `now_ms`), no hash order in any
//! response. Where things are:
//! - [`value`] and [`number`]: attribute values and DynamoDB's 38-digit decimal numbers;
//! - [`table`]: a table's key schema, settings and items in key order;
//! - [`expression`]: the expression language (lexer, parser, evaluator, update applier);
//! - [`tables`]: CreateTable, DescribeTable, ListTables, DeleteTable, tags and TTL;
//! - [`items`]: PutItem, GetItem, UpdateItem, DeleteItem, and the single-item write every
//!   batch and transaction goes through;
//! - [`query`]: Query and Scan; [`batch`]: BatchWriteItem and BatchGetItem;
//!   [`transact`]: TransactWriteItems and TransactGetItems;
//! - [`capacity`]: `ConsumedCapacity` on request, with DynamoDB's rounding;
//! - [`errors`] and [`request`]: DynamoDB's errors and typed reads of a request.
//!
//! Not modelled, each refused with a ValidationException that names it rather than ignored:
//! secondary indexes (`GlobalSecondaryIndexes`, `LocalSecondaryIndexes`, `IndexName`), parallel
//! scans (`Segment`), the legacy parameters (`Expected`, `AttributeUpdates`, `KeyConditions`,
//! `QueryFilter`, `ScanFilter`, `AttributesToGet`, `ConditionalOperator`). TTL is stored and described; expired items are not deleted. Tables are ACTIVE at
//! once. Numbers are exact decimals (see [`number`]).

mod batch;
mod capacity;
mod errors;
mod expression;
mod items;
mod number;
mod query;
mod request;
mod table;
mod tables;
mod transact;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::ApiError;
use request::Request;
use table::Table;

/// Every table of one server.
#[derive(Debug, Default)]
pub struct DynamoDb {
    tables: BTreeMap<String, Table>,
    writes: Vec<ItemWrite>,
    /// Tables created so far, for each table's `TableId`.
    tables_created: u64,
    /// TransactWriteItems' client request tokens: the request each came with and when it
    /// completed (Unix ms).
    transaction_tokens: BTreeMap<String, (Value, u64)>,
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
        let request = Request(request);
        match operation {
            "CreateTable" => self.create_table(request, now_ms),
            "DescribeTable" => self.describe_table(request),
            "ListTables" => self.list_tables(request),
            "DeleteTable" => self.delete_table(request),
            "TagResource" => self.tag_resource(request),
            "UntagResource" => self.untag_resource(request),
            "ListTagsOfResource" => self.list_tags_of_resource(request),
            "UpdateTimeToLive" => self.update_time_to_live(request),
            "DescribeTimeToLive" => self.describe_time_to_live(request),
            "PutItem" => self.put_item(request),
            "GetItem" => self.get_item(request),
            "UpdateItem" => self.update_item(request),
            "DeleteItem" => self.delete_item(request),
            "Query" => self.query(request),
            "Scan" => self.scan(request),
            "BatchWriteItem" => self.batch_write_item(request),
            "BatchGetItem" => self.batch_get_item(request),
            "TransactWriteItems" => self.idempotent_transact_write_items(request, now_ms),
            "TransactGetItems" => self.transact_get_items(request),
            _ => Err(ApiError::client(
                "UnknownOperationException",
                format!("unknown operation {operation}"),
            )),
        }
    }

    /// Hands over the writes made since the last call, oldest first.
    pub fn take_writes(&mut self, sink: &mut dyn FnMut(ItemWrite)) {
        self.writes.drain(..).for_each(sink);
    }

    /// The table a request names, or DynamoDB's ResourceNotFoundException.
    fn table(&self, name: &str) -> Result<&Table, ApiError> {
        self.tables.get(name).ok_or_else(errors::resource_not_found)
    }

    fn table_mut(&mut self, name: &str) -> Result<&mut Table, ApiError> {
        self.tables
            .get_mut(name)
            .ok_or_else(errors::resource_not_found)
    }
}
