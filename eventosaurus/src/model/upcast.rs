//! Versions and upcasters: an event type's shape changes, its stored items stay readable.
//!
//! `#[eventosaurus(version = N)]` declares the version of a type's shape (1 unless declared).
//! A type of version 2 or later stores it with every item as the number attribute
//! [`EVENT_VERSION`](crate::schema::EVENT_VERSION) (`event_version`); an item without one is
//! version 1. Each `#[eventosaurus(upcast(from = K, with = path::to::function))]` registers
//! an [`Upcast`]: a function that turns the attributes of an item of version `K` into the shape
//! of version `K + 1`. Every item is decoded in one place
//! ([`codec::decode`](crate::codec::decode): `get`, `get_many`, queries and their streams, the
//! consumer's typed handlers, [`RawEvent::decode`](crate::consume::RawEvent::decode), the
//! Lambda decoder), which runs the chain from the item's version up to the type's, then reads
//! the event as usual. An item of a newer version than the type is
//! [`Error::VersionTooNew`](crate::Error::VersionTooNew), never a misread.
//!
//! An upcaster is an ordinary function over one of two shapes (see [`Upcaster`]):
//!
//! * the item: `fn(eventosaurus::codec::Item) -> Result<Item, E>`, DynamoDB's own types, exact
//!   for every value (numbers as their decimal text, sets, binaries);
//! * JSON: `fn(serde_json::Value) -> Result<serde_json::Value, E>`, with `json!` and indexing:
//!   the item as a JSON object (as an [`Envelope`](crate::Envelope)'s `data`: numbers as JSON
//!   numbers, sets as arrays, binaries as arrays of bytes), written back as serde_dynamo writes
//!   JSON. Integers up to 64 bits survive exactly; decimals beyond a double's 17 digits do not,
//!   and sets come back as lists (which serde reads back into sets): use the item form for those.
//!
//! `E` is any error (`String`, `&str`, any `std::error::Error + Send + Sync`); a failure is an
//! [`Error::Decode`](crate::Error::Decode) naming the upcaster and its versions. Either way
//! the function gets the event's own attributes only: `event_uuid`, `created_at`,
//! `event_source` and `event_version` are kept by eventosaurus and never change.
//!
//! ```
//! use eventosaurus::codec::{self, Item};
//! use eventosaurus::Storable;
//! use aws_sdk_dynamodb::types::AttributeValue;
//!
//! /// Version 3 of an order event. Version 1 had `amount` (a whole number of euros);
//! /// version 2 renamed it `total_cents`; version 3 added `currency`.
//! #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, eventosaurus::Storable)]
//! #[eventosaurus(table = "order_placed", partition_key = order_id, version = 3,
//!                upcast(from = 1, with = v1_to_v2), upcast(from = 2, with = v2_to_v3))]
//! pub struct OrderPlaced { pub order_id: String, pub total_cents: u64, pub currency: String }
//!
//! /// 1 → 2 on the item: euros become cents.
//! fn v1_to_v2(mut item: Item) -> Result<Item, String> {
//!     let euros = match item.remove("amount") {
//!         Some(AttributeValue::N(n)) => n.parse::<u64>().map_err(|e| format!("amount {n:?}: {e}"))?,
//!         other => return Err(format!("expected a number `amount`, found {other:?}")),
//!     };
//!     item.insert("total_cents".into(), AttributeValue::N((euros * 100).to_string()));
//!     Ok(item)
//! }
//!
//! /// 2 → 3 on JSON: every order before version 3 was in euros.
//! fn v2_to_v3(mut event: serde_json::Value) -> Result<serde_json::Value, String> {
//!     event["currency"] = "EUR".into();
//!     Ok(event)
//! }
//!
//! // An item as version 1 stored it (no `event_version`): read as version 3.
//! let item: Item = [
//!     ("order_id", AttributeValue::S("o-1".into())),
//!     ("amount", AttributeValue::N("12".into())),
//!     ("event_uuid", AttributeValue::S("6f0c5e3c-7a52-4c8e-9d1e-0a4f3b2c1d0e".into())),
//!     ("created_at", AttributeValue::S("2026-11-25T10:00:00.000Z".into())),
//! ].into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
//! let read = codec::decode::<OrderPlaced>(item, "dev_order_placed").unwrap();
//! assert_eq!(read.event, OrderPlaced { order_id: "o-1".into(), total_cents: 1200, currency: "EUR".into() });
//! assert_eq!(OrderPlaced::TABLE.version, 3);
//! ```
//!
//! The chain is checked when the type compiles: versions `1..N-1` need exactly one upcaster
//! each, `from` lies in `1..N`, and upcasters need a `version`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::error::BoxError;
use crate::plain_json::{self, Numbers};
use crate::schema::EVENT_VERSION;

/// The attributes an upcaster reads and returns: the same type as
/// [`codec::Item`](crate::codec::Item).
type Attributes = HashMap<String, AttributeValue>;

/// Takes an item's `event_version` out: 1 when it has none (items written before versions, and
/// by version-1 types), else the stored whole number from 1. The error says what is wrong.
pub(crate) fn take_version(
    item: &mut HashMap<String, AttributeValue>,
) -> std::result::Result<u32, String> {
    match item.remove(EVENT_VERSION) {
        None => Ok(1),
        Some(AttributeValue::N(n)) => match n.parse::<u32>() {
            Ok(version) if version >= 1 => Ok(version),
            _ => Err(format!(
                "`{EVENT_VERSION}` {n:?} is not a version (a whole number from 1)"
            )),
        },
        Some(other) => Err(format!("`{EVENT_VERSION}` is not a number (N): {other:?}")),
    }
}

