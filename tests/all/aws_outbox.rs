//! The outbox's transactional write on the AWS path, against a real moto_server: the business
//! record and the outbox row written by one TransactWriteItems and read back, the row deleted,
//! and the `outbox` scenario's crashes, resend and row deletes observed in the history, the
//! final table and the call counts (TransactWriteItems billed two write units per item).

use std::path::Path;
use std::rc::Rc;

use qsim::backend::{Backend, Item, Table};
use qsim::scenario;
use serde_json::Value as Json;

use super::moto::{history_lines, moto, run_to_a_pass};

#[tokio::test(flavor = "current_thread")]
async fn a_transaction_writes_the_record_and_the_row_and_the_row_can_be_deleted() {
    let moto = moto().await;
    let backend = moto.backend("outbox-items").await;
    backend.create_tables().await.unwrap();
    let record = Item {
        message: Some("orders-0001".into()),
        ..Item::default()
    };
    let row = Item {
        message: Some("orders-0001".into()),
        body: Some(r#"{"id":"orders-0001","seq":1}"#.into()),
        ..Item::default()
    };
    let items = [
        ("record:orders-0001".to_owned(), record.clone()),
        ("outbox:orders-0001".to_owned(), row.clone()),
    ];
    backend.transact_put(Table::Status, &items).await.unwrap();
    assert_eq!(
        backend
            .get(Table::Status, "record:orders-0001")
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        backend
            .get(Table::Status, "outbox:orders-0001")
            .await
            .unwrap(),
        Some(row)
    );

    backend
        .delete_item(Table::Status, "outbox:orders-0001")
        .await
        .unwrap();
    // Deleting a missing item succeeds, as DynamoDB's DeleteItem without a condition does.
    backend
        .delete_item(Table::Status, "outbox:orders-0001")
        .await
        .unwrap();
    let keys: Vec<String> = backend
        .scan(Table::Status)
        .await
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(keys, ["record:orders-0001"]);
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_outbox_scenario_on_moto_resends_once_and_leaves_no_row() {
    let moto = moto().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios.d/outbox.toml");
    let scenario = Rc::new(scenario::load(&path).unwrap());
    let backend = Rc::new(moto.backend(&scenario.name).await);
    let outcome = run_to_a_pass(&scenario, backend.clone()).await;

    let lines: Vec<Json> = history_lines(&scenario, &outcome);
    let count = |event: &str| lines.iter().filter(|l| l["event"] == event).count();
    let committed = count("committed");
    assert_eq!(committed, 10);
    assert_eq!(count("outbox-deleted"), committed);
    assert_eq!(count("resent"), 1);
    let crashes: Vec<&Json> = lines
        .iter()
        .filter(|l| l["event"] == "crashed" && l["actor"] == "orders")
        .collect();
    let points: Vec<&str> = crashes.iter().filter_map(|l| l["point"].as_str()).collect();
    assert_eq!(points, ["after-commit", "after-send"]);
    // The resent copy is the message whose send preceded the second crash.
    let resent = lines.iter().find(|l| l["event"] == "resent").unwrap();
    assert_eq!(resent["message"], crashes[1]["message"]);

    // The final table holds every record and no row.
    let keys: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "final-item" && l["table"] == "status")
        .filter_map(|l| l["key"].as_str())
        .collect();
    assert_eq!(keys.iter().filter(|k| k.starts_with("record:")).count(), 10);
    assert!(!keys.iter().any(|k| k.starts_with("outbox:")), "{keys:?}");

    let ended = lines.last().unwrap();
    assert_eq!(ended["event"], "run-ended");
    let calls = |op: &str| ended["api_calls"][op].as_u64().unwrap_or(0);
    let billed = |op: &str| ended["billed_requests"][op].as_u64().unwrap_or(0);
    assert_eq!(calls("TransactWriteItems") as usize, committed);
    assert_eq!(
        billed("TransactWriteItems"),
        2 * 2 * calls("TransactWriteItems")
    );
    assert_eq!(calls("DeleteItem") as usize, committed);
    // What reached moto: one attempt per transaction and per delete.
    let attempts = backend.api_attempts();
    assert_eq!(
        attempts.get("TransactWriteItems").copied(),
        Some(calls("TransactWriteItems"))
    );
    assert_eq!(
        attempts.get("DeleteItem").copied(),
        Some(calls("DeleteItem"))
    );
}
