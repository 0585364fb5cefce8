//! Batch and request limits, as the backend reports them.

use super::*;
use crate::backend::QueueDepth;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn send_batches_hold_1_to_10_entries_with_distinct_ids() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let error = sim.send(queue, &[]).await.unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
    assert!(error.to_string().contains("EmptyBatchRequest"));

    let eleven = numbered((0..11).map(|i| message(&i.to_string())).collect());
    let error = sim.send(queue, &eleven).await.unwrap_err();
    assert!(error.to_string().contains("TooManyEntriesInBatchRequest"));

    let twins = vec![message("a"), message("b")];
    let error = sim.send(queue, &twins).await.unwrap_err();
    assert!(error.to_string().contains("BatchEntryIdsNotDistinct"));
    assert_eq!(
        sim.depth(queue).await.unwrap(),
        QueueDepth::default(),
        "nothing sent"
    );

    let ten = sim.send(queue, &eleven[..10]).await.unwrap();
    assert_eq!(ten.len(), 10);
    assert!(ten.iter().all(Result::is_ok));
    assert_eq!(sim.depth(queue).await.unwrap().visible, 10);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn entries_fail_one_by_one_and_the_others_are_sent() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let batch = numbered(vec![message("ok"), message("bad\u{1}"), message("ok too")]);
    let outcomes = sim.send(queue, &batch).await.unwrap();
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
    let error = outcomes[1].as_ref().unwrap_err();
    assert!(
        error.to_string().contains("InvalidMessageContents"),
        "{error}"
    );
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["ok", "ok too"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn messages_up_to_1_mib_are_accepted() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let max = "x".repeat(1024 * 1024);
    assert!(sim.send(queue, &[message(&max)]).await.is_ok());
    let over = "x".repeat(1024 * 1024 + 1);
    let error = sim.send(queue, &[message(&over)]).await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::MessageTooLarge, "{error}");
    assert_eq!(receive(&sim, queue, 10).await[0].body.len(), 1024 * 1024);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn receive_and_delete_limits() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    for max in [0, 11] {
        let error = sim.receive(queue, request(max)).await.unwrap_err();
        assert!(is_invalid_parameter(&error.kind), "{error}");
    }
    let too_long = ReceiveRequest {
        wait: secs(21),
        ..request(1)
    };
    assert!(sim.receive(queue, too_long).await.is_err());
    assert!(sim.delete(queue, &[]).await.is_err());
    send_bodies(&sim, queue, &["a"; 10]).await;
    let received = receive(&sim, queue, 10).await;
    assert_eq!(received.len(), 10);
    let mut receipts: Vec<Receipt> = received.iter().map(|m| m.receipt.clone()).collect();
    receipts.push(receipts[0].clone());
    assert!(sim.delete(queue, &receipts).await.is_err(), "11 receipts");
    let results = sim.delete(queue, &receipts[..10]).await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(sim.depth(queue).await.unwrap().total(), 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_unknown_queue_is_not_found() {
    let sim = SimBackend::new(1);
    let error = sim.depth(QueueId(3)).await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::NotFound);
    let error = sim.receive(QueueId(3), request(1)).await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::NotFound);
}
