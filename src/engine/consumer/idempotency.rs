//! The idempotency stores a consumer consults before a side effect: the status-table claim
//! (STARTED with a lease, taken over once the lease expired, COMPLETED at the end) and the
//! per-instance memory of recently handled keys.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::Consumer;
use crate::backend::faults::ApiOperation;
use crate::backend::{
    Backend, BackendError, Condition, Item, PutOutcome, Status, Table, Update, UpdateOutcome,
};
use crate::engine::event::{EventKind, MessageIx};

/// What claiming a key in the status table found.
pub(super) enum Claim {
    Claimed,
    Completed,
    /// Another consumer holds an unexpired claim.
    Busy,
}

impl<B: Backend> Consumer<B> {
    /// Claims `key` in the status table: STARTED with a lease, taking over an expired claim.
    pub(super) async fn claim(
        &mut self,
        ix: MessageIx,
        key: &str,
        lease: Duration,
    ) -> Result<Claim, BackendError> {
        let ctx = self.ctx.clone();
        let now_ms = ctx.now_ms();
        let lease_until_ms =
            now_ms.saturating_add(u64::try_from(lease.as_millis()).unwrap_or(u64::MAX));
        let item = Item {
            status: Some(Status::Started),
            attempts: 1,
            lease_until_ms: Some(lease_until_ms),
            message: Some(ctx.log().borrow().meta(ix).id.clone()),
            ..Item::default()
        };
        let claimed = self
            .table_call(ApiOperation::PutItem, ix, || {
                ctx.backend().put_if_absent(Table::Status, key, &item)
            })
            .await?;
        let existing = match claimed {
            PutOutcome::Created => {
                self.record(Some(ix), EventKind::StatusWritten(Status::Started));
                return Ok(Claim::Claimed);
            }
            PutOutcome::Exists(existing) => existing,
        };
        if existing.status == Some(Status::Completed) {
            return Ok(Claim::Completed);
        }
        if existing.lease_until_ms.is_some_and(|until| until > now_ms) {
            return Ok(Claim::Busy);
        }
        let takeover = Update {
            set_status: Some(Status::Started),
            add_attempts: 1,
            set_lease_until_ms: Some(lease_until_ms),
            condition: Condition::LeaseExpired { now_ms },
            ..Update::default()
        };
        let taken = self
            .table_call(ApiOperation::UpdateItem, ix, || {
                ctx.backend().update(Table::Status, key, &takeover)
            })
            .await?;
        Ok(match taken {
            UpdateOutcome::Updated(_) => {
                self.record(Some(ix), EventKind::StatusWritten(Status::Started));
                Claim::Claimed
            }
            UpdateOutcome::ConditionFailed(Some(item))
                if item.status == Some(Status::Completed) =>
            {
                Claim::Completed
            }
            UpdateOutcome::ConditionFailed(_) => Claim::Busy,
        })
    }

    pub(super) async fn complete(&mut self, ix: MessageIx, key: &str) -> Result<(), BackendError> {
        let update = Update {
            set_status: Some(Status::Completed),
            ..Update::default()
        };
        let ctx = self.ctx.clone();
        self.table_call(ApiOperation::UpdateItem, ix, || {
            ctx.backend().update(Table::Status, key, &update)
        })
        .await?;
        self.record(Some(ix), EventKind::StatusWritten(Status::Completed));
        Ok(())
    }
}

/// A bounded set of recently handled keys, oldest evicted first.
#[derive(Default)]
pub(super) struct Lru {
    pub(super) capacity: usize,
    order: VecDeque<Arc<str>>,
    keys: HashSet<Arc<str>>,
}

impl Lru {
    pub(super) fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    pub(super) fn insert(&mut self, key: Arc<str>) {
        if self.capacity == 0 || !self.keys.insert(key.clone()) {
            return;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_forgets_the_oldest_key_first() {
        let mut seen = Lru {
            capacity: 2,
            ..Lru::default()
        };
        for key in ["a", "b", "a", "c"] {
            seen.insert(Arc::from(key));
        }
        // "a" was inserted again while present: it keeps its place, so it is the oldest.
        assert!(!seen.contains("a"));
        assert!(seen.contains("b") && seen.contains("c"));
    }
}
