//! Facts: the history of a run condensed per message, per key, per group and per entity, in one
//! pass over the event log plus the final state. Metrics and snapshots are read from here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::backend::faults::{ApiOperation, FaultKind};
use crate::backend::{QueueRole, ReceivedMessage, SortedKeys, Status, TransitionKind};
use crate::engine::{Body, CrashPoint, EventKind, InstanceState, KeyRef, MessageIx, Outcome};
use crate::scenario::{FieldValue, Scenario};
use crate::sqs::DeduplicationScope;
use crate::sqs::facts::{DEDUP_WINDOW, PURGE_WINDOW};

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
    /// Deleted by the queue at the end of its retention period.
    Expired,
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
            Fate::Expired => "expired",
            Fate::NotSent => "not-sent",
            Fate::Lost => "lost",
        }
    }
}

/// Messages sent up to this long after a purge call may still be deleted by it (in µs).
const PURGE_REACH_US: u64 = PURGE_WINDOW.as_micros() as u64;
/// The FIFO deduplication interval (in µs).
const DEDUP_WINDOW_US: u64 = DEDUP_WINDOW.as_micros() as u64;

#[derive(Clone, Debug, Default)]
pub struct MessageFacts {
    pub sent: bool,
    pub send_failed: bool,
    /// Position of its `sent` event in the log: the queue's order of sends.
    pub sent_position: usize,
    /// When its `sent` or `send-failed` line was logged (a retried send: after its retries).
    pub sent_us: u64,
    /// Receive events (each delivery counts).
    pub deliveries: u32,
    pub first_received_us: Option<u64>,
    pub last_received_us: Option<u64>,
    /// The highest receive count SQS reported for it.
    pub max_receive_count: u32,
    pub deleted: bool,
    pub stale: bool,
    /// A consumer rejected it (poison) at least once.
    pub rejected: bool,
    /// It waited in a prefetch buffer past its visibility timeout at least once.
    pub prefetch_expired: bool,
    /// An invocation holding it was throttled at least once.
    pub throttled: bool,
    /// Side effects and applies this message's handling performed.
    pub effects: u32,
    /// Of those, side effects and applies keyed by the message's own id (most are: it is the
    /// default key, and counting it here costs no map).
    pub own_key_effects: u32,
    pub own_key_applies: u32,
    pub in_main: bool,
    pub in_dlq: bool,
    /// Transitions the queue was seen making (only on backends that observe them).
    pub observed: Observed,
    pub fate: Option<Fate>,
    /// Its producer writes a business record with it (a `committed` or `commit-failed` line,
    /// or a producer crash while writing it): an `outbox` or `dual_write` producer.
    pub has_record_write: bool,
    /// Its business record (`record:ID`) is in the final status table.
    pub record_stored: bool,
    /// Its outbox row (`outbox:ID`) is still in the final status table.
    pub outbox_row_left: bool,
    /// Copies an outbox relay sent after a restart (`resent` lines).
    pub resent: u32,
    /// Its producer stored its body by claim check (a `payload-stored` line).
    pub payload_stored: bool,
    /// A chunk of its stored payload (`payload:ID:N`) is in the final status table.
    pub payload_left: bool,
}

