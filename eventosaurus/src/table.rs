//! The table functions: create, describe, delete, list and check, against DynamoDB.
//!
//! The definitions they work from are plain data in [`schema`](crate::schema), re-exported
//! here: [`TableDef`] and the [`TableSpec`] that [`create_table`] sends and [`drift`]
//! compares live tables with.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode as SdkBillingMode, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, TableDescription,
    TableStatus,
};
use serde::Serialize;

use crate::error::{classify, Error, Result, SdkFailure};
use crate::store::Store;

pub use crate::schema::*;

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
pub async fn create_table(
    store: &Store,
    def: &TableDef,
    billing: Billing,
) -> Result<CreateOutcome> {
    let spec = def.spec(store.environment_prefix(), billing);
    let table = spec.table_name.as_str();
    let at = store.call_site("CreateTable", table);
    let mut request = store
        .client()?
        .create_table()
        .table_name(table)
        .billing_mode(match billing {
            Billing::OnDemand => SdkBillingMode::PayPerRequest,
            Billing::Provisioned { .. } => SdkBillingMode::Provisioned,
        });
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
        .client()?
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
        .client()?
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
            .client()?
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
        linked: None,
        shard_by: None,
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
