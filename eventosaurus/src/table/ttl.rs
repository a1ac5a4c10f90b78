//! A table's time to live against DynamoDB: DescribeTimeToLive, and UpdateTimeToLive to turn
//! it on for the `expires_at` attribute of an event type that declares a TTL.

use aws_sdk_dynamodb::types as sdk;
use aws_sdk_dynamodb::types::TimeToLiveStatus;
use serde::Serialize;

use super::admin::build_error;
use crate::error::{classify, Result, SdkFailure};
use crate::schema::TableSpec;
use crate::store::Store;

/// What [`enable_time_to_live`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "time_to_live", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TtlOutcome {
    /// The event type declares no TTL: nothing was asked of the table.
    NotDeclared,
    /// TTL was off and has been turned on for the attribute.
    Enabled {
        /// The attribute: `expires_at`.
        attribute: String,
    },
    /// TTL was already on (or being turned on) for the attribute.
    AlreadyEnabled {
        /// The attribute: `expires_at`.
        attribute: String,
    },
    /// TTL is on for another attribute, or being turned off: left as it is (DynamoDB allows
    /// one change of a table's TTL per hour, and changing it deletes items by other rules).
    /// `check-tables` reports it as drift.
    Left {
        /// The live status (`ENABLED`, `DISABLING`, ...).
        status: String,
        /// The live attribute, if any.
        attribute: Option<String>,
    },
}

/// The live time to live of a table by full name, or `None` if the table does not exist.
pub async fn describe_time_to_live(
    store: &Store,
    table: &str,
) -> Result<Option<sdk::TimeToLiveDescription>> {
    let at = store.call_site("DescribeTimeToLive", table);
    match store
        .client()?
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
    {
        // A table without TTL has a description with status DISABLED.
        Ok(out) => Ok(Some(out.time_to_live_description.unwrap_or_else(|| {
            sdk::TimeToLiveDescription::builder()
                .time_to_live_status(TimeToLiveStatus::Disabled)
                .build()
        }))),
        Err(err) => match classify(err, at) {
            SdkFailure::NotFound => Ok(None),
            other => Err(other.into_error(at)),
        },
    }
}

/// Turns on the time to live of `spec`'s table, if the spec asks for one and it is off: one
/// UpdateTimeToLive on [`EXPIRES_AT`](crate::schema::EXPIRES_AT). Idempotent; a TTL on
/// another attribute is left alone ([`TtlOutcome::Left`]).
pub async fn enable_time_to_live(store: &Store, spec: &TableSpec) -> Result<TtlOutcome> {
    let Some(wanted) = &spec.time_to_live else {
        return Ok(TtlOutcome::NotDeclared);
    };
    let table = spec.table_name.as_str();
    let live = describe_time_to_live(store, table).await?;
    let status = live.as_ref().and_then(|l| l.time_to_live_status());
    let attribute = live.as_ref().and_then(|l| l.attribute_name());
    let attribute_wanted = wanted.attribute_name.clone();
    match status {
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            if attribute == Some(wanted.attribute_name.as_str()) =>
        {
            return Ok(TtlOutcome::AlreadyEnabled {
                attribute: attribute_wanted,
            })
        }
        None | Some(TimeToLiveStatus::Disabled) => {}
        Some(other) => {
            return Ok(TtlOutcome::Left {
                status: other.as_str().to_owned(),
                attribute: attribute.map(str::to_owned),
            })
        }
    }
    let at = store.call_site("UpdateTimeToLive", table);
    let specification = sdk::TimeToLiveSpecification::builder()
        .enabled(wanted.enabled)
        .attribute_name(&wanted.attribute_name)
        .build()
        .map_err(|e| build_error(table, e))?;
    store
        .client()?
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|err| classify(err, at).into_error(at))?;
    tracing::info!(table, attribute = %wanted.attribute_name, "time to live enabled");
    Ok(TtlOutcome::Enabled {
        attribute: attribute_wanted,
    })
}
