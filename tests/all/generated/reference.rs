//! A deliberately simple reference implementation of the metrics, written from the event format
//! specification (qsim events, format version 1) alone: it reads the JSONL lines of one block,
//! folds them into per-message records in one pass, decides each message's fate by the
//! specification's rules in order, and counts. It shares no code with `qsim::check`, so the two
//! agreeing on thousands of generated histories means something.

use std::collections::BTreeMap;

use serde_json::Value;

/// A metric's value, as the reference computes it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum RefValue {
    Number(f64),
    Bool(bool),
    Counts(BTreeMap<String, u64>),
}

impl std::fmt::Display for RefValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefValue::Number(n) => write!(f, "{n}"),
            RefValue::Bool(b) => write!(f, "{b}"),
            RefValue::Counts(c) => write!(f, "{c:?}"),
        }
    }
}

/// The header line of a block.
#[derive(Debug, Default)]
struct Header {
    fifo: bool,
    observed: bool,
    max_receive_count: Option<u64>,
}

/// Everything the log says about one message.
#[derive(Debug, Default)]
struct Msg {
    /// A `send-failed` line names it: the send was made and refused.
    refused: bool,
    producer: String,
    /// (producer, FIFO group or "") for the order check.
    group: String,
    dedup_id: Option<String>,
    entity: Option<String>,
    version: Option<i64>,
    poison: bool,
    seq: i64,
    accepted: bool,
    sent_t: f64,
    /// (t_ms, receive_count) of each `received`.
    received: Vec<(f64, i64)>,
    deleted: bool,
    stale_message: bool,
    rejected: bool,
    prefetch_expired: bool,
    throttled: bool,
    effects: u64,
    purged_event: bool,
    deduplicated_event: bool,
    expired_event: bool,
    final_queue: Option<String>,
    /// A `fault` on `send` with a timeout named it.
    ambiguous: bool,
    /// t_ms of each `fault` on `send` with `timeout_after` (a copy the queue took).
    hidden_copies: Vec<f64>,
    /// A `committed` or `commit-failed` line, or a producer's `crashed` at after-commit or
    /// after-send, names it: its producer writes a business record with it.
    record_write: bool,
    /// `record:ID` is among the final status items.
    record_stored: bool,
    /// `outbox:ID` is among the final status items.
    outbox_row_left: bool,
    /// Its `resent` lines.
    resent: u64,
    /// A `payload-stored` line names it.
    payload_stored: bool,
    /// A `payload:ID:N` chunk is among the final status items.
    payload_left: bool,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Fate {
    NotSent,
    Dlq,
    Remaining,
    Stale,
    Processed,
    Purged,
    Deduplicated,
    Expired,
    Lost,
}

/// The history of one block, folded.
#[derive(Debug, Default)]
pub(super) struct History {
    header: Header,
    /// In the order of their `sent` / `send-failed` lines.
    messages: Vec<Msg>,
    by_id: BTreeMap<String, usize>,
    fates: Vec<Option<Fate>>,
    /// Side-effect + applied events per idempotency key.
    effects_by_key: BTreeMap<String, u64>,
    unexpected: u64,
    unknown_final: u64,
    crashed: u64,
    exited: u64,
    peak_consumers: f64,
    redriven: f64,
    /// `run-ended`'s `api_calls` summed, and its `billed_requests` per operation.
    api_calls: f64,
    billed_requests: BTreeMap<String, u64>,
    side_effects_table: u64,
    entity_final_version: BTreeMap<String, Option<i64>>,
    status: BTreeMap<String, u64>,
    /// (queue, t_ms) of each purge request.
    purges: Vec<(String, f64)>,
    /// Logged entries: (producer/group, message index), in file order.
    logged: Vec<(String, usize)>,
    /// Applied writes: (entity written, version, line of its applying, line of the applied).
    applied: Vec<(Option<String>, i64, usize, usize)>,
}

fn str_of<'a>(line: &'a Value, key: &str) -> Option<&'a str> {
    line.get(key).and_then(Value::as_str)
}

