//! The AWS path's throughput against a local moto_server: the qsim consumer draining 5,000
//! messages with the two-table idempotency pattern, next to a raw receive+delete loop's ceiling
//! measured in the same run. `cargo bench --bench moto_drain` (needs `moto_server` on PATH).
//!
//! Both drains use four concurrent loops and batches of ten, in ten rounds of 500 messages:
//! moto's cost per request grows with queue depth (it recomputes counters by scanning the queue),
//! so one 5,000-deep queue would measure moto's scan, not the consumer; both start every round
//! from the same depth.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

#[allow(dead_code)]
#[path = "../tests/all/moto.rs"]
mod moto;

use std::rc::Rc;
use std::time::{Duration, Instant};

use qsim::backend::{
    Backend, OutgoingMessage, QueueAttributes, QueueRole, QueueSpec, ReceiveRequest,
};
use qsim::engine::{self, EventKind};

const ROUNDS: u64 = 10;
const PER_ROUND: u64 = 500;
const MESSAGES: u64 = ROUNDS * PER_ROUND;
const LOOPS: usize = 4;

fn main() {
    let runtime = engine::realtime_runtime().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let moto = moto::moto().await;

        let scenario = qsim::scenario::load(std::path::Path::new("benches/drain-moto.toml"))
            .unwrap_or_else(|e| panic!("{}", e.render(false)));
        let mut drain = Duration::ZERO;
        let mut calls = 0;
        for _ in 0..ROUNDS {
            let backend = Rc::new(moto.backend(&scenario.name).await);
            let outcome = engine::run(
                Rc::new(scenario.clone()),
                backend.clone(),
                scenario.seed,
                None,
                engine::Limits::default(),
            )
                .await
                .expect("the drain run");
            let verdict = qsim::check::check(&scenario, &outcome);
            assert!(verdict.passed(), "the drain scenario failed its checks: {:?}", verdict.failures().collect::<Vec<_>>());
            let events = &outcome.log.events;
            let first = events.iter().find(|e| matches!(e.kind, EventKind::Received { .. })).expect("receives").at_us;
            let last = events.iter().rev().find(|e| matches!(e.kind, EventKind::Deleted)).expect("deletes").at_us;
            drain += Duration::from_micros(last - first);
            calls += backend.api_calls().values().sum::<u64>();
        }
        println!(
            "qsim consumer (tables idempotency, {LOOPS} consumers): {MESSAGES} messages drained in {:.1} s = {:.0} messages/s ({calls} API calls)",
            drain.as_secs_f64(),
            MESSAGES as f64 / drain.as_secs_f64(),
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
        attributes: QueueAttributes {
            visibility_timeout: Duration::from_secs(60),
            ..QueueAttributes::default()
        },
        redrive: None,
        sim: qsim::sqs::envelope::Envelope::IDEAL,
    };
    let queue = backend.create_queue(&spec).await.expect("queue");
    let mut elapsed = Duration::ZERO;
    for round in 0..ROUNDS {
        for batch in 0..PER_ROUND / 10 {
            let entries: Vec<OutgoingMessage> = (0..10)
                .map(|i| OutgoingMessage {
                    entry_id: format!("m{i}"),
                    body: format!("{{\"id\":\"raw-{round}-{batch}-{i}\"}}").into(),
                    group_id: None,
                    dedup_id: None,
                    delay: None,
                })
                .collect();
            backend.send(queue, &entries).await.expect("send");
        }
        let started = Instant::now();
        let loops: Vec<_> = (0..LOOPS)
            .map(|_| {
                let backend = backend.clone();
                tokio::task::spawn_local(async move {
                    let request = ReceiveRequest {
                        max: 10,
                        wait: Duration::from_secs(1),
                        visibility: None,
                    };
                    let mut last_delete = Instant::now();
                    loop {
                        let batch = backend.receive(queue, request).await.expect("receive");
                        if batch.is_empty() {
                            return last_delete;
                        }
                        let receipts: Vec<_> = batch.into_iter().map(|m| m.receipt).collect();
                        backend.delete(queue, &receipts).await.expect("delete");
                        last_delete = Instant::now();
                    }
                })
            })
            .collect();
        let mut done = started;
        for handle in loops {
            done = done.max(handle.await.expect("a drain loop"));
        }
        // Up to the last delete, as for the consumer: the closing empty polls are not draining.
        elapsed += done - started;
    }
    backend.teardown().await.expect("teardown");
    elapsed
}
