//! The consumer fleet: starts, terminates, kills and restarts consumer instances, and knows which
//! are alive. The timeline and the autoscaler act on consumers only through it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::sleep;

use super::child_instance;
use super::consumer::{Consumer, ConsumerEnd, Control, GroupShared};
use super::context::RunContext;
use super::event::{ActorId, EventKind};
use crate::backend::Backend;
use crate::rng;
use crate::scenario::{ConsumerBehavior, GroupIx, Target};

/// Final state of an instance, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum InstanceState {
    Pending,
    Running,
    ExitedClean,
    Crashed,
    Killed,
    /// Still running when the run ended (timeout or a backend failure).
    Abandoned,
}

struct Instance {
    group: GroupIx,
    /// Its number in its group (`worker-2` is 2), 1-based.
    index: u32,
    actor: ActorId,
    control: Rc<Control>,
    task: Option<JoinHandle<()>>,
    state: InstanceState,
    /// Restarts so far: each incarnation draws from its own random stream.
    incarnation: u32,
}

pub(super) struct Fleet<B> {
    ctx: Rc<RunContext<B>>,
    groups: Vec<Rc<GroupShared>>,
    /// By instance name (`worker-1`); BTreeMap so "terminate all" acts in a stable order.
    instances: RefCell<BTreeMap<String, Instance>>,
    next_index: RefCell<Vec<u32>>,
}

