//! The receipts this backend handed out and that were not deleted, per queue: what
//! `remaining()` must make visible again before it drains, since SQS offers no way to list
//! in-flight messages.
//!
//! Invariant: at most one receipt per SQS message id, the latest one: SQS only promises that the
//! latest receipt works, and deleting with an older one may leave the message in place, so a stale
//! delete does not stop tracking the message.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Debug, Default)]
pub(crate) struct OutstandingReceipts {
    latest_by_message: BTreeMap<Arc<str>, Arc<str>>,
    message_by_receipt: HashMap<Arc<str>, Arc<str>>,
}

impl OutstandingReceipts {
    pub(crate) fn received(&mut self, message_id: Arc<str>, receipt: Arc<str>) {
        if let Some(previous) = self
            .latest_by_message
            .insert(message_id.clone(), receipt.clone())
        {
            self.message_by_receipt.remove(&previous);
        }
        self.message_by_receipt.insert(receipt, message_id);
    }

    /// A successful delete with `receipt`.
    pub(crate) fn deleted(&mut self, receipt: &str) {
        if let Some(message_id) = self.message_by_receipt.remove(receipt) {
            self.latest_by_message.remove(&message_id);
        }
    }

    /// All tracked receipts, in message-id order; tracking starts afresh.
    pub(crate) fn take(&mut self) -> Vec<Arc<str>> {
        self.message_by_receipt.clear();
        std::mem::take(&mut self.latest_by_message)
            .into_values()
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.latest_by_message.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_with_latest_receipt_stops_tracking() {
        let mut receipts = OutstandingReceipts::default();
        receipts.received("m1".into(), "r1".into());
        receipts.received("m2".into(), "r2".into());
        receipts.deleted("r1");
        assert_eq!(receipts.take(), vec![Arc::<str>::from("r2")]);
        assert_eq!(receipts.len(), 0);
    }

    #[test]
    fn only_the_latest_receipt_is_kept_and_stale_deletes_are_ignored() {
        let mut receipts = OutstandingReceipts::default();
        receipts.received("m1".into(), "old".into());
        receipts.received("m1".into(), "new".into());
        receipts.deleted("old");
        assert_eq!(receipts.len(), 1);
        assert_eq!(receipts.take(), vec![Arc::<str>::from("new")]);
    }
}
