//! Why an expectation failed, told from the history: for each failed check, the messages it
//! involves and, per message, the shortest sequence of events that witnesses its fate (as Elle
//! explains an anomaly by the operations that form it).
//!
//! A message's witness is its own events that change where it is or who holds it (sent, each
//! receive with who held it, release, reject, crash, side effect, delete, the queue's own
//! transitions, the API faults that touched it and the retries they caused) plus what happened
//! to its holder while it held the message (killed, told to shut down). Bookkeeping (heartbeats, status writes, order-log lines) is left out. The messages with
//! the shortest witnesses come first: the simplest counterexample is the easiest to read.

use crate::backend::faults::{ApiOperation, FaultKind};
use crate::backend::{QueueRole, TransitionKind};
use crate::engine::{ActorId, CrashPoint, Ending, EventKind, MessageIx, Outcome};
use crate::scenario::Scenario;

use super::{Verdict, describe_expected};

/// Messages told per failed check; the rest are counted.
pub const STORIES_PER_FAILURE: usize = 3;

/// One failed check, explained.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// `processed`, or `purged [producer safe]`.
    pub check: String,
    pub expected: String,
    pub actual: String,
    /// What the check is about in one line (for failures that are not about messages).
    pub summary: Option<String>,
    pub stories: Vec<Story>,
    /// Involved messages or keys not told.
    pub more: usize,
}

/// One message's witness.
#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    pub message: MessageIx,
    pub id: String,
    pub fate: &'static str,
    pub steps: Vec<Step>,
}

/// One event of a witness.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub at_us: u64,
    /// Position in the event log.
    pub position: usize,
    /// `received by worker-2 at 31.0 s (receive 1)`.
    pub text: String,
}

/// Explanations of every failed check of `verdict`, and of a run that did not complete.
pub fn explain(scenario: &Scenario, outcome: &Outcome, verdict: &Verdict) -> Vec<Explanation> {
    let mut out = Vec::new();
    if verdict.ending != Ending::Completed {
        out.push(Explanation {
            check: "ending".to_owned(),
            expected: "completed".to_owned(),
            actual: ending_name(verdict.ending).to_owned(),
            summary: Some(format!(
                "the run had not finished at {} (producers still sending, consumers alive or \
                 messages in the queue)",
                seconds(outcome.elapsed.as_micros() as u64)
            )),
            stories: Vec::new(),
            more: 0,
        });
    }
    for result in verdict.failures() {
        let check = match result.expectation.scope {
            Some(producer) => format!(
                "{} [producer {}]",
                result.expectation.metric.name(),
                scenario.producer(producer).name
            ),
            None => result.expectation.metric.name().to_owned(),
        };
        let mut involved: Vec<MessageIx> = result
            .involved
            .iter()
            .filter_map(|id| outcome.log.lookup(bare(id)))
            .collect();
        if involved.is_empty() {
            involved = keyed_witnesses(&result.involved, outcome);
        }
        if involved.is_empty() {
            involved = attempts_witnesses(result, verdict);
        }
        let total = result.involved.len().max(involved.len());
        let mut stories: Vec<Story> = involved
            .into_iter()
            .map(|ix| story(outcome, verdict, ix))
            .collect();
        stories.sort_by_key(|s| (s.steps.len(), s.message));
        stories.truncate(STORIES_PER_FAILURE);
        let summary = (stories.is_empty() && total > 0).then(|| {
            let shown: Vec<&str> = result.involved.iter().take(5).map(String::as_str).collect();
            format!("involved: {}", shown.join(", "))
        });
        let told = if stories.is_empty() {
            total.min(5)
        } else {
            stories.len()
        };
        out.push(Explanation {
            check,
            expected: describe_expected(&result.expectation.expected),
            actual: result.actual.to_string(),
            summary,
            stories,
            more: total.saturating_sub(told),
        });
    }
    out
}

/// An involved id without the count some checks add (`orders-0001 ×2`).
fn bare(id: &str) -> &str {
    id.split(" ×").next().unwrap_or(id)
}

