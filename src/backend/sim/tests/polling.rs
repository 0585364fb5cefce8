//! Short and long polling, and the virtual-time guarantees the engine relies on.

use super::*;
use tokio::time::Instant;

fn long_poll(max: u32, wait: Duration) -> ReceiveRequest {
    ReceiveRequest {
        max,
        wait,
        visibility: None,
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_yield_does_not_advance_paused_time() {
    let start = Instant::now();
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }
    assert_eq!(Instant::now(), start);
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    for _ in 0..100 {
        send_bodies(&sim, queue, &["a"]).await;
        receive(&sim, queue, 10).await;
        sim.depth(queue).await.unwrap();
    }
    assert_eq!(Instant::now(), start, "operations take no virtual time");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_short_poll_returns_at_once_with_what_is_visible() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let start = Instant::now();
    assert!(receive(&sim, queue, 10).await.is_empty());
    send_bodies(&sim, queue, &["a", "b", "c"]).await;
    assert_eq!(bodies(&receive(&sim, queue, 10).await), ["a", "b", "c"]);
    assert_eq!(Instant::now(), start);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_returns_empty_exactly_when_the_wait_ends() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let start = Instant::now();
    let received = sim.receive(queue, long_poll(10, secs(20))).await.unwrap();
    assert!(received.is_empty());
    assert_eq!(start.elapsed(), secs(20));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_wakes_when_a_message_is_sent() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let start = Instant::now();
    let (received, _) = tokio::join!(sim.receive(queue, long_poll(10, secs(20))), async {
        sleep(secs(3)).await;
        send_bodies(&sim, queue, &["late"]).await
    });
    assert_eq!(bodies(&received.unwrap()), ["late"]);
    assert_eq!(start.elapsed(), secs(3));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_wakes_when_a_message_becomes_visible_again() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    receive(&sim, queue, 1).await;
    sleep(secs(25)).await;
    let start = Instant::now();
    let received = sim.receive(queue, long_poll(1, secs(20))).await.unwrap();
    assert_eq!(received[0].receive_count, 2);
    assert_eq!(start.elapsed(), secs(5));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_wakes_when_a_delay_ends() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let start = Instant::now();
    let (received, _) = tokio::join!(sim.receive(queue, long_poll(10, secs(20))), async {
        sleep(secs(1)).await;
        let delayed = OutgoingMessage {
            delay: Some(secs(4)),
            ..message("delayed")
        };
        send_all(&sim, queue, [delayed]).await
    });
    assert_eq!(bodies(&received.unwrap()), ["delayed"]);
    assert_eq!(start.elapsed(), secs(5));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_wakes_when_a_shorter_visibility_is_set_meanwhile() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    send_bodies(&sim, queue, &["a"]).await;
    let receipt = receive(&sim, queue, 1).await.remove(0).receipt;
    let start = Instant::now();
    let (received, _) = tokio::join!(sim.receive(queue, long_poll(1, secs(20))), async {
        sleep(secs(1)).await;
        sim.change_visibility(queue, &receipt, secs(2)).await
    });
    assert_eq!(received.unwrap().len(), 1);
    assert_eq!(start.elapsed(), secs(3));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn concurrent_long_polls_share_a_batch_without_duplicates() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let (first, second, _) = tokio::join!(
        sim.receive(queue, long_poll(2, secs(20))),
        sim.receive(queue, long_poll(2, secs(20))),
        async {
            sleep(secs(2)).await;
            let batch = numbered(vec![message("a"), message("b"), message("c")]);
            sim.send(queue, &batch).await.unwrap()
        }
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    let mut all = [bodies(&first), bodies(&second)].concat();
    all.sort_unstable();
    assert_eq!(all, ["a", "b", "c"]);
    assert!(first.len() <= 2 && second.len() <= 2 && !first.is_empty() && !second.is_empty());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_fifo_long_poll_wakes_when_the_blocking_message_is_deleted() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&fifo()).await.unwrap();
    send_all(&sim, queue, [grouped("m1", "g"), grouped("m2", "g")]).await;
    let head = receive(&sim, queue, 1).await;
    let start = Instant::now();
    let (received, _) = tokio::join!(sim.receive(queue, long_poll(10, secs(20))), async {
        sleep(secs(4)).await;
        delete_all(&sim, queue, &head).await
    });
    assert_eq!(bodies(&received.unwrap()), ["m2"]);
    assert_eq!(start.elapsed(), secs(4));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_wakes_when_a_message_received_meanwhile_becomes_visible_again() {
    let sim = SimBackend::new(1);
    let queue = sim.create_queue(&standard()).await.unwrap();
    let start = Instant::now();
    // Both wait on an empty queue; one gets the message at 1 s and keeps it; the other must
    // re-plan its wake-up with that delivery's visibility timeout, not sleep to its deadline.
    let timed = || async {
        let request = ReceiveRequest {
            visibility: Some(secs(5)),
            ..long_poll(1, secs(20))
        };
        let received = sim.receive(queue, request).await.unwrap();
        (received, start.elapsed())
    };
    let (first, second, _) = tokio::join!(timed(), timed(), async {
        sleep(secs(1)).await;
        send_bodies(&sim, queue, &["a"]).await
    });
    let mut returns: Vec<_> = [first, second]
        .into_iter()
        .map(|(received, at)| (at, received[0].receive_count))
        .collect();
    returns.sort_unstable();
    assert_eq!(returns, [(secs(1), 1), (secs(6), 2)]);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_on_the_dlq_wakes_when_a_message_is_redriven() {
    let sim = SimBackend::new(1);
    let (main, dlq) = with_dlq(&sim, standard(), 1).await;
    send_bodies(&sim, main, &["poison"]).await;
    receive(&sim, main, 1).await;
    sleep(secs(25)).await;
    let start = Instant::now();
    let (dead, redriving) = tokio::join!(sim.receive(dlq, long_poll(1, secs(20))), async {
        sleep(secs(6)).await;
        receive(&sim, main, 1).await
    });
    assert!(redriving.is_empty(), "receive 2 moves it");
    assert_eq!(bodies(&dead.unwrap()), ["poison"]);
    assert_eq!(start.elapsed(), secs(6));
}
