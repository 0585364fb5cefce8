//! Human-readable results: one concise line per scenario, then details for failures.

use std::fmt::Write as _;
use std::time::Duration;

use crate::backend::Capability;
use crate::check::snapshot::SnapshotStatus;
use crate::check::{Fate, Value, describe_expected};
use crate::engine::Ending;
use crate::runner::{Finished, Leftovers, NotStarted, Reproduce, RunResult, ScenarioRun};
use crate::scenario::{Expectation, Metric, Scenario};

/// `PASS happy  sent=5 processed=5 dlq=0 effects=5 calls=12 $0.0000048  sim 12.0s  wall 3ms`
pub fn line(run: &ScenarioRun) -> String {
    let name = &run.scenario.name;
    match &run.result {
        RunResult::Finished(finished) => {
            let (outcome, verdict, snapshot) =
                (&finished.outcome, &finished.verdict, &finished.snapshot);
            let status = if run.passed() { "PASS" } else { "FAIL" };
            let metric = |m: Metric| crate::check::metric_value(m, outcome, &verdict.facts);
            let cost = match metric(Metric::EstimatedCostUsd) {
                Value::Number(usd) => usd,
                _ => 0.0,
            };
            let mut line = format!(
                "{status} {name:<24} sent={} processed={} dlq={} effects={} calls={} {}",
                metric(Metric::Sent),
                metric(Metric::Processed),
                metric(Metric::Dlq),
                metric(Metric::SideEffects),
                metric(Metric::ApiCalls),
                dollars(cost),
            );
            if verdict.ending != Ending::Completed {
                line.push(' ');
                line.push_str(&verdict.ending.as_str().to_uppercase());
            }
            if let SnapshotStatus::Pending { .. } = snapshot {
                line.push_str(" (new snapshot pending review)");
            }
            let _ = write!(line, "  {} {}", run.backend, clock(outcome.elapsed));
            // A run read back from its history (`qsim report`) has no wall time to state.
            if *snapshot != SnapshotStatus::NotCompared {
                let _ = write!(line, "  wall {}", clock(run.wall));
            }
            line
        }
        RunResult::Skipped { missing } => {
            format!("SKIP {name:<24} {}", skip_reason(run.backend, missing))
        }
        RunResult::BackendFailed(error) if run.failed_in_teardown() => format!(
            "ERROR {name:<23} deleting the run's resources failed: {}",
            error_chain(error)
        ),
        RunResult::BackendFailed(error) => format!("ERROR {name:<23} {}", error_chain(error)),
        RunResult::SnapshotIo(error) => format!("ERROR {name:<23} snapshot: {error}"),
        RunResult::Interrupted { signal } => {
            let resources = match &run.leftovers {
                Some(_) => "some of its resources remain (see below)",
                None => "its resources were deleted",
            };
            format!(
                "STOP {name:<24} interrupted by {}; {resources}",
                signal.describe()
            )
        }
        RunResult::NotStarted(why) => format!("NOT-RUN {name:<21} {}", not_started(why)),
    }
}

/// An estimated cost in US dollars with two significant digits: a run's calls cost millionths
/// of a dollar, a benchmark's dollars.
pub fn dollars(usd: f64) -> String {
    if usd <= 0.0 {
        return "$0".to_owned();
    }
    let decimals = (1 - usd.log10().floor() as i64).clamp(2, 12) as usize;
    format!("${usd:.decimals$}")
}

