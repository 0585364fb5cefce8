//! PurgeQueue: immediate for what was there, a seeded window for what is sent meanwhile.

use super::*;

fn purgeable(window: Duration) -> QueueSpec {
    QueueSpec {
        sim: Envelope {
            purge_window: window,
            ..Envelope::IDEAL
        },
        ..standard()
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_purge_deletes_every_message_sent_before_it_at_once() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&purgeable(secs(60))).await.unwrap();
    send_bodies(&sim, queue, &["a", "b", "c"]).await;
    let in_flight = receive(&sim, queue, 1).await.remove(0);
    sim.purge(queue).await.unwrap();
    assert_eq!(sim.depth(queue).await.unwrap().total(), 0);
    assert!(receive(&sim, queue, 10).await.is_empty());
    assert_eq!(delete_one(&sim, queue, &in_flight.receipt).await, Ok(()));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_second_purge_during_the_window_is_refused() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&purgeable(secs(60))).await.unwrap();
    sim.purge(queue).await.unwrap();
    let mut refused_for = Duration::ZERO;
    while let Err(error) = sim.purge(queue).await {
        assert_eq!(error.kind, BackendErrorKind::PurgeInProgress);
        sleep(millis(100)).await;
        refused_for += millis(100);
    }
    assert!(
        refused_for > Duration::ZERO,
        "the window is not empty for this seed"
    );
    assert!(refused_for <= secs(60) + millis(100), "{refused_for:?}");
}

/// Sends one message every 2 s across the purge window and reports which survived.
async fn survivors_of_a_purge(seed: u64) -> Vec<String> {
    let sim = SimBackend::new(seed);
    let queue = sim.create_queue(&purgeable(secs(60))).await.unwrap();
    sim.purge(queue).await.unwrap();
    for i in 0..40 {
        send_bodies(&sim, queue, &[&format!("t{}", i * 2)]).await;
        sleep(secs(2)).await;
    }
    let left = sim.remaining(queue).await.unwrap();
    bodies(&left).into_iter().map(str::to_owned).collect()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn messages_sent_during_the_window_may_be_lost_and_later_ones_survive() {
    let mut runs = Vec::new();
    for seed in 1..=12 {
        let survivors = survivors_of_a_purge(seed).await;
        for late in (60..80).step_by(2) {
            let body = format!("t{late}");
            assert!(
                survivors.contains(&body),
                "seed {seed}: {body} was sent after any window"
            );
        }
        runs.push(survivors);
    }
    let lost: usize = runs.iter().map(|r| 40 - r.len()).sum();
    assert!(lost > 0, "messages sent during a window get lost");
    assert!(
        runs.iter().any(|r| r != &runs[0]),
        "losses depend on the seed"
    );
    assert_eq!(
        runs[0],
        survivors_of_a_purge(1).await,
        "same seed, same losses"
    );
}
