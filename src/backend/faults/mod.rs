//! The fault layer: wraps any [`Backend`] and injects the API faults a scenario's `[[faults]]`
//! tables ask for, at the boundary, so one scenario means the same on the simulator and on AWS.
//! It also counts the calls the scenario's actors make, per operation, on every backend (what
//! the `api_calls` and `estimated_cost_usd` metrics read).
//!
//! Invariants:
//! - each rule draws from its own seeded stream (`fault:N`, N its position in the file), and only
//!   for the calls it targets: a scenario without faults draws nothing and runs exactly as it did
//!   before the layer existed;
//! - every injected fault is reported through [`Backend::take_injections`], naming the messages
//!   it touched where the call names them (sends, and receives and deletes whose service side
//!   happened), so the history accounts for copies the caller never saw;
//! - `timeout_after` makes the real call, then hides its answer; `timeout_before` makes no call;
//!   `throttle` and `error` make none either (the service refused it).
//! - qsim's own reads (provisioning, progress, the final state) are forwarded uncounted.

pub use crate::sqs::faults::{ApiOperation, FaultKind, FaultRule, FaultScope, FaultTrigger};

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use super::api_calls::ApiCalls;
use super::{
    Backend, BackendError, BackendErrorKind, Capabilities, FinalItems, Item, MoveTask,
    OutgoingMessage, PutOutcome, QueueDepth, QueueId, QueueSpec, QueueTransition, Reachable,
    Receipt, ReceiveRequest, ReceivedMessage, SendOutcome, Table, Update, UpdateOutcome,
};
use crate::rng::stream;

/// How long an injected refusal (throttle, error) or a request that never arrives
/// (timeout_before) takes to reach the caller: a round trip. Calls cost no time on the
/// simulator otherwise, and a client that retries a refusal without backoff must still be seen
/// hammering the API (about 100 calls a second), not spinning at one instant.
pub const FAULT_ROUND_TRIP: Duration = Duration::from_millis(10);

/// How long a caller waits before it gives up on an answer (`timeout_before`, `timeout_after`).
pub const TIMEOUT_WAIT: Duration = Duration::from_secs(1);

/// SQS bills each 64 KiB chunk of a request's payload as one request (see
/// [`crate::check::cost`]).
pub const SQS_BILLING_CHUNK: u64 = 64 * 1024;

/// DynamoDB on-demand bills a transactional write of an item up to 1 KB as two write request
/// units ("Transactional write requests require 2 WRUs to perform one write for items up to
/// 1 KB", <https://aws.amazon.com/dynamodb/pricing/on-demand/>), so a TransactWriteItems call
/// is billed as two units per item it writes.
pub const TRANSACT_WRITE_UNITS_PER_ITEM: u64 = 2;

/// The operations the layer counts besides those of [`ApiOperation`] (which faults can target):
/// the names a history's `api_calls` may hold beyond [`ApiOperation::api_name`]'s.
pub const COUNTED_WITHOUT_FAULTS: [&str; 5] = [
    "PurgeQueue",
    "GetQueueAttributes",
    "StartMessageMoveTask",
    "TransactWriteItems",
    "DeleteItem",
];

/// The operations a `command` consumer's calls are counted under besides the layer's own: the
/// other message and item calls the simulator served to it answers. (Creating, listing, tagging
/// and deleting queues and tables is set-up, never counted.)
pub const COUNTED_FOR_COMMANDS: [&str; 9] = [
    "SendMessage",
    "DeleteMessage",
    "ChangeMessageVisibilityBatch",
    "GetQueueUrl",
    "Query",
    "Scan",
    "BatchWriteItem",
    "BatchGetItem",
    "TransactGetItems",
];

/// The name a call of the API operation `name` is counted under, if it is counted at all.
pub fn counted_api_name(name: &str) -> Option<&'static str> {
    ApiOperation::ALL
        .into_iter()
        .map(ApiOperation::api_name)
        .chain(COUNTED_WITHOUT_FAULTS)
        .chain(COUNTED_FOR_COMMANDS)
        .find(|api| *api == name)
}

