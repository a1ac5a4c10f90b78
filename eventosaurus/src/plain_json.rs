//! Attribute values as plain JSON (`5`, `"a"`, `[1, 2]`), not DynamoDB's typed JSON
//! (`{"N": "5"}`, see [`plan::json`](crate::plan::json)): the one conversion behind the HTTP
//! stream's events, the CLI's `query --json` and `tail`, [`Envelope`](crate::Envelope)'s
//! `data`, and what a JSON upcaster ([`model::upcast`](crate::model::upcast)) is given.
//!
//! The choices, the same for every caller:
//!
//! * `S` → a string, `BOOL` → a boolean, `NULL` → `null`;
//! * `N` → a number, as [`Numbers`] says (the one choice a caller makes);
//! * `L`, `SS`, `NS` → arrays;
//! * `M` → an object, keys in sorted order (inserted sorted, so that the order does not
//!   depend on serde_json's `preserve_order` feature);
//! * `B` → an array of byte values (`[1, 2]`), `BS` → an array of those: plain JSON has no
//!   binary type, and a base64 string could not be told from a string;
//! * a kind of value added to the SDK after this was written → its debug text, as a string.
//!
//! ```
//! use aws_sdk_dynamodb::types::AttributeValue;
//! use eventosaurus::plain_json::{item, value, Numbers};
//!
//! let big = AttributeValue::N("123456789012345678901234567890".into());
//! assert_eq!(value(&big, Numbers::Exact), "123456789012345678901234567890");
//! assert_eq!(value(&big, Numbers::Nearest), 1.2345678901234568e29);
//!
//! let mut event = std::collections::HashMap::new();
//! event.insert("person_id".to_owned(), AttributeValue::N("5".into()));
//! event.insert("blob".to_owned(), AttributeValue::B(vec![1, 2].into()));
//! assert_eq!(
//!     serde_json::Value::Object(item(&event, Numbers::Exact)).to_string(),
//!     r#"{"blob":[1,2],"person_id":5}"#
//! );
//! ```

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

/// How a DynamoDB number (up to 38 digits, decimal) becomes JSON, which readers usually
/// parse into a 64-bit integer or a double.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// A JSON number only when it is the stored number exactly: a 64-bit integer, or a
    /// double whose shortest text is the stored text (`2.5`); anything else stays its text,
    /// as a string (`"123456789012345678901234567890"`, `"1.10"`), so that no digit is
    /// lost. For output a person or a tool reads back (the HTTP stream, the CLI).
    Exact,
    /// A JSON number whenever the text is a finite double, rounded to the nearest one
    /// (integers beyond 64 bits and long decimals lose digits), so that a field always has
    /// one JSON type; the text only when it is no finite double. For published envelopes.
    Nearest,
}

/// One attribute value as plain JSON (see the module docs).
pub fn value(value: &AttributeValue, numbers: Numbers) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n, numbers),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => bytes(b.as_ref()),
        AttributeValue::Ss(v) => Value::Array(v.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(v) => Value::Array(v.iter().map(|n| number(n, numbers)).collect()),
        AttributeValue::Bs(v) => Value::Array(v.iter().map(|b| bytes(b.as_ref())).collect()),
        AttributeValue::L(v) => Value::Array(v.iter().map(|e| self::value(e, numbers)).collect()),
        AttributeValue::M(m) => Value::Object(item(m, numbers)),
        other => Value::String(format!("{other:?}")),
    }
}

/// An item (or a map value) as a plain JSON object, keys in sorted order.
pub fn item(item: &HashMap<String, AttributeValue>, numbers: Numbers) -> Map<String, Value> {
    let mut names: Vec<&String> = item.keys().collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| (name.clone(), value(&item[name], numbers)))
        .collect()
}

/// A DynamoDB number's text as JSON, as [`Numbers`] says.
pub fn number(text: &str, numbers: Numbers) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = text.parse::<u64>() {
        return Value::from(u);
    }
    let double = text.parse::<f64>().ok().filter(|f| f.is_finite());
    let exact = |f: &f64| numbers == Numbers::Nearest || f.to_string() == text;
    match double.filter(exact).and_then(Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::String(text.to_owned()),
    }
}

fn bytes(bytes: &[u8]) -> Value {
    Value::Array(bytes.iter().map(|b| Value::from(*b)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_exact_or_nearest() {
        let cases = [
            // text, Exact, Nearest
            ("5", json!(5), json!(5)),
            ("-12", json!(-12), json!(-12)),
            ("18446744073709551615", json!(u64::MAX), json!(u64::MAX)),
            ("2.5", json!(2.5), json!(2.5)),
            ("1.10", json!("1.10"), json!(1.1)),
            ("1E+2", json!("1E+2"), json!(100.0)),
            (
                "123456789012345678901234567890",
                json!("123456789012345678901234567890"),
                json!(1.2345678901234568e29),
            ),
            ("1E+400", json!("1E+400"), json!("1E+400")),
            ("NaN", json!("NaN"), json!("NaN")),
        ];
        for (text, exact, nearest) in cases {
            assert_eq!(number(text, Numbers::Exact), exact, "{text}");
            assert_eq!(number(text, Numbers::Nearest), nearest, "{text}");
        }
    }

    #[test]
    fn every_kind_of_value() {
        let n = |v: &str| AttributeValue::N(v.to_owned());
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let map: HashMap<String, AttributeValue> = [
            ("z".to_owned(), n("1")),
            ("a".to_owned(), AttributeValue::Null(true)),
            ("m".to_owned(), AttributeValue::Bool(false)),
        ]
        .into();
        let all: HashMap<String, AttributeValue> = [
            ("s".to_owned(), s("x y")),
            ("b".to_owned(), AttributeValue::B(vec![0, 255].into())),
            ("bs".to_owned(), AttributeValue::Bs(vec![vec![1].into()])),
            ("ss".to_owned(), AttributeValue::Ss(vec!["a".into()])),
            (
                "ns".to_owned(),
                AttributeValue::Ns(vec!["1".into(), "1.50".into()]),
            ),
            ("l".to_owned(), AttributeValue::L(vec![n("1"), s("a")])),
            ("map".to_owned(), AttributeValue::M(map)),
        ]
        .into();
        let json = Value::Object(item(&all, Numbers::Exact));
        assert_eq!(
            json.to_string(),
            r#"{"b":[0,255],"bs":[[1]],"l":[1,"a"],"map":{"a":null,"m":false,"z":1},"ns":[1,"1.50"],"s":"x y","ss":["a"]}"#
        );
        assert_eq!(value(&all["ns"], Numbers::Nearest), json!([1, 1.5]));
    }
}
