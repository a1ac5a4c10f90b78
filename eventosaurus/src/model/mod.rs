//! The model: what an event is, as the rest of the crate and its users see it.
//!
//! This is the bottom layer. It imports only [`error`](crate::error),
//! [`event_id`](crate::event_id) and the table definitions, never the store, persistors or
//! backends: those depend on it.
//!
//! * [`Storable`]: implemented by `#[derive(Storable)]`; [`OnError`], its failure hook.
//! * [`EventStore`]: what `event.store(&store)` calls; [`Store`](crate::Store) implements it.
//! * [`StoreOutcome`] and [`StoredEvent`]: what a write returns and what a read returns.
//! * [`CreatedAt`]: the typed `created_at`; [`PartitionKeyValue`]: the key types.
//! * [`Envelope`]: an event as it is published (type, data, linked records, source, key).
//! * [`ExpiresAtField`]: the field types that can say when an event expires.
//! * [`Upcast`] and [`Upcaster`]: versions of an event type, and the functions that read
//!   older items (see [`upcast`]).

mod created_at;
mod envelope;
mod expiry;
mod outcome;
mod partition_key;
mod storable;
pub mod upcast;

pub use created_at::{CreatedAt, ParseCreatedAtError};
pub use envelope::Envelope;
pub use expiry::ExpiresAtField;
pub use outcome::{StoreOutcome, StoredEvent};
pub use partition_key::PartitionKeyValue;
#[doc(hidden)]
pub use storable::EncodedItem;
pub use storable::{EventStore, OnError, Storable};
pub use upcast::{Upcast, Upcaster};
