//! Message bodies: what producers generate from a scenario's payload section and what consumers
//! read back. The body is plain JSON so the same messages make sense on a real queue.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::scenario::{FieldValue, Payload, PoisonPattern};

/// The body of every qsim message.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Body<'a> {
    /// The qsim message id, e.g. `orders-0001`.
    #[serde(borrow)]
    pub id: std::borrow::Cow<'a, str>,
    /// Sequence number within the message's group (FIFO) or producer (standard), from 1.
    pub seq: u64,
    /// Milliseconds since the run started, when the producer created it.
    pub sent_at_ms: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub poison: bool,
    /// Business fields: order ids, entity and version, literal fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, JsonField>,
    /// A claim check's pointer: the whole body is stored in the status table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<PayloadRef>,
}

/// Where a claim-checked body is: `chunks` status-table items of the message's id, `bytes` long
/// together.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct PayloadRef {
    pub chunks: u32,
    pub bytes: u64,
}

impl Body<'_> {
    /// The qsim id of a body without building its fields; `None` for a body qsim did not write.
    pub(crate) fn id_of(body: &str) -> Option<std::borrow::Cow<'_, str>> {
        #[derive(Deserialize)]
        struct IdOnly<'a> {
            #[serde(borrow)]
            id: std::borrow::Cow<'a, str>,
        }
        serde_json::from_str::<IdOnly>(body).ok().map(|b| b.id)
    }
}

/// A payload field as JSON (a string or an integer).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
pub enum JsonField {
    Int(i64),
    Str(String),
}

impl From<&FieldValue> for JsonField {
    fn from(value: &FieldValue) -> Self {
        match value {
            FieldValue::Int(i) => JsonField::Int(*i),
            FieldValue::Str(s) => JsonField::Str(s.clone()),
        }
    }
}

impl From<&JsonField> for FieldValue {
    fn from(value: &JsonField) -> Self {
        match value {
            JsonField::Int(i) => FieldValue::Int(*i),
            JsonField::Str(s) => FieldValue::Str(s.clone()),
        }
    }
}

impl JsonField {
    pub fn as_key(&self) -> Arc<str> {
        match self {
            JsonField::Int(i) => i.to_string().into(),
            JsonField::Str(s) => s.as_str().into(),
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            JsonField::Int(i) => u64::try_from(*i).ok(),
            JsonField::Str(s) => s.parse().ok(),
        }
    }
}

/// One message a producer will send, before it gets its id and send time.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Draft {
    pub poison: bool,
    pub fields: BTreeMap<String, JsonField>,
    pub group: Option<String>,
    pub dedup_id: Option<String>,
}

/// Field names the generators write; consumers are configured with the same names.
pub(super) const ENTITY_FIELD: &str = "entity";
pub(super) const VERSION_FIELD: &str = "version";

/// Plans a producer's messages: sequences that need the whole picture (shuffled versions, business
/// duplicates, literals) are computed up front; plain work is generated on demand.
pub(super) fn plan(payload: &Payload, rng: &mut ChaCha8Rng) -> Plan {
    match payload {
        Payload::Work { poison } => Plan::Work {
            poison: poison.clone(),
        },
        Payload::BusinessDuplicates {
            field,
            orders,
            duplicates,
        } => {
            let mut keys: Vec<u64> = (1..=*orders).collect();
            for _ in 0..*duplicates {
                let k = rng.random_range(1..=*orders);
                let at = rng.random_range(0..=keys.len());
                keys.insert(at, k);
            }
            Plan::Fixed(
                keys.into_iter()
                    .map(|k| Draft {
                        fields: BTreeMap::from([(field.clone(), JsonField::Str(format!("o-{k}")))]),
                        ..Draft::default()
                    })
                    .collect(),
            )
        }
        Payload::Versioned {
            entities,
            versions,
            shuffle,
        } => {
            let mut drafts: Vec<Draft> = (1..=*entities)
                .flat_map(|e| {
                    (1..=*versions).map(move |v| Draft {
                        fields: BTreeMap::from([
                            (ENTITY_FIELD.to_owned(), JsonField::Str(format!("e-{e}"))),
                            (VERSION_FIELD.to_owned(), JsonField::Int(v as i64)),
                        ]),
                        ..Draft::default()
                    })
                })
                .collect();
            if *shuffle {
                drafts.shuffle(rng);
            }
            Plan::Fixed(drafts)
        }
        Payload::Literal(messages) => Plan::Fixed(
            messages
                .iter()
                .map(|m| Draft {
                    poison: m.poison,
                    fields: m
                        .fields
                        .iter()
                        .map(|(k, v)| (k.clone(), v.into()))
                        .collect(),
                    group: m.group.clone(),
                    dedup_id: m.dedup_id.clone(),
                })
                .collect(),
        ),
    }
}

