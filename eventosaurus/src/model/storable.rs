//! [`Storable`], the trait `#[derive(Storable)]` implements; [`OnError`], its failure hook;
//! and [`EventStore`], the handle its one-line methods write through.

use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use super::{CreatedAt, PartitionKeyValue, StoreOutcome, StoredEvent, Upcast};
use crate::error::{Error, Result};
use crate::event_id;
use crate::schema::TableDef;

/// An event type that can be stored: implemented by `#[derive(Storable)]`.
///
/// ```
/// #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// #[eventosaurus(table = "phone_call", partition_key = person_id)]
/// pub struct PhoneCall {
///     pub person_id: u64,
///     pub phone_number: String,
///     pub last_called: String,
/// }
///
/// use eventosaurus::Storable;
/// assert_eq!(PhoneCall::TABLE.name, "phone_call");
/// assert_eq!(PhoneCall::TABLE.full_name("localhost"), "localhost_phone_call");
/// ```
pub trait Storable: Serialize + DeserializeOwned + OnError + Send + Sync + Sized + 'static {
    /// The Rust type of the partition key field.
    type PartitionKey: PartitionKeyValue + Send + Sync;

    /// The table definition.
    const TABLE: &'static TableDef;

    /// The steps that read items of older versions, one per version `1..TABLE.version`, in
    /// order: from `#[eventosaurus(upcast(from = K, with = path))]`, empty for a type of
    /// version 1. [`codec::decode`](crate::codec::decode) runs them; see
    /// [`upcast`](crate::model::upcast).
    const UPCASTERS: &'static [Upcast] = &[];

    /// The composite string digested into `event_uuid`, or `None` for a random id.
    ///
    /// See [`event_id`](crate::event_id) for the format.
    fn composite_key(&self) -> Option<String>;

    /// The event's own attributes as an item (without `event_uuid` and `created_at`), as
    /// `serde_dynamo::to_item` writes them: how [`codec::encode`](crate::codec::encode)
    /// encodes an event whose type has no direct encoder ([`encode_item`](Self::encode_item)
    /// returns `None`).
    #[doc(hidden)]
    fn encode_attributes(
        &self,
    ) -> std::result::Result<std::collections::HashMap<String, AttributeValue>, serde_dynamo::Error>
    {
        serde_dynamo::to_item(self)
    }

    /// The whole item (the event's attributes, `event_uuid` and `created_at`; the codec then
    /// adds `event_version` and `expires_at` where the type has them), built directly, with
    /// what the encoder checked on the way; `None` (the default) when the type has no direct
    /// encoder and is encoded with [`encode_attributes`](Self::encode_attributes).
    ///
    /// `#[derive(Storable)]` generates it for fields of known scalar types and falls back to
    /// serde_dynamo per field for the others (see [`codec::fast`](crate::codec::fast)); it
    /// writes exactly what `serde_dynamo::to_item` plus the two attributes would. Called by
    /// [`codec::encode`](crate::codec::encode).
    #[doc(hidden)]
    fn encode_item(
        &self,
        event_uuid: &Uuid,
        created_at: &CreatedAt,
    ) -> Option<std::result::Result<EncodedItem, serde_dynamo::Error>> {
        let _ = (event_uuid, created_at);
        None
    }

    /// The event from an item's own attributes: the mirror of `encode_attributes`. The
    /// default is `serde_dynamo::from_item`.
    #[doc(hidden)]
    fn decode_attributes(
        item: std::collections::HashMap<String, AttributeValue>,
    ) -> std::result::Result<Self, serde_dynamo::Error> {
        serde_dynamo::from_item(item)
    }

    /// When this event expires, from its `#[eventosaurus(expires_at)]` field, in seconds since
    /// the Unix epoch; `None` for never. The derive generates it for a type with such a
    /// field ([`Ttl::Field`](crate::schema::Ttl::Field)); a `ttl = ".."` lifetime is computed
    /// from `created_at` by the codec instead.
    #[doc(hidden)]
    fn expires_at_field(&self) -> Option<i64> {
        None
    }

    /// The id this event is stored under: derived from the composite key, or random.
    fn event_uuid(&self) -> Uuid {
        match self.composite_key() {
            Some(composite) => event_id::composite_event_uuid(&composite),
            None => event_id::random_event_uuid(),
        }
    }

    /// Reads one event by its partition key and `event_uuid`: see
    /// [`Store::get`](crate::Store::get).
    ///
    /// For everything else, use the query builder the derive generates:
    /// `PhoneCall::query().by_person_id(5).run(&store)` (see [`query`](crate::query)).
    fn get<S: EventStore>(
        store: &S,
        partition_key: impl Into<Self::PartitionKey>,
        event_uuid: Uuid,
    ) -> impl Future<Output = Result<Option<StoredEvent<Self>>>> + Send + '_ {
        store.get_event::<Self>(partition_key.into(), event_uuid)
    }

    /// Stores the event with a conditional write: see [`Store::store`](crate::Store::store).
    fn store<'a, S: EventStore>(
        &'a self,
        store: &'a S,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a {
        store.store_event(self)
    }

    /// Stores the event without waiting for room in an async queue: see
    /// [`Store::try_store`](crate::Store::try_store).
    fn try_store<'a, S: EventStore>(
        &'a self,
        store: &'a S,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a {
        store.try_store_event(self)
    }
}

