//! `qsim explore`: runs the sweep, prints each scenario as it completes, writes the JSON result,
//! and merges shards' results.

use std::path::{Path, PathBuf};

use super::error::{CliError, CliErrorKind};
use super::output::out;
use crate::check::snapshot::UpdateMode;
use crate::exit::QsimExitCode;
use crate::explore::{self, Exploration, Plan};
use crate::report;
use crate::runner::{self, RunOptions, ScenarioRun};
use crate::scenario::Scenario;

pub(super) fn explore(
    scenarios: Vec<Scenario>,
    plan: &Plan,
    report: Option<&Path>,
    html: Option<&Path>,
) -> Result<QsimExitCode, CliError> {
    if let Some(path) = html {
        // Before the work, so a typo in the path fails at once.
        std::fs::File::create(path)
            .map_err(|e| CliError::output(format!("cannot write {}", path.display()), e))?;
    }
    // Consumers that are processes run on the wall clock, one real run at a time: a thousand
    // seeds of them would take hours, and seeds do not decide their timing anyway.
    let (processes, scenarios): (Vec<Scenario>, Vec<Scenario>) = scenarios
        .into_iter()
        .partition(Scenario::runs_child_processes);
    for scenario in &processes {
        super::output::err(&format!(
            "qsim: skipping {}: its consumers are child processes, which run in real time; \
             explore runs the simulator's virtual time (`qsim run` runs it once)",
            scenario.name
        ));
    }
    if scenarios.is_empty() && !processes.is_empty() {
        return Err(CliErrorKind::NothingToExplore.into());
    }
    let profile = plan.profile.map(|p| p.as_str());
    let mut printed = Ok(true);
    let kept = html.map(|_| scenarios.clone());
    let exploration = explore::explore(scenarios, plan, |tally| {
        if matches!(printed, Ok(true)) {
            printed = out(&report::explore::scenario(tally, profile));
        }
    });
    printed?;
    if let (Some(path), Some(scenarios)) = (html, kept) {
        let runs = first_failures(&exploration, scenarios, plan);
        std::fs::write(path, report::html::render_exploration(&exploration, &runs))
            .map_err(|e| CliError::output(format!("writing {}", path.display()), e))?;
    }
    conclude(&exploration, report)
}

/// Each failing scenario's first failing seed, run again (a seed's run is deterministic) for
/// its full report.
fn first_failures(
    exploration: &Exploration,
    scenarios: Vec<Scenario>,
    plan: &Plan,
) -> Vec<ScenarioRun> {
    let mut scenarios: Vec<Option<Scenario>> = scenarios.into_iter().map(Some).collect();
    exploration
        .scenarios
        .iter()
        .filter_map(|tally| {
            let seed = tally.failures.iter().map(|f| f.first_seed).min()?;
            let scenario = scenarios
                .iter_mut()
                .find(|s| s.as_ref().is_some_and(|s| s.name == tally.name))?
                .take()?;
            let options = RunOptions {
                seed: Some(seed),
                profile: plan.profile,
                update: UpdateMode::Never,
                ..RunOptions::default()
            };
            Some(runner::run_scenario(scenario, &options))
        })
        .collect()
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
