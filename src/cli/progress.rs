//! The progress of runs on real backends, on stderr. On a terminal, one indicatif line per
//! running scenario (several with `--jobs`), each cut to the terminal's width so nothing wraps,
//! removed when its scenario ends so no stale line stays; elsewhere (CI logs), plain lines: a
//! scenario's first report (as it starts), then every [`PLAIN_EVERY`]th of its own, so each
//! scenario shows at the same steady interval whatever the others do.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::err;
use crate::engine::Progress;
use crate::report::summary;
use crate::runner::ProgressFn;

/// In plain output, one line per this many reports of a scenario (the engine reports every 2 s).
const PLAIN_EVERY: u64 = 5;

/// Where progress goes: live lines on a terminal, or plain lines.
#[derive(Debug)]
pub(super) struct ProgressDisplay {
    live: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    reports: Mutex<HashMap<String, u64>>,
}

impl ProgressDisplay {
    /// Live lines when stderr is a terminal, plain lines otherwise.
    pub(super) fn stderr() -> Arc<Self> {
        let live = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Arc::new(Self::new(live))
    }

    fn new(live: Option<MultiProgress>) -> Self {
        ProgressDisplay {
            live,
            bars: Mutex::default(),
            reports: Mutex::default(),
        }
    }

    /// The runner's progress callback, reporting here.
    pub(super) fn callback(self: &Arc<Self>) -> ProgressFn {
        let display = self.clone();
        Arc::new(move |name: &str, p: &Progress| display.report(name, p))
    }

    fn report(&self, name: &str, p: &Progress) {
        let Some(live) = &self.live else {
            let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
            let n = reports.entry(name.to_owned()).or_default();
            if *n % PLAIN_EVERY == 0 {
                err(&format!("{name}: {}", stats(p)));
            }
            *n += 1;
            return;
        };
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(name.to_owned()).or_insert_with(|| {
            let bar = live.add(ProgressBar::new_spinner());
            bar.set_style(style());
            bar.set_prefix(name.to_owned());
            bar
        });
        bar.set_message(stats(p));
        bar.tick();
    }

    /// Removes `name`'s line: its scenario is over (its result line follows).
    pub(super) fn finish(&self, name: &str) {
        let bar = self
            .bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        if let (Some(live), Some(bar)) = (&self.live, bar) {
            bar.finish_and_clear();
            live.remove(&bar);
        }
    }

    /// Runs `print` with the live lines out of the way, so what it prints is not drawn over.
    pub(super) fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.live {
            Some(live) => live.suspend(print),
            None => print(),
        }
    }
}

/// `{name} {stats}`, the stats cut at the terminal's width.
fn style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix} {wide_msg}").expect("a fixed template parses")
}

/// `1m 5s elapsed · sent 3000 · processed 1992 · in flight 10 · dlq 0 · consumers 4`.
fn stats(p: &Progress) -> String {
    format!(
        "{} elapsed · sent {} · processed {} · in flight {} · dlq {} · consumers {}",
        summary::clock(p.elapsed),
        p.sent,
        p.processed,
        p.in_flight,
        p.dlq,
        p.consumers
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use indicatif::InMemoryTerm;

    use super::*;

    fn progress(seconds: u64) -> Progress {
        Progress {
            elapsed: Duration::from_secs(seconds),
            sent: 3000,
            processed: 1992,
            in_flight: 10,
            dlq: 2,
            consumers: 4,
        }
    }

    fn display(term: &InMemoryTerm) -> ProgressDisplay {
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        ProgressDisplay::new(Some(MultiProgress::with_draw_target(target)))
    }

    #[test]
    fn each_running_scenario_has_one_line_cut_at_80_columns() {
        let term = InMemoryTerm::new(10, 80);
        let display = display(&term);
        display.report("backlog-drain", &progress(65));
        display.report("a-scenario-with-a-long-name", &progress(3));
        display.report("backlog-drain", &progress(67));
        let screen = term.contents();
        for line in screen.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        insta::assert_snapshot!(screen);
        // A scenario that ended leaves no line behind.
        display.finish("backlog-drain");
        let screen = term.contents();
        assert!(!screen.contains("backlog-drain"), "{screen}");
        assert!(screen.contains("a-scenario-with-a-long-name"), "{screen}");
    }
}
