//! The asynchronous PurgeQueue window.
//!
//! At the call every stored message is deleted at once; then a seeded window runs during which a
//! second purge fails with PurgeQueueInProgress. Messages sent during the window are recorded and,
//! when it ends, each one still stored is deleted with probability 1/2: what a producer loses
//! depends on when it sent, as with SQS's "might be deleted while the purge runs".

use super::clock::Moment;

#[derive(Debug, Default)]
pub(super) struct PurgeWindow {
    until: Option<Moment>,
    /// `(slot, seq)` of the messages sent while the window runs.
    sent_during: Vec<(u32, u64)>,
}

impl PurgeWindow {
    pub(super) fn running(&self, now: Moment) -> bool {
        self.until.is_some_and(|until| until > now)
    }

    pub(super) fn start(&mut self, now: Moment, length: std::time::Duration) {
        self.until = Some(now.after(length));
        self.sent_during.clear();
    }

    pub(super) fn record_send(&mut self, now: Moment, slot: u32, seq: u64) {
        if self.running(now) {
            self.sent_during.push((slot, seq));
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
