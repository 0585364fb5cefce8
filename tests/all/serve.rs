//! `qsim serve` spoken to by real clients: aws-sdk-sqs (the protocol, its typed errors, long
//! polls that do not hold up other connections), qsim's own AWS backend (what `--backend aws
//! --endpoint-url` does against a server), the server-side history, and the `qsim serve`
//! command itself (its lines, SIGTERM).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use qsim::backend::aws::{AwsBackend, AwsOptions};
use qsim::backend::{
    Backend, BackendErrorKind, OutgoingMessage, QueueAttributes, QueueRole, QueueSpec,
    ReceiveRequest, Redrive,
};
use qsim::serve::{ServeOptions, ServerHandle, spawn};
use qsim::sqs::envelope::Profile;

/// A server on a free port with the ideal profile (no latitude taken, so each answer is the
/// documented one).
fn ideal_server(events: Option<std::path::PathBuf>) -> ServerHandle {
    spawn(ServeOptions {
        port: None,
        envelope: None,
        profile: Profile::Ideal,
        seed: 7,
        events,
        tap: None,
        faults: Vec::new(),
    })
    .expect("the server starts")
}

fn options(server: &ServerHandle) -> AwsOptions {
    AwsOptions {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(server.endpoint_url()),
        keep: false,
        provisioned: None,
        max_send_rate: None,
        attach: false,
    }
}

/// The SDK's configuration for `server`, signing with the access key id `key` (the served
/// simulator names a caller signing as `qsim.NAME`), with the SDK's retries or without.
async fn config_signing_as(
    server: &ServerHandle,
    key: &'static str,
    retries: bool,
) -> aws_config::SdkConfig {
    let credentials = Credentials::new(key, "secret", None, None, "qsim-serve-tests");
    let mut loader = options(server)
        .config_loader()
        .credentials_provider(credentials);
    if !retries {
        loader = loader.retry_config(aws_config::retry::RetryConfig::disabled());
    }
    loader.load().await
}

async fn sdk_config(server: &ServerHandle) -> aws_config::SdkConfig {
    config_signing_as(server, "any", true).await
}

async fn sqs(server: &ServerHandle) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(server).await)
}

async fn create(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    for (attribute, value) in attributes {
        request = request.attributes(attribute.clone(), *value);
    }
    request
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .unwrap()
        .to_owned()
}

