//! Message move tasks (StartMessageMoveTask / ListMessageMoveTasks): a DLQ's messages go back to
//! the queues they were redriven from, as new messages, at up to the task's rate.
//!
//! Progress is computed lazily from virtual time: move number `k` (from 0) happens at
//! `started + (k + 1) / rate`, and every backend call first performs the moves due by its moment,
//! in order, so the result is the same as a background task's without needing one. A waiting
//! long poll sleeps at most until the next move is due, and starting a task wakes the long polls
//! of the queues it returns messages to, so a moved message wakes a receive at its arrival.
//!
//! Invariants: at most one running task per DLQ; `running` counts the running tasks, so calls pay
//! nothing when none runs. A task completes when it moved what was visible at its start, or
//! finds nothing deliverable when a move is due; it fails on a message that was never redriven
//! (sent to the DLQ directly), which stays in the DLQ.

use std::sync::Arc;

use crate::backend::{BackendErrorKind, MoveTask, MoveTaskState, QueueId};

use super::clock::Moment;
use super::limits::invalid;
use super::queue::Queue;

/// A task just started on `dlq`: long polls already waiting on the queues it returns messages
/// to planned their wake-up without its moves (see `SimBackend::try_receive`). Wake them so they
/// plan again and return at the first move instead of at the end of their wait.
pub(super) fn wake_destinations(queues: &[Queue], dlq: QueueId) {
    for queue in queues
        .iter()
        .filter(|q| q.spec.redrive.is_some_and(|r| r.dlq == dlq))
    {
        queue.notify.notify_waiters();
    }
}

#[derive(Debug)]
struct TaskRun {
    handle: Arc<str>,
    dlq: QueueId,
    per_second: u32,
    started_at: Moment,
    to_move: u64,
    moved: u64,
    state: MoveTaskState,
}

impl TaskRun {
    fn next_move_at(&self) -> Moment {
        let nanos = (u128::from(self.moved) + 1) * 1_000_000_000;
        let offset = nanos.div_ceil(u128::from(self.per_second));
        Moment::from_nanos(
            self.started_at
                .nanos()
                .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX)),
        )
    }

    fn report(&self) -> MoveTask {
        MoveTask {
            handle: Arc::clone(&self.handle),
            state: self.state,
            moved: self.moved,
            to_move: Some(self.to_move),
        }
    }

    fn end(&mut self, state: MoveTaskState, running: &mut usize) {
        self.state = state;
        *running -= 1;
    }
}

#[derive(Debug, Default)]
pub(super) struct MoveTasks {
    /// Every task ever started, in start order.
    tasks: Vec<TaskRun>,
    running: usize,
}

impl MoveTasks {
    /// Starts a task on `dlq`, whose deliverable messages (`to_move`) it will move.
    pub(super) fn start(
        &mut self,
        dlq: QueueId,
        per_second: u32,
        now: Moment,
        to_move: u64,
        handle: Arc<str>,
    ) -> Result<MoveTask, BackendErrorKind> {
        if self
            .tasks
            .iter()
            .any(|t| t.dlq == dlq && t.state == MoveTaskState::Running)
        {
            return Err(invalid(
                "a message move task is already running on this queue",
            ));
        }
        let mut task = TaskRun {
            handle,
            dlq,
            per_second,
            started_at: now,
            to_move,
            moved: 0,
            state: MoveTaskState::Running,
        };
        let report = task.report();
        self.running += 1;
        if to_move == 0 {
            task.end(MoveTaskState::Completed, &mut self.running);
        }
        self.tasks.push(task);
        Ok(report)
    }

    /// The most recent task started on `dlq`.
    pub(super) fn latest(&self, dlq: QueueId) -> Option<MoveTask> {
        self.tasks
            .iter()
            .rev()
            .find(|t| t.dlq == dlq)
            .map(TaskRun::report)
    }

    /// When the next move of any running task is due.
    pub(super) fn next_move_at(&self) -> Option<Moment> {
        if self.running == 0 {
            return None;
        }
        self.tasks
            .iter()
            .filter(|t| t.state == MoveTaskState::Running)
            .map(TaskRun::next_move_at)
            .min()
    }

    /// Performs every move due by `now`.
    pub(super) fn catch_up(&mut self, queues: &mut [Queue], now: Moment) {
        if self.running == 0 {
            return;
        }
        for task in &mut self.tasks {
            while task.state == MoveTaskState::Running {
                let at = task.next_move_at();
                if at > now {
                    break;
                }
                let dlq = &mut queues[task.dlq.0];
                dlq.advance(at);
                let Some(message) = dlq.take_for_move() else {
                    task.end(MoveTaskState::Completed, &mut self.running);
                    break;
                };
                let Some(origin) = message.origin else {
                    dlq.put_back(message);
                    dlq.notify_if_woken();
                    task.end(MoveTaskState::Failed, &mut self.running);
                    break;
                };
                let destination = &mut queues[origin.0];
                destination.arrive_moved(at, message);
                destination.notify_if_woken();
                task.moved += 1;
                if task.moved == task.to_move {
                    task.end(MoveTaskState::Completed, &mut self.running);
                }
            }
        }
    }
}
