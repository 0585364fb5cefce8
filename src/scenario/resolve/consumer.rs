//! `[[consumers]]` groups and their behaviour.
//!
//! A behaviour is resolved from layers: the group's own keys, then each `deploy` of that group
//! in timeline order; a key takes its value from the last layer that sets it. Setting
//! `idempotency` starts its parameters (`cache_size`, `lease`) afresh, so a deploy from "memory"
//! to "lock" does not inherit a cache size. `versioning`, `heartbeat` and `chaos` are replaced
//! as whole tables.

use std::time::Duration;

use toml::Spanned;

use super::ctx::{Ctx, Loc};
use super::unique_names;
use super::values::parse_crash_policy;
use crate::scenario::keys::{behavior as key, chaos as ckey, consumer as gkey, fmt_duration};
use crate::scenario::raw::{
    RawBehavior, RawChaos, RawConsumer, RawHeartbeat, RawPoller, RawVersioning,
};
use crate::scenario::{
    Ack, Chaos, ConsumerBehavior, ConsumerGroup, CrashPolicy, Execution, Heartbeat, Idempotency,
    IdempotencyKey, Poller, QueueConfig, Versioning,
};

/// One layer of behaviour keys and where it is in the file.
#[derive(Clone, Debug)]
pub(super) struct Layer<'a> {
    pub loc: Loc,
    pub raw: RawBehavior<'a>,
}

pub(super) fn resolve_all(
    ctx: &mut Ctx,
    raws: &[Spanned<RawConsumer>],
    queue: &QueueConfig,
) -> Vec<ConsumerGroup> {
    if raws.is_empty() {
        ctx.error(
            0..0,
            "consumers".into(),
            "the scenario has no [[consumers]]",
            "add at least one [[consumers]] table with a name".to_string(),
        );
    }
    let groups = raws
        .iter()
        .enumerate()
        .map(|(i, raw)| resolve(ctx, &layer_of(i, raw).loc, raw.get_ref(), queue))
        .collect();
    let names: Vec<_> = raws.iter().map(|raw| raw.get_ref().name.as_ref()).collect();
    unique_names(ctx, &layer_of_list(), &names, "consumer group");
    for (i, raw) in raws.iter().enumerate() {
        if let Some(name) = raw.get_ref().name.as_ref().filter(|n| n.get_ref() == "all") {
            let help = "\"all\" means every group in terminate / kill: pick another name";
            let path = layer_of(i, raw).loc.key("name");
            ctx.error(name.span(), path, "\"all\" is reserved", help.to_string());
        }
    }
    groups
}

fn layer_of_list() -> Loc {
    Loc {
        path: "consumers".into(),
        span: 0..0,
    }
}

/// The group's own behaviour layer.
pub(super) fn layer_of(index: usize, raw: &Spanned<RawConsumer>) -> Layer<'_> {
    Layer {
        loc: layer_of_list().item(index, raw),
        raw: raw.get_ref().behavior(),
    }
}

