//! The command line's one error type: why a command could not do its work, and the exit code
//! ([`crate::exit`]) that says so. Commands return it; only [`super::main`] prints it.
//!
//! What a command finds (a failed check, a failed run, an interrupt) is its result, not an
//! error: the summary reports it and the command returns its exit code.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::backend::BackendError;
use crate::backend::aws::CleanupFailure;
use crate::exit::QsimExitCode;
use crate::explore::MergeError;
use crate::guide::GuideError;
use crate::infra::{DuplicateScenario, InfraError};
use crate::report::history::HistoryError;
use crate::report::summary::error_chain;
use crate::scenario::ScenarioError;
use crate::serve::ServeError;

#[derive(Debug)]
pub(crate) struct CliError {
    pub kind: CliErrorKind,
}

#[derive(Debug)]
pub(crate) enum CliErrorKind {
    /// Scenario files that did not load: every file's diagnostics, not only the first file's.
    Scenarios(Vec<ScenarioError>),
    /// Two scenario files share a name, and names name snapshots.
    DuplicateName {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// A scenario folder could not be listed.
    ReadDir { dir: PathBuf, source: io::Error },
    /// `run-all --tag` matched no scenario of the folder.
    NoMatch { dir: PathBuf, tags: Vec<String> },
    /// `explore` was given only scenarios whose consumers are child processes.
    NothingToExplore,
    /// `--resources` without `--backend aws`.
    ResourcesNeedAws,
    /// The resources file did not load, or has no usable resources for some scenarios.
    Resources(Vec<InfraError>),
    /// `infra tfvars`: two scenarios would get the same Terraform resources.
    Tfvars(DuplicateScenario),
    /// An output (stdout, a report, a file) could not be created or written; `doing` says
    /// which, as in "writing the report to out.json". A closed pipe is no error.
    Output { doing: String, source: io::Error },
    /// The backend failed outside any scenario run (cleanup, bench).
    Backend(BackendError),
    /// The runtime for calls to AWS could not start.
    Runtime(io::Error),
    /// Cleanup could not delete these (what it did delete is in its report on stdout).
    CleanupIncomplete(Vec<CleanupFailure>),
    /// `explore --merge`: a result file that did not read as an exploration.
    ExplorationResult { path: PathBuf, reason: String },
    /// `explore --merge`: results that are not the shards of one exploration.
    Merge(MergeError),
    /// `guide`: a chapter or picture of docs/guide/ could not be read or written.
    Guide(GuideError),
    /// `qsim report`: a history that does not read (its line and column, why).
    History(HistoryError),
    /// `qsim report` without `--scenario`: no scenario of that name in the folder searched.
    HistoryScenario { name: String, dir: PathBuf },
    /// `qsim serve` could not start (the port is taken, the history file cannot be created) or
    /// stop cleanly.
    Serve(ServeError),
    /// `qsim consume --scenario FILE --group NAME`: a group whose instances are not qsim's
    /// built-in consumer (`command`).
    NotBuiltIn { group: String },
    /// `qsim exec-child`: the program could not be started.
    ExecChild(crate::engine::child::ExecChildError),
}

impl CliError {
    /// An output that could not be created or written, `doing` saying which.
    pub(crate) fn output(doing: impl Into<String>, source: io::Error) -> CliError {
        CliErrorKind::Output {
            doing: doing.into(),
            source,
        }
        .into()
    }

