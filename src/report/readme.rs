//! The README's generated blocks (the scenario catalog table, the metric list, the event kinds of
//! the history and their examples, the conformance set's fidelity table), so they cannot drift
//! from `scenarios.d/`, the code and the runs: a test regenerates them and fails on any difference.

use crate::scenario::{Metric, MetricDef, MetricKind, Scenario};
use crate::sqs::envelope::{Envelope, Latitude, Profile};

/// `| name | tags | what it shows |` for every scenario, in file order.
pub fn scenarios_table(scenarios: &[Scenario]) -> String {
    let mut out = String::from("| scenario | tags | what it shows |\n|---|---|---|\n");
    for s in scenarios {
        let summary = first_sentence(&s.description);
        out.push_str(&format!(
            "| [`{}`](scenarios.d/{}) | {} | {} |\n",
            s.name,
            file_name(s),
            s.tags.join(", "),
            summary
        ));
    }
    out
}

/// `| metric | meaning |` for every metric `[expect]` accepts.
pub fn metrics_table() -> String {
    let mut out = String::from("| metric | meaning |\n|---|---|\n");
    for MetricDef {
        name,
        meaning,
        kind,
        ..
    } in Metric::ALL
    {
        let kind = if *kind == MetricKind::Bool {
            " (true/false)"
        } else {
            ""
        };
        out.push_str(&format!("| `{name}` | {meaning}{kind} |\n"));
    }
    out
}

/// `| assumption | [queue.sim] key | ideal | aws | adversarial |`: each profile's rate per
/// latitude, from the profiles themselves.
pub fn envelope_table() -> String {
    let mut out = String::from("| assumption | `[queue.sim]` key |");
    for profile in Profile::ALL {
        out.push_str(&format!(" `{profile}` |"));
    }
    out.push_str("\n|---|---|---|---|---|\n");
    for latitude in Latitude::ALL {
        let (key, value): (&str, fn(&Envelope) -> String) = match latitude {
            Latitude::PurgeReach => ("purge_reach_rate", |e| e.purge_reach_rate.to_string()),
            Latitude::CounterLag => ("counter_lag", |e| {
                humantime::format_duration(e.counter_lag).to_string()
            }),
            Latitude::Reorder => ("reorder_rate", |e| e.reorder_rate.to_string()),
            Latitude::PartialReceive => ("partial_receive_rate", |e| {
                e.partial_receive_rate.to_string()
            }),
            Latitude::Duplicates => ("duplicate_rate", |e| e.duplicate_rate.to_string()),
            Latitude::StaleReceipts => ("stale_receipt_rate", |e| e.stale_receipt_rate.to_string()),
        };
        out.push_str(&format!("| `{latitude}` | `{key}` |"));
        for profile in Profile::ALL {
            out.push_str(&format!(" {} |", value(&profile.envelope())));
        }
        out.push('\n');
    }
    out
}

/// What one conformance scenario did on an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conformance {
    Passed,
    /// The checks that failed: metric names (`producer.NAME.metric` when scoped), `snapshot`,
    /// or how the run ended when it did not complete.
    Failed(Vec<String>),
    /// The run stopped on a backend error (its kind, in a few words).
    Error(String),
}

/// One row of the fidelity table.
#[derive(Clone, Debug)]
pub struct FidelityRow<'a> {
    pub scenario: &'a Scenario,
    pub result: Conformance,
    /// What `qsim run-all` names as missing when it skips the scenario on this endpoint; the
    /// result is then from running it with the capability check off.
    pub skipped_for: Vec<String>,
}

