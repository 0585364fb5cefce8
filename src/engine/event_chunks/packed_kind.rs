//! An [`EventKind`] in six bytes: which kind ([`Tag`], one byte), one small field (`detail`, a
//! byte: a status, a reason, an operation) and one 32-bit field (`value`: a count, a key, a
//! version).
//!
//! `EventKind` itself takes 12 bytes, because three kinds carry two 32-bit numbers. Those three
//! (versioned writes, which a run has at most one or two of per message) are not packed: the
//! chunk keeps them whole beside its packed events ([`Tag::Spilled`]), as it does an event whose
//! actor does not fit 16 bits.
//!
//! The two directions are two exhaustive matches, so a new kind does not compile until it has
//! a tag (or spills) and its tag a way back; the tests take every kind there and back.

use crate::backend::faults::{ApiOperation, FaultKind};
use crate::backend::{Status, TransitionKind};
use crate::sqs::QueueRole;

use super::super::event::{CrashPoint, EventKind, ExitReason, KeyRef, SkipReason};

/// An event kind without its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tag {
    /// Not packed: `value` is the event's index in its chunk's spilled events.
    Spilled,
    Sent,
    SendFailed,
    Committed,
    CommitFailed,
    Resent,
    OutboxDeleted,
    PayloadStored,
    PayloadMissing,
    PayloadDeleted,
    ProducerDone,
    ConsumerStarted,
    Received,
    Unexpected,
    Rejected,
    Released,
    ReleaseFailed,
    Skipped,
    SideEffect,
    StaleMessage,
    Logged,
    StatusWritten,
    Deleted,
    DeleteFailed,
    Heartbeat,
    HeartbeatFailed,
    PrefetchExpired,
    Invoked,
    Throttled,
    InvocationTimedOut,
    Crashed,
    Killed,
    Exited,
    ShutdownRequested,
    PurgeRequested,
    PurgeFailed,
    RedriveStarted,
    RedriveFailed,
    Deployed,
    ScaledOut,
    ScaledIn,
    TimedOut,
    Queue,
    Fault,
    Retried,
}

/// A packed kind: its tag and its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PackedKind {
    pub(super) tag: Tag,
    pub(super) detail: u8,
    pub(super) value: u32,
}

impl PackedKind {
    fn bare(tag: Tag) -> PackedKind {
        PackedKind::with(tag, 0, 0)
    }

    fn with(tag: Tag, detail: u8, value: u32) -> PackedKind {
        PackedKind { tag, detail, value }
    }