async fn attributes(sqs: &aws_sdk_sqs::Client, url: &str) -> BTreeMap<String, String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn queues_are_created_idempotently_found_listed_tagged_and_deleted() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let url = create(
        &sqs,
        "orders",
        &[(QueueAttributeName::VisibilityTimeout, "7")],
    )
    .await;
    assert_eq!(
        url,
        format!("{}/000000000000/orders", server.endpoint_url())
    );
    let again = create(
        &sqs,
        "orders",
        &[(QueueAttributeName::VisibilityTimeout, "7")],
    )
    .await;
    assert_eq!(again, url, "the same attributes: the same queue");
    let clash = sqs
        .create_queue()
        .queue_name("orders")
        .attributes(QueueAttributeName::VisibilityTimeout, "8")
        .send()
        .await
        .unwrap_err();
    assert!(
        clash.as_service_error().unwrap().is_queue_name_exists(),
        "{clash:?}"
    );

    create(&sqs, "other", &[]).await;
    let found = sqs
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(url.as_str()));
    let listed = sqs
        .list_queues()
        .queue_name_prefix("or")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queue_urls(), std::slice::from_ref(&url));
    let first_page = sqs.list_queues().max_results(1).send().await.unwrap();
    assert_eq!(first_page.queue_urls().len(), 1);
    let rest = sqs
        .list_queues()
        .max_results(1)
        .next_token(first_page.next_token().expect("a second page"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.queue_urls().len(), 1);
    assert_ne!(rest.queue_urls(), first_page.queue_urls());
    assert!(rest.next_token().is_none());

    let read = attributes(&sqs, &url).await;
    assert_eq!(read["VisibilityTimeout"], "7");
    assert_eq!(
        read["QueueArn"],
        "arn:aws:sqs:us-east-1:000000000000:orders"
    );
    assert_eq!(read["ApproximateNumberOfMessages"], "0");
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DelaySeconds, "3")
        .send()
        .await
        .unwrap();
    assert_eq!(attributes(&sqs, &url).await["DelaySeconds"], "3");
    let out_of_range = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DelaySeconds, "901")
        .send()
        .await
        .unwrap_err();
    assert!(
        out_of_range
            .as_service_error()
            .unwrap()
            .is_invalid_attribute_value()
    );

    sqs.tag_queue()
        .queue_url(&url)
        .tags("team", "payments")
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    sqs.untag_queue()
        .queue_url(&url)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert_eq!(
        tags.tags().cloned().unwrap_or_default(),
        [("team".to_owned(), "payments".to_owned())].into()
    );

    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let gone = sqs
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error().unwrap().is_queue_does_not_exist(),
        "{gone:?}"
    );
    let send_to_gone = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        send_to_gone
            .as_service_error()
            .unwrap()
            .is_queue_does_not_exist()
    );
    server.stop().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn messages_go_round_with_their_attributes_counts_and_digests() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let url = create(&sqs, "work", &[]).await;
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .message_attributes(
            "trace",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("t-1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let message = &received.messages()[0];
    assert_eq!(message.message_id(), sent.message_id());
    assert_eq!(message.md5_of_body(), sent.md5_of_message_body());
    assert_eq!(
        message.md5_of_message_attributes(),
        sent.md5_of_message_attributes()
    );
    assert_eq!(
        message.message_attributes().unwrap()["trace"].string_value(),
        Some("t-1")
    );
    let system = message.attributes().unwrap();
    assert_eq!(
        system[&MessageSystemAttributeName::ApproximateReceiveCount],
        "1"
    );
    assert!(system.contains_key(&MessageSystemAttributeName::SentTimestamp));

    // Visible again at once (a 0 s visibility): the second receive counts two.
    let again = sqs
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    let again = &again.messages()[0];
    assert_eq!(
        again.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount],
        "2"
    );
    let stale = message.receipt_handle().unwrap();
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(again.receipt_handle().unwrap())
        .visibility_timeout(60)
        .send()
        .await
        .unwrap();
    let depth = attributes(&sqs, &url).await;
    assert_eq!(depth["ApproximateNumberOfMessagesNotVisible"], "1");
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(again.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let changed_gone = sqs
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(stale)
        .visibility_timeout(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sqs::error::ProvideErrorMetadata::code(&changed_gone),
        Some("InvalidParameterValue"),
        "{changed_gone:?}"
    );
    let forged = sqs
        .delete_message()
        .queue_url(&url)
        .receipt_handle("forged")
        .send()
        .await
        .unwrap_err();
    assert!(
        forged
            .as_service_error()
            .unwrap()
            .is_receipt_handle_is_invalid(),
        "{forged:?}"
    );
    assert_eq!(
        attributes(&sqs, &url).await["ApproximateNumberOfMessages"],
        "0"
    );
    server.stop().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn batches_keep_their_limits_and_answer_per_entry() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let url = create(&sqs, "batches", &[]).await;
    let entry = |id: &str| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(format!("body {id}"))
            .build()
            .unwrap()
    };
    let eleven: Vec<_> = (0..11).map(|i| entry(&format!("e{i}"))).collect();
    let too_many = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(eleven.clone()))
        .send()
        .await
        .unwrap_err();
    assert!(
        too_many
            .as_service_error()
            .unwrap()
            .is_too_many_entries_in_batch_request(),
        "{too_many:?}"
    );
    let twins = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a"))
        .entries(entry("a"))
        .send()
        .await
        .unwrap_err();
    assert!(
        twins
            .as_service_error()
            .unwrap()
            .is_batch_entry_ids_not_distinct()
    );
    let sent = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(eleven[..10].to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.successful().len(), 10);
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut entries: Vec<_> = received
        .messages()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    assert!(!entries.is_empty());
    // A batch holds ten: the forged receipt takes the last received message's place.
    entries.truncate(9);
    entries.push(
        aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
            .id("forged")
            .receipt_handle("forged")
            .build()
            .unwrap(),
    );
    let deleted = sqs
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.successful().len(), entries.len() - 1);
    assert_eq!(deleted.failed().len(), 1);
    assert_eq!(deleted.failed()[0].id(), "forged");
    assert_eq!(deleted.failed()[0].code(), "ReceiptHandleIsInvalid");
    server.stop().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn fifo_queues_deduplicate_and_keep_group_order() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let url = create(
        &sqs,
        "orders.fifo",
        &[
            (QueueAttributeName::FifoQueue, "true"),
            (QueueAttributeName::ContentBasedDeduplication, "true"),
        ],
    )
    .await;
    let mut ids = Vec::new();
    for body in ["first", "second", "first"] {
        let sent = sqs
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .message_group_id("g")
            .send()
            .await
            .unwrap();
        assert!(sent.sequence_number().is_some());
        ids.push(sent.message_id().unwrap().to_owned());
    }
    assert_eq!(
        ids[2], ids[0],
        "the duplicate is answered with the original's id"
    );
    let no_group = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sqs::error::ProvideErrorMetadata::code(&no_group),
        Some("MissingParameter")
    );
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let bodies: Vec<_> = received
        .messages()
        .iter()
        .map(|m| m.body().unwrap())
        .collect();
    assert_eq!(bodies, ["first", "second"]);
    let first = received.messages()[0].attributes().unwrap();
    assert_eq!(first[&MessageSystemAttributeName::MessageGroupId], "g");
    assert!(first.contains_key(&MessageSystemAttributeName::MessageDeduplicationId));
    let mismatched = sqs
        .create_queue()
        .queue_name("plain.fifo")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sqs::error::ProvideErrorMetadata::code(&mismatched),
        Some("InvalidParameterValue")
    );
    server.stop().unwrap();
}

