//! Why a pre-provisioned (`--resources`) queue or table cannot serve a scenario, typed so a
//! caller can tell a resource that is gone from one that differs, and read each difference.
//!
//! Invariant: every message ends with the fix: regenerate the Terraform variables and apply
//! them, or re-apply and write the resources file again.

use std::fmt;

use crate::backend::QueueRole;

/// How a user brings terraform/ in line with the scenario files again.
const REAPPLY: &str = "regenerate the Terraform variables and apply them: `qsim infra tfvars > \
     terraform/scenarios.auto.tfvars.json && terraform apply`";

/// How a user gets a resources file that names resources which exist.
const REWRITE: &str =
    "run `terraform apply` and write the file again with `terraform output -json`";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProvisionedMismatch {
    /// The scenario has a dead-letter queue; the resources file provisions none for it.
    NoDeadLetterQueue,
    /// The scenario asks for a second queue of this role; the file provisions one per scenario.
    SecondQueue(QueueRole),
    /// The queue at this URL, from the resources file, does not exist.
    MissingQueue { url: String },
    /// The table from the resources file does not exist.
    MissingTable,
    /// The queue's attributes are not those qsim would create for the scenario.
    QueueMisfits {
        role: QueueRole,
        misfits: Vec<Misfit>,
    },
    /// The table's hash key is not qsim's string key `expected`: `actual` is the key it has
    /// (`None`: none) and its type, when the table defines one.
    TableKey {
        expected: &'static str,
        actual: Option<(String, Option<String>)>,
    },
}

/// One queue attribute that differs: the name SQS uses, what the scenario needs, what the queue
/// has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misfit {
    pub attribute: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} expected {}, actual {}",
            self.attribute, self.expected, self.actual
        )
    }
}

impl fmt::Display for ProvisionedMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisionedMismatch::NoDeadLetterQueue => write!(
                f,
                "the resources file provisions no dead-letter queue for this scenario; {REAPPLY}"
            ),
            ProvisionedMismatch::SecondQueue(role) => write!(
                f,
                "the resources file provisions one {} queue per scenario and it is already in use",
                role.as_str()
            ),
            ProvisionedMismatch::MissingQueue { url } => write!(
                f,
                "the queue {url} from the resources file does not exist (destroyed, or another \
                 account or region?); {REWRITE}"
            ),
            ProvisionedMismatch::MissingTable => write!(
                f,
                "the table from the resources file does not exist (destroyed, or another account \
                 or region?); {REWRITE}"
            ),
            ProvisionedMismatch::QueueMisfits { role, misfits } => {
                let list: Vec<String> = misfits.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "the provisioned {} queue does not fit the scenario: {}; {REAPPLY}",
                    role.as_str(),
                    list.join("; ")
                )
            }
            ProvisionedMismatch::TableKey { expected, actual } => {
                let actual = match actual {
                    Some((key, Some(kind))) => format!("`{key}` ({kind})"),
                    Some((key, None)) => format!("`{key}`"),
                    None => "none".to_owned(),
                };
                write!(
                    f,
                    "the provisioned table does not fit: hash key expected `{expected}` (string), \
                     actual {actual}; {REAPPLY}"
                )
            }
        }
    }
}
