//! `qsim explain` and the failure details: [`crate::check::explain`]'s explanations as text.

use std::fmt::Write;

use crate::check::explain::{Explanation, Story};

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
