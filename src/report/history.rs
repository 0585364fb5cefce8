//! Reads a history (`--events` JSON lines, as [`super::events::write`] writes them) back into
//! the [`Outcome`] it was written from, so `qsim report` renders the same page from the file as
//! `--html` does from the run.
//!
//! Every line must conform to the documented format ([`super::events::conforms`]); the first
//! that does not is an error naming its line and, for JSON syntax, its column. The scenario the
//! history is a run of supplies what the file does not carry: the producers' and groups' order
//! (messages and instances are indexed by it) and the expectations.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::events::{FORMAT, conforms};
use crate::backend::faults::ApiUsage;
use crate::backend::{MoveTask, MoveTaskState, QueueRole, Receipt, ReceivedMessage};
use crate::engine::event_line::{event_kind, field, micros, queue_role, status};
use crate::engine::{
    Ending, EventKind, EventLog, FinalItem, FinalItems, FinalState, InstanceState, MessageFields,
    MessageIx, MessageMeta, Outcome,
};
use crate::scenario::{GroupIx, Scenario};

/// A history that could not be read: where, and why.
#[derive(Debug)]
pub struct HistoryError {
    pub path: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    /// 1-based, for JSON syntax errors.
    pub column: Option<usize>,
    pub reason: String,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.path.display(), self.reason),
            (line, Some(column)) => {
                write!(
                    f,
                    "{}:{line}:{column}: {}",
                    self.path.display(),
                    self.reason
                )
            }
            (line, None) => write!(f, "{}:{line}: {}", self.path.display(), self.reason),
        }
    }
}

impl std::error::Error for HistoryError {}

/// The history's header: what the run was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub scenario: String,
    pub seed: u64,
}

/// The header of history `text` (the file at `path`): which scenario it is a run of, the seed.
pub fn header(path: &Path, text: &str) -> Result<Header, HistoryError> {
    let first = text.lines().next().unwrap_or("");
    check_header(path, &json_line(path, 1, first)?)
}

/// The text of the history at `path`.
pub fn read(path: &Path) -> Result<String, HistoryError> {
    std::fs::read_to_string(path).map_err(|e| HistoryError {
        path: path.to_owned(),
        line: 0,
        column: None,
        reason: format!("cannot read it: {e}"),
    })
}

/// Rebuilds the outcome of the run `text` (the history at `path`) records, a run of `scenario`.
pub fn outcome(path: &Path, text: &str, scenario: &Scenario) -> Result<Outcome, HistoryError> {
    let mut reader = Reader::new(path, scenario);
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
    let last = text.lines().count();
    let Some((_, first)) = lines.next() else {
        return Err(reader.error(1, "the file is empty: a history opens with its header line"));
    };
    let header_value = json_line(path, 1, first)?;
    let header = check_header(path, &header_value)?;
    if header.scenario != scenario.name {
        return Err(reader.error(
            1,
            format!(
                "this is a history of scenario `{}`, not of `{}` ({})",
                header.scenario,
                scenario.name,
                scenario.path.display()
            ),
        ));
    }
    reader.seed = header.seed;
    reader.backend = match header_value["backend"].as_str() {
        Some("sim") => "sim",
        Some("aws") => "aws",
        other => {
            return Err(reader.error(1, format!("unknown backend {other:?}: sim or aws")));
        }
    };
    reader.observed_queue = header_value["observed_queue"].as_bool().unwrap_or(false);
    // Messages first, in the order of their first line with facts: a line may name a message
    // before that one (a `fault` or `retried` of its send, a FIFO `deduplicated`).
    for (number, line) in lines.clone() {
        if !(line.contains("sent") || line.contains("send-failed") || line.contains("committed")) {
            continue;
        }
        // A line that is not JSON or not as documented is reported, with its number, by the
        // pass below.
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if conforms(&value).is_err() {
            continue;
        }
        reader
            .register_first(&value)
            .map_err(|reason| reader.error(number, reason))?;
    }
    for (number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        if reader.ended.is_some() {
            return Err(reader.error(number, "a line after `run-ended`, the last line of a run"));
        }
        let value = json_line(path, number, line)?;
        conforms(&value).map_err(|reason| reader.error(number, reason))?;
        reader
            .line(&value)
            .map_err(|reason| reader.error(number, reason))?;
    }
    reader.finish(last)
}

fn json_line(path: &Path, line: usize, text: &str) -> Result<Value, HistoryError> {
    serde_json::from_str(text).map_err(|e| HistoryError {
        path: path.to_owned(),
        line,
        column: Some(e.column()),
        reason: format!("not JSON: {e}"),
    })
}

