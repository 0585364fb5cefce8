//! The catalogue of every key of the file format: its name, shape (type and allowed range),
//! presence (required / default) and meaning.
//!
//! "Key" here is always a key of the scenario file (`visibility_timeout`); the keys of table items
//! are the backends' `item_keys`, and idempotency keys are the engine's.
//!
//! Invariant: this is the one source of ranges, defaults and key documentation. Resolution reads
//! ranges and defaults from here, help lines are written from here, and the JSON Schema is
//! generated from here, so the three cannot disagree. A test checks that every table's key list
//! matches the serde field names of its raw type.

mod tables;

pub(crate) use tables::{
    PAYLOAD_KINDS, TOP, at, autoscaler, behavior, chaos, consumer, deploy, fault, heartbeat,
    literal, payload, poison, poller, producer, producer_chaos, queue, redrive, retries, scenario,
    sim, start, versioning, window,
};

use std::time::Duration;

use super::LiveMetric;

/// One key of one table.
#[derive(Clone, Copy, Debug)]
pub(super) struct Key {
    pub name: &'static str,
    pub shape: Shape,
    pub presence: Presence,
    /// What the key means, one sentence, for the schema and editors.
    pub doc: &'static str,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Presence {
    Optional,
    Required,
    /// Default value, written as it would be in the file (without quotes for strings).
    Default(&'static str),
    /// Default computed from other keys, described in words.
    Derived(&'static str),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Shape {
    /// `[a-z0-9][a-z0-9-]*`, at most [`NAME_MAX`] characters.
    Name,
    /// Any string.
    Text,
    /// `[a-z0-9-]+`.
    Tag,
    Bool,
    Int {
        min: i64,
        max: Option<i64>,
    },
    Float {
        min: f64,
        max: f64,
    },
    Duration {
        min: Duration,
        max: Option<Duration>,
        /// Zero is not allowed even though `min` is zero.
        positive: bool,
        /// Whole seconds only: SQS takes these as integer seconds (VisibilityTimeout,
        /// WaitTimeSeconds, DelaySeconds, MessageRetentionPeriod), and a 1ns long-poll wait
        /// would make an idle consumer poll a billion times a second of virtual time.
        seconds: bool,
    },
    Choice(&'static [&'static str]),
    /// `"unlimited"`, `"N/s"`, `"N/m"`.
    Rate,
    /// `"never"`, `"once"`, `"always"` or a probability.
    CrashPolicy,
    /// `"METRIC OP NUMBER"` over live metrics.
    Condition,
    /// `"all"`, a consumer group or `"GROUP-N"`.
    Target,
    List(&'static Shape),
    /// A table whose keys are the concatenation of these groups.
    Table(&'static [&'static [Key]]),
    /// An array of such tables.
    TableList(&'static [&'static [Key]]),
    /// Literal message fields: a table of string or integer values.
    Fields,
    /// `[expect]`: metric names from [`crate::scenario::Metric::ALL`].
    Expect,
}

pub(super) const NAME_MAX: usize = 40;

pub(super) const fn int(min: i64, max: i64) -> Shape {
    Shape::Int {
        min,
        max: Some(max),
    }
}

pub(super) const fn int_from(min: i64) -> Shape {
    Shape::Int { min, max: None }
}

pub(super) const PROBABILITY: Shape = Shape::Float { min: 0.0, max: 1.0 };

/// Whole seconds from `min` to `max` inclusive.
pub(super) const fn secs(min: Duration, max: Duration) -> Shape {
    Shape::Duration {
        min,
        max: Some(max),
        positive: false,
        seconds: true,
    }
}