/// Why a scenario was not run.
pub fn not_started(why: &NotStarted) -> String {
    match why {
        NotStarted::Interrupted(signal) => {
            format!("not started: stopped by {}", signal.describe())
        }
        NotStarted::Unreachable { during } => {
            format!("not started: the endpoint was unreachable during {during}")
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
        .map(|def| {
            let value =
                crate::check::metric_value(def.metric, &finished.outcome, &finished.verdict.facts);
            (def.metric, value)
        })
        .collect()
}

/// Everything a person needs to understand a failure and reproduce it; empty when it passed.
pub fn details(run: &ScenarioRun) -> String {
    let mut out = String::new();
    let assumes = &run.scenario.queue.sim.assumes;
    if run.backend != "sim" && !assumes.is_empty() {
        for latitude in assumes {
            let _ = writeln!(
                out,
                "  note: assumes {latitude}, which SQS does not promise: {}",
                latitude.meaning()
            );
        }
    }
    if let RunResult::Finished(finished) = &run.result {
        let (verdict, snapshot) = (&finished.verdict, &finished.snapshot);
        out.push_str(&fate_notes(finished));
        for violation in &verdict.violations {
            let _ = writeln!(
                out,
                "  ✗ internal error, a bug in qsim (please report it with the reproduce command): {violation}"
            );
        }
        if verdict.ending != Ending::Completed {
            let _ = writeln!(out, "  ✗ {}", verdict.ending.describe(&run.scenario));
        }
        for failure in verdict.failures() {
            let _ = writeln!(
                out,
                "  ✗ {}: expected {}, got {}",
                expectation_label(&run.scenario, &failure.expectation),
                describe_expected(&failure.expectation.expected),
                failure.actual
            );
            if !failure.involved.is_empty() {
                let _ = writeln!(out, "    involved: {}", failure.involved.join(", "));
            }
        }
        for sometimes in &verdict.sometimes {
            let held = if sometimes.passed {
                "held"
            } else {
                "did not hold"
            };
            let _ = writeln!(
                out,
                "  note: [expect.sometimes] {} {} {held} on this seed (got {}); `qsim explore` checks it across seeds",
                expectation_label(&run.scenario, &sometimes.expectation),
                describe_expected(&sometimes.expectation.expected),
                sometimes.actual
            );
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
            SnapshotStatus::SkippedForProfile { file_profile } => {
                let _ = writeln!(
                    out,
                    "  note: profile {} is not the file's profile {file_profile}: invariants checked, snapshot skipped",
                    run.scenario.queue.sim.profile
                );
            }
            SnapshotStatus::Matched
            | SnapshotStatus::Updated { .. }
            | SnapshotStatus::NotCompared => {}
        }
    }
    if let Some(leftovers) = &run.leftovers {
        out.push_str(&leftovers_note(leftovers));
    }
    // A run that made no call (skipped, or failed before its first) has no list worth a line.
    if let Some(calls) = run
        .api_calls
        .as_ref()
        .filter(|c| c.values().any(|&n| n > 0))
    {
        let total: u64 = calls.values().sum();
        let each: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
        let _ = writeln!(out, "  api calls: {total} ({})", each.join(", "));
    }
    if let Some(attempts) = &run.api_attempts {
        // The SDK's retries are billed too: worth a line when there were any.
        let total: u64 = attempts.values().sum();
        let calls: u64 = run.api_calls.iter().flat_map(|c| c.values()).sum();
        if total != calls {
            let each: Vec<String> = attempts.iter().map(|(op, n)| format!("{op} {n}")).collect();
            let _ = writeln!(
                out,
                "  api requests sent, SDK retries included: {total} ({})",
                each.join(", ")
            );
        }
    }
    if !run.passed() && !matches!(run.result, RunResult::NotStarted(_)) {
        let _ = writeln!(
            out,
            "  seed {} · reproduce: {}",
            run.seed,
            reproduce_command(run)
        );
    }
    out
}

/// What a run could not delete, and the command that deletes it.
fn leftovers_note(leftovers: &Leftovers) -> String {
    let mut out = String::new();
    if let Some(error) = &leftovers.error {
        let _ = writeln!(
            out,
            "  ✗ deleting the run's resources failed: {}",
            error_chain(error)
        );
    }
    if leftovers.resources.is_empty() {
        let _ = writeln!(out, "  some of the run's resources may remain");
    } else {
        let names: Vec<String> = leftovers
            .resources
            .iter()
            .map(|(kind, name)| format!("{} {name}", kind.as_str()))
            .collect();
        let _ = writeln!(out, "  left behind: {}", names.join(", "));
    }
    let _ = writeln!(out, "  delete them with: {}", leftovers.cleanup_command);
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
            .sent_at_us()
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
        .filter_map(|i| Some(facts.messages[i].first_received_us? - log.messages[i].sent_at_us()?))
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

/// `processed`, or `purged [producer safe]` for a scoped expectation.
pub fn expectation_label(scenario: &Scenario, expectation: &Expectation) -> String {
    match expectation.scope {
        Some(producer) => format!(
            "{} [producer {}]",
            expectation.metric.name(),
            scenario.producer(producer).name
        ),
        None => expectation.metric.name().to_owned(),
    }
}

/// `qsim run FILE --seed N` and the flags that select the run's backend and profile again.
pub fn reproduce_command(run: &ScenarioRun) -> String {
    let Reproduce {
        path,
        seed,
        sim_profile,
        aws,
    } = &run.reproduce;
    let mut command = format!("qsim run {} --seed {seed}", path.display());
    if let Some(profile) = sim_profile {
        let _ = write!(command, " --sim-profile {profile}");
    }
    if let Some(aws) = aws {
        command.push_str(" --backend aws");
        for (flag, value) in [
            ("--region", &aws.region),
            ("--profile", &aws.profile),
            ("--endpoint-url", &aws.endpoint_url),
        ] {
            if let Some(value) = value {
                let _ = write!(command, " {flag} {value}");
            }
        }
        if let Some(resources) = &aws.resources {
            let _ = write!(command, " --resources {}", resources.display());
        }
    }
    command
}

/// `12.0s`, `3ms`, `4m 10s`: short and stable.
pub fn clock(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else if d < Duration::from_secs(3600) {
        format!("{}m {}s", d.as_secs() / 60, d.as_secs() % 60)
    } else if d < Duration::from_secs(86_400) {
        format!("{}h {}m", d.as_secs() / 3600, d.as_secs() % 3600 / 60)
    } else {
        format!("{}d {}h", d.as_secs() / 86_400, d.as_secs() % 86_400 / 3600)
    }
}

pub use crate::backend::error_chain;

/// `qsim list`: name, tags and the description's first line, in columns as wide as their
/// widest entry, so a long name or tag list shifts the column instead of breaking it.
pub fn list(scenarios: &[Scenario]) -> Vec<String> {
    let tags: Vec<String> = scenarios.iter().map(|s| s.tags.join(",")).collect();
    let name_width = scenarios.iter().map(|s| s.name.chars().count()).max();
    let tags_width = tags.iter().map(|t| t.chars().count()).max();
    scenarios
        .iter()
        .zip(&tags)
        .map(|(s, tags)| {
            let first_line = s.description.lines().next().unwrap_or("");
            let line = format!(
                "{:<name_width$}  {tags:<tags_width$}  {first_line}",
                s.name,
                name_width = name_width.unwrap_or(0),
                tags_width = tags_width.unwrap_or(0),
            );
            line.trim_end().to_owned()
        })
        .collect()
}

/// How many runs passed, failed and were skipped (a skipped run is neither of the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Stopped by Ctrl-C or SIGTERM: neither passed nor failed.
    pub interrupted: usize,
    /// Never started (a stop signal, or the endpoint was unreachable).
    pub not_started: usize,
}

pub fn counts(runs: &[ScenarioRun]) -> Counts {
    let skipped = runs
        .iter()
        .filter(|r| matches!(r.result, RunResult::Skipped { .. }))
        .count();
    let count =
        |stopped: fn(&RunResult) -> bool| runs.iter().filter(|r| stopped(&r.result)).count();
    let interrupted = count(|r| matches!(r, RunResult::Interrupted { .. }));
    let not_started = count(|r| matches!(r, RunResult::NotStarted(_)));
    let failed = runs
        .iter()
        .filter(|r| !r.passed() && !r.interrupted_or_not_started())
        .count();
    Counts {
        passed: runs.len() - skipped - failed - interrupted - not_started,
        failed,
        skipped,
        interrupted,
        not_started,
    }
}

/// `N passed, N failed, N skipped` (the closing line CI tools read).
pub fn totals(runs: &[ScenarioRun]) -> String {
    let Counts {
        passed,
        failed,
        skipped,
        interrupted,
        not_started,
    } = counts(runs);
    let mut line = format!("qsim: {passed} passed, {failed} failed, {skipped} skipped");
    if interrupted + not_started > 0 {
        let _ = write!(
            line,
            ", {interrupted} interrupted, {not_started} not started"
        );
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_columns_line_up_whatever_the_lengths() {
        let happy = crate::scenario::load(std::path::Path::new("scenarios.d/happy.toml")).unwrap();
        let mut long = happy.clone();
        long.name = "a-scenario-with-a-very-long-name".into();
        long.tags = vec!["a-tag-longer-than-the-old-28-columns".into(), "fast".into()];
        let lines = list(&[happy.clone(), long.clone()]);
        let column = |line: &str, text: &str| line.find(text).unwrap();
        let first_line = happy.description.lines().next().unwrap();
        assert_eq!(
            column(&lines[0], first_line),
            column(&lines[1], first_line),
            "{lines:#?}"
        );
        assert_eq!(
            column(&lines[0], &happy.tags.join(",")),
            column(&lines[1], &long.tags.join(",")),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_run_without_calls_prints_no_call_list() {
        let scenario =
            crate::scenario::load(std::path::Path::new("scenarios.d/happy.toml")).unwrap();
        let mut run = crate::runner::run_scenario(scenario, &Default::default());
        run.result = RunResult::Skipped {
            missing: vec![Capability::MessageMoveTask],
        };
        run.api_calls = Some(Default::default());
        assert!(!details(&run).contains("api calls"), "{}", details(&run));
        run.api_calls = Some([("CreateQueue", 2)].into());
        assert!(
            details(&run).contains("api calls: 2 (CreateQueue 2)"),
            "{}",
            details(&run)
        );
    }

    #[test]
    fn long_runs_read_in_their_largest_units() {
        let cases = [
            (Duration::from_millis(12), "12ms"),
            (Duration::from_millis(2500), "2.5s"),
            (Duration::from_secs(125), "2m 5s"),
            (Duration::from_secs(2 * 3600 + 60 * 7), "2h 7m"),
            (Duration::from_secs(7 * 86_400), "7d 0h"),
        ];
        for (duration, text) in cases {
            assert_eq!(clock(duration), text);
        }
    }
}
