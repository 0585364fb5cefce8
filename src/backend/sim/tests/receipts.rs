//! Receipt handles: every receive issues a new one; old, deleted, forged and foreign ones.

use super::*;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_superseded_receipt_deletes_nothing_on_a_standard_queue() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let first = receive(&sim, queue, 1).await.remove(0);
    sleep(secs(30)).await;
    let second = receive(&sim, queue, 1).await.remove(0);

    assert_eq!(delete_one(&sim, queue, &first.receipt).await, Ok(()));
    assert_eq!(sim.depth(queue).await.unwrap().in_flight, 1, "not deleted");
    assert_eq!(delete_one(&sim, queue, &second.receipt).await, Ok(()));
    assert_eq!(sim.depth(queue).await.unwrap().total(), 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn deleting_an_already_deleted_message_succeeds() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let received = receive(&sim, queue, 1).await.remove(0);
    assert_eq!(delete_one(&sim, queue, &received.receipt).await, Ok(()));
    assert_eq!(delete_one(&sim, queue, &received.receipt).await, Ok(()));
    // Even after the slot was reused by another message.
    send_bodies(&sim, queue, &["b"]).await;
    assert_eq!(delete_one(&sim, queue, &received.receipt).await, Ok(()));
    assert_eq!(bodies(&receive(&sim, queue, 1).await), ["b"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_never_issued_receipt_is_invalid() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let other = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let received = receive(&sim, queue, 1).await.remove(0);
    let Receipt::Token { slot, generation } = received.receipt.clone() else {
        panic!("the simulator issues tokens");
    };
    let forged = [
        Receipt::Token {
            slot,
            generation: generation + 1,
        },
        Receipt::Token {
            slot: slot + 1000,
            generation,
        },
        Receipt::Handle(Arc::from("AQEB-not-a-sim-receipt")),
    ];
    for receipt in &forged {
        let result = delete_one(&sim, queue, receipt).await;
        assert_eq!(
            result,
            Err(BackendErrorKind::ReceiptHandleInvalid),
            "{receipt:?}"
        );
        let error = sim
            .change_visibility(queue, receipt, secs(5))
            .await
            .unwrap_err();
        assert_eq!(error.kind, BackendErrorKind::ReceiptHandleInvalid);
    }
    let foreign = delete_one(&sim, other, &received.receipt).await;
    assert_eq!(foreign, Err(BackendErrorKind::ReceiptHandleInvalid));
    assert_eq!(sim.depth(queue).await.unwrap().in_flight, 1);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_standard_delete_after_the_timeout_works_until_someone_receives_again() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let received = receive(&sim, queue, 1).await.remove(0);
    sleep(secs(45)).await;
    assert_eq!(delete_one(&sim, queue, &received.receipt).await, Ok(()));
    assert_eq!(sim.depth(queue).await.unwrap().total(), 0);
    assert!(receive(&sim, queue, 1).await.is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_fifo_delete_after_the_visibility_window_is_refused() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    send_all(&sim, queue, [grouped("a", "g")]).await;
    let first = receive(&sim, queue, 1).await.remove(0);
    sleep(secs(30)).await;
    let expired = delete_one(&sim, queue, &first.receipt).await;
    assert_eq!(expired, Err(BackendErrorKind::ReceiptHandleInvalid));
    let second = receive(&sim, queue, 1).await.remove(0);
    let superseded = delete_one(&sim, queue, &first.receipt).await;
    assert_eq!(superseded, Err(BackendErrorKind::ReceiptHandleInvalid));
    assert_eq!(delete_one(&sim, queue, &second.receipt).await, Ok(()));
    assert_eq!(sim.depth(queue).await.unwrap().total(), 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn change_visibility_of_a_deleted_message_is_refused_as_not_in_flight() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let received = receive(&sim, queue, 1).await.remove(0);
    delete_one(&sim, queue, &received.receipt).await.unwrap();
    let error = sim
        .change_visibility(queue, &received.receipt, secs(5))
        .await
        .unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::NotInFlight);
}
