//! # eventosaurus
//!
//! Store and query application events on Amazon DynamoDB.
//!
//! ```
//! #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! #[eventosaurus(table = "neat_event", partition_key = location,
//!                composite_key(location, employee_name, employee_action))]
//! pub struct NeatEvent {
//!     pub location: String,
//!     pub employee_name: String,
//!     pub employee_action: String,
//! }
//!
//! use eventosaurus::Storable;
//! let event = NeatEvent {
//!     location: "gardens".into(),
//!     employee_name: "Markus".into(),
//!     employee_action: "ate grapes".into(),
//! };
//! // Same fields, same id: storing it twice writes it once.
//! assert_eq!(event.event_uuid(), event.clone().event_uuid());
//! assert_eq!(event.event_uuid().to_string(), eventosaurus::event_id::TEST_VECTOR_UUID);
//! ```
//!
//! See the README for configuration, tables and the test vector of `event_uuid`.
#![warn(missing_docs)]

extern crate self as eventosaurus;

pub mod backend;
pub mod codec;
pub mod config;
pub mod consume;
pub mod error;
pub mod event_id;
pub mod model;
pub mod name;
pub mod number;
mod operator;
pub mod persist;
pub mod plain_json;
pub mod plan;
pub mod query;
pub mod registry;
pub mod schema;
mod store;
pub mod table;
pub mod table_stream;
pub mod transaction;

pub use config::Config;
pub use error::{Error, Result};
pub use eventosaurus_derive::Storable;
pub use model::{
    CreatedAt, Envelope, EventStore, OnError, PartitionKeyValue, Storable, StoreOutcome,
    StoredEvent,
};
pub use schema::TableDef;
pub use store::Store;
pub use transaction::{Transaction, TransactionOutcome};
pub use uuid::Uuid;

/// The AWS SDK for DynamoDB this crate is built on. Items, upcasters and transactions speak its
/// [`AttributeValue`](aws_sdk_dynamodb::types::AttributeValue) (also at
/// [`codec::AttributeValue`]); use this path instead of a dependency of your own to be sure of
/// the same version:
///
/// ```
/// use eventosaurus::codec::{AttributeValue, Item};
///
/// let mut item = Item::new();
/// item.insert("amount".to_owned(), AttributeValue::N("250".to_owned()));
/// let _client: Option<eventosaurus::aws_sdk_dynamodb::Client> = None;
/// ```
pub use aws_sdk_dynamodb;

/// Re-exports for generated code. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::__query_builder_methods as query_builder_methods;
    pub use inventory;

    /// The bound of the `by_<field>` method of a field written by its own serializer: no
    /// type implements it, so calling the method is a compile error with this message.
    #[diagnostic::on_unimplemented(
        message = "this field is written by its own serializer (#[serde(with)] or serialize_with): \
                   eventosaurus cannot encode a `{F}` the way it is stored, so it cannot be queried",
        label = "no query condition on a field with a custom serializer",
        note = "query by another field and filter the events in Rust, or store the field without \
                `with`/`serialize_with` (e.g. as a String built by your own code)"
    )]
    pub trait CustomSerializedField<F: ?Sized> {}
}
