//! What the run asked of the API: its calls and their cost, sends whose outcome the producer
//! could not know, and the copies its retries made.

use super::{Evaluated, Input, number};
use crate::backend::faults::{ApiOperation, FaultKind};
use crate::check::cost;
use crate::engine::EventKind;
use crate::sqs::facts::DEDUP_WINDOW;

pub(super) fn api_calls(input: &Input) -> Evaluated {
    number(input.outcome.api.total_calls() as f64)
}

pub(super) fn estimated_cost_usd(input: &Input) -> Evaluated {
    let fifo = input.facts.fifo;
    number(cost::of_run(&input.outcome.api.billed, fifo))
}

/// Messages one of whose send attempts timed out: the producer could not know whether the
/// queue took it.
pub(super) fn ambiguous_sends(input: &Input) -> Evaluated {
    let mut ambiguous = vec![false; input.facts.messages.len()];
    for event in &input.log().events {
        if let (
            EventKind::Fault {
                operation: ApiOperation::Send,
                fault,
            },
            Some(ix),
        ) = (event.kind, event.message)
        {
            ambiguous[ix.0 as usize] |= fault.is_timeout();
        }
    }
    input.count(|i| ambiguous[i])
}

/// Copies in the queue that exist only because a send was retried: per message, the attempts
/// the queue took (each `timeout_after` send fault, and its `sent` line) beyond the first.
/// On a FIFO queue a copy taken less than 5 minutes after the first is deduplicated, so it is
/// not counted.
pub(super) fn duplicates_from_retries(input: &Input) -> Evaluated {
    let fifo = input.facts.fifo;
    let window = DEDUP_WINDOW.as_micros() as u64;
    let mut taken: Vec<Vec<u64>> = vec![Vec::new(); input.facts.messages.len()];
    for event in &input.log().events {
        let hidden = matches!(
            event.kind,
            EventKind::Fault {
                operation: ApiOperation::Send,
                fault: FaultKind::TimeoutAfter
            }
        );
        if let (true, Some(ix)) = (hidden || event.kind == EventKind::Sent, event.message) {
            taken[ix.0 as usize].push(event.at_us);
        }
    }
    let extra = |i: usize| -> usize {
        let copies = &taken[i];
        let Some(&first) = copies.iter().min() else {
            return 0;
        };
        if fifo && input.meta(i).dedup_id().is_some() {
            copies.iter().filter(|&&at| at - first >= window).count()
        } else {
            copies.len() - 1
        }
    };
    let mut total = 0;
    let (_, involved) = input.ids(|i| extra(i) > 0);
    for i in input.in_scope() {
        total += extra(i);
    }
    Evaluated {
        value: super::Value::Number(total as f64),
        involved,
    }
}
