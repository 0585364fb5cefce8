//! The embedded simulator: SQS and DynamoDB semantics in-process on tokio's paused clock.
