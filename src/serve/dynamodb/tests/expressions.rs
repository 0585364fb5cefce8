//! The expression language on its own: parse against a request's placeholders, then evaluate
//! or apply.

use serde_json::json;

use super::super::expression::Expressions;
use super::super::expression::evaluate::evaluate;
use super::super::expression::update::apply;
use super::super::request::Request;
use super::super::value::{Item, item_from_json, item_to_json};
use super::*;

fn item() -> Item {
    item_from_json(&json!({
        "pk": {"S": "k"}, "n": {"N": "5"}, "s": {"S": "hello"}, "t": {"BOOL": true},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "l": {"L": [{"S": "x"}, {"N": "1"}]},
        "m": {"M": {"nested": {"M": {"deep": {"N": "7"}}}}}
    }))
    .unwrap()
}

/// Parses `condition` with the given placeholders and evaluates it on [`item`].
fn holds(condition: &str, names: Value, values: Value) -> Result<bool, (String, String)> {
    let mut request = json!({ "ConditionExpression": condition });
    if !names.as_object().unwrap().is_empty() {
        request["ExpressionAttributeNames"] = names;
    }
    if !values.as_object().unwrap().is_empty() {
        request["ExpressionAttributeValues"] = values;
    }
    let expressions =
        Expressions::parse(Request(&request)).map_err(|error| (error.code, error.message))?;
    Ok(evaluate(&expressions.condition.unwrap(), &item()))
}

fn updated(expression: &str, values: Value) -> Result<Value, (String, String)> {
    let mut request = json!({ "UpdateExpression": expression });
    if !values.as_object().unwrap().is_empty() {
        request["ExpressionAttributeValues"] = values;
    }
    let expressions =
        Expressions::parse(Request(&request)).map_err(|error| (error.code, error.message))?;
    apply(&expressions.update.unwrap(), &item())
        .map(|item| item_to_json(&item))
        .map_err(|error| (error.code, error.message))
}

#[test]
fn conditions_evaluate_as_dynamodb_documents() {
    let v = |pairs: Value| pairs;
    let cases: Vec<(&str, Value, bool)> = vec![
        ("n = :five", v(json!({":five": {"N": "5.0"}})), true),
        ("n <> :five", v(json!({":five": {"N": "5"}})), false),
        (
            "n < :x AND n <= :y",
            v(json!({":x": {"N": "6"}, ":y": {"N": "5"}})),
            true,
        ),
        (
            "n > :x OR n >= :y",
            v(json!({":x": {"N": "5"}, ":y": {"N": "6"}})),
            false,
        ),
        ("s > :a", v(json!({":a": {"S": "a"}})), true),
        // Ordering across types never holds; equality with a absent attribute neither.
        ("n < :a", v(json!({":a": {"S": "a"}})), false),
        ("absent = :a", v(json!({":a": {"S": "a"}})), false),
        ("absent <> :a", v(json!({":a": {"S": "a"}})), true),
        (
            "n BETWEEN :lo AND :hi",
            v(json!({":lo": {"N": "1"}, ":hi": {"N": "5"}})),
            true,
        ),
        (
            "n IN (:a, :b)",
            v(json!({":a": {"N": "4"}, ":b": {"N": "5"}})),
            true,
        ),
        ("s IN (:a)", v(json!({":a": {"S": "x"}})), false),
        ("NOT t = :f", v(json!({":f": {"BOOL": false}})), true),
        // AND binds tighter than OR; parentheses override.
        (
            "n = :x OR n = :y AND t = :f",
            v(json!({":x": {"N": "5"}, ":y": {"N": "5"}, ":f": {"BOOL": false}})),
            true,
        ),
        (
            "(n = :x OR n = :y) AND t = :f",
            v(json!({":x": {"N": "5"}, ":y": {"N": "5"}, ":f": {"BOOL": false}})),
            false,
        ),
        ("begins_with(s, :he)", v(json!({":he": {"S": "he"}})), true),
        ("contains(s, :ell)", v(json!({":ell": {"S": "ell"}})), true),
        ("contains(ss, :b)", v(json!({":b": {"S": "b"}})), true),
        (
            "contains(ns, :three)",
            v(json!({":three": {"N": "3"}})),
            false,
        ),
        ("contains(l, :x)", v(json!({":x": {"S": "x"}})), true),
        ("size(s) = :five", v(json!({":five": {"N": "5"}})), true),
        ("size(l) < :three", v(json!({":three": {"N": "3"}})), true),
        (
            "attribute_type(ss, :ss)",
            v(json!({":ss": {"S": "SS"}})),
            true,
        ),
        (
            "m.nested.deep = :seven",
            v(json!({":seven": {"N": "7"}})),
            true,
        ),
        ("l[1] = :one", v(json!({":one": {"N": "1"}})), true),
    ];
    for (condition, values, expected) in cases {
        assert_eq!(
            holds(condition, json!({}), values),
            Ok(expected),
            "{condition}"
        );
    }
    for (condition, expected) in [
        ("attribute_exists(m.nested.deep)", true),
        ("attribute_exists(m.nested.elsewhere)", false),
        ("attribute_not_exists(pk)", false),
        ("attribute_not_exists(l[5])", true),
    ] {
        assert_eq!(
            holds(condition, json!({}), json!({})),
            Ok(expected),
            "{condition}"
        );
    }
    assert_eq!(
        holds("#st > :a", json!({"#st": "s"}), json!({":a": {"S": "a"}})),
        Ok(true)
    );
    assert_eq!(
        holds(
            "and_more = :a or s = :a",
            json!({}),
            json!({":a": {"S": "hello"}})
        ),
        Ok(true)
    );
}

