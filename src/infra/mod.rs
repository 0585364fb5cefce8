//! Infrastructure as code for teams whose queues and tables come from Terraform, with the scenario
//! files kept as the single source of truth:
//! - [`tfvars`]: scenario files → the JSON variables file `terraform/` iterates over (for_each);
//! - [`ResourcesFile`]: what `terraform output -json` printed → the queues and tables a run uses
//!   instead of creating its own.
//!
//! Invariants: resource names and settings derive only from the scenarios (never from the
//! environment), output is sorted by scenario name so the committed example diffs cleanly, and
//! nothing here talks to AWS or runs Terraform.

mod error;
mod resources;
mod tfvars;

pub(crate) use error::InfraError;
pub use error::InfraErrorKind;
pub use resources::ResourcesFile;
pub(crate) use tfvars::DuplicateScenario;
pub use tfvars::{render, tfvars};

#[cfg(test)]
mod testing;
