//! The README's generated blocks (the scenario catalog table, the metric list, the event kinds of
//! the history and their examples), so they cannot drift from `scenarios.d/` and the code: a test
//! regenerates them and fails on any difference.

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

fn replace_block(text: &str, key: &str, content: &str) -> String {
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
    fn first_sentence_stops_at_the_first_period() {
        assert_eq!(first_sentence("One line.\nTwo. Three."), "One line.");
    }
}