#[test]
fn condition_errors_carry_dynamodbs_messages() {
    let cases: Vec<(&str, Value, Value, &str)> = vec![
        (
            "status = :a",
            json!({}),
            json!({":a": {"S": "a"}}),
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            "#s = :a",
            json!({}),
            json!({":a": {"S": "a"}}),
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #s",
        ),
        (
            "s = :b",
            json!({}),
            json!({":a": {"S": "a"}}),
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :b",
        ),
        (
            "s = :a",
            json!({"#unused": "x"}),
            json!({":a": {"S": "a"}}),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}",
        ),
        (
            "s = :a",
            json!({}),
            json!({":a": {"S": "a"}, ":b": {"S": "b"}, ":c": {"S": "c"}}),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b, :c}",
        ),
        (
            "s = = :a",
            json!({}),
            json!({":a": {"S": "a"}}),
            "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :a\"",
        ),
        (
            "s = :a AND",
            json!({}),
            json!({":a": {"S": "a"}}),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\"",
        ),
        (
            "s",
            json!({}),
            json!({}),
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"s\"",
        ),
        (
            "exists(s)",
            json!({}),
            json!({}),
            "Invalid ConditionExpression: Invalid function name; function: exists",
        ),
        (
            "attribute_type(s, :x)",
            json!({}),
            json!({":x": {"S": "STRING"}}),
            "Invalid ConditionExpression: Invalid attribute type name found; type: STRING, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "begins_with(s, :n)",
            json!({}),
            json!({":n": {"N": "1"}}),
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "  ",
            json!({}),
            json!({}),
            "Invalid ConditionExpression: The expression can not be empty;",
        ),
    ];
    for (condition, names, values, message) in cases {
        assert_eq!(
            holds(condition, names, values),
            Err(validation(message)),
            "{condition}"
        );
    }
    let many: Vec<String> = (0..101).map(|i| format!(":v{i}")).collect();
    let values: serde_json::Map<String, Value> = many
        .iter()
        .map(|name| (name.clone(), json!({"N": "1"})))
        .collect();
    assert_eq!(
        holds(
            &format!("n IN ({})", many.join(", ")),
            json!({}),
            Value::Object(values)
        ),
        Err(validation(
            "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
        ))
    );
    let request = json!({"ExpressionAttributeValues": {":a": {"S": "a"}}});
    assert_eq!(
        Expressions::parse(Request(&request)).unwrap_err().message,
        "ExpressionAttributeValues can only be specified when using expressions"
    );
}

