//! Human-readable results: one concise line per scenario, then details for failures.

use std::fmt::Write as _;
use std::time::Duration;

use crate::backend::Capability;
use crate::check::{Fate, Value, describe_expected};
use crate::report::snapshot::SnapshotStatus;
use crate::runner::{Finished, RunResult, ScenarioRun};
use crate::scenario::Metric;

/// `PASS happy  sent=5 processed=5 dlq=0 effects=5  sim 12.0s  wall 3ms`
pub fn line(run: &ScenarioRun) -> String {
    let name = &run.scenario.name;
    match &run.result {
        RunResult::Finished(finished) => {
            let (outcome, verdict, snapshot) =
                (&finished.outcome, &finished.verdict, &finished.snapshot);
            let status = if run.passed() { "PASS" } else { "FAIL" };
            let metric = |m: Metric| crate::check::metric_value(m, outcome, &verdict.facts);
            let mut line = format!(
                "{status} {name:<24} sent={} processed={} dlq={} effects={}",
                metric(Metric::Sent),
                metric(Metric::Processed),
                metric(Metric::Dlq),
                metric(Metric::SideEffects),
            );
            if verdict.timed_out {
                line.push_str(" TIMED-OUT");
            }
            if let SnapshotStatus::Pending { .. } = snapshot {
                line.push_str(" (new snapshot pending review)");
            }
            let _ = write!(
                line,
                "  {} {}  wall {}",
                run.backend,
                clock(outcome.elapsed),
                clock(run.wall)
            );
            line
        }
        RunResult::Skipped { missing } => {
            format!("SKIP {name:<24} {}", skip_reason(run.backend, missing))
        }
        RunResult::BackendFailed(error) => format!("ERROR {name:<23} {}", error_chain(error)),
        RunResult::SnapshotIo(error) => format!("ERROR {name:<23} snapshot: {error}"),
        RunResult::Interrupted => {
            format!("STOP {name:<24} interrupted; its resources were deleted")
        }
    }
}

/// Why a backend skipped a scenario: `sim lacks: A; B`.
pub fn skip_reason(backend: &str, missing: &[Capability]) -> String {
    let what: Vec<&str> = missing.iter().map(|c| c.describe()).collect();
    format!("{backend} lacks: {}", what.join("; "))
}

/// The whole-run value of every metric, in [`Metric::ALL`]'s order (the machine-readable
/// reports carry all of them, not only those the scenario expects).
pub fn metric_values(finished: &Finished) -> Vec<(Metric, Value)> {
    Metric::ALL
        .iter()
        .map(|(metric, _, _)| {
            let value =
                crate::check::metric_value(*metric, &finished.outcome, &finished.verdict.facts);
            (*metric, value)
        })
        .collect()
}

