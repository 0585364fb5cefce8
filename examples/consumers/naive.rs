//! naive.py in Rust: receive, do the work, record the side effect, delete. No idempotency, so a
//! message delivered twice (its visibility timeout ran out during the work, or its consumer died
//! before the delete) has its side effect done twice.
//!
//! The same environment as the Python consumers: QUEUE_URL, SIDE_EFFECTS_TABLE, WORK_SECONDS
//! (default 0), and the SDK's own AWS_ENDPOINT_URL / AWS_REGION / credentials.
//! `cargo run --example naive-consumer`; `cargo build` leaves it in `target/debug/examples/`.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queue_url = std::env::var("QUEUE_URL")?;
    let side_effects = std::env::var("SIDE_EFFECTS_TABLE")?;
    let work_seconds: f64 = std::env::var("WORK_SECONDS").map_or(Ok(0.0), |s| s.parse())?;
    let config = aws_config::load_from_env().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let mut terminate = signal(SignalKind::terminate())?;
    loop {
        // SIGTERM is only acted on here, between messages: one already in hand is finished first.
        // `biased` so that a pending SIGTERM wins over a receive that is also ready.
        let received = tokio::select! {
            biased;
            _ = terminate.recv() => return Ok(()),
            received = sqs.receive_message().queue_url(&queue_url)
                .max_number_of_messages(1).wait_time_seconds(20).send() => received?,
        };
        for message in received.messages() {
            let body: serde_json::Value = serde_json::from_str(message.body().unwrap_or("{}"))?;
            let id = body["id"]
                .as_str()
                .ok_or("a message without an id")?
                .to_owned();
            tokio::time::sleep(Duration::from_secs_f64(work_seconds)).await;
            // The side effect, counted per message so that duplicates show.
            dynamodb
                .update_item()
                .table_name(&side_effects)
                .key("pk", AttributeValue::S(id.clone()))
                .update_expression("ADD #count :one SET #message = :id")
                .expression_attribute_names("#count", "count")
                .expression_attribute_names("#message", "message")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":id", AttributeValue::S(id))
                .send()
                .await?;
            let receipt = message.receipt_handle().unwrap_or_default();
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(receipt)
                .send()
                .await?;
        }
    }
}
