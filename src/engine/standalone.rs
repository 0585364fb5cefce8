//! One built-in consumer instance (`qsim consume`) or producer (`qsim produce`) running alone:
//! on queues and tables that another run (or a team) provisioned, in real time, each event
//! handed to a sink as it happens.
//!
//! A consumer behaves as an instance of its group inside a run: the same consumer code, random stream
//! (`consumer:NAME#INCARNATION` of the seed) and fault rules. SIGTERM (or whatever `terminate`
//! resolves on) does what the timeline's `terminate` does: finish the message in hand, take no
//! new work, exit cleanly. A group's `once` crashes its earlier processes spent are passed in
//! ([`Instance::spent_crashes`]), so a restarted process does not crash again.

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
    /// The group's `once` crashes its earlier processes used up.
    pub spent_crashes: Vec<CrashPoint>,
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
    let ctx = Rc::new(
        lone_context(
            &scenario,
            api.clone(),
            instance.seed,
            (main, dlq),
            instance.origin,
            sink,
        )
        .adopting_messages(),
    );
    api.start_at(ctx.origin());
    let actor = ctx.actor(&instance.name);
    let name = instance.name.clone();
    let control = Rc::new(Control::default());
    let shared = Rc::new(GroupShared::new(scenario.group(instance.group)));
    for point in &instance.spent_crashes {
        shared.spend_crash(*point);
    }
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

/// The context of one actor running alone, its clock started at `origin` (`None`: now).
fn lone_context<B: Backend>(
    scenario: &Rc<Scenario>,
    api: Rc<FaultLayer<B>>,
    seed: u64,
    queues: (crate::backend::QueueId, Option<crate::backend::QueueId>),
    origin: Option<SystemTime>,
    sink: EventSink,
) -> RunContext<FaultLayer<B>> {
    let now = tokio::time::Instant::now();
    let origin = origin
        .and_then(|origin| SystemTime::now().duration_since(origin).ok())
        .and_then(|since| now.checked_sub(since))
        .unwrap_or(now);
    let no_wall_limit = Limits { max_wall: None };
    RunContext::new(scenario.clone(), api, seed, queues, no_wall_limit).standalone(origin, sink)
}

/// Runs producer `index` of `scenario` on `backend` (whose queue exists already) until it has
/// sent what it sends; `stop` resolving stops it after the batch in flight, as the timeline's
/// `stop` does. Every event goes to `sink`. Must be called inside a `tokio::task::LocalSet`.
pub async fn produce<B: Backend + 'static>(
    scenario: Rc<Scenario>,
    backend: Rc<B>,
    index: usize,
    seed: u64,
    sink: EventSink,
    stop: impl Future<Output = ()>,
) -> Result<(), BackendError> {
    let (main, dlq) = provision(&scenario.queue, &*backend).await?;
    let api = Rc::new(FaultLayer::new(backend, &scenario.faults, seed));
    let ctx = Rc::new(lone_context(
        &scenario,
        api.clone(),
        seed,
        (main, dlq),
        None,
        sink,
    ));
    api.start_at(ctx.origin());
    let run = super::producer::run(ctx.clone(), index);
    tokio::pin!(run);
    tokio::select! {
        biased;
        () = &mut run => {}
        () = stop => {
            ctx.stop_producers(Some(index));
            run.await;
        }
    }
    ctx.take_fatal().map_or(Ok(()), Err)
}
