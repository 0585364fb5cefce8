//! Seeded fault injection on standard queues (the [`SimKnobs`]): duplicate delivery and
//! reordering. With every knob at zero no random number is drawn, so enabling a knob on one queue
//! never shifts the draws of another, and an idealised queue costs nothing extra.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::backend::SimKnobs;

#[derive(Debug)]
pub(super) struct Faults {
    knobs: SimKnobs,
    rng: ChaCha8Rng,
}

impl Faults {
    pub(super) fn new(knobs: SimKnobs, rng: ChaCha8Rng) -> Faults {
        Faults { knobs, rng }
    }

    /// Which of the first `len` visible positions a receive slot takes: 0 (the head) unless
    /// reordering strikes.
    pub(super) fn pick(&mut self, len: usize) -> usize {
        let window = (self.knobs.reorder_window as usize).min(len);
        if self.knobs.reorder_rate > 0.0
            && window > 1
            && self.rng.random_bool(self.knobs.reorder_rate.min(1.0))
        {
            self.rng.random_range(0..window)
        } else {
            0
        }
    }

    /// Whether a delivery leaves a second copy behind.
    pub(super) fn duplicate(&mut self) -> bool {
        self.knobs.duplicate_rate > 0.0 && self.rng.random_bool(self.knobs.duplicate_rate.min(1.0))
    }

    /// The seeded length of an asynchronous purge, within `[0, purge_window]`.
    pub(super) fn purge_window(&mut self) -> std::time::Duration {
        let max = u64::try_from(self.knobs.purge_window.as_nanos()).unwrap_or(u64::MAX);
        std::time::Duration::from_nanos(self.rng.random_range(0..=max))
    }

    /// A fair coin for each message sent while a purge ran.
    pub(super) fn coin(&mut self) -> bool {
        self.rng.random_bool(0.5)
    }
}