/// A long poll waits inside the server while other connections are served: the send on a
/// second connection reaches the waiting receive, which returns it.
#[tokio::test(flavor = "current_thread")]
async fn a_long_poll_does_not_hold_up_other_connections() {
    let server = ideal_server(None);
    let poller = sqs(&server).await;
    let sender = sqs(&server).await;
    let url = create(&poller, "polled", &[]).await;
    let poll = poller
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(20)
        .send();
    let send = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sender
            .send_message()
            .queue_url(&url)
            .message_body("woke")
            .send()
            .await
            .unwrap();
    };
    let (polled, ()) = tokio::join!(poll, send);
    let polled = polled.unwrap();
    assert_eq!(polled.messages().len(), 1);
    assert_eq!(polled.messages()[0].body(), Some("woke"));
    server.stop().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn redrive_purge_and_move_tasks_behave_as_documented() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let dlq = create(&sqs, "dead", &[]).await;
    let dlq_arn = attributes(&sqs, &dlq).await["QueueArn"].clone();
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#);
    let url = create(
        &sqs,
        "source",
        &[
            (QueueAttributeName::RedrivePolicy, &policy),
            (QueueAttributeName::VisibilityTimeout, "0"),
        ],
    )
    .await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    let first = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(first.messages().len(), 1);
    let second = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert!(
        second.messages().is_empty(),
        "received once: the next receive redrives it"
    );
    assert_eq!(
        attributes(&sqs, &dlq).await["ApproximateNumberOfMessages"],
        "1"
    );

    let task = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert!(task.task_handle().is_some());
    let moved = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        moved.messages()[0].body(),
        Some("poison"),
        "moved back to its source"
    );
    let tasks = sqs
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tasks.results()[0].status(), Some("COMPLETED"));
    let not_a_dlq = sqs
        .start_message_move_task()
        .source_arn(dlq_arn.replace("dead", "source"))
        .send()
        .await;
    assert!(not_a_dlq.is_err());

    sqs.purge_queue().queue_url(&url).send().await.unwrap();
    let twice = sqs.purge_queue().queue_url(&url).send().await.unwrap_err();
    assert!(
        twice
            .as_service_error()
            .unwrap()
            .is_purge_queue_in_progress(),
        "{twice:?}"
    );
    server.stop().unwrap();
}