/// What the queue was seen doing to a message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Observed {
    pub purged: bool,
    pub deduplicated: bool,
    pub expired: bool,
    pub dead_lettered: bool,
    pub duplicated: bool,
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
    pub effects_by_key: SortedKeys<u32>,
    /// Versioned applies per business key, from the log (the table counts them per entity;
    /// applies keyed by a message's own id are in [`MessageFacts::own_key_applies`]).
    pub applies_by_business_key: BTreeMap<Arc<str>, u32>,
    /// Side-effect events per business key, from the log (to check against the table).
    pub effects_by_business_key: BTreeMap<Arc<str>, u32>,
    /// Applies per entity, and the version each ended at, from the side-effects table.
    pub entity_versions: BTreeMap<String, (u32, Option<u64>)>,
    /// How many keys of the status table have each status (the checks need no more, and a
    /// copy of a million keys would be the largest part of the facts).
    pub statuses: BTreeMap<Status, u64>,
    /// The order log per group: (message, value) in the order the side effects happened.
    pub order_log: BTreeMap<Arc<str>, Vec<(MessageIx, FieldValue)>>,
    /// Versions applied per entity, in the order their writes completed.
    pub applied: BTreeMap<Arc<str>, Vec<Apply>>,
    pub crashes: u64,
    pub clean_exits: u64,
    /// Instances per group name and final state.
    pub instances: BTreeMap<String, BTreeMap<InstanceState, u32>>,
    /// Purge calls that succeeded: when, and of which queue.
    pub purges: Vec<(u64, QueueRole)>,
    pub redriven: u64,
    /// Whether the queue's transitions were observed (fates decided from them) or are inferred.
    pub observed_queue: bool,
    /// Whether the queue is FIFO.
    pub fifo: bool,
}

impl Facts {
    /// A team's own consumer (`command`) reports nothing of its work: each message's side
    /// effects are its count in the side-effects table (the convention such a consumer
    /// follows), and only a message with an effect was handled. Its deletes are in the log when
    /// the endpoint recorded them (`calls_observed`); otherwise a message gone from both queues
    /// with an effect was handled and deleted. Either way a message gone without an effect is
    /// not processed, so its fate is `lost`: the work it stood for was never done (a consumer
    /// that deletes first and dies).
    fn effects_from_table(&mut self, log: &crate::engine::EventLog, calls_observed: bool) {
        for (ix, f) in self.messages.iter_mut().enumerate() {
            let id = &log.messages[ix].id;
            f.effects = self.effects_by_key.get(id).copied().unwrap_or(0);
            f.own_key_effects = f.effects;
            if calls_observed {
                f.deleted &= f.effects > 0;
            } else if f.effects > 0 && !f.in_main && !f.in_dlq {
                f.deleted = true;
            }
        }
    }