/// One fault the layer injected.
#[derive(Clone, Debug, PartialEq)]
pub struct Injection {
    pub at: Instant,
    pub operation: ApiOperation,
    pub fault: FaultKind,
    /// The body of a message the fault touched, when the call names one (one injection per
    /// message); `None` for a call that names none (an empty receive, a table call).
    pub body: Option<Arc<str>>,
}

/// What the scenario's actors asked of the backend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiUsage {
    /// Calls per API operation (`SendMessageBatch`, `GetItem`, ...).
    pub calls: BTreeMap<&'static str, u64>,
    /// Billed requests per API operation: SQS bills each 64 KiB of payload as one request.
    pub billed: BTreeMap<&'static str, u64>,
}

impl ApiUsage {
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }
}

#[derive(Debug)]
struct RuleState {
    rule: FaultRule,
    rng: ChaCha8Rng,
    /// Calls (or entries, for entry-scoped rules) it targeted so far.
    seen: u64,
}

impl RuleState {
    /// Whether the rule strikes the next call (or entry) it targets, at `elapsed`.
    fn strikes(&mut self, elapsed: Duration) -> bool {
        self.seen += 1;
        match self.rule.trigger {
            FaultTrigger::Probability(p) => p > 0.0 && self.rng.random_bool(p.min(1.0)),
            FaultTrigger::Window { from, until } => from <= elapsed && elapsed < until,
            FaultTrigger::Nth(n) => self.seen == n,
        }
    }

    /// The seeded extra delay of a latency rule: uniform in `(0, delay]`.
    fn latency(&mut self) -> Duration {
        let max = u64::try_from(self.rule.delay.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.random_range(1..=max.max(1)))
    }
}

/// What the call-scoped rules decided for one call.
#[derive(Debug, Default)]
pub struct CallPlan {
    /// The seeded extra delay of the latency rules that struck (zero: none).
    pub delay: Duration,
    /// The fault of the first other rule that struck.
    pub fault: Option<FaultKind>,
}

/// A scenario's `[[faults]]` rules with their seeded streams and counts: what decides whether
/// a call (or a batch entry) is struck. One set serves qsim's own calls (the [`FaultLayer`]),
/// another the calls of `command` consumers to the simulator served to them.
#[derive(Debug)]
pub struct FaultRules {
    rules: Vec<RuleState>,
}