/// Everything a person needs to understand a failure and reproduce it; empty when it passed.
pub fn details(run: &ScenarioRun) -> String {
    let mut out = String::new();
    if let RunResult::Finished(finished) = &run.result {
        let (verdict, snapshot) = (&finished.verdict, &finished.snapshot);
        out.push_str(&fate_notes(finished));
        for violation in &verdict.violations {
            let _ = writeln!(
                out,
                "  ✗ internal error, a bug in qsim (please report it with the reproduce command): {violation}"
            );
        }
        if verdict.timed_out {
            let _ = writeln!(
                out,
                "  ✗ timed out after {}",
                humantime::format_duration(run.scenario.timeout)
            );
        }
        for failure in verdict.failures() {
            let e = &failure.expectation;
            let scope = e
                .scope
                .as_ref()
                .map(|p| format!(" [producer {p}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  ✗ {}{scope}: expected {}, got {}",
                e.metric.name(),
                describe_expected(&e.expected),
                failure.actual
            );
            if !failure.involved.is_empty() {
                let _ = writeln!(out, "    involved: {}", failure.involved.join(", "));
            }
        }
        match snapshot {
            SnapshotStatus::Mismatch { diff, pending } => {
                let _ = writeln!(out, "  ✗ snapshot differs:");
                for line in diff.lines() {
                    let _ = writeln!(out, "    {line}");
                }
                if let Some(p) = pending {
                    let _ = writeln!(
                        out,
                        "    pending: {} (accept with `cargo insta review` or INSTA_UPDATE=always)",
                        p.display()
                    );
                }
            }
            SnapshotStatus::MissingInCi { path } => {
                let _ = writeln!(
                    out,
                    "  ✗ snapshot missing: {} (CI is set; run locally and accept it)",
                    path.display()
                );
            }
            SnapshotStatus::Pending { path } => {
                let _ = writeln!(
                    out,
                    "  note: no snapshot yet; wrote {} for review (`cargo insta review`)",
                    path.display()
                );
            }
            SnapshotStatus::SkippedForSeed { file_seed } => {
                let _ = writeln!(
                    out,
                    "  note: seed {} is not the file's seed {file_seed}: invariants checked, snapshot skipped",
                    run.seed
                );
            }
            SnapshotStatus::Matched | SnapshotStatus::Updated { .. } => {}
        }
    }
    if let Some(calls) = &run.api_calls {
        let total: u64 = calls.values().sum();
        let each: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
        let _ = writeln!(out, "  api calls: {total} ({})", each.join(", "));
    }
    if !run.passed() {
        let _ = writeln!(
            out,
            "  seed {} · reproduce: {}",
            run.seed,
            reproduce_command(run)
        );
    }
    out
}

/// Messages that did not simply get processed, each with its send time (a purge's losses depend on
/// when a message was sent), and the longest any message waited for its first receive.
fn fate_notes(finished: &Finished) -> String {
    const SHOWN: usize = 8;
    let log = &finished.outcome.log;
    let facts = &finished.verdict.facts;
    let sent_at = |i: usize| {
        let at = log.messages[i]
            .sent_at_us
            .map_or(Duration::ZERO, Duration::from_micros);
        clock(at)
    };
    let mut out = String::new();
    for fate in [Fate::Purged, Fate::Stale, Fate::Deduplicated] {
        let ids: Vec<usize> = (0..facts.messages.len())
            .filter(|&i| facts.fate(i) == fate)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let shown: Vec<String> = ids
            .iter()
            .take(SHOWN)
            .map(|&i| format!("{} (sent at {})", log.messages[i].id, sent_at(i)))
            .collect();
        let more = ids.len().saturating_sub(SHOWN);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {} {}: {}{more}",
            ids.len(),
            fate.as_str(),
            shown.join(", ")
        );
    }
    let oldest = (0..facts.messages.len())
        .filter_map(|i| Some(facts.messages[i].first_received_us? - log.messages[i].sent_at_us?))
        .max()
        .map(Duration::from_micros);
    if let Some(oldest) = oldest.filter(|o| *o >= OLDEST_WORTH_NOTING) {
        let _ = writeln!(
            out,
            "  oldest message waited {} for its first receive",
            clock(oldest)
        );
    }
    out
}

/// Waits shorter than this are routine (long polls, visibility timeouts) and not worth a line.
const OLDEST_WORTH_NOTING: Duration = Duration::from_secs(30);

pub fn reproduce_command(run: &ScenarioRun) -> String {
    format!(
        "qsim run {} --seed {}{}",
        run.scenario.path.display(),
        run.seed,
        run.backend_args
    )
}

/// `12.0s`, `3ms`, `4m 10s`: short and stable.
pub fn clock(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m {}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// An error with its causes, `outer: inner: root`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// How many runs passed, failed and were skipped (a skipped run is neither of the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

pub fn counts(runs: &[ScenarioRun]) -> Counts {
    let skipped = runs
        .iter()
        .filter(|r| matches!(r.result, RunResult::Skipped { .. }))
        .count();
    let failed = runs.iter().filter(|r| !r.passed()).count();
    Counts {
        passed: runs.len() - skipped - failed,
        failed,
        skipped,
    }
}

/// `N passed, N failed, N skipped` (the closing line CI tools read).
pub fn totals(runs: &[ScenarioRun]) -> String {
    let Counts {
        passed,
        failed,
        skipped,
    } = counts(runs);
    format!("qsim: {passed} passed, {failed} failed, {skipped} skipped")
}
