//! The AWS path's throughput against a local moto_server: the qsim consumer draining 5,000
//! messages with the two-table idempotency pattern, next to a raw receive+delete loop's ceiling
//! measured in the same run. `cargo bench --bench moto_drain` (needs `moto_server` on PATH).
//!
//! Both drains use four concurrent loops and batches of ten. moto slows down with queue depth
//! (it recomputes counters by scanning the queue), so both start from the same depth.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[allow(dead_code)]
#[path = "../tests/all/moto.rs"]
mod moto;

use std::rc::Rc;
use std::time::{Duration, Instant};

use qsim::backend::{Backend, OutgoingMessage, QueueRole, QueueSpec, ReceiveRequest, SimKnobs};
use qsim::engine::{self, EventKind};

const MESSAGES: u64 = 5000;
const LOOPS: usize = 4;

fn main() {
    let runtime = engine::realtime_runtime().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let moto = moto::moto().await;

        let scenario = qsim::scenario::load(std::path::Path::new("benches/drain-moto.toml"))
            .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let backend = Rc::new(moto.backend(&scenario.name).await);
        let outcome = engine::run(Rc::new(scenario.clone()), backend.clone(), scenario.seed, None)
            .await
            .expect("the drain run");
        let verdict = qsim::check::check(&scenario, &outcome);
        assert!(verdict.passed(), "the drain scenario failed its checks: {:?}", verdict.failures().collect::<Vec<_>>());
        let events = &outcome.log.events;
        let first = events.iter().find(|e| matches!(e.kind, EventKind::Received { .. })).expect("receives").at_us;
        let last = events.iter().rev().find(|e| matches!(e.kind, EventKind::Deleted)).expect("deletes").at_us;
        let drain = Duration::from_micros(last - first);
        println!(
            "qsim consumer (tables idempotency, {LOOPS} consumers): {MESSAGES} messages drained in {:.1} s = {:.0} messages/s ({} API calls)",
            drain.as_secs_f64(),
            MESSAGES as f64 / drain.as_secs_f64(),
            backend.api_calls().values().sum::<u64>()
        );

        let raw = raw_ceiling(&moto).await;
        println!(
            "raw receive+delete loop ({LOOPS} loops): {MESSAGES} messages drained in {:.1} s = {:.0} messages/s",
            raw.as_secs_f64(),
            MESSAGES as f64 / raw.as_secs_f64()
        );
    });
}

/// Fills a fresh queue with the same number of messages, then drains it with bare
/// ReceiveMessage + DeleteMessageBatch loops: what the endpoint allows without any consumer logic.
async fn raw_ceiling(moto: &moto::Moto) -> Duration {
    let backend = Rc::new(moto.backend("raw-ceiling").await);
    let spec = QueueSpec {
        role: QueueRole::Main,
        fifo: false,
        visibility_timeout: Duration::from_secs(60),
        receive_wait: Duration::ZERO,
        delay: Duration::ZERO,
        retention: Duration::from_secs(345_600),
        content_based_dedup: false,
        redrive: None,
        sim: SimKnobs::default(),
    };
    let queue = backend.create_queue(&spec).await.expect("queue");
    for batch in 0..MESSAGES / 10 {
        let entries: Vec<OutgoingMessage> = (0..10)
            .map(|i| OutgoingMessage {
                entry_id: format!("m{i}"),
                body: format!("{{\"id\":\"raw-{batch}-{i}\"}}").into(),
                group_id: None,
                dedup_id: None,
                delay: None,
            })
            .collect();
        backend.send(queue, &entries).await.expect("send");
    }
    let started = Instant::now();
    let loops = (0..LOOPS).map(|_| {
        let backend = backend.clone();
        tokio::task::spawn_local(async move {
            let request = ReceiveRequest {
                max: 10,
                wait: Duration::from_secs(1),
                visibility: None,
            };
            loop {
                let batch = backend.receive(queue, request).await.expect("receive");
                if batch.is_empty() {
                    break;
                }
                let receipts: Vec<_> = batch.into_iter().map(|m| m.receipt).collect();
                backend.delete(queue, &receipts).await.expect("delete");
            }
        })
    });
    for handle in loops.collect::<Vec<_>>() {
        handle.await.expect("a drain loop");
    }
    // The last empty long poll of each loop is not draining: take it off.
    let elapsed = started.elapsed().saturating_sub(Duration::from_secs(1));
    backend.teardown().await.expect("teardown");
    elapsed
}
