//! The resources file: the queues and tables `terraform/` provisioned, as `terraform output -json`
//! prints them, so a run can use them instead of creating (and later deleting) its own.
//!
//! Two forms are accepted, because both are what a user naturally types:
//! - `terraform output -json > resources.json`: every output, each wrapped as
//!   `{"value": ..., "type": ..., "sensitive": ...}`; qsim reads `qsim_resources.value`;
//! - `terraform output -json qsim_resources > resources.json`: the bare value.
//!
//! They cannot be confused: scenario names never contain `_`, so no scenario is called
//! `qsim_resources`. Entries are checked when the file is read (a DLQ URL without its ARN, a FIFO
//! flag that contradicts the queue name), not when a run is half way through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::{InfraError, InfraErrorKind};
use crate::backend::aws::ProvisionedQueues;
use crate::scenario::Scenario;

/// The output of `terraform/outputs.tf` that qsim reads.
const OUTPUT: &str = "qsim_resources";

/// What makes an entry unusable on its own, before any scenario is compared with it.
fn defect(entry: &ProvisionedQueues) -> Option<String> {
    for (field, value) in [
        ("queue_url", &entry.queue_url),
        ("queue_arn", &entry.queue_arn),
        ("status_table", &entry.status_table),
        ("side_effects_table", &entry.side_effects_table),
    ] {
        if value.is_empty() {
            return Some(format!("`{field}` is empty"));
        }
    }
    match (&entry.dlq_url, &entry.dlq_arn) {
        (Some(_), None) => return Some("`dlq_url` is set but `dlq_arn` is null".into()),
        (None, Some(_)) => return Some("`dlq_arn` is set but `dlq_url` is null".into()),
        _ => {}
    }
    // SQS requires FIFO queue names to end in `.fifo` and forbids it on standard queues.
    if entry.fifo != entry.queue_url.ends_with(".fifo") {
        return Some(format!(
            "`fifo` is {} but the queue URL {} {} in `.fifo`",
            entry.fifo,
            entry.queue_url,
            if entry.fifo { "does not end" } else { "ends" }
        ));
    }
    None
}

/// A parsed resources file: per scenario name, its provisioned queues and tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcesFile {
    /// Where it was read from, for messages.
    pub path: PathBuf,
    pub scenarios: BTreeMap<String, ProvisionedQueues>,
}

impl ResourcesFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<ResourcesFile, InfraError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InfraError::new(path, InfraErrorKind::Read(e)))?;
        ResourcesFile::parse(path, &text)
    }

    /// Parses the text of a resources file; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<ResourcesFile, InfraError> {
        let error = |kind| InfraError::new(path, kind);
        let root: Value = serde_json::from_str(text).map_err(|e| error(InfraErrorKind::Json(e)))?;
        let Value::Object(root) = root else {
            return Err(error(InfraErrorKind::NotAnObject {
                what: "the file".into(),
            }));
        };
        let entries = scenario_entries(root).map_err(error)?;
        let mut scenarios = BTreeMap::new();
        for (name, entry) in entries {
            let queues: ProvisionedQueues = serde_json::from_value(entry).map_err(|e| {
                error(InfraErrorKind::InvalidEntry {
                    scenario: name.clone(),
                    reason: e.to_string(),
                })
            })?;
            if let Some(reason) = defect(&queues) {
                return Err(error(InfraErrorKind::InvalidEntry {
                    scenario: name,
                    reason,
                }));
            }
            scenarios.insert(name, queues);
        }
        Ok(ResourcesFile {
            path: path.to_owned(),
            scenarios,
        })
    }

    /// The resources provisioned for the scenario named `name`.
    pub fn for_scenario(&self, name: &str) -> Result<&ProvisionedQueues, InfraError> {
        self.scenarios.get(name).ok_or_else(|| {
            InfraError::new(
                &self.path,
                InfraErrorKind::UnknownScenario {
                    scenario: name.to_owned(),
                    provisioned: self.scenarios.keys().cloned().collect(),
                },
            )
        })
    }

    /// [`Self::for_scenario`], and the resources fit the scenario's file as it is now: same queue
    /// kind, and a DLQ exactly when the file sets `max_receive_count`. Catches a `terraform apply`
    /// that predates an edit of the file.
    pub fn matching(&self, scenario: &Scenario) -> Result<&ProvisionedQueues, InfraError> {
        let queues = self.for_scenario(&scenario.name)?;
        let kind = |fifo| if fifo { "fifo" } else { "standard" };
        let reason = if queues.fifo != scenario.queue.attributes.fifo {
            Some(format!(
                "the file says {} but the provisioned queue is {}",
                kind(scenario.queue.attributes.fifo),
                kind(queues.fifo)
            ))
        } else {
            match (scenario.queue.max_receive_count, &queues.dlq_url) {
                (Some(count), None) => Some(format!(
                    "the file sets max_receive_count = {count} but no DLQ was provisioned"
                )),
                (None, Some(_)) => Some(
                    "the file has no max_receive_count but a DLQ with a redrive policy was \
                     provisioned"
                        .to_owned(),
                ),
                _ => None,
            }
        };
        match reason {
            Some(reason) => Err(InfraError::new(
                &self.path,
                InfraErrorKind::Mismatch {
                    scenario: scenario.name.clone(),
                    reason,
                },
            )),
            None => Ok(queues),
        }
    }
}

