//! Message lifelines: one row per message from its send to where it ended, each receive drawn as
//! the span its holder had it (until deleted, released, expired, moved or received again), with
//! deletes, DLQ moves and purges marked and the row coloured by the message's fate.

use std::fmt::Write;

use crate::backend::TransitionKind;
use crate::backend::faults::ApiOperation;
use crate::check::Facts;
use crate::check::explain::{seconds, transition_text};
use crate::engine::{EventKind, MessageIx, Outcome};

use super::svg::{Frame, escape};

/// Runs with at most this many messages show every lifeline; larger ones only the messages a
/// failure involves (the timeline chart is their aggregated view).
pub(super) const ALL_LIFELINES_UP_TO: usize = 300;
const ROW: u32 = 14;
const LABEL: u32 = 110;

/// One hold: a receive and how long its holder had the message.
struct Hold {
    from_us: u64,
    to_us: Option<u64>,
    actor: String,
    receive_count: u32,
}

#[derive(Default)]
struct Line {
    sent_us: Option<u64>,
    end_us: Option<u64>,
    holds: Vec<Hold>,
    /// (time, kind, text) of point events.
    marks: Vec<(u64, &'static str, String)>,
}

/// Fate colours, shared with the legend.
pub(super) const FATES: [(&str, &str); 9] = [
    ("processed", "#16a34a"),
    ("dlq", "#dc2626"),
    ("remaining", "#f59e0b"),
    ("lost", "#111827"),
    ("purged", "#9333ea"),
    ("stale", "#64748b"),
    ("deduplicated", "#94a3b8"),
    ("expired", "#a16207"),
    ("not-sent", "#cbd5e1"),
];

fn fate_colour(fate: &str) -> &'static str {
    FATES
        .iter()
        .find(|(name, _)| *name == fate)
        .map_or("#888", |(_, c)| c)
}

