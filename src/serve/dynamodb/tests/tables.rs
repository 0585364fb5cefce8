use serde_json::json;

use super::*;

fn create(db: &mut DynamoDb, request: Value) -> Result<Value, ApiError> {
    call(db, "CreateTable", request)
}

#[test]
fn created_tables_are_active_and_described() {
    let mut db = with_sorted_table();
    put(
        &mut db,
        "sorted",
        json!({"pk": {"S": "a"}, "sk": {"N": "1"}}),
    );
    let table = &ok(&mut db, "DescribeTable", json!({"TableName": "sorted"}))["Table"];
    assert_eq!(table["TableStatus"], "ACTIVE");
    assert_eq!(table["ItemCount"], 1);
    assert_eq!(
        table["TableArn"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/sorted"
    );
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    );
    assert_eq!(
        table["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(table["CreationDateTime"], json!(1_700_000_000.0));
}

#[test]
fn a_second_create_is_resource_in_use() {
    let mut db = with_table();
    let request = json!({
        "TableName": "items",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    assert_eq!(
        fails(&mut db, "CreateTable", request),
        (
            "ResourceInUseException".to_owned(),
            "Table already exists: items".to_owned()
        )
    );
}

#[test]
fn invalid_table_definitions_are_refused() {
    let key = json!([{"AttributeName": "pk", "KeyType": "HASH"}]);
    let definitions = json!([{"AttributeName": "pk", "AttributeType": "S"}]);
    let cases = [
        (
            json!({"TableName": "ab", "KeySchema": key, "AttributeDefinitions": definitions, "BillingMode": "PAY_PER_REQUEST"}),
            "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
        ),
        (
            json!({"TableName": "a b", "KeySchema": key, "AttributeDefinitions": definitions, "BillingMode": "PAY_PER_REQUEST"}),
            "1 validation error detected: Value 'a b' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ),
        (
            json!({"TableName": "abc", "KeySchema": [{"AttributeName": "pk", "KeyType": "RANGE"}], "AttributeDefinitions": definitions, "BillingMode": "PAY_PER_REQUEST"}),
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            json!({"TableName": "abc", "KeySchema": key, "AttributeDefinitions": [{"AttributeName": "other", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}),
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], AttributeDefinitions: [other]",
        ),
        (
            json!({"TableName": "abc", "KeySchema": key, "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}),
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
        (
            json!({"TableName": "abc", "KeySchema": key, "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "BOOL"}], "BillingMode": "PAY_PER_REQUEST"}),
            "1 validation error detected: Value 'BOOL' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
        ),
        (
            json!({"TableName": "abc", "KeySchema": key, "AttributeDefinitions": definitions}),
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        ),
        (
            json!({"TableName": "abc", "KeySchema": key, "AttributeDefinitions": definitions, "BillingMode": "PAY_PER_REQUEST", "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ),
        (
            json!({"TableName": "abc", "AttributeDefinitions": definitions}),
            "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null",
        ),
    ];
    for (request, message) in cases {
        let mut db = DynamoDb::default();
        let error = create(&mut db, request).unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("ValidationException", message)
        );
        assert!(db.tables.is_empty());
    }
}

#[test]
fn provisioned_tables_keep_their_throughput() {
    let mut db = DynamoDb::default();
    ok(
        &mut db,
        "CreateTable",
        json!({
            "TableName": "provisioned",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
        }),
    );
    let table = &ok(
        &mut db,
        "DescribeTable",
        json!({"TableName": "provisioned"}),
    )["Table"];
    assert_eq!(table["ProvisionedThroughput"]["ReadCapacityUnits"], 5);
    assert_eq!(table["ProvisionedThroughput"]["WriteCapacityUnits"], 7);
    assert!(table.get("BillingModeSummary").is_none());
}

#[test]
fn missing_tables_are_not_found() {
    let mut db = DynamoDb::default();
    assert_eq!(
        fails(&mut db, "DescribeTable", json!({"TableName": "nope"})),
        (
            "ResourceNotFoundException".to_owned(),
            "Requested resource not found: Table: nope not found".to_owned()
        )
    );
    assert_eq!(
        fails(&mut db, "DeleteTable", json!({"TableName": "nope"})).0,
        "ResourceNotFoundException"
    );
    assert_eq!(
        fails(
            &mut db,
            "GetItem",
            json!({"TableName": "nope", "Key": {"pk": {"S": "a"}}})
        ),
        (
            "ResourceNotFoundException".to_owned(),
            "Requested resource not found".to_owned()
        )
    );
}

#[test]
fn deleted_tables_are_gone() {
    let mut db = with_table();
    let deleted = ok(&mut db, "DeleteTable", json!({"TableName": "items"}));
    assert_eq!(deleted["TableDescription"]["TableStatus"], "DELETING");
    assert_eq!(
        ok(&mut db, "ListTables", json!({}))["TableNames"],
        json!([])
    );
}

#[test]
fn list_tables_pages_in_name_order() {
    let mut db = DynamoDb::default();
    for name in ["ccc", "aaa", "bbb"] {
        create_table(&mut db, name);
    }
    let first = ok(&mut db, "ListTables", json!({"Limit": 2}));
    assert_eq!(
        first,
        json!({"TableNames": ["aaa", "bbb"], "LastEvaluatedTableName": "bbb"})
    );
    let second = ok(
        &mut db,
        "ListTables",
        json!({"Limit": 2, "ExclusiveStartTableName": "bbb"}),
    );
    assert_eq!(second, json!({"TableNames": ["ccc"]}));
    assert_eq!(
        fails(&mut db, "ListTables", json!({"Limit": 101})),
        validation(
            "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
        )
    );
}

#[test]
fn tags_are_kept_by_arn() {
    let mut db = DynamoDb::default();
    ok(
        &mut db,
        "CreateTable",
        json!({
            "TableName": "tagged",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "Tags": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}],
        }),
    );
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tagged";
    ok(
        &mut db,
        "TagResource",
        json!({"ResourceArn": arn, "Tags": [{"Key": "c", "Value": "3"}]}),
    );
    ok(
        &mut db,
        "UntagResource",
        json!({"ResourceArn": arn, "TagKeys": ["b"]}),
    );
    assert_eq!(
        ok(&mut db, "ListTagsOfResource", json!({"ResourceArn": arn})),
        json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "c", "Value": "3"}]})
    );
    assert_eq!(
        fails(
            &mut db,
            "ListTagsOfResource",
            json!({"ResourceArn": "arn:aws:dynamodb:us-east-1:000000000000:table/other"})
        )
        .0,
        "ResourceNotFoundException"
    );
}

#[test]
fn time_to_live_is_stored_and_described() {
    let mut db = with_table();
    assert_eq!(
        ok(&mut db, "DescribeTimeToLive", json!({"TableName": "items"})),
        json!({"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}})
    );
    let spec = json!({"Enabled": true, "AttributeName": "expires"});
    assert_eq!(
        ok(
            &mut db,
            "UpdateTimeToLive",
            json!({"TableName": "items", "TimeToLiveSpecification": spec})
        ),
        json!({"TimeToLiveSpecification": spec})
    );
    assert_eq!(
        ok(&mut db, "DescribeTimeToLive", json!({"TableName": "items"})),
        json!({"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}})
    );
    assert_eq!(
        fails(
            &mut db,
            "UpdateTimeToLive",
            json!({"TableName": "items", "TimeToLiveSpecification": spec})
        ),
        validation("TimeToLive is already enabled")
    );
}

#[test]
fn unknown_operations_are_refused() {
    let mut db = DynamoDb::default();
    assert_eq!(
        fails(&mut db, "ExecuteStatement", json!({})).0,
        "UnknownOperationException"
    );
}