/// qsim's AWS backend, as `--backend aws --endpoint-url` uses it, against the server: queues
/// with a redrive policy, the message calls, the depth and a purge refused within its window.
#[tokio::test(flavor = "current_thread")]
async fn the_aws_backend_runs_its_queue_calls_against_the_server() {
    let server = ideal_server(None);
    let config = sdk_config(&server).await;
    let backend = AwsBackend::from_sdk_config(&config, &options(&server), "Serve Test").unwrap();
    let spec = |role| QueueSpec {
        role,
        attributes: QueueAttributes::default(),
        redrive: None,
        sim: qsim::sqs::envelope::Envelope::IDEAL,
    };
    let dlq = backend
        .create_queue(&spec(QueueRole::DeadLetter))
        .await
        .unwrap();
    let mut main = spec(QueueRole::Main);
    main.redrive = Some(Redrive {
        dlq,
        max_receive_count: 2,
    });
    let main = backend.create_queue(&main).await.unwrap();
    let batch: Vec<_> = (0..3)
        .map(|i| OutgoingMessage {
            entry_id: format!("e{i}"),
            body: Arc::from(format!(r#"{{"id":"m-{i}"}}"#)),
            group_id: None,
            dedup_id: None,
            delay: None,
        })
        .collect();
    for sent in backend.send(main, &batch).await.unwrap() {
        sent.unwrap();
    }
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
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|m| m.receive_count == 1));
    backend
        .change_visibility(main, &received[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let receipts: Vec<_> = received[1..].iter().map(|m| m.receipt.clone()).collect();
    for deleted in backend.delete(main, &receipts).await.unwrap() {
        deleted.unwrap();
    }
    let depth = backend.depth(main).await.unwrap();
    assert_eq!((depth.visible, depth.in_flight), (1, 0));
    backend.purge(main).await.unwrap();
    let refused = backend.purge(main).await.unwrap_err();
    assert_eq!(refused.kind, BackendErrorKind::PurgeInProgress);
    backend.teardown().await.unwrap();
    server.stop().unwrap();
}

/// The history names every call, each message by qsim's id and SQS's, and the queue's own
/// transitions under the engine's event names.
#[tokio::test(flavor = "current_thread")]
async fn the_history_records_calls_messages_and_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.jsonl");
    let server = ideal_server(Some(path.clone()));
    let sqs = sqs(&server).await;
    let url = create(&sqs, "recorded", &[]).await;
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"id":"orders-0001","seq":1}"#)
        .send()
        .await
        .unwrap();
    // Visible again a second after the first receive: the second one's long poll waits for it.
    // (A 0 s timeout would expire at the receive's own instant, which the history cannot
    // order after the receive's line.)
    let first = sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(1)
        .send()
        .await
        .unwrap();
    let again = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    // The first receive's receipt, superseded: OK, and (profile ideal) nothing deleted.
    for receipt in [&first, &again].map(|r| r.messages()[0].receipt_handle().unwrap()) {
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(receipt)
            .send()
            .await
            .unwrap();
    }
    let _ = sqs.get_queue_url().queue_name("missing").send().await;
    server.stop().unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["format"], "qsim-events");
    assert_eq!(lines.last().unwrap()["event"], "server-stopped");
    assert_eq!(
        calls_with(&lines, "error"),
        [
            ("AmazonSQS.CreateQueue", None),
            ("AmazonSQS.SendMessage", None),
            ("AmazonSQS.ReceiveMessage", None),
            ("AmazonSQS.ReceiveMessage", None),
            ("AmazonSQS.DeleteMessage", None),
            ("AmazonSQS.DeleteMessage", None),
            ("AmazonSQS.GetQueueUrl", Some("QueueDoesNotExist")),
        ]
    );
    let stale = lines
        .iter()
        .find(|l| l["event"] == "stale-receipt")
        .unwrap();
    assert_eq!(
        (&stale["operation"], &stale["acted"], &stale["actor"]),
        (
            &serde_json::json!("delete"),
            &serde_json::json!(false),
            &serde_json::json!("queue:recorded")
        )
    );
    let of_message: Vec<&str> = lines
        .iter()
        .filter(|l| l["message"] == "orders-0001")
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        of_message,
        [
            "sent",
            "received",
            "visibility-expired",
            "received",
            "stale-receipt",
            "deleted",
            "deleted"
        ]
    );
    let times: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l["t_ms"].as_f64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "in time order: {times:?}"
    );
    let sent_line = lines.iter().find(|l| l["event"] == "sent").unwrap();
    assert_eq!(sent_line["sqs_message_id"].as_str(), sent.message_id());
    assert_eq!(sent_line["actor"], "queue:recorded");
}

