//! Turning the stream on for an existing table (`create-tables --enable-streams`).

use aws_sdk_dynamodb::types::TableStatus;

use crate::error::{classify, Error, Result};
use crate::table::{self, TableDef, ACTIVE_TIMEOUT};
use crate::table_stream::{live_stream, to_sdk, StreamView, DEFAULT_STREAM};
use crate::Store;

/// What [`enable_stream`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnableStreamOutcome {
    /// The table had a stream carrying new items already; nothing was changed.
    AlreadyEnabled(StreamView),
    /// The stream was turned on (`NEW_IMAGE`), and the table is ACTIVE again.
    Enabled,
}

/// Turns on the `NEW_IMAGE` stream of `def`'s existing table (UpdateTable), then waits until
/// the table is ACTIVE. A table whose stream carries new items is left alone.
///
/// A table with a stream of another view type (`KEYS_ONLY`, `OLD_IMAGE`) is an error: DynamoDB
/// cannot change a stream's view type in place; disable the stream first.
pub async fn enable_stream(store: &Store, def: &TableDef) -> Result<EnableStreamOutcome> {
    let table_name = def.full_name(store.environment_prefix());
    let live = table::describe_table_named(store, &table_name)
        .await?
        .ok_or_else(|| Error::TableNotFound {
            table: table_name.clone(),
        })?;
    match live_stream(&live) {
        Some(view) if view.carries_new_image() => {
            return Ok(EnableStreamOutcome::AlreadyEnabled(view))
        }
        Some(view) => {
            return Err(Error::InvalidConsumer {
                reason: format!(
                    "table `{table_name}` has a {view} stream, which does not carry new items; \
                     disable it first (aws dynamodb update-table --stream-specification \
                     StreamEnabled=false), then enable streams again"
                ),
            })
        }
        None => {}
    }
    let at = store.call_site("UpdateTable", &table_name);
    store
        .client()?
        .update_table()
        .table_name(&table_name)
        .set_stream_specification(to_sdk(Some(&DEFAULT_STREAM)))
        .send()
        .await
        .map_err(|err| classify(err, at).into_error(at))?;
    table::wait_until_active(store, &table_name, ACTIVE_TIMEOUT).await?;
    let after = table::describe_table_named(store, &table_name).await?;
    match after.as_ref().map(|t| t.table_status()) {
        Some(Some(TableStatus::Active)) => Ok(EnableStreamOutcome::Enabled),
        _ => Err(Error::TableNotFound { table: table_name }),
    }
}
