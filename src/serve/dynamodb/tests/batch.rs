use serde_json::json;

use super::*;

#[test]
fn batch_write_puts_and_deletes_then_batch_get_reads() {
    let mut db = with_table();
    put(&mut db, "items", json!({"pk": {"S": "old"}}));
    writes(&mut db);
    let response = ok(
        &mut db,
        "BatchWriteItem",
        json!({"RequestItems": {"items": [
            {"PutRequest": {"Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}},
            {"PutRequest": {"Item": {"pk": {"S": "b"}}}},
            {"DeleteRequest": {"Key": {"pk": {"S": "old"}}}}
        ]}}),
    );
    assert_eq!(response, json!({"UnprocessedItems": {}}));
    assert_eq!(writes(&mut db).len(), 3);
    let response = ok(
        &mut db,
        "BatchGetItem",
        json!({"RequestItems": {"items": {
            "Keys": [{"pk": {"S": "b"}}, {"pk": {"S": "old"}}, {"pk": {"S": "a"}}],
            "ProjectionExpression": "pk, v", "ConsistentRead": true
        }}}),
    );
    assert_eq!(
        response,
        json!({
            "Responses": {"items": [{"pk": {"S": "b"}}, {"pk": {"S": "a"}, "v": {"N": "1"}}]},
            "UnprocessedKeys": {}
        })
    );
}

#[test]
fn batch_limits_and_duplicates_are_refused_whole() {
    let mut db = with_table();
    let puts: Vec<Value> = (0..26)
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": format!("k{i}")}}}}))
        .collect();
    assert_eq!(
        fails(
            &mut db,
            "BatchWriteItem",
            json!({"RequestItems": {"items": puts}})
        ),
        validation("Too many items requested for the BatchWriteItem call")
    );
    let duplicate = json!({"RequestItems": {"items": [
        {"PutRequest": {"Item": {"pk": {"S": "a"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}
    ]}});
    assert_eq!(
        fails(&mut db, "BatchWriteItem", duplicate),
        validation("Provided list of item keys contains duplicates")
    );
    // A bad request in a batch leaves every table unchanged.
    let bad = json!({"RequestItems": {"items": [
        {"PutRequest": {"Item": {"pk": {"S": "fine"}}}},
        {"PutRequest": {"Item": {"nokey": {"S": "x"}}}}
    ]}});
    assert_eq!(
        fails(&mut db, "BatchWriteItem", bad).0,
        "ValidationException"
    );
    assert_eq!(get(&mut db, "items", json!({"pk": {"S": "fine"}})), None);
    assert!(writes(&mut db).is_empty());
    let keys: Vec<Value> = (0..101)
        .map(|i| json!({"pk": {"S": format!("k{i}")}}))
        .collect();
    assert_eq!(
        fails(
            &mut db,
            "BatchGetItem",
            json!({"RequestItems": {"items": {"Keys": keys}}})
        ),
        validation("Too many items requested for the BatchGetItem call")
    );
    let keys = json!([{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]);
    assert_eq!(
        fails(
            &mut db,
            "BatchGetItem",
            json!({"RequestItems": {"items": {"Keys": keys}}})
        ),
        validation("Provided list of item keys contains duplicates")
    );
    assert_eq!(
        fails(
            &mut db,
            "BatchGetItem",
            json!({"RequestItems": {"missing": {"Keys": [{"pk": {"S": "a"}}]}}})
        )
        .0,
        "ResourceNotFoundException"
    );
}
