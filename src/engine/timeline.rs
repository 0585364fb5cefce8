//! The timeline: `[[at]]` entries fire at a time or the first time a condition holds, and act on
//! producers, consumers and queues.

use std::cell::Cell;
use std::rc::Rc;

use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until};

use super::context::RunContext;
use super::event::EventKind;
use super::fleet::Fleet;
use crate::backend::{Backend, BackendErrorKind, QueueRole};
use crate::scenario::{Action, QueueTarget, Target, Trigger};

/// Spawns one task per entry. `pending_timed` counts time-triggered entries not yet fired: the
/// run is not over while one is still due (it may start consumers).
pub fn spawn<B: Backend + 'static>(
    ctx: &Rc<RunContext<B>>,
    fleet: &Rc<Fleet<B>>,
    pending_timed: &Rc<Cell<usize>>,
) -> Vec<JoinHandle<()>> {
    let actor = ctx.actor("timeline");
    ctx.scenario
        .timeline
        .iter()
        .cloned()
        .map(|entry| {
            let (ctx, fleet, pending) = (ctx.clone(), fleet.clone(), pending_timed.clone());
            if matches!(entry.trigger, Trigger::At(_)) {
                pending.set(pending.get() + 1);
            }
            tokio::task::spawn_local(async move {
                match &entry.trigger {
                    Trigger::At(at) => sleep_until(ctx.origin() + *at).await,
                    Trigger::When { condition, poll } => loop {
                        match ctx.live_metric(condition.metric).await {
                            Ok(value) if condition.op.holds(value, condition.value) => break,
                            Ok(_) => sleep(*poll).await,
                            Err(error) => return ctx.fail(error),
                        }
                    },
                }
                tracing::debug!(at = ?ctx.origin().elapsed(), action = ?entry.action, "timeline");
                execute(&ctx, &fleet, actor, &entry.action).await;
                if matches!(entry.trigger, Trigger::At(_)) {
                    pending.set(pending.get() - 1);
                }
                ctx.changed.notify_one();
            })
        })
        .collect()
}

async fn execute<B: Backend + 'static>(
    ctx: &Rc<RunContext<B>>,
    fleet: &Rc<Fleet<B>>,
    actor: super::event::ActorId,
    action: &Action,
) {
    match action {
        Action::Terminate(target) => fleet.terminate(target),
        Action::Kill(target) => fleet.kill(target),
        Action::Start { group, count } => {
            if let Some(g) = fleet.group_index(group) {
                let stagger = ctx.scenario.consumers[g].stagger;
                fleet.start(g, *count, std::time::Duration::ZERO, stagger);
            }
        }
        Action::StopProducer(name) => stop_producer(ctx, name),
        Action::StopAll => {
            for producer in &ctx.scenario.producers {
                stop_producer(ctx, &producer.name);
            }
            fleet.terminate(&Target::All);
        }
        Action::Purge(target) => {
            let (queue, role) = match target {
                QueueTarget::Main => (Some(ctx.main), QueueRole::Main),
                QueueTarget::DeadLetter => (ctx.dlq, QueueRole::DeadLetter),
            };
            let Some(queue) = queue else { return };
            match ctx.backend.purge(queue).await {
                Ok(()) => ctx.record(actor, None, EventKind::PurgeRequested(role)),
                Err(e) if e.kind == BackendErrorKind::PurgeInProgress => {
                    ctx.record(actor, None, EventKind::PurgeFailed(role))
                }
                Err(e) => ctx.fail(e),
            }
        }
        Action::Deploy { group, behavior } => {
            if let Some(g) = fleet.group_index(group) {
                fleet.deploy(g, (**behavior).clone());
                ctx.record(actor, None, EventKind::Deployed);
            }
        }
        Action::Redrive { max_per_second } => {
            let Some(dlq) = ctx.dlq else { return };
            match ctx.backend.start_move_task(dlq, *max_per_second).await {
                Ok(_) => ctx.record(actor, None, EventKind::RedriveStarted),
                Err(e) => {
                    ctx.record(actor, None, EventKind::RedriveFailed);
                    ctx.fail(e);
                }
            }
        }
    }
}

fn stop_producer<B: Backend>(ctx: &RunContext<B>, name: &str) {
    if let Some(i) = ctx.scenario.producers.iter().position(|p| p.name == name) {
        ctx.producer_stopped[i].set(true);
    }
}
