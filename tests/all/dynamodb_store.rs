//! `qsim serve`'s DynamoDB store against a real moto_server: the same requests, in DynamoDB
//! JSON over moto's HTTP API and straight into [`DynamoDb::handle`], must succeed or fail alike
//! (same error code) and return the same items. Where they differ the store follows DynamoDB's
//! documentation; each such difference is listed in [`KNOWN_DEVIATIONS`] with the reason, and
//! the test fails when the list goes stale either way.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use qsim::serve::dynamodb::DynamoDb;
use serde_json::{Value, json};

use crate::moto::moto_blocking;

/// Steps where moto and DynamoDB's documented behaviour part, by step label, with the reason.
const KNOWN_DEVIATIONS: [(&str, &str); 4] = [
    (
        "unused value",
        "DynamoDB refuses ExpressionAttributeValues no expression uses (ValidationException \
         'Value provided in ExpressionAttributeValues unused in expressions'); moto ignores them",
    ),
    (
        "batch write duplicates",
        "DynamoDB refuses a batch with two requests on one key (API_BatchWriteItem, Errors: \
         'Your request contains at least two items with identical hash and range keys'); moto \
         applies both",
    ),
    (
        "tag a missing table",
        "DynamoDB answers ResourceNotFoundException for an ARN of no table (API_TagResource, \
         Errors); moto accepts the tags",
    ),
    (
        "get 1.50",
        "DynamoDB stores numbers without leading or trailing zeroes \
         (CapacityUnitCalculations.html, on numbers); moto returns the text as sent",
    ),
];

/// One DynamoDB JSON call over HTTP; returns the status and the parsed body.
fn post(endpoint: &str, operation: &str, request: &Value) -> (u16, Value) {
    let address = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = request.to_string();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: DynamoDB_20120810.{operation}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim())
        .filter(|body| !body.is_empty())
        .map_or(Value::Null, |body| serde_json::from_str(body).unwrap());
    (status, json)
}

/// What both sides must agree on: success or the error code, and the items returned.
fn outcome(result: Result<Value, (String, Value)>) -> Value {
    const COMPARED: [&str; 7] = [
        "Item",
        "Items",
        "Attributes",
        "Count",
        "ScannedCount",
        "LastEvaluatedKey",
        "Responses",
    ];
    match result {
        Ok(mut body) => {
            sort_sets(&mut body);
            let kept: serde_json::Map<String, Value> = COMPARED
                .iter()
                .filter_map(|field| {
                    body.get(*field)
                        .map(|value| ((*field).to_owned(), value.clone()))
                })
                .collect();
            json!({ "ok": kept })
        }
        Err((code, mut extra)) => {
            sort_sets(&mut extra);
            let reasons: Vec<Value> = extra["CancellationReasons"]
                .as_array()
                .map(|reasons| {
                    reasons
                        .iter()
                        .map(|reason| reason["Code"].clone())
                        .collect()
                })
                .unwrap_or_default();
            json!({ "error": code, "item": extra.get("Item"), "reasons": reasons })
        }
    }
}

/// Sets are unordered in DynamoDB: compare them as sorted lists.
fn sort_sets(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (field, inner) in object.iter_mut() {
                match (field.as_str(), inner) {
                    ("SS" | "NS" | "BS", Value::Array(elements)) => {
                        elements.sort_by_key(Value::to_string);
                    }
                    (_, inner) => sort_sets(inner),
                }
            }
        }
        Value::Array(elements) => elements.iter_mut().for_each(sort_sets),
        _ => {}
    }
}

