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
use crate::model::{CreatedAt, Storable};
use crate::schema::{KeyAttributeType, TableDef, Ttl, CREATED_AT, EVENT_UUID, EXPIRES_AT, SOURCE};

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

/// Serializes an event and adds `event_uuid`, `created_at` and, for an event type with a time
/// to live, [`EXPIRES_AT`] (see [`expires_at`]).
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
    let def = E::TABLE;
    let mut item: Item = event.encode_attributes().map_err(|source| Error::Encode {
        event_type: def.event_type,
        table: table.to_owned(),
        source,
    })?;
    // An attribute of the event under a reserved name would be replaced: refuse it.
    let mut buffer = Uuid::encode_buffer();
    let id = event_uuid.hyphenated().encode_lower(&mut buffer);
    let replaced = item
        .insert(EVENT_UUID.to_owned(), AttributeValue::S(id.to_owned()))
        .map(|_| EVENT_UUID)
        .or(item
            .insert(
                CREATED_AT.to_owned(),
                AttributeValue::S(created_at.to_string()),
            )
            .map(|_| CREATED_AT));
    let replaced = replaced.or_else(|| stamp_expiry(event, &mut item, created_at));
    if let Some(reserved) = replaced {
        return Err(Error::InvalidEvent {
            event_type: def.event_type,
            reason: format!(
                "it serializes an attribute named `{reserved}`, which eventosaurus reserves"
            ),
        });
    }
    let size = check(&item, def)?;
    if size > MAX_EVENT_SIZE {
        return Err(Error::ItemTooLarge {
            table: table.to_owned(),
            size,
            limit: MAX_EVENT_SIZE,
        });
    }
    Ok(item)
}

/// When an event expires, in seconds since the Unix epoch: `created_at` plus the lifetime of
/// `ttl = ".."`, or the time its `#[eventosaurus(expires_at)]` field holds; `None` when it
/// never does (no TTL, or a `None` field).
pub fn expires_at<E: Storable>(event: &E, created_at: &CreatedAt) -> Option<i64> {
    match E::TABLE.ttl? {
        ttl @ Ttl::AfterCreation { .. } => ttl.after_creation(created_at.timestamp_millis()),
        Ttl::Field { .. } => event.expires_at_field(),
    }
}

/// Writes [`EXPIRES_AT`] for an event type with a time to live; returns the reserved name if
/// the event's own attributes already hold it.
fn stamp_expiry<E: Storable>(
    event: &E,
    item: &mut Item,
    created_at: &CreatedAt,
) -> Option<&'static str> {
    E::TABLE.ttl?;
    let clash = item.contains_key(EXPIRES_AT).then_some(EXPIRES_AT);
    if let Some(seconds) = expires_at(event, created_at) {
        let mut buffer = itoa::Buffer::new();
        item.insert(
            EXPIRES_AT.to_owned(),
            AttributeValue::N(buffer.format(seconds).to_owned()),
        );
    }
    clash
}

/// Adds the envelope's [`SOURCE`] attribute (`event_source`) to an encoded event: done only
/// when the store has a source configured, so that nothing changes for stores without one.
///
/// Fails if the event serializes an attribute of that name itself, or if the item is then
/// over [`MAX_EVENT_SIZE`].
pub fn stamp_source(
    item: &mut Item,
    source: &str,
    event_type: &'static str,
    table: &str,
) -> Result<()> {
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
    let size = item_size(item);
    if size > MAX_EVENT_SIZE {
        return Err(Error::ItemTooLarge {
            table: table.to_owned(),
            size,
            limit: MAX_EVENT_SIZE,
        });
    }
    Ok(())
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
    if def.ttl.is_some() {
        item.remove(EXPIRES_AT);
    }
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

/// Checks an encoded item against DynamoDB's rules (every value, the partition key and the
/// string keys of its global secondary indexes) and returns its size.
fn check(item: &Item, def: &TableDef) -> Result<usize> {
    let invalid = |invalid: validate::Invalid| Error::InvalidValue {
        event_type: def.event_type,
        path: invalid.path,
        violation: invalid.violation,
    };
    let size = validate::check_event_item(
        item,
        def.partition_key,
        def.partition_key_type == KeyAttributeType::Number,
    )
    .map_err(invalid)?;
    validate::check_index_keys(item, def.indexes).map_err(invalid)?;
    Ok(size)
}
