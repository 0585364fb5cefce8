//! The server's history (`qsim serve --events FILE`): JSON lines in the format the engine's
//! `--events` writes (`t_ms`, `actor`, `event`, `message` first), with the same event names
//! for the same things: a queue's own transitions keep their names (`visibility-expired`,
//! `dead-lettered`, `purged`, `deduplicated`, `expired`, `redriven`, `duplicated`) and the
//! messages' `sent`, `received` and `deleted` theirs. A server knows no scenario, so its header
//! names the server instead, and it adds the kinds only a server has:
//!
//! - `call` (actor `api`): every API call, with `operation` (`AmazonSQS.SendMessage`), and
//!   `error` (the error code, or null);
//! - `item-written` (actor `table:NAME`): a DynamoDB item a write changed, with `key`, `old`
//!   and `new` (DynamoDB JSON, null where absent);
//! - `server-stopped` (actor `server`): the last line.
//!
//! Callers: a client that signs with an access key id `qsim.NAME` (see
//! [`crate::backend::CALLER_KEY_PREFIX`]) is named by it: its `call` lines carry `caller: NAME`
//! and `billed` (the requests AWS would bill for it, as qsim counts its own calls),
//! and the messages it sent, received or deleted are its lines (actor `NAME`, with `caller`)
//! instead of their queue's. This is how a run tells which of its `command` consumers made
//! which receive. Any other key is never written: it may be a real credential's. A `[[faults]]`
//! rule (a run's, served to its `command` consumers) strikes only such callers' calls: a `fault`
//! line (actor `NAME`, `operation`, `fault`, `message` when it took one), as the engine writes.
//!
//! Lines after the header are in time order once the server stopped (see `in_time_order`);
//! a call's lines are stamped when it was answered, so a transition due at the very instant of
//! a call (a 0 s visibility timeout expiring at its receive) sorts before that call's lines.
//!
//! Message identity: `message` is qsim's id when the body is a qsim body (`{"id": ...}`), so a
//! history of a run through the server lines up with the engine's; `sqs_message_id` is SQS's.
//! Lines about one message carry `queue` (its queue's name); a transition's actor is
//! `queue:NAME`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value, json};

use super::clock::WallClock;
use super::dynamodb::ItemWrite;
use crate::backend::faults::{ApiOperation, FaultKind};
use crate::backend::{QueueTransition, ReceivedMessage};
use crate::engine::Body;
use crate::report::events::{self, FORMAT, VERSION};

/// A message an API call concerned, noted by the operation for the history.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    event: &'static str,
    queue: String,
    message_id: Arc<str>,
    body: Arc<str>,
    receive_count: Option<u32>,
}

impl Note {
    pub(crate) fn sent(queue: &str, message_id: &Arc<str>, body: &Arc<str>) -> Note {
        Note {
            event: "sent",
            queue: queue.to_owned(),
            message_id: Arc::clone(message_id),
            body: Arc::clone(body),
            receive_count: None,
        }
    }

    pub(crate) fn received(queue: &str, message: &ReceivedMessage) -> Note {
        Note {
            event: "received",
            queue: queue.to_owned(),
            message_id: message.message_id.text(),
            body: Arc::clone(&message.body),
            receive_count: Some(message.receive_count),
        }
    }

    /// The length of the message's body, which SQS bills by.
    pub(crate) fn body_len(&self) -> usize {
        self.body.len()
    }

    pub(crate) fn deleted(queue: &str, message_id: &Arc<str>, body: &Arc<str>) -> Note {
        Note {
            event: "deleted",
            queue: queue.to_owned(),
            message_id: Arc::clone(message_id),
            body: Arc::clone(body),
            receive_count: None,
        }
    }
}

/// The history as it is written, shared with the process that started the server in-process
/// (a run serving the simulator to its `command` consumers reads their calls from it).
#[derive(Clone, Debug, Default)]
pub struct HistoryTap {
    shared: Arc<Mutex<TapLines>>,
}

#[derive(Debug, Default)]
struct TapLines {
    /// The server clock's start, which the lines' `t_ms` count from.
    origin: Option<std::time::Instant>,
    lines: Vec<Value>,
}