fn resolve(ctx: &mut Ctx, loc: &Loc, raw: &RawConsumer, queue: &QueueConfig) -> ConsumerGroup {
    let wait = ctx
        .duration(loc, &gkey::WAIT, raw.wait.as_ref())
        .unwrap_or(queue.attributes.receive_wait);
    let idle_timeout = ctx
        .duration(loc, &gkey::IDLE_TIMEOUT, raw.idle_timeout.as_ref())
        .unwrap_or(queue.attributes.visibility_timeout + 2 * wait + Duration::from_secs(1));
    let layer = Layer {
        loc: loc.clone(),
        raw: raw.behavior(),
    };
    let max_messages = ctx
        .uint(loc, &gkey::MAX_MESSAGES, raw.max_messages.as_ref())
        .unwrap_or(1);
    let poller = raw
        .poller
        .as_ref()
        .and_then(|p| poller(ctx, &loc.table("poller", p), p.get_ref(), queue));
    if raw.poller.is_some() {
        // A poller's batch, limit and acknowledgement are the event source's, not a loop's.
        let help = "a poller receives `poller.batch_size` messages and deletes them as its \
                    `report_batch_item_failures` says: remove this key or the poller";
        let misplaced: [(&str, Option<std::ops::Range<usize>>); 4] = [
            ("max_messages", raw.max_messages.as_ref().map(Spanned::span)),
            (
                "message_limit",
                raw.message_limit.as_ref().map(Spanned::span),
            ),
            ("ack", raw.ack.as_ref().map(Spanned::span)),
            ("prefetch", raw.prefetch.as_ref().map(Spanned::span)),
        ];
        for (name, span) in misplaced {
            if let Some(span) = span {
                let message = format!("`{name}` does not apply to a group with a `poller`");
                ctx.error(span, loc.key(name), message, help.to_string());
            }
        }
    }
    let ack = ctx
        .choice(loc, &gkey::ACK, raw.ack.as_ref())
        .and_then(Ack::from_name)
        .unwrap_or_default();
    let prefetch = ctx.uint(loc, &gkey::PREFETCH, raw.prefetch.as_ref());
    if let (Some(prefetch), Some(raw_prefetch)) = (prefetch, raw.prefetch.as_ref()) {
        if prefetch < max_messages {
            let message =
                format!("prefetch {prefetch} is smaller than max_messages {max_messages}");
            let help = "prefetch is the most messages held at once, one receive included: \
                        at least max_messages";
            ctx.error(
                raw_prefetch.span(),
                loc.key("prefetch"),
                message,
                help.to_string(),
            );
        }
    }
    ConsumerGroup {
        name: ctx
            .name(loc, &gkey::NAME, raw.name.as_ref())
            .unwrap_or_default(),
        count: ctx.uint(loc, &gkey::COUNT, raw.count.as_ref()).unwrap_or(1),
        start: ctx
            .duration(loc, &gkey::START, raw.start.as_ref())
            .unwrap_or_default(),
        stagger: ctx
            .duration(loc, &gkey::STAGGER, raw.stagger.as_ref())
            .unwrap_or_default(),
        max_messages: poller.map_or(max_messages, |p| p.batch_size),
        wait,
        idle_timeout,
        message_limit: ctx.count(loc, &gkey::MESSAGE_LIMIT, raw.message_limit.as_ref()),
        ack,
        prefetch,
        poller,
        retries: super::faults::retries(ctx, loc, raw.retries.as_ref()),
        behavior: behavior(ctx, &[layer], queue),
        execution: execution(ctx, loc, raw),
    }
}

/// `process`, `command` and `env`: where the group's instances run. A `command` is the team's
/// own consumer, so every key that configures qsim's built-in one is a mistake there.
fn execution(ctx: &mut Ctx, loc: &Loc, raw: &RawConsumer) -> Execution {
    let process = ctx.bool(loc, &gkey::PROCESS, raw.process.as_ref()) == Some(true);
    let Some(command) = raw.command.as_ref() else {
        if let Some(env) = &raw.env {
            let help = "env is the extra environment of a `command` consumer: add `command = [...]` or remove `env`";
            ctx.error(
                env.span(),
                loc.key("env"),
                "`env` without `command`",
                help.to_string(),
            );
        }
        return if process {
            Execution::Process
        } else {
            Execution::InProcess
        };
    };
    if process {
        let help = "process = true runs qsim's built-in consumer as a child process; command                     runs your own: keep one";
        let span = raw.process.as_ref().map_or(command.span(), Spanned::span);
        let message = "`process = true` and `command` exclude each other";
        ctx.error(span, loc.key("process"), message, help.to_string());
    }
    let built_in = built_in_keys(raw);
    if !built_in.is_empty() {
        let names: Vec<&str> = built_in.iter().map(|(name, _)| *name).collect();
        let help = format!(
            "a `command` consumer is your own program, which qsim does not configure: remove {}              (count, start, stagger, the timeline and env still apply)",
            names.join(", ")
        );
        for (name, span) in built_in {
            let message = format!("`{name}` configures qsim's built-in consumer, not a `command`");
            ctx.error(span, loc.key(name), message, help.clone());
        }
    }
    let argv = command.get_ref();
    if argv.is_empty() {
        let help = "the program and its arguments, e.g. command = [\"python3\", \"worker.py\"]";
        ctx.error(
            command.span(),
            loc.key("command"),
            "must not be empty",
            help.to_string(),
        );
    }
    for (i, arg) in argv
        .iter()
        .enumerate()
        .filter(|(_, a)| a.get_ref().is_empty())
    {
        let help = "every element is an argument: remove the empty string";
        let path = format!("{}[{i}]", loc.key("command"));
        ctx.error(arg.span(), path, "an empty argument", help.to_string());
    }
    let mut env = std::collections::BTreeMap::new();
    for (name, value) in raw.env.iter().flat_map(|env| &env.get_ref().0) {
        let text = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            _ => {
                let help =
                    "environment values are strings or integers, e.g. { WORK_SECONDS = \"2\" }";
                let path = format!("{}.{}", loc.key("env"), name.get_ref());
                ctx.error(
                    value.span(),
                    path,
                    "not a string or an integer",
                    help.to_string(),
                );
                continue;
            }
        };
        env.insert(name.get_ref().clone(), text);
    }
    Execution::Command {
        argv: argv.iter().map(|a| a.get_ref().clone()).collect(),
        env,
    }
}

