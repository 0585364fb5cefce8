//! The value of each `[expect]` metric, over the whole run or over one producer's messages, and
//! the messages (or keys) that make it up, for failure reports.

use std::collections::BTreeMap;

use super::facts::{Apply, Facts, Fate};
use std::borrow::Cow;

use crate::engine::{EventLog, Outcome};
use crate::scenario::Metric;

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
            Value::Number(n) => write!(f, "{n:.3}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Counts(counts) => {
                let inner: Vec<String> = counts.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                write!(f, "{{ {} }}", inner.join(", "))
            }
        }
    }
}

pub struct Evaluated {
    pub value: Value,
    /// Message ids or keys behind the value, when it counts something (at most a few dozen).
    pub involved: Vec<String>,
}

const INVOLVED_MAX: usize = 20;

pub fn evaluate(
    metric: Metric,
    scope: Option<usize>,
    outcome: &Outcome,
    facts: &Facts,
) -> Evaluated {
    let log = &outcome.log;
    let in_scope = |i: usize| scope.is_none_or(|p| log.messages[i].producer == p);
    let ids = |pred: &dyn Fn(usize) -> bool| -> (usize, Vec<String>) {
        let all: Vec<usize> = (0..facts.messages.len())
            .filter(|&i| in_scope(i) && pred(i))
            .collect();
        let shown = all
            .iter()
            .take(INVOLVED_MAX)
            .map(|&i| log.messages[i].id.to_string())
            .collect();
        (all.len(), shown)
    };
    let count = |pred: &dyn Fn(usize) -> bool| {
        let (n, involved) = ids(pred);
        Evaluated {
            value: Value::Number(n as f64),
            involved,
        }
    };
    let number = |n: f64| Evaluated {
        value: Value::Number(n),
        involved: Vec::new(),
    };
    let fate = |i: usize| facts.fate(i);
    let msg = |i: usize| &facts.messages[i];
    let extreme = |pred: &dyn Fn(usize) -> bool, max: bool| {
        let values = (0..facts.messages.len())
            .filter(|&i| in_scope(i) && pred(i))
            .map(|i| msg(i).deliveries);
        let v = if max { values.max() } else { values.min() };
        number(f64::from(v.unwrap_or(0)))
    };

    match metric {
        Metric::Sent => count(&|i| msg(i).sent),
        Metric::Received => number(
            (0..facts.messages.len())
                .filter(|&i| in_scope(i))
                .map(|i| f64::from(msg(i).deliveries))
                .sum(),
        ),
        Metric::Processed => count(&|i| fate(i) == Fate::Processed),
        Metric::SideEffects => match scope {
            None => number(
                facts
                    .effects_by_key
                    .values()
                    .map(|&c| f64::from(c))
                    .sum::<f64>()
                    + facts
                        .entity_versions
                        .values()
                        .map(|&(c, _)| f64::from(c))
                        .sum::<f64>(),
            ),
            Some(_) => number(
                (0..facts.messages.len())
                    .filter(|&i| in_scope(i))
                    .map(|i| f64::from(msg(i).effects))
                    .sum(),
            ),
        },
        Metric::DuplicatedEffects => {
            keys(facts, log, |c| c > 1, |c| f64::from(c.saturating_sub(1)))
        }
        Metric::EffectsPerKeyMax => number(f64::from(
            effects_per_key(facts, log)
                .values()
                .copied()
                .max()
                .unwrap_or(0),
        )),
        Metric::Lost => count(&|i| fate(i) == Fate::Lost),
        Metric::Unexpected => number(facts.unexpected as f64),
        Metric::Redelivered => count(&|i| msg(i).deliveries > 1),
        Metric::Dlq => count(&|i| fate(i) == Fate::Dlq),
        Metric::PoisonInDlq => count(&|i| fate(i) == Fate::Dlq && log.messages[i].poison),
        Metric::GoodInDlq => count(&|i| fate(i) == Fate::Dlq && !log.messages[i].poison),
        Metric::DlqReceivesMin => extreme(&|i| fate(i) == Fate::Dlq, false),
        Metric::DlqReceivesMax => extreme(&|i| fate(i) == Fate::Dlq, true),
        Metric::Remaining => count(&|i| fate(i) == Fate::Remaining),
        Metric::QueueEmpty => {
            let (n, involved) = ids(&|i| matches!(fate(i), Fate::Remaining | Fate::Dlq));
            Evaluated {
                value: Value::Bool(n == 0 && facts.unexpected == 0),
                involved,
            }
        }
        Metric::Purged => count(&|i| fate(i) == Fate::Purged),
        Metric::Stale => count(&|i| fate(i) == Fate::Stale),
        Metric::Deduplicated => count(&|i| fate(i) == Fate::Deduplicated),
        Metric::Expired => count(&|i| fate(i) == Fate::Expired),
        Metric::MinAttempts => extreme(&|i| fate(i) == Fate::Processed, false),
        Metric::MaxAttempts => extreme(&|i| fate(i) == Fate::Processed, true),
        Metric::PeakConsumers => number(outcome.peak_consumers as f64),
        Metric::Crashed => number(facts.crashes as f64),
        Metric::ExitedClean => number(facts.clean_exits as f64),
        Metric::Ordered | Metric::OrderViolations => {
            // Send order per producer within each group: values need not grow with sends, and
            // logging a redelivered message again is no violation.
            let mut violations = Vec::new();
            for entries in facts.order_log.values() {
                let mut highest: BTreeMap<usize, u64> = BTreeMap::new();
                for (ix, _) in entries {
                    let meta = log.meta(*ix);
                    let top = highest.entry(meta.producer).or_default();
                    if meta.seq < *top {
                        violations.push(meta.id.to_string());
                    }
                    *top = (*top).max(meta.seq);
                }
            }
            let value = if metric == Metric::Ordered {
                Value::Bool(violations.is_empty())
            } else {
                Value::Number(violations.len() as f64)
            };
            violations.truncate(INVOLVED_MAX);
            Evaluated {
                value,
                involved: violations,
            }
        }
        Metric::VersionsIncreasing | Metric::StaleOverwrites => {
            let mut stale = Vec::new();
            for applied in facts.applied.values() {
                for (apply, highest) in stale_applies(applied) {
                    let id = &log.meta(apply.message).id;
                    stale.push(format!("{id} (v{} after v{highest})", apply.version));
                }
            }
            let value = if metric == Metric::VersionsIncreasing {
                Value::Bool(stale.is_empty())
            } else {
                Value::Number(stale.len() as f64)
            };
            stale.truncate(INVOLVED_MAX);
            Evaluated {
                value,
                involved: stale,
            }
        }
        Metric::FinalVersionsNewest => {
            let mut newest: BTreeMap<&str, u64> = BTreeMap::new();
            for (i, meta) in log.messages.iter().enumerate() {
                if let (Some(entity), Some(version), true) =
                    (&meta.entity, meta.version, facts.messages[i].sent)
                {
                    let slot = newest.entry(entity).or_default();
                    *slot = (*slot).max(version);
                }
            }
            let wrong: Vec<String> = newest
                .iter()
                .filter(|(entity, v)| {
                    facts.entity_versions.get(**entity).and_then(|e| e.1) != Some(**v)
                })
                .map(|(entity, v)| {
                    let got = facts.entity_versions.get(*entity).and_then(|e| e.1);
                    format!(
                        "{entity}: v{} instead of v{v}",
                        got.map_or("-".to_owned(), |g| g.to_string())
                    )
                })
                .collect();
            Evaluated {
                value: Value::Bool(wrong.is_empty()),
                involved: wrong,
            }
        }
        Metric::Redriven => number(facts.redriven as f64),
        Metric::OldestAgeSeconds => {
            let oldest = (0..facts.messages.len())
                .filter(|&i| in_scope(i))
                .filter_map(|i| Some(msg(i).first_received_us? - log.messages[i].sent_at_us?))
                .max()
                .unwrap_or(0);
            number(oldest as f64 / 1e6)
        }
        Metric::Status => {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for status in facts.status_by_key.values() {
                *counts.entry(status.as_str().to_owned()).or_default() += 1;
            }
            Evaluated {
                value: Value::Counts(counts),
                involved: Vec::new(),
            }
        }
    }
}