/// The message drafts of one producer.
#[derive(Debug)]
pub(super) enum Plan {
    /// Plain work, generated on demand (continuous producers have no end).
    Work {
        poison: Option<PoisonPattern>,
    },
    Fixed(Vec<Draft>),
}

impl Plan {
    /// The draft of message `n` (1-based), or `None` past the end of a fixed plan.
    pub(super) fn draft(&self, n: u64, rng: &mut ChaCha8Rng) -> Option<Draft> {
        match self {
            Plan::Work { poison } => {
                let poison = match poison {
                    None => false,
                    Some(PoisonPattern::Every(k)) => n % k == 0,
                    Some(PoisonPattern::Positions(p)) => p.contains(&n),
                    Some(PoisonPattern::Probability(p)) => rng.random_bool(*p),
                };
                Some(Draft {
                    poison,
                    ..Draft::default()
                })
            }
            Plan::Fixed(drafts) => drafts.get(n as usize - 1).cloned(),
        }
    }

    /// How many messages a fixed plan holds.
    pub(super) fn len(&self) -> Option<u64> {
        match self {
            Plan::Work { .. } => None,
            Plan::Fixed(d) => Some(d.len() as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(1)
    }

    #[test]
    fn body_round_trips() {
        let body = Body {
            id: "orders-0001".into(),
            seq: 1,
            sent_at_ms: 5,
            poison: true,
            fields: BTreeMap::from([("order_id".into(), JsonField::Str("o-1".into()))]),
            claim: Some(PayloadRef {
                chunks: 3,
                bytes: 1_100_000,
            }),
        };
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(serde_json::from_str::<Body>(&text).unwrap(), body);
    }

    #[test]
    fn every_nth_is_poison() {
        let plan = plan(
            &Payload::Work {
                poison: Some(PoisonPattern::Every(3)),
            },
            &mut rng(),
        );
        let poison: Vec<u64> = (1..=9)
            .filter(|&n| plan.draft(n, &mut rng()).unwrap().poison)
            .collect();
        assert_eq!(poison, vec![3, 6, 9]);
    }

    #[test]
    fn versions_are_a_shuffled_permutation() {
        let payload = Payload::Versioned {
            entities: 2,
            versions: 10,
            shuffle: true,
        };
        let Plan::Fixed(drafts) = plan(&payload, &mut rng()) else {
            panic!()
        };
        let versions: Vec<u64> = drafts
            .iter()
            .map(|d| d.fields[VERSION_FIELD].as_u64().unwrap())
            .collect();
        let mut sorted = versions.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=10).flat_map(|v| [v, v]).collect::<Vec<_>>());
        assert_ne!(versions, sorted, "shuffled");
    }

    #[test]
    fn business_duplicates_reuse_keys() {
        let payload = Payload::BusinessDuplicates {
            field: "order_id".into(),
            orders: 3,
            duplicates: 2,
        };
        let Plan::Fixed(drafts) = plan(&payload, &mut rng()) else {
            panic!()
        };
        assert_eq!(drafts.len(), 5);
        let mut keys: Vec<_> = drafts
            .iter()
            .map(|d| d.fields["order_id"].as_key())
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 3);
    }
}
