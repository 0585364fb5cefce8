//! `qsim explore`: runs the sweep, prints each scenario as it completes, writes the JSON result,
//! and merges shards' results.

use std::path::{Path, PathBuf};

use super::error::{CliError, CliErrorKind};
use super::output::out;
use crate::exit::QsimExitCode;
use crate::explore::{self, Exploration, Plan};
use crate::report;
use crate::scenario::Scenario;

pub(super) fn explore(
    scenarios: Vec<Scenario>,
    plan: &Plan,
    report: Option<&Path>,
) -> Result<QsimExitCode, CliError> {
    let profile = plan.profile.map(|p| p.as_str());
    let mut printed = Ok(true);
    let exploration = explore::explore(scenarios, plan, |tally| {
        if matches!(printed, Ok(true)) {
            printed = out(&report::explore::scenario(tally, profile));
        }
    });
    printed?;
    conclude(&exploration, report)
}

pub(super) fn merge(results: &[PathBuf], report: Option<&Path>) -> Result<QsimExitCode, CliError> {
    let mut read = Vec::new();
    for path in results {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Exploration>(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(exploration) => read.push((path.display().to_string(), exploration)),
            Err(reason) => {
                let path = path.clone();
                return Err(CliErrorKind::ExplorationResult { path, reason }.into());
            }
        }
    }
    let merged = Exploration::merge(read).map_err(CliErrorKind::Merge)?;
    for tally in &merged.scenarios {
        if !out(&report::explore::scenario(tally, merged.profile.as_deref()))? {
            break;
        }
    }
    conclude(&merged, report)
}

fn conclude(exploration: &Exploration, report: Option<&Path>) -> Result<QsimExitCode, CliError> {
    out(&report::explore::totals(exploration))?;
    if let Some(path) = report {
        let json = serde_json::to_string_pretty(exploration).expect("plain data serializes");
        std::fs::write(path, json + "\n").map_err(|e| {
            CliError::output(format!("writing the result to {}", path.display()), e)
        })?;
    }
    Ok(if exploration.passed() {
        QsimExitCode::Passed
    } else {
        QsimExitCode::CheckFailed
    })
}
