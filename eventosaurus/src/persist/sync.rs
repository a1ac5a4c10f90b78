//! The synchronous persistor: one conditional put per event, awaited.

use crate::backend::Backend;
use crate::persist::{EventWrite, PersistFuture, Persistor};

/// Writes each event with a conditional put (`attribute_not_exists(event_uuid)` on DynamoDB)
/// before `store` returns. The default.
#[derive(Debug, Default, Clone, Copy)]
pub struct Synchronous;

impl Persistor for Synchronous {
    fn persist<'a>(&'a self, backend: &'a dyn Backend, write: EventWrite) -> PersistFuture<'a> {
        Box::pin(async move {
            let put = backend
                .put_if_absent(&write.table_name, write.table, write.item.clone())
                .await?;
            Ok(write.outcome(put))
        })
    }
}