fn num(line: &Value, key: &str) -> Option<f64> {
    line.get(key).and_then(Value::as_f64)
}

fn int(line: &Value, key: &str) -> Option<i64> {
    line.get(key).and_then(Value::as_i64)
}

impl History {
    /// Folds the lines of one block. `Err` when the block does not start with a version 1
    /// header (the log of an older qsim).
    pub(super) fn fold(lines: &[Value]) -> Result<History, String> {
        let mut h = History::default();
        let first = lines.first().ok_or("an empty log")?;
        if str_of(first, "format") != Some("qsim-events") || int(first, "version") != Some(1) {
            return Err(format!("no qsim-events version 1 header: {first}"));
        }
        h.header = Header {
            fifo: str_of(first, "queue") == Some("fifo"),
            observed: first.get("observed_queue").and_then(Value::as_bool) == Some(true),
            max_receive_count: first.get("max_receive_count").and_then(Value::as_u64),
        };
        // Messages first: a queue event of a message (a FIFO `deduplicated`) may be logged
        // before its `sent` line at the same instant. A record-writing producer's `committed`
        // line may come first and carries the same facts; the `sent` line then says when.
        for line in &lines[1..] {
            let event = str_of(line, "event").unwrap_or("");
            if !matches!(event, "sent" | "send-failed" | "committed") {
                continue;
            }
            let id = str_of(line, "message").ok_or("a send without a message")?;
            if let Some(&i) = h.by_id.get(id) {
                if event != "committed" {
                    h.messages[i].accepted = event == "sent";
                    h.messages[i].refused = event == "send-failed";
                    h.messages[i].sent_t = num(line, "t_ms").unwrap_or(0.0);
                }
                continue;
            }
            let producer = str_of(line, "producer").unwrap_or("").to_string();
            let group = str_of(line, "group").unwrap_or("");
            h.by_id.insert(id.to_string(), h.messages.len());
            h.messages.push(Msg {
                group: format!("{producer}/{group}"),
                producer,
                dedup_id: str_of(line, "dedup_id").map(str::to_string),
                entity: str_of(line, "entity").map(str::to_string),
                version: int(line, "version"),
                poison: line.get("poison").and_then(Value::as_bool) == Some(true),
                seq: int(line, "seq").unwrap_or(0),
                accepted: event == "sent",
                refused: event == "send-failed",
                sent_t: num(line, "t_ms").unwrap_or(0.0),
                ..Msg::default()
            });
        }
        // The open `applying` line of each (actor, message), and the entity it writes.
        let mut applying: BTreeMap<(String, String), (usize, Option<String>)> = BTreeMap::new();
        for (n, line) in lines.iter().enumerate().skip(1) {
            let t = num(line, "t_ms").unwrap_or(0.0);
            let event = str_of(line, "event").unwrap_or("");
            let actor = str_of(line, "actor").unwrap_or("");
            let message = str_of(line, "message");
            let ix = message.and_then(|m| h.by_id.get(m).copied());
            match event {
                "received" => {
                    let rc = int(line, "receive_count").unwrap_or(0);
                    if let Some(i) = ix {
                        h.messages[i].received.push((t, rc));
                    }
                }
                "deleted" => {
                    if let Some(i) = ix {
                        h.messages[i].deleted = true;
                    }
                }
                "fault" => {
                    let operation = str_of(line, "operation").unwrap_or("");
                    let fault = str_of(line, "fault").unwrap_or("");
                    if let Some(i) = ix {
                        let m = &mut h.messages[i];
                        match (operation, fault) {
                            ("send", "timeout_before") => m.ambiguous = true,
                            ("send", "timeout_after") => {
                                m.ambiguous = true;
                                m.hidden_copies.push(t);
                            }
                            // The queue deleted it; only the answer was lost.
                            ("delete", "timeout_after") => m.deleted = true,
                            _ => {}
                        }
                    }
                }
                "stale-message" => {
                    if let Some(i) = ix {
                        h.messages[i].stale_message = true;
                    }
                }
                "rejected" => {
                    if let Some(i) = ix {
                        h.messages[i].rejected = true;
                    }
                }
                "prefetch-expired" => {
                    if let Some(i) = ix {
                        h.messages[i].prefetch_expired = true;
                    }
                }
                "throttled" => {
                    if let Some(i) = ix {
                        h.messages[i].throttled = true;
                    }
                }
                "side-effect" | "applied" => {
                    if let Some(i) = ix {
                        h.messages[i].effects += 1;
                    }
                    let key = str_of(line, "key").unwrap_or("").to_string();
                    *h.effects_by_key.entry(key).or_default() += 1;
                    if event == "applied" {
                        let m = message.unwrap_or("").to_string();
                        let (opened, entity) = applying
                            .remove(&(actor.to_string(), m))
                            .unwrap_or((n, None));
                        let version = int(line, "version").unwrap_or(0);
                        // The entity the consumer wrote (README: "the `entity` of their
                        // `applying` lines"); the message's own for a log without it.
                        let entity =
                            entity.or_else(|| ix.and_then(|i| h.messages[i].entity.clone()));
                        h.applied.push((entity, version, opened, n));
                    }
                }
                "applying" => {
                    let m = message.unwrap_or("").to_string();
                    let entity = str_of(line, "entity").map(str::to_string);
                    applying.insert((actor.to_string(), m), (n, entity));
                }
                "logged" => {
                    if let Some(i) = ix {
                        h.logged.push((h.messages[i].group.clone(), i));
                    }
                }
                "purged" => {
                    if let Some(i) = ix {
                        h.messages[i].purged_event = true;
                    }
                }
                "deduplicated" => {
                    if let Some(i) = ix {
                        h.messages[i].deduplicated_event = true;
                    }
                }
                "expired" => {
                    if let Some(i) = ix {
                        h.messages[i].expired_event = true;
                    }
                }
                "purge" => {
                    let queue = str_of(line, "queue").unwrap_or("").to_string();
                    h.purges.push((queue, t));
                }
                "unexpected" => h.unexpected += 1,
                "committed" | "commit-failed" => {
                    if let Some(i) = ix {
                        h.messages[i].record_write = true;
                    }
                }
                "resent" => {
                    if let Some(i) = ix {
                        h.messages[i].resent += 1;
                    }
                }
                "payload-stored" => {
                    if let Some(i) = ix {
                        h.messages[i].payload_stored = true;
                    }
                }
                "crashed" | "killed" => {
                    h.crashed += 1;
                    let point = str_of(line, "point").unwrap_or("");
                    if let (Some(i), "after-commit" | "after-send") = (ix, point) {
                        h.messages[i].record_write = true;
                    }
                }
                "exited" => h.exited += 1,
                "final-message" => match ix {
                    Some(i) => {
                        let queue = str_of(line, "queue").unwrap_or("").to_string();
                        h.messages[i].final_queue = Some(queue);
                    }
                    None => h.unknown_final += 1,
                },
                "final-item" => {
                    let key = str_of(line, "key").unwrap_or("");
                    match str_of(line, "table") {
                        Some("side_effects") => {
                            h.side_effects_table += int(line, "count").unwrap_or(0) as u64;
                            if let Some(entity) = key.strip_prefix("entity:") {
                                h.entity_final_version
                                    .insert(entity.to_string(), int(line, "version"));
                            }
                        }
                        Some("status") => {
                            if let Some(status) = str_of(line, "status") {
                                *h.status.entry(status.to_string()).or_default() += 1;
                            }
                            let payload = key
                                .strip_prefix("payload:")
                                .and_then(|rest| Some(rest.rsplit_once(':')?.0));
                            if let Some(i) = payload.and_then(|id| h.by_id.get(id).copied()) {
                                h.messages[i].payload_left = true;
                            }
                            let record = key.strip_prefix("record:");
                            let row = key.strip_prefix("outbox:");
                            let owner = record.or(row).and_then(|id| h.by_id.get(id).copied());
                            if let Some(i) = owner {
                                h.messages[i].record_stored |= record.is_some();
                                h.messages[i].outbox_row_left |= row.is_some();
                            }
                        }
                        _ => {}
                    }
                }
                "run-ended" => {
                    h.peak_consumers = num(line, "peak_consumers").unwrap_or(0.0);
                    h.redriven = num(line, "redriven").unwrap_or(0.0);
                    let counts = |key: &str| -> BTreeMap<String, u64> {
                        line.get(key)
                            .and_then(Value::as_object)
                            .map(|counts| {
                                counts
                                    .iter()
                                    .map(|(op, n)| (op.clone(), n.as_u64().unwrap_or(0)))
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    h.api_calls = counts("api_calls").values().sum::<u64>() as f64;
                    h.billed_requests = counts("billed_requests");
                }
                _ => {}
            }
        }
        h.decide_fates();
        Ok(h)
    }

    /// The specification's fate rules, first that applies, in file order (the inferred
    /// deduplication rule looks at earlier sends).
    fn decide_fates(&mut self) {
        const PURGE_REACH_MS: f64 = 60_000.0;
        const DEDUP_WINDOW_MS: f64 = 300_000.0;
        let mut dropped = vec![false; self.messages.len()];
        for i in 0..self.messages.len() {
            let m = &self.messages[i];
            let inferred_dedup = self.header.fifo
                && m.accepted
                && m.received.is_empty()
                && m.dedup_id.is_some()
                && (0..i).any(|j| {
                    let e = &self.messages[j];
                    e.accepted
                        && !dropped[j]
                        && e.dedup_id == m.dedup_id
                        && m.sent_t - e.sent_t < DEDUP_WINDOW_MS
                });
            dropped[i] = inferred_dedup;
            let purged = if self.header.observed {
                m.purged_event
            } else {
                let reached = |p: f64| {
                    self.header.max_receive_count.is_some_and(|max| {
                        m.received.iter().any(|&(t, rc)| rc >= max as i64 && t <= p)
                    })
                };
                self.purges.iter().any(|(queue, p)| match queue.as_str() {
                    "main" => m.sent_t <= p + PURGE_REACH_MS,
                    "dlq" => reached(*p),
                    _ => false,
                })
            };
            let deduplicated = if self.header.observed {
                m.deduplicated_event
            } else {
                inferred_dedup
            };
            let fate = if !m.accepted {
                Fate::NotSent
            } else if m.final_queue.as_deref() == Some("dlq") {
                Fate::Dlq
            } else if m.final_queue.as_deref() == Some("main") {
                Fate::Remaining
            } else if m.deleted && m.stale_message && m.effects == 0 {
                Fate::Stale
            } else if m.deleted {
                Fate::Processed
            } else if purged {
                Fate::Purged
            } else if deduplicated {
                Fate::Deduplicated
            } else if self.header.observed && m.expired_event {
                Fate::Expired
            } else {
                Fate::Lost
            };
            self.fates.push(Some(fate));
        }
    }

    fn fate(&self, i: usize) -> Fate {
        self.fates[i].expect("decided in fold")
    }

    /// Every metric of the specification, over the whole run (`scope` None) or over the
    /// messages of one producer (the per-message metrics only).
    pub(super) fn metrics(&self, scope: Option<&str>) -> BTreeMap<&'static str, RefValue> {
        use RefValue::{Bool, Counts, Number};
        let in_scope: Vec<usize> = (0..self.messages.len())
            .filter(|&i| scope.is_none_or(|p| self.messages[i].producer == p))
            .collect();
        let count = |pred: &dyn Fn(usize) -> bool| {
            Number(in_scope.iter().filter(|&&i| pred(i)).count() as f64)
        };
        let fated = |fate: Fate| count(&|i| self.fate(i) == fate);
        let receives = |i: usize| self.messages[i].received.len() as f64;
        let extreme = |fate: Fate, max: bool| {
            let values = in_scope
                .iter()
                .filter(|&&i| self.fate(i) == fate)
                .map(|&i| receives(i));
            let v = if max {
                values.fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
            } else {
                values.fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.min(v))))
            };
            Number(v.unwrap_or(0.0))
        };

