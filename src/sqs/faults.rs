//! The faults the SQS and DynamoDB APIs answer with, as a `[[faults]]` table asks for them,
//! resolved: plain data the file format produces and the backends' fault layer reads.

use std::time::Duration;

/// An operation of the backend boundary that faults can target, named as the file names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiOperation {
    Send,
    Receive,
    Delete,
    ChangeVisibility,
    GetItem,
    PutItem,
    UpdateItem,
}

impl ApiOperation {
    pub const ALL: [ApiOperation; 7] = [
        ApiOperation::Send,
        ApiOperation::Receive,
        ApiOperation::Delete,
        ApiOperation::ChangeVisibility,
        ApiOperation::GetItem,
        ApiOperation::PutItem,
        ApiOperation::UpdateItem,
    ];

    /// The name in the file and in the history (`change_visibility`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiOperation::Send => "send",
            ApiOperation::Receive => "receive",
            ApiOperation::Delete => "delete",
            ApiOperation::ChangeVisibility => "change_visibility",
            ApiOperation::GetItem => "get_item",
            ApiOperation::PutItem => "put_item",
            ApiOperation::UpdateItem => "update_item",
        }
    }

    pub fn from_name(name: &str) -> Option<ApiOperation> {
        ApiOperation::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// The AWS API operation the backends call for it (the AWS backend always batches sends
    /// and deletes, so one name each).
    pub fn api_name(self) -> &'static str {
        match self {
            ApiOperation::Send => "SendMessageBatch",
            ApiOperation::Receive => "ReceiveMessage",
            ApiOperation::Delete => "DeleteMessageBatch",
            ApiOperation::ChangeVisibility => "ChangeMessageVisibility",
            ApiOperation::GetItem => "GetItem",
            ApiOperation::PutItem => "PutItem",
            ApiOperation::UpdateItem => "UpdateItem",
        }
    }

    /// Whether the call carries several entries, each with its own result.
    pub fn is_batch(self) -> bool {
        matches!(self, ApiOperation::Send | ApiOperation::Delete)
    }
}

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// RequestThrottled (SQS) / ProvisionedThroughputExceededException (DynamoDB).
    Throttle,
    /// A 5xx InternalError.
    Error,
    /// The request never reached the service: nothing happened, the caller saw a timeout.
    TimeoutBefore,
    /// The service applied the request and the response was lost: the caller saw a timeout.
    TimeoutAfter,
    /// The call succeeds, late.
    Latency,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Throttle,
        FaultKind::Error,
        FaultKind::TimeoutBefore,
        FaultKind::TimeoutAfter,
        FaultKind::Latency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::Error => "error",
            FaultKind::TimeoutBefore => "timeout_before",
            FaultKind::TimeoutAfter => "timeout_after",
            FaultKind::Latency => "latency",
        }
    }

    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// A timeout: the caller cannot know whether the service applied the request.
    pub fn is_timeout(self) -> bool {
        matches!(self, FaultKind::TimeoutBefore | FaultKind::TimeoutAfter)
    }
}

/// When a rule strikes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultTrigger {
    /// Each matching call (or entry) with this probability, from the rule's own seeded stream.
    Probability(f64),
    /// Every matching call (or entry) made in `[from, until)` of the run's clock.
    Window { from: Duration, until: Duration },
    /// Only the n-th matching call (or entry), from 1.
    Nth(u64),
}

/// Whether a rule fails a whole call or single entries of a batch call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultScope {
    Call,
    /// Per-entry error results (SQS's BatchResultErrorEntry), the call itself succeeding.
    Entry,
}

/// One `[[faults]]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// `None`: every operation (`operation = "all"`).
    pub operation: Option<ApiOperation>,
    pub kind: FaultKind,
    pub trigger: FaultTrigger,
    pub scope: FaultScope,
    /// `latency` only: the upper bound of the seeded extra delay.
    pub delay: Duration,
}

impl FaultRule {
    pub fn targets(&self, operation: ApiOperation) -> bool {
        self.operation.is_none_or(|op| op == operation)
    }
}
