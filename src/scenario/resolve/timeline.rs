//! `[[at]]` entries (a trigger and exactly one action) and the `[autoscaler]`: every group and
//! producer they name must exist, and DLQ actions need a DLQ.

use std::collections::BTreeMap;

use toml::Spanned;

use super::consumer::{self, Layer};
use super::ctx::{Ctx, Loc, OneOf};
use super::values::{parse_condition, parse_target};
use crate::scenario::keys::{Key, at as key, autoscaler as akey, echo};
use crate::scenario::raw::{RawAt, RawAutoscaler, RawConsumer};
use crate::scenario::{
    Action, Autoscaler, GroupIx, LiveMetric, ProducerIx, QueueConfig, TimelineEntry, Trigger,
};
use crate::sqs::QueueRole;

/// What the timeline and autoscaler may refer to.
pub(super) struct Names<'a> {
    pub groups: Vec<&'a str>,
    /// Per group: whether its instances are child processes (`process` or `command`).
    pub child_processes: Vec<bool>,
    /// Whether a group runs a team's own consumer (`command`), whose calls qsim does not see.
    pub runs_commands: bool,
    pub producers: Vec<&'a str>,
}

impl Names<'_> {
    /// A required key naming an existing consumer group.
    pub(super) fn group(
        &self,
        ctx: &mut Ctx,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<String>>,
    ) -> Option<GroupIx> {
        ctx.name(loc, key, raw)?;
        known(ctx, &self.groups, "consumer group", loc.key(key.name), raw?).map(GroupIx)
    }

    /// A value naming an existing producer.
    pub(super) fn producer(
        &self,
        ctx: &mut Ctx,
        path: String,
        raw: &Spanned<String>,
    ) -> Option<ProducerIx> {
        known(ctx, &self.producers, "producer", path, raw).map(ProducerIx)
    }
}

/// `value` names one of `known` (a `what`): its position, or an error says which ones exist.
fn known(
    ctx: &mut Ctx,
    known: &[&str],
    what: &str,
    path: String,
    value: &Spanned<String>,
) -> Option<usize> {
    let name = value.get_ref();
    if let Some(position) = known.iter().position(|k| k == name) {
        return Some(position);
    }
    let suggestion = crate::scenario::locate::closest(name, known)
        .map(|s| format!(", did you mean \"{s}\"?"))
        .unwrap_or_default();
    let help = match known {
        [] => format!("the file defines no {what}"),
        _ => format!("{what}s in this file: {}", known.join(", ")),
    };
    ctx.error(
        value.span(),
        path,
        format!("no {what} \"{}\"{suggestion}", echo(name)),
        help,
    );
    None
}

pub(super) fn resolve<'a>(
    ctx: &mut Ctx,
    raws: &'a [Spanned<RawAt>],
    raw_consumers: &'a [Spanned<RawConsumer>],
    names: &Names,
    queue: &QueueConfig,
) -> Vec<TimelineEntry> {
    // Each group's behaviour layers so far: its own keys, then its deploys in file order.
    let mut history: BTreeMap<&'a str, Vec<Layer<'a>>> = BTreeMap::new();
    for (i, raw) in raw_consumers.iter().enumerate() {
        if let Some(name) = raw.get_ref().name.as_ref() {
            history
                .entry(name.get_ref().as_str())
                .or_insert_with(|| vec![consumer::layer_of(i, raw)]);
        }
    }
    let list = Loc {
        path: "at".into(),
        span: 0..0,
    };
    let mut entries = Vec::new();
    for (i, raw) in raws.iter().enumerate() {
        let loc = list.item(i, raw);
        let trigger = trigger(ctx, &loc, raw.get_ref(), queue);
        let action = action(ctx, &loc, raw.get_ref(), names, queue, &mut history);
        if let (Some(trigger), Some(action)) = (trigger, action) {
            entries.push(TimelineEntry { trigger, action });
        }
    }
    entries
}

