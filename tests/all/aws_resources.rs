//! The AWS backend on pre-provisioned resources (`--resources`), against a real moto_server
//! (see `moto.rs`): queues and tables are created here the way terraform/main.tf creates them
//! (names, attributes, tags), then handed to the backend as a resources entry.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Tag};
use aws_sdk_sqs::types::QueueAttributeName;
use qsim::backend::aws::ProvisionedQueues;
use qsim::backend::aws::{AwsBackend, AwsOptions, ResourceKind, SkipReason, cleanup_with_config};
use qsim::backend::{
    Backend, BackendErrorKind, Item, OutgoingMessage, PutOutcome, QueueId, QueueRole,
    ReceiveRequest, Redrive, Status, Table,
};
use qsim::scenario::{self, QueueConfig, Scenario};
use qsim::sqs::facts::MAX_RETENTION;

use crate::moto::{Moto, moto, table_names};
use qsim::engine::{self, queue_spec};

const FIX: &str = "qsim infra tfvars > terraform/scenarios.auto.tfvars.json && terraform apply";

fn whole_seconds(duration: Duration) -> String {
    qsim::sqs::facts::whole_seconds(duration).to_string()
}

fn happy() -> Scenario {
    scenario::load(Path::new("scenarios.d/happy.toml")).expect("happy.toml loads")
}

/// What terraform/main.tf creates for a scenario with `queue`, named as it names them
/// (`qsim-NAME`, `qsim-NAME-dlq`, `qsim-NAME-status`, ...) and tagged as it tags them.
async fn provision_like_terraform(
    moto: &Moto,
    name: &str,
    queue: &QueueConfig,
) -> ProvisionedQueues {
    let sqs = moto.sqs().await;
    let suffix = if queue.attributes.fifo { ".fifo" } else { "" };
    let tag =
        |request: aws_sdk_sqs::operation::create_queue::builders::CreateQueueFluentBuilder,
         role: &str| {
            request
                .tags("qsim:managed", "true")
                .tags("qsim:provisioned-by", "terraform")
                .tags("qsim:scenario", name)
                .tags("qsim:role", role)
        };
    let fifo_attributes =
        |mut request: aws_sdk_sqs::operation::create_queue::builders::CreateQueueFluentBuilder| {
            if queue.attributes.fifo {
                request = request
                    .attributes(QueueAttributeName::FifoQueue, "true")
                    .attributes(
                        QueueAttributeName::ContentBasedDeduplication,
                        queue.attributes.content_based_dedup.to_string(),
                    );
            }
            request
        };
    let mut dlq = None;
    if queue.max_receive_count.is_some() {
        let request = sqs
            .create_queue()
            .queue_name(format!("qsim-{name}-dlq{suffix}"))
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                whole_seconds(queue.attributes.visibility_timeout),
            )
            .attributes(
                QueueAttributeName::MessageRetentionPeriod,
                whole_seconds(MAX_RETENTION),
            );
        let url = tag(fifo_attributes(request), "dlq")
            .send()
            .await
            .expect("CreateQueue dlq")
            .queue_url()
            .unwrap()
            .to_owned();
        dlq = Some((url.clone(), queue_arn(&sqs, &url).await));
    }
    let mut request = sqs
        .create_queue()
        .queue_name(format!("qsim-{name}{suffix}"))
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            whole_seconds(queue.attributes.visibility_timeout),
        )
        .attributes(
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
            whole_seconds(queue.attributes.receive_wait),
        )
        .attributes(
            QueueAttributeName::DelaySeconds,
            whole_seconds(queue.attributes.delay),
        )
        .attributes(
            QueueAttributeName::MessageRetentionPeriod,
            whole_seconds(queue.attributes.retention),
        );
    if let (Some((_, dlq_arn)), Some(count)) = (&dlq, queue.max_receive_count) {
        request = request.attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": count})
                .to_string(),
        );
    }
    let queue_url = tag(fifo_attributes(request), "main")
        .send()
        .await
        .expect("CreateQueue main")
        .queue_url()
        .unwrap()
        .to_owned();
    let queue_arn = queue_arn(&sqs, &queue_url).await;
    for table in ["status", "side-effects"] {
        create_table_like_terraform(moto, &format!("qsim-{name}-{table}"), name).await;
    }
    ProvisionedQueues {
        queue_url,
        queue_arn,
        dlq_url: dlq.as_ref().map(|(url, _)| url.clone()),
        dlq_arn: dlq.map(|(_, arn)| arn),
        status_table: format!("qsim-{name}-status"),
        side_effects_table: format!("qsim-{name}-side-effects"),
        fifo: queue.attributes.fifo,
    }
}

