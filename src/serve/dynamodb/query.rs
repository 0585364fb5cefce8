//! Query and Scan: pages of items in key order, `Limit` items examined per page (before the
//! filter, as DynamoDB counts it), at most 1 MB examined per page, `LastEvaluatedKey` when the
//! page stopped early and items remain
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html>:
//! a present `LastEvaluatedKey` does not promise more items, an absent one promises none).

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::DynamoDb;
use super::capacity;
use super::errors::{invalid_expression, invalid_parameter, validation};
use super::expression::Expressions;
use super::expression::ast::{Comparator, Condition, Operand, Path, PathElement, top_level};
use super::expression::evaluate::{evaluate, order, project};
use super::request::Request;
use super::table::{ItemKey, KeyAttribute, Table, key_value};
use super::value::{AttributeValue, Item, item_from_json, item_size, item_to_json};
use crate::serve::error::ApiError;

/// The most data one Query or Scan page examines
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html>).
const MAX_PAGE_BYTES: usize = 1024 * 1024;

const SELECT: [&str; 4] = [
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
    "SPECIFIC_ATTRIBUTES",
    "COUNT",
];

/// The sort key part of a KeyConditionExpression.
#[derive(Debug)]
enum SortCondition {
    Compare(Comparator, AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

impl SortCondition {
    fn holds(&self, value: &AttributeValue) -> bool {
        let ordered = |bound: &AttributeValue| order(value, bound);
        match self {
            SortCondition::Compare(comparator, bound) => match (comparator, ordered(bound)) {
                (_, None) => false,
                (Comparator::Equal, Some(ordering)) => ordering == Ordering::Equal,
                (Comparator::Less, Some(ordering)) => ordering == Ordering::Less,
                (Comparator::LessOrEqual, Some(ordering)) => ordering != Ordering::Greater,
                (Comparator::Greater, Some(ordering)) => ordering == Ordering::Greater,
                (Comparator::GreaterOrEqual, Some(ordering)) => ordering != Ordering::Less,
                (Comparator::NotEqual, Some(_)) => false,
            },
            SortCondition::Between(low, high) => {
                ordered(low).is_some_and(|o| o != Ordering::Less)
                    && ordered(high).is_some_and(|o| o != Ordering::Greater)
            }
            SortCondition::BeginsWith(prefix) => match (value, prefix) {
                (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
                (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
                _ => false,
            },
        }
    }
}

fn key_condition_error(detail: &str) -> ApiError {
    invalid_expression("KeyConditionExpression", detail)
}

/// The path names exactly one top-level attribute.
fn attribute_name(path: &Path) -> Option<&str> {
    match path.as_slice() {
        [PathElement::Attribute(name)] => Some(name),
        _ => None,
    }
}

fn type_mismatch() -> ApiError {
    invalid_parameter("Condition parameter type does not match schema type")
}

fn check_key_type(key: &KeyAttribute, value: &AttributeValue) -> Result<(), ApiError> {
    if value.type_name() == key.kind.as_str() {
        Ok(())
    } else {
        Err(type_mismatch())
    }
}

/// Splits a KeyConditionExpression into the partition key value and the sort key condition.
fn key_condition(
    table: &Table,
    condition: &Condition,
) -> Result<(AttributeValue, Option<SortCondition>), ApiError> {
    let parts: Vec<&Condition> = match condition {
        Condition::And(left, right) => vec![left, right],
        other => vec![other],
    };
    let mut partition = None;
    let mut sort = None;
    for part in parts {
        let (name, sort_condition) = match part {
            Condition::Compare(Operand::Path(path), comparator, Operand::Value(value))
                if *comparator != Comparator::NotEqual =>
            {
                (
                    attribute_name(path),
                    SortCondition::Compare(*comparator, value.clone()),
                )
            }
            Condition::Between(Operand::Path(path), Operand::Value(low), Operand::Value(high)) => {
                if order(low, high) == Some(Ordering::Greater) {
                    return Err(key_condition_error(&format!(
                        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{{}:{}}}, upper bound operand: AttributeValue: {{{}:{}}}",
                        low.type_name(),
                        scalar_text(low),
                        high.type_name(),
                        scalar_text(high)
                    )));
                }
                (
                    attribute_name(path),
                    SortCondition::Between(low.clone(), high.clone()),
                )
            }
            Condition::BeginsWith(Operand::Path(path), Operand::Value(prefix)) => (
                attribute_name(path),
                SortCondition::BeginsWith(prefix.clone()),
            ),
            Condition::And(..) => {
                return Err(key_condition_error(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            Condition::Or(..) => {
                return Err(key_condition_error(
                    "Invalid operator used in KeyConditionExpression: OR",
                ));
            }
            Condition::Not(..) => {
                return Err(key_condition_error(
                    "Invalid operator used in KeyConditionExpression: NOT",
                ));
            }
            _ => return Err(validation("Query key condition not supported")),
        };
        let name = name.ok_or_else(|| validation("Query key condition not supported"))?;
        if name == table.partition_key.name {
            let SortCondition::Compare(Comparator::Equal, value) = sort_condition else {
                return Err(validation("Query key condition not supported"));
            };
            if partition.is_some() {
                return Err(key_condition_error(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            partition = Some(value);
        } else if let Some(sort_key) = table.sort_key.as_ref().filter(|key| key.name == name) {
            if sort.is_some() {
                return Err(key_condition_error(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            match &sort_condition {
                SortCondition::Compare(_, value) | SortCondition::BeginsWith(value) => {
                    check_key_type(sort_key, value)?
                }
                SortCondition::Between(low, high) => {
                    check_key_type(sort_key, low)?;
                    check_key_type(sort_key, high)?;
                }
            }
            sort = Some(sort_condition);
        } else {
            return Err(validation(format!(
                "Query condition missed key schema element: {}",
                table.partition_key.name
            )));
        }
    }
    match partition {
        Some(value) => Ok((value, sort)),
        None => Err(validation(format!(
            "Query condition missed key schema element: {}",
            table.partition_key.name
        ))),
    }
}

fn scalar_text(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        other => other.type_name().to_owned(),
    }
}

/// The members Query and Scan share.
struct PageRequest {
    expressions: Expressions,
    limit: Option<usize>,
    count_only: bool,
    start: Option<ItemKey>,
    report: Option<capacity::Report>,
    consistent: bool,
}

impl PageRequest {
    fn parse(request: Request<'_>, table: &Table) -> Result<PageRequest, ApiError> {
        request.reject_legacy(&[
            "AttributesToGet",
            "KeyConditions",
            "QueryFilter",
            "ScanFilter",
            "ConditionalOperator",
        ])?;
        if request.str("IndexName")?.is_some() {
            return Err(validation(
                "qsim serve does not support secondary indexes: IndexName",
            ));
        }
        if request.u64("TotalSegments")?.is_some() || request.u64("Segment")?.is_some() {
            return Err(validation(
                "qsim serve does not support parallel scans: Segment, TotalSegments",
            ));
        }
        let consistent = request.bool("ConsistentRead")?.unwrap_or(false);
        let limit = match request.u64("Limit")? {
            Some(0) => {
                return Err(validation(
                    "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
                ));
            }
            limit => limit.map(|limit| limit as usize),
        };
        let select = request.choice("Select", &SELECT)?;
        let expressions = Expressions::parse(request)?;
        let start = request
            .object("ExclusiveStartKey")?
            .map(|key| {
                let key = item_from_json(&Value::Object(key.clone()))?;
                table.key_from_request(&key).map_err(|_| {
                    validation("The provided starting key is invalid: The provided key element does not match the schema")
                })
            })
            .transpose()?;
        Ok(PageRequest {
            expressions,
            limit,
            count_only: select == Some("COUNT"),
            start,
            report: capacity::requested(request)?,
            consistent,
        })
    }

    /// Reads one page from `candidates`, which are in the order the page walks.
    fn page<'a>(
        &self,
        table: &Table,
        candidates: impl Iterator<Item = (&'a ItemKey, &'a Item)>,
        forward: bool,
    ) -> Value {
        let mut candidates = candidates
            .skip_while(|(key, _)| match &self.start {
                None => false,
                Some(start) if forward => *key <= start,
                Some(start) => *key >= start,
            })
            .peekable();
        let mut items = Vec::new();
        let mut scanned = 0;
        let mut bytes = 0;
        let mut last = None;
        while let Some((key, item)) = candidates.next() {
            scanned += 1;
            bytes += item_size(item);
            let matches = self
                .expressions
                .filter
                .as_ref()
                .is_none_or(|filter| evaluate(filter, item));
            if matches {
                items.push(match &self.expressions.projection {
                    Some(paths) => item_to_json(&project(item, paths)),
                    None => item_to_json(item),
                });
            }
            let full = self.limit == Some(scanned) || bytes >= MAX_PAGE_BYTES;
            if full {
                if candidates.peek().is_some() {
                    last = Some(key);
                }
                break;
            }
        }
        let mut response = json!({ "Count": items.len(), "ScannedCount": scanned });
        if !self.count_only {
            response["Items"] = Value::Array(items);
        }
        if let Some(key) = last {
            response["LastEvaluatedKey"] = item_to_json(&table.key_item(key));
        }
        let units = capacity::read_units(bytes, self.consistent);
        capacity::add_to(&mut response, self.report, &table.name, units);
        response
    }
}

impl DynamoDb {
    pub(super) fn query(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let table = self.table(request.required_str("TableName")?)?;
        let page = PageRequest::parse(request, table)?;
        let condition = page
            .expressions
            .key_condition
            .as_ref()
            .ok_or_else(|| validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."))?;
        let (partition, sort) = key_condition(table, condition)?;
        // Query only: a Scan may filter on key attributes (qsim's own scan filters on `pk`).
        if let Some(filter) = &page.expressions.filter
            && let Some(key) = filter
                .paths()
                .into_iter()
                .find(|path| table.is_key_attribute(top_level(path)))
        {
            return Err(validation(format!(
                "Filter Expression can only contain non-primary key attributes: Primary key attribute: {}",
                top_level(key)
            )));
        }
        let forward = request.bool("ScanIndexForward")?.unwrap_or(true);
        let partition_key = key_value(&table.partition_key, &partition, type_mismatch)?;
        let in_partition = table
            .items
            .range((partition_key.clone(), None)..)
            .take_while(|(key, _)| key.0 == partition_key)
            .filter(|(_, item)| match (&sort, &table.sort_key) {
                (Some(condition), Some(sort_key)) => item
                    .get(&sort_key.name)
                    .is_some_and(|value| condition.holds(value)),
                _ => true,
            });
        Ok(if forward {
            page.page(table, in_partition, true)
        } else {
            let items: Vec<_> = in_partition.collect();
            page.page(table, items.into_iter().rev(), false)
        })
    }

    pub(super) fn scan(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let table = self.table(request.required_str("TableName")?)?;
        let page = PageRequest::parse(request, table)?;
        if page.expressions.key_condition.is_some() {
            return Err(validation(
                "KeyConditionExpression is not a Scan parameter; use Query",
            ));
        }
        Ok(page.page(table, table.items.iter(), true))
    }
}
