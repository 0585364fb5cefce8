//! The value of each `[expect]` metric, over the whole run or over one producer's messages, and
//! the messages (or keys) that make it up, for failure reports.
//!
//! A metric is declared once, in its row of [`Metric::ALL`] (name, meaning, kind, scope), and
//! computed once, by one function of its family's file; [`evaluator`] pairs the two (the
//! scenario's table cannot name these functions: the file format does not depend on checks).
//! Adding a metric is one row, one function and one line here, which the compiler asks for.

mod api;
mod effects;
mod fates;
mod order;
mod payloads;
mod records;
mod run;
mod versions;

use std::collections::BTreeMap;

use super::facts::{Facts, MessageFacts};
use crate::engine::{EventLog, MessageMeta, Outcome};
use crate::scenario::{Metric, ProducerIx};

/// A metric's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Bool(bool),
    Counts(BTreeMap<String, u64>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(n) if n.fract() == 0.0 => write!(f, "{}", *n as i64),
            // Costs of a few calls are millionths of a dollar: keep their digits.
            Value::Number(n) if n.abs() < 0.01 => write!(f, "{n:.3e}"),
            Value::Number(n) => write!(f, "{n:.3}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Counts(counts) => {
                let inner: Vec<String> = counts.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                write!(f, "{{ {} }}", inner.join(", "))
            }
        }
    }
}

pub(super) struct Evaluated {
    pub value: Value,
    /// Message ids or keys behind the value, when it counts something (at most a few dozen).
    pub involved: Vec<String>,
}

/// At most how many messages or keys a value lists as involved.
const INVOLVED_MAX: usize = 20;

/// What a metric is computed from: the run, its facts, and the producer it is scoped to.
pub(super) struct Input<'a> {
    pub outcome: &'a Outcome,
    pub facts: &'a Facts,
    /// `None`: the whole run.
    pub scope: Option<ProducerIx>,
}

/// Computes one metric.
type Evaluator = fn(&Input) -> Evaluated;

pub(super) fn evaluate(
    metric: Metric,
    scope: Option<ProducerIx>,
    outcome: &Outcome,
    facts: &Facts,
) -> Evaluated {
    evaluator(metric)(&Input {
        outcome,
        facts,
        scope,
    })
}

/// Each metric's function, by family.
fn evaluator(metric: Metric) -> Evaluator {
    match metric {
        // Where messages ended up and how often they were delivered.
        Metric::Sent => fates::sent,
        Metric::Received => fates::received,
        Metric::Processed => fates::processed,
        Metric::Lost => fates::lost,
        Metric::Unexpected => fates::unexpected,
        Metric::Redelivered => fates::redelivered,
        Metric::Dlq => fates::dlq,
        Metric::PoisonInDlq => fates::poison_in_dlq,
        Metric::GoodInDlq => fates::good_in_dlq,
        Metric::DlqReceivesMin => fates::dlq_receives_min,
        Metric::DlqReceivesMax => fates::dlq_receives_max,
        Metric::Remaining => fates::remaining,
        Metric::QueueEmpty => fates::queue_empty,
        Metric::Purged => fates::purged,
        Metric::Stale => fates::stale,
        Metric::Deduplicated => fates::deduplicated,
        Metric::Expired => fates::expired,
        Metric::MinAttempts => fates::min_attempts,
        Metric::MaxAttempts => fates::max_attempts,
        Metric::OldestAgeSeconds => fates::oldest_age_seconds,
        Metric::AckedFailures => fates::acked_failures,
        Metric::PrefetchExpired => fates::prefetch_expired,
        Metric::Throttled => fates::throttled,
        // Side effects per idempotency key, and the status table.
        Metric::SideEffects => effects::side_effects,
        Metric::DuplicatedEffects => effects::duplicated_effects,
        Metric::EffectsPerKeyMax => effects::effects_per_key_max,
        Metric::Status => effects::status,
        // The order log per group.
        Metric::Ordered => order::ordered,
        Metric::OrderViolations => order::order_violations,
        // Versioned writes per entity.
        Metric::VersionsIncreasing => versions::versions_increasing,
        Metric::StaleOverwrites => versions::stale_overwrites,
        Metric::FinalVersionsNewest => versions::final_versions_newest,
        // The consumers and the move task.
        Metric::PeakConsumers => run::peak_consumers,
        Metric::Crashed => run::crashed,
        Metric::ExitedClean => run::exited_clean,
        Metric::Redriven => run::redriven,
        // The API: calls, cost, ambiguous sends and the copies retries made.
        Metric::AmbiguousSends => api::ambiguous_sends,
        Metric::DuplicatesFromRetries => api::duplicates_from_retries,
        Metric::RejectedSends => fates::rejected_sends,
        Metric::ApiCalls => api::api_calls,
        Metric::EstimatedCostUsd => api::estimated_cost_usd,
        // Business records against their messages: the outbox and the naive dual write.
        Metric::LostBusinessRecords => records::lost_business_records,
        Metric::PhantomMessages => records::phantom_messages,
        Metric::UnsentOutboxRows => records::unsent_outbox_rows,
        Metric::RelayResends => records::relay_resends,
        // Claim-checked bodies and what is left of them.
        Metric::ClaimChecked => payloads::claim_checked,
        Metric::OrphanedPayloads => payloads::orphaned_payloads,
    }
}

