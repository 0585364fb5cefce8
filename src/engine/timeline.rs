//! The timeline: `[[at]]` entries fire at a time or the first time a condition holds, and act on
//! producers, consumers and queues.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until};

use super::context::RunContext;
use super::event::EventKind;
use super::fleet::Fleet;
use crate::backend::{Backend, BackendError, BackendErrorKind, QueueRole};
use crate::scenario::{Action, Target, Trigger};

/// What the timeline may still do. The run is not over while a timed entry is due, or while an
/// unfired `when` entry's condition holds (its next poll will act, e.g. start consumers).
#[derive(Default)]
pub(super) struct Pending {
    timed: Cell<usize>,
    /// `when` entries (by index in the timeline) that have not acted yet.
    conditions: RefCell<BTreeSet<usize>>,
}

impl Pending {
    pub(super) async fn may_still_act<B: Backend>(
        &self,
        ctx: &RunContext<B>,
    ) -> Result<bool, BackendError> {
        if self.timed.get() > 0 {
            return Ok(true);
        }
        let unfired: Vec<usize> = self.conditions.borrow().iter().copied().collect();
        for index in unfired {
            if let Trigger::When { condition, .. } = &ctx.scenario().timeline[index].trigger {
                let value = ctx.settled_metric(condition.metric).await?;
                if condition.op.holds(value, condition.value) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

/// Spawns one task per entry; `pending` tracks what has not acted yet.
pub(super) fn spawn<B: Backend + 'static>(
    ctx: &Rc<RunContext<B>>,
    fleet: &Rc<Fleet<B>>,
    pending: &Rc<Pending>,
) -> Vec<JoinHandle<()>> {
    let actor = ctx.actor("timeline");
    ctx.scenario()
        .timeline
        .iter()
        .cloned()
        .enumerate()
        .map(|(index, entry)| {
            let (ctx, fleet, pending) = (ctx.clone(), fleet.clone(), pending.clone());
            match entry.trigger {
                Trigger::At(_) => pending.timed.set(pending.timed.get() + 1),
                Trigger::When { .. } => {
                    pending.conditions.borrow_mut().insert(index);
                }
            }
            tokio::task::spawn_local(async move {
                match &entry.trigger {
                    Trigger::At(at) => sleep_until(ctx.at(*at)).await,
                    Trigger::When { condition, poll } => loop {
                        match ctx.live_metric(condition.metric).await {
                            Ok(value) if condition.op.holds(value, condition.value) => break,
                            Ok(_) => sleep(*poll).await,
                            Err(error) => return ctx.fail(error),
                        }
                    },
                }
                tracing::debug!(at = ?ctx.elapsed(), action = ?entry.action, "timeline");
                execute(&ctx, &fleet, actor, &entry.action).await;
                match entry.trigger {
                    Trigger::At(_) => pending.timed.set(pending.timed.get() - 1),
                    Trigger::When { .. } => {
                        pending.conditions.borrow_mut().remove(&index);
                    }
                }
                ctx.notify_changed();
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
            let stagger = ctx.scenario().group(*group).stagger;
            fleet.start(*group, *count, std::time::Duration::ZERO, stagger);
        }
        Action::StopProducer(producer) => ctx.stop_producers(Some(producer.0)),
        Action::StopAll => {
            ctx.stop_producers(None);
            fleet.terminate(&Target::All);
        }
        Action::Purge(role) => {
            let role = *role;
            let queue = match role {
                QueueRole::Main => Some(ctx.main()),
                QueueRole::DeadLetter => ctx.dlq(),
            };
            let Some(queue) = queue else { return };
            ctx.take_transitions();
            match ctx.backend().purge(queue).await {
                Ok(()) => ctx.record_cause(actor, None, EventKind::PurgeRequested(role)),
                Err(e) if e.kind == BackendErrorKind::PurgeInProgress => {
                    ctx.record(actor, None, EventKind::PurgeFailed(role))
                }
                Err(e) => ctx.fail(e),
            }
        }
        Action::Deploy { group, behavior } => {
            fleet.deploy(*group, (**behavior).clone());
            ctx.record(actor, None, EventKind::Deployed);
        }
        Action::Redrive { max_per_second } => {
            let Some(dlq) = ctx.dlq() else { return };
            match ctx.backend().start_move_task(dlq, *max_per_second).await {
                Ok(_) => ctx.record(actor, None, EventKind::RedriveStarted),
                // Refused (a task is already running, as SQS allows one per queue): part of the
                // scenario, like a purge within 60 s of the last.
                Err(e) if e.kind.is_refusal() => ctx.record(actor, None, EventKind::RedriveFailed),
                Err(e) => {
                    ctx.record(actor, None, EventKind::RedriveFailed);
                    ctx.fail(e);
                }
            }
        }
    }
}
