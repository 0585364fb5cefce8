//! `qsim serve`: the simulator over the AWS JSON protocol, on loopback and in real time, so any
//! SDK (and any team's own consumer) can talk to it with `AWS_ENDPOINT_URL`.
//!
//! - [`dynamodb`]: a generic DynamoDB store (attribute maps, condition and update expressions)
//!   behind the `DynamoDB_20120810.*` operations;
//! - [`error`]: an AWS API error as both protocols return it.

pub mod dynamodb;
pub mod error;