    pub fn gather(scenario: &Scenario, outcome: &Outcome) -> Facts {
        let log = &outcome.log;
        let mut facts = Facts {
            messages: vec![MessageFacts::default(); log.messages.len()],
            observed_queue: outcome.observed_queue,
            fifo: scenario.queue.attributes.fifo,
            ..Facts::default()
        };
        // The open `Applying` of each (actor, message), waiting for its `Applied`: where it is
        // in the log, and the entity it writes.
        let mut applying: HashMap<(crate::engine::ActorId, MessageIx), (usize, KeyRef)> =
            HashMap::new();
        for (position, event) in log.events.iter().enumerate() {
            let m = event.message.map(|ix| ix.0 as usize);
            match event.kind {
                EventKind::Sent => {
                    let f = &mut facts.messages[m.expect("sends name a message")];
                    f.sent = true;
                    f.sent_position = position;
                    f.sent_us = event.at_us;
                }
                EventKind::SendFailed => {
                    let f = &mut facts.messages[m.expect("sends name a message")];
                    f.send_failed = true;
                    f.sent_us = event.at_us;
                }
                EventKind::Received { receive_count } => {
                    let f = &mut facts.messages[m.expect("receives name a message")];
                    f.deliveries += 1;
                    f.first_received_us.get_or_insert(event.at_us);
                    f.last_received_us = Some(event.at_us);
                    f.max_receive_count = f.max_receive_count.max(receive_count);
                }
                EventKind::Queue(transition) => {
                    if let Some(m) = m {
                        let seen = &mut facts.messages[m].observed;
                        match transition {
                            TransitionKind::Purged => seen.purged = true,
                            TransitionKind::Deduplicated => seen.deduplicated = true,
                            TransitionKind::Expired => seen.expired = true,
                            TransitionKind::DeadLettered { .. } => seen.dead_lettered = true,
                            TransitionKind::Duplicated => seen.duplicated = true,
                            TransitionKind::VisibilityExpired
                            | TransitionKind::Redriven
                            | TransitionKind::StaleReceipt { .. } => {}
                        }
                    }
                }
                // The queue took the delete; only its answer was lost.
                EventKind::Fault {
                    operation: ApiOperation::Delete,
                    fault: FaultKind::TimeoutAfter,
                } => {
                    if let Some(m) = m {
                        facts.messages[m].deleted = true;
                    }
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
                EventKind::Rejected => {
                    facts.messages[m.expect("rejections name a message")].rejected = true
                }
                EventKind::PrefetchExpired => {
                    facts.messages[m.expect("prefetch expiries name a message")].prefetch_expired =
                        true
                }
                EventKind::Throttled => {
                    if let Some(m) = m {
                        facts.messages[m].throttled = true;
                    }
                }
                EventKind::SideEffect { key } => {
                    let ix = event.message.expect("effects name a message");
                    let f = &mut facts.messages[ix.0 as usize];
                    f.effects += 1;
                    if key == KeyRef::MESSAGE_ID {
                        f.own_key_effects += 1;
                    } else {
                        let key = log.key(ix, key).clone();
                        *facts.effects_by_business_key.entry(key).or_default() += 1;
                    }
                }
                EventKind::Applying { entity, .. } => {
                    let ix = event.message.expect("applies name a message");
                    applying.insert((event.actor, ix), (position, entity));
                }
                EventKind::Applied { version, key } => {
                    let ix = event.message.expect("applies name a message");
                    let f = &mut facts.messages[ix.0 as usize];
                    f.effects += 1;
                    if key == KeyRef::MESSAGE_ID {
                        f.own_key_applies += 1;
                    } else {
                        let key = log.key(ix, key).clone();
                        *facts.applies_by_business_key.entry(key).or_default() += 1;
                    }
                    let (invoked, entity) = applying
                        .remove(&(event.actor, ix))
                        .expect("the consumer logs `applying` before `applied`");
                    let entity = log.key(ix, entity).clone();
                    facts.applied.entry(entity).or_default().push(Apply {
                        message: ix,
                        version,
                        invoked,
                        completed: position,
                    });
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
                EventKind::Committed | EventKind::CommitFailed => {
                    facts.messages[m.expect("commits name a message")].has_record_write = true
                }
                EventKind::Resent => facts.messages[m.expect("resends name a message")].resent += 1,
                EventKind::PayloadStored { .. } => {
                    facts.messages[m.expect("stored payloads name a message")].payload_stored = true
                }
                EventKind::Crashed(CrashPoint::AfterCommit | CrashPoint::AfterSend) => {
                    facts.crashes += 1;
                    if let Some(m) = m {
                        facts.messages[m].has_record_write = true;
                    }
                }
                EventKind::Crashed(_) | EventKind::Killed => facts.crashes += 1,
                EventKind::Exited(_) => facts.clean_exits += 1,
                EventKind::PurgeRequested(queue) => facts.purges.push((event.at_us, queue)),
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
                let entity = crate::backend::entity_of_item_key(key)?;
                Some((entity.to_owned(), (item.count, item.version)))
            })
            .collect();
        for (key, item) in &state.side_effects {
            if crate::backend::entity_of_item_key(key).is_none() {
                facts.effects_by_key.push(key, item.count);
            }
        }
        if scenario.runs_commands() {
            facts.effects_from_table(log, outcome.consumer_calls_observed);
        }
        for (key, item) in &state.status {
            if let Some(status) = item.status {
                *facts.statuses.entry(status).or_default() += 1;
            }
            if let Some((id, _)) = crate::backend::message_of_payload_key(key) {
                if let Some(ix) = log.lookup(id) {
                    facts.messages[ix.0 as usize].payload_left = true;
                }
                continue;
            }
            let record = crate::backend::message_of_record_key(key).map(|id| (id, true));
            let row = crate::backend::message_of_outbox_key(key).map(|id| (id, false));
            let Some((id, is_record)) = record.or(row) else {
                continue;
            };
            if let Some(ix) = log.lookup(id) {
                let f = &mut facts.messages[ix.0 as usize];
                if is_record {
                    f.record_stored = true;
                } else {
                    f.outbox_row_left = true;
                }
            }
        }
        facts.redriven = state.move_task.as_ref().map_or(0, |t| t.moved);
        for (group, st) in outcome.instances.values() {
            let name = scenario.group(*group).name.clone();
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
            let ix = Body::id_of(&message.body).and_then(|id| log.lookup(&id));
            match ix {
                Some(ix) => *flag(&mut self.messages[ix.0 as usize]) = true,
                None => self.unexpected += 1,
            }
        }
    }

    /// Each message's fate, by the README's rules: observed transitions where the backend
    /// reports them, otherwise inferred from the calls qsim made and the final state.
    fn decide_fates(&mut self, scenario: &Scenario, outcome: &Outcome) {
        let log = &outcome.log;
        let deduplicated = if self.observed_queue {
            self.messages
                .iter()
                .map(|f| f.observed.deduplicated)
                .collect()
        } else {
            self.infer_deduplicated(scenario, log)
        };
        let max_receive_count = scenario.queue.max_receive_count;
        for (i, f) in self.messages.iter_mut().enumerate() {
            let sent_at = f.sent_us;
            let effected = f.effects > 0;
            f.fate = Some(if f.send_failed || !f.sent {
                Fate::NotSent
            } else if f.in_dlq {
                Fate::Dlq
            } else if f.in_main {
                Fate::Remaining
            } else if f.deleted && f.stale && !effected {
                Fate::Stale
            } else if f.deleted {
                Fate::Processed
            } else if self.observed_queue {
                if f.observed.purged {
                    Fate::Purged
                } else if deduplicated[i] {
                    Fate::Deduplicated
                } else if f.observed.expired {
                    Fate::Expired
                } else {
                    Fate::Lost
                }
            } else if deduplicated[i] {
                Fate::Deduplicated
            } else if self.purges.iter().any(|&(at, queue)| match queue {
                QueueRole::Main => sent_at <= at + PURGE_REACH_US,
                // Only messages that had used up their receives can have reached the DLQ.
                QueueRole::DeadLetter => {
                    max_receive_count.is_some_and(|max| f.max_receive_count >= max)
                        && f.last_received_us.is_some_and(|last| last <= at)
                }
            }) {
                Fate::Purged
            } else {
                Fate::Lost
            });
        }
    }

    /// FIFO sends the queue must have dropped: never received, and an earlier accepted send
    /// (in the queue's order, which is the order of `sent` events) had the same deduplication
    /// id less than 5 minutes before (in the same group, under the `message-group` scope).
    fn infer_deduplicated(&self, scenario: &Scenario, log: &crate::engine::EventLog) -> Vec<bool> {
        let mut dropped = vec![false; self.messages.len()];
        if !scenario.queue.attributes.fifo {
            return dropped;
        }
        let mut order: Vec<usize> = (0..self.messages.len())
            .filter(|&i| self.messages[i].sent)
            .collect();
        order.sort_by_key(|&i| self.messages[i].sent_position);
        let per_group =
            scenario.queue.attributes.deduplication_scope == DeduplicationScope::MessageGroup;
        let mut accepted: BTreeMap<(Option<&str>, &str), u64> = BTreeMap::new();
        for i in order {
            let meta = &log.messages[i];
            let Some(id) = meta.dedup_id().map(|id| &**id) else {
                continue;
            };
            let dedup = (per_group.then_some(&*meta.group), id);
            let sent_at = self.messages[i].sent_us;
            let within = accepted
                .get(&dedup)
                .is_some_and(|&first| sent_at.saturating_sub(first) < DEDUP_WINDOW_US);
            if within && self.messages[i].deliveries == 0 {
                dropped[i] = true;
            } else {
                accepted.insert(dedup, sent_at);
            }
        }
        dropped
    }

    pub fn fate(&self, ix: usize) -> Fate {
        self.messages[ix].fate.expect("decided in gather")
    }
}
