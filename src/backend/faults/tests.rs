//! The fault layer over the simulator: each kind does what it says to the queue and to the
//! caller, triggers strike where they should, and a layer without rules changes nothing.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::backend::sim::SimBackend;
use crate::backend::{QueueAttributes, QueueRole};
use crate::sqs::envelope::Envelope;

fn rule(operation: ApiOperation, kind: FaultKind, trigger: FaultTrigger) -> FaultRule {
    FaultRule {
        operation: Some(operation),
        kind,
        trigger,
        scope: FaultScope::Call,
        delay: Duration::ZERO,
    }
}

async fn layer(rules: &[FaultRule]) -> (FaultLayer<SimBackend>, QueueId) {
    let sim = Rc::new(SimBackend::new(1));
    let spec = QueueSpec {
        role: QueueRole::Main,
        attributes: QueueAttributes::default(),
        redrive: None,
        sim: Envelope::IDEAL,
    };
    let queue = sim.create_queue(&spec).await.unwrap();
    (FaultLayer::new(sim, rules, 7), queue)
}

fn message(entry: &str, body: &str) -> OutgoingMessage {
    OutgoingMessage {
        entry_id: entry.to_owned(),
        body: Arc::from(body),
        group_id: None,
        dedup_id: None,
        delay: None,
    }
}

fn injections<B: Backend>(layer: &FaultLayer<B>) -> Vec<(ApiOperation, FaultKind, Option<String>)> {
    let mut seen = Vec::new();
    layer
        .take_injections(&mut |i| seen.push((i.operation, i.fault, i.body.map(|b| b.to_string()))));
    seen
}

