//! Names and tags of the resources one run creates.
//!
//! Invariants: every name starts with [`RESOURCE_PREFIX`] and the run's own
//! `qsim-{scenario}-{runid}` prefix; queue names fit SQS's 80 characters of `[A-Za-z0-9_-]`
//! (plus `.fifo` for FIFO queues); table names fit DynamoDB's `[A-Za-z0-9_.-]{3,255}`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::backend::{QueueRole, Table};
use crate::sqs::facts::{FIFO_SUFFIX, MAX_QUEUE_NAME};

/// The name prefix of every resource qsim creates; `qsim cleanup` lists by it.
pub(crate) const RESOURCE_PREFIX: &str = "qsim-";
/// Tag key (value `true`) marking a resource as created by qsim; `qsim cleanup` requires it.
pub(crate) const MANAGED_TAG: &str = "qsim:managed";
/// Tag key whose value is the run id that created the resource.
pub(crate) const RUN_TAG: &str = "qsim:run";
/// Tag key whose value names the tool that owns a resource's lifecycle; terraform/ sets it to
/// [`TERRAFORM`]. `qsim cleanup` never deletes such resources, and no run does.
pub(crate) const PROVISIONED_BY_TAG: &str = "qsim:provisioned-by";
/// The value of [`PROVISIONED_BY_TAG`] on resources from terraform/.
pub(crate) const TERRAFORM: &str = "terraform";

/// Room left for `-{runid}-{role}{n}.fifo` after the scenario part of a queue name.
const SCENARIO_PART_MAX: usize =
    MAX_QUEUE_NAME - RESOURCE_PREFIX.len() - 1 - 8 - 8 - FIFO_SUFFIX.len();

/// The names of one run's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunNames {
    run_id: String,
    prefix: String,
}

impl RunNames {
    pub(crate) fn new(scenario_name: &str, run_id: String) -> Self {
        let prefix = format!("{RESOURCE_PREFIX}{}-{run_id}", scenario_part(scenario_name));
        RunNames { run_id, prefix }
    }

    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{prefix}-main`, `{prefix}-dlq`, with `.fifo` for FIFO queues. `ordinal` counts earlier
    /// queues of the same role, so a second queue of a role gets a distinct name.
    pub(crate) fn queue(&self, role: QueueRole, fifo: bool, ordinal: usize) -> String {
        let number = if ordinal == 0 {
            String::new()
        } else {
            (ordinal + 1).to_string()
        };
        let suffix = if fifo { FIFO_SUFFIX } else { "" };
        format!("{}-{}{number}{suffix}", self.prefix, role.as_str())
    }

    pub(crate) fn table(&self, table: Table) -> String {
        format!("{}-{}", self.prefix, table.as_str())
    }
}

/// The scenario name as it may appear in a queue name: lowercase, `[a-z0-9_-]`, short enough.
fn scenario_part(scenario_name: &str) -> String {
    let cleaned: String = scenario_name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .take(SCENARIO_PART_MAX)
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "scenario".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Eight lowercase hex digits from the wall clock, the process id and a per-process counter:
/// distinct for runs started in the same process or by concurrent processes.
pub(crate) fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or(0);
    let pid = u64::from(std::process::id());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = splitmix64(nanos ^ pid.rotate_left(40) ^ count.rotate_left(20));
    format!("{:08x}", (mixed >> 32) as u32)
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The queue name at the end of a queue URL.
pub(crate) fn queue_name_from_url(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_eight_hex_digits_and_distinct() {
        let first = new_run_id();
        let second = new_run_id();
        for id in [&first, &second] {
            assert_eq!(id.len(), 8, "{id}");
            assert!(
                id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
                "{id}"
            );
        }
        assert_ne!(first, second);
    }

    #[test]
    fn names_carry_prefix_role_and_fifo_suffix() {
        let names = RunNames::new("Poison Pill!", "0123abcd".into());
        assert_eq!(names.prefix(), "qsim-poison-pill-0123abcd");
        assert_eq!(
            names.queue(QueueRole::Main, false, 0),
            "qsim-poison-pill-0123abcd-main"
        );
        assert_eq!(
            names.queue(QueueRole::DeadLetter, true, 0),
            "qsim-poison-pill-0123abcd-dlq.fifo"
        );
        assert_eq!(
            names.queue(QueueRole::Main, false, 1),
            "qsim-poison-pill-0123abcd-main2"
        );
        assert_eq!(
            names.table(Table::SideEffects),
            "qsim-poison-pill-0123abcd-side-effects"
        );
    }

    #[test]
    fn long_scenario_names_still_fit_sqs_limits() {
        let names = RunNames::new(&"x".repeat(300), "ffffffff".into());
        let longest = names.queue(QueueRole::DeadLetter, true, 8);
        assert!(longest.len() <= MAX_QUEUE_NAME, "{} chars", longest.len());
        assert!(longest.ends_with("-dlq9.fifo"));
    }

    #[test]
    fn empty_scenario_name_gets_a_placeholder() {
        assert_eq!(
            RunNames::new("!!", "00000000".into()).prefix(),
            "qsim-scenario-00000000"
        );
    }

    #[test]
    fn queue_name_is_the_last_url_segment() {
        assert_eq!(
            queue_name_from_url("http://127.0.0.1:5000/123456789012/qsim-a-main"),
            "qsim-a-main"
        );
    }
}
