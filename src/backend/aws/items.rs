//! [`Item`] and [`Update`] as DynamoDB attribute maps and expressions.
//!
//! Invariants: attribute names always go through `#placeholders` (`status`, `count` and
//! `version` are DynamoDB reserved words), and an expression carries exactly the names and values
//! it uses (DynamoDB rejects unused ones). Absent fields (`None`, 0) are not written.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::backend::{Condition, Item, Status, Update};

pub(crate) const KEY: &str = "pk";
const STATUS: &str = "status";
const ATTEMPTS: &str = "attempts";
const LEASE_UNTIL_MS: &str = "lease_until_ms";
const COUNT: &str = "count";
const VERSION: &str = "version";
const MESSAGE: &str = "message";
const BODY: &str = "body";

pub(crate) type Attributes = HashMap<String, AttributeValue>;

pub(crate) fn key_attributes(key: &str) -> Attributes {
    HashMap::from([(KEY.to_owned(), AttributeValue::S(key.to_owned()))])
}

/// The whole item, key included, for PutItem.
pub(crate) fn item_to_attributes(key: &str, item: &Item) -> Attributes {
    let mut attributes = key_attributes(key);
    if let Some(status) = item.status {
        attributes.insert(STATUS.into(), AttributeValue::S(status.as_str().into()));
    }
    if item.attempts != 0 {
        attributes.insert(ATTEMPTS.into(), number(item.attempts));
    }
    if let Some(lease) = item.lease_until_ms {
        attributes.insert(LEASE_UNTIL_MS.into(), number(lease));
    }
    if item.count != 0 {
        attributes.insert(COUNT.into(), number(item.count));
    }
    if let Some(version) = item.version {
        attributes.insert(VERSION.into(), number(version));
    }
    if let Some(message) = &item.message {
        attributes.insert(MESSAGE.into(), AttributeValue::S(message.to_string()));
    }
    if let Some(body) = &item.body {
        attributes.insert(BODY.into(), AttributeValue::S(body.to_string()));
    }
    attributes
}

/// Reads an item back; attributes qsim does not write are ignored.
pub(crate) fn item_from_attributes(attributes: &Attributes) -> Result<Item, String> {
    let status = match attributes.get(STATUS) {
        None => None,
        Some(value) => Some(match string(value, STATUS)? {
            "STARTED" => Status::Started,
            "COMPLETED" => Status::Completed,
            other => return Err(format!("attribute {STATUS} has unknown value {other:?}")),
        }),
    };
    Ok(Item {
        status,
        attempts: optional_number(attributes, ATTEMPTS)?.unwrap_or(0),
        lease_until_ms: optional_number(attributes, LEASE_UNTIL_MS)?,
        count: optional_number(attributes, COUNT)?.unwrap_or(0),
        version: optional_number(attributes, VERSION)?,
        message: match attributes.get(MESSAGE) {
            None => None,
            Some(value) => Some(Arc::from(string(value, MESSAGE)?)),
        },
        body: match attributes.get(BODY) {
            None => None,
            Some(value) => Some(Arc::from(string(value, BODY)?)),
        },
    })
}

pub(crate) fn key_of(attributes: &Attributes) -> Result<String, String> {
    match attributes.get(KEY) {
        Some(value) => string(value, KEY).map(str::to_owned),
        None => Err(format!("item without key attribute {KEY}")),
    }
}

/// The parts of an UpdateItem request built from an [`Update`].
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UpdateExpression {
    /// `SET ... ADD ...`; `None` when the update only creates the item.
    pub(crate) update: Option<String>,
    pub(crate) condition: Option<String>,
    pub(crate) names: HashMap<String, String>,
    pub(crate) values: Attributes,
}

impl UpdateExpression {
    pub(crate) fn new(update: &Update) -> Self {
        let mut expression = UpdateExpression::default();
        let mut set = Vec::new();
        let mut add = Vec::new();
        if let Some(status) = update.set_status {
            set.push(expression.assign(STATUS, AttributeValue::S(status.as_str().into())));
        }
        if let Some(lease) = update.set_lease_until_ms {
            set.push(expression.assign(LEASE_UNTIL_MS, number(lease)));
        }
        if let Some(version) = update.set_version {
            set.push(expression.assign(VERSION, number(version)));
        }
        if let Some(message) = &update.set_message {
            set.push(expression.assign(MESSAGE, AttributeValue::S(message.to_string())));
        }
        if update.add_attempts != 0 {
            add.push(expression.increment(ATTEMPTS, update.add_attempts));
        }
        if update.add_count != 0 {
            add.push(expression.increment(COUNT, update.add_count));
        }
        let mut clauses = Vec::new();
        if !set.is_empty() {
            clauses.push(format!("SET {}", set.join(", ")));
        }
        if !add.is_empty() {
            clauses.push(format!("ADD {}", add.join(", ")));
        }
        expression.update = (!clauses.is_empty()).then(|| clauses.join(" "));
        expression.condition = match update.condition {
            Condition::Always => None,
            Condition::VersionBelow(version) => {
                let name = expression.name(VERSION);
                let below = expression.value("below_version", number(version));
                Some(format!("attribute_not_exists({name}) OR {name} < {below}"))
            }
            Condition::LeaseExpired { now_ms } => {
                let status = expression.name(STATUS);
                let lease = expression.name(LEASE_UNTIL_MS);
                let started = expression.value(
                    "started",
                    AttributeValue::S(Status::Started.as_str().into()),
                );
                let now = expression.value("now_ms", number(now_ms));
                Some(format!("{status} = {started} AND {lease} <= {now}"))
            }
        };
        expression
    }

    fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn assign(&mut self, attribute: &str, value: AttributeValue) -> String {
        let name = self.name(attribute);
        let value = self.value(&format!("set_{attribute}"), value);
        format!("{name} = {value}")
    }

    fn increment(&mut self, attribute: &str, by: u32) -> String {
        let name = self.name(attribute);
        let value = self.value(&format!("add_{attribute}"), number(by));
        format!("{name} {value}")
    }
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn string<'a>(value: &'a AttributeValue, attribute: &str) -> Result<&'a str, String> {
    value
        .as_s()
        .map(String::as_str)
        .map_err(|_| format!("attribute {attribute} is not a string"))
}

fn optional_number<T: std::str::FromStr>(
    attributes: &Attributes,
    attribute: &str,
) -> Result<Option<T>, String> {
    match attributes.get(attribute) {
        None => Ok(None),
        Some(value) => {
            let text = value
                .as_n()
                .map_err(|_| format!("attribute {attribute} is not a number"))?;
            text.parse()
                .map(Some)
                .map_err(|_| format!("attribute {attribute} = {text} is out of range"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_item() -> Item {
        Item {
            status: Some(Status::Started),
            attempts: 2,
            lease_until_ms: Some(1_500),
            count: 1,
            version: Some(7),
            message: Some("m-1".into()),
            body: Some("{\"id\":\"m-1\"}".into()),
        }
    }

    #[test]
    fn items_round_trip_through_attributes() {
        let attributes = item_to_attributes("k", &full_item());
        assert_eq!(key_of(&attributes).as_deref(), Ok("k"));
        assert_eq!(item_from_attributes(&attributes), Ok(full_item()));
    }

    #[test]
    fn absent_fields_are_not_written() {
        let attributes = item_to_attributes("k", &Item::default());
        assert_eq!(attributes.len(), 1);
        assert_eq!(item_from_attributes(&attributes), Ok(Item::default()));
    }

    #[test]
    fn unknown_status_is_an_error() {
        let mut attributes = key_attributes("k");
        attributes.insert(STATUS.into(), AttributeValue::S("DONE".into()));
        assert!(item_from_attributes(&attributes).is_err());
    }

    #[test]
    fn update_sets_and_adds_only_given_fields() {
        let expression = UpdateExpression::new(&Update {
            set_status: Some(Status::Completed),
            add_count: 1,
            ..Update::default()
        });
        assert_eq!(
            expression.update.as_deref(),
            Some("SET #status = :set_status ADD #count :add_count")
        );
        assert_eq!(expression.condition, None);
        assert_eq!(expression.names.len(), 2);
        assert_eq!(expression.values.len(), 2);
    }

    #[test]
    fn version_condition_allows_missing_or_older_versions() {
        let expression = UpdateExpression::new(&Update {
            set_version: Some(5),
            condition: Condition::VersionBelow(5),
            ..Update::default()
        });
        assert_eq!(
            expression.condition.as_deref(),
            Some("attribute_not_exists(#version) OR #version < :below_version")
        );
        assert_eq!(
            expression.values[":below_version"],
            AttributeValue::N("5".into())
        );
        assert_eq!(expression.names.len(), 1);
    }

    #[test]
    fn lease_condition_needs_started_and_expired_lease() {
        let expression = UpdateExpression::new(&Update {
            add_attempts: 1,
            condition: Condition::LeaseExpired { now_ms: 42 },
            ..Update::default()
        });
        assert_eq!(
            expression.condition.as_deref(),
            Some("#status = :started AND #lease_until_ms <= :now_ms")
        );
        assert_eq!(
            expression.update.as_deref(),
            Some("ADD #attempts :add_attempts")
        );
        assert_eq!(expression.values.len(), 3);
        assert_eq!(expression.names.len(), 3);
    }

    #[test]
    fn empty_update_has_no_expression() {
        assert_eq!(
            UpdateExpression::new(&Update::default()),
            UpdateExpression::default()
        );
    }
}
