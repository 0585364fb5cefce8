//! Message move tasks: DLQ messages back to their source as new messages, at a bounded rate.

use super::*;
use crate::backend::MoveTaskState;
use tokio::time::Instant;

/// A main queue and its DLQ holding `count` redriven messages (max receive count 1).
async fn dlq_holding(sim: &SimBackend, count: usize) -> (QueueId, QueueId, Vec<SqsMessageId>) {
    let (main, dlq) = with_dlq(sim, standard(), 1).await;
    let messages: Vec<_> = (0..count).map(|i| message(&format!("m{i:02}"))).collect();
    let ids = send_all(sim, main, messages).await;
    while !receive(sim, main, 10).await.is_empty() {}
    sleep(secs(30)).await;
    assert!(receive(sim, main, 10).await.is_empty());
    assert!(receive(sim, main, 10).await.is_empty());
    assert_eq!(sim.depth(dlq).await.unwrap().visible, count as u64);
    (main, dlq, ids)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn moves_run_at_the_rate_then_complete() {
    let sim = SimBackend::new(1);
    let (main, dlq, _) = dlq_holding(&sim, 25).await;
    let started = sim.start_move_task(dlq, Some(10)).await.unwrap();
    assert_eq!(started.state, MoveTaskState::Running);
    assert_eq!(started.to_move, Some(25));

    sleep(millis(999)).await;
    let status = sim.move_task_status(dlq).await.unwrap().unwrap();
    assert_eq!((status.state, status.moved), (MoveTaskState::Running, 9));
    sleep(millis(1)).await;
    assert_eq!(sim.move_task_status(dlq).await.unwrap().unwrap().moved, 10);
    assert_eq!(sim.depth(main).await.unwrap().visible, 10);
    assert_eq!(sim.depth(dlq).await.unwrap().visible, 15);

    sleep(millis(1_500)).await;
    let done = sim.move_task_status(dlq).await.unwrap().unwrap();
    assert_eq!((done.state, done.moved), (MoveTaskState::Completed, 25));
    assert_eq!(done.handle, started.handle);
    assert_eq!(sim.depth(dlq).await.unwrap().total(), 0);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn moved_messages_are_new_messages() {
    let sim = SimBackend::new(1);
    let (main, dlq, ids) = dlq_holding(&sim, 3).await;
    sim.start_move_task(dlq, None).await.unwrap();
    sleep(secs(1)).await;
    let moved = receive(&sim, main, 10).await;
    assert_eq!(bodies(&moved), ["m00", "m01", "m02"]);
    for message in &moved {
        assert!(!ids.contains(&message.message_id), "a new message id");
        assert_eq!(message.receive_count, 1, "the receive count starts again");
    }
    // Counted from zero again: one more delivery, then the next receive redrives them.
    sleep(secs(30)).await;
    assert!(receive(&sim, main, 10).await.is_empty());
    assert_eq!(sim.depth(dlq).await.unwrap().visible, 3);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn one_running_task_per_queue_and_only_on_a_dlq() {
    let sim = SimBackend::new(1);
    let (main, dlq, _) = dlq_holding(&sim, 5).await;
    sim.start_move_task(dlq, Some(1)).await.unwrap();
    let error = sim.start_move_task(dlq, Some(1)).await.unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
    let error = sim.start_move_task(main, None).await.unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
    let error = sim.start_move_task(dlq, Some(501)).await.unwrap_err();
    assert!(is_invalid_parameter(&error.kind), "{error}");
    sleep(secs(5)).await;
    let done = sim.move_task_status(dlq).await.unwrap().unwrap();
    assert_eq!(done.state, MoveTaskState::Completed);
    sim.start_move_task(dlq, Some(1)).await.unwrap();
    assert_eq!(sim.move_task_status(main).await.unwrap(), None);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_on_the_source_wakes_when_a_message_is_moved() {
    let sim = SimBackend::new(1);
    let (main, dlq, _) = dlq_holding(&sim, 1).await;
    sim.start_move_task(dlq, Some(2)).await.unwrap();
    let start = Instant::now();
    let long_poll = ReceiveRequest {
        wait: secs(20),
        ..request(10)
    };
    let received = sim.receive(main, long_poll).await.unwrap();
    assert_eq!(bodies(&received), ["m00"]);
    assert_eq!(start.elapsed(), millis(500));
}

/// A long poll that began before the task started: the start itself must re-plan its wake-up,
/// or it sleeps to the end of its wait although the first moved message arrived long before.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_long_poll_waiting_when_a_task_starts_wakes_at_the_first_move() {
    let sim = SimBackend::new(1);
    let (main, dlq, _) = dlq_holding(&sim, 1).await;
    let start = Instant::now();
    let long_poll = ReceiveRequest {
        wait: secs(20),
        ..request(10)
    };
    let (received, _) = tokio::join!(sim.receive(main, long_poll), async {
        sleep(secs(1)).await;
        sim.start_move_task(dlq, Some(2)).await.unwrap()
    });
    assert_eq!(bodies(&received.unwrap()), ["m00"]);
    assert_eq!(
        start.elapsed(),
        millis(1_500),
        "1 s to the start, then 1/rate"
    );
}
