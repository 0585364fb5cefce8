//! The envelope (docs/sqs-semantics.md §0): each latitude, taken at rate 1, does what SQS may do;
//! at rate 0 it never does.

use super::*;
use crate::backend::TransitionKind;
use crate::backend::faults::ApiOperation;

fn with(envelope: Envelope) -> QueueSpec {
    QueueSpec {
        sim: envelope,
        ..standard()
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_purge_refuses_another_for_sixty_seconds_however_short_it_runs() {
    let sim = SimBackend::new(1);
    let spec = with(Envelope {
        purge_window: secs(1),
        ..Envelope::IDEAL
    });
    let queue = sim.create_queue(&spec).await.unwrap();
    sim.purge(queue).await.unwrap();
    sleep(secs(59)).await;
    let refused = sim.purge(queue).await.unwrap_err();
    assert_eq!(refused.kind, BackendErrorKind::PurgeInProgress);
    sleep(secs(1)).await;
    sim.purge(queue).await.unwrap();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_message_sent_before_a_purge_may_still_be_received_until_the_purge_takes_it() {
    let sim = SimBackend::new(3);
    let spec = with(Envelope {
        purge_reach_rate: 1.0,
        purge_window: secs(60),
        ..Envelope::IDEAL
    });
    let queue = sim.create_queue(&spec).await.unwrap();
    send_bodies(&sim, queue, &["a", "b", "c", "d"]).await;
    sim.purge(queue).await.unwrap();
    let lingering = sim.settled_depth(queue).await.unwrap().visible;
    assert_eq!(lingering, 4, "every message lingers at rate 1");
    let received = receive(&sim, queue, 10).await;
    assert!(!received.is_empty(), "a lingering message is receivable");
    sleep(secs(61)).await;
    assert!(
        sim.remaining(queue).await.unwrap().is_empty(),
        "gone within the minute"
    );
    let purged = transitions(&sim)
        .iter()
        .filter(|k| matches!(k, TransitionKind::Purged))
        .count();
    assert_eq!(purged, 4, "received or not, each is purged once");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn depth_readings_lag_while_the_settled_depth_is_exact() {
    let sim = SimBackend::new(1);
    let spec = with(Envelope {
        counter_lag: secs(30),
        ..Envelope::IDEAL
    });
    let queue = sim.create_queue(&spec).await.unwrap();
    sleep(secs(60)).await;
    let mut stale = 0;
    for _ in 0..20 {
        send_bodies(&sim, queue, &["m"]).await;
        let settled = sim.settled_depth(queue).await.unwrap().visible;
        let read = sim.depth(queue).await.unwrap().visible;
        assert!(
            read <= settled,
            "a lagging reading never runs ahead: {read} > {settled}"
        );
        stale += u32::from(read < settled);
        sleep(secs(2)).await;
    }
    assert!(stale > 0, "some readings lag");
    sleep(secs(31)).await;
    assert_eq!(
        sim.depth(queue).await.unwrap().visible,
        20,
        "caught up after the lag"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn reading_the_counters_more_often_changes_nothing_else() {
    async fn run(readings_per_step: usize) -> Vec<String> {
        let sim = SimBackend::new(9);
        let queue = sim
            .create_queue(&with(crate::sqs::envelope::Profile::Adversarial.envelope()))
            .await
            .unwrap();
        let mut seen = Vec::new();
        for i in 0..30 {
            send_bodies(&sim, queue, &[&format!("m{i}")]).await;
            for _ in 0..readings_per_step {
                sim.depth(queue).await.unwrap();
            }
            let got = receive(&sim, queue, 3).await;
            seen.extend(bodies(&got).into_iter().map(str::to_owned));
            sleep(millis(700)).await;
        }
        seen
    }
    assert_eq!(run(0).await, run(5).await);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_short_poll_may_return_nothing_while_messages_wait_and_a_long_poll_returns_some() {
    let sim = SimBackend::new(1);
    let spec = with(Envelope {
        partial_receive_rate: 1.0,
        ..Envelope::IDEAL
    });
    let queue = sim.create_queue(&spec).await.unwrap();
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    send_bodies(&sim, queue, &many).await;
    let mut short: Vec<usize> = Vec::new();
    for _ in 0..20 {
        short.push(receive(&sim, queue, 10).await.len());
    }
    assert!(short.iter().all(|&n| n < 10), "{short:?}");
    assert!(
        short.contains(&0),
        "a short poll came back empty: {short:?}"
    );
    let long = ReceiveRequest {
        wait: secs(1),
        ..request(10)
    };
    for _ in 0..5 {
        let n = sim.receive(queue, long).await.unwrap().len();
        assert!((1..10).contains(&n), "{n}");
    }
}

/// A standard queue that acts on stale receipts at `rate`, holding one message received twice:
/// the receipt of the first receive, superseded by the second, and no transition noted yet.
async fn superseded_receipt(rate: f64) -> (SimBackend, QueueId, Receipt) {
    let sim = SimBackend::new(1);
    let spec = QueueSpec {
        sim: Envelope {
            stale_receipt_rate: rate,
            ..Envelope::IDEAL
        },
        ..with_attributes(standard(), |a| a.visibility_timeout = secs(1))
    };
    let queue = sim.create_queue(&spec).await.unwrap();
    send_bodies(&sim, queue, &["m"]).await;
    let first = receive(&sim, queue, 1).await.remove(0);
    sleep(secs(2)).await;
    receive(&sim, queue, 1).await.remove(0);
    transitions(&sim);
    (sim, queue, first.receipt)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stale_receipt_acts_at_rate_one_and_never_at_rate_zero() {
    for (rate, deleted) in [(1.0, true), (0.0, false)] {
        let (sim, queue, stale) = superseded_receipt(rate).await;
        delete_one(&sim, queue, &stale).await.unwrap();
        let left = sim.remaining(queue).await.unwrap().len();
        assert_eq!(left == 0, deleted, "rate {rate}");
        // The history says which way the queue went; the consumer saw OK either way.
        assert_eq!(
            transitions(&sim),
            [TransitionKind::StaleReceipt {
                operation: ApiOperation::Delete,
                acted: deleted
            }]
        );
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_visibility_change_with_a_stale_receipt_is_noted_with_what_it_did() {
    for (rate, acted) in [(1.0, true), (0.0, false)] {
        let (sim, queue, stale) = superseded_receipt(rate).await;
        sim.change_visibility(queue, &stale, secs(0)).await.unwrap();
        // Acting, the stale receipt made the message visible at once.
        assert_eq!(receive(&sim, queue, 1).await.len(), usize::from(acted));
        assert_eq!(
            transitions(&sim),
            [TransitionKind::StaleReceipt {
                operation: ApiOperation::ChangeVisibility,
                acted
            }]
        );
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn fifo_queues_keep_order_and_single_delivery_under_the_adversarial_profile() {
    let sim = SimBackend::new(4);
    let spec = QueueSpec {
        sim: crate::sqs::envelope::Profile::Adversarial.envelope(),
        ..fifo()
    };
    let queue = sim.create_queue(&spec).await.unwrap();
    let sent: Vec<String> = (0..40).map(|i| format!("m{i:02}")).collect();
    send_all(&sim, queue, sent.iter().map(|b| grouped(b, "g"))).await;
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let batch = receive(&sim, queue, 10).await;
        got.extend(bodies(&batch).into_iter().map(str::to_owned));
        delete_all(&sim, queue, &batch).await;
        sleep(millis(10)).await;
    }
    assert_eq!(got, sent);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_fifo_dead_letter_queue_counts_retention_from_the_move() {
    let sim = SimBackend::new(1);
    let spec = with_attributes(fifo(), |a| {
        a.visibility_timeout = secs(1);
        a.retention = secs(100);
    });
    let (main, dlq) = with_dlq(&sim, spec, 1).await;
    send_all(&sim, main, [grouped("m", "g")]).await;
    receive(&sim, main, 1).await;
    sleep(secs(80)).await;
    // The receive that follows the first delivery moves it.
    assert!(receive(&sim, main, 1).await.is_empty());
    sleep(secs(50)).await;
    // 130 s after the send, 50 s after the move: a standard DLQ would have dropped it.
    assert_eq!(sim.remaining(dlq).await.unwrap().len(), 1);
    sleep(secs(51)).await;
    assert!(sim.remaining(dlq).await.unwrap().is_empty());
}

fn transitions(sim: &SimBackend) -> Vec<TransitionKind> {
    let mut kinds = Vec::new();
    sim.take_transitions(&mut |t| kinds.push(t.kind));
    kinds
}
