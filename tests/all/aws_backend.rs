//! The AWS backend against a real moto_server (see `moto.rs`): the boundary's operations, the
//! per-run resources and their tags, teardown and cleanup.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use qsim::backend::aws::{AwsOptions, ResourceKind, SkipReason, cleanup_with_config};
use qsim::backend::{
    Backend, BackendErrorKind, Condition, Item, OutgoingMessage, PutOutcome, QueueAttributes,
    QueueId, QueueRole, QueueSpec, Receipt, ReceiveRequest, ReceivedMessage, Redrive, Status,
    Table, Update, UpdateOutcome,
};

use qsim::sqs::{DeduplicationScope, FifoThroughputLimit};

use crate::moto::{moto, queue_names_with_prefix, table_names};

fn queue_spec(role: QueueRole, fifo: bool) -> QueueSpec {
    QueueSpec {
        role,
        attributes: QueueAttributes {
            fifo,
            content_based_dedup: fifo,
            ..QueueAttributes::default()
        },
        redrive: None,
        sim: qsim::sqs::envelope::Envelope::IDEAL,
    }
}

fn message(entry: usize, body: &str, group: Option<&str>) -> OutgoingMessage {
    OutgoingMessage {
        entry_id: format!("e{entry}"),
        body: Arc::from(body),
        group_id: group.map(Arc::from),
        dedup_id: None,
        delay: None,
    }
}

fn receive(max: u32, wait_secs: u64) -> ReceiveRequest {
    ReceiveRequest {
        max,
        wait: Duration::from_secs(wait_secs),
        visibility: None,
    }
}

async fn send_bodies(backend: &impl Backend, queue: QueueId, bodies: &[&str], group: Option<&str>) {
    let batch: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(index, body)| message(index, body, group))
        .collect();
    for outcome in backend.send(queue, &batch).await.expect("SendMessageBatch") {
        outcome.expect("entry accepted");
    }
}

/// Receives until `count` messages arrived (or a few empty long polls passed).
async fn receive_count(
    backend: &impl Backend,
    queue: QueueId,
    count: usize,
) -> Vec<ReceivedMessage> {
    let mut received = Vec::new();
    let mut empty = 0;
    while received.len() < count && empty < 3 {
        let batch = backend
            .receive(queue, receive(10, 1))
            .await
            .expect("ReceiveMessage");
        if batch.is_empty() {
            empty += 1;
        }
        received.extend(batch);
    }
    received
}

fn bodies(messages: &[ReceivedMessage]) -> Vec<String> {
    let mut bodies: Vec<String> = messages.iter().map(|m| m.body.to_string()).collect();
    bodies.sort();
    bodies
}

#[tokio::test(flavor = "current_thread")]
async fn creates_tagged_queues_and_active_tables_under_the_run_prefix() {
    let moto = moto().await;
    let backend = moto.backend("Create Test").await;
    let dlq = backend
        .create_queue(&queue_spec(QueueRole::DeadLetter, false))
        .await
        .unwrap();
    let mut main = queue_spec(QueueRole::Main, false);
    main.attributes.visibility_timeout = Duration::from_secs(7);
    main.redrive = Some(Redrive {
        dlq,
        max_receive_count: 3,
    });
    let main = backend.create_queue(&main).await.unwrap();
    backend.create_tables().await.unwrap();

    let prefix = backend.prefix().to_owned();
    assert!(prefix.starts_with("qsim-create-test-"), "{prefix}");
    assert_eq!(backend.run_id().len(), 8);
    let sqs = moto.sqs().await;
    assert_eq!(
        queue_names_with_prefix(&sqs, &prefix).await,
        vec![format!("{prefix}-dlq"), format!("{prefix}-main")]
    );
    for queue in [dlq, main] {
        let url = backend.queue_url(queue).unwrap();
        let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
        let tags = tags.tags().cloned().unwrap_or_default();
        assert_eq!(tags.get("qsim:managed").map(String::as_str), Some("true"));
        assert_eq!(
            tags.get("qsim:run").map(String::as_str),
            Some(backend.run_id())
        );
    }
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(backend.queue_url(main).unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes: BTreeMap<String, String> = attributes
        .attributes()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
        .collect();
    assert_eq!(attributes["VisibilityTimeout"], "7");
    let redrive: serde_json::Value = serde_json::from_str(&attributes["RedrivePolicy"]).unwrap();
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "3"
    );
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{prefix}-dlq")),
        "{redrive}"
    );

    let dynamodb = moto.dynamodb().await;
    for table in [Table::Status, Table::SideEffects] {
        let name = backend.table_name(table);
        assert!(name.starts_with(&prefix), "{name}");
        let described = dynamodb
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let described = described.table().unwrap();
        assert_eq!(described.table_status().map(|s| s.as_str()), Some("ACTIVE"));
        assert_eq!(
            described
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|m| m.as_str()),
            Some("PAY_PER_REQUEST")
        );
        let tags = dynamodb
            .list_tags_of_resource()
            .resource_arn(described.table_arn().unwrap())
            .send()
            .await
            .unwrap();
        let tags: BTreeMap<&str, &str> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
        assert_eq!(tags.get("qsim:managed"), Some(&"true"));
        assert_eq!(tags.get("qsim:run"), Some(&backend.run_id()));
    }
    let calls = backend.api_calls();
    assert_eq!(calls.get("CreateQueue"), Some(&2));
    assert_eq!(calls.get("CreateTable"), Some(&2));
    backend.teardown().await.unwrap();
}

