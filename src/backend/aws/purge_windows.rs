//! SQS's one-purge-per-60-s rule, remembered across the runs of one process.
//!
//! A PurgeQueue call on AWS starts a purge that takes up to 60 s: messages sent meanwhile may be
//! deleted, and a second purge fails with PurgeQueueInProgress. Pre-provisioned queues outlive a
//! run, so the next run in the same process (`qsim run-all --resources ...`) must know when the
//! last purge of a queue settles: [`PurgeWindows`] maps a queue ARN to that moment.
//!
//! Invariants: a recorded window is never shortened (a later record that settles earlier is
//! ignored); on an endpoint without the asynchronous purge, windows are zero-length, so nothing
//! ever waits for them, unless the endpoint itself answered PurgeQueueInProgress.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::time::Instant;

/// When the latest purge of each queue settles, by queue ARN.
#[derive(Debug, Default)]
pub(crate) struct PurgeWindows(Mutex<BTreeMap<String, Instant>>);

/// The process-wide record: every backend of the process shares it.
pub(crate) static PURGE_WINDOWS: PurgeWindows = PurgeWindows::new();

impl PurgeWindows {
    pub(crate) const fn new() -> Self {
        PurgeWindows(Mutex::new(BTreeMap::new()))
    }

    /// A purge of `arn` that settles at `settles_at`.
    pub(crate) fn record(&self, arn: &str, settles_at: Instant) {
        let mut windows = self.lock();
        let entry = windows.entry(arn.to_owned()).or_insert(settles_at);
        *entry = (*entry).max(settles_at);
    }

    /// When the latest recorded purge of `arn` settles, if that is still ahead of `now`.
    pub(crate) fn pending(&self, arn: &str, now: Instant) -> Option<Instant> {
        self.lock()
            .get(arn)
            .copied()
            .filter(|settles_at| *settles_at > now)
    }

    /// A poisoned lock only means another thread panicked while holding it; the map itself is
    /// always consistent (every update is a single insert).
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Instant>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::sqs::facts::PURGE_WINDOW;

    #[tokio::test(start_paused = true)]
    async fn a_window_is_pending_until_it_settles() {
        let windows = PurgeWindows::new();
        let start = Instant::now();
        assert_eq!(windows.pending("arn:q", start), None, "never purged");
        windows.record("arn:q", start + PURGE_WINDOW);
        assert_eq!(
            windows.pending("arn:q", start + Duration::from_secs(59)),
            Some(start + PURGE_WINDOW)
        );
        assert_eq!(windows.pending("arn:q", start + PURGE_WINDOW), None);
        assert_eq!(windows.pending("arn:other", start), None, "per queue");
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_record_never_shortens_a_window() {
        let windows = PurgeWindows::new();
        let start = Instant::now();
        windows.record("arn:q", start + PURGE_WINDOW);
        // A zero-length window recorded afterwards (an emulator's purge) does not cancel it.
        windows.record("arn:q", start + Duration::from_secs(5));
        assert_eq!(
            windows.pending("arn:q", start + Duration::from_secs(30)),
            Some(start + PURGE_WINDOW)
        );
        windows.record("arn:q", start + Duration::from_secs(90));
        assert_eq!(
            windows.pending("arn:q", start + Duration::from_secs(70)),
            Some(start + Duration::from_secs(90))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_length_window_is_never_pending() {
        let windows = PurgeWindows::new();
        let now = Instant::now();
        windows.record("arn:q", now);
        assert_eq!(windows.pending("arn:q", now), None);
    }
}
