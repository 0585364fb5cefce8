//! The scenario file format. A file goes through three stages:
//! `raw` (serde types mirroring the TOML, every key spanned, unknown keys rejected) →
//! `resolve` (defaults, ranges, references; all errors collected with spans and help) →
//! [`Scenario`] (the resolved model the engine runs, nothing optional left to guess).
//!
//! `keys` is the catalogue of every key (shape, range, default, meaning) that resolution and the
//! JSON Schema ([`json_schema`]) are both built from.

mod catalog;
mod error;
mod keys;
mod locate;
mod model;
mod raw;
mod resolve;
mod schema;

pub use catalog::discover;
pub use error::{Diagnostic, ScenarioError, ScenarioErrorKind, SyntaxError, line_column};
pub use model::*;
pub use resolve::{Limits, estimate_consumers, estimate_messages};
pub use schema::json_schema;

use std::path::Path;

/// Reads and resolves one scenario file, within the default [`Limits`].
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &Limits::default())
}

/// Reads and resolves one scenario file; one bigger than `limits` is invalid.
pub fn load_with(path: &Path, limits: &Limits) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        ScenarioError::new(
            path.to_path_buf(),
            String::new(),
            ScenarioErrorKind::Io(error),
        )
    })?;
    parse_with(path, &text, limits)
}

/// Resolves scenario text within the default [`Limits`]; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_with(path, text, &Limits::default())
}

/// Resolves scenario text; one bigger than `limits` is invalid.
pub fn parse_with(path: &Path, text: &str, limits: &Limits) -> Result<Scenario, ScenarioError> {
    let fail = |kind| ScenarioError::new(path.to_path_buf(), text.to_string(), kind);
    // Parse the document alone first: its errors are syntax, the deserializer's are about keys
    // and types, and the two are located differently.
    if let Err(error) = toml::de::DeTable::parse(text) {
        let diagnostic = locate::toml_diagnostic(text, &error, true);
        return Err(fail(ScenarioErrorKind::Syntax(Box::new(SyntaxError {
            diagnostic,
            error,
        }))));
    }
    let raw: raw::RawScenario = toml::from_str(text).map_err(|error| {
        let diagnostic = locate::toml_diagnostic(text, &error, false);
        fail(ScenarioErrorKind::Syntax(Box::new(SyntaxError {
            diagnostic,
            error,
        })))
    })?;
    resolve::resolve(&raw, path, limits)
        .map_err(|diagnostics| fail(ScenarioErrorKind::Invalid(diagnostics)))
}
