//! Facts: the history of a run condensed per message, per key, per group and per entity, in one
//! pass over the event log plus the final state. Metrics and snapshots are read from here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::backend::{ReceivedMessage, Status};
use crate::engine::{Body, EventKind, InstanceState, MessageIx, Outcome};
use crate::scenario::{FieldValue, Scenario};

/// Where a message ended up. Decided from what happened, in this order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fate {
    /// In the DLQ at the end.
    Dlq,
    /// Still in the main queue at the end.
    Remaining,
    /// Deleted as older than the consumer's staleness limit, never applied.
    Stale,
    /// Handled and deleted.
    Processed,
    /// Gone, and a purge ran while it was in the queue.
    Purged,
    /// A FIFO send within 5 minutes of an earlier one with the same deduplication id, never
    /// delivered: the queue dropped it, as it should.
    Deduplicated,
    /// The send itself failed.
    NotSent,
    /// Acknowledged by the queue, never processed, not in any queue, not purged (Jepsen: lost).
    Lost,
}

impl Fate {
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Dlq => "dlq",
            Fate::Remaining => "remaining",
            Fate::Stale => "stale",
            Fate::Processed => "processed",
            Fate::Purged => "purged",
            Fate::Deduplicated => "deduplicated",
            Fate::NotSent => "not-sent",
            Fate::Lost => "lost",
        }
    }
}

/// SQS purges take up to 60 s: messages sent that long after a purge call may still be deleted.
const PURGE_REACH_US: u64 = 60_000_000;
/// The FIFO deduplication interval.
const DEDUP_WINDOW_US: u64 = 300_000_000;

#[derive(Clone, Debug, Default)]
pub struct MessageFacts {
    pub sent: bool,
    /// Receive events (each delivery counts).
    pub deliveries: u32,
    pub first_received_us: Option<u64>,
    pub deleted: bool,
    pub stale: bool,
    /// Side effects and applies this message's handling performed.
    pub effects: u32,
    pub in_main: bool,
    pub in_dlq: bool,
    pub fate: Option<Fate>,
}

/// One versioned write that succeeded, bracketed by the positions in the event log of its
/// request (`invoked`) and its response (`completed`). Only writes that completed before another
/// was invoked are known to have happened before it: responses of concurrent writes can arrive
/// in either order on a real backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Apply {
    pub message: MessageIx,
    pub version: u32,
    pub invoked: usize,
    pub completed: usize,
}

#[derive(Debug, Default)]
pub struct Facts {
    pub messages: Vec<MessageFacts>,
    /// Deliveries of bodies no producer of this run sent (and such bodies left in queues).
    pub unexpected: u64,
    /// Side-effect count per key, from the side-effects table (entities excluded).
    pub effects_by_key: BTreeMap<String, u32>,
    /// Applies per entity, and the version each ended at, from the side-effects table.
    pub entity_versions: BTreeMap<String, (u32, Option<u64>)>,
    /// Status per key, from the status table.
    pub status_by_key: BTreeMap<String, Status>,
    /// The order log per group: (message, value) in the order the side effects happened.
    pub order_log: BTreeMap<Arc<str>, Vec<(MessageIx, FieldValue)>>,
    /// Versions applied per entity, in the order their writes completed.
    pub applied: BTreeMap<Arc<str>, Vec<Apply>>,
    pub crashes: u64,
    pub clean_exits: u64,
    /// Instances per group name and final state.
    pub instances: BTreeMap<String, BTreeMap<InstanceState, u32>>,
    pub purges_us: Vec<u64>,
    pub redriven: u64,
}

