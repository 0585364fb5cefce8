//! ApproximateNumberOfMessages* as SQS reports them: approximate and late. A reading at some
//! moment shows the queue as it was a seeded while earlier (see [`super::faults::Faults::counter_lag`]),
//! so a trigger or autoscaler written as if the counters were exact and current meets the lag
//! it would meet on AWS.
//!
//! The history is piecewise constant: one sample whenever the depth changed, kept for as long as
//! a reading may reach back.

use std::collections::VecDeque;
use std::time::Duration;

use crate::backend::QueueDepth;

use super::clock::Moment;

#[derive(Debug, Default)]
pub(super) struct CounterHistory {
    samples: VecDeque<(Moment, QueueDepth)>,
}

impl CounterHistory {
    /// Notes the depth the queue has from `now` on; forgets what no reading lagging at most
    /// `reach` can see any more.
    pub(super) fn note(&mut self, now: Moment, depth: QueueDepth, reach: Duration) {
        match self.samples.back_mut() {
            Some((_, last)) if *last == depth => {}
            Some((at, last)) if *at == now => *last = depth,
            _ => self.samples.push_back((now, depth)),
        }
        let horizon = Moment::from_nanos(
            now.nanos()
                .saturating_sub(u64::try_from(reach.as_nanos()).unwrap_or(u64::MAX)),
        );
        while self.samples.get(1).is_some_and(|(at, _)| *at <= horizon) {
            self.samples.pop_front();
        }
    }

    /// The depth at `at`: the last sample at or before it (an empty queue before the first).
    pub(super) fn reading(&self, at: Moment) -> QueueDepth {
        self.samples
            .iter()
            .rev()
            .find(|(noted, _)| *noted <= at)
            .map(|(_, depth)| *depth)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(visible: u64) -> QueueDepth {
        QueueDepth {
            visible,
            ..QueueDepth::default()
        }
    }

    fn at(secs: u64) -> Moment {
        Moment::ZERO.after(Duration::from_secs(secs))
    }

    #[test]
    fn a_reading_shows_the_depth_of_its_moment_and_old_samples_are_forgotten() {
        let mut history = CounterHistory::default();
        let reach = Duration::from_secs(10);
        history.note(at(0), depth(0), reach);
        history.note(at(5), depth(3), reach);
        history.note(at(5), depth(4), reach);
        history.note(at(8), depth(4), reach);
        history.note(at(20), depth(1), reach);
        assert_eq!(history.reading(at(20)), depth(1));
        assert_eq!(history.reading(at(19)), depth(4));
        assert_eq!(history.reading(at(10)), depth(4));
        // The sample at 0 s is beyond reach of any reading from 20 s on.
        assert_eq!(history.samples.len(), 2);
    }
}
