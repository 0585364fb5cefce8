//! A producer: turns its payload plan into messages and sends them at its rate, on its schedule,
//! in batches, until its count is reached or a `stop` action ends it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::sleep_until;

use super::claim_check;
use super::context::RunContext;
use super::event::{ActorId, EventKind, MessageFields, MessageIx, MessageMeta};
use super::outbox::RecordWriter;
use super::payload::{self, Body, Draft, ENTITY_FIELD, VERSION_FIELD};
use super::retry::retrying;
use crate::backend::faults::ApiOperation;
use crate::backend::{Backend, BackendError, BackendErrorKind, OutgoingMessage};
use crate::rng;
use crate::scenario::{Amount, DedupSource, Rate, WriteMode};

pub(super) async fn run<B: Backend>(ctx: Rc<RunContext<B>>, index: usize) {
    let scenario = ctx.scenario().clone();
    let producer = &scenario.producers[index];
    let actor = ctx.actor(&producer.name);
    let mut rng = rng::stream(ctx.seed(), &format!("producer:{}", producer.name));
    let plan = payload::plan(&producer.payload, &mut rng);
    let start = ctx.at(producer.start);
    sleep_until(start).await;

    let limit = match &producer.amount {
        Amount::Count(n) => Some(*n),
        Amount::Continuous => None,
        Amount::Schedule(times) => Some(times.len() as u64),
    };
    let limit = match (limit, plan.len()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let per_message = match producer.rate {
        Rate::Unlimited => None,
        // A rate too slow for a Duration waits "forever" rather than overflowing.
        Rate::PerSecond(rate) => {
            Some(Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::MAX))
        }
    };
    let mut next_send = start;
    let mut sent = 0u64;
    let mut scratch = Scratch::default();
    let mut records = (producer.write != WriteMode::SendOnly)
        .then(|| RecordWriter::new(ctx.clone(), index, actor, producer.write));

    'producing: while limit.is_none_or(|l| sent < l) && !ctx.producer_stopped(index) {
        let batch_len = match &producer.amount {
            Amount::Schedule(times) => {
                sleep_until(ctx.at(producer.start.saturating_add(times[sent as usize]))).await;
                1
            }
            _ => {
                if per_message.is_some() {
                    sleep_until(next_send).await;
                }
                let left = limit.map_or(u64::MAX, |l| l - sent);
                u64::from(producer.batch_size).min(left)
            }
        };
        if ctx.producer_stopped(index) {
            break;
        }
        if let Some(per_message) = per_message {
            let step = per_message.saturating_mul(u32::try_from(batch_len).unwrap_or(u32::MAX));
            next_send = next_send.checked_add(step).unwrap_or(ctx.at(Duration::MAX));
        }

        // Virtual time stands still until the next await: one reading serves the whole batch.
        let now = Now {
            us: ctx.now_us(),
            ms: ctx.now_ms(),
        };
        let mut batch = Vec::with_capacity(batch_len as usize);
        let mut ixs = Vec::with_capacity(batch_len as usize);
        let mut composed = 0;
        for k in 0..batch_len {
            let n = sent + k + 1;
            let Some(draft) = plan.draft(n, &mut rng) else {
                break;
            };
            let (outgoing, meta, payload) = compose(&ctx, index, n, draft, now, &mut scratch);
            let ix = ctx.log().borrow_mut().register(meta);
            composed += 1;
            if let Some(payload) = payload {
                match claim_check::store(&ctx, actor, ix, &payload).await {
                    Ok(()) => {}
                    // The body never reached the table, so its pointer is not sent.
                    Err(error) if error.kind.is_transient() => {
                        ctx.record_cause(actor, Some(ix), EventKind::SendFailed);
                        continue;
                    }
                    Err(error) => {
                        ctx.fail(error);
                        break 'producing;
                    }
                }
            }
            batch.push(outgoing);
            ixs.push(ix);
        }
        if composed == 0 {
            break;
        }
        sent += composed;
        if batch.is_empty() {
            continue;
        }
        let outcome = match &mut records {
            // Validation keeps these producers at one message per call.
            Some(writer) => writer.write(&batch[0], ixs[0]).await,
            None => send(&ctx, index, actor, &batch, &ixs, EventKind::Sent)
                .await
                .map(|_| ()),
        };
        if let Err(error) = outcome {
            ctx.fail(error);
            break;
        }
    }
    ctx.record(actor, None, EventKind::ProducerDone);
    ctx.producer_finished();
}

