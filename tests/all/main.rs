//! The one integration-test binary (one link of the AWS SDK instead of one per file).

mod aws_backend;
mod aws_cli;
mod aws_resources;
mod cli;
mod diagnostics;
mod fuzz;
mod history;
mod infra;
mod moto;
mod readme;
mod scenarios;
