//! Resume positions: where a client is in each table's stream, and the opaque `id:` of each
//! event that encodes them.
//!
//! A table's position ([`TableCursor`]) is the sequence number of the last event delivered
//! from each shard, plus, for the shards it holds nothing of, a `created_at` lower bound
//! (milliseconds). A shard missing from the map is read from its oldest record, skipping
//! records created before the bound up to the first one at or after it (the consumer's rule
//! for a timestamp start); a shard whose child is in the map was read to its end.
//!
//! The `id:` of an event is the position of the client right after that event, for every
//! table it follows: `base64url(JSON)` of
//! `{"v":1,"e":"<environment prefix>","p":{"<table>":{"t":<ms>,"s":{"<shard id>":"<sequence number>"}}}}`.
//! Sending it back as `Last-Event-ID` resumes after that event in every table, with no gap and
//! no repeat, also after a server restart (within the stream's 24 h retention).

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use eventosaurus::consume::shards::compare_sequence_numbers;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::since::created_at_millis;

/// The format version of resume ids.
const VERSION: u8 = 1;

/// The longest `Last-Event-ID` accepted, in bytes.
pub const MAX_ID_LEN: usize = 64 * 1024;

/// Where a client is in one table's stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCursor {
    /// For shards not in [`shards`](Self::shards): skip records created before this time
    /// (milliseconds since the epoch), up to the first one at or after it. `None`: take
    /// every record of such shards.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// The sequence number of the last record passed, per shard id.
    #[serde(rename = "s", default)]
    pub shards: BTreeMap<String, String>,
}

impl TableCursor {
    /// Whether a record at (`shard`, `sequence_number`) created at `created_at` comes after
    /// this position; if so, the position moves to it.
    pub fn admit(&mut self, shard: &str, sequence_number: &str, created_at: Option<&str>) -> bool {
        match self.shards.get(shard) {
            Some(last) => {
                if compare_sequence_numbers(sequence_number, last).is_le() {
                    return false;
                }
            }
            None => {
                if let (Some(bound), Some(millis)) =
                    (self.not_before, created_at.and_then(created_at_millis))
                {
                    if millis < bound {
                        return false;
                    }
                }
            }
        }
        self.shards
            .insert(shard.to_owned(), sequence_number.to_owned());
        true
    }

    /// Whether this position is at or past `sequence_number` in `shard`.
    pub fn reached(&self, shard: &str, sequence_number: &str) -> bool {
        self.shards
            .get(shard)
            .is_some_and(|last| compare_sequence_numbers(last, sequence_number).is_ge())
    }
}

/// The positions of a client in every table it follows: what an `id:` encodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumeId {
    /// The environment prefix the positions belong to.
    pub environment: String,
    /// Per logical table name.
    pub tables: BTreeMap<String, TableCursor>,
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    v: u8,
    #[serde(borrow)]
    e: std::borrow::Cow<'a, str>,
    p: BTreeMap<String, TableCursor>,
}

impl ResumeId {
    /// The `id:` text.
    pub fn encode(&self) -> String {
        encode(
            &self.environment,
            self.tables.iter().map(|(t, c)| (t.as_str(), c)),
        )
    }

    /// Decodes a `Last-Event-ID` issued by a server of `environment` for some of `tables`.
    pub fn decode(text: &str, environment: &str, tables: &[String]) -> Result<ResumeId> {
        let bad = |reason: String| Error::BadLastEventId { reason };
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("it is empty".to_owned()));
        }
        if text.len() > MAX_ID_LEN {
            return Err(bad(format!("it is longer than {MAX_ID_LEN} bytes")));
        }
        let json = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| bad("it is not base64url (not an id of this server)".to_owned()))?;
        let wire: Wire = serde_json::from_slice(&json)
            .map_err(|e| bad(format!("it does not hold a position of this server ({e})")))?;
        if wire.v != VERSION {
            return Err(bad(format!(
                "it has format version {}, this server reads version {VERSION}",
                wire.v
            )));
        }
        if wire.e != environment {
            return Err(bad(format!(
                "it was issued for environment `{}`, this server serves `{environment}`",
                wire.e
            )));
        }
        if let Some(foreign) = wire.p.keys().find(|t| !tables.contains(t)) {
            return Err(bad(format!(
                "it is a position in `{foreign}`, which is not among the requested streams ({})",
                tables.join(",")
            )));
        }
        for (table, cursor) in &wire.p {
            if let Some((shard, seq)) = cursor.shards.iter().find(|(shard, seq)| {
                shard.is_empty()
                    || shard.len() > 128
                    || seq.is_empty()
                    || seq.len() > 64
                    || !seq.bytes().all(|b| b.is_ascii_digit())
            }) {
                return Err(bad(format!(
                    "its position in `{table}` has a malformed shard or sequence number \
                     ({shard:?}: {seq:?})"
                )));
            }
        }
        Ok(ResumeId {
            environment: wire.e.into_owned(),
            tables: wire.p,
        })
    }
}