/// The `NAME -> entry` map out of either form of the file.
fn scenario_entries(root: Map<String, Value>) -> Result<Map<String, Value>, InfraErrorKind> {
    if root.is_empty() {
        return Err(InfraErrorKind::NoOutputs);
    }
    let mut root = root;
    if let Some(output) = root.remove(OUTPUT) {
        let value = match output {
            Value::Object(mut wrapper) => wrapper.remove("value"),
            _ => None,
        };
        return match value {
            Some(Value::Object(entries)) => Ok(entries),
            _ => Err(InfraErrorKind::NotAnObject {
                what: format!("`{OUTPUT}.value`"),
            }),
        };
    }
    // Every entry wrapped as an output: the full form of some other configuration's outputs.
    let all_wrapped = root
        .values()
        .all(|v| v.get("value").is_some() && v.get("type").is_some());
    if all_wrapped {
        let mut found: Vec<String> = root.keys().cloned().collect();
        found.sort();
        return Err(InfraErrorKind::MissingOutput { found });
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use indoc::indoc;

    use super::*;
    use crate::infra::testing::{default_queue, queue, scenario};
    use crate::scenario::QueueConfig;

    /// What `terraform output -json` printed after applying two scenarios on moto_server.
    const FULL: &str = indoc! {r#"
        {
          "qsim_resources": {
            "sensitive": false,
            "type": [
              "object",
              {
                "a": ["object", {"dlq_arn": "dynamic", "dlq_url": "dynamic", "fifo": "bool",
                       "queue_arn": "string", "queue_url": "string",
                       "side_effects_table": "string", "status_table": "string"}],
                "b": ["object", {"dlq_arn": "string", "dlq_url": "string", "fifo": "bool",
                       "queue_arn": "string", "queue_url": "string",
                       "side_effects_table": "string", "status_table": "string"}]
              }
            ],
            "value": {
              "a": {
                "dlq_arn": null,
                "dlq_url": null,
                "fifo": false,
                "queue_arn": "arn:aws:sqs:us-east-1:123456789012:qsim-a",
                "queue_url": "http://127.0.0.1:5123/123456789012/qsim-a",
                "side_effects_table": "qsim-a-side-effects",
                "status_table": "qsim-a-status"
              },
              "b": {
                "dlq_arn": "arn:aws:sqs:us-east-1:123456789012:qsim-b-dlq.fifo",
                "dlq_url": "http://127.0.0.1:5123/123456789012/qsim-b-dlq.fifo",
                "fifo": true,
                "queue_arn": "arn:aws:sqs:us-east-1:123456789012:qsim-b.fifo",
                "queue_url": "http://127.0.0.1:5123/123456789012/qsim-b.fifo",
                "side_effects_table": "qsim-b-side-effects",
                "status_table": "qsim-b-status"
              }
            }
          }
        }
    "#};

    /// What `terraform output -json qsim_resources` prints for the same state.
    const BARE: &str = indoc! {r#"
        {"a":{"dlq_arn":null,"dlq_url":null,"fifo":false,
              "queue_arn":"arn:aws:sqs:us-east-1:123456789012:qsim-a",
              "queue_url":"http://127.0.0.1:5123/123456789012/qsim-a",
              "side_effects_table":"qsim-a-side-effects","status_table":"qsim-a-status"},
         "b":{"dlq_arn":"arn:aws:sqs:us-east-1:123456789012:qsim-b-dlq.fifo",
              "dlq_url":"http://127.0.0.1:5123/123456789012/qsim-b-dlq.fifo","fifo":true,
              "queue_arn":"arn:aws:sqs:us-east-1:123456789012:qsim-b.fifo",
              "queue_url":"http://127.0.0.1:5123/123456789012/qsim-b.fifo",
              "side_effects_table":"qsim-b-side-effects","status_table":"qsim-b-status"}}
    "#};

    fn parse(text: &str) -> Result<ResourcesFile, InfraError> {
        ResourcesFile::parse(Path::new("resources.json"), text)
    }

    fn kind(text: &str) -> InfraErrorKind {
        parse(text).unwrap_err().kind
    }

    fn entry(fields: &str) -> String {
        format!(r#"{{"x": {{ {fields} }}}}"#)
    }

    const STANDARD_FIELDS: &str = r#""queue_url": "https://sqs/1/q-x", "queue_arn": "arn:q-x",
        "status_table": "q-x-status", "side_effects_table": "q-x-side-effects", "fifo": false"#;

    #[test]
    fn full_form_yields_every_scenario() {
        let file = parse(FULL).unwrap();
        assert_eq!(file.path, Path::new("resources.json"));
        assert_eq!(file.scenarios.keys().collect::<Vec<_>>(), ["a", "b"]);
        let a = file.for_scenario("a").unwrap();
        assert_eq!(
            a,
            &ProvisionedQueues {
                queue_url: "http://127.0.0.1:5123/123456789012/qsim-a".into(),
                queue_arn: "arn:aws:sqs:us-east-1:123456789012:qsim-a".into(),
                dlq_url: None,
                dlq_arn: None,
                status_table: "qsim-a-status".into(),
                side_effects_table: "qsim-a-side-effects".into(),
                fifo: false,
            }
        );
        let b = file.for_scenario("b").unwrap();
        assert!(b.fifo);
        assert_eq!(
            b.dlq_url.as_deref(),
            Some("http://127.0.0.1:5123/123456789012/qsim-b-dlq.fifo")
        );
        assert_eq!(b.status_table, "qsim-b-status");
    }

    #[test]
    fn bare_form_reads_the_same_as_the_full_form() {
        assert_eq!(parse(BARE).unwrap(), parse(FULL).unwrap());
    }

    #[test]
    fn other_outputs_beside_qsim_resources_are_ignored() {
        let mut root: Value = serde_json::from_str(FULL).unwrap();
        root["region"] = serde_json::json!({"sensitive": false, "type": "string", "value": "x"});
        assert_eq!(parse(&root.to_string()).unwrap(), parse(FULL).unwrap());
    }

    #[test]
    fn unknown_fields_in_an_entry_are_ignored() {
        let text = entry(&format!(r#"{STANDARD_FIELDS}, "added_later": 1"#));
        assert_eq!(parse(&text).unwrap().scenarios["x"].queue_arn, "arn:q-x");
    }

    #[test]
    fn unknown_scenario_names_the_file_the_scenario_and_what_is_provisioned() {
        let file = parse(FULL).unwrap();
        let error = file.for_scenario("poison").unwrap_err();
        assert!(matches!(
            &error.kind,
            InfraErrorKind::UnknownScenario { scenario, provisioned }
                if scenario == "poison" && provisioned == &["a", "b"]
        ));
        let message = error.to_string();
        assert!(message.starts_with("resources.json: "), "{message}");
        assert!(
            message.contains("`poison`") && message.contains("a, b"),
            "{message}"
        );
        assert!(message.contains("qsim infra tfvars"), "{message}");
    }

    #[test]
    fn output_before_apply_is_an_empty_object() {
        let error = parse("{}\n").unwrap_err();
        assert!(matches!(error.kind, InfraErrorKind::NoOutputs));
        assert!(error.to_string().contains("terraform apply"), "{error}");
    }

    #[test]
    fn outputs_of_another_configuration_are_named() {
        let text = r#"{"vpc_id": {"sensitive": false, "type": "string", "value": "vpc-1"},
                       "bucket": {"sensitive": false, "type": "string", "value": "b"}}"#;
        let InfraErrorKind::MissingOutput { found } = kind(text) else {
            panic!("expected MissingOutput");
        };
        assert_eq!(found, ["bucket", "vpc_id"]);
    }

    #[test]
    fn not_json_keeps_the_parser_error_as_its_cause() {
        let error = parse("qsim_resources = {}").unwrap_err();
        assert!(matches!(error.kind, InfraErrorKind::Json(_)));
        let cause = std::error::Error::source(&error).expect("the JSON error is the cause");
        assert!(cause.to_string().contains("line 1"), "{cause}");
    }

    #[test]
    fn unreadable_file_names_the_path_and_keeps_the_io_error() {
        let path = Path::new("/nonexistent/qsim/resources.json");
        let error = ResourcesFile::load(path).unwrap_err();
        assert_eq!(error.path, path);
        assert!(matches!(error.kind, InfraErrorKind::Read(_)));
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn load_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resources.json");
        std::fs::write(&path, FULL).unwrap();
        let file = ResourcesFile::load(&path).unwrap();
        assert_eq!(file.path, path);
        assert_eq!(file.scenarios, parse(FULL).unwrap().scenarios);
    }

    #[test]
    fn shapes_that_are_not_objects_are_rejected() {
        assert!(matches!(kind("[]"), InfraErrorKind::NotAnObject { .. }));
        let InfraErrorKind::NotAnObject { what } = kind(r#"{"qsim_resources": {"value": 3}}"#)
        else {
            panic!("expected NotAnObject");
        };
        assert_eq!(what, "`qsim_resources.value`");
        assert!(matches!(
            kind(r#"{"qsim_resources": {"type": "string"}}"#),
            InfraErrorKind::NotAnObject { .. }
        ));
    }

    #[test]
    fn a_missing_field_names_the_scenario_and_the_field() {
        let text = entry(
            r#""queue_url": "https://sqs/1/q-x", "queue_arn": "arn:q-x",
               "side_effects_table": "t", "fifo": false"#,
        );
        let error = parse(&text).unwrap_err();
        let InfraErrorKind::InvalidEntry { scenario, reason } = &error.kind else {
            panic!("expected InvalidEntry, got {error}");
        };
        assert_eq!(scenario, "x");
        assert!(reason.contains("status_table"), "{reason}");
    }

    #[test]
    fn inconsistent_entries_are_rejected_when_read() {
        let cases = [
            (r#""dlq_url": "https://sqs/1/q-x-dlq""#, "dlq_arn"),
            (r#""dlq_arn": "arn:q-x-dlq""#, "dlq_url"),
        ];
        for (extra, named) in cases {
            let text = entry(&format!("{STANDARD_FIELDS}, {extra}"));
            let InfraErrorKind::InvalidEntry { reason, .. } = kind(&text) else {
                panic!("expected InvalidEntry for {extra}");
            };
            assert!(reason.contains(named), "{reason}");
        }
        let fifo_flag_on_standard_url = STANDARD_FIELDS.replace("false", "true");
        let InfraErrorKind::InvalidEntry { reason, .. } = kind(&entry(&fifo_flag_on_standard_url))
        else {
            panic!("expected InvalidEntry");
        };
        assert!(reason.contains(".fifo"), "{reason}");
        let empty_table = STANDARD_FIELDS.replace("q-x-status", "");
        assert!(matches!(
            kind(&entry(&empty_table)),
            InfraErrorKind::InvalidEntry { reason, .. } if reason.contains("status_table")
        ));
    }

    #[test]
    fn matching_accepts_resources_that_fit_the_file() {
        let file = parse(FULL).unwrap();
        let a = scenario("a", default_queue());
        assert_eq!(file.matching(&a).unwrap(), file.for_scenario("a").unwrap());
        let b = scenario(
            "b",
            queue(|q| {
                q.attributes.fifo = true;
                q.attributes.visibility_timeout = Duration::from_secs(5);
                q.max_receive_count = Some(3);
            }),
        );
        assert!(file.matching(&b).is_ok());
    }

    #[test]
    fn matching_rejects_resources_applied_before_the_file_changed() {
        let file = parse(FULL).unwrap();
        let mismatch = |name: &str, queue: QueueConfig| -> String {
            let error = file.matching(&scenario(name, queue)).unwrap_err();
            assert!(
                matches!(&error.kind, InfraErrorKind::Mismatch { scenario, .. } if scenario == name)
            );
            error.to_string()
        };
        let now_fifo = queue(|q| q.attributes.fifo = true);
        assert!(mismatch("a", now_fifo).contains("says fifo"));
        let now_with_dlq = queue(|q| q.max_receive_count = Some(4));
        assert!(mismatch("a", now_with_dlq).contains("max_receive_count = 4"));
        let now_without_dlq = queue(|q| q.attributes.fifo = true);
        assert!(mismatch("b", now_without_dlq).contains("no max_receive_count"));
        assert!(matches!(
            file.matching(&scenario("c", default_queue()))
                .unwrap_err()
                .kind,
            InfraErrorKind::UnknownScenario { .. }
        ));
    }
}