/// The keys of `raw` that configure the built-in consumer and are set, with their spans.
fn built_in_keys(raw: &RawConsumer) -> Vec<(&'static str, std::ops::Range<usize>)> {
    fn span<T>(value: Option<&Spanned<T>>) -> Option<std::ops::Range<usize>> {
        value.map(Spanned::span)
    }
    let behavior = raw.behavior();
    let keys = [
        ("max_messages", span(raw.max_messages.as_ref())),
        ("wait", span(raw.wait.as_ref())),
        ("idle_timeout", span(raw.idle_timeout.as_ref())),
        ("message_limit", span(raw.message_limit.as_ref())),
        ("ack", span(raw.ack.as_ref())),
        ("prefetch", span(raw.prefetch.as_ref())),
        ("poller", span(raw.poller.as_ref())),
        ("retries", span(raw.retries.as_ref())),
        ("processing", span(behavior.processing)),
        ("side_effect_delay", span(behavior.side_effect_delay)),
        ("idempotency", span(behavior.idempotency)),
        ("cache_size", span(behavior.cache_size)),
        ("lease", span(behavior.lease)),
        ("business_key", span(behavior.business_key)),
        ("versioning", span(behavior.versioning)),
        ("log_field", span(behavior.log_field)),
        ("reject_poison", span(behavior.reject_poison)),
        ("heartbeat", span(behavior.heartbeat)),
        ("stale_after", span(behavior.stale_after)),
        ("chaos", built_in_chaos(behavior.chaos)),
    ];
    keys.into_iter()
        .filter_map(|(name, span)| Some((name, span?)))
        .collect()
}

/// `chaos` of a `command` group: only `restart_after` applies to a process qsim did not write
/// (it restarts what a kill stopped); the injected crashes and slowness are the built-in
/// consumer's.
fn built_in_chaos(chaos: Option<&Spanned<RawChaos>>) -> Option<std::ops::Range<usize>> {
    let chaos = chaos?;
    let raw = chaos.get_ref();
    let built_in = raw.crash_after_receive.is_some()
        || raw.crash_after_side_effect.is_some()
        || raw.crash_rate.is_some()
        || raw.slow_rate.is_some()
        || raw.slow_delay.is_some();
    built_in.then(|| chaos.span())
}

/// The value of one behaviour key: from the last layer that sets it, with that layer's location
/// (or the first layer's location when no layer sets it).
fn pick<'l, 'a, T>(
    layers: &'l [Layer<'a>],
    field: impl Fn(&RawBehavior<'a>) -> Option<&'a T>,
) -> (&'l Loc, Option<&'a T>) {
    layers
        .iter()
        .rev()
        .find_map(|layer| field(&layer.raw).map(|value| (&layer.loc, Some(value))))
        .unwrap_or((&layers[0].loc, None))
}

