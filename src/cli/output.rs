//! Writing to stdout and stderr. A closed pipe ends the output quietly (`qsim list | head`); any
//! other failure to write stdout (a full disk, `> /dev/full`) is an error, never a silent pass.

use std::io::{self, Write};

use super::error::CliError;

/// Writes a line to stdout. `Ok(false)`: the reader went away, write no more.
pub(super) fn out(text: &str) -> Result<bool, CliError> {
    write_stdout(format!("{text}\n").as_bytes())
        .map_err(|e| CliError::output("writing to stdout", e))
}

/// Writes text as is (it carries its own newlines); `Ok(false)` as for [`out`].
pub(super) fn out_raw(text: &str) -> Result<bool, CliError> {
    if text.is_empty() {
        return Ok(true);
    }
    write_stdout(text.as_bytes()).map_err(|e| CliError::output("writing to stdout", e))
}

/// Writes `bytes` to stdout; `Ok(false)` when the reader went away (a broken pipe).
pub(super) fn write_stdout(bytes: &[u8]) -> io::Result<bool> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}

/// Writes a line to stderr; a failure there has nowhere left to be reported.
pub(super) fn err(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Where the human-readable summary of runs goes: stdout, or stderr when stdout carries the
/// machine-readable report (`--report -`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Human {
    Stdout,
    Stderr,
}

impl Human {
    /// As [`out`].
    pub(super) fn line(self, text: &str) -> Result<bool, CliError> {
        match self {
            Human::Stdout => out(text),
            Human::Stderr => {
                err(text);
                Ok(true)
            }
        }
    }

    /// As [`out_raw`].
    pub(super) fn raw(self, text: &str) -> Result<bool, CliError> {
        match self {
            Human::Stdout => out_raw(text),
            Human::Stderr => {
                let _ = io::stderr().lock().write_all(text.as_bytes());
                Ok(true)
            }
        }
    }
}
