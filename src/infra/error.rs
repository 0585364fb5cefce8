//! Errors about a resources file (`terraform output -json`): which file, and what is missing or
//! does not fit, phrased so the fix (apply, regenerate the variables, pass the right file) is clear.

use std::fmt;
use std::path::PathBuf;

/// A resources file that cannot be used, or a scenario it does not provision.
#[derive(Debug)]
pub struct InfraError {
    /// The resources file.
    pub path: PathBuf,
    pub kind: InfraErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum InfraErrorKind {
    #[error("cannot read the resources file")]
    Read(#[source] std::io::Error),
    #[error("not JSON")]
    Json(#[source] serde_json::Error),
    #[error(
        "no Terraform outputs in it (was `terraform apply` run in terraform/? write the file with \
         `terraform output -json > resources.json` after applying)"
    )]
    NoOutputs,
    #[error(
        "no `qsim_resources` output (outputs found: {}): is it the output of qsim's terraform/ \
         configuration?",
        found.join(", ")
    )]
    MissingOutput { found: Vec<String> },
    #[error("{what} is not a JSON object")]
    NotAnObject { what: String },
    #[error("the entry of scenario `{scenario}` is invalid: {reason}")]
    InvalidEntry { scenario: String, reason: String },
    #[error(
        "no resources for scenario `{scenario}` (provisioned: {}): add its file to the scenarios \
         directory, regenerate terraform/scenarios.auto.tfvars.json with `qsim infra tfvars` and \
         run `terraform apply` again",
        list_or_none(provisioned)
    )]
    UnknownScenario {
        scenario: String,
        provisioned: Vec<String>,
    },
    #[error(
        "the resources of scenario `{scenario}` do not match its file: {reason} (regenerate \
         terraform/scenarios.auto.tfvars.json with `qsim infra tfvars` and run `terraform apply` \
         again)"
    )]
    Mismatch { scenario: String, reason: String },
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

impl InfraError {
    pub fn new(path: impl Into<PathBuf>, kind: InfraErrorKind) -> Self {
        InfraError {
            path: path.into(),
            kind,
        }
    }
}

impl fmt::Display for InfraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.kind)
    }
}

/// The kind is part of this error's own message; its cause (I/O, JSON) is the next link.
impl std::error::Error for InfraError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}
