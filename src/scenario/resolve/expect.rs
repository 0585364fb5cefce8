//! `[expect]` and `[expect.producer.NAME]`: metric names from [`Metric::ALL`], a value shape that
//! fits the metric (true/false, a count or comparison, or `status` counts), and a DLQ for the
//! DLQ metrics.

use std::collections::BTreeMap;

use toml::Spanned;

use super::ctx::{Ctx, Loc};
use super::timeline::{Names, needs_dlq};
use super::values::{kind_of, parse_comparison};
use crate::scenario::keys::{OPERATORS, STATUSES, echo};
use crate::scenario::locate::closest;
use crate::scenario::raw::{RawChecks, RawExpect};
use crate::scenario::{
    CompareOp, Expectation, Expectations, Expected, Metric, MetricKind, MetricScope, Needs,
    ProducerIx, QueueConfig,
};

pub(super) fn resolve(
    ctx: &mut Ctx,
    raw: Option<&Spanned<RawExpect>>,
    names: &Names,
    queue: &QueueConfig,
) -> Expectations {
    let Some(raw) = raw else {
        return Expectations::default();
    };
    let loc = Loc::default().table("expect", raw);
    let checks = all_scopes(ctx, &loc, raw.get_ref(), names, queue);
    let sometimes = match &raw.get_ref().sometimes {
        Some(sometimes) => {
            let sloc = loc.table("sometimes", sometimes);
            if let Some(nested) = &sometimes.get_ref().sometimes {
                let help = "[expect.sometimes] holds checks and [expect.sometimes.producer.NAME]";
                let message = "[expect.sometimes] cannot nest another `sometimes`";
                ctx.error(
                    nested.span(),
                    sloc.key("sometimes"),
                    message,
                    help.to_string(),
                );
            }
            all_scopes(ctx, &sloc, sometimes.get_ref(), names, queue)
        }
        None => Vec::new(),
    };
    Expectations { checks, sometimes }
}

/// The whole-run checks of one `[expect]`-shaped table and those of its producer sub-tables.
fn all_scopes(
    ctx: &mut Ctx,
    loc: &Loc,
    raw: &RawExpect,
    names: &Names,
    queue: &QueueConfig,
) -> Vec<Expectation> {
    let mut checks = scope(ctx, loc, None, &raw.checks, names, queue);
    if let Some(producers) = &raw.producer {
        let ploc = loc.table("producer", producers);
        for (name, table) in producers.get_ref() {
            let path = ploc.key(&echo(name.get_ref()));
            let producer = names.producer(ctx, path.clone(), name);
            let sloc = Loc {
                path,
                span: table.span(),
            };
            checks.extend(scope(
                ctx,
                &sloc,
                producer,
                &table.get_ref().0,
                names,
                queue,
            ));
        }
    }
    checks
}

fn scope(
    ctx: &mut Ctx,
    loc: &Loc,
    producer: Option<ProducerIx>,
    raw: &RawChecks,
    names: &Names,
    queue: &QueueConfig,
) -> Vec<Expectation> {
    let mut entries: Vec<_> = raw.iter().collect();
    entries.sort_by_key(|(name, _)| name.span().start);
    entries
        .into_iter()
        .filter_map(|(name, value)| {
            let metric = metric(ctx, loc, producer.is_some(), name, value)?;
            if metric.def().needs == Needs::Dlq && queue.max_receive_count.is_none() {
                let what = format!("the `{}` metric", metric.name());
                needs_dlq(ctx, name.span(), loc.key(metric.name()), &what);
            }
            if names.runs_commands && !metric.observable_from_endpoint_history() {
                let observable: Vec<&str> = Metric::ALL
                    .iter()
                    .filter(|d| d.metric.observable_from_endpoint_history())
                    .map(|d| d.name)
                    .collect();
                let message = format!(
                    "`{}` is not observable with a `command` consumer: qsim sees its receives and \
                     deletes at most, not what it decided",
                    metric.name()
                );
                let help = format!(
                    "a `command` consumer is judged by its effects on the queues and tables and, \
                     on the simulator, its receives and deletes: {}",
                    observable.join(", ")
                );
                ctx.error(name.span(), loc.key(metric.name()), message, help);
                return None;
            }
            let expected = expected(ctx, &loc.key(metric.name()), metric, value)?;
            Some(Expectation {
                scope: producer,
                metric,
                expected,
            })
        })
        .collect()
}

