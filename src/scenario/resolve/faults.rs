//! `[[faults]]` and the `retries` policy of producers and consumer groups.
//!
//! Rules a fault's keys must keep together: exactly one trigger; a window that ends after it
//! starts; `delay` with `latency` and only there; `scope = "entry"` only where a call has entries
//! (send, delete) and only for refusals (throttle, error); `timeout_after` only on SQS
//! operations, whose hidden effects the history can name (a hidden table write could not be).

use toml::Spanned;

use super::ctx::{Ctx, Loc, OneOf};
use crate::backend::faults::{ApiOperation, FaultKind, FaultRule, FaultScope, FaultTrigger};
use crate::scenario::RetryPolicy;
use crate::scenario::keys::{fault as key, retries as rkey, window as wkey};
use crate::scenario::raw::{RawFault, RawRetries};

pub(super) fn resolve_all(ctx: &mut Ctx, raws: &[Spanned<RawFault>]) -> Vec<FaultRule> {
    let list = Loc {
        path: "faults".into(),
        span: 0..0,
    };
    raws.iter()
        .enumerate()
        .filter_map(|(i, raw)| resolve(ctx, &list.item(i, raw), raw.get_ref()))
        .collect()
}

fn resolve(ctx: &mut Ctx, loc: &Loc, raw: &RawFault) -> Option<FaultRule> {
    let operation = ctx.choice(loc, &key::OPERATION, raw.operation.as_ref());
    let operation = operation.map(ApiOperation::from_name);
    let kind = ctx
        .choice(loc, &key::KIND, raw.kind.as_ref())
        .and_then(FaultKind::from_name);
    let scope = match ctx.choice(loc, &key::SCOPE, raw.scope.as_ref()) {
        Some("entry") => FaultScope::Entry,
        _ => FaultScope::Call,
    };
    let trigger = trigger(ctx, loc, raw);
    let delay = match (kind, raw.delay.as_ref()) {
        (Some(FaultKind::Latency), None) => {
            ctx.error(
                loc.span.clone(),
                loc.key("delay"),
                "a latency fault needs `delay`",
                format!("add delay = \"2s\": {}", key::DELAY.doc),
            );
            None
        }
        (Some(FaultKind::Latency), Some(_)) => ctx.duration(loc, &key::DELAY, raw.delay.as_ref()),
        (_, delay) => {
            ctx.not_here(
                loc,
                "delay",
                delay,
                "`delay` applies only to kind = \"latency\"",
                "remove `delay`, or set kind = \"latency\"",
            );
            None
        }
    };
    if scope == FaultScope::Entry {
        let entry_op = matches!(
            operation,
            Some(Some(ApiOperation::Send | ApiOperation::Delete))
        );
        if !entry_op {
            ctx.not_here(
                loc,
                "scope",
                raw.scope.as_ref(),
                "scope = \"entry\" needs a batch operation: send or delete",
                "set operation = \"send\" or \"delete\", or remove `scope`",
            );
        }
        if !matches!(kind, Some(FaultKind::Throttle | FaultKind::Error)) {
            ctx.not_here(
                loc,
                "scope",
                raw.scope.as_ref(),
                "scope = \"entry\" takes kind = \"throttle\" or \"error\" (an entry result is a refusal; a timeout or a delay concerns the whole call)",
                "remove `scope`, or set kind = \"throttle\" or \"error\"",
            );
        }
    }
    if kind == Some(FaultKind::TimeoutAfter) {
        let sqs = matches!(
            operation,
            Some(Some(
                ApiOperation::Send
                    | ApiOperation::Receive
                    | ApiOperation::Delete
                    | ApiOperation::ChangeVisibility
            ))
        );
        if !sqs {
            ctx.not_here(
                loc,
                "operation",
                raw.operation.as_ref(),
                "kind = \"timeout_after\" applies to SQS operations only (send, receive, delete, change_visibility): the history cannot yet name a table write whose answer was lost",
                "name one SQS operation, or use timeout_before, error or throttle on tables",
            );
        }
    }
    Some(FaultRule {
        operation: operation?,
        kind: kind?,
        trigger: trigger?,
        scope,
        delay: delay.unwrap_or_default(),
    })
}

fn trigger(ctx: &mut Ctx, loc: &Loc, raw: &RawFault) -> Option<FaultTrigger> {
    let given = [
        ("probability", raw.probability.as_ref().map(Spanned::span)),
        ("window", raw.window.as_ref().map(Spanned::span)),
        ("nth", raw.nth.as_ref().map(Spanned::span)),
    ];
    let rules = OneOf {
        missing: "a fault needs a trigger: one of `probability`, `window`, `nth`",
        missing_help: "add probability = 0.1, window = { from = \"10s\", until = \"20s\" } or nth = 1",
        conflict_note: " (a fault has exactly one trigger)",
        conflict_help: "keep one of probability / window / nth",
    };
    match ctx.exactly_one(loc, given, &rules)? {
        "probability" => ctx
            .float(loc, &key::PROBABILITY, raw.probability.as_ref())
            .map(FaultTrigger::Probability),
        "nth" => ctx
            .count(loc, &key::NTH, raw.nth.as_ref())
            .map(FaultTrigger::Nth),
        _ => {
            let window = raw.window.as_ref()?;
            let wloc = loc.table("window", window);
            let from = ctx.duration(&wloc, &wkey::FROM, window.get_ref().from.as_ref());
            let until = ctx.duration(&wloc, &wkey::UNTIL, window.get_ref().until.as_ref());
            let (from, until) = (from?, until?);
            if until <= from {
                let span = window
                    .get_ref()
                    .until
                    .as_ref()
                    .map_or(wloc.span.clone(), Spanned::span);
                ctx.error(
                    span,
                    wloc.key("until"),
                    "the window ends before it starts",
                    "until must be later than from".to_string(),
                );
                return None;
            }
            Some(FaultTrigger::Window { from, until })
        }
    }
}

/// The `retries` table of a producer or consumer group, or the SDK's standard policy.
pub(super) fn retries(ctx: &mut Ctx, loc: &Loc, raw: Option<&Spanned<RawRetries>>) -> RetryPolicy {
    let Some(raw) = raw else {
        return RetryPolicy::SDK_STANDARD;
    };
    let loc = loc.table("retries", raw);
    let raw = raw.get_ref();
    RetryPolicy {
        max_attempts: ctx
            .uint(&loc, &rkey::MAX_ATTEMPTS, raw.max_attempts.as_ref())
            .unwrap_or(RetryPolicy::SDK_STANDARD.max_attempts),
        backoff: ctx
            .duration(&loc, &rkey::BACKOFF, raw.backoff.as_ref())
            .unwrap_or(RetryPolicy::SDK_STANDARD.backoff),
    }
}
