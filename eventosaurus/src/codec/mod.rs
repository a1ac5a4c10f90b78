//! The item codec: an event to a DynamoDB item and back, checked against DynamoDB's rules.
//!
//! Fields are written as serde (through [`serde_dynamo`]) would write them, so serde
//! attributes (`rename`, `skip_serializing_if`, `with`, ...) work as usual; the derive
//! builds the item directly for fields of known scalar types (see [`fast`]). Every item also carries
//! [`EVENT_UUID`] and [`CREATED_AT`], and the item of a type of version 2 or later its
//! [`EVENT_VERSION`]; [`decode`] runs the type's upcasters on older items (see
//! [`upcast`](crate::model::upcast)). Before an item leaves [`encode`], one pass over it
//! ([`validate`]) checks every value the way DynamoDB would and computes its size with
//! DynamoDB's own rules, so a bad event is refused at `store()` with an error naming the
//! attribute, instead of failing later (and failing its whole batch) in DynamoDB.

use std::collections::HashMap;

use uuid::Uuid;

use crate::error::{Error, Result};
pub use crate::model::StoredEvent;
use crate::model::{CreatedAt, EncodedItem, Storable};
use crate::schema::{
    KeyAttributeType, TableDef, Ttl, CREATED_AT, EVENT_UUID, EVENT_VERSION, EXPIRES_AT, SOURCE,
};

#[doc(hidden)]
pub mod fast;
pub mod validate;

pub use crate::error::Violation;
pub use validate::{item_size, value_size};

/// A DynamoDB item, as the SDK types it.
pub type Item = HashMap<String, AttributeValue>;

/// A DynamoDB attribute value, as items hold them (the SDK's own type, re-exported).
pub use aws_sdk_dynamodb::types::AttributeValue;

/// DynamoDB's maximum item size: 400 KB, names and values included.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// The largest event item eventosaurus stores: 200 KB.
///
/// For a table with local secondary indexes, DynamoDB's 400 KB limit covers the item *plus*
/// its entries in every LSI. The `created_at` index projects ALL attributes, so each event is
/// stored twice and may use at most half of [`MAX_ITEM_SIZE`]. (DynamoDB Local enforces
/// exactly this: 204,800 bytes is accepted, one more is rejected.)
pub const MAX_EVENT_SIZE: usize = MAX_ITEM_SIZE / 2;

/// Serializes an event and adds `event_uuid` and `created_at`; for a type of version 2 or
/// later `event_version`; and for an event type with a time to live, [`EXPIRES_AT`] (see
/// [`expires_at`]).
///
/// A type of version 1 writes no `event_version`: an item without one is version 1, so its
/// items stay exactly what they were before versions existed (no migration of existing
/// tables, byte for byte what `serde_dynamo::to_item` writes plus the id and timestamp, and
/// no extra bytes or work per event).
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
    // The event's own attributes, `event_uuid` and `created_at`: from the derive's direct
    // encoder, counted and checked as it wrote them (its field names were checked at compile
    // time), or through serde_dynamo, checked below.
    let (mut item, mut checked_size, declared_only) =
        match event.encode_item(event_uuid, created_at) {
            Some(encoded) => {
                let EncodedItem { item, checked_size } = encoded.map_err(encode_error)?;
                (item, checked_size, true)
            }
            None => {
                let mut item = event.encode_attributes().map_err(encode_error)?;
                add_event_attributes::<E>(&mut item, event_uuid, created_at)?;
                (item, None, false)
            }
        };
    // Then, on either path, what the type's definition adds: `event_version`, `expires_at`.
    let stamped = stamp_version(&mut item, def.version, declared_only).and_then(|version| {
        let expiry = stamp_expiry(event, &mut item, created_at)?;
        Ok(version
            .zip(expiry)
            .map(|(version, expiry)| version + expiry))
    });
    match stamped {
        Ok(added) => checked_size = checked_size.zip(added).map(|(size, added)| size + added),
        Err(reserved) => {
            return Err(Error::InvalidEvent {
                event_type: def.event_type,
                reason: format!(
                    "it serializes an attribute named `{reserved}`, which eventosaurus reserves"
                ),
            })
        }
    }
    let size = match checked_size {
        Some(size) => {
            check_index_keys(&item, def)?;
            size
        }
        None => check(&item, def)?,
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

/// When an event expires, in seconds since the Unix epoch: `created_at` plus the lifetime of
/// `ttl = ".."`, or the time its `#[eventosaurus(expires_at)]` field holds; `None` when it
/// never does (no TTL, or a `None` field).
pub fn expires_at<E: Storable>(event: &E, created_at: &CreatedAt) -> Option<i64> {
    match E::TABLE.ttl? {
        ttl @ Ttl::AfterCreation { .. } => ttl.after_creation(created_at.timestamp_millis()),
        Ttl::Field { .. } => event.expires_at_field(),
    }
}

/// Writes [`EXPIRES_AT`] for an event type with a time to live. Returns the size it adds to
/// the item (`None` if unknown), or the reserved name if the event's own attributes already
/// hold it.
fn stamp_expiry<E: Storable>(
    event: &E,
    item: &mut Item,
    created_at: &CreatedAt,
) -> std::result::Result<Option<usize>, &'static str> {
    if E::TABLE.ttl.is_none() {
        return Ok(Some(0));
    }
    if item.contains_key(EXPIRES_AT) {
        return Err(EXPIRES_AT);
    }
    Ok(match expires_at(event, created_at) {
        Some(seconds) => {
            let value = AttributeValue::N(itoa::Buffer::new().format(seconds).to_owned());
            let size = validate::attribute_size(EXPIRES_AT, &value);
            item.insert(EXPIRES_AT.to_owned(), value);
            size
        }
        None => Some(0),
    })
}

