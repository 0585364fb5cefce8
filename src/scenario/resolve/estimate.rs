//! Before anything runs: how many messages and consumer instances a resolved scenario asks for,
//! held to [`Limits`] so a file that validates cannot exhaust memory while it runs.
//!
//! The estimate is an upper bound the engine cannot exceed by the file's own numbers: a counted
//! or scheduled producer sends exactly that many, a continuous one at most its rate over the time
//! until a timed `stop` / `stop_all` names it or the run's `timeout`. (Duplicates injected by the
//! simulator are copies of these messages, not new ones.)

use toml::Spanned;

use super::ctx::{Ctx, Loc};
use crate::scenario::keys::{DEFAULT_MAX_MESSAGES, MAX_CONSUMERS};
use crate::scenario::raw::{RawConsumer, RawProducer};
use crate::scenario::{Action, Amount, Rate, Scenario, Trigger};

/// The most bytes of padded bodies (`payload.size`) a scenario's producers may send together:
/// the simulator keeps every accepted body in memory.
const MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;

/// How big a scenario may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Messages over every producer, by [`messages`] (`--max-messages`).
    pub max_messages: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_messages: DEFAULT_MAX_MESSAGES,
        }
    }
}

/// At most how many messages each producer sends, in order.
pub(crate) fn messages(scenario: &Scenario) -> Vec<u64> {
    scenario
        .producers
        .iter()
        .enumerate()
        .map(|(index, producer)| match &producer.amount {
            Amount::Count(n) => *n,
            Amount::Schedule(times) => times.len() as u64,
            Amount::Continuous => {
                let stop = scenario
                    .timeline
                    .iter()
                    .filter_map(|entry| match (&entry.trigger, &entry.action) {
                        (Trigger::At(time), Action::StopProducer(stopped))
                            if stopped.0 == index =>
                        {
                            Some(*time)
                        }
                        (Trigger::At(time), Action::StopAll) => Some(*time),
                        _ => None,
                    })
                    .min()
                    .unwrap_or(scenario.timeout)
                    .min(scenario.timeout);
                let window = stop.saturating_sub(producer.start).as_secs_f64();
                match producer.rate {
                    // Resolution rejects a continuous producer without a rate: not counted
                    // here, so that mistake is reported once.
                    Rate::Unlimited => 0,
                    // Bounded rates and times keep this far below u64::MAX; `as` saturates.
                    Rate::PerSecond(per_second) => (per_second * window).ceil() as u64 + 1,
                }
            }
        })
        .collect()
}

/// At most how many consumer instances run: every group's own, every `start`, and what the
/// autoscaler may add.
pub(crate) fn consumers(scenario: &Scenario) -> u64 {
    let own: u64 = scenario.consumers.iter().map(|c| u64::from(c.count)).sum();
    let started: u64 = scenario
        .timeline
        .iter()
        .map(|entry| match &entry.action {
            Action::Start { count, .. } => u64::from(*count),
            _ => 0,
        })
        .sum();
    let scaled = scenario.autoscaler.as_ref().map_or(0, |a| u64::from(a.max));
    own + started + scaled
}

/// Records a diagnostic when the scenario is bigger than `limits` allow.
pub(super) fn check(
    ctx: &mut Ctx,
    scenario: &Scenario,
    producers: &[Spanned<RawProducer>],
    groups: &[Spanned<RawConsumer>],
    limits: &Limits,
) {
    let per_producer = messages(scenario);
    let total = per_producer
        .iter()
        .fold(0u64, |sum, n| sum.saturating_add(*n));
    if total > limits.max_messages {
        let (i, _) = per_producer
            .iter()
            .enumerate()
            .max_by_key(|(_, n)| **n)
            .unwrap_or((0, &0));
        let at = producers.get(i).map_or(0..0, Spanned::span);
        let loc = Loc::default();
        let message = format!(
            "the scenario sends up to {total} messages, more than the limit of {} (this producer sends the most)",
            limits.max_messages
        );
        let help = "lower count, rate or timeout (a continuous producer sends until a timed \
                    `stop` or the timeout), or raise the limit with --max-messages N"
            .to_string();
        ctx.error(at, format!("{}[{i}]", loc.key("producers")), message, help);
    }
    let bytes = per_producer
        .iter()
        .zip(&scenario.producers)
        .map(|(n, producer)| n.saturating_mul(producer.body_size.unwrap_or(0)))
        .fold(0u64, u64::saturating_add);
    if bytes > MAX_BODY_BYTES {
        let i = scenario
            .producers
            .iter()
            .position(|p| p.body_size.is_some())
            .unwrap_or(0);
        let at = producers.get(i).map_or(0..0, Spanned::span);
        let message = format!(
            "the scenario's padded bodies add up to {bytes} bytes, more than the limit of \
             {MAX_BODY_BYTES}"
        );
        let help = "lower the producers' payload size or their message count".to_string();
        ctx.error(at, format!("producers[{i}].payload.size"), message, help);
    }
    let instances = consumers(scenario);
    if instances > MAX_CONSUMERS {
        let at = groups.first().map_or(0..0, Spanned::span);
        let message = format!(
            "the scenario may run {instances} consumer instances, more than the limit of \
             {MAX_CONSUMERS}"
        );
        let help =
            "lower the groups' count, the start actions' count or the autoscaler's max".to_string();
        ctx.error(at, "consumers".into(), message, help);
    }
}
