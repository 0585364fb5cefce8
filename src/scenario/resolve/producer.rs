//! `[[producers]]` and their payloads: how many messages (count / continuous / schedule, or
//! derived from a versioned or literal payload), how fast, and the FIFO-only and standard-only
//! keys.

use toml::Spanned;

use super::ctx::{Ctx, Loc};
use super::values::{kind_of, parse_rate};
use super::{fifo_only, standard_only, unique_names};
use crate::scenario::keys::{self, payload as key, producer as pkey};
use crate::scenario::raw::{RawLiteral, RawPayload, RawPoison, RawProducer};
use crate::scenario::{
    Amount, DedupSource, FieldValue, LiteralMessage, Payload, PoisonPattern, Producer, QueueConfig,
    Rate,
};

pub fn resolve_all(
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
    if let (Some(groups), Some(raw_groups), false) = (groups, raw.groups.as_ref(), queue.fifo) {
        if groups > 1 {
            ctx.error(
                raw_groups.span(),
                loc.key("groups"),
                "message groups exist only on FIFO queues",
                "remove `groups`, or set `kind = \"fifo\"` in [queue]".to_string(),
            );
        }
    }
    standard_only(ctx, loc, "delay", raw.delay.as_ref(), queue.fifo);
    let delay = match queue.fifo {
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
    }
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
                let message = "a versioned payload cannot have a schedule";
                ctx.error(raw_schedule.span(), loc.key("schedule"), message, help);
                Amount::Count(derived.count)
            }
            _ => Amount::Count(derived.count),
        };
    }

    let given: Vec<(&str, std::ops::Range<usize>)> = [
        ("count", raw.count.as_ref().map(Spanned::span)),
        ("continuous", continuous.map(Spanned::span)),
        ("schedule", raw.schedule.as_ref().map(Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(name, span)| Some((name, span?)))
    .collect();
    let mut given = given;
    given.sort_by_key(|(_, span)| span.start);
    let help = "set exactly one of count = N, continuous = true (with a rate), or \
                schedule = [\"0s\", ...]";
    match given.as_slice() {
        [] => ctx.error(
            loc.span.clone(),
            loc.path.clone(),
            "the producer does not say how many messages to send",
            help.to_string(),
        ),
        [_] => {}
        [(first, _), rest @ ..] => {
            for (name, span) in rest {
                let message = format!("`{name}` conflicts with `{first}`");
                ctx.error(span.clone(), loc.key(name), message, help.to_string());
            }
        }
    }
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
    fifo_only(ctx, loc, "dedup", raw.dedup.as_ref(), queue.fifo);
    if !queue.fifo {
        return DedupSource::None;
    }
    let default = if queue.content_based_dedup {
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
        Some("content") if !queue.content_based_dedup => {
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

/// A payload and, for versioned and literal payloads, the message count it implies.
struct Derived {
    kind: &'static str,
    count: u64,
}

fn payload(
    ctx: &mut Ctx,
    loc: &Loc,
    raw: &RawPayload,
    queue: &QueueConfig,
    dedup: &DedupSource,
) -> (Payload, Option<Derived>) {
    let kind = ctx
        .choice(loc, &key::KIND, raw.kind.as_ref())
        .unwrap_or("work");
    let present = [
        ("poison", raw.poison.as_ref().map(Spanned::span)),
        ("field", raw.field.as_ref().map(Spanned::span)),
        ("orders", raw.orders.as_ref().map(Spanned::span)),
        ("duplicates", raw.duplicates.as_ref().map(Spanned::span)),
        ("entities", raw.entities.as_ref().map(Spanned::span)),
        ("versions", raw.versions.as_ref().map(Spanned::span)),
        ("shuffle", raw.shuffle.as_ref().map(Spanned::span)),
        ("messages", raw.messages.as_ref().map(Spanned::span)),
    ];
    let takes = keys::PAYLOAD_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[][..], |(_, takes)| *takes);
    for (name, span) in present {
        if let Some(span) = span.filter(|_| !takes.contains(&name)) {
            let message = format!("`{name}` does not apply to payload kind \"{kind}\"");
            let owner = keys::PAYLOAD_KINDS
                .iter()
                .find(|(_, keys)| keys.contains(&name));
            let owner = owner.map_or(String::new(), |(owner, _)| {
                format!("; `{name}` belongs to kind \"{owner}\"")
            });
            let help = format!("kind \"{kind}\" takes: kind, {}{owner}", takes.join(", "));
            ctx.error(span, loc.key(name), message, help);
        }
    }
    let require = |ctx: &mut Ctx, name: &str, given: bool| {
        if !given {
            let message = format!("payload kind \"{kind}\" needs `{name}`");
            let help = format!("kind \"{kind}\" takes: kind, {}", takes.join(", "));
            ctx.error(loc.span.clone(), loc.key(name), message, help);
        }
    };
    match kind {
        "business-duplicates" => {
            require(ctx, "orders", raw.orders.is_some());
            let payload = Payload::BusinessDuplicates {
                field: ctx
                    .text(loc, &key::FIELD, raw.field.as_ref())
                    .unwrap_or_default(),
                orders: ctx
                    .count(loc, &key::ORDERS, raw.orders.as_ref())
                    .unwrap_or(1),
                duplicates: ctx
                    .count(loc, &key::DUPLICATES, raw.duplicates.as_ref())
                    .unwrap_or(1),
            };
            (payload, None)
        }
        "versioned" => {
            require(ctx, "versions", raw.versions.is_some());
            let entities = ctx
                .count(loc, &key::ENTITIES, raw.entities.as_ref())
                .unwrap_or(1);
            let versions = ctx
                .count(loc, &key::VERSIONS, raw.versions.as_ref())
                .unwrap_or(1);
            let shuffle = ctx
                .bool(loc, &key::SHUFFLE, raw.shuffle.as_ref())
                .unwrap_or(true);
            let count = entities.saturating_mul(versions);
            let payload = Payload::Versioned {
                entities,
                versions,
                shuffle,
            };
            (
                payload,
                Some(Derived {
                    kind: "versioned",
                    count,
                }),
            )
        }
        "literal" => {
            require(ctx, "messages", raw.messages.is_some());
            let messages = raw.messages.as_ref().map_or(Vec::new(), |messages| {
                let list = loc.table("messages", messages);
                if messages.get_ref().is_empty() {
                    let help = "add at least one message, e.g. messages = [{ fields = { order_id = \"o-1\" } }]";
                    ctx.error(list.span.clone(), list.path.clone(), "no messages", help.to_string());
                }
                let items = messages.get_ref().iter().enumerate();
                items
                    .map(|(i, m)| literal(ctx, &list.item(i, m), m.get_ref(), queue, dedup))
                    .collect()
            });
            let count = messages.len() as u64;
            (
                Payload::Literal(messages),
                Some(Derived {
                    kind: "literal",
                    count,
                }),
            )
        }
        _ => {
            let poison = raw.poison.as_ref().and_then(|poison| {
                self::poison(ctx, &loc.table("poison", poison), poison.get_ref())
            });
            (Payload::Work { poison }, None)
        }
    }
}

fn poison(ctx: &mut Ctx, loc: &Loc, raw: &RawPoison) -> Option<PoisonPattern> {
    use keys::poison as key;
    let help = "set exactly one of every = N, positions = [1, 5], probability = 0.1";
    let given = [
        raw.every.as_ref().map(|v| ("every", v.span())),
        raw.positions.as_ref().map(|v| ("positions", v.span())),
        raw.probability.as_ref().map(|v| ("probability", v.span())),
    ];
    let mut given: Vec<_> = given.into_iter().flatten().collect();
    given.sort_by_key(|(_, span)| span.start);
    match given.as_slice() {
        [] => ctx.error(
            loc.span.clone(),
            loc.path.clone(),
            "no poison pattern",
            help.to_string(),
        ),
        [_] => {}
        [(first, _), rest @ ..] => {
            for (name, span) in rest {
                let message = format!("`{name}` conflicts with `{first}`");
                ctx.error(span.clone(), loc.key(name), message, help.to_string());
            }
        }
    }
    if let Some(every) = raw.every.as_ref() {
        return ctx
            .count(loc, &key::EVERY, Some(every))
            .map(PoisonPattern::Every);
    }
    if let Some(positions) = raw.positions.as_ref() {
        let list = loc.table("positions", positions);
        let help = "positions are 1-based message numbers: integers >= 1".to_string();
        let shape = keys::int_from(1);
        let items = positions.get_ref().iter().enumerate();
        let checked =
            items.map(|(i, p)| ctx.check_int(list.item(i, p).path, p, &shape, help.clone()));
        let positions: Vec<u64> = checked.flatten().map(|p| p as u64).collect();
        return Some(PoisonPattern::Positions(positions));
    }
    ctx.float(loc, &key::PROBABILITY, raw.probability.as_ref())
        .map(PoisonPattern::Probability)
}

fn literal(
    ctx: &mut Ctx,
    loc: &Loc,
    raw: &RawLiteral,
    queue: &QueueConfig,
    dedup: &DedupSource,
) -> LiteralMessage {
    use keys::literal as key;
    let mut fields = std::collections::BTreeMap::new();
    for (name, value) in raw.fields.iter().flat_map(|fields| &fields.get_ref().0) {
        let value = match value.get_ref() {
            toml::Value::String(s) => FieldValue::Str(s.clone()),
            toml::Value::Integer(n) => FieldValue::Int(*n),
            other => {
                let message = format!("a field value cannot be {}", kind_of(other));
                let help = "fields take strings or integers, e.g. { order_id = \"o-1\", qty = 2 }";
                let path = format!("{}.{}", loc.key("fields"), name.get_ref());
                ctx.error(value.span(), path, message, help.to_string());
                continue;
            }
        };
        fields.insert(name.get_ref().clone(), value);
    }
    fifo_only(ctx, loc, "group", raw.group.as_ref(), queue.fifo);
    fifo_only(ctx, loc, "dedup_id", raw.dedup_id.as_ref(), queue.fifo);
    if queue.fifo {
        match (raw.dedup_id.as_ref(), dedup) {
            (Some(id), DedupSource::MessageId | DedupSource::None) => {
                let help = "set dedup = \"payload\" on the producer, or remove dedup_id";
                let message = "dedup_id is used only when the producer has dedup = \"payload\"";
                ctx.error(id.span(), loc.key("dedup_id"), message, help.to_string());
            }
            (None, DedupSource::Payload) if !queue.content_based_dedup => {
                let help = "give every message a dedup_id, or set content_based_dedup = true";
                let message =
                    "this message has no dedup_id, and the producer has dedup = \"payload\"";
                ctx.error(
                    loc.span.clone(),
                    loc.key("dedup_id"),
                    message,
                    help.to_string(),
                );
            }
            _ => {}
        }
    }
    LiteralMessage {
        fields,
        group: ctx
            .text(loc, &key::GROUP, raw.group.as_ref())
            .filter(|_| queue.fifo),
        dedup_id: ctx
            .text(loc, &key::DEDUP_ID, raw.dedup_id.as_ref())
            .filter(|_| queue.fifo),
        poison: ctx
            .bool(loc, &key::POISON, raw.poison.as_ref())
            .unwrap_or(false),
    }
}
