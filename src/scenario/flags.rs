//! Scenario keys given as command-line flags (`qsim consume --max-messages 10`): each flag is a
//! key of the catalogue, written into a scenario document that is then resolved by the file's
//! own code, so a flag is checked exactly as the key is in a file (one set of rules for both).
//!
//! With `--scenario FILE --group NAME` the document is the file, the flags overriding the
//! group's keys; without, a minimal scenario around one `[[consumers]]` group (or one
//! `[[producers]]`).

use std::path::{Path, PathBuf};

use super::keys::{self, Key, Shape};
use super::{Diagnostic, GroupIx, Limits, Scenario, ScenarioError, ScenarioErrorKind};

/// Which table the flags fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagTable {
    Consumers,
    Producers,
}

impl FlagTable {
    fn array(self) -> &'static str {
        match self {
            FlagTable::Consumers => "consumers",
            FlagTable::Producers => "producers",
        }
    }

    /// The keys that configure one instance, as flags: a group's fleet (name, count, start,
    /// stagger) and where it runs are the run's business, not one process's.
    fn keys(self) -> Vec<&'static Key> {
        let (own, fleet): (&[&[Key]], &[&str]) = match self {
            FlagTable::Consumers => (
                &[keys::consumer::KEYS, keys::behavior::KEYS],
                &[
                    "name", "count", "start", "stagger", "process", "command", "env",
                ],
            ),
            FlagTable::Producers => (&[keys::producer::KEYS], &["name"]),
        };
        own.iter()
            .flat_map(|keys| keys.iter())
            .filter(|key| !fleet.contains(&key.name))
            .collect()
    }
}

/// One key as a flag: `--max-messages`, its help line and its value's name.
#[derive(Clone, Debug)]
pub struct KeyFlag {
    /// The key (`max_messages`); the flag is its kebab-case form.
    pub key: &'static str,
    pub flag: String,
    pub help: String,
    pub value_name: &'static str,
}

/// Every key of `table` that a flag can set.
pub fn key_flags(table: FlagTable) -> Vec<KeyFlag> {
    table
        .keys()
        .into_iter()
        .map(|key| KeyFlag {
            key: key.name,
            flag: key.name.replace('_', "-"),
            help: format!("{} Allowed: {}.", key.doc, key.shape.allowed()),
            value_name: match key.shape {
                Shape::Table(_) | Shape::Fields => "TOML",
                Shape::List(_) => "TOML-ARRAY",
                Shape::Duration { .. } => "DURATION",
                Shape::Int { .. } => "N",
                _ => "VALUE",
            },
        })
        .collect()
}

/// A scenario with one group of `table` configured by `flags` (key, value as typed), and that
/// group. `file` is `--scenario FILE --group NAME`; without it the scenario is built around the
/// flags alone (`fifo`: on a FIFO queue).
pub fn scenario_with(
    table: FlagTable,
    file: Option<(&Path, &str)>,
    flags: &[(&'static str, String)],
    fifo: bool,
) -> Result<(Scenario, usize), ScenarioError> {
    let (path, group, mut document) = match file {
        Some((path, group)) => {
            if flags.is_empty() {
                // The file as written: its diagnostics point at its own lines.
                let scenario = super::load(path)?;
                let index = find(table, &scenario, group, path)?;
                return Ok((scenario, index));
            }
            let text = std::fs::read_to_string(path).map_err(|error| {
                ScenarioError::new(path.to_owned(), String::new(), ScenarioErrorKind::Io(error))
            })?;
            let document: toml::Table = toml::from_str(&text).map_err(|error| {
                let diagnostic = super::locate::toml_diagnostic(&text, &error, false);
                invalid(path, &text, diagnostic)
            })?;
            (path.to_owned(), group.to_owned(), document)
        }
        None => {
            let name = match table {
                FlagTable::Consumers => "consume",
                FlagTable::Producers => "produce",
            };
            (
                PathBuf::from("(flags)"),
                name.to_owned(),
                alone(table, name, fifo),
            )
        }
    };
    let entry = document
        .get_mut(table.array())
        .and_then(toml::Value::as_array_mut)
        .and_then(|groups| {
            groups
                .iter_mut()
                .find(|g| g.get("name").and_then(toml::Value::as_str) == Some(&group))
        })
        .and_then(toml::Value::as_table_mut);
    let Some(entry) = entry else {
        let text = toml::to_string(&document).unwrap_or_default();
        return Err(no_group(table, &path, &text, &group));
    };
    for (key, value) in flags {
        entry.insert((*key).to_owned(), flag_value(value));
    }
    // The flags' values are now keys of the document: the scenario's own resolution checks them.
    let text = toml::to_string(&document).unwrap_or_default();
    let scenario = super::parse_with(&path, &text, &Limits::default())?;
    let index = find(table, &scenario, &group, &path)?;
    Ok((scenario, index))
}

/// A flag's value as TOML when it is one (`10`, `true`, `{ crash_rate = 0.1 }`), else the text
/// as a string (`2s`, `tables`): what a person would have written in the file.
fn flag_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("value = {text}"))
        .ok()
        .and_then(|mut table| table.remove("value"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

/// The smallest scenario around one group of `table` named `name`.
fn alone(table: FlagTable, name: &str, fifo: bool) -> toml::Table {
    let kind = if fifo { "fifo" } else { "standard" };
    let text = match table {
        FlagTable::Consumers => format!(
            "[scenario]\nname = \"{name}\"\ndescription = \"qsim consume, from its flags\"\n\
             [queue]\nkind = \"{kind}\"\n[[producers]]\nname = \"unused\"\ncount = 1\n\
             [[consumers]]\nname = \"{name}\"\n"
        ),
        FlagTable::Producers => format!(
            "[scenario]\nname = \"{name}\"\ndescription = \"qsim produce, from its flags\"\n\
             [queue]\nkind = \"{kind}\"\n[[producers]]\nname = \"{name}\"\n\
             [[consumers]]\nname = \"none\"\ncount = 0\n"
        ),
    };
    toml::from_str(&text).expect("a fixed document parses")
}

fn find(
    table: FlagTable,
    scenario: &Scenario,
    group: &str,
    path: &Path,
) -> Result<usize, ScenarioError> {
    let names: Vec<&str> = match table {
        FlagTable::Consumers => scenario.consumers.iter().map(|g| g.name.as_str()).collect(),
        FlagTable::Producers => scenario.producers.iter().map(|p| p.name.as_str()).collect(),
    };
    names
        .iter()
        .position(|name| *name == group)
        .ok_or_else(|| no_group(table, path, "", group))
}

fn no_group(table: FlagTable, path: &Path, text: &str, group: &str) -> ScenarioError {
    let diagnostic = Diagnostic {
        span: 0..0,
        key: table.array().to_owned(),
        message: format!("no [[{}]] named `{group}`", table.array()),
        help: Some("--group names one of the file's groups".to_owned()),
    };
    invalid(path, text, diagnostic)
}

fn invalid(path: &Path, text: &str, diagnostic: Diagnostic) -> ScenarioError {
    ScenarioError::new(
        path.to_owned(),
        text.to_owned(),
        ScenarioErrorKind::Invalid(vec![diagnostic]),
    )
}

/// The group index of a consumer found by [`scenario_with`].
pub fn consumer_group(index: usize) -> GroupIx {
    GroupIx(index)
}
