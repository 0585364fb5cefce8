//! SDK errors to [`BackendError`]: the kind from the service's error code, the message from
//! `DisplayErrorContext` (the whole cause chain), the SDK error kept as the source.

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::backend::{BackendError, BackendErrorKind};

/// SQS's JSON protocol may prefix query-compatible codes with this.
const SQS_CODE_PREFIX: &str = "AWS.SimpleQueueService.";

/// A failed SDK call on `resource`.
pub(crate) fn sdk_error<E>(
    operation: &'static str,
    resource: &str,
    error: SdkError<E, HttpResponse>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&error).to_string();
    let kind = if is_unreachable(&error) {
        BackendErrorKind::Unreachable(detail)
    } else {
        match error.code() {
            Some(code) => kind_for_code(code, error.message(), detail),
            None => BackendErrorKind::Service(detail),
        }
    };
    BackendError::new(operation, resource, kind).with_source(error)
}

/// The request never got an answer: the connection failed, or the endpoint stayed silent past
/// the timeouts (see [`super::options`]), retries included.
fn is_unreachable<E>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::TimeoutError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_timeout(),
        _ => false,
    }
}

/// An SDK call that an AWS-compatible endpoint answered with a server error or an unknown
/// action: the endpoint does not implement the operation (moto and StartMessageMoveTask).
pub(crate) fn is_unimplemented<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    matches!(status, Some(500 | 501))
        || matches!(
            error.code().map(strip_sqs_prefix),
            Some("UnknownOperation" | "InvalidAction" | "NotImplemented" | "UnsupportedOperation")
        )
}

/// One failed entry of a batch call (SendMessageBatch, DeleteMessageBatch, ...).
pub(crate) fn entry_error(
    operation: &'static str,
    resource: &str,
    code: &str,
    message: Option<&str>,
) -> BackendError {
    let detail = match message {
        Some(message) => format!("{code}: {message}"),
        None => code.to_owned(),
    };
    BackendError::new(operation, resource, kind_for_code(code, message, detail))
}

/// The caller-relevant kind of a service error code; `detail` is the text for kinds that carry
/// one.
pub(crate) fn kind_for_code(code: &str, message: Option<&str>, detail: String) -> BackendErrorKind {
    let message_lower = message.unwrap_or_default().to_ascii_lowercase();
    match strip_sqs_prefix(code) {
        "ReceiptHandleIsInvalid" | "InvalidReceiptHandle" => BackendErrorKind::ReceiptHandleInvalid,
        // FIFO queues reject a receipt whose visibility window passed this way.
        "InvalidParameterValue"
            if message_lower.contains("receipt handle") && message_lower.contains("expired") =>
        {
            BackendErrorKind::ReceiptHandleInvalid
        }
        "PurgeQueueInProgress" => BackendErrorKind::PurgeInProgress,
        "QueueDoesNotExist" | "NonExistentQueue" | "ResourceNotFoundException" => {
            BackendErrorKind::NotFound
        }
        "ThrottlingException"
        | "Throttling"
        | "RequestThrottled"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded"
        | "KmsThrottled" => BackendErrorKind::Throttled,
        "UnsupportedOperation" | "UnknownOperation" | "NotImplemented" => {
            BackendErrorKind::Unsupported(detail)
        }
        "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "InvalidAttributeValue"
        | "InvalidAttributeName"
        | "MissingParameter"
        | "InvalidMessageContents"
        | "TooManyEntriesInBatchRequest"
        | "EmptyBatchRequest"
        | "BatchEntryIdsNotDistinct"
        | "InvalidBatchEntryId"
        | "BatchRequestTooLong"
        | "MessageNotInflight"
        | "InvalidAddress"
        | "InvalidIdFormat"
        | "ValidationException" => BackendErrorKind::InvalidParameter(detail),
        _ => BackendErrorKind::Service(detail),
    }
}

fn strip_sqs_prefix(code: &str) -> &str {
    code.strip_prefix(SQS_CODE_PREFIX).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("ReceiptHandleIsInvalid", None => BackendErrorKind::ReceiptHandleInvalid)]
    #[test_case("InvalidParameterValue", Some("Value x for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.") => BackendErrorKind::ReceiptHandleInvalid)]
    #[test_case("AWS.SimpleQueueService.PurgeQueueInProgress", None => BackendErrorKind::PurgeInProgress)]
    #[test_case("AWS.SimpleQueueService.NonExistentQueue", None => BackendErrorKind::NotFound)]
    #[test_case("QueueDoesNotExist", None => BackendErrorKind::NotFound)]
    #[test_case("ResourceNotFoundException", None => BackendErrorKind::NotFound)]
    #[test_case("ProvisionedThroughputExceededException", None => BackendErrorKind::Throttled)]
    #[test_case("RequestThrottled", None => BackendErrorKind::Throttled)]
    #[test_case("TooManyEntriesInBatchRequest", None => BackendErrorKind::InvalidParameter("d".into()))]
    #[test_case("AccessDenied", None => BackendErrorKind::Service("d".into()))]
    fn codes_map_to_kinds(code: &str, message: Option<&str>) -> BackendErrorKind {
        kind_for_code(code, message, "d".into())
    }

    #[test]
    fn entry_errors_name_code_and_message() {
        let error = entry_error(
            "SendMessageBatch",
            "q",
            "InvalidMessageContents",
            Some("bad"),
        );
        assert_eq!(
            error.to_string(),
            "SendMessageBatch on q: invalid parameter: InvalidMessageContents: bad"
        );
    }
}
