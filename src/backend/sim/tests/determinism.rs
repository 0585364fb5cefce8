//! Determinism: the same operations with the same seed give the same results, byte for byte,
//! including with concurrent actors, long polls, timeouts and every fault knob on.

use std::fmt::Write;

use super::*;
use crate::backend::{Table, Update};
use tokio::time::Instant;

/// Two producers and three consumers on a faulty queue with a DLQ; returns a textual trace.
async fn run(seed: u64) -> String {
    let sim = SimBackend::new(seed);
    sim.create_tables().await.unwrap();
    let spec = QueueSpec {
        // Every latitude at the adversarial rate, the purge short enough to end within the run.
        sim: Envelope {
            reorder_window: 5,
            purge_window: secs(1),
            ..crate::sqs::envelope::Profile::Adversarial.envelope()
        },
        ..with_attributes(standard(), |a| a.visibility_timeout = secs(2))
    };
    let (main, dlq) = with_dlq(&sim, spec, 3).await;
    let start = Instant::now();
    let trace = std::cell::RefCell::new(String::new());
    let producer = |name: &'static str| {
        let (sim, trace) = (&sim, &trace);
        async move {
            for i in 0..30 {
                let batch = numbered(
                    (0..3)
                        .map(|j| message(&format!("{name}-{i}-{j}")))
                        .collect(),
                );
                for outcome in sim.send(main, &batch).await.unwrap() {
                    let id = outcome.unwrap().message_id;
                    writeln!(trace.borrow_mut(), "{:?} {name} sent {id}", start.elapsed()).unwrap();
                }
                sleep(millis(70)).await;
            }
        }
    };
    let consumer = |name: &'static str| {
        let (sim, trace) = (&sim, &trace);
        async move {
            let long_poll = ReceiveRequest {
                max: 4,
                wait: secs(3),
                visibility: None,
            };
            loop {
                let received = sim.receive(main, long_poll).await.unwrap();
                if received.is_empty() {
                    return;
                }
                for m in &received {
                    writeln!(
                        trace.borrow_mut(),
                        "{:?} {name} got {} #{} {}",
                        start.elapsed(),
                        m.body,
                        m.receive_count,
                        m.message_id
                    )
                    .unwrap();
                    let bump = Update {
                        add_count: 1,
                        ..Update::default()
                    };
                    sim.update(Table::SideEffects, &m.body, &bump)
                        .await
                        .unwrap();
                    // Every fifth batch is poison: never deleted, redelivered, then redriven.
                    if m.body.split('-').nth(1).is_some_and(|i| i.ends_with('4')) {
                        continue;
                    }
                    sleep(millis(30)).await;
                    delete_one(sim, main, &m.receipt).await.unwrap();
                }
            }
        }
    };
    tokio::join!(
        producer("p1"),
        producer("p2"),
        consumer("c1"),
        consumer("c2"),
        consumer("c3")
    );
    let mut trace = trace.into_inner();
    let dead = sim.remaining(dlq).await.unwrap();
    writeln!(trace, "dlq {:?}", bodies(&dead)).unwrap();
    for (key, item) in sim.scan(Table::SideEffects).await.unwrap() {
        writeln!(trace, "{key} x{}", item.count).unwrap();
    }
    writeln!(trace, "end {:?}", start.elapsed()).unwrap();
    trace
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_same_seed_gives_the_same_run() {
    let first = run(42).await;
    assert!(first.lines().count() > 200, "{first}");
    assert!(
        first.contains(" #4 ") || first.contains("dlq [\""),
        "redrive happened"
    );
    assert_eq!(first, run(42).await);
    assert_ne!(first, run(43).await);
}
