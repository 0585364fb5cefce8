//! Errors from a backend call, typed by what the caller may do about them.
//!
//! Invariant: an error states its cause once, in its text or as its `source`, never both, so
//! rendering the chain (`error: cause: ...`) repeats nothing.

use std::fmt;

use super::aws::ProvisionedMismatch;
use crate::sqs::facts::PURGE_WINDOW;

/// A failed backend operation: what was attempted, on what, and why.
#[derive(Debug, thiserror::Error)]
#[error("{operation} on {resource}: {kind}")]
pub struct BackendError {
    /// The API operation, e.g. `ReceiveMessage`.
    pub operation: &'static str,
    /// The queue or table name the operation targeted.
    pub resource: String,
    pub kind: BackendErrorKind,
    /// The cause, when the kind's text does not state it already (e.g. the SDK's error behind
    /// `NotFound` or `Unreachable`).
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// ReceiptHandleIsInvalid, or on FIFO queues a receipt whose visibility window passed.
    ReceiptHandleInvalid,
    /// ChangeMessageVisibility on a message that is no longer there to change: deleted (AWS:
    /// InvalidParameterValue, "...not available for visibility timeout change") or not in flight
    /// (MessageNotInflight). The message left; nothing to extend.
    NotInFlight,
    /// PurgeQueueInProgress: a second purge within 60 s.
    PurgeInProgress,
    /// The request broke an API limit (batch size, ranges, missing FIFO group id, ...).
    InvalidParameter(String),
    /// The endpoint does not implement the operation (e.g. moto and StartMessageMoveTask).
    Unsupported,
    /// The message, or the batch's messages together, exceed SQS's size limit
    /// (BatchRequestTooLong, or "message must be shorter than ..."): refused, nothing sent.
    MessageTooLarge,
    /// Throttled: SQS's RequestThrottled, DynamoDB's ProvisionedThroughputExceededException.
    Throttled,
    /// A 5xx answer (InternalError, ServiceUnavailable): the service failed this request.
    InternalError,
    /// The request timed out: the caller cannot know whether the service applied it.
    TimedOut,
    /// The queue or table does not exist (or was deleted under us).
    NotFound,
    /// The endpoint could not be reached or did not answer in time (retries included): every
    /// further call would wait for the same timeouts, so callers stop rather than retry.
    Unreachable,
    /// Credentials, or anything else from the service.
    Service(String),
    /// A pre-provisioned (`--resources`) queue or table is missing or does not fit the scenario.
    Provisioned(ProvisionedMismatch),
}

impl BackendErrorKind {
    /// The endpoint is down or silent: calling it again would only wait out the timeouts.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, BackendErrorKind::Unreachable)
    }

    /// A failure the AWS SDK's standard retry mode retries (throttling, 5xx, timeouts): qsim's
    /// producers and consumers retry these by their `retries` policy.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BackendErrorKind::Throttled
                | BackendErrorKind::InternalError
                | BackendErrorKind::TimedOut
        )
    }

    /// The service understood the request and said no to it (a stale receipt, a limit): the
    /// caller's situation, which a real consumer logs and survives, not a broken backend.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            BackendErrorKind::ReceiptHandleInvalid
                | BackendErrorKind::NotInFlight
                | BackendErrorKind::InvalidParameter(_)
        )
    }
}

impl fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendErrorKind::ReceiptHandleInvalid => {
                f.write_str("the receipt handle is invalid or expired")
            }
            BackendErrorKind::NotInFlight => {
                f.write_str("the message is not in flight (deleted, or visible again)")
            }
            BackendErrorKind::PurgeInProgress => write!(
                f,
                "a purge is already in progress (one per {} s)",
                PURGE_WINDOW.as_secs()
            ),
            BackendErrorKind::InvalidParameter(what) => write!(f, "invalid parameter: {what}"),
            BackendErrorKind::Unsupported => f.write_str("not implemented by this endpoint"),
            BackendErrorKind::MessageTooLarge => write!(
                f,
                "the messages exceed SQS's size limit of {} bytes",
                crate::sqs::facts::MAX_PAYLOAD_BYTES
            ),
            BackendErrorKind::Throttled => f.write_str("throttled"),
            BackendErrorKind::InternalError => f.write_str("internal error (HTTP 5xx)"),
            BackendErrorKind::TimedOut => {
                f.write_str("timed out (whether the service applied it is unknown)")
            }
            BackendErrorKind::NotFound => f.write_str("does not exist"),
            BackendErrorKind::Unreachable => {
                f.write_str("the endpoint is unreachable or did not answer")
            }
            BackendErrorKind::Service(what) => f.write_str(what),
            BackendErrorKind::Provisioned(mismatch) => mismatch.fmt(f),
        }
    }
}

impl BackendError {
    pub fn new(
        operation: &'static str,
        resource: impl Into<String>,
        kind: BackendErrorKind,
    ) -> Self {
        BackendError {
            operation,
            resource: resource.into(),
            kind,
            source: None,
        }
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// An error and its causes on one line, `outer: inner: root`, each stated once: a cause whose
/// text its wrapper already quotes (as SDK errors often do) is left out, and nothing is rendered
/// with `Debug`, which would dump the SDK's internal structs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        cause: Option<Box<Layer>>,
    }

    #[test]
    fn a_chain_states_each_cause_once() {
        let root = Layer {
            text: "connection refused",
            cause: None,
        };
        // The middle layer quotes its cause, as hyper's and the SDK's errors do.
        let middle = Layer {
            text: "tcp connect error: connection refused",
            cause: Some(Box::new(root)),
        };
        let top = Layer {
            text: "dispatch failure",
            cause: Some(Box::new(middle)),
        };
        assert_eq!(
            error_chain(&top),
            "dispatch failure: tcp connect error: connection refused"
        );
    }
}
