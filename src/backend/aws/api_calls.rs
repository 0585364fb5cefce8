//! Request counts per API operation, for the cost line of a run against AWS (SQS and DynamoDB
//! bill per request, and a retried request is billed once per attempt).
//!
//! Two counts: calls, one per SDK call the backend makes ([`ApiCalls::record`]), and attempts,
//! one per HTTP request the SDK sends, its own retries included ([`AttemptCounter`], an
//! interceptor on both clients). Attempts ≥ calls; the difference is the SDK's retries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_sqs::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sqs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;

#[derive(Debug, Default)]
pub(crate) struct ApiCalls {
    calls: crate::backend::ApiCalls,
    attempts: AttemptCounter,
}

impl ApiCalls {
    pub(crate) fn record(&self, operation: &'static str) {
        self.calls.record(operation);
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.calls.snapshot()
    }

    /// The interceptor to install on every SDK client of the run.
    pub(crate) fn attempt_counter(&self) -> AttemptCounter {
        self.attempts.clone()
    }

    /// HTTP requests sent per operation, SDK retries included.
    pub(crate) fn attempts(&self) -> BTreeMap<String, u64> {
        self.attempts.snapshot()
    }
}

/// Counts every attempt the SDK makes, per operation. Shared by the clients of one run (the SDK
/// requires interceptors to be `Send + Sync`, hence the mutex).
#[derive(Clone, Debug, Default)]
pub(crate) struct AttemptCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl AttemptCounter {
    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "qsim::AttemptCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("unknown", |metadata| metadata.name())
            .to_owned();
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation)
            .or_insert(0) += 1;
        Ok(())
    }
}