fn metric(
    ctx: &mut Ctx,
    loc: &Loc,
    scoped: bool,
    name: &Spanned<String>,
    value: &Spanned<toml::Value>,
) -> Option<Metric> {
    if let Some(metric) = Metric::from_name(name.get_ref()) {
        if scoped && metric.scope() != MetricScope::Messages {
            let per_message: Vec<&str> = Metric::ALL
                .iter()
                .filter(|d| d.scope == MetricScope::Messages)
                .map(|d| d.name)
                .collect();
            let message = format!("`{}` is not a per-message metric", echo(name.get_ref()));
            let help = format!(
                "[expect.producer.NAME] takes metrics about messages: {}",
                per_message.join(", ")
            );
            ctx.error(name.span(), loc.key(&echo(name.get_ref())), message, help);
            return None;
        }
        return Some(metric);
    }
    let known: Vec<&str> = Metric::ALL.iter().map(|d| d.name).collect();
    let suggestion = closest(name.get_ref(), &known)
        .map(|s| format!(", did you mean `{s}`?"))
        .unwrap_or_default();
    let help = if value.get_ref().is_table() && !scoped && name.get_ref() != "status" {
        "`producer` is the only sub-table of [expect]: [expect.producer.NAME]".to_string()
    } else {
        format!("known metrics: {}", known.join(", "))
    };
    let message = format!("unknown metric `{}`{suggestion}", echo(name.get_ref()));
    ctx.error(name.span(), loc.key(&echo(name.get_ref())), message, help);
    None
}

fn expected(
    ctx: &mut Ctx,
    path: &str,
    metric: Metric,
    value: &Spanned<toml::Value>,
) -> Option<Expected> {
    let name = metric.name();
    let (message, help) = match (value.get_ref(), metric.kind()) {
        (toml::Value::Table(table), MetricKind::PerKey) => {
            return status(ctx, path, table, value);
        }
        (_, MetricKind::PerKey) => (
            format!(
                "`{name}` takes a table of counts, not {}",
                kind_of(value.get_ref())
            ),
            status_help(),
        ),
        (toml::Value::Boolean(b), MetricKind::Bool) => return Some(Expected::Bool(*b)),
        (other, MetricKind::Bool) => (
            format!("`{name}` is true or false, not {}", kind_of(other)),
            format!("write {name} = true or {name} = false"),
        ),
        (toml::Value::Integer(n), _) => match possible(metric, *n as f64) {
            Ok(value) => return Some(equal(value)),
            Err(message) => (message, number_help(name)),
        },
        (toml::Value::Float(n), _) => match possible(metric, *n) {
            Ok(value) => return Some(equal(value)),
            Err(message) => (message, number_help(name)),
        },
        (toml::Value::String(text), _) => {
            match parse_comparison(text).and_then(|(op, v)| Ok((op, possible(metric, v)?))) {
                Ok((op, value)) => return Some(Expected::Compare { op, value }),
                Err(message) => (message, number_help(name)),
            }
        }
        (toml::Value::Boolean(_), _) => (
            format!("`{name}` is a number, not true or false"),
            number_help(name),
        ),
        (other, _) => (
            format!("`{name}` takes a number, not {}", kind_of(other)),
            number_help(name),
        ),
    };
    ctx.error(value.span(), path.to_string(), message, help);
    None
}

/// A value the metric can take: finite and not negative, and a whole number unless the metric
/// is a time (an expectation that can never hold is a mistake in the file, not a finding).
fn possible(metric: Metric, value: f64) -> Result<f64, String> {
    let name = metric.name();
    if !value.is_finite() {
        return Err(format!("`{name}` takes a finite number, not {value}"));
    }
    if value < 0.0 {
        return Err(format!(
            "`{name}` is never negative, so {value} cannot match"
        ));
    }
    let fractional = metric.kind() == MetricKind::Count && value.fract() != 0.0;
    if fractional {
        return Err(format!(
            "`{name}` is a count, so {value} cannot match (not a whole number)"
        ));
    }
    Ok(value)
}

fn equal(value: f64) -> Expected {
    Expected::Compare {
        op: CompareOp::Eq,
        value,
    }
}

fn number_help(name: &str) -> String {
    format!(
        "write {name} = 5 (equality) or {name} = \">= 5\" (OP NUMBER, OP one of {})",
        OPERATORS.join(" ")
    )
}

fn status_help() -> String {
    format!(
        "write status = {{ COMPLETED = 5 }}: a count per status, statuses {}",
        STATUSES.join(", ")
    )
}

fn status(
    ctx: &mut Ctx,
    path: &str,
    table: &toml::Table,
    value: &Spanned<toml::Value>,
) -> Option<Expected> {
    let mut counts = BTreeMap::new();
    let mut ok = true;
    for (status, count) in table {
        let count = count.as_integer().and_then(|c| u64::try_from(c).ok());
        match (STATUSES.contains(&status.as_str()), count) {
            (true, Some(count)) => {
                counts.insert(status.clone(), count);
            }
            (false, _) => {
                let message = format!("unknown status `{}`", echo(status));
                ctx.error(
                    value.span(),
                    format!("{path}.{}", echo(status)),
                    message,
                    status_help(),
                );
                ok = false;
            }
            (true, None) => {
                let message = format!("the {status} count is not an integer >= 0");
                ctx.error(
                    value.span(),
                    format!("{path}.{}", echo(status)),
                    message,
                    status_help(),
                );
                ok = false;
            }
        }
    }
    ok.then_some(Expected::Counts(counts))
}