/// Adds `event_version` for a type of version 2 or later; for version 1, checks that the
/// event does not serialize one itself (e.g. through a flattened map), unless its encoder
/// writes only its declared fields (`declared_only`: the derive's direct encoder, whose field
/// names were checked at compile time). Returns the size it adds to the item (`None` if
/// unknown), or the reserved name if the event's own attributes had it.
fn stamp_version(
    item: &mut Item,
    version: u32,
    declared_only: bool,
) -> std::result::Result<Option<usize>, &'static str> {
    if version > 1 {
        let value = AttributeValue::N(itoa::Buffer::new().format(version).to_owned());
        let size = validate::attribute_size(EVENT_VERSION, &value);
        match item.insert(EVENT_VERSION.to_owned(), value) {
            Some(_) => Err(EVENT_VERSION),
            None => Ok(size),
        }
    } else if !declared_only && item.contains_key(EVENT_VERSION) {
        Err(EVENT_VERSION)
    } else {
        Ok(Some(0))
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

/// Turns an item read from the table back into a [`StoredEvent`]: every read of a typed
/// event (`get`, `get_many`, queries, the consumer's typed handlers, the Lambda decoder)
/// comes here.
///
/// The `event_source` attribute, if there is one and the event has no field of that name,
/// becomes [`StoredEvent::source`]. An item of an older version (its `event_version`, 1
/// without one) goes through the type's upcasters up to the type's version first (see
/// [`upcast`](crate::model::upcast)); for an item of the current version that is one
/// attribute lookup. An item of a newer version is [`Error::VersionTooNew`]; a failing
/// upcaster or an `event_version` that is not a version number is [`Error::Decode`].
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
    let item = upcast_to_current::<E>(item, table)?;
    let event = E::decode_attributes(item).map_err(|e| decode_error(e.to_string()))?;
    Ok(StoredEvent {
        event,
        event_uuid,
        created_at,
        source,
    })
}

/// Takes the item's `event_version` out (1 when it has none) and runs the type's upcasters
/// from there to the type's version. An item of the current version is returned as it is.
fn upcast_to_current<E: Storable>(mut item: Item, table: &str) -> Result<Item> {
    let def = E::TABLE;
    let decode_error = |reason: String| Error::Decode {
        event_type: def.event_type,
        table: table.to_owned(),
        reason,
    };
    let version = crate::model::upcast::take_version(&mut item).map_err(decode_error)?;
    if version == def.version {
        return Ok(item);
    }
    if version > def.version {
        return Err(Error::VersionTooNew {
            event_type: def.event_type,
            table: table.to_owned(),
            item_version: version,
            known_version: def.version,
        });
    }
    for from in version..def.version {
        let Some(step) = E::UPCASTERS.iter().find(|u| u.from == from) else {
            return Err(decode_error(format!(
                "the item is version {version}, and {} has no upcaster from version {from}",
                def.event_type
            )));
        };
        item = (step.apply)(item).map_err(|e| {
            decode_error(format!(
                "upcaster `{}` (version {from} to {}) failed on an item of version {version}: {e}",
                step.name,
                from + 1
            ))
        })?;
    }
    Ok(item)
}

/// Checks an encoded item against DynamoDB's rules (every value, the partition key and the
/// string keys of its global secondary indexes) and returns its size.
fn check(item: &Item, def: &TableDef) -> Result<usize> {
    let size = validate::check_event_item(
        item,
        def.partition_key,
        def.partition_key_type == KeyAttributeType::Number,
    )
    .map_err(|invalid| invalid_value(def, invalid))?;
    check_index_keys(item, def)?;
    Ok(size)
}

/// The part of [`check`] the direct encoder's tally does not cover: the string keys of the
/// type's global secondary indexes (nothing to do for a type without any).
fn check_index_keys(item: &Item, def: &TableDef) -> Result<()> {
    validate::check_index_keys(item, def.indexes).map_err(|invalid| invalid_value(def, invalid))
}

fn invalid_value(def: &TableDef, invalid: validate::Invalid) -> Error {
    Error::InvalidValue {
        event_type: def.event_type,
        path: invalid.path,
        violation: invalid.violation,
    }
}
