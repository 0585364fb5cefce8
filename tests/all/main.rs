//! The one integration-test binary (one link of the AWS SDK instead of one per file).

mod aws_backend;
mod diagnostics;
mod moto;
