//! The DynamoDB subset: conditional put and update, get, scan.

use std::sync::Arc;

use crate::backend::{
    Backend, BackendErrorKind, Condition, Item, PutOutcome, Status, Table, Update, UpdateOutcome,
};

use super::super::SimBackend;

async fn tables() -> SimBackend {
    let sim = SimBackend::new(1);
    sim.create_tables().await.unwrap();
    sim
}

fn started(lease_until_ms: u64) -> Item {
    Item {
        status: Some(Status::Started),
        attempts: 1,
        lease_until_ms: Some(lease_until_ms),
        message: Some(Arc::from("m1")),
        ..Item::default()
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn put_if_absent_returns_the_existing_item_when_it_exists() {
    let sim = tables().await;
    let first = started(1_000);
    let outcome = sim.put_if_absent(Table::Status, "k", &first).await.unwrap();
    assert_eq!(outcome, PutOutcome::Created);
    let second = Item {
        message: Some(Arc::from("m2")),
        ..started(5_000)
    };
    let outcome = sim
        .put_if_absent(Table::Status, "k", &second)
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::Exists(first.clone()));
    assert_eq!(sim.get(Table::Status, "k").await.unwrap(), Some(first));
    // The tables are separate.
    assert_eq!(sim.get(Table::SideEffects, "k").await.unwrap(), None);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_unconditional_update_creates_the_item_and_adds_from_zero() {
    let sim = tables().await;
    let bump = Update {
        add_count: 1,
        set_message: Some(Arc::from("m1")),
        ..Update::default()
    };
    for expected in 1..=3 {
        let UpdateOutcome::Updated(item) =
            sim.update(Table::SideEffects, "k", &bump).await.unwrap()
        else {
            panic!("unconditional")
        };
        assert_eq!(item.count, expected);
        assert_eq!(item.status, None, "untouched fields stay absent");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn version_below_is_last_write_wins() {
    let sim = tables().await;
    let write = |version| Update {
        set_version: Some(version),
        condition: Condition::VersionBelow(version),
        ..Update::default()
    };
    let applied = |outcome: UpdateOutcome| matches!(outcome, UpdateOutcome::Updated(_));
    assert!(applied(
        sim.update(Table::SideEffects, "e", &write(2))
            .await
            .unwrap()
    ));
    assert!(applied(
        sim.update(Table::SideEffects, "e", &write(5))
            .await
            .unwrap()
    ));
    let stale = sim
        .update(Table::SideEffects, "e", &write(3))
        .await
        .unwrap();
    let UpdateOutcome::ConditionFailed(Some(current)) = stale else {
        panic!("{stale:?}")
    };
    assert_eq!(current.version, Some(5));
    assert!(!applied(
        sim.update(Table::SideEffects, "e", &write(5))
            .await
            .unwrap()
    ));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn lease_expired_takes_over_only_an_abandoned_claim() {
    let sim = tables().await;
    let take_over = |now_ms| Update {
        add_attempts: 1,
        set_lease_until_ms: Some(now_ms + 30_000),
        condition: Condition::LeaseExpired { now_ms },
        ..Update::default()
    };
    let missing = sim.update(Table::Status, "k", &take_over(0)).await.unwrap();
    assert_eq!(missing, UpdateOutcome::ConditionFailed(None));
    assert_eq!(
        sim.get(Table::Status, "k").await.unwrap(),
        None,
        "not created"
    );

    sim.put_if_absent(Table::Status, "k", &started(10_000))
        .await
        .unwrap();
    let early = sim
        .update(Table::Status, "k", &take_over(9_999))
        .await
        .unwrap();
    assert_eq!(early, UpdateOutcome::ConditionFailed(Some(started(10_000))));
    let UpdateOutcome::Updated(item) = sim
        .update(Table::Status, "k", &take_over(10_000))
        .await
        .unwrap()
    else {
        panic!("the lease ended")
    };
    assert_eq!((item.attempts, item.lease_until_ms), (2, Some(40_000)));

    let complete = Update {
        set_status: Some(Status::Completed),
        ..Update::default()
    };
    sim.update(Table::Status, "k", &complete).await.unwrap();
    let done = sim
        .update(Table::Status, "k", &take_over(99_999))
        .await
        .unwrap();
    assert!(
        matches!(done, UpdateOutcome::ConditionFailed(Some(_))),
        "COMPLETED is never taken over"
    );
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn scan_is_sorted_by_key_and_tables_must_exist() {
    let sim = SimBackend::new(1);
    let error = sim.get(Table::Status, "k").await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::NotFound);
    sim.create_tables().await.unwrap();
    for key in ["b", "c", "a", "aa"] {
        sim.put_if_absent(Table::Status, key, &Item::default())
            .await
            .unwrap();
    }
    let keys: Vec<String> = sim
        .scan(Table::Status)
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys, ["a", "aa", "b", "c"]);
    assert!(sim.scan(Table::SideEffects).await.unwrap().is_empty());
}