        let mut out = BTreeMap::new();
        out.insert("sent", count(&|i| self.messages[i].accepted));
        out.insert(
            "received",
            Number(in_scope.iter().map(|&i| receives(i)).sum()),
        );
        out.insert("processed", fated(Fate::Processed));
        out.insert("dlq", fated(Fate::Dlq));
        out.insert("remaining", fated(Fate::Remaining));
        out.insert("purged", fated(Fate::Purged));
        out.insert("stale", fated(Fate::Stale));
        out.insert("deduplicated", fated(Fate::Deduplicated));
        out.insert("expired", fated(Fate::Expired));
        out.insert("lost", fated(Fate::Lost));
        out.insert(
            "rejected_sends",
            count(&|i| self.fate(i) == Fate::NotSent && self.messages[i].refused),
        );
        out.insert("redelivered", count(&|i| receives(i) >= 2.0));
        out.insert(
            "acked_failures",
            count(&|i| {
                let m = &self.messages[i];
                self.fate(i) == Fate::Processed && m.rejected && m.effects == 0
            }),
        );
        out.insert(
            "prefetch_expired",
            count(&|i| self.messages[i].prefetch_expired),
        );
        out.insert("throttled", count(&|i| self.messages[i].throttled));
        out.insert(
            "poison_in_dlq",
            count(&|i| self.fate(i) == Fate::Dlq && self.messages[i].poison),
        );
        out.insert(
            "good_in_dlq",
            count(&|i| self.fate(i) == Fate::Dlq && !self.messages[i].poison),
        );
        out.insert("dlq_receives_min", extreme(Fate::Dlq, false));
        out.insert("dlq_receives_max", extreme(Fate::Dlq, true));
        out.insert("min_attempts", extreme(Fate::Processed, false));
        out.insert("max_attempts", extreme(Fate::Processed, true));
        let oldest = in_scope
            .iter()
            .filter_map(|&i| {
                let m = &self.messages[i];
                m.received.first().map(|&(t, _)| (t - m.sent_t) / 1000.0)
            })
            .fold(0.0, f64::max);
        out.insert("oldest_age_seconds", Number(oldest));
        out.insert("ambiguous_sends", count(&|i| self.messages[i].ambiguous));
        out.insert(
            "lost_business_records",
            count(&|i| {
                let m = &self.messages[i];
                m.record_stored && !m.accepted && m.resent == 0
            }),
        );
        out.insert(
            "phantom_messages",
            count(&|i| {
                let m = &self.messages[i];
                m.accepted && m.record_write && !m.record_stored
            }),
        );
        out.insert(
            "unsent_outbox_rows",
            count(&|i| self.messages[i].outbox_row_left),
        );
        out.insert("claim_checked", count(&|i| self.messages[i].payload_stored));
        out.insert(
            "orphaned_payloads",
            count(&|i| {
                let m = &self.messages[i];
                m.payload_left && m.final_queue.is_none()
            }),
        );
        out.insert(
            "relay_resends",
            Number(
                in_scope
                    .iter()
                    .map(|&i| self.messages[i].resent as f64)
                    .sum(),
            ),
        );
        let from_retries: usize = in_scope
            .iter()
            .map(|&i| {
                let m = &self.messages[i];
                let mut copies = m.hidden_copies.clone();
                if m.accepted {
                    copies.push(m.sent_t);
                }
                let first = copies.iter().copied().fold(f64::INFINITY, f64::min);
                if copies.is_empty() {
                    0
                } else if self.header.fifo && m.dedup_id.is_some() {
                    // A FIFO copy within 5 minutes of the first is deduplicated.
                    copies.iter().filter(|&&t| t - first >= 300_000.0).count()
                } else {
                    copies.len() - 1
                }
            })
            .sum();
        out.insert("duplicates_from_retries", Number(from_retries as f64));
        if scope.is_some() {
            let effects = in_scope
                .iter()
                .map(|&i| self.messages[i].effects)
                .sum::<u64>();
            out.insert("side_effects", Number(effects as f64));
            return out;
        }