fn trigger(ctx: &mut Ctx, loc: &Loc, raw: &RawAt, queue: &QueueConfig) -> Option<Trigger> {
    let help = "set exactly one of time = \"10s\" or when = \"dlq >= 2\"".to_string();
    match (raw.time.as_ref(), raw.when.as_ref()) {
        (None, None) => {
            let message = "the entry does not say when to act";
            ctx.error(loc.span.clone(), loc.path.clone(), message, help);
            None
        }
        (Some(time), when) => {
            if let Some(when) = when {
                let message = "`when` conflicts with `time`";
                ctx.error(when.span(), loc.key("when"), message, help);
            }
            if let Some(poll) = raw.poll.as_ref() {
                let help = "remove `poll`: a timed entry runs exactly at `time`".to_string();
                let message = "`poll` applies only with `when`";
                ctx.error(poll.span(), loc.key("poll"), message, help);
            }
            ctx.duration(loc, &key::TIME, Some(time)).map(Trigger::At)
        }
        (None, Some(when)) => {
            let poll = ctx.duration(loc, &key::POLL, raw.poll.as_ref());
            let condition = match parse_condition(when.get_ref()) {
                Ok(condition) => condition,
                Err(message) => {
                    ctx.error(when.span(), loc.key("when"), message, key::WHEN.help());
                    return None;
                }
            };
            if condition.metric == LiveMetric::Dlq && queue.max_receive_count.is_none() {
                needs_dlq(ctx, when.span(), loc.key("when"), "a `dlq` condition");
            }
            Some(Trigger::When {
                condition,
                poll: poll?,
            })
        }
    }
}

pub(super) fn needs_dlq(ctx: &mut Ctx, span: std::ops::Range<usize>, path: String, what: &str) {
    let message = format!("{what} needs a DLQ, and the queue has none");
    let help = "set max_receive_count in [queue] to give the queue a DLQ".to_string();
    ctx.error(span, path, message, help);
}

const ACTIONS: &str = "terminate, kill, start, stop, purge, deploy, redrive, stop_all";

fn action<'a>(
    ctx: &mut Ctx,
    loc: &Loc,
    raw: &'a RawAt,
    names: &Names,
    queue: &QueueConfig,
    history: &mut BTreeMap<&'a str, Vec<Layer<'a>>>,
) -> Option<Action> {
    let given = [
        ("terminate", raw.terminate.as_ref().map(Spanned::span)),
        ("kill", raw.kill.as_ref().map(Spanned::span)),
        ("start", raw.start.as_ref().map(Spanned::span)),
        ("stop", raw.stop.as_ref().map(Spanned::span)),
        ("purge", raw.purge.as_ref().map(Spanned::span)),
        ("deploy", raw.deploy.as_ref().map(Spanned::span)),
        ("redrive", raw.redrive.as_ref().map(Spanned::span)),
        ("stop_all", raw.stop_all.as_ref().map(Spanned::span)),
    ];
    let missing_help = format!("set exactly one action key: {ACTIONS}");
    let rules = OneOf {
        missing: "the entry has no action",
        missing_help: &missing_help,
        conflict_note: ": one action per [[at]]",
        conflict_help: "split the actions into separate [[at]] entries",
    };
    let first = ctx.exactly_one(loc, given, &rules)?;
    let target = |ctx: &mut Ctx, name: &str, value: &Spanned<String>| {
        parse_target(value.get_ref(), &names.groups)
            .map_err(|message| {
                let help = format!(
                    "{}; groups: {}",
                    key::TERMINATE.help(),
                    names.groups.join(", ")
                );
                ctx.error(value.span(), loc.key(name), message, help)
            })
            .ok()
    };
    match first {
        "terminate" => raw
            .terminate
            .as_ref()
            .and_then(|t| target(ctx, "terminate", t))
            .map(Action::Terminate),
        "kill" => raw
            .kill
            .as_ref()
            .and_then(|t| target(ctx, "kill", t))
            .map(Action::Kill),
        "start" => {
            use crate::scenario::keys::start as key;
            let start = raw.start.as_ref()?;
            let sloc = loc.table("start", start);
            let group = names.group(ctx, &sloc, &key::GROUP, start.get_ref().group.as_ref());
            let count = ctx.uint(&sloc, &key::COUNT, start.get_ref().count.as_ref());
            Some(Action::Start {
                group: group?,
                count: count?,
            })
        }
        "stop" => {
            let stop = raw.stop.as_ref()?;
            names
                .producer(ctx, loc.key("stop"), stop)
                .map(Action::StopProducer)
        }
        "purge" => match ctx.choice(loc, &key::PURGE, raw.purge.as_ref())? {
            "dlq" => {
                if queue.max_receive_count.is_none() {
                    let span = raw.purge.as_ref().map_or(loc.span.clone(), Spanned::span);
                    needs_dlq(ctx, span, loc.key("purge"), "purge = \"dlq\"");
                }
                Some(Action::Purge(QueueRole::DeadLetter))
            }
            _ => Some(Action::Purge(QueueRole::Main)),
        },
        "deploy" => {
            use crate::scenario::keys::deploy as key;
            let deploy = raw.deploy.as_ref()?;
            let dloc = loc.table("deploy", deploy);
            let group = names.group(ctx, &dloc, &key::GROUP, deploy.get_ref().group.as_ref())?;
            if names.child_processes[group.0] {
                let help = "a deploy changes the behaviour of instances running inside qsim; \
                            this group's instances are child processes: deploy to an in-process \
                            group, or start a second group later with `start`";
                let message = format!(
                    "group `{}` runs as child processes (`process` or `command`): it cannot be deployed to",
                    names.groups[group.0]
                );
                ctx.error(deploy.span(), dloc.key("group"), message, help.to_string());
                return None;
            }
            let layers = history.get_mut(names.groups[group.0])?;
            layers.push(Layer {
                loc: dloc,
                raw: deploy.get_ref().behavior(),
            });
            let behavior = consumer::behavior(ctx, layers, queue);
            Some(Action::Deploy {
                group,
                behavior: Box::new(behavior),
            })
        }
        "redrive" => {
            use crate::scenario::keys::redrive as key;
            let redrive = raw.redrive.as_ref()?;
            if queue.max_receive_count.is_none() {
                needs_dlq(ctx, redrive.span(), loc.key("redrive"), "redrive");
            }
            let rloc = loc.table("redrive", redrive);
            let max_per_second = redrive.get_ref().max_per_second.as_ref();
            Some(Action::Redrive {
                max_per_second: ctx.uint(&rloc, &key::MAX_PER_SECOND, max_per_second),
            })
        }
        _ => {
            let stop_all = raw.stop_all.as_ref()?;
            if !stop_all.get_ref() {
                let help = "write stop_all = true, or remove the key".to_string();
                ctx.error(
                    stop_all.span(),
                    loc.key("stop_all"),
                    "stop_all = false does nothing",
                    help,
                );
                return None;
            }
            Some(Action::StopAll)
        }
    }
}

