//! Planning, as plain data: untyped conditions, the [`Plan`] of a request, cursors, and the
//! evaluation of a plan on items in memory with DynamoDB's semantics.
//!
//! Nothing here does I/O. The typed builders in [`query`](crate::query) produce a [`Plan`];
//! a [`Backend`](crate::backend::Backend) executes one page of it (DynamoDB sends it, the
//! in-memory backend evaluates it with [`memory::evaluate_request`]). The CLI builds the same
//! plans from text with [`dynamic`].

mod condition;
mod cursor;
pub mod dynamic;
pub mod expiry;
pub mod json;
mod keys;
pub mod memory;
mod request;

pub use condition::{items_equal, matches_all, values_equal, Condition, Operator};
pub use cursor::Cursor;
pub use dynamic::ParseConditionError;
pub use expiry::ExpiryFilter;
pub use keys::IndexKind;
pub use request::{Expressions, Operation, Plan, QueryOptions, Select};