impl HistoryTap {
    /// The lines so far after the header, in time order, their `t_ms` counted from `origin`
    /// instead of the server's start (negative: before `origin`).
    pub fn lines_since(&self, origin: std::time::Instant) -> Vec<Value> {
        let tap = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let shift_ms = match tap.origin {
            Some(start) if start >= origin => (start - origin).as_secs_f64() * 1000.0,
            Some(start) => -(origin - start).as_secs_f64() * 1000.0,
            None => 0.0,
        };
        let mut lines: Vec<Value> = tap.lines.iter().skip(1).cloned().collect();
        drop(tap);
        for line in &mut lines {
            if let Some(t_ms) = line["t_ms"].as_f64() {
                line["t_ms"] = json!(t_ms + shift_ms);
            }
        }
        lines.sort_by(|a, b| t_ms_of(a).total_cmp(&t_ms_of(b)));
        lines
    }

    fn push(&self, line: &Value) {
        let mut tap = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        tap.lines.push(line.clone());
    }

    fn set_origin(&self, clock: &WallClock) {
        let mut tap = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        tap.origin = Some(clock.origin().into_std());
    }
}

fn t_ms_of(line: &Value) -> f64 {
    line["t_ms"].as_f64().unwrap_or(f64::MAX)
}

/// Where the history goes: a file (`--events`), a tap, or both. The first write error to the
/// file is kept and reported at the end.
#[derive(Debug)]
pub(crate) struct History {
    out: Option<BufWriter<File>>,
    tap: Option<HistoryTap>,
    clock: WallClock,
    failed: Option<io::Error>,
}

impl History {
    pub(crate) fn start(
        file: Option<File>,
        tap: Option<HistoryTap>,
        clock: WallClock,
        profile: &str,
        seed: u64,
    ) -> History {
        if let Some(tap) = &tap {
            tap.set_origin(&clock);
        }
        let mut history = History {
            out: file.map(BufWriter::new),
            tap,
            clock,
            failed: None,
        };
        history.line(&json!({
            "format": FORMAT,
            "version": VERSION,
            "server": "qsim serve",
            "profile": profile,
            "seed": seed,
        }));
        history
    }

    /// A call by `caller` (see [`crate::backend::CALLER_KEY_PREFIX`]), with the requests it
    /// bills, and the messages it concerned.
    pub(crate) fn call(
        &mut self,
        operation: &str,
        (caller, billed): (Option<&str>, Option<u64>),
        error: Option<&str>,
        notes: &[Note],
    ) {
        let mut fields = Map::new();
        fields.insert("operation".into(), json!(operation));
        if let Some(caller) = caller {
            fields.insert("caller".into(), json!(caller));
        }
        if let Some(billed) = billed {
            fields.insert("billed".into(), json!(billed));
        }
        fields.insert("error".into(), json!(error));
        self.event("api", "call", None, fields);
        for note in notes {
            let mut fields = Map::new();
            fields.insert("queue".into(), json!(note.queue));
            fields.insert("sqs_message_id".into(), json!(&*note.message_id));
            if let Some(count) = note.receive_count {
                fields.insert("receive_count".into(), json!(count));
            }
            let actor = match caller {
                Some(caller) => {
                    fields.insert("caller".into(), json!(caller));
                    caller.to_owned()
                }
                None => format!("queue:{}", note.queue),
            };
            self.event(&actor, note.event, Some(&note.body), fields);
        }
    }

    /// A `[[faults]]` rule struck a call by `caller`: a `fault` line, naming the message of
    /// `note` when the fault took one (a hidden receive's or delete's).
    pub(crate) fn fault(
        &mut self,
        caller: &str,
        operation: ApiOperation,
        fault: FaultKind,
        note: Option<&Note>,
    ) {
        let mut fields = Map::new();
        fields.insert("operation".into(), json!(operation.as_str()));
        fields.insert("fault".into(), json!(fault.as_str()));
        fields.insert("caller".into(), json!(caller));
        if let Some(note) = note {
            fields.insert("queue".into(), json!(note.queue));
            fields.insert("sqs_message_id".into(), json!(&*note.message_id));
        }
        self.event(caller, "fault", note.map(|n| &*n.body), fields);
    }

