//! JUnit XML through quick-junit (escaping, the schema's attributes and their counts are its
//! job), one test case per scenario, for CI systems that render it; each finished case carries
//! every metric's whole-run value as a `metric.NAME` property.

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::report::summary;
use crate::runner::{RunResult, ScenarioRun};

pub(crate) fn render(runs: &[ScenarioRun]) -> String {
    let mut suite = TestSuite::new("qsim");
    suite.add_test_cases(runs.iter().map(test_case));
    let time = runs.iter().map(|r| r.wall).sum();
    suite.set_time(time);
    let mut report = Report::new("qsim");
    report.set_time(time).add_test_suite(suite);
    report
        .to_string()
        .expect("a report of plain strings serializes")
}

fn test_case(run: &ScenarioRun) -> TestCase {
    let status = match &run.result {
        // JUnit has no "interrupted": stopped and never-started runs are reported as skipped,
        // with the reason, so an interrupted run is not counted as a failure.
        RunResult::Skipped { .. } | RunResult::Interrupted { .. } | RunResult::NotStarted(_) => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(summary::line(run));
            status
        }
        _ if run.passed() => TestCaseStatus::success(),
        result => {
            // A check that failed is a failure; a backend that failed (or a snapshot that could
            // not be read) is an error: the scenario's verdict is unknown.
            let kind = match result {
                RunResult::BackendFailed(_) | RunResult::SnapshotIo(_) => NonSuccessKind::Error,
                _ => NonSuccessKind::Failure,
            };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_message(summary::line(run))
                .set_description(summary::details(run));
            status
        }
    };
    let mut case = TestCase::new(run.scenario.name.as_str(), status);
    case.set_classname(format!("qsim.{}", run.backend))
        .set_time(run.wall);
    if let RunResult::Finished(finished) = &run.result {
        case.add_properties(
            summary::metric_values(finished)
                .into_iter()
                .map(|(metric, value)| {
                    Property::new(format!("metric.{}", metric.name()), value.to_string())
                }),
        );
    }
    case
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
        assert!(xml.contains("</properties>"), "{xml}");
    }

    #[test]
    fn a_backend_failure_is_an_error_and_a_skip_is_skipped() {
        let scenario = scenario::load(std::path::Path::new("scenarios.d/happy.toml")).unwrap();
        let run_with = |result: RunResult| {
            let mut run = runner::run_scenario(scenario.clone(), &RunOptions::default());
            run.result = result;
            run
        };
        let failed = run_with(RunResult::BackendFailed(crate::backend::BackendError::new(
            "SendMessage",
            "q<1>",
            crate::backend::BackendErrorKind::Unreachable,
        )));
        let skipped = run_with(RunResult::Skipped {
            missing: vec![crate::backend::Capability::MessageMoveTask],
        });
        let xml = render(&[failed, skipped]);
        assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 0, "{xml}");
        assert_eq!(xml.matches("<skipped ").count(), 1, "{xml}");
        // The resource's name is escaped, by quick-junit.
        assert!(xml.contains("q&lt;1&gt;"), "{xml}");
        assert!(
            !xml.contains("<property "),
            "unfinished runs have no metrics: {xml}"
        );
    }
}
