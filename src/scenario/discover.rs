//! A folder of scenario files (`scenarios.d/`): which files belong to it.

use std::io;
use std::path::{Path, PathBuf};

/// Every `*.toml` file directly in `dir`, sorted by file name.
pub fn discover(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    files.sort();
    Ok(files)
}
