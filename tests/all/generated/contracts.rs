//! Engine contracts read from the JSONL event log alone (no qsim code): a consumer instance
//! handles at most its group's `message_limit` messages per incarnation; after a SIGTERM it
//! handles no message it received after it; nothing comes from an instance after it exited or
//! was killed, and after a crash only its restart (or a signal to the pending restart); lines
//! are in time order.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// A broken contract: its name (used as the failure's signature) and what happened.
#[derive(Debug)]
pub(super) struct Violation {
    pub contract: &'static str,
    pub detail: String,
}

/// Events that mean the consumer worked on the message they name (a received message that was
/// only released was not handled). Not `heartbeat`: heartbeats cover every message held, in
/// hand or not.
const HANDLING: &[&str] = &[
    "rejected",
    "skipped",
    "side-effect",
    "applying",
    "applied",
    "stale-version",
    "stale-message",
    "logged",
    "status-written",
    "deleted",
    "delete-failed",
    "crashed",
];

/// Handling events that start or continue the handling of the message in hand. Deletes come
/// batched after the whole batch, so they count for the no-handling-after-SIGTERM contract but
/// not as the start of another handling.
fn works_on(event: &str) -> bool {
    HANDLING.contains(&event) && !matches!(event, "deleted" | "delete-failed")
}

#[derive(Default)]
struct Instance {
    /// The event that ended the current incarnation, and its line.
    ended: Option<(String, usize)>,
    /// Messages handled in the current incarnation: received, then worked on (a message only
    /// released, or abandoned by a crash of another message of its batch, was not handled).
    handled: i64,
    /// Receives of the current incarnation not yet worked on, per message.
    unhandled: BTreeMap<String, u32>,
    /// The message of the last event that worked on one: an instance handles one message at a
    /// time, so a run of events about one message is one handling. (Two copies of a message in
    /// one batch, handled back to back, count once: the count errs low, never high.)
    in_hand: Option<String>,
    /// The line of the SIGTERM, if one came.
    terminating: Option<usize>,
    received_after_sigterm: BTreeSet<String>,
}

/// Checks the contracts over `lines` (one JSON value per line); `groups` maps each consumer
/// group name to its `message_limit`.
pub(super) fn check(
    lines: &[Value],
    groups: &BTreeMap<String, Option<u64>>,
) -> Result<(), Violation> {
    let mut instances: BTreeMap<&str, Instance> = BTreeMap::new();
    let mut last_t = f64::NEG_INFINITY;
    let fail = |contract, detail: String| Err(Violation { contract, detail });
    for (n, line) in lines.iter().enumerate() {
        let line_no = n + 1;
        let Some(t) = line.get("t_ms").and_then(Value::as_f64) else {
            continue;
        };
        if t < last_t {
            let event = line.get("event").and_then(Value::as_str).unwrap_or("");
            let contract = "time-order";
            return fail(
                contract,
                format!("line {line_no} ({event}) at {t} ms comes after a line at {last_t} ms"),
            );
        }
        last_t = t;
        let actor = line.get("actor").and_then(Value::as_str).unwrap_or("");
        let Some(group) = instance_group(actor, groups) else {
            continue;
        };
        let event = line.get("event").and_then(Value::as_str).unwrap_or("");
        let message = line.get("message").and_then(Value::as_str);
        let inst = instances.entry(actor).or_default();
        if let Some((end, at)) = &inst.ended {
            let allowed = end == "crashed"
                && matches!(event, "consumer-started" | "killed" | "shutdown-requested");
            if !allowed {
                return fail(
                    "no-event-after-end",
                    format!("{actor}: `{event}` on line {line_no} after `{end}` on line {at}"),
                );
            }
        }
        match event {
            "consumer-started" => {
                inst.ended = None;
                inst.handled = 0;
                inst.unhandled.clear();
                inst.in_hand = None;
            }
            // The engine counts a body no producer sent as handled too.
            "unexpected" => inst.handled += 1,
            "received" => {
                // A new batch: its handlings start afresh.
                inst.in_hand = None;
                if let Some(m) = message {
                    *inst.unhandled.entry(m.to_string()).or_default() += 1;
                    if inst.terminating.is_some() {
                        inst.received_after_sigterm.insert(m.to_string());
                    }
                }
            }
            "released" => {
                if let Some(m) = message {
                    inst.received_after_sigterm.remove(m);
                    if let Some(n) = inst.unhandled.get_mut(m) {
                        *n = n.saturating_sub(1);
                    }
                }
            }
            "shutdown-requested" => {
                inst.terminating.get_or_insert(line_no);
            }
            _ => {}
        }
        if let Some(m) = message.filter(|m| works_on(event) && inst.in_hand.as_deref() != Some(*m))
        {
            inst.in_hand = Some(m.to_string());
            if let Some(n) = inst.unhandled.get_mut(m).filter(|n| **n > 0) {
                *n -= 1;
                inst.handled += 1;
            }
        }
        if let Some(m) = message.filter(|m| inst.received_after_sigterm.contains(*m)) {
            if HANDLING.contains(&event) {
                return fail(
                    "no-handling-after-sigterm",
                    format!(
                        "{actor}: `{event}` of {m} on line {line_no}, received after the \
                         shutdown-requested on line {}",
                        inst.terminating.unwrap_or(0)
                    ),
                );
            }
        }
        if matches!(event, "exited" | "crashed" | "killed") {
            if matches!(event, "crashed" | "killed") && inst.ended.is_some() {
                // A kill of an instance waiting to restart: it handled nothing since its crash.
            } else if let Some(limit) = groups[group] {
                if inst.handled > limit as i64 {
                    return fail(
                        "message-limit",
                        format!(
                            "{actor} handled {} messages with message_limit = {limit} \
                             (ended by `{event}` on line {line_no})",
                            inst.handled
                        ),
                    );
                }
            }
            inst.ended = Some((event.to_string(), line_no));
        }
    }
    // Instances still running at the end of the log (a timed-out run) keep the limit too.
    for (actor, inst) in &instances {
        let group = instance_group(actor, groups).expect("only instances are tracked");
        if let (None, Some(limit)) = (&inst.ended, groups[group]) {
            if inst.handled > limit as i64 {
                return fail(
                    "message-limit",
                    format!(
                        "{actor} handled {} messages with message_limit = {limit}",
                        inst.handled
                    ),
                );
            }
        }
    }
    Ok(())
}

/// The group of an instance name `GROUP-k`, if `actor` is one.
fn instance_group<'g>(actor: &str, groups: &'g BTreeMap<String, Option<u64>>) -> Option<&'g str> {
    let (group, k) = actor.rsplit_once('-')?;
    k.parse::<u32>().ok()?;
    groups.get_key_value(group).map(|(g, _)| g.as_str())
}