    /// `kind` packed, or `None` for the kinds kept whole.
    pub(super) fn pack(kind: EventKind) -> Option<PackedKind> {
        use EventKind as K;
        let bare = |tag| Some(PackedKind::bare(tag));
        let value = |tag, value| Some(PackedKind::with(tag, 0, value));
        match kind {
            K::Sent => bare(Tag::Sent),
            K::SendFailed => bare(Tag::SendFailed),
            K::Committed => bare(Tag::Committed),
            K::CommitFailed => bare(Tag::CommitFailed),
            K::Resent => bare(Tag::Resent),
            K::OutboxDeleted => bare(Tag::OutboxDeleted),
            K::PayloadStored { chunks } => value(Tag::PayloadStored, chunks),
            K::PayloadMissing => bare(Tag::PayloadMissing),
            K::PayloadDeleted => bare(Tag::PayloadDeleted),
            K::ProducerDone => bare(Tag::ProducerDone),
            K::ConsumerStarted => bare(Tag::ConsumerStarted),
            K::Received { receive_count } => value(Tag::Received, receive_count),
            K::Unexpected => bare(Tag::Unexpected),
            K::Rejected => bare(Tag::Rejected),
            K::Released => bare(Tag::Released),
            K::ReleaseFailed => bare(Tag::ReleaseFailed),
            K::Skipped { reason, key } => Some(PackedKind::with(
                Tag::Skipped,
                reason.code()?,
                key.to_bits(),
            )),
            K::SideEffect { key } => value(Tag::SideEffect, key.to_bits()),
            K::Applying { .. } | K::Applied { .. } | K::StaleVersion { .. } => None,
            K::StaleMessage { age_ms } => value(Tag::StaleMessage, age_ms),
            K::Logged { value: logged } => value(Tag::Logged, logged),
            K::StatusWritten(status) => {
                Some(PackedKind::with(Tag::StatusWritten, status.code()?, 0))
            }
            K::Deleted => bare(Tag::Deleted),
            K::DeleteFailed => bare(Tag::DeleteFailed),
            K::Heartbeat => bare(Tag::Heartbeat),
            K::HeartbeatFailed => bare(Tag::HeartbeatFailed),
            K::PrefetchExpired => bare(Tag::PrefetchExpired),
            K::Invoked { messages } => value(Tag::Invoked, messages),
            K::Throttled => bare(Tag::Throttled),
            K::InvocationTimedOut => bare(Tag::InvocationTimedOut),
            K::Crashed(point) => Some(PackedKind::with(Tag::Crashed, point.code()?, 0)),
            K::Killed => bare(Tag::Killed),
            K::Exited(reason) => Some(PackedKind::with(Tag::Exited, reason.code()?, 0)),
            K::ShutdownRequested => bare(Tag::ShutdownRequested),
            K::PurgeRequested(role) => Some(PackedKind::with(Tag::PurgeRequested, role.code()?, 0)),
            K::PurgeFailed(role) => Some(PackedKind::with(Tag::PurgeFailed, role.code()?, 0)),
            K::RedriveStarted => bare(Tag::RedriveStarted),
            K::RedriveFailed => bare(Tag::RedriveFailed),
            K::Deployed => bare(Tag::Deployed),
            K::ScaledOut => bare(Tag::ScaledOut),
            K::ScaledIn => bare(Tag::ScaledIn),
            K::TimedOut => bare(Tag::TimedOut),
            K::Queue(transition) => {
                let (detail, value) = pack_transition(transition)?;
                Some(PackedKind::with(Tag::Queue, detail, value))
            }
            K::Fault { operation, fault } => Some(PackedKind::with(
                Tag::Fault,
                operation.code()?,
                u32::from(fault.code()?),
            )),
            K::Retried { operation, attempt } => {
                Some(PackedKind::with(Tag::Retried, operation.code()?, attempt))
            }
        }
    }

    /// The kind this was packed from.
    ///
    /// # Panics
    /// On [`Tag::Spilled`], which stands for an event kept whole.
    pub(super) fn unpack(self) -> EventKind {
        use EventKind as K;
        let PackedKind { tag, detail, value } = self;
        match tag {
            Tag::Spilled => panic!("a spilled event is read from its chunk's spilled events"),
            Tag::Sent => K::Sent,
            Tag::SendFailed => K::SendFailed,
            Tag::Committed => K::Committed,
            Tag::CommitFailed => K::CommitFailed,
            Tag::Resent => K::Resent,
            Tag::OutboxDeleted => K::OutboxDeleted,
            Tag::PayloadStored => K::PayloadStored { chunks: value },
            Tag::PayloadMissing => K::PayloadMissing,
            Tag::PayloadDeleted => K::PayloadDeleted,
            Tag::ProducerDone => K::ProducerDone,
            Tag::ConsumerStarted => K::ConsumerStarted,
            Tag::Received => K::Received {
                receive_count: value,
            },
            Tag::Unexpected => K::Unexpected,
            Tag::Rejected => K::Rejected,
            Tag::Released => K::Released,
            Tag::ReleaseFailed => K::ReleaseFailed,
            Tag::Skipped => K::Skipped {
                reason: SkipReason::from_code(detail),
                key: KeyRef::from_bits(value),
            },
            Tag::SideEffect => K::SideEffect {
                key: KeyRef::from_bits(value),
            },
            Tag::StaleMessage => K::StaleMessage { age_ms: value },
            Tag::Logged => K::Logged { value },
            Tag::StatusWritten => K::StatusWritten(Status::from_code(detail)),
            Tag::Deleted => K::Deleted,
            Tag::DeleteFailed => K::DeleteFailed,
            Tag::Heartbeat => K::Heartbeat,
            Tag::HeartbeatFailed => K::HeartbeatFailed,
            Tag::PrefetchExpired => K::PrefetchExpired,
            Tag::Invoked => K::Invoked { messages: value },
            Tag::Throttled => K::Throttled,
            Tag::InvocationTimedOut => K::InvocationTimedOut,
            Tag::Crashed => K::Crashed(CrashPoint::from_code(detail)),
            Tag::Killed => K::Killed,
            Tag::Exited => K::Exited(ExitReason::from_code(detail)),
            Tag::ShutdownRequested => K::ShutdownRequested,
            Tag::PurgeRequested => K::PurgeRequested(QueueRole::from_code(detail)),
            Tag::PurgeFailed => K::PurgeFailed(QueueRole::from_code(detail)),
            Tag::RedriveStarted => K::RedriveStarted,
            Tag::RedriveFailed => K::RedriveFailed,
            Tag::Deployed => K::Deployed,
            Tag::ScaledOut => K::ScaledOut,
            Tag::ScaledIn => K::ScaledIn,
            Tag::TimedOut => K::TimedOut,
            Tag::Queue => K::Queue(unpack_transition(detail, value)),
            Tag::Fault => K::Fault {
                operation: ApiOperation::from_code(detail),
                fault: FaultKind::from_code(u8::try_from(value).expect("packed from a u8")),
            },
            Tag::Retried => K::Retried {
                operation: ApiOperation::from_code(detail),
                attempt: value,
            },
        }
    }

