//! Drift checks: the committed schema file, the catalogue against the raw serde types, and the
//! schema's own strictness.

use serde::Deserialize;
use serde::de::{self, Visitor};

use super::*;
use crate::scenario::raw::*;

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/qsim.schema.json");

#[test]
fn committed_schema_file_is_current() {
    let expected = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
    if std::env::var("QSIM_UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(SCHEMA_FILE, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(SCHEMA_FILE).unwrap_or_default();
    assert!(
        committed == expected,
        "qsim.schema.json differs from scenario::json_schema(): regenerate it with \
         `cargo run -- schema > qsim.schema.json` (or QSIM_UPDATE_SCHEMA=1 cargo test --lib \
         committed_schema_file_is_current) and commit it"
    );
}

/// The field names serde's derive gives a struct (what `deny_unknown_fields` accepts).
fn fields_of<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
    struct Catcher<'a>(&'a mut Vec<&'static str>);
    impl<'de> de::Deserializer<'de> for Catcher<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend_from_slice(fields);
            Err(de::Error::custom("caught"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields = Vec::new();
    let _ = T::deserialize(Catcher(&mut fields));
    fields
}

/// The raw type behind each table of the catalogue, by key path.
fn raw_fields(path: &str) -> Option<Vec<&'static str>> {
    Some(match path {
        "" => fields_of::<RawScenario>(),
        "scenario" => fields_of::<RawHeader>(),
        "queue" => fields_of::<RawQueue>(),
        "queue.sim" => fields_of::<RawSim>(),
        "producers" => fields_of::<RawProducer>(),
        "producers.payload" => fields_of::<RawPayload>(),
        "producers.payload.poison" => fields_of::<RawPoison>(),
        "producers.payload.messages" => fields_of::<RawLiteral>(),
        "consumers" => fields_of::<RawConsumer>(),
        "consumers.versioning" | "at.deploy.versioning" => fields_of::<RawVersioning>(),
        "consumers.heartbeat" | "at.deploy.heartbeat" => fields_of::<RawHeartbeat>(),
        "consumers.chaos" | "at.deploy.chaos" => fields_of::<RawChaos>(),
        "consumers.poller" => fields_of::<RawPoller>(),
        "producers.chaos" => fields_of::<RawProducerChaos>(),
        "at" => fields_of::<RawAt>(),
        "at.start" => fields_of::<RawStart>(),
        "at.deploy" => fields_of::<RawDeploy>(),
        "at.redrive" => fields_of::<RawRedrive>(),
        "autoscaler" => fields_of::<RawAutoscaler>(),
        "faults" => fields_of::<RawFault>(),
        "faults.window" => fields_of::<RawWindow>(),
        "producers.retries" | "consumers.retries" => fields_of::<RawRetries>(),
        _ => return None,
    })
}

fn check_table(path: &str, keys: Vec<&'static Key>, checked: &mut usize) {
    let mut expected = raw_fields(path)
        .unwrap_or_else(|| panic!("no raw type is mapped to catalogue table `{path}`"));
    let mut names: Vec<&str> = keys.iter().map(|k| k.name).collect();
    expected.sort_unstable();
    names.sort_unstable();
    assert_eq!(
        names, expected,
        "catalogue keys of `{path}` vs its raw serde fields"
    );
    *checked += 1;
    for key in keys {
        if matches!(key.shape, Shape::Table(_) | Shape::TableList(_)) {
            let sub = if path.is_empty() {
                key.name.to_string()
            } else {
                format!("{path}.{}", key.name)
            };
            check_table(&sub, key.sub_keys().collect(), checked);
        }
    }
}

#[test]
fn catalogue_matches_raw_types() {
    let mut checked = 0;
    check_table("", keys::TOP.iter().collect(), &mut checked);
    assert_eq!(checked, 26, "every table of the format is compared");
}

/// Every object forbids unknown keys and every property is described.
fn check_strict(path: &str, schema: &Value, objects: &mut usize) {
    let Some(map) = schema.as_object() else {
        return;
    };
    if map.get("type") == Some(&json!("object")) {
        *objects += 1;
        let additional = map.get("additionalProperties");
        let strict = additional == Some(&json!(false))
            || additional.is_some_and(|a| a.is_object())
            || map.contains_key("$schema");
        assert!(
            strict,
            "{path}: additionalProperties must be false or a schema"
        );
        for (name, property) in map
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let description = property.get("description").and_then(Value::as_str);
            assert!(
                description.is_some_and(|d| d.len() > 10),
                "{path}.{name} has no description"
            );
        }
    }
    for (name, child) in map {
        check_strict(&format!("{path}/{name}"), child, objects);
    }
    for (i, child) in schema.as_array().into_iter().flatten().enumerate() {
        check_strict(&format!("{path}[{i}]"), child, objects);
    }
}

#[test]
fn schema_is_strict_and_described() {
    let schema = json_schema();
    assert_eq!(schema["additionalProperties"], json!(false));
    let mut objects = 0;
    check_strict("", &schema, &mut objects);
    assert!(objects > 20, "walked {objects} objects");
}

#[test]
fn schema_lists_every_metric() {
    let schema = json_schema();
    let expect = &schema["properties"]["expect"]["properties"];
    for MetricDef { name, .. } in Metric::ALL {
        assert!(
            expect.get(name).is_some(),
            "metric {name} missing from the schema"
        );
        let scoped = &expect["producer"]["additionalProperties"]["properties"];
        assert!(
            scoped.get(name).is_some(),
            "metric {name} missing from producer scopes"
        );
    }
}
