use serde_json::json;

use super::*;

#[test]
fn put_then_get_returns_the_item_and_records_the_write() {
    let mut db = with_table();
    let item = json!({"pk": {"S": "a"}, "n": {"N": "1.50"}, "tags": {"SS": ["y", "x"]}});
    assert_eq!(
        ok(
            &mut db,
            "PutItem",
            json!({"TableName": "items", "Item": item})
        ),
        json!({})
    );
    let stored = json!({"pk": {"S": "a"}, "n": {"N": "1.5"}, "tags": {"SS": ["x", "y"]}});
    assert_eq!(
        get(&mut db, "items", json!({"pk": {"S": "a"}})),
        Some(stored.clone())
    );
    assert_eq!(
        writes(&mut db),
        [ItemWrite {
            table: "items".into(),
            key: json!({"pk": {"S": "a"}}),
            old: None,
            new: Some(stored)
        }]
    );
    assert_eq!(get(&mut db, "items", json!({"pk": {"S": "b"}})), None);
}

#[test]
fn get_projects_and_accepts_consistent_read() {
    let mut db = with_table();
    put(
        &mut db,
        "items",
        json!({"pk": {"S": "a"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}, "l": {"L": [{"S": "p"}, {"S": "q"}]}, "z": {"S": "z"}}),
    );
    let response = ok(
        &mut db,
        "GetItem",
        json!({
            "TableName": "items", "Key": {"pk": {"S": "a"}}, "ConsistentRead": true,
            "ProjectionExpression": "m.y, l[1], #z", "ExpressionAttributeNames": {"#z": "z"}
        }),
    );
    assert_eq!(
        response["Item"],
        json!({"m": {"M": {"y": {"N": "2"}}}, "l": {"L": [{"S": "q"}]}, "z": {"S": "z"}})
    );
}

