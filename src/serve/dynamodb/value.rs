//! DynamoDB's attribute values and items, and their DynamoDB JSON form
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html>).
//!
//! Invariants: a set is never empty and never holds duplicates (a `BTreeSet`, ordered so a
//! response never depends on insertion order); maps are `BTreeMap`s for the same reason; binary
//! travels as base64 in JSON and as bytes here.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::errors::{invalid_parameter, malformed, validation};
use super::number::Number;
use crate::serve::error::ApiError;

/// An item: attribute names to values.
pub(crate) type Item = BTreeMap<String, AttributeValue>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AttributeValue {
    S(String),
    N(Number),
    B(Vec<u8>),
    Bool(bool),
    Null,
    M(Item),
    L(Vec<AttributeValue>),
    Ss(BTreeSet<String>),
    Ns(BTreeSet<Number>),
    Bs(BTreeSet<Vec<u8>>),
}

/// The type descriptors of the JSON form, also what `attribute_type` takes.
pub(crate) const TYPE_NAMES: [&str; 10] =
    ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"];

impl AttributeValue {
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::B(_) => "B",
            AttributeValue::Bool(_) => "BOOL",
            AttributeValue::Null => "NULL",
            AttributeValue::M(_) => "M",
            AttributeValue::L(_) => "L",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }

    /// The operand type DynamoDB names in "Incorrect operand type" errors.
    pub(crate) fn operand_type(&self) -> &'static str {
        match self {
            AttributeValue::S(_) => "STRING",
            AttributeValue::N(_) => "NUMBER",
            AttributeValue::B(_) => "BINARY",
            AttributeValue::Bool(_) => "BOOLEAN",
            AttributeValue::Null => "NULL",
            AttributeValue::M(_) => "MAP",
            AttributeValue::L(_) => "LIST",
            AttributeValue::Ss(_) => "SS",
            AttributeValue::Ns(_) => "NS",
            AttributeValue::Bs(_) => "BS",
        }
    }

    pub(crate) fn from_json(json: &Value) -> Result<AttributeValue, ApiError> {
        let object = json
            .as_object()
            .ok_or_else(|| malformed("AttributeValue", "an object"))?;
        let mut entries = object.iter();
        let (kind, value) = match (entries.next(), entries.next()) {
            (Some(entry), None) => entry,
            (None, _) => {
                return Err(validation(
                    "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(validation(
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                ));
            }
        };
        let text = |value: &Value| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| malformed(kind, "a string"))
        };
        let list = |value: &Value| {
            value
                .as_array()
                .ok_or_else(|| malformed(kind, "a list"))
                .cloned()
        };
        Ok(match kind.as_str() {
            "S" => AttributeValue::S(text(value)?),
            "N" => AttributeValue::N(Number::parse(&text(value)?)?),
            "B" => AttributeValue::B(decode_binary(&text(value)?)?),
            "BOOL" => AttributeValue::Bool(
                value
                    .as_bool()
                    .ok_or_else(|| malformed(kind, "a boolean"))?,
            ),
            "NULL" => match value.as_bool() {
                Some(true) => AttributeValue::Null,
                _ => {
                    return Err(invalid_parameter(
                        "Null attribute value types must have the value of true",
                    ));
                }
            },
            "M" => AttributeValue::M(item_from_json(value)?),
            "L" => AttributeValue::L(
                list(value)?
                    .iter()
                    .map(AttributeValue::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            "SS" => AttributeValue::Ss(set(kind, list(value)?, |v| text(v))?),
            "NS" => AttributeValue::Ns(set(kind, list(value)?, |v| Number::parse(&text(v)?))?),
            "BS" => AttributeValue::Bs(set(kind, list(value)?, |v| decode_binary(&text(v)?))?),
            other => {
                return Err(validation(format!(
                    "Supplied AttributeValue has an unknown datatype: {other}"
                )));
            }
        })
    }

    pub(crate) fn to_json(&self) -> Value {
        let (kind, value) = match self {
            AttributeValue::S(s) => ("S", Value::from(s.as_str())),
            AttributeValue::N(n) => ("N", Value::from(n.to_string())),
            AttributeValue::B(b) => ("B", Value::from(aws_smithy_types::base64::encode(b))),
            AttributeValue::Bool(b) => ("BOOL", Value::from(*b)),
            AttributeValue::Null => ("NULL", Value::from(true)),
            AttributeValue::M(m) => ("M", item_to_json(m)),
            AttributeValue::L(l) => ("L", l.iter().map(AttributeValue::to_json).collect()),
            AttributeValue::Ss(s) => ("SS", s.iter().map(|v| Value::from(v.as_str())).collect()),
            AttributeValue::Ns(s) => ("NS", s.iter().map(|v| Value::from(v.to_string())).collect()),
            AttributeValue::Bs(s) => (
                "BS",
                s.iter()
                    .map(|v| Value::from(aws_smithy_types::base64::encode(v)))
                    .collect(),
            ),
        };
        let mut object = Map::new();
        object.insert(kind.to_owned(), value);
        Value::Object(object)
    }

    /// The value's share of an item's size, as DynamoDB counts it
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>):
    /// strings by UTF-8 length, numbers by about one byte per two significant digits plus one,
    /// binary by length, booleans and null one byte, lists and maps 3 bytes plus one byte per
    /// element plus their elements (a map's element names included).
    pub(crate) fn size(&self) -> usize {
        match self {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => number_size(n),
            AttributeValue::B(b) => b.len(),
            AttributeValue::Bool(_) | AttributeValue::Null => 1,
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| 1 + k.len() + v.size()).sum::<usize>()
            }
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + v.size()).sum::<usize>(),
            AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
            AttributeValue::Ns(s) => s.iter().map(number_size).sum(),
            AttributeValue::Bs(s) => s.iter().map(Vec::len).sum(),
        }
    }
}