    /// The exit code this error ends `qsim` with.
    pub(crate) fn code(&self) -> QsimExitCode {
        match self.kind {
            CliErrorKind::Scenarios(_)
            | CliErrorKind::DuplicateName { .. }
            | CliErrorKind::ReadDir { .. }
            | CliErrorKind::NoMatch { .. }
            | CliErrorKind::NothingToExplore
            | CliErrorKind::ResourcesNeedAws
            | CliErrorKind::Resources(_)
            | CliErrorKind::Tfvars(_)
            | CliErrorKind::Output { .. }
            | CliErrorKind::ExplorationResult { .. }
            | CliErrorKind::Merge(_)
            | CliErrorKind::Guide(_)
            | CliErrorKind::History(_)
            | CliErrorKind::HistoryScenario { .. }
            | CliErrorKind::NotBuiltIn { .. }
            | CliErrorKind::Serve(ServeError::Bind { .. } | ServeError::CreateHistory { .. }) => {
                QsimExitCode::BadInput
            }
            CliErrorKind::Serve(_) => QsimExitCode::BackendError,
            CliErrorKind::ExecChild(_) => QsimExitCode::CannotExec,
            CliErrorKind::Backend(_)
            | CliErrorKind::Runtime(_)
            | CliErrorKind::CleanupIncomplete(_) => QsimExitCode::BackendError,
        }
    }

    /// What stderr shows: one `error:` line per problem, scenario diagnostics with their source
    /// excerpt (in color when `color`).
    pub(crate) fn render(&self, color: bool) -> String {
        let lines: Vec<String> = match &self.kind {
            CliErrorKind::Scenarios(errors) => {
                return errors
                    .iter()
                    .map(|e| e.render(color))
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            CliErrorKind::DuplicateName {
                name,
                first,
                second,
            } => vec![format!(
                "{} and {} are both named `{name}` (names must be unique: they name snapshots)",
                first.display(),
                second.display()
            )],
            CliErrorKind::ReadDir { dir, source } => {
                vec![format!("cannot read {}: {source}", dir.display())]
            }
            CliErrorKind::NoMatch { dir, tags } => vec![format!(
                "no scenario in {} matches tags {tags:?}",
                dir.display()
            )],
            CliErrorKind::NothingToExplore => vec![
                "nothing to explore: every scenario given runs child-process consumers, which \
                 `qsim run` runs in real time"
                    .to_owned(),
            ],
            CliErrorKind::ResourcesNeedAws => vec!["--resources needs --backend aws".to_owned()],
            CliErrorKind::Resources(errors) => errors.iter().map(|e| error_chain(e)).collect(),
            CliErrorKind::Tfvars(e) => vec![e.to_string()],
            CliErrorKind::Output { doing, source } => vec![format!("{doing}: {source}")],
            CliErrorKind::Backend(e) => vec![error_chain(e)],
            CliErrorKind::Runtime(e) => vec![e.to_string()],
            CliErrorKind::ExplorationResult { path, reason } => {
                vec![format!("{}: {reason}", path.display())]
            }
            CliErrorKind::Merge(e) => vec![e.to_string()],
            CliErrorKind::Guide(e) => vec![e.to_string()],
            CliErrorKind::History(e) => vec![e.to_string()],
            CliErrorKind::NotBuiltIn { group } => vec![format!(
                "group `{group}` runs its own `command`, not qsim's built-in consumer: `qsim consume` runs the built-in one (pick another group, or run the command yourself)"
            )],
            CliErrorKind::ExecChild(error) => vec![format!("qsim exec-child: {error}")],
            CliErrorKind::HistoryScenario { name, dir } => vec![format!(
                "the history is a run of scenario `{name}`, which is not in {}: name its file with --scenario FILE",
                dir.display()
            )],
            CliErrorKind::Serve(e) => vec![error_chain(e)],
            CliErrorKind::CleanupIncomplete(failures) => failures
                .iter()
                .map(|failure| {
                    format!(
                        "{} {}: {}",
                        failure.resource.kind.as_str(),
                        failure.resource.name,
                        error_chain(&failure.error)
                    )
                })
                .collect(),
        };
        let lines: Vec<String> = lines.iter().map(|l| format!("error: {l}")).collect();
        lines.join("\n")
    }
}

impl From<CliErrorKind> for CliError {
    fn from(kind: CliErrorKind) -> Self {
        CliError { kind }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// The message renders the whole cause chain, so no `source` is exposed to be rendered twice.
impl std::error::Error for CliError {}
