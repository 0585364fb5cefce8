//! The history is complete and the checker reads it right: one regression test per defect found
//! by reading `--events` independently of qsim. Each scenario is small and inline; each test
//! asserts from what the run recorded (events, fates, metrics), on the simulator, and where the
//! fate is one a real backend would have to infer, also with the queue's own transitions removed.

use std::path::Path;
use std::rc::Rc;

use qsim::check::{self, Fate, Value, Verdict};
use qsim::engine::{EventKind, Outcome};
use qsim::runner;
use qsim::scenario::{self, Metric, Scenario};
use serde_json::Value as Json;

struct Run {
    scenario: Rc<Scenario>,
    outcome: Outcome,
    verdict: Verdict,
}

impl Run {
    fn new(text: &str) -> Run {
        let scenario = scenario::parse(Path::new("history-test.toml"), text)
            .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let scenario = Rc::new(scenario);
        let outcome =
            runner::simulate(scenario.clone(), scenario.seed).expect("the simulator runs");
        let verdict = check::check(&scenario, &outcome);
        assert!(
            verdict.violations.is_empty(),
            "conservation: {:?}",
            verdict.violations
        );
        Run {
            scenario,
            outcome,
            verdict,
        }
    }

    /// The same run as a backend that cannot observe the queues would have recorded it.
    fn inferred(mut self) -> Run {
        self.outcome.observed_queue = false;
        self.outcome
            .log
            .events
            .retain(|e| !matches!(e.kind, EventKind::Queue(_)));
        self.verdict = check::check(&self.scenario, &self.outcome);
        self
    }

    fn metric(&self, name: &str) -> Value {
        let metric = Metric::from_name(name).unwrap();
        check::metric_value(metric, &self.outcome, &self.verdict.facts)
    }

    fn number(&self, name: &str) -> f64 {
        match self.metric(name) {
            Value::Number(n) => n,
            other => panic!("{name} is {other:?}"),
        }
    }

    fn fate(&self, id: &str) -> Fate {
        let ix = self.outcome.log.lookup(id).unwrap();
        self.verdict.facts.fate(ix.0 as usize)
    }