/// A client signing with the access key id `key`, without retries: each call's own answer
/// (or its absence) is what the test sees.
async fn sqs_signing_as(server: &ServerHandle, key: &'static str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&config_signing_as(server, key, false).await)
}

/// Each `call` line's operation, with its field `field` (`error`, `caller`).
fn calls_with<'a>(lines: &'a [serde_json::Value], field: &str) -> Vec<(&'a str, Option<&'a str>)> {
    lines
        .iter()
        .filter(|l| l["event"] == "call")
        .map(|l| (l["operation"].as_str().unwrap(), l[field].as_str()))
        .collect()
}

/// A client signing as `qsim.NAME` is NAME in the history: its calls carry `caller`, the
/// messages it received and deleted are its lines. A client with any other key is not named,
/// and its key is written nowhere. The tap sees the same lines, while the server runs.
#[tokio::test(flavor = "current_thread")]
async fn callers_signing_as_qsim_names_are_named_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.jsonl");
    let tap = qsim::serve::HistoryTap::default();
    let server = spawn(ServeOptions {
        port: None,
        envelope: None,
        profile: Profile::Ideal,
        seed: 7,
        events: Some(path.clone()),
        tap: Some(tap.clone()),
        faults: Vec::new(),
    })
    .unwrap();
    let anonymous = sqs_signing_as(&server, "AKIDEXAMPLEKEY").await;
    let alice = sqs_signing_as(&server, "qsim.alice").await;
    let url = create(&anonymous, "named", &[]).await;
    anonymous
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"id":"orders-0001","seq":1}"#)
        .send()
        .await
        .unwrap();
    let received = alice
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    alice
        .delete_message()
        .queue_url(&url)
        .receipt_handle(received.messages()[0].receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let origin = std::time::Instant::now();
    let tapped = tap.lines_since(origin);
    server.stop().unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("AKIDEXAMPLEKEY"), "{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_message: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["message"] == "orders-0001")
        .map(|l| (l["event"].as_str().unwrap(), l["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        of_message,
        [
            ("sent", "queue:named"),
            ("received", "alice"),
            ("deleted", "alice")
        ]
    );
    assert_eq!(
        calls_with(&lines, "caller"),
        [
            ("AmazonSQS.CreateQueue", None),
            ("AmazonSQS.SendMessage", None),
            ("AmazonSQS.ReceiveMessage", Some("alice")),
            ("AmazonSQS.DeleteMessage", Some("alice")),
        ]
    );
    // What a named caller's calls bill (one message, far below 64 KiB: one request each).
    let billed: Vec<Option<u64>> = lines
        .iter()
        .filter(|l| l["event"] == "call")
        .map(|l| l["billed"].as_u64())
        .collect();
    assert_eq!(billed, [None, None, Some(1), Some(1)]);
    // The tap held the same lines (but the last, written at the stop), counted from `origin`:
    // all of them came before it.
    let tapped_events: Vec<&str> = tapped
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    let written_events: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert_eq!(tapped_events, written_events);
    assert!(
        tapped.iter().all(|l| l["t_ms"].as_f64().unwrap() <= 0.0),
        "{tapped:#?}"
    );
}

/// A scenario's `[[faults]]` strike the calls of named callers only, as SQS would answer them:
/// a throttle is RequestThrottled, an error a 500, a `timeout_after` receive takes the message
/// and drops the connection, so the message is in flight unseen until its visibility runs out.
/// Each is a `fault` line of the caller's.
#[tokio::test(flavor = "current_thread")]
async fn faults_strike_named_callers_only() {
    use qsim::backend::faults::{ApiOperation, FaultKind, FaultRule, FaultScope, FaultTrigger};
    let rule = |operation, kind, nth| FaultRule {
        operation: Some(operation),
        kind,
        trigger: FaultTrigger::Nth(nth),
        scope: FaultScope::Call,
        delay: Duration::ZERO,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.jsonl");
    let server = spawn(ServeOptions {
        port: None,
        envelope: None,
        profile: Profile::Ideal,
        seed: 7,
        events: Some(path.clone()),
        tap: None,
        faults: vec![
            rule(ApiOperation::Receive, FaultKind::Throttle, 1),
            rule(ApiOperation::Receive, FaultKind::TimeoutAfter, 2),
            rule(ApiOperation::Delete, FaultKind::Error, 1),
        ],
    })
    .unwrap();
    let anonymous = sqs_signing_as(&server, "AKIDEXAMPLEKEY").await;
    let alice = sqs_signing_as(&server, "qsim.alice").await;
    let url = create(&anonymous, "struck", &[]).await;
    // Not named: never struck, whatever the rules count.
    let empty = anonymous
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(empty.messages().is_empty());
    anonymous
        .send_message()
        .queue_url(&url)
        .message_body(r#"{"id":"orders-0001","seq":1}"#)
        .send()
        .await
        .unwrap();
    let receive = || {
        alice
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(3)
    };
    let throttled = receive().send().await.unwrap_err();
    assert_eq!(
        throttled.as_service_error().and_then(|e| e.meta().code()),
        Some("RequestThrottled"),
        "{throttled:?}"
    );
    let lost = receive().send().await.unwrap_err();
    assert!(
        lost.as_service_error().is_none(),
        "no answer at all: {lost:?}"
    );
    let held = attributes(&anonymous, &url).await;
    assert_eq!(
        held["ApproximateNumberOfMessagesNotVisible"], "1",
        "{held:?}"
    );
    let again = receive().wait_time_seconds(5).send().await.unwrap();
    let message = &again.messages()[0];
    let delete = || {
        alice
            .delete_message()
            .queue_url(&url)
            .receipt_handle(message.receipt_handle().unwrap())
    };
    let failed = delete().send().await.unwrap_err();
    assert_eq!(
        failed.raw_response().map(|r| r.status().as_u16()),
        Some(500),
        "{failed:?}"
    );
    delete().send().await.unwrap();
    server.stop().unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let faults: Vec<(String, String, String, Option<String>)> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == "fault")
        .map(|l| {
            let field = |name: &str| l[name].as_str().unwrap().to_owned();
            (
                field("actor"),
                field("operation"),
                field("fault"),
                l["message"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let alice_s = |operation: &str, fault: &str, message: Option<&str>| {
        (
            "alice".to_owned(),
            operation.to_owned(),
            fault.to_owned(),
            message.map(str::to_owned),
        )
    };
    assert_eq!(
        faults,
        [
            alice_s("receive", "throttle", None),
            alice_s("receive", "timeout_after", Some("orders-0001")),
            alice_s("delete", "error", None),
        ]
    );
}

/// `qsim serve` prints its endpoint and how to use it, serves, and stops on SIGTERM with its
/// history written.
#[test]
fn the_serve_command_prints_its_endpoint_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args(["serve", "--profile", "ideal", "--events"])
        .arg(&events)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let mut second = String::new();
    stdout.read_line(&mut second).unwrap();
    let endpoint = first
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no endpoint in {first:?}"))
        .to_owned();
    assert!(
        second.contains(&format!("AWS_ENDPOINT_URL={endpoint}")),
        "{second}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(Credentials::new("any", "thing", None, None, "test"))
            .load()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        sqs.create_queue()
            .queue_name("from-cli")
            .send()
            .await
            .unwrap();
    });
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let history = std::fs::read_to_string(&events).unwrap();
    assert!(history.contains("AmazonSQS.CreateQueue"), "{history}");
    assert!(
        history
            .trim_end()
            .ends_with(r#""event":"server-stopped","t_ms":"#)
            || history.contains("server-stopped")
    );
}

/// One raw HTTP/1.1 exchange with the server: the status line, the headers (lower-cased) and
/// the body.
fn raw(server: &ServerHandle, target: Option<&str>, body: &str) -> (String, Vec<String>, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    let target = target.map_or(String::new(), |t| format!("X-Amz-Target: {t}\r\n"));
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n{target}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().to_owned();
    let headers = lines.map(str::to_ascii_lowercase).collect();
    (status, headers, body.to_owned())
}

/// The error shapes of both protocols on the wire: SQS's `__type` with its namespace and the
/// legacy code in `x-amzn-query-error`; DynamoDB's namespace and no query header; a body that
/// is not JSON and a request without a target.
#[test]
fn errors_have_each_protocols_shape_on_the_wire() {
    let server = ideal_server(None);
    let (status, headers, body) = raw(
        &server,
        Some("AmazonSQS.GetQueueUrl"),
        r#"{"QueueName":"missing"}"#,
    );
    assert!(status.contains(" 400 "), "{status}");
    assert!(
        headers.contains(
            &"x-amzn-query-error: aws.simplequeueservice.nonexistentqueue;sender".to_owned()
        ),
        "{headers:?}"
    );
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
    assert_eq!(error["message"], "The specified queue does not exist.");

    let (status, headers, body) = raw(&server, Some("DynamoDB_20120810.NoSuchOperation"), "{}");
    assert!(status.contains(" 400 "), "{status}");
    assert!(
        !headers.iter().any(|h| h.starts_with("x-amzn-query-error")),
        "{headers:?}"
    );
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        error["__type"]
            .as_str()
            .unwrap()
            .starts_with("com.amazonaws.dynamodb.v20120810#"),
        "{body}"
    );

    let (_, _, body) = raw(&server, Some("AmazonSQS.ListQueues"), "{not json");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["__type"], "com.amazonaws.sqs#SerializationException");
    let (status, _, _) = raw(&server, None, "{}");
    assert!(status.contains(" 400 "), "{status}");
    server.stop().unwrap();
}

/// SetQueueAttributes changes behaviour, not only what is read back: with a 0 s visibility
/// timeout a received message is visible again at once.
#[tokio::test(flavor = "current_thread")]
async fn changed_attributes_take_effect() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let url = create(&sqs, "changing", &[]).await;
    sqs.send_message()
        .queue_url(&url)
        .message_body("m")
        .send()
        .await
        .unwrap();
    let first = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(first.messages().len(), 1);
    let hidden = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert!(
        hidden.messages().is_empty(),
        "in flight for the default 30 s"
    );
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(first.messages()[0].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .send()
        .await
        .unwrap();
    for expected_count in ["2", "3"] {
        let again = sqs
            .receive_message()
            .queue_url(&url)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let message = &again.messages()[0];
        assert_eq!(
            message.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount],
            expected_count
        );
    }
    server.stop().unwrap();
}

/// DeduplicationScope and FifoThroughputLimit through the SDK: refused on a standard queue and
/// in SQS's forbidden combination, read back as set, and a change to the group scope makes one
/// id in two groups two messages.
#[tokio::test(flavor = "current_thread")]
async fn the_deduplication_scope_is_validated_reported_and_takes_effect() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let code =
        |error: &dyn aws_sdk_sqs::error::ProvideErrorMetadata| error.code().map(str::to_owned);
    let standard = sqs
        .create_queue()
        .queue_name("plain")
        .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&standard).as_deref(), Some("InvalidAttributeName"));
    let url = create(
        &sqs,
        "tenants.fifo",
        &[(QueueAttributeName::FifoQueue, "true")],
    )
    .await;
    let per_group_quota = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&per_group_quota).as_deref(),
        Some("InvalidAttributeValue")
    );
    let modes = |attributes: BTreeMap<String, String>| {
        let mode = |name: &str| attributes.get(name).cloned().unwrap_or_default();
        [mode("DeduplicationScope"), mode("FifoThroughputLimit")]
    };
    assert_eq!(modes(attributes(&sqs, &url).await), ["queue", "perQueue"]);

    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await
        .unwrap();
    assert_eq!(
        modes(attributes(&sqs, &url).await),
        ["messageGroup", "perMessageGroupId"]
    );
    for group in ["a", "b"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(group)
            .message_group_id(group)
            .message_deduplication_id("invoice-1")
            .send()
            .await
            .unwrap();
    }
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<_> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies, ["a", "b"]);
    server.stop().unwrap();
}

