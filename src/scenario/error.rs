//! Why a scenario file was rejected, and how that is shown to a person.
//!
//! Every problem is a [`Diagnostic`]: a byte span into the file, the key path it concerns
//! (`consumers[1].max_messages`, indices 0-based), what is wrong and what is allowed. Rendering
//! is deterministic (fixed width, no colour unless asked, no hyperlinks) so it can be
//! snapshotted; each diagnostic starts with one greppable line
//! `error: PATH:LINE:COL: KEY: MESSAGE` followed by miette's source excerpt.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

/// Width the excerpts are wrapped at, whatever the terminal.
const RENDER_WIDTH: usize = 100;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range in the file the problem is about (may be empty: a point).
    pub span: Range<usize>,
    /// Key path, e.g. `producers[0].batch_size` (indices 0-based); empty when no key applies.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What is allowed instead.
    pub help: Option<String>,
}

/// A scenario file that could not be read or is invalid.
#[derive(Debug)]
pub struct ScenarioError {
    /// The file, as given by the caller (shown as is in messages).
    pub path: PathBuf,
    /// The file's text (empty when it could not be read), for excerpts.
    text: String,
    pub kind: ScenarioErrorKind,
}

#[derive(Debug)]
pub enum ScenarioErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// Not a TOML document (every syntax error toml's parser recovers from, or bytes that are
    /// not UTF-8), or a type error only the deserializer found: located.
    Syntax(Box<SyntaxError>),
    /// Well-formed TOML that breaks the format's rules: every problem found, in file order.
    Invalid(Vec<Diagnostic>),
}

/// toml's own errors and the diagnostics made from them.
#[derive(Debug)]
pub struct SyntaxError {
    /// At least one.
    pub diagnostics: Vec<Diagnostic>,
    /// toml's first error (none when the file is not UTF-8).
    pub error: Option<toml::de::Error>,
}

impl ScenarioError {
    pub(crate) fn new(path: PathBuf, text: String, kind: ScenarioErrorKind) -> ScenarioError {
        ScenarioError { path, text, kind }
    }

    /// Every diagnostic (none for an I/O error).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match &self.kind {
            ScenarioErrorKind::Io(_) => &[],
            ScenarioErrorKind::Syntax(syntax) => &syntax.diagnostics,
            ScenarioErrorKind::Invalid(diagnostics) => diagnostics,
        }
    }

    /// `error: PATH:LINE:COL: KEY: MESSAGE` for each diagnostic (1-based line and column).
    pub fn plain_lines(&self) -> Vec<String> {
        if let ScenarioErrorKind::Io(error) = &self.kind {
            return vec![format!(
                "error: {}: cannot read the scenario file: {error}",
                self.path.display()
            )];
        }
        self.diagnostics()
            .iter()
            .map(|d| self.plain_line(d))
            .collect()
    }

    fn plain_line(&self, diagnostic: &Diagnostic) -> String {
        let (line, column) = line_column(&self.text, diagnostic.span.start);
        let key = if diagnostic.key.is_empty() {
            String::new()
        } else {
            format!("{}: ", diagnostic.key)
        };
        format!(
            "error: {}:{line}:{column}: {key}{}",
            self.path.display(),
            diagnostic.message
        )
    }

    /// Every diagnostic as its plain line, then the source excerpt with a caret at the span and
    /// the help line. `color` adds ANSI colours; without it the output is byte-for-byte stable.
    pub fn render(&self, color: bool) -> String {
        if matches!(self.kind, ScenarioErrorKind::Io(_)) {
            return self.plain_lines().join("\n") + "\n";
        }
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(RENDER_WIDTH)
            .with_links(false);
        let name = self.path.display().to_string();
        let mut out = String::new();
        for (i, diagnostic) in self.diagnostics().iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", self.plain_line(diagnostic));
            if !excerpt_fits(&self.text, &diagnostic.span) {
                // A 2 MB line is not echoed back: the plain line already says where it is.
                let _ = handler.render_report(&mut out, &excerpt(diagnostic).without_label());
                continue;
            }
            let report = miette::Report::new(excerpt(diagnostic))
                .with_source_code(NamedSource::new(&name, self.text.clone()));
            // Writing to a String cannot fail.
            let _ = handler.render_report(&mut out, report.as_ref());
        }
        out
    }
}

