//! The claim check (`claim_check_above`): large bodies stored in the status table in chunks and
//! sent as pointers. On the simulator, a pointer whose send fails leaves its payload behind, which
//! `orphaned_payloads` counts; against a real moto_server, the chunks travel through
//! TransactWriteItems, are read back and deleted with their messages.

use std::path::Path;
use std::rc::Rc;

use qsim::check;
use qsim::runner;
use qsim::scenario;
use serde_json::Value as Json;

use super::moto::{history_lines, moto, run_to_a_pass};

/// A large-document producer whose first send fails and is not retried.
fn orphaning(orphaned_expected: u32) -> String {
    format!(
        r#"
[scenario]
name    = "claim-check-orphan"
description = "A stored payload whose pointer was never sent."
seed    = 1
timeout = "1m"

[queue]
visibility_timeout = "10s"
receive_wait       = "1s"

[[producers]]
name              = "large"
count             = 2
payload           = {{ kind = "work", size = 1100000 }}
claim_check_above = 262144
retries           = {{ max_attempts = 1 }}

[[consumers]]
name         = "worker"
idle_timeout = "3s"

[[faults]]
operation = "send"
kind      = "error"
nth       = 1

[expect]
sent              = 1
claim_checked     = 2
orphaned_payloads = {orphaned_expected}
processed         = 1
"#
    )
}

fn verdict_of(text: &str) -> check::Verdict {
    let scenario = Rc::new(scenario::parse(Path::new("claim-check-orphan.toml"), text).unwrap());
    let outcome = runner::simulate(scenario.clone(), scenario.seed).unwrap();
    check::check(&scenario, &outcome)
}

#[test]
fn a_stored_payload_whose_pointer_was_never_sent_is_an_orphan() {
    let verdict = verdict_of(&orphaning(1));
    assert!(
        verdict.passed(),
        "{:?}",
        verdict.failures().collect::<Vec<_>>()
    );
    // The same run cannot also show no orphan: the metric comes from the final table.
    let verdict = verdict_of(&orphaning(0));
    let failed: Vec<_> = verdict
        .failures()
        .map(|f| f.expectation.metric.name())
        .collect();
    assert_eq!(failed, ["orphaned_payloads"]);
}

#[tokio::test(flavor = "current_thread")]
async fn payloads_go_through_moto_in_chunks_and_leave_with_their_messages() {
    let moto = moto().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios.d/payload-claim-check.toml");
    let scenario = Rc::new(scenario::load(&path).unwrap());
    let backend = Rc::new(moto.backend(&scenario.name).await);
    let outcome = run_to_a_pass(&scenario, backend.clone()).await;

    let lines: Vec<Json> = history_lines(&scenario, &outcome);
    let stored: Vec<&Json> = lines
        .iter()
        .filter(|l| l["event"] == "payload-stored")
        .collect();
    assert_eq!(stored.len(), 2);
    // 1,100,000 bytes in items of at most 384 KiB.
    assert!(stored.iter().all(|l| l["chunks"] == 3), "{stored:?}");
    let deleted = lines
        .iter()
        .filter(|l| l["event"] == "payload-deleted")
        .count();
    assert_eq!(deleted, 2);
    // The final status table, scanned before the teardown: the run's own records only.
    let status: Vec<&str> = outcome.final_state.status.keys().collect();
    assert!(
        !status.iter().any(|key| key.starts_with("payload:")),
        "{status:?}"
    );
    let calls = backend.api_calls();
    assert_eq!(calls.get("TransactWriteItems"), Some(&2), "{calls:?}");
    // Each large message's three chunks read back once.
    assert!(calls.get("GetItem").is_some_and(|n| *n >= 6), "{calls:?}");
}