    pub(super) fn spilled(index: u32) -> PackedKind {
        PackedKind::with(Tag::Spilled, 0, index)
    }
}

fn pack_transition(transition: TransitionKind) -> Option<(u8, u32)> {
    use TransitionKind as T;
    Some(match transition {
        T::VisibilityExpired => (0, 0),
        T::DeadLettered { receive_count } => (1, receive_count),
        T::Purged => (2, 0),
        T::Deduplicated => (3, 0),
        T::Expired => (4, 0),
        T::Redriven => (5, 0),
        T::Duplicated => (6, 0),
        T::StaleReceipt { operation, acted } => {
            (7, u32::from(operation.code()?) << 1 | u32::from(acted))
        }
    })
}

fn unpack_transition(detail: u8, value: u32) -> TransitionKind {
    use TransitionKind as T;
    match detail {
        0 => T::VisibilityExpired,
        1 => T::DeadLettered {
            receive_count: value,
        },
        2 => T::Purged,
        3 => T::Deduplicated,
        4 => T::Expired,
        5 => T::Redriven,
        6 => T::Duplicated,
        7 => T::StaleReceipt {
            operation: ApiOperation::from_code((value >> 1) as u8),
            acted: value & 1 == 1,
        },
        _ => unreachable!("transition {detail} was never packed"),
    }
}

/// A field-less enum kept as its place in `ALL`. A variant missing from `ALL` has no code, and
/// its event is kept whole rather than packed wrongly.
trait Listed: Copy + PartialEq + 'static {
    const ALL: &'static [Self];

    fn code(self) -> Option<u8> {
        let at = Self::ALL.iter().position(|&listed| listed == self)?;
        u8::try_from(at).ok()
    }

    fn from_code(code: u8) -> Self {
        Self::ALL[usize::from(code)]
    }
}

impl Listed for Status {
    const ALL: &'static [Status] = &[Status::Started, Status::Completed];
}

impl Listed for SkipReason {
    const ALL: &'static [SkipReason] = &[
        SkipReason::SeenInMemory,
        SkipReason::AlreadyCompleted,
        SkipReason::InProgressElsewhere,
        SkipReason::AlreadyPerformed,
        SkipReason::ConditionFailed,
    ];
}

impl Listed for CrashPoint {
    const ALL: &'static [CrashPoint] = &[
        CrashPoint::AfterReceive,
        CrashPoint::MidProcessing,
        CrashPoint::AfterSideEffect,
        CrashPoint::AfterCommit,
        CrashPoint::AfterSend,
    ];
}

impl Listed for ExitReason {
    const ALL: &'static [ExitReason] = &[
        ExitReason::Idle,
        ExitReason::MessageLimit,
        ExitReason::Terminated,
    ];
}

impl Listed for QueueRole {
    const ALL: &'static [QueueRole] = &[QueueRole::Main, QueueRole::DeadLetter];
}

impl Listed for ApiOperation {
    const ALL: &'static [ApiOperation] = &ApiOperation::ALL;
}

