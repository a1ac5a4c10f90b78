//! Table definitions as plain data: [`TableDef`] (what the derive declares) and
//! [`TableSpec`] (the CreateTable request it implies).
//!
//! Each event type has one [`TableDef`]: plain data that the derive emits as a constant. The
//! table in DynamoDB is named `<environment_prefix>_<table>` and has
//!
//! * hash key: the declared partition key (`N` for integers, `S` for strings);
//! * range key: `event_uuid` (`S`);
//! * a local secondary index [`CREATED_AT_INDEX`] on (partition key, `created_at`),
//!   projecting all attributes, so time-range queries within a partition are Queries;
//! * on-demand billing unless asked otherwise.
//!
//! Nothing here does I/O: [`table`](crate::table) sends these requests, `describe-tables`
//! prints them and `check-tables` compares live tables with them.

use aws_sdk_dynamodb::types::ScalarAttributeType;
use serde::Serialize;

/// The sort key attribute every table has.
pub const EVENT_UUID: &str = "event_uuid";
/// The creation timestamp attribute every item has.
pub const CREATED_AT: &str = "created_at";
/// The attribute holding the service that stored the event, written only when a source is
/// configured ([`Config`](crate::Config)'s `source`, or `EVENTOSAURUS_SOURCE`).
pub const SOURCE: &str = "event_source";
/// The local secondary index on `created_at`.
pub const CREATED_AT_INDEX: &str = "created_at_index";

/// The DynamoDB type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum KeyAttributeType {
    /// `N`: integer partition keys.
    #[serde(rename = "N")]
    Number,
    /// `S`: string partition keys, `event_uuid` and `created_at`.
    #[serde(rename = "S")]
    String,
}

impl KeyAttributeType {
    /// The DynamoDB type letter, `N` or `S`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAttributeType::Number => "N",
            KeyAttributeType::String => "S",
        }
    }

    pub(crate) fn to_sdk(self) -> ScalarAttributeType {
        match self {
            KeyAttributeType::Number => ScalarAttributeType::N,
            KeyAttributeType::String => ScalarAttributeType::S,
        }
    }
}

/// The type of a (non-key) attribute, as far as queries and the CLI need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AttributeType {
    /// Integers and floats (`N`).
    Number,
    /// Strings (`S`).
    String,
    /// Booleans (`BOOL`).
    Bool,
    /// Anything else: lists, maps, options, nested structs.
    Other,
}

/// One attribute of an event: its stored name, its Rust field and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct AttributeDef {
    /// The stored attribute name (honours `#[serde(rename)]`).
    pub name: &'static str,
    /// The Rust field name.
    pub field: &'static str,
    /// Its type.
    pub attribute_type: AttributeType,
}

/// An event type's table, as declared by `#[derive(Storable)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TableDef {
    /// The logical table name, without the environment prefix, e.g. `phone_call`.
    pub name: &'static str,
    /// The Rust type that declared it, e.g. `PhoneCall`.
    pub event_type: &'static str,
    /// The partition key attribute name.
    pub partition_key: &'static str,
    /// The partition key type.
    pub partition_key_type: KeyAttributeType,
    /// Attribute names digested into `event_uuid`, in order; empty for random ids.
    pub composite_key: &'static [&'static str],
    /// Every attribute of the event's fields (not `event_uuid`/`created_at`).
    pub attributes: &'static [AttributeDef],
    /// The attribute of the field marked `#[eventosaurus(linked)]`: records related to the
    /// event, published apart from its data in an [`Envelope`](crate::model::Envelope).
    pub linked: Option<&'static str>,
    /// The attribute named by `#[eventosaurus(shard_by = field)]`: the key that orders the
    /// event's publication (an envelope's `partition_key`) instead of the partition key.
    pub shard_by: Option<&'static str>,
}

impl TableDef {
    /// The full table name for an environment: `<prefix>_<name>`.
    pub fn full_name(&self, environment_prefix: &str) -> String {
        format!("{environment_prefix}_{}", self.name)
    }

    /// Looks up an attribute by stored name, including `event_uuid` and `created_at`.
    pub fn attribute_type(&self, name: &str) -> Option<AttributeType> {
        if name == EVENT_UUID || name == CREATED_AT {
            return Some(AttributeType::String);
        }
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.attribute_type)
    }

    /// The CreateTable request for this table in an environment, as data.
    pub fn spec(&self, environment_prefix: &str, billing: Billing) -> TableSpec {
        let hash = KeySchemaSpec {
            attribute_name: self.partition_key.to_owned(),
            key_type: "HASH",
        };
        TableSpec {
            table_name: self.full_name(environment_prefix),
            key_schema: vec![
                hash.clone(),
                KeySchemaSpec {
                    attribute_name: EVENT_UUID.to_owned(),
                    key_type: "RANGE",
                },
            ],
            attribute_definitions: vec![
                AttributeSpec {
                    attribute_name: self.partition_key.to_owned(),
                    attribute_type: self.partition_key_type,
                },
                AttributeSpec {
                    attribute_name: EVENT_UUID.to_owned(),
                    attribute_type: KeyAttributeType::String,
                },
                AttributeSpec {
                    attribute_name: CREATED_AT.to_owned(),
                    attribute_type: KeyAttributeType::String,
                },
            ],
            local_secondary_indexes: vec![IndexSpec {
                index_name: CREATED_AT_INDEX.to_owned(),
                key_schema: vec![
                    hash,
                    KeySchemaSpec {
                        attribute_name: CREATED_AT.to_owned(),
                        key_type: "RANGE",
                    },
                ],
                projection: ProjectionSpec {
                    projection_type: "ALL",
                },
            }],
            billing_mode: match billing {
                Billing::OnDemand => "PAY_PER_REQUEST",
                Billing::Provisioned { .. } => "PROVISIONED",
            },
            provisioned_throughput: match billing {
                Billing::OnDemand => None,
                Billing::Provisioned { read, write } => Some(ThroughputSpec {
                    read_capacity_units: read,
                    write_capacity_units: write,
                }),
            },
        }
    }
}

/// How a table is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Billing {
    /// `PAY_PER_REQUEST` (the default).
    #[default]
    OnDemand,
    /// `PROVISIONED` with read and write capacity units.
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

/// A CreateTable request as data. Serializes to the JSON shape of the DynamoDB API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    /// Full table name.
    pub table_name: String,
    /// HASH then RANGE.
    pub key_schema: Vec<KeySchemaSpec>,
    /// Types of every key attribute (table and index keys).
    pub attribute_definitions: Vec<AttributeSpec>,
    /// The `created_at` LSI.
    pub local_secondary_indexes: Vec<IndexSpec>,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: &'static str,
    /// Capacity, for provisioned billing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ThroughputSpec>,
}

/// One key schema element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaSpec {
    /// Attribute name.
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: &'static str,
}

/// One attribute definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeSpec {
    /// Attribute name.
    pub attribute_name: String,
    /// `N` or `S`.
    pub attribute_type: KeyAttributeType,
}

/// A local secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexSpec {
    /// Index name.
    pub index_name: String,
    /// HASH then RANGE.
    pub key_schema: Vec<KeySchemaSpec>,
    /// Projection.
    pub projection: ProjectionSpec,
}

/// An index projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionSpec {
    /// Always `ALL`.
    pub projection_type: &'static str,
}

/// Provisioned capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ThroughputSpec {
    /// Read capacity units.
    pub read_capacity_units: i64,
    /// Write capacity units.
    pub write_capacity_units: i64,
}
