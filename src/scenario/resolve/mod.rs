//! Raw file → [`Scenario`]: applies defaults, checks ranges, queue-kind rules, exactly-one rules
//! and references, and collects every problem as a [`Diagnostic`] with its span, key path and a
//! help line.
//!
//! Order matters only for context: the queue first (its kind and timeouts shape producer and
//! consumer defaults), then producers and consumers (their names are what the timeline,
//! autoscaler and expectations may refer to).

mod consumer;
mod ctx;
mod estimate;
mod expect;
mod faults;
mod payload;
mod producer;
mod timeline;
mod values;

pub(crate) use values::parse_comparison;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_invalid;

use std::path::Path;

use toml::Spanned;

use super::error::Diagnostic;
use super::keys::{echo, queue as qkey, scenario as skey, sim as simkey};
use super::raw::{RawHeader, RawQueue, RawScenario, RawSim};
use super::{QueueConfig, Scenario};
use crate::sqs::envelope::{Latitude, Overrides, Profile, SimSettings};
use crate::sqs::{DeduplicationScope, FifoThroughputLimit, QueueAttributes};
use ctx::{Ctx, Loc};
use timeline::Names;

pub use estimate::Limits;

pub(super) fn resolve(
    raw: &RawScenario,
    path: &Path,
    limits: &Limits,
) -> Result<Scenario, Vec<Diagnostic>> {
    let mut ctx = Ctx::default();
    let header = header(&mut ctx, raw.scenario.as_ref());
    let mut queue = queue(&mut ctx, raw.queue.as_ref());
    queue.sim.assumes = assumptions(&mut ctx, raw.scenario.as_ref());
    let producers = producer::resolve_all(&mut ctx, &raw.producers, &queue);
    let consumers = consumer::resolve_all(&mut ctx, &raw.consumers, &queue);
    let names = Names {
        groups: consumers.iter().map(|c| c.name.as_str()).collect(),
        child_processes: consumers
            .iter()
            .map(|c| c.execution.is_child_process())
            .collect(),
        runs_commands: consumers
            .iter()
            .any(|c| matches!(c.execution, crate::scenario::Execution::Command { .. })),
        producers: producers.iter().map(|p| p.name.as_str()).collect(),
    };
    let timeline = timeline::resolve(&mut ctx, &raw.at, &raw.consumers, &names, &queue);
    let autoscaler = raw
        .autoscaler
        .as_ref()
        .and_then(|a| timeline::autoscaler(&mut ctx, a, &names));
    let faults = faults::resolve_all(&mut ctx, &raw.faults);
    let expect = expect::resolve(&mut ctx, raw.expect.as_ref(), &names, &queue);
    let scenario = Scenario {
        path: path.to_path_buf(),
        name: header.name,
        description: header.description,
        tags: header.tags,
        seed: header.seed,
        timeout: header.timeout,
        queue,
        producers,
        consumers,
        timeline,
        autoscaler,
        faults,
        expect,
    };
    // Estimated only once the scenario is otherwise valid: placeholders are not estimates.
    if ctx.is_clean() {
        estimate::check(&mut ctx, &scenario, &raw.producers, &raw.consumers, limits);
    }
    ctx.finish(scenario)
}

#[derive(Default)]
struct Header {
    name: String,
    description: String,
    tags: Vec<String>,
    seed: u64,
    timeout: std::time::Duration,
}

fn header(ctx: &mut Ctx, raw: Option<&Spanned<RawHeader>>) -> Header {
    let Some(raw) = raw else {
        let help = "start the file with [scenario], name = \"...\" and description = \"...\"";
        ctx.error(
            0..0,
            "scenario".into(),
            "missing the [scenario] table",
            help.to_string(),
        );
        return Header::default();
    };
    let loc = Loc::default().table("scenario", raw);
    let raw = raw.get_ref();
    let tags = raw.tags.iter().flatten().enumerate();
    let tags = tags.filter_map(|(i, tag)| {
        let valid = !tag.get_ref().is_empty()
            && tag
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            let path = format!("{}[{i}]", loc.key("tags"));
            let help = format!("tags are {}", super::keys::Shape::Tag.allowed());
            ctx.error(
                tag.span(),
                path,
                format!("\"{}\" is not a valid tag", echo(tag.get_ref())),
                help,
            );
        }
        valid.then(|| tag.get_ref().clone())
    });
    Header {
        tags: tags.collect(),
        name: ctx
            .name(&loc, &skey::NAME, raw.name.as_ref())
            .unwrap_or_default(),
        description: ctx
            .text(&loc, &skey::DESCRIPTION, raw.description.as_ref())
            .unwrap_or_default(),
        seed: ctx.count(&loc, &skey::SEED, raw.seed.as_ref()).unwrap_or(1),
        timeout: ctx
            .duration(&loc, &skey::TIMEOUT, raw.timeout.as_ref())
            .unwrap_or_default(),
    }
}

