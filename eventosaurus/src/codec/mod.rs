//! The item codec: an event to a DynamoDB item and back, checked against DynamoDB's rules.
//!
//! Fields are written as serde (through [`serde_dynamo`]) would write them, so serde
//! attributes (`rename`, `skip_serializing_if`, `with`, ...) work as usual; the derive
//! builds the item directly for fields of known scalar types (see [`fast`]). Every item also carries
//! [`EVENT_UUID`] and [`CREATED_AT`]. Before an item leaves [`encode`], one pass over it
//! ([`validate`]) checks every value the way DynamoDB would and computes its size with
//! DynamoDB's own rules, so a bad event is refused at `store()` with an error naming the
//! attribute, instead of failing later (and failing its whole batch) in DynamoDB.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use crate::error::{Error, Result};
pub use crate::model::StoredEvent;
use crate::model::{CreatedAt, EncodedItem, Storable};
use crate::schema::{KeyAttributeType, TableDef, CREATED_AT, EVENT_UUID, SOURCE};

#[doc(hidden)]
pub mod fast;
pub mod validate;

pub use crate::error::Violation;
pub use validate::{item_size, value_size};

/// A DynamoDB item, as the SDK types it.
pub type Item = HashMap<String, AttributeValue>;

/// DynamoDB's maximum item size: 400 KB, names and values included.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// The largest event item eventosaurus stores: 200 KB.
///
/// For a table with local secondary indexes, DynamoDB's 400 KB limit covers the item *plus*
/// its entries in every LSI. The `created_at` index projects ALL attributes, so each event is
/// stored twice and may use at most half of [`MAX_ITEM_SIZE`]. (DynamoDB Local enforces
/// exactly this: 204,800 bytes is accepted, one more is rejected.)
pub const MAX_EVENT_SIZE: usize = MAX_ITEM_SIZE / 2;

/// Serializes an event and adds `event_uuid` and `created_at`.
///
/// Fails if the event's own fields use a reserved name ([`Error::InvalidEvent`]), if a
/// value breaks one of DynamoDB's rules ([`Error::InvalidValue`]: a NaN, a number DynamoDB
/// cannot hold, a missing, empty or over-long partition key, nesting over 32 levels, see
/// [`validate`]), or if the item is over [`MAX_EVENT_SIZE`] ([`Error::ItemTooLarge`]).
/// Nothing is sent or queued for a refused event.
pub fn encode<E: Storable>(
    event: &E,
    table: &str,
    event_uuid: &Uuid,
    created_at: &CreatedAt,
) -> Result<Item> {
    encode_sized(event, table, event_uuid, created_at).map(|(item, _)| item)
}

/// [`encode`], with the item's size as DynamoDB counts it (for [`stamp_source`]).
pub fn encode_sized<E: Storable>(
    event: &E,
    table: &str,
    event_uuid: &Uuid,
    created_at: &CreatedAt,
) -> Result<(Item, usize)> {
    let def = E::TABLE;
    let encode_error = |source| Error::Encode {
        event_type: def.event_type,
        table: table.to_owned(),
        source,
    };
    let (item, size) = match event.encode_item(event_uuid, created_at) {
        // The derive's direct encoder: the whole item, counted and checked as it was written
        // (reserved names are refused at compile time).
        Some(encoded) => {
            let EncodedItem { item, checked_size } = encoded.map_err(encode_error)?;
            let size = match checked_size {
                Some(size) => size,
                None => check(&item, def)?,
            };
            (item, size)
        }
        None => {
            let mut item = event.encode_attributes().map_err(encode_error)?;
            add_event_attributes::<E>(&mut item, event_uuid, created_at)?;
            let size = check(&item, def)?;
            (item, size)
        }
    };
    if size > MAX_EVENT_SIZE {
        return Err(Error::ItemTooLarge {
            table: table.to_owned(),
            size,
            limit: MAX_EVENT_SIZE,
        });
    }
    Ok((item, size))
}

