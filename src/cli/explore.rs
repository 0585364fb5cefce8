//! `qsim explore`: runs the sweep, prints each scenario as it completes, writes the JSON result,
//! and merges shards' results.

use std::path::{Path, PathBuf};

use super::output::{err, out};
use crate::exit::QsimExitCode;
use crate::explore::{self, Exploration, Plan};
use crate::report;
use crate::scenario::Scenario;

pub fn explore(scenarios: Vec<Scenario>, plan: &Plan, report: Option<&Path>) -> QsimExitCode {
    let profile = plan.profile.map(|p| p.as_str());
    let exploration = explore::explore(scenarios, plan, |tally| {
        out(&report::explore::scenario(tally, profile));
    });
    conclude(&exploration, report)
}

pub fn merge(results: &[PathBuf], report: Option<&Path>) -> QsimExitCode {
    let mut read = Vec::new();
    for path in results {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Exploration>(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(exploration) => read.push((path.display().to_string(), exploration)),
            Err(e) => {
                err(&format!("error: {}: {e}", path.display()));
                return QsimExitCode::BadInput;
            }
        }
    }
    match Exploration::merge(read) {
        Ok(merged) => {
            let profile = merged.profile.clone();
            for tally in &merged.scenarios {
                out(&report::explore::scenario(tally, profile.as_deref()));
            }
            conclude(&merged, report)
        }
        Err(e) => {
            err(&format!("error: {e}"));
            QsimExitCode::BadInput
        }
    }
}

fn conclude(exploration: &Exploration, report: Option<&Path>) -> QsimExitCode {
    out(&report::explore::totals(exploration));
    if let Some(path) = report {
        let json = serde_json::to_string_pretty(exploration).expect("plain data serializes");
        if let Err(e) = std::fs::write(path, json + "\n") {
            err(&format!("error: cannot write {}: {e}", path.display()));
            return QsimExitCode::BadInput;
        }
    }
    if exploration.passed() {
        QsimExitCode::Passed
    } else {
        QsimExitCode::CheckFailed
    }
}
