//! The acknowledgement modes, prefetch and the poller, each read back from the history of a run
//! on the simulator. Per-entry delete failures, which the simulator never produces by itself, come
//! from the scenario's `[[faults]]` (entry scope): the entry is then not deleted, and the message
//! comes back.

use std::path::Path;
use std::rc::Rc;

use crate::backend::Backend;
use crate::backend::sim::SimBackend;
use crate::engine::{self, EventKind, Outcome};
use crate::scenario::{self, Scenario};

fn scenario(text: &str) -> Rc<Scenario> {
    Rc::new(scenario::parse(Path::new("t.toml"), text).expect("a valid scenario"))
}

fn run_on<B: Backend + 'static>(scenario: Rc<Scenario>, backend: B) -> Outcome {
    let runtime = engine::simulated_runtime().expect("a current-thread runtime");
    let run = engine::run(
        scenario,
        Rc::new(backend),
        1,
        None,
        engine::Limits::default(),
    );
    tokio::task::LocalSet::new()
        .block_on(&runtime, run)
        .map_err(|e| e.split().0)
        .expect("the run completes")
}

fn simulate(text: &str) -> Outcome {
    run_on(scenario(text), SimBackend::new(1))
}

/// `(time in ms, actor, message id, event)` for every event, in log order.
fn history(outcome: &Outcome) -> Vec<(f64, String, Option<String>, EventKind)> {
    let log = &outcome.log;
    log.events
        .iter()
        .map(|e| {
            (
                e.at_us as f64 / 1000.0,
                log.actors[e.actor.0 as usize].to_string(),
                e.message.map(|m| log.meta(m).id.to_string()),
                e.kind,
            )
        })
        .collect()
}

fn count(outcome: &Outcome, pred: impl Fn(&EventKind) -> bool) -> usize {
    outcome.log.events.iter().filter(|e| pred(&e.kind)).count()
}

/// The messages an event of `kind` names, in log order.
fn named(outcome: &Outcome, kind: EventKind) -> Vec<String> {
    history(outcome)
        .into_iter()
        .filter(|(_, _, _, k)| *k == kind)
        .filter_map(|(_, _, m, _)| m)
        .collect()
}

const POISON_BATCH: &str = r#"
    [scenario]
    name = "t"
    description = "five messages, two of them poison, received as one batch"
    assumes = ["no-duplicates"]
    [queue]
    visibility_timeout = "2s"
    receive_wait = "1s"
    max_receive_count = 2
    [[producers]]
    name = "orders"
    count = 5
    batch_size = 5
    payload = { kind = "work", poison = { positions = [2, 4] } }
    [[consumers]]
    name = "worker"
    max_messages = 5
    idle_timeout = "6s"
    reject_poison = true
"#;

#[test]
fn always_deletes_the_messages_whose_handling_failed() {
    let on_success = simulate(POISON_BATCH);
    let always = simulate(&format!("{POISON_BATCH}ack = \"always\"\n"));
    let rejected = named(&always, EventKind::Rejected);
    assert_eq!(rejected, ["orders-0002", "orders-0004"]);
    let deleted = named(&always, EventKind::Deleted);
    for id in &rejected {
        assert!(deleted.contains(id), "{id} rejected but not deleted");
        assert!(
            !named(&on_success, EventKind::Deleted).contains(id),
            "on-success deleted rejected {id}"
        );
    }
    let dead_lettered = |o: &Outcome| {
        count(o, |k| {
            matches!(
                k,
                EventKind::Queue(crate::backend::TransitionKind::DeadLettered { .. })
            )
        })
    };
    assert_eq!(dead_lettered(&on_success), 2);
    assert_eq!(dead_lettered(&always), 0);
}

const FIFO_POISON_BATCH: &str = r#"
    [scenario]
    name = "t"
    description = "one FIFO group of five, the second poison, received as one batch"
    [queue]
    kind = "fifo"
    visibility_timeout = "2s"
    receive_wait = "1s"
    max_receive_count = 2
    [[producers]]
    name = "orders"
    count = 5
    batch_size = 5
    payload = { kind = "work", poison = { positions = [2] } }
    [[consumers]]
    name = "worker"
    max_messages = 5
    idle_timeout = "6s"
    reject_poison = true
    log_field = "seq"
"#;

