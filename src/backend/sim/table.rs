//! The DynamoDB subset in memory: conditional PutItem with ALL_OLD on failure, conditional
//! UpdateItem that creates missing items (as DynamoDB does) and returns ALL_NEW, GetItem, and a
//! Scan sorted by key.
//!
//! Reads are strongly consistent (the engine asks for ConsistentRead). Both tables share one
//! [`KeyIndex`] (the two-table pattern writes the same keys to both) and hold their items in
//! vectors indexed by key id: O(1) hot-path access without a heap allocation per key, and compact
//! enough for a million keys. Only `scan` orders items, so nothing depends on hash order.

use crate::backend::{
    BackendErrorKind, Condition, Item, PutOutcome, Status, Table, Update, UpdateOutcome,
};

use super::keys::KeyIndex;
use super::limits::invalid;

#[derive(Debug, Default)]
pub(super) struct Tables {
    created: bool,
    keys: KeyIndex,
    /// Items by key id; `None` where the key only exists in the other table. Never longer than
    /// `keys`.
    status: Vec<Option<Item>>,
    side_effects: Vec<Option<Item>>,
}

impl Tables {
    /// CreateTable for both tables: empty, whatever was there before.
    pub(super) fn create(&mut self) {
        self.created = true;
        self.keys.clear();
        self.status.clear();
        self.side_effects.clear();
    }

    pub(super) fn put_if_absent(
        &mut self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendErrorKind> {
        check_write(self.created, key)?;
        let id = self.keys.intern(key);
        let slot = self.slot_mut(table, id);
        if let Some(existing) = slot {
            return Ok(PutOutcome::Exists(existing.clone()));
        }
        *slot = Some(item.clone());
        Ok(PutOutcome::Created)
    }

    pub(super) fn update(
        &mut self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendErrorKind> {
        check_write(self.created, key)?;
        let existing = self
            .keys
            .find(key)
            .and_then(|id| self.items(table)?.get(id as usize)?.as_ref());
        if !holds(update.condition, existing) {
            return Ok(UpdateOutcome::ConditionFailed(existing.cloned()));
        }
        let id = self.keys.intern(key);
        let item = self.slot_mut(table, id).get_or_insert_with(Item::default);
        apply(item, update);
        Ok(UpdateOutcome::Updated(item.clone()))
    }

    pub(super) fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendErrorKind> {
        let items = self.items(table).ok_or(BackendErrorKind::NotFound)?;
        Ok(self
            .keys
            .find(key)
            .and_then(|id| items.get(id as usize)?.clone()))
    }

    pub(super) fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendErrorKind> {
        let items = self.items(table).ok_or(BackendErrorKind::NotFound)?;
        let mut all: Vec<(&str, &Item)> = items
            .iter()
            .zip(0..)
            .filter_map(|(item, id)| Some((self.keys.key(id), item.as_ref()?)))
            .collect();
        // Keys are unique, so an unstable sort still has one result; sorting borrowed pairs
        // moves 24 bytes per swap instead of a String and an Item.
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Ok(all
            .into_iter()
            .map(|(key, item)| (key.to_owned(), item.clone()))
            .collect())
    }

    /// The items of `table`, or `None` before CreateTable.
    fn items(&self, table: Table) -> Option<&Vec<Option<Item>>> {
        self.created.then_some(match table {
            Table::Status => &self.status,
            Table::SideEffects => &self.side_effects,
        })
    }

    /// The item slot of key `id` in `table`, grown into existence.
    fn slot_mut(&mut self, table: Table, id: u32) -> &mut Option<Item> {
        let items = match table {
            Table::Status => &mut self.status,
            Table::SideEffects => &mut self.side_effects,
        };
        let index = id as usize;
        if items.len() <= index {
            items.resize(index + 1, None);
        }
        &mut items[index]
    }
}

/// Writes need the tables and a non-empty key (DynamoDB's validation).
fn check_write(created: bool, key: &str) -> Result<(), BackendErrorKind> {
    if !created {
        return Err(BackendErrorKind::NotFound);
    }
    if key.is_empty() {
        return Err(invalid(
            "ValidationException: the key pk is an empty string",
        ));
    }
    Ok(())
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
