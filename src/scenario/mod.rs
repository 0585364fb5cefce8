//! The scenario file format. A file goes through these stages, each reporting all of its
//! mistakes at once: the TOML document (`DeTable`, every recoverable syntax error) →
//! `structure` (every key known to the catalogue, every value of its key's TOML type) →
//! `raw` (serde types mirroring the TOML, every key spanned, unknown keys rejected) →
//! `resolve` (defaults, ranges, references; all errors collected with spans and help) →
//! [`Scenario`] (the resolved model the engine runs, nothing optional left to guess).
//!
//! `keys` is the catalogue of every key (shape, range, default, meaning) that resolution and the
//! JSON Schema ([`json_schema`]) are both built from.

mod discover;
mod error;
pub mod flags;
mod keys;
mod locate;
mod metric;
mod model;
mod raw;
mod resolve;
mod schema;
mod structure;

pub use discover::discover;
pub(crate) use error::{Diagnostic, ScenarioError, ScenarioErrorKind, SyntaxError};
pub(crate) use metric::Needs;
pub use metric::{Metric, MetricDef, MetricKind, MetricScope};
pub(crate) use model::{
    Ack, Action, Autoscaler, Chaos, CompareOp, ConsumerBehavior, ConsumerGroup, CrashPolicy,
    DedupSource, DualWriteOrder, Execution, Expectation, Expected, FieldValue, GroupIx, Heartbeat,
    Idempotency, IdempotencyKey, LiteralMessage, LiveMetric, Payload, PoisonPattern, Poller,
    Producer, ProducerChaos, ProducerIx, RetryPolicy, Target, TimelineEntry, Trigger, Versioning,
    WhenCondition, WriteMode,
};
pub use model::{Amount, Expectations, QueueConfig, Rate, Scenario};
pub use resolve::Limits;
pub(crate) use resolve::parse_comparison;
pub use schema::json_schema;

use std::path::Path;

/// Reads and resolves one scenario file, within the default [`Limits`].
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &Limits::default())
}

/// Reads and resolves one scenario file; one bigger than `limits` is invalid.
pub fn load_with(path: &Path, limits: &Limits) -> Result<Scenario, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|error| {
        ScenarioError::new(
            path.to_path_buf(),
            String::new(),
            ScenarioErrorKind::Io(error),
        )
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => return Err(not_utf8(path, error)),
    };
    parse_with(path, &text, limits)
}

/// Bytes that are not UTF-8, located like any other mistake (the excerpt shows the rest of the
/// file with the bad bytes replaced).
fn not_utf8(path: &Path, error: std::string::FromUtf8Error) -> ScenarioError {
    let at = error.utf8_error().valid_up_to();
    let bad = error.utf8_error().error_len().unwrap_or(1);
    let bytes = error.as_bytes();
    let shown: Vec<String> = bytes[at..(at + bad).min(bytes.len())]
        .iter()
        .map(|b| format!("0x{b:02X}"))
        .collect();
    let text = String::from_utf8_lossy(bytes).into_owned();
    let diagnostic = Diagnostic {
        // The lossy text equals the file up to `at`, so the offset is the same in both.
        span: at..at,
        key: String::new(),
        message: format!(
            "the file is not UTF-8: invalid byte {} here",
            shown.join(" ")
        ),
        help: Some("save the scenario file as UTF-8".into()),
    };
    ScenarioError::new(
        path.to_path_buf(),
        text,
        ScenarioErrorKind::Syntax(Box::new(SyntaxError {
            diagnostics: vec![diagnostic],
            error: None,
        })),
    )
}

/// Resolves scenario text within the default [`Limits`]; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_with(path, text, &Limits::default())
}

/// Resolves scenario text; one bigger than `limits` is invalid.
pub fn parse_with(path: &Path, text: &str, limits: &Limits) -> Result<Scenario, ScenarioError> {
    let fail = |kind| ScenarioError::new(path.to_path_buf(), text.to_string(), kind);
    // Parse the document alone first: its errors are syntax (all of those the parser recovers
    // from), the rest are about keys and types, and the two are located differently.
    let (root, errors) = toml::de::DeTable::parse_recoverable(text);
    if let Some(first) = errors.first() {
        let mut diagnostics: Vec<Diagnostic> = errors
            .iter()
            .map(|error| locate::toml_diagnostic(text, error, true))
            .collect();
        diagnostics.sort_by_key(|d| d.span.start);
        diagnostics.dedup();
        return Err(fail(ScenarioErrorKind::Syntax(Box::new(SyntaxError {
            diagnostics,
            error: Some(first.clone()),
        }))));
    }
    // Every unknown key and wrong type at once, before serde would stop at the first.
    let structure = structure::check(root.get_ref());
    if !structure.is_empty() {
        return Err(fail(ScenarioErrorKind::Invalid(structure)));
    }
    let raw: raw::RawScenario = toml::from_str(text).map_err(|error| {
        let diagnostic = locate::toml_diagnostic(text, &error, false);
        fail(ScenarioErrorKind::Syntax(Box::new(SyntaxError {
            diagnostics: vec![diagnostic],
            error: Some(error),
        })))
    })?;
    resolve::resolve(&raw, path, limits)
        .map_err(|diagnostics| fail(ScenarioErrorKind::Invalid(diagnostics)))
}
