//! Which backend capabilities a scenario depends on, derived from what the file asks for (never
//! from its name), so a backend that lacks one reports the scenario as skipped, saying why.

use crate::backend::faults::{ApiOperation, FaultKind, FaultTrigger};
use crate::backend::{Backend, Capabilities, Capability};
use crate::sqs::DeduplicationScope;
use std::time::Duration;

use crate::scenario::{
    Action, ConsumerBehavior, CrashPolicy, DedupSource, GroupIx, Rate, Scenario,
};

/// Capabilities `scenario` needs that `backend` lacks, in a stable order.
pub fn missing_capabilities<B: Backend>(scenario: &Scenario, backend: &B) -> Vec<Capability> {
    let mut missing = missing_in(scenario, &backend.capabilities());
    if backend
        .max_send_rate()
        .is_some_and(|max| send_rate(scenario) > f64::from(max))
    {
        missing.push(Capability::SendRate);
    }
    missing
}

/// Capabilities `scenario` needs that are not `available`, in a stable order (the send rate
/// aside: it depends on the backend's declared rate).
pub(crate) fn missing_in(scenario: &Scenario, available: &Capabilities) -> Vec<Capability> {
    required(scenario)
        .into_iter()
        .filter(|c| !available.has(*c))
        .collect()
}

/// Messages per second the scenario's producers send at most, all at once: the sum of their
/// rates (a producer without a rate sends as fast as the endpoint answers, which asks for no
/// particular rate).
pub(super) fn send_rate(scenario: &Scenario) -> f64 {
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
    if (0..scenario.consumers.len()).any(|g| throttled_batches_may_return(scenario, GroupIx(g)))
        || strikes_by_delivery_order(scenario)
    {
        needs.push(Capability::Deterministic);
    }
    if scenario.needs_command_calls() {
        needs.push(Capability::CommandCalls);
    }
    if scenario.queue.attributes.fifo {
        // A retried send whose first attempt the queue took may arrive after that copy was
        // received and deleted: only the 5-minute window absorbs it then.
        let hidden_sends = scenario
            .faults
            .iter()
            .any(|f| f.kind == FaultKind::TimeoutAfter && f.targets(ApiOperation::Send));
        if hidden_sends
            || scenario
                .producers
                .iter()
                .any(|p| p.dedup == DedupSource::Payload)
        {
            needs.push(Capability::FifoDedupWindow);
        }
        if scenario.queue.attributes.deduplication_scope == DeduplicationScope::MessageGroup {
            needs.push(Capability::FifoDedupScope);
        }
        if several_receivers(scenario) || a_batch_may_return(scenario) {
            needs.push(Capability::FifoRedeliveryOrder);
        }
    }
    needs
}

/// A fault on a consumer's call, triggered by probability or by count: which message it strikes
/// depends on the order the queue delivered in and the consumers called in, which only the
/// simulator reproduces for a seed. (A time window strikes every call in it, whatever the order.)
/// Consumers that are child processes run on the wall clock wherever they run, their snapshots
/// are never compared, and their scenarios' expectations are written to hold whatever the
/// timing: such a fault asks for nothing more of the backend there.
fn strikes_by_delivery_order(scenario: &Scenario) -> bool {
    if scenario.runs_child_processes() {
        return false;
    }
    let consumer_calls = [
        ApiOperation::Receive,
        ApiOperation::Delete,
        ApiOperation::ChangeVisibility,
    ];
    scenario.faults.iter().any(|fault| {
        !matches!(fault.trigger, FaultTrigger::Window { .. })
            && consumer_calls.iter().any(|op| fault.targets(*op))
    })
}

/// A poller group's throttled batches may run out of visibility before they get an invocation:
/// the group has more pollers than invocation slots, and the visibility timeout is shorter than
/// the pollers' turns at the slots (pollers / slots, rounded up, times the function timeout).
/// Which batches win a freed slot is then a race of a few milliseconds, so which messages end in
/// the DLQ is only reproducible with exact timing.
fn throttled_batches_may_return(scenario: &Scenario, index: GroupIx) -> bool {
    let group = scenario.group(index);
    let Some(poller) = group.poller else {
        return false;
    };
    let scaled_to = scenario
        .autoscaler
        .as_ref()
        .filter(|a| a.group == index)
        .map_or(0, |a| a.max);
    let started: u32 = scenario
        .timeline
        .iter()
        .filter_map(|e| match e.action {
            Action::Start { group, count } if group == index => Some(count),
            _ => None,
        })
        .sum();
    let pollers = group.count.max(scaled_to).saturating_add(started);
    let turns = pollers.div_ceil(poller.max_concurrency);
    pollers > poller.max_concurrency
        && scenario.queue.attributes.visibility_timeout
            < poller.function_timeout.saturating_mul(turns)
}

/// Several consumers may poll the queue at once: more than one instance, or instances the
/// timeline or the autoscaler start while others run.
fn several_receivers(scenario: &Scenario) -> bool {
    let instances: u32 = scenario.consumers.iter().map(|g| g.count).sum();
    instances > 1
        || scenario.autoscaler.is_some()
        || scenario
            .timeline
            .iter()
            .any(|e| matches!(e.action, Action::Start { .. }))
}

