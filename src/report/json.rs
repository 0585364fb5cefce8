//! The JSON report (`--report`): every scenario's verdict, every metric's whole-run value, each
//! expectation with its actual value, and the message ids per fate, for CI and scripts.
//! The format is versioned (`"format": "qsim-report", "version": 1`): renaming or removing a field
//! is a new version; adding one is not.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::check::snapshot::SnapshotStatus;
use crate::check::{Value, describe_expected};
use crate::engine::Ending;
use crate::report::summary;
use crate::runner::{Finished, RunResult, ScenarioRun};
use crate::scenario::{CompareOp, Expected, Scenario};

pub(crate) const FORMAT: &str = "qsim-report";
pub(crate) const VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub format: &'static str,
    pub version: u32,
    pub scenarios: Vec<ScenarioReport>,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub interrupted: usize,
    pub not_started: usize,
}

#[derive(Debug, Serialize)]
pub(crate) struct ScenarioReport {
    pub name: String,
    pub file: String,
    pub backend: &'static str,
    pub seed: u64,
    /// The latitudes of SQS the scenario assumes away (`[scenario] assumes`): guaranteed on the
    /// simulator, not by SQS.
    pub assumes: Vec<&'static str>,
    pub status: Status,
    /// Why the backend skipped it (`status` is `skipped`).
    pub skip_reason: Option<String>,
    /// Why it has no verdict: a backend error, a snapshot I/O error, Ctrl-C (`status` is `failed`).
    pub error: Option<String>,
    /// `None` when the run did not finish (skipped, or an error).
    pub ending: Option<RunEnding>,
    /// Run time on the backend's clock (virtual on the simulator).
    pub elapsed_seconds: Option<f64>,
    pub wall_seconds: f64,
    /// Every metric `[expect]` accepts, whole run, in the README's order; empty when not finished.
    pub metrics: Metrics,
    pub expectations: Vec<ExpectationReport>,
    /// Fate name → the ids of the messages that ended so; fates no message had are absent.
    pub fates: BTreeMap<&'static str, Vec<String>>,
    /// Broken conservation laws (bugs in qsim: exit code 4), each with the messages involved.
    pub internal_errors: Vec<String>,
    /// API calls per operation, on backends that count them.
    pub api_calls: Option<BTreeMap<&'static str, u64>>,
    /// HTTP requests per operation, SDK retries included, on backends that count them.
    pub api_attempts: Option<BTreeMap<String, u64>>,
    /// `kind name` of each resource the run could not delete.
    pub left_behind: Vec<String>,
    /// The command that deletes them (when `left_behind` is not empty).
    pub cleanup: Option<String>,
    pub snapshot: Option<SnapshotReport>,
    /// The command that runs it again, as the summary prints it.
    pub reproduce: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Status {
    Passed,
    Failed,
    Skipped,
    Interrupted,
    NotStarted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RunEnding {
    Completed,
    TimedOut,
    WallLimit,
    Standstill,
}

#[derive(Debug, Serialize)]
pub(crate) struct ExpectationReport {
    pub metric: &'static str,
    /// The producer of `[expect.producer.NAME]`; `None` for the whole run.
    pub scope: Option<String>,
    /// As the file writes it: `4`, `">= 2"`, `true`, `{ "COMPLETED": 5 }`.
    pub expected: JsonValue,
    pub actual: JsonValue,
    pub pass: bool,
    /// Message ids or keys behind the actual value (at most a few dozen).
    pub involved: Vec<String>,
}

/// A metric's value, or an expected value, as JSON: whole numbers as integers.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum JsonValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Counts(BTreeMap<String, u64>),
}

/// Metric name → value, kept in [`crate::scenario::Metric::ALL`]'s order.
#[derive(Debug, Default)]
pub(crate) struct Metrics(pub Vec<(&'static str, JsonValue)>);

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub(crate) enum SnapshotReport {
    Matched,
    SkippedForSeed {
        file_seed: u64,
    },
    SkippedForProfile {
        file_profile: &'static str,
    },
    Pending {
        path: String,
    },
    MissingInCi {
        path: String,
    },
    Mismatch {
        diff: String,
        pending: Option<String>,
    },
    Updated {
        path: String,
    },
    NotCompared,
}

/// The report of `runs`, in their order.
pub(crate) fn report(runs: &[ScenarioRun]) -> Report {
    let counts = summary::counts(runs);
    Report {
        format: FORMAT,
        version: VERSION,
        scenarios: runs.iter().map(scenario_report).collect(),
        passed: counts.passed,
        failed: counts.failed,
        skipped: counts.skipped,
        interrupted: counts.interrupted,
        not_started: counts.not_started,
    }
}

/// The report of `runs` as pretty-printed JSON, ending in a newline.
pub(crate) fn render(runs: &[ScenarioRun]) -> String {
    let mut json = serde_json::to_string_pretty(&report(runs))
        .expect("string keys and plain values always serialize");
    json.push('\n');
    json
}

fn scenario_report(run: &ScenarioRun) -> ScenarioReport {
    let status = match run.result {
        RunResult::Skipped { .. } => Status::Skipped,
        RunResult::Interrupted { .. } => Status::Interrupted,
        RunResult::NotStarted(_) => Status::NotStarted,
        _ if run.passed() => Status::Passed,
        _ => Status::Failed,
    };
    let mut report = ScenarioReport {
        name: run.scenario.name.clone(),
        file: run.scenario.path.display().to_string(),
        backend: run.backend,
        seed: run.seed,
        assumes: run
            .scenario
            .queue
            .sim
            .assumes
            .iter()
            .map(|l| l.assumption())
            .collect(),
        status,
        skip_reason: None,
        error: None,
        ending: None,
        elapsed_seconds: None,
        wall_seconds: run.wall.as_secs_f64(),
        metrics: Metrics::default(),
        expectations: Vec::new(),
        fates: BTreeMap::new(),
        internal_errors: Vec::new(),
        api_calls: run.api_calls.clone(),
        api_attempts: run.api_attempts.clone(),
        left_behind: run
            .leftovers
            .iter()
            .flat_map(|l| &l.resources)
            .map(|(kind, name)| format!("{} {name}", kind.as_str()))
            .collect(),
        cleanup: run.leftovers.as_ref().map(|l| l.cleanup_command.clone()),
        snapshot: None,
        reproduce: summary::reproduce_command(run),
    };
    match &run.result {
        RunResult::Finished(finished) => fill_finished(&mut report, &run.scenario, finished),
        RunResult::Skipped { missing } => {
            report.skip_reason = Some(summary::skip_reason(run.backend, missing));
        }
        RunResult::BackendFailed(error) if run.failed_in_teardown() => {
            report.error = Some(format!(
                "deleting the run's resources failed: {}",
                summary::error_chain(error)
            ));
        }
        RunResult::BackendFailed(error) => report.error = Some(summary::error_chain(error)),
        RunResult::SnapshotIo(error) => report.error = Some(format!("snapshot: {error}")),
        RunResult::Interrupted { signal } => {
            report.error = Some(format!("interrupted by {}", signal.describe()));
        }
        RunResult::NotStarted(why) => report.error = Some(summary::not_started(why)),
    }
    report
}

fn fill_finished(report: &mut ScenarioReport, scenario: &Scenario, finished: &Finished) {
    let (outcome, verdict) = (&finished.outcome, &finished.verdict);
    report.ending = Some(match outcome.ending {
        Ending::Completed => RunEnding::Completed,
        Ending::TimedOut => RunEnding::TimedOut,
        Ending::WallLimit => RunEnding::WallLimit,
        Ending::Standstill => RunEnding::Standstill,
    });
    report.elapsed_seconds = Some(outcome.elapsed.as_secs_f64());
    report.metrics = Metrics(
        summary::metric_values(finished)
            .into_iter()
            .map(|(metric, value)| (metric.name(), json_value(&value)))
            .collect(),
    );
    report.expectations = verdict
        .results
        .iter()
        .map(|result| ExpectationReport {
            metric: result.expectation.metric.name(),
            scope: result
                .expectation
                .scope
                .map(|p| scenario.producer(p).name.clone()),
            expected: expected_value(&result.expectation.expected),
            actual: json_value(&result.actual),
            pass: result.passed,
            involved: result.involved.clone(),
        })
        .collect();
    for (i, meta) in outcome.log.messages.iter().enumerate() {
        report
            .fates
            .entry(verdict.facts.fate(i).as_str())
            .or_default()
            .push(meta.id.to_string());
    }
    report.internal_errors = verdict.violations.iter().map(|v| v.to_string()).collect();
    report.snapshot = Some(snapshot_report(&finished.snapshot));
}

fn json_value(value: &Value) -> JsonValue {
    match value {
        Value::Number(n) => number(*n),
        Value::Bool(b) => JsonValue::Bool(*b),
        Value::Counts(counts) => JsonValue::Counts(counts.clone()),
    }
}

/// `x = 4` stays a number; other comparisons are strings in the file (`">= 2"`) and here.
fn expected_value(expected: &Expected) -> JsonValue {
    match expected {
        Expected::Compare {
            op: CompareOp::Eq,
            value,
        } => number(*value),
        Expected::Compare { .. } => JsonValue::Text(describe_expected(expected)),
        Expected::Bool(b) => JsonValue::Bool(*b),
        Expected::Counts(counts) => JsonValue::Counts(counts.clone()),
    }
}

/// Whole numbers that f64 holds exactly become integers (`5`, not `5.0`).
fn number(n: f64) -> JsonValue {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= EXACT {
        JsonValue::Int(n as i64)
    } else {
        JsonValue::Float(n)
    }
}

fn snapshot_report(status: &SnapshotStatus) -> SnapshotReport {
    let path = |p: &std::path::Path| p.display().to_string();
    match status {
        SnapshotStatus::Matched => SnapshotReport::Matched,
        SnapshotStatus::SkippedForSeed { file_seed } => SnapshotReport::SkippedForSeed {
            file_seed: *file_seed,
        },
        SnapshotStatus::SkippedForProfile { file_profile } => SnapshotReport::SkippedForProfile {
            file_profile: file_profile.as_str(),
        },
        SnapshotStatus::Pending { path: p } => SnapshotReport::Pending { path: path(p) },
        SnapshotStatus::MissingInCi { path: p } => SnapshotReport::MissingInCi { path: path(p) },
        SnapshotStatus::Mismatch { diff, pending } => SnapshotReport::Mismatch {
            diff: diff.clone(),
            pending: pending.as_deref().map(path),
        },
        SnapshotStatus::Updated { path: p } => SnapshotReport::Updated { path: path(p) },
        SnapshotStatus::NotCompared => SnapshotReport::NotCompared,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::{Value as Json, json};
    use test_case::test_case;

    use super::*;
    use crate::backend::Capability;
    use crate::runner::{self, RunOptions};
    use crate::scenario::{self, Amount, Metric, Scenario};

    fn load(path: &str) -> Scenario {
        scenario::load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{}", e.render(false)))
    }

    /// A real simulator run, its snapshot compared without writing anything.
    fn run(path: &str, seed: Option<u64>) -> ScenarioRun {
        let options = RunOptions {
            seed,
            ..RunOptions::default()
        };
        runner::run_scenario(load(path), &options)
    }

    fn parse(runs: &[ScenarioRun]) -> Json {
        serde_json::from_str(&render(runs)).expect("the report is valid JSON")
    }

    fn finished(run: &ScenarioRun) -> &Finished {
        match &run.result {
            RunResult::Finished(finished) => finished,
            other => panic!("the run did not finish: {other:?}"),
        }
    }

    #[test]
    fn a_passing_run_reports_every_metric_expectation_and_fate() {
        let run = run("scenarios.d/happy.toml", None);
        let json = parse(std::slice::from_ref(&run));
        assert_eq!(json["format"], "qsim-report");
        assert_eq!(json["version"], 1);
        assert_eq!(
            (&json["passed"], &json["failed"], &json["skipped"]),
            (&json!(1), &json!(0), &json!(0))
        );
        let s = &json["scenarios"][0];
        assert_eq!(s["name"], "happy");
        assert_eq!(s["file"], "scenarios.d/happy.toml");
        assert_eq!(s["backend"], "sim");
        assert_eq!(s["seed"], run.scenario.seed);
        assert_eq!(s["status"], "passed");
        assert_eq!(s["ending"], "completed");
        assert!(s["skip_reason"].is_null() && s["error"].is_null());
        assert!(
            s["api_calls"].is_null(),
            "the simulator counts no API calls"
        );
        assert_eq!(s["snapshot"], json!({ "status": "matched" }));
        assert_eq!(s["reproduce"], "qsim run scenarios.d/happy.toml --seed 1");
        assert_eq!(s["reproduce"], summary::reproduce_command(&run).as_str());

        let outcome = &finished(&run).outcome;
        assert_eq!(s["elapsed_seconds"], outcome.elapsed.as_secs_f64());
        assert!(s["wall_seconds"].as_f64().unwrap() >= 0.0);

        // Every metric, whole run, expected or not.
        let metrics = s["metrics"].as_object().unwrap();
        let names: Vec<&str> = Metric::ALL.iter().map(|d| d.name).collect();
        let mut keys: Vec<&str> = metrics.keys().map(String::as_str).collect();
        let mut sorted_names = names.clone();
        keys.sort_unstable();
        sorted_names.sort_unstable();
        assert_eq!(keys, sorted_names);
        let count: u64 = run
            .scenario
            .producers
            .iter()
            .map(|p| match p.amount {
                Amount::Count(n) => n,
                _ => panic!("happy's producers send a fixed count"),
            })
            .sum();
        assert_eq!(metrics["sent"], count);
        assert_eq!(metrics["processed"], count);
        assert_eq!(metrics["queue_empty"], true);
        assert_eq!(metrics["status"], json!({ "COMPLETED": count }));
        // Not among happy's expectations, reported all the same.
        assert_eq!(metrics["dlq"], 0);
        assert_eq!(metrics["peak_consumers"], 1);
        // In Metric::ALL's order in the text.
        let text = render(std::slice::from_ref(&run));
        let text = &text[text.find("\"metrics\":").unwrap()..];
        let positions: Vec<usize> = names
            .iter()
            .map(|name| text.find(&format!("\"{name}\":")).unwrap())
            .collect();
        assert!(positions.is_sorted(), "metrics out of order: {positions:?}");

        let expectations = s["expectations"].as_array().unwrap();
        assert_eq!(expectations.len(), run.scenario.expect.checks.len());
        assert!(expectations.iter().all(|e| e["pass"] == true));
        let processed = expectations
            .iter()
            .find(|e| e["metric"] == "processed")
            .unwrap();
        assert_eq!(processed["scope"], Json::Null);
        assert_eq!(processed["expected"], count);
        assert_eq!(processed["actual"], count);
        assert_eq!(
            processed["involved"].as_array().unwrap().len() as u64,
            count
        );

        // Every message under exactly one fate: here all processed.
        let ids: Vec<Json> = outcome.log.messages.iter().map(|m| json!(*m.id)).collect();
        assert_eq!(s["fates"], json!({ "processed": ids }));
    }

    #[test]
    fn a_failing_expectation_has_pass_false_and_its_actual_value() {
        let run = run("tests/fixtures/failing/happy-wrong-expectation.toml", None);
        let json = parse(std::slice::from_ref(&run));
        assert_eq!(
            (&json["passed"], &json["failed"], &json["skipped"]),
            (&json!(0), &json!(1), &json!(0))
        );
        let s = &json["scenarios"][0];
        assert_eq!(s["status"], "failed");
        let failed: Vec<&Json> = s["expectations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["pass"] == false)
            .collect();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert_eq!(failed[0]["metric"], "processed");
        assert_eq!(failed[0]["expected"], 4);
        assert_eq!(failed[0]["actual"], s["metrics"]["processed"]);
        assert_eq!(failed[0]["actual"], 5);
        // No snapshot beside the fixture, and RunOptions::default() never writes one.
        assert_eq!(s["snapshot"]["status"], "missing-in-ci");
        assert_eq!(s["reproduce"], summary::reproduce_command(&run).as_str());
    }

    #[test]
    fn another_seed_reports_its_seed_and_the_skipped_snapshot() {
        let run = run("scenarios.d/happy.toml", Some(7));
        let s = &parse(std::slice::from_ref(&run))["scenarios"][0];
        assert_eq!(s["seed"], 7);
        assert_eq!(
            s["snapshot"],
            json!({ "status": "skipped-for-seed", "file_seed": 1 })
        );
        assert_eq!(s["reproduce"], "qsim run scenarios.d/happy.toml --seed 7");
    }

    #[test]
    fn a_skipped_run_has_its_reason_and_no_metrics() {
        let scenario = load("scenarios.d/happy.toml");
        let reproduce = runner::Reproduce {
            path: scenario.path.clone(),
            seed: scenario.seed,
            sim_profile: None,
            aws: Some(runner::AwsReproduce::default()),
        };
        let run = ScenarioRun {
            seed: scenario.seed,
            scenario: Arc::new(scenario),
            backend: "aws",
            wall: Duration::from_millis(2),
            result: RunResult::Skipped {
                missing: vec![Capability::AsyncPurge],
            },
            api_calls: None,
            api_attempts: None,
            leftovers: None,
            reproduce,
        };
        let json = parse(std::slice::from_ref(&run));
        assert_eq!(
            (&json["passed"], &json["failed"], &json["skipped"]),
            (&json!(0), &json!(0), &json!(1))
        );
        let s = &json["scenarios"][0];
        assert_eq!(s["status"], "skipped");
        assert_eq!(
            s["skip_reason"],
            format!("aws lacks: {}", Capability::AsyncPurge.describe())
        );
        assert_eq!(s["metrics"], json!({}));
        assert_eq!(s["expectations"], json!([]));
        assert!(s["ending"].is_null() && s["snapshot"].is_null());
        assert_eq!(s["wall_seconds"], 0.002);
        assert_eq!(
            s["reproduce"],
            "qsim run scenarios.d/happy.toml --seed 1 --backend aws"
        );
    }

    #[test_case(Expected::Compare { op: CompareOp::Eq, value: 4.0 } => json!(4); "equality as a number")]
    #[test_case(Expected::Compare { op: CompareOp::Ge, value: 2.0 } => json!(">= 2"); "comparison as a string")]
    #[test_case(Expected::Compare { op: CompareOp::Lt, value: 0.5 } => json!("< 0.500"); "fraction")]
    #[test_case(Expected::Bool(true) => json!(true); "bool")]
    #[test_case(Expected::Counts([("COMPLETED".to_owned(), 3)].into()) => json!({ "COMPLETED": 3 }); "counts")]
    fn expected_values_read_as_written(expected: Expected) -> Json {
        serde_json::to_value(expected_value(&expected)).unwrap()
    }

    #[test]
    fn whole_numbers_are_integers_and_fractions_stay_floats() {
        assert_eq!(number(5.0), JsonValue::Int(5));
        assert_eq!(number(-3.0), JsonValue::Int(-3));
        assert_eq!(number(2.5), JsonValue::Float(2.5));
        assert_eq!(number(1e300), JsonValue::Float(1e300));
    }
}
