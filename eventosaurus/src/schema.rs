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
//! prints them and `check-tables` compares live tables with them. The parts of a spec are
//! typed ([`KeyType`], [`BillingMode`], [`ProjectionType`], [`KeyAttributeType`]).

use serde::Serialize;

/// The sort key attribute every table has.
pub const EVENT_UUID: &str = "event_uuid";
/// The creation timestamp attribute every item has.
pub const CREATED_AT: &str = "created_at";
/// The attribute holding the service that stored the event, written only when a source is
/// configured ([`Config`](crate::Config)'s `source`, or `EVENTOSAURUS_SOURCE`).
pub const SOURCE: &str = "event_source";
/// The attribute holding the version of the event's shape (`#[eventosaurus(version = N)]`),
/// a number. Written only by types of version 2 and later: an item without it is version 1
/// (see [`Upcast`](crate::model::Upcast)).
pub const EVENT_VERSION: &str = "event_version";
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
    /// The DynamoDB type letter: `N` or `S`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAttributeType::Number => "N",
            KeyAttributeType::String => "S",
        }
    }
}

/// Whether a key is the partition key (`HASH`) or the sort key (`RANGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum KeyType {
    /// `HASH`: the partition key.
    #[serde(rename = "HASH")]
    Hash,
    /// `RANGE`: the sort key.
    #[serde(rename = "RANGE")]
    Range,
}

impl KeyType {
    /// The name DynamoDB uses: `HASH` or `RANGE`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Hash => "HASH",
            KeyType::Range => "RANGE",
        }
    }
}

/// How a table is billed, as the CreateTable request says it (see [`Billing`] for the
/// capacities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum BillingMode {
    /// `PAY_PER_REQUEST`: on demand.
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
    /// `PROVISIONED`: fixed read and write capacity.
    #[serde(rename = "PROVISIONED")]
    Provisioned,
}

impl BillingMode {
    /// The name DynamoDB uses: `PAY_PER_REQUEST` or `PROVISIONED`.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
            BillingMode::Provisioned => "PROVISIONED",
        }
    }
}

/// Which attributes an index copies from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ProjectionType {
    /// `ALL`: every attribute (what the `created_at` index uses).
    #[serde(rename = "ALL")]
    All,
    /// `KEYS_ONLY`: the table's and the index's keys.
    #[serde(rename = "KEYS_ONLY")]
    KeysOnly,
    /// `INCLUDE`: the keys and a list of attributes.
    #[serde(rename = "INCLUDE")]
    Include,
}

impl ProjectionType {
    /// The name DynamoDB uses: `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectionType::All => "ALL",
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
        }
    }
}

