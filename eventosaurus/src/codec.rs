//! The item codec: an event to a DynamoDB item and back, with size checks.
//!
//! Fields are serialized with [`serde_dynamo`], so serde attributes (`rename`,
//! `skip_serializing_if`, `with`, ...) work as usual. Every item also carries
//! [`EVENT_UUID`] and [`CREATED_AT`].

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use uuid::Uuid;

use crate::error::{Error, Result};
pub use crate::model::StoredEvent;
use crate::model::{CreatedAt, Storable};
use crate::schema::{KeyAttributeType, CREATED_AT, EVENT_UUID, SOURCE};

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
/// Fails if the event's own fields use a reserved name, lack the partition key (e.g. because
/// of `skip_serializing_if`), or if the item is over [`MAX_EVENT_SIZE`].
pub fn encode<E: Storable>(
    event: &E,
    table: &str,
    event_uuid: &Uuid,
    created_at: &CreatedAt,
) -> Result<Item> {
    let def = E::TABLE;
    let mut item: Item = serde_dynamo::to_item(event).map_err(|source| Error::Encode {
        event_type: def.event_type,
        table: table.to_owned(),
        source,
    })?;
    for reserved in [EVENT_UUID, CREATED_AT] {
        if item.contains_key(reserved) {
            return Err(Error::InvalidEvent {
                event_type: def.event_type,
                reason: format!(
                    "it serializes an attribute named `{reserved}`, which eventosaurus reserves"
                ),
            });
        }
    }
    let key_ok = match (item.get(def.partition_key), def.partition_key_type) {
        (Some(AttributeValue::N(_)), KeyAttributeType::Number) => true,
        (Some(AttributeValue::S(s)), KeyAttributeType::String) => !s.is_empty(),
        _ => false,
    };
    if !key_ok {
        return Err(Error::InvalidEvent {
            event_type: def.event_type,
            reason: format!(
                "its partition key `{}` is missing, empty or not of type {} in the serialized item",
                def.partition_key,
                def.partition_key_type.as_str()
            ),
        });
    }
    item.insert(
        EVENT_UUID.to_owned(),
        AttributeValue::S(event_uuid.hyphenated().to_string()),
    );
    item.insert(
        CREATED_AT.to_owned(),
        AttributeValue::S(created_at.to_string()),
    );
    let size = item_size(&item);
    if size > MAX_EVENT_SIZE {
        return Err(Error::ItemTooLarge {
            table: table.to_owned(),
            size,
            limit: MAX_EVENT_SIZE,
        });
    }
    Ok(item)
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
    let source = if def.attributes.iter().any(|a| a.name == SOURCE) {
        None
    } else {
        match item.remove(SOURCE) {
            Some(AttributeValue::S(source)) => Some(source),
            _ => None,
        }
    };
    let event = serde_dynamo::from_item(item).map_err(|e| decode_error(e.to_string()))?;
    Ok(StoredEvent {
        event,
        event_uuid,
        created_at,
        source,
    })
}

/// The size of an item as DynamoDB counts it (an upper bound for numbers).
///
/// Names and values count as their UTF-8 length; numbers as about one byte per two digits
/// plus one; booleans and nulls one byte; lists and maps three bytes plus one per element.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn number_size(n: &str) -> usize {
    let digits = n.bytes().filter(u8::is_ascii_digit).count();
    digits.div_ceil(2) + 1
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        // Future variants: count conservatively as their debug length.
        other => format!("{other:?}").len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let mut item = Item::new();
        item.insert("ab".into(), AttributeValue::S("héllo".into())); // 2 + 6
        item.insert("n".into(), AttributeValue::N("12345".into())); // 1 + 4
        item.insert("t".into(), AttributeValue::Bool(true)); // 1 + 1
        item.insert(
            "l".into(),
            AttributeValue::L(vec![AttributeValue::S("x".into())]),
        ); // 1 + 3 + 2
        assert_eq!(item_size(&item), 8 + 5 + 2 + 6);
    }
}