fn request() -> ReceiveRequest {
    ReceiveRequest {
        max: 10,
        wait: Duration::ZERO,
        visibility: None,
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn timeout_after_applies_the_send_and_hides_the_answer() {
    let nth = FaultTrigger::Nth(1);
    let (layer, queue) = layer(&[rule(ApiOperation::Send, FaultKind::TimeoutAfter, nth)]).await;
    let started = Instant::now();
    let error = layer.send(queue, &[message("m1", "a")]).await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::TimedOut);
    assert_eq!(
        started.elapsed(),
        TIMEOUT_WAIT,
        "the caller waited for its timeout"
    );
    assert_eq!(
        injections(&layer),
        [(
            ApiOperation::Send,
            FaultKind::TimeoutAfter,
            Some("a".into())
        )]
    );
    // The retry goes through: the queue now holds two copies.
    layer.send(queue, &[message("m1", "a")]).await.unwrap();
    let received = layer.receive(queue, request()).await.unwrap();
    let bodies: Vec<&str> = received.iter().map(|m| &*m.body).collect();
    assert_eq!(bodies, ["a", "a"]);
    assert_eq!(layer.usage().calls.get("SendMessageBatch"), Some(&2));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn refusals_and_timeout_before_leave_the_queue_untouched() {
    for kind in [
        FaultKind::Throttle,
        FaultKind::Error,
        FaultKind::TimeoutBefore,
    ] {
        let always = FaultTrigger::Probability(1.0);
        let (layer, queue) = layer(&[rule(ApiOperation::Send, kind, always)]).await;
        let error = layer.send(queue, &[message("m1", "a")]).await.unwrap_err();
        assert!(error.kind.is_transient(), "{kind:?}: {error}");
        assert_eq!(injections(&layer).len(), 1, "{kind:?}");
        let depth = layer.settled_depth(queue).await.unwrap();
        assert_eq!(depth.total(), 0, "{kind:?}: nothing reached the queue");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_hidden_receive_leaves_its_messages_in_flight() {
    let nth = FaultTrigger::Nth(1);
    let (layer, queue) = layer(&[rule(ApiOperation::Receive, FaultKind::TimeoutAfter, nth)]).await;
    layer.send(queue, &[message("m1", "a")]).await.unwrap();
    let error = layer.receive(queue, request()).await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::TimedOut);
    assert_eq!(layer.settled_depth(queue).await.unwrap().in_flight, 1);
    assert_eq!(
        injections(&layer),
        [(
            ApiOperation::Receive,
            FaultKind::TimeoutAfter,
            Some("a".into())
        )]
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn entry_faults_fail_single_entries_of_a_batch() {
    let mut second = rule(
        ApiOperation::Send,
        FaultKind::Throttle,
        FaultTrigger::Nth(2),
    );
    second.scope = FaultScope::Entry;
    let (layer, queue) = layer(&[second]).await;
    let batch = [message("m1", "a"), message("m2", "b"), message("m3", "c")];
    let results = layer.send(queue, &batch).await.unwrap();
    let failed: Vec<bool> = results.iter().map(Result::is_err).collect();
    assert_eq!(failed, [false, true, false]);
    assert_eq!(
        results[1].as_ref().unwrap_err().kind,
        BackendErrorKind::Throttled
    );
    assert_eq!(layer.settled_depth(queue).await.unwrap().visible, 2);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_window_strikes_only_inside_it_and_latency_delays() {
    let window = FaultTrigger::Window {
        from: Duration::from_secs(10),
        until: Duration::from_secs(20),
    };
    let mut slow = rule(ApiOperation::Receive, FaultKind::Latency, window);
    slow.delay = Duration::from_secs(2);
    let (layer, queue) = layer(&[slow]).await;
    layer.start_at(Instant::now());
    let before = Instant::now();
    layer.receive(queue, request()).await.unwrap();
    assert_eq!(before.elapsed(), Duration::ZERO, "outside the window");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let inside = Instant::now();
    layer.receive(queue, request()).await.unwrap();
    let took = inside.elapsed();
    assert!(
        took > Duration::ZERO && took <= Duration::from_secs(2),
        "{took:?}"
    );
    assert_eq!(
        injections(&layer),
        [(ApiOperation::Receive, FaultKind::Latency, None)]
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn probabilities_are_seeded_and_counts_include_every_call() {
    let coin = FaultTrigger::Probability(0.5);
    let rules = [rule(ApiOperation::GetItem, FaultKind::Throttle, coin)];
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (layer, _) = layer(&rules).await;
        layer.create_tables().await.unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..40 {
            outcomes.push(layer.get(Table::Status, "k").await.is_err());
        }
        assert_eq!(layer.usage().calls.get("GetItem"), Some(&40));
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1], "the same seed throttles the same calls");
    let throttled = runs[0].iter().filter(|t| **t).count();
    assert!((5..35).contains(&throttled), "{throttled} of 40");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn large_payloads_bill_one_request_per_64_kib() {
    let (layer, queue) = layer(&[]).await;
    let body = "x".repeat(100 * 1024);
    layer.send(queue, &[message("m1", &body)]).await.unwrap();
    layer.receive(queue, request()).await.unwrap();
    layer.receive(queue, request()).await.unwrap();
    let usage = layer.usage();
    assert_eq!(usage.billed.get("SendMessageBatch"), Some(&2));
    assert_eq!(
        usage.billed.get("ReceiveMessage"),
        Some(&3),
        "2 + an empty one"
    );
    assert_eq!(usage.calls.get("ReceiveMessage"), Some(&2));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_transaction_is_one_call_billed_two_write_units_per_item() {
    let (layer, _) = layer(&[]).await;
    layer.create_tables().await.unwrap();
    let items = [
        ("record:m".to_owned(), Item::default()),
        ("outbox:m".to_owned(), Item::default()),
    ];
    layer.transact_put(Table::Status, &items).await.unwrap();
    layer.delete_item(Table::Status, "outbox:m").await.unwrap();
    let usage = layer.usage();
    assert_eq!(usage.calls.get("TransactWriteItems"), Some(&1));
    assert_eq!(
        usage.billed.get("TransactWriteItems"),
        Some(&(TRANSACT_WRITE_UNITS_PER_ITEM * 2))
    );
    assert_eq!(usage.calls.get("DeleteItem"), Some(&1));
    assert_eq!(usage.billed.get("DeleteItem"), Some(&1));
    // What the layer counts, a history may name: every name is known to the history reader.
    for operation in usage.calls.keys() {
        assert!(COUNTED_WITHOUT_FAULTS.contains(operation), "{operation}");
    }
}