fn check_header(path: &Path, header: &Value) -> Result<Header, HistoryError> {
    let error = |reason: String| HistoryError {
        path: path.to_owned(),
        line: 1,
        column: None,
        reason,
    };
    if header["format"] != FORMAT {
        return Err(error(format!(
            "not a qsim history: the first line's `format` is not \"{FORMAT}\" (write one with `qsim run FILE --events PATH`)"
        )));
    }
    conforms(header).map_err(error)?;
    if header["version"] != super::events::VERSION {
        return Err(error(format!(
            "history version {} is not the version this qsim reads ({})",
            header["version"],
            super::events::VERSION
        )));
    }
    Ok(Header {
        scenario: header["scenario"].as_str().unwrap_or_default().to_owned(),
        seed: header["seed"].as_u64().unwrap_or_default(),
    })
}

struct Reader<'a> {
    path: &'a Path,
    scenario: &'a Scenario,
    seed: u64,
    backend: &'static str,
    observed_queue: bool,
    log: EventLog,
    final_state: FinalState,
    /// `final-item` lines by table (status, side effects), in the order read: a history
    /// written by hand or cut and joined need not list them by key.
    final_items: [Vec<(String, FinalItem)>; 2],
    instances: BTreeMap<String, (GroupIx, InstanceState)>,
    /// `run-ended`'s time, ending and peak consumers, once read.
    ended: Option<(u64, Ending, u64)>,
    /// `run-ended`'s API calls and billed requests.
    api: ApiUsage,
}

impl<'a> Reader<'a> {
    fn new(path: &'a Path, scenario: &'a Scenario) -> Self {
        let mut log = EventLog::default();
        // The engine names the queues' own actors first; so does the reader, so actor ids match.
        log.actor("queue:main");
        log.actor("queue:dlq");
        Reader {
            path,
            scenario,
            seed: 0,
            backend: "sim",
            observed_queue: false,
            log,
            final_state: FinalState::default(),
            final_items: Default::default(),
            instances: BTreeMap::new(),
            ended: None,
            api: ApiUsage::default(),
        }
    }

    fn error(&self, line: usize, reason: impl Into<String>) -> HistoryError {
        HistoryError {
            path: self.path.to_owned(),
            line,
            column: None,
            reason: reason.into(),
        }
    }

    /// One line after the header (already checked against the documented fields and types).
    fn line(&mut self, value: &Value) -> Result<(), String> {
        let at_us = micros(value["t_ms"].as_f64().unwrap_or_default());
        let actor_name = value["actor"].as_str().unwrap_or_default();
        let event = value["event"].as_str().unwrap_or_default();
        let message_id = value.get("message").and_then(Value::as_str);
        let message =
            match message_id {
                Some(id) => Some(self.log.lookup(id).ok_or_else(|| {
                    format!("message `{id}` was never sent (no `sent` line before)")
                })?),
                None => None,
            };
        let kind = match event {
            "final-message" => return self.final_message(value, message),
            "final-item" => return self.final_item(value),
            "run-ended" => {
                let ending = field::<String>(value, "ending")?;
                let ending = [
                    Ending::Completed,
                    Ending::TimedOut,
                    Ending::WallLimit,
                    Ending::Standstill,
                ]
                .into_iter()
                .find(|e| e.as_str() == ending)
                .ok_or_else(|| format!("unknown ending `{ending}`"))?;
                let redriven = field::<u64>(value, "redriven")?;
                if redriven > 0 {
                    self.final_state.move_task = Some(MoveTask {
                        handle: "history".into(),
                        state: MoveTaskState::Completed,
                        moved: redriven,
                        to_move: None,
                    });
                }
                self.ended = Some((at_us, ending, field(value, "peak_consumers")?));
                self.api = ApiUsage {
                    calls: api_counts(value, "api_calls")?,
                    billed: api_counts(value, "billed_requests")?,
                };
                return Ok(());
            }
            _ => event_kind(&mut self.log, event, value, message)?,
        };
        self.track_instance(actor_name, &kind);
        let actor = self.log.actor(actor_name);
        self.log.push(at_us, actor, message, kind);
        Ok(())
    }

    /// Registers the message of a line with its facts (`sent` or `send-failed`, or the
    /// `committed` of a producer that writes its record first) unless an earlier line did.
    fn register_first(&mut self, value: &Value) -> Result<(), String> {
        let event = value["event"].as_str().unwrap_or_default();
        if !matches!(event, "sent" | "send-failed" | "committed") {
            return Ok(());
        }
        let id = value
            .get("message")
            .and_then(Value::as_str)
            .ok_or("a send names its message")?;
        if self.log.lookup(id).is_some() {
            return Ok(());
        }
        let at_us = micros(value["t_ms"].as_f64().unwrap_or_default());
        self.register(id, value, at_us, event != "send-failed")
    }

