//! Pass or fail: the scenario's `[expect]` checked against metrics derived from what actually
//! happened (the event log and the backend's final state), never from what was configured, and
//! the run's canonical [`projection`] compared with its [`snapshot`].

mod conservation;
pub mod cost;
pub mod explain;
mod facts;
mod metrics;
pub mod projection;
pub mod snapshot;

pub use conservation::Violation;
pub(crate) use facts::Facts;
pub use facts::Fate;
pub use metrics::Value;

use crate::engine::{Ending, Outcome};
use crate::scenario::{Expectation, Expected, Scenario};

/// One expectation, checked.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub expectation: Expectation,
    pub actual: Value,
    pub passed: bool,
    /// Message ids or keys that make up the actual value (for failure reports).
    pub involved: Vec<String>,
}

/// Every expectation of a run, checked.
#[derive(Debug)]
pub struct Verdict {
    pub results: Vec<CheckResult>,
    /// `[expect.sometimes]` on this run: reported, never failing it (an exploration requires
    /// each to hold on at least one seed).
    pub sometimes: Vec<CheckResult>,
    /// How the run ended; anything but completed fails it.
    pub ending: Ending,
    pub facts: Facts,
    /// Broken conservation laws: bugs in qsim, reported as internal errors.
    pub violations: Vec<Violation>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.ending == Ending::Completed
            && self.violations.is_empty()
            && self.results.iter().all(|r| r.passed)
    }

    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| !r.passed)
    }
}

/// Checks `scenario`'s expectations against `outcome`.
pub fn check(scenario: &Scenario, outcome: &Outcome) -> Verdict {
    let facts = Facts::gather(scenario, outcome);
    let check_all = |expectations: &[Expectation]| -> Vec<CheckResult> {
        expectations
            .iter()
            .map(|expectation| check_one(expectation, outcome, &facts))
            .collect()
    };
    Verdict {
        results: check_all(&scenario.expect.checks),
        sometimes: check_all(&scenario.expect.sometimes),
        ending: outcome.ending,
        violations: conservation::check(outcome, &facts),
        facts,
    }
}

fn check_one(expectation: &Expectation, outcome: &Outcome, facts: &Facts) -> CheckResult {
    let evaluated = metrics::evaluate(expectation.metric, expectation.scope, outcome, facts);
    let passed = holds(&expectation.expected, &evaluated.value);
    CheckResult {
        expectation: expectation.clone(),
        actual: evaluated.value,
        passed,
        involved: evaluated.involved,
    }
}

/// The whole-run value of one metric (for summaries and progress lines).
pub fn metric_value(metric: crate::scenario::Metric, outcome: &Outcome, facts: &Facts) -> Value {
    metrics::evaluate(metric, None, outcome, facts).value
}

fn holds(expected: &Expected, actual: &Value) -> bool {
    match (expected, actual) {
        (Expected::Compare { op, value }, Value::Number(n)) => op.holds(*n, *value),
        (Expected::Bool(b), Value::Bool(a)) => a == b,
        (Expected::Counts(want), Value::Counts(got)) => {
            let keys = want.keys().chain(got.keys());
            keys.into_iter()
                .all(|k| want.get(k).copied().unwrap_or(0) == got.get(k).copied().unwrap_or(0))
        }
        // The file was validated against the metric's kind, so a mismatch is a bug; fail loudly.
        _ => false,
    }
}

/// How an expected value reads in a report.
pub fn describe_expected(expected: &Expected) -> String {
    match expected {
        Expected::Compare { op, value } => {
            let value = Value::Number(*value);
            match op {
                crate::scenario::CompareOp::Eq => value.to_string(),
                op => format!("{} {value}", op.as_str()),
            }
        }
        Expected::Bool(b) => b.to_string(),
        Expected::Counts(counts) => Value::Counts(counts.clone()).to_string(),
    }
}
