//! The fault layer on the AWS path, against a real moto_server: a throttle, a 5xx and a
//! `timeout_after` are each injected at the backend boundary, retried by the engine (the SDK
//! makes one attempt per call), and each is observed in the history (`--events`) and in the
//! API call counts.

use std::path::Path;
use std::rc::Rc;

use qsim::check::{self, Value};
use qsim::scenario::{self, Metric};
use serde_json::Value as Json;

use super::moto::{history_lines, moto, run_to_a_pass};

const SCENARIO: &str = r#"
[scenario]
name        = "aws-faults"
description = "a throttle, a 5xx and a timeout_after, each retried"
timeout     = "2m"

[queue]
visibility_timeout = "10s"
receive_wait       = "1s"

[[producers]]
name    = "orders"
count   = 3
retries = { max_attempts = 3, backoff = "50ms" }

[[consumers]]
name         = "worker"
idle_timeout = "3s"
idempotency  = "tables"
retries      = { max_attempts = 3, backoff = "50ms" }

[[faults]]
operation = "send"
kind      = "timeout_after"
nth       = 1

[[faults]]
operation = "receive"
kind      = "throttle"
nth       = 1

[[faults]]
operation = "put_item"
kind      = "error"
nth       = 1

[expect]
sent                    = 3
processed               = 3
side_effects            = 3
duplicated_effects      = 0
ambiguous_sends         = 1
duplicates_from_retries = 1
queue_empty             = true
"#;

#[tokio::test(flavor = "current_thread")]
async fn throttle_error_and_timeout_after_are_in_the_history_and_the_call_counts() {
    let moto = moto().await;
    let scenario = Rc::new(scenario::parse(Path::new("aws-faults.toml"), SCENARIO).unwrap());
    let backend = Rc::new(moto.backend(&scenario.name).await);
    let outcome = run_to_a_pass(&scenario, backend.clone()).await;
    let verdict = check::check(&scenario, &outcome);

    let lines: Vec<Json> = history_lines(&scenario, &outcome);
    let of = |event: &str, operation: &str| -> Vec<&Json> {
        lines
            .iter()
            .filter(|l| l["event"] == event && l["operation"] == operation)
            .collect()
    };
    for (operation, fault) in [
        ("send", "timeout_after"),
        ("receive", "throttle"),
        ("put_item", "error"),
    ] {
        let faults = of("fault", operation);
        assert_eq!(faults.len(), 1, "{operation}: {faults:?}");
        assert_eq!(faults[0]["fault"], fault);
        assert_eq!(faults[0]["actor"], "api");
        let retried = of("retried", operation);
        assert_eq!(retried.len(), 1, "{operation}: {retried:?}");
        assert_eq!(retried[0]["attempt"], 2);
    }
    assert_eq!(of("fault", "send")[0]["message"], "orders-0001");

    // The counts the history ends with are the layer's: every call an actor made, the
    // injected ones included.
    let ended = lines.last().unwrap();
    assert_eq!(ended["event"], "run-ended");
    let calls = |op: &str| ended["api_calls"][op].as_u64().unwrap_or(0);
    assert_eq!(calls("SendMessageBatch"), 4, "three sends and the retry");
    assert_eq!(
        check::metric_value(Metric::ApiCalls, &outcome, &verdict.facts),
        Value::Number(outcome.api.total_calls() as f64)
    );
    // What reached moto: the SDK made one attempt per call (the engine retries, not the SDK);
    // the hidden send did reach it, the injected 5xx never did.
    let attempts = backend.api_attempts();
    assert_eq!(attempts.get("SendMessageBatch"), Some(&4));
    assert_eq!(
        attempts.get("PutItem").copied().unwrap_or(0) + 1,
        calls("PutItem"),
        "{attempts:?}"
    );
}
