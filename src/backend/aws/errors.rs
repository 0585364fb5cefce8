//! SDK errors to [`BackendError`]: the kind from the service's error code; the SDK error stated
//! once, as the source of a kind that is a fixed phrase (`NotFound`, `Unreachable`, ...), or
//! rendered with [`crate::backend::error_chain`] (the whole cause chain, without the `Debug` dump
//! `DisplayErrorContext` appends) as the text of a kind that carries one (`InvalidParameter`,
//! `Service`).

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

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
    let detail = || crate::backend::error_chain(&error);
    let kind = if is_unreachable(&error) {
        BackendErrorKind::Unreachable
    } else {
        match error.code() {
            Some(code) => kind_for_code(code, error.message(), detail),
            None => BackendErrorKind::Service(detail()),
        }
    };
    let carries_detail = matches!(
        kind,
        BackendErrorKind::InvalidParameter(_) | BackendErrorKind::Service(_)
    );
    let backend_error = BackendError::new(operation, resource, kind);
    if carries_detail {
        backend_error
    } else {
        backend_error.with_source(error)
    }
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
    BackendError::new(operation, resource, kind_for_code(code, message, || detail))
}

/// The caller-relevant kind of a service error code; `detail` makes the text of the kinds that
/// carry one.
pub(crate) fn kind_for_code(
    code: &str,
    message: Option<&str>,
    detail: impl FnOnce() -> String,
) -> BackendErrorKind {
    let message_lower = message.unwrap_or_default().to_ascii_lowercase();
    match strip_sqs_prefix(code) {
        "ReceiptHandleIsInvalid" | "InvalidReceiptHandle" => BackendErrorKind::ReceiptHandleInvalid,
        // FIFO queues reject a receipt whose visibility window passed this way.
        "InvalidParameterValue"
            if message_lower.contains("receipt handle") && message_lower.contains("expired") =>
        {
            BackendErrorKind::ReceiptHandleInvalid
        }
        // ChangeMessageVisibility on a deleted message (the API Reference's wording).
        "InvalidParameterValue"
            if message_lower.contains("not available for visibility timeout change") =>
        {
            BackendErrorKind::NotInFlight
        }
        "MessageNotInflight" => BackendErrorKind::NotInFlight,
        "BatchRequestTooLong" => BackendErrorKind::MessageTooLarge,
        // SendMessage's answer to an oversized body (the API Reference's wording).
        "InvalidParameterValue"
            if message_lower.contains("message must be shorter than")
                || message_lower.contains("too long") =>
        {
            BackendErrorKind::MessageTooLarge
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
        "InternalError" | "InternalFailure" | "InternalServerError" | "ServiceUnavailable" => {
            BackendErrorKind::InternalError
        }
        "UnsupportedOperation" | "UnknownOperation" | "NotImplemented" => {
            BackendErrorKind::Unsupported
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
        | "InvalidAddress"
        | "InvalidIdFormat"
        | "ValidationException" => BackendErrorKind::InvalidParameter(detail()),
        _ => BackendErrorKind::Service(detail()),
    }
}

fn strip_sqs_prefix(code: &str) -> &str {
    code.strip_prefix(SQS_CODE_PREFIX).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::error::DisplayErrorContext;
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
    use test_case::test_case;

    use super::*;

    #[test_case("InvalidParameterValue", Some("Value x for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.") => BackendErrorKind::NotInFlight)]
    #[test_case("AWS.SimpleQueueService.MessageNotInflight", None => BackendErrorKind::NotInFlight)]
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
        kind_for_code(code, message, || "d".into())
    }

    #[test]
    fn an_sdk_error_is_the_source_or_the_text_never_both() {
        type Sdk = SdkError<ReceiveMessageError, HttpResponse>;
        let silent = sdk_error("ReceiveMessage", "q", Sdk::timeout_error("no answer"));
        assert_eq!(silent.kind, BackendErrorKind::Unreachable);
        assert!(!silent.to_string().contains("no answer"), "{silent}");
        let source = std::error::Error::source(&silent).expect("the SDK error as the source");
        assert!(
            DisplayErrorContext(source)
                .to_string()
                .contains("no answer"),
            "{source}"
        );

        let unbuilt = sdk_error("ReceiveMessage", "q", Sdk::construction_failure("no url"));
        assert!(
            matches!(&unbuilt.kind, BackendErrorKind::Service(text) if text.contains("no url")),
            "{unbuilt:?}"
        );
        assert!(std::error::Error::source(&unbuilt).is_none(), "{unbuilt:?}");
        // DisplayErrorContext would append the error's Debug form: structs a reader cannot use.
        assert!(
            !unbuilt.to_string().contains("ConstructionFailure"),
            "{unbuilt}"
        );
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