/// Stopping the server while a long poll waits: the stop returns, the poll ends (cut, or
/// answered empty) and the history is complete.
#[tokio::test(flavor = "current_thread")]
async fn a_stop_during_a_long_poll_ends_it_and_writes_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stopped.jsonl");
    let server = ideal_server(Some(path.clone()));
    let sqs = sqs(&server).await;
    let url = create(&sqs, "waiting", &[]).await;
    let poll = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(20)
        .send();
    let stop = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::task::spawn_blocking(move || server.stop())
            .await
            .unwrap()
    };
    let (polled, stopped) = tokio::join!(poll, stop);
    stopped.unwrap();
    assert!(
        polled
            .as_ref()
            .map_or(true, |answer| answer.messages().is_empty()),
        "{polled:?}"
    );
    let history = std::fs::read_to_string(&path).unwrap();
    let last: serde_json::Value = serde_json::from_str(history.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "server-stopped");
}

/// What stops `qsim serve` from starting is bad input (exit 2), named: a port already taken, a
/// history that cannot be created, `--events -`.
#[test]
fn the_serve_command_exits_2_naming_what_it_cannot_use() {
    use std::process::Command;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let cases: [(&[&str], &str); 3] = [
        (&["--port", &port], "cannot listen on 127.0.0.1:"),
        (
            &["--events", "/nonexistent-dir/server.jsonl"],
            "cannot create the history file /nonexistent-dir/server.jsonl",
        ),
        (
            &["--events", "-"],
            "--events -: the server's history goes to a file",
        ),
    ];
    for (args, said) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_qsim"))
            .arg("serve")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: no endpoint printed");
    }
}