/// `| scenario | behaviour | ENDPOINT |`: per conformance scenario, the documented behaviour it
/// pins (its description's first sentence) and what the endpoint did.
pub fn fidelity_table(endpoint: &str, rows: &[FidelityRow]) -> String {
    let mut out = format!("| scenario | behaviour | {endpoint} |\n|---|---|---|\n");
    for row in rows {
        let mut result = match &row.result {
            Conformance::Passed => "pass".to_owned(),
            Conformance::Failed(checks) => {
                let checks: Vec<String> = checks.iter().map(|c| format!("`{c}`")).collect();
                format!("**FAIL**: {}", checks.join(", "))
            }
            Conformance::Error(kind) => format!("**ERROR**: {kind}"),
        };
        if !row.skipped_for.is_empty() {
            result.push_str(&format!(
                " (`run-all` skips it: lacks {})",
                row.skipped_for.join("; ")
            ));
        }
        let path = row.scenario.path.to_string_lossy().replace('\\', "/");
        out.push_str(&format!(
            "| [`{}`]({path}) | {} | {} |\n",
            row.scenario.name,
            first_sentence(&row.scenario.description),
            result.replace('|', "\\|")
        ));
    }
    out
}

/// `readme` with the blocks between `<!-- KEY:begin -->` and `<!-- KEY:end -->` regenerated.
pub fn refresh(readme: &str, scenarios: &[Scenario]) -> String {
    let readme = replace_block(readme, "scenarios", &scenarios_table(scenarios));
    let readme = replace_block(&readme, "events", &crate::report::events::table());
    let readme = replace_block(&readme, "envelope", &envelope_table());
    let readme = replace_block(
        &readme,
        "event-examples",
        &crate::report::events::examples(),
    );
    replace_block(&readme, "metrics", &metrics_table())
}

/// `text` with the block `key` (between `<!-- KEY:begin -->` and `<!-- KEY:end -->`) replaced by
/// `content`; unchanged when it has no such block.
pub fn replace_block(text: &str, key: &str, content: &str) -> String {
    let begin = format!("<!-- {key}:begin -->\n");
    let end = format!("<!-- {key}:end -->");
    match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}{content}{}", &text[..b], &text[e..]),
        _ => text.to_owned(),
    }
}

fn first_sentence(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = flat.find(". ").map_or(flat.len(), |i| i + 1);
    flat[..end].replace('|', "\\|")
}

fn file_name(s: &Scenario) -> String {
    s.path.file_name().map_or_else(
        || format!("{}.toml", s.name),
        |f| f.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_between_markers() {
        let text = "a\n<!-- metrics:begin -->\nold\n<!-- metrics:end -->\nb\n";
        let new = replace_block(text, "metrics", "new\n");
        assert_eq!(
            new,
            "a\n<!-- metrics:begin -->\nnew\n<!-- metrics:end -->\nb\n"
        );
    }

    #[test]
    fn fidelity_rows_say_what_failed_and_what_run_all_skips() {
        let text = r#"
            [scenario]
            name = "dedup"
            description = "A FIFO queue drops a duplicate. Source: the docs."
            [queue]
            kind = "fifo"
            [[producers]]
            name = "p"
            count = 1
            [[consumers]]
            name = "w"
            [expect]
            sent = 1
        "#;
        let path = std::path::Path::new("scenarios.d/conformance/dedup.toml");
        let scenario = crate::scenario::parse(path, text).unwrap();
        let row = |result, skipped_for: &[&str]| FidelityRow {
            scenario: &scenario,
            result,
            skipped_for: skipped_for.iter().map(|s| s.to_string()).collect(),
        };
        let table = fidelity_table(
            "moto",
            &[
                row(Conformance::Passed, &[]),
                row(
                    Conformance::Failed(vec!["processed".into(), "snapshot".into()]),
                    &["the window"],
                ),
            ],
        );
        assert_eq!(
            table,
            "| scenario | behaviour | moto |\n|---|---|---|\n\
             | [`dedup`](scenarios.d/conformance/dedup.toml) | A FIFO queue drops a duplicate. | pass |\n\
             | [`dedup`](scenarios.d/conformance/dedup.toml) | A FIFO queue drops a duplicate. \
             | **FAIL**: `processed`, `snapshot` (`run-all` skips it: lacks the window) |\n"
        );
    }

    #[test]
    fn first_sentence_stops_at_the_first_period() {
        assert_eq!(first_sentence("One line.\nTwo. Three."), "One line.");
    }
}
