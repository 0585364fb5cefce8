//! One simulated SQS queue: storage, visibility, receive counts and redrive, delay, retention,
//! purge, receipts, and FIFO deduplication, on top of a delivery order (standard or FIFO).
//!
//! Time is advanced lazily: every call first applies what happened since the last one
//! ([`Queue::advance`]: purge window end, visibility and delay timers in due order, retention), so
//! the queue is exact at the moment of each call without any background task.
//!
//! Invariants:
//! - a stored message is in exactly one [`State`]; the depth counters follow from the store;
//! - a visible message is reachable from the delivery order; an in-flight or delayed one has a
//!   live timer for its `until`;
//! - nothing here allocates per message except the rare part of a stored one that has any (see
//!   [`Stored`]) and the output vectors a call returns: message ids leave as their 16 bytes.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;

use crate::backend::{
    BackendErrorKind, OutgoingMessage, QueueDepth, QueueId, QueueSpec, Receipt, ReceivedMessage,
    TransitionKind,
};

use super::clock::Moment;
use super::counters::CounterHistory;
use super::dedup::{DedupId, DedupKey, DedupWindow};
use super::faults::Faults;
use super::fifo::{Cursor, FifoOrder};
use super::limits::{self, invalid};
use super::message_id::MessageId;
use super::purge::PurgeWindow;
use super::standard::StandardOrder;
use super::store::{NO_GROUP, Rare, ReceiptStatus, State, Store, Stored};
use super::timers::{ExpiryQueue, Timer, TimerHeap};
use crate::sqs::facts::{MAX_DELAY, MAX_VISIBILITY_TIMEOUT};
use crate::sqs::faults::ApiOperation;

#[derive(Debug)]
enum Order {
    Standard(StandardOrder),
    Fifo(FifoOrder),
}

/// A message leaving one queue for another: redriven to the DLQ (keeps id, enqueue time and
/// receive count) or moved back by a move task (becomes a new message there).
#[derive(Debug)]
pub(super) struct Transfer {
    pub(super) message_id: MessageId,
    pub(super) body: Arc<str>,
    pub(super) group_id: Option<Arc<str>>,
    pub(super) enqueued_at: Moment,
    pub(super) receive_count: u32,
    pub(super) origin: Option<QueueId>,
}

impl Transfer {
    fn from_stored(mut message: Stored) -> Transfer {
        let rare = message.take_rare();
        Transfer {
            message_id: message.message_id,
            body: message.body,
            group_id: rare.group_id,
            enqueued_at: message.enqueued_at,
            receive_count: message.receive_count,
            origin: rare.origin,
        }
    }
}

/// A transition the queue made by itself, noted for the run's history.
#[derive(Debug)]
pub(super) struct Noted {
    pub(super) at: Moment,
    pub(super) kind: TransitionKind,
    pub(super) body: Arc<str>,
}

#[derive(Debug)]
pub(super) struct Queue {
    pub(super) id: QueueId,
    pub(super) name: String,
    pub(super) spec: QueueSpec,
    /// Wakes long polls when something may have become deliverable.
    pub(super) notify: Rc<Notify>,
    woken: bool,
    store: Store,
    order: Order,
    timers: TimerHeap,
    retention: ExpiryQueue,
    purge: PurgeWindow,
    dedup: DedupWindow,
    ids: ChaCha8Rng,
    faults: Faults,
    /// What the ApproximateNumberOf* counters can still report, when they lag.
    counters: CounterHistory,
    /// Transitions not yet taken by [`Queue::take_noted`].
    noted: Vec<Noted>,
}

impl Queue {
    pub(super) fn new(
        id: QueueId,
        name: String,
        spec: QueueSpec,
        ids: ChaCha8Rng,
        faults: Faults,
    ) -> Queue {
        let order = if spec.attributes.fifo {
            Order::Fifo(FifoOrder::default())
        } else {
            Order::Standard(StandardOrder::default())
        };
        Queue {
            id,
            name,
            faults,
            spec,
            notify: Rc::new(Notify::new()),
            woken: false,
            store: Store::default(),
            order,
            timers: TimerHeap::default(),
            retention: ExpiryQueue::default(),
            purge: PurgeWindow::default(),
            dedup: DedupWindow::default(),
            ids,
            counters: CounterHistory::default(),
            noted: Vec::new(),
        }
    }

