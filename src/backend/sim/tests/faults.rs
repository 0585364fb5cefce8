//! The standard-queue fault knobs: duplicate delivery and reordering, seeded.

use super::*;

fn faulty(duplicate_rate: f64, reorder_rate: f64, reorder_window: u32) -> QueueSpec {
    QueueSpec {
        sim: Envelope {
            duplicate_rate,
            reorder_rate,
            reorder_window,
            ..Envelope::IDEAL
        },
        ..standard()
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_duplicate_is_delivered_even_after_the_original_was_deleted() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&faulty(1.0, 0.0, 0)).await.unwrap();
    let ids = send_bodies(&sim, queue, &["a"]).await;
    let original = receive(&sim, queue, 10).await;
    assert_eq!(original.len(), 1, "never twice in one response");
    delete_all(&sim, queue, &original).await;
    let copy = receive(&sim, queue, 10).await;
    assert_eq!(copy.len(), 1);
    assert_eq!(copy[0].message_id, ids[0]);
    assert_ne!(copy[0].receipt, original[0].receipt);
    delete_all(&sim, queue, &copy).await;
    assert!(
        receive(&sim, queue, 10).await.is_empty(),
        "a copy is not copied again"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn deleting_a_copy_deletes_the_original_if_still_stored() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&faulty(1.0, 0.0, 0)).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let original = receive(&sim, queue, 1).await.remove(0);
    let copy = receive(&sim, queue, 1).await.remove(0);
    assert_eq!(copy.message_id, original.message_id);
    assert_eq!((original.receive_count, copy.receive_count), (1, 1));
    assert_eq!(sim.depth(queue).await.unwrap().in_flight, 2);
    delete_one(&sim, queue, &copy.receipt).await.unwrap();
    assert_eq!(sim.depth(queue).await.unwrap().total(), 0);
    assert_eq!(delete_one(&sim, queue, &original.receipt).await, Ok(()));
}

/// Receives everything one message at a time, deleting as it goes; returns bodies in order.
async fn delivery_order(seed: u64, spec: QueueSpec, count: usize) -> Vec<String> {
    let sim = SimBackend::new(seed);
    let queue = sim.create_queue(&spec).await.unwrap();
    let messages: Vec<_> = (0..count).map(|i| message(&format!("m{i:02}"))).collect();
    send_all(&sim, queue, messages).await;
    let mut order = Vec::new();
    loop {
        let received = receive(&sim, queue, 1).await;
        if received.is_empty() {
            return order;
        }
        delete_all(&sim, queue, &received).await;
        order.push(received[0].body.to_string());
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_idealised_standard_queue_delivers_in_send_order_once() {
    let order = delivery_order(1, standard(), 30).await;
    let sent: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
    assert_eq!(order, sent);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn reordering_is_bounded_by_the_window_and_seeded() {
    let spec = faulty(0.0, 1.0, 4);
    let order = delivery_order(1, spec.clone(), 30).await;
    let mut sorted = order.clone();
    sorted.sort();
    let sent: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
    assert_eq!(sorted, sent, "each message exactly once");
    assert_ne!(order, sent, "reordered");
    for (position, body) in order.iter().enumerate() {
        let index: usize = body[1..].parse().unwrap();
        // A message can be passed over, but only picked from the first 4 still waiting.
        assert!(index <= position + 3, "{body} delivered at {position}");
    }
    assert_eq!(order, delivery_order(1, spec.clone(), 30).await);
    assert_ne!(order, delivery_order(2, spec, 30).await);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn duplicates_follow_the_rate_and_the_seed() {
    let spec = faulty(0.3, 0.0, 0);
    let order = delivery_order(5, spec.clone(), 200).await;
    let copies = order.len() - 200;
    assert!((30..=90).contains(&copies), "about 30% of 200: {copies}");
    let mut distinct = order.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 200, "every message at least once");
    assert_eq!(order, delivery_order(5, spec.clone(), 200).await);
    assert_ne!(order, delivery_order(6, spec, 200).await);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_message_leaves_one_copy_at_most_however_often_it_comes_back() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&faulty(1.0, 0.0, 0)).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    // Received and handed back at once, ten times: a copy each time would be ten copies.
    for _ in 0..10 {
        let got = receive(&sim, queue, 1).await;
        for message in &got {
            sim.change_visibility(queue, &message.receipt, Duration::ZERO)
                .await
                .unwrap();
        }
    }
    assert_eq!(
        sim.depth(queue).await.unwrap().total(),
        2,
        "the original and one copy"
    );
}
