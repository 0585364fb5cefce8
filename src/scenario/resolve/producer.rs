//! `[[producers]]`: how many messages (count / continuous / schedule, or derived from a versioned,
//! business-duplicates or literal payload), how fast, where FIFO deduplication ids come from, and the FIFO-only and
//! standard-only keys.

use toml::Spanned;

use super::consumer::crash_policy;
use super::ctx::{Ctx, Loc, OneOf};
use super::payload::{Derived, payload};
use super::values::parse_rate;
use super::{fifo_only, standard_only, unique_names};
use crate::scenario::keys::{self, payload as paykey, producer as pkey, producer_chaos as pchaos};
use crate::scenario::raw::{RawPayload, RawProducer};
use crate::scenario::{
    Amount, DedupSource, DualWriteOrder, Producer, ProducerChaos, QueueConfig, Rate, WriteMode,
};

pub(super) fn resolve_all(
    ctx: &mut Ctx,
    raws: &[Spanned<RawProducer>],
    queue: &QueueConfig,
) -> Vec<Producer> {
    if raws.is_empty() {
        ctx.error(
            0..0,
            "producers".into(),
            "the scenario has no [[producers]]",
            "add at least one [[producers]] table with a name and a count".to_string(),
        );
    }
    let list = Loc {
        path: "producers".into(),
        span: 0..0,
    };
    let producers: Vec<Producer> = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| resolve(ctx, &list.item(i, raw), raw.get_ref(), queue))
        .collect();
    let names: Vec<_> = raws.iter().map(|raw| raw.get_ref().name.as_ref()).collect();
    unique_names(ctx, &list, &names, "producer");
    producers
}

fn resolve(ctx: &mut Ctx, loc: &Loc, raw: &RawProducer, queue: &QueueConfig) -> Producer {
    let name = ctx.name(loc, &pkey::NAME, raw.name.as_ref());
    let start = ctx.duration(loc, &pkey::START, raw.start.as_ref());
    let payload_loc = loc.maybe("payload", raw.payload.as_ref());
    let empty = RawPayload::default();
    let raw_payload = raw.payload.as_ref().map_or(&empty, Spanned::get_ref);
    let literal = raw_payload
        .kind
        .as_ref()
        .is_some_and(|k| k.get_ref() == "literal");
    let dedup = dedup(ctx, loc, raw, queue, literal);
    let (payload, derived) = payload(ctx, &payload_loc, raw_payload, queue, &dedup);
    let amount = amount(ctx, loc, raw, derived);

    let rate = match raw.rate.as_ref() {
        None => Rate::Unlimited,
        Some(text) => parse_rate(text.get_ref()).unwrap_or_else(|message| {
            ctx.error(text.span(), loc.key("rate"), message, pkey::RATE.help());
            Rate::Unlimited
        }),
    };
    if amount == Amount::Continuous && rate == Rate::Unlimited {
        let span = match (raw.rate.as_ref(), raw.continuous.as_ref()) {
            (Some(rate), _) => rate.span(),
            (None, Some(continuous)) => continuous.span(),
            (None, None) => loc.span.clone(),
        };
        ctx.error(
            span,
            loc.key("rate"),
            "a continuous producer needs a finite rate",
            "set rate = \"N/s\" or \"N/m\", e.g. rate = \"5/s\"".to_string(),
        );
    }

    let groups = ctx.uint(loc, &pkey::GROUPS, raw.groups.as_ref());
    if let (Some(groups), Some(raw_groups), false) =
        (groups, raw.groups.as_ref(), queue.attributes.fifo)
    {
        if groups > 1 {
            ctx.error(
                raw_groups.span(),
                loc.key("groups"),
                "message groups exist only on FIFO queues",
                "remove `groups`, or set `kind = \"fifo\"` in [queue]".to_string(),
            );
        }
    }
    standard_only(ctx, loc, "delay", raw.delay.as_ref(), queue.attributes.fifo);
    let delay = match queue.attributes.fifo {
        true => None,
        false => ctx.duration(loc, &pkey::DELAY, raw.delay.as_ref()),
    };

    Producer {
        name: name.unwrap_or_default(),
        start: start.unwrap_or_default(),
        amount,
        rate,
        batch_size: ctx
            .uint(loc, &pkey::BATCH_SIZE, raw.batch_size.as_ref())
            .unwrap_or(1),
        payload,
        groups: groups.unwrap_or(1),
        dedup,
        delay,
        retries: super::faults::retries(ctx, loc, raw.retries.as_ref()),
        body_size: ctx.count(&payload_loc, &paykey::SIZE, raw_payload.size.as_ref()),
        write: write_mode(ctx, loc, raw, queue),
        claim_check_above: claim_check(ctx, loc, raw),
    }
}

