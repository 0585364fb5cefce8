//! The floor: a bare-bones model of benches/million.toml's bookkeeping, with plain collections, no
//! async, no parsing, no faults: a `VecDeque` queue, a map of in-flight receipts, two maps for the
//! two tables (keyed by the message's index: an id string is formatted once per message, never
//! hashed), and a vector of fixed-size events as small as qsim stores its own (16 bytes), the
//! same six events per message qsim records (sent, received, STARTED written, side effect,
//! COMPLETED written, deleted). What the simulator costs is judged against it.

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One event, the size qsim stores one in (its time as an offset, its actor in 16 bits).
#[derive(Clone, Copy)]
#[allow(
    dead_code,
    reason = "written, never read: the model only keeps the history"
)]
struct Event {
    at_us: u32,
    message: u32,
    value: u32,
    actor: u16,
    kind: u16,
}

const _: () = assert!(size_of::<Event>() == 16);

const SENT: u16 = 0;
const RECEIVED: u16 = 1;
const STARTED: u16 = 2;
const SIDE_EFFECT: u16 = 3;
const COMPLETED: u16 = 4;
const DELETED: u16 = 5;

struct Status {
    status: u16,
    lease_until_ms: u64,
    attempts: u32,
}

/// What one run of the floor did.
#[derive(Debug)]
pub(crate) struct FloorResult {
    pub processed: u64,
    pub events: usize,
    pub wall: Duration,
    /// The peak resident memory of the process that ran it, where the OS tells.
    pub peak_rss_kib: Option<u64>,
}

impl FloorResult {
    pub(crate) fn rate(&self) -> f64 {
        self.processed as f64 / self.wall.as_secs_f64()
    }

    pub(crate) fn peak_rss_mib(&self) -> Option<u64> {
        self.peak_rss_kib.map(|kib| kib / 1024)
    }

    /// The result as one line from the floor's process to the benchmark's: processed, events,
    /// wall nanoseconds, peak KiB (`-` when unknown).
    pub(crate) fn to_line(&self) -> String {
        let peak = self
            .peak_rss_kib
            .map_or_else(|| "-".to_owned(), |kib| kib.to_string());
        format!(
            "{} {} {} {peak}",
            self.processed,
            self.events,
            self.wall.as_nanos()
        )
    }

    pub(crate) fn from_line(line: &str) -> Option<FloorResult> {
        let mut fields = line.split_whitespace();
        let processed = fields.next()?.parse().ok()?;
        let events = fields.next()?.parse().ok()?;
        let wall = Duration::from_nanos(fields.next()?.parse().ok()?);
        let peak_rss_kib = match fields.next()? {
            "-" => None,
            kib => Some(kib.parse().ok()?),
        };
        fields.next().is_none().then_some(FloorResult {
            processed,
            events,
            wall,
            peak_rss_kib,
        })
    }
}

/// `messages` messages sent in batches of `batch`, received by `consumers` consumers in batches
/// of `batch`, each processed with the two-table pattern and deleted.
pub(crate) fn run(messages: u64, consumers: u32, batch: usize) -> FloorResult {
    let started = Instant::now();
    let mut ids: Vec<String> = Vec::new();
    let mut queue: VecDeque<(u32, u32)> = VecDeque::new();
    let mut in_flight: HashMap<u64, u32> = HashMap::new();
    let mut status: HashMap<u32, Status> = HashMap::new();
    let mut side_effects: HashMap<u32, u32> = HashMap::new();
    let mut events: Vec<Event> = Vec::new();
    let mut receive_counts: Vec<u32> = Vec::new();
    let mut next_receipt = 0u64;
    let mut clock_us = 0u64;
    let mut sent = 0u64;
    let mut processed = 0u64;
    let mut consumer = 0u32;
    let mut received: Vec<(u64, u32)> = Vec::with_capacity(batch);
    // The model's clock moves one microsecond a message, so it stays far below 2^32; actors are
    // the producer (0) and the consumers.
    let event = |events: &mut Vec<Event>, clock: u64, actor: u32, message, kind, value| {
        events.push(Event {
            at_us: clock as u32,
            message,
            value,
            actor: actor as u16,
            kind,
        });
    };
    while processed < messages {
        // The producer sends a batch.
        for _ in 0..batch {
            if sent == messages {
                break;
            }
            let ix = ids.len() as u32;
            ids.push(format!("load-{:04}", sent + 1));
            receive_counts.push(0);
            queue.push_back((ix, 0));
            event(&mut events, clock_us, 0, ix, SENT, 0);
            sent += 1;
        }
        // One consumer receives a batch and works through it.
        consumer = consumer % consumers + 1;
        received.clear();
        while received.len() < batch {
            let Some((ix, _)) = queue.pop_front() else {
                break;
            };
            next_receipt += 1;
            in_flight.insert(next_receipt, ix);
            let count = &mut receive_counts[ix as usize];
            *count += 1;
            event(&mut events, clock_us, consumer, ix, RECEIVED, *count);
            received.push((next_receipt, ix));
        }
        for &(receipt, ix) in &received {
            let claimed = match status.get_mut(&ix) {
                Some(item) if item.status == COMPLETED => false,
                Some(item) => {
                    item.attempts += 1;
                    item.lease_until_ms = clock_us / 1000 + 30_000;
                    true
                }
                None => {
                    status.insert(
                        ix,
                        Status {
                            status: STARTED,
                            lease_until_ms: clock_us / 1000 + 30_000,
                            attempts: 1,
                        },
                    );
                    true
                }
            };
            if claimed {
                event(&mut events, clock_us, consumer, ix, STARTED, 0);
                *side_effects.entry(ix).or_default() += 1;
                event(&mut events, clock_us, consumer, ix, SIDE_EFFECT, 0);
                if let Some(item) = status.get_mut(&ix) {
                    item.status = COMPLETED;
                }
                event(&mut events, clock_us, consumer, ix, COMPLETED, 0);
            }
            if in_flight.remove(&receipt).is_some() {
                event(&mut events, clock_us, consumer, ix, DELETED, 0);
                processed += 1;
            }
            clock_us += 1;
        }
    }
    // The history in time order, as qsim leaves it.
    events.sort_by_key(|e| e.at_us);
    black_box((&events, &status, &side_effects, &ids));
    FloorResult {
        processed,
        events: events.len(),
        wall: started.elapsed(),
        peak_rss_kib: qsim::bench::peak_rss_kib(),
    }
}
