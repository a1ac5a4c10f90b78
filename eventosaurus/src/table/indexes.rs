//! Global secondary indexes against DynamoDB: in CreateTable, and added to an existing table
//! with UpdateTable (one index per call, as DynamoDB requires), waiting until each is ACTIVE.

use std::time::Duration;

use aws_sdk_dynamodb::types as sdk;
use aws_sdk_dynamodb::types::{BillingMode as SdkBillingMode, IndexStatus, TableDescription};

use super::admin::{build_error, key_elements, wait_for_status};
use crate::error::{classify, Error, Result};
use crate::schema::{GlobalIndexSpec, TableSpec, ThroughputSpec};
use crate::store::Store;

/// How long [`add_missing_indexes`] waits for one new index to become ACTIVE. DynamoDB
/// backfills an index from every existing item, which takes minutes to hours on a large
/// table (the index keeps being built if the wait is given up).
pub const INDEX_ACTIVE_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Where the addition of an index stands, as [`add_missing_indexes`] reports it after every
/// DescribeTable while it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexProgress<'a> {
    /// The full table name.
    pub table: &'a str,
    /// The index being added.
    pub index: &'a str,
    /// The index status DynamoDB reports (`CREATING`, `ACTIVE`, ...); `None` before it
    /// appears in the description.
    pub status: Option<&'a str>,
    /// Whether DynamoDB is still copying existing items into it (`Backfilling`).
    pub backfilling: bool,
    /// The index's approximate item count, when DynamoDB reports one.
    pub item_count: Option<i64>,
    /// How long the wait has lasted.
    pub waited: Duration,
}

pub(super) fn throughput(
    table: &str,
    spec: Option<&ThroughputSpec>,
) -> Result<Option<sdk::ProvisionedThroughput>> {
    spec.map(|t| {
        sdk::ProvisionedThroughput::builder()
            .read_capacity_units(t.read_capacity_units)
            .write_capacity_units(t.write_capacity_units)
            .build()
            .map_err(|e| build_error(table, e))
    })
    .transpose()
}

fn projection(index: &GlobalIndexSpec) -> sdk::Projection {
    sdk::Projection::builder()
        .projection_type(index.projection.projection_type.to_sdk())
        .build()
}

/// The index as CreateTable sends it.
pub(super) fn global_index(
    table: &str,
    index: &GlobalIndexSpec,
) -> Result<sdk::GlobalSecondaryIndex> {
    sdk::GlobalSecondaryIndex::builder()
        .index_name(&index.index_name)
        .set_key_schema(key_elements(table, &index.key_schema)?)
        .projection(projection(index))
        .set_provisioned_throughput(throughput(table, index.provisioned_throughput.as_ref())?)
        .build()
        .map_err(|e| build_error(table, e))
}

/// The status of index `name` in a description: `None` when it has no such index.
fn index_of<'a>(
    live: &'a TableDescription,
    name: &str,
) -> Option<&'a sdk::GlobalSecondaryIndexDescription> {
    live.global_secondary_indexes()
        .iter()
        .find(|index| index.index_name() == Some(name))
}

/// The capacity a new index of `live` needs: none on an on-demand table, else the table's
/// own (or, if the description has none, the spec's).
fn capacity_for(live: &TableDescription, spec: &TableSpec) -> Option<ThroughputSpec> {
    let on_demand = live
        .billing_mode_summary()
        .and_then(|summary| summary.billing_mode())
        == Some(&SdkBillingMode::PayPerRequest);
    if on_demand {
        return None;
    }
    live.provisioned_throughput()
        .and_then(|t| Some((t.read_capacity_units()?, t.write_capacity_units()?)))
        .filter(|(read, write)| *read > 0 && *write > 0)
        .map(|(read, write)| ThroughputSpec {
            read_capacity_units: read,
            write_capacity_units: write,
        })
        .or(spec.provisioned_throughput)
}