/// `claim_check_above`: not with a business-record mode, whose writes already put the message
/// (an outbox row holds its body) in a transaction of their own.
fn claim_check(ctx: &mut Ctx, loc: &Loc, raw: &RawProducer) -> Option<u64> {
    let threshold = ctx.count(
        loc,
        &pkey::CLAIM_CHECK_ABOVE,
        raw.claim_check_above.as_ref(),
    )?;
    let outbox = raw.outbox.as_ref().is_some_and(|o| *o.get_ref());
    let mode = match (outbox, raw.dual_write.is_some()) {
        (true, _) => "outbox",
        (false, true) => "dual_write",
        (false, false) => return Some(threshold),
    };
    let span = raw
        .claim_check_above
        .as_ref()
        .map_or(loc.span.clone(), Spanned::span);
    let message = format!("a producer cannot use both `claim_check_above` and `{mode}`");
    let help = format!(
        "remove `claim_check_above`, or remove `{mode}`: the claim check stores large bodies \
         for a producer that only sends"
    );
    ctx.error(span, loc.key("claim_check_above"), message, help);
    None
}

/// `outbox`, `dual_write` and their `chaos`: at most one of the two modes, on a standard queue,
/// one message per call, and only the crash points the chosen mode has.
fn write_mode(ctx: &mut Ctx, loc: &Loc, raw: &RawProducer, queue: &QueueConfig) -> WriteMode {
    let outbox = ctx
        .bool(loc, &pkey::OUTBOX, raw.outbox.as_ref())
        .unwrap_or(false);
    let order = match ctx.choice(loc, &pkey::DUAL_WRITE, raw.dual_write.as_ref()) {
        Some("commit-then-send") => Some(DualWriteOrder::CommitThenSend),
        Some("send-then-commit") => Some(DualWriteOrder::SendThenCommit),
        _ => None,
    };
    let chaos_loc = loc.maybe("chaos", raw.chaos.as_ref());
    let raw_chaos = raw.chaos.as_ref().map(Spanned::get_ref);
    let chaos = ProducerChaos {
        crash_after_commit: raw_chaos
            .and_then(|c| {
                let key = &pchaos::CRASH_AFTER_COMMIT;
                crash_policy(ctx, &chaos_loc, key, c.crash_after_commit.as_ref())
            })
            .unwrap_or_default(),
        crash_after_send: raw_chaos
            .and_then(|c| {
                let key = &pchaos::CRASH_AFTER_SEND;
                crash_policy(ctx, &chaos_loc, key, c.crash_after_send.as_ref())
            })
            .unwrap_or_default(),
    };
    let mode = match (outbox, order) {
        (true, Some(_)) => {
            let span = raw
                .dual_write
                .as_ref()
                .map_or(loc.span.clone(), Spanned::span);
            let message = "a producer cannot use both `outbox` and `dual_write`";
            let help =
                "keep outbox = true (the pattern) or dual_write (the naive write it replaces)";
            ctx.error(span, loc.key("dual_write"), message, help.to_string());
            WriteMode::Outbox(chaos)
        }
        (true, None) => WriteMode::Outbox(chaos),
        (false, Some(order)) => WriteMode::DualWrite(order, chaos),
        (false, None) => WriteMode::SendOnly,
    };
    let key = match (
        raw.outbox.as_ref().filter(|o| *o.get_ref()),
        raw.dual_write.as_ref(),
    ) {
        (Some(outbox), _) => Some(("outbox", outbox.span())),
        (None, Some(dual_write)) => Some(("dual_write", dual_write.span())),
        (None, None) => None,
    };
    let Some((key, span)) = key else {
        if let Some(c) = raw.chaos.as_ref() {
            let message = "a producer's `chaos` needs `outbox = true` or `dual_write`";
            let help = "its crashes fall between a business record and its message: set \
                        outbox = true or dual_write = \"commit-then-send\" / \
                        \"send-then-commit\", or remove `chaos`";
            ctx.error(c.span(), loc.key("chaos"), message, help.to_string());
        }
        return mode;
    };
    if queue.attributes.fifo {
        let message = format!("`{key}` is supported on standard queues only");
        let help = format!(
            "remove `{key}`, or set kind = \"standard\" in [queue] (qsim's record writes \
             carry no message groups or deduplication ids)"
        );
        ctx.error(span.clone(), loc.key(key), message, help);
    }
    if let Some(batch) = raw.batch_size.as_ref().filter(|b| *b.get_ref() > 1) {
        let message = format!("`{key}` writes one message per call, so batch_size must be 1");
        let help = "remove batch_size (or set batch_size = 1)".to_string();
        ctx.error(batch.span(), loc.key("batch_size"), message, help);
    }
    // The crash points each mode has: nothing follows a commit-then-send's send, and nothing
    // sits between a send-then-commit's commit and the next message.
    let pointless = match mode {
        WriteMode::DualWrite(DualWriteOrder::CommitThenSend, _) => raw_chaos
            .and_then(|c| c.crash_after_send.as_ref())
            .map(|v| {
                (
                    "crash_after_send",
                    v.span(),
                    "commit-then-send ends with the send",
                )
            }),
        WriteMode::DualWrite(DualWriteOrder::SendThenCommit, _) => raw_chaos
            .and_then(|c| c.crash_after_commit.as_ref())
            .map(|v| {
                (
                    "crash_after_commit",
                    v.span(),
                    "send-then-commit ends with the commit",
                )
            }),
        _ => None,
    };
    if let Some((name, span, why)) = pointless {
        let message = format!("`{name}` has no moment to crash in: {why}");
        let allowed = match name {
            "crash_after_send" => "crash_after_commit",
            _ => "crash_after_send",
        };
        let help =
            format!("remove `{name}`; this dual_write crashes between its calls with `{allowed}`");
        ctx.error(span, chaos_loc.key(name), message, help);
    }
    mode
}

