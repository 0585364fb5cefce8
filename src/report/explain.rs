//! `qsim explain` and the failure details: [`crate::check::explain`]'s explanations as text.

use std::fmt::Write;

use crate::check::explain::{Explanation, Story};
use crate::runner::{RunResult, ScenarioRun};

/// `orders-0003 lost: sent by orders at 0.0 s, received by worker-2 at 31.0 s (receive 1), ...`.
pub fn sentence(story: &Story) -> String {
    let steps: Vec<&str> = story.steps.iter().map(|s| s.text.as_str()).collect();
    format!("{} {}: {}", story.id, story.fate, steps.join(", "))
}

/// The explanations, one block per failed check.
pub fn text(explanations: &[Explanation]) -> String {
    let mut out = String::new();
    for e in explanations {
        let _ = writeln!(
            out,
            "✗ {}: expected {}, got {}",
            e.check, e.expected, e.actual
        );
        if let Some(summary) = &e.summary {
            let _ = writeln!(out, "  {summary}");
        }
        for story in &e.stories {
            let _ = writeln!(out, "  {}", sentence(story));
        }
        if e.more > 0 {
            let _ = writeln!(out, "  ... and {} more", e.more);
        }
    }
    out
}

/// `run --explain`: a failing run's explanations, indented under its details; empty for a run
/// that passed or did not finish (no history to explain).
pub fn for_run(run: &ScenarioRun) -> String {
    let RunResult::Finished(finished) = &run.result else {
        return String::new();
    };
    if finished.verdict.passed() {
        return String::new();
    }
    let explanations =
        crate::check::explain::explain(&run.scenario, &finished.outcome, &finished.verdict);
    let mut out = String::from("  explained from the history:\n");
    for line in text(&explanations).lines() {
        let _ = writeln!(out, "    {line}");
    }
    out
}