/// Adds every global secondary index of `spec` that the live table `live` lacks, one
/// UpdateTable per index, and waits until each is ACTIVE (backfilled) before the next;
/// an index of the spec that exists but is still being built is waited for too. `progress`
/// sees every DescribeTable of the waits. Returns the names of the indexes added.
///
/// Indexes the table has beyond the spec are left alone.
pub async fn add_missing_indexes(
    store: &Store,
    spec: &TableSpec,
    live: &TableDescription,
    progress: &mut (dyn FnMut(&IndexProgress<'_>) + Send),
) -> Result<Vec<String>> {
    let table = spec.table_name.as_str();
    let mut added = Vec::new();
    for index in &spec.global_secondary_indexes {
        let name = index.index_name.as_str();
        match index_of(live, name).and_then(|i| i.index_status()) {
            Some(IndexStatus::Active) => continue,
            Some(_) => {}
            None => {
                let mut index = index.clone();
                index.provisioned_throughput = capacity_for(live, spec);
                send_create_index(store, spec, &index).await?;
                added.push(name.to_owned());
            }
        }
        wait_until_index_active(store, table, name, progress).await?;
    }
    Ok(added)
}

/// One UpdateTable with a `Create` of `index`, with the definitions of its key attributes.
async fn send_create_index(store: &Store, spec: &TableSpec, index: &GlobalIndexSpec) -> Result<()> {
    let table = spec.table_name.as_str();
    let at = store.call_site("UpdateTable", table);
    let definitions = index
        .key_schema
        .iter()
        .filter_map(|key| {
            spec.attribute_type(&key.attribute_name).map(|t| {
                sdk::AttributeDefinition::builder()
                    .attribute_name(&key.attribute_name)
                    .attribute_type(t.to_sdk())
                    .build()
                    .map_err(|e| build_error(table, e))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let create = sdk::CreateGlobalSecondaryIndexAction::builder()
        .index_name(&index.index_name)
        .set_key_schema(key_elements(table, &index.key_schema)?)
        .projection(projection(index))
        .set_provisioned_throughput(throughput(table, index.provisioned_throughput.as_ref())?)
        .build()
        .map_err(|e| build_error(table, e))?;
    tracing::info!(table, index = %index.index_name, "adding global secondary index");
    store
        .client()?
        .update_table()
        .table_name(table)
        .set_attribute_definitions(Some(definitions))
        .global_secondary_index_updates(
            sdk::GlobalSecondaryIndexUpdate::builder()
                .create(create)
                .build(),
        )
        .send()
        .await
        .map_err(|err| classify(err, at).into_error(at))?;
    Ok(())
}

/// Waits (with the table module's one wait helper) until index `index` of `table` is ACTIVE
/// and no longer backfilling, and the table ACTIVE.
async fn wait_until_index_active(
    store: &Store,
    table: &str,
    index: &str,
    progress: &mut (dyn FnMut(&IndexProgress<'_>) + Send),
) -> Result<()> {
    let mut last_status = None::<String>;
    let outcome = wait_for_status(store, table, INDEX_ACTIVE_TIMEOUT, |live, waited| {
        let described = live.and_then(|live| index_of(live, index));
        let status = described
            .and_then(|i| i.index_status())
            .map(IndexStatus::as_str);
        let backfilling = described.and_then(|i| i.backfilling()).unwrap_or(false);
        last_status = status.map(str::to_owned);
        progress(&IndexProgress {
            table,
            index,
            status,
            backfilling,
            item_count: described.and_then(|i| i.item_count()),
            waited,
        });
        let table_active = live.and_then(|d| d.table_status()) == Some(&sdk::TableStatus::Active);
        table_active && status == Some("ACTIVE") && !backfilling
    })
    .await?;
    outcome.map_err(|gave_up| Error::IndexNotActive {
        table: table.to_owned(),
        index: index.to_owned(),
        status: last_status.unwrap_or_else(|| "missing".to_owned()),
        waited_secs: gave_up.waited_secs,
    })
}
