//! The resolution context: collects every diagnostic (resolution never stops at the first) and
//! checks single values against their key in the catalogue (type-level range, default, required).
//!
//! Invariant: a check that fails records exactly one diagnostic and returns `None`; callers then
//! carry on with a placeholder so later problems are still found. The placeholder never escapes:
//! any diagnostic makes the whole resolution fail.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use crate::scenario::error::Diagnostic;
use crate::scenario::keys::{Key, NAME_MAX, Presence, Shape, echo, fmt_duration, quoted_list};
use crate::scenario::locate::closest;

/// Where a table is: its key path and span (the span missing keys are reported at).
#[derive(Clone, Debug, Default)]
pub(super) struct Loc {
    pub path: String,
    pub span: Range<usize>,
}

impl Loc {
    /// The path of a key in this table.
    pub(super) fn key(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// A sub-table (or array) of this table.
    pub(super) fn table<T>(&self, name: &str, table: &Spanned<T>) -> Loc {
        Loc {
            path: self.key(name),
            span: table.span(),
        }
    }

    /// An element of this array.
    pub(super) fn item<T>(&self, index: usize, item: &Spanned<T>) -> Loc {
        Loc {
            path: format!("{}[{index}]", self.path),
            span: item.span(),
        }
    }

    /// The table named `name` if present, else a location pointing at this table.
    pub(super) fn maybe<T>(&self, name: &str, table: Option<&Spanned<T>>) -> Loc {
        Loc {
            path: self.key(name),
            span: table.map_or(self.span.clone(), Spanned::span),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Ctx {
    diagnostics: Vec<Diagnostic>,
}

/// Messages for a set of keys of which exactly one must be given.
pub(super) struct OneOf<'a> {
    /// Said at the table when none is given.
    pub missing: &'a str,
    pub missing_help: &'a str,
    /// Appended to "`b` conflicts with `a`" when several are.
    pub conflict_note: &'a str,
    pub conflict_help: &'a str,
}

impl Ctx {
    /// Of keys that exclude each other (`(name, span)` for each one present), returns the one
    /// given first in the file; every later one is reported as conflicting with it, and none
    /// at all as `rules.missing`.
    pub(super) fn exactly_one<'k>(
        &mut self,
        loc: &Loc,
        given: impl IntoIterator<Item = (&'k str, Option<Range<usize>>)>,
        rules: &OneOf,
    ) -> Option<&'k str> {
        let mut given: Vec<(&str, Range<usize>)> = given
            .into_iter()
            .filter_map(|(name, span)| Some((name, span?)))
            .collect();
        given.sort_by_key(|(_, span)| span.start);
        let Some(((first, _), rest)) = given.split_first() else {
            self.error(
                loc.span.clone(),
                loc.path.clone(),
                rules.missing,
                rules.missing_help.to_string(),
            );
            return None;
        };
        for (name, span) in rest {
            let message = format!("`{name}` conflicts with `{first}`{}", rules.conflict_note);
            self.error(
                span.clone(),
                loc.key(name),
                message,
                rules.conflict_help.to_string(),
            );
        }
        Some(first)
    }

    pub(super) fn error(
        &mut self,
        span: Range<usize>,
        key: String,
        message: impl Into<String>,
        help: impl Into<Option<String>>,
    ) {
        self.diagnostics.push(Diagnostic {
            span,
            key,
            message: message.into(),
            help: help.into(),
        });
    }

    /// No diagnostic recorded so far.
    pub(super) fn is_clean(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The value if no diagnostic was recorded, else every diagnostic once, in file order.
    pub(super) fn finish<T>(mut self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.diagnostics.is_empty() {
            return Ok(value);
        }
        self.diagnostics.sort_by(|a, b| {
            (a.span.start, &a.key, &a.message).cmp(&(b.span.start, &b.key, &b.message))
        });
        // Behaviour keys are re-checked for every deploy layered over them: report them once.
        self.diagnostics.dedup();
        Err(self.diagnostics)
    }

    /// `key` is missing: its default text, or `None` (after an error when it is required).
    fn absent(&mut self, loc: &Loc, key: &Key) -> Option<&'static str> {
        match key.presence {
            Presence::Default(value) => Some(value),
            Presence::Required => {
                self.error(
                    loc.span.clone(),
                    loc.key(key.name),
                    format!("missing required key `{}`", key.name),
                    format!("{} {}", key.doc, key.help()),
                );
                None
            }
            Presence::Optional | Presence::Derived(_) => None,
        }
    }

    pub(super) fn duration(
        &mut self,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<String>>,
    ) -> Option<Duration> {
        match raw {
            Some(value) => self.check_duration(loc.key(key.name), value, &key.shape, key.help()),
            None => self
                .absent(loc, key)
                .and_then(|text| humantime::parse_duration(text).ok()),
        }
    }

    pub(super) fn check_duration(
        &mut self,
        path: String,
        value: &Spanned<String>,
        shape: &Shape,
        help: String,
    ) -> Option<Duration> {
        let text = value.get_ref().trim();
        let duration = match humantime::parse_duration(text) {
            Ok(duration) => duration,
            Err(error) => {
                let message = format!("\"{}\" is not a duration: {error}", echo(text));
                self.error(value.span(), path, message, help);
                return None;
            }
        };
        if let Shape::Duration {
            min,
            max,
            positive,
            seconds,
        } = *shape
        {
            if positive && duration.is_zero() {
                self.error(value.span(), path, "must be longer than 0s", help);
                return None;
            }
            if seconds && duration.subsec_nanos() != 0 {
                let message = format!(
                    "{} is not a whole number of seconds (SQS takes seconds)",
                    fmt_duration(duration)
                );
                self.error(value.span(), path, message, help);
                return None;
            }
            let bound = if duration < min {
                Some(format!("shorter than the minimum, {}", fmt_duration(min)))
            } else {
                max.filter(|max| duration > *max)
                    .map(|max| format!("longer than the maximum, {}", fmt_duration(max)))
            };
            if let Some(bound) = bound {
                let message = format!("{} is out of range: {bound}", fmt_duration(duration));
                self.error(value.span(), path, message, help);
                return None;
            }
        }
        Some(duration)
    }

    pub(super) fn int(&mut self, loc: &Loc, key: &Key, raw: Option<&Spanned<i64>>) -> Option<i64> {
        match raw {
            Some(value) => self.check_int(loc.key(key.name), value, &key.shape, key.help()),
            None => self.absent(loc, key).and_then(|text| text.parse().ok()),
        }
    }

    pub(super) fn check_int(
        &mut self,
        path: String,
        value: &Spanned<i64>,
        shape: &Shape,
        help: String,
    ) -> Option<i64> {
        let number = *value.get_ref();
        let bound = match *shape {
            Shape::Int { min, .. } if number < min => Some(format!("below the minimum, {min}")),
            Shape::Int { max: Some(max), .. } if number > max => {
                Some(format!("above the maximum, {max}"))
            }
            _ => None,
        };
        if let Some(bound) = bound {
            let message = format!("{number} is out of range: {bound}");
            self.error(value.span(), path, message, help);
            return None;
        }
        Some(number)
    }

    /// A non-negative integer key as `u32` (every such key in the catalogue fits).
    pub(super) fn uint(&mut self, loc: &Loc, key: &Key, raw: Option<&Spanned<i64>>) -> Option<u32> {
        let number = self.int(loc, key, raw)?;
        match u32::try_from(number) {
            Ok(number) => Some(number),
            Err(_) => {
                let span = raw.map_or(loc.span.clone(), Spanned::span);
                let message = format!("{number} is out of range");
                self.error(span, loc.key(key.name), message, key.help());
                None
            }
        }
    }

    /// A non-negative integer key as `u64`.
    pub(super) fn count(
        &mut self,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<i64>>,
    ) -> Option<u64> {
        self.int(loc, key, raw)
            .and_then(|number| u64::try_from(number).ok())
    }

    pub(super) fn float(
        &mut self,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<f64>>,
    ) -> Option<f64> {
        let Some(value) = raw else {
            return self.absent(loc, key).and_then(|text| text.parse().ok());
        };
        let number = *value.get_ref();
        let in_range = match key.shape {
            Shape::Float { min, max } => (min..=max).contains(&number),
            _ => number.is_finite(),
        };
        if !in_range {
            let message = format!("{number} is out of range");
            self.error(value.span(), loc.key(key.name), message, key.help());
            return None;
        }
        Some(number)
    }

    pub(super) fn bool(
        &mut self,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<bool>>,
    ) -> Option<bool> {
        match raw {
            Some(value) => Some(*value.get_ref()),
            None => self.absent(loc, key).and_then(|text| text.parse().ok()),
        }
    }

    /// A free-form string; an empty one is rejected (it can only be a mistake).
    pub(super) fn text(
        &mut self,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<String>>,
    ) -> Option<String> {
        let Some(value) = raw else {
            return self.absent(loc, key).map(str::to_string);
        };
        if value.get_ref().trim().is_empty() {
            let help = format!("{}: {}", key.name, key.doc);
            self.error(value.span(), loc.key(key.name), "must not be empty", help);
            return None;
        }
        Some(value.get_ref().clone())
    }

    /// A name of a scenario, producer or consumer group.
    pub(super) fn name(
        &mut self,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<String>>,
    ) -> Option<String> {
        let Some(value) = raw else {
            return self.absent(loc, key).map(str::to_string);
        };
        self.check_name(loc.key(key.name), value, key.help())
    }

    pub(super) fn check_name(
        &mut self,
        path: String,
        value: &Spanned<String>,
        help: String,
    ) -> Option<String> {
        let name = value.get_ref();
        let valid = name.len() <= NAME_MAX
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            self.error(
                value.span(),
                path,
                format!("\"{}\" is not a valid name", echo(name)),
                help,
            );
            return None;
        }
        Some(name.clone())
    }

    /// One of the key's `Shape::Choice` values.
    pub(super) fn choice(
        &mut self,
        loc: &Loc,
        key: &Key,
        raw: Option<&Spanned<String>>,
    ) -> Option<&'static str> {
        let Shape::Choice(values) = key.shape else {
            return None;
        };
        let wanted = match raw {
            Some(value) => value.get_ref().as_str(),
            None => return self.absent(loc, key),
        };
        if let Some(found) = values.iter().find(|v| **v == wanted) {
            return Some(found);
        }
        // `kind = "FIFO"` is a capitalisation away from "fifo", not a typo of it.
        let suggestion = values
            .iter()
            .find(|v| v.eq_ignore_ascii_case(wanted))
            .copied()
            .or_else(|| closest(wanted, values))
            .map(|s| format!(", did you mean \"{s}\"?"))
            .unwrap_or_default();
        let span = raw.map_or(loc.span.clone(), Spanned::span);
        let message = format!("unknown value \"{}\"{suggestion}", echo(wanted));
        let help = format!("{} takes one of {}", key.name, quoted_list(values));
        self.error(span, loc.key(key.name), message, help);
        None
    }

    /// Rejects a key that is present although it does not apply here (`message` says why).
    pub(super) fn not_here<T>(
        &mut self,
        loc: &Loc,
        name: &str,
        raw: Option<&Spanned<T>>,
        message: &str,
        help: &str,
    ) {
        if let Some(value) = raw {
            self.error(value.span(), loc.key(name), message, help.to_string());
        }
    }
}
