//! The run as a whole: its consumers and the DLQ's move task.

use super::{Evaluated, Input, number};

pub(super) fn peak_consumers(input: &Input) -> Evaluated {
    number(input.outcome.peak_consumers as f64)
}

pub(super) fn crashed(input: &Input) -> Evaluated {
    number(input.facts.crashes as f64)
}

pub(super) fn exited_clean(input: &Input) -> Evaluated {
    number(input.facts.clean_exits as f64)
}

pub(super) fn redriven(input: &Input) -> Evaluated {
    number(input.facts.redriven as f64)
}