fn queue(ctx: &mut Ctx, raw: Option<&Spanned<RawQueue>>) -> QueueConfig {
    let loc = Loc::default().maybe("queue", raw);
    let empty = RawQueue::default();
    let raw = raw.map_or(&empty, Spanned::get_ref);
    let fifo = ctx.choice(&loc, &qkey::KIND, raw.kind.as_ref()) == Some("fifo");
    fifo_only(
        ctx,
        &loc,
        "content_based_dedup",
        raw.content_based_dedup.as_ref(),
        fifo,
    );
    let (deduplication_scope, fifo_throughput_limit) = fifo_modes(ctx, &loc, raw, fifo);
    let mut duration = |key, value: &Option<Spanned<String>>| {
        ctx.duration(&loc, key, value.as_ref()).unwrap_or_default()
    };
    let visibility_timeout = duration(&qkey::VISIBILITY_TIMEOUT, &raw.visibility_timeout);
    let receive_wait = duration(&qkey::RECEIVE_WAIT, &raw.receive_wait);
    let delay = duration(&qkey::DELAY, &raw.delay);
    let retention = duration(&qkey::RETENTION, &raw.retention);
    let content_based_dedup = fifo
        && ctx
            .bool(
                &loc,
                &qkey::CONTENT_BASED_DEDUP,
                raw.content_based_dedup.as_ref(),
            )
            .unwrap_or(false);
    let max_receive_count = ctx.uint(
        &loc,
        &qkey::MAX_RECEIVE_COUNT,
        raw.max_receive_count.as_ref(),
    );
    let sim_loc = loc.maybe("sim", raw.sim.as_ref());
    let empty = RawSim::default();
    let sim = raw.sim.as_ref().map_or(&empty, Spanned::get_ref);
    standard_only(
        ctx,
        &sim_loc,
        "duplicate_rate",
        sim.duplicate_rate.as_ref(),
        fifo,
    );
    standard_only(
        ctx,
        &sim_loc,
        "reorder_rate",
        sim.reorder_rate.as_ref(),
        fifo,
    );
    standard_only(
        ctx,
        &sim_loc,
        "stale_receipt_rate",
        sim.stale_receipt_rate.as_ref(),
        fifo,
    );
    let profile = ctx
        .choice(&sim_loc, &simkey::PROFILE, sim.profile.as_ref())
        .and_then(Profile::from_name)
        .unwrap_or_default();
    let mut rate = |key, value: &Option<Spanned<f64>>| ctx.float(&sim_loc, key, value.as_ref());
    let duplicate_rate = rate(&simkey::DUPLICATE_RATE, &sim.duplicate_rate);
    let reorder_rate = rate(&simkey::REORDER_RATE, &sim.reorder_rate);
    let purge_reach_rate = rate(&simkey::PURGE_REACH_RATE, &sim.purge_reach_rate);
    let partial_receive_rate = rate(&simkey::PARTIAL_RECEIVE_RATE, &sim.partial_receive_rate);
    let stale_receipt_rate = rate(&simkey::STALE_RECEIPT_RATE, &sim.stale_receipt_rate);
    let overrides = Overrides {
        duplicate_rate,
        reorder_rate,
        purge_reach_rate,
        partial_receive_rate,
        stale_receipt_rate,
        reorder_window: ctx.uint(
            &sim_loc,
            &simkey::REORDER_WINDOW,
            sim.reorder_window.as_ref(),
        ),
        purge_window: ctx.duration(&sim_loc, &simkey::PURGE_WINDOW, sim.purge_window.as_ref()),
        counter_lag: ctx.duration(&sim_loc, &simkey::COUNTER_LAG, sim.counter_lag.as_ref()),
    };
    let knobs = SimSettings {
        profile,
        overrides,
        assumes: Vec::new(),
    };
    QueueConfig {
        attributes: QueueAttributes {
            fifo,
            visibility_timeout,
            receive_wait,
            delay,
            retention,
            content_based_dedup,
            deduplication_scope,
            fifo_throughput_limit,
        },
        max_receive_count,
        sim: knobs,
    }
}

