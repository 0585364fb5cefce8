//! Turns toml's own errors (syntax, unknown keys, wrong types) into [`Diagnostic`]s shaped like
//! the semantic ones: a key path, a short message, and a help line listing what is allowed.
//!
//! toml gives a span and a message but no key path. When the document parses, the path is found
//! by walking the spanned document tree to the key or value under the span; on a syntax error the
//! tree is not trustworthy, so the path comes from the nearest table header and `key =` prefix.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Diagnostic;
use super::keys::{self, echo};

/// A toml error for `text`; `syntax` = the document itself did not parse.
pub(super) fn toml_diagnostic(text: &str, error: &toml::de::Error, syntax: bool) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim().to_string();
    if syntax {
        if message == "duplicate key" {
            if let Some(diagnostic) = duplicate(text, &span) {
                return diagnostic;
            }
        }
        return Diagnostic {
            key: lexical_path(text, span.start),
            span,
            message,
            help: Some(
                "TOML syntax: `key = value`, strings in double quotes, `[table]` and \
                 `[[array-of-tables]]` headers on their own line"
                    .into(),
            ),
        };
    }
    let path = DeTable::parse(text)
        .ok()
        .and_then(|root| find_path(root.get_ref(), &span, &mut Vec::new()))
        .unwrap_or_default();
    let names: Vec<&str> = path
        .iter()
        .filter_map(|segment| match segment {
            Segment::Key(name) => Some(name.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    let key_path = render_path(&path);

    if let Some(unknown) = message.strip_prefix("unknown field `") {
        let unknown = unknown.split('`').next().unwrap_or_default();
        let allowed = backticked(message.split_once("expected").map_or("", |(_, e)| e));
        let parent = render_path(&path[..path.len().saturating_sub(1)]);
        let table = if parent.is_empty() {
            "the top level".to_string()
        } else {
            format!("`{parent}`")
        };
        let suggestion = closest(unknown, &allowed)
            .map(|s| format!(", did you mean `{s}`?"))
            .unwrap_or_default();
        return Diagnostic {
            span,
            key: key_path,
            message: format!("unknown key `{unknown}`{suggestion}"),
            help: Some(format!("{table} takes: {}", allowed.join(", "))),
        };
    }
    if let Some(missing) = message.strip_prefix("missing field `") {
        let missing = missing.split('`').next().unwrap_or_default();
        return Diagnostic {
            span,
            key: join(&key_path, missing),
            message: format!("missing required key `{missing}`"),
            help: None,
        };
    }
    Diagnostic {
        span,
        key: key_path,
        message: plain_types(&message),
        help: keys::lookup(&names).map(keys::Key::help),
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// serde's Rust type names in the words of the file format.
fn plain_types(message: &str) -> String {
    let mut message = message
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number")
        .replace("a sequence", "an array")
        .replace("a map", "a table")
        .replace("floating point", "number");
    if let Some(start) = message.find("expected struct ") {
        message.replace_range(start.., "expected a table");
    }
    message
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(name) if out.is_empty() => out.push_str(name),
            Segment::Key(name) => {
                out.push('.');
                out.push_str(name);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The deepest key whose name or value lies under `span.start`.
fn find_path(
    table: &DeTable,
    span: &Range<usize>,
    path: &mut Vec<Segment>,
) -> Option<Vec<Segment>> {
    for (key, value) in table.iter() {
        path.push(Segment::Key(key.get_ref().to_string()));
        let found = if key.span().contains(&span.start) {
            Some(std::mem::take(path))
        } else {
            find_in_value(value, span, path)
        };
        if found.is_some() {
            return found;
        }
        path.pop();
    }
    None
}

fn find_in_value(
    value: &Spanned<DeValue>,
    span: &Range<usize>,
    path: &mut Vec<Segment>,
) -> Option<Vec<Segment>> {
    let here = value.span().contains(&span.start) || value.span() == *span;
    match value.get_ref() {
        DeValue::Table(table) => {
            // Header tables span only their header, so search the keys first.
            find_path(table, span, path).or_else(|| here.then(|| std::mem::take(path)))
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                if let Some(found) = find_in_value(item, span, path) {
                    return Some(found);
                }
                path.pop();
            }
            here.then(|| std::mem::take(path))
        }
        _ => here.then(|| std::mem::take(path)),
    }
}

/// On a syntax error: the innermost table header before `offset`, and the `key =` on the error
/// line if there is one.
fn lexical_path(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut array_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut table = String::new();
    for line in text[..line_start].lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.split("]]").next()) {
            let name = name.trim().to_string();
            let count = array_counts.entry(name.clone()).or_default();
            table = format!("{name}[{count}]");
            *count += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            let name = name.trim();
            // `[producers.payload]` belongs to the latest `[[producers]]`.
            table = match array_counts
                .iter()
                .filter(|(array, _)| name.starts_with(&format!("{array}.")))
                .max_by_key(|(array, _)| array.len())
            {
                Some((array, count)) => format!("{array}[{}]{}", count - 1, &name[array.len()..]),
                None => name.to_string(),
            };
        }
    }
    let line = text[line_start..].lines().next().unwrap_or_default();
    if let Some((name, _)) = header(line) {
        return name.to_string();
    }
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| !key.is_empty() && !key.contains(['[', '"', ' ']));
    match key {
        Some(key) => join(&table, key),
        None => table,
    }
}

/// `[name]` → `("name", false)`, `[[name]]` → `("name", true)`.
fn header(line: &str) -> Option<(&str, bool)> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("[[") {
        return Some((rest.split_once("]]")?.0.trim(), true));
    }
    let rest = line.strip_prefix('[')?;
    Some((rest.split_once(']')?.0.trim(), false))
}

/// toml's "duplicate key", said with the key and the line it was first defined at: a table
/// header given twice, a table and an array of tables of one name, or a key set twice.
fn duplicate(text: &str, span: &Range<usize>) -> Option<Diagnostic> {
    let line_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let before = &text[..line_start];
    if let Some((name, array)) = header(line) {
        let first = before
            .lines()
            .enumerate()
            .filter_map(|(n, l)| header(l).map(|(h, a)| (n + 1, h, a)))
            .find(|(_, h, _)| *h == name);
        let written = |array: bool| match array {
            true => format!("[[{name}]]"),
            false => format!("[{name}]"),
        };
        let (message, help) = match first {
            Some((n, _, false)) if !array => (
                format!(
                    "the table `{}` is defined twice: first at line {n}",
                    written(false)
                ),
                format!("merge the two `{}` tables into one", written(false)),
            ),
            Some((n, _, earlier)) => (
                format!(
                    "`{}` clashes with `{}` at line {n}",
                    written(array),
                    written(earlier)
                ),
                format!(
                    "`{name}` is either one table `[{name}]` or an array of tables `[[{name}]]` \
                     (one `[[{name}]]` header per entry), not both"
                ),
            ),
            None => (
                format!("`{}` redefines `{name}`, already set", written(array)),
                format!("set the keys of `{name}` in one place"),
            ),
        };
        return Some(Diagnostic {
            span: span.clone(),
            key: name.to_string(),
            message,
            help: Some(help),
        });
    }
    let key = line.split_once('=')?.0.trim();
    let table_start = before
        .lines()
        .enumerate()
        .filter(|(_, l)| header(l).is_some())
        .map(|(n, _)| n + 1)
        .last()
        .unwrap_or(0);
    let first = before
        .lines()
        .enumerate()
        .skip(table_start)
        .find(|(_, l)| l.split_once('=').is_some_and(|(k, _)| k.trim() == key))
        .map(|(n, _)| n + 1);
    let path = lexical_path(text, span.start);
    let message = match first {
        Some(n) => format!("`{}` is set twice: first at line {n}", echo(key)),
        None => format!("`{}` is set twice", echo(key)),
    };
    Some(Diagnostic {
        span: span.clone(),
        key: path,
        message,
        help: Some("a key takes one value: remove one of them".into()),
    })
}

/// The words between backticks, e.g. of "expected `a`, `b` or `c`".
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The allowed key closest to a misspelled one, if it is close enough to be a typo.
pub(super) fn closest<'a, S: AsRef<str>>(wrong: &str, allowed: &'a [S]) -> Option<&'a str> {
    let length = wrong.chars().count();
    allowed
        .iter()
        // Lengths further apart than the distance allowed cannot be close (and a 2 MB value
        // must not cost a 2 MB x N distance table).
        .filter(|s| length.abs_diff(s.as_ref().chars().count()) <= (s.as_ref().len() / 3).max(1))
        .map(|s| (edit_distance(wrong, s.as_ref()), s.as_ref()))
        .filter(|(d, s)| *d <= (s.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, s)| s)
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`: a swap is the most
/// common typo, so it counts as one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("naem", &["name", "seed"] => Some("name".to_string()); "transposition")]
    #[test_case("visiblity_timeout", &["visibility_timeout", "delay"] => Some("visibility_timeout".to_string()); "missing letter")]
    #[test_case("colour", &["name", "seed"] => None; "nothing close")]
    fn suggests_close_keys(wrong: &str, allowed: &[&'static str]) -> Option<String> {
        closest(wrong, allowed).map(str::to_string)
    }

    #[test_case("[scenario]\nname = \"x\n", "scenario.name"; "key of the broken line")]
    #[test_case("[[producers]]\nname='a'\n[[producers]]\n[producers.payload]\nkind = = 1\n", "producers[1].payload.kind"; "array of tables index")]
    #[test_case("[scenario\n", ""; "no table yet")]
    fn syntax_errors_name_the_key(text: &str, key: &str) {
        let error = DeTable::parse(text).expect_err("a syntax error");
        assert_eq!(toml_diagnostic(text, &error, true).key, key);
    }
}
