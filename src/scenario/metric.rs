//! Every metric an `[expect]` key may name, declared once: one row of [`Metric::ALL`] holds its
//! name, its meaning, the kind of value it has, what it may be scoped to and whether it needs a
//! DLQ. Resolution, the JSON Schema, the README and the reports read these rows; the check
//! module computes each value, one function per metric.

use MetricKind::{Bool, Count, Dollars, PerKey, Seconds};
use MetricScope::{Messages, Run};
use Needs::{Dlq, Nothing};

/// A metric `[expect]` may name. A name not in [`Metric::ALL`] is an error in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Sent,
    Received,
    Processed,
    SideEffects,
    DuplicatedEffects,
    Lost,
    Unexpected,
    Redelivered,
    Dlq,
    PoisonInDlq,
    GoodInDlq,
    DlqReceivesMin,
    DlqReceivesMax,
    Remaining,
    QueueEmpty,
    Purged,
    Stale,
    Deduplicated,
    Expired,
    MinAttempts,
    MaxAttempts,
    EffectsPerKeyMax,
    PeakConsumers,
    Crashed,
    ExitedClean,
    Ordered,
    OrderViolations,
    VersionsIncreasing,
    StaleOverwrites,
    FinalVersionsNewest,
    Redriven,
    OldestAgeSeconds,
    AckedFailures,
    PrefetchExpired,
    Throttled,
    Status,
    AmbiguousSends,
    DuplicatesFromRetries,
    RejectedSends,
    ApiCalls,
    EstimatedCostUsd,
    LostBusinessRecords,
    PhantomMessages,
    UnsentOutboxRows,
    RelayResends,
    ClaimChecked,
    OrphanedPayloads,
}

/// The kind of value a metric has, which decides what `[expect]` may compare it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// A whole number: `= 5` or `">= 5"`.
    Count,
    /// A time in seconds, fractions allowed.
    Seconds,
    /// An amount in US dollars, fractions allowed.
    Dollars,
    /// True or false.
    Bool,
    /// A count per key: `status = { COMPLETED = 5 }`.
    PerKey,
}

/// What a metric may be computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricScope {
    /// The whole run only.
    Run,
    /// The run's messages, or one producer's (`[expect.producer.NAME]`).
    Messages,
}

/// What a metric needs to mean anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// A DLQ: on a queue without one the metric is trivially zero.
    Dlq,
}

/// One row of [`Metric::ALL`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricDef {
    pub metric: Metric,
    pub name: &'static str,
    /// Its definition in terms of the `--events` history (the README's metric table).
    pub meaning: &'static str,
    pub kind: MetricKind,
    pub scope: MetricScope,
    pub needs: Needs,
}

const fn def(
    metric: Metric,
    name: &'static str,
    kind: MetricKind,
    scope: MetricScope,
    needs: Needs,
    meaning: &'static str,
) -> MetricDef {
    MetricDef {
        metric,
        name,
        meaning,
        kind,
        scope,
        needs,
    }
}