    fn register(&mut self, id: &str, value: &Value, at_us: u64, sent: bool) -> Result<(), String> {
        let producer_name = field::<String>(value, "producer")?;
        let producer = self
            .scenario
            .producers
            .iter()
            .position(|p| p.name == producer_name)
            .ok_or_else(|| {
                format!(
                    "producer `{producer_name}` is not in scenario `{}`",
                    self.scenario.name
                )
            })?;
        let text = |name: &str| -> Result<Option<Arc<str>>, String> {
            Ok(field::<Option<String>>(value, name)?.map(Arc::from))
        };
        self.log.register(MessageMeta::new(MessageFields {
            id: id.into(),
            producer,
            poison: field(value, "poison")?,
            // The engine's one group of a standard queue, which the history writes as null.
            group: text("group")?.unwrap_or_else(|| "-".into()),
            dedup_id: text("dedup_id")?,
            entity: text("entity")?,
            version: field(value, "version")?,
            sent_at_us: sent.then_some(at_us),
            seq: field(value, "seq")?,
        }));
        Ok(())
    }

    /// How each consumer instance ended, from its own events (the history has no separate
    /// record of it): the last of started, exited, crashed or killed.
    fn track_instance(&mut self, actor: &str, kind: &EventKind) {
        let state = match kind {
            EventKind::ConsumerStarted => InstanceState::Running,
            EventKind::Exited(_) => InstanceState::ExitedClean,
            EventKind::Crashed(_) => InstanceState::Crashed,
            EventKind::Killed => InstanceState::Killed,
            _ => return,
        };
        let group = actor
            .rsplit_once('-')
            .and_then(|(group, _)| self.scenario.consumers.iter().position(|g| g.name == group));
        if let Some(group) = group {
            self.instances
                .insert(actor.to_owned(), (GroupIx(group), state));
        }
    }

    fn final_message(&mut self, value: &Value, message: Option<MessageIx>) -> Result<(), String> {
        let id = message.map(|ix| self.log.meta(ix).id.clone());
        // A body the engine can read the id back from, as it did from the real one.
        let body = match &id {
            Some(id) => serde_json::json!({ "id": &**id }).to_string(),
            None => "{}".to_owned(),
        };
        let remaining = ReceivedMessage {
            message_id: id.clone().unwrap_or_else(|| "unexpected".into()).into(),
            body: body.into(),
            receipt: Receipt::Handle("history".into()),
            receive_count: field(value, "receive_count")?,
            group_id: None,
        };
        match queue_role(&field::<String>(value, "queue")?)? {
            QueueRole::Main => self.final_state.main.push(remaining),
            QueueRole::DeadLetter => self.final_state.dlq.push(remaining),
        }
        Ok(())
    }

    fn final_item(&mut self, value: &Value) -> Result<(), String> {
        let key = field::<String>(value, "key")?;
        let item = FinalItem {
            status: field::<Option<String>>(value, "status")?
                .map(|s| status(&s))
                .transpose()?,
            count: field(value, "count")?,
            version: field(value, "version")?,
        };
        match field::<String>(value, "table")?.as_str() {
            "status" => self.final_items[0].push((key, item)),
            "side_effects" => self.final_items[1].push((key, item)),
            other => return Err(format!("unknown table `{other}`: status or side_effects")),
        }
        Ok(())
    }

    /// The outcome, once every line up to `last` is read.
    fn finish(mut self, last: usize) -> Result<Outcome, HistoryError> {
        let [status, side_effects] = std::mem::take(&mut self.final_items);
        let Some((end_us, ending, peak_consumers)) = self.ended else {
            return Err(self.error(
                last,
                "the history ends without its `run-ended` line: it was cut short",
            ));
        };
        // Instances still running when a run is cut short were abandoned, as the engine says.
        if ending != Ending::Completed {
            for (_, state) in self.instances.values_mut() {
                if *state == InstanceState::Running {
                    *state = InstanceState::Abandoned;
                }
            }
        }
        Ok(Outcome {
            seed: self.seed,
            backend: self.backend,
            observed_queue: self.observed_queue,
            // A history carries the consumers' lines it has; a `command` consumer's are there
            // only when the endpoint recorded them.
            consumer_calls_observed: !self.scenario.runs_commands()
                || self
                    .log
                    .events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::Received { .. })),
            log: self.log,
            final_state: FinalState {
                status: FinalItems::from_unsorted(status),
                side_effects: FinalItems::from_unsorted(side_effects),
                ..self.final_state
            },
            ending,
            elapsed: Duration::from_micros(end_us),
            instances: self.instances,
            peak_consumers,
            api: self.api,
        })
    }
}

