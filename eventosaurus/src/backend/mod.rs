//! The storage seam: one [`Backend`] trait, implemented by [`DynamoDb`] and by the in-memory
//! [`Memory`] of test mode.
//!
//! Everything that touches stored items goes through it: persistors write with
//! [`put_if_absent`](Backend::put_if_absent) and [`batch_put`](Backend::batch_put), and
//! reads ([`Store::get`](crate::Store::get), queries, [`Store::events`](crate::Store::events))
//! call [`get`](Backend::get), [`batch_get`](Backend::batch_get) and
//! [`query_page`](Backend::query_page) directly. So test mode
//! and DynamoDB run the same persistors and the same query executor, and a behaviour suite
//! runs unchanged on both (`tests/parity.rs`).
//!
//! Transactions go through [`transact_write`](Backend::transact_write): one
//! `TransactWriteItems` on DynamoDB, all-or-nothing under one lock in memory (whose
//! condition and update expressions are evaluated by a small, documented evaluator).
//!
//! A backend makes one request per call. The conditional put is a single attempt (the
//! persistors retry it, knowing whether an earlier attempt may have landed); reads and batch
//! puts keep the SDK's retries, which
//! [`with_retries_disabled`](Backend::with_retries_disabled) turns off for a persistor that
//! retries everything itself (the [`AsyncQueue`](crate::persist::AsyncQueue)).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::codec::Item;
use crate::error::Result;
use crate::plan::Plan;
use crate::schema::TableDef;

mod dynamodb;
mod expression;
mod memory;
mod pages;
pub mod telemetry;
mod transact;

pub use dynamodb::{DynamoDb, PUT_CONDITION};
pub use memory::Memory;
pub use pages::{collect_items, count_items, RawPage, RawPages};
pub use transact::{
    CancellationReason, KeySchema, TransactAction, TransactItem, TransactResult, TransactWrite,
    MAX_TRANSACT_ITEMS, MAX_TRANSACT_SIZE,
};

/// The future a backend call returns.
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What a conditional put found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PutOutcome {
    /// No item had the key: the item was written.
    Written,
    /// An item with the same key exists; nothing was written. `existing` is that item
    /// (DynamoDB returns it with `ReturnValuesOnConditionCheckFailure=ALL_OLD`), so that the
    /// caller can tell its own earlier write from somebody else's.
    Exists {
        /// The stored item, when the backend returned it.
        existing: Option<Item>,
    },
}

/// One item of a [`Backend::batch_put`].
#[derive(Debug, Clone)]
pub struct BatchPut {
    /// The full table name.
    pub table: String,
    /// The table's definition (its key attributes).
    pub def: &'static TableDef,
    /// The item.
    pub item: Item,
}

/// One page of a [`Plan`], as the backend returned it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageResponse {
    /// The items; `None` when only their number was asked for (`Select=COUNT`).
    pub items: Option<Vec<Item>>,
    /// How many items matched on this page.
    pub count: u64,
    /// How many items were evaluated (before filtering).
    pub scanned: u64,
    /// Where the page ended; `None` (or empty) on the last page.
    pub last_evaluated_key: Option<Item>,
}

/// The most keys one [`Backend::batch_get`] request may carry (DynamoDB's `BatchGetItem`
/// limit).
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// What one [`Backend::batch_get`] request returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchGetResponse {
    /// The items found, in no particular order. A key with no item is simply absent.
    pub items: Vec<Item>,
    /// The keys the backend did not process (throttling, or the 16 MB response limit): send
    /// them again, after a pause.
    pub unprocessed: Vec<Item>,
}

/// The identity of an item's key (partition key, `event_uuid`), comparable across
/// backends: numbers in canonical decimal form, so that `5` and `5.0` are the same key, as
/// in DynamoDB.
pub(crate) type KeyIdentity = (String, String);

/// The [`KeyIdentity`] of an item (or of a key) of `def`'s table.
pub(crate) fn key_identity(def: &TableDef, item: &Item) -> KeyIdentity {
    (
        key_part(item.get(def.partition_key)),
        key_part(item.get(crate::schema::EVENT_UUID)),
    )
}