impl Metric {
    /// Every metric, in the order of the README's table and the reports.
    pub const ALL: &[MetricDef] = &[
        def(
            Metric::Sent,
            "sent",
            Count,
            Messages,
            Nothing,
            "`sent` lines: messages SQS accepted",
        ),
        def(
            Metric::Received,
            "received",
            Count,
            Messages,
            Nothing,
            "`received` events: every delivery of a known message counts",
        ),
        def(
            Metric::Processed,
            "processed",
            Count,
            Messages,
            Nothing,
            "messages with fate `processed`",
        ),
        def(
            Metric::SideEffects,
            "side_effects",
            Count,
            Messages,
            Nothing,
            "whole run: the sum of `count` over the side-effects table's items (`final-item`, one per `side-effect` or `applied` event); per producer: its messages' `side-effect` and `applied` events",
        ),
        def(
            Metric::DuplicatedEffects,
            "duplicated_effects",
            Count,
            Run,
            Nothing,
            "over idempotency keys K, the sum of n(K) − 1 where n(K) > 1; n(K) = `side-effect` plus `applied` events with `key` K (for side effects qsim reads K's count in the side-effects table, which equals its events on a complete history)",
        ),
        def(
            Metric::Lost,
            "lost",
            Count,
            Messages,
            Nothing,
            "messages with fate `lost`",
        ),
        def(
            Metric::Unexpected,
            "unexpected",
            Count,
            Run,
            Nothing,
            "`unexpected` events plus `final-message` lines that name no message",
        ),
        def(
            Metric::Redelivered,
            "redelivered",
            Count,
            Messages,
            Nothing,
            "messages with two or more `received` events",
        ),
        def(
            Metric::Dlq,
            "dlq",
            Count,
            Messages,
            Dlq,
            "messages with fate `dlq`",
        ),
        def(
            Metric::PoisonInDlq,
            "poison_in_dlq",
            Count,
            Messages,
            Dlq,
            "messages with fate `dlq` whose `sent` line says `poison: true`",
        ),
        def(
            Metric::GoodInDlq,
            "good_in_dlq",
            Count,
            Messages,
            Dlq,
            "messages with fate `dlq` and `poison: false`",
        ),
        def(
            Metric::DlqReceivesMin,
            "dlq_receives_min",
            Count,
            Messages,
            Dlq,
            "fewest `received` events of a message with fate `dlq` (0 if none)",
        ),
        def(
            Metric::DlqReceivesMax,
            "dlq_receives_max",
            Count,
            Messages,
            Dlq,
            "most `received` events of a message with fate `dlq` (0 if none)",
        ),
        def(
            Metric::Remaining,
            "remaining",
            Count,
            Messages,
            Nothing,
            "messages with fate `remaining`",
        ),
        def(
            Metric::QueueEmpty,
            "queue_empty",
            Bool,
            Run,
            Nothing,
            "no message with fate `dlq` or `remaining` and no `final-message` line without a message",
        ),
        def(
            Metric::Purged,
            "purged",
            Count,
            Messages,
            Nothing,
            "messages with fate `purged`",
        ),
        def(
            Metric::Stale,
            "stale",
            Count,
            Messages,
            Nothing,
            "messages with fate `stale`",
        ),
        def(
            Metric::Deduplicated,
            "deduplicated",
            Count,
            Messages,
            Nothing,
            "messages with fate `deduplicated`",
        ),
        def(
            Metric::Expired,
            "expired",
            Count,
            Messages,
            Nothing,
            "messages with fate `expired`",
        ),
        def(
            Metric::MinAttempts,
            "min_attempts",
            Count,
            Messages,
            Nothing,
            "fewest `received` events of a message with fate `processed` (0 if none)",
        ),
        def(
            Metric::MaxAttempts,
            "max_attempts",
            Count,
            Messages,
            Nothing,
            "most `received` events of a message with fate `processed` (0 if none)",
        ),
        def(
            Metric::EffectsPerKeyMax,
            "effects_per_key_max",
            Count,
            Run,
            Nothing,
            "the largest n(K) (see `duplicated_effects`; 0 if none)",
        ),
        def(
            Metric::PeakConsumers,
            "peak_consumers",
            Count,
            Run,
            Nothing,
            "`run-ended`'s `peak_consumers`: most consumer instances alive at once",
        ),
        def(
            Metric::Crashed,
            "crashed",
            Count,
            Run,
            Nothing,
            "`crashed` plus `killed` events",
        ),
        def(
            Metric::ExitedClean,
            "exited_clean",
            Count,
            Run,
            Nothing,
            "`exited` events",
        ),
        def(
            Metric::Ordered,
            "ordered",
            Bool,
            Run,
            Nothing,
            "no order violation",
        ),
        def(
            Metric::OrderViolations,
            "order_violations",
            Count,
            Run,
            Nothing,
            "`logged` events whose message's `seq` is lower than that of a message of the same producer and group logged before it",
        ),
        def(
            Metric::VersionsIncreasing,
            "versions_increasing",
            Bool,
            Run,
            Nothing,
            "no stale overwrite",
        ),
        def(
            Metric::StaleOverwrites,
            "stale_overwrites",
            Count,
            Run,
            Nothing,
            "`applied` events whose version is lower than that of an `applied` event of the same entity (the `entity` of their `applying` lines) logged before this write's `applying` event",
        ),
        def(
            Metric::FinalVersionsNewest,
            "final_versions_newest",
            Bool,
            Run,
            Nothing,
            "every entity of a `sent` line ends (`final-item` key `entity:E`) at the highest version sent for it; true when there is none",
        ),
        def(
            Metric::Redriven,
            "redriven",
            Count,
            Run,
            Dlq,
            "`run-ended`'s `redriven`: messages the move task moved back",
        ),
        def(
            Metric::OldestAgeSeconds,
            "oldest_age_seconds",
            Seconds,
            Messages,
            Nothing,
            "the largest (first `received` − `sent`) time of a message, in seconds (0 if none)",
        ),
        def(
            Metric::AckedFailures,
            "acked_failures",
            Count,
            Messages,
            Nothing,
            "messages with fate `processed`, a `rejected` event and no `side-effect` or `applied` event: deleted although their handling failed",
        ),
        def(
            Metric::PrefetchExpired,
            "prefetch_expired",
            Count,
            Messages,
            Nothing,
            "messages with a `prefetch-expired` event",
        ),
        def(
            Metric::Throttled,
            "throttled",
            Count,
            Messages,
            Nothing,
            "messages with a `throttled` event",
        ),
        def(
            Metric::Status,
            "status",
            PerKey,
            Run,
            Nothing,
            "`final-item` lines of table `status` per status, e.g. { COMPLETED = 5 }",
        ),
        def(
            Metric::AmbiguousSends,
            "ambiguous_sends",
            Count,
            Messages,
            Nothing,
            "messages with a `fault` event on `send` whose fault is `timeout_before` or `timeout_after`: the producer could not know whether the queue took them",
        ),
        def(
            Metric::DuplicatesFromRetries,
            "duplicates_from_retries",
            Count,
            Messages,
            Nothing,
            "over messages, the copies the queue took beyond the first: its `fault` events on `send` with `timeout_after` plus its `sent` line, less one; on a FIFO queue a copy taken less than 5 minutes after the message's first is deduplicated and not counted",
        ),
        def(
            Metric::RejectedSends,
            "rejected_sends",
            Count,
            Messages,
            Nothing,
            "messages whose send was refused (fate `not-sent` with a `send-failed` line): by SQS (too large) or out of retries; a message whose business record could not be written was never sent, so it is not counted",
        ),
        def(
            Metric::ApiCalls,
            "api_calls",
            Count,
            Run,
            Nothing,
            "the sum of `run-ended`'s `api_calls`: every call the producers, consumers, timeline and autoscaler made",
        ),
        def(
            Metric::EstimatedCostUsd,
            "estimated_cost_usd",
            Dollars,
            Run,
            Nothing,
            "`run-ended`'s `billed_requests` priced in US dollars: SQS $0.40 per million requests ($0.50 on a FIFO queue), DynamoDB on-demand $0.625 per million write units (`PutItem`, `UpdateItem`, `DeleteItem`; `TransactWriteItems` bills 2 per item) and $0.125 per million reads (`GetItem`); us-east-1 list prices, free tiers not deducted",
        ),
        def(
            Metric::LostBusinessRecords,
            "lost_business_records",
            Count,
            Messages,
            Nothing,
            "messages whose business record (`final-item` of table `status` with key `record:ID`) exists and that have no `sent` or `resent` line: the record says it happened, no consumer ever hears of it",
        ),
        def(
            Metric::PhantomMessages,
            "phantom_messages",
            Count,
            Messages,
            Nothing,
            "messages with a `sent` line whose producer writes a business record with them (they have a `committed` or `commit-failed` line, or a producer's `crashed` line at after-commit or after-send) and whose record (`record:ID`) is not in the final status table: consumers act on something that never happened",
        ),
        def(
            Metric::UnsentOutboxRows,
            "unsent_outbox_rows",
            Count,
            Messages,
            Nothing,
            "`final-item` lines of table `status` with key `outbox:ID`: outbox rows no relay has sent and deleted",
        ),
        def(
            Metric::RelayResends,
            "relay_resends",
            Count,
            Messages,
            Nothing,
            "`resent` lines: copies an outbox relay sent again after a restart",
        ),
        def(
            Metric::ClaimChecked,
            "claim_checked",
            Count,
            Messages,
            Nothing,
            "messages with a `payload-stored` line: bodies a producer stored in the status table (`payload:ID:N`) and sent a pointer to (`claim_check_above`)",
        ),
        def(
            Metric::OrphanedPayloads,
            "orphaned_payloads",
            Count,
            Messages,
            Nothing,
            "messages whose stored payload (`final-item` of table `status` with key `payload:ID:N`) outlived them: the message is in neither the queue nor the DLQ at the end, so nothing will read or delete it",
        ),
    ];

