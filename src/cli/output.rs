//! Writing to stdout without panicking on a closed pipe (`qsim list | head` exits quietly).

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
