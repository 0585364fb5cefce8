//! JUnit XML, one test case per scenario, for CI systems that render it.

use std::fmt::Write as _;

use crate::report::summary;
use crate::runner::{RunResult, ScenarioRun};

pub fn render(runs: &[ScenarioRun]) -> String {
    let failures = runs.iter().filter(|r| !r.passed()).count();
    let skipped = runs
        .iter()
        .filter(|r| matches!(r.result, RunResult::Skipped { .. }))
        .count();
    let time: f64 = runs.iter().map(|r| r.wall.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"qsim\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">",
        runs.len()
    );
    for run in runs {
        let _ = write!(
            out,
            "  <testcase classname=\"qsim.{}\" name=\"{}\" time=\"{:.3}\"",
            run.backend,
            escape(&run.scenario.name),
            run.wall.as_secs_f64()
        );
        if let RunResult::Skipped { .. } = run.result {
            let _ = writeln!(
                out,
                ">\n    <skipped message=\"{}\"/>\n  </testcase>",
                escape(&summary::line(run))
            );
        } else if run.passed() {
            out.push_str("/>\n");
        } else {
            let _ = writeln!(
                out,
                ">\n    <failure message=\"{}\">{}</failure>\n  </testcase>",
                escape(&summary::line(run)),
                escape(&summary::details(run))
            );
        }
    }
    out.push_str("</testsuite>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