/// The longest virtual time a scenario may mention (a start, a timeout, a schedule offset, a
/// processing time...): 30 days. Far beyond any failure mode worth simulating, and small enough
/// that sums of such times never approach what the engine's clock can represent.
pub(super) const MAX_VIRTUAL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The most messages one producer may be asked for by a single key (`count`, `orders`,
/// `versions`, `entities` x `versions`...). The whole scenario is further held to
/// [`DEFAULT_MAX_MESSAGES`] (or `--max-messages`) by its message estimate.
pub(super) const MAX_COUNT: i64 = 1_000_000_000;

/// The most instances one key may start (`count` of a group, `start.count`, autoscaler `max`).
pub(super) const MAX_INSTANCES: i64 = 1_000;

/// The most consumer instances a scenario may run at once, over every group, start action and
/// autoscaler: each instance is a task with its own state.
pub(super) const MAX_CONSUMERS: u64 = 10_000;

/// Messages a scenario may send by its estimate unless `--max-messages` says otherwise (the
/// benchmark sends one million).
pub(super) const DEFAULT_MAX_MESSAGES: u64 = 10_000_000;

/// The slowest and fastest producer rates, in messages per second: one a day, and 100,000 a
/// second (SQS standard queues take "nearly unlimited" sends; the simulator has to store them).
pub(super) const MIN_RATE: f64 = 1.0 / 86_400.0;
pub(super) const MAX_RATE: f64 = 100_000.0;

/// Any duration up to [`MAX_VIRTUAL`], zero included.
pub(super) const ANY_DURATION: Shape = Shape::Duration {
    min: Duration::ZERO,
    max: Some(MAX_VIRTUAL),
    positive: false,
    seconds: false,
};

/// Any duration up to [`MAX_VIRTUAL`] but zero.
pub(super) const POSITIVE_DURATION: Shape = Shape::Duration {
    min: Duration::ZERO,
    max: Some(MAX_VIRTUAL),
    positive: true,
    seconds: false,
};

/// A duration from `min_ms` milliseconds to [`MAX_VIRTUAL`]: for periods the engine ticks at
/// (polls, intervals), where a nanosecond would be a livelock.
pub(super) const fn at_least_ms(min_ms: u64) -> Shape {
    Shape::Duration {
        min: Duration::from_millis(min_ms),
        max: Some(MAX_VIRTUAL),
        positive: false,
        seconds: false,
    }
}

/// A count key: `min` to [`MAX_COUNT`].
pub(super) const fn count_from(min: i64) -> Shape {
    int(min, MAX_COUNT)
}

/// An instance count: `min` to [`MAX_INSTANCES`].
pub(super) const fn instances_from(min: i64) -> Shape {
    int(min, MAX_INSTANCES)
}

/// A duration from just above zero to `max`.
pub(super) const fn positive_up_to(max: Duration) -> Shape {
    Shape::Duration {
        min: Duration::ZERO,
        max: Some(max),
        positive: true,
        seconds: false,
    }
}

impl Shape {
    /// What values this shape takes, as a phrase that completes "KEY takes ...".
    pub(super) fn allowed(&self) -> String {
        match self {
            Shape::Name => format!(
                "a name: lowercase letters, digits and '-', starting with a letter or digit, at \
                 most {NAME_MAX} characters"
            ),
            Shape::Text => "a string".into(),
            Shape::Tag => "a tag: lowercase letters, digits and '-'".into(),
            Shape::Bool => "true or false".into(),
            Shape::Int {
                min,
                max: Some(max),
            } => format!("an integer from {min} to {max}"),
            Shape::Int { min, max: None } => format!("an integer >= {min}"),
            Shape::Float { min, max } => format!("a number from {min:.1} to {max:.1}"),
            Shape::Duration {
                min,
                max,
                positive,
                seconds,
            } => {
                let low = if *positive {
                    "> 0s".to_string()
                } else {
                    format!(">= {}", fmt_duration(*min))
                };
                let range = match max {
                    Some(max) if !*positive && min.is_zero() => {
                        format!("from 0s to {}", fmt_duration(*max))
                    }
                    Some(max) if !*positive => {
                        format!("from {} to {}", fmt_duration(*min), fmt_duration(*max))
                    }
                    Some(max) => format!("{low} and <= {}", fmt_duration(*max)),
                    None => low,
                };
                if *seconds {
                    format!("whole seconds {range}, written like \"30s\", \"5m\", \"4d\"")
                } else {
                    format!("a duration {range}, written like \"250ms\", \"30s\", \"5m\", \"4d\"")
                }
            }
            Shape::Choice(values) => format!("one of {}", quoted_list(values)),
            Shape::Rate => format!(
                "\"unlimited\", or \"N/s\", \"N/m\", \"N/h\", \"N/d\" (e.g. \"5/s\", \"0.5/s\", \
                 \"30/m\") from 1/d to {MAX_RATE}/s"
            ),
            Shape::CrashPolicy => {
                "\"never\", \"once\", \"always\", or a probability from 0.0 to 1.0".into()
            }
            Shape::Condition => format!(
                "\"METRIC OP NUMBER\" (e.g. \"dlq >= 2\"), OP one of {}, METRIC one of {}",
                OPERATORS.join(" "),
                LiveMetric::ALL
                    .iter()
                    .map(|(_, name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Shape::Target => "\"all\", a consumer group name, or \"GROUP-N\" for the group's \
                              N-th instance (1-based)"
                .into(),
            Shape::List(inner) => format!("an array of {}", inner.allowed()),
            Shape::Table(_) => "a table".into(),
            Shape::TableList(_) => "an array of tables".into(),
            Shape::Fields => "a table of string or integer values".into(),
            Shape::Expect => "metric = value entries".into(),
        }
    }
}

impl Key {
    /// The help line for a wrong value: "KEY takes ...".
    pub(super) fn help(&self) -> String {
        format!("{} takes {}", self.name, self.shape.allowed())
    }

    /// The keys of a table-shaped key, in order.
    pub(super) fn sub_keys(&self) -> impl Iterator<Item = &'static Key> {
        let groups: &'static [&'static [Key]] = match self.shape {
            Shape::Table(groups) | Shape::TableList(groups) => groups,
            _ => &[],
        };
        groups.iter().flat_map(|group| group.iter())
    }
}

/// The statuses of the status table, the only keys of `[expect] status = { ... }`.
pub(super) const STATUSES: &[&str] = &["STARTED", "COMPLETED"];

/// The words a crash policy takes besides a probability.
pub(super) const CRASH_WORDS: &[&str] = &["never", "once", "always"];

/// The comparison operators of conditions and expectations, longest first so `<=` is tried
/// before `<`.
pub(super) const OPERATORS: &[&str] = &["==", "!=", "<=", ">=", "<", ">"];

/// `"a", "b", "c"`.
pub(super) fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A duration as a person writes it in the file, largest units first: `7d`, `1h 30m`, `250ms`,
/// `0s` (humantime would print seven days as `7days`, and its parts can be long).
pub(super) fn fmt_duration(d: Duration) -> String {
    const UNITS: &[(&str, u128)] = &[
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];
    let mut left = d.as_nanos();
    if left == 0 {
        return "0s".into();
    }
    let mut parts = Vec::new();
    for (unit, nanos) in UNITS {
        if left >= *nanos {
            parts.push(format!("{}{unit}", left / nanos));
            left %= nanos;
        }
    }
    parts.join(" ")
}

/// A value echoed in a message, cut to a readable length (a 2 MB string must not be printed
/// back whole).
pub(super) fn echo(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}… ({} characters)", text.chars().count())
}

/// The keys of one table, looked up by a path of key names from the top of the file (array
/// indices already stripped). Used to give toml's own errors the same help lines.
pub(super) fn lookup(path: &[&str]) -> Option<&'static Key> {
    let (first, rest) = path.split_first()?;
    let mut key = TOP.iter().find(|k| k.name == *first)?;
    for name in rest {
        key = key.sub_keys().find(|k| k.name == *name)?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::tables::PAYLOAD_KIND_NAMES;
    use super::*;

    fn all_keys() -> Vec<(String, &'static Key)> {
        fn walk(
            path: &str,
            keys: &mut dyn Iterator<Item = &'static Key>,
            out: &mut Vec<(String, &'static Key)>,
        ) {
            for key in keys {
                let here = format!("{path}.{}", key.name);
                walk(&here, &mut key.sub_keys(), out);
                out.push((here, key));
            }
        }
        let mut out = Vec::new();
        walk("", &mut TOP.iter(), &mut out);
        out
    }

    /// Resolution parses catalogue defaults at run time: each must parse and be in range.
    #[test]
    fn every_default_is_a_valid_value() {
        let mut defaults = 0;
        for (path, key) in all_keys() {
            let Presence::Default(text) = key.presence else {
                continue;
            };
            defaults += 1;
            let valid = match key.shape {
                Shape::Duration {
                    min, max, positive, ..
                } => humantime::parse_duration(text).is_ok_and(|d| {
                    d >= min && max.is_none_or(|m| d <= m) && !(positive && d.is_zero())
                }),
                Shape::Int { min, max } => text
                    .parse::<i64>()
                    .is_ok_and(|n| n >= min && max.is_none_or(|m| n <= m)),
                Shape::Float { min, max } => {
                    text.parse::<f64>().is_ok_and(|n| (min..=max).contains(&n))
                }
                Shape::Bool => text.parse::<bool>().is_ok(),
                Shape::Choice(values) => values.contains(&text),
                Shape::CrashPolicy => CRASH_WORDS.contains(&text),
                Shape::Rate => text == "unlimited",
                Shape::Text => !text.is_empty(),
                Shape::List(_) => text == "[]",
                Shape::Fields => text == "{}",
                _ => false,
            };
            assert!(
                valid,
                "{path}: default {text:?} does not fit {:?}",
                key.shape
            );
        }
        assert!(defaults > 30, "only {defaults} defaults checked");
    }

    #[test]
    fn payload_kinds_take_only_payload_keys() {
        let payload: Vec<&str> = payload::KEYS.iter().map(|k| k.name).collect();
        let kinds: Vec<&str> = PAYLOAD_KINDS.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, PAYLOAD_KIND_NAMES);
        for (kind, takes) in PAYLOAD_KINDS {
            for key in *takes {
                assert!(payload.contains(key), "{kind} takes unknown key {key}");
            }
        }
    }

    #[test]
    fn lookup_follows_nested_tables() {
        let key = lookup(&["consumers", "chaos", "crash_rate"]).map(|k| k.name);
        assert_eq!(key, Some("crash_rate"));
        assert!(lookup(&["consumers", "nope"]).is_none());
    }
}