async fn create_table_like_terraform(moto: &Moto, table: &str, scenario: &str) {
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().unwrap();
    moto.create_pk_table(table)
        .await
        .tags(tag("qsim:managed", "true"))
        .tags(tag("qsim:provisioned-by", "terraform"))
        .tags(tag("qsim:scenario", scenario))
        .send()
        .await
        .expect("CreateTable");
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

/// Every message stored in the queue, by SQS's own (on moto exact) counts.
async fn stored(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = output.attributes().unwrap();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .map(|name| attributes[name].parse::<u64>().unwrap())
    .sum()
}

fn options(moto: &Moto, provisioned: &ProvisionedQueues) -> AwsOptions {
    AwsOptions {
        provisioned: Some(provisioned.clone()),
        ..moto.options()
    }
}

async fn send(backend: &AwsBackend, queue: QueueId, bodies: &[&str]) {
    let batch: Vec<OutgoingMessage> = bodies
        .iter()
        .enumerate()
        .map(|(index, body)| OutgoingMessage {
            entry_id: format!("e{index}"),
            body: Arc::from(*body),
            group_id: None,
            dedup_id: None,
            delay: None,
        })
        .collect();
    for outcome in backend.send(queue, &batch).await.unwrap() {
        outcome.unwrap();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_provisioned_queue_that_does_not_fit_is_an_error_naming_attribute_and_fix() {
    let moto = moto().await;
    let scenario = happy();
    let mut applied_long_ago = scenario.queue.clone();
    applied_long_ago.attributes.visibility_timeout = Duration::from_secs(30);
    applied_long_ago.max_receive_count = Some(5);
    let provisioned = provision_like_terraform(&moto, "happy", &applied_long_ago).await;
    let backend = moto
        .backend_with(&options(&moto, &provisioned), "happy")
        .await;

    // The DLQ only differs in its visibility timeout.
    let error = backend
        .create_queue(&queue_spec(&scenario.queue, QueueRole::DeadLetter, None))
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind, BackendErrorKind::Provisioned(_)),
        "{error:?}"
    );
    assert_eq!(error.resource, "qsim-happy-dlq");
    let message = error.to_string();
    assert!(
        message.contains("VisibilityTimeout expected 5, actual 30"),
        "{message}"
    );
    assert!(message.contains(FIX), "{message}");

    // The main queue, next to a DLQ that fits: visibility, and the redrive policy's count.
    let backend = moto
        .backend_with(&options(&moto, &provisioned), "happy")
        .await;
    let mut dlq_spec = queue_spec(&scenario.queue, QueueRole::DeadLetter, None);
    dlq_spec.attributes.visibility_timeout = Duration::from_secs(30);
    let dlq = backend
        .create_queue(&dlq_spec)
        .await
        .expect("this DLQ fits");
    let redrive = Redrive {
        dlq,
        max_receive_count: 3,
    };
    let error = backend
        .create_queue(&queue_spec(&scenario.queue, QueueRole::Main, Some(redrive)))
        .await
        .unwrap_err();
    assert_eq!(error.resource, "qsim-happy");
    let message = error.to_string();
    for part in [
        "VisibilityTimeout expected 5, actual 30",
        "RedrivePolicy.maxReceiveCount expected 3, actual 5",
        FIX,
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    assert!(
        !message.contains("ReceiveMessageWaitTimeSeconds"),
        "{message}"
    );
    let sqs = moto.sqs().await;
    assert!(
        queue_exists(&sqs, &provisioned.queue_url).await,
        "a misfit is reported, not repaired or replaced"
    );

    // Resources that are gone since the file was written.
    let mut gone = provisioned.clone();
    gone.queue_url = provisioned
        .queue_url
        .replace("qsim-happy", "qsim-destroyed");
    gone.dlq_url = None;
    gone.dlq_arn = None;
    let backend = moto.backend_with(&options(&moto, &gone), "happy").await;
    let error = backend
        .create_queue(&queue_spec(&scenario.queue, QueueRole::Main, None))
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind, BackendErrorKind::Provisioned(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("does not exist"), "{error}");
    let error = backend
        .create_queue(&queue_spec(&scenario.queue, QueueRole::DeadLetter, None))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("no dead-letter queue"),
        "{error}"
    );

    let mut no_table = provisioned.clone();
    no_table.side_effects_table = "qsim-happy-missing".into();
    let backend = moto.backend_with(&options(&moto, &no_table), "happy").await;
    let error = backend.create_tables().await.unwrap_err();
    assert_eq!(error.resource, "qsim-happy-missing");
    assert!(
        matches!(error.kind, BackendErrorKind::Provisioned(_)),
        "{error:?}"
    );
    assert!(error.to_string().contains("terraform apply"), "{error}");
}

async fn queue_exists(sqs: &aws_sdk_sqs::Client, url: &str) -> bool {
    sqs.get_queue_attributes()
        .queue_url(url)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "current_thread")]
