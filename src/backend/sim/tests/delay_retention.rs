//! DelaySeconds (queue and per message) and MessageRetentionPeriod.

use super::*;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_queue_delay_hides_new_messages_and_a_message_delay_overrides_it() {
    let sim = SimBackend::new(1);
    let spec = with_attributes(standard(), |a| a.delay = secs(10));
    let queue = sim.create_queue(&spec).await.unwrap();
    let shorter = OutgoingMessage {
        delay: Some(secs(2)),
        ..message("2s")
    };
    let none = OutgoingMessage {
        delay: Some(Duration::ZERO),
        ..message("now")
    };
    send_all(&sim, queue, [message("10s"), shorter, none]).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["now"]);
    assert_eq!(sim.depth(queue).await.unwrap().delayed, 2);
    sleep(millis(1_999)).await;
    assert!(receive(&sim, queue, 10).await.is_empty());
    sleep(millis(1)).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["2s"]);
    sleep(secs(8)).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["10s"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn fifo_queues_reject_a_per_message_delay_but_apply_the_queue_delay() {
    let sim = SimBackend::new(1);
    let spec = with_attributes(fifo(), |a| a.delay = secs(5));
    let queue = sim.create_queue(&spec).await.unwrap();
    let delayed = OutgoingMessage {
        delay: Some(secs(1)),
        ..grouped("a", "g")
    };
    let outcome = sim.send(queue, &[delayed]).await.unwrap().remove(0);
    assert!(is_invalid_parameter(&outcome.unwrap_err().kind));
    send_all(&sim, queue, [grouped("b", "g")]).await;
    assert!(receive(&sim, queue, 10).await.is_empty());
    sleep(secs(5)).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["b"]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn delays_above_15_minutes_are_refused() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let late = OutgoingMessage {
        delay: Some(secs(901)),
        ..message("a")
    };
    let outcome = sim.send(queue, &[late]).await.unwrap().remove(0);
    assert!(is_invalid_parameter(&outcome.unwrap_err().kind));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn messages_older_than_the_retention_period_are_deleted_in_any_state() {
    let sim = SimBackend::new(1);
    let spec = with_attributes(standard(), |a| {
        a.retention = secs(60);
        a.visibility_timeout = secs(300);
    });
    let queue = sim.create_queue(&spec).await.unwrap();
    send_bodies(&sim, queue, &["in flight", "visible"]).await;
    receive(&sim, queue, 1).await;
    sleep(secs(30)).await;
    send_bodies(&sim, queue, &["younger"]).await;
    sleep(millis(29_999)).await;
    assert_eq!(sim.remaining(queue).await.unwrap().len(), 3);
    sleep(millis(1)).await;
    let left = sim.remaining(queue).await.unwrap();
    assert_eq!(bodies(&left), ["younger"]);
    assert_eq!(sim.depth(queue).await.unwrap().in_flight, 0);
    sleep(secs(30)).await;
    assert!(receive(&sim, queue, 10).await.is_empty());
}
