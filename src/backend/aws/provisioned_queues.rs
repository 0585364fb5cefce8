//! The queues and tables a run uses instead of creating its own, as `terraform output -json`
//! names them (`qsim run --resources FILE.json` reads them from that output).

use serde::{Deserialize, Serialize};

/// One scenario's pre-provisioned resources: the fields of one `qsim_resources` entry.
/// Unknown fields are ignored, so a newer configuration can add outputs without breaking older
/// qsim builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedQueues {
    pub queue_url: String,
    pub queue_arn: String,
    /// `None` when the scenario has no redrive policy (and so no DLQ).
    pub dlq_url: Option<String>,
    pub dlq_arn: Option<String>,
    /// DynamoDB table names; both tables have the string hash key `pk`.
    pub status_table: String,
    pub side_effects_table: String,
    pub fifo: bool,
}
