//! The order log per group: whether side effects happened in each producer's send order.

use std::collections::BTreeMap;

use super::{Evaluated, Input, how_many, none_of};

pub(super) fn ordered(input: &Input) -> Evaluated {
    none_of(violations(input))
}

pub(super) fn order_violations(input: &Input) -> Evaluated {
    how_many(violations(input))
}

/// Logged messages whose producer had logged a later message of the same group before them.
/// Send order per producer within each group: values need not grow with sends, and logging a
/// redelivered message again is no violation.
fn violations(input: &Input) -> Vec<String> {
    let log = input.log();
    let mut violations = Vec::new();
    for entries in input.facts.order_log.values() {
        let mut highest: BTreeMap<usize, u64> = BTreeMap::new();
        for (ix, _) in entries {
            let meta = log.meta(*ix);
            let top = highest.entry(meta.producer()).or_default();
            if meta.seq < *top {
                violations.push(meta.id.to_string());
            }
            *top = (*top).max(meta.seq);
        }
    }
    violations
}
