//! The AWS SDK backend: the [`Backend`](crate::backend::Backend) boundary on real SQS and
//! DynamoDB, or on an AWS-compatible endpoint such as moto_server, LocalStack or ElasticMQ.
//!
//! Invariants:
//! - every resource a run creates lives under the run's own prefix `qsim-{scenario}-{runid}` and
//!   carries the tags `qsim:managed=true` and `qsim:run={runid}`; [`cleanup`] deletes only
//!   resources that match both the prefix and the tag, and never those tagged
//!   `qsim:provisioned-by=terraform`;
//! - [`AwsBackend::teardown`] deletes exactly what this run created (unless `keep`), and may be
//!   called again after a failure or an interrupt;
//! - pre-provisioned resources (`--resources`, [`provisioned`]) are checked, emptied before and
//!   after the run, shared through per-run item keys, and never deleted;
//! - errors name the operation and the resource, written once per call ([`call`]), and state
//!   the SDK error once: as their source, or rendered into their text with its cause chain
//!   (never with credentials, never as a `Debug` dump);
//! - every SDK call is bounded: connect, attempt and whole-call timeouts, long polls getting
//!   their wait on top ([`options`]); a silent or unreachable endpoint is
//!   `BackendErrorKind::Unreachable`, and calls are counted both per call and per attempt;
//! - time is the wall clock: this backend runs on a current_thread runtime without paused time.

mod api_calls;
mod backend;
mod call;
mod cleanup;
mod drain;
mod errors;
pub(crate) mod item_keys;
pub(crate) mod items;
pub(crate) mod naming;
mod options;
mod provisioned;
mod provisioned_mismatch;
mod provisioned_queues;
mod purge_windows;
mod queue_fit;
mod queues;
mod receipts;
mod sqs_attributes;
mod tables;

pub use backend::AwsBackend;

/// Reads the history of the endpoint a run uses, when the run serves it itself: its lines so
/// far, their `t_ms` counted from the instant given (see [`crate::backend::Backend::foreign_events`]).
pub type EndpointHistory = Box<dyn Fn(std::time::Instant) -> Vec<serde_json::Value>>;
pub(crate) use cleanup::CleanupFailure;
pub use cleanup::{ResourceKind, SkipReason, cleanup, cleanup_with_config};
pub use options::AwsOptions;
pub use options::CUSTOM_ENDPOINT_MAX_RATE;
pub(crate) use provisioned_mismatch::ProvisionedMismatch;
pub use provisioned_queues::ProvisionedQueues;
