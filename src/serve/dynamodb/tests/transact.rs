use serde_json::json;

use super::*;

#[test]
fn a_transaction_writes_every_item_in_order() {
    let mut db = with_table();
    put(&mut db, "items", json!({"pk": {"S": "gone"}}));
    put(
        &mut db,
        "items",
        json!({"pk": {"S": "checked"}, "ok": {"BOOL": true}}),
    );
    writes(&mut db);
    let response = ok(
        &mut db,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "items", "Item": {"pk": {"S": "a"}}}},
            {"Update": {"TableName": "items", "Key": {"pk": {"S": "b"}}, "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "1"}}}},
            {"Delete": {"TableName": "items", "Key": {"pk": {"S": "gone"}}}},
            {"ConditionCheck": {"TableName": "items", "Key": {"pk": {"S": "checked"}},
                                "ConditionExpression": "ok = :t", "ExpressionAttributeValues": {":t": {"BOOL": true}}}}
        ]}),
    );
    assert_eq!(response, json!({}));
    let keys: Vec<Value> = writes(&mut db).into_iter().map(|write| write.key).collect();
    assert_eq!(
        keys,
        [
            json!({"pk": {"S": "a"}}),
            json!({"pk": {"S": "b"}}),
            json!({"pk": {"S": "gone"}})
        ]
    );
    assert_eq!(get(&mut db, "items", json!({"pk": {"S": "gone"}})), None);
}

#[test]
fn one_failed_condition_cancels_everything_with_reasons() {
    let mut db = with_table();
    put(
        &mut db,
        "items",
        json!({"pk": {"S": "taken"}, "v": {"N": "1"}}),
    );
    writes(&mut db);
    let error = call(
        &mut db,
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "items", "Item": {"pk": {"S": "new"}}}},
            {"Put": {"TableName": "items", "Item": {"pk": {"S": "taken"}}, "ConditionExpression": "attribute_not_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        ]}),
    )
    .unwrap_err();
    assert_eq!(error.code, "TransactionCanceledException");
    assert_eq!(
        error.message,
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
    );
    assert_eq!(
        error.extra["CancellationReasons"],
        json!([
            {"Code": "None"},
            {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed",
             "Item": {"pk": {"S": "taken"}, "v": {"N": "1"}}}
        ])
    );
    assert_eq!(get(&mut db, "items", json!({"pk": {"S": "new"}})), None);
    assert!(writes(&mut db).is_empty());
}

#[test]
fn invalid_transactions_are_refused() {
    let mut db = with_table();
    let twice = json!({"TransactItems": [
        {"Put": {"TableName": "items", "Item": {"pk": {"S": "a"}}}},
        {"Delete": {"TableName": "items", "Key": {"pk": {"S": "a"}}}}
    ]});
    assert_eq!(
        fails(&mut db, "TransactWriteItems", twice),
        validation("Transaction request cannot include multiple operations on one item")
    );
    let puts: Vec<Value> = (0..101)
        .map(|i| json!({"Put": {"TableName": "items", "Item": {"pk": {"S": format!("k{i}")}}}}))
        .collect();
    assert_eq!(
        fails(
            &mut db,
            "TransactWriteItems",
            json!({"TransactItems": puts})
        ),
        validation(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100"
        )
    );
    let both = json!({"TransactItems": [
        {"Put": {"TableName": "items", "Item": {"pk": {"S": "a"}}}, "Delete": {"TableName": "items", "Key": {"pk": {"S": "a"}}}}
    ]});
    assert_eq!(
        fails(&mut db, "TransactWriteItems", both),
        validation("TransactItems can only contain one of Check, Put, Update or Delete")
    );
    let unconditioned = json!({"TransactItems": [{"ConditionCheck": {"TableName": "items", "Key": {"pk": {"S": "a"}}}}]});
    assert_eq!(
        fails(&mut db, "TransactWriteItems", unconditioned),
        validation(
            "1 validation error detected: Value null at 'conditionExpression' failed to satisfy constraint: Member must not be null"
        )
    );
}

#[test]
fn transact_get_returns_each_item_or_nothing() {
    let mut db = with_table();
    put(&mut db, "items", json!({"pk": {"S": "a"}, "v": {"N": "1"}}));
    let response = ok(
        &mut db,
        "TransactGetItems",
        json!({"TransactItems": [
            {"Get": {"TableName": "items", "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "v"}},
            {"Get": {"TableName": "items", "Key": {"pk": {"S": "b"}}}}
        ]}),
    );
    assert_eq!(
        response,
        json!({"Responses": [{"Item": {"v": {"N": "1"}}}, {}]})
    );
}

#[test]
fn a_client_request_token_applies_a_transaction_once_within_ten_minutes() {
    let mut db = with_table();
    let increment = |token: &str, by: &str| {
        json!({"ClientRequestToken": token, "TransactItems": [
            {"Update": {"TableName": "items", "Key": {"pk": {"S": "k"}}, "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": by}}}}
        ]})
    };
    let count = |db: &mut DynamoDb| {
        get(db, "items", json!({"pk": {"S": "k"}})).map(|item| item["n"]["N"].clone())
    };
    for at in [NOW_MS, NOW_MS + 1000] {
        db.handle("TransactWriteItems", &increment("t1", "1"), at)
            .unwrap();
    }
    assert_eq!(
        count(&mut db),
        Some(json!("1")),
        "the retry was not applied again"
    );
    let mismatch = db
        .handle("TransactWriteItems", &increment("t1", "2"), NOW_MS + 2000)
        .unwrap_err();
    assert_eq!(mismatch.code, "IdempotentParameterMismatchException");
    // Ten minutes after it completed, the token names a new request.
    db.handle(
        "TransactWriteItems",
        &increment("t1", "1"),
        NOW_MS + 10 * 60 * 1000,
    )
    .unwrap();
    assert_eq!(count(&mut db), Some(json!("2")));
    // Without a token, every call applies.
    let untokened = json!({"TransactItems": increment("", "1")["TransactItems"].clone()});
    ok(&mut db, "TransactWriteItems", untokened.clone());
    ok(&mut db, "TransactWriteItems", untokened);
    assert_eq!(count(&mut db), Some(json!("4")));
}