    pub(super) fn depth(&self) -> QueueDepth {
        self.store.depth()
    }

    /// How many messages a receive asking for `max` may return (see [`Faults::receive_cap`]).
    pub(super) fn receive_cap(&mut self, max: usize, short_poll: bool) -> usize {
        self.faults.receive_cap(max, short_poll)
    }

    /// ApproximateNumberOf* as read at `now`: the exact depth, or with the counter-lag latitude
    /// the depth of a seeded earlier moment.
    pub(super) fn reported_depth(&self, now: Moment) -> QueueDepth {
        if !self.faults.tracks_counters() {
            return self.depth();
        }
        let lag = self.faults.counter_lag(now.nanos() / 1_000_000_000);
        let seen = now
            .nanos()
            .saturating_sub(u64::try_from(lag.as_nanos()).unwrap_or(u64::MAX));
        self.counters.reading(Moment::from_nanos(seen))
    }

    /// Notes the depth the queue has from `now` on, for lagging counter readings.
    pub(super) fn note_depth(&mut self, now: Moment) {
        if self.faults.tracks_counters() {
            self.counters
                .note(now, self.store.depth(), self.spec.sim.counter_lag);
        }
    }

    /// Wakes the long polls of this queue if anything may have become deliverable since the
    /// last call.
    pub(super) fn notify_if_woken(&mut self) {
        if std::mem::take(&mut self.woken) {
            self.notify.notify_waiters();
        }
    }

    /// Applies everything due by `now`: the end of a purge window, visibility and delay ends,
    /// retention.
    pub(super) fn advance(&mut self, now: Moment) {
        while let Some((at, slot, seq)) = self.purge.pop_lingering(now) {
            if self.store.live(slot, seq).is_some() {
                let message = self.remove(slot);
                self.note(at, TransitionKind::Purged, message.body);
            }
        }
        if let Some((ended, sent_during)) = self.purge.take_ended(now) {
            for (slot, seq) in sent_during {
                if self.store.live(slot, seq).is_some() && self.faults.coin() {
                    let message = self.remove(slot);
                    self.note(ended, TransitionKind::Purged, message.body);
                }
            }
        }
        while let Some(timer) = self.timers.pop_due(now) {
            let Some(message) = self.store.live(timer.slot, timer.seq) else {
                continue;
            };
            let first_time = match message.state() {
                State::InFlight { until, .. } if until == timer.at => false,
                State::Delayed { until } if until == timer.at => true,
                _ => continue,
            };
            if !first_time {
                let body = Arc::clone(&message.body);
                self.note(timer.at, TransitionKind::VisibilityExpired, body);
            }
            self.store.set_state(timer.slot, State::Visible);
            self.make_available(timer.slot, first_time);
        }
        while let Some(timer) = self.retention.pop_due(now) {
            if self.store.live(timer.slot, timer.seq).is_some() {
                let message = self.remove(timer.slot);
                self.note(timer.at, TransitionKind::Expired, message.body);
            }
        }
        let store = &self.store;
        let waiting = store.depth().in_flight + store.depth().delayed;
        self.timers.compact(waiting, |t| timer_live(store, t));
        self.retention
            .compact(store.len(), |t| store.live(t.slot, t.seq).is_some());
        if let Order::Standard(order) = &mut self.order {
            order.compact(store);
        }
        self.note_depth(now);
    }

    /// The next moment a timer may make something visible.
    pub(super) fn next_timer(&mut self) -> Option<Moment> {
        let store = &self.store;
        self.timers.next_live(|t| timer_live(store, t))
    }