/// One step of an event type's upcast chain, from
/// `#[eventosaurus(upcast(from = K, with = path))]`: it turns the attributes of an item of
/// version `from` into the shape of version `from + 1`.
///
/// The derive lists them in [`Storable::UPCASTERS`](crate::Storable::UPCASTERS), in order;
/// [`codec::decode`](crate::codec::decode) runs them. See the [module docs](self).
#[derive(Clone, Copy)]
pub struct Upcast {
    /// The version it reads; it writes `from + 1`.
    pub from: u32,
    /// The function as written in the attribute (e.g. `migrations::v1_to_v2`), for errors.
    pub name: &'static str,
    /// The step: the function, called through its [`Upcaster`] shape.
    pub apply: fn(Attributes) -> Result<Attributes, BoxError>,
}

impl std::fmt::Debug for Upcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upcast")
            .field("from", &self.from)
            .field("to", &(self.from + 1))
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What `upcast(.., with = path)` may name: a function over the item
/// ([`ItemShape`]) or over JSON ([`JsonShape`]), returning a `Result` with any error type.
///
/// ```
/// use eventosaurus::codec::Item;
/// use eventosaurus::model::{upcast, Upcaster};
///
/// fn on_item(item: Item) -> Result<Item, String> { Ok(item) }
/// fn on_json(value: serde_json::Value) -> Result<serde_json::Value, std::convert::Infallible> { Ok(value) }
///
/// let item = Item::new();
/// assert_eq!(upcast::apply(on_item, item.clone()).unwrap(), item);
/// assert_eq!(upcast::apply(on_json, item.clone()).unwrap(), item);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an upcaster",
    label = "expected `fn(eventosaurus::codec::Item) -> Result<Item, E>` or `fn(serde_json::Value) -> Result<serde_json::Value, E>`",
    note = "E is any error type: String, &str or a std::error::Error + Send + Sync"
)]
pub trait Upcaster<Shape> {
    /// Runs the function on an item's own attributes.
    fn upcast(&self, attributes: Attributes) -> Result<Attributes, BoxError>;
}

/// The [`Upcaster`] shape of `fn(Item) -> Result<Item, E>`.
#[derive(Debug)]
pub enum ItemShape {}

/// The [`Upcaster`] shape of `fn(serde_json::Value) -> Result<serde_json::Value, E>`.
#[derive(Debug)]
pub enum JsonShape {}

impl<F, E> Upcaster<ItemShape> for F
where
    F: Fn(Attributes) -> Result<Attributes, E>,
    E: Into<BoxError>,
{
    fn upcast(&self, attributes: Attributes) -> Result<Attributes, BoxError> {
        self(attributes).map_err(Into::into)
    }
}

impl<F, E> Upcaster<JsonShape> for F
where
    F: Fn(Value) -> Result<Value, E>,
    E: Into<BoxError>,
{
    fn upcast(&self, attributes: Attributes) -> Result<Attributes, BoxError> {
        // Numbers as the nearest double, as in an envelope's `data` (see `plain_json`).
        let object = plain_json::item(&attributes, Numbers::Nearest);
        match self(Value::Object(object)).map_err(Into::into)? {
            Value::Object(object) => serde_dynamo::to_item(object)
                .map_err(|e| format!("its result cannot be written as an item: {e}").into()),
            other => Err(format!(
                "it returned {}, not a JSON object",
                match other {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    _ => "an array",
                }
            )
            .into()),
        }
    }
}

/// Runs an upcaster of either shape: what the code generated for `upcast(..)` calls.
pub fn apply<S, U: Upcaster<S>>(
    upcaster: U,
    attributes: Attributes,
) -> Result<Attributes, BoxError> {
    upcaster.upcast(attributes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Attributes {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn json_upcasters_see_plain_json_and_write_items() {
        let upcaster = |mut value: Value| -> Result<Value, String> {
            assert_eq!(value["n"], 5);
            assert_eq!(value["tags"], serde_json::json!(["a"]));
            value["added"] = "x".into();
            Ok(value)
        };
        let out = apply(
            upcaster,
            item(&[
                ("n", AttributeValue::N("5".into())),
                ("tags", AttributeValue::Ss(vec!["a".into()])),
            ]),
        )
        .unwrap();
        assert_eq!(out["n"], AttributeValue::N("5".into()));
        assert_eq!(out["added"], AttributeValue::S("x".into()));
        assert_eq!(
            out["tags"],
            AttributeValue::L(vec![AttributeValue::S("a".into())])
        );
    }

    #[test]
    fn failures_and_non_objects_are_errors() {
        let fails = |_: Value| -> Result<Value, &'static str> { Err("no") };
        assert_eq!(
            apply(fails, Attributes::new()).unwrap_err().to_string(),
            "no"
        );
        let array = |_: Value| -> Result<Value, String> { Ok(Value::Array(vec![])) };
        let error = apply(array, Attributes::new()).unwrap_err().to_string();
        assert!(error.contains("an array, not a JSON object"), "{error}");
        let on_item = |_: Attributes| -> Result<Attributes, std::io::Error> {
            Err(std::io::Error::other("disk"))
        };
        assert_eq!(
            apply(on_item, Attributes::new()).unwrap_err().to_string(),
            "disk"
        );
    }
}