    pub fn def(self) -> &'static MetricDef {
        Metric::ALL
            .iter()
            .find(|d| d.metric == self)
            .expect("every metric has a row in Metric::ALL")
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Whether the metric can be decided when a team's own consumer (`command`) ran: from what
    /// qsim's producers did, the final state of the queues and tables (a side effect by the
    /// convention of the side-effects table) and the processes it started. The consumer's own
    /// calls (receives, deletes, visibility changes) are not seen.
    pub fn observable_without_consumer_calls(self) -> bool {
        use Metric::*;
        matches!(
            self,
            Sent | Processed
                | SideEffects
                | DuplicatedEffects
                | Lost
                | Dlq
                | PoisonInDlq
                | GoodInDlq
                | Remaining
                | QueueEmpty
                | EffectsPerKeyMax
                | PeakConsumers
                | Crashed
                | ExitedClean
                | Status
                | AmbiguousSends
                | DuplicatesFromRetries
                | RejectedSends
                | LostBusinessRecords
                | PhantomMessages
                | UnsentOutboxRows
                | RelayResends
        )
    }

    /// Whether the metric can be decided from a `command` consumer's calls as well, which the
    /// simulator qsim serves to it records (the default backend): how often each message was
    /// delivered and when first, and what its calls cost.
    pub fn observable_from_endpoint_history(self) -> bool {
        use Metric::*;
        self.observable_without_consumer_calls()
            || matches!(
                self,
                Received
                    | Redelivered
                    | MinAttempts
                    | MaxAttempts
                    | DlqReceivesMin
                    | DlqReceivesMax
                    | OldestAgeSeconds
                    | ApiCalls
                    | EstimatedCostUsd
            )
    }

    pub fn kind(self) -> MetricKind {
        self.def().kind
    }

    pub fn scope(self) -> MetricScope {
        self.def().scope
    }

    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_metric_has_one_row_and_one_name() {
        for (i, row) in Metric::ALL.iter().enumerate() {
            assert_eq!(
                row.metric as usize, i,
                "{}: rows follow the enum's order",
                row.name
            );
            assert_eq!(Metric::from_name(row.name), Some(row.metric));
        }
    }
}