/// A queue's MaximumMessageSize bounds each message (body and attributes): a single send above
/// it is refused with SQS's wording, a batch entry above it fails alone.
#[tokio::test(flavor = "current_thread")]
async fn the_maximum_message_size_is_enforced_per_message() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let url = create(
        &sqs,
        "small",
        &[(QueueAttributeName::MaximumMessageSize, "1024")],
    )
    .await;
    let big = "x".repeat(1025);
    let refused = sqs
        .send_message()
        .queue_url(&url)
        .message_body(&big)
        .send()
        .await
        .unwrap_err();
    let message = aws_sdk_sqs::error::ProvideErrorMetadata::message(&refused).unwrap_or_default();
    assert!(
        message.contains("Message must be shorter than 1024 bytes"),
        "{refused:?}"
    );
    let with_attribute = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1000))
        .message_attributes(
            "padding",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("y".repeat(100))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert!(with_attribute.is_err(), "attributes count toward the size");
    let entry = |id: &str, body: &str| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(body)
            .build()
            .unwrap()
    };
    let batch = sqs
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("big", &big))
        .entries(entry("small", "fits"))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.successful().len(), 1);
    assert_eq!(batch.successful()[0].id(), "small");
    assert_eq!(batch.failed()[0].id(), "big");
    assert_eq!(batch.failed()[0].code(), "InvalidParameterValue");
    server.stop().unwrap();
}