#[test]
fn partial_batch_hands_back_the_rest_of_a_fifo_group_after_a_failure() {
    // on-success goes on with the batch: 3, 4 and 5 are done while 2 waits for its retry.
    let on_success = simulate(FIFO_POISON_BATCH);
    let logged_ids = |o: &Outcome| -> Vec<String> {
        history(o)
            .into_iter()
            .filter(|(_, _, _, k)| matches!(k, EventKind::Logged { .. }))
            .filter_map(|(_, _, m, _)| m)
            .collect()
    };
    let partial = simulate(&format!("{FIFO_POISON_BATCH}ack = \"partial-batch\"\n"));
    let events = history(&partial);
    let rejected_at = events
        .iter()
        .position(|(_, _, m, k)| *k == EventKind::Rejected && m.as_deref() == Some("orders-0002"))
        .expect("the poison message is rejected");
    let next_receive = events[rejected_at..]
        .iter()
        .position(|(_, _, _, k)| matches!(k, EventKind::Received { .. }))
        .map_or(events.len(), |i| rejected_at + i);
    let handed_back: Vec<&str> = events[rejected_at..next_receive]
        .iter()
        .filter(|(_, _, _, k)| *k == EventKind::Released)
        .filter_map(|(_, _, m, _)| m.as_deref())
        .collect();
    assert_eq!(handed_back, ["orders-0003", "orders-0004", "orders-0005"]);
    assert_eq!(
        logged_ids(&on_success)[..3],
        ["orders-0001", "orders-0003", "orders-0004"]
    );
    // on-success ends with the poison message alone in the DLQ and the rest done out of
    // order; partial-batch keeps the order, but every hand-back was a receive too, so the rest of
    // the group used up its receives with the poison message and followed it into the DLQ.
    assert_eq!(logged_ids(&on_success).len(), 4);
    assert_eq!(on_success.final_state.dlq.len(), 1);
    assert_eq!(logged_ids(&partial), ["orders-0001"]);
    assert_eq!(partial.final_state.dlq.len(), 4);
}

/// Ten messages deleted in one batch, whose third and seventh entries fail with an internal
/// error (the fault layer's entry faults).
const BATCH_OF_TEN: &str = r#"
    [scenario]
    name = "t"
    description = "ten messages deleted in one batch"
    assumes = ["no-duplicates"]
    [queue]
    visibility_timeout = "2s"
    receive_wait = "1s"
    [[producers]]
    name = "orders"
    count = 10
    batch_size = 10
    [[faults]]
    operation = "delete"
    kind = "error"
    nth = 3
    scope = "entry"
    [[faults]]
    operation = "delete"
    kind = "error"
    nth = 7
    scope = "entry"
    [[consumers]]
    name = "worker"
    max_messages = 10
    idle_timeout = "5s"
"#;

#[test]
fn on_success_sends_failed_delete_entries_again() {
    let outcome = simulate(BATCH_OF_TEN);
    assert_eq!(named(&outcome, EventKind::DeleteFailed).len(), 2);
    assert_eq!(named(&outcome, EventKind::Deleted).len(), 10);
    // Nothing came back: every message was received and applied once.
    assert_eq!(
        count(&outcome, |k| matches!(k, EventKind::Received { .. })),
        10
    );
    assert_eq!(
        count(&outcome, |k| matches!(k, EventKind::SideEffect { .. })),
        10
    );
}

#[test]
fn batch_ignore_failures_redelivers_what_a_failed_entry_left() {
    let text = format!("{BATCH_OF_TEN}ack = \"batch-ignore-failures\"\n");
    let outcome = simulate(&text);
    let failed = named(&outcome, EventKind::DeleteFailed);
    assert_eq!(failed.len(), 2, "{failed:?}");
    // The two came back after the visibility timeout and were done a second time.
    let events = history(&outcome);
    for id in &failed {
        let of = |kind: fn(&EventKind) -> bool| {
            events
                .iter()
                .filter(|(_, _, m, k)| m.as_deref() == Some(id.as_str()) && kind(k))
                .count()
        };
        assert_eq!(of(|k| matches!(k, EventKind::Received { .. })), 2, "{id}");
        assert_eq!(of(|k| matches!(k, EventKind::SideEffect { .. })), 2, "{id}");
        assert_eq!(of(|k| *k == EventKind::Deleted), 1, "{id}");
    }
    assert_eq!(
        count(&outcome, |k| matches!(k, EventKind::Received { .. })),
        12
    );
}

