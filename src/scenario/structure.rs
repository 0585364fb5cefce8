//! The shape of a document before its meaning: every key is one the catalogue knows for its
//! table, and every value has the TOML type its key takes (a string, an integer that fits in 64
//! bits, a table, ...).
//!
//! Why a pass of its own: serde stops at the first unknown key or wrong type, so a file with
//! three typos would be fixed one run at a time. This walks the spanned document
//! ([`DeTable`]) against the [`keys`] catalogue and reports every such mistake at once; only a
//! document that passes is deserialized. Value ranges and the rules between keys are left to
//! resolution, which collects its own errors.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Diagnostic;
use super::keys::{self, Key, Shape, echo};
use super::locate::closest;

/// Every unknown key and every value of the wrong type, in file order.
pub(super) fn check(root: &DeTable) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let top: Vec<&'static Key> = keys::TOP.iter().collect();
    table(root, "", &top, &mut found);
    found.sort_by_key(|d: &Diagnostic| d.span.start);
    found
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The keys of `table` at `path`, which takes `allowed`.
fn table(table: &DeTable, path: &str, allowed: &[&'static Key], found: &mut Vec<Diagnostic>) {
    for (name, value) in table.iter() {
        let name_text = name.get_ref().as_ref();
        let here = join(path, &echo(name_text));
        match allowed.iter().find(|key| key.name == name_text) {
            Some(key) => self::value(value, &here, key, found),
            None => found.push(unknown(name, &here, path, allowed)),
        }
    }
}

fn unknown(
    name: &Spanned<std::borrow::Cow<'_, str>>,
    here: &str,
    parent: &str,
    allowed: &[&'static Key],
) -> Diagnostic {
    let names: Vec<&str> = allowed.iter().map(|key| key.name).collect();
    let suggestion = closest(name.get_ref(), &names)
        .map(|s| format!(", did you mean `{s}`?"))
        .unwrap_or_default();
    let table = if parent.is_empty() {
        "the top level".to_string()
    } else {
        format!("`{parent}`")
    };
    Diagnostic {
        span: name.span(),
        key: here.to_string(),
        message: format!("unknown key `{}`{suggestion}", echo(name.get_ref())),
        help: Some(format!("{table} takes: {}", names.join(", "))),
    }
}

/// The keys a table-shaped key takes, flattened.
fn sub_keys(key: &'static Key) -> Vec<&'static Key> {
    key.sub_keys().collect()
}

fn value(value: &Spanned<DeValue>, path: &str, key: &'static Key, found: &mut Vec<Diagnostic>) {
    shaped(value, path, key, &key.shape, found);
}

/// `value` has the TOML type of `shape` (the shape of `key`, or of its list's items).
fn shaped(
    value: &Spanned<DeValue>,
    path: &str,
    key: &'static Key,
    shape: &Shape,
    found: &mut Vec<Diagnostic>,
) {
    let v = value.get_ref();
    let fits = match (shape, v) {
        (
            Shape::Name
            | Shape::Text
            | Shape::Tag
            | Shape::Choice(_)
            | Shape::Rate
            | Shape::Condition
            | Shape::Target
            | Shape::Duration { .. },
            DeValue::String(_),
        ) => true,
        (Shape::Bool, DeValue::Boolean(_)) => true,
        (Shape::Int { .. }, DeValue::Integer(integer)) => {
            if i64::from_str_radix(integer.as_str(), integer.radix()).is_err() {
                let negative = integer.as_str().starts_with('-');
                let bound = match (shape, negative) {
                    (Shape::Int { min, .. }, true) => format!("below the minimum, {min}"),
                    (Shape::Int { max: Some(max), .. }, false) => {
                        format!("above the maximum, {max}")
                    }
                    _ => "more than a 64-bit integer holds".to_string(),
                };
                found.push(Diagnostic {
                    span: value.span(),
                    key: path.to_string(),
                    message: format!("{} is out of range: {bound}", echo(integer.as_str())),
                    help: Some(help(key, shape)),
                });
            }
            true
        }
        (Shape::Float { .. }, DeValue::Float(_) | DeValue::Integer(_)) => true,
        (Shape::CrashPolicy, DeValue::String(_) | DeValue::Float(_) | DeValue::Integer(_)) => true,
        (Shape::List(inner), DeValue::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                shaped(item, &format!("{path}[{i}]"), key, inner, found);
            }
            true
        }
        (Shape::Table(_), DeValue::Table(sub)) => {
            table(sub, path, &sub_keys(key), found);
            true
        }
        (Shape::TableList(_), DeValue::Array(items)) => {
            let allowed = sub_keys(key);
            for (i, item) in items.iter().enumerate() {
                let here = format!("{path}[{i}]");
                match item.get_ref() {
                    DeValue::Table(sub) => table(sub, &here, &allowed, found),
                    other => found.push(mismatch(item.span(), &here, "a table", other, key, shape)),
                }
            }
            true
        }
        (Shape::Fields, DeValue::Table(_)) => true,
        (Shape::Expect, DeValue::Table(expect)) => {
            // Metric names and values are resolution's; only `producer` has a fixed shape.
            if let Some((name, producers)) = expect.iter().find(|(k, _)| k.get_ref() == "producer")
            {
                let here = join(path, name.get_ref());
                match producers.get_ref() {
                    DeValue::Table(scopes) => {
                        for (scope, checks) in scopes.iter() {
                            if !checks.get_ref().is_table() {
                                let at = join(&here, &echo(scope.get_ref()));
                                let what = "a table of metric = value entries";
                                let other = checks.get_ref();
                                found.push(mismatch(checks.span(), &at, what, other, key, shape));
                            }
                        }
                    }
                    other => {
                        let what = "a table of [expect.producer.NAME] tables";
                        found.push(mismatch(producers.span(), &here, what, other, key, shape));
                    }
                }
            }
            true
        }
        _ => false,
    };
    if !fits {
        found.push(mismatch(value.span(), path, expected(shape), v, key, shape));
    }
}

fn help(key: &Key, shape: &Shape) -> String {
    format!("{} takes {}", key.name, shape.allowed())
}

fn mismatch(
    span: std::ops::Range<usize>,
    path: &str,
    expected: &str,
    found: &DeValue,
    key: &Key,
    shape: &Shape,
) -> Diagnostic {
    let found = match found {
        DeValue::String(text) => format!("the string \"{}\"", echo(text)),
        DeValue::Integer(n) => format!("the integer {}", echo(n.as_str())),
        DeValue::Float(n) => format!("the number {}", echo(n.as_str())),
        DeValue::Boolean(b) => format!("{b}"),
        DeValue::Datetime(_) => "a date or time".to_string(),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    };
    Diagnostic {
        span,
        key: path.to_string(),
        message: format!("expected {expected}, found {found}"),
        help: Some(help(key, shape)),
    }
}

/// The TOML type a shape takes, completing "expected ...".
fn expected(shape: &Shape) -> &'static str {
    match shape {
        Shape::Bool => "true or false",
        Shape::Int { .. } => "an integer",
        Shape::Float { .. } => "a number",
        Shape::CrashPolicy => "a word or a number",
        Shape::List(_) => "an array",
        Shape::Table(_) | Shape::Fields | Shape::Expect => "a table",
        Shape::TableList(_) => "an array of tables",
        Shape::Name
        | Shape::Text
        | Shape::Tag
        | Shape::Choice(_)
        | Shape::Rate
        | Shape::Condition
        | Shape::Target
        | Shape::Duration { .. } => "a string",
    }
}