/// Longest source line an excerpt shows; beyond it only the plain line and the help are printed.
const EXCERPT_LINE_MAX: usize = 400;

/// Whether the lines an excerpt shows (the span's lines and one on each side) are short enough
/// to print.
fn excerpt_fits(text: &str, span: &Range<usize>) -> bool {
    let (first, _) = line_column(text, span.start);
    let (last, _) = line_column(text, span.end);
    text.lines()
        .enumerate()
        .skip(first.saturating_sub(2))
        .take(last + 2 - first.saturating_sub(1))
        .all(|(_, line)| line.len() <= EXCERPT_LINE_MAX)
}

trait WithoutLabel {
    fn without_label(self) -> Self;
}

impl WithoutLabel for MietteDiagnostic {
    fn without_label(mut self) -> Self {
        self.labels = None;
        self
    }
}

/// The miette view of a diagnostic: the message as the header, the key under the caret.
fn excerpt(diagnostic: &Diagnostic) -> MietteDiagnostic {
    let label = (!diagnostic.key.is_empty()).then(|| diagnostic.key.clone());
    let excerpt = MietteDiagnostic::new(diagnostic.message.clone())
        .with_label(LabeledSpan::new_with_span(label, diagnostic.span.clone()));
    match &diagnostic.help {
        Some(help) => excerpt.with_help(help.clone()),
        None => excerpt,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.plain_lines().join("\n"))
    }
}

impl std::error::Error for ScenarioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ScenarioErrorKind::Io(error) => Some(error),
            ScenarioErrorKind::Syntax(syntax) => syntax
                .error
                .as_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            ScenarioErrorKind::Invalid(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case("ab\ncd", 0 => (1, 1); "start")]
    #[test_case("ab\ncd", 1 => (1, 2); "same line")]
    #[test_case("ab\ncd", 3 => (2, 1); "after newline")]
    #[test_case("ab\ncd", 99 => (2, 3); "past the end")]
    #[test_case("é\nxé=", 6 => (2, 3); "columns count characters")]
    fn line_column_is_one_based(text: &str, offset: usize) -> (usize, usize) {
        line_column(text, offset)
    }

    #[test]
    fn render_without_color_has_plain_line_caret_and_help() {
        let error = ScenarioError::new(
            "dir/x.toml".into(),
            "[a]\nb = 11\n".into(),
            ScenarioErrorKind::Invalid(vec![Diagnostic {
                span: 8..10,
                key: "a.b".into(),
                message: "11 is out of range".into(),
                help: Some("b takes an integer from 1 to 10".into()),
            }]),
        );
        let out = error.render(false);
        assert!(
            out.starts_with("error: dir/x.toml:2:5: a.b: 11 is out of range\n"),
            "{out}"
        );
        assert!(out.contains("[dir/x.toml:2:5]"), "{out}");
        assert!(
            out.contains("help: b takes an integer from 1 to 10"),
            "{out}"
        );
        assert!(
            !out.contains('\u{1b}'),
            "no ANSI escapes without color: {out}"
        );
    }

    #[test]
    fn io_errors_name_the_file() {
        let error = super::super::load(std::path::Path::new("no/such/file.toml")).unwrap_err();
        assert!(matches!(error.kind, ScenarioErrorKind::Io(_)));
        let out = error.render(true);
        assert!(
            out.starts_with("error: no/such/file.toml: cannot read"),
            "{out}"
        );
    }

    #[test]
    fn render_with_color_uses_ansi_escapes() {
        let error = ScenarioError::new(
            "x.toml".into(),
            "a = 1\n".into(),
            ScenarioErrorKind::Invalid(vec![Diagnostic {
                span: 4..5,
                key: "a".into(),
                message: "wrong".into(),
                help: None,
            }]),
        );
        assert!(error.render(true).contains('\u{1b}'));
    }
}
