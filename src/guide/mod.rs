//! The executable guide (`docs/guide/`): chapters in Markdown whose scenario listings, results,
//! timeline pictures and claims come from real runs on the simulator, so what the guide says
//! cannot drift from what qsim does. `qsim guide build` rewrites what is stale; `qsim guide check`
//! and a test fail when anything is stale, a claim no longer holds, or a scenario of
//! `scenarios.d/` is in no chapter or in two.
//!
//! Blocks are HTML comments, invisible on a repository browser and in the rendered book:
//! - `<!-- qsim:scenario FILE -->` … `<!-- /qsim:scenario -->`: the file, verbatim, as TOML (the
//!   guide never holds a hand-made copy);
//! - `<!-- qsim:run FILE [story=ID] -->` … `<!-- /qsim:run -->`: the run of the file as it is
//!   (its seed, its profile): verdict, each expectation with its actual value, the timeline
//!   picture (`img/NAME.svg`), the explanation of any failed check and, with `story=ID`, the
//!   events that made message ID's fate;
//! - `<!-- qsim:claim FILE verdict=pass METRIC=VALUE ... -->`: what the prose next to it states
//!   (a value, or a comparison as `[expect]` writes it: `api_calls=>1000`),
//!   checked against the same run.
//!
//! Every scenario file has exactly one `run` block, and every block naming a file sits in that
//! chapter: each scenario is in exactly one chapter.

mod blocks;
mod render;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use blocks::{Block, BlockKind};

use crate::runner::{RunOptions, RunResult, ScenarioRun};

/// The book's Markdown sources, relative to the repository root.
pub const SOURCE_DIR: &str = "docs/guide/src";
/// The pictures, relative to [`SOURCE_DIR`].
const PICTURES: &str = "img";
/// The scenario catalog, relative to the repository root; its subfolders of scenario files
/// (the conformance set) belong to the guide too.
const SCENARIOS: &str = "scenarios.d";

#[derive(Debug, thiserror::Error)]
pub enum GuideError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// Something the guide states or covers that does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `docs/guide/src/idempotency.md:42`, or the scenario file.
    pub place: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

/// A file of the guide as it is and as the runs say it should be (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the repository root.
    pub path: PathBuf,
    pub current: Option<String>,
    pub fresh: Option<String>,
}

impl FileChange {
    pub fn is_stale(&self) -> bool {
        self.current != self.fresh
    }
}

/// The guide regenerated from fresh runs: every file it owns, and what does not hold.
#[derive(Debug)]
pub struct Refresh {
    repo: PathBuf,
    pub files: Vec<FileChange>,
    pub problems: Vec<Problem>,
}

impl Refresh {
    pub fn stale(&self) -> impl Iterator<Item = &FileChange> {
        self.files.iter().filter(|f| f.is_stale())
    }

    /// Writes every stale file (deleting pictures no block uses any more).
    pub fn write(&self) -> Result<usize, GuideError> {
        let mut written = 0;
        for change in self.stale() {
            let path = self.repo.join(&change.path);
            let result = match &change.fresh {
                Some(text) => path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::write(&path, text)),
                None => std::fs::remove_file(&path),
            };
            result.map_err(|source| GuideError::Write { path, source })?;
            written += 1;
        }
        Ok(written)
    }
}