impl<B: Backend + 'static> Fleet<B> {
    pub(super) fn new(ctx: Rc<RunContext<B>>) -> Rc<Self> {
        let groups = ctx
            .scenario()
            .consumers
            .iter()
            .map(|g| Rc::new(GroupShared::new(g)))
            .collect();
        let next_index = RefCell::new(vec![0; ctx.scenario().consumers.len()]);
        Rc::new(Fleet {
            ctx,
            groups,
            instances: RefCell::new(BTreeMap::new()),
            next_index,
        })
    }

    /// Starts `count` new instances of `group` after `delay` (the k-th after `k * stagger` more).
    pub(super) fn start(
        self: &Rc<Self>,
        group: GroupIx,
        count: u32,
        delay: Duration,
        stagger: Duration,
    ) {
        for k in 0..count {
            let index = {
                let mut next = self.next_index.borrow_mut();
                next[group.0] += 1;
                next[group.0]
            };
            let name = format!("{}-{index}", self.ctx.scenario().group(group).name);
            let actor = self.ctx.actor(&name);
            let control = Rc::new(Control::default());
            self.instances.borrow_mut().insert(
                name.clone(),
                Instance {
                    group,
                    index,
                    actor,
                    control,
                    task: None,
                    state: InstanceState::Pending,
                    incarnation: 0,
                },
            );
            self.spawn(name, delay.saturating_add(stagger.saturating_mul(k)));
        }
    }

    fn spawn(self: &Rc<Self>, name: String, delay: Duration) {
        let fleet = self.clone();
        let task_name = name.clone();
        let task = tokio::task::spawn_local(async move {
            if !delay.is_zero() {
                sleep(delay).await;
            }
            fleet.run_instance(task_name).await;
        });
        if let Some(instance) = self.instances.borrow_mut().get_mut(&name) {
            instance.task = Some(task);
        }
    }

    async fn run_instance(self: Rc<Self>, name: String) {
        let (group, actor, control, incarnation) = {
            let mut instances = self.instances.borrow_mut();
            let Some(instance) = instances.get_mut(&name) else {
                return;
            };
            if instance.control.is_terminating() {
                // Terminated before it started: it never runs.
                instance.state = InstanceState::ExitedClean;
                drop(instances);
                self.ctx.notify_changed();
                return;
            }
            instance.state = InstanceState::Running;
            (
                instance.group,
                instance.actor,
                instance.control.clone(),
                instance.incarnation,
            )
        };
        let ctx = self.ctx.clone();
        ctx.record(actor, None, EventKind::ConsumerStarted);
        ctx.count(|live| live.consumers += 1);
        let end = if ctx.scenario().group(group).execution.is_child_process() {
            let shared = &self.groups[group.0];
            child_instance::run(&ctx, group, &name, actor, &control, shared, incarnation).await
        } else {
            let stream = rng::stream(ctx.seed(), &format!("consumer:{name}#{incarnation}"));
            let consumer = Consumer::new(
                ctx.clone(),
                group,
                actor,
                control,
                self.groups[group.0].clone(),
                stream,
            );
            consumer.run().await
        };
        if end == ConsumerEnd::Killed {
            // `kill` recorded it and updated the counters, as for an aborted task.
            ctx.notify_changed();
            return;
        }
        ctx.count(|live| live.consumers -= 1);

        let restart_after = self.groups[group.0].behavior.borrow().chaos.restart_after;
        let state = match end {
            ConsumerEnd::Exited(reason) => {
                ctx.record(actor, None, EventKind::Exited(reason));
                InstanceState::ExitedClean
            }
            ConsumerEnd::Crashed(_) => {
                ctx.count(|live| live.crashes += 1);
                InstanceState::Crashed
            }
            ConsumerEnd::Failed | ConsumerEnd::Killed => InstanceState::Abandoned,
        };
        let restart = state == InstanceState::Crashed && restart_after.is_some();
        if let Some(instance) = self.instances.borrow_mut().get_mut(&name) {
            instance.state = if restart {
                InstanceState::Pending
            } else {
                state
            };
            instance.incarnation += u32::from(restart);
        }
        if let (true, Some(after)) = (restart, restart_after) {
            self.spawn(name, after);
        }
        ctx.notify_changed();
    }

    fn matching(&self, target: &Target) -> Vec<String> {
        let instances = self.instances.borrow();
        instances
            .iter()
            .filter(|(_, instance)| match *target {
                Target::All => true,
                Target::Group(group) => instance.group == group,
                Target::Instance { group, index } => {
                    instance.group == group && instance.index == index
                }
            })
            .filter(|(_, i)| matches!(i.state, InstanceState::Pending | InstanceState::Running))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// SIGTERM: each matching instance finishes the message in hand, then exits cleanly.
    pub(super) fn terminate(&self, target: &Target) {
        for name in self.matching(target) {
            let instances = self.instances.borrow();
            let instance = &instances[&name];
            self.ctx
                .record(instance.actor, None, EventKind::ShutdownRequested);
            instance.control.terminate();
        }
    }

    /// SIGKILL: matching instances stop at once; what they held returns after its timeout.
    pub(super) fn kill(&self, target: &Target) {
        for name in self.matching(target) {
            let mut instances = self.instances.borrow_mut();
            let instance = instances.get_mut(&name).expect("matched above");
            let child = self
                .ctx
                .scenario()
                .group(instance.group)
                .execution
                .is_child_process();
            if child && instance.state == InstanceState::Running {
                // A real SIGKILL: the task reaps the process and merges its last lines.
                instance.control.kill();
            } else if let Some(task) = instance.task.take() {
                task.abort();
            }
            if instance.state == InstanceState::Running {
                self.ctx.count(|live| {
                    live.consumers -= 1;
                    live.crashes += 1;
                });
            }
            instance.state = InstanceState::Killed;
            self.ctx.record(instance.actor, None, EventKind::Killed);
        }
        self.ctx.notify_changed();
    }

    /// Replaces a group's behaviour for its running and future instances.
    pub(super) fn deploy(&self, group: GroupIx, behavior: ConsumerBehavior) {
        *self.groups[group.0].behavior.borrow_mut() = Rc::new(behavior);
    }

    /// The numbers of the instances pending or running in `group`.
    pub(super) fn alive_in(&self, group: GroupIx) -> Vec<u32> {
        self.instances
            .borrow()
            .values()
            .filter(|i| i.group == group)
            .filter(|i| matches!(i.state, InstanceState::Pending | InstanceState::Running))
            .map(|i| i.index)
            .collect()
    }

    pub(super) fn any_alive(&self) -> bool {
        self.instances
            .borrow()
            .values()
            .any(|i| matches!(i.state, InstanceState::Pending | InstanceState::Running))
    }

    /// Stops every task (run over): instances still alive are recorded as abandoned.
    pub(super) fn abandon_all(&self) -> BTreeMap<String, (GroupIx, InstanceState)> {
        let mut instances = self.instances.borrow_mut();
        for instance in instances.values_mut() {
            if let Some(task) = instance.task.take() {
                task.abort();
            }
            if matches!(
                instance.state,
                InstanceState::Pending | InstanceState::Running
            ) {
                instance.state = InstanceState::Abandoned;
            }
        }
        instances
            .iter()
            .map(|(n, i)| (n.clone(), (i.group, i.state)))
            .collect()
    }
}
