//! [`Envelope`]: an event as it is published, e.g. by a relay to a Kinesis stream.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{CreatedAt, Storable, StoredEvent};
use crate::error::{Error, Result};
use crate::plain_json::{self, Numbers};
use crate::schema::{TableDef, CREATED_AT, EVENT_UUID, EVENT_VERSION, EXPIRES_AT, SOURCE};

/// An event as it is published: its type, its data, its linked records, the service that
/// stored it and the key that orders it. Serializes to one JSON object:
///
/// ```json
/// {"event": "Classification", "source": "panoptes", "event_uuid": "…", "created_at": "2026-11-25T10:00:00.000Z",
///  "partition_key": "1138", "data": {"workflow_id": 1138, "subject_id": 5, …}, "linked": {"subjects": […]}}
/// ```
///
/// * `event`: the event type's name ([`TableDef::event_type`]): one table is one type, so it
///   is not stored with each item.
/// * `source`: the service that stored the event (`event_source`, written only when a
///   source is configured); `null` otherwise.
/// * `partition_key`: the value of the `shard_by` field as text, else the event's partition
///   key: events with the same one are published in order.
/// * `data`: the event's attributes, without `event_uuid`, `created_at`, `event_source`,
///   `expires_at` (of an expiring type) and the linked field. Numbers are JSON numbers (integers beyond 64 bits and decimals as
///   doubles), sets are arrays, binaries are arrays of byte values.
/// * `linked`: the value of the `#[eventosaurus(linked)]` field, `null` when the type has
///   none (or the value is missing).
/// * `event_version`: the version of the shape `data` has (the item's `event_version`, 1
///   without one): an envelope built from an item keeps the shape that item was stored in,
///   so a relay's readers can tell versions apart (see [`upcast`](crate::model::upcast)).
///
/// Build it from an item as read from the table or its stream ([`Envelope::from_item`]) or
/// from a [`StoredEvent`] ([`Envelope::from_stored`]); both give the same envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The event type's name, e.g. `PhoneCall`.
    pub event: String,
    /// The service that stored the event, if one was configured.
    pub source: Option<String>,
    /// The event's id.
    pub event_uuid: Uuid,
    /// When it was stored.
    pub created_at: CreatedAt,
    /// The key that orders publication: the `shard_by` field's value, else the partition key.
    pub partition_key: String,
    /// The event's own attributes (without the linked field).
    pub data: Map<String, Value>,
    /// The linked records, if the type declares a linked field.
    pub linked: Option<Value>,
    /// The version of the event type whose shape `data` has: 1 for an item without
    /// `event_version` (and when reading an envelope serialized without this field).
    #[serde(default = "version_one")]
    pub event_version: u32,
}

fn version_one() -> u32 {
    1
}

impl Envelope {
    /// The envelope of an item of `def`'s table (as read with GetItem, a query, or from a
    /// stream record's `NewImage`).
    ///
    /// Fails with [`Error::Decode`] if the item lacks its `event_uuid`, `created_at` or
    /// partition key.
    pub fn from_item(def: &TableDef, item: &HashMap<String, AttributeValue>) -> Result<Envelope> {
        let error = |reason: String| Error::Decode {
            event_type: def.event_type,
            table: def.name.to_owned(),
            reason,
        };
        let mut item = item.clone();
        let event_uuid = match item.remove(EVENT_UUID) {
            Some(AttributeValue::S(s)) => Uuid::parse_str(&s)
                .map_err(|e| error(format!("`{EVENT_UUID}` {s:?} is not a UUID: {e}")))?,
            _ => return Err(error(format!("the item has no string `{EVENT_UUID}`"))),
        };
        let created_at = match item.remove(CREATED_AT) {
            Some(AttributeValue::S(s)) => {
                CreatedAt::parse(&s).map_err(|e| error(format!("`{CREATED_AT}`: {e}")))?
            }
            _ => return Err(error(format!("the item has no string `{CREATED_AT}`"))),
        };
        if def.ttl.is_some() {
            item.remove(EXPIRES_AT); // the library's, like created_at
        }
        let event_version = super::upcast::take_version(&mut item).map_err(error)?;
        let source = if def.attributes.iter().any(|a| a.name == SOURCE) {
            None // the event's own field of that name: data
        } else {
            match item.remove(SOURCE) {
                Some(AttributeValue::S(source)) => Some(source),
                _ => None,
            }
        };
        let partition_key = def
            .shard_by
            .and_then(|name| key_text(item.get(name)))
            .or_else(|| key_text(item.get(def.partition_key)))
            .ok_or_else(|| {
                error(format!(
                    "the item has no string or number partition key `{}`",
                    def.partition_key
                ))
            })?;
        let linked = def
            .linked
            .and_then(|name| item.remove(name))
            .map(|value| to_json(&value));
        let data = plain_json::item(&item, Numbers::Nearest);
        Ok(Envelope {
            event: def.event_type.to_owned(),
            source,
            event_uuid,
            created_at,
            partition_key,
            data,
            linked,
            event_version,
        })
    }

    /// The envelope of an event read back (from a query or `get`): the same as
    /// [`from_item`](Envelope::from_item) of its item, in the type's current version (the
    /// event was read through its upcasters).
    pub fn from_stored<E: Storable>(stored: &StoredEvent<E>) -> Result<Envelope> {
        let def = E::TABLE;
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&stored.event)
            .map_err(|source| Error::Encode {
                event_type: def.event_type,
                table: def.name.to_owned(),
                source,
            })?;
        item.insert(
            EVENT_UUID.to_owned(),
            AttributeValue::S(stored.event_uuid.hyphenated().to_string()),
        );
        item.insert(
            CREATED_AT.to_owned(),
            AttributeValue::S(stored.created_at.to_string()),
        );
        if def.version > 1 {
            item.insert(
                EVENT_VERSION.to_owned(),
                AttributeValue::N(def.version.to_string()),
            );
        }
        if let Some(source) = &stored.source {
            item.entry(SOURCE.to_owned())
                .or_insert_with(|| AttributeValue::S(source.clone()));
        }
        Envelope::from_item(def, &item)
    }
}