/// Writes whose version is below one that had completed before they were even sent, with that
/// version (writing an equal version again is a duplicate, counted per key, not a stale write). Real-time order: overlapping writes, whose responses may come back in either
/// order on a real backend, are never mistaken for stale ones. `applied` is in completion order.
fn stale_applies(applied: &[Apply]) -> Vec<(&Apply, u32)> {
    let mut by_invoked: Vec<&Apply> = applied.iter().collect();
    by_invoked.sort_by_key(|a| a.invoked);
    let mut completed = applied.iter().peekable();
    let mut highest: Option<u32> = None;
    let mut stale = Vec::new();
    for apply in by_invoked {
        while let Some(before) = completed.next_if(|b| b.completed < apply.invoked) {
            highest = highest.max(Some(before.version));
        }
        if let Some(highest) = highest.filter(|h| apply.version < *h) {
            stale.push((apply, highest));
        }
    }
    stale
}

/// Side effects per idempotency key: plain side effects from the side-effects table (which
/// also counts an effect whose response never came back), versioned applies from the log.
fn effects_per_key<'a>(facts: &'a Facts, log: &'a EventLog) -> Cow<'a, BTreeMap<String, u32>> {
    let own_applies = facts.messages.iter().any(|m| m.own_key_applies > 0);
    if !own_applies && facts.applies_by_business_key.is_empty() {
        return Cow::Borrowed(&facts.effects_by_key);
    }
    let mut per_key = facts.effects_by_key.clone();
    let own = facts.messages.iter().enumerate();
    let own = own.filter(|(_, m)| m.own_key_applies > 0);
    for (i, m) in own {
        *per_key.entry(log.messages[i].id.to_string()).or_default() += m.own_key_applies;
    }
    for (key, applies) in &facts.applies_by_business_key {
        *per_key.entry(key.to_string()).or_default() += applies;
    }
    Cow::Owned(per_key)
}

