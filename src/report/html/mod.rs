//! `--html FILE`: one self-contained HTML page per `run`/`run-all` (inline CSS and SVG, no
//! script, no network), opening from disk. Per scenario: the verdict, the description, the seed
//! and the reproduce command, each expectation with expected and actual, the timeline chart,
//! the message lifelines and, for each failed check, its explanation from the history
//! ([`crate::check::explain`]). With several scenarios, an index links to each.
//!
//! The page is a minijinja template (`report.html`, HTML-escaped automatically); the SVG is
//! built here and inserted as safe markup.

mod lifelines;
mod svg;
mod timeline;

use minijinja::{Environment, context};
use serde::Serialize;

use std::collections::HashSet;

use crate::backend::TransitionKind;
use crate::backend::faults::ApiOperation;
use crate::check::explain::{self, Explanation, ending_name};
use crate::engine::{EventKind, EventLog, MessageIx};
use crate::explore::Exploration;
use crate::runner::{RunResult, ScenarioRun};

use super::summary;

const TEMPLATE: &str = include_str!("report.html");

/// The consumers' deletes the queue ignored, by message and instant: a delete with a stale
/// receipt that did not act, whose `deleted` line (SQS's OK) follows its `stale-receipt` line at
/// the same instant. The message stays where it was.
fn ignored_deletes(log: &EventLog) -> HashSet<(MessageIx, u64)> {
    log.events
        .iter()
        .filter(|e| {
            e.kind
                == EventKind::Queue(TransitionKind::StaleReceipt {
                    operation: ApiOperation::Delete,
                    acted: false,
                })
        })
        .filter_map(|e| Some((e.message?, e.at_us)))
        .collect()
}

#[derive(Serialize)]
struct Page {
    name: String,
    anchor: String,
    status: &'static str,
    line: String,
    description: String,
    seed: u64,
    backend: &'static str,
    reproduce: String,
    file: String,
    note: Option<String>,
    expectations: Vec<ExpectationRow>,
    explanations: Vec<ExplanationView>,
    timeline: Option<String>,
    lifelines: Option<String>,
    lifelines_note: Option<String>,
    /// API calls per operation, on backends that count them, and their total.
    api_calls: Vec<(&'static str, u64)>,
    api_calls_total: u64,
    /// Requests sent per operation with the SDK's retries, when they differ from the calls.
    api_attempts: Vec<(String, u64)>,
    /// What the run's calls cost, as the run summary states it; the page shows it when present.
    /// Nothing sets it yet: [`ScenarioRun`] carries no cost until issue 10's estimate lands.
    estimated_cost: Option<String>,
}

#[derive(Serialize)]
struct ExpectationRow {
    check: String,
    expected: String,
    actual: String,
    pass: bool,
}

#[derive(Serialize)]
struct ExplanationView {
    check: String,
    expected: String,
    actual: String,
    summary: Option<String>,
    stories: Vec<StoryView>,
    more: usize,
}

#[derive(Serialize)]
struct StoryView {
    id: String,
    fate: &'static str,
    steps: Vec<String>,
}

/// One explored scenario, as `explore --html` shows it.
#[derive(Serialize)]
struct TallyView {
    name: String,
    anchor: String,
    file: String,
    passed: bool,
    seeds_passed: u64,
    runs: u64,
    failures: Vec<SignatureView>,
    sometimes: Vec<String>,
    /// The section of the first failing seed's run, when one failed.
    report: Option<(u64, String)>,
}

#[derive(Serialize)]
struct SignatureView {
    checks: String,
    seeds: u64,
    first_seed: u64,
    reproduce: String,
}

#[derive(Serialize)]
struct ExplorationView {
    totals: String,
    scenarios: Vec<TallyView>,
}

/// The whole page for these runs.
pub fn render(runs: &[ScenarioRun]) -> String {
    render_pages(&runs.iter().map(page).collect::<Vec<_>>(), runs, None)
}

/// `explore --html`: per scenario, the seeds run, the failures by check with the command that
/// reproduces each, the `[expect.sometimes]` tallies, then the full report of each scenario's
/// first failing seed (`first_failures`, run again), or that every seed held.
pub fn render_exploration(exploration: &Exploration, first_failures: &[ScenarioRun]) -> String {
    let profile = exploration.profile.as_deref();
    let scenarios = exploration
        .scenarios
        .iter()
        .map(|tally| TallyView {
            name: tally.name.clone(),
            anchor: format!("explore-{}", tally.name),
            file: tally.path.clone(),
            passed: tally.passed(),
            seeds_passed: tally.passed,
            runs: tally.runs,
            failures: tally
                .failures
                .iter()
                .map(|signature| SignatureView {
                    checks: signature.failed.join(", "),
                    seeds: signature.seeds,
                    first_seed: signature.first_seed,
                    reproduce: super::explore::reproduce(
                        &tally.path,
                        signature.first_seed,
                        profile,
                    ),
                })
                .collect(),
            sometimes: tally
                .sometimes
                .iter()
                .map(|s| super::explore::sometimes_line(s, tally.runs))
                .collect(),
            report: first_failures
                .iter()
                .find(|run| run.scenario.name == tally.name)
                .map(|run| (run.seed, format!("scenario-{}", run.scenario.name))),
        })
        .collect();
    let view = ExplorationView {
        totals: super::explore::totals(exploration),
        scenarios,
    };
    let pages: Vec<Page> = first_failures.iter().map(page).collect();
    render_pages(&pages, first_failures, Some(&view))
}

fn render_pages(
    pages: &[Page],
    runs: &[ScenarioRun],
    exploration: Option<&ExplorationView>,
) -> String {
    let counts = summary::counts(runs);
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)
        .expect("the report template parses (a unit test renders it)");
    let legend_gauges: Vec<_> = timeline::GAUGES.iter().chain(&timeline::RATES).collect();
    env.get_template("report.html")
        .expect("added above")
        .render(context! {
            pages => minijinja::Value::from(minijinja::value::Serde(pages)),
            totals => summary::totals(runs),
            failed => counts.failed,
            index => runs.len() > 1 && exploration.is_none(),
            exploration => exploration.map(|e| minijinja::Value::from(minijinja::value::Serde(e))),
            legend_lines => minijinja::Value::from(minijinja::value::Serde(&legend_gauges)),
            legend_fates => minijinja::Value::from(minijinja::value::Serde(lifelines::FATES)),
        })
        .expect("the report template renders (a unit test renders it)")
}

