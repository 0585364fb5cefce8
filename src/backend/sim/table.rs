//! The DynamoDB subset in memory: conditional PutItem with ALL_OLD on failure, conditional
//! UpdateItem that creates missing items (as DynamoDB does) and returns ALL_NEW, GetItem, and a
//! Scan sorted by key.
//!
//! Reads are strongly consistent (the engine asks for ConsistentRead). Both tables share one
//! [`KeyIndex`] (the two-table pattern writes the same keys to both) and hold their items in
//! vectors indexed by key id: O(1) hot-path access without a heap allocation per key, and compact
//! enough for a million keys. Only `scan` orders items, so nothing depends on hash order.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::{
    BackendErrorKind, Condition, FinalItem, FinalItems, Item, MAX_ITEM_BYTES, PutOutcome, Status,
    Table, Update, UpdateOutcome,
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
    /// The bodies of the few items that hold one (outbox rows), by table and key id: kept
    /// beside the items so that a million-key table does not pay for a field most never use.
    bodies: BTreeMap<(Table, u32), Arc<str>>,
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
            body: None,
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
        self.bodies.clear();
    }

    pub(super) fn put_if_absent(
        &mut self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendErrorKind> {
        check_write(self.created, key)?;
        check_size(key, item)?;
        let id = self.keys.intern(key);
        if self.slot_mut(table, id).is_some() {
            return Ok(PutOutcome::Exists(
                self.item_at(table, id).unwrap_or_default(),
            ));
        }
        self.store(table, id, item);
        Ok(PutOutcome::Created)
    }

    /// TransactWriteItems of Puts: validated whole before anything is written, so a bad key
    /// leaves the table as it was.
    pub(super) fn transact_put(
        &mut self,
        table: Table,
        items: &[(String, Item)],
    ) -> Result<(), BackendErrorKind> {
        for (key, item) in items {
            check_write(self.created, key)?;
            check_size(key, item)?;
        }
        if items.is_empty() || items.len() > TRANSACT_MAX_ITEMS {
            return Err(invalid(
                "ValidationException: a transaction writes 1 to 100 items",
            ));
        }
        for (key, item) in items {
            let id = self.keys.intern(key);
            self.store(table, id, item);
        }
        Ok(())
    }

    /// DeleteItem: a missing item is no error.
    pub(super) fn delete(&mut self, table: Table, key: &str) -> Result<(), BackendErrorKind> {
        check_write(self.created, key)?;
        if let Some(id) = self.keys.find(key) {
            if let Some(slot) = self.items_mut(table).get_mut(id as usize) {
                *slot = None;
            }
            self.bodies.remove(&(table, id));
        }
        Ok(())
    }

    /// Writes `item` whole at key `id`, its body beside it.
    fn store(&mut self, table: Table, id: u32, item: &Item) {
        *self.slot_mut(table, id) = Some(Stored::new(item));
        match &item.body {
            Some(body) => self.bodies.insert((table, id), body.clone()),
            None => self.bodies.remove(&(table, id)),
        };
    }

    /// The item at key `id`, its body included.
    fn item_at(&self, table: Table, id: u32) -> Option<Item> {
        let mut item = self.items(table)?.get(id as usize)?.as_ref()?.item();
        item.body = self.bodies.get(&(table, id)).cloned();
        Some(item)
    }

    pub(super) fn update(
        &mut self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendErrorKind> {
        check_write(self.created, key)?;
        let known = self.keys.find(key);
        let existing = known.and_then(|id| self.item_at(table, id));
        if !holds(update.condition, existing.as_ref()) {
            return Ok(UpdateOutcome::ConditionFailed(existing));
        }
        let mut item = existing.unwrap_or_default();
        apply(&mut item, update);
        let id = known.unwrap_or_else(|| self.keys.intern(key));
        self.store(table, id, &item);
        Ok(UpdateOutcome::Updated(item))
    }

    pub(super) fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendErrorKind> {
        let items = self.items(table).ok_or(BackendErrorKind::NotFound)?;
        Ok(self.keys.find(key).and_then(|id| {
            items.get(id as usize)?.as_ref()?;
            self.item_at(table, id)
        }))
    }

    pub(super) fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendErrorKind> {
        let ids = self.sorted_ids(table)?;
        let mut all = Vec::with_capacity(ids.len());
        all.extend(
            ids.into_iter()
                .filter_map(|id| Some((self.keys.key(id).to_owned(), self.item_at(table, id)?))),
        );
        Ok(all)
    }

    /// [`Tables::scan`] for the checks, the table given up as it is read: its items, and the
    /// key index once neither table has any left. The keys are copied into one string and no
    /// `Item` is built.
    pub(super) fn take_final_items(
        &mut self,
        table: Table,
    ) -> Result<FinalItems, BackendErrorKind> {
        let ids = self.sorted_ids(table)?;
        let items = std::mem::take(self.items_mut(table));
        let text_bytes = ids.iter().map(|&id| self.keys.key(id).len()).sum();
        let mut all = FinalItems::with_capacity(ids.len(), text_bytes);
        for id in ids {
            if let Some(stored) = &items[id as usize] {
                let item = FinalItem {
                    status: stored.status,
                    count: stored.count,
                    version: stored.has_version.then_some(stored.version),
                };
                all.push(self.keys.key(id), item);
            }
        }
        drop(items);
        self.bodies.retain(|(of, _), _| *of != table);
        if self.status.is_empty() && self.side_effects.is_empty() {
            self.keys = KeyIndex::default();
        }
        Ok(all)
    }

    /// The ids of `table`'s items in key order.
    fn sorted_ids(&self, table: Table) -> Result<Vec<u32>, BackendErrorKind> {
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
        Ok(ids.into_iter().map(|(_, id)| id).collect())
    }

    /// The items of `table`, or `None` before CreateTable.
    fn items(&self, table: Table) -> Option<&Vec<Option<Stored>>> {
        self.created.then_some(match table {
            Table::Status => &self.status,
            Table::SideEffects => &self.side_effects,
        })
    }

    fn items_mut(&mut self, table: Table) -> &mut Vec<Option<Stored>> {
        match table {
            Table::Status => &mut self.status,
            Table::SideEffects => &mut self.side_effects,
        }
    }

    /// The item slot of key `id` in `table`, grown into existence.
    fn slot_mut(&mut self, table: Table, id: u32) -> &mut Option<Stored> {
        let items = self.items_mut(table);
        let index = id as usize;
        if items.len() <= index {
            // Keys arrive one new id at a time: `resize_with` pushes without cloning a template.
            items.resize_with(index + 1, || None);
        }
        &mut items[index]
    }
}

/// DynamoDB's limit on the actions of one TransactWriteItems call ("up to 100 action requests",
/// Amazon DynamoDB API Reference, TransactWriteItems,
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>).
const TRANSACT_MAX_ITEMS: usize = 100;

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

