//! The envelope: what SQS's documentation allows but does not promise (each "may", "might" and
//! "approximate"), as seeded choices the simulator takes at a rate a [`Profile`] sets.
//!
//! `docs/sqs-semantics.md` lists every [`Latitude`] with its source and how the simulator models
//! it. A scenario that passes across many seeds under [`Profile::Aws`] does not rely on luck that
//! AWS may not grant; one that needs a latitude to stay closed names it in `assumes`, which keeps
//! that latitude ideal under every profile (and is reported on backends that cannot honour it).
//!
//! Part of the [`crate::sqs`] leaf, so the scenario format (which names profiles and latitudes)
//! and the simulator (which takes them) both depend on it and not on each other.

use std::fmt;
use std::time::Duration;

use super::facts::PURGE_WINDOW;

/// One thing SQS may do that an idealised queue would not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Latitude {
    /// PurgeQueue: messages sent before the call may still be received until they are deleted,
    /// within the purge's minute.
    PurgeReach,
    /// ApproximateNumberOfMessages*: readings lag (and are approximate).
    CounterLag,
    /// Standard queues: best-effort order.
    Reorder,
    /// ReceiveMessage returns fewer messages than it could; a short poll may return none.
    PartialReceive,
    /// Standard queues: at-least-once delivery, a message may come back after its delete.
    Duplicates,
    /// A delete or visibility change with a superseded receipt handle may or may not take effect.
    StaleReceipts,
}

/// Every assumption name, in [`Latitude::ALL`]'s order (a test keeps the two in step).
pub const ASSUMPTION_NAMES: &[&str] = &[
    "instant-purge",
    "exact-counters",
    "send-order",
    "full-receives",
    "no-duplicates",
    "inert-stale-receipts",
];

/// Every profile name, in [`Profile::ALL`]'s order.
pub const PROFILE_NAMES: &[&str] = &["aws", "ideal", "adversarial"];

impl Latitude {
    pub const ALL: [Latitude; 6] = [
        Latitude::PurgeReach,
        Latitude::CounterLag,
        Latitude::Reorder,
        Latitude::PartialReceive,
        Latitude::Duplicates,
        Latitude::StaleReceipts,
    ];

    /// The name of the idealisation that closes this latitude, as a scenario's `assumes` lists
    /// it: a scenario states what it assumes, not what it fears.
    pub fn assumption(self) -> &'static str {
        ASSUMPTION_NAMES[self as usize]
    }

    pub fn from_assumption(name: &str) -> Option<Latitude> {
        Latitude::ALL.into_iter().find(|l| l.assumption() == name)
    }

    /// What the assumption takes for granted, in one line (for reports and the README).
    pub fn meaning(self) -> &'static str {
        match self {
            Latitude::PurgeReach => {
                "every message sent before a PurgeQueue call is gone at the call (SQS: deleted within 60 s, receivable until then)"
            }
            Latitude::CounterLag => {
                "ApproximateNumberOfMessages* are exact and current (SQS: approximate, may lag about a minute)"
            }
            Latitude::Reorder => {
                "a standard queue delivers in send order (SQS: best-effort ordering)"
            }
            Latitude::PartialReceive => {
                "a receive returns as many messages as are visible, up to its maximum (SQS: may return fewer, a short poll none)"
            }
            Latitude::Duplicates => {
                "a standard queue delivers each message once until it times out (SQS: at-least-once, a copy may return after the delete)"
            }
            Latitude::StaleReceipts => {
                "a delete or visibility change with a superseded receipt does nothing (SQS: it may or may not take effect)"
            }
        }
    }

    /// Whether a FIFO queue has this latitude: FIFO queues promise order, exactly-once delivery
    /// and reject superseded receipts.
    pub fn applies_to_fifo(self) -> bool {
        matches!(
            self,
            Latitude::PurgeReach | Latitude::CounterLag | Latitude::PartialReceive
        )
    }
}

impl fmt::Display for Latitude {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.assumption())
    }
}