/// Runs every scenario the guide under `repo` names and regenerates its blocks and pictures in
/// memory; nothing is written.
pub fn refresh(repo: &Path) -> Result<Refresh, GuideError> {
    let source = repo.join(SOURCE_DIR);
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| GuideError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let chapters = markdown_files(&source)?;
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for path in &chapters {
        let text = read(path)?;
        let relative = relative_to(repo, path);
        match blocks::parse(&text) {
            Ok(blocks) => parsed.push((relative, text, blocks)),
            Err(error) => problems.push(Problem {
                place: format!("{}:{}", relative.display(), error.line),
                message: error.message,
            }),
        }
    }

    let catalog = scenario_files(repo)?;
    problems.extend(coverage(&catalog, &parsed));

    let mut runs = Runs::new(repo);
    let mut files = Vec::new();
    let mut pictures = BTreeMap::new();
    for (chapter, text, blocks) in &parsed {
        let mut block_problems = Vec::new();
        let fresh = blocks::splice(text, blocks, |block| {
            let place = format!("{}:{}", chapter.display(), block.line);
            let generated = match block.kind {
                BlockKind::Scenario => read(&repo.join(&block.file))
                    .map(|t| render::scenario_listing(&t))
                    .map_err(|e| e.to_string()),
                BlockKind::Run if runs_child_processes(repo, &block.file) => {
                    Ok(render::child_process_note(
                        &block.file,
                        needs_served_history(repo, &block.file),
                    ))
                }
                BlockKind::Run => {
                    let picture = picture_name(&block.file);
                    runs.get(&block.file).map_err(Clone::clone).and_then(|run| {
                        if let RunResult::Finished(finished) = &run.result {
                            pictures.insert(
                                picture.clone(),
                                crate::report::html::timeline_picture(&finished.outcome),
                            );
                        }
                        render::run_block(
                            run,
                            &block.file,
                            &format!("{PICTURES}/{picture}"),
                            block.argument("story"),
                        )
                    })
                }
                BlockKind::Claim => Ok(String::new()),
            };
            generated.unwrap_or_else(|message| {
                block_problems.push(Problem { place, message });
                String::new()
            })
        });
        for block in blocks.iter().filter(|b| b.kind == BlockKind::Claim) {
            let place = format!("{}:{}", chapter.display(), block.line);
            match runs.get(&block.file) {
                Ok(run) => {
                    block_problems.extend(render::check_claim(run, &block.arguments, &place))
                }
                Err(message) => block_problems.push(Problem {
                    place,
                    message: message.clone(),
                }),
            }
        }
        problems.extend(block_problems);
        files.push(FileChange {
            path: chapter.clone(),
            current: Some(text.clone()),
            fresh: Some(fresh),
        });
    }

    let picture_dir = source.join(PICTURES);
    let mut existing = BTreeMap::new();
    if picture_dir.is_dir() {
        for path in list(&picture_dir)? {
            if path.extension().is_some_and(|e| e == "svg") {
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                existing.insert(name, read(&path)?);
            }
        }
    }
    let names: std::collections::BTreeSet<String> =
        existing.keys().chain(pictures.keys()).cloned().collect();
    for name in names {
        files.push(FileChange {
            path: relative_to(repo, &picture_dir.join(&name)),
            current: existing.remove(&name),
            fresh: pictures.remove(&name),
        });
    }
    Ok(Refresh {
        repo: repo.to_owned(),
        files,
        problems,
    })
}