impl Input<'_> {
    fn log(&self) -> &EventLog {
        &self.outcome.log
    }

    fn message(&self, i: usize) -> &MessageFacts {
        &self.facts.messages[i]
    }

    fn meta(&self, i: usize) -> &MessageMeta {
        &self.outcome.log.messages[i]
    }

    /// The messages in scope, by position in the log.
    fn in_scope(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.facts.messages.len())
            .filter(|&i| self.scope.is_none_or(|p| self.meta(i).producer() == p.0))
    }

    /// The messages in scope that `pred` holds for: how many, and the first few ids.
    fn ids(&self, pred: impl Fn(usize) -> bool) -> (usize, Vec<String>) {
        let all: Vec<usize> = self.in_scope().filter(|&i| pred(i)).collect();
        let shown = all
            .iter()
            .take(INVOLVED_MAX)
            .map(|&i| self.meta(i).id.to_string())
            .collect();
        (all.len(), shown)
    }

    /// How many messages in scope `pred` holds for, listing them.
    fn count(&self, pred: impl Fn(usize) -> bool) -> Evaluated {
        let (n, involved) = self.ids(pred);
        Evaluated {
            value: Value::Number(n as f64),
            involved,
        }
    }

    /// The fewest (or with `max` the most) deliveries of a message in scope that `pred` holds
    /// for; 0 if there is none.
    fn extreme_deliveries(&self, pred: impl Fn(usize) -> bool, max: bool) -> Evaluated {
        let values = self
            .in_scope()
            .filter(|&i| pred(i))
            .map(|i| self.message(i).deliveries);
        let v = if max { values.max() } else { values.min() };
        number(f64::from(v.unwrap_or(0)))
    }
}

fn number(n: f64) -> Evaluated {
    Evaluated {
        value: Value::Number(n),
        involved: Vec::new(),
    }
}

/// A true/false metric that holds when `offenders` is empty, listing the first few.
fn none_of(mut offenders: Vec<String>) -> Evaluated {
    let value = Value::Bool(offenders.is_empty());
    offenders.truncate(INVOLVED_MAX);
    Evaluated {
        value,
        involved: offenders,
    }
}

/// How many `offenders` there are, listing the first few.
fn how_many(mut offenders: Vec<String>) -> Evaluated {
    let value = Value::Number(offenders.len() as f64);
    offenders.truncate(INVOLVED_MAX);
    Evaluated {
        value,
        involved: offenders,
    }
}