    /// The `--events` lines after the header.
    fn lines(&self) -> Vec<Json> {
        let mut bytes = Vec::new();
        qsim::report::events::write(&mut bytes, &self.scenario, &self.outcome).unwrap();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn events(&self, kind: &str) -> Vec<Json> {
        self.lines()
            .into_iter()
            .filter(|l| l["event"] == kind)
            .collect()
    }
}

fn scenario(body: &str) -> String {
    format!(
        "[scenario]\nname = \"history-test\"\ndescription = \"a regression test\"\ntimeout = \"1d\"\n{body}\n[expect]\nlost = 0\n"
    )
}

#[test]
fn every_message_of_a_receive_is_logged_and_the_message_limit_holds_inside_a_batch() {
    let run = Run::new(&scenario(
        r#"
        [[producers]]
        name = "orders"
        count = 10
        batch_size = 10

        [[consumers]]
        name = "worker"
        max_messages = 10
        message_limit = 3
        "#,
    ));
    let received = run.events("received");
    assert_eq!(
        received.len(),
        10,
        "one received line per message of the response"
    );
    assert!(received.iter().all(|l| l["t_ms"] == received[0]["t_ms"]));
    assert_eq!(
        run.events("side-effect").len(),
        3,
        "handles up to the limit"
    );
    assert_eq!(run.events("released").len(), 7, "releases the rest");
    assert_eq!(run.events("exited")[0]["reason"], "message-limit");
    assert_eq!(run.number("processed"), 3.0);
    assert_eq!(run.number("remaining"), 7.0);
    assert_eq!(run.number("received"), 10.0);
}

#[test]
fn a_message_that_arrives_during_the_long_poll_after_sigterm_is_released() {
    let run = Run::new(&scenario(
        r#"
        [queue]
        receive_wait = "20s"

        [[producers]]
        name = "orders"
        count = 1
        start = "5s"

        [[consumers]]
        name = "worker"

        [[at]]
        time = "2s"
        terminate = "worker"
        "#,
    ));
    assert_eq!(run.events("received").len(), 1);
    assert!(
        run.events("side-effect").is_empty(),
        "not handled after SIGTERM"
    );
    assert_eq!(run.events("released").len(), 1);
    assert_eq!(run.events("exited")[0]["reason"], "terminated");
    assert_eq!(run.fate("orders-0001"), Fate::Remaining);
}

#[test]
fn a_purge_of_the_dlq_is_purged_not_lost() {
    let text = scenario(
        r#"
        [queue]
        visibility_timeout = "1s"
        receive_wait = "1s"
        max_receive_count = 1
        # The purge takes both at the call: none lingers past the end of the run.
        sim = { purge_reach_rate = 0.0 }

        [[producers]]
        name = "orders"
        count = 2
        payload = { kind = "work", poison = { every = 1 } }

        [[consumers]]
        name = "worker"
        reject_poison = true
        idle_timeout = "5s"

        [[at]]
        time = "20s"
        purge = "dlq"
        "#,
    );
    let run = Run::new(&text);
    assert_eq!(run.number("purged"), 2.0);
    assert_eq!(run.events("dead-lettered").len(), 2);
    assert_eq!(run.events("purged").len(), 2);
    assert_eq!(run.events("purged")[0]["actor"], "queue:dlq");
    let inferred = Run::new(&text).inferred();
    assert_eq!(inferred.number("purged"), 2.0);
    assert_eq!(inferred.number("lost"), 0.0);
}

#[test]
fn a_naive_versioned_consumer_applying_one_event_twice_shows_the_duplicate() {
    let run = Run::new(&scenario(
        r#"
        [queue]
        visibility_timeout = "1s"
        receive_wait = "1s"

        [[producers]]
        name = "events"
        payload = { kind = "versioned", versions = 1 }

        [[consumers]]
        name = "worker"
        count = 2
        message_limit = 1
        side_effect_delay = "2s"
        versioning = { entity = "entity", version = "version", check = false }
        "#,
    ));
    assert_eq!(run.events("applied").len(), 2);
    assert_eq!(run.number("duplicated_effects"), 1.0);
    assert_eq!(run.number("effects_per_key_max"), 2.0);
    assert_eq!(run.number("side_effects"), 2.0);
    // Re-applying the same version is a duplicate, not an older version winning.
    assert_eq!(run.number("stale_overwrites"), 0.0);
}

#[test]
fn final_versions_newest_is_vacuously_true_without_versioned_entities() {
    let run = Run::new(&scenario(
        r#"
        [[producers]]
        name = "orders"
        count = 2

        [[consumers]]
        name = "worker"
        "#,
    ));
    assert_eq!(run.metric("final_versions_newest"), Value::Bool(true));
    assert_eq!(run.metric("ordered"), Value::Bool(true));
    assert_eq!(run.metric("versions_increasing"), Value::Bool(true));
}

#[test]
fn a_heartbeat_past_the_twelve_hour_limit_is_recorded_and_the_run_goes_on() {
    let run = Run::new(&scenario(
        r#"
        [queue]
        visibility_timeout = "1h"

        [[producers]]
        name = "orders"
        count = 1

        [[consumers]]
        name = "worker"
        processing = "13h"
        idle_timeout = "1h"
        heartbeat = { interval = "30m", extend = "2h" }
        "#,
    ));
    assert!(!run.events("heartbeat").is_empty());
    assert_eq!(run.events("heartbeat-failed").len(), 1);
    assert_eq!(run.number("side_effects"), 1.0);
}

#[test]
fn a_heartbeat_covers_every_message_the_consumer_holds() {
    let run = Run::new(&scenario(
        r#"
        [queue]
        visibility_timeout = "2s"

        [[producers]]
        name = "orders"
        count = 3
        batch_size = 3

        [[consumers]]
        name = "worker"
        max_messages = 3
        processing = "1500ms"
        heartbeat = { interval = "1s", extend = "3s" }
        "#,
    ));
    assert_eq!(run.number("received"), 3.0, "nothing came back");
    assert_eq!(run.number("redelivered"), 0.0);
    assert_eq!(run.number("processed"), 3.0);
    assert!(run.events("visibility-expired").is_empty());
}

#[test]
fn releasing_a_message_another_consumer_deleted_is_recorded_not_fatal() {
    let run = Run::new(&scenario(
        r#"
        [queue]
        visibility_timeout = "1s"

        [[producers]]
        name = "orders"
        count = 2
        batch_size = 2

        [[consumers]]
        name = "slow"
        max_messages = 2
        processing = "3s"
        idle_timeout = "1s"

        [[consumers]]
        name = "fast"
        start = "500ms"
        idle_timeout = "5s"

        [[at]]
        time = "2s"
        terminate = "slow"
        "#,
    ));
    let failed = run.events("release-failed");
    assert_eq!(failed.len(), 1, "{:#?}", run.lines());
    assert_eq!(failed[0]["actor"], "slow-1");
}

#[test]
fn a_message_purged_in_flight_and_then_completed_is_processed() {
    let run = Run::new(&scenario(
        r#"
        [queue]
        visibility_timeout = "30s"

        [[producers]]
        name = "orders"
        count = 1

        [[consumers]]
        name = "worker"
        processing = "5s"
        idle_timeout = "1s"

        [[at]]
        time = "1s"
        purge = "main"
        "#,
    ));
    assert_eq!(run.events("purged").len(), 1, "the queue did purge it");
    assert_eq!(run.fate("orders-0001"), Fate::Processed);
    assert_eq!(run.number("purged"), 0.0);
}

#[test]
fn order_is_send_order_per_producer_within_a_group() {
    let run = Run::new(&scenario(
        r#"
        [[producers]]
        name = "a"
        count = 5

        [[producers]]
        name = "b"
        count = 5
        start = "1s"

        [[consumers]]
        name = "worker"
        log_field = "seq"
        "#,
    ));
    assert_eq!(run.events("logged").len(), 10);
    assert_eq!(run.metric("ordered"), Value::Bool(true));
    assert_eq!(run.number("order_violations"), 0.0);
}

#[test]
fn a_fifo_send_dropped_by_deduplication_after_a_purge_is_deduplicated() {
    let text = scenario(
        r#"
        [queue]
        kind = "fifo"
        receive_wait = "1s"

        [[producers]]
        name = "orders"
        schedule = ["0s", "10s"]
        dedup = "payload"
        payload = { kind = "literal", messages = [
            { fields = { order_id = "o-1" }, dedup_id = "d-1" },
            { fields = { order_id = "o-1" }, dedup_id = "d-1" },
        ] }

        [[consumers]]
        name = "worker"
        idle_timeout = "20s"

        [[at]]
        time = "5s"
        purge = "main"
        "#,
    );
    for run in [Run::new(&text), Run::new(&text).inferred()] {
        assert_eq!(run.fate("orders-0001"), Fate::Processed);
        assert_eq!(run.fate("orders-0002"), Fate::Deduplicated);
        assert_eq!(run.number("purged"), 0.0);
    }
}

#[test]
fn a_message_judged_stale_once_but_applied_by_another_delivery_is_processed() {
    let run = Run::new(&scenario(
        r#"
        [queue]
        visibility_timeout = "1s"

        [[producers]]
        name = "orders"
        count = 1

        [[consumers]]
        name = "patient"
        processing = "3s"
        idle_timeout = "2s"

        [[consumers]]
        name = "strict"
        start = "500ms"
        stale_after = "1s"
        idle_timeout = "5s"
        "#,
    ));
    assert_eq!(run.events("stale-message").len(), 1, "{:#?}", run.lines());
    assert_eq!(run.events("side-effect").len(), 1);
    assert_eq!(run.fate("orders-0001"), Fate::Processed);
    assert_eq!(run.number("stale"), 0.0);
}

#[test]
fn fifo_sends_with_one_deduplication_id_in_one_batch_keep_the_first() {
    let text = scenario(
        r#"
        [queue]
        kind = "fifo"

        [[producers]]
        name = "orders"
        batch_size = 2
        dedup = "payload"
        payload = { kind = "literal", messages = [
            { fields = { n = 1 }, dedup_id = "same" },
            { fields = { n = 2 }, dedup_id = "same" },
        ] }

        [[consumers]]
        name = "worker"
        "#,
    );
    for run in [Run::new(&text), Run::new(&text).inferred()] {
        assert_eq!(run.fate("orders-0001"), Fate::Processed);
        assert_eq!(run.fate("orders-0002"), Fate::Deduplicated);
    }
}

#[test]
fn one_deduplication_id_in_two_groups_is_dropped_only_under_the_queue_scope() {
    for (scope, second) in [
        ("queue", Fate::Deduplicated),
        ("message-group", Fate::Processed),
    ] {
        let text = scenario(&format!(
            r#"
            [queue]
            kind = "fifo"
            deduplication_scope = "{scope}"

            [[producers]]
            name = "orders"
            dedup = "payload"
            payload = {{ kind = "literal", messages = [
                {{ group = "a", dedup_id = "same" }},
                {{ group = "b", dedup_id = "same" }},
            ] }}

            [[consumers]]
            name = "worker"
            "#
        ));
        for run in [Run::new(&text), Run::new(&text).inferred()] {
            assert_eq!(run.fate("orders-0001"), Fate::Processed, "{scope}");
            assert_eq!(run.fate("orders-0002"), second, "{scope}");
        }
    }
}

/// What a backend without observed transitions infers agrees with what the simulator observed,
/// for every catalog scenario on several seeds, wherever inference is possible (retention expiry
/// is not inferred).
#[test]
fn inferred_fates_agree_with_observed_ones_on_the_catalog() {
    for path in super::scenarios::simulated_catalog() {
        let scenario = Rc::new(scenario::load(&path).unwrap());
        for seed in 1..=3 {
            let observe = || {
                let outcome = runner::simulate(scenario.clone(), seed).unwrap();
                let verdict = check::check(&scenario, &outcome);
                Run {
                    scenario: scenario.clone(),
                    outcome,
                    verdict,
                }
            };
            let (observed, inferred) = (observe(), observe().inferred());
            for (i, meta) in observed.outcome.log.messages.iter().enumerate() {
                let o = observed.verdict.facts.fate(i);
                let n = inferred.verdict.facts.fate(i);
                assert!(
                    o == n || o == Fate::Expired,
                    "{} seed {seed}: {} observed {o:?}, inferred {n:?}",
                    path.display(),
                    meta.id
                );
            }
        }
    }
}
