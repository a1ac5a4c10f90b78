//! Table definitions and the table functions (create, describe, delete, check).
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
//! [`TableSpec`] is that CreateTable request as data: `describe-tables` prints it,
//! `check-tables` compares live tables with it, and [`create_table`] sends it.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode as SdkBillingMode, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    TableDescription, TableStatus,
};
use serde::Serialize;

use crate::error::{classify, Error, Result, SdkFailure};
use crate::Store;

/// The sort key attribute every table has.
pub const EVENT_UUID: &str = "event_uuid";
/// The creation timestamp attribute every item has.
pub const CREATED_AT: &str = "created_at";
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

    fn to_sdk(self) -> ScalarAttributeType {
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
    /// The table's DynamoDB stream: `NEW_IMAGE` by default, `None` for no stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_specification: Option<crate::table_stream::StreamSpec>,
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

fn key_element(spec: &KeySchemaSpec) -> Result<KeySchemaElement> {
    let key_type = if spec.key_type == "HASH" {
        KeyType::Hash
    } else {
        KeyType::Range
    };
    KeySchemaElement::builder()
        .attribute_name(&spec.attribute_name)
        .key_type(key_type)
        .build()
        .map_err(|e| build_error("CreateTable", &spec.attribute_name, e))
}

fn build_error(
    operation: &'static str,
    table: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::Service {
        operation,
        table: table.to_owned(),
        code: "RequestBuild".to_owned(),
        message: e.to_string(),
        status: None,
        source: Box::new(e),
    }
}

/// What [`create_table`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The table was created and is now ACTIVE.
    Created,
    /// The table already existed (and is ACTIVE); nothing was changed.
    AlreadyExists,
}

/// How long [`create_table`] waits for a new table to become ACTIVE.
pub const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Creates the table of `def` in the store's environment if it does not exist, then waits
/// until it is ACTIVE. Idempotent: an existing table is [`CreateOutcome::AlreadyExists`].
///
/// The table gets a DynamoDB stream (`NEW_IMAGE`); see [`create_table_with_stream`].
pub async fn create_table(
    store: &Store,
    def: &TableDef,
    billing: Billing,
) -> Result<CreateOutcome> {
    create_table_with_stream(
        store,
        def,
        billing,
        Some(crate::table_stream::DEFAULT_STREAM),
    )
    .await
}

/// Like [`create_table`], with the given stream (`None`: a table without a stream, which no
/// stream consumer can read). An existing table is left as it is.
pub async fn create_table_with_stream(
    store: &Store,
    def: &TableDef,
    billing: Billing,
    stream: Option<crate::table_stream::StreamSpec>,
) -> Result<CreateOutcome> {
    let mut spec = def.spec(store.environment_prefix(), billing);
    spec.stream_specification = stream;
    let table = spec.table_name.as_str();
    let at = store.call_site("CreateTable", table);
    let mut request = store
        .client()
        .create_table()
        .table_name(table)
        .billing_mode(match billing {
            Billing::OnDemand => SdkBillingMode::PayPerRequest,
            Billing::Provisioned { .. } => SdkBillingMode::Provisioned,
        })
        .set_stream_specification(crate::table_stream::to_sdk(
            spec.stream_specification.as_ref(),
        ));
    for key in &spec.key_schema {
        request = request.key_schema(key_element(key)?);
    }
    for attr in &spec.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attr.attribute_name)
                .attribute_type(attr.attribute_type.to_sdk())
                .build()
                .map_err(|e| build_error("CreateTable", table, e))?,
        );
    }
    for index in &spec.local_secondary_indexes {
        let mut lsi = LocalSecondaryIndex::builder()
            .index_name(&index.index_name)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            );
        for key in &index.key_schema {
            lsi = lsi.key_schema(key_element(key)?);
        }
        request = request.local_secondary_indexes(
            lsi.build()
                .map_err(|e| build_error("CreateTable", table, e))?,
        );
    }
    if let Some(t) = spec.provisioned_throughput {
        request = request.provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(t.read_capacity_units)
                .write_capacity_units(t.write_capacity_units)
                .build()
                .map_err(|e| build_error("CreateTable", table, e))?,
        );
    }
    let outcome = match request.send().await {
        Ok(_) => CreateOutcome::Created,
        Err(err) => match classify(err, at) {
            SdkFailure::InUse => CreateOutcome::AlreadyExists,
            other => return Err(other.into_error(at)),
        },
    };
    wait_until_active(store, table, ACTIVE_TIMEOUT).await?;
    tracing::info!(table, ?outcome, "table ready");
    Ok(outcome)
}

