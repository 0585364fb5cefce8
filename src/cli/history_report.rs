//! `qsim report EVENTS.jsonl -o FILE.html`: the HTML report of a run from its history.

use std::path::Path;

use super::error::{CliError, CliErrorKind};
use super::output::out;
use crate::exit::QsimExitCode;
use crate::report::history;
use crate::scenario::{self, Scenario};

/// Where `qsim report` looks for the scenario of a history when no `--scenario` names it.
const SCENARIO_DIR: &str = "scenarios.d";

pub(super) fn report(
    events: &Path,
    output: &Path,
    scenario_file: Option<&Path>,
    limits: &scenario::Limits,
) -> Result<QsimExitCode, CliError> {
    // Before the work, so a typo in the output path fails at once.
    std::fs::File::create(output)
        .map_err(|e| CliError::output(format!("cannot write {}", output.display()), e))?;
    let text = history::read(events).map_err(CliErrorKind::History)?;
    let header = history::header(events, &text).map_err(CliErrorKind::History)?;
    let scenario = match scenario_file {
        Some(file) => {
            scenario::load_with(file, limits).map_err(|e| CliErrorKind::Scenarios(vec![e]))?
        }
        None => find_scenario(&header.scenario, limits)?,
    };
    let outcome = history::outcome(events, &text, &scenario).map_err(CliErrorKind::History)?;
    let run = crate::runner::from_history(scenario, outcome);
    std::fs::write(
        output,
        crate::report::html::render(std::slice::from_ref(&run)),
    )
    .map_err(|e| CliError::output(format!("writing {}", output.display()), e))?;
    out(&format!(
        "wrote {} ({} of scenario {}, seed {})",
        output.display(),
        if run.passed() {
            "a passing run"
        } else {
            "a failing run"
        },
        run.scenario.name,
        run.seed
    ))?;
    Ok(QsimExitCode::Passed)
}

/// The scenario named `name` in [`SCENARIO_DIR`].
fn find_scenario(name: &str, limits: &scenario::Limits) -> Result<Scenario, CliError> {
    let dir = Path::new(SCENARIO_DIR);
    let files = scenario::discover(dir).unwrap_or_default();
    for file in files {
        // Other files' mistakes are not this command's concern: only the one named matters.
        if let Ok(found) = scenario::load_with(&file, limits)
            && found.name == name
        {
            return Ok(found);
        }
    }
    Err(CliErrorKind::HistoryScenario {
        name: name.to_owned(),
        dir: dir.to_owned(),
    }
    .into())
}