/// `{"ReceiveMessage": 3, ...}` of the `run-ended` line, keyed by the API names the fault
/// layer counts under.
fn api_counts(value: &Value, name: &str) -> Result<BTreeMap<&'static str, u64>, String> {
    field::<BTreeMap<String, u64>>(value, name)?
        .into_iter()
        .map(|(operation, n)| {
            crate::backend::faults::counted_api_name(&operation)
                .map(|api| (api, n))
                .ok_or_else(|| format!("`{name}`: unknown API operation `{operation}`"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::check::snapshot::SnapshotStatus;
    use crate::runner::{RunResult, ScenarioRun};

    fn history_of(scenario: &Scenario) -> (Outcome, String) {
        let outcome =
            crate::runner::simulate(Rc::new(scenario.clone()), scenario.seed).expect("runs");
        let mut text = Vec::new();
        super::super::events::write(&mut text, scenario, &outcome).unwrap();
        (outcome, String::from_utf8(text).unwrap())
    }

    /// The page of a run as `--html` renders it, but without what a history cannot carry
    /// (the wall time, the snapshot's status).
    fn page(scenario: &Scenario, outcome: Outcome) -> String {
        let mut run: ScenarioRun = crate::runner::from_history(scenario.clone(), outcome);
        if let RunResult::Finished(f) = &mut run.result {
            f.snapshot = SnapshotStatus::NotCompared;
        }
        crate::report::html::render(std::slice::from_ref(&run))
    }

    #[test]
    fn every_catalog_history_reads_back_into_the_same_report() {
        let mut files = crate::scenario::discover(Path::new("scenarios.d")).unwrap();
        files.push("tests/fixtures/html/killed-worker.toml".into());
        for file in files {
            let scenario = crate::scenario::load(&file).unwrap();
            if scenario.runs_child_processes() {
                continue;
            }
            let (outcome, text) = history_of(&scenario);
            let read = outcome_of(&scenario, &text);
            // Written again, the outcome read back is the same history, line for line.
            let mut again = Vec::new();
            super::super::events::write(&mut again, &scenario, &read).unwrap();
            let again = String::from_utf8(again).unwrap();
            let differs = text.lines().zip(again.lines()).find(|(a, b)| a != b);
            assert_eq!(differs, None, "{}", scenario.name);
            assert_eq!(text.len(), again.len(), "{}", scenario.name);
            let (direct, replayed) = (page(&scenario, outcome), page(&scenario, read));
            let differs = direct.lines().zip(replayed.lines()).find(|(a, b)| a != b);
            assert_eq!(differs, None, "{}: the pages differ", scenario.name);
            assert_eq!(direct.len(), replayed.len(), "{}", scenario.name);
        }
    }

    fn outcome_of(scenario: &Scenario, text: &str) -> Outcome {
        outcome(Path::new("h.jsonl"), text, scenario).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error_of(scenario: &Scenario, text: &str) -> String {
        outcome(Path::new("h.jsonl"), text, scenario)
            .expect_err("an error")
            .to_string()
    }

    #[test]
    fn a_malformed_history_is_an_error_at_its_line_and_column() {
        let scenario = crate::scenario::load(Path::new("scenarios.d/happy.toml")).unwrap();
        let (_, text) = history_of(&scenario);
        let lines: Vec<&str> = text.lines().collect();
        let with_line_3 = |replacement: &str| {
            let mut changed = lines.clone();
            changed[2] = replacement;
            changed.join("\n")
        };
        assert_eq!(
            error_of(&scenario, &with_line_3(r#"{"t_ms": 1.0, "actor"}"#)),
            "h.jsonl:3:22: not JSON: expected `:` at line 1 column 22"
        );
        let unknown = with_line_3(r#"{"t_ms":1.0,"actor":"x","event":"teleported"}"#);
        assert!(
            error_of(&scenario, &unknown).starts_with("h.jsonl:3: "),
            "{}",
            error_of(&scenario, &unknown)
        );
        let cut = lines[..lines.len() - 1].join("\n");
        assert!(
            error_of(&scenario, &cut).contains("without its `run-ended` line"),
            "{}",
            error_of(&scenario, &cut)
        );
        assert!(error_of(&scenario, "").contains("empty"));
        assert!(error_of(&scenario, "{}").starts_with("h.jsonl:1: not a qsim history"));
        let other = crate::scenario::load(Path::new("scenarios.d/dup.toml")).unwrap();
        assert!(
            error_of(&other, &text).contains("a history of scenario `happy`, not of `dup`"),
            "{}",
            error_of(&other, &text)
        );
    }
}