impl Listed for FaultKind {
    const ALL: &'static [FaultKind] = &FaultKind::ALL;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind with every value of its small fields, and 32-bit fields at their ends.
    fn every_kind() -> Vec<EventKind> {
        use EventKind as K;
        let numbers = [0, 1, u32::MAX];
        let keys = [
            KeyRef::MESSAGE_ID,
            KeyRef::from_bits(0),
            KeyRef::from_bits(7),
        ];
        let mut kinds = vec![
            K::Sent,
            K::SendFailed,
            K::Committed,
            K::CommitFailed,
            K::Resent,
            K::OutboxDeleted,
            K::PayloadMissing,
            K::PayloadDeleted,
            K::ProducerDone,
            K::ConsumerStarted,
            K::Unexpected,
            K::Rejected,
            K::Released,
            K::ReleaseFailed,
            K::Deleted,
            K::DeleteFailed,
            K::Heartbeat,
            K::HeartbeatFailed,
            K::PrefetchExpired,
            K::Throttled,
            K::InvocationTimedOut,
            K::Killed,
            K::ShutdownRequested,
            K::RedriveStarted,
            K::RedriveFailed,
            K::Deployed,
            K::ScaledOut,
            K::ScaledIn,
            K::TimedOut,
        ];
        for n in numbers {
            kinds.extend([
                K::PayloadStored { chunks: n },
                K::Received { receive_count: n },
                K::StaleMessage { age_ms: n },
                K::Logged { value: n },
                K::Invoked { messages: n },
                K::Queue(TransitionKind::DeadLettered { receive_count: n }),
                K::Applying {
                    version: n,
                    entity: keys[1],
                },
                K::Applied {
                    version: n,
                    key: keys[2],
                },
                K::StaleVersion {
                    version: n,
                    current: n / 2,
                },
            ]);
            for operation in ApiOperation::ALL {
                kinds.push(K::Retried {
                    operation,
                    attempt: n,
                });
            }
        }
        for key in keys {
            kinds.push(K::SideEffect { key });
            for &reason in SkipReason::ALL {
                kinds.push(K::Skipped { reason, key });
            }
        }
        kinds.extend(Status::ALL.iter().map(|&s| K::StatusWritten(s)));
        kinds.extend(CrashPoint::ALL.iter().map(|&p| K::Crashed(p)));
        kinds.extend(ExitReason::ALL.iter().map(|&r| K::Exited(r)));
        for &role in QueueRole::ALL {
            kinds.extend([K::PurgeRequested(role), K::PurgeFailed(role)]);
        }
        for operation in ApiOperation::ALL {
            kinds.extend(FaultKind::ALL.map(|fault| K::Fault { operation, fault }));
            kinds.extend(
                [false, true]
                    .map(|acted| K::Queue(TransitionKind::StaleReceipt { operation, acted })),
            );
        }
        kinds.extend(
            [
                TransitionKind::VisibilityExpired,
                TransitionKind::Purged,
                TransitionKind::Deduplicated,
                TransitionKind::Expired,
                TransitionKind::Redriven,
                TransitionKind::Duplicated,
            ]
            .map(K::Queue),
        );
        kinds
    }

    #[test]
    fn every_kind_comes_back_as_it_was_packed_or_is_kept_whole() {
        let mut tags = Vec::new();
        for kind in every_kind() {
            match PackedKind::pack(kind) {
                Some(packed) => {
                    assert_ne!(packed.tag, Tag::Spilled, "{kind:?}");
                    assert_eq!(packed.unpack(), kind);
                    if !tags.contains(&packed.tag) {
                        tags.push(packed.tag);
                    }
                }
                None => assert!(
                    matches!(
                        kind,
                        EventKind::Applying { .. }
                            | EventKind::Applied { .. }
                            | EventKind::StaleVersion { .. }
                    ),
                    "only the two-number kinds are kept whole: {kind:?}"
                ),
            }
        }
        // Every tag but `Spilled` is some kind's: the list above misses none.
        assert_eq!(tags.len(), 44);
    }

    #[test]
    fn distinct_kinds_pack_distinctly() {
        let packed: Vec<(u8, u8, u32)> = every_kind()
            .into_iter()
            .filter_map(PackedKind::pack)
            .map(|p| (p.tag as u8, p.detail, p.value))
            .collect();
        let mut distinct = packed.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), packed.len(), "two kinds share a packing");
    }

    #[test]
    fn small_fields_are_their_place_in_the_list() {
        for (i, &status) in Status::ALL.iter().enumerate() {
            assert_eq!(status.code(), Some(i as u8));
            assert_eq!(Status::from_code(i as u8), status);
        }
        assert_eq!(QueueRole::DeadLetter.code(), Some(1));
    }

    #[test]
    fn a_packed_kind_is_six_bytes_of_eight() {
        assert!(size_of::<PackedKind>() <= 8);
        assert_eq!(size_of::<Tag>(), 1);
    }
}
