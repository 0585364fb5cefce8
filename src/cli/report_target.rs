//! `--report`: where the JSON report goes. The file is created before any scenario runs, so an
//! unwritable path fails at once instead of after a long run.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::output::{Human, write_stdout};

pub(super) enum ReportTarget {
    /// `--report -`: the report owns stdout; the human summary moves to stderr.
    Stdout,
    File {
        path: PathBuf,
        file: File,
    },
}

impl ReportTarget {
    /// `-` is stdout; anything else is created (or truncated) now.
    pub(super) fn open(path: &Path) -> io::Result<ReportTarget> {
        if path == Path::new("-") {
            return Ok(ReportTarget::Stdout);
        }
        let file = File::create(path)?;
        Ok(ReportTarget::File {
            path: path.to_owned(),
            file,
        })
    }

    /// Where the human summary goes when the report goes here.
    pub(super) fn human(&self) -> Human {
        match self {
            ReportTarget::Stdout => Human::Stderr,
            ReportTarget::File { .. } => Human::Stdout,
        }
    }

    /// Shown in error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            ReportTarget::Stdout => "stdout".to_owned(),
            ReportTarget::File { path, .. } => path.display().to_string(),
        }
    }

    /// Writes the rendered report. A closed stdout is not an error (`qsim ... --report - | head`).
    pub(super) fn write(self, json: &str) -> io::Result<()> {
        match self {
            ReportTarget::Stdout => write_stdout(json.as_bytes()).map(drop),
            ReportTarget::File { mut file, .. } => {
                file.write_all(json.as_bytes())?;
                file.flush()
            }
        }
    }
}
