//! Drift: how a live table differs from its definition, difference by difference.
//!
//! The live DescribeTable is read into the typed parts of a [`TableSpec`] (key attributes
//! with their types, projections) and compared with the spec value by value; nothing is
//! compared as rendered text.

use std::fmt;

use aws_sdk_dynamodb::types as sdk;
use aws_sdk_dynamodb::types::TableDescription;
use serde::Serialize;

use crate::schema::{KeyAttributeType, KeySchemaSpec, KeyType, ProjectionType, TableSpec};

/// The type of a key attribute as a live table may have it: a definition declares `N` or
/// `S` ([`KeyAttributeType`]), a table made by other means may also have `B`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ScalarType {
    /// `N`.
    #[serde(rename = "N")]
    Number,
    /// `S`.
    #[serde(rename = "S")]
    String,
    /// `B`.
    #[serde(rename = "B")]
    Binary,
}

impl From<KeyAttributeType> for ScalarType {
    fn from(declared: KeyAttributeType) -> ScalarType {
        match declared {
            KeyAttributeType::Number => ScalarType::Number,
            KeyAttributeType::String => ScalarType::String,
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScalarType::Number => "N",
            ScalarType::String => "S",
            ScalarType::Binary => "B",
        })
    }
}

/// A key attribute: its name and, if an attribute definition gives one, its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct KeyAttribute {
    /// The attribute name.
    pub name: String,
    /// Its type (`N`, `S`, `B`); `None` when no attribute definition declares it.
    #[serde(rename = "type")]
    pub attribute_type: Option<ScalarType>,
}

impl fmt::Display for KeyAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.attribute_type {
            Some(t) => write!(f, "`{}` ({t})", self.name),
            None => write!(f, "`{}` (no type)", self.name),
        }
    }
}

/// One way a live table differs from its definition.
///
/// Serializes as `{"drift": "missing_table"}`, `{"drift": "key", "key_type": "HASH",
/// "expected": {"name": "person_id", "type": "N"}, "found": {..} | null}`, and so on; its
/// `Display` is one line that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Drift {
    /// The table does not exist.
    MissingTable,
    /// The table's partition key (`HASH`) or sort key (`RANGE`) is another attribute, has
    /// another type, or is missing.
    Key {
        /// Which key.
        key_type: KeyType,
        /// What the definition declares (`None`: no such key).
        expected: Option<KeyAttribute>,
        /// What the live table has (`None`: no such key).
        found: Option<KeyAttribute>,
    },
    /// The table has no stream, or one whose records do not carry the new item
    /// (`create-tables --enable-streams` turns it on).
    WrongStream(crate::table_stream::StreamDrift),
    /// A local secondary index of the definition does not exist.
    MissingIndex {
        /// The index name, e.g. `created_at_index`.
        index: String,
    },
    /// A key of an index differs.
    IndexKey {
        /// The index name.
        index: String,
        /// Which key of the index.
        key_type: KeyType,
        /// What the definition declares.
        expected: Option<KeyAttribute>,
        /// What the live index has.
        found: Option<KeyAttribute>,
    },
    /// An index copies other attributes than the definition's projection.
    IndexProjection {
        /// The index name.
        index: String,
        /// The definition's projection.
        expected: ProjectionType,
        /// The live projection (`None`: none, or one this version does not know).
        found: Option<ProjectionType>,
    },
    /// A global secondary index of the definition does not exist (`create-tables` adds it).
    MissingGlobalIndex {
        /// The index name.
        index: String,
    },
    /// A global secondary index has other keys, or another projection, than the
    /// definition's: it must be deleted (UpdateTable) and added again by `create-tables`.
    GlobalIndexDiffers {
        /// The index name.
        index: String,
        /// The definition's key schema, e.g. `phone_number (S) HASH, created_at (S) RANGE`,
        /// and projection.
        expected: String,
        /// The live index's, in the same form.
        found: String,
    },
    /// The table's time to live is not the definition's: off although the events expire,
    /// on another attribute, or on although they never expire.
    TimeToLive {
        /// The attribute the definition expires items by (`expires_at`); `None`: the events
        /// never expire.
        expected: Option<String>,
        /// The live TTL status (`ENABLED`, `DISABLED`, `ENABLING`, `DISABLING`).
        status: String,
        /// The live TTL attribute, if any.
        found: Option<String>,
    },
}