/// For checks that name idempotency keys (business keys, entities) rather than messages: the
/// messages whose side effects or applies used one of them.
fn keyed_witnesses(keys: &[String], outcome: &Outcome) -> Vec<MessageIx> {
    let keys: std::collections::BTreeSet<&str> = keys.iter().map(|k| bare(k)).collect();
    let log = &outcome.log;
    let mut found: Vec<MessageIx> = log
        .events
        .iter()
        .filter_map(|event| match (event.kind, event.message) {
            (EventKind::SideEffect { key } | EventKind::Applied { key, .. }, Some(ix))
                if keys.contains(&**log.key(ix, key)) =>
            {
                Some(ix)
            }
            _ => None,
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// For the attempts metrics (the fewest or most receives of a processed or dead-lettered
/// message), which name no messages: the messages whose receives are the actual value.
fn attempts_witnesses(result: &super::CheckResult, verdict: &Verdict) -> Vec<MessageIx> {
    let fate = match result.expectation.metric.name() {
        "min_attempts" | "max_attempts" => super::Fate::Processed,
        "dlq_receives_min" | "dlq_receives_max" => super::Fate::Dlq,
        _ => return Vec::new(),
    };
    let super::Value::Number(actual) = result.actual else {
        return Vec::new();
    };
    let facts = &verdict.facts;
    (0..facts.messages.len())
        .filter(|&i| facts.fate(i) == fate && f64::from(facts.messages[i].deliveries) == actual)
        .map(|i| MessageIx(i as u32))
        .collect()
}

/// The witness of message `ix`: its own events that move it, and what happened to its holder.
pub fn story(outcome: &Outcome, verdict: &Verdict, ix: MessageIx) -> Story {
    let log = &outcome.log;
    let name = |actor: ActorId| &*log.actors[actor.0 as usize];
    let mut steps = Vec::new();
    let mut holders: Vec<ActorId> = Vec::new();
    // A throttled batch is retried every second: its first throttle per receive tells the story.
    let mut throttled_since_receive = false;
    for (position, event) in log.events.iter().enumerate() {
        let at = seconds(event.at_us);
        let text = if event.message == Some(ix) {
            let text = match event.kind {
                EventKind::Sent => Some(format!("sent by {} at {at}", name(event.actor))),
                EventKind::SendFailed => Some(format!("send failed at {at}")),
                EventKind::Received { receive_count } => {
                    throttled_since_receive = false;
                    holders.retain(|&h| h != event.actor);
                    holders.push(event.actor);
                    Some(format!(
                        "received by {} at {at} (receive {receive_count})",
                        name(event.actor)
                    ))
                }
                EventKind::Rejected => Some(format!("rejected by {} at {at}", name(event.actor))),
                EventKind::Released => Some(format!("released by {} at {at}", name(event.actor))),
                EventKind::Crashed(CrashPoint::AfterCommit) => Some(format!(
                    "{} crashed at {at}, after committing its record, before sending it",
                    name(event.actor)
                )),
                EventKind::Crashed(CrashPoint::AfterSend) => Some(format!(
                    "{} crashed at {at}, after sending it, before the write that follows",
                    name(event.actor)
                )),
                EventKind::Crashed(_) => Some(format!("{} crashed at {at}", name(event.actor))),
                EventKind::Committed => Some(format!(
                    "business record committed by {} at {at}",
                    name(event.actor)
                )),
                EventKind::CommitFailed => Some(format!(
                    "business record's commit by {} failed at {at}",
                    name(event.actor)
                )),
                EventKind::Resent => Some(format!(
                    "sent again by {}'s outbox relay at {at}",
                    name(event.actor)
                )),
                EventKind::OutboxDeleted => Some(format!(
                    "outbox row deleted by {} at {at}",
                    name(event.actor)
                )),
                EventKind::PayloadStored { chunks } => Some(format!(
                    "body stored by {} at {at} in {chunks} table item(s) (claim check)",
                    name(event.actor)
                )),
                EventKind::PayloadMissing => Some(format!(
                    "{} found its stored body gone at {at}: it cannot handle it",
                    name(event.actor)
                )),
                EventKind::SideEffect { .. } => {
                    Some(format!("side effect by {} at {at}", name(event.actor)))
                }
                EventKind::Applied { version, .. } => Some(format!(
                    "version {version} applied by {} at {at}",
                    name(event.actor)
                )),
                EventKind::StaleVersion { version, current } => Some(format!(
                    "version {version} refused as stale (current {current}) by {} at {at}",
                    name(event.actor)
                )),
                EventKind::StaleMessage { .. } => {
                    Some(format!("found stale by {} at {at}", name(event.actor)))
                }
                EventKind::Skipped { reason, .. } => Some(format!(
                    "skipped by {} at {at} ({})",
                    name(event.actor),
                    skip_reason(reason)
                )),
                EventKind::Deleted => {
                    holders.clear();
                    Some(format!("deleted by {} at {at}", name(event.actor)))
                }
                EventKind::DeleteFailed => {
                    Some(format!("delete by {} failed at {at}", name(event.actor)))
                }
                EventKind::PrefetchExpired => Some(format!(
                    "taken from {}'s prefetch buffer at {at}, after its visibility timeout ran out",
                    name(event.actor)
                )),
                EventKind::Throttled if !throttled_since_receive => {
                    throttled_since_receive = true;
                    Some(format!(
                        "invocation by {} throttled at {at}",
                        name(event.actor)
                    ))
                }
                EventKind::Queue(transition) => {
                    holders.clear();
                    Some(transition_text(transition, &at))
                }
                EventKind::Fault { operation, fault } => Some(fault_text(operation, fault, &at)),
                EventKind::Retried { operation, attempt } => Some(format!(
                    "{} retried by {} at {at} (attempt {attempt})",
                    operation.as_str(),
                    name(event.actor)
                )),
                _ => None,
            };
            if matches!(
                event.kind,
                EventKind::Released | EventKind::Crashed(_) | EventKind::Rejected
            ) {
                holders.retain(|&h| h != event.actor);
            }
            text
        } else if event.message.is_none() && holders.contains(&event.actor) {
            match event.kind {
                EventKind::Killed => {
                    holders.retain(|&h| h != event.actor);
                    Some(format!("{} killed at {at}", name(event.actor)))
                }
                EventKind::ShutdownRequested => {
                    Some(format!("{} told to shut down at {at}", name(event.actor)))
                }
                EventKind::InvocationTimedOut => Some(format!(
                    "{}'s invocation stopped at its function timeout at {at}",
                    name(event.actor)
                )),
                _ => None,
            }
        } else if event.message.is_none() {
            match event.kind {
                EventKind::PurgeRequested(role)
                    if verdict.facts.fate(ix.0 as usize) == super::Fate::Purged =>
                {
                    Some(format!("{} purged at {at}", queue_name(role)))
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some(text) = text {
            steps.push(Step {
                at_us: event.at_us,
                position,
                text,
            });
        }
    }
    Story {
        message: ix,
        id: log.meta(ix).id.to_string(),
        fate: verdict.facts.fate(ix.0 as usize).as_str(),
        steps,
    }
}

/// What a queue's transition did, as a message's story (and the report's lifelines) tell it.
pub(crate) fn transition_text(transition: TransitionKind, at: &str) -> String {
    match transition {
        TransitionKind::VisibilityExpired => format!("visibility expired at {at}"),
        TransitionKind::DeadLettered { receive_count } => {
            format!("moved to the DLQ at {at} (after {receive_count} receives)")
        }
        TransitionKind::Purged => format!("deleted by the purge at {at}"),
        TransitionKind::Deduplicated => format!("dropped as a duplicate send at {at}"),
        TransitionKind::Expired => format!("expired (retention) at {at}"),
        TransitionKind::Redriven => format!("redriven from the DLQ at {at}"),
        TransitionKind::Duplicated => format!("duplicated by the queue at {at}"),
        TransitionKind::StaleReceipt { operation, acted } => {
            let (call, outcome) = match (operation, acted) {
                (ApiOperation::Delete, true) => ("delete", "SQS deleted the message"),
                (ApiOperation::Delete, false) => ("delete", "SQS answered OK but kept the message"),
                (_, true) => ("visibility change", "SQS applied it"),
                (_, false) => ("visibility change", "SQS answered OK but ignored it"),
            };
            format!(
                "stale receipt at {at}: the {call} used the receipt of an earlier receive, and {outcome}"
            )
        }
    }
}

/// An injected fault as the message's story tells it: what the caller saw, and what happened.
fn fault_text(operation: ApiOperation, fault: FaultKind, at: &str) -> String {
    let op = operation.as_str();
    match fault {
        FaultKind::Throttle => format!("{op} throttled at {at}"),
        FaultKind::Error => format!("{op} failed with a 5xx at {at}"),
        FaultKind::TimeoutBefore => format!("{op} timed out before reaching the queue at {at}"),
        FaultKind::TimeoutAfter => {
            format!("{op} taken by the queue at {at}, its answer lost (the caller saw a timeout)")
        }
        FaultKind::Latency => format!("{op} delayed at {at}"),
    }
}

fn skip_reason(reason: crate::engine::SkipReason) -> &'static str {
    use crate::engine::SkipReason::*;
    match reason {
        SeenInMemory => "seen in memory",
        AlreadyCompleted => "already COMPLETED",
        InProgressElsewhere => "in progress elsewhere",
        AlreadyPerformed => "side effect already recorded",
        ConditionFailed => "conditional write lost",
    }
}

fn queue_name(role: QueueRole) -> &'static str {
    match role {
        QueueRole::Main => "main queue",
        QueueRole::DeadLetter => "DLQ",
    }
}

/// `completed`, `timed-out`, ...
pub fn ending_name(ending: Ending) -> &'static str {
    match ending {
        Ending::Completed => "completed",
        Ending::TimedOut => "timed-out",
        Ending::WallLimit => "wall-limit",
        Ending::Standstill => "standstill",
    }
}

/// `31.0 s`, `0.25 s`: a time in the run, to the millisecond when it matters.
pub fn seconds(us: u64) -> String {
    let s = us as f64 / 1e6;
    if us % 100_000 == 0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.3} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The duplicate of a retried send is explained by the hidden send and the retry.
    #[test]
    fn a_retry_duplicate_is_told_from_the_lost_answer_to_the_second_effect() {
        let text = r#"
            [scenario]
            name = "retry-dup"
            description = "a hidden send, retried, processed twice"
            [[producers]]
            name = "orders"
            count = 2
            retries = { backoff = "100ms" }
            [[consumers]]
            name = "worker"
            idle_timeout = "5s"
            [[faults]]
            operation = "send"
            kind = "timeout_after"
            nth = 2
            [expect]
            duplicated_effects = 0
        "#;
        let path = std::path::Path::new("retry-dup.toml");
        let scenario = crate::scenario::parse(path, text).unwrap();
        let outcome =
            crate::runner::simulate(std::rc::Rc::new(scenario.clone()), scenario.seed).unwrap();
        let verdict = super::super::check(&scenario, &outcome);
        let explanations = explain(&scenario, &outcome, &verdict);
        assert_eq!(explanations.len(), 1, "{explanations:?}");
        let story = &explanations[0].stories[0];
        assert_eq!(story.id, "orders-0002");
        let steps: Vec<&str> = story.steps.iter().map(|s| s.text.as_str()).collect();
        assert!(steps[0].starts_with("send taken by the queue"), "{steps:?}");
        assert!(
            steps
                .iter()
                .any(|s| s.starts_with("send retried by orders"))
        );
        let effects = steps
            .iter()
            .filter(|s| s.starts_with("side effect"))
            .count();
        assert_eq!(effects, 2, "{steps:?}");
    }

    /// A slow handler's delete after its message came back: SQS answers OK, the story says the
    /// queue ignored it (the message went on to a second side effect).
    #[test]
    fn an_ignored_stale_delete_is_part_of_the_duplicates_story() {
        let text = include_str!("../../tests/fixtures/html/stale-delete.toml");
        let path = std::path::Path::new("tests/fixtures/html/stale-delete.toml");
        let scenario = crate::scenario::parse(path, text).unwrap();
        let outcome =
            crate::runner::simulate(std::rc::Rc::new(scenario.clone()), scenario.seed).unwrap();
        let verdict = super::super::check(&scenario, &outcome);
        let explanations = explain(&scenario, &outcome, &verdict);
        let steps: Vec<&str> = explanations[0].stories[0]
            .steps
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        let ignored = steps
            .iter()
            .position(|s| {
                *s == "stale receipt at 8.1 s: the delete used the receipt of an earlier receive, and SQS answered OK but kept the message"
            })
            .unwrap_or_else(|| panic!("{steps:?}"));
        let effects_after = steps[ignored..]
            .iter()
            .filter(|s| s.starts_with("side effect"))
            .count();
        assert_eq!(effects_after, 1, "{steps:?}");
    }

    #[test]
    fn seconds_are_short_when_round() {
        assert_eq!(seconds(31_000_000), "31.0 s");
        assert_eq!(seconds(250_000 + 1_000), "0.251 s");
    }
}
