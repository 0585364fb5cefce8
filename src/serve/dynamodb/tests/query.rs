use serde_json::json;

use super::*;

/// Table `s` with partition `a` holding sort keys 1..=5 (a number sort key, so 10 would sort
/// after 9) and partition `b` holding sort key 1.
fn filled() -> DynamoDb {
    let mut db = with_sorted_table();
    for sk in [5, 3, 1, 4, 2] {
        put(
            &mut db,
            "sorted",
            json!({"pk": {"S": "a"}, "sk": {"N": sk.to_string()}, "odd": {"BOOL": sk % 2 == 1}}),
        );
    }
    put(
        &mut db,
        "sorted",
        json!({"pk": {"S": "b"}, "sk": {"N": "1"}}),
    );
    db
}

fn sort_keys(response: &Value) -> Vec<String> {
    response["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["sk"]["N"].as_str().unwrap().to_owned())
        .collect()
}

fn query(db: &mut DynamoDb, condition: &str, values: Value, extra: Value) -> Value {
    let mut request = json!({
        "TableName": "sorted", "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
    });
    for (field, value) in extra.as_object().unwrap() {
        request[field] = value.clone();
    }
    ok(db, "Query", request)
}

#[test]
fn sort_key_conditions_select_in_key_order() {
    let mut db = filled();
    let a = json!({"S": "a"});
    let cases = [
        ("pk = :a", json!({":a": a}), vec!["1", "2", "3", "4", "5"]),
        (
            "pk = :a AND sk = :n",
            json!({":a": a, ":n": {"N": "3"}}),
            vec!["3"],
        ),
        (
            "pk = :a AND sk < :n",
            json!({":a": a, ":n": {"N": "3"}}),
            vec!["1", "2"],
        ),
        (
            "pk = :a AND sk <= :n",
            json!({":a": a, ":n": {"N": "3"}}),
            vec!["1", "2", "3"],
        ),
        (
            "pk = :a AND sk > :n",
            json!({":a": a, ":n": {"N": "3"}}),
            vec!["4", "5"],
        ),
        (
            "pk = :a AND sk >= :n",
            json!({":a": a, ":n": {"N": "3"}}),
            vec!["3", "4", "5"],
        ),
        (
            "pk = :a AND sk BETWEEN :lo AND :hi",
            json!({":a": a, ":lo": {"N": "2"}, ":hi": {"N": "4"}}),
            vec!["2", "3", "4"],
        ),
        (
            "(sk > :n) AND pk = :a",
            json!({":a": a, ":n": {"N": "4"}}),
            vec!["5"],
        ),
    ];
    for (condition, values, expected) in cases {
        assert_eq!(
            sort_keys(&query(&mut db, condition, values, json!({}))),
            expected,
            "{condition}"
        );
    }
}

#[test]
fn begins_with_on_a_string_sort_key() {
    let mut db = DynamoDb::default();
    ok(
        &mut db,
        "CreateTable",
        json!({
            "TableName": "events",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    );
    for sk in ["order#2", "order#1", "user#1"] {
        put(
            &mut db,
            "events",
            json!({"pk": {"S": "p"}, "sk": {"S": sk}}),
        );
    }
    let response = ok(
        &mut db,
        "Query",
        json!({
            "TableName": "events", "KeyConditionExpression": "pk = :p AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":p": {"S": "p"}, ":prefix": {"S": "order#"}},
        }),
    );
    assert_eq!(
        response["Items"],
        json!([{"pk": {"S": "p"}, "sk": {"S": "order#1"}}, {"pk": {"S": "p"}, "sk": {"S": "order#2"}}])
    );
}

#[test]
fn backwards_pages_with_filters_count_scanned_items() {
    let mut db = filled();
    let values = json!({":a": {"S": "a"}, ":t": {"BOOL": true}});
    let extra = json!({"ScanIndexForward": false, "Limit": 2, "FilterExpression": "odd = :t"});
    let first = query(&mut db, "pk = :a", values.clone(), extra.clone());
    assert_eq!(sort_keys(&first), ["5"]);
    assert_eq!(
        (first["Count"].clone(), first["ScannedCount"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(
        first["LastEvaluatedKey"],
        json!({"pk": {"S": "a"}, "sk": {"N": "4"}})
    );
    let mut next = extra.clone();
    next["ExclusiveStartKey"] = first["LastEvaluatedKey"].clone();
    let second = query(&mut db, "pk = :a", values.clone(), next);
    assert_eq!(sort_keys(&second), ["3"]);
    let mut last = extra;
    last["ExclusiveStartKey"] = second["LastEvaluatedKey"].clone();
    let third = query(&mut db, "pk = :a", values, last);
    assert_eq!(sort_keys(&third), ["1"]);
    assert!(third.get("LastEvaluatedKey").is_none());
}

#[test]
fn select_count_returns_no_items() {
    let mut db = filled();
    let response = query(
        &mut db,
        "pk = :a",
        json!({":a": {"S": "a"}}),
        json!({"Select": "COUNT"}),
    );
    assert_eq!(response, json!({"Count": 5, "ScannedCount": 5}));
}

#[test]
fn invalid_key_conditions_are_refused() {
    let mut db = filled();
    let cases = [
        (
            "sk = :n",
            json!({":n": {"N": "1"}}),
            "Query condition missed key schema element: pk",
        ),
        (
            "pk = :a AND elsewhere = :n",
            json!({":a": {"S": "a"}, ":n": {"N": "1"}}),
            "Query condition missed key schema element: pk",
        ),
        (
            "pk = :a OR sk = :n",
            json!({":a": {"S": "a"}, ":n": {"N": "1"}}),
            "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            "pk < :a",
            json!({":a": {"S": "a"}}),
            "Query key condition not supported",
        ),
        (
            "pk = :a AND sk = :n AND sk = :n",
            json!({":a": {"S": "a"}, ":n": {"N": "1"}}),
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "pk = :n",
            json!({":n": {"N": "1"}}),
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            "pk = :a AND sk BETWEEN :hi AND :lo",
            json!({":a": {"S": "a"}, ":lo": {"N": "1"}, ":hi": {"N": "5"}}),
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}",
        ),
    ];
    for (condition, values, message) in cases {
        let request = json!({"TableName": "sorted", "KeyConditionExpression": condition, "ExpressionAttributeValues": values});
        assert_eq!(
            fails(&mut db, "Query", request),
            validation(message),
            "{condition}"
        );
    }
    let request = json!({
        "TableName": "sorted", "KeyConditionExpression": "pk = :a", "FilterExpression": "sk > :n",
        "ExpressionAttributeValues": {":a": {"S": "a"}, ":n": {"N": "1"}},
    });
    assert_eq!(
        fails(&mut db, "Query", request),
        validation(
            "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"
        )
    );
    assert_eq!(
        fails(&mut db, "Query", json!({"TableName": "sorted"})),
        validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    );
    let request = json!({
        "TableName": "sorted", "KeyConditionExpression": "pk = :a", "IndexName": "gsi",
        "ExpressionAttributeValues": {":a": {"S": "a"}},
    });
    assert_eq!(fails(&mut db, "Query", request).0, "ValidationException");
}

#[test]
fn scan_pages_through_every_item_in_key_order() {
    let mut db = filled();
    let mut seen = Vec::new();
    let mut start: Option<Value> = None;
    let mut pages = 0;
    loop {
        let mut request = json!({"TableName": "sorted", "Limit": 4});
        if let Some(key) = start.take() {
            request["ExclusiveStartKey"] = key;
        }
        let page = ok(&mut db, "Scan", request);
        pages += 1;
        for item in page["Items"].as_array().unwrap() {
            seen.push(format!(
                "{}{}",
                item["pk"]["S"].as_str().unwrap(),
                item["sk"]["N"].as_str().unwrap()
            ));
        }
        match page.get("LastEvaluatedKey") {
            Some(key) => start = Some(key.clone()),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, ["a1", "a2", "a3", "a4", "a5", "b1"]);
}

#[test]
fn scan_filters_with_begins_with_on_a_key_and_checks_its_start_key() {
    let mut db = filled();
    let request = json!({
        "TableName": "sorted", "FilterExpression": "begins_with(#pk, :b)",
        "ExpressionAttributeNames": {"#pk": "pk"}, "ExpressionAttributeValues": {":b": {"S": "b"}},
    });
    let response = ok(&mut db, "Scan", request);
    assert_eq!(
        (response["Count"].clone(), response["ScannedCount"].clone()),
        (json!(1), json!(6))
    );
    let request = json!({"TableName": "sorted", "ExclusiveStartKey": {"pk": {"S": "a"}}});
    assert_eq!(
        fails(&mut db, "Scan", request),
        validation(
            "The provided starting key is invalid: The provided key element does not match the schema"
        )
    );
    assert_eq!(
        fails(&mut db, "Scan", json!({"TableName": "sorted", "Limit": 0})),
        validation(
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    );
}

#[test]
fn scan_pages_stop_at_one_megabyte() {
    let mut db = with_table();
    let body = "x".repeat(300 * 1024);
    for key in ["a", "b", "c", "d", "e"] {
        put(
            &mut db,
            "items",
            json!({"pk": {"S": key}, "body": {"S": body}}),
        );
    }
    let first = ok(
        &mut db,
        "Scan",
        json!({"TableName": "items", "ProjectionExpression": "pk"}),
    );
    // Four items of 300 KB pass 1 MB: the page ends after the fourth.
    assert_eq!(first["ScannedCount"], 4);
    assert_eq!(first["Items"][0], json!({"pk": {"S": "a"}}));
    assert_eq!(first["LastEvaluatedKey"], json!({"pk": {"S": "d"}}));
}
