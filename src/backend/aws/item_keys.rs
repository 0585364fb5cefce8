//! Item keys as stored in DynamoDB. A run's own tables hold only its items, so keys are stored as
//! given; pre-provisioned tables are shared by every run and never emptied, so each run stores its
//! keys as `{runid}#{key}` and reads back only keys with its own prefix.
//!
//! Invariant: the engine only ever sees keys as it wrote them; a key from another run is never
//! returned (scans filter by prefix on the server and check again here).

use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ItemKeys {
    /// `{runid}#` on shared tables.
    run_prefix: Option<String>,
}

impl ItemKeys {
    /// Keys in tables this run created: stored as they are.
    pub(crate) fn own_tables() -> Self {
        ItemKeys { run_prefix: None }
    }

    /// Keys in tables shared across runs: prefixed with the run id.
    pub(crate) fn shared_tables(run_id: &str) -> Self {
        ItemKeys {
            run_prefix: Some(format!("{run_id}#")),
        }
    }

    pub(crate) fn stored<'a>(&self, key: &'a str) -> Cow<'a, str> {
        match &self.run_prefix {
            None => Cow::Borrowed(key),
            Some(prefix) => Cow::Owned(format!("{prefix}{key}")),
        }
    }

    /// The engine's key for a stored key, or `None` when the item belongs to another run.
    pub(crate) fn engine_key<'a>(&self, stored: &'a str) -> Option<&'a str> {
        match &self.run_prefix {
            None => Some(stored),
            Some(prefix) => stored.strip_prefix(prefix.as_str()),
        }
    }

    /// What every key of this run starts with, when the table is shared (for a Scan filter).
    pub(crate) fn scan_prefix(&self) -> Option<&str> {
        self.run_prefix.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_tables_store_keys_unchanged() {
        let keys = ItemKeys::own_tables();
        assert_eq!(keys.stored("msg-1"), "msg-1");
        assert_eq!(keys.engine_key("msg-1"), Some("msg-1"));
        assert_eq!(keys.scan_prefix(), None);
    }

    #[test]
    fn shared_tables_prefix_keys_with_the_run_and_hide_other_runs() {
        let keys = ItemKeys::shared_tables("0123abcd");
        assert_eq!(keys.stored("msg-1"), "0123abcd#msg-1");
        assert_eq!(keys.engine_key("0123abcd#msg-1"), Some("msg-1"));
        // A key that itself contains `#` survives the round trip.
        assert_eq!(keys.engine_key(&keys.stored("a#b")), Some("a#b"));
        assert_eq!(keys.engine_key("ffffffff#msg-1"), None);
        assert_eq!(keys.engine_key("msg-1"), None);
        assert_eq!(keys.scan_prefix(), Some("0123abcd#"));
    }
}
