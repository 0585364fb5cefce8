//! Which backend capabilities a scenario depends on, derived from what the file asks for (never
//! from its name), so a backend that lacks one reports the scenario as skipped, saying why.

use crate::backend::{Backend, Capability};
use crate::scenario::{Action, DedupSource, Rate, Scenario};

/// Capabilities `scenario` needs that `backend` lacks, in a stable order.
pub fn missing_capabilities<B: Backend>(scenario: &Scenario, backend: &B) -> Vec<Capability> {
    let available = backend.capabilities();
    let mut missing: Vec<Capability> = required(scenario)
        .into_iter()
        .filter(|c| !available.has(*c))
        .collect();
    if backend
        .max_send_rate()
        .is_some_and(|max| send_rate(scenario) > f64::from(max))
    {
        missing.push(Capability::SendRate);
    }
    missing
}

/// Messages per second the scenario's producers send at most, all at once: the sum of their
/// rates (a producer without a rate sends as fast as the endpoint answers, which asks for no
/// particular rate).
pub fn send_rate(scenario: &Scenario) -> f64 {
    scenario
        .producers
        .iter()
        .map(|p| match p.rate {
            Rate::PerSecond(rate) => rate,
            Rate::Unlimited => 0.0,
        })
        .sum()
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
    if scenario.queue.sim.overrides.inject() {
        needs.push(Capability::InjectedFaults);
    }
    if scenario.queue.attributes.fifo {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_send_rate_is_the_sum_of_the_producers_rates() {
        let text = r#"
            [scenario]
            name = "rates"
            description = "two producers with rates, one without"
            [[producers]]
            name = "a"
            count = 10
            rate = "30/s"
            [[producers]]
            name = "b"
            count = 10
            rate = "1/m"
            [[producers]]
            name = "c"
            count = 10
            [[consumers]]
            name = "w"
            [expect]
            sent = 30
        "#;
        let scenario = crate::scenario::parse(Path::new("rates.toml"), text).unwrap();
        assert!((send_rate(&scenario) - (30.0 + 1.0 / 60.0)).abs() < 1e-9);
    }
}