/// A MessageGroupId on a standard queue (fair queues) does not make it FIFO: no sequence
/// number, no deduplication id.
#[tokio::test(flavor = "current_thread")]
async fn a_group_id_on_a_standard_queue_gets_no_fifo_attributes() {
    let server = ideal_server(None);
    let sqs = sqs(&server).await;
    let url = create(&sqs, "fair", &[]).await;
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("m")
        .message_group_id("tenant-1")
        .send()
        .await
        .unwrap();
    assert!(sent.sequence_number().is_none());
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = received.messages()[0].attributes().unwrap();
    assert_eq!(
        attributes[&MessageSystemAttributeName::MessageGroupId],
        "tenant-1"
    );
    assert!(!attributes.contains_key(&MessageSystemAttributeName::MessageDeduplicationId));
    assert!(!attributes.contains_key(&MessageSystemAttributeName::SequenceNumber));
    server.stop().unwrap();
}

/// A body larger than any API request is refused before it is read.
#[test]
fn a_body_larger_than_any_request_is_refused() {
    use std::io::{Read, Write};
    let server = ideal_server(None);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: {}\r\n\r\n",
        64 * 1024 * 1024
    )
    .unwrap();
    let mut answer = [0u8; 64];
    let read = stream.read(&mut answer).unwrap();
    let status = String::from_utf8_lossy(&answer[..read]);
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    drop(stream);
    server.stop().unwrap();
}
