//! The conservation law: what the history says must add up, on every run. A violation is a bug
//! in qsim (an event not recorded, a fate decided wrongly), never a property of the scenario, so
//! it is reported as an internal error with the messages involved instead of being folded into
//! a metric.
//!
//! On every backend: each message has exactly one `sent` or `send-failed` event, and exactly one
//! fate (the fates then sum to the messages). Where the backend observes the queues' own
//! transitions (the simulator), also: no message is lost; a message in the DLQ was seen being
//! dead-lettered; every receive count a consumer saw, and the count the queue holds at the end,
//! is the number of deliveries since the message entered the queue; and every side-effect
//! table item counts exactly the side-effect (or apply) events logged for its key.

use super::facts::{Facts, Fate};
use crate::backend::TransitionKind;
use crate::backend::faults::{ApiOperation, FaultKind};
use crate::engine::{Body, CrashPoint, EventKind, Outcome};

/// One broken law, with the message ids or keys it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub law: &'static str,
    pub involved: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 10;
        let mut shown = self.involved[..self.involved.len().min(SHOWN)].join(", ");
        if self.involved.len() > SHOWN {
            shown.push_str(&format!(" and {} more", self.involved.len() - SHOWN));
        }
        write!(f, "{}: {shown}", self.law)
    }
}

/// Every law `outcome` breaks (none on a correct qsim).
pub(super) fn check(outcome: &Outcome, facts: &Facts) -> Vec<Violation> {
    let mut violations = Vec::new();
    let log = &outcome.log;
    let ids = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
        (0..facts.messages.len())
            .filter(|&i| pred(i))
            .map(|i| log.messages[i].id.to_string())
            .collect()
    };
    let mut law = |law: &'static str, involved: Vec<String>| {
        if !involved.is_empty() {
            violations.push(Violation { law, involved });
        }
    };

    let mut sends = vec![0u32; log.messages.len()];
    // A producer that writes a business record first may never send the message: its write
    // ended at a failed commit or a crash after the commit.
    let mut unsent_allowed = vec![false; log.messages.len()];
    for event in &log.events {
        let Some(ix) = event.message else { continue };
        match event.kind {
            EventKind::Sent | EventKind::SendFailed => sends[ix.0 as usize] += 1,
            EventKind::CommitFailed | EventKind::Crashed(CrashPoint::AfterCommit) => {
                unsent_allowed[ix.0 as usize] = true;
            }
            _ => {}
        }
    }
    law(
        "a message without exactly one sent/send-failed event",
        ids(&|i| sends[i] > 1 || (sends[i] == 0 && !unsent_allowed[i])),
    );
    law(
        "a message without a fate",
        ids(&|i| facts.messages[i].fate.is_none()),
    );
    if !outcome.observed_queue {
        return violations;
    }

    law(
        "lost on a backend that observes every queue transition",
        ids(&|i| facts.messages[i].fate == Some(Fate::Lost)),
    );
    law(
        "in the DLQ without a dead-lettered event",
        ids(&|i| {
            facts.messages[i].fate == Some(Fate::Dlq) && !facts.messages[i].observed.dead_lettered
        }),
    );
    law(
        "a receive count that is not the number of deliveries since the message entered the queue",
        receive_count_mismatches(outcome, facts),
    );
    law(
        "a side-effects table item whose count differs from the events logged for its key",
        table_mismatches(outcome, facts),
    );
    violations
}

/// Messages whose receive counts (in `received` and `dead-lettered` events, and at the end)
/// are not 1, 2, 3, ... from each time they entered a queue anew (sent, or returned by a move
/// task). A receive whose answer a fault hid counts as a delivery. An injected duplicate shares
/// its original's count, and so does a copy a hidden (`timeout_after`) send left before its
/// retry: such messages are skipped.
fn receive_count_mismatches(outcome: &Outcome, facts: &Facts) -> Vec<String> {
    let log = &outcome.log;
    let mut deliveries = vec![0u32; log.messages.len()];
    let mut wrong = vec![false; log.messages.len()];
    let mut copied = vec![false; log.messages.len()];
    for event in &log.events {
        let Some(ix) = event.message else { continue };
        let i = ix.0 as usize;
        match event.kind {
            EventKind::Fault {
                operation: ApiOperation::Send,
                fault: FaultKind::TimeoutAfter,
            } => copied[i] = true,
            // The relay's second copy shares the message's id, and so its counts.
            EventKind::Resent => copied[i] = true,
            EventKind::Fault {
                operation: ApiOperation::Receive,
                fault: FaultKind::TimeoutAfter,
            } => deliveries[i] += 1,
            EventKind::Sent | EventKind::Queue(TransitionKind::Redriven) => deliveries[i] = 0,
            EventKind::Received { receive_count } => {
                deliveries[i] += 1;
                wrong[i] |= receive_count != deliveries[i];
            }
            EventKind::Queue(TransitionKind::DeadLettered { receive_count }) => {
                wrong[i] |= receive_count != deliveries[i];
            }
            _ => {}
        }
    }
    let state = &outcome.final_state;
    for message in state.main.iter().chain(&state.dlq) {
        if let Some(ix) = Body::id_of(&message.body).and_then(|id| log.lookup(&id)) {
            let i = ix.0 as usize;
            wrong[i] |= message.receive_count != deliveries[i];
        }
    }
    (0..wrong.len())
        .filter(|&i| wrong[i] && !facts.messages[i].observed.duplicated && !copied[i])
        .map(|i| log.messages[i].id.to_string())
        .collect()
}

/// Keys whose side-effects table count differs from the side-effect events logged for them
/// (versioned entities: from the applies to that entity).
fn table_mismatches(outcome: &Outcome, facts: &Facts) -> Vec<String> {
    let log = &outcome.log;
    let mut wrong = Vec::new();
    let mut mismatch = |key: &str, table: u32, events: u32| {
        if table != events {
            wrong.push(format!("{key} (table {table}, events {events})"));
        }
    };
    let business = &facts.effects_by_business_key;
    for (key, &table) in &facts.effects_by_key {
        let own = log
            .lookup(key)
            .map_or(0, |ix| facts.messages[ix.0 as usize].own_key_effects);
        mismatch(key, table, own + business.get(key).copied().unwrap_or(0));
    }
    for (key, &events) in business {
        if !facts.effects_by_key.contains_key(key) {
            mismatch(key, 0, events);
        }
    }
    for (i, f) in facts.messages.iter().enumerate() {
        let id = &log.messages[i].id;
        if f.own_key_effects > 0 && !facts.effects_by_key.contains_key(id) {
            mismatch(id, 0, f.own_key_effects);
        }
    }
    let entities = facts
        .entity_versions
        .keys()
        .map(|k| k.as_str())
        .chain(facts.applied.keys().map(|k| &**k));
    for entity in entities.collect::<std::collections::BTreeSet<_>>() {
        let table = facts.entity_versions.get(entity).map_or(0, |e| e.0);
        let events = facts.applied.get(entity).map_or(0, |a| a.len() as u32);
        if table != events {
            wrong.push(format!("entity:{entity} (table {table}, events {events})"));
        }
    }
    wrong
}