fn number_size(number: &Number) -> usize {
    number.significant_digits().div_ceil(2) + 1
}

/// An item's size: every attribute name plus its value.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value.size())
        .sum()
}

fn decode_binary(text: &str) -> Result<Vec<u8>, ApiError> {
    aws_smithy_types::base64::decode(text)
        .map_err(|_| validation(format!("Invalid Base64 binary value: {text:?}")))
}

/// A set from its JSON list: never empty, never with duplicates (DynamoDB rejects both rather
/// than dropping them).
fn set<T: Ord + std::fmt::Debug>(
    kind: &str,
    elements: Vec<Value>,
    parse: impl Fn(&Value) -> Result<T, ApiError>,
) -> Result<BTreeSet<T>, ApiError> {
    if elements.is_empty() {
        let name = match kind {
            "SS" => "string",
            "NS" => "number",
            _ => "binary",
        };
        return Err(invalid_parameter(format!(
            "An {name} set  may not be empty"
        )));
    }
    let mut set = BTreeSet::new();
    for element in &elements {
        if !set.insert(parse(element)?) {
            let listed: Vec<String> = elements
                .iter()
                .map(|e| e.as_str().unwrap_or_default().to_owned())
                .collect();
            return Err(invalid_parameter(format!(
                "Input collection [{}] contains duplicates.",
                listed.join(", ")
            )));
        }
    }
    Ok(set)
}

pub(crate) fn item_from_json(json: &Value) -> Result<Item, ApiError> {
    json.as_object()
        .ok_or_else(|| malformed("Item", "a map of attribute values"))?
        .iter()
        .map(|(name, value)| Ok((name.clone(), AttributeValue::from_json(value)?)))
        .collect()
}

pub(crate) fn item_to_json(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(name, value)| (name.clone(), value.to_json()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_type_round_trips_through_json() {
        let item = json!({
            "s": {"S": "text"}, "n": {"N": "1.5"}, "b": {"B": "AAEC"}, "t": {"BOOL": true},
            "z": {"NULL": true}, "m": {"M": {"x": {"N": "1"}}}, "l": {"L": [{"S": "a"}, {"N": "2"}]},
            "ss": {"SS": ["b", "a"]}, "ns": {"NS": ["10", "9"]}, "bs": {"BS": ["AQ=="]}
        });
        let parsed = item_from_json(&item).unwrap();
        assert_eq!(parsed["b"], AttributeValue::B(vec![0, 1, 2]));
        let back = item_to_json(&parsed);
        // Sets come back ordered: strings bytewise, numbers by value.
        assert_eq!(back["ss"], json!({"SS": ["a", "b"]}));
        assert_eq!(back["ns"], json!({"NS": ["9", "10"]}));
        assert_eq!(item_from_json(&back).unwrap(), parsed);
    }

    #[test]
    fn malformed_values_are_rejected_with_dynamodbs_messages() {
        let cases = [
            (
                json!({}),
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
            ),
            (
                json!({"S": "a", "N": "1"}),
                "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
            ),
            (
                json!({"NULL": false}),
                "One or more parameter values were invalid: Null attribute value types must have the value of true",
            ),
            (
                json!({"SS": []}),
                "One or more parameter values were invalid: An string set  may not be empty",
            ),
            (
                json!({"NS": ["1", "1.0"]}),
                "One or more parameter values were invalid: Input collection [1, 1.0] contains duplicates.",
            ),
            (
                json!({"X": "1"}),
                "Supplied AttributeValue has an unknown datatype: X",
            ),
        ];
        for (value, message) in cases {
            let error = AttributeValue::from_json(&value).unwrap_err();
            assert_eq!(
                (error.code.as_str(), error.message.as_str()),
                ("ValidationException", message)
            );
        }
        let error = AttributeValue::from_json(&json!({"S": 1})).unwrap_err();
        assert_eq!(error.code, "SerializationException");
    }

    #[test]
    fn sizes_count_names_and_values() {
        let item = item_from_json(&json!({
            "pk": {"S": "abc"}, "n": {"N": "12345"}, "l": {"L": [{"BOOL": true}]}
        }))
        .unwrap();
        // pk: 2 + 3; n: 1 + (3 + 1); l: 1 + (3 + 1 + 1).
        assert_eq!(item_size(&item), 5 + 5 + 6);
    }
}