/// The lifelines of `messages` (in this order) as one SVG.
pub(super) fn svg(outcome: &Outcome, facts: &Facts, messages: &[MessageIx]) -> String {
    let log = &outcome.log;
    let end_us = (outcome.elapsed.as_micros() as u64)
        .max(log.events.last().map_or(0, |e| e.at_us))
        .max(1);
    let mut row_of = vec![usize::MAX; log.messages.len()];
    for (row, ix) in messages.iter().enumerate() {
        row_of[ix.0 as usize] = row;
    }
    let mut lines: Vec<Line> = messages.iter().map(|_| Line::default()).collect();
    let ignored = super::ignored_deletes(log);
    for event in &log.events {
        let Some(ix) = event.message else { continue };
        let row = row_of[ix.0 as usize];
        if row == usize::MAX {
            continue;
        }
        let line = &mut lines[row];
        let at = event.at_us;
        let actor = &*log.actors[event.actor.0 as usize];
        let close = |line: &mut Line| {
            if let Some(hold) = line.holds.last_mut() {
                hold.to_us.get_or_insert(at);
            }
        };
        match event.kind {
            EventKind::Sent => line.sent_us = Some(at),
            EventKind::Received { receive_count } => {
                close(line);
                line.holds.push(Hold {
                    from_us: at,
                    to_us: None,
                    actor: actor.to_owned(),
                    receive_count,
                });
            }
            EventKind::Released => close(line),
            EventKind::Deleted if ignored.contains(&(ix, at)) => {
                line.marks.push((
                    at,
                    "queue",
                    format!(
                        "deleted by {actor} at {} with a stale receipt: ignored",
                        seconds(at)
                    ),
                ));
            }
            // A stale delete is told by the delete's own line, above or below.
            EventKind::Queue(TransitionKind::StaleReceipt {
                operation: ApiOperation::Delete,
                ..
            }) => {}
            EventKind::Queue(t @ TransitionKind::StaleReceipt { .. }) => {
                line.marks
                    .push((at, "queue", transition_text(t, &seconds(at))));
            }
            EventKind::Deleted => {
                close(line);
                line.end_us = Some(at);
                line.marks.push((
                    at,
                    "delete",
                    format!("deleted by {actor} at {}", seconds(at)),
                ));
            }
            EventKind::Crashed(_) => {
                line.marks
                    .push((at, "crash", format!("{actor} crashed at {}", seconds(at))))
            }
            EventKind::Queue(t) => {
                close(line);
                let kind = match t {
                    TransitionKind::DeadLettered { .. } => "dlq",
                    TransitionKind::Purged => "purge",
                    TransitionKind::VisibilityExpired => "expire",
                    _ => "queue",
                };
                if matches!(
                    t,
                    TransitionKind::Purged | TransitionKind::Deduplicated | TransitionKind::Expired
                ) {
                    line.end_us = Some(at);
                }
                line.marks
                    .push((at, kind, format!("{} at {}", t.as_str(), seconds(at))));
            }
            _ => {}
        }
    }
    let frame = Frame::with_left(end_us, LABEL);
    let height = ROW * messages.len() as u32 + 20;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="lifelines" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {height}" width="{w}" height="{height}" role="img" aria-label="message lifelines">"#,
        w = Frame::WIDTH
    );
    for (row, (ix, line)) in messages.iter().zip(&lines).enumerate() {
        let y = row as u32 * ROW + ROW / 2;
        let id = &log.meta(*ix).id;
        let fate = facts.fate(ix.0 as usize).as_str();
        let colour = fate_colour(fate);
        let from = line.sent_us.unwrap_or(0);
        let to = line.end_us.unwrap_or(end_us);
        let _ = write!(
            out,
            r##"<g class="lifeline" data-message="{id}" data-fate="{fate}"><text x="0" y="{ty}" font-size="10">{id}</text><line x1="{x1:.1}" x2="{x2:.1}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"><title>{id}: {fate}</title></line>"##,
            id = escape(id),
            ty = y + 3,
            x1 = frame.x(from),
            x2 = frame.x(to).max(frame.x(from) + 1.0),
        );
        for hold in &line.holds {
            let x1 = frame.x(hold.from_us);
            let x2 = frame.x(hold.to_us.unwrap_or(to)).max(x1 + 2.0);
            let _ = write!(
                out,
                r##"<rect class="hold" x="{x1:.1}" y="{ry}" width="{w:.1}" height="{h}" fill="{colour}" fill-opacity="0.45" stroke="{colour}"><title>received by {actor} at {t} (receive {n}){until}</title></rect>"##,
                ry = y - ROW / 2 + 2,
                w = x2 - x1,
                h = ROW - 4,
                actor = escape(&hold.actor),
                t = seconds(hold.from_us),
                n = hold.receive_count,
                until = hold
                    .to_us
                    .map(|t| format!(", held until {}", seconds(t)))
                    .unwrap_or_default(),
            );
        }
        for (at, kind, text) in &line.marks {
            let x = frame.x(*at);
            let shape = match *kind {
                "delete" => format!(r##"<circle cx="{x:.1}" cy="{y}" r="3" fill="#111">"##),
                "dlq" => format!(
                    r##"<rect x="{:.1}" y="{}" width="7" height="7" fill="#dc2626">"##,
                    x - 3.5,
                    y - 3
                ),
                "purge" | "crash" => format!(
                    r##"<path d="M{:.1} {} l6 6 m0 -6 l-6 6" stroke="#111" stroke-width="1.5">"##,
                    x - 3.0,
                    y - 3
                ),
                _ => format!(r##"<circle cx="{x:.1}" cy="{y}" r="2" fill="#fff" stroke="#111">"##),
            };
            let close = match *kind {
                "delete" | "expire" | "queue" => "</circle>",
                "dlq" => "</rect>",
                _ => "</path>",
            };
            let _ = write!(out, r#"{shape}<title>{}</title>{close}"#, escape(text));
        }
        out.push_str("</g>");
    }
    frame.time_axis(&mut out, ROW * messages.len() as u32);
    out.push_str("</svg>");
    out
}
