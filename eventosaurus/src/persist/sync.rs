//! The synchronous write: one conditional PutItem per event.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use uuid::Uuid;

use crate::codec::Item;
use crate::error::{classify, Result, SdkFailure};
use crate::store::{Store, StoreOutcome};

/// The condition that makes the first write of an `event_uuid` win.
pub const PUT_CONDITION: &str = "attribute_not_exists(event_uuid)";

/// Writes `item` unless an item with the same key exists.
pub async fn put_if_absent(
    store: &Store,
    table: &str,
    item: Item,
    event_uuid: Uuid,
    created_at: String,
) -> Result<StoreOutcome> {
    let at = store.call_site("PutItem", table);
    let result = store
        .client()
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(PUT_CONDITION)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None)
        .send()
        .await;
    match result {
        Ok(_) => Ok(StoreOutcome::Stored {
            event_uuid,
            created_at,
        }),
        Err(err) => match classify(err, at) {
            SdkFailure::ConditionFailed => Ok(StoreOutcome::Duplicate { event_uuid }),
            other => Err(other.into_error(at)),
        },
    }
}