/// Adds `event_uuid` and `created_at` to an item serde_dynamo wrote, refusing an attribute of
/// the event under either name (it would be replaced).
fn add_event_attributes<E: Storable>(
    item: &mut Item,
    event_uuid: &Uuid,
    created_at: &CreatedAt,
) -> Result<()> {
    let replaced = item
        .insert(EVENT_UUID.to_owned(), fast::event_uuid_value(event_uuid))
        .map(|_| EVENT_UUID)
        .or(item
            .insert(CREATED_AT.to_owned(), fast::created_at_value(created_at))
            .map(|_| CREATED_AT));
    match replaced {
        None => Ok(()),
        Some(reserved) => Err(Error::InvalidEvent {
            event_type: E::TABLE.event_type,
            reason: format!(
                "it serializes an attribute named `{reserved}`, which eventosaurus reserves"
            ),
        }),
    }
}

/// Adds the envelope's [`SOURCE`] attribute (`event_source`) to an encoded event: done only
/// when the store has a source configured, so that nothing changes for stores without one.
/// `size` is the item's size from [`encode_sized`]; returns the size with the attribute.
///
/// Fails if the event serializes an attribute of that name itself, or if the item is then
/// over [`MAX_EVENT_SIZE`].
pub fn stamp_source(
    item: &mut Item,
    size: usize,
    source: &str,
    event_type: &'static str,
    table: &str,
) -> Result<usize> {
    if item.contains_key(SOURCE) {
        return Err(Error::InvalidEvent {
            event_type,
            reason: format!(
                "it serializes an attribute named `{SOURCE}`, which eventosaurus writes when a \
                 source is configured (Config::source or EVENTOSAURUS_SOURCE): rename the field, \
                 or configure no source"
            ),
        });
    }
    item.insert(SOURCE.to_owned(), AttributeValue::S(source.to_owned()));
    // A string attribute counts its name and its bytes: no pass over the item again.
    let size = size + SOURCE.len() + source.len();
    if size > MAX_EVENT_SIZE {
        return Err(Error::ItemTooLarge {
            table: table.to_owned(),
            size,
            limit: MAX_EVENT_SIZE,
        });
    }
    Ok(size)
}

/// Turns an item read from the table back into a [`StoredEvent`].
///
/// The `event_source` attribute, if there is one and the event has no field of that name,
/// becomes [`StoredEvent::source`].
pub fn decode<E: Storable>(mut item: Item, table: &str) -> Result<StoredEvent<E>> {
    let def = E::TABLE;
    let decode_error = |reason: String| Error::Decode {
        event_type: def.event_type,
        table: table.to_owned(),
        reason,
    };
    let event_uuid = match item.remove(EVENT_UUID) {
        Some(AttributeValue::S(s)) => Uuid::parse_str(&s)
            .map_err(|e| decode_error(format!("`{EVENT_UUID}` {s:?} is not a UUID: {e}")))?,
        _ => {
            return Err(decode_error(format!(
                "the item has no string `{EVENT_UUID}`"
            )))
        }
    };
    let created_at = match item.remove(CREATED_AT) {
        Some(AttributeValue::S(s)) => {
            CreatedAt::parse(&s).map_err(|e| decode_error(format!("`{CREATED_AT}`: {e}")))?
        }
        _ => {
            return Err(decode_error(format!(
                "the item has no string `{CREATED_AT}`"
            )))
        }
    };
    let source = if def.attributes.iter().any(|a| a.name == SOURCE) {
        None
    } else {
        match item.remove(SOURCE) {
            Some(AttributeValue::S(source)) => Some(source),
            _ => None,
        }
    };
    let event = E::decode_attributes(item).map_err(|e| decode_error(e.to_string()))?;
    Ok(StoredEvent {
        event,
        event_uuid,
        created_at,
        source,
    })
}

/// Checks an encoded item against DynamoDB's rules (every value, and the partition key)
/// and returns its size.
fn check(item: &Item, def: &TableDef) -> Result<usize> {
    let invalid = |invalid: validate::Invalid| Error::InvalidValue {
        event_type: def.event_type,
        path: invalid.path,
        violation: invalid.violation,
    };
    validate::check_event_item(
        item,
        def.partition_key,
        def.partition_key_type == KeyAttributeType::Number,
    )
    .map_err(invalid)
}