fn page(run: &ScenarioRun) -> Page {
    let scenario = &run.scenario;
    let mut page = Page {
        name: scenario.name.clone(),
        anchor: format!("scenario-{}", scenario.name),
        status: status(run),
        line: summary::line(run),
        description: scenario.description.clone(),
        seed: run.seed,
        backend: run.backend,
        reproduce: summary::reproduce_command(run),
        file: scenario.path.display().to_string(),
        note: None,
        expectations: Vec::new(),
        explanations: Vec::new(),
        timeline: None,
        lifelines: None,
        lifelines_note: None,
        api_calls: Vec::new(),
        api_calls_total: 0,
        api_attempts: Vec::new(),
        estimated_cost: None,
    };
    if let Some(calls) = &run.api_calls {
        page.api_calls = calls.iter().map(|(op, n)| (*op, *n)).collect();
        page.api_calls_total = calls.values().sum();
    }
    if let Some(attempts) = &run.api_attempts
        && attempts.values().sum::<u64>() != page.api_calls_total
    {
        page.api_attempts = attempts.iter().map(|(op, n)| (op.clone(), *n)).collect();
    }
    let RunResult::Finished(finished) = &run.result else {
        page.note = Some(summary::details(run).trim().to_owned()).filter(|d| !d.is_empty());
        return page;
    };
    let verdict = &finished.verdict;
    let outcome = &finished.outcome;
    // The scenario's own calls, counted on every backend (AWS runs list every SDK call above).
    if page.api_calls.is_empty() && !outcome.api.calls.is_empty() {
        page.api_calls = outcome.api.calls.iter().map(|(op, n)| (*op, *n)).collect();
        page.api_calls_total = outcome.api.total_calls();
    }
    if let crate::check::Value::Number(usd) = crate::check::metric_value(
        crate::scenario::Metric::EstimatedCostUsd,
        outcome,
        &verdict.facts,
    ) {
        page.estimated_cost = Some(summary::dollars(usd));
    }
    page.expectations = verdict
        .results
        .iter()
        .map(|r| ExpectationRow {
            check: summary::expectation_label(scenario, &r.expectation),
            expected: crate::check::describe_expected(&r.expectation.expected),
            actual: r.actual.to_string(),
            pass: r.passed,
        })
        .collect();
    if finished.snapshot.is_failure() {
        page.note = Some(summary::details(run).trim().to_owned()).filter(|d| !d.is_empty());
    }
    let explanations = explain::explain(scenario, outcome, verdict);
    page.timeline = Some(timeline::svg(&timeline::Series::from_outcome(outcome)));
    let total = outcome.log.messages.len();
    let mut shown: Vec<MessageIx> = if total <= lifelines::ALL_LIFELINES_UP_TO {
        (0..total as u32).map(MessageIx).collect()
    } else {
        let mut involved: Vec<MessageIx> = verdict
            .failures()
            .flat_map(|r| r.involved.iter())
            .filter_map(|id| outcome.log.lookup(id))
            .chain(
                explanations
                    .iter()
                    .flat_map(|e| e.stories.iter().map(|s| s.message)),
            )
            .collect();
        involved.sort();
        involved.dedup();
        in_order_of_appearance(outcome, &mut involved);
        involved.truncate(lifelines::ALL_LIFELINES_UP_TO);
        page.lifelines_note = Some(format!(
            "{total} messages: the chart above is their aggregated view; below, the {} a \
             failure involves{}.",
            involved.len(),
            if involved.len() == lifelines::ALL_LIFELINES_UP_TO {
                " (the first ones)"
            } else {
                ""
            }
        ));
        involved
    };
    if !shown.is_empty() {
        in_order_of_appearance(outcome, &mut shown);
        page.lifelines = Some(lifelines::svg(outcome, &verdict.facts, &shown));
    }
    page.explanations = explanations.into_iter().map(view).collect();
    page
}