        out.insert("side_effects", Number(self.side_effects_table as f64));
        let duplicated: u64 = self
            .effects_by_key
            .values()
            .map(|&n| n.saturating_sub(1))
            .sum();
        out.insert("duplicated_effects", Number(duplicated as f64));
        let per_key_max = self.effects_by_key.values().copied().max().unwrap_or(0);
        out.insert("effects_per_key_max", Number(per_key_max as f64));
        out.insert(
            "unexpected",
            Number((self.unexpected + self.unknown_final) as f64),
        );
        let stored =
            (0..self.messages.len()).any(|i| matches!(self.fate(i), Fate::Dlq | Fate::Remaining));
        out.insert("queue_empty", Bool(!stored && self.unknown_final == 0));
        out.insert("crashed", Number(self.crashed as f64));
        out.insert("exited_clean", Number(self.exited as f64));
        out.insert("peak_consumers", Number(self.peak_consumers));
        out.insert("redriven", Number(self.redriven));
        out.insert("api_calls", Number(self.api_calls));
        // The README's price table: SQS per request (FIFO dearer), DynamoDB writes and reads.
        let sqs_per_million = if self.header.fifo { 0.50 } else { 0.40 };
        let cost: f64 = self
            .billed_requests
            .iter()
            .map(|(op, &n)| {
                let per_million = match op.as_str() {
                    "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" => 0.625,
                    "GetItem" => 0.125,
                    _ => sqs_per_million,
                };
                n as f64 * per_million / 1e6
            })
            .sum();
        out.insert("estimated_cost_usd", Number(cost));

