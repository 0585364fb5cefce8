//! The Markdown a block generates, from a run on the simulator.

use std::fmt::Write;

use crate::check::explain::{self, Explanation, Story};
use crate::engine::EventKind;
use crate::runner::{RunResult, ScenarioRun};

use super::Problem;

/// A scenario file, verbatim, fenced as TOML.
pub(super) fn scenario_listing(text: &str) -> String {
    // A fence longer than any backtick run inside the file keeps the listing verbatim.
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!(
        "{fence}toml\n{}{}{fence}\n",
        text,
        if text.ends_with('\n') { "" } else { "\n" }
    )
}

/// The block of a scenario whose consumers are child processes: they run in real time, so its
/// results depend on the machine's timing and no run of it is pinned in the guide.
pub(super) fn child_process_note(file: &str, needs_served_history: bool) -> String {
    let elsewhere = if needs_served_history {
        "`--backend aws` skips it: it needs the consumer's calls seen (its receives) or struck by \
         faults, which only the simulator served to it does. Its timing is the machine's, so no \
         result is pinned here; qsim's test suite runs it on the simulator"
    } else {
        "`--backend aws --endpoint-url URL` runs them against any endpoint. Their timing is the \
         machine's, so no result is pinned here; qsim's test suite runs it both ways"
    };
    format!(
        "**Runs child processes, in real time**: `qsim run {file}` serves the simulator to them \
         over the AWS protocol (as `qsim serve` does), and {elsewhere}.\n"
    )
}

/// A run block: verdict and figures, each expectation, the timeline picture, and the story of
/// message `story` (or of each failed check's messages).
pub(super) fn run_block(
    run: &ScenarioRun,
    file: &str,
    picture: &str,
    story: Option<&str>,
) -> Result<String, String> {
    let RunResult::Finished(finished) = &run.result else {
        return Err(format!(
            "{file} did not run to a verdict on the simulator: {}",
            crate::report::summary::details(run).trim()
        ));
    };
    let (outcome, verdict) = (&finished.outcome, &finished.verdict);
    let scenario = &run.scenario;
    let mut out = String::new();
    let receives = outcome
        .log
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Received { .. }))
        .count();
    // What the producers handed to the queue, as the `sent` metric counts it (a message whose
    // write ended before its send is registered but not sent).
    let sent =
        match crate::check::metric_value(crate::scenario::Metric::Sent, outcome, &verdict.facts) {
            crate::check::Value::Number(n) => n as usize,
            _ => outcome.log.messages.len(),
        };
    let _ = writeln!(
        out,
        "**{}** on the simulator with seed {} (`qsim run {file}`): {} sent, received {}, {} of simulated time.",
        if verdict.passed() { "Passes" } else { "Fails" },
        run.seed,
        plural(sent, "message"),
        match receives {
            1 => "once".to_owned(),
            n => format!("{n} times"),
        },
        explain::seconds(outcome.elapsed.as_micros() as u64),
    );
    out.push_str("\n| expectation | expected | actual | holds |\n|---|---|---|---|\n");
    for result in &verdict.results {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            crate::report::summary::expectation_label(scenario, &result.expectation),
            cell(&crate::check::describe_expected(
                &result.expectation.expected
            )),
            cell(&result.actual.to_string()),
            if result.passed { "yes" } else { "**no**" },
        );
    }
    write_cost(&mut out, outcome, &verdict.facts);
    let _ = writeln!(
        out,
        "\n![Timeline of {}: visible, in-flight and DLQ messages, live consumers, sends and deletes per second]({picture})",
        scenario.name
    );
    if let Some(id) = story {
        let ix = outcome
            .log
            .lookup(id)
            .ok_or_else(|| format!("`story={id}`: no message {id} in the run of {file}"))?;
        write_story(&mut out, &explain::story(outcome, verdict, ix));
    }
    for explanation in explain::explain(scenario, outcome, verdict) {
        write_explanation(&mut out, &explanation);
    }
    Ok(out)
}

/// What the run's own API calls were, what they cost, and the table writes per message.
fn write_cost(out: &mut String, outcome: &crate::engine::Outcome, facts: &crate::check::Facts) {
    let api = &outcome.api;
    if api.calls.is_empty() {
        return;
    }
    let per_operation: Vec<String> = api
        .calls
        .iter()
        .map(|(operation, n)| format!("{operation} {n}"))
        .collect();
    let writes: u64 = ["PutItem", "UpdateItem", "DeleteItem"]
        .iter()
        .filter_map(|op| api.calls.get(op))
        .sum();
    let messages = outcome.log.messages.len().max(1) as f64;
    let cost =
        match crate::check::metric_value(crate::scenario::Metric::EstimatedCostUsd, outcome, facts)
        {
            crate::check::Value::Number(usd) => crate::report::summary::dollars(usd),
            _ => "unknown".to_owned(),
        };
    let _ = writeln!(
        out,
        "\nWhat it cost: {} API calls ({}), {:.1} DynamoDB writes per message, {cost} at on-demand list prices.",
        api.total_calls(),
        per_operation.join(", "),
        writes as f64 / messages,
    );
}

