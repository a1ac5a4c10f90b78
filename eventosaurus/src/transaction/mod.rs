//! Transactions: the application's own writes and events, applied together or not at all.
//!
//! [`Store::transaction`] starts a [`Transaction`]; add application writes on the
//! application's own tables ([`Put`], [`Update`], [`Delete`], [`ConditionCheck`], each with
//! its own condition, names and values) and one or more events, then
//! [`commit`](Transaction::commit): one `TransactWriteItems`, at most 100 items. The event
//! table, with its stream, is then an *outbox*: an event is recorded if and only if the
//! application's change was.
//!
//! ```
//! # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! # #[eventosaurus(table = "order_placed", partition_key = order_id, composite_key(order_id))]
//! # pub struct OrderPlaced { pub order_id: String, pub total: u64 }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> eventosaurus::Result<()> {
//! use eventosaurus::transaction::{AppTable, Put, TransactionOutcome, Update};
//!
//! let store = eventosaurus::Store::test();
//! let orders = AppTable::new("orders", "order_id");
//! let accounts = AppTable::new("accounts", "account_id");
//! # store.transaction()
//! #     .put(Put::new(&accounts, serde_json::json!({"account_id": "a-1", "balance": 100})))
//! #     .event(&OrderPlaced { order_id: "setup".into(), total: 0 }).commit().await?;
//!
//! let place = |order_id: &str| {
//!     store
//!         .transaction()
//!         .put(Put::new(&orders, serde_json::json!({"order_id": order_id, "total": 30})))
//!         .update(
//!             Update::new(&accounts, serde_json::json!({"account_id": "a-1"}), "SET balance = balance - :total")
//!                 .condition("balance >= :total")
//!                 .value(":total", 30),
//!         )
//!         .event(&OrderPlaced { order_id: order_id.into(), total: 30 })
//! };
//! assert!(place("o-1").commit().await?.is_committed());
//! // The same command again: the event exists, so nothing is applied (no second debit).
//! assert!(matches!(place("o-1").commit().await?, TransactionOutcome::Duplicate { .. }));
//! # Ok(()) }
//! ```
//!
//! Outcomes ([`TransactionOutcome`]): `Committed`, `Duplicate` (an event's id exists),
//! `ConditionFailed { index, .. }` (an application condition), all read from DynamoDB's
//! `CancellationReasons`. Throttling, transaction conflicts, network and 5xx errors are
//! retried with backoff, idempotently under one
//! [`client_request_token`](Transaction::client_request_token); other cancellations are
//! [`Error::TransactionCanceled`](crate::Error::TransactionCanceled). A transaction is always
//! written when `commit` is awaited, whatever the store's persistor.
//!
//! In test mode ([`Store::test`]) transactions are atomic too, with the same outcomes; the
//! expressions it evaluates are listed in the README ("Transactions").

mod builder;
mod mapping;
mod outcome;

pub use builder::{AppTable, ConditionCheck, Delete, Put, Transaction, Update};
pub use outcome::TransactionOutcome;

use crate::store::Store;

impl Store {
    /// Starts a transaction: application writes and events, committed together or not at
    /// all (see [`transaction`](crate::transaction)).
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self)
    }
}