/// Resolves layered behaviour keys. `layers` is never empty: the group's own keys come first.
pub(super) fn behavior(ctx: &mut Ctx, layers: &[Layer], queue: &QueueConfig) -> ConsumerBehavior {
    let (loc, raw) = pick(layers, |r| r.processing);
    let processing = ctx.duration(loc, &key::PROCESSING, raw);
    let (loc, raw) = pick(layers, |r| r.side_effect_delay);
    let side_effect_delay = ctx.duration(loc, &key::SIDE_EFFECT_DELAY, raw);
    let idempotency = idempotency(ctx, layers, queue);
    let (loc, raw) = pick(layers, |r| r.business_key);
    let idempotency_key = match ctx.text(loc, &key::BUSINESS_KEY, raw) {
        Some(field) => IdempotencyKey::Field(field),
        None => IdempotencyKey::MessageId,
    };
    let (loc, raw) = pick(layers, |r| r.versioning);
    let versioning = raw.map(|v| versioning(ctx, &loc.table("versioning", v), v.get_ref()));
    let (loc, raw) = pick(layers, |r| r.log_field);
    let log_field = ctx.text(loc, &key::LOG_FIELD, raw);
    let (loc, raw) = pick(layers, |r| r.reject_poison);
    let reject_poison = ctx.bool(loc, &key::REJECT_POISON, raw);
    let (loc, raw) = pick(layers, |r| r.heartbeat);
    let heartbeat = raw.and_then(|h| heartbeat(ctx, &loc.table("heartbeat", h), h.get_ref()));
    let (loc, raw) = pick(layers, |r| r.stale_after);
    let stale_after = ctx.duration(loc, &key::STALE_AFTER, raw);
    let (loc, raw) = pick(layers, |r| r.chaos);
    let chaos = raw.map_or_else(Chaos::default, |c| {
        chaos(ctx, &loc.table("chaos", c), c.get_ref())
    });
    ConsumerBehavior {
        processing: processing.unwrap_or_default(),
        side_effect_delay: side_effect_delay.unwrap_or_default(),
        idempotency,
        idempotency_key,
        versioning,
        log_field,
        reject_poison: reject_poison.unwrap_or(false),
        heartbeat,
        stale_after,
        chaos,
    }
}

fn idempotency(ctx: &mut Ctx, layers: &[Layer], queue: &QueueConfig) -> Idempotency {
    let (loc, raw) = pick(layers, |r| r.idempotency);
    let kind = ctx.choice(loc, &key::IDEMPOTENCY, raw).unwrap_or("none");
    // Parameters come only from the layer that chose the kind and later ones.
    let from = layers
        .iter()
        .rposition(|layer| layer.raw.idempotency.is_some())
        .unwrap_or(0);
    let params = &layers[from..];
    let (cache_loc, cache_size) = pick(params, |r| r.cache_size);
    let (lease_loc, lease) = pick(params, |r| r.lease);
    let misplaced = |ctx: &mut Ctx, loc: &Loc, name: &str, span, kinds: &str| {
        let message = format!("`{name}` applies only to idempotency = {kinds}, not \"{kind}\"");
        let help = format!("remove `{name}`, or set idempotency = {kinds}");
        ctx.error(span, loc.key(name), message, help);
    };
    if kind != "memory" {
        if let Some(size) = cache_size {
            misplaced(ctx, cache_loc, "cache_size", size.span(), "\"memory\"");
        }
    }
    if !matches!(kind, "lock" | "tables") {
        if let Some(lease) = lease {
            misplaced(
                ctx,
                lease_loc,
                "lease",
                lease.span(),
                "\"lock\" or \"tables\"",
            );
        }
    }
    match kind {
        "memory" => {
            let capacity = ctx
                .count(cache_loc, &key::CACHE_SIZE, cache_size)
                .unwrap_or(1000);
            Idempotency::Memory {
                capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            }
        }
        "lock" | "tables" => {
            let lease = ctx
                .duration(lease_loc, &key::LEASE, lease)
                .unwrap_or(queue.attributes.visibility_timeout);
            match kind {
                "lock" => Idempotency::Lock { lease },
                _ => Idempotency::Tables { lease },
            }
        }
        _ => Idempotency::None,
    }
}

