//! The JSON Schema (draft-07, what Taplo / Even Better TOML read) of the scenario file format,
//! generated from the key catalogue and [`Metric::ALL`] so it cannot drift from what resolution
//! accepts. `qsim.schema.json` at the repository root is this, pretty-printed; a test fails when
//! the committed file differs.

use serde_json::{Map, Value, json};

use super::keys::{self, Key, Presence, Shape};
use super::{LiveMetric, Metric, MetricDef, MetricKind};

/// The schema of a scenario file.
pub fn json_schema() -> Value {
    let mut schema = object(&[keys::TOP]);
    let root = schema.as_object_mut().expect("object() builds an object");
    root.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    root.insert("title".into(), json!("qsim scenario"));
    root.insert(
        "description".into(),
        json!(
            "A qsim scenario: a queue, producers, consumers, a timeline of actions, and the \
             invariants checked after the run. Durations are strings like \"250ms\", \"30s\", \
             \"5m\", \"4d\"."
        ),
    );
    schema
}

/// A table whose keys are the concatenation of `groups`.
fn object(groups: &[&[Key]]) -> Value {
    let keys = groups.iter().flat_map(|group| group.iter());
    let properties: Map<String, Value> = keys
        .clone()
        .map(|key| (key.name.to_string(), property(key)))
        .collect();
    let required: Vec<&str> = keys
        .filter(|key| matches!(key.presence, Presence::Required))
        .map(|key| key.name)
        .collect();
    let mut object = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    });
    if !required.is_empty() {
        object["required"] = json!(required);
    }
    object
}

fn property(key: &Key) -> Value {
    let mut schema = shape(&key.shape);
    let default = match key.presence {
        Presence::Default(value) => default_value(&key.shape, value),
        _ => None,
    };
    let presence = match (key.presence, &default) {
        (Presence::Required, _) => " Required.".to_string(),
        (_, Some(default)) => format!(" Default: {default}."),
        (Presence::Default(value), None) => format!(" Default: {value}."),
        (Presence::Derived(value), _) => format!(" Default: {value}."),
        (Presence::Optional, _) => String::new(),
    };
    let allowed = match key.shape {
        Shape::Table(_) | Shape::TableList(_) | Shape::Expect => String::new(),
        _ => format!(" Takes {}.", key.shape.allowed()),
    };
    schema["description"] = json!(format!("{}{allowed}{presence}", key.doc));
    if let Some(default) = default {
        schema["default"] = default;
    }
    schema
}

/// A default as the JSON value an editor would insert.
fn default_value(shape: &Shape, text: &str) -> Option<Value> {
    match shape {
        Shape::Int { .. } => text.parse::<i64>().ok().map(Value::from),
        Shape::Float { .. } => text.parse::<f64>().ok().map(Value::from),
        Shape::Bool => text.parse::<bool>().ok().map(Value::from),
        Shape::List(_) | Shape::Fields => serde_json::from_str(text).ok(),
        _ => Some(Value::from(text)),
    }
}

/// Number + unit, repeated: what humantime reads.
const DURATION_PATTERN: &str = "^\\s*([0-9]+\\s*(nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y)\\s*)+$";

const NUMBER_PATTERN: &str = "-?[0-9]+(\\.[0-9]+)?";

fn comparison_pattern() -> String {
    format!("^\\s*(==|!=|<=|>=|<|>)\\s*{NUMBER_PATTERN}\\s*$")
}

fn shape(shape: &Shape) -> Value {
    match shape {
        Shape::Name => json!({
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9-]*$",
            "maxLength": keys::NAME_MAX,
        }),
        Shape::Text => json!({ "type": "string", "minLength": 1 }),
        Shape::Tag => json!({ "type": "string", "pattern": "^[a-z0-9-]+$" }),
        Shape::Bool => json!({ "type": "boolean" }),
        Shape::Int { min, max } => {
            let mut schema = json!({ "type": "integer", "minimum": min });
            if let Some(max) = max {
                schema["maximum"] = json!(max);
            }
            schema
        }
        Shape::Float { min, max } => json!({ "type": "number", "minimum": min, "maximum": max }),
        Shape::Duration { .. } => json!({ "type": "string", "pattern": DURATION_PATTERN }),
        Shape::Choice(values) => json!({ "type": "string", "enum": values }),
        Shape::Rate => json!({
            "type": "string",
            "pattern": format!("^\\s*(unlimited|{NUMBER_PATTERN}\\s*/\\s*[sm])\\s*$"),
        }),
        Shape::CrashPolicy => json!({
            "anyOf": [
                { "type": "string", "enum": keys::CRASH_WORDS },
                { "type": "number", "minimum": 0.0, "maximum": 1.0 },
            ],
        }),
        Shape::Condition => {
            let metrics: Vec<&str> = LiveMetric::ALL.iter().map(|(_, n, _)| *n).collect();
            json!({
                "type": "string",
                "pattern": format!(
                    "^\\s*({})\\s*(==|!=|<=|>=|<|>)\\s*{NUMBER_PATTERN}\\s*$",
                    metrics.join("|")
                ),
            })
        }
        Shape::Target => json!({ "type": "string", "minLength": 1 }),
        Shape::List(inner) => json!({ "type": "array", "items": self::shape(inner) }),
        Shape::Table(groups) => object(groups),
        Shape::TableList(groups) => json!({ "type": "array", "items": object(groups) }),
        Shape::Fields => json!({
            "type": "object",
            "additionalProperties": { "type": ["string", "integer"] },
        }),
        Shape::Expect => expect(),
    }
}

/// `[expect]`: one property per metric, plus `producer` holding the same per producer.
fn expect() -> Value {
    let metrics = |with_producer: bool| {
        let mut properties: Map<String, Value> = Metric::ALL
            .iter()
            .map(|def| (def.name.to_string(), metric_value(def)))
            .collect();
        if with_producer {
            properties.insert(
                "producer".into(),
                json!({
                    "type": "object",
                    "description": "[expect.producer.NAME]: the same checks, only over the \
                                    messages of producer NAME.",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": properties.clone(),
                    },
                }),
            );
        }
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": properties,
        })
    };
    let mut expect = metrics(true);
    let mut sometimes = metrics(true);
    sometimes["description"] = json!(
        "[expect.sometimes]: checks that must hold on at least one seed of a `qsim explore` \
         (proof that a fault fired); a single run reports them without failing."
    );
    expect["properties"]["sometimes"] = sometimes;
    expect
}

fn metric_value(def: &MetricDef) -> Value {
    let doc = def.meaning;
    if def.kind == MetricKind::PerKey {
        let counts: Map<String, Value> = keys::STATUSES
            .iter()
            .map(|s| {
                let description = format!("Items with status {s} at the end.");
                let count = json!({ "type": "integer", "minimum": 0, "description": description });
                (s.to_string(), count)
            })
            .collect();
        return json!({
            "type": "object",
            "description": format!("{doc}. Statuses: {}.", keys::STATUSES.join(", ")),
            "additionalProperties": false,
            "properties": counts,
        });
    }
    if def.kind == MetricKind::Bool {
        return json!({ "type": "boolean", "description": format!("{doc}: true or false.") });
    }
    json!({
        "description": format!(
            "{doc}. A number (equality) or \"OP NUMBER\", OP one of {}.",
            keys::OPERATORS.join(" ")
        ),
        "anyOf": [
            { "type": "number" },
            { "type": "string", "pattern": comparison_pattern() },
        ],
    })
}

#[cfg(test)]
mod tests;
