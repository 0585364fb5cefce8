//! RedrivePolicy: the move to the DLQ happens inside receive number maxReceiveCount + 1.

use super::*;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_consumer_sees_exactly_max_receive_count_deliveries() {
    let sim = SimBackend::new(3);
    let (main, dlq) = with_dlq(&sim, standard(), 3).await;
    let ids = send_bodies(&sim, main, &["poison"]).await;

    for delivery in 1..=3 {
        let received = receive(&sim, main, 10).await;
        assert_eq!(received.len(), 1, "delivery {delivery}");
        assert_eq!(received[0].receive_count, delivery);
        sleep(secs(30)).await;
    }
    // Exhausted, but it stays in the source until a receive happens.
    assert_eq!(sim.depth(main).await.unwrap().visible, 1);
    assert_eq!(sim.depth(dlq).await.unwrap().total(), 0);

    assert!(
        receive(&sim, main, 10).await.is_empty(),
        "receive 4 moves it"
    );
    assert_eq!(sim.depth(main).await.unwrap().total(), 0);
    let dead = receive(&sim, dlq, 10).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id, ids[0], "the DLQ keeps the message id");
    assert_eq!(
        dead[0].receive_count, 4,
        "receive counts add up across queues"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_redrive_receive_still_returns_other_messages() {
    let sim = SimBackend::new(3);
    let (main, dlq) = with_dlq(&sim, standard(), 1).await;
    send_bodies(&sim, main, &["poison"]).await;
    receive(&sim, main, 1).await;
    sleep(secs(30)).await;
    send_bodies(&sim, main, &["fresh"]).await;
    assert_eq!(bodies(&receive(&sim, main, 10).await), ["fresh"]);
    assert_eq!(bodies(&receive(&sim, dlq, 10).await), ["poison"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn retention_in_the_dlq_counts_from_the_original_send() {
    let sim = SimBackend::new(3);
    let spec = with_attributes(standard(), |a| a.retention = secs(120));
    let (main, dlq) = with_dlq(&sim, spec, 1).await;
    send_bodies(&sim, main, &["old"]).await;
    receive(&sim, main, 1).await;
    sleep(secs(100)).await;
    assert!(receive(&sim, main, 1).await.is_empty());
    assert_eq!(sim.depth(dlq).await.unwrap().visible, 1);
    sleep(millis(19_999)).await;
    assert_eq!(sim.depth(dlq).await.unwrap().visible, 1);
    sleep(millis(1)).await;
    assert_eq!(
        sim.depth(dlq).await.unwrap().total(),
        0,
        "expired 120 s after the send"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn fifo_redrive_moves_the_head_and_the_group_goes_on_in_order() {
    let sim = SimBackend::new(3);
    let (main, dlq) = with_dlq(&sim, fifo(), 2).await;
    send_all(&sim, main, [grouped("m1", "g"), grouped("m2", "g")]).await;
    for _ in 0..2 {
        let received = receive(&sim, main, 1).await;
        assert_eq!(bodies(&received), ["m1"]);
        sleep(secs(30)).await;
    }
    let next = receive(&sim, main, 10).await;
    assert_eq!(bodies(&next), ["m2"], "m1 went to the DLQ in this receive");
    let dead = receive(&sim, dlq, 10).await;
    assert_eq!(bodies(&dead), ["m1"]);
    assert_eq!(dead[0].group_id.as_deref(), Some("g"));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_dlq_must_exist_and_have_the_source_type() {
    let sim = SimBackend::new(3);
    let standard_dlq = sim.create_queue(&dlq_of(&standard())).await.unwrap();
    let fifo_to_standard = QueueSpec {
        redrive: Some(Redrive {
            dlq: standard_dlq,
            max_receive_count: 3,
        }),
        ..fifo()
    };
    let error = sim.create_queue(&fifo_to_standard).await.unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
    let missing = QueueSpec {
        redrive: Some(Redrive {
            dlq: QueueId(9),
            max_receive_count: 3,
        }),
        ..standard()
    };
    assert!(sim.create_queue(&missing).await.is_err());
}
