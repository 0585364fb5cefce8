//! Virtual time for the simulator: a [`Moment`] is nanoseconds since the backend was created,
//! read from `tokio::time::Instant`, which is virtual on a paused runtime.
//!
//! Invariants: the simulator never reads the wall clock; moments only grow within a run, so state
//! can be advanced lazily ("what happened between the last call and now") without missing events.

use std::time::Duration;

use tokio::time::Instant;

/// A point in simulated time, in nanoseconds since the backend's origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Moment(u64);

impl Moment {
    pub(super) const ZERO: Moment = Moment(0);

    pub(super) fn after(self, duration: Duration) -> Moment {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Moment(self.0.saturating_add(nanos))
    }

    pub(super) fn from_nanos(nanos: u64) -> Moment {
        Moment(nanos)
    }

    pub(super) fn nanos(self) -> u64 {
        self.0
    }
}

/// Converts between tokio instants and moments relative to one origin.
#[derive(Debug)]
pub(super) struct Clock {
    origin: Instant,
}

impl Clock {
    pub(super) fn start() -> Clock {
        Clock {
            origin: Instant::now(),
        }
    }

    pub(super) fn now(&self) -> Moment {
        Moment::ZERO.after(crate::poll_clock::now().saturating_duration_since(self.origin))
    }

    pub(super) fn instant(&self, moment: Moment) -> Instant {
        self.origin + Duration::from_nanos(moment.0)
    }
}
