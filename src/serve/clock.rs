//! The server's one clock: tokio's (which the simulator reads too, in real time here), anchored
//! to the wall clock once at start, so timestamps (SentTimestamp, CreatedTimestamp) and the
//! history's `t_ms` agree with the simulator's timers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

#[derive(Clone, Copy, Debug)]
pub(crate) struct WallClock {
    start: Instant,
    start_unix_ms: u64,
}

impl WallClock {
    /// Anchors the clock now (inside the server's runtime).
    pub(crate) fn start() -> WallClock {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        WallClock {
            start: Instant::now(),
            start_unix_ms: since_epoch.as_millis() as u64,
        }
    }

    /// When the clock started: `t_ms` 0 of the history.
    pub(crate) fn origin(&self) -> Instant {
        self.start
    }

    /// Milliseconds since the Unix epoch.
    pub(crate) fn unix_ms(&self) -> u64 {
        self.start_unix_ms + self.elapsed_of(Instant::now()).as_millis() as u64
    }

    /// How long after the start `at` is.
    pub(crate) fn elapsed_of(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }
}