    /// One entry of SendMessage(Batch). Returns the message id (the original one for a FIFO
    /// duplicate, which is accepted but not stored).
    pub(super) fn send(
        &mut self,
        now: Moment,
        message: &OutgoingMessage,
    ) -> Result<MessageId, BackendErrorKind> {
        limits::body(&message.body)?;
        let dedup_key = if self.spec.attributes.fifo {
            if message.group_id.is_none() {
                return Err(invalid(
                    "MissingParameter: FIFO queues require a MessageGroupId",
                ));
            }
            if message.delay.is_some() {
                return Err(invalid(
                    "InvalidParameterValue: FIFO queues take only the queue's DelaySeconds, not a per-message one",
                ));
            }
            let id = match (&message.dedup_id, self.spec.attributes.content_based_dedup) {
                (Some(id), _) => DedupId::Explicit(Arc::clone(id)),
                (None, true) => DedupId::Content(Arc::clone(&message.body)),
                (None, false) => {
                    return Err(invalid(
                        "InvalidParameterValue: the queue has no content-based deduplication, so a MessageDeduplicationId is required",
                    ));
                }
            };
            let scope = self.spec.attributes.deduplication_scope;
            let key = DedupKey::new(scope, message.group_id.as_ref(), id);
            if let Some(original) = self.dedup.original(&key, now) {
                self.note(now, TransitionKind::Deduplicated, Arc::clone(&message.body));
                return Ok(original);
            }
            Some(key)
        } else {
            if message.dedup_id.is_some() {
                return Err(invalid(
                    "InvalidParameterValue: MessageDeduplicationId is only valid on FIFO queues",
                ));
            }
            None
        };
        let delay = message.delay.unwrap_or(self.spec.attributes.delay);
        limits::at_most(delay, MAX_DELAY, "DelaySeconds")?;

        let message_id = MessageId::next(&mut self.ids);
        let transfer = Transfer {
            message_id,
            body: Arc::clone(&message.body),
            group_id: message.group_id.clone(),
            enqueued_at: now,
            receive_count: 0,
            origin: None,
        };
        let state = if delay.is_zero() {
            State::Visible
        } else {
            State::Delayed {
                until: now.after(delay),
            }
        };
        let (slot, seq) = self.admit(transfer, state, None);
        self.purge.record_send(now, slot, seq);
        if let Some(key) = dedup_key {
            self.dedup.remember(key, message_id, now);
        }
        // A delayed send adds a timer that may be earlier than a long poll's planned wake-up.
        self.woken = true;
        Ok(message_id)
    }

    /// ReceiveMessage on a queue already advanced to `now`: up to `max` messages into `out`;
    /// exhausted messages met on the way go to `redriven` instead (that receive does not
    /// return them).
    pub(super) fn receive(
        &mut self,
        now: Moment,
        max: usize,
        visibility: Duration,
        out: &mut Vec<ReceivedMessage>,
        redriven: &mut Vec<Transfer>,
    ) {
        let until = now.after(visibility);
        let mut duplicated: Vec<u32> = Vec::new();
        let mut cursor = Cursor::default();
        while out.len() < max {
            let next = match &mut self.order {
                Order::Standard(order) => order.next(&self.store, Some(&mut self.faults)),
                Order::Fifo(order) => order.next(&self.store, &mut cursor),
            };
            let Some(slot) = next else { break };
            let message = self.store.get(slot);
            if let Some(redrive) = self.spec.redrive
                && message.receive_count >= redrive.max_receive_count
            {
                // Not `remove`: a FIFO group being drained is re-examined at `finish`.
                let message = self.store.remove(slot);
                let kind = TransitionKind::DeadLettered {
                    receive_count: message.receive_count,
                };
                self.note(now, kind, Arc::clone(&message.body));
                redriven.push(Transfer {
                    origin: Some(self.id),
                    ..Transfer::from_stored(message)
                });
                continue;
            }
            let seq = message.seq();
            let generation = self.store.deliver(
                slot,
                State::InFlight {
                    until,
                    received_at: now,
                },
            );
            self.timers.push(Timer {
                at: until,
                seq,
                slot,
            });
            let message = self.store.get(slot);
            out.push(ReceivedMessage {
                message_id: message.message_id.sqs(),
                body: Arc::clone(&message.body),
                receipt: Receipt::Token {
                    slot: self.token_slot(slot),
                    generation,
                },
                receive_count: message.receive_count,
                group_id: message.group_id().cloned(),
            });
            // Drawn for every delivery, so the fault stream does not depend on earlier copies.
            let duplicate = !self.spec.attributes.fifo
                && message.copy_of().is_none()
                && self.faults.duplicate();
            if duplicate && !message.duplicated() {
                duplicated.push(slot);
            }
        }
        if let Order::Fifo(order) = &mut self.order {
            order.finish(&self.store, &mut cursor);
        }
        // Copies join after the receive, so one response never holds a message twice.
        for slot in duplicated {
            self.store.mark_duplicated(slot);
            let original = self.store.get(slot);
            let copy_of = Some((slot, original.seq()));
            let transfer = Transfer {
                message_id: original.message_id,
                body: Arc::clone(&original.body),
                group_id: original.group_id().cloned(),
                enqueued_at: original.enqueued_at,
                // The copy shares the history before this delivery, not this delivery itself:
                // both copies report the same receive count, and a copy does not bring the
                // message closer to its redrive.
                receive_count: original.receive_count - 1,
                origin: original.origin(),
            };
            self.note(now, TransitionKind::Duplicated, Arc::clone(&transfer.body));
            self.admit(transfer, State::Visible, copy_of);
        }
    }