/// Exactly one of count / continuous = true / schedule, unless the payload fixes the count.
fn amount(ctx: &mut Ctx, loc: &Loc, raw: &RawProducer, derived: Option<Derived>) -> Amount {
    let count = ctx.count(loc, &pkey::COUNT, raw.count.as_ref());
    let continuous = raw.continuous.as_ref().filter(|c| *c.get_ref());
    let schedule = raw.schedule.as_ref().map(|offsets| {
        let help = format!("schedule takes {}", pkey::SCHEDULE.shape.allowed());
        let list = loc.table("schedule", offsets);
        let times = offsets.get_ref().iter().enumerate();
        times
            .map(|(i, t)| {
                let shape = &keys::ANY_DURATION;
                let time = ctx.check_duration(list.item(i, t).path, t, shape, help.clone());
                time.unwrap_or_default()
            })
            .collect::<Vec<_>>()
    });
    if let Some(offsets) = raw.schedule.as_ref().filter(|s| s.get_ref().is_empty()) {
        let help = "list at least one offset, e.g. schedule = [\"0s\", \"5s\"]".to_string();
        ctx.error(
            offsets.span(),
            loc.key("schedule"),
            "the schedule is empty",
            help,
        );
    }

    if let Some(derived) = derived {
        let why = format!(
            "the {} payload sends {} messages",
            derived.kind, derived.count
        );
        let help = format!("remove it: {why}");
        if let Some(c) = raw.count.as_ref() {
            ctx.error(
                c.span(),
                loc.key("count"),
                "count is set by the payload",
                help.clone(),
            );
        }
        if let Some(c) = continuous {
            let message = "a continuous producer cannot have this payload";
            ctx.error(c.span(), loc.key("continuous"), message, help.clone());
        }
        return match (schedule, raw.schedule.as_ref()) {
            (Some(times), Some(raw_schedule)) if derived.kind == "literal" => {
                if times.len() as u64 != derived.count {
                    let message = format!(
                        "the schedule has {} offsets for {} messages",
                        times.len(),
                        derived.count
                    );
                    let help = "give one offset per literal message".to_string();
                    ctx.error(raw_schedule.span(), loc.key("schedule"), message, help);
                }
                Amount::Schedule(times)
            }
            (_, Some(raw_schedule)) => {
                let message = format!("a {} payload cannot have a schedule", derived.kind);
                ctx.error(raw_schedule.span(), loc.key("schedule"), message, help);
                Amount::Count(derived.count)
            }
            _ => Amount::Count(derived.count),
        };
    }

    let given = [
        ("count", raw.count.as_ref().map(Spanned::span)),
        ("continuous", continuous.map(Spanned::span)),
        ("schedule", raw.schedule.as_ref().map(Spanned::span)),
    ];
    let help = "set exactly one of count = N, continuous = true (with a rate), or \
                schedule = [\"0s\", ...]";
    let rules = OneOf {
        missing: "the producer does not say how many messages to send",
        missing_help: help,
        conflict_note: "",
        conflict_help: help,
    };
    ctx.exactly_one(loc, given, &rules);
    match (count, continuous, schedule) {
        (_, Some(_), _) => Amount::Continuous,
        (_, _, Some(times)) => Amount::Schedule(times),
        (count, _, _) => Amount::Count(count.unwrap_or(1)),
    }
}

