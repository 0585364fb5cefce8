//! The one integration-test binary (one link of the AWS SDK instead of one per file).

mod cli;
mod diagnostics;
mod infra;
mod readme;
mod scenarios;
