//! Request counts per API operation, for the cost line of a run against AWS (SQS and DynamoDB
//! bill per request).
//!
//! One count per SDK call the backend makes; retries the SDK performs inside a call are not
//! visible here and not counted.

use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub(crate) struct ApiCalls(RefCell<BTreeMap<&'static str, u64>>);

impl ApiCalls {
    pub(crate) fn record(&self, operation: &'static str) {
        *self.0.borrow_mut().entry(operation).or_insert(0) += 1;
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_operation_separately() {
        let calls = ApiCalls::default();
        calls.record("ReceiveMessage");
        calls.record("ReceiveMessage");
        calls.record("PutItem");
        let snapshot = calls.snapshot();
        assert_eq!(snapshot.get("ReceiveMessage"), Some(&2));
        assert_eq!(snapshot.get("PutItem"), Some(&1));
        assert_eq!(snapshot.len(), 2);
    }
}