/// Creates every table in `defs` (see [`create_table`]), in order.
pub async fn create_tables<'a>(
    store: &Store,
    defs: impl IntoIterator<Item = &'a TableDef>,
    billing: Billing,
) -> Result<Vec<(&'a TableDef, CreateOutcome)>> {
    let mut done = Vec::new();
    for def in defs {
        done.push((def, create_table(store, def, billing).await?));
    }
    Ok(done)
}

/// Polls DescribeTable until the table is ACTIVE, backing off from 50 ms to 2 s.
pub async fn wait_until_active(store: &Store, table: &str, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        let status = match describe_table_named(store, table).await? {
            Some(description) => description.table_status().cloned(),
            None => None,
        };
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(Error::TableNotActive {
                table: table.to_owned(),
                status: status
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "missing".to_owned()),
                waited_secs: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// The live DescribeTable of `def`'s table, or `None` if it does not exist.
pub async fn describe_table(store: &Store, def: &TableDef) -> Result<Option<TableDescription>> {
    describe_table_named(store, &def.full_name(store.environment_prefix())).await
}

/// The live DescribeTable of a table by full name, or `None` if it does not exist.
pub async fn describe_table_named(store: &Store, table: &str) -> Result<Option<TableDescription>> {
    let at = store.call_site("DescribeTable", table);
    match store
        .client()
        .describe_table()
        .table_name(table)
        .send()
        .await
    {
        Ok(out) => Ok(out.table),
        Err(err) => match classify(err, at) {
            SdkFailure::NotFound => Ok(None),
            other => Err(other.into_error(at)),
        },
    }
}

/// Deletes `def`'s table in the store's environment. Returns `false` if it did not exist.
///
/// Only the exact name `<prefix>_<table>` is ever deleted.
pub async fn delete_table(store: &Store, def: &TableDef) -> Result<bool> {
    let table = def.full_name(store.environment_prefix());
    let at = store.call_site("DeleteTable", &table);
    match store
        .client()
        .delete_table()
        .table_name(&table)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(err) => match classify(err, at) {
            SdkFailure::NotFound => Ok(false),
            other => Err(other.into_error(at)),
        },
    }
}

/// How long [`wait_until_deleted`] waits by default for a deleted table to disappear.
pub const DELETED_TIMEOUT: Duration = Duration::from_secs(300);

/// Polls DescribeTable until the table no longer exists, backing off from 50 ms to 2 s.
pub async fn wait_until_deleted(store: &Store, table: &str, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        let status = match describe_table_named(store, table).await? {
            None => return Ok(()),
            Some(description) => description.table_status().map(|s| s.as_str().to_owned()),
        };
        if started.elapsed() >= timeout {
            return Err(Error::TableNotDeleted {
                table: table.to_owned(),
                status: status.unwrap_or_else(|| "unknown".to_owned()),
                waited_secs: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Whether `table` is named `<environment_prefix>_…`, i.e. lies in that environment's
/// namespace. A plain string test: `prod_eu_x` is in `prod`'s namespace, `production_x` is not.
/// Deleting must never rely on this; see [`delete_table`], which takes a [`TableDef`].
pub fn in_environment(environment_prefix: &str, table: &str) -> bool {
    table.len() > environment_prefix.len() + 1
        && table.starts_with(environment_prefix)
        && table.as_bytes()[environment_prefix.len()] == b'_'
}

/// The names of all tables named `<prefix>_…` in the store's environment, sorted.
///
/// Pages through ListTables (at most 100 names a page) until the last page, so accounts with
/// any number of tables are listed completely.
pub async fn list_tables(store: &Store) -> Result<Vec<String>> {
    let prefix = store.environment_prefix();
    let at = store.call_site("ListTables", "-");
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = store
            .client()
            .list_tables()
            .limit(100)
            .set_exclusive_start_table_name(start.take())
            .send()
            .await
            .map_err(|err| classify(err, at).into_error(at))?;
        names.extend(
            page.table_names()
                .iter()
                .filter(|t| in_environment(prefix, t))
                .cloned(),
        );
        match page.last_evaluated_table_name() {
            Some(last) => start = Some(last.to_owned()),
            None => break,
        }
    }
    names.sort();
    Ok(names)
}

/// One way a live table differs from its definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "drift", rename_all = "snake_case")]
pub enum Drift {
    /// The table does not exist.
    MissingTable,
    /// The key schema or key attribute types differ.
    WrongKeySchema {
        /// What the definition expects, e.g. `person_id HASH N, event_uuid RANGE S`.
        expected: String,
        /// What the live table has.
        actual: String,
    },
    /// The `created_at` LSI is missing or has another key schema or projection.
    MissingCreatedAtIndex,
    /// The table has no stream, or one whose records do not carry the new item
    /// (`create-tables --enable-streams` turns it on).
    WrongStream(crate::table_stream::StreamDrift),
}

/// Compares a live table with the definition. An empty list means no drift.
pub fn drift(spec: &TableSpec, live: Option<&TableDescription>) -> Vec<Drift> {
    let Some(live) = live else {
        return vec![Drift::MissingTable];
    };
    let type_of = |name: &str| {
        live.attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == name)
            .map(|a| a.attribute_type().as_str().to_owned())
            .unwrap_or_else(|| "?".to_owned())
    };
    let render_live = |keys: &[KeySchemaElement]| {
        keys.iter()
            .map(|k| {
                format!(
                    "{} {} {}",
                    k.attribute_name(),
                    k.key_type().as_str(),
                    type_of(k.attribute_name())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let render_spec = |keys: &[KeySchemaSpec]| {
        keys.iter()
            .map(|k| {
                let ty = spec
                    .attribute_definitions
                    .iter()
                    .find(|a| a.attribute_name == k.attribute_name)
                    .map(|a| a.attribute_type.as_str())
                    .unwrap_or("?");
                format!("{} {} {}", k.attribute_name, k.key_type, ty)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut drifts = Vec::new();
    let expected = render_spec(&spec.key_schema);
    let actual = render_live(live.key_schema());
    if expected != actual {
        drifts.push(Drift::WrongKeySchema { expected, actual });
    }
    for index in &spec.local_secondary_indexes {
        let found = live.local_secondary_indexes().iter().any(|lsi| {
            lsi.index_name() == Some(index.index_name.as_str())
                && render_live(lsi.key_schema()) == render_spec(&index.key_schema)
                && lsi.projection().and_then(|p| p.projection_type()) == Some(&ProjectionType::All)
        });
        if !found {
            drifts.push(Drift::MissingCreatedAtIndex);
        }
    }
    drifts.extend(
        crate::table_stream::stream_drift(spec.stream_specification.as_ref(), live)
            .map(Drift::WrongStream),
    );
    drifts
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: TableDef = TableDef {
        name: "phone_call",
        event_type: "PhoneCall",
        partition_key: "person_id",
        partition_key_type: KeyAttributeType::Number,
        composite_key: &[],
        attributes: &[],
    };

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

    #[test]
    fn missing_table_is_drift() {
        assert_eq!(
            drift(&DEF.spec("dev", Billing::OnDemand), None),
            vec![Drift::MissingTable]
        );
    }
}
