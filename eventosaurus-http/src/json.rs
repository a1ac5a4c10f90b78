//! Events as plain JSON: the `data:` of an SSE event and a line of NDJSON.

use eventosaurus::codec::Item;
use eventosaurus::plain_json::{self, Numbers};
use serde_json::Value;

/// An event as one JSON object: its attributes as plain JSON (with `event_uuid` and
/// `created_at`), plus `"table"` (the logical table name), keys sorted. Numbers are JSON
/// numbers when JSON holds them exactly, else their text ([`Numbers::Exact`]); binaries are
/// arrays of bytes (see [`eventosaurus::plain_json`]).
///
/// ```
/// use aws_sdk_dynamodb::types::AttributeValue;
/// let mut item = eventosaurus::codec::Item::new();
/// item.insert("person_id".into(), AttributeValue::N("5".into()));
/// item.insert("event_uuid".into(), AttributeValue::S("0f…".into()));
/// let json = eventosaurus_http::json::event_json("phone_call", &item);
/// assert_eq!(json.to_string(), r#"{"event_uuid":"0f…","person_id":5,"table":"phone_call"}"#);
/// ```
pub fn event_json(table: &str, item: &Item) -> Value {
    let mut map = plain_json::item(item, Numbers::Exact);
    map.insert("table".to_owned(), Value::from(table));
    Value::Object(map)
}