fn check_size(key: &str, item: &Item) -> Result<(), BackendErrorKind> {
    match item.size_bytes(key) > MAX_ITEM_BYTES {
        true => Err(invalid(
            "ValidationException: Item size has exceeded the maximum allowed size",
        )),
        false => Ok(()),
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
            body: None,
        };
        assert_eq!(Stored::new(&zeros).item(), zeros);
        assert_eq!(Stored::new(&Item::default()).item(), Item::default());
    }

    #[test]
    fn items_over_dynamodbs_size_limit_are_refused_and_nothing_is_written() {
        let mut tables = Tables::default();
        tables.create();
        let item = |bytes: usize| Item {
            body: Some("x".repeat(bytes).into()),
            ..Item::default()
        };
        // "pk" + the key + "body" + the body: exactly at the limit is allowed.
        let fits = MAX_ITEM_BYTES - "pk".len() - "k1".len() - "body".len();
        assert!(
            tables
                .put_if_absent(Table::Status, "k1", &item(fits))
                .is_ok()
        );
        let too_large = tables.put_if_absent(Table::Status, "k2", &item(fits + 1));
        assert!(
            matches!(too_large, Err(BackendErrorKind::InvalidParameter(m)) if m.contains("Item size"))
        );
        let batch = [
            ("k3".to_owned(), item(10)),
            ("k4".to_owned(), item(fits + 1)),
        ];
        assert!(tables.transact_put(Table::Status, &batch).is_err());
        assert_eq!(tables.get(Table::Status, "k3"), Ok(None));
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
    fn a_transaction_writes_all_items_or_none() {
        let mut tables = Tables::default();
        tables.create();
        let row = Item {
            message: Some(Arc::from("m")),
            body: Some(Arc::from("{}")),
            ..Item::default()
        };
        let pair = [
            ("record:m".to_owned(), Item::default()),
            ("outbox:m".to_owned(), row.clone()),
        ];
        tables.transact_put(Table::Status, &pair).unwrap();
        assert_eq!(tables.get(Table::Status, "outbox:m").unwrap(), Some(row));
        let bad = [
            ("record:n".to_owned(), Item::default()),
            (String::new(), Item::default()),
        ];
        assert!(tables.transact_put(Table::Status, &bad).is_err());
        assert_eq!(tables.get(Table::Status, "record:n").unwrap(), None);
        tables.delete(Table::Status, "outbox:m").unwrap();
        tables.delete(Table::Status, "outbox:m").unwrap();
        let keys: Vec<String> = tables
            .scan(Table::Status)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["record:m"]);
    }

    #[test]
    fn final_items_are_the_scan_and_give_the_tables_up() {
        let mut tables = Tables::default();
        tables.create();
        let versioned = Update {
            set_version: Some(7),
            add_count: 1,
            ..Update::default()
        };
        for key in ["b", "a", "entity:c"] {
            tables.update(Table::SideEffects, key, &versioned).unwrap();
        }
        let started = Item {
            status: Some(Status::Started),
            body: Some(Arc::from("{}")),
            ..Item::default()
        };
        tables.put_if_absent(Table::Status, "a", &started).unwrap();
        let expected = |table| -> Vec<(String, FinalItem)> {
            let scanned = tables.scan(table).unwrap();
            scanned
                .iter()
                .map(|(k, i)| (k.clone(), FinalItem::of(i)))
                .collect()
        };
        let (status, effects) = (expected(Table::Status), expected(Table::SideEffects));

        let taken = tables.take_final_items(Table::SideEffects).unwrap();
        let taken: Vec<(String, FinalItem)> =
            taken.iter().map(|(k, i)| (k.to_owned(), *i)).collect();
        assert_eq!(taken, effects);
        assert_eq!(tables.scan(Table::SideEffects).unwrap(), []);
        // The other table, and the keys it shares, are untouched.
        assert_eq!(tables.get(Table::Status, "a").unwrap(), Some(started));
        let taken = tables.take_final_items(Table::Status).unwrap();
        assert_eq!(
            taken
                .iter()
                .map(|(k, i)| (k.to_owned(), *i))
                .collect::<Vec<_>>(),
            status
        );
        assert!(tables.bodies.is_empty());
        assert_eq!(
            tables.keys.find("a"),
            None,
            "the key index went with the last table"
        );
    }

    #[test]
    fn stored_items_stay_small() {
        // One per key and table: a million-key run holds two million.
        assert!(size_of::<Option<Stored>>() <= 48);
    }
}
