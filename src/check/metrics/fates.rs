//! Where messages ended up (their [`Fate`]) and how often they were delivered.

use super::{Evaluated, Input, Value, number};
use crate::check::facts::Fate;

pub(super) fn sent(input: &Input) -> Evaluated {
    input.count(|i| input.message(i).sent)
}

pub(super) fn received(input: &Input) -> Evaluated {
    number(
        input
            .in_scope()
            .map(|i| f64::from(input.message(i).deliveries))
            .sum(),
    )
}

pub(super) fn processed(input: &Input) -> Evaluated {
    with_fate(input, Fate::Processed)
}

pub(super) fn lost(input: &Input) -> Evaluated {
    with_fate(input, Fate::Lost)
}

pub(super) fn unexpected(input: &Input) -> Evaluated {
    number(input.facts.unexpected as f64)
}

pub(super) fn redelivered(input: &Input) -> Evaluated {
    input.count(|i| input.message(i).deliveries > 1)
}

pub(super) fn acked_failures(input: &Input) -> Evaluated {
    input.count(|i| {
        let m = input.message(i);
        input.facts.fate(i) == Fate::Processed && m.rejected && m.effects == 0
    })
}

pub(super) fn prefetch_expired(input: &Input) -> Evaluated {
    input.count(|i| input.message(i).prefetch_expired)
}

pub(super) fn throttled(input: &Input) -> Evaluated {
    input.count(|i| input.message(i).throttled)
}

pub(super) fn dlq(input: &Input) -> Evaluated {
    with_fate(input, Fate::Dlq)
}

pub(super) fn poison_in_dlq(input: &Input) -> Evaluated {
    input.count(|i| input.facts.fate(i) == Fate::Dlq && input.meta(i).poison)
}

pub(super) fn good_in_dlq(input: &Input) -> Evaluated {
    input.count(|i| input.facts.fate(i) == Fate::Dlq && !input.meta(i).poison)
}

pub(super) fn dlq_receives_min(input: &Input) -> Evaluated {
    input.extreme_deliveries(|i| input.facts.fate(i) == Fate::Dlq, false)
}

pub(super) fn dlq_receives_max(input: &Input) -> Evaluated {
    input.extreme_deliveries(|i| input.facts.fate(i) == Fate::Dlq, true)
}

pub(super) fn remaining(input: &Input) -> Evaluated {
    with_fate(input, Fate::Remaining)
}

pub(super) fn queue_empty(input: &Input) -> Evaluated {
    let (n, involved) = input.ids(|i| matches!(input.facts.fate(i), Fate::Remaining | Fate::Dlq));
    Evaluated {
        value: Value::Bool(n == 0 && input.facts.unexpected == 0),
        involved,
    }
}

pub(super) fn purged(input: &Input) -> Evaluated {
    with_fate(input, Fate::Purged)
}

pub(super) fn stale(input: &Input) -> Evaluated {
    with_fate(input, Fate::Stale)
}

pub(super) fn deduplicated(input: &Input) -> Evaluated {
    with_fate(input, Fate::Deduplicated)
}

pub(super) fn expired(input: &Input) -> Evaluated {
    with_fate(input, Fate::Expired)
}

pub(super) fn min_attempts(input: &Input) -> Evaluated {
    input.extreme_deliveries(|i| input.facts.fate(i) == Fate::Processed, false)
}

pub(super) fn max_attempts(input: &Input) -> Evaluated {
    input.extreme_deliveries(|i| input.facts.fate(i) == Fate::Processed, true)
}

pub(super) fn oldest_age_seconds(input: &Input) -> Evaluated {
    // Signed: a copy a hidden send left can be received before the retry's `sent` line.
    let oldest = input
        .in_scope()
        .filter_map(|i| {
            let message = input.message(i);
            Some(message.first_received_us? as i64 - message.sent_us as i64)
        })
        .max()
        .unwrap_or(0)
        .max(0);
    number(oldest as f64 / 1e6)
}

pub(super) fn rejected_sends(input: &Input) -> Evaluated {
    // A send that was made and refused (a `send-failed` line); a message whose business record
    // could not be written was never handed to the queue, so it is not sent and not refused.
    input.count(|i| input.facts.fate(i) == Fate::NotSent && input.facts.messages[i].send_failed)
}

fn with_fate(input: &Input, fate: Fate) -> Evaluated {
    input.count(|i| input.facts.fate(i) == fate)
}