    pub(crate) fn transition(&mut self, queue: &str, transition: &QueueTransition) {
        let mut fields = Map::new();
        fields.insert("queue".into(), json!(queue));
        events::transition_fields(transition.kind, |name, value| {
            fields.insert(name.into(), value);
        });
        let t_ms = self.clock.elapsed_of(transition.at).as_secs_f64() * 1000.0;
        let actor = format!("queue:{queue}");
        let line = common(
            t_ms,
            &actor,
            transition.kind.as_str(),
            Some(&transition.body),
            fields,
        );
        self.line(&line);
    }

    pub(crate) fn item_written(&mut self, write: &ItemWrite) {
        let mut fields = Map::new();
        fields.insert("table".into(), json!(write.table));
        fields.insert("key".into(), write.key.clone());
        fields.insert("old".into(), write.old.clone().unwrap_or(Value::Null));
        fields.insert("new".into(), write.new.clone().unwrap_or(Value::Null));
        let actor = format!("table:{}", write.table);
        self.event(&actor, "item-written", None, fields);
    }

    /// The last line; flushes the file, puts its lines in time order (see
    /// [`in_time_order`]) and returns the first error writing it met.
    pub(crate) fn finish(mut self, path: Option<&Path>) -> io::Result<()> {
        self.event("server", "server-stopped", None, Map::new());
        let (Some(mut out), Some(path)) = (self.out.take(), path) else {
            return Ok(());
        };
        if let Err(error) = out.flush() {
            self.failed.get_or_insert(error);
        }
        drop(out);
        match self.failed {
            Some(error) => Err(error),
            None => rewrite_in_time_order(path),
        }
    }

    fn event(
        &mut self,
        actor: &str,
        event: &'static str,
        body: Option<&str>,
        fields: Map<String, Value>,
    ) {
        let t_ms = self
            .clock
            .elapsed_of(tokio::time::Instant::now())
            .as_secs_f64()
            * 1000.0;
        let line = common(t_ms, actor, event, body, fields);
        self.line(&line);
    }

    fn line(&mut self, value: &Value) {
        if let Some(tap) = &self.tap {
            tap.push(value);
        }
        let Some(out) = self.out.as_mut().filter(|_| self.failed.is_none()) else {
            return;
        };
        let written = serde_json::to_writer(&mut *out, value)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(error) = written {
            self.failed = Some(error);
        }
    }
}

/// A line in the engine's shape; `message` is the body's qsim id when it has one.
fn common(
    t_ms: f64,
    actor: &str,
    event: &'static str,
    body: Option<&str>,
    fields: Map<String, Value>,
) -> Value {
    let id = body.and_then(Body::id_of);
    events::common(t_ms, actor, event, id.as_deref(), fields)
}

/// Puts the file's lines in time order through a temporary file renamed over it, so a crash
/// midway leaves the history as written rather than cut short.
fn rewrite_in_time_order(path: &Path) -> io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".sorting");
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::write(&temporary, in_time_order(&text))?;
    std::fs::rename(&temporary, path)
}

/// The history with its lines after the header sorted by `t_ms`, ties in written order. The
/// simulator applies a queue's timers when that queue is next called, so a transition
/// (`visibility-expired` at its due moment) is learnt, and written, after calls that came later;
/// a history reads in time order, as the engine's does.
fn in_time_order(text: &str) -> String {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let mut timed: Vec<(f64, &str)> = lines
        .map(|line| {
            let t_ms = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|value| value["t_ms"].as_f64())
                .unwrap_or(f64::MAX);
            (t_ms, line)
        })
        .collect();
    // Stable: lines of one instant keep their written order.
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut ordered = String::with_capacity(text.len());
    for line in std::iter::once(header).chain(timed.into_iter().map(|(_, line)| line)) {
        ordered.push_str(line);
        ordered.push('\n');
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_put_in_time_order_ties_kept_as_written() {
        let text = concat!(
            "{\"format\":\"qsim-events\"}\n",
            "{\"t_ms\":5.0,\"event\":\"call\",\"n\":1}\n",
            "{\"t_ms\":3.0,\"event\":\"visibility-expired\"}\n",
            "{\"t_ms\":5.0,\"event\":\"call\",\"n\":2}\n",
        );
        let events: Vec<String> = in_time_order(text)
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).unwrap();
                format!(
                    "{}{}",
                    value["event"].as_str().unwrap_or("header"),
                    value["n"]
                )
            })
            .collect();
        assert_eq!(
            events,
            ["headernull", "visibility-expirednull", "call1", "call2"]
        );
    }
}