        let mut highest: BTreeMap<&str, i64> = BTreeMap::new();
        let mut violations = 0;
        for (group, i) in &self.logged {
            let seq = self.messages[*i].seq;
            let high = highest.entry(group.as_str()).or_insert(i64::MIN);
            if seq < *high {
                violations += 1;
            }
            *high = (*high).max(seq);
        }
        out.insert("order_violations", Number(violations as f64));
        out.insert("ordered", Bool(violations == 0));

        let mut stale_overwrites = 0;
        for (entity, version, opened, _) in &self.applied {
            let newer_done_before = self
                .applied
                .iter()
                .any(|(e, v, _, done)| done < opened && e == entity && v > version);
            if entity.is_some() && newer_done_before {
                stale_overwrites += 1;
            }
        }
        out.insert("stale_overwrites", Number(stale_overwrites as f64));
        out.insert("versions_increasing", Bool(stale_overwrites == 0));

        let mut newest: BTreeMap<&str, i64> = BTreeMap::new();
        for m in self.messages.iter().filter(|m| m.accepted) {
            if let (Some(entity), Some(version)) = (&m.entity, m.version) {
                let slot = newest.entry(entity).or_insert(i64::MIN);
                *slot = (*slot).max(version);
            }
        }
        let all_newest = newest.iter().all(|(entity, v)| {
            self.entity_final_version.get(*entity).copied().flatten() == Some(*v)
        });
        out.insert("final_versions_newest", Bool(all_newest));
        out.insert("status", Counts(self.status.clone()));
        out
    }
}
