//! The DynamoDB errors this store returns, with the codes and messages DynamoDB uses
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>).

use serde_json::Value;

use crate::serve::error::ApiError;

pub(crate) const VALIDATION: &str = "ValidationException";
pub(crate) const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailedException";
pub(crate) const CONDITION_FAILED_MESSAGE: &str = "The conditional request failed";

pub(crate) fn validation(message: impl Into<String>) -> ApiError {
    ApiError::client(VALIDATION, message)
}

/// A request parameter with an invalid value ("One or more parameter values were invalid: ...").
pub(crate) fn invalid_parameter(detail: impl std::fmt::Display) -> ApiError {
    validation(format!(
        "One or more parameter values were invalid: {detail}"
    ))
}

/// A table (or table ARN) that does not exist.
pub(crate) fn resource_not_found() -> ApiError {
    ApiError::client("ResourceNotFoundException", "Requested resource not found")
}

pub(crate) fn table_not_found(name: &str) -> ApiError {
    ApiError::client(
        "ResourceNotFoundException",
        format!("Requested resource not found: Table: {name} not found"),
    )
}

pub(crate) fn table_exists(name: &str) -> ApiError {
    ApiError::client(
        "ResourceInUseException",
        format!("Table already exists: {name}"),
    )
}

/// A failed ConditionExpression; `item` is the item as it was, when the request asked for it
/// with `ReturnValuesOnConditionCheckFailure = ALL_OLD` and it exists.
pub(crate) fn condition_failed(item: Option<Value>) -> ApiError {
    let error = ApiError::client(CONDITIONAL_CHECK_FAILED, CONDITION_FAILED_MESSAGE);
    match item {
        Some(item) => error.with("Item", item),
        None => error,
    }
}

/// An expression that does not parse or does not type-check: `kind` is the request field
/// (`ConditionExpression`, `UpdateExpression`, ...).
pub(crate) fn invalid_expression(kind: &str, detail: impl std::fmt::Display) -> ApiError {
    validation(format!("Invalid {kind}: {detail}"))
}

/// A request member of the wrong JSON type, or missing.
pub(crate) fn malformed(field: &str, expected: &str) -> ApiError {
    ApiError::client(
        "SerializationException",
        format!("{field}: expected {expected}"),
    )
}

pub(crate) fn missing_key_element() -> ApiError {
    validation("The provided key element does not match the schema")
}
