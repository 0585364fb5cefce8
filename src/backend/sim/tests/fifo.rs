//! FIFO queues: group ids, deduplication window, strict order and group blocking.

use super::*;
use crate::sqs::{DeduplicationScope, FifoThroughputLimit};

fn unique(body: &str, group: &str, dedup: &str) -> OutgoingMessage {
    OutgoingMessage {
        dedup_id: Some(Arc::from(dedup)),
        ..grouped(body, group)
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_group_id_is_required() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    let ungrouped = OutgoingMessage {
        dedup_id: Some(Arc::from("d")),
        ..message("a")
    };
    let outcome = sim.send(queue, &[ungrouped]).await.unwrap().remove(0);
    assert!(is_invalid_parameter(&outcome.unwrap_err().kind));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_duplicate_within_5_minutes_is_accepted_but_not_delivered() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    let original = send_all(&sim, queue, [unique("first", "g", "d1")]).await;
    let first = receive(&sim, queue, 10).await;
    delete_all(&sim, queue, &first).await;

    // Remembered after the delete (moto forgets it here).
    sleep(secs(299)).await;
    let again = send_all(&sim, queue, [unique("second", "g", "d1")]).await;
    assert_eq!(again, original, "answers with the original message id");
    assert!(receive(&sim, queue, 10).await.is_empty());
    assert_eq!(sim.depth(queue).await.unwrap().total(), 0);

    sleep(secs(2)).await;
    let after = send_all(&sim, queue, [unique("third", "g", "d1")]).await;
    assert_ne!(after, original);
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["third"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_window_counts_from_the_first_send_not_the_duplicates() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    send_all(&sim, queue, [unique("a", "g", "d")]).await;
    sleep(secs(200)).await;
    send_all(&sim, queue, [unique("a", "g", "d")]).await;
    sleep(secs(101)).await;
    send_all(&sim, queue, [unique("a", "g", "d")]).await;
    assert_eq!(sim.depth(queue).await.unwrap().visible, 2);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn content_based_deduplication_keys_on_the_body_and_an_explicit_id_wins() {
    let sim = SimBackend::new(1);
    let spec = with_attributes(fifo(), |a| a.content_based_dedup = true);
    let queue = sim.create_queue(&spec).await.unwrap();
    let by_content = |body: &str| OutgoingMessage {
        dedup_id: None,
        ..grouped(body, "g")
    };
    let ids = send_all(
        &sim,
        queue,
        [by_content("same"), by_content("same"), by_content("other")],
    )
    .await;
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
    send_all(&sim, queue, [unique("same", "g", "explicit")]).await;
    let received = receive(&sim, queue, 10).await;
    assert_eq!(bodies(&received), ["same", "other", "same"]);

    let plain = sim.create_queue(&fifo()).await.unwrap();
    let outcome = sim.send(plain, &[by_content("x")]).await.unwrap().remove(0);
    assert!(
        is_invalid_parameter(&outcome.unwrap_err().kind),
        "no dedup id, no content-based"
    );
}

/// One deduplication id sent in groups a, a and b, and what arrives.
async fn one_id_in_two_groups(scope: DeduplicationScope) -> Vec<String> {
    let sim = SimBackend::new(1);
    let spec = with_attributes(fifo(), |a| a.deduplication_scope = scope);
    let queue = sim.create_queue(&spec).await.unwrap();
    let ids = send_all(
        &sim,
        queue,
        [
            unique("tenant-a", "a", "d"),
            unique("tenant-a again", "a", "d"),
            unique("tenant-b", "b", "d"),
        ],
    )
    .await;
    assert_eq!(ids[0], ids[1], "a repeat within its group is a duplicate");
    let received = receive(&sim, queue, 10).await;
    bodies(&received).into_iter().map(String::from).collect()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn under_the_queue_scope_an_id_is_one_message_whatever_its_group() {
    let delivered = one_id_in_two_groups(DeduplicationScope::Queue).await;
    assert_eq!(delivered, ["tenant-a"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn under_the_message_group_scope_an_id_is_one_message_per_group() {
    let delivered = one_id_in_two_groups(DeduplicationScope::MessageGroup).await;
    assert_eq!(delivered, ["tenant-a", "tenant-b"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_message_group_scope_keeps_the_5_minute_window_per_group() {
    let sim = SimBackend::new(1);
    let spec = with_attributes(fifo(), |a| {
        a.content_based_dedup = true;
        a.deduplication_scope = DeduplicationScope::MessageGroup;
    });
    let queue = sim.create_queue(&spec).await.unwrap();
    let by_content = |group: &str| OutgoingMessage {
        dedup_id: None,
        ..grouped("same body", group)
    };
    send_all(&sim, queue, [by_content("a"), by_content("b")]).await;
    sleep(secs(299)).await;
    send_all(&sim, queue, [by_content("a"), by_content("b")]).await;
    assert_eq!(
        sim.depth(queue).await.unwrap().visible,
        2,
        "both remembered"
    );
    sleep(secs(2)).await;
    send_all(&sim, queue, [by_content("b")]).await;
    assert_eq!(sim.depth(queue).await.unwrap().visible, 3, "b forgotten");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn ids_remembered_under_the_old_scope_do_not_match_after_a_change() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    send_all(&sim, queue, [unique("before", "a", "d")]).await;
    let per_group = with_attributes(fifo(), |a| {
        a.deduplication_scope = DeduplicationScope::MessageGroup;
    });
    sim.reconfigure_queue(queue, &per_group).unwrap();
    send_all(
        &sim,
        queue,
        [unique("after", "a", "d"), unique("again", "a", "d")],
    )
    .await;
    let received = receive(&sim, queue, 10).await;
    assert_eq!(bodies(&received), ["before", "after"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_fifo_modes_are_refused_on_a_standard_queue_and_in_the_wrong_combination() {
    let sim = SimBackend::new(1);
    let scoped = with_attributes(standard(), |a| {
        a.deduplication_scope = DeduplicationScope::MessageGroup;
    });
    let limited = with_attributes(standard(), |a| {
        a.fifo_throughput_limit = FifoThroughputLimit::PerMessageGroupId;
    });
    let per_group_quota_per_queue_scope = with_attributes(fifo(), |a| {
        a.fifo_throughput_limit = FifoThroughputLimit::PerMessageGroupId;
    });
    for spec in [scoped, limited, per_group_quota_per_queue_scope] {
        let error = sim.create_queue(&spec).await.unwrap_err();
        assert!(is_invalid_parameter(&error.kind), "{error}");
    }
    let high_throughput = with_attributes(fifo(), |a| {
        a.deduplication_scope = DeduplicationScope::MessageGroup;
        a.fifo_throughput_limit = FifoThroughputLimit::PerMessageGroupId;
    });
    sim.create_queue(&high_throughput).await.unwrap();
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_in_flight_message_blocks_the_rest_of_its_group() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    send_all(&sim, queue, [grouped("a1", "a"), grouped("a2", "a")]).await;
    let head = receive(&sim, queue, 1).await;
    assert_eq!(bodies(&head), ["a1"]);
    assert!(receive(&sim, queue, 10).await.is_empty(), "a2 waits for a1");
    send_all(&sim, queue, [grouped("b1", "b")]).await;
    assert_eq!(
        bodies(&receive(&sim, queue, 10).await),
        ["b1"],
        "other groups flow"
    );
    delete_all(&sim, queue, &head).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["a2"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn order_is_kept_when_several_in_flight_messages_time_out() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    let group: Vec<_> = (1..=5).map(|i| grouped(&format!("m{i}"), "g")).collect();
    send_all(&sim, queue, group).await;
    assert_eq!(bodies(&receive(&sim, queue, 3).await), ["m1", "m2", "m3"]);
    assert!(receive(&sim, queue, 10).await.is_empty());
    sleep(secs(30)).await;
    let again = receive(&sim, queue, 10).await;
    assert_eq!(bodies(&again), ["m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(
        again.iter().map(|m| m.receive_count).collect::<Vec<_>>(),
        [2, 2, 2, 1, 1]
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_visible_message_behind_an_in_flight_one_is_not_delivered() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    send_all(&sim, queue, [grouped("m1", "g"), grouped("m2", "g")]).await;
    let both = receive(&sim, queue, 2).await;
    sim.change_visibility(queue, &both[1].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(sim.depth(queue).await.unwrap().visible, 1);
    assert!(
        receive(&sim, queue, 10).await.is_empty(),
        "m2 is behind in-flight m1"
    );
    sim.change_visibility(queue, &both[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["m1", "m2"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_receive_drains_one_group_then_fills_from_others_fairly() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    let mut messages = Vec::new();
    for i in 1..=3 {
        for group in ["a", "b", "c"] {
            messages.push(grouped(&format!("{group}{i}"), group));
        }
    }
    send_all(&sim, queue, messages).await;
    let first = receive(&sim, queue, 4).await;
    assert_eq!(bodies(&first), ["a1", "a2", "a3", "b1"]);
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["c1", "c2", "c3"]);
    assert!(receive(&sim, queue, 10).await.is_empty(), "b2 waits for b1");
    delete_all(&sim, queue, &first[3..]).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["b2", "b3"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn groups_are_served_in_the_order_they_became_ready() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    send_all(&sim, queue, [grouped("a1", "a"), grouped("b1", "b")]).await;
    let a = receive(&sim, queue, 1).await;
    let b = receive(&sim, queue, 1).await;
    assert_eq!((bodies(&a), bodies(&b)), (vec!["a1"], vec!["b1"]));
    send_all(&sim, queue, [grouped("a2", "a"), grouped("b2", "b")]).await;
    // b unblocks before a: b is served first.
    delete_all(&sim, queue, &b).await;
    delete_all(&sim, queue, &a).await;
    assert_eq!(bodies(&receive(&sim, queue, 1).await), ["b2"]);
    assert_eq!(bodies(&receive(&sim, queue, 1).await), ["a2"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn emptied_groups_are_forgotten() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    for round in 0..3 {
        let groups: Vec<_> = (0..100)
            .map(|g| grouped(&format!("r{round}g{g}"), &format!("g{g}")))
            .collect();
        send_all(&sim, queue, groups).await;
        assert_eq!(sim.queues.borrow()[queue.0].live_groups(), 100);
        for _ in 0..10 {
            let received = receive(&sim, queue, 10).await;
            assert_eq!(received.len(), 10);
            delete_all(&sim, queue, &received).await;
        }
        assert_eq!(sim.queues.borrow()[queue.0].live_groups(), 0);
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_delayed_message_neither_blocks_nor_shares_an_emptied_group() {
    let sim = SimBackend::new(1);
    let spec = with_attributes(fifo(), |a| a.delay = secs(10));
    let queue = sim.create_queue(&spec).await.unwrap();
    send_all(&sim, queue, [grouped("g1", "g")]).await;
    sleep(secs(5)).await;
    send_all(&sim, queue, [grouped("g2", "g")]).await;
    sleep(secs(5)).await;
    let first = receive(&sim, queue, 10).await;
    assert_eq!(bodies(&first), ["g1"]);
    delete_all(&sim, queue, &first).await;
    sleep(secs(2)).await;
    send_all(&sim, queue, [grouped("h1", "h")]).await;
    sleep(secs(3)).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["g2"]);
    sleep(secs(7)).await;
    assert_eq!(
        bodies(&receive(&sim, queue, 10).await),
        ["h1"],
        "g2 in flight does not block h"
    );
}
