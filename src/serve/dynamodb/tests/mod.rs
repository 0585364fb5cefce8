//! Tests of the store through its one entry point, [`DynamoDb::handle`], with requests in
//! DynamoDB JSON as an SDK sends them: one file per operation family, one for the expression
//! language, and one that replays the requests qsim's own AWS backend sends.

mod backend_requests;
mod batch;
mod expressions;
mod items;
mod query;
mod tables;
mod transact;

use serde_json::{Value, json};

use super::{DynamoDb, ItemWrite};
use crate::serve::error::ApiError;

const NOW_MS: u64 = 1_700_000_000_000;

fn call(db: &mut DynamoDb, operation: &str, request: Value) -> Result<Value, ApiError> {
    db.handle(operation, &request, NOW_MS)
}

fn ok(db: &mut DynamoDb, operation: &str, request: Value) -> Value {
    call(db, operation, request).unwrap_or_else(|error| panic!("{operation}: {error}"))
}

/// The error code and message of a failing call.
fn fails(db: &mut DynamoDb, operation: &str, request: Value) -> (String, String) {
    match call(db, operation, request) {
        Ok(response) => panic!("{operation} succeeded: {response}"),
        Err(error) => (error.code, error.message),
    }
}

fn validation(message: &str) -> (String, String) {
    ("ValidationException".to_owned(), message.to_owned())
}

/// Creates a pay-per-request table keyed by string `pk` alone.
fn create_table(db: &mut DynamoDb, name: &str) {
    ok(
        db,
        "CreateTable",
        json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    );
}

/// A store with table `items`, keyed by string `pk` alone.
fn with_table() -> DynamoDb {
    let mut db = DynamoDb::default();
    create_table(&mut db, "items");
    db
}

/// A store with table `sorted`, keyed by string `pk` and number `sk`.
fn with_sorted_table() -> DynamoDb {
    let mut db = DynamoDb::default();
    ok(
        &mut db,
        "CreateTable",
        json!({
            "TableName": "sorted",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"}
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    );
    db
}

fn put(db: &mut DynamoDb, table: &str, item: Value) {
    ok(db, "PutItem", json!({"TableName": table, "Item": item}));
}

fn get(db: &mut DynamoDb, table: &str, key: Value) -> Option<Value> {
    ok(db, "GetItem", json!({"TableName": table, "Key": key}))
        .get("Item")
        .cloned()
}

fn writes(db: &mut DynamoDb) -> Vec<ItemWrite> {
    let mut writes = Vec::new();
    db.take_writes(&mut |write| writes.push(write));
    writes
}
