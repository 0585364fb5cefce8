//! Reading the members of a JSON request: SQS's errors for a missing or mistyped one.

use std::collections::BTreeMap;

use serde_json::Value;

use super::errors::{invalid_value, missing};
use crate::serve::error::ApiError;

pub(super) fn string<'a>(request: &'a Value, member: &str) -> Result<&'a str, ApiError> {
    match &request[member] {
        Value::Null => Err(missing(member)),
        Value::String(text) => Ok(text),
        _ => Err(mistyped(member, "a string")),
    }
}

pub(super) fn optional_string<'a>(
    request: &'a Value,
    member: &str,
) -> Result<Option<&'a str>, ApiError> {
    match &request[member] {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        _ => Err(mistyped(member, "a string")),
    }
}

pub(super) fn optional_integer(request: &Value, member: &str) -> Result<Option<i64>, ApiError> {
    match &request[member] {
        Value::Null => Ok(None),
        Value::Number(number) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| mistyped(member, "an integer")),
        _ => Err(mistyped(member, "an integer")),
    }
}

/// An integer member in `min..=max`, with SQS's wording for one outside.
pub(super) fn integer_in(
    request: &Value,
    member: &str,
    min: i64,
    max: i64,
) -> Result<Option<u64>, ApiError> {
    match optional_integer(request, member)? {
        None => Ok(None),
        Some(n) if (min..=max).contains(&n) => Ok(Some(n as u64)),
        Some(n) => Err(invalid_value(format!(
            "Value {n} for parameter {member} is invalid. Reason: Must be between {min} and {max}, if provided."
        ))),
    }
}

pub(super) fn string_list<'a>(request: &'a Value, member: &str) -> Result<Vec<&'a str>, ApiError> {
    match &request[member] {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| mistyped(member, "a list of strings"))
            })
            .collect(),
        _ => Err(mistyped(member, "a list of strings")),
    }
}

pub(super) fn string_map(
    request: &Value,
    member: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    match &request[member] {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| match value {
                Value::String(text) => Ok((key.clone(), text.clone())),
                _ => Err(mistyped(member, "a map of strings")),
            })
            .collect(),
        _ => Err(mistyped(member, "a map of strings")),
    }
}

/// A batch's entries: a non-empty list of objects.
pub(super) fn entries<'a>(request: &'a Value, operation: &str) -> Result<&'a [Value], ApiError> {
    match &request["Entries"] {
        Value::Null => Err(missing("Entries")),
        Value::Array(entries) if entries.iter().all(Value::is_object) => Ok(entries),
        _ => Err(mistyped(
            "Entries",
            &format!("a list of {operation}RequestEntry"),
        )),
    }
}

fn mistyped(member: &str, expected: &str) -> ApiError {
    invalid_value(format!("The parameter {member} must be {expected}."))
}