fn poller(ctx: &mut Ctx, loc: &Loc, raw: &RawPoller, queue: &QueueConfig) -> Option<Poller> {
    use crate::scenario::keys::poller as key;
    let batch_size = ctx.uint(loc, &key::BATCH_SIZE, raw.batch_size.as_ref());
    let max_concurrency = ctx.uint(loc, &key::MAX_CONCURRENCY, raw.max_concurrency.as_ref());
    let function_timeout = ctx.duration(loc, &key::FUNCTION_TIMEOUT, raw.function_timeout.as_ref());
    let report = ctx.bool(
        loc,
        &key::REPORT_BATCH_ITEM_FAILURES,
        raw.report_batch_item_failures.as_ref(),
    );
    let (max_concurrency, function_timeout) = (max_concurrency?, function_timeout?);
    let visibility = queue.attributes.visibility_timeout;
    if function_timeout > visibility {
        // Lambda refuses such an event source mapping (AWS Lambda Developer Guide, "Creating
        // and configuring an Amazon SQS event source mapping").
        let span = raw
            .function_timeout
            .as_ref()
            .map_or(loc.span.clone(), Spanned::span);
        let message = format!(
            "function_timeout {} is longer than the queue's visibility_timeout {}",
            fmt_duration(function_timeout),
            fmt_duration(visibility)
        );
        let help = "Lambda rejects an SQS event source whose function timeout exceeds the \
                    queue's visibility timeout; AWS advises a visibility timeout of at least six \
                    times the function timeout";
        ctx.error(span, loc.key("function_timeout"), message, help.to_string());
        return None;
    }
    Some(Poller {
        batch_size: batch_size.unwrap_or(10),
        max_concurrency,
        function_timeout,
        report_batch_item_failures: report.unwrap_or(false),
    })
}

fn versioning(ctx: &mut Ctx, loc: &Loc, raw: &RawVersioning) -> Versioning {
    use crate::scenario::keys::versioning as key;
    Versioning {
        entity_field: ctx
            .text(loc, &key::ENTITY, raw.entity.as_ref())
            .unwrap_or_default(),
        version_field: ctx
            .text(loc, &key::VERSION, raw.version.as_ref())
            .unwrap_or_default(),
        check: ctx
            .bool(loc, &key::CHECK, raw.check.as_ref())
            .unwrap_or(true),
    }
}

fn heartbeat(ctx: &mut Ctx, loc: &Loc, raw: &RawHeartbeat) -> Option<Heartbeat> {
    use crate::scenario::keys::heartbeat as key;
    let interval = ctx.duration(loc, &key::INTERVAL, raw.interval.as_ref());
    let extend = ctx.duration(loc, &key::EXTEND, raw.extend.as_ref());
    let (interval, extend) = (interval?, extend?);
    if interval >= extend {
        let span = raw
            .interval
            .as_ref()
            .map_or(loc.span.clone(), Spanned::span);
        let message = format!(
            "interval {} is not shorter than extend {}",
            fmt_duration(interval),
            fmt_duration(extend)
        );
        let help = "each heartbeat must come before the visibility it set runs out: \
                    interval < extend, e.g. { interval = \"1s\", extend = \"3s\" }";
        ctx.error(span, loc.key("interval"), message, help.to_string());
        return None;
    }
    Some(Heartbeat { interval, extend })
}

/// A crash policy key of a `chaos` table (a consumer's or a producer's).
pub(super) fn crash_policy(
    ctx: &mut Ctx,
    loc: &Loc,
    key: &crate::scenario::keys::Key,
    raw: Option<&Spanned<toml::Value>>,
) -> Option<CrashPolicy> {
    let raw = raw?;
    parse_crash_policy(raw.get_ref())
        .map_err(|message| ctx.error(raw.span(), loc.key(key.name), message, key.help()))
        .ok()
}

fn chaos(ctx: &mut Ctx, loc: &Loc, raw: &RawChaos) -> Chaos {
    let after_receive = crash_policy(
        ctx,
        loc,
        &ckey::CRASH_AFTER_RECEIVE,
        raw.crash_after_receive.as_ref(),
    );
    let after_side_effect = crash_policy(
        ctx,
        loc,
        &ckey::CRASH_AFTER_SIDE_EFFECT,
        raw.crash_after_side_effect.as_ref(),
    );
    Chaos {
        crash_after_receive: after_receive.unwrap_or(CrashPolicy::Never),
        crash_after_side_effect: after_side_effect.unwrap_or(CrashPolicy::Never),
        crash_rate: ctx
            .float(loc, &ckey::CRASH_RATE, raw.crash_rate.as_ref())
            .unwrap_or(0.0),
        slow_rate: ctx
            .float(loc, &ckey::SLOW_RATE, raw.slow_rate.as_ref())
            .unwrap_or(0.0),
        slow_delay: ctx
            .duration(loc, &ckey::SLOW_DELAY, raw.slow_delay.as_ref())
            .unwrap_or_default(),
        restart_after: ctx.duration(loc, &ckey::RESTART_AFTER, raw.restart_after.as_ref()),
    }
}
