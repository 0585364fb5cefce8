//! The DynamoDB subset in memory: conditional PutItem with ALL_OLD on failure, conditional
//! UpdateItem that creates missing items (as DynamoDB does) and returns ALL_NEW, GetItem, and a
//! Scan sorted by key.
//!
//! Reads are strongly consistent (the engine asks for ConsistentRead). Both tables share one
//! [`KeyIndex`] (the two-table pattern writes the same keys to both) and hold their items in
//! vectors indexed by key id: O(1) hot-path access without a heap allocation per key, and compact
//! enough for a million keys. Only `scan` orders items, so nothing depends on hash order.

use std::sync::Arc;

use crate::backend::{
    BackendErrorKind, Condition, Item, PutOutcome, Status, Table, Update, UpdateOutcome,
};

use super::item_keys::KeyIndex;
use super::limits::invalid;

#[derive(Debug, Default)]
pub(super) struct Tables {
    created: bool,
    keys: KeyIndex,
    /// Items by key id; `None` where the key only exists in the other table. Never longer than
    /// `keys`.
    status: Vec<Option<Stored>>,
    side_effects: Vec<Option<Stored>>,
}

/// An [`Item`] as the tables keep it: the optional numbers as flags beside plain values, 48
/// bytes instead of 64 (a million-key table holds one per key and table).
#[derive(Clone, Debug)]
struct Stored {
    lease_until_ms: u64,
    version: u64,
    message: Option<Arc<str>>,
    attempts: u32,
    count: u32,
    status: Option<Status>,
    has_lease: bool,
    has_version: bool,
}

impl Stored {
    fn new(item: &Item) -> Stored {
        Stored {
            lease_until_ms: item.lease_until_ms.unwrap_or(0),
            version: item.version.unwrap_or(0),
            message: item.message.clone(),
            attempts: item.attempts,
            count: item.count,
            status: item.status,
            has_lease: item.lease_until_ms.is_some(),
            has_version: item.version.is_some(),
        }
    }

    fn item(&self) -> Item {
        Item {
            status: self.status,
            attempts: self.attempts,
            lease_until_ms: self.has_lease.then_some(self.lease_until_ms),
            count: self.count,
            version: self.has_version.then_some(self.version),
            message: self.message.clone(),
        }
    }
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
            return Ok(PutOutcome::Exists(existing.item()));
        }
        *slot = Some(Stored::new(item));
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
            .and_then(|id| self.items(table)?.get(id as usize)?.as_ref())
            .map(Stored::item);
        if !holds(update.condition, existing.as_ref()) {
            return Ok(UpdateOutcome::ConditionFailed(existing));
        }
        let mut item = existing.unwrap_or_default();
        apply(&mut item, update);
        let id = self.keys.intern(key);
        *self.slot_mut(table, id) = Some(Stored::new(&item));
        Ok(UpdateOutcome::Updated(item))
    }

    pub(super) fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendErrorKind> {
        let items = self.items(table).ok_or(BackendErrorKind::NotFound)?;
        Ok(self
            .keys
            .find(key)
            .and_then(|id| Some(items.get(id as usize)?.as_ref()?.item())))
    }

    pub(super) fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendErrorKind> {
        let items = self.items(table).ok_or(BackendErrorKind::NotFound)?;
        let mut ids: Vec<(u128, u32)> = (0..)
            .zip(items)
            .filter_map(|(id, item)| item.as_ref().map(|_| (prefix(self.keys.key(id)), id)))
            .collect();
        // Ids, not (String, Item) pairs: 20 bytes a swap and a small scratch vector next to a
        // million items. Keys are unique, so an unstable sort still has exactly one result. The
        // prefixes order most pairs with one integer comparison (a string comparison through
        // the key index was most of a million-key scan); equal prefixes fall back to the keys.
        ids.sort_unstable_by(|&(pa, a), &(pb, b)| {
            pa.cmp(&pb)
                .then_with(|| self.keys.key(a).cmp(self.keys.key(b)))
        });
        let mut all = Vec::with_capacity(ids.len());
        all.extend(ids.into_iter().filter_map(|(_, id)| {
            Some((
                self.keys.key(id).to_owned(),
                items[id as usize].as_ref()?.item(),
            ))
        }));
        Ok(all)
    }

    /// The items of `table`, or `None` before CreateTable.
    fn items(&self, table: Table) -> Option<&Vec<Option<Stored>>> {
        self.created.then_some(match table {
            Table::Status => &self.status,
            Table::SideEffects => &self.side_effects,
        })
    }

    /// The item slot of key `id` in `table`, grown into existence.
    fn slot_mut(&mut self, table: Table, id: u32) -> &mut Option<Stored> {
        let items = match table {
            Table::Status => &mut self.status,
            Table::SideEffects => &mut self.side_effects,
        };
        let index = id as usize;
        if items.len() <= index {
            // Keys arrive one new id at a time: `resize_with` pushes without cloning a template.
            items.resize_with(index + 1, || None);
        }
        &mut items[index]
    }
}

/// The first 16 bytes of `key`, big-endian, zero-padded: `prefix(a) < prefix(b)` implies
/// `a < b` (a shorter key pads with zeros, which no byte is below), so sorting by prefix, then by
/// key on ties, is sorting by key.
fn prefix(key: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = key.len().min(16);
    bytes[..n].copy_from_slice(&key.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_items_round_trip_absent_and_zero_apart() {
        let zeros = Item {
            status: Some(Status::Completed),
            attempts: 0,
            lease_until_ms: Some(0),
            count: 0,
            version: Some(0),
            message: Some(Arc::from("m")),
        };
        assert_eq!(Stored::new(&zeros).item(), zeros);
        assert_eq!(Stored::new(&Item::default()).item(), Item::default());
    }

    #[test]
    fn prefixes_order_keys_as_the_keys_do() {
        let keys = [
            "",
            "\0",
            "a",
            "a\0",
            "a\0\0",
            "ab",
            "b",
            "load-0000000001",
            "load-00000000010",
            "load-0000000001\0",
            "load-00000000011",
            "load-0000000002",
            "z\u{ff}",
        ];
        for a in keys {
            for b in keys {
                let by_prefix = prefix(a).cmp(&prefix(b)).then_with(|| a.cmp(b));
                assert_eq!(by_prefix, a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn stored_items_stay_small() {
        // One per key and table: a million-key run holds two million.
        assert!(size_of::<Option<Stored>>() <= 48);
    }
}
