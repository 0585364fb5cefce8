//! The simulator benchmark: one scenario end to end (engine, simulator, tables, event log), timed
//! on the wall clock, with the process's peak memory. Used by `qsim bench` and `cargo bench`.

use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::backend::BackendError;
use crate::check;
use crate::scenario::{Amount, Expected, Metric, Scenario};

/// `benches/million.toml`, built into the binary so `qsim bench` runs from any folder after
/// `cargo install`.
pub const BUILTIN_SCENARIO: &str = include_str!("../benches/million.toml");

/// The path the built-in scenario's diagnostics and reports name.
pub const BUILTIN_SCENARIO_PATH: &str = "benches/million.toml";

#[derive(Debug, Clone)]
pub struct BenchResult {
    pub scenario: String,
    pub processed: u64,
    pub events: usize,
    pub wall: Duration,
    pub virtual_time: Duration,
    /// VmHWM from /proc/self/status, where the OS has it.
    pub peak_rss_kib: Option<u64>,
}

impl BenchResult {
    pub fn rate(&self) -> f64 {
        self.processed as f64 / self.wall.as_secs_f64()
    }

    pub fn peak_rss_mib(&self) -> Option<u64> {
        self.peak_rss_kib.map(|k| k / 1024)
    }
}

impl fmt::Display for BenchResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bench {}: {} messages processed in {:.3} s wall ({:.0} messages/s), {} events, {} virtual, peak memory {}",
            self.scenario,
            self.processed,
            self.wall.as_secs_f64(),
            self.rate(),
            self.events,
            humantime::format_duration(Duration::from_millis(self.virtual_time.as_millis() as u64)),
            self.peak_rss_mib()
                .map_or("unknown".to_owned(), |m| format!("{m} MiB")),
        )
    }
}

/// `scenario` with its single producer sending `messages` messages instead (`qsim bench
/// --messages N`), and its `processed` expectations moved along; `None` when the scenario does not
/// have exactly one producer of a fixed count.
pub fn with_messages(mut scenario: Scenario, messages: u64) -> Option<Scenario> {
    let [producer] = scenario.producers.as_mut_slice() else {
        return None;
    };
    let Amount::Count(count) = &mut producer.amount else {
        return None;
    };
    *count = messages;
    for check in &mut scenario.expect.checks {
        if let (Metric::Processed, Expected::Compare { value, .. }) =
            (check.metric, &mut check.expected)
        {
            *value = messages as f64;
        }
    }
    Some(scenario)
}

/// Runs `scenario` once on the simulator and measures it.
pub fn measure(scenario: Scenario) -> Result<BenchResult, BackendError> {
    let seed = scenario.seed;
    let scenario = Rc::new(scenario);
    let started = Instant::now();
    let outcome = crate::runner::simulate(scenario.clone(), seed)?;
    let wall = started.elapsed();
    let facts = check::Facts::gather(&scenario, &outcome);
    let processed = match check::metric_value(Metric::Processed, &outcome, &facts) {
        check::Value::Number(n) => n as u64,
        _ => 0,
    };
    Ok(BenchResult {
        scenario: scenario.name.clone(),
        processed,
        events: outcome.log.events.len(),
        wall,
        virtual_time: outcome.elapsed,
        peak_rss_kib: peak_rss_kib(),
    })
}

/// This process's peak resident memory (VmHWM from /proc/self/status), where the OS has it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