async fn a_non_empty_provisioned_queue_is_purged_before_the_run_without_waiting_on_moto() {
    let moto = moto().await;
    let scenario = happy();
    let provisioned = provision_like_terraform(&moto, "happy", &scenario.queue).await;
    let sqs = moto.sqs().await;
    // Left over by someone: visible, in flight and delayed messages, and one in the DLQ.
    for body in ["visible", "in-flight"] {
        sqs.send_message()
            .queue_url(&provisioned.queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let taken = sqs
        .receive_message()
        .queue_url(&provisioned.queue_url)
        .visibility_timeout(600)
        .send()
        .await
        .unwrap();
    assert_eq!(taken.messages().len(), 1);
    sqs.send_message()
        .queue_url(&provisioned.queue_url)
        .message_body("delayed")
        .delay_seconds(600)
        .send()
        .await
        .unwrap();
    let dlq_url = provisioned.dlq_url.clone().unwrap();
    sqs.send_message()
        .queue_url(&dlq_url)
        .message_body("dead")
        .send()
        .await
        .unwrap();
    assert_eq!(stored(&sqs, &provisioned.queue_url).await, 3);

    let backend = moto
        .backend_with(&options(&moto, &provisioned), "happy")
        .await;
    let started = Instant::now();
    let (main, dlq) = engine::provision(&scenario.queue, &backend)
        .await
        .expect("the provisioned resources fit");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no 60 s purge wait on an endpoint without AsyncPurge: {:?}",
        started.elapsed()
    );
    assert_eq!(stored(&sqs, &provisioned.queue_url).await, 0);
    assert_eq!(stored(&sqs, &dlq_url).await, 0);
    assert_eq!(
        backend.queue_url(main).as_deref(),
        Some(provisioned.queue_url.as_str())
    );
    assert_eq!(backend.queue_url(dlq.unwrap()), provisioned.dlq_url);
    let calls = backend.api_calls();
    assert_eq!(calls.get("PurgeQueue"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("GetQueueAttributes"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("DescribeTable"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("CreateQueue"), None, "{calls:?}");
    assert_eq!(calls.get("CreateTable"), None, "{calls:?}");

    // The run works on them; a second run finds them empty and purges nothing.
    send(&backend, main, &["fresh"]).await;
    let received = backend
        .receive(
            main,
            ReceiveRequest {
                max: 10,
                wait: Duration::from_secs(1),
                visibility: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        &*received[0].body, "fresh",
        "nothing of the leftovers survived"
    );
    backend
        .delete(main, &[received[0].receipt.clone()])
        .await
        .unwrap();
    backend.teardown().await.unwrap();

    let again = moto
        .backend_with(&options(&moto, &provisioned), "happy")
        .await;
    engine::provision(&scenario.queue, &again)
        .await
        .expect("the provisioned resources fit");
    assert_eq!(again.api_calls().get("PurgeQueue"), None);
    again.teardown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_whole_run_on_provisioned_resources_leaves_them_in_place_and_empty() {
    let moto = moto().await;
    let scenario = Rc::new(happy());
    let provisioned = provision_like_terraform(&moto, "happy", &scenario.queue).await;
    let backend = Rc::new(
        moto.backend_with(&options(&moto, &provisioned), "happy")
            .await,
    );
    let outcome = tokio::task::LocalSet::new()
        .run_until(engine::run(
            scenario.clone(),
            backend.clone(),
            scenario.seed,
            None,
            engine::Limits::default(),
        ))
        .await
        .expect("happy runs on provisioned resources");
    let verdict = qsim::check::check(&scenario, &outcome);
    assert!(verdict.passed(), "{verdict:?}");
    assert_eq!(outcome.final_state.status.len(), 5);
    assert!(
        outcome
            .final_state
            .status
            .keys()
            .all(|key| !key.contains('#')),
        "the engine sees its own keys: {:?}",
        outcome.final_state.status
    );

    let sqs = moto.sqs().await;
    for url in [
        &provisioned.queue_url,
        provisioned.dlq_url.as_ref().unwrap(),
    ] {
        assert!(queue_exists(&sqs, url).await, "{url} kept");
        assert_eq!(stored(&sqs, url).await, 0, "{url} empty");
    }
    let dynamodb = moto.dynamodb().await;
    let tables = table_names(&dynamodb).await;
    assert_eq!(tables, ["qsim-happy-side-effects", "qsim-happy-status"]);
    let calls = backend.api_calls();
    for deleting in ["DeleteQueue", "DeleteTable", "CreateQueue", "CreateTable"] {
        assert_eq!(calls.get(deleting), None, "{deleting}: {calls:?}");
    }
    // remaining() found everything, so teardown deleted exactly that: no purge needed.
    assert_eq!(calls.get("PurgeQueue"), None, "{calls:?}");
    let stored_keys = raw_keys(&dynamodb, "qsim-happy-status").await;
    assert_eq!(stored_keys.len(), 5);
    let prefix = format!("{}#", backend.run_id());
    assert!(
        stored_keys.iter().all(|key| key.starts_with(&prefix)),
        "{stored_keys:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn teardown_empties_what_a_failed_run_left_in_flight_and_can_run_twice() {
    let moto = moto().await;
    let scenario = happy();
    let provisioned = provision_like_terraform(&moto, "happy", &scenario.queue).await;
    let backend = moto
        .backend_with(&options(&moto, &provisioned), "happy")
        .await;
    let (main, _) = engine::provision(&scenario.queue, &backend)
        .await
        .expect("the provisioned resources fit");
    send(&backend, main, &["a", "b", "c"]).await;
    let taken = backend
        .receive(
            main,
            ReceiveRequest {
                max: 1,
                wait: Duration::from_secs(1),
                visibility: Some(Duration::from_secs(600)),
            },
        )
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let sqs = moto.sqs().await;
    assert_eq!(stored(&sqs, &provisioned.queue_url).await, 3);

    // The run stops here, without remaining(): teardown cannot know what else is stored.
    backend.teardown().await.unwrap();
    assert_eq!(stored(&sqs, &provisioned.queue_url).await, 0);
    assert!(queue_exists(&sqs, &provisioned.queue_url).await);
    let calls = backend.api_calls();
    assert_eq!(calls.get("PurgeQueue"), Some(&1), "{calls:?}");
    assert_eq!(
        calls.get("DeleteMessageBatch"),
        Some(&1),
        "the in-flight one: {calls:?}"
    );

    backend.teardown().await.unwrap();
    assert_eq!(
        backend.api_calls(),
        calls,
        "a second teardown has nothing left to do"
    );

    // --keep leaves the messages for inspection; the next run purges them.
    let kept = moto
        .backend_with(
            &AwsOptions {
                keep: true,
                ..options(&moto, &provisioned)
            },
            "happy",
        )
        .await;
    let (main, _) = engine::provision(&scenario.queue, &kept)
        .await
        .expect("the provisioned resources fit");
    send(&kept, main, &["kept"]).await;
    kept.teardown().await.unwrap();
    assert_eq!(stored(&sqs, &provisioned.queue_url).await, 1);
    assert!(queue_exists(&sqs, &provisioned.queue_url).await);
}

async fn raw_keys(dynamodb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let output = dynamodb.scan().table_name(table).send().await.unwrap();
    let mut keys: Vec<String> = output
        .items()
        .iter()
        .map(|item| match &item["pk"] {
            AttributeValue::S(key) => key.clone(),
            other => panic!("pk is not a string: {other:?}"),
        })
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "current_thread")]
async fn item_keys_of_two_runs_on_shared_tables_do_not_mix() {
    let moto = moto().await;
    let scenario = happy();
    let provisioned = provision_like_terraform(&moto, "happy", &scenario.queue).await;
    let first = moto
        .backend_with(&options(&moto, &provisioned), "happy")
        .await;
    let second = moto
        .backend_with(&options(&moto, &provisioned), "happy")
        .await;
    engine::provision(&scenario.queue, &first)
        .await
        .expect("the provisioned resources fit");
    engine::provision(&scenario.queue, &second)
        .await
        .expect("the provisioned resources fit");
    assert_ne!(first.run_id(), second.run_id());

    let item = |count| Item {
        status: Some(Status::Completed),
        count,
        ..Item::default()
    };
    for (backend, count) in [(&first, 1), (&second, 2)] {
        let created = backend
            .put_if_absent(Table::Status, "msg-1", &item(count))
            .await
            .unwrap();
        assert_eq!(
            created,
            PutOutcome::Created,
            "the other run's msg-1 is not this one's"
        );
    }
    first
        .put_if_absent(Table::Status, "msg-2", &item(3))
        .await
        .unwrap();
    assert_eq!(
        first
            .put_if_absent(Table::Status, "msg-1", &item(9))
            .await
            .unwrap(),
        PutOutcome::Exists(item(1))
    );

    assert_eq!(
        first.get(Table::Status, "msg-1").await.unwrap(),
        Some(item(1))
    );
    assert_eq!(
        second.get(Table::Status, "msg-1").await.unwrap(),
        Some(item(2))
    );
    assert_eq!(second.get(Table::Status, "msg-2").await.unwrap(), None);
    assert_eq!(
        first.scan(Table::Status).await.unwrap(),
        [("msg-1".to_owned(), item(1)), ("msg-2".to_owned(), item(3))]
    );
    assert_eq!(
        second.scan(Table::Status).await.unwrap(),
        [("msg-1".to_owned(), item(2))]
    );
    assert_eq!(first.scan(Table::SideEffects).await.unwrap(), []);

    assert_eq!(
        first.stored_key("msg-1"),
        format!("{}#msg-1", first.run_id())
    );
    let mut expected = vec![
        first.stored_key("msg-1"),
        first.stored_key("msg-2"),
        second.stored_key("msg-1"),
    ];
    expected.sort();
    assert_eq!(
        raw_keys(&moto.dynamodb().await, "qsim-happy-status").await,
        expected
    );

    for backend in [&first, &second] {
        backend.teardown().await.unwrap();
    }
    assert_eq!(
        raw_keys(&moto.dynamodb().await, "qsim-happy-status")
            .await
            .len(),
        3,
        "items are kept, not deleted"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn cleanup_skips_terraform_provisioned_resources() {
    let moto = moto().await;
    let scenario = happy();
    let provisioned = provision_like_terraform(&moto, "happy", &scenario.queue).await;

    // A per-run leftover next to them, which cleanup does delete.
    let leftover = moto
        .backend_with(
            &AwsOptions {
                keep: true,
                ..moto.options()
            },
            "leftover",
        )
        .await;
    leftover
        .create_queue(&queue_spec(&scenario.queue, QueueRole::Main, None))
        .await
        .unwrap();
    leftover.teardown().await.unwrap();

    let config = moto.sdk_config(&moto.options()).await;
    let report = cleanup_with_config(&config, false).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let deleted: Vec<&str> = report.deleted.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(deleted, [format!("{}-main", leftover.prefix())]);
    let skipped: BTreeMap<(ResourceKind, &str), SkipReason> = report
        .skipped
        .iter()
        .map(|s| ((s.resource.kind, s.resource.name.as_str()), s.reason))
        .collect();
    let terraform = SkipReason::ProvisionedByTerraform;
    assert_eq!(
        skipped,
        BTreeMap::from([
            ((ResourceKind::Queue, "qsim-happy"), terraform),
            ((ResourceKind::Queue, "qsim-happy-dlq"), terraform),
            ((ResourceKind::Table, "qsim-happy-side-effects"), terraform),
            ((ResourceKind::Table, "qsim-happy-status"), terraform),
        ])
    );
    let sqs = moto.sqs().await;
    for url in [
        &provisioned.queue_url,
        provisioned.dlq_url.as_ref().unwrap(),
    ] {
        assert!(queue_exists(&sqs, url).await, "{url} kept");
    }
    let tables = moto.dynamodb().await.list_tables().send().await.unwrap();
    assert_eq!(tables.table_names().len(), 2);
}