    /// One entry of DeleteMessageBatch, on a queue already advanced to `now`.
    pub(super) fn delete(
        &mut self,
        now: Moment,
        receipt: &Receipt,
    ) -> Result<(), BackendErrorKind> {
        match self.classify(receipt) {
            ReceiptStatus::Invalid => Err(BackendErrorKind::ReceiptHandleInvalid),
            ReceiptStatus::Gone => Ok(()),
            // SQS: "succeeds, but the message might not be deleted"; FIFO refuses a receipt
            // whose visibility window has passed, which a superseded one always has.
            ReceiptStatus::Superseded(_) if self.spec.attributes.fifo => {
                Err(BackendErrorKind::ReceiptHandleInvalid)
            }
            ReceiptStatus::Superseded(slot) => {
                if self.stale_receipt_acts(now, slot, ApiOperation::Delete) {
                    self.delete_stored(slot);
                }
                Ok(())
            }
            ReceiptStatus::Current(slot) => {
                let in_flight = matches!(self.store.get(slot).state(), State::InFlight { .. });
                if self.spec.attributes.fifo && !in_flight {
                    return Err(BackendErrorKind::ReceiptHandleInvalid);
                }
                self.delete_stored(slot);
                Ok(())
            }
        }
    }

    /// Whether a superseded receipt used for `operation` on the message in `slot` acts (the
    /// envelope's choice), noted either way: the consumer only ever sees SQS's OK.
    fn stale_receipt_acts(&mut self, now: Moment, slot: u32, operation: ApiOperation) -> bool {
        let acted = self.faults.stale_receipt_acts();
        let body = Arc::clone(&self.store.get(slot).body);
        self.note(now, TransitionKind::StaleReceipt { operation, acted }, body);
        acted
    }

    /// Deletes a message and, for an injected copy, the original it was copied from.
    fn delete_stored(&mut self, slot: u32) {
        let message = self.remove(slot);
        if let Some((original, seq)) = message.copy_of()
            && self.store.live(original, seq).is_some()
        {
            self.remove(original);
        }
    }

