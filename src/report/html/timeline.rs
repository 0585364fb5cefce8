//! The timeline chart: queue depths, live consumers and send/delete rates over the run's time,
//! derived from the history (each message's place replayed event by event, not sampled from
//! the backend), drawn as inline SVG with the timeline's actions marked.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::backend::TransitionKind;
use crate::engine::{ActorId, EventKind, Outcome};

use super::svg::{Frame, escape};

/// Buckets across the run: enough for a 1000 px chart, few enough to keep the file small.
const BUCKETS: usize = 200;
/// Action markers drawn at most (the rest are counted in the legend).
const MAX_MARKERS: usize = 40;

/// Where a message is, for the gauges.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Nowhere,
    Visible,
    InFlight,
    Dlq,
}

/// The gauges' maxima per bucket and the rates' counts per bucket.
pub(super) struct Series {
    pub end_us: u64,
    pub bucket_us: u64,
    pub visible: Vec<u64>,
    pub in_flight: Vec<u64>,
    pub dlq: Vec<u64>,
    pub consumers: Vec<u64>,
    pub sends: Vec<u64>,
    pub deletes: Vec<u64>,
    /// (time, label) of each timeline action, deduplicated.
    pub actions: Vec<(u64, String)>,
}

impl Series {
    pub(super) fn from_outcome(outcome: &Outcome) -> Series {
        let log = &outcome.log;
        let end_us = (outcome.elapsed.as_micros() as u64)
            .max(log.events.last().map_or(0, |e| e.at_us))
            .max(1);
        let bucket_us = end_us.div_ceil(BUCKETS as u64).max(1);
        let buckets = (end_us / bucket_us + 1) as usize;
        let mut s = Series {
            end_us,
            bucket_us,
            visible: vec![0; buckets],
            in_flight: vec![0; buckets],
            dlq: vec![0; buckets],
            consumers: vec![0; buckets],
            sends: vec![0; buckets],
            deletes: vec![0; buckets],
            actions: Vec::new(),
        };
        let mut place = vec![Place::Nowhere; log.messages.len()];
        let ignored = super::ignored_deletes(log);
        let (mut visible, mut in_flight, mut dlq) = (0u64, 0u64, 0u64);
        let mut live: BTreeSet<ActorId> = BTreeSet::new();
        let mut seen_actions: BTreeSet<(u64, String)> = BTreeSet::new();
        let mut current = 0usize;
        for event in &log.events {
            let b = ((event.at_us / bucket_us) as usize).min(buckets - 1);
            // Carry the gauges into buckets no event touched.
            while current < b {
                current += 1;
                s.visible[current] = visible;
                s.in_flight[current] = in_flight;
                s.dlq[current] = dlq;
                s.consumers[current] = live.len() as u64;
            }
            let actor = &*log.actors[event.actor.0 as usize];
            let mut action = |label: String| {
                if seen_actions.insert((event.at_us, label.clone())) {
                    s.actions.push((event.at_us, label));
                }
            };
            match event.kind {
                EventKind::ConsumerStarted => {
                    live.insert(event.actor);
                }
                EventKind::Killed => {
                    live.remove(&event.actor);
                    action(format!("kill {actor}"));
                }
                EventKind::Exited(_) => {
                    live.remove(&event.actor);
                }
                EventKind::Crashed(_) => {
                    live.remove(&event.actor);
                }
                EventKind::ShutdownRequested => action("terminate".to_owned()),
                EventKind::PurgeRequested(role) => action(format!("purge {}", role.as_str())),
                EventKind::Deployed => action(format!("deploy {actor}")),
                EventKind::RedriveStarted => action("redrive".to_owned()),
                EventKind::ScaledOut => action("scale out".to_owned()),
                EventKind::ScaledIn => action("scale in".to_owned()),
                _ => {}
            }
            if let Some(ix) = event.message {
                let before = place[ix.0 as usize];
                let after = match event.kind {
                    EventKind::Sent => {
                        s.sends[b] += 1;
                        Place::Visible
                    }
                    EventKind::Received { .. } => Place::InFlight,
                    EventKind::Released => Place::Visible,
                    // SQS answered OK, but the message stayed (a stale receipt).
                    EventKind::Deleted if ignored.contains(&(ix, event.at_us)) => before,
                    EventKind::Deleted => {
                        s.deletes[b] += 1;
                        Place::Nowhere
                    }
                    EventKind::Queue(t) => match t {
                        TransitionKind::VisibilityExpired | TransitionKind::Redriven => {
                            Place::Visible
                        }
                        TransitionKind::DeadLettered { .. } => Place::Dlq,
                        TransitionKind::Purged
                        | TransitionKind::Deduplicated
                        | TransitionKind::Expired => Place::Nowhere,
                        TransitionKind::Duplicated | TransitionKind::StaleReceipt { .. } => before,
                    },
                    _ => before,
                };
                if after != before {
                    for (p, delta) in [(before, false), (after, true)] {
                        let gauge = match p {
                            Place::Visible => &mut visible,
                            Place::InFlight => &mut in_flight,
                            Place::Dlq => &mut dlq,
                            Place::Nowhere => continue,
                        };
                        if delta {
                            *gauge += 1;
                        } else {
                            *gauge = gauge.saturating_sub(1);
                        }
                    }
                    place[ix.0 as usize] = after;
                }
            }
            s.visible[b] = s.visible[b].max(visible);
            s.in_flight[b] = s.in_flight[b].max(in_flight);
            s.dlq[b] = s.dlq[b].max(dlq);
            s.consumers[b] = s.consumers[b].max(live.len() as u64);
        }
        while current + 1 < buckets {
            current += 1;
            s.visible[current] = visible;
            s.in_flight[current] = in_flight;
            s.dlq[current] = dlq;
            s.consumers[current] = live.len() as u64;
        }
        s
    }