fn write_explanation(out: &mut String, e: &Explanation) {
    let _ = writeln!(
        out,
        "\nWhy `{}` failed: expected {}, got {}.",
        e.check, e.expected, e.actual
    );
    if let Some(summary) = &e.summary {
        let _ = writeln!(out, "{summary}");
    }
    for story in &e.stories {
        write_story(out, story);
    }
}

fn write_story(out: &mut String, story: &Story) {
    let _ = writeln!(out, "\nWhat happened to `{}` ({}):\n", story.id, story.fate);
    for (n, step) in story.steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {}", n + 1, step.text);
    }
}

/// A Markdown table cell: pipes escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Checks a claim's `key=value` arguments against the run: `verdict=pass|fail`, or a metric
/// `[expect]` knows with the value it had: a number, `true`/`false`, or a comparison as
/// `[expect]` writes it (`api_calls=>1000`).
pub(super) fn check_claim(
    run: &ScenarioRun,
    arguments: &[(String, String)],
    place: &str,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |message: String| {
        problems.push(Problem {
            place: place.to_owned(),
            message,
        })
    };
    let RunResult::Finished(finished) = &run.result else {
        problem("the scenario did not run to a verdict".to_owned());
        return problems;
    };
    if arguments.is_empty() {
        problem("a claim states nothing: add `verdict=pass|fail` or `METRIC=VALUE`".to_owned());
    }
    for (key, claimed) in arguments {
        if key == "verdict" {
            let actual = if finished.verdict.passed() {
                "pass"
            } else {
                "fail"
            };
            if !matches!(claimed.as_str(), "pass" | "fail") {
                problem(format!("`verdict={claimed}`: expected `pass` or `fail`"));
            } else if claimed != actual {
                problem(format!("claims verdict {claimed}, the run's is {actual}"));
            }
            continue;
        }
        let Some(metric) = crate::scenario::Metric::from_name(key) else {
            problem(format!(
                "`{key}` is neither `verdict` nor a metric of `[expect]` (see the README's metric list)"
            ));
            continue;
        };
        let actual = crate::check::metric_value(metric, &finished.outcome, &finished.verdict.facts);
        let holds = match &actual {
            crate::check::Value::Number(n) => match claimed.parse::<f64>() {
                Ok(exact) => exact == *n,
                // `api_calls=<200`: a comparison, written as in `[expect]`.
                Err(_) => match crate::scenario::parse_comparison(claimed) {
                    Ok((op, bound)) => op.holds(*n, bound),
                    Err(reason) => {
                        problem(format!("`{key}={claimed}`: {reason}"));
                        continue;
                    }
                },
            },
            crate::check::Value::Bool(b) => claimed.parse::<bool>().is_ok_and(|c| c == *b),
            crate::check::Value::Counts(_) => {
                problem(format!(
                    "`{key}` is a per-key count: claim a number metric instead"
                ));
                continue;
            }
        };
        if !holds {
            problem(format!("claims {key} = {claimed}, the run has {actual}"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_checked_against_the_run() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios.d/happy.toml");
        let scenario = crate::scenario::load(&path).unwrap();
        let run = crate::runner::run_scenario(scenario, &crate::runner::RunOptions::default());
        let check = |claim: &str| {
            let arguments: Vec<(String, String)> = claim
                .split_whitespace()
                .map(|w| {
                    let (k, v) = w.split_once('=').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            check_claim(&run, &arguments, "here")
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            check("verdict=pass processed=5 processed=>4 queue_empty=true"),
            Vec::<String>::new()
        );
        let wrong = check("verdict=fail processed=4 processed=<5 queue_empty=false");
        assert_eq!(wrong.len(), 4, "{wrong:#?}");
        assert!(
            wrong[0].contains("claims verdict fail, the run's is pass"),
            "{wrong:#?}"
        );
        assert!(
            wrong[1].contains("claims processed = 4, the run has 5"),
            "{wrong:#?}"
        );
        let malformed = check("verdict=maybe nonsense=1 processed=~5");
        assert_eq!(malformed.len(), 3, "{malformed:#?}");
        assert!(
            malformed[1].contains("neither `verdict` nor a metric"),
            "{malformed:#?}"
        );
        assert!(malformed[2].contains("`processed=~5`"), "{malformed:#?}");
        assert_eq!(check("").len(), 1, "an empty claim states nothing");
    }

    #[test]
    fn listings_keep_backticks_inside_the_file() {
        assert_eq!(scenario_listing("a = 1\n"), "```toml\na = 1\n```\n");
        let tricky = "d = \"\"\"use ```x```\"\"\"";
        let listing = scenario_listing(tricky);
        assert!(listing.starts_with("````toml\n"), "{listing}");
        assert!(listing.ends_with("\n````\n"), "{listing}");
    }
}
