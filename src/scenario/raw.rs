//! Serde types mirroring the TOML file exactly, before any meaning is given to the values.
//!
//! Invariants: every struct denies unknown keys (a misspelled key silently ignored is a false
//! pass); every value that resolution can reject is `Spanned`, so its error points at it; every
//! key is optional here, so a missing required key is reported together with the other errors
//! by resolution instead of stopping deserialization at the first one. Numbers are `i64` / `f64`
//! so out-of-range values get range messages rather than serde's type errors. No `flatten`, no
//! tagged or untagged enums: they lose spans and unknown-key checks in toml.

use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use toml::Spanned;

pub(super) type Str = Option<Spanned<String>>;
pub(super) type Int = Option<Spanned<i64>>;
pub(super) type Float = Option<Spanned<f64>>;
pub(super) type Bool = Option<Spanned<bool>>;
/// An optional sub-table of the file (`[queue]`, `heartbeat = { ... }`), spanned.
pub(super) type SubTable<T> = Option<Spanned<T>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub scenario: SubTable<RawHeader>,
    pub queue: SubTable<RawQueue>,
    #[serde(default)]
    pub producers: Vec<Spanned<RawProducer>>,
    #[serde(default)]
    pub consumers: Vec<Spanned<RawConsumer>>,
    #[serde(default)]
    pub at: Vec<Spanned<RawAt>>,
    pub autoscaler: SubTable<RawAutoscaler>,
    #[serde(default)]
    pub faults: Vec<Spanned<RawFault>>,
    pub expect: SubTable<RawExpect>,
}

/// `[[faults]]`: one fault rule of the backend boundary.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub operation: Str,
    pub kind: Str,
    pub probability: Float,
    pub window: SubTable<RawWindow>,
    pub nth: Int,
    pub scope: Str,
    pub delay: Str,
}

/// `window = { from = "10s", until = "20s" }` of a fault.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub from: Str,
    pub until: Str,
}

/// `retries = { max_attempts = 3, backoff = "100ms" }` of a producer or consumer group.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetries {
    pub max_attempts: Int,
    pub backoff: Str,
}

/// `[scenario]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeader {
    pub name: Str,
    pub description: Str,
    pub tags: Option<Vec<Spanned<String>>>,
    pub seed: Int,
    pub timeout: Str,
    pub assumes: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub kind: Str,
    pub visibility_timeout: Str,
    pub receive_wait: Str,
    pub delay: Str,
    pub retention: Str,
    pub content_based_dedup: Bool,
    pub deduplication_scope: Str,
    pub fifo_throughput_limit: Str,
    pub max_receive_count: Int,
    pub sim: SubTable<RawSim>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSim {
    pub profile: Str,
    pub duplicate_rate: Float,
    pub reorder_rate: Float,
    pub reorder_window: Int,
    pub purge_window: Str,
    pub purge_reach_rate: Float,
    pub counter_lag: Str,
    pub partial_receive_rate: Float,
    pub stale_receipt_rate: Float,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProducer {
    pub name: Str,
    pub start: Str,
    pub count: Int,
    pub continuous: Bool,
    pub schedule: Option<Spanned<Vec<Spanned<String>>>>,
    pub rate: Str,
    pub batch_size: Int,
    pub groups: Int,
    pub dedup: Str,
    pub delay: Str,
    pub payload: SubTable<RawPayload>,
    pub retries: SubTable<RawRetries>,
    pub outbox: Bool,
    pub dual_write: Str,
    pub chaos: SubTable<RawProducerChaos>,
    pub claim_check_above: Int,
}

/// `chaos = { ... }` of a `[[producers]]` table that writes a business record.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProducerChaos {
    pub crash_after_commit: Option<Spanned<toml::Value>>,
    pub crash_after_send: Option<Spanned<toml::Value>>,
}

/// `[producers.payload]`: the keys of every kind side by side; resolution rejects the keys that
/// do not belong to the chosen kind (an internally tagged enum would lose spans).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPayload {
    pub kind: Str,
    pub poison: SubTable<RawPoison>,
    pub field: Str,
    pub orders: Int,
    pub duplicates: Int,
    pub entities: Int,
    pub versions: Int,
    pub shuffle: Bool,
    pub messages: Option<Spanned<Vec<Spanned<RawLiteral>>>>,
    pub size: Int,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPoison {
    pub every: Int,
    pub positions: Option<Spanned<Vec<Spanned<i64>>>>,
    pub probability: Float,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLiteral {
    pub fields: Option<Spanned<Entries<toml::Value>>>,
    pub group: Str,
    pub dedup_id: Str,
    pub poison: Bool,
}

/// The behaviour keys of `[[consumers]]`, also taken by a `deploy` action. Borrowed from either
/// table so one resolution handles both, layer over layer.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RawBehavior<'a> {
    pub processing: Option<&'a Spanned<String>>,
    pub side_effect_delay: Option<&'a Spanned<String>>,
    pub idempotency: Option<&'a Spanned<String>>,
    pub cache_size: Option<&'a Spanned<i64>>,
    pub lease: Option<&'a Spanned<String>>,
    pub business_key: Option<&'a Spanned<String>>,
    pub versioning: Option<&'a Spanned<RawVersioning>>,
    pub log_field: Option<&'a Spanned<String>>,
    pub reject_poison: Option<&'a Spanned<bool>>,
    pub heartbeat: Option<&'a Spanned<RawHeartbeat>>,
    pub stale_after: Option<&'a Spanned<String>>,
    pub chaos: Option<&'a Spanned<RawChaos>>,
}

