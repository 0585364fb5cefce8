//! Versioned writes per entity: whether an older version ever overwrote a newer one, and which
//! version each entity ended at.

use std::collections::BTreeMap;

use super::{Evaluated, Input, Value, how_many, none_of};
use crate::check::facts::Apply;

pub(super) fn versions_increasing(input: &Input) -> Evaluated {
    none_of(stale_writes(input))
}

pub(super) fn stale_overwrites(input: &Input) -> Evaluated {
    how_many(stale_writes(input))
}

/// Every entity of a sent message ends at the highest version sent for it; lists the others
/// (all of them).
pub(super) fn final_versions_newest(input: &Input) -> Evaluated {
    let (facts, log) = (input.facts, input.log());
    let mut newest: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, meta) in log.messages.iter().enumerate() {
        if let (Some(entity), Some(version), true) =
            (meta.entity(), meta.version(), facts.messages[i].sent)
        {
            let slot = newest.entry(entity).or_default();
            *slot = (*slot).max(version);
        }
    }
    let wrong: Vec<String> = newest
        .iter()
        .filter(|(entity, v)| facts.entity_versions.get(**entity).and_then(|e| e.1) != Some(**v))
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

/// Stale writes of every entity, each as `ID (vN after vM)`.
fn stale_writes(input: &Input) -> Vec<String> {
    let mut stale = Vec::new();
    for applied in input.facts.applied.values() {
        for (apply, highest) in stale_applies(applied) {
            let id = &input.log().meta(apply.message).id;
            stale.push(format!("{id} (v{} after v{highest})", apply.version));
        }
    }
    stale
}

/// Writes whose version is below one that had completed before they were even sent, with that
/// version (writing an equal version again is a duplicate, counted per key, not a stale write).
/// Real-time order: overlapping writes, whose responses may come back in either order on a real
/// backend, are never mistaken for stale ones. `applied` is in completion order.
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
