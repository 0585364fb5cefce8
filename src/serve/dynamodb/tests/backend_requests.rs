//! The requests qsim's own AWS backend (`src/backend/aws/tables.rs`) sends, built with its own
//! item and expression code, answered as that code expects: the backend must work against
//! `qsim serve` as it does against DynamoDB.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use serde_json::{Map, json};

use super::*;
use crate::backend::aws::item_keys::ItemKeys;
use crate::backend::aws::items::{
    KEY, UpdateExpression, item_from_attributes, item_to_attributes, key_attributes,
};
use crate::backend::aws::naming::{MANAGED_TAG, RUN_TAG};
use crate::backend::{Condition, Item, Status, Update};

const TABLE: &str = "qsim-0123abcd-status";

/// The SDK's attribute map in DynamoDB JSON; qsim writes strings and numbers only.
fn to_json(attributes: &HashMap<String, SdkValue>) -> Value {
    let object: Map<String, Value> = attributes
        .iter()
        .map(|(name, value)| {
            let value = match value {
                SdkValue::S(s) => json!({"S": s}),
                SdkValue::N(n) => json!({"N": n}),
                other => panic!("qsim does not write {other:?}"),
            };
            (name.clone(), value)
        })
        .collect();
    Value::Object(object)
}

fn from_json(item: &Value) -> HashMap<String, SdkValue> {
    item.as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            let value = match (value.get("S"), value.get("N")) {
                (Some(s), _) => SdkValue::S(s.as_str().unwrap().to_owned()),
                (_, Some(n)) => SdkValue::N(n.as_str().unwrap().to_owned()),
                _ => panic!("an attribute qsim cannot read: {value}"),
            };
            (name.clone(), value)
        })
        .collect()
}

fn read_item(item: &Value) -> Item {
    item_from_attributes(&from_json(item)).unwrap()
}