pub(super) fn autoscaler(
    ctx: &mut Ctx,
    raw: &Spanned<RawAutoscaler>,
    names: &Names,
) -> Option<Autoscaler> {
    let loc = Loc::default().table("autoscaler", raw);
    let raw = raw.get_ref();
    let group = names.group(ctx, &loc, &akey::GROUP, raw.group.as_ref());
    let interval = ctx.duration(&loc, &akey::INTERVAL, raw.interval.as_ref());
    let scale_out_depth = ctx.count(&loc, &akey::SCALE_OUT_DEPTH, raw.scale_out_depth.as_ref());
    let scale_in_depth = ctx.count(&loc, &akey::SCALE_IN_DEPTH, raw.scale_in_depth.as_ref());
    let min = ctx.uint(&loc, &akey::MIN, raw.min.as_ref());
    let max = ctx.uint(&loc, &akey::MAX, raw.max.as_ref());
    if let (Some(min), Some(max), Some(raw_max)) = (min, max, raw.max.as_ref()) {
        if max < min {
            let help = format!("max takes an integer >= min ({min})");
            ctx.error(
                raw_max.span(),
                loc.key("max"),
                format!("max {max} is below min {min}"),
                help,
            );
        }
    }
    if let (Some(out), Some(inn), Some(raw_in)) =
        (scale_out_depth, scale_in_depth, raw.scale_in_depth.as_ref())
    {
        if inn >= out {
            let message = format!("scale_in_depth {inn} is not below scale_out_depth {out}");
            let help =
                "scale in only at a lower depth than scaling out, or the group flaps".to_string();
            ctx.error(raw_in.span(), loc.key("scale_in_depth"), message, help);
        }
    }
    Some(Autoscaler {
        group: group?,
        interval: interval?,
        scale_out_depth: scale_out_depth?,
        scale_in_depth,
        min: min?,
        max: max?,
    })
}