impl FaultRules {
    /// Rule N draws from the stream `{stream}:N` of `seed`.
    pub fn new(rules: &[FaultRule], seed: u64, stream_name: &str) -> Self {
        FaultRules {
            rules: rules
                .iter()
                .enumerate()
                .map(|(index, rule)| RuleState {
                    rule: rule.clone(),
                    rng: stream(seed, &format!("{stream_name}:{index}")),
                    seen: 0,
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Decides the call-scoped rules for one call of `operation`, `elapsed` after the start.
    pub fn plan(&mut self, operation: ApiOperation, elapsed: Duration) -> CallPlan {
        let mut plan = CallPlan::default();
        for state in &mut self.rules {
            if state.rule.scope != FaultScope::Call || !state.rule.targets(operation) {
                continue;
            }
            if !state.strikes(elapsed) {
                continue;
            }
            match state.rule.kind {
                FaultKind::Latency => plan.delay += state.latency(),
                kind => {
                    plan.fault.get_or_insert(kind);
                }
            }
        }
        plan
    }

    /// For each of `entries` entries of a batch call, the entry-scoped fault that strikes it.
    fn entry_faults(
        &mut self,
        operation: ApiOperation,
        entries: usize,
        elapsed: Duration,
    ) -> Vec<Option<FaultKind>> {
        let mut faults = vec![None; entries];
        for state in &mut self.rules {
            if state.rule.scope != FaultScope::Entry || !state.rule.targets(operation) {
                continue;
            }
            for fault in faults.iter_mut() {
                if state.strikes(elapsed) {
                    fault.get_or_insert(state.rule.kind);
                }
            }
        }
        faults
    }
}

/// How long the caller of a call `fault` strikes waits for its answer before the answer (or
/// the timeout) reaches it; a `timeout_after` call's wait comes after the call is made.
pub fn wait_before_answer(fault: Option<FaultKind>) -> Duration {
    match fault {
        Some(FaultKind::Throttle | FaultKind::Error) => FAULT_ROUND_TRIP,
        Some(FaultKind::TimeoutBefore) => TIMEOUT_WAIT,
        // The request reaches the service at once; the caller waits after it (see
        // `FaultLayer::answer_lost`).
        Some(FaultKind::TimeoutAfter | FaultKind::Latency) | None => Duration::ZERO,
    }
}

#[derive(Debug)]
pub struct FaultLayer<B> {
    inner: Rc<B>,
    rules: RefCell<FaultRules>,
    origin: Cell<Instant>,
    injections: RefCell<Vec<Injection>>,
    calls: ApiCalls,
    billed: ApiCalls,
    /// Bodies by receipt, kept only when a rule may hide an applied delete, whose messages the
    /// history must then name.
    bodies: Option<RefCell<HashMap<Receipt, Arc<str>>>>,
}

impl<B: Backend> FaultLayer<B> {
    pub fn new(inner: Rc<B>, rules: &[FaultRule], seed: u64) -> Self {
        let tracks_receipts = rules
            .iter()
            .any(|r| r.kind == FaultKind::TimeoutAfter && r.targets(ApiOperation::Delete));
        FaultLayer {
            inner,
            rules: RefCell::new(FaultRules::new(rules, seed, "fault")),
            origin: Cell::new(Instant::now()),
            injections: RefCell::new(Vec::new()),
            calls: ApiCalls::default(),
            billed: ApiCalls::default(),
            bodies: tracks_receipts.then(|| RefCell::new(HashMap::new())),
        }
    }

    /// Windows count from `origin`, the run's start.
    pub fn start_at(&self, origin: Instant) {
        self.origin.set(origin);
    }

    /// The calls the scenario's actors made so far.
    pub fn usage(&self) -> ApiUsage {
        ApiUsage {
            calls: self.calls.snapshot(),
            billed: self.billed.snapshot(),
        }
    }

    fn count(&self, name: &'static str, billed: u64) {
        self.calls.record(name);
        self.billed.add(name, billed.max(1));
    }

    /// Counts a call a process outside qsim made (a `command` consumer's, from the endpoint's
    /// history) with the requests it billed.
    pub fn count_foreign(&self, name: &'static str, billed: u64) {
        self.count(name, billed);
    }

    /// Decides the call-scoped rules for one call of `operation` and waits out any latency.
    async fn plan(&self, operation: ApiOperation) -> CallPlan {
        if self.rules.borrow().is_empty() {
            return CallPlan::default();
        }
        let elapsed = self.origin.get().elapsed();
        let plan = self.rules.borrow_mut().plan(operation, elapsed);
        if !plan.delay.is_zero() {
            self.inject(operation, FaultKind::Latency, None);
        }
        let wait = plan.delay + wait_before_answer(plan.fault);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        plan
    }

    /// For each of `entries` entries of a batch call, the entry-scoped fault that strikes it.
    fn entry_faults(&self, operation: ApiOperation, entries: usize) -> Vec<Option<FaultKind>> {
        if self.rules.borrow().is_empty() {
            return Vec::new();
        }
        let elapsed = self.origin.get().elapsed();
        self.rules
            .borrow_mut()
            .entry_faults(operation, entries, elapsed)
    }

    fn inject(&self, operation: ApiOperation, fault: FaultKind, body: Option<Arc<str>>) {
        self.injections.borrow_mut().push(Injection {
            at: Instant::now(),
            operation,
            fault,
            body,
        });
    }

    /// A batch call of `entries` under the entry-scoped rules: the entries no rule struck go to
    /// `call` in one request, the others get their fault's error (named by `body` in the
    /// history); the results in the entries' order.
    async fn with_entry_faults<'a, E: Clone, T, F>(
        &self,
        (operation, queue): (ApiOperation, QueueId),
        entries: &'a [E],
        body: impl Fn(&E) -> Option<Arc<str>>,
        call: impl FnOnce(Cow<'a, [E]>) -> F,
    ) -> Result<Vec<Result<T, BackendError>>, BackendError>
    where
        F: Future<Output = Result<Vec<Result<T, BackendError>>, BackendError>>,
    {
        let faults = self.entry_faults(operation, entries.len());
        if faults.iter().all(Option::is_none) {
            return call(Cow::Borrowed(entries)).await;
        }
        let passed: Vec<E> = entries
            .iter()
            .zip(&faults)
            .filter(|(_, fault)| fault.is_none())
            .map(|(entry, _)| entry.clone())
            .collect();
        let mut results = if passed.is_empty() {
            Vec::new()
        } else {
            call(Cow::Owned(passed)).await?
        }
        .into_iter();
        Ok(entries
            .iter()
            .zip(faults)
            .map(|(entry, fault)| match fault {
                Some(fault) => {
                    self.inject(operation, fault, body(entry));
                    Err(injected_error(operation, &queue_name(queue), fault))
                }
                None => results.next().expect("one result per entry passed on"),
            })
            .collect())
    }

    /// The error of a batch call made with `answer` that never reached its caller: the entries
    /// the service accepted are in effect (each an injection named by `body`; the ones it
    /// refused did nothing), and the caller waits out its timeout.
    async fn batch_answer_lost<E, T>(
        &self,
        (operation, queue): (ApiOperation, QueueId),
        entries: &[E],
        body: impl Fn(&E) -> Option<Arc<str>>,
        answer: Result<Vec<Result<T, BackendError>>, BackendError>,
    ) -> BackendError {
        if let Ok(results) = answer {
            for (entry, result) in entries.iter().zip(results) {
                if result.is_ok() {
                    self.inject(operation, FaultKind::TimeoutAfter, body(entry));
                }
            }
        }
        self.answer_lost(operation, queue).await
    }

    /// What the caller of a `timeout_after` call of `operation` on `queue` sees: it waits for
    /// the answer that never comes, then times out.
    async fn answer_lost(&self, operation: ApiOperation, queue: QueueId) -> BackendError {
        tokio::time::sleep(TIMEOUT_WAIT).await;
        injected_error(operation, &queue_name(queue), FaultKind::TimeoutAfter)
    }

    fn body_of(&self, receipt: &Receipt) -> Option<Arc<str>> {
        self.bodies.as_ref()?.borrow().get(receipt).cloned()
    }
}

/// The error a caller sees for `fault` on `operation`.
pub fn injected_error(operation: ApiOperation, resource: &str, fault: FaultKind) -> BackendError {
    let kind = match fault {
        FaultKind::Throttle => BackendErrorKind::Throttled,
        FaultKind::Error => BackendErrorKind::InternalError,
        FaultKind::TimeoutBefore | FaultKind::TimeoutAfter => BackendErrorKind::TimedOut,
        FaultKind::Latency => unreachable!("latency is no error"),
    };
    BackendError::new(operation.api_name(), resource, kind)
}

fn queue_name(queue: QueueId) -> String {
    format!("queue {}", queue.0)
}

/// Requests SQS bills for a call carrying `bytes` of payload.
pub fn sqs_billed(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(SQS_BILLING_CHUNK).max(1)
}

impl<B: Backend> Backend for FaultLayer<B> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn max_send_rate(&self) -> Option<u32> {
        self.inner.max_send_rate()
    }

    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueId, BackendError> {
        self.inner.create_queue(spec).await
    }

    async fn create_tables(&self) -> Result<(), BackendError> {
        self.inner.create_tables().await
    }

    async fn send(
        &self,
        queue: QueueId,
        batch: &[OutgoingMessage],
    ) -> Result<Vec<Result<SendOutcome, BackendError>>, BackendError> {
        const OP: ApiOperation = ApiOperation::Send;
        let bytes = batch.iter().map(|m| m.body.len()).sum();
        self.count(OP.api_name(), sqs_billed(bytes));
        let plan = self.plan(OP).await;
        let each = |fault| {
            for message in batch {
                self.inject(OP, fault, Some(message.body.clone()));
            }
        };
        match plan.fault {
            Some(FaultKind::TimeoutAfter) => {
                let answer = self.inner.send(queue, batch).await;
                let body = |message: &OutgoingMessage| Some(message.body.clone());
                return Err(self
                    .batch_answer_lost((OP, queue), batch, body, answer)
                    .await);
            }
            Some(fault) => {
                each(fault);
                return Err(injected_error(OP, &queue_name(queue), fault));
            }
            None => {}
        }
        let body = |message: &OutgoingMessage| Some(message.body.clone());
        self.with_entry_faults((OP, queue), batch, body, |passed| async move {
            self.inner.send(queue, &passed).await
        })
        .await
    }

    async fn receive(
        &self,
        queue: QueueId,
        request: ReceiveRequest,
    ) -> Result<Vec<ReceivedMessage>, BackendError> {
        const OP: ApiOperation = ApiOperation::Receive;
        let plan = self.plan(OP).await;
        match plan.fault {
            Some(FaultKind::TimeoutAfter) => {
                // The messages were received (their receive counts rose, they are in flight)
                // and never reach the caller: they come back after their visibility timeout.
                let received = self.inner.receive(queue, request).await?;
                let bytes = received.iter().map(|m| m.body.len()).sum();
                self.count(OP.api_name(), sqs_billed(bytes));
                if received.is_empty() {
                    self.inject(OP, FaultKind::TimeoutAfter, None);
                }
                for message in &received {
                    self.inject(OP, FaultKind::TimeoutAfter, Some(message.body.clone()));
                }
                Err(self.answer_lost(OP, queue).await)
            }
            Some(fault) => {
                self.count(OP.api_name(), 1);
                self.inject(OP, fault, None);
                Err(injected_error(OP, &queue_name(queue), fault))
            }
            None => {
                let received = self.inner.receive(queue, request).await?;
                let bytes = received.iter().map(|m| m.body.len()).sum();
                self.count(OP.api_name(), sqs_billed(bytes));
                if let Some(bodies) = &self.bodies {
                    let mut bodies = bodies.borrow_mut();
                    for message in &received {
                        bodies.insert(message.receipt.clone(), message.body.clone());
                    }
                }
                Ok(received)
            }
        }
    }

    async fn delete(
        &self,
        queue: QueueId,
        receipts: &[Receipt],
    ) -> Result<Vec<Result<(), BackendError>>, BackendError> {
        const OP: ApiOperation = ApiOperation::Delete;
        self.count(OP.api_name(), 1);
        let plan = self.plan(OP).await;
        match plan.fault {
            Some(FaultKind::TimeoutAfter) => {
                let answer = self.inner.delete(queue, receipts).await;
                let body = |receipt: &Receipt| self.body_of(receipt);
                return Err(self
                    .batch_answer_lost((OP, queue), receipts, body, answer)
                    .await);
            }
            Some(fault) => {
                self.inject(OP, fault, None);
                return Err(injected_error(OP, &queue_name(queue), fault));
            }
            None => {}
        }
        self.with_entry_faults(
            (OP, queue),
            receipts,
            |_| None,
            |passed| async move { self.inner.delete(queue, &passed).await },
        )
        .await
    }

    async fn change_visibility(
        &self,
        queue: QueueId,
        receipt: &Receipt,
        timeout: Duration,
    ) -> Result<(), BackendError> {
        const OP: ApiOperation = ApiOperation::ChangeVisibility;
        self.count(OP.api_name(), 1);
        let plan = self.plan(OP).await;
        match plan.fault {
            Some(FaultKind::TimeoutAfter) => {
                let applied = self.inner.change_visibility(queue, receipt, timeout).await;
                if applied.is_ok() {
                    self.inject(OP, FaultKind::TimeoutAfter, None);
                }
                Err(self.answer_lost(OP, queue).await)
            }
            Some(fault) => {
                self.inject(OP, fault, None);
                Err(injected_error(OP, &queue_name(queue), fault))
            }
            None => self.inner.change_visibility(queue, receipt, timeout).await,
        }
    }

    async fn purge(&self, queue: QueueId) -> Result<(), BackendError> {
        self.count("PurgeQueue", 1);
        self.inner.purge(queue).await
    }

    async fn depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        self.count("GetQueueAttributes", 1);
        self.inner.depth(queue).await
    }

    async fn settled_depth(&self, queue: QueueId) -> Result<QueueDepth, BackendError> {
        self.inner.settled_depth(queue).await
    }

    async fn start_move_task(
        &self,
        source: QueueId,
        max_per_second: Option<u32>,
    ) -> Result<MoveTask, BackendError> {
        self.count("StartMessageMoveTask", 1);
        self.inner.start_move_task(source, max_per_second).await
    }

    async fn move_task_status(&self, source: QueueId) -> Result<Option<MoveTask>, BackendError> {
        self.inner.move_task_status(source).await
    }

    async fn remaining(&self, queue: QueueId) -> Result<Vec<ReceivedMessage>, BackendError> {
        self.inner.remaining(queue).await
    }

    async fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendError> {
        self.table_call(ApiOperation::PutItem, table).await?;
        self.inner.put_if_absent(table, key, item).await
    }

    async fn update(
        &self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendError> {
        self.table_call(ApiOperation::UpdateItem, table).await?;
        self.inner.update(table, key, update).await
    }

    /// Counted and priced, never faulted: `[[faults]]` operations do not name transactions.
    async fn transact_put(
        &self,
        table: Table,
        items: &[(String, Item)],
    ) -> Result<(), BackendError> {
        self.count(
            "TransactWriteItems",
            TRANSACT_WRITE_UNITS_PER_ITEM * items.len() as u64,
        );
        self.inner.transact_put(table, items).await
    }

    /// Counted and priced, never faulted: `[[faults]]` operations do not name DeleteItem.
    async fn delete_item(&self, table: Table, key: &str) -> Result<(), BackendError> {
        self.count("DeleteItem", 1);
        self.inner.delete_item(table, key).await
    }

    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendError> {
        self.table_call(ApiOperation::GetItem, table).await?;
        self.inner.get(table, key).await
    }

    async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendError> {
        self.inner.scan(table).await
    }

    async fn take_final_items(&self, table: Table) -> Result<FinalItems, BackendError> {
        self.inner.take_final_items(table).await
    }

    fn observes_transitions(&self) -> bool {
        self.inner.observes_transitions()
    }

    fn reachable(&self, main: QueueId, dlq: Option<QueueId>) -> Option<Reachable> {
        self.inner.reachable(main, dlq)
    }

    fn foreign_events(&self, origin: std::time::Instant) -> Option<Vec<serde_json::Value>> {
        self.inner.foreign_events(origin)
    }

    fn take_transitions(&self, sink: &mut dyn FnMut(QueueTransition)) {
        self.inner.take_transitions(sink);
    }

    fn take_injections(&self, sink: &mut dyn FnMut(Injection)) {
        for injection in self.injections.borrow_mut().drain(..) {
            sink(injection);
        }
    }

    async fn teardown(&self) -> Result<(), BackendError> {
        self.inner.teardown().await
    }
}

impl<B: Backend> FaultLayer<B> {
    /// Counts a table call and decides its faults: validation keeps `timeout_after` off tables
    /// (a hidden write would need the history to name its item), so each one refuses the call
    /// before it is made.
    async fn table_call(&self, operation: ApiOperation, table: Table) -> Result<(), BackendError> {
        self.count(operation.api_name(), 1);
        match self.plan(operation).await.fault {
            Some(fault) => {
                self.inject(operation, fault, None);
                Err(injected_error(operation, table.as_str(), fault))
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
