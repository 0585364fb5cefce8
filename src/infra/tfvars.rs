//! The Terraform variables file derived from scenario files: per scenario, exactly the queue
//! settings `terraform/variables.tf` declares in `var.scenarios`.
//!
//! SQS takes whole seconds, the scenario format takes any duration: sub-second durations round
//! up, so a queue never hides a message for less time than its scenario asked.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::scenario::Scenario;
use crate::sqs::facts::whole_seconds;

/// Two scenario files with the same `[scenario] name`: their resources would have the same names,
/// so one of them would silently be left without queues.
#[derive(Debug, thiserror::Error)]
#[error(
    "scenario name `{name}` is used by both {} and {}: Terraform resource names derive from it, \
     rename one of them",
    first.display(),
    second.display()
)]
pub struct DuplicateScenario {
    pub name: String,
    pub first: PathBuf,
    pub second: PathBuf,
}

/// Field names and order match `var.scenarios` in `terraform/variables.tf`.
#[derive(Debug, Serialize)]
struct QueueVars {
    fifo: bool,
    visibility_timeout_seconds: u64,
    receive_wait_time_seconds: u64,
    delay_seconds: u64,
    message_retention_seconds: u64,
    content_based_deduplication: bool,
    /// SQS's spelling (`messageGroup`); `null` on a standard queue, which takes no scope.
    deduplication_scope: Option<&'static str>,
    /// SQS's spelling (`perMessageGroupId`); `null` on a standard queue.
    fifo_throughput_limit: Option<&'static str>,
    /// `null` = no DLQ.
    max_receive_count: Option<u32>,
}

#[derive(Debug, Serialize)]
struct TfVars<'a> {
    scenarios: BTreeMap<&'a str, QueueVars>,
}

fn collect(scenarios: &[Scenario]) -> Result<TfVars<'_>, DuplicateScenario> {
    let mut vars = BTreeMap::new();
    let mut paths: BTreeMap<&str, &PathBuf> = BTreeMap::new();
    for scenario in scenarios {
        if let Some(first) = paths.insert(&scenario.name, &scenario.path) {
            return Err(DuplicateScenario {
                name: scenario.name.clone(),
                first: first.clone(),
                second: scenario.path.clone(),
            });
        }
        let queue = &scenario.queue;
        let fifo = queue.attributes.fifo;
        vars.insert(
            scenario.name.as_str(),
            QueueVars {
                fifo: queue.attributes.fifo,
                visibility_timeout_seconds: whole_seconds(queue.attributes.visibility_timeout),
                receive_wait_time_seconds: whole_seconds(queue.attributes.receive_wait),
                delay_seconds: whole_seconds(queue.attributes.delay),
                message_retention_seconds: whole_seconds(queue.attributes.retention),
                content_based_deduplication: queue.attributes.fifo
                    && queue.attributes.content_based_dedup,
                deduplication_scope: fifo.then(|| queue.attributes.deduplication_scope.api_name()),
                fifo_throughput_limit: fifo
                    .then(|| queue.attributes.fifo_throughput_limit.api_name()),
                max_receive_count: queue.max_receive_count,
            },
        );
    }
    Ok(TfVars { scenarios: vars })
}

/// `{ "scenarios": { NAME: { fifo, visibility_timeout_seconds, ... } } }`, sorted by name.
pub fn tfvars(scenarios: &[Scenario]) -> Result<serde_json::Value, DuplicateScenario> {
    let vars = collect(scenarios)?;
    Ok(serde_json::to_value(vars).expect("plain structs of numbers and strings serialize"))
}