/// How often the simulator takes each latitude.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    /// Each latitude at a modest rate: what a scenario meets on AWS over many runs (the default).
    #[default]
    Aws,
    /// No latitude taken: the idealised SQS of qsim before the envelope.
    Ideal,
    /// Each latitude at a high rate: what `qsim explore` hunts with.
    Adversarial,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Aws, Profile::Ideal, Profile::Adversarial];

    pub fn as_str(self) -> &'static str {
        PROFILE_NAMES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The rates of this profile. The `aws` rates are judgement, not measurement (AWS publishes
    /// no rates): often enough that a few hundred seeds meet every latitude in a catalog-sized
    /// run, rare enough that a single run mostly looks like a normal day. docs/sqs-semantics.md
    /// gives the reasoning per latitude.
    pub fn envelope(self) -> Envelope {
        match self {
            Profile::Ideal => Envelope::IDEAL,
            Profile::Aws => Envelope {
                purge_reach_rate: 0.25,
                counter_lag: Duration::from_secs(5),
                reorder_rate: 0.02,
                partial_receive_rate: 0.05,
                duplicate_rate: 0.0005,
                stale_receipt_rate: 0.5,
                ..Envelope::IDEAL
            },
            Profile::Adversarial => Envelope {
                purge_reach_rate: 1.0,
                counter_lag: Duration::from_secs(60),
                reorder_rate: 0.5,
                partial_receive_rate: 0.5,
                duplicate_rate: 0.05,
                stale_receipt_rate: 0.5,
                ..Envelope::IDEAL
            },
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The resolved rates one simulated queue runs with. All latitudes at zero is [`Envelope::IDEAL`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Envelope {
    /// Probability that a message sent before a purge lingers (receivable) until a seeded
    /// moment within the purge, instead of being deleted at the call.
    pub purge_reach_rate: f64,
    /// Upper bound of the seeded length of a purge; messages sent while it runs are each
    /// deleted or kept by a fair coin when it ends.
    pub purge_window: Duration,
    /// Depth readings show the queue as it was up to this long ago (a seeded lag per second).
    pub counter_lag: Duration,
    /// Probability that a standard-queue receive slot is filled from a seeded position among
    /// the first `reorder_window` visible messages instead of the head.
    pub reorder_rate: f64,
    pub reorder_window: u32,
    /// Probability that a receive returns a seeded smaller number of messages than it could
    /// (a short poll possibly none, a long poll at least one).
    pub partial_receive_rate: f64,
    /// Probability that a standard-queue receive leaves a second copy of a returned message,
    /// delivered again later even if the first copy was deleted.
    pub duplicate_rate: f64,
    /// Probability that a delete or visibility change with a superseded receipt (standard
    /// queues) takes effect on the message.
    pub stale_receipt_rate: f64,
}

impl Envelope {
    pub const IDEAL: Envelope = Envelope {
        purge_reach_rate: 0.0,
        purge_window: PURGE_WINDOW,
        counter_lag: Duration::ZERO,
        reorder_rate: 0.0,
        reorder_window: 10,
        partial_receive_rate: 0.0,
        duplicate_rate: 0.0,
        stale_receipt_rate: 0.0,
    };

    /// This envelope with `latitude` closed.
    pub fn without(self, latitude: Latitude) -> Envelope {
        let ideal = Envelope::IDEAL;
        match latitude {
            Latitude::PurgeReach => Envelope {
                purge_reach_rate: ideal.purge_reach_rate,
                ..self
            },
            Latitude::CounterLag => Envelope {
                counter_lag: ideal.counter_lag,
                ..self
            },
            Latitude::Reorder => Envelope {
                reorder_rate: ideal.reorder_rate,
                ..self
            },
            Latitude::PartialReceive => Envelope {
                partial_receive_rate: ideal.partial_receive_rate,
                ..self
            },
            Latitude::Duplicates => Envelope {
                duplicate_rate: ideal.duplicate_rate,
                ..self
            },
            Latitude::StaleReceipts => Envelope {
                stale_receipt_rate: ideal.stale_receipt_rate,
                ..self
            },
        }
    }

    /// The envelope a FIFO queue runs with: the latitudes FIFO does not have are closed.
    pub fn for_fifo(self) -> Envelope {
        Latitude::ALL
            .into_iter()
            .filter(|l| !l.applies_to_fifo())
            .fold(self, Envelope::without)
    }
}

/// What a scenario's `[queue.sim]` sets on top of its profile; `None` keeps the profile's value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Overrides {
    pub purge_reach_rate: Option<f64>,
    pub purge_window: Option<Duration>,
    pub counter_lag: Option<Duration>,
    pub reorder_rate: Option<f64>,
    pub reorder_window: Option<u32>,
    pub partial_receive_rate: Option<f64>,
    pub duplicate_rate: Option<f64>,
    pub stale_receipt_rate: Option<f64>,
}

impl Overrides {
    /// Whether the file injects behaviour on purpose (a rate or lag above zero, or a purge
    /// length of its choosing), which only a backend that can inject it (the simulator) runs.
    /// Overrides that only switch a latitude off inject nothing.
    pub fn inject(&self) -> bool {
        let rates = [
            self.purge_reach_rate,
            self.reorder_rate,
            self.partial_receive_rate,
            self.duplicate_rate,
            self.stale_receipt_rate,
        ];
        rates.into_iter().flatten().any(|rate| rate > 0.0)
            || self.counter_lag.is_some_and(|lag| !lag.is_zero())
            || self.purge_window.is_some()
    }

    pub fn apply(&self, base: Envelope) -> Envelope {
        Envelope {
            purge_reach_rate: self.purge_reach_rate.unwrap_or(base.purge_reach_rate),
            purge_window: self.purge_window.unwrap_or(base.purge_window),
            counter_lag: self.counter_lag.unwrap_or(base.counter_lag),
            reorder_rate: self.reorder_rate.unwrap_or(base.reorder_rate),
            reorder_window: self.reorder_window.unwrap_or(base.reorder_window),
            partial_receive_rate: self
                .partial_receive_rate
                .unwrap_or(base.partial_receive_rate),
            duplicate_rate: self.duplicate_rate.unwrap_or(base.duplicate_rate),
            stale_receipt_rate: self.stale_receipt_rate.unwrap_or(base.stale_receipt_rate),
        }
    }
}

/// A scenario's simulator settings, as its file states them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimSettings {
    pub profile: Profile,
    pub overrides: Overrides,
    /// The latitudes the scenario assumes away (`[scenario] assumes`), in [`Latitude::ALL`]'s
    /// order, without repeats.
    pub assumes: Vec<Latitude>,
}

impl SimSettings {
    /// The envelope: the profile under the overrides, under the assumptions.
    pub fn envelope(&self) -> Envelope {
        let envelope = self.overrides.apply(self.profile.envelope());
        self.assumes
            .iter()
            .copied()
            .fold(envelope, Envelope::without)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_takes_no_latitude_and_the_others_take_every_one() {
        for latitude in Latitude::ALL {
            let closed = |e: Envelope| e.without(latitude) == e;
            assert!(closed(Profile::Ideal.envelope()), "{latitude}");
            assert!(!closed(Profile::Aws.envelope()), "{latitude}");
            assert!(!closed(Profile::Adversarial.envelope()), "{latitude}");
        }
    }

    #[test]
    fn an_assumption_wins_over_an_override_and_closes_only_its_latitude() {
        let overrides = Overrides {
            duplicate_rate: Some(0.3),
            reorder_rate: Some(0.2),
            ..Overrides::default()
        };
        let settings = SimSettings {
            profile: Profile::Ideal,
            overrides,
            assumes: vec![Latitude::Duplicates],
        };
        let envelope = settings.envelope();
        assert_eq!(envelope.duplicate_rate, 0.0);
        assert_eq!(envelope.reorder_rate, 0.2);
    }

    #[test]
    fn the_name_lists_follow_the_enums() {
        let assumptions: Vec<&str> = Latitude::ALL.iter().map(|l| l.assumption()).collect();
        assert_eq!(assumptions, ASSUMPTION_NAMES);
        let profiles: Vec<&str> = Profile::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(profiles, PROFILE_NAMES);
    }

    #[test]
    fn assumption_names_round_trip() {
        for latitude in Latitude::ALL {
            assert_eq!(
                Latitude::from_assumption(latitude.assumption()),
                Some(latitude)
            );
        }
        assert_eq!(Latitude::from_assumption("exactly-once"), None);
    }

    #[test]
    fn fifo_keeps_only_its_latitudes() {
        let fifo = Profile::Adversarial.envelope().for_fifo();
        assert_eq!(fifo.duplicate_rate, 0.0);
        assert_eq!(fifo.reorder_rate, 0.0);
        assert_eq!(fifo.stale_receipt_rate, 0.0);
        assert!(fifo.partial_receive_rate > 0.0);
    }
}