/// Sends `batch` (messages `ixs`), retried as the producer's `retries` say, and records each
/// message's outcome: `taken` for a message the queue took (`sent`, or the relay's `resent`),
/// `send-failed` for a first send that failed (a failed resend leaves its outbox row, and the
/// history the first send). Returns how many the queue took; `Err` only for a fatal error.
pub(super) async fn send<B: Backend>(
    ctx: &RunContext<B>,
    index: usize,
    actor: ActorId,
    batch: &[OutgoingMessage],
    ixs: &[MessageIx],
    taken: EventKind,
) -> Result<u64, BackendError> {
    let producer = &ctx.scenario().producers[index];
    let messages: Vec<Option<MessageIx>> = ixs.iter().copied().map(Some).collect();
    ctx.take_transitions();
    let call = (ApiOperation::Send, messages.as_slice());
    let outcome = retrying(ctx, actor, producer.retries, call, || {
        ctx.backend().send(ctx.main(), batch)
    })
    .await;
    let first = taken == EventKind::Sent;
    match outcome {
        Ok(results) => {
            let mut ok = 0;
            for (ix, result) in ixs.iter().zip(results) {
                ok += u64::from(result.is_ok());
                match (result.is_ok(), first) {
                    (true, _) => ctx.record_cause(actor, Some(*ix), taken),
                    (false, true) => ctx.record_cause(actor, Some(*ix), EventKind::SendFailed),
                    (false, false) => {}
                }
            }
            if first {
                ctx.count(|live| live.sent += ok);
            }
            Ok(ok)
        }
        // Out of attempts, or refused as too large: a producer logs the failure and goes on
        // with its next batch.
        Err(error)
            if error.kind.is_transient() || error.kind == BackendErrorKind::MessageTooLarge =>
        {
            if first {
                for ix in ixs {
                    ctx.record_cause(actor, Some(*ix), EventKind::SendFailed);
                }
            }
            Ok(0)
        }
        Err(error) => Err(error),
    }
}

/// The moment a batch is composed.
#[derive(Clone, Copy)]
struct Now {
    us: u64,
    ms: u64,
}

/// What composing keeps between messages: sequence numbers per group, and buffers reused so that
/// a message costs one allocation per string it keeps (id, body), not two.
#[derive(Default)]
struct Scratch {
    group_seq: BTreeMap<Arc<str>, u64>,
    id: String,
    body: Vec<u8>,
}

impl Scratch {
    /// The shared name of group `name` and the next sequence number in it.
    fn next_in_group(&mut self, name: &str) -> (Arc<str>, u64) {
        // One allocation per group, not per message: later messages share the map's key.
        let group = match self.group_seq.get_key_value(name) {
            Some((known, _)) => known.clone(),
            None => Arc::from(name),
        };
        let seq = self.group_seq.entry(group.clone()).or_insert(0);
        *seq += 1;
        (group, *seq)
    }
}

/// Pads the JSON object `body` to `size` bytes with a `padding` field readers ignore (a body
/// already that long stays as it is).
fn pad(body: &mut Vec<u8>, size: usize) {
    const FIELD: &[u8] = b",\"padding\":\"";
    let fixed = body.len() + FIELD.len() + 1;
    if size <= fixed {
        return;
    }
    body.pop();
    body.extend_from_slice(FIELD);
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
}