/// A key value as text: a string as is, a number as stored.
fn key_text(value: Option<&AttributeValue>) -> Option<String> {
    match value? {
        AttributeValue::S(s) => Some(s.clone()),
        AttributeValue::N(n) => Some(n.clone()),
        _ => None,
    }
}

/// An attribute value as plain JSON (not DynamoDB's typed JSON), as in the envelope's `data`:
/// numbers as the nearest double, so that a field always has one JSON type (see
/// [`plain_json`]).
fn to_json(value: &AttributeValue) -> Value {
    plain_json::value(value, Numbers::Nearest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AttributeDef, AttributeType, KeyAttributeType};
    use serde_json::json;

    const DEF: TableDef = TableDef {
        name: "classification",
        event_type: "Classification",
        partition_key: "subject_id",
        partition_key_type: KeyAttributeType::Number,
        composite_key: &[],
        attributes: &[
            AttributeDef {
                name: "subject_id",
                field: "subject_id",
                attribute_type: AttributeType::Number,
            },
            AttributeDef {
                name: "workflow",
                field: "workflow",
                attribute_type: AttributeType::String,
            },
            AttributeDef {
                name: "subjects",
                field: "subjects",
                attribute_type: AttributeType::Other,
            },
        ],
        linked: Some("subjects"),
        shard_by: Some("workflow"),
        ttl: None,
        indexes: &[],
        version: 1,
    };

    fn item(pairs: Vec<(&str, AttributeValue)>) -> HashMap<String, AttributeValue> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    #[test]
    fn an_item_becomes_an_envelope() {
        let uuid = Uuid::from_u128(42);
        let stored = item(vec![
            ("subject_id", AttributeValue::N("5".into())),
            ("workflow", AttributeValue::S("w-1".into())),
            ("score", AttributeValue::N("0.25".into())),
            ("tags", AttributeValue::Ss(vec!["a".into()])),
            (
                "subjects",
                AttributeValue::L(vec![AttributeValue::M(
                    [("id".to_owned(), AttributeValue::N("1".into()))].into(),
                )]),
            ),
            (EVENT_UUID, AttributeValue::S(uuid.to_string())),
            (
                CREATED_AT,
                AttributeValue::S("2026-11-25T10:00:00.000Z".into()),
            ),
            (SOURCE, AttributeValue::S("panoptes".into())),
        ]);
        let envelope = Envelope::from_item(&DEF, &stored).unwrap();
        assert_eq!(
            serde_json::to_value(&envelope).unwrap(),
            json!({
                "event": "Classification",
                "source": "panoptes",
                "event_uuid": uuid.to_string(),
                "created_at": "2026-11-25T10:00:00.000Z",
                "partition_key": "w-1",
                "data": {"subject_id": 5, "workflow": "w-1", "score": 0.25, "tags": ["a"]},
                "linked": [{"id": 1}],
                "event_version": 1,
            })
        );
        let back: Envelope =
            serde_json::from_value(serde_json::to_value(&envelope).unwrap()).unwrap();
        assert_eq!(back, envelope);

        // Without shard_by, source and linked value: the partition key, nulls.
        let plain = TableDef {
            shard_by: None,
            ..DEF
        };
        let mut bare = stored.clone();
        bare.remove(SOURCE);
        bare.remove("subjects");
        let envelope = Envelope::from_item(&plain, &bare).unwrap();
        assert_eq!(
            (
                envelope.partition_key.as_str(),
                envelope.source,
                envelope.linked
            ),
            ("5", None, None)
        );

        // The library's expires_at is no data of an expiring type's envelope.
        let expiring = TableDef {
            ttl: Some(crate::schema::Ttl::AfterCreation { seconds: 60 }),
            ..plain
        };
        bare.insert(EXPIRES_AT.into(), AttributeValue::N("1800000000".into()));
        let envelope = Envelope::from_item(&expiring, &bare).unwrap();
        assert!(
            !envelope.data.contains_key(EXPIRES_AT),
            "{:?}",
            envelope.data
        );
        bare.remove(EXPIRES_AT);
        // A later version's item: its version, and no `event_version` in `data`.
        let mut versioned = bare.clone();
        versioned.insert(EVENT_VERSION.to_owned(), AttributeValue::N("3".into()));
        let envelope = Envelope::from_item(&plain, &versioned).unwrap();
        assert_eq!(envelope.event_version, 3);
        assert!(
            !envelope.data.contains_key(EVENT_VERSION),
            "{:?}",
            envelope.data
        );
        let old: Envelope = serde_json::from_value(json!({
            "event": "E", "source": null, "event_uuid": Uuid::nil(),
            "created_at": "2026-11-25T10:00:00.000Z", "partition_key": "5", "data": {}, "linked": null,
        }))
        .unwrap();
        assert_eq!(
            old.event_version, 1,
            "an envelope serialized before versions is version 1"
        );

        bare.remove(EVENT_UUID);
        assert!(matches!(
            Envelope::from_item(&plain, &bare),
            Err(Error::Decode { .. })
        ));
    }
}
