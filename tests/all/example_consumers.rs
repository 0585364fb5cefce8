//! The example consumers (`examples/consumers/`) keep the contract the README documents, on a
//! real moto_server: given the environment qsim gives a child (QUEUE_URL, the two tables,
//! WORK_SECONDS, the SDK's endpoint and region), each handles qsim-shaped messages, records one
//! side effect per message by the convention qsim's checks read, and on SIGTERM exits 0.
//! What each does under failures (duplicates, lost work) is for the scenarios that run them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

use super::moto::{Moto, exclusive_moto, target_dir};
use super::sdk_conformance::python_with_boto3;

const MESSAGES: usize = 3;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The queue and tables one consumer runs against.
struct Resources {
    queue_url: String,
    status_table: String,
    side_effects_table: String,
}

#[test]
fn example_consumers_do_each_message_once_and_stop_on_sigterm() {
    let (runtime, moto) = exclusive_moto();
    let python = python_with_boto3();
    let consumers: Vec<(&str, Vec<PathBuf>)> = vec![
        (
            "naive",
            vec![python.clone(), "examples/consumers/naive.py".into()],
        ),
        (
            "two-table",
            vec![python.clone(), "examples/consumers/two_table.py".into()],
        ),
        (
            "delete-first",
            vec![python, "examples/consumers/delete_first.py".into()],
        ),
        ("naive-rs", vec![rust_example("naive-consumer")]),
    ];
    for (name, command) in consumers {
        let resources = runtime.block_on(provision(&moto, name));
        let mut child = Command::new(&command[0])
            .args(&command[1..])
            .env("AWS_ENDPOINT_URL", moto.endpoint_url())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("QUEUE_URL", &resources.queue_url)
            .env("STATUS_TABLE", &resources.status_table)
            .env("SIDE_EFFECTS_TABLE", &resources.side_effects_table)
            .env("QSIM_INSTANCE", "worker-0")
            .env("WORK_SECONDS", "0")
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: start {command:?}: {e}"));
        let drained = runtime.block_on(wait_until_drained(&moto, &resources.queue_url));
        let signalled = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(signalled.success(), "{name}: kill -TERM failed");
        let status = child.wait().unwrap();
        assert!(
            drained,
            "{name}: the queue was not empty within {DRAIN_TIMEOUT:?}"
        );
        assert_eq!(
            status.code(),
            Some(0),
            "{name}: SIGTERM ends it with exit 0"
        );
        let counts = runtime.block_on(side_effect_counts(&moto, &resources.side_effects_table));
        let once: BTreeMap<String, String> =
            (0..MESSAGES).map(|i| (id(i), "1".to_owned())).collect();
        assert_eq!(counts, once, "{name}: one side effect per message");
    }
}

/// The example's binary, built first when `cargo test --test all` did not build it.
fn rust_example(name: &str) -> PathBuf {
    let binary = target_dir().join("debug").join("examples").join(name);
    if !binary.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let built = Command::new(cargo)
            .args(["build", "--quiet", "--example", name])
            .status()
            .unwrap();
        assert!(built.success(), "cargo build --example {name} failed");
    }
    binary
}

fn id(i: usize) -> String {
    format!("orders-{i:04}")
}

/// A queue holding MESSAGES qsim-shaped bodies, and the status and side-effects tables.
async fn provision(moto: &Moto, name: &str) -> Resources {
    let sqs = moto.sqs().await;
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("example-{name}"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    for i in 0..MESSAGES {
        let body = serde_json::json!({ "id": id(i), "seq": i + 1, "sent_at_ms": 0 });
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }
    let [status_table, side_effects_table] =
        ["status", "side-effects"].map(|t| format!("{name}-{t}"));
    for table in [&status_table, &side_effects_table] {
        moto.create_pk_table(table).await.send().await.unwrap();
    }
    Resources {
        queue_url,
        status_table,
        side_effects_table,
    }
}

/// Whether the queue held no message, visible or in flight, before DRAIN_TIMEOUT.
async fn wait_until_drained(moto: &Moto, queue_url: &str) -> bool {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = moto.sqs().await;
    let started = Instant::now();
    while started.elapsed() < DRAIN_TIMEOUT {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let left: u64 = attributes
            .attributes()
            .into_iter()
            .flat_map(|map| map.values())
            .map(|value| value.parse::<u64>().unwrap())
            .sum();
        if left == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// `count` per key of the side-effects table, as qsim's checks read it.
async fn side_effect_counts(moto: &Moto, table: &str) -> BTreeMap<String, String> {
    let scanned = moto
        .dynamodb()
        .await
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let text =
        |item: &std::collections::HashMap<String, AttributeValue>, key: &str| match item.get(key) {
            Some(AttributeValue::S(s) | AttributeValue::N(s)) => s.clone(),
            other => panic!("{key}: {other:?}"),
        };
    scanned
        .items()
        .iter()
        .map(|item| (text(item, "pk"), text(item, "count")))
        .collect()
}
