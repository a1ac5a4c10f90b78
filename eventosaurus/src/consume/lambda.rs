//! For AWS Lambda: decode the DynamoDB Streams records a Lambda receives (feature `lambda`).
//!
//! Built on `aws_lambda_events`' DynamoDB event (whose images are `serde_dynamo` items), so a
//! Lambda triggered by an event table's stream gets [`StoredEvent<E>`] values:
//!
//! ```
//! # #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! # #[eventosaurus(table = "phone_call", partition_key = person_id)]
//! # pub struct PhoneCall { pub person_id: u64, pub phone_number: String }
//! use eventosaurus::consume::lambda::{decode_event, LambdaEvent};
//!
//! fn handle(event: LambdaEvent) -> eventosaurus::Result<()> {
//!     for call in decode_event::<PhoneCall>(&event)? {
//!         println!("{} called {}", call.person_id, call.phone_number);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Records without a new image (deletions, `KEYS_ONLY` streams) are skipped.

pub use aws_lambda_events::dynamodb::{Event as LambdaEvent, EventRecord as LambdaRecord};

use crate::codec::{self, Item, StoredEvent};
use crate::error::{Error, Result};
use crate::Storable;

use super::handlers::{RawEvent, StreamPosition};

/// The full table name of a record, from its `eventSourceARN`
/// (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`).
pub fn table_name(record: &LambdaRecord) -> Option<&str> {
    let arn = record.event_source_arn.as_deref()?;
    let after = arn.split_once(":table/")?.1;
    Some(after.split('/').next().unwrap_or(after))
}

fn new_image(record: &LambdaRecord) -> Option<Item> {
    let image = &record.change.new_image;
    if image.is_empty() {
        return None;
    }
    Some(image.clone().into())
}

/// Decodes one record into an event of type `E`; `Ok(None)` for a record without a new
/// image. A record of another event type's table is an [`Error::Decode`].
pub fn decode_record<E: Storable>(record: &LambdaRecord) -> Result<Option<StoredEvent<E>>> {
    let table = table_name(record).unwrap_or("-");
    if table != "-" && !table.ends_with(&format!("_{}", E::TABLE.name)) {
        return Err(Error::Decode {
            event_type: E::TABLE.event_type,
            table: table.to_owned(),
            reason: format!(
                "the record comes from table `{table}`, not from a `{}` table",
                E::TABLE.name
            ),
        });
    }
    new_image(record)
        .map(|item| codec::decode(item, table))
        .transpose()
}

/// Decodes every record of a Lambda invocation into events of type `E`, in order.
pub fn decode_event<E: Storable>(event: &LambdaEvent) -> Result<Vec<StoredEvent<E>>> {
    let mut events = Vec::with_capacity(event.records.len());
    for record in &event.records {
        if let Some(stored) = decode_record::<E>(record)? {
            events.push(stored);
        }
    }
    Ok(events)
}