impl Drift {
    /// Whether the drift is in what says whose table it is: the table's keys and its
    /// `created_at` LSI, which only re-creating the table changes. (A missing stream, index
    /// or TTL can be added to the table as it is.) `drop-tables` refuses tables with such drift.
    pub fn is_in_key_schema(&self) -> bool {
        matches!(
            self,
            Drift::Key { .. }
                | Drift::MissingIndex { .. }
                | Drift::IndexKey { .. }
                | Drift::IndexProjection { .. }
        )
    }
}

fn key_name(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Hash => "partition key (HASH)",
        KeyType::Range => "sort key (RANGE)",
    }
}

struct Maybe<'a, T>(&'a Option<T>);

impl<T: fmt::Display> fmt::Display for Maybe<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => value.fmt(f),
            None => f.write_str("none"),
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const RECREATE: &str = "a key or a local secondary index can only change by \
                                re-creating the table";
        match self {
            Drift::MissingTable => f.write_str("missing table (run create-tables)"),
            Drift::Key {
                key_type,
                expected,
                found,
            } => write!(
                f,
                "{}: expected {}, found {}; {RECREATE}",
                key_name(*key_type),
                Maybe(expected),
                Maybe(found)
            ),
            Drift::MissingIndex { index } => {
                write!(f, "missing local secondary index `{index}`; {RECREATE}")
            }
            Drift::WrongStream(stream) => write!(f, "{stream}"),
            Drift::IndexKey {
                index,
                key_type,
                expected,
                found,
            } => write!(
                f,
                "index `{index}`: {}: expected {}, found {}; {RECREATE}",
                key_name(*key_type),
                Maybe(expected),
                Maybe(found)
            ),
            Drift::IndexProjection {
                index,
                expected,
                found,
            } => write!(
                f,
                "index `{index}` projects {}, expected {expected}; {RECREATE}",
                Maybe(found)
            ),
            Drift::MissingGlobalIndex { index } => write!(
                f,
                "missing global secondary index `{index}` (run create-tables, which adds it and \
                 waits until it is built)"
            ),
            Drift::GlobalIndexDiffers {
                index,
                expected,
                found,
            } => write!(
                f,
                "global secondary index `{index}` is {found}, expected {expected}: delete the \
                 index (UpdateTable), then run create-tables to add it again"
            ),
            Drift::TimeToLive {
                expected: Some(expected),
                status,
                found: None,
            } => write!(
                f,
                "time to live is {status}, expected ENABLED on `{expected}` (run create-tables, \
                 which enables it)"
            ),
            Drift::TimeToLive {
                expected: Some(expected),
                status,
                found: Some(found),
            } => write!(
                f,
                "time to live is {status} on `{found}`, expected ENABLED on `{expected}`: turn it \
                 off (UpdateTimeToLive; DynamoDB allows one change an hour), then run create-tables"
            ),
            Drift::TimeToLive {
                expected: None,
                status,
                found,
            } => write!(
                f,
                "time to live is {status} on `{}`, but the event type declares no ttl: DynamoDB \
                 deletes items by it; turn it off, or declare ttl / expires_at",
                found.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// The typed keys of a spec and of a live table, by role.
fn spec_key(spec: &TableSpec, keys: &[KeySchemaSpec], role: KeyType) -> Option<KeyAttribute> {
    keys.iter()
        .find(|k| k.key_type == role)
        .map(|k| KeyAttribute {
            name: k.attribute_name.clone(),
            attribute_type: spec.attribute_type(&k.attribute_name).map(ScalarType::from),
        })
}

fn live_key(
    live: &TableDescription,
    keys: &[sdk::KeySchemaElement],
    role: KeyType,
) -> Option<KeyAttribute> {
    let key = keys
        .iter()
        .find(|k| KeyType::from_sdk(k.key_type()) == Some(role))?;
    let attribute_type = live
        .attribute_definitions()
        .iter()
        .find(|a| a.attribute_name() == key.attribute_name())
        .and_then(|a| ScalarType::from_sdk(a.attribute_type()));
    Some(KeyAttribute {
        name: key.attribute_name().to_owned(),
        attribute_type,
    })
}

/// Compares a live table with the spec. An empty list means no drift.
///
/// Compared: the table's keys (names and types), for each local and global secondary index
/// of the spec its existence, keys and projection, and the stream. Billing and capacity are
/// not drift, nor indexes the table has beyond the spec. The time to live is another call
/// (DescribeTimeToLive): see [`time_to_live_drift`].
pub fn drift(spec: &TableSpec, live: Option<&TableDescription>) -> Vec<Drift> {
    let Some(live) = live else {
        return vec![Drift::MissingTable];
    };
    let mut drifts = Vec::new();
    for key_type in [KeyType::Hash, KeyType::Range] {
        let expected = spec_key(spec, &spec.key_schema, key_type);
        let found = live_key(live, live.key_schema(), key_type);
        if expected != found {
            drifts.push(Drift::Key {
                key_type,
                expected,
                found,
            });
        }
    }
    for index in &spec.local_secondary_indexes {
        let name = &index.index_name;
        let Some(lsi) = live
            .local_secondary_indexes()
            .iter()
            .find(|lsi| lsi.index_name() == Some(name.as_str()))
        else {
            drifts.push(Drift::MissingIndex {
                index: name.clone(),
            });
            continue;
        };
        for key_type in [KeyType::Hash, KeyType::Range] {
            let expected = spec_key(spec, &index.key_schema, key_type);
            let found = live_key(live, lsi.key_schema(), key_type);
            if expected != found {
                drifts.push(Drift::IndexKey {
                    index: name.clone(),
                    key_type,
                    expected,
                    found,
                });
            }
        }
        let expected = index.projection.projection_type;
        let found = lsi
            .projection()
            .and_then(|p| p.projection_type())
            .and_then(ProjectionType::from_sdk);
        if found != Some(expected) {
            drifts.push(Drift::IndexProjection {
                index: name.clone(),
                expected,
                found,
            });
        }
    }
    drifts.extend(global_index_drift(spec, live));
    drifts.extend(
        crate::table_stream::stream_drift(spec.stream_specification.as_ref(), live)
            .map(Drift::WrongStream),
    );
    drifts
}

/// A key schema and projection as one comparable line: `a (S) HASH, b (N) RANGE; ALL`.
fn schema_line(keys: &[(KeyAttribute, KeyType)], projection: Option<ProjectionType>) -> String {
    let keys: Vec<String> = keys
        .iter()
        .map(|(key, key_type)| {
            let attribute_type = key
                .attribute_type
                .map(|t| t.to_string())
                .unwrap_or_else(|| "no type".to_owned());
            format!("{} ({attribute_type}) {key_type}", key.name)
        })
        .collect();
    format!("{}; projection {}", keys.join(", "), Maybe(&projection))
}

/// Each global secondary index of the spec: missing, or with other keys or projection.
fn global_index_drift(spec: &TableSpec, live: &TableDescription) -> Vec<Drift> {
    let mut drifts = Vec::new();
    for index in &spec.global_secondary_indexes {
        let name = &index.index_name;
        let Some(gsi) = live
            .global_secondary_indexes()
            .iter()
            .find(|gsi| gsi.index_name() == Some(name.as_str()))
        else {
            drifts.push(Drift::MissingGlobalIndex {
                index: name.clone(),
            });
            continue;
        };
        let roles = [KeyType::Hash, KeyType::Range];
        let expected: Vec<_> = roles
            .iter()
            .filter_map(|role| spec_key(spec, &index.key_schema, *role).map(|k| (k, *role)))
            .collect();
        let found: Vec<_> = roles
            .iter()
            .filter_map(|role| live_key(live, gsi.key_schema(), *role).map(|k| (k, *role)))
            .collect();
        let expected_projection = Some(index.projection.projection_type);
        let found_projection = gsi
            .projection()
            .and_then(|p| p.projection_type())
            .and_then(ProjectionType::from_sdk);
        if expected != found || expected_projection != found_projection {
            drifts.push(Drift::GlobalIndexDiffers {
                index: name.clone(),
                expected: schema_line(&expected, expected_projection),
                found: schema_line(&found, found_projection),
            });
        }
    }
    drifts
}

/// Compares a live time to live (DescribeTimeToLive; `None`: none described) with the spec's:
/// on (or being turned on) for `expires_at` when the events expire, else off (or being
/// turned off).
pub fn time_to_live_drift(
    spec: &TableSpec,
    live: Option<&sdk::TimeToLiveDescription>,
) -> Option<Drift> {
    use sdk::TimeToLiveStatus as S;
    let status = live
        .and_then(|l| l.time_to_live_status())
        .unwrap_or(&S::Disabled);
    let on = matches!(status, S::Enabled | S::Enabling);
    let found = live.and_then(|l| l.attribute_name()).map(str::to_owned);
    let expected = spec
        .time_to_live
        .as_ref()
        .map(|ttl| ttl.attribute_name.clone());
    let matches = match &expected {
        Some(attribute) => on && found.as_ref() == Some(attribute),
        None => !on,
    };
    (!matches).then(|| Drift::TimeToLive {
        expected,
        status: status.as_str().to_owned(),
        found: found.filter(|_| on || matches!(status, S::Disabling)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Billing, CREATED_AT, CREATED_AT_INDEX, EVENT_UUID, TEST_DEF as DEF};

    fn key(name: &str, key_type: sdk::KeyType) -> sdk::KeySchemaElement {
        sdk::KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .unwrap()
    }

    fn attribute(name: &str, t: sdk::ScalarAttributeType) -> sdk::AttributeDefinition {
        sdk::AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(t)
            .build()
            .unwrap()
    }

    fn lsi(range: &str, projection: sdk::ProjectionType) -> sdk::LocalSecondaryIndexDescription {
        sdk::LocalSecondaryIndexDescription::builder()
            .index_name(CREATED_AT_INDEX)
            .key_schema(key("person_id", sdk::KeyType::Hash))
            .key_schema(key(range, sdk::KeyType::Range))
            .projection(
                sdk::Projection::builder()
                    .projection_type(projection)
                    .build(),
            )
            .build()
    }

    /// The table as create_table makes it.
    fn live() -> sdk::builders::TableDescriptionBuilder {
        use sdk::ScalarAttributeType::{N, S};
        TableDescription::builder()
            .key_schema(key("person_id", sdk::KeyType::Hash))
            .key_schema(key(EVENT_UUID, sdk::KeyType::Range))
            .attribute_definitions(attribute("person_id", N))
            .attribute_definitions(attribute(EVENT_UUID, S))
            .attribute_definitions(attribute(CREATED_AT, S))
            .stream_specification(
                sdk::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(sdk::StreamViewType::NewImage)
                    .build()
                    .unwrap(),
            )
    }

    fn spec() -> TableSpec {
        DEF.spec("dev", Billing::OnDemand)
    }

    #[test]
    fn the_table_create_table_makes_has_no_drift() {
        let table = live()
            .local_secondary_indexes(lsi(CREATED_AT, sdk::ProjectionType::All))
            .build();
        assert_eq!(drift(&spec(), Some(&table)), []);
    }

    #[test]
    fn missing_table_is_drift() {
        assert_eq!(drift(&spec(), None), [Drift::MissingTable]);
    }

    #[test]
    fn each_difference_is_reported_typed() {
        use sdk::ScalarAttributeType::S;
        // A string partition key, no sort key, no index.
        let table = TableDescription::builder()
            .key_schema(key("person_id", sdk::KeyType::Hash))
            .attribute_definitions(attribute("person_id", S))
            .build();
        let found = drift(&spec(), Some(&table));
        let person_id = |t| KeyAttribute {
            name: "person_id".into(),
            attribute_type: Some(t),
        };
        assert_eq!(
            found,
            [
                Drift::Key {
                    key_type: KeyType::Hash,
                    expected: Some(person_id(ScalarType::Number)),
                    found: Some(person_id(ScalarType::String)),
                },
                Drift::Key {
                    key_type: KeyType::Range,
                    expected: Some(KeyAttribute {
                        name: EVENT_UUID.into(),
                        attribute_type: Some(ScalarType::String),
                    }),
                    found: None,
                },
                Drift::MissingIndex {
                    index: CREATED_AT_INDEX.into()
                },
                Drift::WrongStream(crate::table_stream::StreamDrift {
                    expected: crate::table_stream::StreamView::NewImage,
                    actual: None,
                }),
            ]
        );
        assert_eq!(
            found[0].to_string(),
            "partition key (HASH): expected `person_id` (N), found `person_id` (S); a key or a \
             local secondary index can only change by re-creating the table"
        );
        let json = serde_json::to_value(&found).unwrap();
        assert_eq!(json[0]["drift"], "key");
        assert_eq!(json[0]["key_type"], "HASH");
        assert_eq!(json[0]["found"]["type"], "S");
        assert_eq!(json[1]["found"], serde_json::Value::Null);
        assert_eq!(json[2]["drift"], "missing_index");
    }

    #[test]
    fn index_keys_and_projection_are_compared() {
        let table = live()
            .local_secondary_indexes(lsi("other", sdk::ProjectionType::KeysOnly))
            .build();
        let found = drift(&spec(), Some(&table));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(matches!(
            &found[0],
            Drift::IndexKey { key_type: KeyType::Range, found: Some(k), .. } if k.name == "other"
        ));
        assert_eq!(
            found[1],
            Drift::IndexProjection {
                index: CREATED_AT_INDEX.into(),
                expected: ProjectionType::All,
                found: Some(ProjectionType::KeysOnly),
            }
        );
        for drift in &found {
            assert!(!drift.to_string().contains('\n'));
        }
    }

    #[test]
    fn time_to_live_is_compared_with_the_definition() {
        use crate::schema::{TableDef, Ttl, EXPIRES_AT};
        use sdk::TimeToLiveStatus as S;
        let ttl = |status: S, attribute: Option<&str>| {
            sdk::TimeToLiveDescription::builder()
                .time_to_live_status(status)
                .set_attribute_name(attribute.map(str::to_owned))
                .build()
        };
        let expiring = TableDef {
            ttl: Some(Ttl::AfterCreation { seconds: 60 }),
            ..DEF
        }
        .spec("dev", Billing::OnDemand);
        let plain = spec();
        let on = ttl(S::Enabled, Some(EXPIRES_AT));
        assert_eq!(time_to_live_drift(&expiring, Some(&on)), None);
        let enabling = ttl(S::Enabling, Some(EXPIRES_AT));
        assert_eq!(time_to_live_drift(&expiring, Some(&enabling)), None);
        assert_eq!(
            time_to_live_drift(&plain, Some(&ttl(S::Disabled, None))),
            None
        );
        assert_eq!(time_to_live_drift(&plain, None), None);
        let cases = [
            (
                &expiring,
                ttl(S::Disabled, None),
                "DISABLED",
                None,
                "run create-tables",
            ),
            (
                &expiring,
                ttl(S::Enabled, Some("other")),
                "ENABLED",
                Some("other"),
                "turn it off",
            ),
            (
                &plain,
                on.clone(),
                "ENABLED",
                Some(EXPIRES_AT),
                "declares no ttl",
            ),
        ];
        for (spec, live, status, found, says) in cases {
            let drift = time_to_live_drift(spec, Some(&live)).expect("drift");
            assert_eq!(
                drift,
                Drift::TimeToLive {
                    expected: spec.time_to_live.as_ref().map(|t| t.attribute_name.clone()),
                    status: status.into(),
                    found: found.map(str::to_owned),
                }
            );
            let line = drift.to_string();
            assert!(line.contains(says) && !line.contains('\n'), "{line}");
            assert!(!drift.is_in_key_schema());
        }
    }

    #[test]
    fn global_indexes_are_compared_by_keys_and_projection() {
        use crate::schema::{GlobalIndexDef, IndexKey, KeyAttributeType, TableDef};
        const INDEXES: &[GlobalIndexDef] = &[GlobalIndexDef {
            name: "by_phone",
            partition_key: IndexKey {
                attribute: "phone",
                attribute_type: KeyAttributeType::String,
            },
            sort_key: None,
        }];
        let spec = TableDef {
            indexes: INDEXES,
            ..DEF
        }
        .spec("dev", Billing::OnDemand);
        let base = || {
            live()
                .local_secondary_indexes(lsi(CREATED_AT, sdk::ProjectionType::All))
                .attribute_definitions(attribute("phone", sdk::ScalarAttributeType::S))
        };
        let gsi = |key: &str, projection| {
            sdk::GlobalSecondaryIndexDescription::builder()
                .index_name("by_phone")
                .key_schema(self::key(key, sdk::KeyType::Hash))
                .projection(
                    sdk::Projection::builder()
                        .projection_type(projection)
                        .build(),
                )
                .build()
        };
        let same = base().global_secondary_indexes(gsi("phone", sdk::ProjectionType::All));
        assert_eq!(drift(&spec, Some(&same.build())), []);
        assert_eq!(
            drift(&spec, Some(&base().build())),
            [Drift::MissingGlobalIndex {
                index: "by_phone".into()
            }]
        );
        let other = base().global_secondary_indexes(gsi("phone", sdk::ProjectionType::KeysOnly));
        let found = drift(&spec, Some(&other.build()));
        assert_eq!(
            found,
            [Drift::GlobalIndexDiffers {
                index: "by_phone".into(),
                expected: "phone (S) HASH; projection ALL".into(),
                found: "phone (S) HASH; projection KEYS_ONLY".into(),
            }]
        );
        assert!(!found[0].is_in_key_schema());
    }
}
