//! Cursors: where a page ended, as an opaque string that resumes the query after it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::codec::Item;
use crate::error::{CursorProblem, Error, Result};

/// Where a page ended: pass it to `.after(cursor)` to continue with the next item, with no
/// gaps and no repeats.
///
/// It is the key of the last item the page returned (DynamoDB's `LastEvaluatedKey`), written
/// as DynamoDB JSON, e.g. `{"event_uuid":{"S":"…"},"person_id":{"N":"5"}}`. Treat it as
/// opaque: it is only valid for the same query (the same table, index and partition).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor of a key (a `LastEvaluatedKey`).
    pub fn encode(key: &Item) -> Cursor {
        let sorted: BTreeMap<&String, serde_json::Value> = key
            .iter()
            .map(|(k, v)| (k, super::json::to_json(v)))
            .collect();
        Cursor(
            serde_json::Value::from_iter(sorted.into_iter().map(|(k, v)| (k.clone(), v)))
                .to_string(),
        )
    }

    /// The key this cursor stands for, checked to have exactly `key_attributes`.
    pub fn decode(&self, key_attributes: &[String]) -> Result<Item> {
        let invalid = |problem| Error::InvalidCursor { problem };
        let value: serde_json::Value =
            serde_json::from_str(&self.0).map_err(|_| invalid(CursorProblem::NotACursor))?;
        let object = value
            .as_object()
            .ok_or_else(|| invalid(CursorProblem::NotACursor))?;
        let mut key = Item::new();
        for (name, value) in object {
            let value = super::json::key_value_from_json(value).map_err(|problem| {
                invalid(CursorProblem::BadKeyValue {
                    attribute: name.clone(),
                    problem,
                })
            })?;
            key.insert(name.clone(), value);
        }
        let mut expected: Vec<String> = key_attributes.to_vec();
        let mut found: Vec<String> = key.keys().cloned().collect();
        expected.sort_unstable();
        found.sort_unstable();
        if expected != found {
            return Err(invalid(CursorProblem::WrongAttributes { found, expected }));
        }
        Ok(key)
    }

    /// The cursor as a string, e.g. to put in a URL (percent-encode it) or a file.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The cursor as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Cursor {
    fn from(cursor: String) -> Cursor {
        Cursor(cursor)
    }
}

impl From<&str> for Cursor {
    fn from(cursor: &str) -> Cursor {
        Cursor(cursor.to_owned())
    }
}

impl From<&Cursor> for Cursor {
    fn from(cursor: &Cursor) -> Cursor {
        cursor.clone()
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;
    use crate::error::KeyValueProblem;

    fn attrs(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn round_trips_numbers_and_strings() {
        let mut key = Item::new();
        key.insert(
            "person_id".into(),
            AttributeValue::N("12345678901234567890".into()),
        );
        key.insert("event_uuid".into(), AttributeValue::S("a\"b:c".into()));
        let cursor = Cursor::encode(&key);
        assert_eq!(
            cursor.decode(&attrs(&["person_id", "event_uuid"])).unwrap(),
            key
        );
        let again = Cursor::from(cursor.to_string());
        assert_eq!(again, cursor);
    }

    #[test]
    fn garbage_and_foreign_cursors_are_errors_not_panics() {
        use CursorProblem as P;
        let expected = attrs(&["person_id", "event_uuid"]);
        let bad_value = |problem| P::BadKeyValue {
            attribute: "person_id".into(),
            problem,
        };
        for (bad, problem) in [
            ("", P::NotACursor),
            ("null", P::NotACursor),
            ("[]", P::NotACursor),
            ("{", P::NotACursor),
            (
                r#"{"person_id":{"N":"x"},"event_uuid":{"S":"a"}}"#,
                bad_value(KeyValueProblem::InvalidNumber(
                    crate::number::Number::parse("x").unwrap_err(),
                )),
            ),
            (
                r#"{"person_id":{"N":"1","S":"2"},"event_uuid":{"S":"a"}}"#,
                bad_value(KeyValueProblem::NotOneTypeTag),
            ),
            (
                r#"{"person_id":{"BOOL":true},"event_uuid":{"S":"a"}}"#,
                bad_value(KeyValueProblem::UnsupportedType { tag: "BOOL".into() }),
            ),
            (
                r#"{"person_id":{"B":[256]},"event_uuid":{"S":"a"}}"#,
                bad_value(KeyValueProblem::InvalidBytes),
            ),
            (
                r#"{"person_id":{"N":"1"}}"#,
                P::WrongAttributes {
                    found: attrs(&["person_id"]),
                    expected: attrs(&["event_uuid", "person_id"]),
                },
            ),
            (
                r#"{"person_id":{"N":"1"},"event_uuid":{"S":"a"},"created_at":{"S":"b"}}"#,
                P::WrongAttributes {
                    found: attrs(&["created_at", "event_uuid", "person_id"]),
                    expected: attrs(&["event_uuid", "person_id"]),
                },
            ),
        ] {
            match Cursor::from(bad).decode(&expected) {
                Err(Error::InvalidCursor { problem: found }) => assert_eq!(found, problem, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