/// The file `qsim infra tfvars` prints: pretty JSON with a final newline. Serialized from the
/// typed form (not the [`serde_json::Value`]) so the key order stays the declaration order
/// whatever serde_json features other crates enable.
pub fn render(scenarios: &[Scenario]) -> Result<String, DuplicateScenario> {
    let vars = collect(scenarios)?;
    let mut text = serde_json::to_string_pretty(&vars)
        .expect("plain structs of numbers and strings serialize");
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::infra::testing::{default_queue, queue, scenario};
    use crate::scenario::QueueConfig;
    use crate::sqs::facts::DEFAULT_RETENTION;
    use crate::sqs::{DeduplicationScope, FifoThroughputLimit, QueueAttributes};

    fn fifo_queue() -> QueueConfig {
        QueueConfig {
            attributes: QueueAttributes {
                fifo: true,
                content_based_dedup: true,
                visibility_timeout: Duration::from_secs(10),
                receive_wait: Duration::from_secs(20),
                delay: Duration::from_secs(15 * 60),
                retention: Duration::from_secs(60),
                deduplication_scope: DeduplicationScope::MessageGroup,
                fifo_throughput_limit: FifoThroughputLimit::PerMessageGroupId,
            },
            max_receive_count: Some(1000),
            ..default_queue()
        }
    }

    #[test]
    fn every_queue_setting_becomes_its_variable() {
        let vars = tfvars(&[scenario("orders", fifo_queue())]).unwrap();
        assert_eq!(
            vars,
            json!({"scenarios": {"orders": {
                "fifo": true,
                "visibility_timeout_seconds": 10,
                "receive_wait_time_seconds": 20,
                "delay_seconds": 900,
                "message_retention_seconds": 60,
                "content_based_deduplication": true,
                "deduplication_scope": "messageGroup",
                "fifo_throughput_limit": "perMessageGroupId",
                "max_receive_count": 1000,
            }}})
        );
    }

    #[test]
    fn no_redrive_policy_is_null_not_absent() {
        let vars = tfvars(&[scenario("plain", default_queue())]).unwrap();
        let entry = &vars["scenarios"]["plain"];
        assert!(entry.as_object().unwrap().contains_key("max_receive_count"));
        assert_eq!(entry["max_receive_count"], serde_json::Value::Null);
        assert_eq!(entry["fifo"], json!(false));
        assert_eq!(
            entry["message_retention_seconds"],
            json!(DEFAULT_RETENTION.as_secs())
        );
    }

    #[test]
    fn content_based_dedup_is_never_set_on_a_standard_queue() {
        // The format rejects it; should a model carry it anyway, SQS would reject the queue.
        let queue = queue(|q| q.attributes.content_based_dedup = true);
        let vars = tfvars(&[scenario("standard", queue)]).unwrap();
        assert_eq!(
            vars["scenarios"]["standard"]["content_based_deduplication"],
            json!(false)
        );
    }

    #[test]
    fn a_standard_queue_has_no_scope_or_limit_and_a_fifo_one_the_defaults() {
        let vars = tfvars(&[
            scenario("standard", default_queue()),
            scenario("fifo", queue(|q| q.attributes.fifo = true)),
        ])
        .unwrap();
        let standard = &vars["scenarios"]["standard"];
        assert_eq!(standard["deduplication_scope"], serde_json::Value::Null);
        assert_eq!(standard["fifo_throughput_limit"], serde_json::Value::Null);
        let fifo = &vars["scenarios"]["fifo"];
        assert_eq!(fifo["deduplication_scope"], json!("queue"));
        assert_eq!(fifo["fifo_throughput_limit"], json!("perQueue"));
    }

    #[test]
    fn sub_second_durations_round_up_to_whole_seconds() {
        let queue = queue(|q| {
            q.attributes.visibility_timeout = Duration::from_millis(1500);
            q.attributes.receive_wait = Duration::from_millis(1);
            q.attributes.delay = Duration::ZERO;
            q.attributes.retention = Duration::from_secs(120);
        });
        let vars = tfvars(&[scenario("fast", queue)]).unwrap();
        let entry = &vars["scenarios"]["fast"];
        assert_eq!(entry["visibility_timeout_seconds"], json!(2));
        assert_eq!(entry["receive_wait_time_seconds"], json!(1));
        assert_eq!(entry["delay_seconds"], json!(0));
        assert_eq!(entry["message_retention_seconds"], json!(120));
    }

    #[test]
    fn scenarios_are_sorted_by_name_whatever_the_input_order() {
        let names = |scenarios: &[Scenario]| -> Vec<String> {
            let text = render(scenarios).unwrap();
            let mut positions: Vec<(usize, String)> = scenarios
                .iter()
                .map(|s| {
                    (
                        text.find(&format!("\"{}\"", s.name)).unwrap(),
                        s.name.clone(),
                    )
                })
                .collect();
            positions.sort();
            positions.into_iter().map(|(_, name)| name).collect()
        };
        let mut scenarios = vec![
            scenario("zeta", default_queue()),
            scenario("alpha", default_queue()),
            scenario("mid", fifo_queue()),
        ];
        assert_eq!(names(&scenarios), ["alpha", "mid", "zeta"]);
        scenarios.reverse();
        assert_eq!(names(&scenarios), ["alpha", "mid", "zeta"]);
    }

    #[test]
    fn render_is_the_pretty_value_with_a_final_newline() {
        let scenarios = [scenario("b", fifo_queue()), scenario("a", default_queue())];
        let text = render(&scenarios).unwrap();
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
        let reparsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(reparsed, tfvars(&scenarios).unwrap());
        // Declaration order of `var.scenarios`, not alphabetical.
        let fifo = text.find("\"fifo\"").unwrap();
        let visibility = text.find("\"visibility_timeout_seconds\"").unwrap();
        let count = text.find("\"max_receive_count\"").unwrap();
        assert!(fifo < visibility && visibility < count, "{text}");
    }

    #[test]
    fn duplicate_names_are_an_error_naming_both_files() {
        let first = scenario("dup", default_queue());
        let mut second = scenario("dup", fifo_queue());
        second.path = "elsewhere/dup-copy.toml".into();
        let error = tfvars(&[first, second.clone()]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`dup`"), "{message}");
        assert!(message.contains("scenarios.d/dup.toml"), "{message}");
        assert!(message.contains("elsewhere/dup-copy.toml"), "{message}");
        assert!(render(&[second.clone(), second]).is_err());
    }

    #[test]
    fn no_scenarios_is_an_empty_map() {
        assert_eq!(tfvars(&[]).unwrap(), json!({"scenarios": {}}));
    }
}
