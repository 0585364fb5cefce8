//! Which backend capabilities a scenario depends on, derived from what the file asks for (never
//! from its name), so a backend that lacks one reports the scenario as skipped, saying why.

use crate::backend::{Capabilities, Capability};
use crate::scenario::{Action, DedupSource, Scenario};

/// Capabilities `scenario` needs that `available` lacks, in a stable order.
pub fn missing_capabilities(scenario: &Scenario, available: &Capabilities) -> Vec<Capability> {
    required(scenario)
        .into_iter()
        .filter(|c| !available.has(*c))
        .collect()
}

fn required(scenario: &Scenario) -> Vec<Capability> {
    let mut needs = Vec::new();
    let actions = || scenario.timeline.iter().map(|e| &e.action);
    if actions().any(|a| matches!(a, Action::Redrive { .. })) {
        needs.push(Capability::MessageMoveTask);
    }
    if actions().any(|a| matches!(a, Action::Purge(_))) {
        needs.push(Capability::AsyncPurge);
    }
    let sim = scenario.queue.sim;
    if sim.duplicate_rate > 0.0 || sim.reorder_rate > 0.0 {
        needs.push(Capability::InjectedFaults);
    }
    if scenario.queue.fifo {
        if scenario
            .producers
            .iter()
            .any(|p| p.dedup == DedupSource::Payload)
        {
            needs.push(Capability::FifoDedupWindow);
        }
        let instances: u32 = scenario.consumers.iter().map(|g| g.count).sum();
        let restarts =
            actions().any(|a| matches!(a, Action::Start { .. })) || scenario.autoscaler.is_some();
        if instances > 1 || restarts {
            needs.push(Capability::FifoRedeliveryOrder);
        }
    }
    needs
}