/// Where MessageDeduplicationId comes from; only FIFO queues take `dedup`.
fn dedup(
    ctx: &mut Ctx,
    loc: &Loc,
    raw: &RawProducer,
    queue: &QueueConfig,
    literal: bool,
) -> DedupSource {
    fifo_only(ctx, loc, "dedup", raw.dedup.as_ref(), queue.attributes.fifo);
    if !queue.attributes.fifo {
        return DedupSource::None;
    }
    let default = if queue.attributes.content_based_dedup {
        "content"
    } else {
        "message-id"
    };
    let choice = match raw.dedup.as_ref() {
        Some(_) => ctx.choice(loc, &pkey::DEDUP, raw.dedup.as_ref()),
        None => Some(default),
    };
    let span = raw.dedup.as_ref().map_or(loc.span.clone(), Spanned::span);
    match choice {
        Some("content") if !queue.attributes.content_based_dedup => {
            let help = "set content_based_dedup = true in [queue], or use dedup = \"message-id\"";
            let message = "dedup = \"content\" needs content-based deduplication on the queue";
            ctx.error(span, loc.key("dedup"), message, help.to_string());
            DedupSource::None
        }
        Some("content") => DedupSource::None,
        Some("payload") if !literal => {
            let help = "dedup = \"payload\" takes each literal message's dedup_id: use \
                        payload kind = \"literal\", or dedup = \"message-id\"";
            let message = "dedup = \"payload\" needs a literal payload";
            ctx.error(span, loc.key("dedup"), message, help.to_string());
            DedupSource::Payload
        }
        Some("payload") => DedupSource::Payload,
        _ => DedupSource::MessageId,
    }
}
