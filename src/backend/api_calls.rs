//! Request counts per API operation, one piece of code for every counter of the project: the
//! fault layer counts the calls a scenario's actors make on every backend (what `api_calls` and
//! `estimated_cost_usd` read), and the AWS backend counts every SDK call it makes (provisioning
//! and the final drain included) for its report.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// Calls per operation, keyed by the operation's API name (`ReceiveMessage`, `PutItem`).
///
/// A short list, not a map: a run counts a dozen operations at most, every call of every actor
/// counts here, and the names are the same few constants, so most lookups end at an address
/// comparison instead of a string comparison per map node.
#[derive(Debug, Default)]
pub(crate) struct ApiCalls {
    calls: RefCell<Vec<(&'static str, u64)>>,
}

impl ApiCalls {
    /// Counts `n` more of `operation`.
    pub(crate) fn add(&self, operation: &'static str, n: u64) {
        let mut calls = self.calls.borrow_mut();
        let same = |name: &&str| std::ptr::eq(*name, operation) || *name == operation;
        match calls.iter_mut().find(|(name, _)| same(name)) {
            Some((_, count)) => *count += n,
            None => calls.push((operation, n)),
        }
    }

    /// Counts one more call of `operation`.
    pub(crate) fn record(&self, operation: &'static str) {
        self.add(operation, 1);
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.calls.borrow().iter().copied().collect()
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

    #[test]
    fn one_name_at_two_addresses_is_one_operation() {
        let calls = ApiCalls::default();
        let elsewhere: &'static str = String::from("PutItem").leak();
        assert!(!std::ptr::eq(elsewhere, "PutItem"));
        calls.add("PutItem", 1);
        calls.add(elsewhere, 2);
        assert_eq!(
            calls.snapshot().into_iter().collect::<Vec<_>>(),
            [("PutItem", 3)]
        );
    }
}
