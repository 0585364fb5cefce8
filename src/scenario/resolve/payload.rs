//! `[producers.payload]`: the message generator of a producer. Each kind takes its own keys; a
//! key of another kind is an error naming the kind it belongs to. Literal messages carry FIFO
//! group and deduplication ids, checked against the queue and the producer's `dedup`.

use toml::Spanned;

use super::ctx::{Ctx, Loc, OneOf};
use super::fifo_only;
use super::values::kind_of;
use crate::scenario::keys::{self, payload as key};
use crate::scenario::raw::{RawLiteral, RawPayload, RawPoison};
use crate::scenario::{
    DedupSource, FieldValue, LiteralMessage, Payload, PoisonPattern, QueueConfig,
};

/// A payload and, for versioned and literal payloads, the message count it implies.
pub(super) struct Derived {
    pub kind: &'static str,
    pub count: u64,
}

pub(super) fn payload(
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
            let orders = ctx
                .count(loc, &key::ORDERS, raw.orders.as_ref())
                .unwrap_or(1);
            let duplicates = ctx
                .count(loc, &key::DUPLICATES, raw.duplicates.as_ref())
                .unwrap_or(1);
            let payload = Payload::BusinessDuplicates {
                field: ctx
                    .text(loc, &key::FIELD, raw.field.as_ref())
                    .unwrap_or_default(),
                orders,
                duplicates,
            };
            let count = orders.saturating_add(duplicates);
            too_many(ctx, loc, "orders", raw.orders.as_ref(), count);
            let derived = Derived {
                kind: "business-duplicates",
                count,
            };
            (payload, Some(derived))
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
            too_many(ctx, loc, "versions", raw.versions.as_ref(), count);
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

/// Rejects a payload whose keys are each in range but whose product or sum is not.
/// (`orders + duplicates`, `entities x versions`), reported at `name`.
fn too_many(ctx: &mut Ctx, loc: &Loc, name: &str, at: Option<&Spanned<i64>>, count: u64) {
    if count > keys::MAX_COUNT as u64 {
        let span = at.map_or(loc.span.clone(), Spanned::span);
        let message = format!(
            "the payload sends {count} messages, more than the maximum, {}",
            keys::MAX_COUNT
        );
        let help = format!(
            "a producer sends at most {} messages (orders + duplicates, entities x versions)",
            keys::MAX_COUNT
        );
        ctx.error(span, loc.key(name), message, help);
    }
}

fn poison(ctx: &mut Ctx, loc: &Loc, raw: &RawPoison) -> Option<PoisonPattern> {
    use keys::poison as key;
    let help = "set exactly one of every = N, positions = [1, 5], probability = 0.1";
    let given = [
        ("every", raw.every.as_ref().map(|v| v.span())),
        ("positions", raw.positions.as_ref().map(|v| v.span())),
        ("probability", raw.probability.as_ref().map(|v| v.span())),
    ];
    let rules = OneOf {
        missing: "no poison pattern",
        missing_help: help,
        conflict_note: "",
        conflict_help: help,
    };
    ctx.exactly_one(loc, given, &rules);
    if let Some(every) = raw.every.as_ref() {
        return ctx
            .count(loc, &key::EVERY, Some(every))
            .map(PoisonPattern::Every);
    }
    if let Some(positions) = raw.positions.as_ref() {
        let list = loc.table("positions", positions);
        let help = "positions are 1-based message numbers: integers >= 1".to_string();
        let shape = keys::count_from(1);
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
    fifo_only(ctx, loc, "group", raw.group.as_ref(), queue.attributes.fifo);
    fifo_only(
        ctx,
        loc,
        "dedup_id",
        raw.dedup_id.as_ref(),
        queue.attributes.fifo,
    );
    if queue.attributes.fifo {
        match (raw.dedup_id.as_ref(), dedup) {
            (Some(id), DedupSource::MessageId | DedupSource::None) => {
                let help = "set dedup = \"payload\" on the producer, or remove dedup_id";
                let message = "dedup_id is used only when the producer has dedup = \"payload\"";
                ctx.error(id.span(), loc.key("dedup_id"), message, help.to_string());
            }
            (None, DedupSource::Payload) if !queue.attributes.content_based_dedup => {
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
            .filter(|_| queue.attributes.fifo),
        dedup_id: ctx
            .text(loc, &key::DEDUP_ID, raw.dedup_id.as_ref())
            .filter(|_| queue.attributes.fifo),
        poison: ctx
            .bool(loc, &key::POISON, raw.poison.as_ref())
            .unwrap_or(false),
    }
}