fn steps() -> Vec<(&'static str, &'static str, Value)> {
    let key = |pk: &str, sk: u32| json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}});
    vec![
        (
            "create",
            "CreateTable",
            json!({
                "TableName": "store", "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            }),
        ),
        (
            "create again",
            "CreateTable",
            json!({
                "TableName": "store", "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            }),
        ),
        (
            "put a1",
            "PutItem",
            json!({"TableName": "store", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "1.5"}, "tags": {"SS": ["y", "x"]}}}),
        ),
        (
            "put a2",
            "PutItem",
            json!({"TableName": "store", "Item": {"pk": {"S": "a"}, "sk": {"N": "2"}, "odd": {"BOOL": false}}}),
        ),
        (
            "put a10",
            "PutItem",
            json!({"TableName": "store", "Item": {"pk": {"S": "a"}, "sk": {"N": "10"}, "odd": {"BOOL": false}}}),
        ),
        (
            "put if absent, present",
            "PutItem",
            json!({
                "TableName": "store", "Item": key("a", 1), "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }),
        ),
        (
            "put if absent, absent",
            "PutItem",
            json!({
                "TableName": "store", "Item": key("b", 1), "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "pk"},
            }),
        ),
        (
            "get",
            "GetItem",
            json!({"TableName": "store", "Key": key("a", 1), "ConsistentRead": true}),
        ),
        (
            "get missing",
            "GetItem",
            json!({"TableName": "store", "Key": key("z", 1)}),
        ),
        (
            "get projected",
            "GetItem",
            json!({"TableName": "store", "Key": key("a", 1), "ProjectionExpression": "tags"}),
        ),
        (
            "get with a partial key",
            "GetItem",
            json!({"TableName": "store", "Key": {"pk": {"S": "a"}}}),
        ),
        (
            "get from a missing table",
            "GetItem",
            json!({"TableName": "nowhere", "Key": key("a", 1)}),
        ),
        (
            "update set add",
            "UpdateItem",
            json!({
                "TableName": "store", "Key": key("a", 1), "UpdateExpression": "SET #st = :s ADD #c :one, tags :more",
                "ExpressionAttributeNames": {"#st": "status", "#c": "count"},
                "ExpressionAttributeValues": {":s": {"S": "DONE"}, ":one": {"N": "1"}, ":more": {"SS": ["z"]}},
                "ReturnValues": "ALL_NEW",
            }),
        ),
        (
            "update arithmetic",
            "UpdateItem",
            json!({
                "TableName": "store", "Key": key("a", 1), "UpdateExpression": "SET n = n + :x",
                "ExpressionAttributeValues": {":x": {"N": "0.25"}}, "ReturnValues": "UPDATED_NEW",
            }),
        ),
        (
            "update condition fails",
            "UpdateItem",
            json!({
                "TableName": "store", "Key": key("a", 1), "UpdateExpression": "SET n = :x",
                "ConditionExpression": "n < :x", "ExpressionAttributeValues": {":x": {"N": "1"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }),
        ),
        (
            "update creates",
            "UpdateItem",
            json!({
                "TableName": "store", "Key": key("c", 1), "UpdateExpression": "SET v = if_not_exists(v, :zero)",
                "ExpressionAttributeValues": {":zero": {"N": "0"}}, "ReturnValues": "ALL_NEW",
            }),
        ),
        (
            "update a key",
            "UpdateItem",
            json!({
                "TableName": "store", "Key": key("c", 1), "UpdateExpression": "SET sk = :x",
                "ExpressionAttributeValues": {":x": {"N": "2"}},
            }),
        ),
        (
            "reserved word",
            "UpdateItem",
            json!({
                "TableName": "store", "Key": key("c", 1), "UpdateExpression": "SET status = :x",
                "ExpressionAttributeValues": {":x": {"S": "x"}},
            }),
        ),
        (
            "unused value",
            "PutItem",
            json!({
                "TableName": "store", "Item": key("d", 1), "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":unused": {"S": "x"}},
            }),
        ),
        (
            "empty string key",
            "PutItem",
            json!({"TableName": "store", "Item": {"pk": {"S": ""}, "sk": {"N": "1"}}}),
        ),
        (
            "wrong key type",
            "PutItem",
            json!({"TableName": "store", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}}),
        ),
        (
            "query all",
            "Query",
            json!({
                "TableName": "store", "KeyConditionExpression": "pk = :a", "ExpressionAttributeValues": {":a": {"S": "a"}},
            }),
        ),
        (
            "query range backwards",
            "Query",
            json!({
                "TableName": "store", "KeyConditionExpression": "pk = :a AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {":a": {"S": "a"}, ":lo": {"N": "2"}, ":hi": {"N": "10"}},
                "ScanIndexForward": false,
            }),
        ),
        (
            "query filtered",
            "Query",
            json!({
                "TableName": "store", "KeyConditionExpression": "pk = :a", "FilterExpression": "odd = :f",
                "ExpressionAttributeValues": {":a": {"S": "a"}, ":f": {"BOOL": false}}, "Limit": 2,
            }),
        ),
        (
            "query without the partition key",
            "Query",
            json!({
                "TableName": "store", "KeyConditionExpression": "sk = :one", "ExpressionAttributeValues": {":one": {"N": "1"}},
            }),
        ),
        (
            "scan page",
            "Scan",
            json!({"TableName": "store", "Limit": 3}),
        ),
        (
            "scan next page",
            "Scan",
            json!({"TableName": "store", "Limit": 3, "ExclusiveStartKey": key("a", 10)}),
        ),
        (
            "scan filtered on the key",
            "Scan",
            json!({
                "TableName": "store", "FilterExpression": "begins_with(#pk, :b)",
                "ExpressionAttributeNames": {"#pk": "pk"}, "ExpressionAttributeValues": {":b": {"S": "b"}},
            }),
        ),
        (
            "batch write",
            "BatchWriteItem",
            json!({"RequestItems": {"store": [
                {"PutRequest": {"Item": {"pk": {"S": "e"}, "sk": {"N": "1"}}}},
                {"DeleteRequest": {"Key": key("c", 1)}}
            ]}}),
        ),
        (
            "batch write duplicates",
            "BatchWriteItem",
            json!({"RequestItems": {"store": [
                {"PutRequest": {"Item": key("f", 1)}}, {"DeleteRequest": {"Key": key("f", 1)}}
            ]}}),
        ),
        (
            "batch get",
            "BatchGetItem",
            json!({"RequestItems": {"store": {"Keys": [key("e", 1)]}}}),
        ),
        (
            "transaction cancelled",
            "TransactWriteItems",
            json!({"TransactItems": [
                {"Put": {"TableName": "store", "Item": key("g", 1)}},
                {"ConditionCheck": {"TableName": "store", "Key": key("a", 2), "ConditionExpression": "odd = :t",
                                    "ExpressionAttributeValues": {":t": {"BOOL": true}}}}
            ]}),
        ),
        (
            "transaction not applied",
            "GetItem",
            json!({"TableName": "store", "Key": key("g", 1)}),
        ),
        (
            "transaction",
            "TransactWriteItems",
            json!({"TransactItems": [
                {"Put": {"TableName": "store", "Item": key("g", 1)}},
                {"Delete": {"TableName": "store", "Key": key("e", 1)}}
            ]}),
        ),
        (
            "transaction on one item twice",
            "TransactWriteItems",
            json!({"TransactItems": [
                {"Put": {"TableName": "store", "Item": key("h", 1)}},
                {"Delete": {"TableName": "store", "Key": key("h", 1)}}
            ]}),
        ),
        (
            "transact get",
            "TransactGetItems",
            json!({"TransactItems": [
                {"Get": {"TableName": "store", "Key": key("g", 1)}}, {"Get": {"TableName": "store", "Key": key("e", 1)}}
            ]}),
        ),
        (
            "delete with condition",
            "DeleteItem",
            json!({
                "TableName": "store", "Key": key("g", 1), "ConditionExpression": "attribute_exists(pk)", "ReturnValues": "ALL_OLD",
            }),
        ),
        ("scan everything", "Scan", json!({"TableName": "store"})),
        (
            "ttl on",
            "UpdateTimeToLive",
            json!({
                "TableName": "store", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "expires"},
            }),
        ),
        (
            "ttl described",
            "DescribeTimeToLive",
            json!({"TableName": "store"}),
        ),
        (
            "tag a missing table",
            "TagResource",
            json!({
                "ResourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/nowhere", "Tags": [{"Key": "k", "Value": "v"}],
            }),
        ),
        ("list tables", "ListTables", json!({"Limit": 1})),
        (
            "describe a missing table",
            "DescribeTable",
            json!({"TableName": "nowhere"}),
        ),
        (
            "delete a missing table",
            "DeleteTable",
            json!({"TableName": "nowhere"}),
        ),
        (
            "put 1.50",
            "PutItem",
            json!({"TableName": "store", "Item": {"pk": {"S": "n"}, "sk": {"N": "1"}, "n": {"N": "1.50"}}}),
        ),
        (
            "get 1.50",
            "GetItem",
            json!({"TableName": "store", "Key": key("n", 1)}),
        ),
    ]
}

#[test]
fn the_store_answers_as_moto_does_except_where_dynamodb_documents_otherwise() {
    let moto = moto_blocking();
    let endpoint = moto.endpoint_url();
    let mut store = DynamoDb::default();
    let mut deviations = Vec::new();
    for (label, operation, request) in steps() {
        let (status, body) = post(&endpoint, operation, &request);
        let from_moto = if status == 200 {
            Ok(body)
        } else {
            let code = body["__type"].as_str().unwrap_or_default();
            let code = code.rsplit('#').next().unwrap_or_default().to_owned();
            Err((code, body))
        };
        let from_store = store
            .handle(operation, &request, 0)
            .map_err(|error| (error.code, Value::Object(error.extra)));
        let (moto_outcome, store_outcome) = (outcome(from_moto), outcome(from_store));
        if moto_outcome != store_outcome {
            deviations.push((label, moto_outcome, store_outcome));
        }
    }
    let labels: Vec<&str> = deviations.iter().map(|(label, _, _)| *label).collect();
    let known: Vec<&str> = KNOWN_DEVIATIONS.iter().map(|(label, _)| *label).collect();
    let shown: Vec<String> = deviations
        .iter()
        .map(|(label, moto, store)| format!("{label}:\n  moto:  {moto}\n  store: {store}"))
        .collect();
    assert_eq!(labels, known, "moto vs store:\n{}", shown.join("\n"));
}
