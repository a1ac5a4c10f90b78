//! Events as plain JSON: the `data:` of an SSE event and a line of NDJSON.

use aws_sdk_dynamodb::types::AttributeValue;
use eventosaurus::codec::Item;
use serde_json::{Map, Value};

/// An event as one JSON object: its attributes as plain JSON (with `event_uuid` and
/// `created_at`), plus `"table"` (the logical table name), keys sorted.
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
    let mut map = Map::new();
    let mut names: Vec<&String> = item.keys().collect();
    names.sort();
    for name in names {
        map.insert(name.clone(), plain(&item[name]));
    }
    map.insert("table".to_owned(), Value::from(table));
    Value::Object(map)
}

/// One attribute value as plain JSON: numbers as JSON numbers (as strings when JSON cannot
/// hold them exactly), strings, bools, null, lists and sets as arrays, maps as objects,
/// binaries as arrays of bytes.
pub fn plain(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::from(s.as_str()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::from(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => Value::from(b.as_ref().to_vec()),
        AttributeValue::Ss(v) => Value::from(v.clone()),
        AttributeValue::Ns(v) => Value::Array(v.iter().map(|n| number(n)).collect()),
        AttributeValue::Bs(v) => {
            Value::Array(v.iter().map(|b| Value::from(b.as_ref().to_vec())).collect())
        }
        AttributeValue::L(v) => Value::Array(v.iter().map(plain).collect()),
        AttributeValue::M(m) => {
            let mut names: Vec<&String> = m.keys().collect();
            names.sort();
            Value::Object(
                names
                    .into_iter()
                    .map(|k| (k.clone(), plain(&m[k])))
                    .collect(),
            )
        }
        other => Value::from(format!("{other:?}")),
    }
}

fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = n.parse::<u64>() {
        return Value::from(u);
    }
    match n.parse::<f64>() {
        Ok(f) if f.is_finite() && f.to_string() == n => Value::from(f),
        _ => Value::from(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_exact() {
        assert_eq!(number("5"), Value::from(5));
        assert_eq!(number("1.5"), Value::from(1.5));
        assert_eq!(
            number("123456789012345678901234567890"),
            Value::from("123456789012345678901234567890")
        );
        assert_eq!(number("1.10"), Value::from("1.10"));
    }
}
