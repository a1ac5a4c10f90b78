//! Attribute values as DynamoDB's own JSON (`{"N": "5"}`), for `explain` output and cursors.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serializer;
use serde_json::{json, Value};

use crate::codec::Item;
use crate::error::KeyValueProblem;
use crate::number::Number;

/// An attribute value in the JSON shape of the DynamoDB API, e.g. `{"S": "555"}`.
///
/// Binary values are written as arrays of byte values (`{"B": [1, 2]}`), not base64.
pub fn to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b.as_ref() }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(|b| b.as_ref()).collect::<Vec<_>>() }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(to_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => {
            let sorted: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, to_json(v))).collect();
            json!({ "M": sorted })
        }
        other => json!({ "UNKNOWN": format!("{other:?}") }),
    }
}

/// The inverse of [`to_json`] for the scalar types keys can have (`S`, `N`, `B`); an `N`
/// must be a number DynamoDB can hold.
pub fn key_value_from_json(value: &Value) -> Result<AttributeValue, KeyValueProblem> {
    let (tag, inner) = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
        .ok_or(KeyValueProblem::NotOneTypeTag)?;
    match (tag.as_str(), inner) {
        ("S", Value::String(s)) => Ok(AttributeValue::S(s.clone())),
        ("N", Value::String(n)) => match Number::parse(n) {
            Ok(_) => Ok(AttributeValue::N(n.clone())),
            Err(e) => Err(KeyValueProblem::InvalidNumber(e)),
        },
        ("B", Value::Array(bytes)) => bytes
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect::<Option<Vec<u8>>>()
            .map(|bytes| AttributeValue::B(Blob::new(bytes)))
            .ok_or(KeyValueProblem::InvalidBytes),
        _ => Err(KeyValueProblem::UnsupportedType { tag: tag.clone() }),
    }
}

/// An item as a JSON object of DynamoDB JSON values, keys sorted.
pub fn item_to_json(item: &Item) -> Value {
    let sorted: BTreeMap<&String, Value> = item.iter().map(|(k, v)| (k, to_json(v))).collect();
    json!(sorted)
}

pub(crate) fn serialize_values<S: Serializer>(
    values: &[AttributeValue],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for value in values {
        seq.serialize_element(&to_json(value))?;
    }
    seq.end()
}

pub(crate) fn serialize_value_map<S: Serializer>(
    values: &BTreeMap<String, AttributeValue>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(values.len()))?;
    for (name, value) in values {
        map.serialize_entry(name, &to_json(value))?;
    }
    map.end()
}

pub(crate) fn serialize_optional_item<S: Serializer>(
    item: &Option<Item>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match item {
        Some(item) => serializer.serialize_some(&item_to_json(item)),
        None => serializer.serialize_none(),
    }
}