    /// Sends and deletes per second in each bucket.
    fn rate(&self, counts: &[u64]) -> Vec<f64> {
        let per = self.bucket_us as f64 / 1e6;
        counts.iter().map(|&c| c as f64 / per).collect()
    }
}

/// The colour and label of each line, shared with the legend.
pub(super) const GAUGES: [(&str, &str); 4] = [
    ("visible", "#2563eb"),
    ("in flight", "#f59e0b"),
    ("dlq", "#dc2626"),
    ("consumers", "#16a34a"),
];
pub(super) const RATES: [(&str, &str); 2] = [("sends/s", "#7c3aed"), ("deletes/s", "#0891b2")];

/// Two panels (gauges, rates) sharing the time axis, with the actions marked on both.
pub(super) fn svg(series: &Series) -> String {
    draw(series, false)
}

/// The chart as a picture file of its own (the guide's): outside the HTML page nothing beside it
/// names the colours, so the legend is drawn in.
pub(super) fn picture(series: &Series) -> String {
    draw(series, true)
}

/// Height of the legend row of [`picture`].
const LEGEND: u32 = 22;

fn draw(series: &Series, legend: bool) -> String {
    let frame = Frame::new(series.end_us);
    let mut out = String::new();
    let chart_height = 2 * Frame::PANEL + 3 * Frame::GAP;
    let height = chart_height + if legend { LEGEND } else { 0 };
    let _ = write!(
        out,
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {height}" width="{w}" height="{height}" role="img" aria-label="timeline chart">"#,
        w = Frame::WIDTH
    );
    if legend {
        // A picture may be shown on a dark page: it brings its own background.
        out.push_str(r##"<rect width="100%" height="100%" fill="#fff"/>"##);
    }
    let to_f = |v: &[u64]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let gauges = [
        to_f(&series.visible),
        to_f(&series.in_flight),
        to_f(&series.dlq),
        to_f(&series.consumers),
    ];
    let rates = [series.rate(&series.sends), series.rate(&series.deletes)];
    panel(
        &mut out,
        &frame,
        series,
        0,
        "messages, consumers",
        &GAUGES,
        &gauges,
    );
    panel(&mut out, &frame, series, 1, "per second", &RATES, &rates);
    frame.time_axis(&mut out, 2 * Frame::PANEL + 2 * Frame::GAP + 4);
    let top = Frame::GAP;
    let bottom = 2 * Frame::PANEL + 2 * Frame::GAP;
    for (at, label) in series.actions.iter().take(MAX_MARKERS) {
        let x = frame.x(*at);
        let _ = write!(
            out,
            r##"<g class="action"><line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{bottom}" stroke="#111" stroke-dasharray="3 3"/><text x="{tx:.1}" y="{ty}" font-size="10" transform="rotate(-90 {tx:.1} {ty})">{label}</text><title>{label} at {t}</title></g>"##,
            tx = x - 2.0,
            ty = top + 4,
            label = escape(label),
            t = crate::check::explain::seconds(*at),
        );
    }
    if legend {
        let y = chart_height + LEGEND / 2;
        let mut x = Frame::LEFT;
        for (name, colour) in GAUGES.iter().chain(&RATES) {
            let _ = write!(
                out,
                r##"<line x1="{x}" x2="{x2}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="3"/><text x="{tx}" y="{ty}" font-size="11" fill="#333">{name}</text>"##,
                x2 = x + 16,
                tx = x + 20,
                ty = y + 4,
            );
            x += 30 + 7 * name.len() as u32;
        }
        let _ = write!(
            out,
            r##"<line x1="{x}" x2="{x2}" y1="{y}" y2="{y}" stroke="#111" stroke-dasharray="3 3"/><text x="{tx}" y="{ty}" font-size="11" fill="#333">timeline action</text>"##,
            x2 = x + 16,
            tx = x + 20,
            ty = y + 4,
        );
    }
    out.push_str("</svg>");
    out
}

fn panel(
    out: &mut String,
    frame: &Frame,
    series: &Series,
    index: u32,
    title: &str,
    lines: &[(&str, &str)],
    values: &[Vec<f64>],
) {
    let top = Frame::GAP + index * (Frame::PANEL + Frame::GAP);
    let max = values
        .iter()
        .flat_map(|v| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1.0);
    let _ = write!(
        out,
        r##"<rect x="{l}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/><text x="{l}" y="{ty}" font-size="11" fill="#333">{title} (max {max})</text><text x="{lx}" y="{my}" font-size="10" text-anchor="end">{max}</text><text x="{lx}" y="{zy}" font-size="10" text-anchor="end">0</text>"##,
        l = Frame::LEFT,
        pw = frame.plot_width(),
        ph = Frame::PANEL,
        ty = top - 4,
        lx = Frame::LEFT - 4,
        my = top + 10,
        zy = top + Frame::PANEL,
        max = trim(max),
    );
    for ((name, colour), values) in lines.iter().zip(values) {
        // A step line: one horizontal segment per run of equal buckets.
        let mut points = String::new();
        let mut i = 0;
        while i < values.len() {
            let v = values[i];
            let run = values[i..].iter().take_while(|&&w| w == v).count();
            let x0 = frame.x(i as u64 * series.bucket_us);
            let x1 = frame.x(((i + run) as u64 * series.bucket_us).min(series.end_us));
            let y = top as f64 + Frame::PANEL as f64 * (1.0 - v / max);
            let _ = write!(points, "{x0:.1},{y:.1} {x1:.1},{y:.1} ");
            i += run;
        }
        let _ = write!(
            out,
            r#"<polyline class="series" data-series="{name}" points="{p}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
            p = points.trim_end()
        );
    }
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