/// CreateTable as `AwsBackend::create_table` sends it.
fn create_table(db: &mut DynamoDb) {
    ok(
        db,
        "CreateTable",
        json!({
            "TableName": TABLE,
            "AttributeDefinitions": [{"AttributeName": KEY, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": KEY, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "Tags": [{"Key": MANAGED_TAG, "Value": "true"}, {"Key": RUN_TAG, "Value": "0123abcd"}],
        }),
    );
}

/// PutItem as `AwsBackend::put_if_absent` sends it.
fn put_if_absent(db: &mut DynamoDb, key: &str, item: &Item) -> Result<Value, ApiError> {
    call(
        db,
        "PutItem",
        json!({
            "TableName": TABLE,
            "Item": to_json(&item_to_attributes(key, item)),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": KEY},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }),
    )
}

/// UpdateItem as `AwsBackend::update` sends it.
fn update(db: &mut DynamoDb, key: &str, update: &Update) -> Result<Value, ApiError> {
    let expression = UpdateExpression::new(update);
    let mut request = json!({
        "TableName": TABLE,
        "Key": to_json(&key_attributes(key)),
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    });
    if let Some(text) = expression.update {
        request["UpdateExpression"] = json!(text);
    }
    if let Some(text) = expression.condition {
        request["ConditionExpression"] = json!(text);
    }
    if !expression.names.is_empty() {
        request["ExpressionAttributeNames"] = json!(expression.names);
    }
    if !expression.values.is_empty() {
        request["ExpressionAttributeValues"] = to_json(&expression.values);
    }
    call(db, "UpdateItem", request)
}

fn get_item(db: &mut DynamoDb, key: &str) -> Option<Item> {
    let response = ok(
        db,
        "GetItem",
        json!({"TableName": TABLE, "Key": to_json(&key_attributes(key)), "ConsistentRead": true}),
    );
    response.get("Item").map(read_item)
}

#[test]
fn tables_are_created_described_tagged_and_deleted_as_the_backend_expects() {
    let mut db = DynamoDb::default();
    create_table(&mut db);
    let table = ok(&mut db, "DescribeTable", json!({"TableName": TABLE}))["Table"].clone();
    // What `check_provisioned_table` and `wait_until_active` read.
    assert_eq!(table["TableStatus"], "ACTIVE");
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": KEY, "KeyType": "HASH"}])
    );
    assert_eq!(
        table["AttributeDefinitions"],
        json!([{"AttributeName": KEY, "AttributeType": "S"}])
    );
    // What cleanup's `table_tags` reads.
    let tags = ok(
        &mut db,
        "ListTagsOfResource",
        json!({"ResourceArn": table["TableArn"]}),
    );
    assert_eq!(
        tags["Tags"],
        json!([{"Key": MANAGED_TAG, "Value": "true"}, {"Key": RUN_TAG, "Value": "0123abcd"}])
    );
    assert_eq!(
        ok(&mut db, "ListTables", json!({}))["TableNames"],
        json!([TABLE])
    );
    ok(&mut db, "DeleteTable", json!({"TableName": TABLE}));
    assert_eq!(
        fails(&mut db, "DeleteTable", json!({"TableName": TABLE})).0,
        "ResourceNotFoundException"
    );
}

#[test]
fn put_if_absent_creates_once_then_returns_the_existing_item() {
    let mut db = DynamoDb::default();
    create_table(&mut db);
    let first = Item {
        status: Some(Status::Started),
        attempts: 1,
        lease_until_ms: Some(500),
        message: Some("m-1".into()),
        ..Item::default()
    };
    assert_eq!(put_if_absent(&mut db, "k", &first).unwrap(), json!({}));
    let second = Item {
        message: Some("m-2".into()),
        ..first.clone()
    };
    let error = put_if_absent(&mut db, "k", &second).unwrap_err();
    assert_eq!(error.code, "ConditionalCheckFailedException");
    assert_eq!(read_item(&error.extra["Item"]), first);
    assert_eq!(get_item(&mut db, "k"), Some(first));
}

#[test]
fn updates_with_their_conditions_behave_as_the_engine_expects() {
    let mut db = DynamoDb::default();
    create_table(&mut db);
    // Claim, complete, count.
    let claim = Item {
        status: Some(Status::Started),
        attempts: 1,
        lease_until_ms: Some(1_000),
        ..Item::default()
    };
    put_if_absent(&mut db, "msg", &claim).unwrap();
    let complete = Update {
        set_status: Some(Status::Completed),
        add_count: 1,
        set_message: Some("m-1".into()),
        ..Update::default()
    };
    let response = update(&mut db, "msg", &complete).unwrap();
    assert_eq!(
        read_item(&response["Attributes"]),
        Item {
            status: Some(Status::Completed),
            count: 1,
            message: Some("m-1".into()),
            ..claim.clone()
        }
    );
    // A lease that has not expired: the takeover fails and returns the item.
    let takeover = Update {
        add_attempts: 1,
        set_lease_until_ms: Some(9_000),
        condition: Condition::LeaseExpired { now_ms: 500 },
        set_status: Some(Status::Started),
        ..Update::default()
    };
    put_if_absent(&mut db, "leased", &claim).unwrap();
    let error = update(&mut db, "leased", &takeover).unwrap_err();
    assert_eq!(error.code, "ConditionalCheckFailedException");
    assert_eq!(read_item(&error.extra["Item"]), claim);
    // Past the lease it succeeds.
    let late = Update {
        condition: Condition::LeaseExpired { now_ms: 1_000 },
        ..takeover
    };
    let taken = read_item(&update(&mut db, "leased", &late).unwrap()["Attributes"]);
    assert_eq!((taken.attempts, taken.lease_until_ms), (2, Some(9_000)));
    // Last write wins by version: a missing version passes, an older one fails.
    let versioned = |version| Update {
        set_version: Some(version),
        add_count: 1,
        condition: Condition::VersionBelow(version),
        ..Update::default()
    };
    let written = read_item(&update(&mut db, "entity", &versioned(5)).unwrap()["Attributes"]);
    assert_eq!((written.version, written.count), (Some(5), 1));
    let error = update(&mut db, "entity", &versioned(5)).unwrap_err();
    assert_eq!(read_item(&error.extra["Item"]).version, Some(5));
    assert_eq!(
        read_item(&update(&mut db, "entity", &versioned(6)).unwrap()["Attributes"]).count,
        2
    );
    // An update with nothing to set only creates the item.
    let bare = update(&mut db, "bare", &Update::default()).unwrap();
    assert_eq!(read_item(&bare["Attributes"]), Item::default());
}

#[test]
fn transactions_deletes_gets_and_scans_round_trip() {
    let mut db = DynamoDb::default();
    create_table(&mut db);
    let keys = ItemKeys::shared_tables("0123abcd");
    let rows: Vec<(String, Item)> = ["b", "a", "c"]
        .iter()
        .map(|key| {
            (
                key.to_string(),
                Item {
                    body: Some(format!("{{\"id\":\"{key}\"}}").into()),
                    ..Item::default()
                },
            )
        })
        .collect();
    // `transact_put`: one Put per item.
    let puts: Vec<Value> = rows
        .iter()
        .map(|(key, item)| json!({"Put": {"TableName": TABLE, "Item": to_json(&item_to_attributes(&keys.stored(key), item))}}))
        .collect();
    ok(
        &mut db,
        "TransactWriteItems",
        json!({"TransactItems": puts}),
    );
    // Another run's item on the same shared table.
    put_if_absent(&mut db, "ffffffff#a", &Item::default()).unwrap();
    // `delete_item`, then `get`.
    ok(
        &mut db,
        "DeleteItem",
        json!({"TableName": TABLE, "Key": to_json(&key_attributes(&keys.stored("c")))}),
    );
    assert_eq!(get_item(&mut db, &keys.stored("c")), None);
    assert_eq!(
        get_item(&mut db, &keys.stored("a")),
        Some(rows[1].1.clone())
    );
    // `scan` on a shared table: filtered by the run's prefix, paged by LastEvaluatedKey.
    let mut found = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({
            "TableName": TABLE, "ConsistentRead": true,
            "FilterExpression": "begins_with(#pk, :run)",
            "ExpressionAttributeNames": {"#pk": KEY},
            "ExpressionAttributeValues": {":run": {"S": keys.scan_prefix().unwrap()}},
        });
        if let Some(key) = start.take() {
            request["ExclusiveStartKey"] = key;
        }
        let page = ok(&mut db, "Scan", request);
        for item in page["Items"].as_array().unwrap() {
            let stored = item[KEY]["S"].as_str().unwrap();
            found.push((keys.engine_key(stored).unwrap().to_owned(), read_item(item)));
        }
        match page.get("LastEvaluatedKey") {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    assert_eq!(found, [rows[1].clone(), rows[0].clone()]);
}
