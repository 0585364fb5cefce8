//! The one integration-test binary (one link of the AWS SDK instead of one per file).

mod architecture;
mod aws_backend;
mod aws_cli;
mod aws_failures;
mod aws_faults;
mod aws_outbox;
mod aws_process;
mod aws_resources;
mod browser;
mod cli;
mod cli_output;
mod conformance;
mod diagnostics;
mod explore;
mod fuzz;
mod generated;
mod guide;
mod history;
mod infra;
mod limits;
mod moto;
mod readme;
mod scenarios;