    /// ChangeMessageVisibility on a queue already advanced to `now`.
    pub(super) fn change_visibility(
        &mut self,
        now: Moment,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendErrorKind> {
        limits::at_most(timeout, MAX_VISIBILITY_TIMEOUT, "VisibilityTimeout")?;
        let slot = match self.classify(receipt) {
            ReceiptStatus::Invalid => return Err(BackendErrorKind::ReceiptHandleInvalid),
            // AWS: InvalidParameterValue, "Message does not exist or is not available for
            // visibility timeout change" (docs/sqs-semantics.md, Visibility timeout).
            ReceiptStatus::Gone => return Err(BackendErrorKind::NotInFlight),
            // AWS answers OK for a superseded receipt and may or may not apply the change.
            ReceiptStatus::Superseded(slot) => {
                if !self.stale_receipt_acts(now, slot, ApiOperation::ChangeVisibility) {
                    return Ok(());
                }
                slot
            }
            ReceiptStatus::Current(slot) => slot,
        };
        let message = self.store.get(slot);
        let State::InFlight { received_at, .. } = message.state() else {
            return Ok(());
        };
        let until = now.after(timeout);
        if until > received_at.after(MAX_VISIBILITY_TIMEOUT) {
            return Err(invalid(
                "InvalidParameterValue: the total visibility timeout would exceed 12 hours from the receive",
            ));
        }
        if timeout.is_zero() {
            self.store.set_state(slot, State::Visible);
            self.make_available(slot, false);
        } else {
            let seq = message.seq();
            self.store
                .set_state(slot, State::InFlight { until, received_at });
            self.timers.push(Timer {
                at: until,
                seq,
                slot,
            });
            // The new expiry may be earlier than a long poll's planned wake-up.
            self.woken = true;
        }
        Ok(())
    }

    /// PurgeQueue on a queue already advanced to `now`.
    pub(super) fn purge(&mut self, now: Moment) -> Result<(), BackendErrorKind> {
        if self.purge.refuses(now) {
            return Err(BackendErrorKind::PurgeInProgress);
        }
        let length = self.faults.purge_window();
        let mut lingering = Vec::new();
        let mut gone = Vec::new();
        for (slot, message) in self.store.all() {
            match self.faults.purge_reach(length) {
                Some(after) => lingering.push((now.after(after), slot, message.seq())),
                None => gone.push(slot),
            }
        }
        if lingering.is_empty() {
            // Everything goes at once: clearing is cheaper than removing one by one.
            for (_, message) in self.store.all() {
                self.noted.push(Noted {
                    at: now,
                    kind: TransitionKind::Purged,
                    body: Arc::clone(&message.body),
                });
            }
            self.store.clear();
            match &mut self.order {
                Order::Standard(order) => order.clear(),
                Order::Fifo(order) => order.clear(),
            }
            self.timers.clear();
            self.retention.clear();
        } else {
            for slot in gone {
                let message = self.remove(slot);
                self.note(now, TransitionKind::Purged, message.body);
            }
        }
        self.purge.start(now, length, lingering);
        Ok(())
    }

    /// A message redriven here at `now` (this queue is its DLQ): same id and receive count,
    /// visible at once. A standard DLQ keeps the enqueue time, so retention counts from the
    /// original send; a FIFO DLQ resets it to the move (docs/sqs-semantics.md, DLQ retention).
    pub(super) fn arrive(&mut self, now: Moment, transfer: Transfer) {
        let enqueued_at = if self.spec.attributes.fifo {
            now
        } else {
            transfer.enqueued_at
        };
        self.admit(
            Transfer {
                enqueued_at,
                ..transfer
            },
            State::Visible,
            None,
        );
    }

    /// A message taken from this queue and returned unchanged (a move task with nowhere to
    /// move it).
    pub(super) fn put_back(&mut self, transfer: Transfer) {
        self.admit(transfer, State::Visible, None);
    }

    /// A message a move task returns here: a new message (new id, enqueued now, never received).
    pub(super) fn arrive_moved(&mut self, now: Moment, transfer: Transfer) {
        self.note(now, TransitionKind::Redriven, Arc::clone(&transfer.body));
        let moved = Transfer {
            message_id: MessageId::next(&mut self.ids),
            enqueued_at: now,
            receive_count: 0,
            origin: None,
            ..transfer
        };
        self.admit(moved, State::Visible, None);
    }

    /// The next deliverable message, removed without being received (for a move task).
    pub(super) fn take_for_move(&mut self) -> Option<Transfer> {
        let message = match &mut self.order {
            Order::Standard(order) => {
                let slot = order.next(&self.store, None)?;
                self.store.remove(slot)
            }
            Order::Fifo(order) => {
                let mut cursor = Cursor::default();
                let taken = order
                    .next(&self.store, &mut cursor)
                    .map(|slot| self.store.remove(slot));
                order.finish(&self.store, &mut cursor);
                taken?
            }
        };
        Some(Transfer::from_stored(message))
    }

    /// Hands over the transitions noted since the last call, with the queue's name.
    pub(super) fn take_noted(&mut self) -> (&str, std::vec::Drain<'_, Noted>) {
        (&self.name, self.noted.drain(..))
    }

    fn note(&mut self, at: Moment, kind: TransitionKind, body: Arc<str>) {
        self.noted.push(Noted { at, kind, body });
    }

    /// Every stored message, in send order, with the receipt its last receive issued.
    pub(super) fn remaining(&self) -> Vec<ReceivedMessage> {
        self.store
            .all()
            .into_iter()
            .map(|(slot, message)| ReceivedMessage {
                message_id: message.message_id.sqs(),
                body: Arc::clone(&message.body),
                receipt: Receipt::Token {
                    slot: self.token_slot(slot),
                    generation: self.store.generation(slot),
                },
                receive_count: message.receive_count,
                group_id: message.group_id().cloned(),
            })
            .collect()
    }

    /// Stores a message in `state` and makes it reachable (order or timer) and expirable.
    fn admit(
        &mut self,
        transfer: Transfer,
        state: State,
        copy_of: Option<(u32, u64)>,
    ) -> (u32, u64) {
        let seq = self.store.next_seq();
        let expires = transfer.enqueued_at.after(self.spec.attributes.retention);
        let slot = self.store.insert(Stored::new(
            seq,
            transfer.message_id,
            transfer.body,
            transfer.enqueued_at,
            transfer.receive_count,
            state,
            Rare {
                group_id: transfer.group_id,
                origin: transfer.origin,
                copy_of,
                duplicated: false,
            },
        ));
        self.retention.push(Timer {
            at: expires,
            seq,
            slot,
        });
        match state {
            State::Visible => self.make_available(slot, true),
            State::InFlight { until, .. } | State::Delayed { until } => {
                self.timers.push(Timer {
                    at: until,
                    seq,
                    slot,
                });
            }
        }
        (slot, seq)
    }

    /// A message just became visible: for the first time (`first_time`) or again.
    ///
    /// A FIFO message joins its group only here, when it first becomes available: a delayed
    /// message holds no group, so it neither blocks one nor keeps an emptied one alive.
    fn make_available(&mut self, slot: u32, first_time: bool) {
        let message = self.store.get(slot);
        let (seq, group) = (message.seq(), message.group);
        let deliverable = match &mut self.order {
            Order::Standard(order) => {
                order.push(slot, seq);
                true
            }
            Order::Fifo(order) if first_time => {
                let group = match message.group_id() {
                    Some(id) => order.group(id),
                    None => order.group(&Arc::from("")),
                };
                self.store.set_group(slot, group);
                order.push(&self.store, group, slot, seq)
            }
            Order::Fifo(order) => order.touch(&self.store, group),
        };
        self.woken |= deliverable;
    }

    /// Deletes a stored message; on FIFO queues its group may become deliverable.
    fn remove(&mut self, slot: u32) -> Stored {
        let message = self.store.remove(slot);
        if let Order::Fifo(order) = &mut self.order
            && message.group != NO_GROUP
        {
            self.woken |= order.touch(&self.store, message.group);
        }
        message
    }

    fn token_slot(&self, slot: u32) -> u64 {
        ((self.id.0 as u64) << 32) | u64::from(slot)
    }

    fn classify(&self, receipt: &Receipt) -> ReceiptStatus {
        match receipt {
            Receipt::Token { slot, generation } if slot >> 32 == self.id.0 as u64 => {
                self.store.classify(*slot as u32, *generation)
            }
            _ => ReceiptStatus::Invalid,
        }
    }

    #[cfg(test)]
    pub(super) fn live_groups(&self) -> usize {
        match &self.order {
            Order::Fifo(order) => order.live_groups(),
            Order::Standard(_) => 0,
        }
    }
}

/// A visibility or delay timer is live while its message still waits for exactly that moment.
fn timer_live(store: &Store, timer: &Timer) -> bool {
    store
        .live(timer.slot, timer.seq)
        .is_some_and(|m| match m.state() {
            State::InFlight { until, .. } | State::Delayed { until } => until == timer.at,
            State::Visible => false,
        })
}
