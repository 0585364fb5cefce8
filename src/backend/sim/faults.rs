//! The seeded choices of one queue within its [`Envelope`]: where SQS's documentation says "may"
//! or "might", this decides, per occasion, which side the queue takes.
//!
//! Each latitude draws from its own stream (derived from the seed and the queue), so changing one
//! rate never shifts the draws of another, and a latitude at zero draws nothing: the ideal
//! profile costs nothing and its runs equal those of the idealised simulator before the envelope.
//! Counter lag is a function of time rather than a stream, so how often something reads the
//! counters (a progress display, a trigger) never changes what the run does.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::rng::stream;
use crate::sqs::envelope::Envelope;

#[derive(Debug)]
pub(super) struct Faults {
    envelope: Envelope,
    /// Reordering, duplicates, the purge's length and its coins (the original fault stream).
    rng: ChaCha8Rng,
    purge_reach: ChaCha8Rng,
    receive: ChaCha8Rng,
    receipts: ChaCha8Rng,
    /// Seeds the lag of each second's counter readings.
    counters: u64,
}

impl Faults {
    /// The choices of the queue whose streams are named after `base` in a run seeded `seed`.
    pub(super) fn new(envelope: Envelope, seed: u64, base: &str) -> Faults {
        let named = |latitude: &str| stream(seed, &format!("sim-{base}-{latitude}"));
        Faults {
            envelope,
            rng: named("faults"),
            purge_reach: named("purge-reach"),
            receive: named("receive"),
            receipts: named("receipts"),
            counters: named("counters").random(),
        }
    }

    /// Which of the first `len` visible positions a receive slot takes: 0 (the head) unless
    /// reordering strikes.
    pub(super) fn pick(&mut self, len: usize) -> usize {
        let window = (self.envelope.reorder_window as usize).min(len);
        if window > 1 && chance(&mut self.rng, self.envelope.reorder_rate) {
            self.rng.random_range(0..window)
        } else {
            0
        }
    }

    /// Whether a delivery leaves a second copy behind.
    pub(super) fn duplicate(&mut self) -> bool {
        chance(&mut self.rng, self.envelope.duplicate_rate)
    }

    /// The seeded length of an asynchronous purge, within `[0, purge_window]`.
    pub(super) fn purge_window(&mut self) -> Duration {
        let max = u64::try_from(self.envelope.purge_window.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.random_range(0..=max))
    }

    /// A fair coin for each message sent while a purge ran.
    pub(super) fn coin(&mut self) -> bool {
        self.rng.random_bool(0.5)
    }

    /// For a message stored when a purge of length `length` was called: `None` to delete it at
    /// the call, or how long after the call it lingers before the purge deletes it.
    pub(super) fn purge_reach(&mut self, length: Duration) -> Option<Duration> {
        if !chance(&mut self.purge_reach, self.envelope.purge_reach_rate) {
            return None;
        }
        let max = u64::try_from(length.as_nanos()).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(self.purge_reach.random_range(0..=max)))
    }

    /// How many messages a receive asking for `max` may return: `max`, or when the latitude
    /// strikes fewer (a short poll possibly none, a long poll at least one).
    pub(super) fn receive_cap(&mut self, max: usize, short_poll: bool) -> usize {
        if !chance(&mut self.receive, self.envelope.partial_receive_rate) {
            return max;
        }
        let least = usize::from(!short_poll);
        if max <= least {
            return max;
        }
        self.receive.random_range(least..max)
    }

    /// Whether a delete or visibility change with a superseded receipt takes effect.
    pub(super) fn stale_receipt_acts(&mut self) -> bool {
        chance(&mut self.receipts, self.envelope.stale_receipt_rate)
    }

    /// How far behind the counters read in the second `second` of the run are. Every reading
    /// within one second lags the same, as if served by the same stale replica.
    pub(super) fn counter_lag(&self, second: u64) -> Duration {
        let max = u64::try_from(self.envelope.counter_lag.as_nanos()).unwrap_or(u64::MAX);
        if max == 0 {
            return Duration::ZERO;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.counters ^ second.rotate_left(29));
        Duration::from_nanos(rng.random_range(0..=max))
    }

    pub(super) fn tracks_counters(&self) -> bool {
        !self.envelope.counter_lag.is_zero()
    }
}

/// Draws only when `rate` is above zero, so a latitude switched off leaves its stream untouched.
fn chance(rng: &mut ChaCha8Rng, rate: f64) -> bool {
    rate > 0.0 && rng.random_bool(rate.min(1.0))
}