/// Several messages of a group may be in flight together (batches of more than one) and come
/// back to the queue: the consumer holding them crashes or is killed or stopped, rejects one,
/// or works longer than the visibility timeout without extending it.
fn a_batch_may_return(scenario: &Scenario) -> bool {
    let stops = scenario.timeline.iter().any(|e| {
        matches!(
            e.action,
            Action::Kill(_) | Action::Terminate(_) | Action::StopAll
        )
    });
    let visibility = scenario.queue.attributes.visibility_timeout;
    scenario.consumers.iter().enumerate().any(|(index, group)| {
        let deployed = scenario.timeline.iter().filter_map(|e| match &e.action {
            Action::Deploy { group: g, behavior } if g.0 == index => Some(&**behavior),
            _ => None,
        });
        group.max_messages > 1
            && (stops
                || throttled_batches_may_return(scenario, GroupIx(index))
                || std::iter::once(&group.behavior)
                    .chain(deployed)
                    .any(|b| may_return_messages(b, visibility)))
    })
}

fn may_return_messages(behavior: &ConsumerBehavior, visibility: Duration) -> bool {
    let chaos = &behavior.chaos;
    let crashes = chaos.crash_after_receive != CrashPolicy::Never
        || chaos.crash_after_side_effect != CrashPolicy::Never
        || chaos.crash_rate > 0.0;
    let longest = behavior.processing
        + behavior.side_effect_delay
        + if chaos.slow_rate > 0.0 {
            chaos.slow_delay
        } else {
            Duration::ZERO
        };
    crashes || behavior.reject_poison || (behavior.heartbeat.is_none() && longest >= visibility)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn pollers_racing_for_fewer_slots_than_their_visibility_allows_need_exact_timing() {
        let needs = |file: &str| {
            let scenario = crate::scenario::load(Path::new(file)).expect("a catalog file");
            required(&scenario)
        };
        // Five pollers, one slot, visibility = function timeout: five turns do not fit.
        assert!(needs("scenarios.d/lambda-throttle-dlq.toml").contains(&Capability::Deterministic));
        // Five pollers, two slots, visibility = 6 x function timeout: three turns fit.
        assert!(
            !needs("scenarios.d/lambda-throttle-dlq-fixed.toml")
                .contains(&Capability::Deterministic)
        );
    }

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

    fn needs(extra: &str) -> Vec<Capability> {
        let text = format!(
            r#"
            [scenario]
            name = "gates"
            description = "which capabilities a file asks for"
            [[producers]]
            name = "p"
            count = 3
            {extra}
            [expect]
            sent = 3
            "#
        );
        let scenario = crate::scenario::parse(Path::new("gates.toml"), &text)
            .unwrap_or_else(|e| panic!("{}", e.render(false)));
        required(&scenario)
    }

    const FIFO: &str =
        "[queue]\nkind = \"fifo\"\ncontent_based_dedup = true\nvisibility_timeout = \"5s\"\n";

    #[test]
    fn a_purge_window_alone_is_injection_but_switching_a_latitude_off_is_not() {
        let window = needs("[queue.sim]\npurge_window = \"10s\"\n[[consumers]]\nname = \"w\"");
        assert!(window.contains(&Capability::InjectedFaults));
        let off = needs(
            "[queue.sim]\nduplicate_rate = 0.0\ncounter_lag = \"0s\"\n[[consumers]]\nname = \"w\"",
        );
        assert!(!off.contains(&Capability::InjectedFaults));
        let profile = needs("[queue.sim]\nprofile = \"adversarial\"\n[[consumers]]\nname = \"w\"");
        assert!(!profile.contains(&Capability::InjectedFaults));
    }

    #[test]
    fn only_the_message_group_scope_needs_deduplication_per_group() {
        let consumer = "[[consumers]]\nname = \"w\"";
        let scoped = needs(&format!(
            "{FIFO}deduplication_scope = \"message-group\"\n{consumer}"
        ));
        assert!(scoped.contains(&Capability::FifoDedupScope));
        let queue_scope = needs(&format!(
            "{FIFO}deduplication_scope = \"queue\"\n{consumer}"
        ));
        assert!(!queue_scope.contains(&Capability::FifoDedupScope));
    }

    #[test]
    fn fifo_redelivery_order_is_needed_by_several_receivers_or_a_returning_batch() {
        let gated = |consumer: &str| {
            needs(&format!("{FIFO}[[consumers]]\nname = \"w\"\n{consumer}"))
                .contains(&Capability::FifoRedeliveryOrder)
        };
        assert!(gated("count = 2"));
        assert!(gated(
            "max_messages = 5\nchaos = { crash_after_receive = \"once\", restart_after = \"1s\" }"
        ));
        assert!(gated("max_messages = 5\nprocessing = \"6s\""));
        assert!(gated("max_messages = 5\nreject_poison = true"));
        // One message in flight at a time, or work kept visible by a heartbeat: nothing returns
        // out of order.
        assert!(!gated(
            "chaos = { crash_after_receive = \"once\", restart_after = \"1s\" }"
        ));
        assert!(!gated(
            "max_messages = 5\nprocessing = \"6s\"\nheartbeat = { interval = \"1s\", extend = \"3s\" }"
        ));
        assert!(!gated("max_messages = 5"));
    }
}