macro_rules! display_as_str {
    ($($name:ident),*) => {$(
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(KeyAttributeType, KeyType, BillingMode, ProjectionType);

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
    /// The version of the event's shape, from `#[eventosaurus(version = N)]`: 1 unless
    /// declared. Items are read up to it through the type's upcasters
    /// ([`Upcast`](crate::model::Upcast)); it changes nothing about the table itself.
    pub version: u32,
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
        let key = |name: &str, key_type| KeySchemaSpec {
            attribute_name: name.to_owned(),
            key_type,
        };
        let attribute = |name: &str, attribute_type| AttributeSpec {
            attribute_name: name.to_owned(),
            attribute_type,
        };
        TableSpec {
            table_name: self.full_name(environment_prefix),
            key_schema: vec![
                key(self.partition_key, KeyType::Hash),
                key(EVENT_UUID, KeyType::Range),
            ],
            attribute_definitions: vec![
                attribute(self.partition_key, self.partition_key_type),
                attribute(EVENT_UUID, KeyAttributeType::String),
                attribute(CREATED_AT, KeyAttributeType::String),
            ],
            local_secondary_indexes: vec![IndexSpec {
                index_name: CREATED_AT_INDEX.to_owned(),
                key_schema: vec![
                    key(self.partition_key, KeyType::Hash),
                    key(CREATED_AT, KeyType::Range),
                ],
                projection: ProjectionSpec {
                    projection_type: ProjectionType::All,
                },
            }],
            billing_mode: billing.mode(),
            provisioned_throughput: match billing {
                Billing::OnDemand => None,
                Billing::Provisioned { read, write } => Some(ThroughputSpec {
                    read_capacity_units: read,
                    write_capacity_units: write,
                }),
            },
            stream_specification: Some(crate::table_stream::DEFAULT_STREAM),
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

impl Billing {
    /// The billing mode of the CreateTable request.
    pub fn mode(self) -> BillingMode {
        match self {
            Billing::OnDemand => BillingMode::PayPerRequest,
            Billing::Provisioned { .. } => BillingMode::Provisioned,
        }
    }
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
    pub billing_mode: BillingMode,
    /// Capacity, for provisioned billing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ThroughputSpec>,
    /// The table's DynamoDB stream: `NEW_IMAGE` by default, `None` for no stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<crate::table_stream::StreamSpec>,
}

impl TableSpec {
    /// The type the spec declares for a key attribute, if it declares one.
    pub fn attribute_type(&self, attribute_name: &str) -> Option<KeyAttributeType> {
        self.attribute_definitions
            .iter()
            .find(|a| a.attribute_name == attribute_name)
            .map(|a| a.attribute_type)
    }
}

/// One key schema element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaSpec {
    /// Attribute name.
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: KeyType,
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
    /// `ALL` for the `created_at` index.
    pub projection_type: ProjectionType,
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

/// Whether `table` is named `<environment_prefix>_…`, i.e. lies in that environment's
/// namespace. A plain string test: `prod_eu_x` is in `prod`'s namespace, `production_x` is not.
/// Deleting must never rely on this; see [`delete_table`](crate::table::delete_table), which
/// takes a [`TableDef`].
pub fn in_environment(environment_prefix: &str, table: &str) -> bool {
    table.len() > environment_prefix.len() + 1
        && table.starts_with(environment_prefix)
        && table.as_bytes()[environment_prefix.len()] == b'_'
}

/// The table definition the crate's unit tests share: `phone_call`, partitioned by the number
/// `person_id`, with random ids.
#[cfg(test)]
pub(crate) const TEST_DEF: TableDef = TableDef {
    name: "phone_call",
    event_type: "PhoneCall",
    partition_key: "person_id",
    partition_key_type: KeyAttributeType::Number,
    composite_key: &[],
    attributes: &[],
    linked: None,
    shard_by: None,
    version: 1,
};

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: TableDef = TEST_DEF;

    #[test]
    fn spec_serializes_as_create_table_json() {
        let json = serde_json::to_value(DEF.spec("dev", Billing::OnDemand)).unwrap();
        assert_eq!(json["TableName"], "dev_phone_call");
        assert_eq!(json["KeySchema"][0]["AttributeName"], "person_id");
        assert_eq!(json["KeySchema"][0]["KeyType"], "HASH");
        assert_eq!(json["KeySchema"][1]["AttributeName"], "event_uuid");
        assert_eq!(json["AttributeDefinitions"][0]["AttributeType"], "N");
        assert_eq!(
            json["LocalSecondaryIndexes"][0]["IndexName"],
            CREATED_AT_INDEX
        );
        assert_eq!(
            json["LocalSecondaryIndexes"][0]["KeySchema"][1]["AttributeName"],
            "created_at"
        );
        assert_eq!(json["BillingMode"], "PAY_PER_REQUEST");
        assert!(json.get("ProvisionedThroughput").is_none());
        let provisioned =
            serde_json::to_value(DEF.spec("dev", Billing::Provisioned { read: 5, write: 7 }))
                .unwrap();
        assert_eq!(
            provisioned["ProvisionedThroughput"]["WriteCapacityUnits"],
            7
        );
    }

    #[test]
    fn environment_namespace_is_prefix_and_underscore() {
        assert!(in_environment("prod", "prod_phone_call"));
        assert!(in_environment("prod", "prod_eu_phone_call"));
        assert!(!in_environment("prod", "production_phone_call"));
        assert!(!in_environment("prod", "prodx_phone_call"));
        assert!(!in_environment("prod", "prod_"));
        assert!(!in_environment("prod", "prod"));
        assert!(!in_environment("prod", "dev_prod_phone_call"));
    }
}