/// moto stores both attributes and reports them back, though it still deduplicates per queue
/// (docs/sqs-semantics.md, section 3): what is checked here is that the queue qsim creates
/// carries them, so a real SQS queue would be a high-throughput one.
#[tokio::test(flavor = "current_thread")]
async fn a_fifo_queue_is_created_with_its_deduplication_scope_and_throughput_limit() {
    let moto = moto().await;
    let backend = moto.backend("fifo modes").await;
    let mut spec = queue_spec(QueueRole::Main, true);
    spec.attributes.deduplication_scope = DeduplicationScope::MessageGroup;
    spec.attributes.fifo_throughput_limit = FifoThroughputLimit::PerMessageGroupId;
    let queue = backend.create_queue(&spec).await.unwrap();
    let described = moto
        .sqs()
        .await
        .get_queue_attributes()
        .queue_url(backend.queue_url(queue).unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = described.attributes().unwrap();
    let value = |name: aws_sdk_sqs::types::QueueAttributeName| attributes.get(&name).cloned();
    assert_eq!(
        value(aws_sdk_sqs::types::QueueAttributeName::DeduplicationScope).as_deref(),
        Some("messageGroup")
    );
    assert_eq!(
        value(aws_sdk_sqs::types::QueueAttributeName::FifoThroughputLimit).as_deref(),
        Some("perMessageGroupId")
    );
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn send_receive_delete_round_trip() {
    let moto = moto().await;
    let backend = moto.backend("round-trip").await;
    let queue = backend
        .create_queue(&queue_spec(QueueRole::Main, false))
        .await
        .unwrap();
    send_bodies(&backend, queue, &["a", "b", "c"], None).await;
    assert_eq!(backend.depth(queue).await.unwrap().visible, 3);

    let received = receive_count(&backend, queue, 3).await;
    assert_eq!(bodies(&received), ["a", "b", "c"]);
    assert!(
        received
            .iter()
            .all(|m| m.receive_count == 1 && m.group_id.is_none())
    );
    assert!(
        received
            .iter()
            .all(|m| matches!(m.receipt, Receipt::Handle(_)))
    );
    let depth = backend.depth(queue).await.unwrap();
    assert_eq!((depth.visible, depth.in_flight), (0, 3));

    let receipts: Vec<Receipt> = received.iter().map(|m| m.receipt.clone()).collect();
    let results = backend.delete(queue, &receipts).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(backend.depth(queue).await.unwrap().total(), 0);
    assert!(backend.remaining(queue).await.unwrap().is_empty());

    let calls = backend.api_calls();
    assert_eq!(calls.get("SendMessageBatch"), Some(&1));
    assert_eq!(calls.get("DeleteMessageBatch"), Some(&1));
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn batch_failures_are_reported_per_entry_and_errors_name_operation_and_queue() {
    let moto = moto().await;
    let backend = moto.backend("errors").await;
    let queue = backend
        .create_queue(&queue_spec(QueueRole::Main, false))
        .await
        .unwrap();
    send_bodies(&backend, queue, &["x"], None).await;
    let received = receive_count(&backend, queue, 1).await;
    let receipts = [
        received[0].receipt.clone(),
        Receipt::Handle(Arc::from("not-a-receipt")),
        Receipt::Token {
            slot: 1,
            generation: 0,
        },
    ];
    let results = backend.delete(queue, &receipts).await.unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    for result in &results[1..] {
        let error = result.as_ref().unwrap_err();
        assert_eq!(
            error.kind,
            BackendErrorKind::ReceiptHandleInvalid,
            "{error}"
        );
        assert_eq!(error.operation, "DeleteMessageBatch");
    }

    // A FIFO send without a group id fails as a whole request.
    let fifo = backend
        .create_queue(&queue_spec(QueueRole::Main, true))
        .await
        .unwrap();
    let error = backend
        .send(fifo, &[message(0, "no group", None)])
        .await
        .unwrap_err();
    assert_eq!(error.operation, "SendMessageBatch");
    assert!(
        matches!(error.kind, BackendErrorKind::InvalidParameter(_)),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains(&backend.queue_name(fifo).unwrap()),
        "{error}"
    );
    // The service's answer is stated once: in the text, which names its error code.
    assert!(
        std::error::Error::source(&error).is_none(),
        "{:?}",
        std::error::Error::source(&error)
    );
    assert!(error.to_string().contains("MissingParameter"), "{error}");

    backend.teardown().await.unwrap();
    let error = backend.receive(queue, receive(1, 0)).await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::NotFound, "{error}");
    assert_eq!(error.resource, backend.queue_name(queue).unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn an_undeleted_message_is_redelivered_after_its_visibility_timeout() {
    let moto = moto().await;
    let backend = moto.backend("visibility").await;
    let mut spec = queue_spec(QueueRole::Main, false);
    spec.attributes.visibility_timeout = Duration::from_secs(1);
    let queue = backend.create_queue(&spec).await.unwrap();
    send_bodies(&backend, queue, &["once"], None).await;

    let first = receive_count(&backend, queue, 1).await;
    assert_eq!(first.len(), 1);
    assert!(
        backend
            .receive(queue, receive(10, 0))
            .await
            .unwrap()
            .is_empty(),
        "hidden while in flight"
    );
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let second = receive_count(&backend, queue, 1).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].message_id, first[0].message_id);
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(
        second[0].receipt, first[0].receipt,
        "every receive has a new receipt"
    );

    // ChangeMessageVisibility 0 makes it visible at once.
    backend
        .change_visibility(queue, &second[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let third = backend.receive(queue, receive(10, 0)).await.unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].receive_count, 3);

    // A deleted message has no visibility left to change. AWS answers InvalidParameterValue
    // ("...not available for visibility timeout change", mapped to NotInFlight as the simulator
    // answers); moto answers ReceiptHandleIsInvalid (docs/sqs-semantics.md §3). The consumer
    // treats both alike: the message left, stop extending.
    let deleted = backend
        .delete(queue, &[third[0].receipt.clone()])
        .await
        .unwrap();
    assert!(deleted[0].is_ok());
    let gone = backend
        .change_visibility(queue, &third[0].receipt, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            gone.kind,
            BackendErrorKind::NotInFlight | BackendErrorKind::ReceiptHandleInvalid
        ),
        "{gone}"
    );
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_message_moves_to_the_dlq_on_the_receive_after_max_receive_count() {
    let moto = moto().await;
    let backend = moto.backend("redrive").await;
    let dlq = backend
        .create_queue(&queue_spec(QueueRole::DeadLetter, false))
        .await
        .unwrap();
    let mut spec = queue_spec(QueueRole::Main, false);
    spec.attributes.visibility_timeout = Duration::from_secs(1);
    spec.redrive = Some(Redrive {
        dlq,
        max_receive_count: 2,
    });
    let main = backend.create_queue(&spec).await.unwrap();
    send_bodies(&backend, main, &["poison"], None).await;

    for delivery in 1..=2 {
        let received = receive_count(&backend, main, 1).await;
        assert_eq!(received.len(), 1, "delivery {delivery}");
        assert_eq!(received[0].receive_count, delivery);
        tokio::time::sleep(Duration::from_millis(1_200)).await;
    }
    assert!(
        backend
            .receive(main, receive(10, 1))
            .await
            .unwrap()
            .is_empty(),
        "the third receive moves the message instead of returning it"
    );
    assert_eq!(backend.depth(dlq).await.unwrap().visible, 1);
    let in_dlq = backend.receive(dlq, receive(10, 1)).await.unwrap();
    assert_eq!(bodies(&in_dlq), ["poison"]);
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn fifo_queues_keep_order_within_each_group() {
    let moto = moto().await;
    let backend = moto.backend("fifo").await;
    let dlq = backend
        .create_queue(&queue_spec(QueueRole::DeadLetter, true))
        .await
        .unwrap();
    assert!(backend.queue_name(dlq).unwrap().ends_with("-dlq.fifo"));
    let mut spec = queue_spec(QueueRole::Main, true);
    spec.redrive = Some(Redrive {
        dlq,
        max_receive_count: 5,
    });
    let queue = backend.create_queue(&spec).await.unwrap();
    assert!(backend.queue_name(queue).unwrap().ends_with("-main.fifo"));

    let batch: Vec<_> = (0..8)
        .map(|i| {
            message(
                i,
                &format!("m{i}"),
                Some(if i % 2 == 0 { "g1" } else { "g2" }),
            )
        })
        .collect();
    for outcome in backend.send(queue, &batch).await.unwrap() {
        outcome.unwrap();
    }
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for _ in 0..8 {
        let received = backend.receive(queue, receive(3, 1)).await.unwrap();
        if received.is_empty() {
            break;
        }
        for m in &received {
            order
                .entry(m.group_id.as_deref().unwrap().to_owned())
                .or_default()
                .push(m.body.to_string());
        }
        let receipts: Vec<_> = received.iter().map(|m| m.receipt.clone()).collect();
        assert!(
            backend
                .delete(queue, &receipts)
                .await
                .unwrap()
                .iter()
                .all(Result::is_ok)
        );
    }
    assert_eq!(order["g1"], ["m0", "m2", "m4", "m6"]);
    assert_eq!(order["g2"], ["m1", "m3", "m5", "m7"]);

    // A standard DLQ for a FIFO queue is refused before any request.
    let standard_dlq = backend
        .create_queue(&queue_spec(QueueRole::DeadLetter, false))
        .await
        .unwrap();
    let mut mismatched = queue_spec(QueueRole::Main, true);
    mismatched.redrive = Some(Redrive {
        dlq: standard_dlq,
        max_receive_count: 1,
    });
    let error = backend.create_queue(&mismatched).await.unwrap_err();
    assert!(
        matches!(error.kind, BackendErrorKind::InvalidParameter(_)),
        "{error}"
    );
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn conditional_puts_and_updates_follow_dynamodb() {
    let moto = moto().await;
    let backend = moto.backend("tables").await;
    backend.create_tables().await.unwrap();

    let started = Item {
        status: Some(Status::Started),
        attempts: 1,
        lease_until_ms: Some(1_000),
        message: Some("m-1".into()),
        ..Item::default()
    };
    assert_eq!(
        backend
            .put_if_absent(Table::Status, "k1", &started)
            .await
            .unwrap(),
        PutOutcome::Created
    );
    let again = Item {
        status: Some(Status::Completed),
        ..Item::default()
    };
    assert_eq!(
        backend
            .put_if_absent(Table::Status, "k1", &again)
            .await
            .unwrap(),
        PutOutcome::Exists(started.clone())
    );

    // Lease takeover only once the lease expired, and only for STARTED records.
    let takeover = |now_ms| Update {
        add_attempts: 1,
        set_lease_until_ms: Some(now_ms + 1_000),
        condition: Condition::LeaseExpired { now_ms },
        ..Update::default()
    };
    assert_eq!(
        backend
            .update(Table::Status, "k1", &takeover(999))
            .await
            .unwrap(),
        UpdateOutcome::ConditionFailed(Some(started.clone()))
    );
    let UpdateOutcome::Updated(taken) = backend
        .update(Table::Status, "k1", &takeover(1_000))
        .await
        .unwrap()
    else {
        panic!("the expired lease should be taken over");
    };
    assert_eq!((taken.attempts, taken.lease_until_ms), (2, Some(2_000)));
    assert_eq!(
        backend
            .update(Table::Status, "missing", &takeover(5_000))
            .await
            .unwrap(),
        UpdateOutcome::ConditionFailed(None)
    );

    // Last write wins by version; ADD starts from 0 on a missing item.
    let apply = |version| Update {
        add_count: 1,
        set_version: Some(version),
        set_message: Some(format!("v{version}").into()),
        condition: Condition::VersionBelow(version),
        ..Update::default()
    };
    let UpdateOutcome::Updated(first) = backend
        .update(Table::SideEffects, "e1", &apply(5))
        .await
        .unwrap()
    else {
        panic!("a missing item has no version");
    };
    assert_eq!((first.count, first.version), (1, Some(5)));
    assert_eq!(
        backend
            .update(Table::SideEffects, "e1", &apply(5))
            .await
            .unwrap(),
        UpdateOutcome::ConditionFailed(Some(first.clone()))
    );
    assert_eq!(
        backend
            .update(Table::SideEffects, "e1", &apply(4))
            .await
            .unwrap(),
        UpdateOutcome::ConditionFailed(Some(first))
    );
    let UpdateOutcome::Updated(newer) = backend
        .update(Table::SideEffects, "e1", &apply(6))
        .await
        .unwrap()
    else {
        panic!("a newer version applies");
    };
    assert_eq!(
        (newer.count, newer.version, newer.message.as_deref()),
        (2, Some(6), Some("v6"))
    );

    let completed = Update {
        set_status: Some(Status::Completed),
        ..Update::default()
    };
    backend
        .update(Table::Status, "k0", &completed)
        .await
        .unwrap();
    assert_eq!(
        backend
            .get(Table::Status, "k0")
            .await
            .unwrap()
            .unwrap()
            .status,
        Some(Status::Completed)
    );
    assert_eq!(backend.get(Table::Status, "nope").await.unwrap(), None);
    let keys: Vec<String> = backend
        .scan(Table::Status)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["k0", "k1"]);
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn remaining_finds_in_flight_and_visible_messages_without_redriving_them() {
    let moto = moto().await;
    let backend = moto.backend("remaining").await;
    let dlq = backend
        .create_queue(&queue_spec(QueueRole::DeadLetter, false))
        .await
        .unwrap();
    let mut spec = queue_spec(QueueRole::Main, false);
    spec.redrive = Some(Redrive {
        dlq,
        max_receive_count: 1,
    });
    let main = backend.create_queue(&spec).await.unwrap();
    send_bodies(&backend, main, &["a", "b", "c", "d", "e"], None).await;

    // Three received (30 s visibility, so still in flight), one of them deleted.
    let received = backend.receive(main, receive(3, 1)).await.unwrap();
    assert_eq!(received.len(), 3);
    let results = backend
        .delete(main, &[received[0].receipt.clone()])
        .await
        .unwrap();
    assert!(results[0].is_ok());

    let remaining = backend.remaining(main).await.unwrap();
    let mut expected: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    expected.retain(|body| body.as_str() != &*received[0].body);
    assert_eq!(bodies(&remaining), expected);
    for message in &remaining {
        let delivered_before = received.iter().any(|r| r.message_id == message.message_id);
        assert_eq!(
            message.receive_count,
            u32::from(delivered_before),
            "{message:?}"
        );
    }
    // Exhausted messages stayed in the main queue, the policy is back, nothing was deleted.
    assert!(backend.remaining(dlq).await.unwrap().is_empty());
    let sqs = moto.sqs().await;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(backend.queue_url(main).unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    assert!(
        attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy))
            .is_some()
    );
    assert_eq!(backend.depth(main).await.unwrap().total(), 4);
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn remaining_reaches_fifo_messages_behind_a_full_batch_of_one_group() {
    let moto = moto().await;
    let backend = moto.backend("remaining-fifo").await;
    let queue = backend
        .create_queue(&queue_spec(QueueRole::Main, true))
        .await
        .unwrap();
    let all: Vec<String> = (0..14).map(|i| format!("m{i:02}")).collect();
    for chunk in all.chunks(10) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        send_bodies(&backend, queue, &refs, Some("g")).await;
    }
    let held = backend.receive(queue, receive(2, 1)).await.unwrap();
    assert_eq!(bodies(&held), ["m00", "m01"]);

    let remaining = backend.remaining(queue).await.unwrap();
    let found: Vec<String> = remaining.iter().map(|m| m.body.to_string()).collect();
    assert_eq!(found, all, "all 14, in group order");
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn teardown_removes_the_runs_resources_and_can_run_twice() {
    let moto = moto().await;
    let sqs = moto.sqs().await;
    let dynamodb = moto.dynamodb().await;

    let kept = moto
        .backend_with(
            &AwsOptions {
                keep: true,
                ..moto.options()
            },
            "kept",
        )
        .await;
    kept.create_queue(&queue_spec(QueueRole::Main, false))
        .await
        .unwrap();
    kept.teardown().await.unwrap();
    assert_eq!(
        queue_names_with_prefix(&sqs, kept.prefix()).await.len(),
        1,
        "--keep keeps"
    );

    let backend = moto.backend("teardown").await;
    let dlq = backend
        .create_queue(&queue_spec(QueueRole::DeadLetter, true))
        .await
        .unwrap();
    let mut spec = queue_spec(QueueRole::Main, true);
    spec.redrive = Some(Redrive {
        dlq,
        max_receive_count: 2,
    });
    backend.create_queue(&spec).await.unwrap();
    backend.create_tables().await.unwrap();
    assert_eq!(
        queue_names_with_prefix(&sqs, backend.prefix()).await.len(),
        2
    );

    backend.teardown().await.unwrap();
    assert!(
        queue_names_with_prefix(&sqs, backend.prefix())
            .await
            .is_empty()
    );
    let tables = table_names(&dynamodb).await;
    assert!(
        !tables.iter().any(|t| t.starts_with(backend.prefix())),
        "{tables:?}"
    );
    let deletes = backend.api_calls()["DeleteQueue"];
    backend.teardown().await.unwrap();
    assert_eq!(
        backend.api_calls()["DeleteQueue"],
        deletes,
        "nothing left to delete"
    );
    assert_eq!(
        queue_names_with_prefix(&sqs, kept.prefix()).await.len(),
        1,
        "other runs untouched"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn cleanup_deletes_only_resources_with_both_prefix_and_tag() {
    let moto = moto().await;
    let sqs = moto.sqs().await;
    let dynamodb = moto.dynamodb().await;
    sqs.create_queue()
        .queue_name("qsim-foreign")
        .send()
        .await
        .unwrap();
    sqs.create_queue()
        .queue_name("unrelated")
        .tags("qsim:managed", "true")
        .send()
        .await
        .unwrap();
    dynamodb
        .create_table()
        .table_name("qsim-foreign-table")
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();

    // A run that left its resources behind.
    let options = AwsOptions {
        keep: true,
        ..moto.options()
    };
    let leftover = moto.backend_with(&options, "leftover").await;
    leftover
        .create_queue(&queue_spec(QueueRole::Main, false))
        .await
        .unwrap();
    leftover.create_tables().await.unwrap();
    leftover.teardown().await.unwrap();
    let prefix = leftover.prefix().to_owned();

    let config = moto.sdk_config(&moto.options()).await;
    let dry = cleanup_with_config(&config, true).await.unwrap();
    assert!(dry.dry_run);
    let would_delete: Vec<(ResourceKind, String)> = dry
        .deleted
        .iter()
        .map(|e| (e.kind, e.name.clone()))
        .collect();
    assert_eq!(
        would_delete,
        vec![
            (ResourceKind::Queue, format!("{prefix}-main")),
            (ResourceKind::Table, format!("{prefix}-side-effects")),
            (ResourceKind::Table, format!("{prefix}-status")),
        ]
    );
    assert!(
        dry.deleted
            .iter()
            .all(|e| e.run.as_deref() == Some(leftover.run_id()))
    );
    assert_eq!(
        queue_names_with_prefix(&sqs, &prefix).await.len(),
        1,
        "a dry run deletes nothing"
    );

    let report = cleanup_with_config(&config, false).await.unwrap();
    assert_eq!(report.deleted, dry.deleted);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let skipped: Vec<(ResourceKind, &str, SkipReason)> = report
        .skipped
        .iter()
        .map(|s| (s.resource.kind, s.resource.name.as_str(), s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            (ResourceKind::Queue, "qsim-foreign", SkipReason::NotManaged),
            (
                ResourceKind::Table,
                "qsim-foreign-table",
                SkipReason::NotManaged
            )
        ]
    );

    assert_eq!(
        queue_names_with_prefix(&sqs, "").await,
        ["qsim-foreign", "unrelated"]
    );
    assert_eq!(table_names(&dynamodb).await, ["qsim-foreign-table"]);
}

#[tokio::test(flavor = "current_thread")]
async fn message_move_tasks_are_reported_unsupported_on_moto() {
    let moto = moto().await;
    let backend = moto.backend("move-task").await;
    assert!(
        backend.capabilities().0.is_empty(),
        "a custom endpoint claims no extra capability"
    );
    let dlq = backend
        .create_queue(&queue_spec(QueueRole::DeadLetter, false))
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let error = backend.start_move_task(dlq, Some(10)).await.unwrap_err();
    assert_eq!(error.kind, BackendErrorKind::Unsupported, "{error}");
    assert_eq!(error.operation, "StartMessageMoveTask");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not retried: {:?}",
        started.elapsed()
    );
    let error = backend.move_task_status(dlq).await.unwrap_err();
    assert!(
        matches!(error.kind, BackendErrorKind::Unsupported),
        "{error}"
    );
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_long_poll_returns_as_soon_as_a_message_arrives_while_other_calls_proceed() {
    let moto = moto().await;
    let backend = moto.backend("long-poll").await;
    let queue = backend
        .create_queue(&queue_spec(QueueRole::Main, false))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (received, ()) = tokio::join!(backend.receive(queue, receive(10, 5)), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        send_bodies(&backend, queue, &["late"], None).await;
    });
    assert_eq!(bodies(&received.unwrap()), ["late"]);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(4), "waited {elapsed:?}");

    let started = std::time::Instant::now();
    assert!(
        backend
            .receive(queue, receive(10, 1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    backend.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn remaining_waits_for_delayed_messages() {
    let moto = moto().await;
    let backend = moto.backend("delayed").await;
    let queue = backend
        .create_queue(&queue_spec(QueueRole::Main, false))
        .await
        .unwrap();
    let mut delayed = message(0, "later", None);
    delayed.delay = Some(Duration::from_secs(2));
    for outcome in backend.send(queue, &[delayed]).await.unwrap() {
        outcome.unwrap();
    }
    assert_eq!(backend.depth(queue).await.unwrap().delayed, 1);
    let remaining = backend.remaining(queue).await.unwrap();
    assert_eq!(bodies(&remaining), ["later"]);
    assert_eq!(remaining[0].receive_count, 0);
    backend.teardown().await.unwrap();
}

/// Capabilities follow the endpoint: no network is involved in connecting.
#[tokio::test(flavor = "current_thread")]
async fn capabilities_depend_on_whether_the_endpoint_is_aws() {
    use qsim::backend::Capability;
    let load = |endpoint_url: Option<&str>| {
        let options = AwsOptions {
            region: Some("eu-west-1".into()),
            endpoint_url: endpoint_url.map(str::to_owned),
            ..AwsOptions::default()
        };
        async move {
            // Ignore the host's AWS_* variables so an exported AWS_ENDPOINT_URL cannot leak in.
            let config = options
                .config_loader()
                .empty_test_environment()
                .load()
                .await;
            qsim::backend::aws::AwsBackend::from_sdk_config(&config, &options, "caps").unwrap()
        }
    };
    let aws = load(None).await.capabilities();
    for capability in [
        Capability::MessageMoveTask,
        Capability::AsyncPurge,
        Capability::FifoDedupWindow,
        Capability::FifoRedeliveryOrder,
    ] {
        assert!(aws.has(capability), "{capability:?}");
    }
    assert!(!aws.has(Capability::InjectedFaults) && !aws.has(Capability::Deterministic));
    let emulator = load(Some("http://127.0.0.1:1")).await.capabilities();
    assert!(emulator.0.is_empty(), "{emulator:?}");

    let no_region = AwsOptions::default()
        .config_loader()
        .empty_test_environment()
        .load()
        .await;
    let error =
        qsim::backend::aws::AwsBackend::from_sdk_config(&no_region, &AwsOptions::default(), "x")
            .unwrap_err();
    assert!(
        matches!(error.kind, BackendErrorKind::InvalidParameter(_)),
        "{error}"
    );
}
