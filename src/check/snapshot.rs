//! Snapshot files: insta's `.snap` format, so `cargo insta review` / `cargo insta accept` work on
//! what `qsim run` leaves pending, and `cargo test` (insta's own assertions) reads the same files.

use std::io;
use std::path::{Component, Path, PathBuf};

/// What comparing a projection with its snapshot found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStatus {
    Matched,
    /// `--seed` differs from the file's seed: the snapshot belongs to the file's seed.
    SkippedForSeed {
        file_seed: u64,
    },
    /// `--sim-profile` differs from the file's profile: the snapshot belongs to the file's.
    SkippedForProfile {
        file_profile: crate::sqs::envelope::Profile,
    },
    /// No snapshot yet: a pending one was written for review.
    Pending {
        path: PathBuf,
    },
    /// No snapshot and `CI` is set: a missing snapshot fails, as in insta.
    MissingInCi {
        path: PathBuf,
    },
    /// The run differs from the snapshot; a pending `.snap.new` was written next to it.
    Mismatch {
        diff: String,
        pending: Option<PathBuf>,
    },
    /// `--update-snapshots` (or INSTA_UPDATE=always) rewrote it.
    Updated {
        path: PathBuf,
    },
    /// Not compared: a run read back from a history (`qsim report`), which cannot tell the
    /// profile it ran under, or one whose consumers are child processes, which run on the wall
    /// clock (what they did when is the machine's timing, not the seed's).
    NotCompared,
}

impl SnapshotStatus {
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            SnapshotStatus::MissingInCi { .. } | SnapshotStatus::Mismatch { .. }
        )
    }
}

/// How to treat snapshots, from flags and the environment (`CI`, `INSTA_UPDATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// Compare; write `.snap.new` for new or changed snapshots (not in CI).
    Review,
    /// Compare; never write (CI).
    Never,
    /// Write `.snap` directly.
    Always,
}

impl UpdateMode {
    pub fn from_env(update_flag: bool) -> UpdateMode {
        let insta = std::env::var("INSTA_UPDATE").unwrap_or_default();
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        if update_flag || insta == "always" {
            UpdateMode::Always
        } else if ci || insta == "no" {
            UpdateMode::Never
        } else {
            UpdateMode::Review
        }
    }
}

/// The snapshot file of scenario `name`: `DIR/NAME.snap`.
pub fn path_for(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snap"))
}

/// The default snapshot folder for a scenario file: `snapshots/` beside its folder, however the
/// file is named (`scenarios.d/x.toml` from the repository, `x.toml` from inside `scenarios.d`).
pub fn default_dir(scenario_path: &Path) -> PathBuf {
    let folder = scenario_path.parent().unwrap_or(Path::new(""));
    match folder.components().next_back() {
        Some(Component::Normal(_)) => folder.parent().unwrap_or(Path::new("")).join("snapshots"),
        // The current folder (`x.toml`, `./x.toml`), `..` or the root: its parent has no
        // shorter name than `..` after it.
        _ => folder.join("..").join("snapshots"),
    }
}

/// The content of a `.snap` file without its header.
pub fn read_contents(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(strip_header(&text).to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn strip_header(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("---\n") else {
        return text;
    };
    match rest.find("\n---\n") {
        Some(end) => &rest[end + 5..],
        None => text,
    }
}

fn render_file(name: &str, contents: &str) -> String {
    format!(
        "---\nsource: qsim\nexpression: {name}\n---\n{}\n",
        contents.trim_end()
    )
}

/// Compares `contents` with the snapshot of `name` in `dir`, writing files as `mode` says.
pub fn compare(
    dir: &Path,
    name: &str,
    contents: &str,
    mode: UpdateMode,
) -> io::Result<SnapshotStatus> {
    let path = path_for(dir, name);
    let pending = path.with_extension("snap.new");
    let existing = read_contents(&path)?;
    if existing.as_deref().map(str::trim_end) == Some(contents.trim_end()) {
        if pending.exists() {
            std::fs::remove_file(&pending)?;
        }
        return Ok(SnapshotStatus::Matched);
    }
    if mode == UpdateMode::Always {
        std::fs::create_dir_all(dir)?;
        std::fs::write(&path, render_file(name, contents))?;
        return Ok(SnapshotStatus::Updated { path });
    }
    let write_pending = mode == UpdateMode::Review;
    if write_pending {
        std::fs::create_dir_all(dir)?;
        std::fs::write(&pending, render_file(name, contents))?;
    }
    Ok(match existing {
        None if write_pending => SnapshotStatus::Pending { path: pending },
        None => SnapshotStatus::MissingInCi { path },
        Some(old) => SnapshotStatus::Mismatch {
            diff: diff(&old, contents),
            pending: write_pending.then_some(pending),
        },
    })
}

/// A unified diff, `-` the snapshot, `+` this run.
pub fn diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old.trim_end(), new.trim_end())
        .unified_diff()
        .context_radius(3)
        .header("snapshot", "this run")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_folder_is_beside_the_scenario_folder_however_the_file_is_named() {
        let cases = [
            ("scenarios.d/x.toml", "snapshots"),
            ("scenarios.d/conformance/x.toml", "scenarios.d/snapshots"),
            ("/repo/scenarios.d/x.toml", "/repo/snapshots"),
            // From inside the scenario folder: its parent, not the folder itself.
            ("x.toml", "../snapshots"),
            ("./x.toml", "./../snapshots"),
            ("../scenarios.d/x.toml", "../snapshots"),
            ("../x.toml", "../../snapshots"),
        ];
        for (file, dir) in cases {
            assert_eq!(default_dir(Path::new(file)), Path::new(dir), "{file}");
        }
    }

    #[test]
    fn new_then_match_then_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let status = compare(dir.path(), "x", "a: 1\n", UpdateMode::Review).unwrap();
        assert!(
            matches!(status, SnapshotStatus::Pending { .. }),
            "{status:?}"
        );
        assert_eq!(
            compare(dir.path(), "x", "a: 1\n", UpdateMode::Never).unwrap(),
            SnapshotStatus::MissingInCi {
                path: path_for(dir.path(), "x")
            }
        );
        // Accept the pending one, as `cargo insta accept` would.
        std::fs::rename(dir.path().join("x.snap.new"), dir.path().join("x.snap")).unwrap();
        assert_eq!(
            compare(dir.path(), "x", "a: 1", UpdateMode::Never).unwrap(),
            SnapshotStatus::Matched
        );
        let SnapshotStatus::Mismatch {
            diff,
            pending: None,
        } = compare(dir.path(), "x", "a: 2\n", UpdateMode::Never).unwrap()
        else {
            panic!("expected a mismatch");
        };
        assert!(diff.contains("-a: 1") && diff.contains("+a: 2"), "{diff}");
    }

    #[test]
    fn reads_insta_written_headers() {
        let text =
            "---\nsource: tests/all/scenarios.rs\nexpression: projection\n---\nscenario: happy\n";
        assert_eq!(strip_header(text), "scenario: happy\n");
    }
}
