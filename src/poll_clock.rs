//! Tokio's clock, read once per poll of a simulated run.
//!
//! On a paused runtime, time moves only while the runtime parks: between two polls of the future
//! given to `block_on`, never during one. So within one poll every read of
//! `tokio::time::Instant::now()` gives the same instant. Those reads are not free (the runtime
//! handle from a thread-local, then a mutex), and a million-message run makes tens of millions
//! of them, one per event and per backend call. [`ReadOncePerPoll`] wraps a simulated run's
//! top-level future and reads the clock once per poll; [`now`] returns that reading inside it,
//! and reads tokio's clock everywhere else (the wall clock of real backends and `qsim serve`,
//! where time moves during a poll too).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Instant;

thread_local! {
    /// The instant read at the start of the poll under way, inside [`ReadOncePerPoll`].
    static READ_THIS_POLL: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The current instant on tokio's clock.
pub(crate) fn now() -> Instant {
    READ_THIS_POLL.with(Cell::get).unwrap_or_else(Instant::now)
}

/// A future on a paused (virtual-time) runtime whose polls share one reading of the clock.
///
/// Only for the future a paused runtime's `block_on` drives: on the wall clock, or around a
/// future polled by another one, the time would stand still while it should not.
pub(crate) struct ReadOncePerPoll<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> ReadOncePerPoll<F> {
    pub(crate) fn new(inner: F) -> Self {
        ReadOncePerPoll {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for ReadOncePerPoll<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _restore = Restore(READ_THIS_POLL.replace(Some(Instant::now())));
        self.inner.as_mut().poll(cx)
    }
}

/// Puts the previous reading back when a poll ends, by returning or by unwinding: a reading
/// left behind would freeze the clock of whatever runs next on this thread.
struct Restore(Option<Instant>);

impl Drop for Restore {
    fn drop(&mut self) {
        READ_THIS_POLL.set(self.0);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_poll_shares_one_reading_and_the_next_poll_sees_time_moved() {
        let runtime = crate::engine::simulated_runtime().expect("a runtime");
        let readings = runtime.block_on(ReadOncePerPoll::new(async {
            let first = now();
            // Time cannot move within a poll on a paused clock: the reading is the clock's.
            assert_eq!(first, Instant::now());
            tokio::time::sleep(Duration::from_secs(3)).await;
            (first, now(), Instant::now())
        }));
        let (before, after, tokio_after) = readings;
        assert_eq!(after - before, Duration::from_secs(3));
        assert_eq!(after, tokio_after);
    }

    #[test]
    fn outside_a_wrapped_poll_the_clock_is_read_each_time() {
        let runtime = crate::engine::realtime_runtime().expect("a runtime");
        runtime.block_on(async {
            let first = now();
            std::thread::sleep(Duration::from_millis(2));
            assert!(now() > first);
        });
    }

    #[test]
    fn a_panicking_poll_leaves_no_reading_behind() {
        let runtime = crate::engine::simulated_runtime().expect("a runtime");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime.block_on(ReadOncePerPoll::new(async { panic!("a run's bug") }))
        }));
        assert!(panicked.is_err());
        assert_eq!(READ_THIS_POLL.with(Cell::get), None);
    }
}
