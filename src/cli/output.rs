//! Writing to stdout without panicking on a closed pipe (`qsim list | head` exits quietly), and
//! to stderr.

use std::io::{self, Write};

/// Writes a line to stdout; returns false when the reader went away.
pub fn out(text: &str) -> bool {
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => false,
        Err(_) => false,
    }
}

/// Writes text as is (it carries its own newlines).
pub fn out_raw(text: &str) -> bool {
    if text.is_empty() {
        return true;
    }
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .is_ok()
}

pub fn err(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Where the human-readable summary of runs goes: stdout, or stderr when stdout carries the
/// machine-readable report (`--report -`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Human {
    Stdout,
    Stderr,
}

impl Human {
    /// As [`out`]: false when the reader went away.
    pub fn line(self, text: &str) -> bool {
        match self {
            Human::Stdout => out(text),
            Human::Stderr => {
                err(text);
                true
            }
        }
    }

    /// As [`out_raw`].
    pub fn raw(self, text: &str) -> bool {
        match self {
            Human::Stdout => out_raw(text),
            Human::Stderr => {
                let _ = io::stderr().lock().write_all(text.as_bytes());
                true
            }
        }
    }
}