/// The timeline chart of `outcome` as a standalone SVG picture, legend included (the guide's
/// pictures).
pub fn timeline_picture(outcome: &crate::engine::Outcome) -> String {
    timeline::picture(&timeline::Series::from_outcome(outcome))
}

/// Orders `messages` by their first event in the history. The order the engine registered them
/// in (composition order) is not in the history, so a page read back from one (`qsim report`)
/// could not reproduce it; the history's own order it can.
fn in_order_of_appearance(outcome: &crate::engine::Outcome, messages: &mut [MessageIx]) {
    let mut first = vec![usize::MAX; outcome.log.messages.len()];
    for (position, event) in outcome.log.events.iter().enumerate() {
        if let Some(ix) = event.message {
            let slot = &mut first[ix.0 as usize];
            *slot = (*slot).min(position);
        }
    }
    messages.sort_by_key(|ix| (first[ix.0 as usize], *ix));
}

fn view(e: Explanation) -> ExplanationView {
    ExplanationView {
        check: e.check,
        expected: e.expected,
        actual: e.actual,
        summary: e.summary,
        stories: e
            .stories
            .into_iter()
            .map(|s| StoryView {
                id: s.id,
                fate: s.fate,
                steps: s.steps.into_iter().map(|step| step.text).collect(),
            })
            .collect(),
        more: e.more,
    }
}

