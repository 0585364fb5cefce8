//! SQS's errors as its JSON protocol returns them: the modern code in `__type`
//! (`com.amazonaws.sqs#QueueDoesNotExist`) and the legacy query code in the
//! `x-amzn-query-error` header (`AWS.SimpleQueueService.NonExistentQueue;Sender`), which the SDKs
//! map back to the codes older clients know. The pairs are the ones the SQS API model declares
//! (its `awsQueryError` traits, as generated into aws-sdk-sqs's error parsers).

use crate::backend::{BackendError, BackendErrorKind};
use crate::serve::error::ApiError;
use crate::sqs::facts::{MAX_BATCH, MAX_PAYLOAD_BYTES, PURGE_WINDOW};

/// The legacy query code the SDKs expect in `x-amzn-query-error` for `code`.
pub(crate) fn legacy_code(code: &str) -> &str {
    match code {
        "QueueDoesNotExist" => "AWS.SimpleQueueService.NonExistentQueue",
        "QueueNameExists" => "QueueAlreadyExists",
        "PurgeQueueInProgress" => "AWS.SimpleQueueService.PurgeQueueInProgress",
        "QueueDeletedRecently" => "AWS.SimpleQueueService.QueueDeletedRecently",
        "BatchEntryIdsNotDistinct" => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        "BatchRequestTooLong" => "AWS.SimpleQueueService.BatchRequestTooLong",
        "EmptyBatchRequest" => "AWS.SimpleQueueService.EmptyBatchRequest",
        "InvalidBatchEntryId" => "AWS.SimpleQueueService.InvalidBatchEntryId",
        "TooManyEntriesInBatchRequest" => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        "UnsupportedOperation" => "AWS.SimpleQueueService.UnsupportedOperation",
        "MessageNotInflight" => "AWS.SimpleQueueService.MessageNotInflight",
        other => other,
    }
}

pub(super) fn queue_does_not_exist() -> ApiError {
    ApiError::client("QueueDoesNotExist", "The specified queue does not exist.")
}

pub(super) fn missing(parameter: &str) -> ApiError {
    ApiError::client(
        "MissingParameter",
        format!("The request must contain the parameter {parameter}."),
    )
}

pub(super) fn invalid_value(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterValue", message)
}

pub(super) fn invalid_parameter(parameter: &str, value: &str, reason: &str) -> ApiError {
    invalid_value(format!(
        "Value {value} for parameter {parameter} is invalid. Reason: {reason}"
    ))
}

pub(super) fn unknown_attribute(name: &str) -> ApiError {
    ApiError::client("InvalidAttributeName", format!("Unknown Attribute {name}."))
}

pub(super) fn invalid_attribute_value(name: &str) -> ApiError {
    ApiError::client(
        "InvalidAttributeValue",
        format!("Invalid value for the parameter {name}."),
    )
}

pub(super) fn empty_batch(operation: &str) -> ApiError {
    ApiError::client(
        "EmptyBatchRequest",
        format!("There should be at least one {operation}RequestEntry in the request."),
    )
}

pub(super) fn too_many_entries(count: usize) -> ApiError {
    ApiError::client(
        "TooManyEntriesInBatchRequest",
        format!("Maximum number of entries per request are {MAX_BATCH}. You have sent {count}."),
    )
}

pub(super) fn batch_too_long(length: usize) -> ApiError {
    ApiError::client(
        "BatchRequestTooLong",
        format!(
            "Batch requests cannot be longer than {MAX_PAYLOAD_BYTES} bytes. You have sent {length} bytes."
        ),
    )
}

pub(super) fn message_too_long(max: u64) -> ApiError {
    invalid_value(format!(
        "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
    ))
}

pub(super) fn receipt_invalid(handle: &str) -> ApiError {
    ApiError::client(
        "ReceiptHandleIsInvalid",
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

/// ChangeMessageVisibility on a message that is gone (the API Reference's wording, which the
/// AWS backend recognises as "not in flight").
pub(super) fn not_available_for_change(handle: &str) -> ApiError {
    invalid_parameter(
        "ReceiptHandle",
        handle,
        "Message does not exist or is not available for visibility timeout change.",
    )
}

/// A simulator error as SQS states it. `receipt` is the handle of the call, for the errors
/// that quote it; `batch` says whether an oversized payload was a batch's.
pub(super) fn from_backend(error: &BackendError, receipt: Option<&str>, batch: bool) -> ApiError {
    match &error.kind {
        BackendErrorKind::ReceiptHandleInvalid => receipt_invalid(receipt.unwrap_or_default()),
        BackendErrorKind::NotInFlight => not_available_for_change(receipt.unwrap_or_default()),
        BackendErrorKind::PurgeInProgress => ApiError::client(
            "PurgeQueueInProgress",
            format!(
                "Only one PurgeQueue operation on {} is allowed every {} seconds.",
                error.resource,
                PURGE_WINDOW.as_secs()
            ),
        ),
        BackendErrorKind::MessageTooLarge if batch => batch_too_long(MAX_PAYLOAD_BYTES + 1),
        BackendErrorKind::MessageTooLarge => message_too_long(MAX_PAYLOAD_BYTES as u64),
        BackendErrorKind::NotFound => queue_does_not_exist(),
        BackendErrorKind::InvalidParameter(text) => from_limit_text(text),
        BackendErrorKind::Unsupported => ApiError::client(
            "UnsupportedOperation",
            "qsim serve does not support this request.",
        ),
        BackendErrorKind::Throttled => {
            ApiError::client("RequestThrottled", "Request is throttled.")
        }
        _ => ApiError {
            status: 500,
            ..ApiError::client("InternalError", error.kind.to_string())
        },
    }
}

/// The simulator states a broken limit as `Code: explanation` where SQS has a code of its own
/// (see `backend::sim::limits`), and as plain text where SQS answers InvalidParameterValue.
fn from_limit_text(text: &str) -> ApiError {
    let named = text
        .split_once(": ")
        .filter(|(code, _)| !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric()));
    match named {
        Some((code, explanation)) => ApiError::client(code, explanation),
        None => invalid_value(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coded_limit_keeps_its_code_and_plain_text_is_an_invalid_value() {
        let coded = from_limit_text("TooManyEntriesInBatchRequest: a batch holds at most 10");
        assert_eq!(coded.code, "TooManyEntriesInBatchRequest");
        assert_eq!(coded.message, "a batch holds at most 10");
        let plain = from_limit_text("VisibilityTimeout is 50000s, above the maximum of 43200s");
        assert_eq!(plain.code, "InvalidParameterValue");
    }

    #[test]
    fn modern_codes_map_to_the_legacy_codes_the_sdks_parse() {
        assert_eq!(
            legacy_code("QueueDoesNotExist"),
            "AWS.SimpleQueueService.NonExistentQueue"
        );
        assert_eq!(legacy_code("QueueNameExists"), "QueueAlreadyExists");
        assert_eq!(
            legacy_code("ReceiptHandleIsInvalid"),
            "ReceiptHandleIsInvalid"
        );
    }
}