/// `[scenario] assumes`: the latitudes named, in their canonical order, each once.
fn assumptions(ctx: &mut Ctx, raw: Option<&Spanned<RawHeader>>) -> Vec<Latitude> {
    let Some(raw) = raw else { return Vec::new() };
    let loc = Loc::default().table("scenario", raw);
    let mut assumes: Vec<Latitude> = Vec::new();
    for (i, name) in raw.get_ref().assumes.iter().flatten().enumerate() {
        match Latitude::from_assumption(name.get_ref()) {
            Some(latitude) => assumes.push(latitude),
            None => {
                let path = format!("{}[{i}]", loc.key("assumes"));
                let help = format!("assumes lists {}", skey::ASSUMES.shape.allowed());
                let message = format!("unknown assumption \"{}\"", echo(name.get_ref()));
                ctx.error(name.span(), path, message, help);
            }
        }
    }
    assumes.sort_unstable();
    assumes.dedup();
    assumes
}

/// Rejects a FIFO-only key given for a standard queue.
fn fifo_only<T>(ctx: &mut Ctx, loc: &Loc, name: &str, raw: Option<&Spanned<T>>, fifo: bool) {
    if !fifo {
        let message = format!("`{name}` applies only to FIFO queues, and this queue is standard");
        let help = format!("remove `{name}`, or set kind = \"fifo\" in [queue]");
        ctx.not_here(loc, name, raw, &message, &help);
    }
}

/// `deduplication_scope` and `fifo_throughput_limit`: FIFO only, and a per-group quota only with
/// the group scope (SQS's rule, [`FifoThroughputLimit::allowed_with`]). SQS's defaults on a
/// standard queue or after an error, so what follows validates as if they were not given.
fn fifo_modes(
    ctx: &mut Ctx,
    loc: &Loc,
    raw: &RawQueue,
    fifo: bool,
) -> (DeduplicationScope, FifoThroughputLimit) {
    let scope_raw = raw.deduplication_scope.as_ref();
    let limit_raw = raw.fifo_throughput_limit.as_ref();
    fifo_only(ctx, loc, "deduplication_scope", scope_raw, fifo);
    fifo_only(ctx, loc, "fifo_throughput_limit", limit_raw, fifo);
    let scope = ctx
        .choice(loc, &qkey::DEDUPLICATION_SCOPE, scope_raw)
        .and_then(DeduplicationScope::from_name);
    let limit = ctx
        .choice(loc, &qkey::FIFO_THROUGHPUT_LIMIT, limit_raw)
        .and_then(FifoThroughputLimit::from_name);
    let (Some(scope), Some(limit), true) = (scope, limit, fifo) else {
        return Default::default();
    };
    if let Some(given) = limit_raw.filter(|_| !limit.allowed_with(scope)) {
        let message = format!(
            "fifo_throughput_limit = \"{}\" needs deduplication_scope = \"message-group\", and the scope is \"{}\"",
            given.get_ref(),
            scope_raw.map_or("queue", |s| s.get_ref().as_str()),
        );
        let help = "SQS sets a quota per message group only where deduplication is per group: set deduplication_scope = \"message-group\" (high throughput FIFO), or fifo_throughput_limit = \"per-queue\"";
        ctx.error(
            given.span(),
            loc.key("fifo_throughput_limit"),
            message,
            help.to_string(),
        );
        return Default::default();
    }
    (scope, limit)
}

/// Rejects a standard-only key given for a FIFO queue.
fn standard_only<T>(ctx: &mut Ctx, loc: &Loc, name: &str, raw: Option<&Spanned<T>>, fifo: bool) {
    if fifo {
        let message = format!("`{name}` applies only to standard queues, and this queue is FIFO");
        let help = format!("remove `{name}`, or set kind = \"standard\" in [queue]");
        ctx.not_here(loc, name, raw, &message, &help);
    }
}

/// Reports every name that repeats an earlier one of the same kind.
fn unique_names(ctx: &mut Ctx, list: &Loc, names: &[Option<&Spanned<String>>], kind: &str) {
    for (i, name) in names.iter().enumerate() {
        let Some(name) = name else { continue };
        let earlier = names[..i]
            .iter()
            .position(|other| other.is_some_and(|o| o.get_ref() == name.get_ref()));
        if let Some(first) = earlier {
            let path = format!("{}[{i}].name", list.path);
            let message = format!("duplicate {kind} name \"{}\"", echo(name.get_ref()));
            let help = format!(
                "{kind} names are unique; {}[{first}] already uses it",
                list.path
            );
            ctx.error(name.span(), path, message, help);
        }
    }
}