/// One record as a [`RawEvent`] (for routing by table), given the environment prefix; `None`
/// without a new image or a table name. The shard id is not in a Lambda record: it is `-`.
pub fn raw_event(record: &LambdaRecord, environment_prefix: &str) -> Option<RawEvent> {
    let table_name = table_name(record)?.to_owned();
    let table = table_name
        .strip_prefix(environment_prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .unwrap_or(&table_name)
        .to_owned();
    Some(RawEvent {
        table,
        table_name,
        item: new_image(record)?,
        position: StreamPosition {
            shard_id: "-".to_owned(),
            sequence_number: record.change.sequence_number.clone().unwrap_or_default(),
        },
    })
}

#[cfg(test)]
// The derive's generated query builder, expanded inside this crate, trips this lint.
#[allow(unused_attributes)]
mod tests {
    use super::*;

    #[derive(
        Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable,
    )]
    #[eventosaurus(table = "phone_call", partition_key = person_id)]
    struct PhoneCall {
        person_id: u64,
        phone_number: String,
    }

    #[derive(
        Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable,
    )]
    #[eventosaurus(table = "neat_event", partition_key = location)]
    struct NeatEvent {
        location: String,
    }

    /// Version 2 of `PhoneCall`: a record stored by version 1 reads through the upcaster.
    #[derive(
        Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable,
    )]
    #[eventosaurus(table = "phone_call", partition_key = person_id, version = 2,
                   upcast(from = 1, with = with_country))]
    struct PhoneCallV2 {
        person_id: u64,
        phone_number: String,
        country: String,
    }

    fn with_country(mut call: serde_json::Value) -> Result<serde_json::Value, String> {
        call["country"] = "NL".into();
        Ok(call)
    }

    /// A record as DynamoDB Streams delivers it to a Lambda (INSERT, then a REMOVE).
    const SAMPLE: &str = r#"{
      "Records": [
        {
          "eventID": "c4ca4238a0b923820dcc509a6f75849b",
          "eventName": "INSERT",
          "eventVersion": "1.1",
          "eventSource": "aws:dynamodb",
          "awsRegion": "eu-west-1",
          "dynamodb": {
            "ApproximateCreationDateTime": 1764097137,
            "Keys": {
              "person_id": {"N": "5"},
              "event_uuid": {"S": "0b0c6a3e-4f5d-4d7e-9c3a-2f1e0d9c8b7a"}
            },
            "NewImage": {
              "person_id": {"N": "5"},
              "phone_number": {"S": "555-0100"},
              "event_uuid": {"S": "0b0c6a3e-4f5d-4d7e-9c3a-2f1e0d9c8b7a"},
              "created_at": {"S": "2026-11-25T19:38:57.123Z"}
            },
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 120,
            "StreamViewType": "NEW_IMAGE"
          },
          "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/production_phone_call/stream/2026-11-25T00:00:00.000"
        },
        {
          "eventID": "c81e728d9d4c2f636f067f89cc14862c",
          "eventName": "REMOVE",
          "eventVersion": "1.1",
          "eventSource": "aws:dynamodb",
          "awsRegion": "eu-west-1",
          "dynamodb": {
            "ApproximateCreationDateTime": 1764097138,
            "Keys": {
              "person_id": {"N": "5"},
              "event_uuid": {"S": "0b0c6a3e-4f5d-4d7e-9c3a-2f1e0d9c8b7a"}
            },
            "SequenceNumber": "4421584500000000017450439092",
            "SizeBytes": 60,
            "StreamViewType": "NEW_IMAGE"
          },
          "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/production_phone_call/stream/2026-11-25T00:00:00.000"
        }
      ]
    }"#;

    #[test]
    fn a_lambda_record_decodes_into_a_stored_event() {
        let event: LambdaEvent = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(table_name(&event.records[0]), Some("production_phone_call"));
        let calls = decode_event::<PhoneCall>(&event).unwrap();
        assert_eq!(calls.len(), 1, "the REMOVE record has no new image");
        assert_eq!(
            calls[0].event,
            PhoneCall {
                person_id: 5,
                phone_number: "555-0100".into()
            }
        );
        assert_eq!(
            calls[0].event_uuid.to_string(),
            "0b0c6a3e-4f5d-4d7e-9c3a-2f1e0d9c8b7a"
        );
        assert_eq!(calls[0].created_at.to_string(), "2026-11-25T19:38:57.123Z");

        let raw = raw_event(&event.records[0], "production").unwrap();
        assert_eq!(raw.table, "phone_call");
        assert_eq!(raw.position.sequence_number, "4421584500000000017450439091");
        assert!(raw_event(&event.records[1], "production").is_none());

        let upcast = decode_event::<PhoneCallV2>(&event).unwrap();
        assert_eq!(
            upcast[0].country, "NL",
            "a version-1 record read as version 2"
        );
        assert_eq!(upcast[0].phone_number, "555-0100");

        let wrong = decode_event::<NeatEvent>(&event).unwrap_err();
        assert!(
            wrong.to_string().contains("not from a `neat_event` table"),
            "{wrong}"
        );
    }
}
