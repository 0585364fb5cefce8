//! Side effects per idempotency key, and the status table.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::backend::SortedKeys;

use super::{Evaluated, INVOLVED_MAX, Input, Value, number};

pub(super) fn side_effects(input: &Input) -> Evaluated {
    let facts = input.facts;
    match input.scope {
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
            input
                .in_scope()
                .map(|i| f64::from(input.message(i).effects))
                .sum(),
        ),
    }
}

/// Over keys with more than one effect, the effects beyond the first; lists those keys.
pub(super) fn duplicated_effects(input: &Input) -> Evaluated {
    let per_key = effects_per_key(input);
    let matching: Vec<(&str, u32)> = per_key
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(k, c)| (k, *c))
        .collect();
    Evaluated {
        value: Value::Number(
            matching
                .iter()
                .map(|(_, c)| f64::from(c.saturating_sub(1)))
                .sum(),
        ),
        involved: matching
            .iter()
            .take(INVOLVED_MAX)
            .map(|(k, c)| format!("{k} ×{c}"))
            .collect(),
    }
}

pub(super) fn effects_per_key_max(input: &Input) -> Evaluated {
    number(f64::from(
        effects_per_key(input).values().copied().max().unwrap_or(0),
    ))
}

pub(super) fn status(input: &Input) -> Evaluated {
    let counts: BTreeMap<String, u64> = input
        .facts
        .statuses
        .iter()
        .map(|(status, n)| (status.as_str().to_owned(), *n))
        .collect();
    Evaluated {
        value: Value::Counts(counts),
        involved: Vec::new(),
    }
}

/// Side effects per idempotency key: plain side effects from the side-effects table (which
/// also counts an effect whose response never came back), versioned applies from the log.
fn effects_per_key<'a>(input: &Input<'a>) -> Cow<'a, SortedKeys<u32>> {
    let (facts, log) = (input.facts, &input.outcome.log);
    let own_applies = facts.messages.iter().any(|f| f.own_key_applies > 0);
    if !own_applies && facts.applies_by_business_key.is_empty() {
        return Cow::Borrowed(&facts.effects_by_key);
    }
    let mut per_key: BTreeMap<&str, u32> =
        facts.effects_by_key.iter().map(|(k, c)| (k, *c)).collect();
    let own = facts.messages.iter().enumerate();
    let own = own.filter(|(_, f)| f.own_key_applies > 0);
    for (i, f) in own {
        *per_key.entry(&log.messages[i].id).or_default() += f.own_key_applies;
    }
    for (key, applies) in &facts.applies_by_business_key {
        *per_key.entry(key).or_default() += applies;
    }
    let text_bytes = per_key.keys().map(|key| key.len()).sum();
    let mut sorted = SortedKeys::with_capacity(per_key.len(), text_bytes);
    for (key, count) in per_key {
        sorted.push(key, count);
    }
    Cow::Owned(sorted)
}
