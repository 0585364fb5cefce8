//! JUnit XML, one test case per scenario, for CI systems that render it; each finished case
//! carries every metric's whole-run value as a `metric.NAME` property.

use std::fmt::Write as _;

use crate::report::summary;
use crate::runner::{RunResult, ScenarioRun};

pub(crate) fn render(runs: &[ScenarioRun]) -> String {
    // JUnit has no "interrupted": stopped and never-started runs are reported as skipped, with
    // the reason, so an interrupted run is not counted as a failure.
    let skips = |r: &ScenarioRun| {
        r.interrupted_or_not_started() || matches!(r.result, RunResult::Skipped { .. })
    };
    let failures = runs.iter().filter(|r| !r.passed() && !skips(r)).count();
    let skipped = runs.iter().filter(|r| skips(r)).count();
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
        let mut body = properties(run);
        if skips(run) {
            let _ = writeln!(
                body,
                "    <skipped message=\"{}\"/>",
                escape(&summary::line(run))
            );
        } else if !run.passed() {
            let _ = writeln!(
                body,
                "    <failure message=\"{}\">{}</failure>",
                escape(&summary::line(run)),
                escape(&summary::details(run))
            );
        }
        if body.is_empty() {
            out.push_str("/>\n");
        } else {
            let _ = write!(out, ">\n{body}  </testcase>\n");
        }
    }
    out.push_str("</testsuite>\n");
    out
}

/// `<properties>` with every metric's whole-run value (`metric.NAME`); empty when the run did not
/// finish.
fn properties(run: &ScenarioRun) -> String {
    let RunResult::Finished(finished) = &run.result else {
        return String::new();
    };
    let mut out = String::from("    <properties>\n");
    for (metric, value) in summary::metric_values(finished) {
        let _ = writeln!(
            out,
            "      <property name=\"metric.{}\" value=\"{}\"/>",
            metric.name(),
            escape(&value.to_string())
        );
    }
    out.push_str("    </properties>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{self, RunOptions};
    use crate::scenario::{self, Metric, MetricDef};

    #[test]
    fn each_finished_case_has_every_metric_as_a_property() {
        let scenario = scenario::load(std::path::Path::new("scenarios.d/happy.toml")).unwrap();
        let run = runner::run_scenario(scenario, &RunOptions::default());
        assert!(run.passed());
        let xml = render(std::slice::from_ref(&run));
        assert_eq!(
            xml.matches("<property ").count(),
            Metric::ALL.len(),
            "{xml}"
        );
        for MetricDef { name, .. } in Metric::ALL {
            assert!(
                xml.contains(&format!("name=\"metric.{name}\"")),
                "{name}: {xml}"
            );
        }
        assert!(
            xml.contains(r#"<property name="metric.sent" value="5"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="metric.dlq" value="0"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="metric.status" value="{ COMPLETED = 5 }"/>"#),
            "{xml}"
        );
        assert!(xml.contains("</properties>\n  </testcase>\n"), "{xml}");
    }
}
