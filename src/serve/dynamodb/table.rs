//! One table: its key schema, settings and items, and the key rules every item operation shares.
//!
//! Invariant: items are held in key order (partition key, then sort key; numbers by value,
//! strings and binary bytewise, as DynamoDB orders sort keys), so Scan and Query pages are
//! deterministic and `ExclusiveStartKey` is a position in that order.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::errors::{invalid_parameter, missing_key_element, validation};
use super::number::Number;
use super::value::{AttributeValue, Item};
use crate::serve::error::ApiError;

/// The types a key attribute may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyType {
    S,
    N,
    B,
}

impl KeyType {
    pub(crate) fn parse(text: &str) -> Option<KeyType> {
        match text {
            "S" => Some(KeyType::S),
            "N" => Some(KeyType::N),
            "B" => Some(KeyType::B),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyType::S => "S",
            KeyType::N => "N",
            KeyType::B => "B",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyAttribute {
    pub(crate) name: String,
    pub(crate) kind: KeyType,
}

/// One key attribute's value; the derived order is DynamoDB's (a table's key attributes have
/// one type each, so values of different types never meet).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum KeyValue {
    S(String),
    N(Number),
    B(Vec<u8>),
}

impl KeyValue {
    fn to_attribute(&self) -> AttributeValue {
        match self {
            KeyValue::S(s) => AttributeValue::S(s.clone()),
            KeyValue::N(n) => AttributeValue::N(n.clone()),
            KeyValue::B(b) => AttributeValue::B(b.clone()),
        }
    }
}

/// An item's primary key: partition key, then the sort key when the table has one.
pub(crate) type ItemKey = (KeyValue, Option<KeyValue>);

/// The largest partition and sort key values
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html>,
/// "Partition key value length", "Sort key value length").
const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;

#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) id: String,
    pub(crate) created_ms: u64,
    pub(crate) partition_key: KeyAttribute,
    pub(crate) sort_key: Option<KeyAttribute>,
    /// `AttributeDefinitions` as given: name and type, in the request's order.
    pub(crate) attribute_definitions: Vec<(String, KeyType)>,
    pub(crate) billing_mode: &'static str,
    /// Read and write capacity units of a PROVISIONED table.
    pub(crate) throughput: (u64, u64),
    pub(crate) tags: BTreeMap<String, String>,
    /// The TTL attribute when TTL is enabled. Stored and described only: expired items stay,
    /// which DynamoDB allows (deletion happens "within a few days" of expiry,
    /// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>).
    pub(crate) ttl_attribute: Option<String>,
    pub(crate) items: BTreeMap<ItemKey, Item>,
}

impl Table {
    pub(crate) fn key_attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.partition_key).chain(&self.sort_key)
    }

    pub(crate) fn is_key_attribute(&self, name: &str) -> bool {
        self.key_attributes().any(|key| key.name == name)
    }

    /// The key of an item to write: every key attribute present, of its type, not empty.
    pub(crate) fn key_of_item(&self, item: &Item) -> Result<ItemKey, ApiError> {
        let value = |key: &KeyAttribute| match item.get(&key.name) {
            None => Err(invalid_parameter(format!(
                "Missing the key {} in the item",
                key.name
            ))),
            Some(value) => key_value(key, value, || {
                invalid_parameter(format!(
                    "Type mismatch for key {} expected: {} actual: {}",
                    key.name,
                    key.kind.as_str(),
                    value.type_name()
                ))
            }),
        };
        Ok((
            value(&self.partition_key)?,
            self.sort_key.as_ref().map(value).transpose()?,
        ))
    }

    /// The key of a `Key` request member: exactly the key attributes, of their types.
    pub(crate) fn key_from_request(&self, key: &Item) -> Result<ItemKey, ApiError> {
        let expected = 1 + usize::from(self.sort_key.is_some());
        if key.len() != expected {
            return Err(missing_key_element());
        }
        let value = |attribute: &KeyAttribute| match key.get(&attribute.name) {
            None => Err(missing_key_element()),
            Some(value) => key_value(attribute, value, missing_key_element),
        };
        Ok((
            value(&self.partition_key)?,
            self.sort_key.as_ref().map(value).transpose()?,
        ))
    }

    /// The key as an item of key attributes only (what `Key`, `LastEvaluatedKey` hold).
    pub(crate) fn key_item(&self, key: &ItemKey) -> Item {
        let mut item = Item::new();
        item.insert(self.partition_key.name.clone(), key.0.to_attribute());
        if let (Some(attribute), Some(value)) = (&self.sort_key, &key.1) {
            item.insert(attribute.name.clone(), value.to_attribute());
        }
        item
    }

    /// The `TableDescription` of DescribeTable, CreateTable and DeleteTable.
    pub(crate) fn describe(&self, status: &str) -> Value {
        let key_schema: Vec<Value> = self
            .key_attributes()
            .zip(["HASH", "RANGE"])
            .map(|(key, kind)| json!({"AttributeName": key.name, "KeyType": kind}))
            .collect();
        let definitions: Vec<Value> = self
            .attribute_definitions
            .iter()
            .map(|(name, kind)| json!({"AttributeName": name, "AttributeType": kind.as_str()}))
            .collect();
        let size: usize = self.items.values().map(super::value::item_size).sum();
        let mut description = json!({
            "TableName": self.name,
            "TableStatus": status,
            "TableArn": self.arn,
            "TableId": self.id,
            "KeySchema": key_schema,
            "AttributeDefinitions": definitions,
            "CreationDateTime": self.created_ms as f64 / 1000.0,
            "ItemCount": self.items.len(),
            "TableSizeBytes": size,
            "ProvisionedThroughput": {
                "ReadCapacityUnits": self.throughput.0,
                "WriteCapacityUnits": self.throughput.1,
                "NumberOfDecreasesToday": 0,
            },
            "DeletionProtectionEnabled": false,
        });
        if self.billing_mode == "PAY_PER_REQUEST" {
            description["BillingModeSummary"] = json!({
                "BillingMode": "PAY_PER_REQUEST",
                "LastUpdateToPayPerRequestDateTime": self.created_ms as f64 / 1000.0,
            });
        }
        description
    }
}

