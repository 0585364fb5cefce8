//! One built-in consumer instance running alone (`qsim consume`): on queues and tables that
//! another run (or a team) provisioned, in real time, each event handed to a sink as it happens.
//!
//! It behaves as an instance of its group inside a run: the same consumer code, random stream
//! (`consumer:NAME#INCARNATION` of the seed) and fault rules. SIGTERM (or whatever `terminate`
//! resolves on) does what the timeline's `terminate` does: finish the message in hand, take no
//! new work, exit cleanly. A group's `once` crash budget is this process's alone.

use std::future::Future;
use std::rc::Rc;
use std::time::SystemTime;

use super::consumer::{Consumer, ConsumerEnd, Control, GroupShared};
use super::context::{EventSink, RunContext};
use super::event::{CrashPoint, EventKind, ExitReason};
use super::{Limits, provision};
use crate::backend::faults::FaultLayer;
use crate::backend::{Backend, BackendError};
use crate::rng;
use crate::scenario::{GroupIx, Scenario};

/// Which instance to run, and how its run lines up with a parent run.
#[derive(Clone, Debug)]
pub struct Instance {
    pub group: GroupIx,
    /// Its name, and actor in the events: `worker-1`.
    pub name: String,
    pub seed: u64,
    /// Restarts before this one: each incarnation draws from its own random stream.
    pub incarnation: u32,
    /// When the parent run started, so both logs share one clock (`None`: now).
    pub origin: Option<SystemTime>,
}

/// How a lone consumer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoneEnd {
    Exited(ExitReason),
    Crashed(CrashPoint),
}

/// Runs `instance` of `scenario` on `backend` (whose queues and tables exist already) until it
/// exits or crashes; `terminate` resolving is its SIGTERM. Every event goes to `sink` as it is
/// recorded. Must be called inside a `tokio::task::LocalSet`.
pub async fn consume<B: Backend + 'static>(
    scenario: Rc<Scenario>,
    backend: Rc<B>,
    instance: Instance,
    sink: EventSink,
    terminate: impl Future<Output = ()>,
) -> Result<LoneEnd, BackendError> {
    let (main, dlq) = provision(&scenario.queue, &*backend).await?;
    let api = Rc::new(FaultLayer::new(backend, &scenario.faults, instance.seed));
    let now = tokio::time::Instant::now();
    let origin = instance
        .origin
        .and_then(|origin| SystemTime::now().duration_since(origin).ok())
        .and_then(|since| now.checked_sub(since))
        .unwrap_or(now);
    let no_wall_limit = Limits { max_wall: None };
    let ctx = Rc::new(
        RunContext::new(
            scenario.clone(),
            api.clone(),
            instance.seed,
            (main, dlq),
            no_wall_limit,
        )
        .standalone(origin, sink),
    );
    api.start_at(ctx.origin());
    let actor = ctx.actor(&instance.name);
    let name = instance.name.clone();
    let control = Rc::new(Control::default());
    let shared = Rc::new(GroupShared::new(scenario.group(instance.group)));
    let stream = rng::stream(
        instance.seed,
        &format!("consumer:{}#{}", instance.name, instance.incarnation),
    );
    ctx.record(actor, None, EventKind::ConsumerStarted);
    let consumer = Consumer::new(
        ctx.clone(),
        instance.group,
        actor,
        control.clone(),
        shared,
        stream,
    );
    let run = consumer.run();
    tokio::pin!(run);
    let end = tokio::select! {
        biased;
        end = &mut run => end,
        () = terminate => {
            ctx.record(actor, None, EventKind::ShutdownRequested);
            control.terminate();
            run.await
        }
    };
    match end {
        ConsumerEnd::Exited(reason) => {
            ctx.record(actor, None, EventKind::Exited(reason));
            Ok(LoneEnd::Exited(reason))
        }
        ConsumerEnd::Crashed(point) => Ok(LoneEnd::Crashed(point)),
        ConsumerEnd::Failed | ConsumerEnd::Killed => Err(ctx.take_fatal().unwrap_or_else(|| {
            BackendError::new(
                "Consume",
                &name,
                crate::backend::BackendErrorKind::Service(
                    "the consumer stopped without an error".into(),
                ),
            )
        })),
    }
}