/// Each scenario file in exactly one chapter, with exactly one run block.
fn coverage(catalog: &[String], parsed: &[(PathBuf, String, Vec<Block>)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut run_in: BTreeMap<&str, Vec<(&Path, usize)>> = BTreeMap::new();
    for (chapter, _, blocks) in parsed {
        for block in blocks {
            if !catalog.contains(&block.file) {
                problems.push(Problem {
                    place: format!("{}:{}", chapter.display(), block.line),
                    message: format!(
                        "`{}` is not a scenario file of {SCENARIOS}/ (paths are relative to the repository root)",
                        block.file
                    ),
                });
            }
            if block.kind == BlockKind::Run {
                run_in
                    .entry(&block.file)
                    .or_default()
                    .push((chapter, block.line));
            }
        }
    }
    for file in catalog {
        match run_in.get(file.as_str()).map(Vec::as_slice) {
            None | Some([]) => problems.push(Problem {
                place: file.clone(),
                message:
                    "in no chapter: give it a `qsim:run` block in the chapter of its failure mode"
                        .to_owned(),
            }),
            Some([_]) => {}
            Some(many) => problems.push(Problem {
                place: file.clone(),
                message: format!(
                    "has {} `qsim:run` blocks ({}): one chapter tells each scenario",
                    many.len(),
                    many.iter()
                        .map(|(c, l)| format!("{}:{l}", c.display()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    for (chapter, _, blocks) in parsed {
        for block in blocks.iter().filter(|b| b.kind != BlockKind::Run) {
            if let Some([(home, _)]) = run_in.get(block.file.as_str()).map(Vec::as_slice) {
                if home != chapter {
                    problems.push(Problem {
                        place: format!("{}:{}", chapter.display(), block.line),
                        message: format!(
                            "`{}` is told in {}: a scenario belongs to one chapter (link to it instead)",
                            block.file,
                            home.display()
                        ),
                    });
                }
            }
        }
    }
    problems
}

/// Runs each scenario once, however many blocks name it.
struct Runs<'a> {
    repo: &'a Path,
    done: BTreeMap<String, Result<ScenarioRun, String>>,
}

impl<'a> Runs<'a> {
    fn new(repo: &'a Path) -> Self {
        Runs {
            repo,
            done: BTreeMap::new(),
        }
    }

    fn get(&mut self, file: &str) -> Result<&ScenarioRun, &String> {
        let repo = self.repo;
        self.done
            .entry(file.to_owned())
            .or_insert_with(|| {
                let mut scenario =
                    crate::scenario::load(&repo.join(file)).map_err(|e| e.render(false))?;
                // Reports and reproduce commands name the file as the guide does.
                scenario.path = PathBuf::from(file);
                Ok(crate::runner::run_scenario(
                    scenario,
                    &RunOptions::default(),
                ))
            })
            .as_ref()
    }
}

/// Whether `file`'s consumers are child processes (a file that does not load is run, and its
/// run reports why).
fn runs_child_processes(repo: &Path, file: &str) -> bool {
    crate::scenario::load(&repo.join(file)).is_ok_and(|s| s.runs_child_processes())
}

/// Whether the scenario needs what only the simulator served to its `command` consumers does
/// (record their receives, strike faults into their calls), so another endpoint skips it.
fn needs_served_history(repo: &Path, file: &str) -> bool {
    crate::scenario::load(&repo.join(file)).is_ok_and(|s| s.needs_command_calls())
}

/// `scenarios.d/conformance/long-poll.toml` → `conformance-long-poll.svg`.
fn picture_name(file: &str) -> String {
    let stem = file.strip_prefix(SCENARIOS).unwrap_or(file);
    let stem = stem.trim_start_matches('/');
    let stem = stem.strip_suffix(".toml").unwrap_or(stem);
    format!("{}.svg", stem.replace('/', "-"))
}

/// Every scenario file of the catalog and its subfolders, relative to the repository root.
fn scenario_files(repo: &Path) -> Result<Vec<String>, GuideError> {
    let root = repo.join(SCENARIOS);
    let discover = |dir: &Path| {
        crate::scenario::discover(dir).map_err(|source| GuideError::Read {
            path: dir.to_owned(),
            source,
        })
    };
    let mut files = discover(&root)?;
    for path in list(&root)? {
        if path.is_dir() {
            files.extend(discover(&path)?);
        }
    }
    Ok(files
        .iter()
        .map(|f| relative_to(repo, f).to_string_lossy().replace('\\', "/"))
        .collect())
}

fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>, GuideError> {
    let mut files = list(dir)?;
    files.retain(|p| p.extension().is_some_and(|e| e == "md"));
    Ok(files)
}

/// The entries of `dir`, sorted.
fn list(dir: &Path) -> Result<Vec<PathBuf>, GuideError> {
    let unreadable = |source| GuideError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut paths = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|entry| entry.map(|e| e.path()).map_err(unreadable))
        .collect::<Result<Vec<_>, _>>()?;
    paths.sort();
    Ok(paths)
}

fn relative_to(repo: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(repo).unwrap_or(path).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_named_after_the_file_path_under_the_catalog() {
        assert_eq!(picture_name("scenarios.d/dup.toml"), "dup.svg");
        assert_eq!(
            picture_name("scenarios.d/conformance/long-poll.toml"),
            "conformance-long-poll.svg"
        );
    }

    fn chapter(name: &str, text: &str) -> (PathBuf, String, Vec<Block>) {
        (
            PathBuf::from(name),
            text.to_owned(),
            blocks::parse(text).unwrap(),
        )
    }

    #[test]
    fn coverage_wants_each_scenario_told_in_exactly_one_chapter() {
        let catalog = [
            "scenarios.d/a.toml",
            "scenarios.d/b.toml",
            "scenarios.d/c.toml",
        ]
        .map(String::from);
        let run = |f: &str| format!("<!-- qsim:run {f} -->\n<!-- /qsim:run -->\n");
        let parsed = [
            chapter(
                "one.md",
                &format!("{}{}", run("scenarios.d/a.toml"), run("scenarios.d/b.toml")),
            ),
            chapter(
                "two.md",
                &format!(
                    "{}<!-- qsim:claim scenarios.d/a.toml lost=0 -->\n<!-- qsim:claim scenarios.d/x.toml lost=0 -->",
                    run("scenarios.d/b.toml")
                ),
            ),
        ];
        let problems = coverage(&catalog, &parsed);
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        for expected in [
            "scenarios.d/c.toml: in no chapter",
            "scenarios.d/b.toml: has 2 `qsim:run` blocks",
            "two.md:3: `scenarios.d/a.toml` is told in one.md",
            "two.md:4: `scenarios.d/x.toml` is not a scenario file",
        ] {
            assert!(
                text.iter().any(|p| p.starts_with(expected)),
                "{expected}: {text:#?}"
            );
        }
        assert_eq!(problems.len(), 4, "{text:#?}");
    }
}
