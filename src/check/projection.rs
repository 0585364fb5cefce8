//! The canonical projection of a run: what the snapshot holds. Backend-independent by design: no
//! times, no backend message ids, receive counts bucketed, ids compressed into ranges, so a correct
//! run against moto or AWS projects to the same text as the simulator for the same seed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Facts, Fate};
use crate::engine::{InstanceState, Outcome};
use crate::scenario::{FieldValue, Scenario};

/// Renders the projection as YAML text (stable key order, one fact per line).
pub fn project(scenario: &Scenario, outcome: &Outcome, facts: &Facts) -> String {
    let log = &outcome.log;
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", scenario.name);
    let _ = writeln!(out, "seed: {}", outcome.seed);

    // Messages grouped by (fate, received bucket), each group as compressed id ranges.
    let mut classes: BTreeMap<(Fate, &'static str), Vec<&str>> = BTreeMap::new();
    for (i, meta) in log.messages.iter().enumerate() {
        let received = match facts.messages[i].deliveries {
            // A team's own consumer does not tell qsim what it received.
            _ if !outcome.consumer_calls_observed => "unobserved",
            0 => "0",
            1 => "1",
            _ => "2+",
        };
        classes
            .entry((facts.fate(i), received))
            .or_default()
            .push(&meta.id);
    }
    let _ = writeln!(out, "messages:");
    for ((fate, received), ids) in &classes {
        let _ = writeln!(out, "  - fate: {}", fate.as_str());
        let _ = writeln!(out, "    received: \"{received}\"");
        let _ = writeln!(out, "    count: {}", ids.len());
        let _ = writeln!(out, "    ids: {}", compress(ids));
    }

    if !facts.effects_by_key.is_empty() {
        let mut by_count: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for (key, count) in &facts.effects_by_key {
            by_count.entry(*count).or_default().push(key);
        }
        let _ = writeln!(out, "side_effects:");
        for (count, keys) in &by_count {
            let _ = writeln!(out, "  - times: {count}");
            let _ = writeln!(out, "    keys: {}", compress(keys));
        }
    }
    if !facts.statuses.is_empty() {
        // By name, as the snapshots have always listed them.
        let counts: BTreeMap<&str, u64> = facts
            .statuses
            .iter()
            .map(|(status, n)| (status.as_str(), *n))
            .collect();
        let _ = writeln!(out, "status:");
        for (status, n) in counts {
            let _ = writeln!(out, "  {status}: {n}");
        }
    }
    if !facts.entity_versions.is_empty() {
        let _ = writeln!(out, "final_versions:");
        for (entity, (_, version)) in &facts.entity_versions {
            let _ = writeln!(
                out,
                "  {entity}: {}",
                version.map_or("none".to_owned(), |v| v.to_string())
            );
        }
    }
    // Order is only guaranteed (and so only reproducible across backends) on FIFO queues.
    if scenario.queue.attributes.fifo && !facts.order_log.is_empty() {
        let _ = writeln!(out, "order:");
        for (group, entries) in &facts.order_log {
            let values: Vec<&FieldValue> = entries.iter().map(|(_, v)| v).collect();
            let _ = writeln!(out, "  {group}: [{}]", compress_values(&values));
        }
    }
    let _ = writeln!(out, "consumers:");
    for (group, states) in &facts.instances {
        // How many instances the autoscaler started depends on when its ticks saw which depth:
        // timing, on a real backend. Only how they ended is the scenario's.
        let autoscaled = scenario
            .autoscaler
            .as_ref()
            .is_some_and(|a| scenario.group(a.group).name == *group);
        if autoscaled {
            let states: Vec<&str> = states.keys().map(|s| state_name(*s)).collect();
            let _ = writeln!(out, "  {group} (autoscaled): [{}]", states.join(", "));
            continue;
        }
        let states: Vec<String> = states
            .iter()
            .map(|(s, n)| format!("{}: {n}", state_name(*s)))
            .collect();
        let _ = writeln!(out, "  {group}: {{ {} }}", states.join(", "));
    }
    out
}

fn state_name(state: InstanceState) -> &'static str {
    match state {
        InstanceState::Pending => "never-started",
        InstanceState::Running | InstanceState::Abandoned => "abandoned",
        InstanceState::ExitedClean => "exited-clean",
        InstanceState::Crashed => "crashed",
        InstanceState::Killed => "killed",
    }
}

/// `a-0001, a-0002, a-0003, a-0007` → `a-0001..a-0003, a-0007`. Ids are grouped by the prefix
/// before their last `-` and sorted by the number after it.
pub fn compress(ids: &[&str]) -> String {
    let mut parsed: Vec<(&str, Option<u64>, &str)> = ids
        .iter()
        .map(|id| match id.rsplit_once('-') {
            Some((prefix, n)) => (prefix, n.parse().ok(), *id),
            None => (*id, None, *id),
        })
        .collect();
    parsed.sort();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parsed.len() {
        let (prefix, n, id) = parsed[i];
        let mut j = i;
        if let Some(n) = n {
            while j + 1 < parsed.len()
                && parsed[j + 1].0 == prefix
                && parsed[j + 1].1 == Some(n + (j + 1 - i) as u64)
            {
                j += 1;
            }
        }
        parts.push(if j > i {
            format!("{id}..{}", parsed[j].2)
        } else {
            id.to_owned()
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// Order-log values, consecutive ascending integers as `a..b`, everything else as is.
fn compress_values(values: &[&FieldValue]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < values.len() {
        match values[i] {
            FieldValue::Int(start) => {
                let mut j = i;
                while j + 1 < values.len()
                    && *values[j + 1] == FieldValue::Int(start + (j + 1 - i) as i64)
                {
                    j += 1;
                }
                parts.push(if j > i + 1 {
                    format!("{start}..{}", start + (j - i) as i64)
                } else {
                    start.to_string()
                });
                if j == i + 1 {
                    parts.push((start + 1).to_string());
                }
                i = j + 1;
            }
            FieldValue::Str(s) => {
                parts.push(format!("{s:?}"));
                i += 1;
            }
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_consecutive_ids() {
        let ids = ["a-0003", "a-0001", "a-0002", "a-0007", "b-0001", "odd"];
        assert_eq!(compress(&ids), "a-0001..a-0003, a-0007, b-0001, odd");
    }

    #[test]
    fn compresses_ascending_runs_only() {
        let v: Vec<FieldValue> = [1, 2, 3, 5, 4, 6, 7]
            .into_iter()
            .map(FieldValue::Int)
            .collect();
        let refs: Vec<&FieldValue> = v.iter().collect();
        assert_eq!(compress_values(&refs), "1..3, 5, 4, 6, 7");
    }
}