fn status(run: &ScenarioRun) -> &'static str {
    match &run.result {
        RunResult::Finished(f) => {
            if run.passed() {
                "passed"
            } else if f.verdict.ending != crate::engine::Ending::Completed {
                ending_name(f.verdict.ending)
            } else {
                "failed"
            }
        }
        RunResult::Skipped { .. } => "skipped",
        RunResult::Interrupted { .. } => "interrupted",
        RunResult::NotStarted(_) => "not-started",
        RunResult::BackendFailed(_) | RunResult::SnapshotIo(_) => "error",
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::sync::Arc;

    use super::*;

    fn failing_run() -> ScenarioRun {
        let scenario = crate::scenario::load(std::path::Path::new(
            "tests/fixtures/failing/happy-wrong-expectation.toml",
        ))
        .unwrap();
        let outcome = crate::runner::simulate(Rc::new(scenario.clone()), scenario.seed).unwrap();
        let verdict = crate::check::check(&scenario, &outcome);
        ScenarioRun {
            seed: scenario.seed,
            scenario: Arc::new(scenario),
            backend: "sim",
            wall: std::time::Duration::ZERO,
            result: RunResult::Finished(Box::new(crate::runner::Finished {
                outcome,
                verdict,
                snapshot: crate::check::snapshot::SnapshotStatus::SkippedForSeed { file_seed: 1 },
            })),
            api_calls: None,
            api_attempts: None,
            leftovers: None,
            reproduce: Default::default(),
        }
    }

    #[test]
    fn a_failed_check_is_told_by_the_events_of_its_messages() {
        let run = failing_run();
        let RunResult::Finished(f) = &run.result else {
            panic!("finished")
        };
        let explanations = explain::explain(&run.scenario, &f.outcome, &f.verdict);
        insta::assert_snapshot!(crate::report::explain::text(&explanations));
    }

    #[test]
    fn the_chart_replays_the_history() {
        let run = failing_run();
        let RunResult::Finished(f) = &run.result else {
            panic!("finished")
        };
        let series = timeline::Series::from_outcome(&f.outcome);
        assert_eq!(series.sends.iter().sum::<u64>(), 5);
        assert_eq!(series.deletes.iter().sum::<u64>(), 5);
        assert_eq!(series.visible.iter().max(), Some(&5));
        assert_eq!(series.consumers.iter().max(), Some(&1));
        assert_eq!(series.visible.last(), Some(&0));
        assert_eq!(series.in_flight.last(), Some(&0));
    }

    /// tests/fixtures/html/stale-delete.toml: w-1's delete at 8.1 s carries a stale receipt the
    /// queue ignores, so the message stays in flight with w-2, visible again when w-2's visibility
    /// timeout runs out, until w-2 deletes it at 13.1 s.
    #[test]
    fn a_delete_the_queue_ignored_leaves_the_message_where_it_was() {
        let scenario = crate::scenario::load(std::path::Path::new(
            "tests/fixtures/html/stale-delete.toml",
        ))
        .unwrap();
        let outcome = crate::runner::simulate(Rc::new(scenario.clone()), scenario.seed).unwrap();
        let series = timeline::Series::from_outcome(&outcome);
        assert_eq!(series.deletes.iter().sum::<u64>(), 1);
        let at = |us: u64| (us / series.bucket_us) as usize;
        // Between the ignored delete and the end of w-2's visibility timeout: still in flight.
        assert_eq!(series.in_flight[at(9_000_000)], 1);
        assert_eq!(series.visible[at(9_000_000)], 0);
        // Visible again from 10.1 s until w-2's delete, which does act.
        assert_eq!(series.in_flight[at(11_000_000)], 0);
        assert_eq!(series.visible[at(11_000_000)], 1);
    }

    #[test]
    fn api_calls_and_a_cost_show_when_the_run_has_them() {
        let mut run = failing_run();
        // On the simulator: the scenario's own calls, as the fault layer counted them, and
        // their cost.
        let simulated = render(std::slice::from_ref(&run));
        let RunResult::Finished(finished) = &run.result else {
            panic!("the fixture runs to a verdict")
        };
        let receives = finished.outcome.api.calls["ReceiveMessage"];
        assert!(
            simulated.contains(&format!("<td>ReceiveMessage</td><td>{receives}</td>")),
            "{simulated}"
        );
        assert!(simulated.contains("estimated cost: $"), "{simulated}");
        run.api_calls = Some([("ReceiveMessage", 7), ("SendMessage", 5)].into());
        run.api_attempts = Some(
            [
                ("ReceiveMessage".to_owned(), 9),
                ("SendMessage".to_owned(), 5),
            ]
            .into(),
        );
        let mut page = page(&run);
        // The template shows a cost only when the page has one.
        page.estimated_cost = None;
        let html = render_pages(
            std::slice::from_ref(&page),
            std::slice::from_ref(&run),
            None,
        );
        assert!(
            html.contains("<td>ReceiveMessage</td><td>7</td><td>9</td>"),
            "{html}"
        );
        assert!(html.contains("<th>total</th><th>12</th>"), "{html}");
        assert!(!html.contains("estimated cost"), "{html}");
        page.estimated_cost = Some("$0.0000048".into());
        let html = render_pages(
            std::slice::from_ref(&page),
            std::slice::from_ref(&run),
            None,
        );
        assert!(html.contains("estimated cost: $0.0000048"), "{html}");
    }

    #[test]
    fn a_failing_run_renders_with_its_explanation_chart_and_lifelines() {
        let run = failing_run();
        let html = render(std::slice::from_ref(&run));
        assert!(html.contains("FAIL"), "{html}");
        assert!(html.contains("processed: expected 4, got 5"), "{html}");
        assert!(html.contains("<li>sent by orders at 0.0 s</li>"), "{html}");
        assert!(html.contains(r#"data-series="visible""#));
        assert!(html.contains(r#"data-message="orders-0005""#));
        assert!(!html.contains("http://") || !html.contains("<script src"));
    }
}
