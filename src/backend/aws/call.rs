//! The plumbing every SDK call of a run shares, written once: counting it, naming its operation
//! and resource in its errors, and sending it only once to an emulator when the operation may be
//! one the emulator lacks.
//!
//! Invariant: a call site names its operation once, in [`AwsBackend::call`]; the count
//! ([`ApiCalls`]) and every error of the call take the name from there.

use std::future::Future;

use aws_sdk_sqs::client::customize::CustomizableOperation;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::BatchResultErrorEntry;
use aws_smithy_types::error::operation::BuildError;

use super::api_calls::ApiCalls;
use super::backend::AwsBackend;
use super::errors::{entry_error, is_unimplemented, sdk_error};
use crate::backend::{BackendError, BackendErrorKind};

/// One API operation on one queue or table.
#[derive(Clone, Copy, Debug)]
pub(super) struct Call<'a> {
    /// Where the call is counted: the run's; `None` outside a run (`qsim cleanup`).
    calls: Option<&'a ApiCalls>,
    operation: &'static str,
    resource: &'a str,
}

impl AwsBackend {
    /// `operation` (its API name, e.g. `ReceiveMessage`) on `resource` (a queue or table name).
    pub(super) fn call<'a>(&'a self, operation: &'static str, resource: &'a str) -> Call<'a> {
        Call {
            calls: Some(&self.calls),
            operation,
            resource,
        }
    }

    /// `request` as it should go to this endpoint when its operation may be missing there:
    /// emulators answer an operation they lack with HTTP 500, which the SDK would retry with
    /// backoff, so on a custom endpoint it is sent once.
    pub(super) fn once_on_emulator<T, E, B>(
        &self,
        request: CustomizableOperation<T, E, B>,
    ) -> CustomizableOperation<T, E, B> {
        if self.custom_endpoint {
            request.config_override(
                aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()),
            )
        } else {
            request
        }
    }

    /// `request` made once by the SDK: the calls a scenario's actors make (send, receive,
    /// delete, change visibility, the table calls) are retried by the engine, by the
    /// producer's or consumer group's `retries`, so that there is one retry layer and each
    /// attempt is an event in the history.
    pub(super) fn retried_by_engine<T, E, B>(
        request: CustomizableOperation<T, E, B>,
    ) -> CustomizableOperation<T, E, B> {
        request.config_override(
            aws_sdk_sqs::config::Builder::default().retry_config(RetryConfig::disabled()),
        )
    }

    /// [`AwsBackend::retried_by_engine`] for a DynamoDB request.
    pub(super) fn table_call_retried_by_engine<T, E, B>(
        request: aws_sdk_dynamodb::client::customize::CustomizableOperation<T, E, B>,
    ) -> aws_sdk_dynamodb::client::customize::CustomizableOperation<T, E, B> {
        request.config_override(
            aws_sdk_dynamodb::config::Builder::default().retry_config(RetryConfig::disabled()),
        )
    }

    /// The error of an operation an emulator may lack (see [`AwsBackend::once_on_emulator`]): on
    /// a custom endpoint, an answer saying it is not implemented is `Unsupported`.
    pub(super) fn optional_operation_error<E>(
        &self,
        call: &Call<'_>,
        error: SdkError<E, HttpResponse>,
    ) -> BackendError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if self.custom_endpoint && is_unimplemented(&error) {
            call.error(BackendErrorKind::Unsupported).with_source(error)
        } else {
            call.sdk_error(error)
        }
    }
}

impl<'a> Call<'a> {
    /// A call outside any run (`qsim cleanup`), so counted nowhere.
    pub(super) fn uncounted(operation: &'static str, resource: &'a str) -> Self {
        Call {
            calls: None,
            operation,
            resource,
        }
    }

    /// Counts the call and awaits `request` (the SDK's `send()`); its error names this call.
    pub(super) async fn send<T, E>(
        &self,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T, BackendError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.send_raw(request)
            .await
            .map_err(|error| self.sdk_error(error))
    }

    /// As [`Call::send`], keeping the SDK error for callers that read it first (a failed
    /// condition, an operation the endpoint lacks); [`Call::sdk_error`] names it afterwards.
    pub(super) async fn send_raw<T, E>(
        &self,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T, SdkError<E, HttpResponse>> {
        if let Some(calls) = self.calls {
            calls.record(self.operation);
        }
        request.await
    }

    /// A failure of this call that qsim found (an answer it cannot read, a limit it checks).
    pub(super) fn error(&self, kind: BackendErrorKind) -> BackendError {
        BackendError::new(self.operation, self.resource, kind)
    }

    /// The SDK's error for this call.
    pub(super) fn sdk_error<E>(&self, error: SdkError<E, HttpResponse>) -> BackendError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        sdk_error(self.operation, self.resource, error)
    }

    /// One failed entry of this batch call, as the service reported it.
    pub(super) fn entry_error(&self, code: &str, message: Option<&str>) -> BackendError {
        entry_error(self.operation, self.resource, code, message)
    }

    /// A request (or a part of one) the SDK refused to build: a missing required field. Its
    /// text is the whole cause (a build error has no source of its own).
    pub(super) fn build_error(&self, error: BuildError) -> BackendError {
        self.error(BackendErrorKind::InvalidParameter(error.to_string()))
    }

    /// The entries of this batch call, built in order by `build` from each item and its index;
    /// one the SDK refuses to build fails the call.
    pub(super) fn entries<T, E>(
        &self,
        items: impl IntoIterator<Item = T>,
        mut build: impl FnMut(usize, T) -> Result<E, BuildError>,
    ) -> Result<Vec<E>, BackendError> {
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| build(index, item).map_err(|error| self.build_error(error)))
            .collect()
    }

    /// What the answer of this batch call says about each entry of `ids`, in order: its
    /// successful result (`id_of` names it), or the failure the service reported, or that it
    /// reported neither.
    pub(super) fn entry_results<'o, S>(
        &self,
        ids: impl IntoIterator<Item = impl AsRef<str>>,
        successful: &'o [S],
        id_of: impl Fn(&S) -> &str,
        failed: &[BatchResultErrorEntry],
    ) -> Vec<Result<&'o S, BackendError>> {
        ids.into_iter()
            .map(|id| {
                let id = id.as_ref();
                if let Some(entry) = successful.iter().find(|entry| id_of(entry) == id) {
                    Ok(entry)
                } else if let Some(entry) = failed.iter().find(|entry| entry.id() == id) {
                    Err(self.entry_error(entry.code(), entry.message()))
                } else {
                    Err(self.answer_lacks(&format!("result for entry {id}")))
                }
            })
            .collect()
    }

    /// A simulator receipt token handed to this call: never issued by SQS.
    pub(super) fn foreign_receipt(&self) -> BackendError {
        self.error(BackendErrorKind::ReceiptHandleInvalid)
    }

    /// An answer to this call without `what` (e.g. `QueueArn`).
    pub(super) fn answer_lacks(&self, what: &str) -> BackendError {
        self.error(BackendErrorKind::Service(format!(
            "the response has no {what}"
        )))
    }
}