impl Facts {
    pub fn gather(scenario: &Scenario, outcome: &Outcome) -> Facts {
        let log = &outcome.log;
        let mut facts = Facts {
            messages: vec![MessageFacts::default(); log.messages.len()],
            ..Facts::default()
        };
        // The open `Applying` of each (actor, message), waiting for its `Applied`.
        let mut applying: HashMap<(crate::engine::ActorId, MessageIx), usize> = HashMap::new();
        for (position, event) in log.events.iter().enumerate() {
            let m = event.message.map(|ix| ix.0 as usize);
            match event.kind {
                EventKind::Sent => facts.messages[m.expect("sends name a message")].sent = true,
                EventKind::Received { .. } => {
                    let f = &mut facts.messages[m.expect("receives name a message")];
                    f.deliveries += 1;
                    f.first_received_us.get_or_insert(event.at_us);
                }
                EventKind::Unexpected => facts.unexpected += 1,
                EventKind::Deleted => {
                    if let Some(m) = m {
                        facts.messages[m].deleted = true;
                    }
                }
                EventKind::StaleMessage { .. } => {
                    facts.messages[m.expect("stale names a message")].stale = true
                }
                EventKind::SideEffect => {
                    facts.messages[m.expect("effects name a message")].effects += 1
                }
                EventKind::Applying { .. } => {
                    let ix = event.message.expect("applies name a message");
                    applying.insert((event.actor, ix), position);
                }
                EventKind::Applied { version } => {
                    let ix = event.message.expect("applies name a message");
                    facts.messages[ix.0 as usize].effects += 1;
                    let invoked = applying.remove(&(event.actor, ix)).unwrap_or(position);
                    if let Some(entity) = &log.meta(ix).entity {
                        facts
                            .applied
                            .entry(entity.clone())
                            .or_default()
                            .push(Apply {
                                message: ix,
                                version,
                                invoked,
                                completed: position,
                            });
                    }
                }
                EventKind::Logged { value } => {
                    let ix = event.message.expect("log entries name a message");
                    let group = log.meta(ix).group.clone();
                    facts
                        .order_log
                        .entry(group)
                        .or_default()
                        .push((ix, log.values[value as usize].clone()));
                }
                EventKind::Crashed(_) | EventKind::Killed => facts.crashes += 1,
                EventKind::Exited(_) => facts.clean_exits += 1,
                EventKind::PurgeRequested(crate::backend::QueueRole::Main) => {
                    facts.purges_us.push(event.at_us)
                }
                _ => {}
            }
        }

        let state = &outcome.final_state;
        facts.mark_remaining(log, &state.main, |f| &mut f.in_main);
        facts.mark_remaining(log, &state.dlq, |f| &mut f.in_dlq);
        // Collected, not inserted one by one: from a sorted scan, `collect` builds full B-tree
        // nodes (ascending inserts leave them about half full), which matters at a million keys.
        facts.entity_versions = state
            .side_effects
            .iter()
            .filter_map(|(key, item)| {
                let entity = key.strip_prefix("entity:")?;
                Some((entity.to_owned(), (item.count, item.version)))
            })
            .collect();
        facts.effects_by_key = state
            .side_effects
            .iter()
            .filter(|(key, _)| !key.starts_with("entity:"))
            .map(|(key, item)| (key.clone(), item.count))
            .collect();
        facts.status_by_key = state
            .status
            .iter()
            .filter_map(|(key, item)| Some((key.clone(), item.status?)))
            .collect();
        facts.redriven = state.move_task.as_ref().map_or(0, |t| t.moved);
        for (group, st) in outcome.instances.values() {
            let name = scenario.consumers[*group].name.clone();
            *facts
                .instances
                .entry(name)
                .or_default()
                .entry(*st)
                .or_default() += 1;
        }
        facts.decide_fates(scenario, outcome);
        facts
    }

    fn mark_remaining(
        &mut self,
        log: &crate::engine::EventLog,
        messages: &[ReceivedMessage],
        flag: impl Fn(&mut MessageFacts) -> &mut bool,
    ) {
        for message in messages {
            let ix = serde_json::from_str::<Body>(&message.body)
                .ok()
                .and_then(|b| log.lookup(&b.id));
            match ix {
                Some(ix) => *flag(&mut self.messages[ix.0 as usize]) = true,
                None => self.unexpected += 1,
            }
        }
    }

    fn decide_fates(&mut self, scenario: &Scenario, outcome: &Outcome) {
        let log = &outcome.log;
        // Earliest accepted send per deduplication id, for FIFO queues.
        let mut first_dedup: BTreeMap<&str, u64> = BTreeMap::new();
        let mut order: Vec<usize> = (0..self.messages.len()).collect();
        order.sort_by_key(|&i| log.messages[i].sent_at_us.unwrap_or(u64::MAX));
        for i in order {
            let meta = &log.messages[i];
            let f = &mut self.messages[i];
            let sent_at = meta.sent_at_us.unwrap_or(0);
            let duplicate_send = scenario.queue.fifo
                && meta
                    .dedup_id
                    .as_deref()
                    .is_some_and(|d| match first_dedup.get(d) {
                        Some(&first) => sent_at.saturating_sub(first) < DEDUP_WINDOW_US,
                        None => false,
                    });
            if f.sent && !duplicate_send {
                if let Some(d) = meta.dedup_id.as_deref() {
                    first_dedup.insert(d, sent_at);
                }
            }
            let purged = self
                .purges_us
                .iter()
                .any(|&p| sent_at <= p + PURGE_REACH_US);
            f.fate = Some(if f.in_dlq {
                Fate::Dlq
            } else if f.in_main {
                Fate::Remaining
            } else if f.deleted && f.stale {
                Fate::Stale
            } else if f.deleted {
                Fate::Processed
            } else if !f.sent {
                Fate::NotSent
            } else if purged {
                Fate::Purged
            } else if duplicate_send && f.deliveries == 0 {
                Fate::Deduplicated
            } else {
                Fate::Lost
            });
        }
    }

    pub fn fate(&self, ix: usize) -> Fate {
        self.messages[ix].fate.expect("decided in gather")
    }
}
