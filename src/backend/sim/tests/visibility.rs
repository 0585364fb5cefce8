//! Visibility timeout: queue default, per-receive override, ChangeMessageVisibility, receive
//! counts, depth counters.

use super::*;
use crate::backend::QueueDepth;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn redelivered_after_exactly_the_visibility_timeout() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let ids = send_bodies(&sim, queue, &["a"]).await;

    let first = receive(&sim, queue, 10).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    assert_eq!(first[0].message_id, ids[0]);

    sleep(millis(29_999)).await;
    assert!(receive(&sim, queue, 10).await.is_empty());
    sleep(millis(1)).await;
    let again = receive(&sim, queue, 10).await;
    assert_eq!(bodies(&again), ["a"]);
    assert_eq!(again[0].receive_count, 2);
    assert_eq!(again[0].message_id, ids[0]);
    assert_ne!(again[0].receipt, first[0].receipt);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_receive_override_applies_to_that_delivery_only() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;

    let short = ReceiveRequest {
        visibility: Some(secs(5)),
        ..request(1)
    };
    assert_eq!(sim.receive(queue, short).await.unwrap().len(), 1);
    sleep(millis(4_999)).await;
    assert!(receive(&sim, queue, 1).await.is_empty());
    sleep(millis(1)).await;
    // Received with the queue default (30 s) this time.
    assert_eq!(receive(&sim, queue, 1).await.len(), 1);
    sleep(secs(29)).await;
    assert!(receive(&sim, queue, 1).await.is_empty());
    sleep(secs(1)).await;
    assert_eq!(receive(&sim, queue, 1).await[0].receive_count, 3);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn change_visibility_counts_from_the_call() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let received = receive(&sim, queue, 1).await;

    sleep(secs(20)).await;
    sim.change_visibility(queue, &received[0].receipt, secs(60))
        .await
        .unwrap();
    sleep(millis(79_999 - 20_000)).await;
    assert!(
        receive(&sim, queue, 1).await.is_empty(),
        "hidden until 80 s"
    );
    sleep(millis(1)).await;
    let again = receive(&sim, queue, 1).await;
    assert_eq!(again.len(), 1);
    // The next delivery uses the queue's 30 s again, not the 60 s of the change.
    sleep(millis(29_999)).await;
    assert!(receive(&sim, queue, 1).await.is_empty());
    sleep(millis(1)).await;
    assert_eq!(receive(&sim, queue, 1).await.len(), 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn change_visibility_to_zero_makes_the_message_visible_at_once() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let received = receive(&sim, queue, 1).await;
    sim.change_visibility(queue, &received[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = receive(&sim, queue, 1).await;
    assert_eq!(bodies(&again), ["a"]);
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn change_visibility_on_an_expired_receipt_is_ok_and_changes_nothing() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let first = receive(&sim, queue, 1).await;
    sleep(secs(31)).await;

    // Expired but not yet received again: OK, and the message stays visible.
    sim.change_visibility(queue, &first[0].receipt, secs(600))
        .await
        .unwrap();
    let second = receive(&sim, queue, 1).await;
    assert_eq!(
        second.len(),
        1,
        "the expired receipt must not hide it again"
    );

    // Superseded by the second receive: OK, and the second receipt's timer is untouched.
    sim.change_visibility(queue, &first[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert!(receive(&sim, queue, 1).await.is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn visibility_is_capped_at_12_hours_from_the_receive() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let long = ReceiveRequest {
        visibility: Some(secs(4 * 3600)),
        ..request(1)
    };
    let receipt = sim.receive(queue, long).await.unwrap().remove(0).receipt;
    let twelve_hours = secs(12 * 3600);

    sleep(secs(3600)).await;
    let error = sim
        .change_visibility(queue, &receipt, twelve_hours)
        .await
        .unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
    // Extending up to exactly 12 h after the receive is allowed, and does not reset the cap.
    sim.change_visibility(queue, &receipt, secs(11 * 3600))
        .await
        .unwrap();
    sleep(secs(3600)).await;
    let error = sim
        .change_visibility(queue, &receipt, secs(10 * 3600 + 1))
        .await
        .unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
    let error = sim
        .change_visibility(queue, &receipt, twelve_hours + SECOND)
        .await
        .unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn depth_counts_visible_in_flight_and_delayed_exactly() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a", "b", "c"]).await;
    let delayed = OutgoingMessage {
        delay: Some(secs(10)),
        ..message("d")
    };
    send_all(&sim, queue, [delayed]).await;
    let depth = |visible, in_flight, delayed| QueueDepth {
        visible,
        in_flight,
        delayed,
    };
    assert_eq!(sim.depth(queue).await.unwrap(), depth(3, 0, 1));
    let received = receive(&sim, queue, 2).await;
    assert_eq!(sim.depth(queue).await.unwrap(), depth(1, 2, 1));
    delete_one(&sim, queue, &received[0].receipt).await.unwrap();
    assert_eq!(sim.depth(queue).await.unwrap(), depth(1, 1, 1));
    sleep(secs(10)).await;
    assert_eq!(sim.depth(queue).await.unwrap(), depth(2, 1, 0));
    sleep(secs(20)).await;
    assert_eq!(sim.depth(queue).await.unwrap(), depth(3, 0, 0));
    assert_eq!(sim.remaining(queue).await.unwrap().len(), 3);
}