#[test]
fn updates_apply_every_clause() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "SET n = n + :one",
            json!({":one": {"N": "1"}}),
            json!({"n": {"N": "6"}}),
        ),
        (
            "SET n = :ten - n",
            json!({":ten": {"N": "10"}}),
            json!({"n": {"N": "5"}}),
        ),
        (
            "SET fresh = if_not_exists(fresh, :zero), n = if_not_exists(n, :zero)",
            json!({":zero": {"N": "0"}}),
            json!({"fresh": {"N": "0"}, "n": {"N": "5"}}),
        ),
        (
            "SET l = list_append(l, :more)",
            json!({":more": {"L": [{"S": "y"}]}}),
            json!({"l": {"L": [{"S": "x"}, {"N": "1"}, {"S": "y"}]}}),
        ),
        (
            "SET m.nested.added = :v",
            json!({":v": {"S": "v"}}),
            json!({"m": {"M": {"nested": {"M": {"deep": {"N": "7"}, "added": {"S": "v"}}}}}}),
        ),
        (
            "SET l[0] = :v, l[9] = :w",
            json!({":v": {"S": "v"}, ":w": {"S": "w"}}),
            json!({"l": {"L": [{"S": "v"}, {"N": "1"}, {"S": "w"}]}}),
        ),
        (
            "SET s = n, n = s",
            json!({}),
            json!({"s": {"N": "5"}, "n": {"S": "hello"}}),
        ),
        (
            "REMOVE l[0], m.nested",
            json!({}),
            json!({"l": {"L": [{"N": "1"}]}, "m": {"M": {}}}),
        ),
        (
            "ADD ss :c, tally :one",
            json!({":c": {"SS": ["c", "a"]}, ":one": {"N": "1"}}),
            json!({"ss": {"SS": ["a", "b", "c"]}, "tally": {"N": "1"}}),
        ),
        (
            "DELETE ns :one",
            json!({":one": {"NS": ["1"]}}),
            json!({"ns": {"NS": ["2"]}}),
        ),
        (
            "DELETE ss :all",
            json!({":all": {"SS": ["a", "b"]}}),
            json!({"ss": null}),
        ),
        (
            "set t = :f remove s",
            json!({":f": {"BOOL": false}}),
            json!({"t": {"BOOL": false}, "s": null}),
        ),
    ];
    for (expression, values, changes) in cases {
        let mut expected = item_to_json(&item());
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                expected.as_object_mut().unwrap().remove(name);
            } else {
                expected[name] = value.clone();
            }
        }
        assert_eq!(updated(expression, values), Ok(expected), "{expression}");
    }
}

#[test]
fn update_errors_carry_dynamodbs_messages() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "SET n = s + :one",
            json!({":one": {"N": "1"}}),
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET n = absent + :one",
            json!({":one": {"N": "1"}}),
            "The provided expression refers to an attribute that does not exist in the item",
        ),
        (
            "ADD s :one",
            json!({":one": {"N": "1"}}),
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "ADD n :s",
            json!({":s": {"S": "x"}}),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
        (
            "DELETE ss :s",
            json!({":s": {"S": "x"}}),
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: STRING",
        ),
        (
            "SET a = :one, a = :one",
            json!({":one": {"N": "1"}}),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "SET m = :one REMOVE m.nested",
            json!({":one": {"N": "1"}}),
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, nested]",
        ),
        (
            "SET a = :one SET b = :one",
            json!({":one": {"N": "1"}}),
            "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;",
        ),
        (
            "SET nothing.below = :one",
            json!({":one": {"N": "1"}}),
            "The document path provided in the update expression is invalid for update",
        ),
        (
            "SET count = :one",
            json!({":one": {"N": "1"}}),
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: count",
        ),
        (
            "SET a = size(s)",
            json!({}),
            "Invalid UpdateExpression: Invalid function name; function: size",
        ),
        (
            "UPSERT a = :one",
            json!({":one": {"N": "1"}}),
            "Invalid UpdateExpression: Syntax error; token: \"UPSERT\", near: \"UPSERT a\"",
        ),
    ];
    for (expression, values, message) in cases {
        assert_eq!(
            updated(expression, values),
            Err(validation(message)),
            "{expression}"
        );
    }
}

#[test]
fn deep_or_long_expressions_are_refused_not_recursed_into() {
    let mut db = with_table();
    let deep = format!(
        "{}attribute_exists(pk){}",
        "(".repeat(2000),
        ")".repeat(2000)
    );
    let not_not = format!("{}attribute_exists(pk)", "NOT ".repeat(1000));
    let long = format!(
        "attribute_exists(pk){}",
        " AND attribute_exists(pk)".repeat(200)
    );
    for (expression, says) in [
        (deep, "more than 64 deep"),
        (not_not, "more than 64 deep"),
        (long, "maximum allowed size"),
    ] {
        let (code, message) = fails(
            &mut db,
            "PutItem",
            json!({"TableName": "items", "Item": {"pk": {"S": "a"}}, "ConditionExpression": expression}),
        );
        assert_eq!(code, "ValidationException");
        assert!(message.contains(says), "{message}");
    }
    // Nesting within the bound still parses and evaluates.
    let nested = format!(
        "{}attribute_not_exists(pk){}",
        "(".repeat(60),
        ")".repeat(60)
    );
    ok(
        &mut db,
        "PutItem",
        json!({"TableName": "items", "Item": {"pk": {"S": "a"}}, "ConditionExpression": nested}),
    );
}