/// An item as the derive's direct encoder built it ([`Storable::encode_item`]).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedItem {
    /// Every attribute: the event's own, `event_uuid` and `created_at`.
    pub item: std::collections::HashMap<String, AttributeValue>,
    /// The item's size as DynamoDB counts it, when the encoder checked every attribute and the
    /// partition key against DynamoDB's rules as it wrote them (so the codec needs no second
    /// pass over the item); `None` when something needs the codec's full check, which then
    /// names what is wrong.
    pub checked_size: Option<usize>,
}

/// What the one-line methods of [`Storable`] (`event.store(&store)`, `PhoneCall::get(..)`)
/// write and read through. [`Store`](crate::Store) implements it; the model layer names
/// this trait instead of the store so that it depends on nothing above it.
pub trait EventStore: Send + Sync {
    /// Stores `event`, waiting for room in a bounded persistor.
    fn store_event<'a, E: Storable>(
        &'a self,
        event: &'a E,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a;

    /// Stores `event`, failing with [`Error::QueueFull`] instead of waiting.
    fn try_store_event<'a, E: Storable>(
        &'a self,
        event: &'a E,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send + 'a;

    /// Reads one event by its key.
    fn get_event<E: Storable>(
        &self,
        partition_key: E::PartitionKey,
        event_uuid: Uuid,
    ) -> impl Future<Output = Result<Option<StoredEvent<E>>>> + Send + '_;
}

/// The per-event-type failure hook: called with an event that could not be stored, whether
/// the failure was synchronous (`store` returned the error) or happened later in an
/// [`AsyncQueue`](crate::persist::AsyncQueue) worker after all retries.
///
/// `#[derive(Storable)]` implements it with the default, which logs through `tracing`. To
/// override it, add `#[eventosaurus(custom_on_error)]` and implement it yourself:
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
/// #[eventosaurus(table = "neat_event", partition_key = location, custom_on_error)]
/// pub struct NeatEvent { pub location: String }
///
/// impl eventosaurus::OnError for NeatEvent {
///     fn on_error(&self, error: &eventosaurus::Error) {
///         eprintln!("could not store the neat event at {}: {error}", self.location);
///     }
/// }
/// ```
pub trait OnError {
    /// Called with the event and the error. The default logs at `error` level.
    fn on_error(&self, error: &Error) {
        tracing::error!(event_type = std::any::type_name::<Self>(), %error, "event could not be stored");
    }
}
