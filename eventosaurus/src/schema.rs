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
/// The attribute holding when an event expires, in seconds since the Unix epoch (a number),
/// on the tables of event types that declare a time to live ([`Ttl`]). DynamoDB's TTL deletes
/// an item some time after it passes; reads hide it from then on.
pub const EXPIRES_AT: &str = "expires_at";

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
    /// When the events expire: `#[eventosaurus(ttl = "90d")]` or a field marked
    /// `#[eventosaurus(expires_at)]`. `None`: never (no [`EXPIRES_AT`] attribute, no TTL).
    pub ttl: Option<Ttl>,
    /// The global secondary indexes, from `#[eventosaurus(index(..))]`, in declaration order.
    pub indexes: &'static [GlobalIndexDef],
    /// The version of the event's shape, from `#[eventosaurus(version = N)]`: 1 unless
    /// declared. Items are read up to it through the type's upcasters
    /// ([`Upcast`](crate::model::Upcast)); it changes nothing about the table itself.
    pub version: u32,
}

impl TableDef {
    /// The full table name for an environment: `<prefix>_<name>`.
    pub fn full_name(&self, environment_prefix: &str) -> String {
        // Concatenated into one exact allocation: every `store()` names its table.
        let mut name = String::with_capacity(environment_prefix.len() + 1 + self.name.len());
        name.push_str(environment_prefix);
        name.push('_');
        name.push_str(self.name);
        name
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

    /// The CreateTable request for this table in an environment, as data: keys, the
    /// `created_at` LSI, the global secondary indexes (with the types of every key attribute)
    /// and, not part of CreateTable, the TTL to enable after it.
    pub fn spec(&self, environment_prefix: &str, billing: Billing) -> TableSpec {
        let throughput = match billing {
            Billing::OnDemand => None,
            Billing::Provisioned { read, write } => Some(ThroughputSpec {
                read_capacity_units: read,
                write_capacity_units: write,
            }),
        };
        let mut attribute_definitions = Vec::new();
        let mut define = |name: &str, attribute_type| {
            if !attribute_definitions
                .iter()
                .any(|a: &AttributeSpec| a.attribute_name == name)
            {
                attribute_definitions.push(AttributeSpec {
                    attribute_name: name.to_owned(),
                    attribute_type,
                });
            }
        };
        define(self.partition_key, self.partition_key_type);
        define(EVENT_UUID, KeyAttributeType::String);
        define(CREATED_AT, KeyAttributeType::String);
        for index in self.indexes {
            for key in std::iter::once(&index.partition_key).chain(&index.sort_key) {
                define(key.attribute, key.attribute_type);
            }
        }
        TableSpec {
            table_name: self.full_name(environment_prefix),
            key_schema: vec![
                key_spec(self.partition_key, KeyType::Hash),
                key_spec(EVENT_UUID, KeyType::Range),
            ],
            attribute_definitions,
            local_secondary_indexes: vec![IndexSpec {
                index_name: CREATED_AT_INDEX.to_owned(),
                key_schema: vec![
                    key_spec(self.partition_key, KeyType::Hash),
                    key_spec(CREATED_AT, KeyType::Range),
                ],
                projection: ProjectionSpec {
                    projection_type: ProjectionType::All,
                },
            }],
            global_secondary_indexes: self
                .indexes
                .iter()
                .map(|index| index.spec(throughput))
                .collect(),
            billing_mode: billing.mode(),
            provisioned_throughput: throughput,
            stream_specification: Some(crate::table_stream::DEFAULT_STREAM),
            time_to_live: self.ttl.map(|_| TimeToLiveSpec {
                attribute_name: EXPIRES_AT.to_owned(),
                enabled: true,
            }),
        }
    }

    /// The global secondary index named `name`, if the definition declares one.
    pub fn global_index(&self, name: &str) -> Option<&'static GlobalIndexDef> {
        self.indexes.iter().find(|index| index.name == name)
    }

    /// The attribute reads compare with now to hide expired events: [`EXPIRES_AT`] when the
    /// events expire, else `None`.
    pub fn expiry_attribute(&self) -> Option<&'static str> {
        self.ttl.map(|_| EXPIRES_AT)
    }
}

fn key_spec(name: &str, key_type: KeyType) -> KeySchemaSpec {
    KeySchemaSpec {
        attribute_name: name.to_owned(),
        key_type,
    }
}

