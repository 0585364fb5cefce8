//! Request counts per API operation, one piece of code for every counter of the project: the
//! fault layer counts the calls a scenario's actors make on every backend (what `api_calls` and
//! `estimated_cost_usd` read), and the AWS backend counts every SDK call it makes (provisioning
//! and the final drain included) for its report.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// Calls per operation, keyed by the operation's API name (`ReceiveMessage`, `PutItem`).
#[derive(Debug, Default)]
pub(crate) struct ApiCalls {
    calls: RefCell<BTreeMap<&'static str, u64>>,
}

impl ApiCalls {
    /// Counts `n` more of `operation`.
    pub(crate) fn add(&self, operation: &'static str, n: u64) {
        *self.calls.borrow_mut().entry(operation).or_insert(0) += n;
    }

    /// Counts one more call of `operation`.
    pub(crate) fn record(&self, operation: &'static str) {
        self.add(operation, 1);
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.calls.borrow().clone()
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
        calls.add("PutItem", 3);
        let snapshot = calls.snapshot();
        assert_eq!(snapshot.get("ReceiveMessage"), Some(&2));
        assert_eq!(snapshot.get("PutItem"), Some(&3));
        assert_eq!(snapshot.len(), 2);
    }
}
