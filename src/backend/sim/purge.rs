//! The asynchronous PurgeQueue.
//!
//! SQS takes up to 60 s to purge: messages sent before the call "might be received" until they
//! are deleted within that minute, and messages sent while it runs "might be deleted" too
//! (docs/sqs-semantics.md, PurgeQueue). Here a purge has a seeded length; each message stored at
//! the call is deleted at once or, when the purge-reach latitude strikes, lingers until a seeded
//! moment within that length; each message sent while it runs is deleted or kept by a fair coin
//! when it ends. A second purge is refused for 60 s after the last call, whatever the length.

use std::time::Duration;

use super::clock::Moment;
use crate::sqs::facts::PURGE_WINDOW;

#[derive(Debug, Default)]
pub(super) struct PurgeWindow {
    called: Option<Moment>,
    until: Option<Moment>,
    /// `(slot, seq)` of the messages sent while the window runs.
    sent_during: Vec<(u32, u64)>,
    /// `(deleted at, slot, seq)` of messages stored at the call that linger, latest first.
    lingering: Vec<(Moment, u32, u64)>,
}

impl PurgeWindow {
    /// Whether a purge called at `now` fails with PurgeQueueInProgress.
    pub(super) fn refuses(&self, now: Moment) -> bool {
        self.called
            .is_some_and(|called| called.after(PURGE_WINDOW) > now)
    }

    fn running(&self, now: Moment) -> bool {
        self.until.is_some_and(|until| until > now)
    }

    pub(super) fn start(
        &mut self,
        now: Moment,
        length: Duration,
        mut lingering: Vec<(Moment, u32, u64)>,
    ) {
        self.called = Some(now);
        self.until = Some(now.after(length));
        self.sent_during.clear();
        lingering.sort_unstable_by(|a, b| b.cmp(a));
        self.lingering = lingering;
    }

    pub(super) fn record_send(&mut self, now: Moment, slot: u32, seq: u64) {
        if self.running(now) {
            self.sent_during.push((slot, seq));
        }
    }

    /// The next lingering message whose deletion is due by `now`.
    pub(super) fn pop_lingering(&mut self, now: Moment) -> Option<(Moment, u32, u64)> {
        match self.lingering.last() {
            Some((at, _, _)) if *at <= now => self.lingering.pop(),
            _ => None,
        }
    }

    /// When the window has ended by `now`: the moment it ended and the messages it may still
    /// delete.
    pub(super) fn take_ended(&mut self, now: Moment) -> Option<(Moment, Vec<(u32, u64)>)> {
        match self.until {
            Some(until) if until <= now => {
                self.until = None;
                Some((until, std::mem::take(&mut self.sent_during)))
            }
            _ => None,
        }
    }
}