impl GlobalIndexDef {
    /// The index as CreateTable (or UpdateTable's `Create`) declares it: its keys, `ALL`,
    /// and the table's capacity when billing is provisioned.
    pub fn spec(&self, throughput: Option<ThroughputSpec>) -> GlobalIndexSpec {
        let mut key_schema = vec![key_spec(self.partition_key.attribute, KeyType::Hash)];
        if let Some(sort_key) = &self.sort_key {
            key_schema.push(key_spec(sort_key.attribute, KeyType::Range));
        }
        GlobalIndexSpec {
            index_name: self.name.to_owned(),
            key_schema,
            projection: ProjectionSpec {
                projection_type: ProjectionType::All,
            },
            provisioned_throughput: throughput,
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
    /// The global secondary indexes, if the event type declares any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub global_secondary_indexes: Vec<GlobalIndexSpec>,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: BillingMode,
    /// Capacity, for provisioned billing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ThroughputSpec>,
    /// The table's DynamoDB stream: `NEW_IMAGE` by default, `None` for no stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<crate::table_stream::StreamSpec>,
    /// The time to live to enable once the table exists (an UpdateTimeToLive request:
    /// CreateTable takes no TTL, so it is not serialized with the request); `None` when the
    /// events never expire.
    #[serde(skip)]
    pub time_to_live: Option<TimeToLiveSpec>,
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

/// How an event type's events expire: the rule behind its [`EXPIRES_AT`] attribute, which the
/// table's DynamoDB time to live (TTL) deletes items by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Ttl {
    /// `#[eventosaurus(ttl = "90d")]`: a fixed time after `created_at`.
    AfterCreation {
        /// The lifetime in seconds.
        seconds: u64,
    },
    /// `#[eventosaurus(expires_at)]` on a field: the time the field holds (`None` in an
    /// `Option` field: the event never expires).
    Field {
        /// The field's own stored attribute (the field is stored as usual; the epoch
        /// seconds go to [`EXPIRES_AT`]).
        attribute: &'static str,
    },
}

impl Ttl {
    /// The expiry of an event created `created_at_millis` milliseconds after the epoch, for
    /// [`Ttl::AfterCreation`] (a [`Ttl::Field`] expiry comes from the event): in seconds
    /// since the epoch, saturating at `i64::MAX`.
    pub fn after_creation(&self, created_at_millis: i64) -> Option<i64> {
        match *self {
            Ttl::AfterCreation { seconds } => Some(
                created_at_millis
                    .div_euclid(1000)
                    .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX)),
            ),
            Ttl::Field { .. } => None,
        }
    }
}

/// A key attribute of a global secondary index, with its DynamoDB type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct IndexKey {
    /// The stored attribute name (an event field's, or `created_at` / `event_uuid`).
    pub attribute: &'static str,
    /// `N` for integer fields, `S` for strings (`created_at` and `event_uuid` are strings).
    #[serde(rename = "type")]
    pub attribute_type: KeyAttributeType,
}

/// A global secondary index of an event table, from `#[eventosaurus(index(name = ..,
/// partition_key = .., sort_key = ..))]`.
///
/// A GSI is a copy of the table keyed by other attributes, kept up to date by DynamoDB
/// *asynchronously*: it can be added to an existing table, answers Queries by its own
/// partition key across the table's partitions, and is read with eventually consistent reads
/// only. eventosaurus projects ALL attributes into it, so a Query on it returns whole events.
/// An event without one of the key attributes is simply not in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct GlobalIndexDef {
    /// The index name (3 to 255 characters of `[a-zA-Z0-9_.-]`).
    pub name: &'static str,
    /// Its partition key.
    pub partition_key: IndexKey,
    /// Its sort key, if any: results on the index come in its order.
    pub sort_key: Option<IndexKey>,
}

impl GlobalIndexDef {
    /// The index's key attributes: partition key, then sort key.
    pub fn key_attributes(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.partition_key.attribute).chain(self.sort_key.map(|k| k.attribute))
    }
}

/// A global secondary index of a CreateTable request (or of the UpdateTable that adds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalIndexSpec {
    /// Index name.
    pub index_name: String,
    /// HASH, then RANGE if the index has a sort key.
    pub key_schema: Vec<KeySchemaSpec>,
    /// Projection: `ALL`.
    pub projection: ProjectionSpec,
    /// Capacity, for provisioned billing (the table's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ThroughputSpec>,
}

/// The UpdateTimeToLive request that follows a CreateTable: TTL on an attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveSpec {
    /// The attribute DynamoDB expires items by: [`EXPIRES_AT`].
    pub attribute_name: String,
    /// Always `true`.
    pub enabled: bool,
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
    ttl: None,
    indexes: &[],
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
