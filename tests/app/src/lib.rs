//! A shop's events: what an application's library crate looks like.
//!
//! The application's CLI binary (`src/bin/shop-events.rs`) names [`TABLES`]; a binary that
//! only called `eventosaurus_cli::run(&eventosaurus::registry::tables())` would know none of
//! these types, because the linker drops the registry entries of a library the binary never
//! names.

use eventosaurus::{Storable, TableDef};
use serde::{Deserialize, Serialize};

/// Every event type of the shop, for its CLI: `eventosaurus_cli::run(shop::TABLES)`.
pub const TABLES: &[&TableDef] = &[OrderPlaced::TABLE, RefundIssued::TABLE];

/// A customer placed an order: random `event_uuid`, partitioned by customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "order_placed", partition_key = customer_id)]
pub struct OrderPlaced {
    /// The customer (the partition key, stored as N).
    pub customer_id: u64,
    /// What was ordered.
    pub item: String,
    /// The price in cents.
    pub cents: i64,
}

/// A refund for an order: stored once per order and reason, whatever the retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, eventosaurus::Storable)]
#[eventosaurus(table = "refund_issued", partition_key = order_id,
               composite_key(order_id, reason))]
pub struct RefundIssued {
    /// The order refunded (the partition key, stored as S).
    pub order_id: String,
    /// Why.
    pub reason: String,
}
