//! The single-item operations (PutItem, GetItem, UpdateItem, DeleteItem) and the two steps
//! every write goes through, batches and transactions included: [`DynamoDb::plan_write`]
//! checks a write and works out the item before and after without changing anything, and
//! [`DynamoDb::commit`] stores it and records it for the server's history.

use serde_json::{Value, json};

use super::capacity;
use super::errors::{condition_failed, invalid_parameter, validation};
use super::expression::Expressions;
use super::expression::ast::{Path, top_level};
use super::expression::evaluate::{evaluate, project};
use super::expression::update::apply;
use super::request::{Request, missing};
use super::table::{ItemKey, Table, check_key_sizes};
use super::value::{Item, item_from_json, item_size, item_to_json};
use super::{DynamoDb, ItemWrite};
use crate::serve::error::ApiError;

/// DynamoDB's item size limit, 400 KB
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html>,
/// "Item size").
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The parameters the expression parameters replaced; refused rather than ignored.
const LEGACY_WRITE_PARAMETERS: [&str; 3] = ["Expected", "ConditionalOperator", "AttributeUpdates"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteKind {
    Put,
    Update,
    Delete,
    /// A transaction's condition on an item it does not write.
    ConditionCheck,
}

/// A checked write, not yet applied.
#[derive(Debug)]
pub(crate) struct Write {
    pub(crate) table: String,
    pub(crate) key: ItemKey,
    pub(crate) old: Option<Item>,
    /// The item after the write (`None`: deleted); for a failed condition, unchanged.
    pub(crate) new: Option<Item>,
    /// The top-level attributes an UpdateExpression wrote, for UPDATED_OLD / UPDATED_NEW.
    /// Coarser than DynamoDB, which returns only the nested paths written
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html>):
    /// `SET a.b = :v` returns all of `a` here.
    updated: Vec<String>,
    pub(crate) condition_holds: bool,
    /// `ReturnValuesOnConditionCheckFailure = ALL_OLD`.
    return_old_on_failure: bool,
}

impl Write {
    /// The ConditionalCheckFailedException of a write whose condition did not hold.
    pub(crate) fn condition_error(&self) -> ApiError {
        condition_failed(self.failed_item())
    }

    /// The item as it was, when the request asked for it on a failed condition.
    pub(crate) fn failed_item(&self) -> Option<Value> {
        self.old
            .as_ref()
            .filter(|_| self.return_old_on_failure)
            .map(item_to_json)
    }

    /// The capacity units the write consumes.
    pub(crate) fn units(&self) -> f64 {
        capacity::write_units(self.old.as_ref(), self.new.as_ref())
    }

    /// `Attributes` for a ReturnValues setting, `None` when there is nothing to return.
    fn returned(&self, return_values: &str) -> Option<Value> {
        let only_updated = |item: &Option<Item>| {
            item.as_ref().map(|item| {
                item.iter()
                    .filter(|(name, _)| self.updated.contains(name))
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect::<Item>()
            })
        };
        let item = match return_values {
            "ALL_OLD" => self.old.clone(),
            "ALL_NEW" => self.new.clone(),
            "UPDATED_OLD" => only_updated(&self.old),
            "UPDATED_NEW" => only_updated(&self.new),
            _ => None,
        };
        item.filter(|item| !item.is_empty())
            .map(|item| item_to_json(&item))
    }
}

/// One item read by its key.
#[derive(Debug)]
pub(crate) struct Read {
    /// The item, projected, in DynamoDB JSON.
    pub(crate) item: Option<Value>,
    /// The whole item's size, which is what a read costs.
    pub(crate) bytes: usize,
}

/// `{"Attributes": ...}` when there is something to return, else `{}`.
fn attributes_response(attributes: Option<Value>) -> Value {
    match attributes {
        Some(attributes) => json!({ "Attributes": attributes }),
        None => json!({}),
    }
}

fn check_item_size(item: &Item, kind: WriteKind) -> Result<(), ApiError> {
    if item_size(item) <= MAX_ITEM_BYTES {
        return Ok(());
    }
    Err(validation(if kind == WriteKind::Update {
        "Item size to update has exceeded the maximum allowed size"
    } else {
        "Item size has exceeded the maximum allowed size"
    }))
}

/// DynamoDB refuses an UpdateExpression that writes a key attribute.
fn check_key_untouched(
    table: &Table,
    paths: &mut dyn Iterator<Item = &Path>,
) -> Result<(), ApiError> {
    for path in paths {
        let attribute = top_level(path);
        if table.is_key_attribute(attribute) {
            return Err(invalid_parameter(format!(
                "Cannot update attribute {attribute}. This attribute is part of the key"
            )));
        }
    }
    Ok(())
}