/// A key attribute's value, of its type and not empty.
pub(crate) fn key_value(
    key: &KeyAttribute,
    value: &AttributeValue,
    mismatch: impl FnOnce() -> ApiError,
) -> Result<KeyValue, ApiError> {
    let (key_value, length, empty_kind) = match (key.kind, value) {
        (KeyType::S, AttributeValue::S(s)) => (KeyValue::S(s.clone()), s.len(), "string"),
        (KeyType::N, AttributeValue::N(n)) => (KeyValue::N(n.clone()), 1, "number"),
        (KeyType::B, AttributeValue::B(b)) => (KeyValue::B(b.clone()), b.len(), "binary"),
        _ => return Err(mismatch()),
    };
    if length == 0 {
        return Err(validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {empty_kind} value. Key: {}",
            key.name
        )));
    }
    Ok(key_value)
}

/// Checks the key sizes of an item about to be stored.
pub(crate) fn check_key_sizes(key: &ItemKey) -> Result<(), ApiError> {
    let size = |value: &KeyValue| match value {
        KeyValue::S(s) => s.len(),
        KeyValue::N(_) => 0,
        KeyValue::B(b) => b.len(),
    };
    if size(&key.0) > MAX_PARTITION_KEY_BYTES {
        return Err(invalid_parameter(format!(
            "Size of hashkey has exceeded the maximum size limit of {MAX_PARTITION_KEY_BYTES} bytes"
        )));
    }
    if key
        .1
        .as_ref()
        .is_some_and(|sort| size(sort) > MAX_SORT_KEY_BYTES)
    {
        return Err(invalid_parameter(format!(
            "Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}