/// Builds the message and the engine's record of message `n` of producer `index`, and, when
/// its body goes by claim check, that body (the message then carries the pointer).
fn compose<B: Backend>(
    ctx: &RunContext<B>,
    index: usize,
    n: u64,
    draft: Draft,
    now: Now,
    scratch: &mut Scratch,
) -> (OutgoingMessage, MessageMeta, Option<Arc<str>>) {
    let producer = &ctx.scenario().producers[index];
    let fifo = ctx.scenario().queue.attributes.fifo;
    scratch.id.clear();
    write!(scratch.id, "{}-{n:04}", producer.name).expect("writing to a String cannot fail");
    let id: Arc<str> = Arc::from(scratch.id.as_str());
    let fifo_group: Option<Cow<str>> = match (&draft.group, fifo) {
        (Some(g), _) => Some(Cow::Borrowed(g)),
        (None, true) => Some(Cow::Owned(format!(
            "g{}",
            (n - 1) % u64::from(producer.groups) + 1
        ))),
        (None, false) => None,
    };
    // Standard queues have one order group, `-`.
    let (order_group, seq) = scratch.next_in_group(fifo_group.as_deref().unwrap_or("-"));
    let group = fifo_group.map(|_| order_group.clone());
    let dedup_id: Option<Arc<str>> = match producer.dedup {
        DedupSource::None => None,
        DedupSource::MessageId => Some(id.clone()),
        DedupSource::Payload => Some(draft.dedup_id.as_deref().map_or(id.clone(), Arc::from)),
    };
    let mut body = Body {
        id: Cow::Borrowed(&id),
        seq,
        sent_at_ms: now.ms,
        poison: draft.poison,
        fields: draft.fields,
        claim: None,
    };
    scratch.body.clear();
    serde_json::to_writer(&mut scratch.body, &body).expect("a body always serializes");
    if let Some(size) = producer.body_size {
        pad(
            &mut scratch.body,
            usize::try_from(size).unwrap_or(usize::MAX),
        );
    }
    let mut text: Arc<str> =
        Arc::from(std::str::from_utf8(&scratch.body).expect("serde_json writes UTF-8"));
    let claim_checked = producer
        .claim_check_above
        .is_some_and(|above| text.len() as u64 > above);
    let payload = claim_checked.then(|| {
        // The pointer keeps what a consumer decides on (id, poison, fields), not the padding.
        body.claim = Some(claim_check::claim_of(&text));
        let pointer = serde_json::to_string(&body).expect("a body always serializes");
        std::mem::replace(&mut text, Arc::from(pointer))
    });
    let meta = MessageMeta::new(MessageFields {
        id: id.clone(),
        producer: index,
        poison: draft.poison,
        group: order_group,
        dedup_id: dedup_id.clone(),
        entity: body.fields.get(ENTITY_FIELD).map(|f| f.as_key()),
        version: body.fields.get(VERSION_FIELD).and_then(|f| f.as_u64()),
        sent_at_us: Some(now.us),
        seq,
    });
    let outgoing = OutgoingMessage {
        entry_id: format!("m{n}"),
        body: text,
        group_id: group,
        dedup_id,
        delay: producer.delay,
    };
    (outgoing, meta, payload)
}

#[cfg(test)]
mod tests {
    use super::pad;

    #[test]
    fn padding_makes_the_body_exactly_the_size_asked_and_keeps_it_json() {
        let body = br#"{"id":"orders-0001","seq":1,"sent_at_ms":0}"#;
        for size in [10, body.len(), body.len() + 13, body.len() + 14, 2_000] {
            let mut padded = body.to_vec();
            pad(&mut padded, size);
            let value: serde_json::Value = serde_json::from_slice(&padded).unwrap();
            assert_eq!(value["id"], "orders-0001");
            // Too small to hold the padding field: left as it is.
            let expected = if size > body.len() + 13 {
                size
            } else {
                body.len()
            };
            assert_eq!(padded.len(), expected, "size {size}");
        }
    }
}