impl DynamoDb {
    /// Checks one write given in DynamoDB's request shape (a PutItem, UpdateItem, DeleteItem
    /// request, or a transaction's Put, Update, Delete, ConditionCheck) and works out its
    /// effect on the current items. Changes nothing.
    pub(crate) fn plan_write(
        &self,
        kind: WriteKind,
        request: Request<'_>,
    ) -> Result<Write, ApiError> {
        request.reject_legacy(&LEGACY_WRITE_PARAMETERS)?;
        let name = request.required_str("TableName")?;
        let expressions = Expressions::parse(request)?;
        let return_old_on_failure = request
            .choice("ReturnValuesOnConditionCheckFailure", &["ALL_OLD", "NONE"])?
            == Some("ALL_OLD");
        let put = match kind {
            WriteKind::Put => Some(item_from_json(request.required_value("Item")?)?),
            _ => None,
        };
        let requested_key = match kind {
            WriteKind::Put => None,
            _ => Some(item_from_json(request.required_value("Key")?)?),
        };
        if kind == WriteKind::ConditionCheck && expressions.condition.is_none() {
            return Err(missing("ConditionExpression"));
        }
        let table = self.table(name)?;
        let key = match (&put, &requested_key) {
            (Some(item), _) => table.key_of_item(item)?,
            (None, Some(key)) => table.key_from_request(key)?,
            (None, None) => return Err(missing("Key")),
        };
        check_key_sizes(&key)?;
        if let Some(update) = &expressions.update {
            check_key_untouched(table, &mut update.paths())?;
        }
        let old = table.items.get(&key).cloned();
        let condition_holds = expressions
            .condition
            .as_ref()
            .is_none_or(|condition| evaluate(condition, old.as_ref().unwrap_or(&Item::new())));
        let mut write = Write {
            table: name.to_owned(),
            key,
            new: old.clone(),
            old,
            updated: Vec::new(),
            condition_holds,
            return_old_on_failure,
        };
        if !condition_holds {
            return Ok(write);
        }
        write.new = match kind {
            WriteKind::Put => put,
            WriteKind::Delete => None,
            WriteKind::ConditionCheck => write.old.clone(),
            WriteKind::Update => {
                // UpdateItem on a missing item creates it from its key.
                let before = write
                    .old
                    .clone()
                    .unwrap_or_else(|| table.key_item(&write.key));
                Some(match &expressions.update {
                    Some(update) => {
                        write.updated = update
                            .paths()
                            .map(|path| top_level(path).to_owned())
                            .collect();
                        apply(update, &before)?
                    }
                    None => before,
                })
            }
        };
        if let Some(new) = &write.new {
            check_item_size(new, kind)?;
        }
        Ok(write)
    }

    /// Applies a planned write and records it. A delete of a missing item is recorded too
    /// (old and new both `None`): the call succeeded, as on DynamoDB.
    pub(crate) fn commit(&mut self, write: &Write) {
        let Some(table) = self.tables.get_mut(&write.table) else {
            return;
        };
        match &write.new {
            Some(item) => {
                table.items.insert(write.key.clone(), item.clone());
            }
            None => {
                table.items.remove(&write.key);
            }
        }
        self.writes.push(ItemWrite {
            table: write.table.clone(),
            key: item_to_json(&table.key_item(&write.key)),
            old: write.old.as_ref().map(item_to_json),
            new: write.new.as_ref().map(item_to_json),
        });
    }

    /// Plans, checks the condition, commits, and answers with the requested `Attributes`.
    fn write_one(
        &mut self,
        kind: WriteKind,
        request: Request<'_>,
        allowed_return_values: &[&'static str],
    ) -> Result<Value, ApiError> {
        let return_values = request
            .choice("ReturnValues", allowed_return_values)?
            .unwrap_or("NONE");
        let report = capacity::requested(request)?;
        let write = self.plan_write(kind, request)?;
        if !write.condition_holds {
            return Err(write.condition_error());
        }
        self.commit(&write);
        let mut response = attributes_response(write.returned(return_values));
        capacity::add_to(&mut response, report, &write.table, write.units());
        Ok(response)
    }

    pub(super) fn put_item(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        self.write_one(WriteKind::Put, request, &["NONE", "ALL_OLD"])
            .map_err(put_or_delete_return_values)
    }

    pub(super) fn delete_item(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        self.write_one(WriteKind::Delete, request, &["NONE", "ALL_OLD"])
            .map_err(put_or_delete_return_values)
    }

    pub(super) fn update_item(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        self.write_one(
            WriteKind::Update,
            request,
            &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"],
        )
    }

    pub(super) fn get_item(&self, request: Request<'_>) -> Result<Value, ApiError> {
        request.reject_legacy(&["AttributesToGet"])?;
        let consistent = request.bool("ConsistentRead")?.unwrap_or(false);
        let report = capacity::requested(request)?;
        let expressions = Expressions::parse(request)?;
        let table = request.required_str("TableName")?;
        let read = self.read(
            table,
            request.required_value("Key")?,
            expressions.projection.as_deref(),
        )?;
        let mut response = match &read.item {
            Some(item) => json!({ "Item": item }),
            None => json!({}),
        };
        capacity::add_to(
            &mut response,
            report,
            table,
            capacity::read_units(read.bytes, consistent),
        );
        Ok(response)
    }

    /// One item by its key, projected. Every read is strongly consistent; `ConsistentRead`
    /// only changes what it costs.
    pub(crate) fn read(
        &self,
        table: &str,
        key: &Value,
        projection: Option<&[Path]>,
    ) -> Result<Read, ApiError> {
        let key = item_from_json(key)?;
        let table = self.table(table)?;
        let key = table.key_from_request(&key)?;
        let found = table.items.get(&key);
        Ok(Read {
            item: found.map(|item| match projection {
                Some(paths) => item_to_json(&project(item, paths)),
                None => item_to_json(item),
            }),
            bytes: found.map_or(0, item_size),
        })
    }
}

/// PutItem and DeleteItem take only NONE and ALL_OLD; DynamoDB says so in its own words.
fn put_or_delete_return_values(error: ApiError) -> ApiError {
    if error.message.contains("at 'returnValues'") {
        validation("Return values set to invalid value")
    } else {
        error
    }
}