/// Declares a table that takes its own keys plus the behaviour keys, and its `behavior()` view.
/// The behaviour key list lives only here, so `[[consumers]]` and `deploy` cannot diverge.
macro_rules! with_behavior {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $(pub $field: $ty,)*
            pub processing: Str,
            pub side_effect_delay: Str,
            pub idempotency: Str,
            pub cache_size: Int,
            pub lease: Str,
            pub business_key: Str,
            pub versioning: SubTable<RawVersioning>,
            pub log_field: Str,
            pub reject_poison: Bool,
            pub heartbeat: SubTable<RawHeartbeat>,
            pub stale_after: Str,
            pub chaos: SubTable<RawChaos>,
        }

        impl $name {
            pub(crate) fn behavior(&self) -> RawBehavior<'_> {
                RawBehavior {
                    processing: self.processing.as_ref(),
                    side_effect_delay: self.side_effect_delay.as_ref(),
                    idempotency: self.idempotency.as_ref(),
                    cache_size: self.cache_size.as_ref(),
                    lease: self.lease.as_ref(),
                    business_key: self.business_key.as_ref(),
                    versioning: self.versioning.as_ref(),
                    log_field: self.log_field.as_ref(),
                    reject_poison: self.reject_poison.as_ref(),
                    heartbeat: self.heartbeat.as_ref(),
                    stale_after: self.stale_after.as_ref(),
                    chaos: self.chaos.as_ref(),
                }
            }
        }
    };
}

with_behavior!(
    /// `[[consumers]]`.
    RawConsumer {
        name: Str,
        count: Int,
        start: Str,
        stagger: Str,
        max_messages: Int,
        wait: Str,
        idle_timeout: Str,
        message_limit: Int,
        ack: Str,
        prefetch: Int,
        poller: SubTable<RawPoller>,
        retries: SubTable<RawRetries>,
        process: Bool,
        command: Option<Spanned<Vec<Spanned<String>>>>,
        env: Option<Spanned<Entries<toml::Value>>>,
    }
);

with_behavior!(
    /// `deploy = { group = "...", ... }` of an `[[at]]` entry.
    RawDeploy { group: Str, }
);

/// `poller = { ... }` of a `[[consumers]]` group.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPoller {
    pub batch_size: Int,
    pub max_concurrency: Int,
    pub function_timeout: Str,
    pub report_batch_item_failures: Bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVersioning {
    pub entity: Str,
    pub version: Str,
    pub check: Bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeartbeat {
    pub interval: Str,
    pub extend: Str,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChaos {
    pub crash_after_receive: Option<Spanned<toml::Value>>,
    pub crash_after_side_effect: Option<Spanned<toml::Value>>,
    pub crash_rate: Float,
    pub slow_rate: Float,
    pub slow_delay: Str,
    pub restart_after: Str,
}

/// `[[at]]`: a trigger (time / when) and one action key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAt {
    pub time: Str,
    pub when: Str,
    pub poll: Str,
    pub terminate: Str,
    pub kill: Str,
    pub start: SubTable<RawStart>,
    pub stop: Str,
    pub purge: Str,
    pub deploy: SubTable<RawDeploy>,
    pub redrive: SubTable<RawRedrive>,
    pub stop_all: Bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStart {
    pub group: Str,
    pub count: Int,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedrive {
    pub max_per_second: Int,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAutoscaler {
    pub group: Str,
    pub interval: Str,
    pub scale_out_depth: Int,
    pub scale_in_depth: Int,
    pub min: Int,
    pub max: Int,
}

/// `metric = value` entries in file order, each key and value spanned.
pub(super) type RawChecks = Vec<(Spanned<String>, Spanned<toml::Value>)>;

/// `[expect]`: metric entries, plus `[expect.producer.NAME]` tables of the same shape. Metric
/// names are free-form here (checked against `Metric::ALL` by resolution, with a list of the
/// known ones), so this is a map, not a struct; `producer` is split off by hand to keep spans.
#[derive(Debug, Default)]
pub(super) struct RawExpect {
    pub checks: RawChecks,
    pub producer: Option<Spanned<RawScopes>>,
    /// `[expect.sometimes]`: the same shape, checked across the seeds of an exploration.
    pub sometimes: Option<Spanned<Box<RawExpect>>>,
}

/// `[expect.producer]`: producer name → its checks.
pub(super) type RawScopes = Vec<(Spanned<String>, Spanned<RawScope>)>;

/// The checks of one `[expect.producer.NAME]` table.
#[derive(Debug, Default)]
pub(super) struct RawScope(pub RawChecks);

impl<'de> Deserialize<'de> for RawExpect {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpectVisitor;
        impl<'de> Visitor<'de> for ExpectVisitor {
            type Value = RawExpect;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of metric = value entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawExpect, A::Error> {
                let mut expect = RawExpect::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.get_ref() == "producer" {
                        let scopes = map.next_value::<Spanned<Entries<RawScope>>>()?;
                        let (span, entries) = (scopes.span(), scopes.into_inner().0);
                        expect.producer = Some(Spanned::new(span, entries));
                    } else if key.get_ref() == "sometimes" {
                        let sometimes = map.next_value::<Spanned<RawExpect>>()?;
                        let (span, inner) = (sometimes.span(), sometimes.into_inner());
                        expect.sometimes = Some(Spanned::new(span, Box::new(inner)));
                    } else {
                        expect.checks.push((key, map.next_value()?));
                    }
                }
                Ok(expect)
            }
        }
        deserializer.deserialize_map(ExpectVisitor)
    }
}

impl<'de> Deserialize<'de> for RawScope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Entries::deserialize(deserializer).map(|entries| RawScope(entries.0))
    }
}

/// A table with free-form keys read as spanned `(key, value)` pairs.
#[derive(Debug)]
pub(super) struct Entries<V>(pub Vec<(Spanned<String>, Spanned<V>)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}
