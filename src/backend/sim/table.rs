//! The DynamoDB subset in memory: conditional PutItem with ALL_OLD on failure, conditional
//! UpdateItem that creates missing items (as DynamoDB does) and returns ALL_NEW, GetItem, and a
//! Scan sorted by key.
//!
//! Reads are strongly consistent (the engine asks for ConsistentRead). Items live in hash maps for
//! O(1) hot-path access; only `scan` orders them, so nothing depends on hash order.

use crate::backend::{
    BackendErrorKind, Condition, Item, PutOutcome, Status, Table, Update, UpdateOutcome,
};

use super::fast_hash::FastMap;
use super::limits::invalid;

#[derive(Debug, Default)]
pub(super) struct Tables {
    created: bool,
    status: FastMap<Box<str>, Item>,
    side_effects: FastMap<Box<str>, Item>,
}

impl Tables {
    /// CreateTable for both tables: empty, whatever was there before.
    pub(super) fn create(&mut self) {
        self.created = true;
        self.status.clear();
        self.side_effects.clear();
    }

    pub(super) fn put_if_absent(
        &mut self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendErrorKind> {
        let items = self.items_mut(table, key)?;
        if let Some(existing) = items.get(key) {
            return Ok(PutOutcome::Exists(existing.clone()));
        }
        items.insert(Box::from(key), item.clone());
        Ok(PutOutcome::Created)
    }

    pub(super) fn update(
        &mut self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendErrorKind> {
        let items = self.items_mut(table, key)?;
        if let Some(item) = items.get_mut(key) {
            if !holds(update.condition, Some(item)) {
                return Ok(UpdateOutcome::ConditionFailed(Some(item.clone())));
            }
            apply(item, update);
            return Ok(UpdateOutcome::Updated(item.clone()));
        }
        if !holds(update.condition, None) {
            return Ok(UpdateOutcome::ConditionFailed(None));
        }
        let mut item = Item::default();
        apply(&mut item, update);
        items.insert(Box::from(key), item.clone());
        Ok(UpdateOutcome::Updated(item))
    }

    pub(super) fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendErrorKind> {
        Ok(self.items(table)?.get(key).cloned())
    }

    pub(super) fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendErrorKind> {
        let mut all: Vec<(String, Item)> = self
            .items(table)?
            .iter()
            .map(|(key, item)| (key.to_string(), item.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    fn items(&self, table: Table) -> Result<&FastMap<Box<str>, Item>, BackendErrorKind> {
        if !self.created {
            return Err(BackendErrorKind::NotFound);
        }
        Ok(match table {
            Table::Status => &self.status,
            Table::SideEffects => &self.side_effects,
        })
    }

    fn items_mut(
        &mut self,
        table: Table,
        key: &str,
    ) -> Result<&mut FastMap<Box<str>, Item>, BackendErrorKind> {
        if !self.created {
            return Err(BackendErrorKind::NotFound);
        }
        if key.is_empty() {
            return Err(invalid(
                "ValidationException: the key pk is an empty string",
            ));
        }
        Ok(match table {
            Table::Status => &mut self.status,
            Table::SideEffects => &mut self.side_effects,
        })
    }
}

/// Evaluates a ConditionExpression against the item as stored (`None`: no item).
fn holds(condition: Condition, item: Option<&Item>) -> bool {
    match condition {
        Condition::Always => true,
        // attribute_not_exists(version) OR version < :v
        Condition::VersionBelow(version) => item
            .and_then(|i| i.version)
            .is_none_or(|current| current < version),
        // status = STARTED AND lease_until <= :now; a missing attribute compares false.
        Condition::LeaseExpired { now_ms } => item.is_some_and(|i| {
            i.status == Some(Status::Started) && i.lease_until_ms.is_some_and(|l| l <= now_ms)
        }),
    }
}

fn apply(item: &mut Item, update: &Update) {
    if let Some(status) = update.set_status {
        item.status = Some(status);
    }
    item.attempts += update.add_attempts;
    if let Some(lease) = update.set_lease_until_ms {
        item.lease_until_ms = Some(lease);
    }
    item.count += update.add_count;
    if let Some(version) = update.set_version {
        item.version = Some(version);
    }
    if let Some(message) = &update.set_message {
        item.message = Some(message.clone());
    }
}