/// The `id:` text of the positions in `tables` (what [`ResumeId::encode`] writes, without
/// building a `ResumeId`: this runs for every event sent to every client).
pub(crate) fn encode<'a>(
    environment: &str,
    tables: impl IntoIterator<Item = (&'a str, &'a TableCursor)>,
) -> String {
    use std::fmt::Write as _;
    let mut json = String::with_capacity(160);
    json.push_str("{\"v\":");
    let _ = write!(json, "{VERSION}");
    json.push_str(",\"e\":");
    push_str(&mut json, environment);
    json.push_str(",\"p\":{");
    for (i, (table, cursor)) in tables.into_iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_str(&mut json, table);
        json.push_str(":{");
        if let Some(t) = cursor.not_before {
            let _ = write!(json, "\"t\":{t},");
        }
        json.push_str("\"s\":{");
        for (j, (shard, seq)) in cursor.shards.iter().enumerate() {
            if j > 0 {
                json.push(',');
            }
            push_str(&mut json, shard);
            json.push(':');
            push_str(&mut json, seq);
        }
        json.push_str("}}");
    }
    json.push_str("}}");
    URL_SAFE_NO_PAD.encode(json)
}

/// A JSON string literal (names and sequence numbers rarely need escaping).
fn push_str(json: &mut String, text: &str) {
    if text
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        json.push('"');
        json.push_str(text);
        json.push('"');
    } else {
        json.push_str(&serde_json::Value::from(text).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> Vec<String> {
        vec!["phone_call".to_owned(), "neat_event".to_owned()]
    }

    #[test]
    fn round_trip() {
        let mut id = ResumeId {
            environment: "prod".into(),
            ..Default::default()
        };
        let mut cursor = TableCursor {
            not_before: Some(5),
            ..Default::default()
        };
        assert!(cursor.admit("shard-1", "100", None));
        id.tables.insert("phone_call".into(), cursor);
        let text = id.encode();
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(ResumeId::decode(&text, "prod", &tables()).unwrap(), id);
    }

    #[test]
    fn hand_written_json_is_the_wire_format() {
        let mut cursor = TableCursor::default();
        cursor.admit("shardId-1", "42", None);
        let id = ResumeId {
            environment: "we\"ird\\".into(),
            tables: [("phone_call".to_owned(), cursor)].into(),
        };
        let json = URL_SAFE_NO_PAD.decode(id.encode()).unwrap();
        let wire: Wire = serde_json::from_slice(&json).unwrap();
        assert_eq!(wire.e, "we\"ird\\");
        assert_eq!(wire.p, id.tables);
        assert_eq!(
            ResumeId::decode(&id.encode(), "we\"ird\\", &tables()).unwrap(),
            id
        );
    }

    #[test]
    fn admit_dedups_and_filters() {
        let mut cursor = TableCursor {
            not_before: Some(created_at_millis("2026-01-01T00:00:10.000Z").unwrap()),
            ..Default::default()
        };
        assert!(!cursor.admit("a", "5", Some("2026-01-01T00:00:09.999Z")));
        assert!(cursor.shards.is_empty());
        assert!(cursor.admit("a", "6", Some("2026-01-01T00:00:10.000Z")));
        // After the first admitted record of a shard, only the sequence number counts.
        assert!(cursor.admit("a", "7", Some("2026-01-01T00:00:01.000Z")));
        assert!(!cursor.admit("a", "7", None));
        assert!(!cursor.admit("a", "0006", None));
        assert!(cursor.admit("a", "10", None));
        assert!(cursor.reached("a", "9"));
        assert!(!cursor.reached("a", "11"));
        assert!(!cursor.reached("b", "1"));
    }

    #[test]
    fn refusals_say_why() {
        let reason = |text: &str| match ResumeId::decode(text, "prod", &tables()) {
            Err(Error::BadLastEventId { reason }) => reason,
            other => panic!("{text:?}: {other:?}"),
        };
        assert!(reason("").contains("empty"));
        assert!(reason("not base64!").contains("base64url"));
        assert!(reason(&URL_SAFE_NO_PAD.encode("[1,2]")).contains("position"));
        let id = |json: &str| URL_SAFE_NO_PAD.encode(json);
        assert!(reason(&id(r#"{"v":2,"e":"prod","p":{}}"#)).contains("version 2"));
        assert!(reason(&id(r#"{"v":1,"e":"test","p":{}}"#)).contains("environment `test`"));
        assert!(reason(&id(r#"{"v":1,"e":"prod","p":{"other":{}}}"#)).contains("`other`"));
        assert!(reason(&id(
            r#"{"v":1,"e":"prod","p":{"phone_call":{"s":{"a":"x1"}}}}"#
        ))
        .contains("malformed"));
        assert!(reason(&"A".repeat(MAX_ID_LEN + 1)).contains("longer"));
    }
}
