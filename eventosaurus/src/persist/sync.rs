//! The synchronous persistor: one conditional PutItem per event, awaited.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use crate::codec::Item;
use crate::error::{classify, Result, SdkFailure};
use crate::persist::{Context, EventWrite, PersistFuture, Persistor};
use crate::store::StoreOutcome;

/// The condition that makes the first write of an `event_uuid` win.
pub const PUT_CONDITION: &str = "attribute_not_exists(event_uuid)";

/// Writes each event with a conditional PutItem before `store` returns. The default.
#[derive(Debug, Default, Clone, Copy)]
pub struct Synchronous;

impl Persistor for Synchronous {
    fn persist<'a>(&'a self, ctx: &'a Context, write: EventWrite) -> PersistFuture<'a> {
        Box::pin(async move {
            let EventWrite {
                table_name,
                item,
                event_uuid,
                created_at,
                ..
            } = write;
            if put_if_absent(ctx, &table_name, item).await? {
                Ok(StoreOutcome::Stored {
                    event_uuid,
                    created_at,
                })
            } else {
                Ok(StoreOutcome::Duplicate { event_uuid })
            }
        })
    }
}

/// Writes `item` unless an item with the same key exists: the first write wins.
/// Returns `true` if it was written, `false` if it was a duplicate.
pub async fn put_if_absent(ctx: &Context, table_name: &str, item: Item) -> Result<bool> {
    let at = ctx.call_site("PutItem", table_name);
    let result = ctx
        .client
        .put_item()
        .table_name(table_name)
        .set_item(Some(item))
        .condition_expression(PUT_CONDITION)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) => match classify(err, at) {
            SdkFailure::ConditionFailed => Ok(false),
            other => Err(other.into_error(at)),
        },
    }
}