pub(crate) fn key_part(value: Option<&aws_sdk_dynamodb::types::AttributeValue>) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    match value {
        Some(AttributeValue::S(s)) => format!("S:{s}"),
        // Canonical decimal text: equal numbers, and only those, share a key.
        Some(AttributeValue::N(n)) => match crate::number::Number::parse_unbounded(n) {
            Ok(number) => format!("N:{number}"),
            Err(_) => format!("N?:{n}"),
        },
        other => format!("{other:?}"),
    }
}

/// Anything that names a backend: a [`Store`](crate::Store) (its backend), or a backend
/// itself. What [`AsyncQueue::start`](crate::persist::AsyncQueue::start) takes.
pub trait BackendSource {
    /// The backend, shared.
    fn shared_backend(&self) -> Arc<dyn Backend>;
}

impl BackendSource for Arc<dyn Backend> {
    fn shared_backend(&self) -> Arc<dyn Backend> {
        self.clone()
    }
}

/// Where events are kept. See the module docs.
///
/// Implement it to put eventosaurus in front of another store; [`Memory`] is a complete,
/// small example.
pub trait Backend: Send + Sync + std::fmt::Debug + 'static {
    /// Where this backend points, for error messages: an endpoint, a region, or
    /// `test mode (in memory)`.
    fn label(&self) -> &str;

    /// Writes `item` unless an item with the same key exists: the first write wins.
    ///
    /// One attempt, never retried inside: the caller retries, and knows from its own errors
    /// whether an earlier attempt may have landed (see
    /// [`EventWrite::outcome`](crate::persist::EventWrite::outcome)).
    fn put_if_absent<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        item: Item,
    ) -> BackendFuture<'a, PutOutcome>;

    /// Writes items without a condition, in one request of at most 25. Returns the items
    /// that were not processed (throttled), to be retried by the caller.
    fn batch_put(&self, puts: Vec<BatchPut>) -> BackendFuture<'_, Vec<BatchPut>>;

    /// Reads the item with this key (partition key and `event_uuid` attributes).
    fn get<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        key: Item,
    ) -> BackendFuture<'a, Option<Item>>;

    /// Reads the items with these keys (partition key and `event_uuid` attributes), in one
    /// request of at most [`MAX_BATCH_GET_KEYS`] distinct keys (`BatchGetItem`). Returns the
    /// items found, in any order, and the keys that were not processed, to be retried by the
    /// caller ([`Store::get_many`](crate::Store::get_many) does both).
    ///
    /// The default sends one [`get`](Backend::get) per key, so that a backend written
    /// before this method existed keeps working; [`DynamoDb`] and [`Memory`] override it.
    fn batch_get<'a>(
        &'a self,
        table: &'a str,
        def: &'a TableDef,
        keys: Vec<Item>,
    ) -> BackendFuture<'a, BatchGetResponse> {
        Box::pin(async move {
            let mut items = Vec::with_capacity(keys.len());
            for key in keys {
                items.extend(self.get(table, def, key).await?);
            }
            Ok(BatchGetResponse {
                items,
                unprocessed: Vec::new(),
            })
        })
    }

    /// Executes one request of `plan` (a Query or a Scan), starting after `start`.
    fn query_page<'a>(
        &'a self,
        plan: &'a Plan,
        start: Option<Item>,
    ) -> BackendFuture<'a, PageResponse>;

    /// Applies every item of `request`, or none: one `TransactWriteItems`.
    ///
    /// One attempt, never retried inside (the caller retries with the same
    /// `client_request_token`). A failed condition, a conflict or throttling of an item is
    /// [`TransactResult::Canceled`] with a reason per item, not an error. The default
    /// refuses: a backend without transactions says so.
    fn transact_write<'a>(
        &'a self,
        request: &'a TransactWrite,
    ) -> BackendFuture<'a, TransactResult> {
        let _ = request;
        let label = self.label().to_owned();
        Box::pin(async move {
            Err(crate::error::Error::InvalidTransaction {
                reason: format!("the backend {label} does not support transactions"),
            })
        })
    }

    /// The same backend, without retries of its own (for a persistor that retries on its
    /// own schedule). The default is the backend itself.
    fn with_retries_disabled(self: Arc<Self>) -> Arc<dyn Backend>;
}
