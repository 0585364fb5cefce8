//! Retries as producers and consumers configure them (`retries`), in one place: a call that
//! failed transiently (throttled, 5xx, timed out) is made again after a backoff, up to the
//! policy's attempts, each new attempt an event in the history. This is the only retry layer:
//! the AWS backend makes each of these calls once (its SDK's own retries are off for them).

use std::future::Future;

use tokio::time::sleep;

use super::context::RunContext;
use super::event::{ActorId, EventKind, MessageIx};
use crate::backend::faults::ApiOperation;
use crate::backend::{Backend, BackendError};
use crate::scenario::RetryPolicy;

/// Makes `call` (one `operation` by `actor`, concerning `messages`) until it succeeds, fails
/// other than transiently, or has used `policy`'s attempts; returns the last result.
pub(super) async fn retrying<B: Backend, T, F>(
    ctx: &RunContext<B>,
    actor: ActorId,
    policy: RetryPolicy,
    (operation, messages): (ApiOperation, &[Option<MessageIx>]),
    mut call: impl FnMut() -> F,
) -> Result<T, BackendError>
where
    F: Future<Output = Result<T, BackendError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(error)
                if error.kind.is_transient()
                    && attempt < policy.max_attempts
                    && !ctx.has_failed() =>
            {
                attempt += 1;
                sleep(ctx.backoff(actor, policy, attempt)).await;
                let kind = EventKind::Retried { operation, attempt };
                if messages.is_empty() {
                    ctx.record(actor, None, kind);
                }
                for message in messages {
                    ctx.record(actor, *message, kind);
                }
            }
            result => return result,
        }
    }
}