/// Sums `weight(count)` over idempotency keys whose count satisfies `pred`; lists those keys.
fn keys(
    facts: &Facts,
    log: &EventLog,
    pred: impl Fn(u32) -> bool,
    weight: impl Fn(u32) -> f64,
) -> Evaluated {
    let per_key = effects_per_key(facts, log);
    let matching: Vec<(&str, u32)> = per_key
        .iter()
        .filter(|(_, c)| pred(**c))
        .map(|(k, c)| (k.as_str(), *c))
        .collect();
    Evaluated {
        value: Value::Number(matching.iter().map(|(_, c)| weight(*c)).sum()),
        involved: matching
            .iter()
            .take(INVOLVED_MAX)
            .map(|(k, c)| format!("{k} ×{c}"))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::MessageIx;

    fn apply(version: u32, invoked: usize, completed: usize) -> Apply {
        Apply {
            message: MessageIx(version),
            version,
            invoked,
            completed,
        }
    }

    #[test]
    fn overlapping_writes_answered_out_of_order_are_not_stale() {
        // v5 and v7 both sent before either answered; v7's answer came back first.
        let applied = [apply(7, 1, 2), apply(5, 0, 3)];
        assert!(stale_applies(&applied).is_empty());
    }

    #[test]
    fn a_lower_version_sent_after_a_higher_one_completed_is_stale() {
        let applied = [apply(7, 0, 1), apply(5, 2, 3), apply(8, 4, 5)];
        let stale: Vec<(u32, u32)> = stale_applies(&applied)
            .into_iter()
            .map(|(a, h)| (a.version, h))
            .collect();
        assert_eq!(stale, [(5, 7)]);
    }
}
