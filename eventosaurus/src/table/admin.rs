//! The admin calls: create, describe, delete and list tables, and wait for their status.
//! What the CLI's table commands run.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types as sdk;
use aws_sdk_dynamodb::types::{TableDescription, TableStatus};

use super::indexes::{add_missing_indexes, IndexProgress};
use super::ttl::{describe_time_to_live, enable_time_to_live, TtlOutcome};
use super::Drift;
use crate::error::{classify, Error, Result, SdkFailure};
use crate::schema::{in_environment, Billing, IndexSpec, KeySchemaSpec, TableDef, TableSpec};
use crate::store::Store;

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

/// How long [`wait_until_deleted`] waits by default for a deleted table to disappear.
pub const DELETED_TIMEOUT: Duration = Duration::from_secs(300);

/// A request that the SDK's builder refused (a required field left out): a bug of ours.
pub(super) fn build_error(table: &str, e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::Service {
        operation: "CreateTable",
        table: table.to_owned(),
        code: "RequestBuild".to_owned(),
        message: e.to_string(),
        status: None,
        source: Box::new(e),
    }
}

pub(super) fn key_elements(
    table: &str,
    keys: &[KeySchemaSpec],
) -> Result<Option<Vec<sdk::KeySchemaElement>>> {
    keys.iter()
        .map(|key| {
            sdk::KeySchemaElement::builder()
                .attribute_name(&key.attribute_name)
                .key_type(key.key_type.to_sdk())
                .build()
                .map_err(|e| build_error(table, e))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn local_index(table: &str, index: &IndexSpec) -> Result<sdk::LocalSecondaryIndex> {
    let projection = sdk::Projection::builder()
        .projection_type(index.projection.projection_type.to_sdk())
        .build();
    sdk::LocalSecondaryIndex::builder()
        .index_name(&index.index_name)
        .set_key_schema(key_elements(table, &index.key_schema)?)
        .projection(projection)
        .build()
        .map_err(|e| build_error(table, e))
}

/// Sends `spec` as a CreateTable request; `Ok(false)` if the table already exists.
async fn send_create_table(store: &Store, spec: &TableSpec) -> Result<bool> {
    let table = spec.table_name.as_str();
    let at = store.call_site("CreateTable", table);
    let attributes = spec
        .attribute_definitions
        .iter()
        .map(|attr| {
            sdk::AttributeDefinition::builder()
                .attribute_name(&attr.attribute_name)
                .attribute_type(attr.attribute_type.to_sdk())
                .build()
                .map_err(|e| build_error(table, e))
        })
        .collect::<Result<Vec<_>>>()?;
    let indexes = spec
        .local_secondary_indexes
        .iter()
        .map(|index| local_index(table, index))
        .collect::<Result<Vec<_>>>()?;
    let global_indexes = spec
        .global_secondary_indexes
        .iter()
        .map(|index| super::indexes::global_index(table, index))
        .collect::<Result<Vec<_>>>()?;
    let throughput = super::indexes::throughput(table, spec.provisioned_throughput.as_ref())?;
    let request = store
        .client()?
        .create_table()
        .table_name(table)
        .billing_mode(spec.billing_mode.to_sdk())
        .set_key_schema(key_elements(table, &spec.key_schema)?)
        .set_attribute_definitions(Some(attributes))
        .set_local_secondary_indexes(Some(indexes).filter(|i| !i.is_empty()))
        .set_global_secondary_indexes(Some(global_indexes).filter(|i| !i.is_empty()))
        .set_provisioned_throughput(throughput)
        .set_stream_specification(crate::table_stream::to_sdk(
            spec.stream_specification.as_ref(),
        ));
    match request.send().await {
        Ok(_) => Ok(true),
        Err(err) => match classify(err, at) {
            SdkFailure::InUse => Ok(false),
            other => Err(other.into_error(at)),
        },
    }
}

/// Creates the table of `def` in the store's environment if it does not exist, then waits
/// until it is ACTIVE, adds the global secondary indexes it lacks (waiting until each is
/// built) and turns on its time to live: everything [`ensure_table`] does. Idempotent: an
/// existing table is [`CreateOutcome::AlreadyExists`].
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
/// stream consumer can read). An existing table's stream is left as it is.
pub async fn create_table_with_stream(
    store: &Store,
    def: &TableDef,
    billing: Billing,
    stream: Option<crate::table_stream::StreamSpec>,
) -> Result<CreateOutcome> {
    let ready = ensure_table(store, def, billing, stream, &mut |progress| {
        tracing::debug!(
            table = progress.table,
            index = progress.index,
            status = progress.status,
            backfilling = progress.backfilling,
            "waiting for the index"
        );
    })
    .await?;
    Ok(ready.outcome)
}

/// What [`ensure_table`] did to a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReady {
    /// Whether the table was created or already existed.
    pub outcome: CreateOutcome,
    /// The global secondary indexes added to an existing table (each is ACTIVE now).
    pub added_indexes: Vec<String>,
    /// What was done about its time to live.
    pub time_to_live: TtlOutcome,
}

/// Makes `def`'s table what its definition says, as far as that can change on a live table:
/// creates it if it is missing (with `stream`) and waits until it is ACTIVE; adds every
/// global secondary index it lacks, one UpdateTable per index, waiting until each is ACTIVE
/// (`progress` sees every DescribeTable of those waits: show it to the user, backfilling a
/// large table takes a while); then turns on its time to live on `expires_at` if the events
/// expire ([`enable_time_to_live`]). Keys and the `created_at` LSI of an existing table are
/// never changed (`check-tables` reports them).
pub async fn ensure_table(
    store: &Store,
    def: &TableDef,
    billing: Billing,
    stream: Option<crate::table_stream::StreamSpec>,
    progress: &mut (dyn FnMut(&IndexProgress<'_>) + Send),
) -> Result<TableReady> {
    let mut spec = def.spec(store.environment_prefix(), billing);
    spec.stream_specification = stream;
    let outcome = if send_create_table(store, &spec).await? {
        CreateOutcome::Created
    } else {
        CreateOutcome::AlreadyExists
    };
    wait_until_active(store, &spec.table_name, ACTIVE_TIMEOUT).await?;
    let mut added_indexes = Vec::new();
    if !spec.global_secondary_indexes.is_empty() {
        let live = describe_table_named(store, &spec.table_name)
            .await?
            .ok_or_else(|| Error::TableNotFound {
                table: spec.table_name.clone(),
            })?;
        added_indexes = add_missing_indexes(store, &spec, &live, progress).await?;
    }
    let time_to_live = enable_time_to_live(store, &spec).await?;
    tracing::info!(table = %spec.table_name, ?outcome, ?added_indexes, ?time_to_live, "table ready");
    Ok(TableReady {
        outcome,
        added_indexes,
        time_to_live,
    })
}

/// Compares `def`'s live table with its definition: everything [`drift`](super::drift)
/// compares, plus the time to live (DescribeTimeToLive, see
/// [`time_to_live_drift`](super::time_to_live_drift)). An empty list means no drift.
pub async fn check_table(store: &Store, def: &TableDef) -> Result<Vec<Drift>> {
    let spec = def.spec(store.environment_prefix(), Billing::OnDemand);
    let Some(live) = describe_table_named(store, &spec.table_name).await? else {
        return Ok(vec![Drift::MissingTable]);
    };
    let mut drifts = super::drift(&spec, Some(&live));
    let ttl = describe_time_to_live(store, &spec.table_name).await?;
    drifts.extend(super::time_to_live_drift(&spec, ttl.as_ref()));
    Ok(drifts)
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

/// How long a wait took and what it saw last, when it gave up.
pub(super) struct GaveUp {
    /// The last status, `missing` when the table did not exist.
    pub(super) status: String,
    pub(super) waited_secs: u64,
}

/// The one wait helper: polls DescribeTable until `done` holds for what it returns (`None`:
/// no such table) and how long it has waited, backing off from 50 ms to 2 s, for at most
/// `timeout`. `done` may report progress: it sees every description.
pub(super) async fn wait_for_status(
    store: &Store,
    table: &str,
    timeout: Duration,
    mut done: impl FnMut(Option<&TableDescription>, Duration) -> bool,
) -> Result<Result<(), GaveUp>> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        let live = describe_table_named(store, table).await?;
        if done(live.as_ref(), started.elapsed()) {
            return Ok(Ok(()));
        }
        if started.elapsed() >= timeout {
            let status = match live.as_ref().map(|d| d.table_status()) {
                None => "missing".to_owned(),
                Some(Some(status)) => status.as_str().to_owned(),
                Some(None) => "unknown".to_owned(),
            };
            return Ok(Err(GaveUp {
                status,
                waited_secs: started.elapsed().as_secs(),
            }));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Polls DescribeTable until the table is ACTIVE, backing off from 50 ms to 2 s.
pub async fn wait_until_active(store: &Store, table: &str, timeout: Duration) -> Result<()> {
    wait_for_status(store, table, timeout, |live, _| {
        live.and_then(|d| d.table_status()) == Some(&TableStatus::Active)
    })
    .await?
    .map_err(|gave_up| Error::TableNotActive {
        table: table.to_owned(),
        status: gave_up.status,
        waited_secs: gave_up.waited_secs,
    })
}

/// Polls DescribeTable until the table no longer exists, backing off from 50 ms to 2 s.
pub async fn wait_until_deleted(store: &Store, table: &str, timeout: Duration) -> Result<()> {
    wait_for_status(store, table, timeout, |live, _| live.is_none())
        .await?
        .map_err(|gave_up| Error::TableNotDeleted {
            table: table.to_owned(),
            status: gave_up.status,
            waited_secs: gave_up.waited_secs,
        })
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