#[test]
fn prefetch_receives_ahead_and_reports_what_expired_in_the_buffer() {
    let text = r#"
        [scenario]
        name = "t"
        description = "a buffer of ten worked through at a second each"
        assumes = ["no-duplicates", "full-receives"]
        [queue]
        visibility_timeout = "3s"
        receive_wait = "1s"
        [[producers]]
        name = "orders"
        count = 10
        batch_size = 10
        [[consumers]]
        name = "worker"
        max_messages = 4
        prefetch = 10
        processing = "1s"
        idle_timeout = "5s"
    "#;
    let outcome = simulate(text);
    let events = history(&outcome);
    // Three receives (4 + 4 + 2) before the first message is worked on.
    let first_effect = events
        .iter()
        .position(|(_, _, _, k)| matches!(k, EventKind::SideEffect { .. }))
        .expect("work was done");
    let received_before = events[..first_effect]
        .iter()
        .filter(|(_, _, _, k)| matches!(k, EventKind::Received { .. }))
        .count();
    assert_eq!(received_before, 10);
    // Message k (1-based) is taken from the buffer after k - 1 seconds: from the fourth on, its
    // 3 s visibility had run out.
    let expired = named(&outcome, EventKind::PrefetchExpired);
    let first_round: Vec<String> = (4..=10).map(|k| format!("orders-{k:04}")).collect();
    assert_eq!(expired[..7], first_round[..]);
    // Each message is deleted as it is finished, not with the rest of its buffer.
    let deleted_at: Vec<f64> = events
        .iter()
        .filter(|(_, _, m, k)| *k == EventKind::Deleted && m.as_deref() == Some("orders-0001"))
        .map(|(t, ..)| *t)
        .collect();
    assert_eq!(deleted_at, [1000.0]);
}

const POLLER: &str = r#"
    [scenario]
    name = "t"
    description = "three pollers, one slot"
    assumes = ["no-duplicates", "full-receives"]
    [queue]
    visibility_timeout = "30s"
    receive_wait = "1s"
    [[producers]]
    name = "orders"
    count = 9
    batch_size = 9
    [[consumers]]
    name = "lambda"
    count = 3
    processing = "1s"
"#;

#[test]
fn a_poller_never_runs_more_invocations_than_its_concurrency_and_records_throttles() {
    let text = format!(
        "{POLLER}poller = {{ batch_size = 3, max_concurrency = 1, function_timeout = \"5s\" }}\n"
    );
    let outcome = simulate(&text);
    let events = history(&outcome);
    // An invocation lasts from its `invoked` to the deletes of its batch (the next event of the
    // same actor that is neither a side effect nor a status write).
    let mut running: Vec<(String, f64)> = Vec::new();
    let mut intervals = Vec::new();
    for (t, actor, _, kind) in &events {
        match kind {
            EventKind::Invoked { messages } => {
                assert_eq!(*messages, 3);
                running.push((actor.clone(), *t));
            }
            EventKind::Deleted => {
                if let Some(i) = running.iter().position(|(a, _)| a == actor) {
                    let (_, start) = running.remove(i);
                    intervals.push((start, *t));
                }
            }
            _ => {}
        }
    }
    assert_eq!(intervals.len(), 3, "three invocations of three messages");
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in intervals.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping invocations {pair:?}");
    }
    assert!(count(&outcome, |k| *k == EventKind::Throttled) >= 3);
    assert_eq!(named(&outcome, EventKind::Deleted).len(), 9);
}

#[test]
fn without_item_failures_one_failure_fails_the_whole_batch() {
    let poisoned = POLLER.replace(
        "batch_size = 9\n",
        "batch_size = 9\npayload = { kind = \"work\", poison = { positions = [2] } }\n",
    );
    let run = |report: bool| {
        let text = format!(
            "{poisoned}reject_poison = true\npoller = {{ batch_size = 3, max_concurrency = 3, \
             function_timeout = \"5s\", report_batch_item_failures = {report} }}\n"
        );
        simulate(&text)
    };
    let whole = run(false);
    let partial = run(true);
    let deleted = |o: &Outcome| named(o, EventKind::Deleted);
    // The batch holding the poison message is 1..=3: without item failures its good messages
    // are not deleted (they come back and are done again), with them they are.
    for id in ["orders-0001", "orders-0003"] {
        assert!(!deleted(&whole).contains(&id.to_string()), "{id}");
        assert!(deleted(&partial).contains(&id.to_string()), "{id}");
    }
    assert!(!deleted(&partial).contains(&"orders-0002".to_string()));
    assert_eq!(deleted(&partial).len(), 8);
}

#[test]
fn an_invocation_past_the_function_timeout_deletes_nothing() {
    // 1.2 s a message: four are done by 4.8 s, the fifth would end at 6 s.
    let slow = POLLER.replace("processing = \"1s\"", "processing = \"1200ms\"");
    let text = format!(
        "{slow}idle_timeout = \"3s\"\npoller = {{ batch_size = 9, max_concurrency = 1, \
         function_timeout = \"5s\" }}\n"
    );
    let outcome = simulate(&text);
    let events = history(&outcome);
    let timed_out: Vec<f64> = events
        .iter()
        .filter(|(_, _, _, k)| *k == EventKind::InvocationTimedOut)
        .map(|(t, ..)| *t)
        .collect();
    assert_eq!(
        timed_out,
        [5000.0],
        "nine messages of work, stopped at five seconds"
    );
    let effects = count(&outcome, |k| matches!(k, EventKind::SideEffect { .. }));
    assert_eq!(effects, 4, "the work done before the stop happened");
    assert!(named(&outcome, EventKind::Deleted).is_empty());
}
