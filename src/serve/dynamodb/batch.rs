//! BatchWriteItem and BatchGetItem. Every request is processed whole: `UnprocessedItems` and
//! `UnprocessedKeys` are always empty, since this store never throttles.
//!
//! A batch is checked completely before anything is written, so a bad request in it leaves
//! the tables unchanged (DynamoDB rejects the whole batch on a validation error too).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::DynamoDb;
use super::capacity;
use super::errors::{malformed, validation};
use super::expression::Expressions;
use super::items::WriteKind;
use super::request::Request;
use super::value::item_from_json;
use crate::serve::error::ApiError;

/// The most requests in one batch
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html>,
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html>).
const MAX_BATCH_WRITES: usize = 25;
const MAX_BATCH_GETS: usize = 100;

fn duplicates() -> ApiError {
    validation("Provided list of item keys contains duplicates")
}

fn empty_request_items() -> ApiError {
    validation(
        "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
    )
}

impl DynamoDb {
    pub(super) fn batch_write_item(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let tables = request.required_object("RequestItems")?;
        if tables.is_empty() {
            return Err(empty_request_items());
        }
        let count: usize = tables
            .values()
            .map(|writes| writes.as_array().map_or(0, Vec::len))
            .sum();
        if count > MAX_BATCH_WRITES {
            return Err(validation(
                "Too many items requested for the BatchWriteItem call",
            ));
        }
        let mut planned = Vec::with_capacity(count);
        let mut seen = BTreeSet::new();
        for (table, writes) in tables {
            let writes = writes
                .as_array()
                .ok_or_else(|| malformed(table, "a list of write requests"))?;
            for write in writes {
                let (kind, member, field) = match (
                    write.get("PutRequest"),
                    write.get("DeleteRequest"),
                ) {
                    (Some(put), None) => (WriteKind::Put, put, "Item"),
                    (None, Some(delete)) => (WriteKind::Delete, delete, "Key"),
                    _ => {
                        return Err(validation(
                            "A WriteRequest must have exactly one of PutRequest and DeleteRequest",
                        ));
                    }
                };
                let single =
                    json!({ "TableName": table, field: Request(member).required_value(field)? });
                let write = self.plan_write(kind, Request(&single))?;
                if !seen.insert((write.table.clone(), write.key.clone())) {
                    return Err(duplicates());
                }
                planned.push(write);
            }
        }
        let mut units = BTreeMap::new();
        for write in &planned {
            self.commit(write);
            *units.entry(write.table.clone()).or_insert(0.0) += write.units();
        }
        let mut response = json!({ "UnprocessedItems": {} });
        capacity::add_list_to(&mut response, capacity::requested(request)?, &units);
        Ok(response)
    }

    pub(super) fn batch_get_item(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let tables = request.required_object("RequestItems")?;
        if tables.is_empty() {
            return Err(empty_request_items());
        }
        let count: usize = tables
            .values()
            .map(|table| {
                table
                    .get("Keys")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len)
            })
            .sum();
        if count > MAX_BATCH_GETS {
            return Err(validation(
                "Too many items requested for the BatchGetItem call",
            ));
        }
        let report = capacity::requested(request)?;
        let mut responses = Map::new();
        let mut units = BTreeMap::new();
        for (table, keys_and_attributes) in tables {
            let per_table = Request(keys_and_attributes);
            per_table.reject_legacy(&["AttributesToGet"])?;
            let consistent = per_table.bool("ConsistentRead")?.unwrap_or(false);
            let expressions = Expressions::parse(per_table)?;
            let keys = per_table.required_array("Keys")?;
            let mut parsed = Vec::with_capacity(keys.len());
            for key in keys {
                let key = item_from_json(key)?;
                if parsed.contains(&key) {
                    return Err(duplicates());
                }
                parsed.push(key);
            }
            let mut items = Vec::new();
            for key in keys {
                let read = self.read(table, key, expressions.projection.as_deref())?;
                *units.entry(table.clone()).or_insert(0.0) +=
                    capacity::read_units(read.bytes, consistent);
                items.extend(read.item);
            }
            responses.insert(table.clone(), Value::Array(items));
        }
        let mut response = json!({ "Responses": responses, "UnprocessedKeys": {} });
        capacity::add_list_to(&mut response, report, &units);
        Ok(response)
    }
}