#[test]
fn put_returns_the_old_item_on_request() {
    let mut db = with_table();
    put(&mut db, "items", json!({"pk": {"S": "a"}, "v": {"N": "1"}}));
    let response = ok(
        &mut db,
        "PutItem",
        json!({"TableName": "items", "Item": {"pk": {"S": "a"}, "v": {"N": "2"}}, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(
        response,
        json!({"Attributes": {"pk": {"S": "a"}, "v": {"N": "1"}}})
    );
    assert_eq!(
        fails(
            &mut db,
            "PutItem",
            json!({"TableName": "items", "Item": {"pk": {"S": "a"}}, "ReturnValues": "ALL_NEW"})
        ),
        validation("Return values set to invalid value")
    );
}

#[test]
fn a_failed_condition_writes_nothing_and_returns_the_item_when_asked() {
    let mut db = with_table();
    put(&mut db, "items", json!({"pk": {"S": "a"}, "v": {"N": "1"}}));
    writes(&mut db);
    let request = |return_on_failure: &str| {
        json!({
            "TableName": "items", "Item": {"pk": {"S": "a"}, "v": {"N": "2"}},
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": return_on_failure,
        })
    };
    let error = call(&mut db, "PutItem", request("ALL_OLD")).unwrap_err();
    assert_eq!(error.code, "ConditionalCheckFailedException");
    assert_eq!(error.message, "The conditional request failed");
    assert_eq!(
        error.extra["Item"],
        json!({"pk": {"S": "a"}, "v": {"N": "1"}})
    );
    let error = call(&mut db, "PutItem", request("NONE")).unwrap_err();
    assert!(error.extra.is_empty());
    assert_eq!(
        get(&mut db, "items", json!({"pk": {"S": "a"}})).unwrap()["v"],
        json!({"N": "1"})
    );
    assert!(writes(&mut db).is_empty());
}

#[test]
fn update_creates_sets_adds_and_returns_values() {
    let mut db = with_table();
    let update = |db: &mut DynamoDb, expression: &str, values: Value, return_values: &str| {
        ok(
            db,
            "UpdateItem",
            json!({
                "TableName": "items", "Key": {"pk": {"S": "a"}}, "UpdateExpression": expression,
                "ExpressionAttributeValues": values, "ReturnValues": return_values,
            }),
        )
    };
    let created = update(
        &mut db,
        "SET v = :one ADD n :one",
        json!({":one": {"N": "1"}}),
        "ALL_NEW",
    );
    assert_eq!(
        created["Attributes"],
        json!({"pk": {"S": "a"}, "v": {"N": "1"}, "n": {"N": "1"}})
    );
    let old = update(
        &mut db,
        "ADD n :two",
        json!({":two": {"N": "2"}}),
        "UPDATED_OLD",
    );
    assert_eq!(old["Attributes"], json!({"n": {"N": "1"}}));
    let new = update(
        &mut db,
        "SET v = v + :two",
        json!({":two": {"N": "2"}}),
        "UPDATED_NEW",
    );
    assert_eq!(new["Attributes"], json!({"v": {"N": "3"}}));
    let all_old = update(
        &mut db,
        "REMOVE v SET w = :w",
        json!({":w": {"S": "x"}}),
        "ALL_OLD",
    );
    assert_eq!(
        all_old["Attributes"],
        json!({"pk": {"S": "a"}, "v": {"N": "3"}, "n": {"N": "3"}})
    );
    let none = update(&mut db, "SET w = :w", json!({":w": {"S": "y"}}), "NONE");
    assert_eq!(none, json!({}));
    let recorded = writes(&mut db);
    assert_eq!(recorded.len(), 5);
    assert_eq!(recorded[0].old, None);
    assert_eq!(
        recorded[4].new,
        Some(json!({"pk": {"S": "a"}, "n": {"N": "3"}, "w": {"S": "y"}}))
    );
}

#[test]
fn update_without_expression_creates_the_bare_key() {
    let mut db = with_table();
    let response = ok(
        &mut db,
        "UpdateItem",
        json!({"TableName": "items", "Key": {"pk": {"S": "a"}}, "ReturnValues": "ALL_NEW"}),
    );
    assert_eq!(response["Attributes"], json!({"pk": {"S": "a"}}));
}

#[test]
fn update_of_a_key_attribute_is_refused() {
    let mut db = with_table();
    let request = json!({
        "TableName": "items", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET pk = :v",
        "ExpressionAttributeValues": {":v": {"S": "b"}},
    });
    assert_eq!(
        fails(&mut db, "UpdateItem", request),
        validation(
            "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
        )
    );
}

#[test]
fn delete_removes_and_reports() {
    let mut db = with_table();
    put(&mut db, "items", json!({"pk": {"S": "a"}, "v": {"N": "1"}}));
    writes(&mut db);
    let response = ok(
        &mut db,
        "DeleteItem",
        json!({"TableName": "items", "Key": {"pk": {"S": "a"}}, "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(
        response["Attributes"],
        json!({"pk": {"S": "a"}, "v": {"N": "1"}})
    );
    assert_eq!(get(&mut db, "items", json!({"pk": {"S": "a"}})), None);
    // Deleting a missing item succeeds, as on DynamoDB.
    assert_eq!(
        ok(
            &mut db,
            "DeleteItem",
            json!({"TableName": "items", "Key": {"pk": {"S": "a"}}})
        ),
        json!({})
    );
    let recorded = writes(&mut db);
    assert_eq!(recorded[0].new, None);
    assert_eq!(recorded[1].old, None);
    let conditional = json!({
        "TableName": "items", "Key": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_exists(pk)"
    });
    assert_eq!(
        fails(&mut db, "DeleteItem", conditional).0,
        "ConditionalCheckFailedException"
    );
}

#[test]
fn keys_must_match_the_schema() {
    let mut db = with_sorted_table();
    let cases = [
        (
            "PutItem",
            json!({"TableName": "sorted", "Item": {"pk": {"S": "a"}}}),
            "One or more parameter values were invalid: Missing the key sk in the item",
        ),
        (
            "PutItem",
            json!({"TableName": "sorted", "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}}}),
            "One or more parameter values were invalid: Type mismatch for key sk expected: N actual: S",
        ),
        (
            "PutItem",
            json!({"TableName": "sorted", "Item": {"pk": {"S": ""}, "sk": {"N": "1"}}}),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",
        ),
        (
            "GetItem",
            json!({"TableName": "sorted", "Key": {"pk": {"S": "a"}}}),
            "The provided key element does not match the schema",
        ),
        (
            "GetItem",
            json!({"TableName": "sorted", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}}}),
            "The provided key element does not match the schema",
        ),
        (
            "DeleteItem",
            json!({"TableName": "sorted", "Key": {"pk": {"N": "1"}, "sk": {"N": "1"}}}),
            "The provided key element does not match the schema",
        ),
        (
            "GetItem",
            json!({"TableName": "sorted"}),
            "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null",
        ),
    ];
    for (operation, request, message) in cases {
        assert_eq!(
            fails(&mut db, operation, request),
            validation(message),
            "{operation}"
        );
    }
    let long_key = "k".repeat(2049);
    assert_eq!(
        fails(
            &mut db,
            "PutItem",
            json!({"TableName": "sorted", "Item": {"pk": {"S": long_key}, "sk": {"N": "1"}}})
        ),
        validation(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes"
        )
    );
}

#[test]
fn items_over_400_kb_are_refused() {
    let mut db = with_table();
    // 2 + 1 bytes of key, 4 of name: a value of 400 KB - 7 bytes fits exactly.
    let fits = "x".repeat(400 * 1024 - 7);
    put(
        &mut db,
        "items",
        json!({"pk": {"S": "a"}, "body": {"S": fits}}),
    );
    let too_big = "x".repeat(400 * 1024 - 6);
    assert_eq!(
        fails(
            &mut db,
            "PutItem",
            json!({"TableName": "items", "Item": {"pk": {"S": "a"}, "body": {"S": too_big}}})
        ),
        validation("Item size has exceeded the maximum allowed size")
    );
    let request = json!({
        "TableName": "items", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET more = :x",
        "ExpressionAttributeValues": {":x": {"S": "x"}},
    });
    assert_eq!(
        fails(&mut db, "UpdateItem", request),
        validation("Item size to update has exceeded the maximum allowed size")
    );
}

#[test]
fn legacy_parameters_are_refused() {
    let mut db = with_table();
    let request = json!({
        "TableName": "items", "Item": {"pk": {"S": "a"}}, "Expected": {"pk": {"Exists": false}}
    });
    assert_eq!(
        fails(&mut db, "PutItem", request),
        validation(
            "Expected is a legacy parameter qsim serve does not support; use the expression parameters instead"
        )
    );
    let request = json!({
        "TableName": "items", "Key": {"pk": {"S": "a"}}, "AttributeUpdates": {"v": {"Action": "PUT", "Value": {"N": "1"}}}
    });
    assert_eq!(
        fails(&mut db, "UpdateItem", request).0,
        "ValidationException"
    );
}

#[test]
fn invalid_return_values_are_refused() {
    let mut db = with_table();
    let request = json!({"TableName": "items", "Key": {"pk": {"S": "a"}}, "ReturnValues": "SOME"});
    assert_eq!(
        fails(&mut db, "UpdateItem", request),
        validation(
            "1 validation error detected: Value 'SOME' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]"
        )
    );
}

#[test]
fn numbers_keep_38_digits_through_arithmetic() {
    let mut db = with_table();
    let big = format!("1{}", "0".repeat(36));
    put(&mut db, "items", json!({"pk": {"S": "a"}, "n": {"N": big}}));
    let request = json!({
        "TableName": "items", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "ADD n :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "UPDATED_NEW",
    });
    let response = ok(&mut db, "UpdateItem", request);
    assert_eq!(
        response["Attributes"]["n"]["N"],
        format!("1{}1", "0".repeat(35))
    );
    let request = json!({
        "TableName": "items", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "ADD n :tiny",
        "ExpressionAttributeValues": {":tiny": {"N": "0.01"}},
    });
    assert_eq!(
        fails(&mut db, "UpdateItem", request),
        validation("Attempting to store more than 38 significant digits in a Number")
    );
}

#[test]
fn placeholders_must_be_marked() {
    let mut db = with_table();
    let request = json!({
        "TableName": "items", "Item": {"pk": {"S": "a"}},
        "ConditionExpression": "attribute_not_exists(pk)", "ExpressionAttributeNames": {"pk": "pk"}
    });
    assert_eq!(
        fails(&mut db, "PutItem", request),
        validation("ExpressionAttributeNames contains invalid key: Syntax error; key: \"pk\"")
    );
    let request = json!({
        "TableName": "items", "Item": {"pk": {"S": "a"}},
        "ConditionExpression": "attribute_not_exists(pk)", "ExpressionAttributeValues": {"v": {"S": "x"}}
    });
    assert_eq!(
        fails(&mut db, "PutItem", request),
        validation("ExpressionAttributeValues contains invalid key: Syntax error; key: \"v\"")
    );
}

#[test]
fn consumed_capacity_is_reported_on_request() {
    let mut db = with_table();
    // 2 + 1 bytes of key, 4 of name, 2,000 of value: 2 write units, 1 read unit.
    let item = json!({"pk": {"S": "a"}, "body": {"S": "x".repeat(2000)}});
    let response = ok(
        &mut db,
        "PutItem",
        json!({"TableName": "items", "Item": item, "ReturnConsumedCapacity": "TOTAL"}),
    );
    assert_eq!(
        response["ConsumedCapacity"],
        json!({"TableName": "items", "CapacityUnits": 2.0})
    );
    let response = ok(
        &mut db,
        "GetItem",
        json!({"TableName": "items", "Key": {"pk": {"S": "a"}}, "ReturnConsumedCapacity": "INDEXES"}),
    );
    assert_eq!(
        response["ConsumedCapacity"],
        json!({"TableName": "items", "CapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5}})
    );
    let response = ok(
        &mut db,
        "TransactWriteItems",
        json!({"TransactItems": [{"Delete": {"TableName": "items", "Key": {"pk": {"S": "a"}}}}],
               "ReturnConsumedCapacity": "TOTAL"}),
    );
    assert_eq!(
        response["ConsumedCapacity"],
        json!([{"TableName": "items", "CapacityUnits": 4.0}])
    );
    let response = ok(
        &mut db,
        "Scan",
        json!({"TableName": "items", "ConsistentRead": true, "ReturnConsumedCapacity": "TOTAL"}),
    );
    assert_eq!(
        response["ConsumedCapacity"],
        json!({"TableName": "items", "CapacityUnits": 1.0})
    );
    assert!(
        ok(&mut db, "Scan", json!({"TableName": "items"}))
            .get("ConsumedCapacity")
            .is_none()
    );
}
